//! Release operations on a `Cluster` (the core's `rollout` module): rollout, resume, promote,
//! abort, retry, rollback, status, history, deleteVersion. Progress goes to an `onProgress`
//! callback (a thread-safe function) as plain objects (`{event: "trafficSwitched", ...}`);
//! `moorage.js` turns it into an async iterator (`watch`).

use std::future::Future;
use std::sync::Arc;

use moorage::rollout::{self, Progress, RolloutError, RolloutOptions};
use napi::bindgen_prelude::{Object, PromiseRaw, ToNapiValue};
use napi::Env;
use napi_derive::napi;
use serde_json::{json, Value};

use crate::cluster::{seconds, Cluster};
use crate::errors;
use crate::progress::{self, Deliveries, ProgressCallback};
use crate::release::Release;
use crate::tenant::{drift, Drift, Tenant};

/// The options of `rollout`, `resume`, `promote`, `abort` and `retry`.
#[napi(object, object_to_js = false, js_name = "RolloutOptions")]
#[derive(Default)]
pub struct RolloutOptionsJs {
    /// Seconds of backend time to wait for a version to become ready (default 600).
    pub timeout: Option<f64>,
    /// Wait through the scale-down delay before resolving (default true); when false the
    /// Promise resolves once traffic switched and `resume` finishes later.
    pub wait_for_scale_down: Option<bool>,
    /// Take back fields another field manager changed (a UI's scale, `kubectl edit`) instead of
    /// rejecting with `CONFLICT` (default false).
    pub force: Option<bool>,
    /// Receives each progress event; every call has run when the Promise settles.
    #[napi(ts_type = "(event: ProgressEvent) => void")]
    pub on_progress: Option<ProgressCallback>,
}

impl crate::convert::OptionKeys for RolloutOptionsJs {
    const NAME: &'static str = "RolloutOptions";
    const KEYS: &'static [&'static str] = &["timeout", "waitForScaleDown", "force", "onProgress"];
}

/// The options of `rollback`.
#[napi(object, object_to_js = false)]
#[derive(Default)]
pub struct RollbackOptions {
    /// The revision to go back to (default: the last one that succeeded before the live one).
    pub to: Option<f64>,
    /// Seconds of backend time to wait for a version to become ready (default 600).
    pub timeout: Option<f64>,
    /// Wait through the scale-down delay before resolving (default true).
    pub wait_for_scale_down: Option<bool>,
    /// Take back fields another field manager changed instead of rejecting with `CONFLICT`.
    pub force: Option<bool>,
    /// Receives each progress event.
    #[napi(ts_type = "(event: ProgressEvent) => void")]
    pub on_progress: Option<ProgressCallback>,
}

impl crate::convert::OptionKeys for RollbackOptions {
    const NAME: &'static str = "RollbackOptions";
    const KEYS: &'static [&'static str] = &["to", "timeout", "waitForScaleDown", "force", "onProgress"];
}

/// What a rollout, rollback or promote did.
#[napi(object)]
pub struct RolloutReport {
    /// The revision rolled out (or found already live).
    pub revision: u32,
    /// Its version.
    pub version: String,
    /// The version that served before.
    pub previous: Option<String>,
    /// `deploying`, `waitingForPromotion`, `paused`, `switched`, `done`, `failed`.
    pub phase: String,
    /// Whether everything was already as asked.
    pub unchanged: bool,
    /// Seconds from "ready" seen to the selector applied, when traffic switched.
    pub switch_latency: Option<f64>,
    /// Extra pods the strategy ran at its peak.
    pub extra_pods: u32,
}

/// One version of an application in the cluster.
#[napi(object)]
pub struct VersionStatus {
    /// The version.
    pub version: String,
    /// Desired replicas.
    pub desired: u32,
    /// Ready replicas.
    pub ready: u32,
    /// Whether the stable Service selects it.
    pub selected: bool,
}

/// The versions of an application, which one serves, and any rollout in progress.
#[napi(object)]
pub struct ReleaseStatus {
    /// The application.
    pub app: String,
    /// The version the stable Service selects (absent during a replica-ratio canary).
    pub active: Option<String>,
    /// Every version present.
    pub versions: Vec<VersionStatus>,
    /// The phase of the rollout in progress, if any.
    pub rollout_phase: Option<String>,
    /// The latest revision.
    pub revision: Option<u32>,
    /// Fields of the live version's objects another field manager changed (a `kubectl edit` of
    /// the Service selector, a scale from a UI): the next rollout refuses to overwrite them.
    pub drift: Vec<Drift>,
    /// During a canary: the share of traffic (percent) the canary gets now.
    pub canary_weight: Option<u32>,
}

