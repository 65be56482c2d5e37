//! Compiles a tenant: namespace, quota, limits, service account, roles, network policy, volumes, backups.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    LimitRange, LimitRangeItem, LimitRangeSpec, Namespace, PersistentVolumeClaim, PersistentVolumeClaimSpec, ResourceQuota, ResourceQuotaSpec, ServiceAccount,
    VolumeResourceRequirements,
};
use k8s_openapi::api::networking::v1::{NetworkPolicy, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicySpec};
use k8s_openapi::api::rbac::v1::{PolicyRule, Role as K8sRole, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement, ObjectMeta};

use super::backup::compile_backup;
use super::{Compiled, Note, Object};
use crate::labels;
use crate::model::tenant::{MemberKind, Role, Tenant, TenantSpec};

/// The ServiceAccount the tenant's workloads run as (no API token mounted).
pub const WORKLOAD_SERVICE_ACCOUNT: &str = "workload";
/// The name of the tenant's ResourceQuota.
pub const QUOTA_NAME: &str = "quota";
/// The name of the tenant's LimitRange.
pub const LIMIT_RANGE_NAME: &str = "container-defaults";
/// The name of the tenant's NetworkPolicy.
pub const NETWORK_POLICY_NAME: &str = "tenant-isolation";

/// Compiles everything a tenant consists of, in apply order.
pub fn compile_tenant(tenant: &Tenant) -> Compiled {
    let spec = tenant.spec();
    let ns = tenant.namespace();
    let mut objects: Vec<Object> = vec![compile_namespace(spec).into()];
    let mut notes = Vec::new();
    if let Some(quota) = compile_quota(spec) {
        objects.push(quota.into());
    }
    objects.push(compile_limit_range(spec).into());
    if spec.quota.container_defaults.is_none() {
        let d = spec.quota.effective_container_defaults();
        notes.push(Note {
            path: "tenant.quota.containerDefaults".into(),
            message: format!(
                "not set; containers without resources get moorage's defaults (limits {} CPU / {}, requests {} / {})",
                d.default.cpu.unwrap_or_default(),
                d.default.memory.unwrap_or_default(),
                d.default_request.cpu.unwrap_or_default(),
                d.default_request.memory.unwrap_or_default()
            ),
        });
    }
    objects.push(
        ServiceAccount {
            metadata: meta(WORKLOAD_SERVICE_ACCOUNT, ns, labels::tenant_labels(ns)),
            automount_service_account_token: Some(false),
            ..Default::default()
        }
        .into(),
    );
    for role in [Role::Admin, Role::Developer, Role::Viewer] {
        let subjects: Vec<Subject> = spec
            .members
            .iter()
            .filter(|m| m.role == role)
            .map(|m| Subject {
                api_group: Some("rbac.authorization.k8s.io".into()),
                kind: match m.kind {
                    MemberKind::User => "User".into(),
                    MemberKind::Group => "Group".into(),
                },
                name: m.name.clone(),
                namespace: None,
            })
            .collect();
        if subjects.is_empty() {
            continue;
        }
        let name = role_name(role);
        objects.push(K8sRole { metadata: meta(&name, ns, labels::tenant_labels(ns)), rules: Some(role_rules(role)) }.into());
        objects.push(
            RoleBinding {
                metadata: meta(&name, ns, labels::tenant_labels(ns)),
                role_ref: RoleRef { api_group: Some("rbac.authorization.k8s.io".into()), kind: "Role".into(), name },
                subjects: Some(subjects),
            }
            .into(),
        );
    }
    if spec.network.isolated {
        objects.push(compile_network_policy(spec).into());
    }
    for v in &spec.storage {
        let mut m = meta(&v.name, ns, labels::tenant_labels(ns));
        m.annotations = Some(BTreeMap::from([(labels::KEEP.to_string(), "true".to_string())]));
        objects.push(
            PersistentVolumeClaim {
                metadata: m,
                spec: Some(PersistentVolumeClaimSpec {
                    access_modes: Some(vec!["ReadWriteOnce".into()]),
                    storage_class_name: Some(v.storage_class.clone()),
                    resources: Some(VolumeResourceRequirements {
                        requests: Some(BTreeMap::from([("storage".to_string(), K8sQuantity(v.size.clone()))])),
                        limits: None,
                    }),
                    ..Default::default()
                }),
                status: None,
            }
            .into(),
        );
    }
    for b in &spec.backups {
        if let Some(volume) = spec.storage.iter().find(|v| v.name == b.volume) {
            objects.push(compile_backup(ns, b, volume).into());
        }
    }
    super::sort_for_apply(&mut objects);
    Compiled { objects, notes }
}

