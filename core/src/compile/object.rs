//! Object: one compiled Kubernetes object, typed (k8s-openapi), in a closed set of kinds moorage emits.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::{ConfigMap, LimitRange, Namespace, PersistentVolumeClaim, ResourceQuota, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::Resource;

use super::gateway::HTTPRoute;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! objects {
    ($($variant:ident($ty:ty)),* $(,)?) => {
        /// A compiled Kubernetes object. Variants are listed in apply order: a namespace before what
        /// lives in it, quotas and limits before pods, ConfigMaps before the Deployments that mount them.
        #[derive(Debug, Clone, PartialEq)]
        #[allow(clippy::large_enum_variant)]
        pub enum Object {
            $(
                #[doc = concat!("A `", stringify!($variant), "`.")]
                $variant($ty),
            )*
        }

        impl Object {
            /// The object's kind, e.g. `Deployment`.
            pub fn kind(&self) -> &'static str {
                match self { $(Object::$variant(_) => <$ty as Resource>::KIND,)* }
            }

            /// The object's apiVersion, e.g. `apps/v1`.
            pub fn api_version(&self) -> &'static str {
                match self { $(Object::$variant(_) => <$ty as Resource>::API_VERSION,)* }
            }

            /// The object's metadata.
            pub fn metadata(&self) -> &ObjectMeta {
                match self { $(Object::$variant(o) => &o.metadata,)* }
            }

            /// The object's metadata, to change it.
            pub fn metadata_mut(&mut self) -> &mut ObjectMeta {
                match self { $(Object::$variant(o) => &mut o.metadata,)* }
            }

            /// Position in apply order (lower first).
            pub fn apply_rank(&self) -> usize {
                let kinds: &[&str] = &[$(<$ty as Resource>::KIND,)*];
                let kind = self.kind();
                kinds.iter().position(|k| *k == kind).unwrap_or(kinds.len())
            }

            /// Reads an object from its JSON form, by its `kind`.
            pub fn from_json(value: serde_json::Value) -> Result<Object, serde_json::Error> {
                use serde::de::Error as _;
                let kind = value.get("kind").and_then(|k| k.as_str()).unwrap_or_default().to_string();
                match kind.as_str() {
                    $(k if k == <$ty as Resource>::KIND => serde_json::from_value::<$ty>(value).map(Object::$variant),)*
                    other => Err(serde_json::Error::custom(format!("moorage does not emit objects of kind {other:?}"))),
                }
            }
        }

        impl Serialize for Object {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self { $(Object::$variant(o) => o.serialize(s),)* }
            }
        }

        $(
            impl From<$ty> for Object {
                fn from(o: $ty) -> Self {
                    Object::$variant(o)
                }
            }
        )*
    };
}

objects! {
    Namespace(Namespace),
    ResourceQuota(ResourceQuota),
    LimitRange(LimitRange),
    ServiceAccount(ServiceAccount),
    Role(Role),
    RoleBinding(RoleBinding),
    NetworkPolicy(NetworkPolicy),
    PersistentVolumeClaim(PersistentVolumeClaim),
    ConfigMap(ConfigMap),
    Deployment(Deployment),
    Service(Service),
    Ingress(Ingress),
    HTTPRoute(HTTPRoute),
    PodDisruptionBudget(PodDisruptionBudget),
    HorizontalPodAutoscaler(HorizontalPodAutoscaler),
    CronJob(CronJob),
}

impl Object {
    /// The object's name.
    pub fn name(&self) -> &str {
        self.metadata().name.as_deref().unwrap_or_default()
    }

    /// The object's namespace (`None` for cluster-scoped objects).
    pub fn namespace(&self) -> Option<&str> {
        self.metadata().namespace.as_deref()
    }

    /// A short reference such as `Deployment acme/webserver-green`.
    pub fn reference(&self) -> String {
        match self.namespace() {
            Some(ns) => format!("{} {}/{}", self.kind(), ns, self.name()),
            None => format!("{} {}", self.kind(), self.name()),
        }
    }
}

impl<'de> Deserialize<'de> for Object {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        Object::from_json(value).map_err(serde::de::Error::custom)
    }
}

/// Sorts objects into apply order, keeping the given order within a kind. Deletion goes in reverse.
pub fn sort_for_apply(objects: &mut [Object]) {
    objects.sort_by_key(Object::apply_rank);
}
