//! The strategies: `Rolling`, `BlueGreen`, `Canary` (the core's `Strategy`).
//!
//! Each is built from the core's serde form (`{type: "blueGreen", ...}`), so defaults and checks
//! are the core's.

use napi::bindgen_prelude::{ClassInstance, Either3, JavaScriptClassExt, JsObjectValue, Object, Unknown};
use napi::Env;
use napi_derive::napi;
use serde_json::Value;

use crate::convert::{spec_json, spec_json_text, spec_object, spec_text_or_problem};
use crate::errors;

/// The strategy of type `kind` with the options given, in one crossing as `JSON.stringify` text
/// read by the core as a release's `strategy` is: the options' problems (a value of the wrong kind,
/// a number that is not finite, nesting too deep) are the core's, at `strategy.<option>`.
fn build<'env>(env: &'env Env, kind: &str, options: Vec<(&str, Option<Unknown<'env>>)>) -> napi::Result<moorage::Strategy> {
    let mut spec = spec_object(env, options)?;
    spec.set_named_property("type", kind)?;
    spec_text_or_problem(env, &spec, "strategy", &[], &[])?
        .and_then(|text| moorage::spec::strategy_from_json(&text))
        .map_err(|e| errors::spec(&e).into_error(env))
}

/// The options of `new BlueGreen(...)`.
// Each crosses as the caller gave it, to be read by the core (the declared types are what it accepts).
#[napi(object, object_to_js = false)]
#[derive(Default)]
pub struct BlueGreenOptions<'env> {
    /// Switch traffic as soon as the new version is ready (default), or wait for `promote`.
    #[napi(ts_type = "boolean")]
    pub auto_promote: Option<Unknown<'env>>,
    /// A host name serving the new version before the switch.
    #[napi(ts_type = "string")]
    pub preview_host: Option<Unknown<'env>>,
    /// How long the old version stays warm after the switch (`"30s"`).
    #[napi(ts_type = "string")]
    pub scale_down_delay: Option<Unknown<'env>>,
    /// How many previous versions are kept (scaled to zero) for rollback.
    #[napi(ts_type = "number")]
    pub keep_previous: Option<Unknown<'env>>,
    /// Names of the release's analyses that must pass before traffic switches.
    #[napi(ts_type = "string[]")]
    pub pre_promotion_analysis: Option<Unknown<'env>>,
    /// Names of the release's analyses run after the switch; a failure switches back.
    #[napi(ts_type = "string[]")]
    pub post_promotion_analysis: Option<Unknown<'env>>,
}

impl crate::convert::OptionKeys for BlueGreenOptions<'_> {
    const NAME: &'static str = "BlueGreenOptions";
    const KEYS: &'static [&'static str] = &["autoPromote", "previewHost", "scaleDownDelay", "keepPrevious", "prePromotionAnalysis", "postPromotionAnalysis"];
}

/// A blue/green strategy: the new version runs beside the old one; traffic switches in one
/// selector change once it is ready.
#[napi]
#[derive(Clone)]
pub struct BlueGreen {
    pub(crate) inner: moorage::Strategy,
}

#[napi]
impl BlueGreen {
    /// A blue/green strategy (the core's defaults for what is left out).
    #[napi(constructor)]
    pub fn new(env: Env, #[napi(ts_arg_type = "BlueGreenOptions | undefined | null")] options: Option<Object<'_>>) -> napi::Result<Self> {
        let o: BlueGreenOptions = crate::convert::read_options(&env, options)?.unwrap_or_default();
        let options = vec![
            ("autoPromote", o.auto_promote),
            ("previewHost", o.preview_host),
            ("scaleDownDelay", o.scale_down_delay),
            ("keepPrevious", o.keep_previous),
            ("prePromotionAnalysis", o.pre_promotion_analysis),
            ("postPromotionAnalysis", o.post_promotion_analysis),
        ];
        Ok(BlueGreen { inner: build(&env, "blueGreen", options)? })
    }
    /// The spec form (`{type: "blueGreen", ...}`).
    #[napi(ts_return_type = "StrategySpec")]
    pub fn to_spec(&self) -> Value {
        spec_json(&self.inner)
    }
    /// `JSON.stringify` writes the spec form.
    #[napi(js_name = "toJSON", ts_return_type = "StrategySpec")]
    pub fn to_json(&self) -> Value {
        self.to_spec()
    }
}

/// The options of `new Rolling(...)`.
// Each crosses as the caller gave it, to be read by the core (the declared types are what it accepts).
#[napi(object, object_to_js = false)]
#[derive(Default)]
pub struct RollingOptions<'env> {
    /// Extra pods during the update (`"25%"` or a count, `"1"`).
    #[napi(ts_type = "string")]
    pub max_surge: Option<Unknown<'env>>,
    /// Pods that may be unavailable during the update (`"25%"` or a count, `"0"`).
    #[napi(ts_type = "string")]
    pub max_unavailable: Option<Unknown<'env>>,
}

