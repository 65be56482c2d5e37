//! `Quota`: a tenant's resource quota (the core's `Quota`), from a camelCase option object.

use napi::bindgen_prelude::{JsObjectValue, Object, Unknown};
use napi::Env;
use napi_derive::napi;
use serde_json::Value;

use crate::convert::{spec_json, spec_object, spec_text_or_problem};
use crate::errors;

/// The options of `new Quota(...)`: Kubernetes quantities (`"2"`, `"500m"`, `"1Gi"`); the tenant
/// validates them.
// Each crosses as the caller gave it, to be read by the core as the same field of a tenant's
// `quota` is (the declared types are what the core accepts).
#[napi(object, object_to_js = false)]
#[derive(Default)]
pub struct QuotaOptions<'env> {
    /// `limits.cpu`.
    #[napi(ts_type = "string")]
    pub limits_cpu: Option<Unknown<'env>>,
    /// `limits.memory`.
    #[napi(ts_type = "string")]
    pub limits_memory: Option<Unknown<'env>>,
    /// `requests.cpu`.
    #[napi(ts_type = "string")]
    pub requests_cpu: Option<Unknown<'env>>,
    /// `requests.memory`.
    #[napi(ts_type = "string")]
    pub requests_memory: Option<Unknown<'env>>,
    /// `requests.storage`.
    #[napi(ts_type = "string")]
    pub requests_storage: Option<Unknown<'env>>,
    /// Pods.
    #[napi(ts_type = "number")]
    pub pods: Option<Unknown<'env>>,
    /// Services.
    #[napi(ts_type = "number")]
    pub services: Option<Unknown<'env>>,
    /// ConfigMaps.
    #[napi(ts_type = "number")]
    pub configmaps: Option<Unknown<'env>>,
    /// Secrets.
    #[napi(ts_type = "number")]
    pub secrets: Option<Unknown<'env>>,
    /// PersistentVolumeClaims.
    #[napi(ts_type = "number")]
    pub persistentvolumeclaims: Option<Unknown<'env>>,
    /// Container defaults in spec form: `{default: {cpu, memory}, defaultRequest: {...}, max: {...}}`.
    #[napi(ts_type = "ContainerDefaultsSpec")]
    pub container_defaults: Option<Unknown<'env>>,
}

impl crate::convert::OptionKeys for QuotaOptions<'_> {
    const NAME: &'static str = "QuotaOptions";
    const KEYS: &'static [&'static str] = &[
        "limitsCpu",
        "limitsMemory",
        "requestsCpu",
        "requestsMemory",
        "requestsStorage",
        "pods",
        "services",
        "configmaps",
        "secrets",
        "persistentvolumeclaims",
        "containerDefaults",
    ];
}

/// A tenant's resource quota.
#[napi]
#[derive(Clone)]
pub struct Quota {
    pub(crate) inner: moorage::Quota,
}

#[napi]
impl Quota {
    /// A quota from its options (all optional).
    #[napi(constructor)]
    pub fn new(env: Env, #[napi(ts_arg_type = "QuotaOptions | undefined | null")] options: Option<Object<'_>>) -> napi::Result<Self> {
        let o: QuotaOptions = crate::convert::read_options(&env, options)?.unwrap_or_default();
        // The spec form, read by the core as a tenant's `quota` is, in one crossing as
        // `JSON.stringify` text: each value is the caller's, whose problems (a count that is not a
        // whole number, a number that is not finite, nesting too deep) are the core's.
        let mut spec = spec_object(&env, vec![("pods", o.pods), ("containerDefaults", o.container_defaults)])?;
        spec.set_named_property("limits", spec_object(&env, vec![("cpu", o.limits_cpu), ("memory", o.limits_memory)])?)?;
        let requests = vec![("cpu", o.requests_cpu), ("memory", o.requests_memory), ("storage", o.requests_storage)];
        spec.set_named_property("requests", spec_object(&env, requests)?)?;
        let counts = vec![("services", o.services), ("configmaps", o.configmaps), ("secrets", o.secrets), ("persistentvolumeclaims", o.persistentvolumeclaims)];
        spec.set_named_property("objects", spec_object(&env, counts)?)?;
        let inner = spec_text_or_problem(&env, &spec, "quota", &[], &[])?
            .and_then(|text| moorage::spec::quota_from_json(&text))
            .map_err(|e| errors::spec(&e).into_error(&env))?;
        Ok(Quota { inner })
    }

    /// `limits.cpu`.
    #[napi(getter)]
    pub fn limits_cpu(&self) -> Option<String> {
        self.inner.limits.cpu.clone()
    }
    /// `limits.memory`.
    #[napi(getter)]
    pub fn limits_memory(&self) -> Option<String> {
        self.inner.limits.memory.clone()
    }
    /// `requests.cpu`.
    #[napi(getter)]
    pub fn requests_cpu(&self) -> Option<String> {
        self.inner.requests.cpu.clone()
    }
    /// `requests.memory`.
    #[napi(getter)]
    pub fn requests_memory(&self) -> Option<String> {
        self.inner.requests.memory.clone()
    }
    /// `requests.storage`.
    #[napi(getter)]
    pub fn requests_storage(&self) -> Option<String> {
        self.inner.requests.storage.clone()
    }
    /// Pods.
    #[napi(getter)]
    pub fn pods(&self) -> Option<u32> {
        self.inner.pods
    }

    /// The spec form (as in a tenant YAML file).
    #[napi(ts_return_type = "QuotaSpec")]
    pub fn to_spec(&self) -> Value {
        spec_json(&self.inner)
    }

    /// `JSON.stringify` writes the spec form.
    #[napi(js_name = "toJSON", ts_return_type = "QuotaSpec")]
    pub fn to_json(&self) -> Value {
        self.to_spec()
    }
}
