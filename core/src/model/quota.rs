//! Quota: the capacity a tenant may use and the defaults applied to its containers.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::Problems;
use crate::quantity::Quantity;

/// Largest CPU amount moorage accepts anywhere, in cores: more is certainly a typo.
const MAX_CPU_CORES: i128 = 100_000;

/// A pair of CPU and memory amounts, as Kubernetes quantity strings (`"500m"`, `"2Gi"`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ComputeResources {
    /// CPU, e.g. `"2"` (cores) or `"500m"` (millicores).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    /// Memory, e.g. `"512Mi"` or `"2Gi"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
}

impl ComputeResources {
    /// CPU and memory given as quantity strings.
    pub fn new(cpu: impl Into<String>, memory: impl Into<String>) -> Self {
        Self { cpu: Some(cpu.into()), memory: Some(memory.into()) }
    }

    /// Whether neither amount is set.
    pub fn is_empty(&self) -> bool {
        self.cpu.is_none() && self.memory.is_none()
    }

    /// Validates both amounts and returns them parsed (None where unset or invalid).
    pub(crate) fn validate(&self, p: &mut Problems, path: &str) -> ParsedCompute {
        ParsedCompute {
            cpu: self.cpu.as_deref().and_then(|v| check_cpu(p, &format!("{path}.cpu"), v)),
            memory: self.memory.as_deref().and_then(|v| check_bytes(p, &format!("{path}.memory"), v)),
        }
    }

    /// The amounts as a Kubernetes resource list (keys `cpu`, `memory`).
    pub(crate) fn to_resource_list(&self, prefix: &str) -> BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity> {
        use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;
        let mut out = BTreeMap::new();
        if let Some(cpu) = &self.cpu {
            out.insert(format!("{prefix}cpu"), K8sQuantity(cpu.clone()));
        }
        if let Some(memory) = &self.memory {
            out.insert(format!("{prefix}memory"), K8sQuantity(memory.clone()));
        }
        out
    }
}

/// CPU and memory after parsing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ParsedCompute {
    pub(crate) cpu: Option<Quantity>,
    pub(crate) memory: Option<Quantity>,
}

/// Requests a tenant may make in total: CPU, memory and persistent storage.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestQuota {
    /// Total CPU requests (`requests.cpu`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    /// Total memory requests (`requests.memory`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    /// Total storage requested by persistent volume claims (`requests.storage`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<String>,
}

/// Counts of objects a tenant may create.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObjectCounts {
    /// Services (`services`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services: Option<u32>,
    /// ConfigMaps (`configmaps`). Kubernetes puts a `kube-root-ca.crt` ConfigMap in every
    /// namespace, and it counts: allow one more than the tenant's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configmaps: Option<u32>,
    /// Secrets (`secrets`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets: Option<u32>,
    /// PersistentVolumeClaims (`persistentvolumeclaims`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistentvolumeclaims: Option<u32>,
}

/// Defaults for containers that declare no resources, and the most one container may ask (a LimitRange).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContainerDefaults {
    /// Limits given to a container that sets none.
    pub default: ComputeResources,
    /// Requests given to a container that sets none.
    pub default_request: ComputeResources,
    /// The most a single container may set as its limits.
    #[serde(default, skip_serializing_if = "ComputeResources::is_empty")]
    pub max: ComputeResources,
}

impl Default for ContainerDefaults {
    /// 500m CPU / 512Mi limits, 100m / 128Mi requests, no maximum.
    fn default() -> Self {
        Self { default: ComputeResources::new("500m", "512Mi"), default_request: ComputeResources::new("100m", "128Mi"), max: ComputeResources::default() }
    }
}

/// The capacity a tenant may use (a ResourceQuota) and its container defaults (a LimitRange).
///
/// ```
/// use moorage::Quota;
/// let quota = Quota::new().limits("4", "8Gi").requests("2", "4Gi").pods(20);
/// assert_eq!(quota.pods, Some(20));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Quota {
    /// Total limits (`limits.cpu`, `limits.memory`).
    #[serde(default, skip_serializing_if = "ComputeResources::is_empty")]
    pub limits: ComputeResources,
    /// Total requests (`requests.cpu`, `requests.memory`, `requests.storage`).
    #[serde(default)]
    pub requests: RequestQuota,
    /// Number of pods (`pods`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pods: Option<u32>,
    /// Object counts.
    #[serde(default)]
    pub objects: ObjectCounts,
    /// Container defaults; when absent, [`ContainerDefaults::default`] applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_defaults: Option<ContainerDefaults>,
}

impl Quota {
    /// An empty quota (no hard limits, built-in container defaults).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `limits.cpu` and `limits.memory`.
    pub fn limits(mut self, cpu: impl Into<String>, memory: impl Into<String>) -> Self {
        self.limits = ComputeResources::new(cpu, memory);
        self
    }

    /// Sets `requests.cpu` and `requests.memory`.
    pub fn requests(mut self, cpu: impl Into<String>, memory: impl Into<String>) -> Self {
        self.requests.cpu = Some(cpu.into());
        self.requests.memory = Some(memory.into());
        self
    }

