//! `moorage.Quota`: a tenant's resource quota (the core's `Quota`).

use pyo3::prelude::*;
use serde_json::{Map, Value};

use crate::convert::{put_spec_members, to_py};

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
        py: Python<'_>,
        limits_cpu: Option<&Bound<'_, PyAny>>,
        limits_memory: Option<&Bound<'_, PyAny>>,
        requests_cpu: Option<&Bound<'_, PyAny>>,
        requests_memory: Option<&Bound<'_, PyAny>>,
        requests_storage: Option<&Bound<'_, PyAny>>,
        pods: Option<&Bound<'_, PyAny>>,
        services: Option<&Bound<'_, PyAny>>,
        configmaps: Option<&Bound<'_, PyAny>>,
        secrets: Option<&Bound<'_, PyAny>>,
        persistentvolumeclaims: Option<&Bound<'_, PyAny>>,
        container_defaults: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        // The spec form, read by the core as a tenant's `quota` is: a count that is not a whole
        // number (-1, 1.5, "3") or a field of the wrong type is a `SpecError` at its path.
        let (mut limits, mut requests, mut objects, mut spec) = (Map::new(), Map::new(), Map::new(), Map::new());
        put_spec_members(&mut limits, "quota.limits", &[("cpu", limits_cpu), ("memory", limits_memory)])?;
        put_spec_members(&mut requests, "quota.requests", &[("cpu", requests_cpu), ("memory", requests_memory), ("storage", requests_storage)])?;
        let counts = [("services", services), ("configmaps", configmaps), ("secrets", secrets), ("persistentvolumeclaims", persistentvolumeclaims)];
        put_spec_members(&mut objects, "quota.objects", &counts)?;
        for (key, part) in [("limits", limits), ("requests", requests), ("objects", objects)] {
            spec.insert(key.into(), Value::Object(part));
        }
        put_spec_members(&mut spec, "quota", &[("pods", pods), ("containerDefaults", container_defaults)])?;
        let inner = moorage::spec::quota_from_value(&Value::Object(spec)).map_err(|e| crate::errors::spec(py, &e))?;
        Ok(Quota { inner })
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
