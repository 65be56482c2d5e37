//! Apply on a cluster: server-side apply of many objects, rank after rank, with bounded parallelism.
//!
//! Objects are grouped by apply rank (the position of their kind in moorage's compile order:
//! Namespace, ResourceQuota, LimitRange, ServiceAccount, ..., other kinds last). Groups go one
//! after the other; within a group up to [`super::ClusterOptions::concurrency`] objects are in
//! flight. The first error stops the apply (objects in flight are abandoned) and is returned.
//!
//! What changed is told by the server: a `201 Created` answer (or no object before) is
//! [`Change::Created`]; an unchanged resourceVersion is [`Change::Unchanged`]. The object is read
//! before the apply to know its resourceVersion, except in namespaces this same apply has just
//! created, where nothing can exist yet.

use std::collections::{HashMap, HashSet};

use futures_util::StreamExt;
use kube::api::{Patch, PatchParams, ValidationDirective};
use serde_json::Value;

use super::{complete, parse_body, url_path, ClusterBackend};
use crate::backend::{ApplyOptions, Applied, Backend, BackendError, Cause, Change, ConflictPolicy, ObjectRef};

/// The rank of every object: its kind's position in the compile order, other kinds after all of them.
fn ranks(objects: &[Value]) -> Vec<usize> {
    let mut by_kind: HashMap<(String, String), usize> = HashMap::new();
    objects
        .iter()
        .map(|object| {
            let text = |key: &str| object.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
            let key = (text("apiVersion"), text("kind"));
            *by_kind.entry(key).or_insert_with_key(|(api_version, kind)| rank_of(api_version, kind))
        })
        .collect()
}

/// The apply rank of a kind (`usize::MAX` for kinds moorage does not compile).
pub(crate) fn rank_of(api_version: &str, kind: &str) -> usize {
    let skeleton = serde_json::json!({ "apiVersion": api_version, "kind": kind, "metadata": { "name": "rank" } });
    crate::compile::Object::from_json(skeleton).ok().filter(|o| o.api_version() == api_version).map(|o| o.apply_rank()).unwrap_or(usize::MAX)
}

/// Applies `objects` rank after rank; returns one [`Applied`] per object, in the given order.
pub(super) async fn apply_all(backend: &ClusterBackend, objects: &[Value], options: &ApplyOptions) -> Result<Vec<Applied>, BackendError> {
    if options.conflicts == ConflictPolicy::Force {
        tracing::warn!(objects = objects.len(), manager = %options.field_manager, "server-side apply with force: fields owned by other managers are taken over");
    }
    let ranks = ranks(objects);
    let mut order: Vec<usize> = (0..objects.len()).collect();
    order.sort_by_key(|&i| ranks[i]);
    let mut results: Vec<Option<Applied>> = vec![None; objects.len()];
    let mut fresh_namespaces: HashSet<String> = HashSet::new();
    let concurrency = backend.options.concurrency.max(1);
    for group in order.chunk_by(|a, b| ranks[*a] == ranks[*b]) {
        let fresh = &fresh_namespaces;
        let mut in_flight = futures_util::stream::iter(group.iter().copied().map(|i| {
            let object = &objects[i];
            let in_fresh_namespace = object.pointer("/metadata/namespace").and_then(Value::as_str).is_some_and(|ns| fresh.contains(ns));
            async move { (i, apply_one(backend, object, options, in_fresh_namespace).await) }
        }))
        .buffer_unordered(concurrency);
        let mut created = Vec::new();
        while let Some((i, outcome)) = in_flight.next().await {
            let applied = outcome?;
            if applied.object.kind == "Namespace" && applied.change == Change::Created && !options.dry_run {
                created.push(applied.object.name.clone());
            }
            results[i] = Some(applied);
        }
        drop(in_flight);
        fresh_namespaces.extend(created);
    }
    Ok(results.into_iter().flatten().collect())
}

fn invalid(object: &ObjectRef, field: &str, message: &str) -> BackendError {
    BackendError::Invalid { object: object.clone(), causes: vec![Cause { field: field.into(), message: message.into() }] }
}

