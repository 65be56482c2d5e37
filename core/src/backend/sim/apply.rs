//! Server-side apply: field ownership per manager, conflicts, removal of dropped fields, defaulting.
//!
//! Ownership is tracked per field, as `managedFields` records it: maps key by key (but for the
//! maps the API schema marks atomic), keyed lists and sets item by item, other lists whole (the
//! paths and the merge are in [`super::fields`]).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::admission;
use super::defaults;
use super::fields;
use super::quantities;
use super::state::{self, State};
use super::util::{self, text, Path};
use super::validation::{check_server_set_metadata, immutable_problems, invalid, metadata_problems, spec_problems, stored_spec_problems, validate_numbers};
use crate::backend::{being_deleted, Applied, ApplyOptions, BackendError, Change, ConflictPolicy, Kind, ObjectRef};

/// One managedFields entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Manager {
    name: String,
    time: String,
    api_version: String,
    fields: BTreeSet<Path>,
}

/// The apply managers recorded in an object's `metadata.managedFields`.
pub(crate) fn read_managers(object: &Value) -> Vec<Manager> {
    let entries = object.pointer("/metadata/managedFields").and_then(Value::as_array).cloned().unwrap_or_default();
    entries
        .iter()
        .map(|e| {
            let mut fields = BTreeSet::new();
            if let Some(f) = e.get("fieldsV1") {
                fields::from_fields_v1(f, Vec::new(), &mut fields);
            }
            Manager { name: text(e, "/manager").into(), time: text(e, "/time").into(), api_version: text(e, "/apiVersion").into(), fields }
        })
        .collect()
}

fn write_managers(object: &mut Value, managers: &[Manager]) {
    let entries: Vec<Value> = managers
        .iter()
        .filter(|m| !m.fields.is_empty())
        .map(|m| {
            json!({"manager": m.name, "operation": "Apply", "apiVersion": m.api_version, "time": m.time, "fieldsType": "FieldsV1", "fieldsV1": fields::to_fields_v1(&m.fields)})
        })
        .collect();
    let meta = util::map_at(object, &["metadata"]);
    if entries.is_empty() {
        meta.remove("managedFields");
    } else {
        meta.insert("managedFields".into(), Value::Array(entries));
    }
}

/// Whether an update from `old` to `new` bumps `metadata.generation` (of a kind that keeps one,
/// [`util::tracks_generation`]), as the kind's registry strategy decides: a change outside
/// `metadata` and `status`; for a Deployment also of its annotations (its controller copies them to
/// its ReplicaSets), for an EndpointSlice also of its labels.
fn bumps_generation(kind: &str, new: &Value, old: &Value) -> bool {
    let outside_metadata = |object: &Value| {
        let mut v = object.clone();
        if let Some(m) = v.as_object_mut() {
            m.remove("metadata");
            m.remove("status");
        }
        v
    };
    let tracked_metadata = match kind {
        "Deployment" => Some("annotations"),
        "EndpointSlice" => Some("labels"),
        _ => None,
    };
    tracked_metadata.is_some_and(|field| new["metadata"].get(field) != old["metadata"].get(field)) || outside_metadata(new) != outside_metadata(old)
}

/// Checks that an object can be addressed: a kind the cluster serves, a valid name, an existing
/// namespace. Returns the kind, the namespace (`""` when cluster-scoped) and the name.
pub(crate) fn address(state: &State, object: &Value) -> Result<(Kind, String, String), BackendError> {
    let reference = ObjectRef::of(object);
    let api_version = text(object, "/apiVersion");
    let kind_name = text(object, "/kind");
    if api_version.is_empty() || kind_name.is_empty() {
        let field = if api_version.is_empty() { "apiVersion" } else { "kind" };
        return Err(invalid(reference, field, "Required value: must be set".into()));
    }
    let Some(kind) = util::served_in(state, api_version, kind_name) else {
        return Err(super::missing_kind(api_version, kind_name));
    };
    let name = text(object, "/metadata/name").to_string();
    if name.is_empty() {
        return Err(invalid(reference, "metadata.name", "Required value".into()));
    }
    if let Some(problem) = util::name_problem(&kind.kind, &name) {
        return Err(invalid(reference, "metadata.name", problem));
    }
    let namespace = if kind.namespaced {
        let ns = text(object, "/metadata/namespace");
        let ns = if ns.is_empty() { "default" } else { ns };
        if !state.contains_key(&state::key("v1", "Namespace", "", ns)) {
            return Err(BackendError::NotFound { object: ObjectRef { kind: "Namespace".into(), namespace: None, name: ns.into() } });
        }
        ns.to_string()
    } else {
        String::new()
    };
    Ok((kind, namespace, name))
}

