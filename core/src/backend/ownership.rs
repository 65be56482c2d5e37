//! Field ownership: which fields moorage applies are owned by another field manager (drift), read
//! from `metadata.managedFields`, and the warning logged when an apply takes them back by force.
//!
//! A `kubectl edit` or a merge patch is an `Update` by its manager; `kubectl scale` or a UI's scale
//! is an `Update` of the `scale` subresource, which owns `spec.replicas`; another tool's server-side
//! apply is an `Apply`. All of them count. Only the `status` subresource is left out: controllers
//! write status, never what moorage applies.

use serde_json::Value;

use super::{Backend, BackendError, Kind, ObjectRef, FIELD_MANAGER};

/// An object where another field manager owns fields moorage applies.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Drift {
    /// The object.
    pub object: ObjectRef,
    /// The other field manager (e.g. `kubectl-edit`, or `kubectl` for `kubectl scale`).
    pub manager: String,
    /// The subresource it wrote through (`scale` for a scale), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subresource: Option<String>,
    /// The fields it owns that moorage applies, dot separated (e.g. `spec.replicas`).
    pub fields: Vec<String>,
}

type Path = Vec<String>;

fn text<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or_default()
}

/// The paths an applied object sets: map keys down to scalars or lists (lists count as one field).
pub(crate) fn applied_paths(v: &Value, prefix: Path, out: &mut Vec<Path>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, child) in m {
                if prefix.is_empty() && matches!(k.as_str(), "apiVersion" | "kind" | "status") {
                    continue;
                }
                if prefix.len() == 1 && prefix[0] == "metadata" && matches!(k.as_str(), "name" | "namespace") {
                    continue;
                }
                let mut p = prefix.clone();
                p.push(k.clone());
                applied_paths(child, p, out);
            }
        }
        _ => out.push(prefix),
    }
}

/// The fields a `fieldsV1` set owns, each cut at its first list item (`k:`, `v:`, `i:`).
pub(crate) fn owned_paths(fields: &Value, prefix: Path, out: &mut Vec<Path>) {
    let Some(m) = fields.as_object() else { return };
    let children: Vec<(&String, &Value)> = m.iter().filter(|(k, _)| k.as_str() != ".").collect();
    if children.is_empty() {
        out.push(prefix);
        return;
    }
    for (k, child) in children {
        match k.strip_prefix("f:") {
            Some(name) => {
                let mut p = prefix.clone();
                p.push(name.to_string());
                owned_paths(child, p, out);
            }
            None => out.push(prefix.clone()),
        }
    }
}

/// The value the schema gives a list's key field that an item leaves out: a port's `protocol` is
/// `TCP`.
pub(crate) fn list_key_default(field: &str) -> Option<Value> {
    (field == "protocol").then(|| Value::from("TCP"))
}

/// Whether `item`, at `index` of its list, is the list item a `managedFields` path element names:
/// `k:{"name":"app"}` (its key fields; a port's `protocol` left out is `TCP`, the schema's
/// default), `v:"x"` (its value) or `i:0` (its index).
pub(crate) fn list_item_matches(element: &str, index: usize, item: &Value) -> bool {
    if let Some(json) = element.strip_prefix("k:") {
        let Ok(Value::Object(wanted)) = serde_json::from_str::<Value>(json) else { return false };
        return wanted.iter().all(|(k, v)| {
            let default = list_key_default(k);
            item.get(k).filter(|found| !found.is_null()).or(default.as_ref()) == Some(v)
        });
    }
    if let Some(json) = element.strip_prefix("v:") {
        return serde_json::from_str::<Value>(json).is_ok_and(|v| &v == item);
    }
    if let Some(i) = element.strip_prefix("i:") {
        return i.parse::<usize>().is_ok_and(|i| i == index);
    }
    false
}

