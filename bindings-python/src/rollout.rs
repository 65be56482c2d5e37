//! Release operations on a `Cluster` (the core's `rollout` module): rollout, resume, promote,
//! rollback, status, history, delete_version; blocking and `a_*` coroutine twins. Progress goes
//! to an `on_progress` callable as dicts (`{"event": "traffic_switched", ...}`).

use std::sync::{Arc, Mutex};

use moorage::rollout::{self, Progress, RolloutError, RolloutOptions};
use pyo3::prelude::*;
use serde_json::{json, Value};

use crate::cluster::{block_on, Cluster};
use crate::convert::json_to_py;
use crate::errors;
use crate::release::Release;
use crate::tenant::Tenant;

/// What a rollout, rollback or promote did.
#[pyclass(module = "moorage", frozen, get_all)]
pub struct RolloutReport {
    /// The revision rolled out (or found already live).
    pub revision: u32,
    /// Its version.
    pub version: String,
    /// The version that served before.
    pub previous: Option<String>,
    /// Where the rollout stands: `deploying`, `waitingForPromotion`, `switched`, `done`, `failed`.
    pub phase: String,
    /// Whether everything was already as asked.
    pub unchanged: bool,
    /// Seconds from "ready" seen to the selector applied, when traffic switched.
    pub switch_latency: Option<f64>,
    /// Extra pods the strategy ran at its peak.
    pub extra_pods: u32,
    /// The analyses this call ran (dicts: name, provider, gate, verdict, reason, measurements);
    /// an inconclusive one leaves the rollout `paused`. All are also in the revision's `analyses`.
    pub analyses: Py<PyAny>,
}

#[pymethods]
impl RolloutReport {
    fn __repr__(&self) -> String {
        format!(
            "RolloutReport(revision={}, version='{}', previous={}, phase='{}', unchanged={})",
            self.revision,
            self.version,
            opt(&self.previous),
            self.phase,
            if self.unchanged { "True" } else { "False" }
        )
    }
}

fn opt(s: &Option<String>) -> String {
    s.as_ref().map(|s| format!("'{s}'")).unwrap_or_else(|| "None".into())
}

fn name<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

impl From<rollout::RolloutReport> for RolloutReport {
    fn from(r: rollout::RolloutReport) -> Self {
        RolloutReport {
            revision: r.revision,
            version: r.version,
            previous: r.previous,
            phase: name(&r.phase),
            unchanged: r.unchanged,
            switch_latency: r.switch_latency.map(|d| d.as_secs_f64()),
            extra_pods: r.preflight.extra_pods,
            analyses: Python::attach(|py| json_to_py(py, &serde_json::to_value(&r.analyses).unwrap_or_default())),
        }
    }
}

/// One version of an application in the cluster.
#[pyclass(module = "moorage", frozen, get_all)]
#[derive(Clone)]
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

#[pymethods]
impl VersionStatus {
    fn __repr__(&self) -> String {
        format!("VersionStatus('{}', desired={}, ready={}, selected={})", self.version, self.desired, self.ready, if self.selected { "True" } else { "False" })
    }
}

/// The versions of an application, which one serves, and any rollout in progress.
#[pyclass(module = "moorage", frozen, get_all)]
pub struct ReleaseStatus {
    /// The application.
    pub app: String,
    /// The version the stable Service selects.
    pub active: Option<String>,
    /// Every version present.
    pub versions: Vec<VersionStatus>,
    /// The phase of the rollout in progress, if any.
    pub rollout_phase: Option<String>,
    /// The latest revision.
    pub revision: Option<u32>,
    /// During a canary: the share of traffic (percent) the canary gets now.
    pub canary_weight: Option<u32>,
    /// Fields of the live version's objects another field manager changed (dicts: object,
    /// manager, subresource, fields); the next rollout refuses to overwrite them unless `force`.
    pub drift: Py<PyAny>,
}

#[pymethods]
impl ReleaseStatus {
    fn __repr__(&self) -> String {
        let versions: Vec<String> = self.versions.iter().map(|v| v.__repr__()).collect();
        format!("ReleaseStatus(app='{}', active={}, versions=[{}])", self.app, opt(&self.active), versions.join(", "))
    }
}

