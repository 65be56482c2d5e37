//! Gateway API: the `HTTPRoute` type (not in k8s-openapi) and the routes of a release's hosts.
//!
//! moorage emits `gateway.networking.k8s.io/v1` HTTPRoutes when the tenant names a Gateway
//! (`tenant.gateway`), instead of Ingresses. The type is a small serde struct of the fields moorage
//! sets (parent references, hostnames, one `PathPrefix /` rule with weighted backends); it implements
//! `k8s_openapi::Resource` so it is addressed like every other compiled object, and keeps the
//! workspace on one kube / k8s-openapi version (no `gateway-api` crate). A route is never compiled
//! without hostnames: a release without hosts gets none.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};

use super::release::ServiceRole;
use super::tenant::meta;
use crate::labels;
use crate::model::release::ReleaseSpec;
use crate::model::strategy::{Strategy, TrafficRouting};
use crate::model::tenant::{GatewayRef, Tenant};

/// The Gateway API group.
pub const GATEWAY_GROUP: &str = "gateway.networking.k8s.io";

/// A Gateway API `HTTPRoute` (`gateway.networking.k8s.io/v1`), with the fields moorage sets.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct HTTPRoute {
    /// The route's metadata.
    pub metadata: ObjectMeta,
    /// The route's spec.
    #[serde(default)]
    pub spec: HTTPRouteSpec,
}

impl k8s_openapi::Resource for HTTPRoute {
    const API_VERSION: &'static str = "gateway.networking.k8s.io/v1";
    const GROUP: &'static str = GATEWAY_GROUP;
    const KIND: &'static str = "HTTPRoute";
    const VERSION: &'static str = "v1";
    const URL_PATH_SEGMENT: &'static str = "httproutes";
    type Scope = k8s_openapi::NamespaceResourceScope;
}

impl k8s_openapi::Metadata for HTTPRoute {
    type Ty = ObjectMeta;
    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn metadata_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

impl Serialize for HTTPRoute {
    /// With `apiVersion` and `kind`, as k8s-openapi types serialize.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use k8s_openapi::Resource as _;
        let mut st = s.serialize_struct("HTTPRoute", 4)?;
        st.serialize_field("apiVersion", Self::API_VERSION)?;
        st.serialize_field("kind", Self::KIND)?;
        st.serialize_field("metadata", &self.metadata)?;
        st.serialize_field("spec", &self.spec)?;
        st.end()
    }
}

/// The spec of an [`HTTPRoute`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HTTPRouteSpec {
    /// The Gateways (and listeners) the route attaches to.
    #[serde(default)]
    pub parent_refs: Vec<ParentReference>,
    /// The host names the route serves (never empty in what moorage compiles).
    #[serde(default)]
    pub hostnames: Vec<String>,
    /// The rules.
    #[serde(default)]
    pub rules: Vec<HTTPRouteRule>,
}

/// A reference to a Gateway.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParentReference {
    /// The Gateway's name.
    pub name: String,
    /// The Gateway's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The listener of the Gateway (all listeners when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section_name: Option<String>,
}

/// One rule of an [`HTTPRoute`]: requests matching `matches` go to `backend_refs`, split by weight.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HTTPRouteRule {
    /// Which requests the rule takes.
    #[serde(default)]
    pub matches: Vec<HTTPRouteMatch>,
    /// Where they go.
    #[serde(default)]
    pub backend_refs: Vec<HTTPBackendRef>,
}

/// A request match of a rule.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct HTTPRouteMatch {
    /// The path match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<HTTPPathMatch>,
}

/// A path match (`PathPrefix` `/` for everything).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct HTTPPathMatch {
    /// `PathPrefix`, `Exact` or `RegularExpression`.
    #[serde(rename = "type")]
    pub type_: String,
    /// The path.
    pub value: String,
}

/// A backend of a rule: a Service port and its share of the rule's traffic.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct HTTPBackendRef {
    /// The Service's name.
    pub name: String,
    /// The Service port.
    pub port: i32,
    /// The share of traffic, relative to the rule's other backends (0 sends nothing).
    pub weight: u32,
}

impl HTTPRoute {
    /// The weight of the backend `service`, if the route has one by that name.
    pub fn weight_of(&self, service: &str) -> Option<u32> {
        self.spec.rules.iter().flat_map(|r| &r.backend_refs).find(|b| b.name == service).map(|b| b.weight)
    }

