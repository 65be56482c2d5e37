//! `moorage.Fleet`: named clusters (the core's `tenant::Fleet`), tenant placement, and fleet wave
//! upgrades (the core's `waves`); blocking and `a_*` coroutine twins. Plans are dicts or YAML files
//! read by the core's spec reader; states and progress events are the core's serialized structs.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use moorage::tenant::{Fleet as CoreFleet, FleetCluster, Placement};
use moorage::waves::{self, WaveError, WaveOptions, WavePlan, WaveProgress};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::cluster::{block_on, Cluster};
use crate::convert::{spec_json, text_or_file, to_py};
use crate::errors;
use crate::lifecycle::seconds;
use crate::tenant::Tenant;

/// Several named clusters, each with labels and a capacity in tenants.
#[pyclass(module = "moorage", frozen)]
pub struct Fleet {
    inner: Arc<CoreFleet>,
}

/// A plan from a dict, or from a YAML/JSON file or text, through the core's reader.
fn plan_from(py: Python<'_>, plan: &Bound<'_, PyAny>) -> PyResult<WavePlan> {
    if plan.is_instance_of::<PyDict>() {
        let value = spec_json(plan, "plan")?;
        return moorage::spec::wave_plan_from_value(&value).map_err(|e| errors::spec(py, &e));
    }
    let text = text_or_file(plan)?;
    py.detach(|| moorage::spec::wave_plan_from_yaml(&text)).map_err(|e| errors::spec(py, &e))
}

type CallbackError = Arc<Mutex<Option<PyErr>>>;

fn wave_options(timeout: f64, on_progress: Option<Py<PyAny>>) -> PyResult<(WaveOptions, CallbackError)> {
    let mut options = WaveOptions::default();
    options.rollout.timeout = seconds("timeout", timeout)?;
    let failed: CallbackError = Arc::new(Mutex::new(None));
    if let Some(cb) = on_progress {
        let slot = failed.clone();
        options = options.on_progress(move |p: &WaveProgress| {
            Python::attach(|py| {
                if let Err(e) = cb.call1(py, (to_py(py, p),)) {
                    if let Ok(mut s) = slot.lock() {
                        s.get_or_insert(e);
                    }
                }
            })
        });
    }
    Ok((options, failed))
}

fn finish<T: serde::Serialize>(py: Python<'_>, r: Result<T, WaveError>, failed: &CallbackError) -> PyResult<Py<PyAny>> {
    let value = r.map_err(|e| errors::waves(py, &e))?;
    if let Some(e) = failed.lock().ok().and_then(|mut s| s.take()) {
        return Err(e);
    }
    Ok(to_py(py, &value))
}

