//! Admission on creation: Pod defaulting, LimitRange defaults and bounds, ResourceQuota checks and usage
//! (what completes a Pod besides is in `pod_admission`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::state::{self, State};
use super::util::{self, format_amount, qty, text, zero};
use crate::backend::{parse_quota_message, BackendError, Kind, ObjectRef};
use crate::quantity::Quantity;

/// An admission refusal: the API server's text (what controllers put in their events) and the error.
#[derive(Debug, Clone)]
pub(crate) struct Denied {
    /// The full message, e.g. `pods "web-7d9c-" is forbidden: exceeded quota: ...`.
    pub message: String,
    /// The error returned to the caller.
    pub error: BackendError,
}

const COMPUTE: [&str; 2] = ["cpu", "memory"];

fn containers_mut(pod: &mut Value) -> Vec<&mut Value> {
    let Some(spec) = pod.pointer_mut("/spec").and_then(Value::as_object_mut) else { return Vec::new() };
    let mut out = Vec::new();
    for (k, v) in spec.iter_mut() {
        if k == "containers" || k == "initContainers" {
            if let Some(list) = v.as_array_mut() {
                out.extend(list.iter_mut());
            }
        }
    }
    out
}

fn containers(pod: &Value, field: &str) -> Vec<Value> {
    pod.pointer(&format!("/spec/{field}")).and_then(Value::as_array).cloned().unwrap_or_default()
}

/// Pod API defaulting: a container that sets a limit but no request gets request = limit.
pub(crate) fn default_requests_from_limits(pod: &mut Value) {
    for c in containers_mut(pod) {
        let limits = c.pointer("/resources/limits").and_then(Value::as_object).cloned().unwrap_or_default();
        for (r, v) in limits {
            if c.pointer(&format!("/resources/requests/{}", r.replace('/', "~1"))).is_none() {
                util::set(c, &["resources".into(), "requests".into(), r], v);
            }
        }
    }
}

/// The name the API server uses in admission errors: the name, or the generateName prefix.
fn admission_name(object: &Value) -> String {
    match text(object, "/metadata/name") {
        "" => text(object, "/metadata/generateName").to_string(),
        name => name.to_string(),
    }
}

pub(super) fn forbidden(kind: &Kind, object: &Value, reason: &str) -> Denied {
    let name = admission_name(object);
    let message = format!("{} {name:?} is forbidden: {reason}", kind.plural);
    let reference = ObjectRef::new(kind, Some(text(object, "/metadata/namespace")), &name);
    let error = match parse_quota_message(&message) {
        Some(q) => {
            BackendError::QuotaExceeded { object: reference, quota: q.quota, resource: q.resource, requested: q.requested, used: q.used, limit: q.limit }
        }
        None => BackendError::Forbidden { object: reference, message: message.clone() },
    };
    Denied { message, error }
}

/// Runs the admission plugins on an object about to be created (mutating it: LimitRange defaults).
pub(crate) fn admit_create(state: &State, kind: &Kind, object: &mut Value) -> Result<(), Denied> {
    let namespace = text(object, "/metadata/namespace").to_string();
    if namespace.is_empty() {
        return Ok(());
    }
    if kind.kind == "Pod" {
        super::pod_admission::service_account(state, kind, &namespace, object)?;
        default_requests_from_limits(object);
        limit_ranger(state, kind, &namespace, object)?;
        let qos = qos_class(object);
        util::set(object, &["status".into(), "qosClass".into()], Value::from(qos));
        if text(object, "/status/phase").is_empty() {
            util::set(object, &["status".into(), "phase".into()], Value::from("Pending"));
        }
    }
    check_quota(state, kind, &namespace, object)
}

