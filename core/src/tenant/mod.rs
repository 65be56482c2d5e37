//! The tenant lifecycle: apply, plan, status, list, suspend/resume and delete of customer instances.
//!
//! Every function executes through a [`Backend`], so the same calls work on the simulated cluster
//! and on a real one. A tenant's domains are recorded on its Namespace (annotation
//! [`DOMAINS_ANNOTATION`], indexed by labels: [`domain_labels`]) so that a domain held by another
//! tenant is refused before any write ([`check_domains`]).

#[cfg(feature = "cluster")]
mod ci;
mod domains;
mod fleet;
mod list;
mod ops;
mod plan;
mod status;

use std::time::Duration;

use serde_json::Value;

use crate::backend::wait::{self, Target};
use crate::backend::{ApplyOptions, Backend, BackendError, Change, ConflictPolicy, Kind, ObjectRef};
use crate::compile::compile_tenant;
use crate::compile::QUOTA_NAME;
use crate::error::ValidationErrors;
use crate::labels;
use crate::model::tenant::Tenant;

#[cfg(feature = "cluster")]
pub use ci::{ci_credentials, ci_objects, CiCredentials, CiOptions, CI_ROLE, CI_SERVICE_ACCOUNT};
pub use domains::{check_domains, domain_labels, domains_overlap, DOMAINS_INDEXED, DOMAIN_LABEL_PREFIX, PARENT_LABEL_PREFIX};
pub(crate) use fleet::tenant_namespaces;
pub use fleet::{Fleet, FleetCluster, FleetError, FleetTenant, Placement, CLUSTER_ANNOTATION};
pub use list::{list, TenantSummary};
pub use ops::{delete, resume, suspend, DeleteOptions, DeleteReport, SUSPENDED_REPLICAS};
pub(crate) use plan::plan_objects;
pub use plan::{plan, FieldChange, Plan, PlannedAction, PlannedObject};
pub use status::{status, BackupRun, CertificateState, DomainStatus, Drift, QuotaUsage, ReleasePods, TenantStatus};

/// Annotation on a tenant's Namespace: its domains, comma separated.
pub const DOMAINS_ANNOTATION: &str = "moorage.dev/domains";

/// Annotation on a tenant's Namespace: the tenant's whole spec as JSON (no secret values: specs
/// only name Secrets), so that [`live`] gives any process the tenant as it was applied.
pub const SPEC_ANNOTATION: &str = "moorage.dev/tenant-spec";

/// Why a tenant operation failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TenantError {
    /// Another tenant of the cluster already holds one of the tenant's domains. Nothing was written.
    #[error("domain {domain:?} is already held by tenant {holder:?}")]
    DomainTaken {
        /// The domain.
        domain: String,
        /// The tenant holding it.
        holder: String,
    },
    /// Another tenant claimed one of the tenant's new domains at the same instant (from another
    /// process), and this apply's claim lost: its Namespace was put back as it was, and nothing else
    /// was written. The rival may have backed off too (each saw the other); applying again settles it.
    #[error(
        "domain {domain:?} was claimed at the same instant by tenant {rival:?}; this apply's claim was put back and nothing else was written: apply again"
    )]
    DomainContended {
        /// The domain.
        domain: String,
        /// The tenant that claimed it at the same instant.
        rival: String,
    },
    /// The tenant is protected: deleting it needs `confirm`.
    #[error("tenant {tenant:?} is protected; deleting it needs an explicit confirmation")]
    Protected {
        /// The tenant.
        tenant: String,
    },
    /// The tenant does not exist in the cluster.
    #[error("tenant {tenant:?} does not exist")]
    NotFound {
        /// The tenant.
        tenant: String,
    },
    /// A compiled object could not be turned into JSON (a bug in moorage).
    #[error("cannot serialize {object}: {message}")]
    Serialize {
        /// The object.
        object: String,
        /// The serializer's message.
        message: String,
    },
    /// The TokenRequest API refused to issue a token.
    #[error("cannot issue a CI token for tenant {tenant:?}: {message}")]
    TokenRequest {
        /// The tenant.
        tenant: String,
        /// The API server's explanation.
        message: String,
    },
    /// The tenant's Namespace carries no readable spec (applied by an older moorage, or edited by
    /// hand); apply the tenant from its spec again.
    #[error("tenant {tenant:?} has no readable recorded spec ({message}); apply it again from its spec")]
    SpecNotRecorded {
        /// The tenant.
        tenant: String,
        /// What is missing or wrong.
        message: String,
    },
    /// The tenant breaks the provider's rules (a storage class not allowed); every problem with its
    /// field's path. Nothing was read or written.
    #[error(transparent)]
    Invalid(ValidationErrors),
    /// The backend failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// Options of [`apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyTenantOptions {
    /// How long to wait, in all, for the tenant to become usable after the writes.
    pub timeout: Duration,
    /// What to do when another field manager owns a field moorage applies.
    pub conflicts: ConflictPolicy,
    /// The provider's allowed storage classes: when set, a volume of another class is refused
    /// ([`TenantError::Invalid`] at `tenant.storage[i].storageClass`) before any API call. `None`
    /// (the default) allows any class. A fleet sets it from [`FleetCluster::storage_classes`].
    pub storage_classes: Option<Vec<String>>,
}

