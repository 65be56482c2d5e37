//! Operations on a live tenant: suspend/resume (scale to zero and back) and delete (reverse order, volumes kept).
//!
//! Suspend and resume re-apply, as the `moorage` field manager, exactly the fields moorage already owns on each
//! Deployment (extracted from its `managedFields`, as client-go's `Extract*` functions do) with
//! `spec.replicas` changed: applying a partial object would make server-side apply drop every other
//! field moorage owns.

use serde_json::{Map, Value};

use super::{namespace_kind, tenant_objects, tenant_selector, text, TenantError};
use crate::backend::ownership::list_item_matches;
use crate::backend::{ApplyOptions, Backend, Kind, ObjectRef, Propagation, Selector, FIELD_MANAGER};
use crate::labels;
use crate::model::tenant::Tenant;

/// Annotation on a suspended Deployment: its replicas before [`suspend`].
pub const SUSPENDED_REPLICAS: &str = "moorage.dev/suspended-replicas";

fn deployment_kind() -> Kind {
    Kind::of::<k8s_openapi::api::apps::v1::Deployment>()
}

/// The part of `live` that a `fieldsV1` set designates.
pub(crate) fn extract(live: &Value, fields: &Value) -> Value {
    let Some(set) = fields.as_object() else { return live.clone() };
    let children: Vec<(&String, &Value)> = set.iter().filter(|(k, _)| k.as_str() != ".").collect();
    if children.is_empty() {
        return live.clone();
    }
    match live {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, sub) in &children {
                if let Some(name) = k.strip_prefix("f:") {
                    if let Some(child) = m.get(name) {
                        out.insert(name.to_string(), extract(child, sub));
                    }
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            let mut out = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let matched = children.iter().find(|(k, _)| list_item_matches(k, i, item));
                if let Some((k, sub)) = matched {
                    if k.starts_with("v:") {
                        out.push(item.clone());
                    } else {
                        out.push(extract(item, sub));
                    }
                }
            }
            Value::Array(out)
        }
        other => other.clone(),
    }
}

/// What moorage applied on `live`: its own fields, plus apiVersion, kind, name and namespace.
fn moorage_config(live: &Value) -> Value {
    let entries = live.pointer("/metadata/managedFields").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut config =
        match entries.iter().find(|e| text(e, "/manager") == FIELD_MANAGER && text(e, "/operation") == "Apply" && text(e, "/subresource").is_empty()) {
            Some(entry) => extract(live, entry.get("fieldsV1").unwrap_or(&Value::Null)),
            None => Value::Object(Map::new()),
        };
    if !config.is_object() {
        config = Value::Object(Map::new());
    }
    if let Some(m) = config.as_object_mut() {
        m.insert("apiVersion".into(), Value::from(text(live, "/apiVersion")));
        m.insert("kind".into(), Value::from(text(live, "/kind")));
        let meta = m.entry("metadata").or_insert_with(|| Value::Object(Map::new()));
        if let Some(meta) = meta.as_object_mut() {
            meta.insert("name".into(), Value::from(text(live, "/metadata/name")));
            meta.insert("namespace".into(), Value::from(text(live, "/metadata/namespace")));
        }
    }
    config
}

fn set_replicas(config: &mut Value, replicas: i64) {
    if let Some(m) = config.as_object_mut() {
        let spec = m.entry("spec").or_insert_with(|| Value::Object(Map::new()));
        if let Some(spec) = spec.as_object_mut() {
            spec.insert("replicas".into(), Value::from(replicas));
        }
    }
}

fn annotations(config: &mut Value) -> Option<&mut Map<String, Value>> {
    let meta = config.get_mut("metadata")?.as_object_mut()?;
    meta.entry("annotations").or_insert_with(|| Value::Object(Map::new())).as_object_mut()
}

async fn deployments(backend: &dyn Backend, tenant: &Tenant) -> Result<Vec<Value>, TenantError> {
    Ok(backend.list(&deployment_kind(), Some(tenant.namespace()), &Selector::labels(tenant_selector(tenant))).await?)
}

