//! Apply on a cluster: server-side apply of many objects, rank after rank, with bounded parallelism.
//!
//! Objects are grouped by apply rank (the position of their kind in moorage's compile order:
//! Namespace, ResourceQuota, LimitRange, ServiceAccount, ..., other kinds last). Groups go one
//! after the other; within a group up to [`super::ClusterOptions::concurrency`] objects are in
//! flight. The first error stops the apply (objects in flight are abandoned) and is returned.
//!
//! What changed is told by the server: a `201 Created` answer (or no object before) is
//! [`Change::Created`]; an unchanged resourceVersion, or unchanged values of every applied field
//! (when a controller wrote status meanwhile), is [`Change::Unchanged`]. The object is read before
//! the apply to compare, except in namespaces this same apply has just created, where nothing can
//! exist yet.

use std::collections::{HashMap, HashSet};

use futures_util::StreamExt;
use kube::api::{Patch, PatchParams, ValidationDirective};
use serde_json::Value;

use super::{complete, parse_body, url_path, ClusterBackend};
use crate::backend::{Applied, ApplyOptions, Backend, BackendError, Cause, Change, ConflictPolicy, ObjectRef};

/// The `fieldValidation` of every apply: `Ignore`, which only skips the API server's second,
/// strict parse of the body. A server-side apply refuses fields the schema does not declare
/// whatever this says (`failed to create typed patch object ... field not declared in schema`,
/// for built-in kinds and custom resources alike: `tests/tests/cluster_errors.rs`), and all `Strict`
/// or `Warn` add is a check for keys repeated in one map, which a body serialized from a
/// `serde_json::Value` cannot have. That second parse was 5 to 7% of kube-apiserver's CPU samples
/// while moorage re-applied 150 tenants (docs/benchmarks.md, "P2").
pub const APPLY_FIELD_VALIDATION: ValidationDirective = ValidationDirective::Ignore;

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
    params.field_validation = Some(APPLY_FIELD_VALIDATION);
    let request = kube::core::Request::new(url_path(&kind, namespace))
        .patch(&reference.name, &params, &Patch::Apply(object))
        .map_err(|e| invalid(&reference, "", &format!("cannot build the apply request: {e}")))?;
    let (status, body, _) = backend.send(&request, Some(&reference), Some(&kind)).await?;
    let result = complete(&kind, parse_body(Some(&reference), &body)?);
    let change = change(status, before.as_ref(), &result, object, &options.field_manager, options.dry_run);
    tracing::debug!(object = %reference, ?change, "applied");
    Ok(Applied { object: reference, change, result })
}

/// What an apply did, from the answer's status, the object before, the object after and what
/// was applied (`intent`, owned by `manager`).
///
/// `Unchanged` when the resourceVersion did not move, or when it moved for someone else's reasons
/// (a controller writing status or its own annotations between our read and our apply): every
/// field moorage applies has the same value before and after, and moorage owns the same set of
/// fields. A dry run never moves the resourceVersion, so only the second test applies to it.
pub(crate) fn change(status: http::StatusCode, before: Option<&Value>, after: &Value, intent: &Value, manager: &str, dry_run: bool) -> Change {
    let Some(before) = before else { return Change::Created };
    if status == http::StatusCode::CREATED {
        return Change::Created;
    }
    let rv = |v: &Value| v.pointer("/metadata/resourceVersion").and_then(Value::as_str).map(str::to_string);
    if !dry_run && releases(intent, before) {
        // An apply that removes the last finalizers of an object marked for deletion deletes it,
        // and the answer keeps the resourceVersion it had.
        return Change::Updated;
    }
    if !dry_run && rv(before).is_some() && rv(before) == rv(after) {
        return Change::Unchanged;
    }
    let same_values = project(intent, before) == project(intent, after);
    let same_ownership = owned_fields(before, manager) == owned_fields(after, manager);
    if same_values && same_ownership {
        Change::Unchanged
    } else {
        Change::Updated
    }
}

/// Whether `intent` drops finalizers of `before`, an object marked for deletion.
fn releases(intent: &Value, before: &Value) -> bool {
    let Some(kept) = intent.pointer("/metadata/finalizers").and_then(Value::as_array) else { return false };
    let held = before.pointer("/metadata/finalizers").and_then(Value::as_array);
    crate::backend::being_deleted(before) && held.is_some_and(|held| held.iter().any(|f| !kept.contains(f)))
}

