//! Tenant: one customer instance, with its namespace, quota, members, domains, storage and backups.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::checks;
use crate::error::{Problems, ValidationErrors};
use crate::model::backup::BackupPolicy;
use crate::model::quota::{check_bytes, Quota};

/// Longest tenant name: namespaces allow 63, and moorage derives longer names from it (`<tenant>-<app>` labels).
pub const MAX_TENANT_NAME: usize = 30;

/// The specification of a tenant, as written in a spec file. Build a [`Tenant`] from it to validate it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantSpec {
    /// The tenant's name: a DNS-1123 label of at most 30 characters. It names the tenant's namespace.
    pub name: String,
    /// A human-readable name (the customer's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Labels put on the tenant's namespace (used by fleet selection).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// The capacity the tenant may use and its container defaults.
    #[serde(default)]
    pub quota: Quota,
    /// The people and groups who act in the tenant's namespace.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<Member>,
    /// Custom domains the tenant's releases may serve.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<String>,
    /// Whether domains may be wildcards (`*.example.com`).
    #[serde(default)]
    pub allow_wildcard_domains: bool,
    /// The cert-manager ClusterIssuer that signs the certificates of the tenant's hosts.
    #[serde(default = "default_cert_issuer")]
    pub cert_issuer: String,
    /// The Gateway API Gateway the tenant's hosts attach to. When set, the hosts of its releases
    /// compile to HTTPRoutes (parented to this Gateway) instead of Ingresses, and canaries may split
    /// traffic by HTTPRoute backend weights (`traffic: gatewayApi`). TLS is then the Gateway's
    /// listeners' business (`certIssuer` is not used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<GatewayRef>,
    /// Persistent volumes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub storage: Vec<Volume>,
    /// Database backups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backups: Vec<BackupPolicy>,
    /// Network isolation from other tenants.
    #[serde(default)]
    pub network: NetworkIsolation,
    /// The Pod Security Standard enforced in the tenant's namespace.
    #[serde(default)]
    pub pod_security: PodSecurityLevel,
    /// Whether deleting the tenant needs an explicit confirmation.
    #[serde(default = "default_true")]
    pub protected: bool,
}

fn default_true() -> bool {
    true
}

fn default_cert_issuer() -> String {
    "letsencrypt".into()
}

/// A person or group with a role in a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Member {
    /// The user or group name as the cluster's authentication knows it (e.g. an e-mail address).
    pub name: String,
    /// Whether `name` is a user or a group.
    #[serde(default)]
    pub kind: MemberKind,
    /// What the member may do.
    pub role: Role,
}

/// Whether a member is a user or a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum MemberKind {
    /// A user.
    #[default]
    User,
    /// A group of users.
    Group,
}

/// What a member may do in the tenant's namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Role {
    /// Everything in the namespace except quota, limits, RBAC and network policies.
    Admin,
    /// Deploy applications and read logs; no RBAC, quota or secrets changes beyond their apps.
    Developer,
    /// Read only, without secrets.
    Viewer,
}

impl Role {
    /// The role's name as used in specs and object names.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Developer => "developer",
            Role::Viewer => "viewer",
        }
    }
}

/// A Gateway API Gateway, usually shared by the provider's tenants and run in its own namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GatewayRef {
    /// The Gateway's name.
    pub name: String,
    /// The Gateway's namespace (its listeners must allow routes from the tenant's namespace).
    pub namespace: String,
    /// One listener of the Gateway (all of them when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section_name: Option<String>,
}

impl GatewayRef {
    /// The Gateway `name` in `namespace`, all its listeners.
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        GatewayRef { name: name.into(), namespace: namespace.into(), section_name: None }
    }

    /// Attaches to one listener only.
    pub fn section_name(mut self, listener: impl Into<String>) -> Self {
        self.section_name = Some(listener.into());
        self
    }

    fn validate(&self, p: &mut Problems, path: &str) {
        p.check(|| format!("{path}.name"), checks::check_dns1123_subdomain(&self.name));
        p.check(|| format!("{path}.namespace"), checks::check_dns1123_label(&self.namespace));
        if let Some(section) = &self.section_name {
            p.check(|| format!("{path}.sectionName"), checks::check_dns1123_subdomain(section));
        }
    }
}

