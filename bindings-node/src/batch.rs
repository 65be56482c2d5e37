//! `CompileBatch`: the core's streaming `YamlBatch`, each pushed unit compiled on worker threads while JavaScript builds the next.

use napi::bindgen_prelude::{Either, Object, PromiseRaw};
use napi::Env;
use napi_derive::napi;

use moorage::compile::{BatchError, BatchInput, YamlBatch};

use crate::cluster::spawn;
use crate::errors::{self, Failure};
use crate::release::{batch_failure, CompiledFile, Release};
use crate::tenant::Tenant;

/// A batch of tenants with their releases, compiled as it is filled (the core's `YamlBatch`: one
/// worker thread per core). `push` only hands the unit to the workers; `finish` (the YAML stream)
/// or `finishToFile` (written by the core) gives what `compileMany` gives for the same units in
/// push order, with `VALIDATION` paths `tenants[i]...`. A finished batch takes no more units
/// (`BATCH_FINISHED`).
#[napi]
pub struct CompileBatch {
    /// `None` once finished: the core's batch is consumed by its `finish`.
    batch: Option<YamlBatch>,
    pushed: u32,
}

#[napi]
impl CompileBatch {
    /// An empty batch, its workers waiting for units.
    #[napi(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        CompileBatch { batch: Some(YamlBatch::new()), pushed: 0 }
    }

    /// Adds a tenant with its releases; a worker compiles it while the caller goes on. Synchronous
    /// and cheap; problems are reported by `finish`. `Tenant` and `Release` instances are shared,
    /// not copied; plain spec objects (what their constructors take) cross as JSON text and are
    /// read and validated by the workers too, so the JavaScript thread only writes them out.
    #[napi(ts_args_type = "tenant: Tenant | TenantOptions, releases?: Array<Release | ReleaseOptions>")]
    pub fn push(&mut self, env: Env, tenant: Either<&Tenant, Object>, releases: Option<Vec<Either<&Release, Object>>>) -> napi::Result<()> {
        let batch = self.unfinished(&env)?;
        let tenant = match tenant {
            Either::A(t) => BatchInput::Built(t.inner.clone()),
            Either::B(spec) => BatchInput::Json(crate::tenant::spec_object_text(&env, &spec)?),
        };
        let releases = releases
            .unwrap_or_default()
            .into_iter()
            .map(|r| match r {
                Either::A(r) => Ok(BatchInput::Built(r.inner.clone())),
                Either::B(spec) => crate::release::spec_object_text(&env, &spec).map(BatchInput::Json),
            })
            .collect::<napi::Result<Vec<_>>>()?;
        batch.push_input(tenant, releases);
        self.pushed += 1;
        Ok(())
    }

    /// How many units were pushed.
    #[napi(getter)]
    pub fn length(&self) -> u32 {
        self.pushed
    }

    /// Whether the batch was finished (`finish` or `finishToFile` called).
    #[napi(getter)]
    pub fn finished(&self) -> bool {
        self.batch.is_none()
    }

    /// Waits for the workers, off the event loop: a Promise of every unit's objects as one YAML
    /// stream, in push order (`VALIDATION` with paths `tenants[i]...` for units that do not fit).
    #[napi(ts_return_type = "Promise<string>")]
    pub fn finish<'env>(&mut self, env: &'env Env) -> napi::Result<PromiseRaw<'env, String>> {
        let batch = self.take(env)?;
        spawn(env, async move { finished(move || batch.finish()).await.map(|s| s.yaml) }, |yaml| yaml)
    }

    /// `finish`, with the YAML stream written into the file `path` (its folder must exist)
    /// atomically by the core: the text never crosses into JavaScript. A Promise of what was
    /// written; nothing is written on an error.
    #[napi(ts_return_type = "Promise<CompiledFile>")]
    pub fn finish_to_file<'env>(&mut self, env: &'env Env, path: String) -> napi::Result<PromiseRaw<'env, CompiledFile>> {
        let batch = self.take(env)?;
        spawn(
            env,
            async move {
                let file = finished(move || batch.finish_to_file(std::path::Path::new(&path))).await?;
                Ok((file.objects, file.bytes))
            },
            |(objects, bytes)| CompiledFile { objects: u32::try_from(objects).unwrap_or(u32::MAX), bytes: bytes as f64 },
        )
    }

    fn unfinished(&mut self, env: &Env) -> napi::Result<&mut YamlBatch> {
        self.batch.as_mut().ok_or_else(|| errors::batch_finished().into_error(env))
    }

    fn take(&mut self, env: &Env) -> napi::Result<YamlBatch> {
        self.batch.take().ok_or_else(|| errors::batch_finished().into_error(env))
    }
}

/// The core's `finish` or `finish_to_file` (joining its workers) on a blocking thread.
async fn finished<T: Send + 'static>(finish: impl FnOnce() -> Result<T, BatchError> + Send + 'static) -> Result<T, Failure> {
    let joined = tokio::task::spawn_blocking(finish).await;
    let outcome: Result<T, BatchError> = joined.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    outcome.map_err(batch_failure)
}
