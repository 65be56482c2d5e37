//! `moorage.Cluster`: the backends (simulated, manifests directory, real cluster) and the
//! runtime glue: blocking calls release the GIL around the core's tokio runtime and stop on
//! Ctrl-C; `a_*` twins return asyncio awaitables (pyo3-async-runtimes).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use moorage::backend::cluster::ClusterBackend;
use moorage::backend::manifests::ManifestBackend;
use moorage::backend::sim::SimulatedCluster;
use moorage::backend::Backend;
use pyo3::prelude::*;
use pyo3::types::PyType;

use crate::errors;

/// Runs `fut` on the shared tokio runtime with the GIL released. Signals (Ctrl-C) are checked
/// every 50 ms: a `KeyboardInterrupt` drops (cancels) the operation and is raised.
pub(crate) fn block_on<F, T>(py: Python<'_>, fut: F) -> PyResult<T>
where
    F: Future<Output = T> + Send,
    T: Send,
{
    let runtime = pyo3_async_runtimes::tokio::get_runtime();
    py.detach(|| {
        runtime.block_on(async {
            tokio::pin!(fut);
            loop {
                tokio::select! {
                    out = &mut fut => return Ok(out),
                    _ = tokio::time::sleep(Duration::from_millis(50)) => {
                        Python::attach(|py| py.check_signals())?;
                    }
                }
            }
        })
    })
}

/// Where objects go: the simulated cluster, a manifests directory, or a real cluster.
#[pyclass(module = "moorage", frozen)]
pub struct Cluster {
    pub(crate) backend: Arc<dyn Backend>,
}

#[pymethods]
impl Cluster {
    /// The embedded simulated cluster (virtual time: readiness delays take no real time).
    #[classmethod]
    fn simulated(_cls: &Bound<'_, PyType>) -> Self {
        Cluster { backend: Arc::new(SimulatedCluster::new()) }
    }

    /// A directory of manifests (one file per object), for a GitOps tool.
    #[classmethod]
    fn manifests(_cls: &Bound<'_, PyType>, py: Python<'_>, path: std::path::PathBuf) -> PyResult<Self> {
        let backend = ManifestBackend::open(&path).map_err(|e| errors::message(py, true, &e))?;
        Ok(Cluster { backend: Arc::new(backend) })
    }

    /// A real cluster from a kubeconfig (default: `$KUBECONFIG` or `~/.kube/config`) and context
    /// (default: the current one).
    #[classmethod]
    #[pyo3(signature = (path=None, context=None))]
    fn from_kubeconfig(_cls: &Bound<'_, PyType>, py: Python<'_>, path: Option<std::path::PathBuf>, context: Option<String>) -> PyResult<Self> {
        let backend = block_on(py, async { ClusterBackend::from_kubeconfig(path.as_deref(), context.as_deref()).await })?.map_err(|e| errors::message(py, false, &e))?;
        Ok(Cluster { backend: Arc::new(backend) })
    }

    /// What this backend is, e.g. `simulated`.
    fn describe(&self) -> String {
        self.backend.describe()
    }

    fn __repr__(&self) -> String {
        format!("Cluster({})", self.backend.describe())
    }
}