/// One release of an application, as recorded in the cluster.
#[pyclass(module = "moorage", frozen, get_all)]
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
    pub started_at: u64,
    /// When it ended.
    pub finished_at: Option<u64>,
    /// How it ended: `inProgress`, `succeeded`, `failed`, `rolledBack`, `superseded`.
    pub outcome: String,
    /// The outcome's fields (`reason` of a failure, `to` of a rollback).
    pub outcome_detail: Py<PyAny>,
    /// The analyses run for it (dicts: name, provider, gate, verdict, reason, measurements).
    pub analyses: Py<PyAny>,
}

#[pymethods]
impl Revision {
    fn __repr__(&self) -> String {
        format!("Revision({}, version='{}', strategy='{}', outcome='{}')", self.number, self.version, self.strategy, self.outcome)
    }
}

/// The Python form of the core's `ReleaseStatus`.
pub(crate) fn release_status(py: Python<'_>, s: rollout::ReleaseStatus) -> ReleaseStatus {
    ReleaseStatus {
        app: s.app,
        active: s.active,
        versions: s.versions.into_iter().map(|v| VersionStatus { version: v.version, desired: v.desired, ready: v.ready, selected: v.selected }).collect(),
        rollout_phase: s.rollout.map(|r| name(&r.phase)),
        revision: s.revision,
        canary_weight: s.canary_weight,
        drift: json_to_py(py, &serde_json::to_value(&s.drift).unwrap_or_default()),
    }
}

/// The Python form of one revision of the core's history.
pub(crate) fn revision(py: Python<'_>, r: &rollout::Revision) -> Revision {
    let outcome = serde_json::to_value(&r.outcome).unwrap_or_default();
    Revision {
        number: r.number,
        version: r.version.clone(),
        image: r.image.clone(),
        replicas: r.replicas,
        strategy: r.strategy.clone(),
        by: r.by.clone(),
        started_at: r.started_at,
        finished_at: r.finished_at,
        outcome: outcome.get("state").and_then(Value::as_str).unwrap_or_default().to_string(),
        outcome_detail: json_to_py(py, &outcome),
        analyses: json_to_py(py, &serde_json::to_value(&r.analyses).unwrap_or_default()),
    }
}

/// A progress event as a dict: `event` (snake_case) and the event's fields.
fn progress_json(p: &Progress) -> Value {
    match p {
        Progress::PreflightPassed { extra_pods } => json!({"event": "preflight_passed", "extra_pods": extra_pods}),
        Progress::Applied { objects, changed } => json!({"event": "applied", "objects": objects, "changed": changed}),
        Progress::ReplicasReady { version, ready, desired } => json!({"event": "replicas_ready", "version": version, "ready": ready, "desired": desired}),
        Progress::WaitingForPromotion { version } => json!({"event": "waiting_for_promotion", "version": version}),
        Progress::TrafficSwitched { from, to, latency } => json!({"event": "traffic_switched", "from": from, "to": to, "latency": latency.as_secs_f64()}),
        Progress::KeepingWarm { version, delay } => json!({"event": "keeping_warm", "version": version, "delay": delay.as_secs_f64()}),
        Progress::ScaledDown { version } => json!({"event": "scaled_down", "version": version}),
        Progress::Pruned { version } => json!({"event": "pruned", "version": version}),
        Progress::Done { revision, version } => json!({"event": "done", "revision": revision, "version": version}),
        Progress::WeightSet { requested, actual, canary, total } => {
            json!({"event": "weight_set", "requested": requested, "actual": actual, "canary": canary, "total": total})
        }
        Progress::Paused { version, step, note } => json!({"event": "paused", "version": version, "step": step, "note": note}),
        Progress::Aborted { version } => json!({"event": "aborted", "version": version}),
        Progress::AnalysisFinished { name, gate, verdict, reason } => {
            json!({"event": "analysis_finished", "name": name, "gate": gate, "verdict": verdict.as_str(), "reason": reason})
        }
    }
}

/// The options, and the slot where an exception raised by the callback is kept.
pub(crate) type CallbackError = Arc<Mutex<Option<PyErr>>>;

