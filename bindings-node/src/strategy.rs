//! The strategies: `Rolling`, `BlueGreen`, `Canary` (the core's `Strategy`).
//!
//! Each is built from the core's serde form (`{type: "blueGreen", ...}`), so defaults and checks
//! are the core's.

use napi::bindgen_prelude::{ClassInstance, Either3, JavaScriptClassExt, JsObjectValue, Object, Unknown};
use napi::Env;
use napi_derive::napi;
use serde_json::{Map, Value};

use crate::convert::{js_number_json, spec_json, spec_json_text, spec_text_or_problem};
use crate::errors;

fn build(env: &Env, kind: &str, fields: Vec<(&str, Option<Value>)>) -> napi::Result<moorage::Strategy> {
    let mut map = Map::new();
    map.insert("type".into(), Value::String(kind.into()));
    for (k, v) in fields {
        if let Some(v) = v {
            map.insert(k.into(), v);
        }
    }
    moorage::spec::strategy_from_value(&Value::Object(map)).map_err(|e| errors::spec(&e).into_error(env))
}

/// The options of `new BlueGreen(...)`.
#[napi(object)]
#[derive(Default)]
pub struct BlueGreenOptions {
    /// Switch traffic as soon as the new version is ready (default), or wait for `promote`.
    pub auto_promote: Option<bool>,
    /// A host name serving the new version before the switch.
    pub preview_host: Option<String>,
    /// How long the old version stays warm after the switch (`"30s"`).
    pub scale_down_delay: Option<String>,
    /// How many previous versions are kept (scaled to zero) for rollback.
    pub keep_previous: Option<f64>,
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
    pub fn new(env: Env, options: Option<BlueGreenOptions>) -> napi::Result<Self> {
        let o = options.unwrap_or_default();
        let inner = build(
            &env,
            "blueGreen",
            vec![
                ("autoPromote", o.auto_promote.map(Value::Bool)),
                ("previewHost", o.preview_host.map(Value::String)),
                ("scaleDownDelay", o.scale_down_delay.map(Value::String)),
                (
                    "keepPrevious",
                    o.keep_previous.map(|n| js_number_json(n, "strategy.keepPrevious")).transpose().map_err(|e| errors::spec(&e).into_error(&env))?,
                ),
            ],
        )?;
        Ok(BlueGreen { inner })
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
#[napi(object)]
#[derive(Default)]
pub struct RollingOptions {
    /// Extra pods during the update (`"25%"` or a count, `"1"`).
    pub max_surge: Option<String>,
    /// Pods that may be unavailable during the update (`"25%"` or a count, `"0"`).
    pub max_unavailable: Option<String>,
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
    pub fn new(env: Env, options: Option<RollingOptions>) -> napi::Result<Self> {
        let o = options.unwrap_or_default();
        let inner = build(&env, "rolling", vec![("maxSurge", o.max_surge.map(Value::String)), ("maxUnavailable", o.max_unavailable.map(Value::String))])?;
        Ok(Rolling { inner })
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
#[napi(object)]
#[derive(Default)]
pub struct CanaryOptions {
    /// How traffic is split: `"replicaRatio"` (default) or `"ingressNginx"`.
    pub traffic: Option<String>,
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
    pub fn new(env: Env, steps: Unknown<'_>, options: Option<CanaryOptions>) -> napi::Result<Self> {
        let o = options.unwrap_or_default();
        // The spec form crosses as `JSON.stringify` text, so that the steps' problems (a number
        // that is not finite, nesting too deep among them) are the core's, at `strategy.steps`.
        let mut spec = Object::new(&env)?;
        spec.set_named_property("type", "canary")?;
        spec.set_named_property("steps", steps)?;
        if let Some(traffic) = o.traffic {
            spec.set_named_property("traffic", traffic)?;
        }
        let inner = spec_text_or_problem(&env, &spec, "strategy", &[], &[])?
            .and_then(|text| moorage::spec::strategy_from_json(&text))
            .map_err(|e| errors::spec(&e).into_error(&env))?;
        Ok(Canary { inner })
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
