//! Plan: what an apply of a tenant (or a release's objects) would create, change or delete, field by field, changing nothing.

use serde_json::Value;

use super::{tenant_objects, tenant_selector, TenantError};
use crate::backend::{ApplyOptions, Backend, BackendError, Kind, ObjectRef, Selector};
use crate::labels;
use crate::model::tenant::Tenant;

/// What an apply would do to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum PlannedAction {
    /// The object does not exist yet.
    Create,
    /// The object exists and some fields would change.
    Update,
    /// The object exists and nothing would change.
    Unchanged,
    /// The object exists with the tenant's label but the tenant no longer compiles to it.
    Delete,
}

/// One field that would change: its path (`spec.hard.pods`) and its values before and after.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldChange {
    /// The field's path, dot separated (array items as `[i]`).
    pub path: String,
    /// The live value (`None`: absent).
    pub before: Option<Value>,
    /// The value after the apply (`None`: removed).
    pub after: Option<Value>,
}

/// One object of a plan.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedObject {
    /// The object.
    pub object: ObjectRef,
    /// What would happen to it.
    pub action: PlannedAction,
    /// For updates: the fields that would change.
    pub changes: Vec<FieldChange>,
}

/// The plan of a tenant: every compiled object, then the objects that would be deleted.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// The objects, in apply order, then deletions.
    pub objects: Vec<PlannedObject>,
}

impl Plan {
    /// Whether applying would change nothing.
    pub fn is_empty(&self) -> bool {
        self.objects.iter().all(|o| o.action == PlannedAction::Unchanged)
    }
    /// The objects with a given action.
    pub fn with_action(&self, action: PlannedAction) -> impl Iterator<Item = &PlannedObject> {
        self.objects.iter().filter(move |o| o.action == action)
    }
}

/// The kinds a tenant compiles to (the ones a plan looks for leftovers of).
pub(crate) fn tenant_kinds() -> Vec<Kind> {
    use k8s_openapi::api::{batch, core, networking, rbac};
    vec![
        Kind::of::<core::v1::ResourceQuota>(),
        Kind::of::<core::v1::LimitRange>(),
        Kind::of::<core::v1::ServiceAccount>(),
        Kind::of::<rbac::v1::Role>(),
        Kind::of::<rbac::v1::RoleBinding>(),
        Kind::of::<networking::v1::NetworkPolicy>(),
        Kind::of::<core::v1::PersistentVolumeClaim>(),
        Kind::of::<batch::v1::CronJob>(),
    ]
}

/// Objects of the tenant's kinds in its namespace carrying its label and no application label
/// (release objects carry the tenant's label too, and belong to the release engine).
pub(crate) async fn live_tenant_objects(backend: &dyn Backend, tenant: &Tenant) -> Result<Vec<Value>, BackendError> {
    let selector = Selector::labels(tenant_selector(tenant));
    let mut out = Vec::new();
    for kind in tenant_kinds() {
        for object in backend.list(&kind, Some(tenant.namespace()), &selector).await? {
            if object.pointer("/metadata/labels").and_then(|l| l.get(labels::NAME)).is_none() {
                out.push(object);
            }
        }
    }
    Ok(out)
}

/// Computes what [`super::apply`] would do, with a server-side dry run, without changing anything.
/// Conflicts with other field managers are planned as forced (the diff shows the field taken back).
pub async fn plan(backend: &dyn Backend, tenant: &Tenant) -> Result<Plan, TenantError> {
    let live = super::live_namespace(backend, tenant).await?;
    let objects = super::keep_placement(live.as_ref(), tenant_objects(tenant)?);
    let mut plan = Plan::default();
    if live.is_none() {
        // Nothing exists yet: a dry run of namespaced objects would fail for want of their namespace.
        plan.objects = objects.iter().map(|o| PlannedObject { object: ObjectRef::of(o), action: PlannedAction::Create, changes: Vec::new() }).collect();
        return Ok(plan);
    }
    plan.objects = plan_objects(backend, &objects).await?;
    let compiled: Vec<(String, String)> = plan.objects.iter().map(|o| (o.object.kind.clone(), o.object.name.clone())).collect();
    for live in live_tenant_objects(backend, tenant).await? {
        let reference = ObjectRef::of(&live);
        // The CI access objects of `ci_credentials` are not compiled from the tenant but belong to it.
        let ci = matches!((reference.kind.as_str(), reference.name.as_str()), ("ServiceAccount", "ci") | ("Role" | "RoleBinding", "moorage-ci"));
        if !ci && !compiled.iter().any(|(k, n)| *k == reference.kind && *n == reference.name) {
            plan.objects.push(PlannedObject { object: reference, action: PlannedAction::Delete, changes: Vec::new() });
        }
    }
    Ok(plan)
}

