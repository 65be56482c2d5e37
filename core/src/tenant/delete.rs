//! Delete: remove a tenant in reverse apply order, refusing a protected one, keeping its volumes unless purged.

use serde_json::Value;

use super::{namespace_kind, tenant_objects, tenant_selector, text, TenantError};
use crate::backend::{Backend, Kind, ObjectRef, Propagation, Selector};
use crate::labels;
use crate::model::tenant::Tenant;

/// Options of [`delete`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeleteOptions {
    /// Delete a protected tenant (its Namespace is annotated `moorage.dev/protected: "true"`).
    pub confirm: bool,
    /// Delete the volumes annotated `moorage.dev/keep` too, and with them the Namespace.
    pub purge: bool,
}

/// What [`delete`] did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeleteReport {
    /// The objects deleted, in order (the Namespace last, when it was deleted).
    pub deleted: Vec<ObjectRef>,
    /// The objects kept: volumes annotated `moorage.dev/keep` and the Namespace that holds them.
    pub kept: Vec<ObjectRef>,
}

/// The kinds of release objects (labelled with the tenant) removed with the tenant.
fn release_kinds() -> Vec<Kind> {
    use k8s_openapi::api::{apps, autoscaling, batch, core, networking, policy};
    vec![
        Kind::of::<networking::v1::Ingress>(),
        Kind::of::<autoscaling::v2::HorizontalPodAutoscaler>(),
        Kind::of::<policy::v1::PodDisruptionBudget>(),
        Kind::of::<core::v1::Service>(),
        Kind::of::<apps::v1::Deployment>(),
        Kind::of::<batch::v1::Job>(),
        Kind::of::<core::v1::ConfigMap>(),
    ]
}

/// Deletes a tenant: first its releases' objects, then what the tenant compiles to in reverse apply
/// order. A protected tenant is refused unless `confirm`. Without `purge`, PersistentVolumeClaims
/// annotated `moorage.dev/keep` are kept, and so is the Namespace they live in; the backups
/// themselves live in object storage and are never touched.
pub async fn delete(backend: &dyn Backend, tenant: &Tenant, options: DeleteOptions) -> Result<DeleteReport, TenantError> {
    let ns = tenant.namespace();
    let Some(live_ns) = backend.get(&namespace_kind(), None, ns).await? else {
        return Err(TenantError::NotFound { tenant: tenant.name().to_string() });
    };
    let protected = live_ns.pointer("/metadata/annotations").and_then(|a| a.get(labels::PROTECTED)).and_then(Value::as_str) == Some("true");
    if protected && !options.confirm {
        return Err(TenantError::Protected { tenant: tenant.name().to_string() });
    }
    let mut report = DeleteReport::default();
    let selector = Selector::labels(tenant_selector(tenant));
    for kind in release_kinds() {
        for object in backend.list(&kind, Some(ns), &selector).await? {
            let name = text(&object, "/metadata/name");
            if backend.delete(&kind, Some(ns), name, Propagation::Background).await? {
                report.deleted.push(ObjectRef::new(&kind, Some(ns), name));
            }
        }
    }
    let pvc_kind = Kind::of::<k8s_openapi::api::core::v1::PersistentVolumeClaim>();
    let is_kept = |object: &Value| {
        !options.purge && object.pointer("/metadata/annotations").and_then(|a| a.get(labels::KEEP)).and_then(Value::as_str) == Some("true")
    };
    for object in backend.list(&pvc_kind, Some(ns), &selector).await? {
        if is_kept(&object) {
            report.kept.push(ObjectRef::of(&object));
        }
    }
    let mut compiled = tenant_objects(tenant)?;
    // Leftovers of an earlier version of the tenant go too.
    for live in super::plan::live_tenant_objects(backend, tenant).await? {
        let r = ObjectRef::of(&live);
        if !compiled.iter().any(|c| ObjectRef::of(c) == r) {
            compiled.push(live);
        }
    }
    for object in compiled.iter().rev() {
        let r = ObjectRef::of(object);
        let Some(kind) = Kind::of_object(object) else { continue };
        if kind.kind == "Namespace" {
            continue;
        }
        if report.kept.contains(&r) {
            continue;
        }
        if kind.kind == pvc_kind.kind {
            let live = backend.get(&kind, r.namespace.as_deref(), &r.name).await?;
            if live.as_ref().is_some_and(is_kept) {
                report.kept.push(r);
                continue;
            }
        }
        if backend.delete(&kind, r.namespace.as_deref(), &r.name, Propagation::Background).await? {
            report.deleted.push(r);
        }
    }
    let ns_ref = ObjectRef::new(&namespace_kind(), None, ns);
    if !report.kept.is_empty() {
        report.kept.push(ns_ref);
    } else if backend.delete(&namespace_kind(), None, ns, Propagation::Background).await? {
        report.deleted.push(ns_ref);
    }
    Ok(report)
}
