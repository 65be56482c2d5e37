//! `Tenant`: a customer's project (the core's `Tenant`), built from a spec object or a YAML/JSON
//! file through the core's spec reader and validation, and the tenant lifecycle on a `Cluster`
//! (the core's `tenant` module: apply, plan, status, suspend, resume, delete).

use std::sync::Arc;

use moorage::backend::{Change, ConflictPolicy};
use moorage::tenant::{self, ApplyTenantOptions, BackupRun, CertificateState, DeleteOptions, PlannedAction};
use napi::bindgen_prelude::{ClassInstance, JavaScriptClassExt, JsObjectValue, Object, PromiseRaw};
use napi::Env;
use napi_derive::napi;
use serde_json::Value;

use crate::cluster::{seconds, spawn, Cluster};
use crate::convert::{member, spec_json, spec_json_text, spec_text, text_or_file};
use crate::errors;
use crate::quota::Quota;

/// A tenant spec object as the JSON text of the spec file's keys (translation only: the core
/// reads and validates it). A `Quota` instance and `members` as a map of name to role are read
/// from the object; the rest crosses as JSON text in one call.
pub(crate) fn spec_object_text(env: &Env, spec: &Object) -> napi::Result<String> {
    let mut extra = Vec::new();
    if let Some(v) = member(spec, "quota")? {
        if Quota::instance_of(env, &v)? {
            extra.push(("quota", spec_json_text(&spec.get_named_property::<ClassInstance<Quota>>("quota")?.inner)));
        }
    }
    // `members` may be a mapping of name to role: the spec's list of {name, role}.
    spec_text(env, spec, "tenant", &extra, &["members"])
}

/// A customer's project: namespace, quota, members, domains, storage, backups.
#[napi]
#[derive(Clone)]
pub struct Tenant {
    /// Shared: operations and batches hold the tenant without copying it.
    pub(crate) inner: Arc<moorage::Tenant>,
}

#[napi]
impl Tenant {
    /// A tenant from its spec: the keys of a tenant YAML file (`name`, `displayName`, `quota`,
    /// `members`, `domains`, ...). `quota` may be a `Quota`; `members` may map names to roles.
    #[napi(constructor, ts_args_type = "spec: TenantOptions")]
    pub fn new(env: Env, spec: Object) -> napi::Result<Self> {
        let text = spec_object_text(&env, &spec)?;
        let inner = moorage::spec::tenant_from_json(&text).map_err(|e| errors::spec(&e).into_error(&env))?;
        Ok(Tenant { inner: Arc::new(inner) })
    }

    /// A tenant from YAML or JSON text, or from the path of a file holding it.
    #[napi(factory)]
    pub fn from_yaml(env: Env, text_or_path: String) -> napi::Result<Self> {
        let text = text_or_file(text_or_path)?;
        let inner = moorage::spec::tenant_from_yaml(&text).map_err(|e| errors::spec(&e).into_error(&env))?;
        Ok(Tenant { inner: Arc::new(inner) })
    }

    /// The same tenant with another quota (validated again by the core).
    #[napi]
    pub fn with_quota(&self, env: Env, quota: &Quota) -> napi::Result<Tenant> {
        let mut spec = moorage::Tenant::clone(&self.inner).into_spec();
        spec.quota = quota.inner.clone();
        let inner = moorage::Tenant::from_spec(spec).map_err(|e| errors::validation(&e).into_error(&env))?;
        Ok(Tenant { inner: Arc::new(inner) })
    }

    /// The tenant's name.
    #[napi(getter)]
    pub fn name(&self) -> String {
        self.inner.name().to_string()
    }
    /// Its namespace.
    #[napi(getter)]
    pub fn namespace(&self) -> String {
        self.inner.namespace().to_string()
    }
    /// Its display name.
    #[napi(getter)]
    pub fn display_name(&self) -> Option<String> {
        self.inner.spec().display_name.clone()
    }
    /// Its domains.
    #[napi(getter)]
    pub fn domains(&self) -> Vec<String> {
        self.inner.spec().domains.clone()
    }
    /// Its quota.
    #[napi(getter)]
    pub fn quota(&self) -> Quota {
        Quota { inner: self.inner.spec().quota.clone() }
    }

