//! The control loop on the virtual clock: reconcile passes, deletion with propagation, garbage
//! collection, namespace termination and EndpointSlices.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{json, Value};

use crate::backend::selector::match_map;
use super::state::{self, owned_by, owner_ref, State};
use super::util::{self, parse_rfc3339, text};
use super::{admission, pods, workloads};
use crate::backend::{BackendError, ObjectRef, Propagation};

/// How long a terminating namespace stays before it is removed (after its content is gone).
const NAMESPACE_FINALIZE_MS: u64 = 1000;
/// How long Events are kept after their last occurrence (the API server's default `--event-ttl`).
const EVENT_TTL_MS: u64 = 3_600_000;
/// Upper bound of reconcile passes at one instant (a safety net: passes stop when nothing changes).
const MAX_PASSES: usize = 50;

/// Runs every controller at the current virtual time until nothing changes. Each pass looks at
/// the namespaces where something changed since the previous one (everything when time moved).
pub(crate) fn reconcile(state: &mut State) {
    for _ in 0..MAX_PASSES {
        let all = std::mem::take(&mut state.all_dirty);
        let dirty = std::mem::take(&mut state.dirty);
        if !all && dirty.is_empty() {
            break;
        }
        state.scope = if all { None } else { Some(dirty) };
        if std::mem::take(&mut state.deleted) || all {
            garbage_collect(state);
        }
        if all {
            expire_events(state);
        }
        namespaces(state);
        workloads::deployments(state);
        workloads::replica_sets(state);
        pods::jobs(state);
        pods::schedule(state);
        pods::kubelet(state);
        endpoint_slices(state);
        admission::quota_status(state);
    }
    state.scope = None;
}

/// Runs the controllers over everything (after time moved or failures changed).
pub(crate) fn reconcile_all(state: &mut State) {
    state.all_dirty = true;
    reconcile(state);
}

/// Advances the clock by `duration`, stopping at each instant where something was due. At each
/// instant only the namespaces with something due (readiness, back-offs, deadlines, finalizers)
/// are reconciled, so the cost of time passing grows with what is due, not with the cluster.
pub(crate) fn advance(state: &mut State, duration: Duration) {
    let target = state.clock_ms.saturating_add(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)).min(util::MAX_CLOCK_MS).max(state.clock_ms);
    reconcile(state);
    let moved = target > state.clock_ms;
    while let Some(due) = next_due(state).filter(|&t| t > state.clock_ms && t <= target) {
        state.clock_ms = due;
        mark_due(state, due);
        reconcile(state);
    }
    state.clock_ms = target;
    if moved {
        expire_events(state);
    }
    mark_due(state, target);
    reconcile(state);
}

/// Every instant at which some controller has something to do, with the namespace concerned
/// (`None`: a retry of an object whose namespace is not tracked, which reconciles everything).
fn due_work(state: &State) -> Vec<(u64, Option<String>)> {
    let mut due: Vec<(u64, Option<String>)> = Vec::new();
    due.extend(pods::due(state).into_iter().map(|(t, ns)| (t, Some(ns))));
    due.extend(workloads::due(state).into_iter().map(|(t, ns)| (t, Some(ns))));
    due.extend(state.retry_after.values().map(|&t| (t, None)));
    for ns in state.iter("v1", "Namespace") {
        if let Some(t) = ns.pointer("/metadata/deletionTimestamp").and_then(Value::as_str).and_then(parse_rfc3339) {
            due.push((t + NAMESPACE_FINALIZE_MS, Some(text(ns, "/metadata/name").to_string())));
        }
    }
    due
}

/// The earliest future instant at which some controller has something to do.
fn next_due(state: &State) -> Option<u64> {
    let now = state.clock_ms;
    due_work(state).into_iter().map(|(t, _)| t).filter(|&t| t > now).min()
}

/// Marks for the next reconcile the namespaces where something is due at or before `upto`.
fn mark_due(state: &mut State, upto: u64) {
    for (t, ns) in due_work(state) {
        if t > upto {
            continue;
        }
        match ns {
            Some(ns) => {
                state.dirty.insert(ns);
            }
            None => state.all_dirty = true,
        }
    }
}