/// The name of the Role and RoleBinding of a member role: `moorage-<role>`.
pub fn role_name(role: Role) -> String {
    format!("moorage-{}", role.as_str())
}

pub(crate) fn meta(name: &str, namespace: &str, labels: BTreeMap<String, String>) -> ObjectMeta {
    ObjectMeta { name: Some(name.to_string()), namespace: Some(namespace.to_string()), labels: Some(labels), ..Default::default() }
}

fn compile_namespace(spec: &TenantSpec) -> Namespace {
    let mut labels = labels::tenant_labels(&spec.name);
    labels.extend(spec.labels.clone());
    let level = spec.pod_security.as_str();
    for mode in ["enforce", "audit", "warn"] {
        labels.insert(format!("pod-security.kubernetes.io/{mode}"), level.to_string());
        labels.insert(format!("pod-security.kubernetes.io/{mode}-version"), "latest".to_string());
    }
    let mut annotations = BTreeMap::from([(labels::PROTECTED.to_string(), spec.protected.to_string())]);
    if let Some(d) = &spec.display_name {
        annotations.insert(labels::DISPLAY_NAME.to_string(), d.clone());
    }
    Namespace {
        metadata: ObjectMeta { name: Some(spec.name.clone()), labels: Some(labels), annotations: Some(annotations), ..Default::default() },
        ..Default::default()
    }
}

fn compile_quota(spec: &TenantSpec) -> Option<ResourceQuota> {
    let q = &spec.quota;
    let mut hard = q.limits.to_resource_list("limits.");
    let mut put = |key: &str, value: Option<String>| {
        if let Some(v) = value {
            hard.insert(key.to_string(), K8sQuantity(v));
        }
    };
    put("requests.cpu", q.requests.cpu.clone());
    put("requests.memory", q.requests.memory.clone());
    put("requests.storage", q.requests.storage.clone());
    put("pods", q.pods.map(|n| n.to_string()));
    put("services", q.objects.services.map(|n| n.to_string()));
    put("configmaps", q.objects.configmaps.map(|n| n.to_string()));
    put("secrets", q.objects.secrets.map(|n| n.to_string()));
    put("persistentvolumeclaims", q.objects.persistentvolumeclaims.map(|n| n.to_string()));
    if hard.is_empty() {
        return None;
    }
    Some(ResourceQuota {
        metadata: meta(QUOTA_NAME, &spec.name, labels::tenant_labels(&spec.name)),
        spec: Some(ResourceQuotaSpec { hard: Some(hard), ..Default::default() }),
        status: None,
    })
}

fn compile_limit_range(spec: &TenantSpec) -> LimitRange {
    let d = spec.quota.effective_container_defaults();
    let non_empty = |m: BTreeMap<String, K8sQuantity>| if m.is_empty() { None } else { Some(m) };
    LimitRange {
        metadata: meta(LIMIT_RANGE_NAME, &spec.name, labels::tenant_labels(&spec.name)),
        spec: Some(LimitRangeSpec {
            limits: vec![LimitRangeItem {
                type_: "Container".into(),
                default: non_empty(d.default.to_resource_list("")),
                default_request: non_empty(d.default_request.to_resource_list("")),
                max: non_empty(d.max.to_resource_list("")),
                ..Default::default()
            }],
        }),
    }
}