/// One release of an application, as recorded in the cluster.
#[napi(object)]
pub struct Revision {
    /// 1, 2, 3, ... per application.
    pub number: u32,
    /// The version.
    pub version: String,
    /// The image.
    pub image: String,
    /// Replicas asked for.
    pub replicas: u32,
    /// `rolling`, `blueGreen` or `canary`.
    pub strategy: String,
    /// Who started it.
    pub by: String,
    /// When it started (backend time, seconds since the Unix epoch).
    pub started_at: f64,
    /// When it ended.
    pub finished_at: Option<f64>,
    /// `inProgress`, `succeeded`, `failed`, `rolledBack`, `superseded`.
    pub outcome: String,
    /// The outcome's fields (`reason` of a failure, `to` of a rollback).
    #[napi(ts_type = "Record<string, unknown>")]
    pub outcome_detail: Value,
    /// The analyses run for it (`name`, `provider`, `gate`, `verdict`, `reason`, `measurements`).
    #[napi(ts_type = "Record<string, unknown>[]")]
    pub analyses: Value,
}

fn name<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

pub(crate) fn report(r: rollout::RolloutReport) -> RolloutReport {
    RolloutReport {
        revision: r.revision,
        version: r.version,
        previous: r.previous,
        phase: name(&r.phase),
        unchanged: r.unchanged,
        switch_latency: r.switch_latency.map(|d| d.as_secs_f64()),
        extra_pods: r.preflight.extra_pods,
    }
}

fn revision(r: &rollout::Revision) -> Revision {
    let outcome = serde_json::to_value(&r.outcome).unwrap_or_default();
    Revision {
        number: r.number,
        version: r.version.clone(),
        image: r.image.clone(),
        replicas: r.replicas,
        strategy: r.strategy.clone(),
        by: r.by.clone(),
        started_at: r.started_at as f64,
        finished_at: r.finished_at.map(|t| t as f64),
        outcome: outcome.get("state").and_then(Value::as_str).unwrap_or_default().to_string(),
        outcome_detail: outcome,
        analyses: serde_json::to_value(&r.analyses).unwrap_or_default(),
    }
}

/// A progress event as a plain object: `event` (camelCase) and the event's fields.
pub fn progress_json(p: &Progress) -> Value {
    match p {
        Progress::PreflightPassed { extra_pods } => json!({"event": "preflightPassed", "extraPods": extra_pods}),
        Progress::Applied { objects, changed } => json!({"event": "applied", "objects": objects, "changed": changed}),
        Progress::ReplicasReady { version, ready, desired } => json!({"event": "replicasReady", "version": version, "ready": ready, "desired": desired}),
        Progress::WaitingForPromotion { version } => json!({"event": "waitingForPromotion", "version": version}),
        Progress::TrafficSwitched { from, to, latency } => json!({"event": "trafficSwitched", "from": from, "to": to, "latency": latency.as_secs_f64()}),
        Progress::KeepingWarm { version, delay } => json!({"event": "keepingWarm", "version": version, "delay": delay.as_secs_f64()}),
        Progress::ScaledDown { version } => json!({"event": "scaledDown", "version": version}),
        Progress::Pruned { version } => json!({"event": "pruned", "version": version}),
        Progress::Done { revision, version } => json!({"event": "done", "revision": revision, "version": version}),
        Progress::WeightSet { requested, actual, canary, total } => {
            json!({"event": "weightSet", "requested": requested, "actual": actual, "canary": canary, "total": total})
        }
        Progress::Paused { version, step, note } => json!({"event": "paused", "version": version, "step": step, "note": note}),
        Progress::Aborted { version } => json!({"event": "aborted", "version": version}),
        Progress::AnalysisFinished { name, gate, verdict, reason } => {
            json!({"event": "analysisFinished", "name": name, "gate": gate, "verdict": verdict.as_str(), "reason": reason})
        }
    }
}

