//! `Release`: one version of an application (the core's `Release`), and `compile`.

use std::sync::Arc;

use napi::bindgen_prelude::{ClassInstance, Either3, JavaScriptClassExt, JsObjectValue, Object, PromiseRaw};
use napi::Env;
use napi_derive::napi;
use serde_json::Value;

use crate::cluster::spawn;
use crate::convert::{member, spec_json, spec_text, text_or_file};
use crate::errors;
use crate::strategy::{self, BlueGreen, Canary, Rolling};
use crate::tenant::Tenant;

/// A release spec object as the JSON text of the spec file's keys (translation only: the core
/// reads and validates it). A `Tenant` instance (its name) and a strategy instance are read from
/// the object; the rest crosses as JSON text in one call.
pub(crate) fn spec_object_text(env: &Env, spec: &Object) -> napi::Result<String> {
    let mut extra = Vec::new();
    if let Some(v) = member(spec, "tenant")? {
        if Tenant::instance_of(env, &v)? {
            extra.push(("tenant", Value::String(spec.get_named_property::<ClassInstance<Tenant>>("tenant")?.inner.name().to_string()).to_string()));
        }
    }
    if let Some(v) = member(spec, "strategy")? {
        if let Some(json) = strategy::instance_text(env, spec, "strategy", &v)? {
            extra.push(("strategy", json));
        }
    }
    spec_text(env, spec, "release", &extra, &[])
}

/// One version of an application of a tenant: image, replicas, ports, resources, config files,
/// hosts and the strategy that replaces the previous version.
#[napi]
#[derive(Clone)]
pub struct Release {
    /// Shared: operations and batches hold the release without copying it.
    pub(crate) inner: Arc<moorage::Release>,
}

#[napi]
impl Release {
    /// A release from its spec: the keys of a release YAML file (`tenant`, `app`, `version`,
    /// `image`, `replicas`, ...). `tenant` may be a `Tenant`; `strategy` a `Rolling`, `BlueGreen`
    /// or `Canary`.
    #[napi(constructor, ts_args_type = "spec: ReleaseOptions")]
    pub fn new(env: Env, spec: Object) -> napi::Result<Self> {
        let text = spec_object_text(&env, &spec)?;
        let inner = moorage::spec::release_from_json(&text).map_err(|e| errors::spec(&e).into_error(&env))?;
        Ok(Release { inner: Arc::new(inner) })
    }

    /// A release from YAML or JSON text, or from the path of a file holding it.
    #[napi(factory)]
    pub fn from_yaml(env: Env, text_or_path: String) -> napi::Result<Self> {
        let text = text_or_file(text_or_path)?;
        let inner = moorage::spec::release_from_yaml(&text).map_err(|e| errors::spec(&e).into_error(&env))?;
        Ok(Release { inner: Arc::new(inner) })
    }

    /// The tenant's name.
    #[napi(getter)]
    pub fn tenant(&self) -> String {
        self.inner.spec().tenant.clone()
    }
    /// The application.
    #[napi(getter)]
    pub fn app(&self) -> String {
        self.inner.spec().app.clone()
    }
    /// The version.
    #[napi(getter)]
    pub fn version(&self) -> String {
        self.inner.spec().version.clone()
    }
    /// The image.
    #[napi(getter)]
    pub fn image(&self) -> String {
        self.inner.spec().image.clone()
    }
    /// Replicas.
    #[napi(getter)]
    pub fn replicas(&self) -> u32 {
        self.inner.spec().replicas
    }
    /// Host names served.
    #[napi(getter)]
    pub fn hosts(&self) -> Vec<String> {
        self.inner.spec().hosts.clone()
    }
    /// The strategy.
    #[napi(getter)]
    pub fn strategy(&self) -> Either3<Rolling, BlueGreen, Canary> {
        strategy::to_object(&self.inner.spec().strategy)
    }

    /// The spec (the keys of a release YAML file).
    #[napi(ts_return_type = "ReleaseSpec")]
    pub fn to_spec(&self) -> Value {
        spec_json(self.inner.spec())
    }
    /// `JSON.stringify` writes the spec.
    #[napi(js_name = "toJSON", ts_return_type = "ReleaseSpec")]
    pub fn to_json(&self) -> Value {
        self.to_spec()
    }
    /// The spec as YAML.
    #[napi]
    pub fn to_yaml(&self) -> napi::Result<String> {
        moorage::spec::release_to_yaml(&self.inner).map_err(|e| napi::Error::from_reason(e.to_string()))
    }
    /// Whether both releases have the same spec.
    #[napi]
    pub fn equals(&self, other: &Release) -> bool {
        self.inner.spec() == other.inner.spec()
    }
}