    /// The spec (the keys of a tenant YAML file).
    #[napi(ts_return_type = "TenantSpec")]
    pub fn to_spec(&self) -> Value {
        spec_json(self.inner.spec())
    }
    /// `JSON.stringify` writes the spec.
    #[napi(js_name = "toJSON", ts_return_type = "TenantSpec")]
    pub fn to_json(&self) -> Value {
        self.to_spec()
    }
    /// The spec as YAML.
    #[napi]
    pub fn to_yaml(&self) -> napi::Result<String> {
        moorage::spec::tenant_to_yaml(&self.inner).map_err(|e| napi::Error::from_reason(e.to_string()))
    }
    /// Whether both tenants have the same spec.
    #[napi]
    pub fn equals(&self, other: &Tenant) -> bool {
        self.inner.spec() == other.inner.spec()
    }

    /// The tenant's Kubernetes objects, as a multi-document YAML stream.
    #[napi]
    pub fn compile(&self, env: Env) -> napi::Result<String> {
        let objects = moorage::compile_tenant(&self.inner).objects;
        moorage::manifest::to_yaml_stream(&objects).map_err(|e| errors::manifest(&e).into_error(&env))
    }
}

/// The options of `applyTenant`.
#[napi(object, js_name = "ApplyTenantOptions")]
#[derive(Default)]
pub struct ApplyTenantOptionsJs {
    /// Seconds to wait, in all, for the tenant to become usable (default 60).
    pub timeout: Option<f64>,
    /// Take over fields another field manager changed (default: fail with `CONFLICT`).
    pub force: Option<bool>,
    /// The provider's allow list of storage classes (absent: any class); a volume of another
    /// class is a `VALIDATION` error naming the allowed ones.
    pub storage_classes: Option<Vec<String>>,
}

impl crate::convert::OptionKeys for ApplyTenantOptionsJs {
    const NAME: &'static str = "ApplyTenantOptions";
    const KEYS: &'static [&'static str] = &["timeout", "force", "storageClasses"];
}

/// One object and what an apply did to it.
#[napi(object)]
pub struct ObjectChange {
    /// `Kind namespace/name`.
    pub object: String,
    /// `created`, `updated` or `unchanged`.
    pub change: String,
}

/// What `applyTenant` did.
#[napi(object)]
pub struct TenantReport {
    /// Objects created.
    pub created: u32,
    /// Objects updated.
    pub updated: u32,
    /// Objects left unchanged.
    pub unchanged: u32,
    /// Created plus updated: zero on a repeated apply.
    pub changes: u32,
    /// Every object, in apply order.
    pub objects: Vec<ObjectChange>,
}

/// One field a plan would change.
#[napi(object)]
pub struct FieldChange {
    /// The field's path (`spec.hard.pods`).
    pub path: String,
    /// The live value (absent: none).
    #[napi(ts_type = "unknown")]
    pub before: Option<Value>,
    /// The value after the apply (absent: removed).
    #[napi(ts_type = "unknown")]
    pub after: Option<Value>,
}

/// One object of a plan.
#[napi(object)]
pub struct PlannedObject {
    /// `Kind namespace/name`.
    pub object: String,
    /// `create`, `update`, `unchanged` or `delete`.
    pub action: String,
    /// For updates: the fields that would change.
    pub changes: Vec<FieldChange>,
}

/// One tenant of a cluster, as `listTenants` finds it.
#[napi(object)]
pub struct TenantSummary {
    /// The tenant's name (its namespace).
    pub name: String,
    /// Its display name, when it has one.
    pub display_name: Option<String>,
    /// Whether deleting it needs a confirmation.
    pub protected: bool,
    /// Whether its Deployments are suspended.
    pub suspended: bool,
    /// How many moorage Deployments (release versions) it runs.
    pub deployments: u32,
    /// Its domains.
    pub domains: Vec<String>,
    /// The fleet cluster it was placed on, when placed through a fleet.
    pub cluster: Option<String>,
}

