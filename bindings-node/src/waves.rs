//! Fleet wave upgrades on a `Fleet` (the core's `waves` module): `startWaves`, `resumeWaves`,
//! `wavesStatus`. A plan is an object with the keys of a wave plan file, or YAML/JSON text or a
//! file, read by the core's spec reader; the state is the core's serialized `WaveState`; progress
//! goes to `onProgress` as plain objects (`{event: "tenantSucceeded", tenant, cluster}`), which
//! `moorage.js`'s `watch` turns into an async iterator.

use moorage::waves::{self, WaveOptions, WavePlan, WaveProgress};
use napi::bindgen_prelude::{Either, Object, PromiseRaw};
use napi::Env;
use napi_derive::napi;
use serde_json::{json, Value};

use crate::cluster::seconds;
use crate::convert::{spec_text_or_problem, text_or_file};
use crate::errors::{self, Failure};
use crate::fleet::Fleet;
use crate::progress::{self, ProgressCallback};

/// The options of `startWaves` and `resumeWaves`.
#[napi(object, object_to_js = false, js_name = "WaveOptions")]
#[derive(Default)]
pub struct WaveOptionsJs {
    /// Seconds of backend time each tenant's rollout may take to become ready (default 600).
    pub timeout: Option<f64>,
    /// Receives each wave progress event; every call has run when the Promise settles.
    #[napi(ts_type = "(event: WaveEvent) => void")]
    pub on_progress: Option<ProgressCallback>,
}

impl crate::convert::OptionKeys for WaveOptionsJs {
    const NAME: &'static str = "WaveOptions";
    const KEYS: &'static [&'static str] = &["timeout", "onProgress"];
}

/// A wave progress event as a plain object: `event` (camelCase) and the event's fields.
pub fn wave_event_json(p: &WaveProgress) -> Value {
    match p {
        WaveProgress::Planned { waves, skipped } => json!({
            "event": "planned",
            "waves": waves.iter().map(|(label, tenants)| json!({"label": label, "tenants": tenants})).collect::<Vec<_>>(),
            "skipped": skipped.iter().map(|(tenant, reason)| json!({"tenant": tenant, "reason": reason})).collect::<Vec<_>>(),
        }),
        WaveProgress::WaveStarted { wave, label, tenants } => json!({"event": "waveStarted", "wave": wave, "label": label, "tenants": tenants}),
        WaveProgress::TenantStarted { tenant, cluster } => json!({"event": "tenantStarted", "tenant": tenant, "cluster": cluster}),
        WaveProgress::TenantSucceeded { tenant, cluster } => json!({"event": "tenantSucceeded", "tenant": tenant, "cluster": cluster}),
        WaveProgress::TenantFailed { tenant, cluster, reason } => json!({"event": "tenantFailed", "tenant": tenant, "cluster": cluster, "reason": reason}),
        WaveProgress::WaveFinished { wave, succeeded, failed } => json!({"event": "waveFinished", "wave": wave, "succeeded": succeeded, "failed": failed}),
        WaveProgress::Paused { next_wave } => json!({"event": "paused", "nextWave": next_wave}),
        WaveProgress::Waiting { seconds } => json!({"event": "waiting", "seconds": seconds}),
        WaveProgress::AnalysisFinished { wave, tenant, verdict, reason } => {
            json!({"event": "analysisFinished", "wave": wave, "tenant": tenant, "verdict": verdict.as_str(), "reason": reason})
        }
        WaveProgress::Stopped { reason } => json!({"event": "stopped", "reason": reason}),
        WaveProgress::Done { succeeded, failed, skipped } => json!({"event": "done", "succeeded": succeeded, "failed": failed, "skipped": skipped}),
    }
}

/// A plan as given: YAML/JSON text (or a file's), or an object as its JSON text (the keys of a
/// plan file), or the core's problem with an object that has none.
enum PlanInput {
    Text(String),
    Object(Result<String, moorage::spec::SpecError>),
}