/// The pod's QoS class: Guaranteed (every container's limits equal its requests for CPU and
/// memory), BestEffort (nothing set), Burstable otherwise.
fn qos_class(pod: &Value) -> &'static str {
    let all: Vec<Value> = containers(pod, "containers").into_iter().chain(containers(pod, "initContainers")).collect();
    let set = |c: &Value, which: &str| COMPUTE.iter().any(|r| c.pointer(&format!("/resources/{which}/{r}")).is_some());
    if all.iter().all(|c| !set(c, "requests") && !set(c, "limits")) {
        return "BestEffort";
    }
    let guaranteed = all.iter().all(|c| {
        COMPUTE.iter().all(|r| {
            let limit = c.pointer(&format!("/resources/limits/{r}"));
            limit.is_some() && c.pointer(&format!("/resources/requests/{r}")).is_none_or(|q| qty(Some(q)) == qty(limit))
        })
    });
    if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

fn limit_ranger(state: &State, kind: &Kind, namespace: &str, pod: &mut Value) -> Result<(), Denied> {
    let ranges = state.list("v1", "LimitRange", Some(namespace));
    let mut problems = Vec::new();
    let mut defaulted: Vec<String> = Vec::new();
    for range in &ranges {
        let items = range.pointer("/spec/limits").and_then(Value::as_array).cloned().unwrap_or_default();
        for item in items.iter().filter(|i| text(i, "/type") == "Container") {
            for c in containers_mut(pod) {
                let cname = text(c, "/name").to_string();
                let mut set_here = Vec::new();
                for (from, to) in [("defaultRequest", "requests"), ("default", "limits")] {
                    for (r, v) in item.get(from).and_then(Value::as_object).cloned().unwrap_or_default() {
                        if c.pointer(&format!("/resources/{to}/{r}")).is_none() {
                            util::set(c, &["resources".into(), to.into(), r.clone()], v);
                            set_here.push(format!("{r} {}", if to == "requests" { "request" } else { "limit" }));
                        }
                    }
                }
                if !set_here.is_empty() {
                    defaulted.push(format!("{} for container {cname}", set_here.join(", ")));
                }
                for (r, max) in item.get("max").and_then(Value::as_object).cloned().unwrap_or_default() {
                    match c.pointer(&format!("/resources/limits/{r}")) {
                        None => problems.push(format!("maximum {r} usage per Container is {}.  No limit is specified", max.as_str().unwrap_or(""))),
                        Some(limit) if qty(Some(limit)) > qty(Some(&max)) => problems.push(format!(
                            "maximum {r} usage per Container is {}, but limit is {}",
                            max.as_str().unwrap_or(""),
                            limit.as_str().map(str::to_string).unwrap_or_else(|| limit.to_string())
                        )),
                        _ => {}
                    }
                }
                for (r, min) in item.get("min").and_then(Value::as_object).cloned().unwrap_or_default() {
                    match c.pointer(&format!("/resources/requests/{r}")) {
                        None => problems.push(format!("minimum {r} usage per Container is {}.  No request is specified", min.as_str().unwrap_or(""))),
                        Some(request) if qty(Some(request)) < qty(Some(&min)) => problems.push(format!(
                            "minimum {r} usage per Container is {}, but request is {}",
                            min.as_str().unwrap_or(""),
                            request.as_str().map(str::to_string).unwrap_or_else(|| request.to_string())
                        )),
                        _ => {}
                    }
                }
            }
        }
    }
    if !defaulted.is_empty() {
        let note = format!("LimitRanger plugin set: {}", defaulted.join("; "));
        util::set(pod, &["metadata".into(), "annotations".into(), "kubernetes.io/limit-ranger".into()], Value::from(note));
    }
    match problems.len() {
        0 => Ok(()),
        1 => Err(forbidden(kind, pod, &problems.concat())),
        _ => Err(forbidden(kind, pod, &format!("[{}]", problems.join(", ")))),
    }
}

fn add(map: &mut BTreeMap<String, Quantity>, key: &str, q: &Quantity) {
    let total = map.get(key).and_then(|have| have.checked_add(q)).unwrap_or_else(|| q.clone());
    map.insert(key.to_string(), total);
}