    /// Sets the weights of the stable (`<app>`) and canary (`<app>-canary`) backends: `canary` percent
    /// to the canary, the rest to the stable Service. Every rule gets both backends.
    pub fn set_canary_weight(&mut self, app: &str, canary: u32) {
        let canary = canary.min(100);
        let stable_name = ServiceRole::Stable.service_name(app);
        let canary_name = ServiceRole::Canary.service_name(app);
        for rule in &mut self.spec.rules {
            let port = rule.backend_refs.first().map(|b| b.port).unwrap_or(80);
            rule.backend_refs = vec![
                HTTPBackendRef { name: stable_name.clone(), port, weight: 100 - canary },
                HTTPBackendRef { name: canary_name.clone(), port, weight: canary },
            ];
        }
    }
}

/// The HTTPRoute `name` sending `hosts` of the tenant's Gateway to the Service `service`, or `None`
/// without hosts or without a Gateway. A canary release routed by Gateway API gets both its stable and
/// its canary backend, the canary at weight 0 (the canary steps move the weights).
pub(crate) fn compile_route(tenant: &Tenant, spec: &ReleaseSpec, service: &str, name: &str, hosts: &[String]) -> Option<HTTPRoute> {
    let gateway = tenant.spec().gateway.as_ref()?;
    if hosts.is_empty() {
        return None;
    }
    let ns = tenant.namespace();
    let port = spec.ports.first().map(|p| i32::from(p.port)).unwrap_or(80);
    let mut route = HTTPRoute {
        metadata: meta(name, ns, labels::app_labels(ns, &spec.app)),
        spec: HTTPRouteSpec {
            parent_refs: vec![parent_ref(gateway)],
            hostnames: hosts.to_vec(),
            rules: vec![HTTPRouteRule {
                matches: vec![HTTPRouteMatch { path: Some(HTTPPathMatch { type_: "PathPrefix".into(), value: "/".into() }) }],
                backend_refs: vec![HTTPBackendRef { name: service.to_string(), port, weight: 100 }],
            }],
        },
    };
    let gateway_canary = matches!(&spec.strategy, Strategy::Canary(c) if c.traffic == TrafficRouting::GatewayApi);
    if gateway_canary && service == ServiceRole::Stable.service_name(&spec.app) {
        route.set_canary_weight(&spec.app, 0);
    }
    Some(route)
}

fn parent_ref(gateway: &GatewayRef) -> ParentReference {
    ParentReference { name: gateway.name.clone(), namespace: Some(gateway.namespace.clone()), section_name: gateway.section_name.clone() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route() -> HTTPRoute {
        HTTPRoute {
            metadata: ObjectMeta { name: Some("web".into()), namespace: Some("acme".into()), ..Default::default() },
            spec: HTTPRouteSpec {
                parent_refs: vec![ParentReference { name: "shared".into(), namespace: Some("gateways".into()), section_name: None }],
                hostnames: vec!["shop.acme.test".into()],
                rules: vec![HTTPRouteRule { matches: Vec::new(), backend_refs: vec![HTTPBackendRef { name: "web".into(), port: 8080, weight: 100 }] }],
            },
        }
    }

    #[test]
    fn serializes_with_api_version_and_kind_and_reads_back() {
        let v = serde_json::to_value(route()).unwrap_or_default();
        assert_eq!(v["apiVersion"], "gateway.networking.k8s.io/v1");
        assert_eq!(v["kind"], "HTTPRoute");
        assert_eq!(v["spec"]["parentRefs"][0]["namespace"], "gateways");
        assert!(v["spec"]["parentRefs"][0].get("sectionName").is_none(), "absent listener is left out");
        let back: HTTPRoute = serde_json::from_value(v).unwrap_or_default();
        assert_eq!(back, route());
    }

    #[test]
    fn canary_weights_split_every_rule_between_stable_and_canary() {
        let mut r = route();
        r.set_canary_weight("web", 30);
        assert_eq!(r.weight_of("web"), Some(70));
        assert_eq!(r.weight_of("web-canary"), Some(30));
        assert_eq!(r.spec.rules[0].backend_refs[1].port, 8080, "the canary backend uses the same port");
        r.set_canary_weight("web", 250);
        assert_eq!((r.weight_of("web"), r.weight_of("web-canary")), (Some(0), Some(100)), "weights are clamped to 100");
        r.set_canary_weight("web", 0);
        assert_eq!((r.weight_of("web"), r.weight_of("web-canary")), (Some(100), Some(0)));
    }
}