/// The core's options: `force` takes back fields another field manager changed (the core's
/// `RolloutOptions::force`), instead of failing with `Conflict`.
pub(crate) fn options(timeout: f64, wait_for_scale_down: bool, force: bool, on_progress: Option<Py<PyAny>>) -> PyResult<(RolloutOptions, CallbackError)> {
    let timeout = crate::lifecycle::seconds("timeout", timeout)?;
    let failed: CallbackError = Arc::new(Mutex::new(None));
    let mut options = RolloutOptions { timeout, wait_for_scale_down, progress: None, ..RolloutOptions::default() };
    if force {
        options = options.force();
    }
    if let Some(cb) = on_progress {
        let slot = failed.clone();
        options = options.on_progress(move |p| {
            Python::attach(|py| {
                if let Err(e) = cb.call1(py, (json_to_py(py, &progress_json(p)),)) {
                    if let Ok(mut s) = slot.lock() {
                        s.get_or_insert(e);
                    }
                }
            })
        });
    }
    Ok((options, failed))
}

pub(crate) fn finish<T>(py: Python<'_>, result: Result<T, RolloutError>, failed: &CallbackError) -> PyResult<T> {
    let value = result.map_err(|e| errors::rollout(py, &e))?;
    if let Some(e) = failed.lock().ok().and_then(|mut s| s.take()) {
        return Err(e);
    }
    Ok(value)
}

pub(crate) fn finish_async<T>(result: Result<T, RolloutError>, failed: &CallbackError) -> PyResult<T> {
    Python::attach(|py| finish(py, result, failed))
}

#[pymethods]
impl Cluster {
    /// Rolls `release` out for `tenant` with the release's strategy (quota preflight first;
    /// nothing is created when it fails). `timeout` is in seconds of backend time. `force` takes
    /// back fields another field manager changed (default: `Conflict` before anything changes).
    #[pyo3(signature = (tenant, release, *, timeout=600.0, wait_for_scale_down=true, force=false, on_progress=None))]
    fn rollout(
        &self,
        py: Python<'_>,
        tenant: &Tenant,
        release: &Release,
        timeout: f64,
        wait_for_scale_down: bool,
        force: bool,
        on_progress: Option<Py<PyAny>>,
    ) -> PyResult<RolloutReport> {
        let (options, failed) = options(timeout, wait_for_scale_down, force, on_progress)?;
        let (backend, tenant, release) = (self.backend.clone(), tenant.inner.clone(), release.inner.clone());
        let r = block_on(py, async move { rollout::rollout(backend.as_ref(), &tenant, &release, &options).await })?;
        finish(py, r, &failed).map(Into::into)
    }