/// What an apply of the tenant would do, changing nothing.
#[napi(object)]
pub struct TenantPlan {
    /// Whether applying would change nothing.
    pub empty: bool,
    /// Every compiled object in apply order, then deletions.
    pub objects: Vec<PlannedObject>,
}

/// One resource of the tenant's quota.
#[napi(object)]
pub struct QuotaUsage {
    /// `limits.memory`, ...
    pub resource: String,
    /// What is used (absent until the quota controller reports it).
    pub used: Option<String>,
    /// The hard limit.
    pub hard: String,
}

/// The pods of one version of one application.
#[napi(object)]
pub struct ReleasePods {
    /// The application.
    pub app: String,
    /// The version.
    pub version: String,
    /// Ready pods.
    pub ready: i64,
    /// Desired replicas.
    pub desired: i64,
}

/// One domain and its certificate.
#[napi(object)]
pub struct DomainStatus {
    /// The domain.
    pub domain: String,
    /// `ready`, `notReady`, `none` or `certManagerMissing`.
    pub certificate: String,
    /// Why a certificate is not ready, when it says.
    pub reason: Option<String>,
}

/// The last run of a backup CronJob.
#[napi(object)]
pub struct BackupStatus {
    /// The CronJob.
    pub name: String,
    /// `none`, `running`, `succeeded` or `failed`.
    pub state: String,
    /// The Job, when one ran.
    pub job: Option<String>,
}

/// An object where another field manager owns fields moorage applies.
#[napi(object)]
pub struct Drift {
    /// `Kind namespace/name`.
    pub object: String,
    /// The other field manager (e.g. `kubectl-edit`).
    pub manager: String,
    /// The subresource it wrote through (`scale` for a scale), if any.
    pub subresource: Option<String>,
    /// The fields it owns that moorage applies (`spec.replicas`).
    pub fields: Vec<String>,
}

pub(crate) fn drift(d: moorage::backend::ownership::Drift) -> Drift {
    Drift { object: d.object.to_string(), manager: d.manager, subresource: d.subresource, fields: d.fields }
}

/// A tenant's state in one call.
#[napi(object)]
pub struct TenantStatus {
    /// Quota usage per resource.
    pub quota: Vec<QuotaUsage>,
    /// Pods per release version.
    pub releases: Vec<ReleasePods>,
    /// Domains and their certificates.
    pub domains: Vec<DomainStatus>,
    /// The last run of each backup CronJob.
    pub backups: Vec<BackupStatus>,
    /// Objects changed by another field manager.
    pub drift: Vec<Drift>,
}

/// The options of `deleteTenant`.
#[napi(object)]
#[derive(Default)]
pub struct DeleteTenantOptions {
    /// Delete a protected tenant.
    pub confirm: Option<bool>,
    /// Delete the kept volumes too, and with them the Namespace.
    pub purge: Option<bool>,
}

impl crate::convert::OptionKeys for DeleteTenantOptions {
    const NAME: &'static str = "DeleteTenantOptions";
    const KEYS: &'static [&'static str] = &["confirm", "purge"];
}

/// What `deleteTenant` did.
#[napi(object)]
pub struct DeleteReport {
    /// The objects deleted, in order.
    pub deleted: Vec<String>,
    /// The objects kept (volumes annotated `moorage.dev/keep` and their Namespace).
    pub kept: Vec<String>,
}

fn change_name(c: Change) -> &'static str {
    match c {
        Change::Created => "created",
        Change::Updated => "updated",
        Change::Unchanged => "unchanged",
    }
}