fn plan_input(env: &Env, plan: Either<String, Object<'_>>) -> napi::Result<PlanInput> {
    Ok(match plan {
        Either::A(text) => PlanInput::Text(text_or_file(text)?),
        Either::B(object) => PlanInput::Object(spec_text_or_problem(env, &object, "plan", &[], &[])?),
    })
}

/// The plan, read and validated by the core's readers (an object's `null` members are absent,
/// and its problems carry no line: the core's `wave_plan_from_json`).
fn plan_from(input: PlanInput) -> Result<WavePlan, Failure> {
    match input {
        PlanInput::Text(text) => moorage::spec::wave_plan_from_yaml(&text),
        PlanInput::Object(text) => text.and_then(|text| moorage::spec::wave_plan_from_json(&text)),
    }
    .map_err(|e| errors::spec(&e))
}

fn wave_options(env: &Env, o: WaveOptionsJs) -> napi::Result<(WaveOptions, Option<std::sync::Arc<progress::Deliveries>>)> {
    let mut options = WaveOptions::default();
    if let Some(t) = o.timeout {
        options.rollout.timeout = seconds(env, "timeout", t)?;
    }
    let Some(callback) = o.on_progress else { return Ok((options, None)) };
    let (deliveries, send) = progress::sink(callback);
    Ok((options.on_progress(move |p| send(wave_event_json(p))), Some(deliveries)))
}

fn state_json<T: serde::Serialize>(state: T) -> Value {
    serde_json::to_value(state).unwrap_or_default()
}

#[napi]
impl Fleet {
    /// Starts a wave plan and runs it until it is done, paused or stopped; resolves with its
    /// state. The quota preflight runs for every tenant first (those that would not fit are
    /// `skipped`). Starting a plan that exists with the same spec resumes it; with another spec:
    /// `PLAN_EXISTS`. An invalid plan: `VALIDATION` (every path) or `SPEC`, before any API call.
    #[napi(ts_args_type = "plan: WavePlanSpec | string, options?: WaveOptions", ts_return_type = "Promise<WaveState>")]
    pub fn start_waves<'env>(&self, env: &'env Env, plan: Either<String, Object<'_>>, options: Option<Object<'_>>) -> napi::Result<PromiseRaw<'env, Value>> {
        let plan = plan_input(env, plan)?;
        let (options, deliveries) = wave_options(env, crate::convert::read_options(env, options)?.unwrap_or_default())?;
        let fleet = self.inner.clone();
        let run = async move {
            let plan = plan_from(plan)?;
            waves::start(&fleet, &plan, &options).await.map_err(|e| errors::waves(&e))
        };
        progress::run(env, deliveries, run, state_json)
    }

    /// Goes on with the wave plan `name` (after a pause, a wait, or a driver that died);
    /// `NO_SUCH_PLAN` when it was never started.
    #[napi(ts_args_type = "name: string, options?: WaveOptions", ts_return_type = "Promise<WaveState>")]
    pub fn resume_waves<'env>(&self, env: &'env Env, name: String, options: Option<Object<'_>>) -> napi::Result<PromiseRaw<'env, Value>> {
        let (options, deliveries) = wave_options(env, crate::convert::read_options(env, options)?.unwrap_or_default())?;
        let fleet = self.inner.clone();
        progress::run(env, deliveries, async move { waves::resume(&fleet, &name, &options).await.map_err(|e| errors::waves(&e)) }, state_json)
    }

    /// The state of the wave plan `name`, per wave and per tenant, or `null` when it was never started.
    #[napi(ts_return_type = "Promise<WaveState | null>")]
    pub fn waves_status<'env>(&self, env: &'env Env, name: String) -> napi::Result<PromiseRaw<'env, Value>> {
        let fleet = self.inner.clone();
        progress::run(env, None, async move { waves::status(&fleet, &name).await.map_err(|e| errors::waves(&e)) }, state_json)
    }
}