impl crate::convert::OptionKeys for RollingOptions<'_> {
    const NAME: &'static str = "RollingOptions";
    const KEYS: &'static [&'static str] = &["maxSurge", "maxUnavailable"];
}

/// The Deployment's own rolling update.
#[napi]
#[derive(Clone)]
pub struct Rolling {
    pub(crate) inner: moorage::Strategy,
}

#[napi]
impl Rolling {
    /// A rolling update (the core's defaults for what is left out).
    #[napi(constructor)]
    pub fn new(env: Env, #[napi(ts_arg_type = "RollingOptions | undefined | null")] options: Option<Object<'_>>) -> napi::Result<Self> {
        let o: RollingOptions = crate::convert::read_options(&env, options)?.unwrap_or_default();
        Ok(Rolling { inner: build(&env, "rolling", vec![("maxSurge", o.max_surge), ("maxUnavailable", o.max_unavailable)])? })
    }
    /// The spec form (`{type: "rolling", ...}`).
    #[napi(ts_return_type = "StrategySpec")]
    pub fn to_spec(&self) -> Value {
        spec_json(&self.inner)
    }
    /// `JSON.stringify` writes the spec form.
    #[napi(js_name = "toJSON", ts_return_type = "StrategySpec")]
    pub fn to_json(&self) -> Value {
        self.to_spec()
    }
}

/// The options of `new Canary(steps, ...)`.
// Crosses as the caller gave it, to be read by the core (the declared type is what it accepts).
#[napi(object, object_to_js = false)]
#[derive(Default)]
pub struct CanaryOptions<'env> {
    /// How traffic is split: `"replicaRatio"` (default), `"ingressNginx"` or `"gatewayApi"`.
    #[napi(ts_type = "string")]
    pub traffic: Option<Unknown<'env>>,
}

impl crate::convert::OptionKeys for CanaryOptions<'_> {
    const NAME: &'static str = "CanaryOptions";
    const KEYS: &'static [&'static str] = &["traffic"];
}

/// A canary: traffic moves to the new version step by step, e.g.
/// `new Canary([{setWeight: 20}, {pause: {}}, {setWeight: 100}])`.
#[napi]
#[derive(Clone)]
pub struct Canary {
    pub(crate) inner: moorage::Strategy,
}

#[napi]
impl Canary {
    /// A canary with its steps in spec form.
    #[napi(constructor, ts_args_type = "steps: CanaryStepSpec[], options?: CanaryOptions")]
    pub fn new(env: Env, steps: Unknown<'_>, options: Option<Object<'_>>) -> napi::Result<Self> {
        // The steps cross as `JSON.stringify` text too, so that their problems (a number that is
        // not finite, nesting too deep among them) are the core's, at `strategy.steps`.
        let traffic = crate::convert::read_options::<CanaryOptions>(&env, options)?.and_then(|o| o.traffic);
        Ok(Canary { inner: build(&env, "canary", vec![("steps", Some(steps)), ("traffic", traffic)])? })
    }
    /// The spec form (`{type: "canary", steps: [...]}`).
    #[napi(ts_return_type = "StrategySpec")]
    pub fn to_spec(&self) -> Value {
        spec_json(&self.inner)
    }
    /// `JSON.stringify` writes the spec form.
    #[napi(js_name = "toJSON", ts_return_type = "StrategySpec")]
    pub fn to_json(&self) -> Value {
        self.to_spec()
    }
}

/// The JSON text of `object[key]` (the value `v`) when it is a `Rolling`, `BlueGreen` or
/// `Canary`; `None` when it is none of them (a plain spec object).
pub fn instance_text(env: &Env, object: &Object<'_>, key: &str, v: &Unknown<'_>) -> napi::Result<Option<String>> {
    if BlueGreen::instance_of(env, v)? {
        return Ok(Some(spec_json_text(&object.get_named_property::<ClassInstance<BlueGreen>>(key)?.inner)));
    }
    if Rolling::instance_of(env, v)? {
        return Ok(Some(spec_json_text(&object.get_named_property::<ClassInstance<Rolling>>(key)?.inner)));
    }
    if Canary::instance_of(env, v)? {
        return Ok(Some(spec_json_text(&object.get_named_property::<ClassInstance<Canary>>(key)?.inner)));
    }
    Ok(None)
}

/// The object of a core strategy: a `Rolling`, `BlueGreen` or `Canary`.
pub fn to_object(s: &moorage::Strategy) -> Either3<Rolling, BlueGreen, Canary> {
    let inner = s.clone();
    match s {
        moorage::Strategy::Rolling(_) => Either3::A(Rolling { inner }),
        moorage::Strategy::BlueGreen(_) => Either3::B(BlueGreen { inner }),
        moorage::Strategy::Canary(_) => Either3::C(Canary { inner }),
    }
}