pub(crate) fn options(
    env: &Env,
    timeout: Option<f64>,
    wait_for_scale_down: Option<bool>,
    force: Option<bool>,
    on_progress: Option<ProgressCallback>,
) -> napi::Result<(RolloutOptions, Option<Arc<Deliveries>>)> {
    let mut options = RolloutOptions::default();
    if let Some(t) = timeout {
        options.timeout = seconds(env, "timeout", t)?;
    }
    if let Some(w) = wait_for_scale_down {
        options.wait_for_scale_down = w;
    }
    if force == Some(true) {
        options = options.force();
    }
    let Some(callback) = on_progress else { return Ok((options, None)) };
    let (deliveries, send) = progress::sink(callback);
    Ok((options.on_progress(move |p| send(progress_json(p))), Some(deliveries)))
}

/// Runs a release operation (see [`progress::run`]), its error translated.
pub(crate) fn run<'env, T, V, F, C>(env: &'env Env, deliveries: Option<Arc<Deliveries>>, fut: F, convert: C) -> napi::Result<PromiseRaw<'env, V>>
where
    T: Send + 'static,
    V: ToNapiValue,
    F: Future<Output = Result<T, RolloutError>> + Send + 'static,
    C: FnOnce(T) -> V + 'static,
{
    progress::run(env, deliveries, async move { fut.await.map_err(|e| errors::rollout(&e)) }, convert)
}