/// Deletes the object under `key` with `propagation`; `Ok(false)` when it did not exist.
pub(crate) fn delete(state: &mut State, key: &str, propagation: Propagation) -> Result<bool, BackendError> {
    let Some(object) = state.get_key(key).cloned() else { return Ok(false) };
    let uid = text(&object, "/metadata/uid").to_string();
    if text(&object, "/kind") == "Namespace" {
        let name = text(&object, "/metadata/name").to_string();
        if matches!(name.as_str(), "default" | "kube-system" | "kube-public") {
            return Err(BackendError::Forbidden {
                object: ObjectRef { kind: "Namespace".into(), namespace: None, name: name.clone() },
                message: format!("namespaces {name:?} is forbidden: this namespace may not be deleted"),
            });
        }
        if object.pointer("/metadata/deletionTimestamp").is_none() {
            let mut ns = object;
            let now = state.now();
            util::set(&mut ns, &["metadata".into(), "deletionTimestamp".into()], Value::from(now));
            util::set(&mut ns, &["status".into(), "phase".into()], Value::from("Terminating"));
            state.put(ns);
        }
        return Ok(true);
    }
    match propagation {
        Propagation::Background => {}
        Propagation::Foreground => {
            // Dependents first, depth first; owner-reference cycles are cut by `visited`.
            let mut visited = BTreeSet::from([uid.clone()]);
            let mut order = Vec::new();
            collect_dependents(state, &uid, &mut visited, &mut order);
            for dependent in order.iter().rev() {
                state.remove(dependent);
            }
        }
        Propagation::Orphan => {
            for dependent in dependents(state, &uid) {
                if let Some(mut d) = state.get_key(&dependent).cloned() {
                    if let Some(refs) = d.pointer_mut("/metadata/ownerReferences").and_then(Value::as_array_mut) {
                        refs.retain(|r| text(r, "/uid") != uid);
                        if refs.is_empty() {
                            util::remove(&mut d, &["metadata".into(), "ownerReferences".into()]);
                        }
                    }
                    state.put(d);
                }
            }
        }
    }
    state.retry_after.remove(&uid);
    if matches!(text(&object, "/kind"), "ResourceQuota" | "LimitRange") {
        state.retry_after.clear();
    }
    state.remove(key);
    Ok(true)
}

fn collect_dependents(state: &State, uid: &str, visited: &mut BTreeSet<String>, order: &mut Vec<String>) {
    let mut stack = vec![uid.to_string()];
    while let Some(owner) = stack.pop() {
        for key in dependents(state, &owner) {
            let Some(child) = state.get_key(&key) else { continue };
            let child_uid = text(child, "/metadata/uid").to_string();
            if visited.insert(child_uid.clone()) {
                order.push(key);
                stack.push(child_uid);
            }
        }
    }
}

fn dependents(state: &State, uid: &str) -> Vec<String> {
    state.objects.iter().filter(|(_, o)| owned_by(o, uid)).map(|(k, _)| k.clone()).collect()
}

/// The garbage collector: an object all of whose owners are gone is deleted (in the background).
fn garbage_collect(state: &mut State) -> bool {
    let uids: BTreeSet<String> = state.objects.values().map(|o| text(o, "/metadata/uid").to_string()).collect();
    let orphans: Vec<String> = state
        .objects
        .iter()
        .filter(|(_, o)| {
            o.pointer("/metadata/ownerReferences").and_then(Value::as_array).is_some_and(|refs| !refs.is_empty() && refs.iter().all(|r| !uids.contains(text(r, "/uid"))))
        })
        .map(|(k, _)| k.clone())
        .collect();
    for key in &orphans {
        let _ = delete(state, key, Propagation::Background);
    }
    !orphans.is_empty()
}

/// Deletes Events whose last occurrence is older than the event TTL (one hour).
fn expire_events(state: &mut State) {
    let now = state.clock_ms;
    let expired: Vec<String> = state
        .objects
        .range("v1|Event|".to_string()..)
        .take_while(|(k, _)| k.starts_with("v1|Event|"))
        .filter(|(_, e)| parse_rfc3339(text(e, "/lastTimestamp")).is_some_and(|t| t.saturating_add(EVENT_TTL_MS) < now))
        .map(|(k, _)| k.clone())
        .collect();
    for key in expired {
        state.remove(&key);
    }
}

