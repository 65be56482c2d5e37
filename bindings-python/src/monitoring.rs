//! `moorage.compile_monitoring` (the core's `compile_monitoring`: PodMonitors, alert rules and the
//! Grafana dashboard of a tenant) and `Cluster.prometheus_operator_installed`.

use moorage::compile::{compile_monitoring as core_compile_monitoring, prometheus_operator_installed, Monitoring as CoreMonitoring};
use pyo3::prelude::*;

use crate::cluster::{block_on, Cluster};
use crate::convert::json_to_py;
use crate::errors;
use crate::release::Release;
use crate::tenant::Tenant;

/// The monitoring of a tenant, compiled: objects to apply (PodMonitors and a PrometheusRule with
/// prometheus-operator, and the dashboard ConfigMap for Grafana's sidecar), the alert rules as a
/// Prometheus rule file, and the Grafana dashboard.
#[pyclass(module = "moorage", frozen)]
pub struct Monitoring {
    inner: CoreMonitoring,
    tenant: String,
}

#[pymethods]
impl Monitoring {
    /// Objects to apply, as dicts.
    #[getter]
    fn objects(&self, py: Python<'_>) -> Vec<Py<PyAny>> {
        self.inner.objects.iter().map(|o| json_to_py(py, o)).collect()
    }
    /// The alert rules (`{"groups": [...]}`).
    #[getter]
    fn rules(&self, py: Python<'_>) -> Py<PyAny> {
        json_to_py(py, &self.inner.rules)
    }
    /// The Grafana dashboard (Grafana's dashboard JSON model).
    #[getter]
    fn dashboard(&self, py: Python<'_>) -> Py<PyAny> {
        json_to_py(py, &self.inner.dashboard)
    }
    /// Writes `<tenant>.dashboard.json` and `<tenant>.rules.yaml` into `dir`; returns their paths.
    fn write_files(&self, dir: std::path::PathBuf) -> PyResult<Vec<String>> {
        let paths =
            self.inner.write_files(&dir, &self.tenant).map_err(|e| pyo3::exceptions::PyOSError::new_err(format!("writing into {}: {e}", dir.display())))?;
        Ok(paths.iter().map(|p| p.display().to_string()).collect())
    }
    fn __repr__(&self) -> String {
        format!("Monitoring('{}', objects={})", self.tenant, self.inner.objects.len())
    }
}

/// Compiles the monitoring of `tenant` and its `releases`; `prometheus_operator` says whether the
/// cluster has prometheus-operator's CRDs (see `Cluster.prometheus_operator_installed`).
#[pyfunction]
#[pyo3(signature = (tenant, releases=Vec::new(), *, prometheus_operator=false))]
pub fn compile_monitoring(py: Python<'_>, tenant: &Tenant, releases: Vec<Release>, prometheus_operator: bool) -> Monitoring {
    let releases: Vec<moorage::Release> = releases.into_iter().map(|r| r.inner).collect();
    let inner = py.detach(|| core_compile_monitoring(&tenant.inner, &releases, prometheus_operator));
    Monitoring { inner, tenant: tenant.inner.name().to_string() }
}

#[pymethods]
impl Cluster {
    /// Whether prometheus-operator's CRDs (PodMonitor, PrometheusRule) are installed.
    fn prometheus_operator_installed(&self, py: Python<'_>) -> PyResult<bool> {
        let backend = self.backend.clone();
        block_on(py, async move { prometheus_operator_installed(backend.as_ref()).await })?.map_err(|e| errors::backend(py, &e))
    }
}