#[napi]
impl Cluster {
    /// Rolls `release` out for `tenant` with the release's strategy. The quota preflight runs
    /// first: `QUOTA_INSUFFICIENT` means nothing was created.
    #[napi(ts_args_type = "tenant: Tenant, release: Release, options?: RolloutOptions", ts_return_type = "Promise<RolloutReport>")]
    pub fn rollout<'env>(
        &self,
        env: &'env Env,
        tenant: &Tenant,
        release: &Release,
        options: Option<Object<'_>>,
    ) -> napi::Result<PromiseRaw<'env, RolloutReport>> {
        let o: RolloutOptionsJs = crate::convert::read_options(env, options)?.unwrap_or_default();
        let (opts, deliveries) = self::options(env, o.timeout, o.wait_for_scale_down, o.force, o.on_progress)?;
        let (backend, tenant, release) = (self.backend.clone(), tenant.inner.clone(), release.inner.clone());
        run(env, deliveries, async move { rollout::rollout(backend.as_ref(), &tenant, &release, &opts).await }, report)
    }

    /// Finishes the rollout of `app` in progress, whatever step its driver stopped at; `null`
    /// when nothing was in progress.
    #[napi(ts_args_type = "tenant: Tenant, app: string, options?: RolloutOptions", ts_return_type = "Promise<RolloutReport | null>")]
    pub fn resume<'env>(
        &self,
        env: &'env Env,
        tenant: &Tenant,
        app: String,
        options: Option<Object<'_>>,
    ) -> napi::Result<PromiseRaw<'env, Option<RolloutReport>>> {
        let o: RolloutOptionsJs = crate::convert::read_options(env, options)?.unwrap_or_default();
        let (opts, deliveries) = self::options(env, o.timeout, o.wait_for_scale_down, o.force, o.on_progress)?;
        let (backend, tenant) = (self.backend.clone(), tenant.inner.clone());
        run(env, deliveries, async move { rollout::resume(backend.as_ref(), &tenant, &app, &opts).await }, |r| r.map(report))
    }

    /// Switches traffic to the version waiting for promotion; a paused canary goes to 100%.
    #[napi(ts_args_type = "tenant: Tenant, app: string, options?: RolloutOptions", ts_return_type = "Promise<RolloutReport>")]
    pub fn promote<'env>(&self, env: &'env Env, tenant: &Tenant, app: String, options: Option<Object<'_>>) -> napi::Result<PromiseRaw<'env, RolloutReport>> {
        let o: RolloutOptionsJs = crate::convert::read_options(env, options)?.unwrap_or_default();
        let (opts, deliveries) = self::options(env, o.timeout, o.wait_for_scale_down, o.force, o.on_progress)?;
        let (backend, tenant) = (self.backend.clone(), tenant.inner.clone());
        run(env, deliveries, async move { rollout::promote(backend.as_ref(), &tenant, &app, &opts).await }, report)
    }

    /// Aborts the canary of `app` in progress: all traffic back on the stable version.
    #[napi(ts_args_type = "tenant: Tenant, app: string, options?: RolloutOptions", ts_return_type = "Promise<RolloutReport>")]
    pub fn abort<'env>(&self, env: &'env Env, tenant: &Tenant, app: String, options: Option<Object<'_>>) -> napi::Result<PromiseRaw<'env, RolloutReport>> {
        let o: RolloutOptionsJs = crate::convert::read_options(env, options)?.unwrap_or_default();
        let (opts, deliveries) = self::options(env, o.timeout, o.wait_for_scale_down, o.force, o.on_progress)?;
        let (backend, tenant) = (self.backend.clone(), tenant.inner.clone());
        run(env, deliveries, async move { rollout::abort(backend.as_ref(), &tenant, &app, &opts).await }, report)
    }

    /// Rolls out again the newest revision of `app` that failed or was aborted.
    #[napi(ts_args_type = "tenant: Tenant, app: string, options?: RolloutOptions", ts_return_type = "Promise<RolloutReport>")]
    pub fn retry<'env>(&self, env: &'env Env, tenant: &Tenant, app: String, options: Option<Object<'_>>) -> napi::Result<PromiseRaw<'env, RolloutReport>> {
        let o: RolloutOptionsJs = crate::convert::read_options(env, options)?.unwrap_or_default();
        let (opts, deliveries) = self::options(env, o.timeout, o.wait_for_scale_down, o.force, o.on_progress)?;
        let (backend, tenant) = (self.backend.clone(), tenant.inner.clone());
        run(env, deliveries, async move { rollout::retry(backend.as_ref(), &tenant, &app, &opts).await }, report)
    }

    /// Rolls back to revision `to` (default: the last one that succeeded before the live one),
    /// restoring its image and config; instant while the old version is warm.
    #[napi(ts_return_type = "Promise<RolloutReport>")]
    pub fn rollback<'env>(
        &self,
        env: &'env Env,
        tenant: &Tenant,
        app: String,
        #[napi(ts_arg_type = "RollbackOptions | undefined | null")] options: Option<Object<'_>>,
    ) -> napi::Result<PromiseRaw<'env, RolloutReport>> {
        let o: RollbackOptions = crate::convert::read_options(env, options)?.unwrap_or_default();
        let (opts, deliveries) = self::options(env, o.timeout, o.wait_for_scale_down, o.force, o.on_progress)?;
        let to = o.to.map(|n| crate::convert::js_whole_number(n, "to")).transpose()?;
        let (backend, tenant) = (self.backend.clone(), tenant.inner.clone());
        run(env, deliveries, async move { rollout::rollback(backend.as_ref(), &tenant, &app, to, &opts).await }, report)
    }

    /// The versions of `app`, which one serves, and any rollout in progress.
    #[napi(ts_return_type = "Promise<ReleaseStatus>")]
    pub fn status<'env>(&self, env: &'env Env, tenant: &Tenant, app: String) -> napi::Result<PromiseRaw<'env, ReleaseStatus>> {
        let (backend, tenant) = (self.backend.clone(), tenant.inner.clone());
        run(env, None, async move { rollout::status(backend.as_ref(), &tenant, &app).await }, |s| ReleaseStatus {
            app: s.app,
            active: s.active,
            versions: s.versions.into_iter().map(|v| VersionStatus { version: v.version, desired: v.desired, ready: v.ready, selected: v.selected }).collect(),
            rollout_phase: s.rollout.map(|r| name(&r.phase)),
            revision: s.revision,
            drift: s.drift.into_iter().map(drift).collect(),
            canary_weight: s.canary_weight,
        })
    }

    /// The revisions of `app`, oldest first.
    #[napi(ts_return_type = "Promise<Revision[]>")]
    pub fn history<'env>(&self, env: &'env Env, tenant: &Tenant, app: String) -> napi::Result<PromiseRaw<'env, Vec<Revision>>> {
        let (backend, tenant) = (self.backend.clone(), tenant.inner.clone());
        run(env, None, async move { rollout::history(backend.as_ref(), &tenant, &app).await }, |h| h.revisions.iter().map(revision).collect())
    }

    /// Deletes one version of `app`; refused (`VERSION_SELECTED`) while the stable Service selects it.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn delete_version<'env>(&self, env: &'env Env, tenant: &Tenant, app: String, version: String) -> napi::Result<PromiseRaw<'env, ()>> {
        let (backend, tenant) = (self.backend.clone(), tenant.inner.clone());
        run(env, None, async move { rollout::delete_version(backend.as_ref(), &tenant, &app, &version).await }, |()| ())
    }
}
