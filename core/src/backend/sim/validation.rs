//! The API server's validation that the simulated cluster repeats on applied objects: metadata, the spec fields moorage can hit, fields that cannot change, server-set metadata.

use serde_json::Value;

use super::resources::{container_resources_problems, is_integer_resource, limit_range_problems, quota_resource_problems};
use super::util::{self, text};
use crate::backend::{being_deleted, BackendError, Cause, ObjectRef};
use crate::checks::{check_label_key, check_label_value};
use crate::quantity::Quantity;

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
        let problem = match check_label_key(key) {
            Err(problem) => Some((key, problem)),
            Ok(()) => check_label_value(value).err().map(|problem| (value, problem)),
        };
        if let Some((shown, problem)) = problem {
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
    for (i, &finalizer) in util::finalizers(object).iter().enumerate() {
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
/// StatefulSet or DaemonSet, a Job's selector and pod template, a Service's cluster IP, a role
/// binding's `roleRef`, a claim's spec ([`claim_problems`]).
pub(super) fn immutable_problems(kind: &str, new: &Value, old: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    if being_deleted(old) {
        let had = util::finalizers(old);
        let added: Vec<&str> = util::finalizers(new).into_iter().filter(|f| !had.contains(f)).collect();
        if !added.is_empty() {
            causes.push(Cause {
                field: "metadata.finalizers".into(),
                message: format!("Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers {added:?}"),
            });
        }
    }
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
        "RoleBinding" | "ClusterRoleBinding" if changed("/roleRef") => {
            causes.push(Cause { field: "roleRef".into(), message: format!("Invalid value: {}: cannot change roleRef", shown("/roleRef")) });
        }
        "PersistentVolumeClaim" => causes.extend(claim_problems(new, old)),
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

/// A PersistentVolumeClaim's spec is immutable, except for a bound claim's
/// `resources.requests` (and `volumeAttributesClassName`), which may not go below its capacity.
fn claim_problems(new: &Value, old: &Value) -> Vec<Cause> {
    let bound = text(old, "/status/phase") == "Bound";
    let fixed_part = |claim: &Value| {
        let mut spec = claim.get("spec").cloned().unwrap_or(Value::Null);
        if let (true, Some(spec)) = (bound, spec.as_object_mut()) {
            spec.remove("volumeAttributesClassName");
            if let Some(resources) = spec.get_mut("resources").and_then(Value::as_object_mut) {
                resources.remove("requests");
            }
        }
        spec
    };
    if fixed_part(new) != fixed_part(old) {
        let message = "Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims";
        return vec![Cause { field: "spec".into(), message: message.into() }];
    }
    let requested = util::qty(new.pointer("/spec/resources/requests/storage"));
    let capacity = old.pointer("/status/capacity/storage");
    if bound && capacity.is_some() && requested.millis() < util::qty(capacity).millis() {
        let message = "Forbidden: field can not be less than status.capacity";
        return vec![Cause { field: "spec.resources.requests.storage".into(), message: message.into() }];
    }
    Vec::new()
}

/// An `Invalid` error with one cause.
pub(super) fn invalid(object: ObjectRef, field: &str, message: String) -> BackendError {
    BackendError::Invalid { object, causes: vec![Cause { field: field.into(), message }] }
}

/// The API server's checks of an object as it would be stored (the apply merged into the live
/// object, defaults filled; a partial apply by another field manager is checked whole), each
/// cause naming the field as it does: a pod's restart policy and its containers' resources, a
/// workload without a selector or with an empty one, a Service without ports, a
/// PodDisruptionBudget with both `minAvailable` and `maxUnavailable`, an autoscaler whose
/// `maxReplicas` is below `minReplicas` (or below 1), a Role rule without verbs, a NetworkPolicy
/// port of another protocol than TCP, UDP or SCTP, an Ingress host that is not a DNS name or a
/// path without `pathType`, a LimitRange's types, names and bounds, a quota of a resource it does
/// not track, or of objects or extended resources that is not whole (see [`super::resources`]).
pub(super) fn stored_spec_problems(kind: &str, object: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let mut cause = |field: String, message: String| causes.push(Cause { field, message });
    let list = |pointer: &str| object.pointer(pointer).and_then(Value::as_array).cloned().unwrap_or_default();
    if let Some(pointer) = super::defaults::pod_spec_pointer(kind) {
        if let Some(problem) = object.pointer(pointer).and_then(|spec| restart_policy_problem(kind, spec)) {
            cause(format!("{}.restartPolicy", field_of(pointer)), problem);
        }
        for list in ["containers", "initContainers"] {
            let containers = object.pointer(&format!("{pointer}/{list}")).and_then(Value::as_array).cloned().unwrap_or_default();
            for (i, container) in containers.iter().enumerate() {
                let Some(resources) = container.get("resources") else { continue };
                for Cause { field, message } in container_resources_problems(resources, &format!("{}.{list}[{i}].resources", field_of(pointer))) {
                    cause(field, message);
                }
            }
        }
    }
    match kind {
        "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" => match object.pointer("/spec/selector").and_then(Value::as_object) {
            None => cause("spec.selector".into(), "Required value".into()),
            Some(selector) => {
                let empty =
                    |key: &str| selector.get(key).is_none_or(|v| v.as_object().is_some_and(|m| m.is_empty()) || v.as_array().is_some_and(|a| a.is_empty()));
                if empty("matchLabels") && empty("matchExpressions") {
                    cause("spec.selector".into(), format!("Invalid value: {{}}: empty selector is invalid for {}", kind.to_ascii_lowercase()));
                }
            }
        },
        "Service" => {
            let headless = text(object, "/spec/clusterIP") == "None" || text(object, "/spec/type") == "ExternalName";
            if !headless && list("/spec/ports").is_empty() {
                cause("spec.ports".into(), "Required value".into());
            }
        }
        "PodDisruptionBudget" if ["/spec/minAvailable", "/spec/maxUnavailable"].iter().all(|p| object.pointer(p).is_some_and(|v| !v.is_null())) => {
            cause("spec".into(), "Invalid value: minAvailable and maxUnavailable cannot be both set".into());
        }
        "ResourceQuota" => {
            for (resource, value) in object.pointer("/spec/hard").and_then(Value::as_object).into_iter().flatten() {
                for problem in quota_resource_problems(resource) {
                    cause(format!("spec.hard[{resource}]"), format!("Invalid value: {resource:?}: {problem}"));
                }
                let whole = value.as_str().and_then(|v| Quantity::parse(v).ok()).is_none_or(|q| q.millis() % 1000 == 0);
                if !whole && is_integer_resource(resource) {
                    cause(format!("spec.hard[{resource}]"), format!("Invalid value: {value}: must be an integer"));
                }
            }
        }
        "HorizontalPodAutoscaler" => {
            let min = object.pointer("/spec/minReplicas").and_then(Value::as_i64).unwrap_or(1);
            let max = object.pointer("/spec/maxReplicas").and_then(Value::as_i64).unwrap_or(0);
            if min < 1 {
                cause("spec.minReplicas".into(), format!("Invalid value: {min}: must be greater than or equal to 1"));
            }
            if max < min.max(1) {
                cause("spec.maxReplicas".into(), format!("Invalid value: {max}: must be greater than or equal to `minReplicas`"));
            }
        }
        "Role" | "ClusterRole" => {
            for (i, rule) in list("/rules").iter().enumerate() {
                if rule.get("verbs").and_then(Value::as_array).is_none_or(|v| v.is_empty()) {
                    cause(format!("rules[{i}].verbs"), "Required value: verbs must contain at least one value".into());
                }
            }
        }
        "NetworkPolicy" => {
            for direction in ["ingress", "egress"] {
                for (i, rule) in list(&format!("/spec/{direction}")).iter().enumerate() {
                    let ports = rule.get("ports").and_then(Value::as_array).cloned().unwrap_or_default();
                    for (j, port) in ports.iter().enumerate() {
                        let protocol = port.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
                        if !matches!(protocol, "TCP" | "UDP" | "SCTP") {
                            let message = format!("Unsupported value: {protocol:?}: supported values: \"TCP\", \"UDP\", \"SCTP\"");
                            cause(format!("spec.{direction}[{i}].ports[{j}].protocol"), message);
                        }
                    }
                }
            }
        }
        "Ingress" => {
            for (i, rule) in list("/spec/rules").iter().enumerate() {
                let host = rule.get("host").and_then(Value::as_str).unwrap_or_default();
                // A DNS-1123 subdomain, optionally under a `*.` wildcard, and not an IP address.
                let problem = match host.parse::<std::net::IpAddr>() {
                    Ok(_) => Some("must be a DNS name, not an IP address".to_string()),
                    Err(_) if host.is_empty() => None,
                    Err(_) => crate::checks::check_dns1123_subdomain(host.strip_prefix("*.").unwrap_or(host)).err(),
                };
                if let Some(problem) = problem {
                    cause(format!("spec.rules[{i}].host"), format!("Invalid value: {host:?}: {problem}"));
                }
                let paths = rule.pointer("/http/paths").and_then(Value::as_array).cloned().unwrap_or_default();
                for (j, path) in paths.iter().enumerate() {
                    if path.get("pathType").and_then(Value::as_str).unwrap_or_default().is_empty() {
                        cause(format!("spec.rules[{i}].http.paths[{j}].pathType"), "Required value: pathType must be specified".into());
                    }
                }
            }
        }
        "LimitRange" => {
            for Cause { field, message } in limit_range_problems(&list("/spec/limits")) {
                cause(field, message);
            }
        }
        _ => {}
    }
    causes
}

/// The validation of the API server that moorage's objects can hit, on the object as it would be
/// stored: negative replicas, a selector that does not match the pod template, containers without
/// a name or an image or with the same name. ([`stored_spec_problems`] has the other checks.)
pub(super) fn spec_problems(kind: &str, object: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let mut cause = |field: &str, message: String| causes.push(Cause { field: field.into(), message });
    if matches!(kind, "Deployment" | "ReplicaSet" | "StatefulSet") {
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
    }
    let pod_spec = super::defaults::pod_spec_pointer(kind).and_then(|pointer| Some((object.pointer(pointer)?, field_of(pointer))));
    if let Some((pod, prefix)) = pod_spec {
        let containers = pod.get("containers").and_then(Value::as_array).cloned().unwrap_or_default();
        if containers.is_empty() {
            cause(&format!("{prefix}.containers"), "Required value".into());
        }
        for (i, c) in containers.iter().enumerate() {
            let name = c.get("name").and_then(Value::as_str).unwrap_or_default();
            if !name.is_empty() && containers[..i].iter().any(|earlier| earlier.get("name").and_then(Value::as_str) == Some(name)) {
                cause(&format!("{prefix}.containers[{i}].name"), format!("Duplicate value: {name:?}"));
            }
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

/// The field path of a JSON pointer: `/spec/template/spec` is `spec.template.spec`.
fn field_of(pointer: &str) -> String {
    pointer.trim_start_matches('/').replace('/', ".")
}

/// What is wrong with the (defaulted) `restartPolicy` of a pod spec of `kind`, in the API server's
/// words: a Job's pods must say `OnFailure` or `Never` (there is no default for them, and the
/// message is the same whatever they say), a workload's are `Always`.
fn restart_policy_problem(kind: &str, spec: &Value) -> Option<String> {
    let policy = spec.get("restartPolicy").and_then(Value::as_str).unwrap_or("");
    let (allowed, listed): (&[&str], &str) = match kind {
        "Job" | "CronJob" => (&["OnFailure", "Never"], r#""OnFailure", "Never""#),
        "Pod" => (&["Always", "OnFailure", "Never"], r#""Always", "OnFailure", "Never""#),
        _ => (&["Always"], r#""Always""#),
    };
    if allowed.contains(&policy) {
        None
    } else if policy.is_empty() || matches!(kind, "Job" | "CronJob") {
        Some(format!("Required value: valid values: {listed}"))
    } else {
        Some(format!("Unsupported value: {policy:?}: supported values: {listed}"))
    }
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
