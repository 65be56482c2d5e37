//! The tenant lifecycle on a `Cluster` (the core's `tenant` module): apply, plan, status, suspend,
//! resume, delete and `live_tenant`; blocking and `a_*` coroutine twins. Reports are the core's
//! serialized structs, as dicts.

use std::time::Duration;

use moorage::backend::ConflictPolicy;
use moorage::tenant::{self, ApplyTenantOptions, DeleteOptions, TenantError};
use pyo3::prelude::*;

use crate::cluster::{block_on, Cluster};
use crate::convert::to_py;
use crate::errors;
use crate::tenant::Tenant;

/// A number of seconds given for the argument `name`, read by the core (infinity: no limit); a
/// negative number or NaN is a `ValidationError` at `name`.
pub(crate) fn seconds(name: &str, value: f64) -> PyResult<Duration> {
    moorage::checks::duration_from_seconds(value).map_err(|message| Python::attach(|py| errors::field(py, name, &message)))
}

/// The core's apply options; `force` takes over fields another field manager changed (server-side
/// apply force) instead of failing with `Conflict`; `storage_classes` is the provider's allow list
/// (`None`: any class).
pub(crate) fn apply_options(timeout: f64, force: bool, storage_classes: Option<Vec<String>>) -> PyResult<ApplyTenantOptions> {
    let conflicts = if force { ConflictPolicy::Force } else { ConflictPolicy::Fail };
    Ok(ApplyTenantOptions { timeout: seconds("timeout", timeout)?, conflicts, storage_classes })
}

