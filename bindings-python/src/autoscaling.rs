//! `moorage.Autoscaling`: the bounds and CPU target of a release's HorizontalPodAutoscaler (the
//! core's `Autoscaling`); the release validates it.

use pyo3::prelude::*;
use serde_json::{Map, Value};

use crate::convert::{put_spec_members, to_py};

/// A HorizontalPodAutoscaler on the serving version, between `min_replicas` and `max_replicas`
/// pods, aiming at `target_cpu_utilization` percent of the pods' CPU request (the release then
/// needs `resources.requests.cpu`). Once the version runs, the autoscaler owns its replica count.
#[pyclass(module = "moorage", frozen)]
#[derive(Clone)]
pub struct Autoscaling {
    pub(crate) inner: moorage::Autoscaling,
}

#[pymethods]
impl Autoscaling {
    #[new]
    #[pyo3(signature = (min_replicas, max_replicas, target_cpu_utilization))]
    fn new(py: Python<'_>, min_replicas: &Bound<'_, PyAny>, max_replicas: &Bound<'_, PyAny>, target_cpu_utilization: &Bound<'_, PyAny>) -> PyResult<Self> {
        // Read by the core from the spec form: a count that is not a whole number is a
        // `SpecError` at `autoscaling.<field>`.
        let mut spec = Map::new();
        let given = [("minReplicas", Some(min_replicas)), ("maxReplicas", Some(max_replicas)), ("targetCpuUtilization", Some(target_cpu_utilization))];
        put_spec_members(&mut spec, "autoscaling", &given)?;
        let inner = moorage::spec::autoscaling_from_value(&Value::Object(spec)).map_err(|e| crate::errors::spec(py, &e))?;
        Ok(Autoscaling { inner })
    }

    /// Fewest pods.
    #[getter]
    fn min_replicas(&self) -> u32 {
        self.inner.min_replicas
    }
    /// Most pods.
    #[getter]
    fn max_replicas(&self) -> u32 {
        self.inner.max_replicas
    }
    /// Average CPU use aimed at, in percent of the CPU request.
    #[getter]
    fn target_cpu_utilization(&self) -> u32 {
        self.inner.target_cpu_utilization
    }

    /// The spec form (as in a release YAML file).
    fn to_dict(&self, py: Python<'_>) -> Py<PyAny> {
        to_py(py, &self.inner)
    }

    fn __eq__(&self, other: &Self) -> bool {
        self.inner == other.inner
    }

    fn __repr__(&self) -> String {
        let a = &self.inner;
        format!("Autoscaling(min_replicas={}, max_replicas={}, target_cpu_utilization={})", a.min_replicas, a.max_replicas, a.target_cpu_utilization)
    }
}