    /// Sets `requests.storage`.
    pub fn storage(mut self, storage: impl Into<String>) -> Self {
        self.requests.storage = Some(storage.into());
        self
    }

    /// Sets the number of pods.
    pub fn pods(mut self, pods: u32) -> Self {
        self.pods = Some(pods);
        self
    }

    /// Sets the object counts.
    pub fn objects(mut self, objects: ObjectCounts) -> Self {
        self.objects = objects;
        self
    }

    /// Sets the container defaults.
    pub fn container_defaults(mut self, defaults: ContainerDefaults) -> Self {
        self.container_defaults = Some(defaults);
        self
    }

    /// The container defaults in force: the configured ones or the built-in ones.
    pub fn effective_container_defaults(&self) -> ContainerDefaults {
        self.container_defaults.clone().unwrap_or_default()
    }

    /// Validates every amount and their consistency; problems go to `p` under `path`.
    pub(crate) fn validate(&self, p: &mut Problems, path: &str) {
        let limits = self.limits.validate(p, &format!("{path}.limits"));
        let requests = ParsedCompute {
            cpu: self.requests.cpu.as_deref().and_then(|v| check_cpu(p, &format!("{path}.requests.cpu"), v)),
            memory: self.requests.memory.as_deref().and_then(|v| check_bytes(p, &format!("{path}.requests.memory"), v)),
        };
        if let Some(storage) = &self.requests.storage {
            check_bytes(p, &format!("{path}.requests.storage"), storage);
        }
        check_not_above(p, &format!("{path}.requests.cpu"), &requests.cpu, "limits.cpu", &limits.cpu);
        check_not_above(p, &format!("{path}.requests.memory"), &requests.memory, "limits.memory", &limits.memory);
        if let Some(d) = &self.container_defaults {
            let dpath = format!("{path}.containerDefaults");
            let default = d.default.validate(p, &format!("{dpath}.default"));
            let request = d.default_request.validate(p, &format!("{dpath}.defaultRequest"));
            let max = d.max.validate(p, &format!("{dpath}.max"));
            check_not_above(p, &format!("{dpath}.defaultRequest.cpu"), &request.cpu, "default.cpu", &default.cpu);
            check_not_above(p, &format!("{dpath}.defaultRequest.memory"), &request.memory, "default.memory", &default.memory);
            // The API server defaults `default` from `max`, so a request above `max` is refused
            // even without a `default`.
            check_not_above(p, &format!("{dpath}.defaultRequest.cpu"), &request.cpu, "max.cpu", &max.cpu);
            check_not_above(p, &format!("{dpath}.defaultRequest.memory"), &request.memory, "max.memory", &max.memory);
            check_not_above(p, &format!("{dpath}.default.cpu"), &default.cpu, "max.cpu", &max.cpu);
            check_not_above(p, &format!("{dpath}.default.memory"), &default.memory, "max.memory", &max.memory);
            check_not_above(p, &format!("{dpath}.default.cpu"), &default.cpu, "the quota's limits.cpu", &limits.cpu);
            check_not_above(p, &format!("{dpath}.default.memory"), &default.memory, "the quota's limits.memory", &limits.memory);
        }
    }
}

/// Parses a CPU amount, recording a problem at `path` when it is not valid.
pub(crate) fn check_cpu(p: &mut Problems, path: &str, value: &str) -> Option<Quantity> {
    let q = check_quantity(p, path, value)?;
    if q.millis() > MAX_CPU_CORES * 1000 {
        p.add(path, format!("{value:?} is more than {MAX_CPU_CORES} CPU cores; write millicores as \"500m\" or cores as \"2\""));
        return None;
    }
    Some(q)
}

/// Parses a memory or storage amount, recording a problem at `path` when it is not valid.
pub(crate) fn check_bytes(p: &mut Problems, path: &str, value: &str) -> Option<Quantity> {
    let q = check_quantity(p, path, value)?;
    if q.millis() % 1000 != 0 {
        p.add(path, format!("{value:?} is not a whole number of bytes; use a binary suffix such as \"512Mi\" or \"2Gi\""));
        return None;
    }
    Some(q)
}

fn check_quantity(p: &mut Problems, path: &str, value: &str) -> Option<Quantity> {
    match Quantity::parse(value) {
        Ok(q) => Some(q),
        Err(e) => {
            p.add(path, e.to_string());
            None
        }
    }
}

/// Records a problem when `value` (at `path`) is above `bound` (named `bound_name`).
pub(crate) fn check_not_above(p: &mut Problems, path: &str, value: &Option<Quantity>, bound_name: &str, bound: &Option<Quantity>) {
    if let (Some(v), Some(b)) = (value, bound) {
        if v > b {
            let show = |q: &Quantity| if path.ends_with(".cpu") { q.to_canonical_cpu() } else { q.to_canonical_bytes() };
            p.add(path, format!("{} is above {bound_name} ({}); lower it or raise {bound_name}", show(v), show(b)));
        }
    }
}