    /// `rollout`, as a coroutine.
    #[pyo3(signature = (tenant, release, *, timeout=600.0, wait_for_scale_down=true, force=false, on_progress=None))]
    fn a_rollout<'py>(
        &self,
        py: Python<'py>,
        tenant: &Tenant,
        release: &Release,
        timeout: f64,
        wait_for_scale_down: bool,
        force: bool,
        on_progress: Option<Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (options, failed) = options(timeout, wait_for_scale_down, force, on_progress)?;
        let (backend, tenant, release) = (self.backend.clone(), tenant.inner.clone(), release.inner.clone());
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let r = rollout::rollout(backend.as_ref(), &tenant, &release, &options).await;
            finish_async(r, &failed).map(RolloutReport::from)
        })
    }

    /// Finishes the rollout of `app` in progress; `None` when nothing was in progress.
    #[pyo3(signature = (tenant, app, *, timeout=600.0, force=false, on_progress=None))]
    fn resume(
        &self,
        py: Python<'_>,
        tenant: &Tenant,
        app: String,
        timeout: f64,
        force: bool,
        on_progress: Option<Py<PyAny>>,
    ) -> PyResult<Option<RolloutReport>> {
        let (options, failed) = options(timeout, true, force, on_progress)?;
        let (backend, tenant) = (self.backend.clone(), tenant.inner.clone());
        let r = block_on(py, async move { rollout::resume(backend.as_ref(), &tenant, &app, &options).await })?;
        finish(py, r, &failed).map(|r| r.map(Into::into))
    }

    /// Switches traffic to the version waiting for promotion.
    #[pyo3(signature = (tenant, app, *, timeout=600.0, wait_for_scale_down=true, force=false, on_progress=None))]
    fn promote(
        &self,
        py: Python<'_>,
        tenant: &Tenant,
        app: String,
        timeout: f64,
        wait_for_scale_down: bool,
        force: bool,
        on_progress: Option<Py<PyAny>>,
    ) -> PyResult<RolloutReport> {
        let (options, failed) = options(timeout, wait_for_scale_down, force, on_progress)?;
        let (backend, tenant) = (self.backend.clone(), tenant.inner.clone());
        let r = block_on(py, async move { rollout::promote(backend.as_ref(), &tenant, &app, &options).await })?;
        finish(py, r, &failed).map(Into::into)
    }

    /// `promote`, as a coroutine.
    #[pyo3(signature = (tenant, app, *, timeout=600.0, wait_for_scale_down=true, force=false, on_progress=None))]
    fn a_promote<'py>(
        &self,
        py: Python<'py>,
        tenant: &Tenant,
        app: String,
        timeout: f64,
        wait_for_scale_down: bool,
        force: bool,
        on_progress: Option<Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (options, failed) = options(timeout, wait_for_scale_down, force, on_progress)?;
        let (backend, tenant) = (self.backend.clone(), tenant.inner.clone());
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let r = rollout::promote(backend.as_ref(), &tenant, &app, &options).await;
            finish_async(r, &failed).map(RolloutReport::from)
        })
    }

    /// Rolls back to revision `to` (default: the last one that succeeded before the live one),
    /// restoring its image and config.
    #[pyo3(signature = (tenant, app, to=None, *, timeout=600.0, wait_for_scale_down=true, force=false, on_progress=None))]
    fn rollback(
        &self,
        py: Python<'_>,
        tenant: &Tenant,
        app: String,
        to: Option<u32>,
        timeout: f64,
        wait_for_scale_down: bool,
        force: bool,
        on_progress: Option<Py<PyAny>>,
    ) -> PyResult<RolloutReport> {
        let (options, failed) = options(timeout, wait_for_scale_down, force, on_progress)?;
        let (backend, tenant) = (self.backend.clone(), tenant.inner.clone());
        let r = block_on(py, async move { rollout::rollback(backend.as_ref(), &tenant, &app, to, &options).await })?;
        finish(py, r, &failed).map(Into::into)
    }

    /// `rollback`, as a coroutine.
    #[pyo3(signature = (tenant, app, to=None, *, timeout=600.0, wait_for_scale_down=true, force=false, on_progress=None))]
    fn a_rollback<'py>(
        &self,
        py: Python<'py>,
        tenant: &Tenant,
        app: String,
        to: Option<u32>,
        timeout: f64,
        wait_for_scale_down: bool,
        force: bool,
        on_progress: Option<Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (options, failed) = options(timeout, wait_for_scale_down, force, on_progress)?;
        let (backend, tenant) = (self.backend.clone(), tenant.inner.clone());
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let r = rollout::rollback(backend.as_ref(), &tenant, &app, to, &options).await;
            finish_async(r, &failed).map(RolloutReport::from)
        })
    }

    /// The versions of `app`, which one serves, and any rollout in progress.
    fn status(&self, py: Python<'_>, tenant: &Tenant, app: String) -> PyResult<ReleaseStatus> {
        let (backend, tenant) = (self.backend.clone(), tenant.inner.clone());
        let s = block_on(py, async move { rollout::status(backend.as_ref(), &tenant, &app).await })?.map_err(|e| errors::rollout(py, &e))?;
        Ok(release_status(py, s))
    }

    /// The revisions of `app`, oldest first.
    fn history(&self, py: Python<'_>, tenant: &Tenant, app: String) -> PyResult<Vec<Revision>> {
        let (backend, tenant) = (self.backend.clone(), tenant.inner.clone());
        let h = block_on(py, async move { rollout::history(backend.as_ref(), &tenant, &app).await })?.map_err(|e| errors::rollout(py, &e))?;
        Ok(h.revisions.iter().map(|r| revision(py, r)).collect())
    }

    /// Deletes one version of `app`; refused (`VersionSelected`) while the stable Service selects it.
    fn delete_version(&self, py: Python<'_>, tenant: &Tenant, app: String, version: String) -> PyResult<()> {
        let (backend, tenant) = (self.backend.clone(), tenant.inner.clone());
        block_on(py, async move { rollout::delete_version(backend.as_ref(), &tenant, &app, &version).await })?.map_err(|e| errors::rollout(py, &e))
    }
}
