//! The API server's validation that the simulated cluster repeats on applied objects: metadata, the spec fields moorage can hit, server-set metadata.

use serde_json::Value;

use super::util::text;
use crate::backend::{BackendError, Cause, ObjectRef};
use crate::checks::{check_label_key, check_label_value};

/// Largest total size of an object's annotations (keys and values), in bytes.
const ANNOTATIONS_MAX_BYTES: usize = 256 * 1024;
/// The finalizers that need no domain prefix.
const STANDARD_FINALIZERS: [&str; 3] = ["kubernetes", "orphan", "foregroundDeletion"];

/// The API server's checks of an applied object's metadata (apimachinery's `ValidateObjectMeta`,
/// and the apply handler's refusal of `managedFields`), each cause naming the field as it does:
/// label keys and values, annotation keys and their total size, finalizer names (qualified, or a
/// standard one), owner references (apiVersion, kind, name and uid set), a non-negative
/// generation. The messages are moorage's own, with what to change.
pub(super) fn metadata_problems(object: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let mut cause = |field: &str, message: String| causes.push(Cause { field: field.into(), message });
    let Some(meta) = object.get("metadata") else { return Vec::new() };
    if meta.get("managedFields").and_then(Value::as_array).is_some_and(|m| !m.is_empty()) {
        cause("", "metadata.managedFields must be nil".into());
    }
    let strings = |field: &str| meta.get(field).and_then(Value::as_object).into_iter().flatten().map(|(k, v)| (k.as_str(), v.as_str().unwrap_or_default()));
    for (key, value) in strings("labels") {
        if let Err(problem) = check_label_key(key).and_then(|()| check_label_value(value)) {
            let shown = if check_label_key(key).is_err() { key } else { value };
            cause("metadata.labels", format!("Invalid value: {shown:?}: {problem}"));
        }
    }
    let mut annotation_bytes = 0;
    for (key, value) in strings("annotations") {
        annotation_bytes += key.len() + value.len();
        if let Err(problem) = check_label_key(&key.to_ascii_lowercase()) {
            cause("metadata.annotations", format!("Invalid value: {key:?}: {problem}"));
        }
    }
    if annotation_bytes > ANNOTATIONS_MAX_BYTES {
        cause("metadata.annotations", format!("Too long: may not be more than {ANNOTATIONS_MAX_BYTES} bytes"));
    }
    let finalizers = meta.get("finalizers").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str);
    for (i, finalizer) in finalizers.enumerate() {
        let field = format!("metadata.finalizers[{i}]");
        if let Err(problem) = check_label_key(finalizer) {
            cause(&field, format!("Invalid value: {finalizer:?}: {problem}"));
        } else if !finalizer.contains('/') && !STANDARD_FINALIZERS.contains(&finalizer) {
            let message = "name is neither a standard finalizer name nor is it fully qualified; add a domain prefix (e.g. \"example.com/cleanup\")";
            cause(&field, format!("Invalid value: {finalizer:?}: {message}"));
        }
    }
    let owners = meta.get("ownerReferences").and_then(Value::as_array).into_iter().flatten();
    for owner in owners {
        for part in ["apiVersion", "kind", "name", "uid"] {
            if owner.get(part).and_then(Value::as_str).unwrap_or_default().is_empty() {
                cause(&format!("metadata.ownerReferences.{part}"), "Invalid value: \"\": must not be empty".into());
            }
        }
    }
    if let Some(generation) = meta.get("generation").and_then(Value::as_i64).filter(|g| *g < 0) {
        cause("metadata.generation", format!("Invalid value: {generation}: must be greater than or equal to 0"));
    }
    causes
}

