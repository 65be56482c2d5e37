//! More release operations on a `Cluster` (the core's `rollout` module): abort a canary, retry a
//! failed rollout, scale the serving version, and the coroutine twins of resume, status, history
//! and delete_version. The rest is in `rollout.rs`.

use moorage::rollout::{self, Preflight};
use pyo3::prelude::*;
use serde_json::{json, Value};

use crate::cluster::{block_on, Cluster};
use crate::convert::{json_to_py, to_py};
use crate::errors;
use crate::release::Release;
use crate::rollout::{finish, finish_async, options, release_status, revision, ReleaseStatus, Revision, RolloutReport};
use crate::tenant::Tenant;

/// The core's preflight as a dict: `extra_pods`, and `resources` (quota resource to `needed`, `available`).
fn preflight_dict(py: Python<'_>, p: Preflight) -> Py<PyAny> {
    let resources: serde_json::Map<String, Value> =
        p.resources.into_iter().map(|(k, (needed, available))| (k, json!({"needed": needed, "available": available}))).collect();
    json_to_py(py, &json!({"extra_pods": p.extra_pods, "resources": resources}))
}

#[pymethods]
impl Cluster {
    /// What a rollout of `release` would create or change once finished, field by field, changing
    /// nothing: `{"objects": [{"object", "action", "changes": [{"path", "before", "after"}]}]}`.
    fn plan_release(&self, py: Python<'_>, tenant: &Tenant, release: &Release) -> PyResult<Py<PyAny>> {
        let (backend, tenant, release) = (self.backend.clone(), tenant.inner.clone(), release.inner.clone());
        let r = block_on(py, async move { rollout::plan(backend.as_ref(), &tenant, &release).await })?;
        r.map(|p| to_py(py, &p)).map_err(|e| errors::rollout(py, &e))
    }

