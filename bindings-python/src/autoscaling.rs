//! `moorage.Autoscaling`: the bounds and CPU target of a release's HorizontalPodAutoscaler (the
//! core's `Autoscaling`); the release validates it.

use pyo3::prelude::*;

use crate::convert::to_py;

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
    fn new(min_replicas: u32, max_replicas: u32, target_cpu_utilization: u32) -> Self {
        Autoscaling { inner: moorage::Autoscaling::new(min_replicas, max_replicas, target_cpu_utilization) }
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