/// What one object counts against a quota (an empty map for objects no quota counts).
pub(crate) fn usage(object: &Value) -> BTreeMap<String, Quantity> {
    let mut out = BTreeMap::new();
    let one = Quantity::from_millis(1000).unwrap_or_else(zero);
    let kind = text(object, "/kind");
    let plural = util::kind_of(object).map(|k| if k.group().is_empty() { k.plural.clone() } else { format!("{}.{}", k.plural, k.group()) });
    match kind {
        "Pod" => {
            if matches!(text(object, "/status/phase"), "Succeeded" | "Failed") {
                return out;
            }
            add(&mut out, "pods", &one);
            for which in ["requests", "limits"] {
                for r in COMPUTE {
                    let sum = containers(object, "containers").iter().fold(zero(), |acc, c| {
                        let q = qty(c.pointer(&format!("/resources/{which}/{r}")));
                        acc.checked_add(&q).unwrap_or(acc)
                    });
                    let init_max =
                        containers(object, "initContainers").iter().map(|c| qty(c.pointer(&format!("/resources/{which}/{r}")))).max().unwrap_or_else(zero);
                    let total = sum.max(init_max);
                    add(&mut out, &format!("{which}.{r}"), &total);
                    if which == "requests" {
                        add(&mut out, r, &total);
                    }
                }
            }
        }
        "Service" => {
            add(&mut out, "services", &one);
            match text(object, "/spec/type") {
                "LoadBalancer" => add(&mut out, "services.loadbalancers", &one),
                "NodePort" => add(&mut out, "services.nodeports", &one),
                _ => {}
            }
        }
        "ConfigMap" => add(&mut out, "configmaps", &one),
        "Secret" => add(&mut out, "secrets", &one),
        "PersistentVolumeClaim" => {
            add(&mut out, "persistentvolumeclaims", &one);
            add(&mut out, "requests.storage", &qty(object.pointer("/spec/resources/requests/storage")));
        }
        "ResourceQuota" => add(&mut out, "resourcequotas", &one),
        _ => {}
    }
    if let Some(p) = plural {
        if kind != "Event" {
            add(&mut out, &format!("count/{p}"), &one);
        }
    }
    out
}

/// What a namespace uses, summed over every object in it.
pub(crate) fn namespace_usage(state: &State, namespace: &str) -> BTreeMap<String, Quantity> {
    let mut total = BTreeMap::new();
    for kind in util::served_kinds().iter().filter(|k| k.namespaced && k.kind != "Event") {
        let prefix = format!("{}|{}|{namespace}|", kind.api_version, kind.kind);
        for (_, summary) in state.objects.summaries_with_prefix(&prefix) {
            for (r, q) in &summary.usage[..] {
                add(&mut total, r, q);
            }
        }
    }
    total
}

fn pretty(map: &BTreeMap<String, Quantity>) -> String {
    map.iter().map(|(k, v)| format!("{k}={}", format_amount(k, v))).collect::<Vec<_>>().join(",")
}

/// Resources a pod must declare per container when a quota tracks them.
fn must_specify(hard: &serde_json::Map<String, Value>, pod: &Value) -> Option<String> {
    let mut missing: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for resource in hard.keys() {
        let (section, r) = match resource.as_str() {
            "cpu" | "requests.cpu" => ("requests", "cpu"),
            "memory" | "requests.memory" => ("requests", "memory"),
            "limits.cpu" => ("limits", "cpu"),
            "limits.memory" => ("limits", "memory"),
            _ => continue,
        };
        for c in containers(pod, "containers").iter().chain(containers(pod, "initContainers").iter()) {
            if c.pointer(&format!("/resources/{section}/{r}")).is_none() {
                missing.entry(resource.clone()).or_default().push(text(c, "/name").to_string());
            }
        }
    }
    if missing.is_empty() {
        return None;
    }
    let parts: Vec<String> = missing
        .into_iter()
        .map(|(r, mut names)| {
            names.sort();
            names.dedup();
            format!("{r} for: {}", names.join(","))
        })
        .collect();
    Some(format!("must specify {}", parts.join("; ")))
}