/// The parts of `actual` at the paths `intent` sets (whole values below arrays and scalars).
fn project(intent: &Value, actual: &Value) -> Value {
    match (intent, actual) {
        (Value::Object(wanted), Value::Object(actual)) => {
            Value::Object(wanted.iter().map(|(k, w)| (k.clone(), actual.get(k).map(|a| project(w, a)).unwrap_or(Value::Null))).collect())
        }
        (_, actual) => actual.clone(),
    }
}

/// The fields `manager` owns by apply (its `managedFields` entry), if any.
fn owned_fields<'a>(object: &'a Value, manager: &str) -> Option<&'a Value> {
    object
        .pointer("/metadata/managedFields")?
        .as_array()?
        .iter()
        .find(|e| {
            e.get("manager").and_then(Value::as_str) == Some(manager)
                && e.get("operation").and_then(Value::as_str) == Some("Apply")
                && e.get("subresource").is_none()
        })?
        .get("fieldsV1")
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
    fn change_is_read_from_status_resource_version_and_owned_values() {
        let intent = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "labels": {"a": "1"}}, "data": {"k": "v"}});
        let fields = json!({"f:data": {"f:k": {}}});
        let at = |rv: &str, value: &str, fields: &Value| {
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "labels": {"a": "1"}, "resourceVersion": rv,
                "managedFields": [{"manager": "moorage", "operation": "Apply", "time": rv, "fieldsV1": fields}]}, "data": {"k": value}})
        };
        let c = |status: u16, before: Option<&Value>, after: &Value, dry_run: bool| {
            change(http::StatusCode::from_u16(status).expect("status"), before, after, &intent, "moorage", dry_run)
        };
        assert_eq!(c(201, None, &at("1", "v", &fields), false), Change::Created);
        assert_eq!(c(200, None, &at("1", "v", &fields), false), Change::Created);
        assert_eq!(c(201, Some(&at("1", "v", &fields)), &at("2", "v", &fields), false), Change::Created);
        assert_eq!(c(200, Some(&at("1", "v", &fields)), &at("1", "v", &fields), false), Change::Unchanged);
        assert_eq!(c(200, Some(&at("1", "old", &fields)), &at("2", "v", &fields), false), Change::Updated);
        // someone else wrote status or their own fields meanwhile: not our change
        let mut with_status = at("2", "v", &fields);
        with_status["status"] = json!({"observed": true});
        with_status["metadata"]["annotations"] = json!({"controller/revision": "1"});
        assert_eq!(c(200, Some(&at("1", "v", &fields)), &with_status, false), Change::Unchanged);
        // we dropped a field we owned: the set of fields we own shrank
        assert_eq!(c(200, Some(&at("1", "v", &json!({"f:data": {"f:k": {}, "f:gone": {}}}))), &at("2", "v", &fields), false), Change::Updated);
        // dry run: the resourceVersion never moves, the values tell
        assert_eq!(c(200, Some(&at("1", "v", &fields)), &at("1", "v", &fields), true), Change::Unchanged);
        assert_eq!(c(200, Some(&at("1", "old", &fields)), &at("1", "v", &fields), true), Change::Updated);
        // an apply that drops the last finalizer of an object marked for deletion deletes it; the
        // answer is the object as it was
        let held = |finalizers: Value, deleting: bool| {
            let mut o = at("1", "v", &fields);
            o["metadata"]["finalizers"] = finalizers;
            if deleting {
                o["metadata"]["deletionTimestamp"] = json!("2026-11-27T08:10:51Z");
            }
            o
        };
        let release = held(json!([]), false);
        let marked = held(json!(["example.com/hold"]), true);
        for answer in [&marked, &held(json!([]), true)] {
            assert_eq!(change(http::StatusCode::OK, Some(&marked), answer, &release, "moorage", false), Change::Updated);
        }
        let kept = change(
            http::StatusCode::OK,
            Some(&held(json!(["example.com/hold"]), false)),
            &held(json!(["example.com/hold"]), false),
            &release,
            "moorage",
            false,
        );
        assert_eq!(kept, Change::Unchanged, "not marked for deletion: an unchanged resourceVersion is no change");
    }

    #[test]
    fn known_kinds_are_resolved_without_discovery() {
        assert!(
            crate::backend::Kind::of_object(&json!({"apiVersion": "v1", "kind": "ConfigMap"})).is_some_and(|k: Kind| k.namespaced && k.plural == "configmaps")
        );
    }
}