/// The fields the API server refuses to change on an existing object (`old`, `new` as it would be
/// stored), each cause naming the field as it does: the data of an immutable ConfigMap or Secret
/// (and `immutable` itself), a Secret's `type`, the selector of a Deployment, ReplicaSet,
/// StatefulSet or DaemonSet, a Job's selector and pod template, a Service's cluster IP.
pub(super) fn immutable_problems(kind: &str, new: &Value, old: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let changed = |pointer: &str| new.pointer(pointer) != old.pointer(pointer);
    let shown = |pointer: &str| new.pointer(pointer).map_or_else(|| "null".to_string(), Value::to_string);
    let mut immutable = |field: &str, pointer: &str| {
        if changed(pointer) {
            causes.push(Cause { field: field.into(), message: format!("Invalid value: {}: field is immutable", shown(pointer)) });
        }
    };
    match kind {
        "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" => immutable("spec.selector", "/spec/selector"),
        "Job" => {
            immutable("spec.selector", "/spec/selector");
            immutable("spec.template", "/spec/template");
        }
        "Secret" => immutable("type", "/type"),
        "Service" => {
            let before = text(old, "/spec/clusterIP");
            let after = text(new, "/spec/clusterIP");
            if !before.is_empty() && !after.is_empty() && before != after {
                causes.push(Cause { field: "spec.clusterIPs[0]".into(), message: format!("Invalid value: [{after:?}]: may not change once set") });
            }
        }
        _ => {}
    }
    if matches!(kind, "ConfigMap" | "Secret") && old.get("immutable") == Some(&Value::Bool(true)) {
        let locked = "Forbidden: field is immutable when `immutable` is set";
        // A Secret's `stringData` is written into its `data`.
        let data: &[(&str, bool)] = match kind {
            "Secret" => &[("data", changed("/data") || changed("/stringData"))],
            _ => &[("data", changed("/data")), ("binaryData", changed("/binaryData"))],
        };
        for (field, _) in data.iter().filter(|(_, changed)| *changed) {
            causes.push(Cause { field: field.to_string(), message: locked.into() });
        }
        if new.get("immutable") != Some(&Value::Bool(true)) {
            causes.push(Cause { field: "immutable".into(), message: locked.into() });
        }
    }
    causes
}

/// An `Invalid` error with one cause.
pub(super) fn invalid(object: ObjectRef, field: &str, message: String) -> BackendError {
    BackendError::Invalid { object, causes: vec![Cause { field: field.into(), message }] }
}

/// The validation of the API server that moorage's objects can hit: negative replicas, a selector
/// that does not match the pod template, containers without a name or an image.
pub(super) fn spec_problems(kind: &str, object: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let mut cause = |field: &str, message: String| causes.push(Cause { field: field.into(), message });
    let template = match kind {
        "Deployment" | "ReplicaSet" | "StatefulSet" => {
            if let Some(n) = object.pointer("/spec/replicas").and_then(Value::as_i64).filter(|n| *n < 0) {
                cause("spec.replicas", format!("Invalid value: {n}: must be greater than or equal to 0"));
            }
            let selector = object.pointer("/spec/selector/matchLabels").and_then(Value::as_object);
            let labels = object.pointer("/spec/template/metadata/labels").and_then(Value::as_object);
            if let Some(selector) = selector {
                if !selector.iter().all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v)) {
                    cause("spec.template.metadata.labels", "Invalid value: `selector` does not match template `labels`".into());
                }
            }
            object.pointer("/spec/template/spec")
        }
        "Job" => object.pointer("/spec/template/spec"),
        "Pod" => object.pointer("/spec"),
        _ => None,
    };
    if let Some(pod) = template {
        let prefix = if kind == "Pod" { "spec" } else { "spec.template.spec" };
        let containers = pod.get("containers").and_then(Value::as_array).cloned().unwrap_or_default();
        if containers.is_empty() {
            cause(&format!("{prefix}.containers"), "Required value".into());
        }
        for (i, c) in containers.iter().enumerate() {
            if c.get("name").and_then(Value::as_str).unwrap_or_default().is_empty() {
                cause(&format!("{prefix}.containers[{i}].name"), "Required value".into());
            }
            if c.get("image").and_then(Value::as_str).unwrap_or_default().is_empty() {
                cause(&format!("{prefix}.containers[{i}].image"), "Required value".into());
            }
        }
    }
    causes
}