    /// `plan_release`, as a coroutine.
    fn a_plan_release<'py>(&self, py: Python<'py>, tenant: &Tenant, release: &Release) -> PyResult<Bound<'py, PyAny>> {
        let (backend, tenant, release) = (self.backend.clone(), tenant.inner.clone(), release.inner.clone());
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let r = rollout::plan(backend.as_ref(), &tenant, &release).await;
            Python::attach(|py| r.map(|p| to_py(py, &p)).map_err(|e| errors::rollout(py, &e)))
        })
    }

    /// The quota preflight of a rollout of `release`, changing nothing: `{"extra_pods": n,
    /// "resources": {"limits.cpu": {"needed", "available"}, ...}}`; raises `QuotaInsufficient`
    /// when the quota cannot hold the strategy's peak.
    fn preflight(&self, py: Python<'_>, tenant: &Tenant, release: &Release) -> PyResult<Py<PyAny>> {
        let (backend, tenant, release) = (self.backend.clone(), tenant.inner.clone(), release.inner.clone());
        let r = block_on(py, async move { rollout::preflight(backend.as_ref(), &tenant, &release).await })?;
        r.map(|p| preflight_dict(py, p)).map_err(|e| errors::rollout(py, &e))
    }

    /// `preflight`, as a coroutine.
    fn a_preflight<'py>(&self, py: Python<'py>, tenant: &Tenant, release: &Release) -> PyResult<Bound<'py, PyAny>> {
        let (backend, tenant, release) = (self.backend.clone(), tenant.inner.clone(), release.inner.clone());
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let r = rollout::preflight(backend.as_ref(), &tenant, &release).await;
            Python::attach(|py| r.map(|p| preflight_dict(py, p)).map_err(|e| errors::rollout(py, &e)))
        })
    }

    /// Aborts the canary of `app` in progress (e.g. paused by an inconclusive analysis): the stable
    /// version back at full size and selected alone, the canary scaled to 0, the revision failed.
    #[pyo3(signature = (tenant, app, *, timeout=600.0, force=false, on_progress=None))]
    fn abort(&self, py: Python<'_>, tenant: &Tenant, app: String, timeout: f64, force: bool, on_progress: Option<Py<PyAny>>) -> PyResult<RolloutReport> {
        let (options, failed) = options(timeout, true, force, on_progress)?;
        let (backend, tenant) = (self.backend.clone(), tenant.inner.clone());
        let r = block_on(py, async move { rollout::abort(backend.as_ref(), &tenant, &app, &options).await })?;
        finish(py, r, &failed).map(Into::into)
    }

    /// `abort`, as a coroutine.
    #[pyo3(signature = (tenant, app, *, timeout=600.0, force=false, on_progress=None))]
    fn a_abort<'py>(
        &self,
        py: Python<'py>,
        tenant: &Tenant,
        app: String,
        timeout: f64,
        force: bool,
        on_progress: Option<Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (options, failed) = options(timeout, true, force, on_progress)?;
        let (backend, tenant) = (self.backend.clone(), tenant.inner.clone());
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let r = rollout::abort(backend.as_ref(), &tenant, &app, &options).await;
            finish_async(r, &failed).map(RolloutReport::from)
        })
    }

    /// Rolls out again the newest revision of `app` that failed or was aborted, from its first step.
    #[pyo3(signature = (tenant, app, *, timeout=600.0, wait_for_scale_down=true, force=false, on_progress=None))]
    fn retry(
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
        let r = block_on(py, async move { rollout::retry(backend.as_ref(), &tenant, &app, &options).await })?;
        finish(py, r, &failed).map(Into::into)
    }

    /// `retry`, as a coroutine.
    #[pyo3(signature = (tenant, app, *, timeout=600.0, wait_for_scale_down=true, force=false, on_progress=None))]
    fn a_retry<'py>(
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
            let r = rollout::retry(backend.as_ref(), &tenant, &app, &options).await;
            finish_async(r, &failed).map(RolloutReport::from)
        })
    }

    /// Sets the replicas of the version of `app` that serves (a new revision, quota preflight first).
    #[pyo3(signature = (tenant, app, replicas, *, timeout=600.0, force=false, on_progress=None))]
    fn scale(
        &self,
        py: Python<'_>,
        tenant: &Tenant,
        app: String,
        replicas: u32,
        timeout: f64,
        force: bool,
        on_progress: Option<Py<PyAny>>,
    ) -> PyResult<RolloutReport> {
        let (options, failed) = options(timeout, true, force, on_progress)?;
        let (backend, tenant) = (self.backend.clone(), tenant.inner.clone());
        let r = block_on(py, async move { rollout::scale(backend.as_ref(), &tenant, &app, replicas, &options).await })?;
        finish(py, r, &failed).map(Into::into)
    }

    /// `scale`, as a coroutine.
    #[pyo3(signature = (tenant, app, replicas, *, timeout=600.0, force=false, on_progress=None))]
    fn a_scale<'py>(
        &self,
        py: Python<'py>,
        tenant: &Tenant,
        app: String,
        replicas: u32,
        timeout: f64,
        force: bool,
        on_progress: Option<Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (options, failed) = options(timeout, true, force, on_progress)?;
        let (backend, tenant) = (self.backend.clone(), tenant.inner.clone());
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let r = rollout::scale(backend.as_ref(), &tenant, &app, replicas, &options).await;
            finish_async(r, &failed).map(RolloutReport::from)
        })
    }

    /// `resume`, as a coroutine.
    #[pyo3(signature = (tenant, app, *, timeout=600.0, force=false, on_progress=None))]
    fn a_resume<'py>(
        &self,
        py: Python<'py>,
        tenant: &Tenant,
        app: String,
        timeout: f64,
        force: bool,
        on_progress: Option<Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (options, failed) = options(timeout, true, force, on_progress)?;
        let (backend, tenant) = (self.backend.clone(), tenant.inner.clone());
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let r = rollout::resume(backend.as_ref(), &tenant, &app, &options).await;
            finish_async(r, &failed).map(|r| r.map(RolloutReport::from))
        })
    }

    /// `status`, as a coroutine.
    fn a_status<'py>(&self, py: Python<'py>, tenant: &Tenant, app: String) -> PyResult<Bound<'py, PyAny>> {
        let (backend, tenant) = (self.backend.clone(), tenant.inner.clone());
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let r = rollout::status(backend.as_ref(), &tenant, &app).await;
            Python::attach(|py| -> PyResult<ReleaseStatus> { r.map(|s| release_status(py, s)).map_err(|e| errors::rollout(py, &e)) })
        })
    }

    /// `history`, as a coroutine.
    fn a_history<'py>(&self, py: Python<'py>, tenant: &Tenant, app: String) -> PyResult<Bound<'py, PyAny>> {
        let (backend, tenant) = (self.backend.clone(), tenant.inner.clone());
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let r = rollout::history(backend.as_ref(), &tenant, &app).await;
            Python::attach(|py| -> PyResult<Vec<Revision>> {
                r.map(|h| h.revisions.iter().map(|r| revision(py, r)).collect()).map_err(|e| errors::rollout(py, &e))
            })
        })
    }

    /// `delete_version`, as a coroutine.
    fn a_delete_version<'py>(&self, py: Python<'py>, tenant: &Tenant, app: String, version: String) -> PyResult<Bound<'py, PyAny>> {
        let (backend, tenant) = (self.backend.clone(), tenant.inner.clone());
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let r = rollout::delete_version(backend.as_ref(), &tenant, &app, &version).await;
            Python::attach(|py| r.map_err(|e| errors::rollout(py, &e)))
        })
    }
}