/// A persistent volume of the tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Volume {
    /// The volume's name (a DNS-1123 label); the claim is named after it.
    pub name: String,
    /// The storage class (a replicated class such as OpenEBS or Rook/Ceph).
    pub storage_class: String,
    /// The size, e.g. `"20Gi"`.
    pub size: String,
}

/// Network isolation of a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NetworkIsolation {
    /// Deny ingress from other namespaces (on by default).
    #[serde(default = "default_true")]
    pub isolated: bool,
    /// The ingress controller's namespace, always allowed in.
    #[serde(default = "default_ingress_ns")]
    pub ingress_namespace: String,
    /// The monitoring namespace, always allowed in (for scraping).
    #[serde(default = "default_monitoring_ns")]
    pub monitoring_namespace: String,
}

fn default_ingress_ns() -> String {
    "ingress-nginx".into()
}
fn default_monitoring_ns() -> String {
    "monitoring".into()
}

impl Default for NetworkIsolation {
    fn default() -> Self {
        Self { isolated: true, ingress_namespace: default_ingress_ns(), monitoring_namespace: default_monitoring_ns() }
    }
}

/// Pod Security Standard levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum PodSecurityLevel {
    /// The most restrictive standard (default).
    #[default]
    Restricted,
    /// Prevents known privilege escalations.
    Baseline,
    /// Unrestricted.
    Privileged,
}

impl PodSecurityLevel {
    /// The level as Pod Security Admission labels spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Restricted => "restricted",
            Self::Baseline => "baseline",
            Self::Privileged => "privileged",
        }
    }
}

/// A validated tenant. The only way to get one is through [`Tenant::builder`] or [`Tenant::from_spec`],
/// both of which check every field and return every problem at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Tenant {
    spec: TenantSpec,
}

impl Tenant {
    /// Starts building a tenant with the given name.
    pub fn builder(name: impl Into<String>) -> TenantBuilder {
        TenantBuilder { spec: TenantSpec::named(name) }
    }

    /// Validates a spec and returns the tenant, or every problem found.
    pub fn from_spec(spec: TenantSpec) -> Result<Self, ValidationErrors> {
        let mut p = Problems::default();
        spec.validate(&mut p, "tenant");
        p.finish(Tenant { spec })
    }

    /// The tenant's name (also its namespace).
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// The tenant's namespace.
    pub fn namespace(&self) -> &str {
        &self.spec.name
    }

    /// The validated spec.
    pub fn spec(&self) -> &TenantSpec {
        &self.spec
    }

    /// Turns the tenant back into its spec, e.g. to change it and validate again.
    pub fn into_spec(self) -> TenantSpec {
        self.spec
    }
}