fn check_quota(state: &State, kind: &Kind, namespace: &str, object: &Value) -> Result<(), Denied> {
    let requested_all = usage(object);
    if requested_all.is_empty() {
        return Ok(());
    }
    let quotas = state.list("v1", "ResourceQuota", Some(namespace));
    if quotas.is_empty() {
        return Ok(());
    }
    if kind.kind == "Pod" {
        for quota in &quotas {
            let hard = quota.pointer("/spec/hard").and_then(Value::as_object).cloned().unwrap_or_default();
            if let Some(problem) = must_specify(&hard, object) {
                return Err(forbidden(kind, object, &format!("failed quota: {}: {problem}", text(quota, "/metadata/name"))));
            }
        }
    }
    let used = namespace_usage(state, namespace);
    for quota in &quotas {
        let hard = quota.pointer("/spec/hard").and_then(Value::as_object).cloned().unwrap_or_default();
        let mut requested = BTreeMap::new();
        let mut used_shown = BTreeMap::new();
        let mut limited = BTreeMap::new();
        for (resource, limit) in &hard {
            let Some(req) = requested_all.get(resource) else { continue };
            let now = used.get(resource).cloned().unwrap_or_else(zero);
            let limit = qty(Some(limit));
            let over = now.checked_add(req).is_none_or(|total| total > limit);
            if over {
                requested.insert(resource.clone(), req.clone());
                used_shown.insert(resource.clone(), now);
                limited.insert(resource.clone(), limit);
            }
        }
        if !requested.is_empty() {
            let reason = format!(
                "exceeded quota: {}, requested: {}, used: {}, limited: {}",
                text(quota, "/metadata/name"),
                pretty(&requested),
                pretty(&used_shown),
                pretty(&limited)
            );
            return Err(forbidden(kind, object, &reason));
        }
    }
    Ok(())
}

/// The quota controller: keeps `status.hard` and `status.used` of every ResourceQuota current.
pub(crate) fn quota_status(state: &mut State) -> bool {
    let mut changed = false;
    let keys = state.scoped_keys("v1", "ResourceQuota");
    if keys.is_empty() {
        return false;
    }
    // Only namespaces with a quota in this pass matter.
    let namespaces: BTreeSet<&str> = keys.iter().filter_map(|k| k.split('|').nth(2)).collect();
    let usage: BTreeMap<String, BTreeMap<String, Quantity>> = namespaces.into_iter().map(|ns| (ns.to_string(), namespace_usage(state, ns))).collect();
    let none = BTreeMap::new();
    for key in keys {
        let Some(mut quota) = state.get_key(&key) else { continue };
        let namespace = text(&quota, "/metadata/namespace").to_string();
        let hard = quota.pointer("/spec/hard").and_then(Value::as_object).cloned().unwrap_or_default();
        let used = usage.get(&namespace).unwrap_or(&none);
        let used_json: serde_json::Map<String, Value> =
            hard.keys().map(|r| (r.clone(), Value::from(format_amount(r, &used.get(r).cloned().unwrap_or_else(zero))))).collect();
        util::set(&mut quota, &["status".into()], json!({"hard": hard, "used": used_json}));
        changed |= state.update(quota);
    }
    changed
}

/// Creates an object on behalf of a controller, through admission; returns the stored object.
pub(crate) fn controller_create(state: &mut State, mut object: Value) -> Result<Value, Denied> {
    let Some(kind) = util::kind_of(&object).cloned() else {
        return Err(Denied { message: "unknown kind".into(), error: super::missing_kind(text(&object, "/apiVersion"), text(&object, "/kind")) });
    };
    let namespace = text(&object, "/metadata/namespace").to_string();
    let terminating = state.get_key(&state::key("v1", "Namespace", "", &namespace)).is_some_and(|n| text(&n, "/status/phase") == "Terminating");
    if terminating {
        return Err(forbidden(&kind, &object, &format!("unable to create new content in namespace {namespace} because it is being terminated")));
    }
    // The API server defaults what a controller creates as it does an apply (a pod gets its
    // `enableServiceLinks`); only Services could be refused there, and no controller makes one.
    let _ = super::defaults::fill_defaults(state, &kind, &mut object, None);
    admit_create(state, &kind, &mut object)?;
    if text(&object, "/metadata/name").is_empty() {
        let name = format!("{}{}", text(&object, "/metadata/generateName"), state.suffix(5));
        util::set(&mut object, &["metadata".into(), "name".into()], Value::from(name));
    }
    Ok(state.create(object))
}
