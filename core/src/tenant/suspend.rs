//! Suspend and resume: scale every release of a tenant to zero and back, data and configuration untouched.
//!
//! Both re-apply, as the `moorage` field manager, exactly the fields moorage already owns on each
//! Deployment (extracted from its `managedFields`, as client-go's `Extract*` functions do) with
//! `spec.replicas` changed: applying a partial object would make server-side apply drop every other
//! field moorage owns.

use serde_json::{Map, Value};

use super::{tenant_selector, text, TenantError};
use crate::backend::{ApplyOptions, Backend, Kind, Selector, FIELD_MANAGER};
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
                let matched = children.iter().find(|(k, _)| item_matches(k, i, item));
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

fn item_matches(key: &str, index: usize, item: &Value) -> bool {
    if let Some(json) = key.strip_prefix("k:") {
        let Ok(Value::Object(wanted)) = serde_json::from_str::<Value>(json) else { return false };
        return wanted.iter().all(|(k, v)| item.get(k) == Some(v));
    }
    if let Some(json) = key.strip_prefix("v:") {
        return serde_json::from_str::<Value>(json).is_ok_and(|v| &v == item);
    }
    if let Some(i) = key.strip_prefix("i:") {
        return i.parse::<usize>().is_ok_and(|i| i == index);
    }
    false
}

/// What moorage applied on `live`: its own fields, plus apiVersion, kind, name and namespace.
fn moorage_config(live: &Value) -> Value {
    let entries = live.pointer("/metadata/managedFields").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut config = match entries.iter().find(|e| text(e, "/manager") == FIELD_MANAGER && text(e, "/operation") == "Apply" && text(e, "/subresource").is_empty()) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn extract_follows_keyed_list_items() {
        let live = json!({"spec": {"replicas": 3, "paused": false, "template": {"spec": {"containers": [{"name": "a", "image": "x", "tty": false}, {"name": "b", "image": "y"}]}}}});
        let fields = json!({"f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"a\"}": {".": {}, "f:name": {}, "f:image": {}}}}}}});
        assert_eq!(extract(&live, &fields), json!({"spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "a", "image": "x"}]}}}}));
    }
}