/// The server-set metadata an applied object may carry, checked as the API server does:
/// - a `resourceVersion` is a precondition on an existing object (an optimistic lock, not a field
///   anyone owns: `Modified` unless the live object has it); an object that does not exist is
///   created;
/// - a `uid` is a precondition too (`Modified` when no object exists), and immutable (`Invalid`
///   when it is another object's);
/// - a `deletionTimestamp` cannot be set on an existing object (`Invalid`).
///
/// Otherwise they are ignored, as is `creationTimestamp`; `generation` is too, except when it
/// creates an object of a kind that keeps none ([`super::util::tracks_generation`]). Empty strings are
/// unset fields.
pub(super) fn check_server_set_metadata(object: &Value, existing: Option<&Value>, reference: &ObjectRef) -> Result<(), BackendError> {
    let expected = object.pointer("/metadata/resourceVersion").and_then(Value::as_str).filter(|rv| !rv.is_empty());
    if let (Some(expected), Some(live)) = (expected, existing) {
        if text(live, "/metadata/resourceVersion") != expected {
            let message = format!("the object has been modified since resourceVersion {expected}");
            return Err(BackendError::Modified { object: reference.clone(), message });
        }
    }
    if let Some(uid) = object.pointer("/metadata/uid").and_then(Value::as_str).filter(|uid| !uid.is_empty()) {
        match existing {
            None => {
                let message = format!("uid mismatch: the provided object specified uid {uid}, and no existing object was found");
                return Err(BackendError::Modified { object: reference.clone(), message });
            }
            Some(live) if text(live, "/metadata/uid") != uid => {
                return Err(invalid(reference.clone(), "metadata.uid", format!("Invalid value: {uid:?}: field is immutable")));
            }
            Some(_) => {}
        }
    }
    let deleting = object.pointer("/metadata/deletionTimestamp").filter(|at| !at.is_null());
    if let (Some(at), Some(live)) = (deleting, existing) {
        if live.pointer("/metadata/deletionTimestamp") != Some(at) {
            return Err(invalid(reference.clone(), "metadata.deletionTimestamp", format!("Invalid value: {at}: field is immutable")));
        }
    }
    Ok(())
}

/// Integer fields the controllers compute with, checked like the API server's validation
/// (non-negative, at most 2^31 - 1).
pub(super) fn validate_numbers(kind: &str, object: &Value) -> Vec<Cause> {
    let fields: &[&str] = match kind {
        "Deployment" => &[
            "spec.replicas",
            "spec.minReadySeconds",
            "spec.revisionHistoryLimit",
            "spec.progressDeadlineSeconds",
            "spec.strategy.rollingUpdate.maxSurge",
            "spec.strategy.rollingUpdate.maxUnavailable",
        ],
        "ReplicaSet" => &["spec.replicas", "spec.minReadySeconds"],
        "Job" => &["spec.completions", "spec.parallelism", "spec.backoffLimit"],
        _ => &[],
    };
    let mut causes = Vec::new();
    for field in fields {
        let pointer = format!("/{}", field.replace('.', "/"));
        let Some(value) = object.pointer(&pointer) else { continue };
        let problem = match value {
            Value::Number(n) => match n.as_i64() {
                Some(i) if i < 0 => Some("must be greater than or equal to 0"),
                Some(i) if i > i64::from(i32::MAX) => Some("must be less than or equal to 2147483647"),
                Some(_) => None,
                None => Some("must be an integer"),
            },
            Value::String(text) if field.ends_with("maxSurge") || field.ends_with("maxUnavailable") => {
                let ok = text.strip_suffix('%').and_then(|p| p.parse::<u32>().ok()).is_some_and(|p| p <= 100 || field.ends_with("maxSurge"));
                (!ok).then_some("a valid percent string must be a numeric string followed by an ending '%'")
            }
            Value::Null => None,
            _ => Some("must be an integer"),
        };
        if let Some(problem) = problem {
            causes.push(Cause { field: field.to_string(), message: format!("Invalid value: {value}: {problem}") });
        }
    }
    causes
}
