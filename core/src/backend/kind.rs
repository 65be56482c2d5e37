//! Kinds and object references: what a backend call is about.

use std::fmt;

use serde_json::Value;

/// A kind of Kubernetes object, with what a backend needs to address it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Kind {
    /// The group and version, e.g. `apps/v1` (`v1` for the core group).
    pub api_version: String,
    /// The kind, e.g. `Deployment`.
    pub kind: String,
    /// The plural resource name, e.g. `deployments`.
    pub plural: String,
    /// Whether objects of this kind live in a namespace.
    pub namespaced: bool,
}

impl Kind {
    /// The kind of a k8s-openapi type.
    pub fn of<K: k8s_openapi::Resource>() -> Self
    where
        K::Scope: 'static,
    {
        Kind {
            api_version: K::API_VERSION.to_string(),
            kind: K::KIND.to_string(),
            plural: K::URL_PATH_SEGMENT.to_string(),
            namespaced: std::any::TypeId::of::<K::Scope>() == std::any::TypeId::of::<k8s_openapi::NamespaceResourceScope>(),
        }
    }

    /// A kind not known to k8s-openapi (a custom resource such as `ServiceMonitor`).
    pub fn custom(api_version: &str, kind: &str, plural: &str, namespaced: bool) -> Self {
        Kind { api_version: api_version.into(), kind: kind.into(), plural: plural.into(), namespaced }
    }

    /// The kind of a JSON object (from its `apiVersion` and `kind`), when it is one moorage knows.
    pub fn of_object(object: &Value) -> Option<Kind> {
        let api_version = object.get("apiVersion")?.as_str()?;
        let kind = object.get("kind")?.as_str()?;
        known_kinds().into_iter().chain(custom_kinds()).find(|k| k.api_version == api_version && k.kind == kind)
    }

    /// The API group (empty for the core group).
    pub fn group(&self) -> &str {
        self.api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("")
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.kind)
    }
}

/// Every built-in kind moorage compiles or reads.
pub fn known_kinds() -> Vec<Kind> {
    use k8s_openapi::api::{apps, autoscaling, batch, coordination, core, discovery, networking, policy, rbac};
    vec![
        Kind::of::<core::v1::Namespace>(),
        Kind::of::<core::v1::ResourceQuota>(),
        Kind::of::<core::v1::LimitRange>(),
        Kind::of::<core::v1::ServiceAccount>(),
        Kind::of::<rbac::v1::Role>(),
        Kind::of::<rbac::v1::RoleBinding>(),
        Kind::of::<networking::v1::NetworkPolicy>(),
        Kind::of::<core::v1::PersistentVolumeClaim>(),
        Kind::of::<core::v1::ConfigMap>(),
        Kind::of::<core::v1::Secret>(),
        Kind::of::<apps::v1::Deployment>(),
        Kind::of::<apps::v1::ReplicaSet>(),
        Kind::of::<core::v1::Pod>(),
        Kind::of::<core::v1::Service>(),
        Kind::of::<discovery::v1::EndpointSlice>(),
        Kind::of::<networking::v1::Ingress>(),
        Kind::of::<policy::v1::PodDisruptionBudget>(),
        Kind::of::<batch::v1::Job>(),
        Kind::of::<batch::v1::CronJob>(),
        Kind::of::<core::v1::Event>(),
        Kind::of::<autoscaling::v2::HorizontalPodAutoscaler>(),
        Kind::of::<core::v1::Node>(),
        Kind::of::<coordination::v1::Lease>(),
    ]
}

/// The custom resource kinds moorage compiles (served only where their CRDs are installed): the
/// Gateway API `HTTPRoute`.
pub fn custom_kinds() -> Vec<Kind> {
    vec![Kind::of::<crate::compile::HTTPRoute>()]
}

/// A reference to one object: kind, namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct ObjectRef {
    /// The kind, e.g. `Deployment`.
    pub kind: String,
    /// The namespace, for namespaced objects.
    pub namespace: Option<String>,
    /// The name.
    pub name: String,
}

impl ObjectRef {
    /// A reference to an object of `kind`.
    pub fn new(kind: &Kind, namespace: Option<&str>, name: &str) -> Self {
        ObjectRef { kind: kind.kind.clone(), namespace: namespace.map(str::to_string), name: name.to_string() }
    }

    /// The reference of a JSON object.
    pub fn of(object: &Value) -> Self {
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
        let meta = object.get("metadata");
        ObjectRef {
            kind: text(object.get("kind")).unwrap_or_default(),
            namespace: text(meta.and_then(|m| m.get("namespace"))),
            name: text(meta.and_then(|m| m.get("name"))).unwrap_or_default(),
        }
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {}/{}", self.kind, ns, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}
