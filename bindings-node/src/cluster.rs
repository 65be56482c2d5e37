//! `Cluster`: the backends (simulated, manifests directory, real cluster) and the promise glue:
//! every operation runs on napi-rs's tokio runtime and settles a Promise on the JavaScript
//! thread, so the event loop never waits for the cluster.

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use moorage::backend::cluster::ClusterBackend;
use moorage::backend::manifests::ManifestBackend;
use moorage::backend::sim::{Failure as SimFailure, ImageFailure, SimulatedCluster};
use moorage::backend::Backend;
use napi::bindgen_prelude::{Object, PromiseRaw, ToNapiValue};
use napi::Env;
use napi_derive::napi;

use crate::errors::{self, Failure};

/// Runs `fut` on the tokio runtime; the Promise resolves with `convert` of its value, or rejects
/// with the `MoorageError` of its failure (built on the JavaScript thread).
pub(crate) fn spawn<'env, T, V, F, C>(env: &'env Env, fut: F, convert: C) -> napi::Result<PromiseRaw<'env, V>>
where
    T: Send + 'static,
    V: ToNapiValue,
    F: Future<Output = Result<T, Failure>> + Send + 'static,
    C: FnOnce(T) -> V + 'static,
{
    env.spawn_future_with_callback(async move { Ok(fut.await) }, move |env, out| match out {
        Ok(v) => Ok(convert(v)),
        Err(failure) => Err(failure.into_error(env)),
    })
}

/// A number of seconds given for the option `name`, read by the core (`Infinity`: no limit); a
/// negative number or NaN throws `VALIDATION` at `name`, as in Python.
pub(crate) fn seconds(env: &Env, name: &str, s: f64) -> napi::Result<Duration> {
    moorage::checks::duration_from_seconds(s).map_err(|message| crate::errors::field(name, message).into_error(env))
}

/// The options of `Cluster.fromKubeconfig`.
#[napi(object)]
#[derive(Default)]
pub struct KubeconfigOptions {
    /// The kubeconfig file (default: `$KUBECONFIG` or `~/.kube/config`).
    pub path: Option<String>,
    /// The context (default: the current one).
    pub context: Option<String>,
}

impl crate::convert::OptionKeys for KubeconfigOptions {
    const NAME: &'static str = "KubeconfigOptions";
    const KEYS: &'static [&'static str] = &["path", "context"];
}

/// The options of `Cluster.simulated`.
#[napi(object)]
#[derive(Default)]
pub struct SimulatedOptions {
    /// Image patterns (`*` matches anything) to the failure their containers show: `pull_error`,
    /// `crash_loop` (a Job's pod fails) or `never_ready`.
    pub failures: Option<HashMap<String, String>>,
}

impl crate::convert::OptionKeys for SimulatedOptions {
    const NAME: &'static str = "SimulatedOptions";
    const KEYS: &'static [&'static str] = &["failures"];
}

/// Where objects go: the simulated cluster, a manifests directory, or a real cluster.
#[napi]
pub struct Cluster {
    pub(crate) backend: Arc<dyn Backend>,
    /// The same backend when it is the simulated cluster (its time and failures).
    sim: Option<Arc<SimulatedCluster>>,
    /// The same backend when it is a real cluster (its kubeconfig, for CI credentials).
    kube: Option<Arc<ClusterBackend>>,
}

impl Cluster {
    /// A cluster of `backend`, which is not the simulated cluster.
    pub(crate) fn of(backend: Arc<dyn Backend>) -> Self {
        Cluster { backend, sim: None, kube: None }
    }

    fn of_sim(sim: SimulatedCluster) -> Self {
        let sim = Arc::new(sim);
        Cluster { backend: sim.clone(), sim: Some(sim), kube: None }
    }

    fn of_kube(kube: ClusterBackend) -> Self {
        let kube = Arc::new(kube);
        Cluster { backend: kube.clone(), sim: None, kube: Some(kube) }
    }

    pub(crate) fn kube(&self) -> napi::Result<Arc<ClusterBackend>> {
        self.kube.clone().ok_or_else(|| napi::Error::new(napi::Status::InvalidArg, format!("{} is not a real cluster", self.backend.describe())))
    }

    fn sim(&self) -> napi::Result<&SimulatedCluster> {
        self.sim.as_deref().ok_or_else(|| napi::Error::new(napi::Status::InvalidArg, format!("{} is not the simulated cluster", self.backend.describe())))
    }
}