#[pymethods]
impl Fleet {
    /// `clusters`: a list of dicts `{"name": str, "cluster": Cluster, "labels": {str: str},
    /// "capacity": int, "storage_classes": [str]}` (capacity in tenants, default unlimited;
    /// `storage_classes`: the provider's allow list of storage classes on that cluster, default any).
    #[new]
    fn new(py: Python<'_>, clusters: Vec<Bound<'_, PyDict>>) -> PyResult<Self> {
        const KEYS: [&str; 5] = ["name", "cluster", "labels", "capacity", "storage_classes"];
        let mut out = Vec::new();
        for (i, c) in clusters.iter().enumerate() {
            // A misspelt key is refused, as an unexpected keyword argument is: ignored, a misspelt
            // capacity would be no limit at all.
            for key in c.keys() {
                let key: String = key.str()?.to_cow()?.into_owned();
                if !KEYS.contains(&key.as_str()) {
                    let known: Vec<String> = KEYS.iter().map(|k| format!("'{k}'")).collect();
                    return Err(pyo3::exceptions::PyTypeError::new_err(format!("clusters[{i}]: unknown key '{key}', expected one of {}", known.join(", "))));
                }
            }
            let field = |name: &str| -> PyResult<Bound<'_, PyAny>> {
                c.get_item(name)?.ok_or_else(|| pyo3::exceptions::PyKeyError::new_err(format!("clusters[{i}].{name} is missing")))
            };
            let cluster: PyRef<'_, Cluster> = field("cluster")?.extract()?;
            let labels: BTreeMap<String, String> = match c.get_item("labels")? {
                Some(l) => l.extract()?,
                None => BTreeMap::new(),
            };
            let capacity: u32 = match c.get_item("capacity")? {
                Some(v) => v.extract()?,
                None => u32::MAX,
            };
            let storage_classes: Option<Vec<String>> = match c.get_item("storage_classes")? {
                Some(v) => Some(v.extract()?),
                None => None,
            };
            out.push(FleetCluster { name: field("name")?.extract()?, labels, capacity, storage_classes, backend: cluster.backend.clone() });
        }
        let inner = CoreFleet::new(out).map_err(|e| errors::fleet(py, &e))?;
        Ok(Fleet { inner: Arc::new(inner) })
    }

    /// Places the tenant (where it already is, else `pin`, else among the clusters carrying
    /// `labels` the one with the most free capacity), applies it there and waits until it is
    /// usable. Returns `(cluster, changes)`.
    /// `force` takes over fields another field manager changed (default: `Conflict`).
    #[pyo3(signature = (tenant, *, pin=None, labels=None, timeout=60.0, force=false))]
    fn apply_tenant(
        &self,
        py: Python<'_>,
        tenant: &Tenant,
        pin: Option<String>,
        labels: Option<BTreeMap<String, String>>,
        timeout: f64,
        force: bool,
    ) -> PyResult<(String, usize)> {
        let placement = match pin {
            Some(p) => Placement::Pinned(p),
            None => Placement::Rule { required_labels: labels.unwrap_or_default() },
        };
        let options = crate::lifecycle::apply_options(timeout, force, None)?;
        let (fleet, tenant) = (self.inner.clone(), tenant.inner.clone());
        let r = block_on(py, async move { fleet.apply(&tenant, &placement, &options).await })?;
        r.map(|(cluster, report)| (cluster, report.changes())).map_err(|e| errors::fleet(py, &e))
    }

    /// `apply_tenant`, as a coroutine.
    #[pyo3(signature = (tenant, *, pin=None, labels=None, timeout=60.0, force=false))]
    fn a_apply_tenant<'py>(
        &self,
        py: Python<'py>,
        tenant: &Tenant,
        pin: Option<String>,
        labels: Option<BTreeMap<String, String>>,
        timeout: f64,
        force: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let placement = match pin {
            Some(p) => Placement::Pinned(p),
            None => Placement::Rule { required_labels: labels.unwrap_or_default() },
        };
        let options = crate::lifecycle::apply_options(timeout, force, None)?;
        let (fleet, tenant) = (self.inner.clone(), tenant.inner.clone());
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let r = fleet.apply(&tenant, &placement, &options).await;
            Python::attach(|py| r.map(|(cluster, report)| (cluster, report.changes())).map_err(|e| errors::fleet(py, &e)))
        })
    }

    /// `list`, as a coroutine.
    fn a_list<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let fleet = self.inner.clone();
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let r = fleet.list().await;
            Python::attach(|py| r.map(|l| l.into_iter().map(|t| (t.tenant, t.cluster)).collect::<Vec<_>>()).map_err(|e| errors::fleet(py, &e)))
        })
    }

    /// `resume_waves`, as a coroutine.
    #[pyo3(signature = (name, *, timeout=600.0, on_progress=None))]
    fn a_resume_waves<'py>(&self, py: Python<'py>, name: String, timeout: f64, on_progress: Option<Py<PyAny>>) -> PyResult<Bound<'py, PyAny>> {
        let (options, failed) = wave_options(timeout, on_progress)?;
        let fleet = self.inner.clone();
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let r = waves::resume(&fleet, &name, &options).await;
            Python::attach(|py| finish(py, r, &failed))
        })
    }

    /// `waves_status`, as a coroutine.
    fn a_waves_status<'py>(&self, py: Python<'py>, name: String) -> PyResult<Bound<'py, PyAny>> {
        let fleet = self.inner.clone();
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let r = waves::status(&fleet, &name).await;
            Python::attach(|py| finish(py, r, &Arc::new(Mutex::new(None))))
        })
    }

    /// Every tenant of the fleet and its cluster: a list of `(tenant, cluster)`.
    fn list(&self, py: Python<'_>) -> PyResult<Vec<(String, String)>> {
        let fleet = self.inner.clone();
        let r = block_on(py, async move { fleet.list().await })?;
        r.map(|l| l.into_iter().map(|t| (t.tenant, t.cluster)).collect()).map_err(|e| errors::fleet(py, &e))
    }

    /// Starts a wave plan (a dict or a YAML file) and runs it until it is done, paused or stopped;
    /// returns its state as a dict (`phase`, `waves`, `currentWave`, `tenants`: each with `state`).
    /// `on_progress` receives dicts (`{"event": "tenant_succeeded", "tenant": ..., "cluster": ...}`).
    #[pyo3(signature = (plan, *, timeout=600.0, on_progress=None))]
    fn start_waves(&self, py: Python<'_>, plan: &Bound<'_, PyAny>, timeout: f64, on_progress: Option<Py<PyAny>>) -> PyResult<Py<PyAny>> {
        let plan = plan_from(py, plan)?;
        let (options, failed) = wave_options(timeout, on_progress)?;
        let fleet = self.inner.clone();
        let r = block_on(py, async move { waves::start(&fleet, &plan, &options).await })?;
        finish(py, r, &failed)
    }

    /// `start_waves`, as a coroutine.
    #[pyo3(signature = (plan, *, timeout=600.0, on_progress=None))]
    fn a_start_waves<'py>(&self, py: Python<'py>, plan: &Bound<'_, PyAny>, timeout: f64, on_progress: Option<Py<PyAny>>) -> PyResult<Bound<'py, PyAny>> {
        let plan = plan_from(py, plan)?;
        let (options, failed) = wave_options(timeout, on_progress)?;
        let fleet = self.inner.clone();
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let r = waves::start(&fleet, &plan, &options).await;
            Python::attach(|py| finish(py, r, &failed))
        })
    }

    /// Goes on with the wave plan `name` (after a pause, a wait, or a driver that died).
    #[pyo3(signature = (name, *, timeout=600.0, on_progress=None))]
    fn resume_waves(&self, py: Python<'_>, name: String, timeout: f64, on_progress: Option<Py<PyAny>>) -> PyResult<Py<PyAny>> {
        let (options, failed) = wave_options(timeout, on_progress)?;
        let fleet = self.inner.clone();
        let r = block_on(py, async move { waves::resume(&fleet, &name, &options).await })?;
        finish(py, r, &failed)
    }

    /// The state of the wave plan `name` as a dict, or `None` when it was never started.
    fn waves_status(&self, py: Python<'_>, name: String) -> PyResult<Py<PyAny>> {
        let fleet = self.inner.clone();
        let r = block_on(py, async move { waves::status(&fleet, &name).await })?;
        finish(py, r, &Arc::new(Mutex::new(None)))
    }

    fn __repr__(&self) -> String {
        let names: Vec<&str> = self.inner.clusters().iter().map(|c| c.name.as_str()).collect();
        format!("Fleet({names:?})")
    }
}