/// Applies one object as `options.field_manager`. Nothing is stored on a dry run.
pub(crate) fn apply_object(state: &mut State, object: &Value, options: &ApplyOptions) -> Result<Applied, BackendError> {
    let (kind, namespace, name) = address(state, object)?;
    let manager_problem = match options.field_manager.chars().count() {
        0 => Some("Required value: is required for apply patch"),
        n if n > 128 => Some("Too long: may not be more than 128 bytes"),
        _ => None,
    };
    if let Some(problem) = manager_problem {
        return Err(invalid(ObjectRef::of(object), "fieldManager", problem.into()));
    }
    let ns_opt = (!namespace.is_empty()).then_some(namespace.as_str());
    let reference = ObjectRef::new(&kind, ns_opt, &name);
    let key = state::key(&kind.api_version, &kind.kind, &namespace, &name);
    let existing = state.get_key(&key);
    check_server_set_metadata(object, existing.as_ref(), &reference)?;
    if existing.is_none() && !namespace.is_empty() {
        let ns_object = state.get_key(&state::key("v1", "Namespace", "", &namespace));
        if ns_object.is_some_and(|n| text(&n, "/status/phase") == "Terminating") {
            return Err(BackendError::Forbidden {
                object: reference,
                message: format!(
                    "{} {:?} is forbidden: unable to create new content in namespace {namespace} because it is being terminated",
                    kind.plural, name
                ),
            });
        }
    }

    // The API server decodes the object first: its quantities are compared and stored canonical.
    let mut decoded = object.clone();
    quantities::canonicalize(&kind.kind, &mut decoded);
    let object = &decoded;
    let manager = options.field_manager.clone();
    let new_paths = fields::leaf_paths(object);
    let mut managers = existing.as_ref().map(read_managers).unwrap_or_default();
    let base = existing.clone().unwrap_or_else(|| json!({}));

    // Conflicts: another manager owns an overlapping field with a different value.
    let mut conflicts: Vec<(Path, String)> = Vec::new();
    for other in managers.iter().filter(|m| m.name != manager) {
        for theirs in &other.fields {
            for mine in new_paths.iter().filter(|p| fields::overlaps(p, theirs)) {
                let shorter = if mine.len() <= theirs.len() { mine } else { theirs };
                if fields::compares_values(shorter) && !same_value(fields::get(object, shorter), fields::get(&base, shorter)) {
                    conflicts.push((theirs.clone(), other.name.clone()));
                }
            }
        }
    }
    conflicts.sort();
    conflicts.dedup();
    if let Some((field, owner)) = conflicts.first() {
        match options.conflicts {
            ConflictPolicy::Fail => {
                return Err(BackendError::Conflict { object: reference, field: fields::display(field), manager: owner.clone() });
            }
            ConflictPolicy::Force => {
                for (field, owner) in &conflicts {
                    let shown = fields::display(field);
                    tracing::warn!(object = %reference, field = %shown, previous_manager = %owner, manager = %manager, "forced apply takes ownership of a field");
                    if let Some(m) = managers.iter_mut().find(|m| &m.name == owner) {
                        m.fields.remove(field);
                    }
                }
            }
        }
    }

    // Merge, then drop what this manager owned and no longer sets (unless someone else owns it).
    let mut merged = fields::merge(&kind.kind, Some(&base), &fields::owned_part(object), &mut Vec::new());
    let previous: BTreeSet<Path> = managers.iter().find(|m| m.name == manager).map(|m| m.fields.clone()).unwrap_or_default();
    for gone in previous.difference(&new_paths).filter(|p| !fields::is_key_field(p)) {
        let shared = managers.iter().filter(|m| m.name != manager).any(|m| m.fields.iter().any(|f| fields::overlaps(f, gone)));
        if !shared {
            fields::remove(&mut merged, gone);
        }
    }
    if let Some(m) = merged.as_object_mut() {
        m.insert("apiVersion".into(), Value::from(kind.api_version.clone()));
        m.insert("kind".into(), Value::from(kind.kind.clone()));
    }
    {
        let meta = util::map_at(&mut merged, &["metadata"]);
        meta.insert("name".into(), Value::from(name.clone()));
        if !namespace.is_empty() {
            meta.insert("namespace".into(), Value::from(namespace.clone()));
        }
    }

    // Ownership after the apply.
    let now = state.now();
    let before_sets: BTreeMap<String, BTreeSet<Path>> =
        existing.as_ref().map(read_managers).unwrap_or_default().into_iter().map(|m| (m.name, m.fields)).collect();
    match managers.iter_mut().find(|m| m.name == manager) {
        Some(m) => m.fields = new_paths.clone(),
        None => managers.push(Manager { name: manager.clone(), time: now.clone(), api_version: kind.api_version.clone(), fields: new_paths.clone() }),
    }
    managers.retain(|m| !m.fields.is_empty());
    for m in managers.iter_mut() {
        if before_sets.get(&m.name) != Some(&m.fields) {
            m.time = now.clone();
        }
    }
    let after_sets: BTreeMap<String, BTreeSet<Path>> = managers.iter().map(|m| (m.name.clone(), m.fields.clone())).collect();

    let ip_counter = state.service_ips;
    let allocation_problems = defaults::fill_defaults(state, &kind, &mut merged, existing.as_ref());
    if options.dry_run {
        // A dry run allocates nothing.
        state.service_ips = ip_counter;
    }

    // As the API server, the merged object is validated (after the conflicts): an apply may give a
    // few fields of a list item that another manager's apply completes.
    let mut problems = metadata_problems(object);
    problems.extend(spec_problems(&kind.kind, &merged));
    problems.extend(allocation_problems);
    problems.extend(validate_numbers(&kind.kind, &merged));
    problems.extend(stored_spec_problems(&kind.kind, &merged));
    if let Some(live) = &existing {
        problems.extend(immutable_problems(&kind.kind, &merged, live));
    }
    if !problems.is_empty() {
        return Err(BackendError::Invalid { object: reference, causes: problems });
    }

    if (kind.kind == "ResourceQuota" || kind.kind == "LimitRange") && !options.dry_run {
        // Admission inputs change: controllers retry at once what was refused.
        state.retry_after.clear();
    }

    let Some(existing) = existing else {
        // Creation: admission, then server-set metadata.
        admission::admit_create(state, &kind, &mut merged).map_err(|denied| denied.error)?;
        write_managers(&mut merged, &managers);
        let meta = util::map_at(&mut merged, &["metadata"]);
        meta.insert("uid".into(), Value::from(state.peek_uid()));
        meta.insert("creationTimestamp".into(), Value::from(now.clone()));
        // The kinds that keep a generation start it at 1; on the others, the API server stores a
        // generation given in the applied object as it is (no strategy clears it).
        let generation = match util::tracks_generation(&kind.api_version, &kind.kind) {
            true => Some(1),
            false => object.pointer("/metadata/generation").and_then(Value::as_i64).filter(|g| *g != 0),
        };
        if let Some(generation) = generation {
            meta.insert("generation".into(), Value::from(generation));
        }
        meta.insert("resourceVersion".into(), Value::from((state.resource_version + 1).to_string()));
        if options.dry_run {
            return Ok(Applied { object: reference, change: Change::Created, result: merged });
        }
        // Set again by `create` (with the generation of a kind that keeps one).
        if let Some(m) = merged.pointer_mut("/metadata").and_then(Value::as_object_mut) {
            for k in ["uid", "creationTimestamp", "resourceVersion"] {
                m.remove(k);
            }
        }
        let stored = state.create(merged);
        return Ok(Applied { object: reference, change: Change::Created, result: stored });
    };

    if after_sets == before_sets && state::same_ignoring_rv(&strip_managed(&merged), &strip_managed(&existing)) {
        return Ok(Applied { object: reference, change: Change::Unchanged, result: existing });
    }
    write_managers(&mut merged, &managers);
    if util::tracks_generation(&kind.api_version, &kind.kind) && bumps_generation(&kind.kind, &merged, &existing) {
        let generation = util::int(&existing, "/metadata/generation", 1) + 1;
        util::map_at(&mut merged, &["metadata"]).insert("generation".into(), Value::from(generation));
    }
    if options.dry_run {
        return Ok(Applied { object: reference, change: Change::Updated, result: merged });
    }
    if being_deleted(&merged) && util::finalizers(&merged).is_empty() && kind.kind != "Namespace" {
        // The last finalizer of an object marked for deletion is gone: the object goes, as it was
        // stored (the API server deletes it instead of writing the update, and answers with it).
        let removed = super::gc::finish_deletion(state, &key).unwrap_or(existing);
        return Ok(Applied { object: reference, change: Change::Updated, result: removed });
    }
    let stored = state.put(merged);
    Ok(Applied { object: reference, change: Change::Updated, result: stored })
}

/// Whether an applied value equals the live one, allowing the live one to carry server defaults
/// (fields the applied value leaves out, e.g. a Service port's `protocol`).
fn same_value(applied: Option<&Value>, live: Option<&Value>) -> bool {
    match (applied, live) {
        (None, None) => true,
        (Some(a), Some(l)) => subset(a, l),
        _ => false,
    }
}

fn subset(applied: &Value, live: &Value) -> bool {
    match (applied, live) {
        (Value::Object(a), Value::Object(l)) => a.iter().all(|(k, v)| v.is_null() || l.get(k).is_some_and(|lv| subset(v, lv))),
        (Value::Array(a), Value::Array(l)) => a.len() == l.len() && a.iter().zip(l).all(|(x, y)| subset(x, y)),
        _ => applied == live,
    }
}

fn strip_managed(v: &Value) -> Value {
    let mut v = v.clone();
    util::remove(&mut v, &["metadata".into(), "managedFields".into()]);
    v
}