/// Runs a tenant operation as a coroutine; its value becomes a Python object with `convert`.
fn coroutine<'py, T, F>(py: Python<'py>, fut: F, convert: fn(Python<'_>, T) -> Py<PyAny>) -> PyResult<Bound<'py, PyAny>>
where
    F: std::future::Future<Output = Result<T, TenantError>> + Send + 'static,
    T: Send + 'static,
{
    pyo3_async_runtimes::tokio::future_into_py(py, async move {
        let r = fut.await;
        Python::attach(|py| r.map(|v| convert(py, v)).map_err(|e| errors::tenant(py, &e)))
    })
}

/// The core's tenant summaries as dicts.
fn summaries(py: Python<'_>, list: Vec<tenant::TenantSummary>) -> Py<PyAny> {
    let list: Vec<serde_json::Value> = list
        .into_iter()
        .map(|t| serde_json::json!({"name": t.name, "display_name": t.display_name, "protected": t.protected, "suspended": t.suspended, "deployments": t.deployments, "domains": t.domains, "cluster": t.cluster}))
        .collect();
    crate::convert::json_to_py(py, &serde_json::Value::Array(list))
}

fn changes(py: Python<'_>, r: tenant::TenantReport) -> Py<PyAny> {
    to_py(py, &r.changes())
}

fn serialized<T: serde::Serialize>(py: Python<'_>, v: T) -> Py<PyAny> {
    to_py(py, &v)
}

#[pymethods]
impl Cluster {
    /// Creates or updates everything the tenant compiles to (after checking that no other tenant
    /// holds one of its domains), then waits until it is usable, at most `timeout` seconds. Returns
    /// how many objects were created or changed (0 on a repeated apply). A field another field
    /// manager changed raises `Conflict` before anything is written, unless `force`. A volume of a
    /// storage class outside `storage_classes` (the provider's allow list) raises `ValidationError`.
    #[pyo3(signature = (tenant, *, timeout=60.0, force=false, storage_classes=None))]
    fn apply_tenant(&self, py: Python<'_>, tenant: &Tenant, timeout: f64, force: bool, storage_classes: Option<Vec<String>>) -> PyResult<usize> {
        let (backend, tenant, options) = (self.backend.clone(), tenant.inner.clone(), apply_options(timeout, force, storage_classes)?);
        let r = block_on(py, async move { tenant::apply(backend.as_ref(), &tenant, &options).await })?;
        r.map(|r| r.changes()).map_err(|e| errors::tenant(py, &e))
    }

    /// `apply_tenant`, as a coroutine.
    #[pyo3(signature = (tenant, *, timeout=60.0, force=false, storage_classes=None))]
    fn a_apply_tenant<'py>(
        &self,
        py: Python<'py>,
        tenant: &Tenant,
        timeout: f64,
        force: bool,
        storage_classes: Option<Vec<String>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (backend, tenant, options) = (self.backend.clone(), tenant.inner.clone(), apply_options(timeout, force, storage_classes)?);
        coroutine(py, async move { tenant::apply(backend.as_ref(), &tenant, &options).await }, changes)
    }

    /// What `apply_tenant` would create, change or delete, field by field, changing nothing:
    /// `{"objects": [{"object", "action", "changes": [{"path", "before", "after"}]}]}`.
    fn plan_tenant(&self, py: Python<'_>, tenant: &Tenant) -> PyResult<Py<PyAny>> {
        let (backend, tenant) = (self.backend.clone(), tenant.inner.clone());
        let r = block_on(py, async move { tenant::plan(backend.as_ref(), &tenant).await })?;
        r.map(|p| to_py(py, &p)).map_err(|e| errors::tenant(py, &e))
    }

    /// `plan_tenant`, as a coroutine.
    fn a_plan_tenant<'py>(&self, py: Python<'py>, tenant: &Tenant) -> PyResult<Bound<'py, PyAny>> {
        let (backend, tenant) = (self.backend.clone(), tenant.inner.clone());
        coroutine(py, async move { tenant::plan(backend.as_ref(), &tenant).await }, serialized)
    }

    /// Quota used vs hard, pods per release version, domains and certificates, last backups and
    /// drift, as a dict.
    fn tenant_status(&self, py: Python<'_>, tenant: &Tenant) -> PyResult<Py<PyAny>> {
        let (backend, tenant) = (self.backend.clone(), tenant.inner.clone());
        let r = block_on(py, async move { tenant::status(backend.as_ref(), &tenant).await })?;
        r.map(|s| to_py(py, &s)).map_err(|e| errors::tenant(py, &e))
    }

    /// `tenant_status`, as a coroutine.
    fn a_tenant_status<'py>(&self, py: Python<'py>, tenant: &Tenant) -> PyResult<Bound<'py, PyAny>> {
        let (backend, tenant) = (self.backend.clone(), tenant.inner.clone());
        coroutine(py, async move { tenant::status(backend.as_ref(), &tenant).await }, serialized)
    }

    /// Scales every release of the tenant to zero, keeping data and configuration; returns the
    /// Deployments scaled.
    fn suspend_tenant(&self, py: Python<'_>, tenant: &Tenant) -> PyResult<Vec<String>> {
        let (backend, tenant) = (self.backend.clone(), tenant.inner.clone());
        block_on(py, async move { tenant::suspend(backend.as_ref(), &tenant).await })?.map_err(|e| errors::tenant(py, &e))
    }

    /// `suspend_tenant`, as a coroutine.
    fn a_suspend_tenant<'py>(&self, py: Python<'py>, tenant: &Tenant) -> PyResult<Bound<'py, PyAny>> {
        let (backend, tenant) = (self.backend.clone(), tenant.inner.clone());
        coroutine(py, async move { tenant::suspend(backend.as_ref(), &tenant).await }, serialized)
    }

    /// Restores the replica counts `suspend_tenant` recorded; returns the Deployments restored.
    fn resume_tenant(&self, py: Python<'_>, tenant: &Tenant) -> PyResult<Vec<String>> {
        let (backend, tenant) = (self.backend.clone(), tenant.inner.clone());
        block_on(py, async move { tenant::resume(backend.as_ref(), &tenant).await })?.map_err(|e| errors::tenant(py, &e))
    }

    /// `resume_tenant`, as a coroutine.
    fn a_resume_tenant<'py>(&self, py: Python<'py>, tenant: &Tenant) -> PyResult<Bound<'py, PyAny>> {
        let (backend, tenant) = (self.backend.clone(), tenant.inner.clone());
        coroutine(py, async move { tenant::resume(backend.as_ref(), &tenant).await }, serialized)
    }

    /// Deletes the tenant (refused for a protected tenant unless `confirm`); keeps volumes marked to
    /// keep unless `purge`. Returns `{"deleted": [...], "kept": [...]}`.
    #[pyo3(signature = (tenant, *, confirm=false, purge=false))]
    fn delete_tenant(&self, py: Python<'_>, tenant: &Tenant, confirm: bool, purge: bool) -> PyResult<Py<PyAny>> {
        let (backend, tenant) = (self.backend.clone(), tenant.inner.clone());
        let r = block_on(py, async move { tenant::delete(backend.as_ref(), &tenant, DeleteOptions { confirm, purge }).await })?;
        r.map(|d| to_py(py, &d)).map_err(|e| errors::tenant(py, &e))
    }

    /// `delete_tenant`, as a coroutine.
    #[pyo3(signature = (tenant, *, confirm=false, purge=false))]
    fn a_delete_tenant<'py>(&self, py: Python<'py>, tenant: &Tenant, confirm: bool, purge: bool) -> PyResult<Bound<'py, PyAny>> {
        let (backend, tenant) = (self.backend.clone(), tenant.inner.clone());
        coroutine(py, async move { tenant::delete(backend.as_ref(), &tenant, DeleteOptions { confirm, purge }).await }, serialized)
    }

    /// Every moorage tenant of the cluster, sorted by name, as dicts: `name`, `display_name`,
    /// `protected`, `suspended`, `deployments`, `domains`, `cluster` (its fleet cluster).
    fn list_tenants(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let backend = self.backend.clone();
        let r = block_on(py, async move { tenant::list(backend.as_ref()).await })?;
        r.map(|l| summaries(py, l)).map_err(|e| errors::tenant(py, &e))
    }

    /// `list_tenants`, as a coroutine.
    fn a_list_tenants<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let backend = self.backend.clone();
        coroutine(py, async move { tenant::list(backend.as_ref()).await }, summaries)
    }

    /// The tenant `name` as it was last applied to this cluster (from the spec its Namespace records).
    fn live_tenant(&self, py: Python<'_>, name: String) -> PyResult<Tenant> {
        let backend = self.backend.clone();
        let r = block_on(py, async move { tenant::live(backend.as_ref(), &name).await })?;
        r.map(|inner| Tenant { inner }).map_err(|e| errors::tenant(py, &e))
    }
}