/// The core's failure named `name`, for images matching `pattern` (`VALIDATION` otherwise).
fn failure(env: &Env, pattern: &str, name: &str) -> napi::Result<SimFailure> {
    SimFailure::from_name(name).map_err(|message| errors::field(&format!("failures[{pattern:?}]"), message).into_error(env))
}

#[napi]
impl Cluster {
    /// The embedded simulated cluster (virtual time: readiness delays take no real time).
    #[napi(factory)]
    pub fn simulated(env: Env, #[napi(ts_arg_type = "SimulatedOptions | undefined | null")] options: Option<Object<'_>>) -> napi::Result<Self> {
        let o: SimulatedOptions = crate::convert::read_options(&env, options)?.unwrap_or_default();
        let sim = SimulatedCluster::new();
        let mut failures: Vec<(String, String)> = o.failures.unwrap_or_default().into_iter().collect();
        failures.sort();
        for (pattern, name) in failures {
            sim.inject(ImageFailure::new(&pattern, failure(&env, &pattern, &name)?));
        }
        Ok(Cluster::of_sim(sim))
    }

    /// A simulated cluster saved with `save`.
    #[napi(factory)]
    pub fn load(path: String) -> napi::Result<Self> {
        let sim = SimulatedCluster::load(Path::new(&path)).map_err(|e| napi::Error::new(napi::Status::GenericFailure, format!("loading {path}: {e}")))?;
        Ok(Cluster::of_sim(sim))
    }

    /// Saves the simulated cluster's whole state (objects, clock, failures) to a JSON file.
    #[napi]
    pub fn save(&self, path: String) -> napi::Result<()> {
        self.sim()?.save(Path::new(&path)).map_err(|e| napi::Error::new(napi::Status::GenericFailure, format!("saving {path}: {e}")))
    }

    /// Simulated cluster: containers of images matching `imagePattern` fail from now on
    /// (`pull_error`, `crash_loop` or `never_ready`).
    #[napi]
    pub fn inject_failure(&self, env: Env, image_pattern: String, failure: String) -> napi::Result<()> {
        let f = self::failure(&env, &image_pattern, &failure)?;
        self.sim()?.inject(ImageFailure::new(&image_pattern, f));
        Ok(())
    }

    /// Simulated cluster: removes every injected failure.
    #[napi]
    pub fn clear_failures(&self) -> napi::Result<()> {
        self.sim()?.clear_failures();
        Ok(())
    }

    /// Simulated cluster: advances virtual time by `seconds`, running the controllers.
    #[napi]
    pub fn advance(&self, env: Env, seconds: f64) -> napi::Result<()> {
        let d = self::seconds(&env, "seconds", seconds)?;
        self.sim()?.advance(d);
        Ok(())
    }

    /// A real cluster from the service account of the pod this process runs in.
    #[napi(factory)]
    pub fn in_cluster(env: Env) -> napi::Result<Self> {
        let backend = ClusterBackend::in_cluster().map_err(|e| errors::config(&e).into_error(&env))?;
        Ok(Cluster::of_kube(backend))
    }

    /// A directory of manifests (one file per object), for a GitOps tool.
    #[napi(factory)]
    pub fn manifests(env: Env, dir: String) -> napi::Result<Self> {
        let backend = ManifestBackend::open(&dir).map_err(|e| errors::manifest(&e).into_error(&env))?;
        Ok(Cluster::of(Arc::new(backend)))
    }

    /// A real cluster from a kubeconfig; resolves once the client is configured.
    #[napi(ts_return_type = "Promise<Cluster>")]
    pub fn from_kubeconfig<'env>(
        env: &'env Env,
        #[napi(ts_arg_type = "KubeconfigOptions | undefined | null")] options: Option<Object<'_>>,
    ) -> napi::Result<PromiseRaw<'env, Cluster>> {
        let o: KubeconfigOptions = crate::convert::read_options(env, options)?.unwrap_or_default();
        spawn(
            env,
            async move {
                let path = o.path.map(std::path::PathBuf::from);
                ClusterBackend::from_kubeconfig(path.as_deref(), o.context.as_deref()).await.map_err(|e| errors::config(&e))
            },
            Cluster::of_kube,
        )
    }

    /// What this backend is, e.g. `simulated`.
    #[napi]
    pub fn describe(&self) -> String {
        self.backend.describe()
    }
}