impl TenantSpec {
    /// A spec with this name and every default.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            display_name: None,
            labels: BTreeMap::new(),
            quota: Quota::default(),
            members: Vec::new(),
            domains: Vec::new(),
            allow_wildcard_domains: false,
            cert_issuer: default_cert_issuer(),
            gateway: None,
            storage: Vec::new(),
            backups: Vec::new(),
            network: NetworkIsolation::default(),
            pod_security: PodSecurityLevel::default(),
            protected: true,
        }
    }

    fn validate(&self, p: &mut Problems, path: &str) {
        p.check(|| format!("{path}.name"), checks::check_dns1123_label_max(&self.name, MAX_TENANT_NAME));
        if let Some(d) = &self.display_name {
            if d.trim().is_empty() || d.chars().count() > 100 || d.chars().any(char::is_control) {
                p.add(format!("{path}.displayName"), "must be 1 to 100 printable characters");
            }
        }
        for (k, v) in &self.labels {
            let lpath = format!("{path}.labels[{k:?}]");
            if p.check(|| lpath.clone(), checks::check_label_key(k)) && is_reserved_label(k) {
                p.add(lpath.clone(), format!("{k:?} is reserved: moorage sets the app.kubernetes.io/ and moorage.dev/ labels itself"));
            }
            p.check(|| lpath, checks::check_label_value(v));
        }
        self.quota.validate(p, &format!("{path}.quota"));
        let mut seen = BTreeSet::new();
        for (i, m) in self.members.iter().enumerate() {
            let mpath = format!("{path}.members[{i}]");
            if m.name.trim().is_empty() || m.name.len() > 253 || m.name.chars().any(|c| c.is_control() || c.is_whitespace()) {
                p.add(format!("{mpath}.name"), format!("{:?} is not a user or group name: 1 to 253 characters, no spaces", m.name));
            }
            if !seen.insert((m.kind, m.name.as_str())) {
                p.add(format!("{mpath}.name"), format!("{:?} is listed twice; give each member one role", m.name));
            }
        }
        let mut domains = BTreeSet::new();
        for (i, d) in self.domains.iter().enumerate() {
            let dpath = format!("{path}.domains[{i}]");
            if !p.check(|| dpath.clone(), checks::check_hostname(d, self.allow_wildcard_domains)) {
                continue;
            }
            if !domains.insert(d.as_str()) {
                p.add(dpath, format!("{d:?} is listed twice"));
            }
        }
        p.check(|| format!("{path}.certIssuer"), checks::check_dns1123_subdomain(&self.cert_issuer));
        if let Some(gateway) = &self.gateway {
            gateway.validate(p, &format!("{path}.gateway"));
        }
        let mut volumes = BTreeSet::new();
        for (i, v) in self.storage.iter().enumerate() {
            let vpath = format!("{path}.storage[{i}]");
            if p.check(|| format!("{vpath}.name"), checks::check_dns1123_label_max(&v.name, 40)) && !volumes.insert(v.name.as_str()) {
                p.add(format!("{vpath}.name"), format!("{:?} is used by two volumes; volume names must be unique", v.name));
            }
            p.check(|| format!("{vpath}.storageClass"), checks::check_dns1123_subdomain(&v.storage_class));
            if let Some(size) = check_bytes(p, &format!("{vpath}.size"), &v.size) {
                if size.is_zero() {
                    p.add(format!("{vpath}.size"), "a volume needs a size above zero, e.g. \"10Gi\"");
                }
            }
        }
        let mut backups = BTreeSet::new();
        for (i, b) in self.backups.iter().enumerate() {
            let bpath = format!("{path}.backups[{i}]");
            b.validate(p, &bpath, &volumes);
            if !backups.insert(b.name.as_str()) {
                p.add(format!("{bpath}.name"), format!("{:?} is used by two backup policies", b.name));
            }
        }
        for (field, ns) in [("ingressNamespace", &self.network.ingress_namespace), ("monitoringNamespace", &self.network.monitoring_namespace)] {
            p.check(|| format!("{path}.network.{field}"), checks::check_dns1123_label(ns));
        }
    }

    /// Refuses volumes whose storage class is not in `allowed` (the provider's list, see
    /// [`crate::tenant::ApplyTenantOptions::storage_classes`]), each at `tenant.storage[i].storageClass`
    /// with the class and the allowed ones named. An empty list allows no volume at all.
    pub fn check_storage_classes(&self, allowed: &[String]) -> Result<(), ValidationErrors> {
        let mut p = Problems::default();
        for (i, v) in self.storage.iter().enumerate() {
            if !allowed.contains(&v.storage_class) {
                let list = if allowed.is_empty() { "none: this cluster offers no persistent volumes".to_string() } else { allowed.join(", ") };
                p.add(format!("tenant.storage[{i}].storageClass"), format!("{:?} is not an allowed storage class (allowed: {list})", v.storage_class));
            }
        }
        p.finish(())
    }

    /// Whether `host` is one of the tenant's domains, or covered by one of its wildcard domains.
    pub fn covers_host(&self, host: &str) -> bool {
        self.domains.iter().any(|d| {
            d == host
                || d.strip_prefix("*.").is_some_and(|suffix| {
                    host.strip_suffix(suffix).is_some_and(|head| head.ends_with('.') && !head[..head.len() - 1].contains('.') && head.len() > 1)
                })
        })
    }
}