/// The drift of one live object against the object moorage applies (`intent`).
pub fn drift_of(intent: &Value, live: &Value) -> Vec<Drift> {
    let reference = ObjectRef::of(intent);
    let mut mine = Vec::new();
    applied_paths(intent, Vec::new(), &mut mine);
    let mut out = Vec::new();
    for entry in live.pointer("/metadata/managedFields").and_then(Value::as_array).into_iter().flatten() {
        let manager = text(entry, "/manager");
        let subresource = text(entry, "/subresource");
        if manager == FIELD_MANAGER || subresource == "status" {
            continue;
        }
        let mut theirs = Vec::new();
        if let Some(f) = entry.get("fieldsV1") {
            owned_paths(f, Vec::new(), &mut theirs);
        }
        let mut fields: Vec<String> = theirs.iter().filter(|t| mine.iter().any(|m| m.starts_with(t) || t.starts_with(m))).map(|t| t.join(".")).collect();
        fields.sort();
        fields.dedup();
        if !fields.is_empty() {
            out.push(Drift {
                object: reference.clone(),
                manager: manager.to_string(),
                subresource: (!subresource.is_empty()).then(|| subresource.to_string()),
                fields,
            });
        }
    }
    out
}

/// The drift of every object of `objects` (as moorage applies them) that exists in the cluster.
pub async fn drift(backend: &dyn Backend, objects: &[Value]) -> Result<Vec<Drift>, BackendError> {
    let mut out = Vec::new();
    for object in objects {
        let reference = ObjectRef::of(object);
        let Some(kind) = Kind::of_object(object) else { continue };
        if let Some(live) = backend.get(&kind, reference.namespace.as_deref(), &reference.name).await? {
            out.extend(drift_of(object, &live));
        }
    }
    Ok(out)
}

/// Before an apply with force: logs at `warn` level every field of `objects` another manager owns
/// and that the apply will take back, and returns them.
pub async fn warn_forced_takeover(backend: &dyn Backend, objects: &[Value]) -> Result<Vec<Drift>, BackendError> {
    let found = drift(backend, objects).await?;
    for d in &found {
        tracing::warn!(object = %d.object, manager = %d.manager, subresource = d.subresource.as_deref().unwrap_or(""), fields = %d.fields.join(","), "apply with force takes these fields back from another field manager");
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn drift_paths_overlap_on_list_prefixes() {
        let mut theirs = Vec::new();
        owned_paths(&json!({"f:spec": {"f:hard": {"f:pods": {}}, "f:containers": {"k:{\"name\":\"a\"}": {".": {}, "f:image": {}}}}}), Vec::new(), &mut theirs);
        assert!(theirs.contains(&vec!["spec".to_string(), "hard".into(), "pods".into()]));
        assert!(theirs.contains(&vec!["spec".to_string(), "containers".into()]));
        let mut mine = Vec::new();
        applied_paths(&json!({"apiVersion": "v1", "metadata": {"name": "x", "labels": {"a": "b"}}, "spec": {"hard": {"pods": "3"}}}), Vec::new(), &mut mine);
        assert_eq!(mine, vec![vec!["metadata".to_string(), "labels".into(), "a".into()], vec!["spec".to_string(), "hard".into(), "pods".into()]]);
    }

    #[test]
    fn a_scale_counts_and_status_does_not() {
        let intent = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "acme"}, "spec": {"replicas": 3}});
        let live = json!({"metadata": {"name": "web", "managedFields": [
            {"manager": "moorage", "operation": "Apply", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
            {"manager": "kubectl", "operation": "Update", "subresource": "scale", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
            {"manager": "kube-controller-manager", "operation": "Update", "subresource": "status", "fieldsV1": {"f:spec": {"f:replicas": {}}}},
            {"manager": "rancher", "operation": "Update", "fieldsV1": {"f:metadata": {"f:labels": {"f:other": {}}}}}
        ]}});
        let found = drift_of(&intent, &live);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            (found[0].manager.as_str(), found[0].subresource.as_deref(), found[0].fields.clone()),
            ("kubectl", Some("scale"), vec!["spec.replicas".to_string()])
        );
        assert_eq!(found[0].object.name, "web");
    }
}