fn action_name(a: PlannedAction) -> &'static str {
    match a {
        PlannedAction::Create => "create",
        PlannedAction::Update => "update",
        PlannedAction::Unchanged => "unchanged",
        PlannedAction::Delete => "delete",
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

pub(crate) fn report(r: tenant::TenantReport) -> TenantReport {
    TenantReport {
        created: count(r.created()),
        updated: count(r.updated()),
        unchanged: count(r.unchanged()),
        changes: count(r.changes()),
        objects: r.objects.into_iter().map(|o| ObjectChange { object: o.object.to_string(), change: change_name(o.change).into() }).collect(),
    }
}

pub(crate) fn plan(p: tenant::Plan) -> TenantPlan {
    TenantPlan {
        empty: p.is_empty(),
        objects: p
            .objects
            .into_iter()
            .map(|o| PlannedObject {
                object: o.object.to_string(),
                action: action_name(o.action).into(),
                changes: o.changes.into_iter().map(|c| FieldChange { path: c.path, before: c.before, after: c.after }).collect(),
            })
            .collect(),
    }
}

fn status(s: tenant::TenantStatus) -> TenantStatus {
    TenantStatus {
        quota: s.quota.into_iter().map(|q| QuotaUsage { resource: q.resource, used: q.used, hard: q.hard }).collect(),
        releases: s.releases.into_iter().map(|r| ReleasePods { app: r.app, version: r.version, ready: r.ready, desired: r.desired }).collect(),
        domains: s
            .domains
            .into_iter()
            .map(|d| {
                let (certificate, reason) = match d.certificate {
                    CertificateState::Ready => ("ready", None),
                    CertificateState::NotReady(reason) => ("notReady", Some(reason)),
                    CertificateState::None => ("none", None),
                    CertificateState::CertManagerMissing => ("certManagerMissing", None),
                };
                DomainStatus { domain: d.domain, certificate: certificate.into(), reason }
            })
            .collect(),
        backups: s
            .backups
            .into_iter()
            .map(|(name, run)| {
                let (state, job) = match run {
                    BackupRun::None => ("none", None),
                    BackupRun::Running { job } => ("running", Some(job)),
                    BackupRun::Succeeded { job } => ("succeeded", Some(job)),
                    BackupRun::Failed { job } => ("failed", Some(job)),
                };
                BackupStatus { name, state: state.into(), job }
            })
            .collect(),
        drift: s.drift.into_iter().map(drift).collect(),
    }
}

#[napi]
impl Cluster {
    /// Creates or updates everything the tenant compiles to (after checking no other tenant holds
    /// its domains), then waits until it is usable. A second apply reports zero changes.
    #[napi(ts_return_type = "Promise<TenantReport>")]
    pub fn apply_tenant<'env>(
        &self,
        env: &'env Env,
        tenant: &Tenant,
        #[napi(ts_arg_type = "ApplyTenantOptions | undefined | null")] options: Option<Object<'_>>,
    ) -> napi::Result<PromiseRaw<'env, TenantReport>> {
        let o: ApplyTenantOptionsJs = crate::convert::read_options(env, options)?.unwrap_or_default();
        let mut opts = ApplyTenantOptions::default();
        if let Some(t) = o.timeout {
            opts.timeout = seconds(env, "timeout", t)?;
        }
        if o.force == Some(true) {
            opts.conflicts = ConflictPolicy::Force;
        }
        opts.storage_classes = o.storage_classes;
        let (backend, tenant) = (self.backend.clone(), tenant.inner.clone());
        spawn(env, async move { tenant::apply(backend.as_ref(), &tenant, &opts).await.map_err(|e| errors::tenant(&e)) }, report)
    }

    /// What an apply of the tenant would create, change or delete, field by field.
    #[napi(ts_return_type = "Promise<TenantPlan>")]
    pub fn plan_tenant<'env>(&self, env: &'env Env, tenant: &Tenant) -> napi::Result<PromiseRaw<'env, TenantPlan>> {
        let (backend, tenant) = (self.backend.clone(), tenant.inner.clone());
        spawn(env, async move { tenant::plan(backend.as_ref(), &tenant).await.map_err(|e| errors::tenant(&e)) }, plan)
    }

    /// The tenant's quota usage, release pods, domains, last backups and drift.
    #[napi(ts_return_type = "Promise<TenantStatus>")]
    pub fn tenant_status<'env>(&self, env: &'env Env, tenant: &Tenant) -> napi::Result<PromiseRaw<'env, TenantStatus>> {
        let (backend, tenant) = (self.backend.clone(), tenant.inner.clone());
        spawn(env, async move { tenant::status(backend.as_ref(), &tenant).await.map_err(|e| errors::tenant(&e)) }, status)
    }

    /// Scales every Deployment of the tenant to zero (recording its replicas); returns their names.
    #[napi(ts_return_type = "Promise<string[]>")]
    pub fn suspend_tenant<'env>(&self, env: &'env Env, tenant: &Tenant) -> napi::Result<PromiseRaw<'env, Vec<String>>> {
        let (backend, tenant) = (self.backend.clone(), tenant.inner.clone());
        spawn(env, async move { tenant::suspend(backend.as_ref(), &tenant).await.map_err(|e| errors::tenant(&e)) }, |v| v)
    }

    /// Restores the replicas `suspendTenant` recorded; returns the Deployments scaled back.
    #[napi(ts_return_type = "Promise<string[]>")]
    pub fn resume_tenant<'env>(&self, env: &'env Env, tenant: &Tenant) -> napi::Result<PromiseRaw<'env, Vec<String>>> {
        let (backend, tenant) = (self.backend.clone(), tenant.inner.clone());
        spawn(env, async move { tenant::resume(backend.as_ref(), &tenant).await.map_err(|e| errors::tenant(&e)) }, |v| v)
    }

    /// Deletes the tenant: its releases, then its objects in reverse apply order. A protected
    /// tenant needs `confirm` (`TENANT_PROTECTED` otherwise); kept volumes stay unless `purge`.
    #[napi(ts_return_type = "Promise<DeleteReport>")]
    pub fn delete_tenant<'env>(
        &self,
        env: &'env Env,
        tenant: &Tenant,
        #[napi(ts_arg_type = "DeleteTenantOptions | undefined | null")] options: Option<Object<'_>>,
    ) -> napi::Result<PromiseRaw<'env, DeleteReport>> {
        let o: DeleteTenantOptions = crate::convert::read_options(env, options)?.unwrap_or_default();
        let opts = DeleteOptions { confirm: o.confirm.unwrap_or(false), purge: o.purge.unwrap_or(false) };
        let (backend, tenant) = (self.backend.clone(), tenant.inner.clone());
        spawn(env, async move { tenant::delete(backend.as_ref(), &tenant, opts).await.map_err(|e| errors::tenant(&e)) }, |r| DeleteReport {
            deleted: r.deleted.iter().map(ToString::to_string).collect(),
            kept: r.kept.iter().map(ToString::to_string).collect(),
        })
    }

    /// Every moorage tenant of the cluster, sorted by name.
    #[napi(ts_return_type = "Promise<TenantSummary[]>")]
    pub fn list_tenants<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, Vec<TenantSummary>>> {
        let backend = self.backend.clone();
        spawn(env, async move { tenant::list(backend.as_ref()).await.map_err(|e| errors::tenant(&e)) }, |list| {
            list.into_iter()
                .map(|t| TenantSummary {
                    name: t.name,
                    display_name: t.display_name,
                    protected: t.protected,
                    suspended: t.suspended,
                    deployments: count(t.deployments),
                    domains: t.domains,
                    cluster: t.cluster,
                })
                .collect()
        })
    }

    /// The tenant `name` as it was last applied to this cluster (from the spec its Namespace
    /// records): `TENANT_NOT_FOUND` or `SPEC_NOT_RECORDED` otherwise.
    #[napi(ts_return_type = "Promise<Tenant>")]
    pub fn live_tenant<'env>(&self, env: &'env Env, name: String) -> napi::Result<PromiseRaw<'env, Tenant>> {
        let backend = self.backend.clone();
        spawn(env, async move { tenant::live(backend.as_ref(), &name).await.map_err(|e| errors::tenant(&e)) }, |inner| Tenant { inner: Arc::new(inner) })
    }
}
