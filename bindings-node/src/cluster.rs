//! `Cluster`: the backends (simulated, manifests directory, real cluster) and the promise glue:
//! every operation runs on napi-rs's tokio runtime and settles a Promise on the JavaScript
//! thread, so the event loop never waits for the cluster.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use moorage::backend::cluster::ClusterBackend;
use moorage::backend::manifests::ManifestBackend;
use moorage::backend::sim::SimulatedCluster;
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

/// Where objects go: the simulated cluster, a manifests directory, or a real cluster.
#[napi]
pub struct Cluster {
    pub(crate) backend: Arc<dyn Backend>,
}

#[napi]
impl Cluster {
    /// The embedded simulated cluster (virtual time: readiness delays take no real time).
    #[napi(factory)]
    pub fn simulated() -> Self {
        Cluster { backend: Arc::new(SimulatedCluster::new()) }
    }

    /// A directory of manifests (one file per object), for a GitOps tool.
    #[napi(factory)]
    pub fn manifests(env: Env, dir: String) -> napi::Result<Self> {
        let backend = ManifestBackend::open(&dir).map_err(|e| errors::manifest(&e).into_error(&env))?;
        Ok(Cluster { backend: Arc::new(backend) })
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
            |backend| Cluster { backend: Arc::new(backend) },
        )
    }

    /// What this backend is, e.g. `simulated`.
    #[napi]
    pub fn describe(&self) -> String {
        self.backend.describe()
    }
}