/// The Kubernetes objects of a tenant and its releases, as a multi-document YAML stream
/// (`VALIDATION` when a release does not fit the tenant, e.g. a host outside its domains).
#[napi]
pub fn compile(env: Env, tenant: &Tenant, releases: Option<Vec<&Release>>) -> napi::Result<String> {
    let releases: Vec<moorage::Release> = releases.unwrap_or_default().into_iter().map(|r| moorage::Release::clone(&r.inner)).collect();
    let compiled = moorage::compile(&tenant.inner, &releases).map_err(|e| errors::validation(&e).into_error(&env))?;
    moorage::manifest::to_yaml_stream(&compiled.objects).map_err(|e| errors::manifest(&e).into_error(&env))
}

/// `compile` on the tokio runtime's threads: a Promise of the YAML stream, for large batches that
/// should neither block the event loop nor run on one core.
#[napi(ts_return_type = "Promise<string>")]
pub fn compile_async<'env>(env: &'env Env, tenant: &Tenant, releases: Option<Vec<&Release>>) -> napi::Result<PromiseRaw<'env, String>> {
    let releases: Vec<moorage::Release> = releases.unwrap_or_default().into_iter().map(|r| moorage::Release::clone(&r.inner)).collect();
    let tenant = tenant.inner.clone();
    spawn(
        env,
        async move {
            let compiled = moorage::compile(&tenant, &releases).map_err(|e| errors::validation(&e))?;
            moorage::manifest::to_yaml_stream(&compiled.objects).map_err(|e| errors::manifest(&e))
        },
        |yaml| yaml,
    )
}

/// Compiles many tenants (each alone, without releases) to one YAML stream.
#[napi]
pub fn compile_tenants(env: Env, tenants: Vec<&Tenant>) -> napi::Result<String> {
    let units: Vec<(Arc<moorage::Tenant>, Vec<Arc<moorage::Release>>)> = tenants.into_iter().map(|t| (t.inner.clone(), Vec::new())).collect();
    moorage::compile_many_to_yaml(&units).map_err(|e| batch_failure(e).into_error(&env))
}

/// Compiles many tenants with their releases to one YAML stream, in input order: the core's
/// `compile_many_to_yaml` on every core, off the event loop. A Promise of the stream
/// (`VALIDATION` with paths `tenants[i]...` when releases do not fit their tenants).
#[napi(ts_args_type = "units: Array<[Tenant, Array<Release>]>", ts_return_type = "Promise<string>")]
pub fn compile_many<'env>(env: &'env Env, units: Vec<(&Tenant, Vec<&Release>)>) -> napi::Result<PromiseRaw<'env, String>> {
    let units: Vec<(Arc<moorage::Tenant>, Vec<Arc<moorage::Release>>)> =
        units.into_iter().map(|(t, rs)| (t.inner.clone(), rs.into_iter().map(|r| r.inner.clone()).collect())).collect();
    spawn(
        env,
        // Compilation spreads over its own threads (the core's scoped workers): this task only waits.
        async move { moorage::compile_many_to_yaml(&units).map_err(batch_failure) },
        |yaml| yaml,
    )
}

/// What `compileManyToFile` wrote.
#[napi(object)]
pub struct CompiledFile {
    /// The number of objects (YAML documents) in the file.
    pub objects: u32,
    /// The file's size in bytes.
    pub bytes: f64,
}

/// `compileMany`, with the YAML stream written into the file `path` (its folder must exist)
/// atomically by the core instead of returned: the text never crosses into JavaScript. A Promise
/// of what was written; nothing is written on a `VALIDATION` error.
#[napi(ts_args_type = "units: Array<[Tenant, Array<Release>]>, path: string", ts_return_type = "Promise<CompiledFile>")]
pub fn compile_many_to_file<'env>(env: &'env Env, units: Vec<(&Tenant, Vec<&Release>)>, path: String) -> napi::Result<PromiseRaw<'env, CompiledFile>> {
    let units: Vec<(Arc<moorage::Tenant>, Vec<Arc<moorage::Release>>)> =
        units.into_iter().map(|(t, rs)| (t.inner.clone(), rs.into_iter().map(|r| r.inner.clone()).collect())).collect();
    spawn(env, async move { moorage::compile_many_to_file(&units, std::path::Path::new(&path)).map_err(batch_failure) }, |w| CompiledFile {
        objects: u32::try_from(w.objects).unwrap_or(u32::MAX),
        bytes: w.bytes as f64,
    })
}

pub(crate) fn batch_failure(e: moorage::compile::BatchError) -> errors::Failure {
    match e {
        moorage::compile::BatchError::Invalid(e) => errors::validation(&e),
        moorage::compile::BatchError::Manifest(e) => errors::manifest(&e),
    }
}