impl Default for ApplyTenantOptions {
    fn default() -> Self {
        Self { timeout: Duration::from_secs(60), conflicts: ConflictPolicy::Fail, storage_classes: None }
    }
}

impl ApplyTenantOptions {
    /// Allows volumes of these storage classes only.
    pub fn storage_classes<S: Into<String>>(mut self, classes: impl IntoIterator<Item = S>) -> Self {
        self.storage_classes = Some(classes.into_iter().map(Into::into).collect());
        self
    }

    /// Refuses `tenant` when a volume's class is not allowed (reads nothing).
    pub fn check(&self, tenant: &Tenant) -> Result<(), TenantError> {
        match &self.storage_classes {
            Some(allowed) => tenant.spec().check_storage_classes(allowed).map_err(TenantError::Invalid),
            None => Ok(()),
        }
    }
}

/// What [`apply`] did to one object.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectChange {
    /// The object.
    pub object: ObjectRef,
    /// Created, updated or unchanged.
    pub change: Change,
}

/// The outcome of [`apply`]: one entry per object, in apply order.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantReport {
    /// Every object and what happened to it.
    pub objects: Vec<ObjectChange>,
}

impl TenantReport {
    fn count(&self, change: Change) -> usize {
        self.objects.iter().filter(|o| o.change == change).count()
    }
    /// How many objects were created.
    pub fn created(&self) -> usize {
        self.count(Change::Created)
    }
    /// How many objects were updated.
    pub fn updated(&self) -> usize {
        self.count(Change::Updated)
    }
    /// How many objects were left unchanged.
    pub fn unchanged(&self) -> usize {
        self.count(Change::Unchanged)
    }
    /// How many objects were created or updated (zero on a repeated apply).
    pub fn changes(&self) -> usize {
        self.created() + self.updated()
    }
}

/// The objects a tenant compiles to, as JSON in apply order, with the domains and the spec
/// ([`SPEC_ANNOTATION`]) recorded on the Namespace.
pub fn tenant_objects(tenant: &Tenant) -> Result<Vec<Value>, TenantError> {
    let compiled = compile_tenant(tenant);
    let mut out = Vec::with_capacity(compiled.objects.len());
    for object in &compiled.objects {
        let mut value = serde_json::to_value(object).map_err(|e| TenantError::Serialize { object: object.kind().to_string(), message: e.to_string() })?;
        if value.get("kind").and_then(Value::as_str) == Some("Namespace") {
            let spec = serde_json::to_string(tenant.spec()).map_err(|e| TenantError::Serialize { object: "tenant spec".into(), message: e.to_string() })?;
            if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
                // The domains' index (`check_domains` reads it instead of every tenant).
                if let Some(l) = meta.entry("labels").or_insert_with(|| Value::Object(Default::default())).as_object_mut() {
                    l.extend(domain_labels(&tenant.spec().domains).into_iter().map(|(k, v)| (k, Value::from(v))));
                }
                let annotations = meta.entry("annotations").or_insert_with(|| Value::Object(Default::default()));
                if let Some(a) = annotations.as_object_mut() {
                    if !tenant.spec().domains.is_empty() {
                        a.insert(DOMAINS_ANNOTATION.into(), Value::from(tenant.spec().domains.join(",")));
                    }
                    a.insert(SPEC_ANNOTATION.into(), Value::from(spec));
                }
            }
        }
        out.push(value);
    }
    Ok(out)
}

