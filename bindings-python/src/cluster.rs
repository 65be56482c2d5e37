//! `moorage.Cluster`: the backends (simulated, manifests directory, real cluster) and the
//! runtime glue: blocking calls release the GIL around the core's tokio runtime and stop on
//! Ctrl-C; `a_*` twins return asyncio awaitables (pyo3-async-runtimes).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use moorage::backend::cluster::ClusterBackend;
use moorage::backend::manifests::ManifestBackend;
use moorage::backend::sim::{Failure, ImageFailure, SimulatedCluster};
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
    /// The same backend when it is the simulated cluster (fault injection, clock, save/load).
    sim: Option<Arc<SimulatedCluster>>,
    /// The same backend when it is a real cluster (CI credentials use the TokenRequest API).
    kube: Option<Arc<ClusterBackend>>,
}

/// The core's `Failure` from its name, snake_case (`crash_loop`) or as in the core (`CrashLoop`).
fn failure(py: Python<'_>, pattern: &str, name: &str) -> PyResult<Failure> {
    Failure::from_name(name).map_err(|message| errors::field(py, &format!("failures[{pattern:?}]"), &message))
}

impl Cluster {
    fn of_sim(sim: SimulatedCluster) -> Self {
        let sim = Arc::new(sim);
        Cluster { backend: sim.clone(), sim: Some(sim), kube: None }
    }

    pub(crate) fn kube(&self) -> PyResult<Arc<ClusterBackend>> {
        self.kube.clone().ok_or_else(|| pyo3::exceptions::PyTypeError::new_err(format!("{} is not a real cluster", self.backend.describe())))
    }

    fn sim(&self) -> PyResult<&SimulatedCluster> {
        self.sim.as_deref().ok_or_else(|| pyo3::exceptions::PyTypeError::new_err(format!("{} is not the simulated cluster", self.backend.describe())))
    }
}

#[pymethods]
impl Cluster {
    /// The embedded simulated cluster (virtual time: readiness delays take no real time).
    /// `failures` maps image patterns (`*` matches anything) to the failure their containers
    /// show: `pull_error`, `crash_loop` (a Job's pod fails) or `never_ready`.
    #[classmethod]
    #[pyo3(signature = (*, failures=None))]
    fn simulated(_cls: &Bound<'_, PyType>, py: Python<'_>, failures: Option<BTreeMap<String, String>>) -> PyResult<Self> {
        let sim = SimulatedCluster::new();
        for (pattern, name) in failures.unwrap_or_default() {
            sim.inject(ImageFailure::new(&pattern, failure(py, &pattern, &name)?));
        }
        Ok(Cluster::of_sim(sim))
    }

    /// A simulated cluster saved with `save`.
    #[classmethod]
    fn load(_cls: &Bound<'_, PyType>, path: std::path::PathBuf) -> PyResult<Self> {
        let sim = SimulatedCluster::load(&path).map_err(|e| pyo3::exceptions::PyOSError::new_err(format!("loading {}: {e}", path.display())))?;
        Ok(Cluster::of_sim(sim))
    }

    /// Saves the simulated cluster's whole state (objects, clock, failures) to a JSON file.
    fn save(&self, path: std::path::PathBuf) -> PyResult<()> {
        self.sim()?.save(&path).map_err(|e| pyo3::exceptions::PyOSError::new_err(format!("saving {}: {e}", path.display())))
    }

    /// Simulated cluster: containers of images matching `image_pattern` fail from now on.
    fn inject_failure(&self, py: Python<'_>, image_pattern: String, failure: String) -> PyResult<()> {
        let f = self::failure(py, &image_pattern, &failure)?;
        self.sim()?.inject(ImageFailure::new(&image_pattern, f));
        Ok(())
    }

    /// Simulated cluster: removes every injected failure.
    fn clear_failures(&self) -> PyResult<()> {
        self.sim()?.clear_failures();
        Ok(())
    }

    /// Simulated cluster: advances virtual time by `seconds`, running the controllers.
    fn advance(&self, py: Python<'_>, seconds: f64) -> PyResult<()> {
        let d = crate::lifecycle::seconds("seconds", seconds)?;
        let sim = self.sim()?;
        py.detach(|| sim.advance(d));
        Ok(())
    }

    /// A directory of manifests (one file per object), for a GitOps tool.
    #[classmethod]
    fn manifests(_cls: &Bound<'_, PyType>, py: Python<'_>, path: std::path::PathBuf) -> PyResult<Self> {
        let backend = ManifestBackend::open(&path).map_err(|e| errors::message(py, true, &e))?;
        Ok(Cluster { backend: Arc::new(backend), sim: None, kube: None })
    }

    /// A real cluster from a kubeconfig (default: `$KUBECONFIG` or `~/.kube/config`) and context
    /// (default: the current one).
    #[classmethod]
    #[pyo3(signature = (path=None, context=None))]
    fn from_kubeconfig(_cls: &Bound<'_, PyType>, py: Python<'_>, path: Option<std::path::PathBuf>, context: Option<String>) -> PyResult<Self> {
        let backend =
            block_on(py, async { ClusterBackend::from_kubeconfig(path.as_deref(), context.as_deref()).await })?.map_err(|e| errors::message(py, false, &e))?;
        let backend = Arc::new(backend);
        Ok(Cluster { backend: backend.clone(), sim: None, kube: Some(backend) })
    }

    /// A real cluster from the service account of the pod this process runs in.
    #[classmethod]
    fn in_cluster(_cls: &Bound<'_, PyType>, py: Python<'_>) -> PyResult<Self> {
        let backend = Arc::new(ClusterBackend::in_cluster().map_err(|e| errors::message(py, false, &e))?);
        Ok(Cluster { backend: backend.clone(), sim: None, kube: Some(backend) })
    }

    /// What this backend is, e.g. `simulated`.
    fn describe(&self) -> String {
        self.backend.describe()
    }

    fn __repr__(&self) -> String {
        format!("Cluster({})", self.backend.describe())
    }
}