/// The namespace controller: deletes the content of terminating namespaces, then the namespace.
fn namespaces(state: &mut State) -> bool {
    let mut changed = false;
    // The service account controller: every active namespace gets a `default` ServiceAccount.
    let active: Vec<String> = state
        .iter("v1", "Namespace")
        .filter(|n| n.pointer("/metadata/deletionTimestamp").is_none())
        .map(|n| text(n, "/metadata/name").to_string())
        .collect();
    for name in active {
        if state.get_key(&state::key("v1", "ServiceAccount", &name, "default")).is_none() {
            state.create(json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": name}}));
            changed = true;
        }
    }
    let terminating: Vec<Value> = state.iter("v1", "Namespace").filter(|n| n.pointer("/metadata/deletionTimestamp").is_some()).cloned().collect();
    for ns in terminating {
        let Some(since) = ns.pointer("/metadata/deletionTimestamp").and_then(Value::as_str).and_then(parse_rfc3339) else { continue };
        let name = text(&ns, "/metadata/name").to_string();
        let content: Vec<String> = state.objects.keys().filter(|k| k.split('|').nth(2) == Some(name.as_str())).cloned().collect();
        for key in &content {
            state.remove(key);
            changed = true;
        }
        if state.clock_ms >= since + NAMESPACE_FINALIZE_MS {
            state.remove(&state::key("v1", "Namespace", "", &name));
            changed = true;
        }
    }
    changed
}

/// Whether a pod is Ready.
pub(crate) fn pod_ready(pod: &Value) -> bool {
    state::condition(pod, "Ready").is_some_and(|c| text(c, "/status") == "True")
}

/// Whether a pod has finished (Succeeded or Failed).
pub(crate) fn pod_terminal(pod: &Value) -> bool {
    matches!(text(pod, "/status/phase"), "Succeeded" | "Failed")
}

fn resolve_port(port: &Value, pods: &[Value]) -> Option<i64> {
    let target = port.get("targetPort").or_else(|| port.get("port"))?;
    if let Some(n) = target.as_i64() {
        return Some(n);
    }
    let name = target.as_str()?;
    if let Ok(n) = name.parse::<i64>() {
        return Some(n);
    }
    pods.iter().find_map(|p| {
        p.pointer("/spec/containers").and_then(Value::as_array)?.iter().find_map(|c| {
            c.get("ports").and_then(Value::as_array)?.iter().find(|cp| text(cp, "/name") == name).and_then(|cp| cp.get("containerPort")).and_then(Value::as_i64)
        })
    })
}

/// The EndpointSlice controller: one slice per Service with a selector, listing the selected pods
/// that have an IP, with `conditions.ready` following pod readiness.
fn endpoint_slices(state: &mut State) -> bool {
    let mut changed = false;
    for key in state.scoped_keys("v1", "Service") {
        let Some(svc) = state.get_key(&key).cloned() else { continue };
        let namespace = text(&svc, "/metadata/namespace").to_string();
        let name = text(&svc, "/metadata/name").to_string();
        let uid = text(&svc, "/metadata/uid").to_string();
        let Some(selector) = svc.pointer("/spec/selector").and_then(Value::as_object).filter(|s| !s.is_empty()).cloned() else {
            // No selector: the controller manages no slice for this Service.
            for slice in state.keys("discovery.k8s.io/v1", "EndpointSlice", Some(&namespace)) {
                if state.get_key(&slice).is_some_and(|s| owned_by(s, &uid)) {
                    state.remove(&slice);
                    changed = true;
                }
            }
            continue;
        };
        let pods: Vec<Value> = state
            .list("v1", "Pod", Some(&namespace))
            .into_iter()
            .filter(|p| match_map(&selector, &util::labels(p)) && !pod_terminal(p) && !text(p, "/status/podIP").is_empty())
            .collect();
        let endpoints: Vec<Value> = pods
            .iter()
            .map(|p| {
                let ready = pod_ready(p);
                json!({
                    "addresses": [text(p, "/status/podIP")],
                    "conditions": {"ready": ready, "serving": ready, "terminating": false},
                    "nodeName": text(p, "/spec/nodeName"),
                    "targetRef": {"kind": "Pod", "namespace": namespace, "name": text(p, "/metadata/name"), "uid": text(p, "/metadata/uid")},
                })
            })
            .collect();
        let ports: Vec<Value> = svc
            .pointer("/spec/ports")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|p| {
                let port = resolve_port(p, &pods)?;
                let mut out = json!({"port": port, "protocol": p.get("protocol").cloned().unwrap_or(Value::from("TCP"))});
                if let Some(n) = p.get("name").filter(|n| n.as_str().is_some_and(|s| !s.is_empty())) {
                    util::set(&mut out, &["name".into()], n.clone());
                }
                Some(out)
            })
            .collect();
        let existing = state
            .list("discovery.k8s.io/v1", "EndpointSlice", Some(&namespace))
            .into_iter()
            .find(|s| owned_by(s, &uid) && util::labels(s).get("kubernetes.io/service-name").and_then(Value::as_str) == Some(name.as_str()));
        let mut slice = match existing {
            Some(s) => s,
            None => {
                let suffix = state.suffix(5);
                json!({
                    "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                    "metadata": {
                        "name": format!("{name}-{suffix}"), "namespace": namespace,
                        "generateName": format!("{name}-"),
                        "labels": {"kubernetes.io/service-name": name, "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"},
                        "ownerReferences": [owner_ref(&svc)],
                    },
                    "addressType": "IPv4",
                })
            }
        };
        let creating = slice.pointer("/metadata/uid").is_none();
        if let Some(m) = slice.as_object_mut() {
            m.insert("endpoints".into(), Value::Array(endpoints));
            m.insert("ports".into(), Value::Array(ports));
        }
        if creating {
            state.create(slice);
            changed = true;
        } else {
            changed |= state.update(slice);
        }
    }
    changed
}