/// Scales every Deployment of the tenant to zero, recording its replicas in [`SUSPENDED_REPLICAS`].
/// Already suspended Deployments are left alone. Returns the names of the Deployments it scaled.
pub async fn suspend(backend: &dyn Backend, tenant: &Tenant) -> Result<Vec<String>, TenantError> {
    let mut scaled = Vec::new();
    for live in deployments(backend, tenant).await? {
        if live.pointer("/metadata/annotations").and_then(|a| a.get(SUSPENDED_REPLICAS)).is_some() {
            continue;
        }
        let replicas = live.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
        let mut config = moorage_config(&live);
        set_replicas(&mut config, 0);
        if let Some(a) = annotations(&mut config) {
            a.insert(SUSPENDED_REPLICAS.into(), Value::from(replicas.to_string()));
        }
        backend.apply(&[config], &ApplyOptions::default()).await?;
        scaled.push(text(&live, "/metadata/name").to_string());
    }
    Ok(scaled)
}

/// Restores the replicas [`suspend`] recorded and removes the annotation. Returns the names of the
/// Deployments it scaled back.
pub async fn resume(backend: &dyn Backend, tenant: &Tenant) -> Result<Vec<String>, TenantError> {
    let mut restored = Vec::new();
    for live in deployments(backend, tenant).await? {
        let Some(previous) = live.pointer("/metadata/annotations").and_then(|a| a.get(SUSPENDED_REPLICAS)).and_then(Value::as_str) else { continue };
        let replicas = previous.parse::<i64>().unwrap_or(1).max(0);
        let mut config = moorage_config(&live);
        set_replicas(&mut config, replicas);
        if let Some(a) = annotations(&mut config) {
            a.remove(SUSPENDED_REPLICAS);
        }
        if let Some(meta) = config.get_mut("metadata").and_then(Value::as_object_mut) {
            if meta.get("annotations").and_then(Value::as_object).is_some_and(Map::is_empty) {
                meta.remove("annotations");
            }
        }
        backend.apply(&[config], &ApplyOptions::default()).await?;
        restored.push(text(&live, "/metadata/name").to_string());
    }
    Ok(restored)
}

/// Options of [`delete`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeleteOptions {
    /// Delete a protected tenant (its Namespace is annotated `moorage.dev/protected: "true"`).
    pub confirm: bool,
    /// Delete the volumes annotated `moorage.dev/keep` too, and with them the Namespace.
    pub purge: bool,
}

/// What [`delete`] did.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
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
    // A tenant behind a Gateway has HTTPRoutes (their CRDs exist only where Gateway API is installed).
    let routes = tenant.spec().gateway.is_some().then(Kind::of::<crate::compile::HTTPRoute>);
    for kind in routes.into_iter().chain(release_kinds()) {
        for object in backend.list(&kind, Some(ns), &selector).await? {
            let name = text(&object, "/metadata/name");
            if backend.delete(&kind, Some(ns), name, Propagation::Background).await? {
                report.deleted.push(ObjectRef::new(&kind, Some(ns), name));
            }
        }
    }
    let pvc_kind = Kind::of::<k8s_openapi::api::core::v1::PersistentVolumeClaim>();
    let is_kept =
        |object: &Value| !options.purge && object.pointer("/metadata/annotations").and_then(|a| a.get(labels::KEEP)).and_then(Value::as_str) == Some("true");
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn extract_follows_keyed_list_items() {
        let live = json!({"spec": {"replicas": 3, "paused": false, "template": {"spec": {"containers": [{"name": "a", "image": "x", "tty": false}, {"name": "b", "image": "y"}]}}}});
        let fields =
            json!({"f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"a\"}": {".": {}, "f:name": {}, "f:image": {}}}}}}});
        assert_eq!(extract(&live, &fields), json!({"spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "a", "image": "x"}]}}}}));
    }
}