/// The tenant `name` as it was last applied, read from the spec recorded on its Namespace
/// ([`SPEC_ANNOTATION`]): what the release operations of a process that has no spec file need
/// (domains, container defaults, Pod Security level). [`TenantError::NotFound`] without a Namespace.
pub async fn live(backend: &dyn Backend, name: &str) -> Result<Tenant, TenantError> {
    let not_found = || TenantError::NotFound { tenant: name.to_string() };
    let ns = backend.get(&namespace_kind(), None, name).await?.ok_or_else(not_found)?;
    if ns.pointer("/metadata/labels").and_then(|l| l.get(labels::TENANT)).is_none() {
        return Err(not_found());
    }
    recorded_tenant(&ns, name)
}

/// The tenant `name` as recorded on its Namespace `ns` ([`SPEC_ANNOTATION`]).
pub(crate) fn recorded_tenant(ns: &Value, name: &str) -> Result<Tenant, TenantError> {
    let unreadable = |message: String| TenantError::SpecNotRecorded { tenant: name.to_string(), message };
    let text = ns
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(SPEC_ANNOTATION))
        .and_then(Value::as_str)
        .ok_or_else(|| unreadable(format!("no {SPEC_ANNOTATION} annotation")))?;
    let spec: crate::model::tenant::TenantSpec = serde_json::from_str(text).map_err(|e| unreadable(e.to_string()))?;
    Tenant::from_spec(spec).map_err(|e| unreadable(e.to_string()))
}

pub(crate) fn namespace_kind() -> Kind {
    Kind::of::<k8s_openapi::api::core::v1::Namespace>()
}

/// The tenant a Namespace belongs to: its [`labels::TENANT`] label.
pub(crate) fn tenant_label(ns: &Value) -> Option<&str> {
    ns.pointer("/metadata/labels").and_then(|l| l.get(labels::TENANT)).and_then(Value::as_str)
}

pub(crate) fn text<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or_default()
}

/// The label selector of every object of a tenant.
pub(crate) fn tenant_selector(tenant: &Tenant) -> String {
    format!("{}={},{}={}", labels::MANAGED_BY, labels::MANAGER, labels::TENANT, tenant.name())
}

/// Creates or updates everything `tenant` compiles to, in apply order, after checking that no other
/// tenant holds one of its domains, then waits until the tenant is usable: the Namespace is Active,
/// the ResourceQuota (when there is one) reports its usage, and the `default` ServiceAccount exists
/// (the simulated cluster creates it as the real service account controller does); on a backend
/// without controllers (a manifests folder) it returns once the objects are written.
/// A second apply of the same tenant reports zero changes.
///
/// Domains the tenant does not hold yet are claimed before anything else is written: of two
/// processes applying tenants with the same domain at the same instant, at most one gets it, and
/// the other's Namespace is put back as it was ([`TenantError::DomainContended`]).
pub async fn apply(backend: &dyn Backend, tenant: &Tenant, options: &ApplyTenantOptions) -> Result<TenantReport, TenantError> {
    options.check(tenant)?;
    let live = live_namespace(backend, tenant).await?;
    let objects = keep_placement(live.as_ref(), tenant_objects(tenant)?);
    apply_objects(backend, &[backend], tenant, live.as_ref(), &objects, options).await
}