/// Applies one object. `in_fresh_namespace`: its namespace was created by this apply, so the
/// object cannot exist yet and is not read first.
async fn apply_one(backend: &ClusterBackend, object: &Value, options: &ApplyOptions, in_fresh_namespace: bool) -> Result<Applied, BackendError> {
    let reference = ObjectRef::of(object);
    let (Some(api_version), Some(kind_name)) = (object.get("apiVersion").and_then(Value::as_str), object.get("kind").and_then(Value::as_str)) else {
        return Err(invalid(&reference, "apiVersion", "an object needs apiVersion and kind"));
    };
    let kind = backend.resolve_kind(api_version, kind_name).await?;
    if reference.name.is_empty() {
        return Err(invalid(&reference, "metadata.name", "Required value"));
    }
    let namespace = match (kind.namespaced, reference.namespace.as_deref()) {
        (true, Some(ns)) if !ns.is_empty() => Some(ns),
        (true, _) => return Err(invalid(&reference, "metadata.namespace", "Required value: a namespaced object needs its namespace")),
        (false, _) => None,
    };
    let before = if in_fresh_namespace { None } else { backend.get(&kind, namespace, &reference.name).await? };

    let mut params = PatchParams::apply(&options.field_manager);
    params.force = options.conflicts == ConflictPolicy::Force;
    params.dry_run = options.dry_run;
    if backend.options.strict_field_validation {
        params.field_validation = Some(ValidationDirective::Strict);
    }
    let request = kube::core::Request::new(url_path(&kind, namespace))
        .patch(&reference.name, &params, &Patch::Apply(object))
        .map_err(|e| invalid(&reference, "", &format!("cannot build the apply request: {e}")))?;
    let (status, body, _) = backend.send(&request, Some(&reference), Some(&kind)).await?;
    let result = complete(&kind, parse_body(Some(&reference), &body)?);
    let change = change(status, before.as_ref(), &result, options.dry_run);
    tracing::debug!(object = %reference, ?change, "applied");
    Ok(Applied { object: reference, change, result })
}

/// What an apply did, from the answer's status, the object before and the object after.
pub(crate) fn change(status: http::StatusCode, before: Option<&Value>, after: &Value, dry_run: bool) -> Change {
    let Some(before) = before else { return Change::Created };
    if status == http::StatusCode::CREATED {
        return Change::Created;
    }
    let unchanged = if dry_run {
        // A dry run writes nothing, so the resourceVersion never moves: compare the objects.
        comparable(before) == comparable(after)
    } else {
        let rv = |v: &Value| v.pointer("/metadata/resourceVersion").and_then(Value::as_str).map(str::to_string);
        rv(before).is_some() && rv(before) == rv(after)
    };
    if unchanged {
        Change::Unchanged
    } else {
        Change::Updated
    }
}

/// An object without the metadata that moves without a change (managedFields times, resourceVersion).
fn comparable(object: &Value) -> Value {
    let mut object = object.clone();
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
        meta.remove("resourceVersion");
    }
    object
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::backend::Kind;

    #[test]
    fn ranks_follow_the_compile_order() {
        let objects = vec![
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}}),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}}),
            json!({"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": {"name": "m"}}),
            json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q"}}),
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "e"}}),
        ];
        let r = ranks(&objects);
        assert_eq!(r[1], 0);
        assert_eq!(r[3], 1);
        assert!(r[0] > r[3]);
        assert_eq!(r[0], r[4]);
        assert_eq!(r[2], usize::MAX);
        // a kind with a wrong apiVersion is not taken for a built-in one
        assert_eq!(rank_of("v2", "Namespace"), usize::MAX);
    }

    #[test]
    fn change_is_read_from_status_and_resource_version() {
        let at = |rv: &str| json!({"metadata": {"name": "x", "resourceVersion": rv, "managedFields": [{"time": rv}]}});
        assert_eq!(change(http::StatusCode::CREATED, None, &at("1"), false), Change::Created);
        assert_eq!(change(http::StatusCode::OK, None, &at("1"), false), Change::Created);
        assert_eq!(change(http::StatusCode::CREATED, Some(&at("1")), &at("2"), false), Change::Created);
        assert_eq!(change(http::StatusCode::OK, Some(&at("1")), &at("1"), false), Change::Unchanged);
        assert_eq!(change(http::StatusCode::OK, Some(&at("1")), &at("2"), false), Change::Updated);
        // dry run: the objects are compared, without their resourceVersion and managedFields
        assert_eq!(change(http::StatusCode::OK, Some(&at("1")), &at("2"), true), Change::Unchanged);
        let mut changed = at("1");
        changed["spec"] = json!({"replicas": 3});
        assert_eq!(change(http::StatusCode::OK, Some(&at("1")), &changed, true), Change::Updated);
    }

    #[test]
    fn known_kinds_are_resolved_without_discovery() {
        assert!(crate::backend::Kind::of_object(&json!({"apiVersion": "v1", "kind": "ConfigMap"})).is_some_and(|k: Kind| k.namespaced && k.plural == "configmaps"));
    }
}
