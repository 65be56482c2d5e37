//! `Quota`: a tenant's resource quota (the core's `Quota`), from a camelCase option object.

use napi::bindgen_prelude::{JsObjectValue, Object, Unknown};
use napi::Env;
use napi_derive::napi;
use serde_json::{json, Value};

use crate::convert::{js_number_json, spec_json, spec_text_or_problem};
use crate::errors;

/// The options of `new Quota(...)`: Kubernetes quantities (`"2"`, `"500m"`, `"1Gi"`); the tenant
/// validates them.
#[napi(object, object_to_js = false)]
#[derive(Default)]
pub struct QuotaOptions<'env> {
    /// `limits.cpu`.
    pub limits_cpu: Option<String>,
    /// `limits.memory`.
    pub limits_memory: Option<String>,
    /// `requests.cpu`.
    pub requests_cpu: Option<String>,
    /// `requests.memory`.
    pub requests_memory: Option<String>,
    /// `requests.storage`.
    pub requests_storage: Option<String>,
    /// Pods.
    pub pods: Option<f64>,
    /// Services.
    pub services: Option<f64>,
    /// ConfigMaps.
    pub configmaps: Option<f64>,
    /// Secrets.
    pub secrets: Option<f64>,
    /// PersistentVolumeClaims.
    pub persistentvolumeclaims: Option<f64>,
    /// Container defaults in spec form: `{default: {cpu, memory}, defaultRequest: {...}, max: {...}}`.
    #[napi(ts_type = "ContainerDefaultsSpec")]
    pub container_defaults: Option<Unknown<'env>>,
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
    pub fn new(env: Env, options: Option<QuotaOptions<'_>>) -> napi::Result<Self> {
        let o = options.unwrap_or_default();
        let number = |n: Option<f64>, path: &str| match n {
            Some(n) => js_number_json(n, path).map_err(|e| errors::spec(&e).into_error(&env)),
            None => Ok(Value::Null),
        };
        // The spec form (`null`: left out), read by the core as a tenant's `quota` is, in one
        // crossing as `JSON.stringify` text: `containerDefaults` is the caller's value, whose
        // problems (a number that is not finite, nesting too deep among them) are the core's.
        let members = json!({
            "limits": {"cpu": o.limits_cpu, "memory": o.limits_memory},
            "requests": {"cpu": o.requests_cpu, "memory": o.requests_memory, "storage": o.requests_storage},
            "pods": number(o.pods, "quota.pods")?,
            "objects": {
                "services": number(o.services, "quota.objects.services")?,
                "configmaps": number(o.configmaps, "quota.objects.configmaps")?,
                "secrets": number(o.secrets, "quota.objects.secrets")?,
                "persistentvolumeclaims": number(o.persistentvolumeclaims, "quota.objects.persistentvolumeclaims")?,
            },
        });
        let mut spec = Object::new(&env)?;
        if let Value::Object(members) = members {
            for (key, value) in members {
                spec.set_named_property(&key, value)?;
            }
        }
        if let Some(defaults) = o.container_defaults {
            spec.set_named_property("containerDefaults", defaults)?;
        }
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