/// The path of the tenant's recorded spec ([`super::SPEC_ANNOTATION`]) in a plan's field changes.
const RECORDED_SPEC_PATH: &str = "metadata.annotations.moorage.dev/tenant-spec";

/// What applying `objects` (JSON, in apply order, their namespace existing) would do to each,
/// from a forced server-side dry run compared field by field with the live objects. The tenant's
/// recorded spec is not compared: it changes exactly when the spec does, and the fields that
/// change with it are listed on the objects the spec compiles to.
pub(crate) async fn plan_objects(backend: &dyn Backend, objects: &[Value]) -> Result<Vec<PlannedObject>, BackendError> {
    let dry = ApplyOptions { dry_run: true, ..ApplyOptions::force() };
    let results = backend.apply(objects, &dry).await?;
    let mut out = Vec::with_capacity(objects.len());
    for (object, result) in objects.iter().zip(results) {
        let reference = ObjectRef::of(object);
        let Some(kind) = Kind::of_object(object) else { continue };
        let live = backend.get(&kind, reference.namespace.as_deref(), &reference.name).await?;
        out.push(match live {
            None => PlannedObject { object: reference, action: PlannedAction::Create, changes: Vec::new() },
            Some(live) => {
                let changes: Vec<FieldChange> = diff(&clean(&live), &clean(&result.result)).into_iter().filter(|c| c.path != RECORDED_SPEC_PATH).collect();
                let action = if changes.is_empty() { PlannedAction::Unchanged } else { PlannedAction::Update };
                PlannedObject { object: reference, action, changes }
            }
        });
    }
    Ok(out)
}

/// The object without what the server maintains (status, resourceVersion, managedFields, ...).
fn clean(object: &Value) -> Value {
    let mut v = object.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("status");
        if let Some(meta) = m.get_mut("metadata").and_then(Value::as_object_mut) {
            for key in ["resourceVersion", "managedFields", "generation", "uid", "creationTimestamp"] {
                meta.remove(key);
            }
        }
    }
    v
}

/// The fields that differ between `before` and `after`, as leaf paths.
pub(crate) fn diff(before: &Value, after: &Value) -> Vec<FieldChange> {
    let mut out = Vec::new();
    walk(String::new(), Some(before), Some(after), &mut out);
    out
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn walk(path: String, before: Option<&Value>, after: Option<&Value>, out: &mut Vec<FieldChange>) {
    match (before, after) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                walk(join(&path, k), a.get(k), b.get(k), out);
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                walk(format!("{path}[{i}]"), Some(x), Some(y), out);
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(FieldChange { path, before: a.cloned(), after: b.cloned() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_reports_leaf_paths() {
        let a = json!({"spec": {"hard": {"pods": "10", "cpu": "1"}, "list": [1, 2]}});
        let b = json!({"spec": {"hard": {"pods": "20", "cpu": "1"}, "list": [1, 3], "new": true}});
        let paths: Vec<String> = diff(&a, &b).into_iter().map(|c| c.path).collect();
        assert_eq!(paths, ["spec.hard.pods", "spec.list[1]", "spec.new"]);
    }

    #[test]
    fn clean_ignores_server_fields() {
        let a = json!({"metadata": {"name": "x", "resourceVersion": "1", "uid": "u"}, "status": {"phase": "Active"}});
        let b = json!({"metadata": {"name": "x", "resourceVersion": "2"}});
        assert!(diff(&clean(&a), &clean(&b)).is_empty());
    }
}