fn is_reserved_label(key: &str) -> bool {
    key.starts_with("app.kubernetes.io/") || key.starts_with("moorage.dev/") || key.starts_with("pod-security.kubernetes.io/")
}

/// Builds a [`Tenant`] step by step; [`TenantBuilder::build`] validates everything.
///
/// ```
/// use moorage::{Quota, Role, Tenant};
/// let tenant = Tenant::builder("acme")
///     .display_name("ACME Corp")
///     .quota(Quota::new().limits("4", "8Gi").pods(20))
///     .member("alice@acme.test", Role::Admin)
///     .domain("shop.acme.test")
///     .build()
///     .unwrap();
/// assert_eq!(tenant.namespace(), "acme");
/// ```
#[derive(Debug, Clone)]
#[must_use = "call .build() to validate and get the tenant"]
pub struct TenantBuilder {
    spec: TenantSpec,
}

impl TenantBuilder {
    /// Sets the human-readable name.
    pub fn display_name(mut self, name: impl Into<String>) -> Self {
        self.spec.display_name = Some(name.into());
        self
    }
    /// Adds a label to the tenant's namespace.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.spec.labels.insert(key.into(), value.into());
        self
    }
    /// Sets the quota.
    pub fn quota(mut self, quota: Quota) -> Self {
        self.spec.quota = quota;
        self
    }
    /// Adds a user with a role.
    pub fn member(mut self, name: impl Into<String>, role: Role) -> Self {
        self.spec.members.push(Member { name: name.into(), kind: MemberKind::User, role });
        self
    }
    /// Adds a group with a role.
    pub fn group(mut self, name: impl Into<String>, role: Role) -> Self {
        self.spec.members.push(Member { name: name.into(), kind: MemberKind::Group, role });
        self
    }
    /// Adds a custom domain.
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.spec.domains.push(domain.into());
        self
    }
    /// Allows wildcard domains.
    pub fn allow_wildcard_domains(mut self, allow: bool) -> Self {
        self.spec.allow_wildcard_domains = allow;
        self
    }
    /// Sets the cert-manager ClusterIssuer.
    pub fn cert_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.spec.cert_issuer = issuer.into();
        self
    }
    /// Routes the tenant's hosts through this Gateway API Gateway (HTTPRoutes instead of Ingresses).
    pub fn gateway(mut self, gateway: GatewayRef) -> Self {
        self.spec.gateway = Some(gateway);
        self
    }
    /// Adds a persistent volume.
    pub fn volume(mut self, name: impl Into<String>, storage_class: impl Into<String>, size: impl Into<String>) -> Self {
        self.spec.storage.push(Volume { name: name.into(), storage_class: storage_class.into(), size: size.into() });
        self
    }
    /// Adds a backup policy.
    pub fn backup(mut self, policy: BackupPolicy) -> Self {
        self.spec.backups.push(policy);
        self
    }
    /// Turns network isolation on or off.
    pub fn network_isolation(mut self, isolated: bool) -> Self {
        self.spec.network.isolated = isolated;
        self
    }
    /// Sets the namespaces of the ingress controller and of monitoring, both allowed in.
    pub fn trusted_namespaces(mut self, ingress: impl Into<String>, monitoring: impl Into<String>) -> Self {
        self.spec.network.ingress_namespace = ingress.into();
        self.spec.network.monitoring_namespace = monitoring.into();
        self
    }
    /// Sets the Pod Security level.
    pub fn pod_security(mut self, level: PodSecurityLevel) -> Self {
        self.spec.pod_security = level;
        self
    }
    /// Sets deletion protection.
    pub fn protected(mut self, protected: bool) -> Self {
        self.spec.protected = protected;
        self
    }
    /// Validates and returns the tenant, or every problem found.
    pub fn build(self) -> Result<Tenant, ValidationErrors> {
        Tenant::from_spec(self.spec)
    }
}
