//! `moorage.Quota`: a tenant's resource quota (the core's `Quota`).

use moorage::model::quota::{ComputeResources, ObjectCounts, RequestQuota};
use pyo3::prelude::*;

use crate::convert::{spec_json, to_py};

/// A tenant's resource quota. Values are Kubernetes quantities (`"2"`, `"500m"`, `"1Gi"`);
/// the tenant validates them.
#[pyclass(module = "moorage", frozen)]
#[derive(Clone)]
pub struct Quota {
    pub(crate) inner: moorage::Quota,
}

#[pymethods]
impl Quota {
    #[new]
    #[pyo3(signature = (*, limits_cpu=None, limits_memory=None, requests_cpu=None, requests_memory=None, requests_storage=None, pods=None, services=None, configmaps=None, secrets=None, persistentvolumeclaims=None, container_defaults=None))]
    fn new(
        limits_cpu: Option<String>,
        limits_memory: Option<String>,
        requests_cpu: Option<String>,
        requests_memory: Option<String>,
        requests_storage: Option<String>,
        pods: Option<u32>,
        services: Option<u32>,
        configmaps: Option<u32>,
        secrets: Option<u32>,
        persistentvolumeclaims: Option<u32>,
        container_defaults: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        // Read by the core as a tenant's `quota.containerDefaults` is (its problems name the field).
        let container_defaults = match container_defaults {
            Some(d) => {
                let spec = serde_json::json!({ "containerDefaults": spec_json(d, "quota.containerDefaults")? });
                moorage::spec::quota_from_value(&spec).map_err(|e| crate::errors::spec(d.py(), &e))?.container_defaults
            }
            None => None,
        };
        Ok(Quota {
            inner: moorage::Quota {
                limits: ComputeResources { cpu: limits_cpu, memory: limits_memory },
                requests: RequestQuota { cpu: requests_cpu, memory: requests_memory, storage: requests_storage },
                pods,
                objects: ObjectCounts { services, configmaps, secrets, persistentvolumeclaims },
                container_defaults,
            },
        })
    }

    /// `limits.cpu`.
    #[getter]
    fn limits_cpu(&self) -> Option<String> {
        self.inner.limits.cpu.clone()
    }
    /// `limits.memory`.
    #[getter]
    fn limits_memory(&self) -> Option<String> {
        self.inner.limits.memory.clone()
    }
    /// `requests.cpu`.
    #[getter]
    fn requests_cpu(&self) -> Option<String> {
        self.inner.requests.cpu.clone()
    }
    /// `requests.memory`.
    #[getter]
    fn requests_memory(&self) -> Option<String> {
        self.inner.requests.memory.clone()
    }
    /// `requests.storage`.
    #[getter]
    fn requests_storage(&self) -> Option<String> {
        self.inner.requests.storage.clone()
    }
    /// Pods.
    #[getter]
    fn pods(&self) -> Option<u32> {
        self.inner.pods
    }

    /// The spec form (as in a tenant YAML file).
    fn to_dict(&self, py: Python<'_>) -> Py<PyAny> {
        to_py(py, &self.inner)
    }

    fn __eq__(&self, other: &Self) -> bool {
        self.inner == other.inner
    }

    fn __repr__(&self) -> String {
        repr(&self.inner)
    }
}

/// `Quota(limits_cpu='1', ...)`, only the fields that are set.
pub(crate) fn repr(q: &moorage::Quota) -> String {
    let mut parts = Vec::new();
    let mut s = |name: &str, v: &Option<String>| {
        if let Some(v) = v {
            parts.push(format!("{name}={v:?}"));
        }
    };
    s("limits_cpu", &q.limits.cpu);
    s("limits_memory", &q.limits.memory);
    s("requests_cpu", &q.requests.cpu);
    s("requests_memory", &q.requests.memory);
    s("requests_storage", &q.requests.storage);
    if let Some(p) = q.pods {
        parts.push(format!("pods={p}"));
    }
    format!("Quota({})", parts.join(", ")).replace('"', "'")
}