/// The tenant's Namespace as the cluster holds it (`None`: absent).
pub(crate) async fn live_namespace(backend: &dyn Backend, tenant: &Tenant) -> Result<Option<Value>, TenantError> {
    Ok(backend.get(&namespace_kind(), None, tenant.namespace()).await?)
}

/// Keeps the fleet placement recorded on the live Namespace (see [`Fleet`]) in the objects applied,
/// so that applying a placed tenant directly does not erase where it lives.
pub(crate) fn keep_placement(live: Option<&Value>, mut objects: Vec<Value>) -> Vec<Value> {
    let Some(cluster) = live.and_then(|ns| ns.pointer("/metadata/annotations")).and_then(|a| a.get(CLUSTER_ANNOTATION)).cloned() else { return objects };
    if let Some(meta) = objects.iter_mut().find(|o| text(o, "/kind") == "Namespace").and_then(|ns| ns.get_mut("metadata")).and_then(Value::as_object_mut) {
        let annotations = meta.entry("annotations").or_insert_with(|| Value::Object(Default::default()));
        if let Some(a) = annotations.as_object_mut() {
            a.entry(CLUSTER_ANNOTATION).or_insert(cluster);
        }
    }
    objects
}

/// [`apply`] of already compiled objects, with `live` the tenant's Namespace read before. Its
/// domains must be free on every backend of `domain_scope` (the cluster, or every cluster of a
/// fleet).
pub(crate) async fn apply_objects(
    backend: &dyn Backend,
    domain_scope: &[&dyn Backend],
    tenant: &Tenant,
    live: Option<&Value>,
    objects: &[Value],
    options: &ApplyTenantOptions,
) -> Result<TenantReport, TenantError> {
    options.check(tenant)?;
    for other in domain_scope {
        check_domains(*other, tenant).await?;
    }
    if options.conflicts == ConflictPolicy::Force {
        crate::backend::ownership::warn_forced_takeover(backend, objects).await?;
    }
    let apply_options = ApplyOptions { conflicts: options.conflicts, ..ApplyOptions::default() };
    let claim = match objects.iter().find(|o| text(o, "/kind") == "Namespace") {
        Some(namespace) => domains::claim_new_domains(backend, domain_scope, tenant, live, namespace, &apply_options).await?,
        None => None,
    };
    let mut applied = backend.apply(objects, &apply_options).await?;
    // The claim wrote the Namespace: its change is the claim's, not the unchanged second write.
    if let Some(claim) = claim {
        if let Some(ns) = applied.iter_mut().find(|a| a.object == claim.object) {
            ns.change = claim.change;
        }
    }
    let report = TenantReport { objects: applied.into_iter().map(|a| ObjectChange { object: a.object, change: a.change }).collect() };
    // A manifests folder has no controllers: the objects are written, nothing would become usable.
    if backend.runs_controllers() {
        wait_usable(backend, tenant, objects, options.timeout).await?;
    }
    Ok(report)
}

/// Waits, within `timeout` in all, for the Namespace to be Active, the quota to report its usage
/// and the `default` ServiceAccount to exist.
async fn wait_usable(backend: &dyn Backend, tenant: &Tenant, objects: &[Value], timeout: Duration) -> Result<(), TenantError> {
    let deadline = backend.now().saturating_add(timeout);
    let left = |backend: &dyn Backend| deadline.saturating_sub(backend.now());
    let ns = tenant.namespace();
    wait::wait_for(backend, &Target::object(namespace_kind(), None, ns), &wait::namespace_active(), left(backend)).await?;
    if objects.iter().any(|o| text(o, "/kind") == "ResourceQuota") {
        let quota = Kind::of::<k8s_openapi::api::core::v1::ResourceQuota>();
        wait::wait_for(backend, &Target::object(quota, Some(ns), QUOTA_NAME), &wait::quota_status_known(), left(backend)).await?;
    }
    let sa = Kind::of::<k8s_openapi::api::core::v1::ServiceAccount>();
    wait::wait_for(backend, &Target::object(sa, Some(ns), "default"), &wait::exists(), left(backend)).await?;
    Ok(())
}