fn compile_network_policy(spec: &TenantSpec) -> NetworkPolicy {
    let from_namespace = |name: &str| NetworkPolicyPeer {
        namespace_selector: Some(LabelSelector {
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: "kubernetes.io/metadata.name".into(),
                operator: "In".into(),
                values: Some(vec![name.to_string()]),
            }]),
            match_labels: None,
        }),
        ..Default::default()
    };
    let same_tenant = NetworkPolicyPeer {
        namespace_selector: Some(LabelSelector {
            match_labels: Some(BTreeMap::from([(labels::TENANT.to_string(), spec.name.clone())])),
            match_expressions: None,
        }),
        ..Default::default()
    };
    NetworkPolicy {
        metadata: meta(NETWORK_POLICY_NAME, &spec.name, labels::tenant_labels(&spec.name)),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector::default()),
            policy_types: Some(vec!["Ingress".into()]),
            ingress: Some(vec![NetworkPolicyIngressRule {
                from: Some(vec![same_tenant, from_namespace(&spec.network.ingress_namespace), from_namespace(&spec.network.monitoring_namespace)]),
                ports: None,
            }]),
            egress: None,
        }),
    }
}

fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> PolicyRule {
    let strings = |s: &[&str]| Some(s.iter().map(|x| x.to_string()).collect::<Vec<_>>());
    PolicyRule { api_groups: strings(groups), resources: strings(resources), verbs: verbs.iter().map(|v| v.to_string()).collect(), ..Default::default() }
}

const READ: &[&str] = &["get", "list", "watch"];
const WRITE: &[&str] = &["get", "list", "watch", "create", "update", "patch", "delete"];

/// The rules of each member role, confined to the tenant's namespace by the Role that holds them.
pub fn role_rules(role: Role) -> Vec<PolicyRule> {
    let workloads = [
        rule(&["apps"], &["deployments", "replicasets", "statefulsets"], WRITE),
        rule(&["batch"], &["jobs", "cronjobs"], WRITE),
        rule(&["networking.k8s.io"], &["ingresses"], WRITE),
        rule(&["autoscaling"], &["horizontalpodautoscalers"], WRITE),
        rule(&["policy"], &["poddisruptionbudgets"], WRITE),
        rule(&[""], &["services", "configmaps"], WRITE),
        rule(&[""], &["pods"], &["get", "list", "watch", "delete"]),
        rule(&[""], &["pods/log"], &["get"]),
        rule(&[""], &["events", "endpoints", "resourcequotas", "limitranges", "serviceaccounts"], READ),
        rule(&["discovery.k8s.io"], &["endpointslices"], READ),
    ];
    match role {
        Role::Admin => {
            let mut rules = workloads.to_vec();
            rules.push(rule(&[""], &["secrets", "persistentvolumeclaims"], WRITE));
            rules.push(rule(&[""], &["pods/exec", "pods/portforward"], &["create"]));
            rules.push(rule(&["networking.k8s.io"], &["networkpolicies"], READ));
            rules.push(rule(&["rbac.authorization.k8s.io"], &["roles", "rolebindings"], READ));
            rules
        }
        Role::Developer => workloads.to_vec(),
        Role::Viewer => vec![
            rule(&[""], &["pods", "services", "configmaps", "endpoints", "events", "resourcequotas", "limitranges", "persistentvolumeclaims"], READ),
            rule(&[""], &["pods/log"], &["get"]),
            rule(&["apps"], &["deployments", "replicasets", "statefulsets"], READ),
            rule(&["batch"], &["jobs", "cronjobs"], READ),
            rule(&["networking.k8s.io"], &["ingresses"], READ),
            rule(&["autoscaling"], &["horizontalpodautoscalers"], READ),
            rule(&["policy"], &["poddisruptionbudgets"], READ),
            rule(&["discovery.k8s.io"], &["endpointslices"], READ),
        ],
    }
}
