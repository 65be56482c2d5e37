//! The control loop on the virtual clock: reconcile passes, namespace termination and
//! EndpointSlices (deletion and garbage collection are in `gc`).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::{json, Value};

use super::state::{self, owned_by, owner_ref, State};
use super::util::{self, parse_rfc3339, text};
use super::{admission, gc, pods, workloads};
use crate::backend::being_deleted;
use crate::backend::selector::match_map;
use crate::backend::Propagation;

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
            gc::garbage_collect(state);
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

/// After the injected failures changed: every namespace's due instants may have moved (a pod that
/// was to become ready now fails, or the reverse), so all are recomputed, and everything is
/// reconciled.
pub(crate) fn failures_changed(state: &mut State) {
    state.due_all_stale = true;
    reconcile_all(state);
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

/// Brings `state.due` (future instants with work, by namespace) up to date: only the namespaces
/// whose objects changed since it was last computed are looked at again, so the cost of time
/// passing grows with what changed, not with the cluster.
fn refresh_due(state: &mut State) {
    let namespaces: Vec<String> = if std::mem::take(&mut state.due_all_stale) {
        state.due.clear();
        state.due_stale.clear();
        let mut all: BTreeSet<String> = state.keys("v1", "Namespace", None).iter().filter_map(|k| k.rsplit('|').next().map(str::to_string)).collect();
        all.extend(state.objects.keys().filter_map(|k| k.split('|').nth(2)).filter(|ns| !ns.is_empty()).map(str::to_string));
        all.into_iter().collect()
    } else {
        std::mem::take(&mut state.due_stale).into_iter().collect()
    };
    for ns in namespaces {
        let mut times: Vec<u64> = pods::due(state, &ns);
        times.extend(workloads::due(state, &ns));
        if let Some(t) = state
            .get_key(&state::key("v1", "Namespace", "", &ns))
            .and_then(|n| n.pointer("/metadata/deletionTimestamp").and_then(Value::as_str).and_then(parse_rfc3339))
        {
            times.push(t + NAMESPACE_FINALIZE_MS);
        }
        if times.is_empty() {
            state.due.remove(&ns);
        } else {
            state.due.insert(ns, times);
        }
    }
}

/// The earliest future instant at which some controller has something to do.
fn next_due(state: &mut State) -> Option<u64> {
    refresh_due(state);
    let now = state.clock_ms;
    let namespaced = state.due.values().flatten().copied();
    namespaced.chain(state.retry_after.values().copied()).chain(workloads::views_due(state)).filter(|&t| t > now).min()
}

/// Marks for the next reconcile the namespaces where something is due at or before `upto` (a
/// retry, or a spec the lagging ReplicaSet controller sees, reconciles everything).
fn mark_due(state: &mut State, upto: u64) {
    refresh_due(state);
    let due: Vec<String> = state.due.iter().filter(|(_, times)| times.iter().any(|&t| t <= upto)).map(|(ns, _)| ns.clone()).collect();
    state.dirty.extend(due);
    if state.retry_after.values().any(|&t| t <= upto) || workloads::views_due(state).any(|t| t <= upto) {
        state.all_dirty = true;
    }
}

/// Deletes Events whose last occurrence is older than the event TTL (one hour).
fn expire_events(state: &mut State) {
    // Expired: lastTimestamp + TTL < now, that is lastTimestamp < now - TTL.
    let Some(before) = state.clock_ms.checked_sub(EVENT_TTL_MS) else { return };
    let mut expired = state.objects.events_before(before);
    expired.sort(); // in key order, as before the index: the watchers see the same sequence
    for key in expired {
        state.remove(&key);
    }
}

/// The ConfigMap the root CA publisher puts in every namespace.
const ROOT_CA_CONFIGMAP: &str = "kube-root-ca.crt";
const ROOT_CA_DESCRIPTION: &str = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";
/// The simulated cluster's CA bundle: a placeholder, as nothing here speaks TLS.
const SIMULATED_CA: &str = "-----BEGIN CERTIFICATE-----\nc2ltdWxhdGVkIGNsdXN0ZXIgQ0E=\n-----END CERTIFICATE-----\n";

/// The namespace controller: deletes the content of terminating namespaces, then the namespace.
fn namespaces(state: &mut State) -> bool {
    let mut changed = false;
    // The service account controller: every active namespace gets a `default` ServiceAccount; the
    // root CA publisher: a `kube-root-ca.crt` ConfigMap (counted by a `configmaps` quota, as on a
    // cluster). The namespaces of this pass: a namespace's own changes and its content's mark it.
    let in_scope: Vec<Value> = match &state.scope {
        None => state.iter("v1", "Namespace").collect(),
        Some(names) => names.iter().filter_map(|n| state.get_key(&state::key("v1", "Namespace", "", n))).collect(),
    };
    let active: Vec<String> = in_scope.iter().filter(|n| !being_deleted(n)).map(|n| text(n, "/metadata/name").to_string()).collect();
    for name in active {
        if !state.contains_key(&state::key("v1", "ServiceAccount", &name, "default")) {
            state.create(json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": name}}));
            changed = true;
        }
        if !state.contains_key(&state::key("v1", "ConfigMap", &name, ROOT_CA_CONFIGMAP)) {
            state.create(json!({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": ROOT_CA_CONFIGMAP, "namespace": name, "annotations": {"kubernetes.io/description": ROOT_CA_DESCRIPTION}},
                "data": {"ca.crt": SIMULATED_CA},
            }));
            changed = true;
        }
    }
    let terminating: Vec<Value> = in_scope.into_iter().filter(being_deleted).collect();
    for ns in terminating {
        let Some(since) = ns.pointer("/metadata/deletionTimestamp").and_then(Value::as_str).and_then(parse_rfc3339) else { continue };
        let name = text(&ns, "/metadata/name").to_string();
        let content: Vec<String> = state.objects.keys().filter(|k| k.split('|').nth(2) == Some(name.as_str())).cloned().collect();
        let mut remaining = 0;
        for key in &content {
            // Objects with finalizers are marked and stay until their finalizers are removed.
            if state.objects.summary(key).is_some_and(|s| s.deleting) {
                remaining += 1;
                continue;
            }
            let _ = gc::delete(state, key, Propagation::Background);
            changed = true;
            remaining += usize::from(state.contains_key(key));
        }
        if remaining == 0 && util::finalizers(&ns).is_empty() && state.clock_ms >= since + NAMESPACE_FINALIZE_MS {
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
        let Some(svc) = state.get_key(&key) else { continue };
        let namespace = text(&svc, "/metadata/namespace").to_string();
        let name = text(&svc, "/metadata/name").to_string();
        let uid = text(&svc, "/metadata/uid").to_string();
        let Some(selector) = svc.pointer("/spec/selector").and_then(Value::as_object).filter(|s| !s.is_empty()).cloned() else {
            // No selector: the controller manages no slice for this Service.
            for slice in state.keys("discovery.k8s.io/v1", "EndpointSlice", Some(&namespace)) {
                if state.objects.summary(&slice).is_some_and(|s| s.owners.iter().any(|o| **o == *uid)) {
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
        // As the real controller: a pod marked for deletion stays, `terminating` and not `ready`
        // (unless the Service publishes addresses that are not ready); each endpoint has its
        // node's zone.
        let publish = svc.pointer("/spec/publishNotReadyAddresses").and_then(Value::as_bool).unwrap_or(false);
        let mut zones: BTreeMap<String, Option<Value>> = BTreeMap::new();
        let endpoints: Vec<Value> = pods
            .iter()
            .map(|p| {
                let serving = pod_ready(p);
                let terminating = being_deleted(p);
                let node = text(p, "/spec/nodeName");
                let mut endpoint = json!({
                    "addresses": [text(p, "/status/podIP")],
                    "conditions": {"ready": publish || (serving && !terminating), "serving": serving, "terminating": terminating},
                    "nodeName": node,
                    "targetRef": {"kind": "Pod", "namespace": namespace, "name": text(p, "/metadata/name"), "uid": text(p, "/metadata/uid")},
                });
                let zone = zones.entry(node.to_string()).or_insert_with(|| {
                    super::pods::node_labels(state, node).remove(super::pods::ZONE_LABEL).filter(|z| z.as_str().is_some_and(|z| !z.is_empty()))
                });
                if let Some(zone) = zone {
                    util::set(&mut endpoint, &["zone".into()], zone.clone());
                }
                endpoint
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
