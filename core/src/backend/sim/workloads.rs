//! The Deployment and ReplicaSet controllers: template hashes, rolling updates, scaling, history,
//! status and conditions, and pod creation through admission (with `FailedCreate` on refusal).

use serde_json::{json, Value};

use super::admission;
use super::controllers::{pod_ready, pod_terminal};
use super::state::{self, owner_ref, State};
use super::util::{self, int, int_or_percent, parse_rfc3339, text};
use crate::backend::being_deleted;
use crate::backend::selector::match_label_selector;

const HASH_LABEL: &str = "pod-template-hash";
const REVISION: &str = "deployment.kubernetes.io/revision";
/// How long a ReplicaSet waits before retrying pod creation after an admission refusal.
pub(crate) const CREATE_RETRY_MS: u64 = 5000;

/// The pod-template hash of a Deployment's template (FNV-1a of its JSON, encoded like Kubernetes).
pub(crate) fn template_hash(template: &Value) -> String {
    util::safe_encode(&util::fnv32(&template.to_string()).to_string())
}

fn owned(state: &State, api_version: &str, kind: &str, namespace: &str, uid: &str) -> Vec<Value> {
    state.owned(api_version, kind, namespace, uid)
}

fn spec_replicas(o: &Value) -> i64 {
    int(o, "/spec/replicas", 1).clamp(0, i64::from(i32::MAX))
}

/// At most this many pods are created per owner and pass (Kubernetes' `burstReplicas`).
pub(crate) const BURST: i64 = 500;

/// Seconds from an object field as milliseconds (non-negative, bounded).
pub(crate) fn seconds_ms(o: &Value, pointer: &str, default: i64) -> u64 {
    u64::try_from(int(o, pointer, default).clamp(0, i64::from(i32::MAX))).unwrap_or(0) * 1000
}

fn available(rs: &Value) -> i64 {
    int(rs, "/status/availableReplicas", 0)
}

fn scale(state: &mut State, deployment: &Value, rs: &mut Value, to: i64, max_surge: i64) -> bool {
    let from = spec_replicas(rs);
    if from == to {
        return false;
    }
    let replicas = spec_replicas(deployment);
    util::set(rs, &["spec".into(), "replicas".into()], Value::from(to));
    let generation = int(rs, "/metadata/generation", 1) + 1;
    util::set(rs, &["metadata".into(), "generation".into()], Value::from(generation));
    let annotations = util::map_at(rs, &["metadata", "annotations"]);
    annotations.insert("deployment.kubernetes.io/desired-replicas".into(), Value::from(replicas.to_string()));
    annotations.insert("deployment.kubernetes.io/max-replicas".into(), Value::from((replicas + max_surge).to_string()));
    state.update(rs.clone());
    let verb = if to > from { "up" } else { "down" };
    let message = format!("Scaled {verb} replica set {} from {from} to {to}", text(rs, "/metadata/name"));
    state.event(deployment, "Normal", "ScalingReplicaSet", &message, "deployment-controller");
    true
}

/// The Deployment controller.
pub(crate) fn deployments(state: &mut State) -> bool {
    let mut changed = false;
    for key in state.scoped_keys("apps/v1", "Deployment") {
        if let Some(d) = state.get_key(&key) {
            changed |= deployment(state, d);
        }
    }
    changed
}

fn deployment(state: &mut State, d: Value) -> bool {
    let mut changed = false;
    let namespace = text(&d, "/metadata/namespace").to_string();
    let name = text(&d, "/metadata/name").to_string();
    let uid = text(&d, "/metadata/uid").to_string();
    let replicas = spec_replicas(&d);
    let template = d.pointer("/spec/template").cloned().unwrap_or(json!({}));
    let hash = template_hash(&template);
    let recreate = text(&d, "/spec/strategy/type") == "Recreate";
    let rolling = d.pointer("/spec/strategy/rollingUpdate");
    let mut max_surge = if recreate { 0 } else { int_or_percent(rolling.and_then(|r| r.get("maxSurge")), replicas, "25%", true) };
    let mut max_unavailable = if recreate { replicas } else { int_or_percent(rolling.and_then(|r| r.get("maxUnavailable")), replicas, "25%", false) };
    if max_surge == 0 && max_unavailable == 0 {
        max_unavailable = 1;
    }
    max_surge = max_surge.max(0);

    let mut all = owned(state, "apps/v1", "ReplicaSet", &namespace, &uid);
    all.sort_by(|a, b| (revision(a), text(a, "/metadata/name")).cmp(&(revision(b), text(b, "/metadata/name"))));
    let mut new_rs = all.iter().find(|rs| text(rs, &format!("/metadata/labels/{HASH_LABEL}")) == hash).cloned();
    let mut old: Vec<Value> = all.iter().filter(|rs| text(rs, &format!("/metadata/labels/{HASH_LABEL}")) != hash).cloned().collect();
    let old_total: i64 = old.iter().map(spec_replicas).sum();
    let old_pods: i64 = old.iter().map(|rs| int(rs, "/status/replicas", 0)).sum();
    let paused = d.pointer("/spec/paused").and_then(Value::as_bool).unwrap_or(false);
    // A Deployment marked for deletion only has its status kept (the real controller's
    // `syncStatusOnly`): no ReplicaSet is created, scaled or cleaned up.
    let deleting = being_deleted(&d);
    let mut created_rs = false;

    if new_rs.is_none() && !paused && !deleting {
        let initial = if recreate {
            if old_total > 0 || old_pods > 0 {
                0
            } else {
                replicas
            }
        } else if old_total == 0 {
            replicas
        } else {
            (replicas + max_surge - old_total).clamp(0, replicas)
        };
        let next_revision = all.iter().map(revision).max().unwrap_or(0) + 1;
        let rs_name = format!("{name}-{hash}");
        let mut rs_template = template.clone();
        util::set(&mut rs_template, &["metadata".into(), "labels".into(), HASH_LABEL.into()], Value::from(hash.clone()));
        let mut selector = d.pointer("/spec/selector").cloned().unwrap_or(json!({}));
        util::set(&mut selector, &["matchLabels".into(), HASH_LABEL.into()], Value::from(hash.clone()));
        let mut labels = template.pointer("/metadata/labels").cloned().unwrap_or(json!({}));
        util::set(&mut labels, &[HASH_LABEL.into()], Value::from(hash.clone()));
        let rs = json!({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {
                "name": rs_name, "namespace": namespace, "labels": labels,
                "annotations": {
                    REVISION: next_revision.to_string(),
                    "deployment.kubernetes.io/desired-replicas": replicas.to_string(),
                    "deployment.kubernetes.io/max-replicas": (replicas + max_surge).to_string(),
                },
                "ownerReferences": [owner_ref(&d)],
            },
            "spec": {
                "replicas": initial, "selector": selector, "template": rs_template,
                "minReadySeconds": int(&d, "/spec/minReadySeconds", 0),
            },
        });
        let stored = state.create(rs);
        if initial > 0 {
            let message = format!("Scaled up replica set {} from 0 to {initial}", text(&stored, "/metadata/name"));
            state.event(&d, "Normal", "ScalingReplicaSet", &message, "deployment-controller");
        }
        new_rs = Some(stored);
        created_rs = true;
        changed = true;
    }
    let Some(mut new_rs) = new_rs else {
        // Paused with a template nobody rolled out yet: only the status is kept current.
        changed |= deployment_status(state, &d, &Value::Null, false, max_unavailable);
        return changed;
    };
    // A rollback to an older template reuses its ReplicaSet, which becomes the newest revision.
    let newest_old = old.iter().map(revision).max().unwrap_or(0);
    if revision(&new_rs) <= newest_old {
        util::set(&mut new_rs, &["metadata".into(), "annotations".into(), REVISION.into()], Value::from((newest_old + 1).to_string()));
        changed |= state.update(new_rs.clone());
    }
    // The Deployment carries the revision of its current ReplicaSet, like the real controller.
    let current_revision = revision(&new_rs).to_string();
    if text(&d, "/metadata/annotations/deployment.kubernetes.io~1revision") != current_revision {
        if let Some(mut fresh) = state.get_key(&state::key_of(&d)) {
            util::set(&mut fresh, &["metadata".into(), "annotations".into(), REVISION.into()], Value::from(current_revision));
            changed |= state.update(fresh);
        }
    }
    // Keep the template's minReadySeconds in step.
    if int(&new_rs, "/spec/minReadySeconds", 0) != int(&d, "/spec/minReadySeconds", 0) {
        util::set(&mut new_rs, &["spec".into(), "minReadySeconds".into()], Value::from(int(&d, "/spec/minReadySeconds", 0)));
        changed |= state.update(new_rs.clone());
    }

    if !paused && !deleting {
        if recreate {
            if old_total > 0 {
                for rs in old.iter_mut() {
                    changed |= scale(state, &d, rs, 0, max_surge);
                }
            } else if old_pods == 0 {
                changed |= scale(state, &d, &mut new_rs, replicas, max_surge);
            }
        } else if old_total == 0 {
            changed |= scale(state, &d, &mut new_rs, replicas, max_surge);
        } else {
            // Scale up the new ReplicaSet within maxSurge.
            let total = old_total + spec_replicas(&new_rs);
            let new_count = spec_replicas(&new_rs);
            if new_count < replicas {
                let up = (replicas + max_surge - total).min(replicas - new_count);
                if up > 0 {
                    changed |= scale(state, &d, &mut new_rs, new_count + up, max_surge);
                }
            } else if new_count > replicas {
                changed |= scale(state, &d, &mut new_rs, replicas, max_surge);
            }
            // Scale down old ReplicaSets within maxUnavailable.
            let all_pods = old.iter().map(spec_replicas).sum::<i64>() + spec_replicas(&new_rs);
            let min_available = replicas - max_unavailable;
            let new_unavailable = (spec_replicas(&new_rs) - available(&new_rs)).max(0);
            let mut budget = all_pods - min_available - new_unavailable;
            if budget > 0 {
                for rs in old.iter_mut() {
                    let unhealthy = (spec_replicas(rs) - available(rs)).max(0).min(budget);
                    if unhealthy > 0 {
                        let to = spec_replicas(rs) - unhealthy;
                        changed |= scale(state, &d, rs, to, max_surge);
                        budget -= unhealthy;
                    }
                }
                let available_total: i64 = old.iter().map(|rs| available(rs).min(spec_replicas(rs))).sum::<i64>() + available(&new_rs);
                let mut down = (available_total - min_available).min(budget);
                for rs in old.iter_mut() {
                    if down <= 0 {
                        break;
                    }
                    let cut = spec_replicas(rs).min(down);
                    if cut > 0 {
                        let to = spec_replicas(rs) - cut;
                        changed |= scale(state, &d, rs, to, max_surge);
                        down -= cut;
                    }
                }
            }
        }
    }

    // History: old ReplicaSets at zero beyond revisionHistoryLimit are deleted, oldest first.
    let limit = usize::try_from(int(&d, "/spec/revisionHistoryLimit", 10).max(0)).unwrap_or(usize::MAX);
    let idle: Vec<&Value> = old.iter().filter(|rs| spec_replicas(rs) == 0 && int(rs, "/status/replicas", 0) == 0).collect();
    if idle.len() > limit && !deleting {
        for rs in idle.iter().take(idle.len() - limit) {
            state.remove(&state::key_of(rs));
            changed = true;
        }
    }

    changed |= deployment_status(state, &d, &new_rs, created_rs, max_unavailable);
    changed
}

fn revision(rs: &Value) -> i64 {
    text(rs, "/metadata/annotations/deployment.kubernetes.io~1revision").parse().unwrap_or(0)
}

fn deployment_status(state: &mut State, d: &Value, new_rs: &Value, created_rs: bool, max_unavailable: i64) -> bool {
    let Some(mut d) = state.get_key(&state::key_of(d)) else { return false };
    let uid = text(&d, "/metadata/uid").to_string();
    let namespace = text(&d, "/metadata/namespace").to_string();
    let all = owned(state, "apps/v1", "ReplicaSet", &namespace, &uid);
    let new_rs = state.get_key(&state::key_of(new_rs)).unwrap_or_else(|| new_rs.clone());
    let sum = |p: &str| all.iter().map(|rs| int(rs, p, 0)).sum::<i64>();
    let replicas = spec_replicas(&d);
    let total = sum("/status/replicas");
    let updated = int(&new_rs, "/status/replicas", 0);
    let ready = sum("/status/readyReplicas");
    let avail = sum("/status/availableReplicas");
    let now = state.now();
    let previous = d.get("status").cloned().unwrap_or(json!({}));
    let mut status = json!({"observedGeneration": int(&d, "/metadata/generation", 1), "terminatingReplicas": sum("/status/terminatingReplicas")});
    for (k, v) in [
        ("replicas", total),
        ("updatedReplicas", updated),
        ("readyReplicas", ready),
        ("availableReplicas", avail),
        ("unavailableReplicas", (replicas - avail).max(0)),
    ] {
        if v != 0 {
            util::set(&mut status, &[k.into()], Value::from(v));
        }
    }
    if let Some(conds) = previous.get("conditions") {
        util::set(&mut status, &["conditions".into()], conds.clone());
    }
    util::set(&mut d, &["status".into()], status);

    let rs_name = text(&new_rs, "/metadata/name").to_string();
    if avail >= replicas - max_unavailable {
        state::set_condition(&mut d, "Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.", &now, true);
    } else {
        state::set_condition(&mut d, "Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.", &now, true);
    }
    let complete = updated == replicas && total == replicas && avail == replicas;
    // Progress as the real controller defines it: more updated, ready or available replicas, or
    // fewer old ones.
    let prev = |k: &str| previous.get(k).and_then(Value::as_i64).unwrap_or(0);
    let progressed = updated > prev("updatedReplicas")
        || total - updated < prev("replicas") - prev("updatedReplicas")
        || ready > prev("readyReplicas")
        || avail > prev("availableReplicas");
    let progressing = state::condition(&d, "Progressing").cloned();
    let reason = progressing.as_ref().map(|p| text(p, "/reason").to_string()).unwrap_or_default();
    let paused = d.pointer("/spec/paused").and_then(Value::as_bool).unwrap_or(false);
    if paused {
        state::set_condition(&mut d, "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused", &now, true);
    } else if reason == "DeploymentPaused" {
        state::set_condition(&mut d, "Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed", &now, true);
    }
    if paused {
        // No progress is expected while paused.
    } else if complete {
        state::set_condition(
            &mut d,
            "Progressing",
            "True",
            "NewReplicaSetAvailable",
            &format!("ReplicaSet {rs_name:?} has successfully progressed."),
            &now,
            true,
        );
    } else if created_rs {
        state::set_condition(&mut d, "Progressing", "True", "NewReplicaSetCreated", &format!("Created new replica set {rs_name:?}"), &now, true);
    } else if progressed {
        // Progress moves the deadline: lastUpdateTime is refreshed even when the reason is the same.
        remove_progressing_if_same(&mut d);
        state::set_condition(&mut d, "Progressing", "True", "ReplicaSetUpdated", &format!("ReplicaSet {rs_name:?} is progressing."), &now, true);
    } else if let Some(p) = progressing.filter(|_| reason != "NewReplicaSetAvailable" && reason != "ProgressDeadlineExceeded") {
        let deadline = seconds_ms(&d, "/spec/progressDeadlineSeconds", 600);
        let since = parse_rfc3339(text(&p, "/lastUpdateTime")).unwrap_or(state.clock_ms);
        if state.clock_ms > since.saturating_add(deadline) {
            state::set_condition(
                &mut d,
                "Progressing",
                "False",
                "ProgressDeadlineExceeded",
                &format!("ReplicaSet {rs_name:?} has timed out progressing."),
                &now,
                true,
            );
        }
    }
    let failure = all.iter().find_map(|rs| state::condition(rs, "ReplicaFailure").filter(|c| text(c, "/status") == "True").cloned());
    match failure {
        Some(c) => {
            state::set_condition(&mut d, "ReplicaFailure", "True", text(&c, "/reason"), text(&c, "/message"), &now, true);
        }
        None => {
            state::remove_condition(&mut d, "ReplicaFailure");
        }
    }
    state.update(d)
}

/// Drops the Progressing condition when it says ReplicaSetUpdated already, so that setting it again
/// refreshes `lastUpdateTime` (progress moves the deadline, like the real controller).
fn remove_progressing_if_same(d: &mut Value) {
    let same = state::condition(d, "Progressing").is_some_and(|c| text(c, "/reason") == "ReplicaSetUpdated" && text(c, "/status") == "True");
    if same {
        if let Some(list) = d.pointer_mut("/status/conditions").and_then(Value::as_array_mut) {
            for c in list.iter_mut().filter(|c| text(c, "/type") == "Progressing") {
                let transition = c.get("lastTransitionTime").cloned();
                *c = json!({"type": "Progressing", "status": "True", "reason": "", "message": "", "lastTransitionTime": transition});
            }
        }
    }
}

/// The ReplicaSet controller.
pub(crate) fn replica_sets(state: &mut State) -> bool {
    let mut changed = false;
    for key in state.scoped_keys("apps/v1", "ReplicaSet") {
        if let Some(rs) = state.get_key(&key) {
            changed |= replica_set(state, rs);
        }
    }
    changed
}

/// Order in which pods are removed on scale-down: unscheduled, pending, not ready, then newest.
fn deletion_rank(pod: &Value) -> (bool, bool, bool, std::cmp::Reverse<String>, std::cmp::Reverse<String>) {
    (
        !text(pod, "/spec/nodeName").is_empty(),
        text(pod, "/status/phase") == "Running",
        pod_ready(pod),
        std::cmp::Reverse(text(pod, "/metadata/creationTimestamp").to_string()),
        std::cmp::Reverse(text(pod, "/metadata/name").to_string()),
    )
}

/// Creates the pod of an owner (ReplicaSet or Job) from its template, through admission. On
/// refusal, records `FailedCreate` and returns the API server's message.
pub(crate) fn create_pod(state: &mut State, owner: &Value, extra_labels: &[(&str, String)], component: &str) -> Result<Value, String> {
    let namespace = text(owner, "/metadata/namespace").to_string();
    let mut metadata = owner.pointer("/spec/template/metadata").cloned().unwrap_or(json!({}));
    for (k, v) in extra_labels {
        util::set(&mut metadata, &["labels".into(), (*k).into()], Value::from(v.clone()));
    }
    let meta = util::map_at(&mut metadata, &[]);
    meta.insert("generateName".into(), Value::from(format!("{}-", text(owner, "/metadata/name"))));
    meta.insert("namespace".into(), Value::from(namespace));
    meta.insert("ownerReferences".into(), json!([owner_ref(owner)]));
    meta.remove("name");
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": metadata,
        "spec": owner.pointer("/spec/template/spec").cloned().unwrap_or(json!({})),
        "status": {"phase": "Pending"},
    });
    match admission::controller_create(state, pod) {
        Ok(pod) => {
            let message = format!("Created pod: {}", text(&pod, "/metadata/name"));
            state.event(owner, "Normal", "SuccessfulCreate", &message, component);
            Ok(pod)
        }
        Err(denied) => {
            state.event(owner, "Warning", "FailedCreate", &format!("Error creating: {}", denied.message), component);
            Err(denied.message)
        }
    }
}

/// The generation and replica count the ReplicaSet controller acts on for `rs`: its spec, or with
/// `SimOptions::replica_set_sync_delay`, each spec it was handed that long ago, in turn (one per
/// reconcile pass, so a scale-down and a scale-up handed one after the other are both made).
/// `None` while it has seen no spec of `rs` yet.
fn controller_view(state: &mut State, rs: &Value) -> Option<(i64, i64)> {
    let generation = int(rs, "/metadata/generation", 1);
    let delay = u64::try_from(state.options.replica_set_sync_delay.as_millis()).unwrap_or(u64::MAX);
    if delay == 0 {
        return Some((generation, spec_replicas(rs)));
    }
    let now = state.clock_ms;
    let view = state.replica_set_views.entry(text(rs, "/metadata/uid").to_string()).or_default();
    if generation > view.pending.back().map_or(view.generation, |handed| handed.1) {
        view.pending.push_back((now.saturating_add(delay), generation, spec_replicas(rs)));
    }
    if let Some((_, seen, replicas)) = view.pending.front().copied().filter(|handed| handed.0 <= now) {
        view.pending.pop_front();
        (view.generation, view.replicas) = (seen, replicas);
    }
    (view.generation > 0).then_some((view.generation, view.replicas))
}

/// The instants at which the lagging ReplicaSet controller sees a spec it was handed.
pub(crate) fn views_due(state: &State) -> impl Iterator<Item = u64> + '_ {
    state.replica_set_views.values().flat_map(|view| view.pending.iter().map(|handed| handed.0))
}

fn replica_set(state: &mut State, rs: Value) -> bool {
    let mut changed = false;
    let namespace = text(&rs, "/metadata/namespace").to_string();
    let uid = text(&rs, "/metadata/uid").to_string();
    let Some((observed, want)) = controller_view(state, &rs) else { return false };
    // Pods marked for deletion (held by finalizers) no longer count: they are replaced, and counted
    // as terminating.
    let (terminating, mut pods): (Vec<Value>, Vec<Value>) =
        owned(state, "v1", "Pod", &namespace, &uid).into_iter().filter(|p| !pod_terminal(p)).partition(being_deleted);
    let mut failure: Option<String> = None;
    // A ReplicaSet marked for deletion neither creates nor deletes pods.
    let diff = if being_deleted(&rs) { 0 } else { want - pods.len() as i64 };
    let may_create = state.retry_after.get(&uid).is_none_or(|t| state.clock_ms >= *t);
    if diff > 0 && may_create {
        state.retry_after.remove(&uid);
        for _ in 0..diff.min(BURST) {
            match create_pod(state, &rs, &[], "replicaset-controller") {
                Ok(pod) => {
                    pods.push(pod);
                    changed = true;
                }
                Err(message) => {
                    state.retry_after.insert(uid.clone(), state.clock_ms.saturating_add(CREATE_RETRY_MS));
                    failure = Some(message);
                    break;
                }
            }
        }
    } else if diff > 0 {
        failure = state::condition(&rs, "ReplicaFailure").map(|c| text(c, "/message").to_string());
    } else if diff < 0 {
        pods.sort_by_key(deletion_rank);
        for pod in pods.drain(..(-diff) as usize) {
            state.remove(&state::key_of(&pod));
            state.event(&rs, "Normal", "SuccessfulDelete", &format!("Deleted pod: {}", text(&pod, "/metadata/name")), "replicaset-controller");
            changed = true;
        }
    }
    let Some(mut rs) = state.get_key(&state::key_of(&rs)) else { return changed };
    let now = state.now();
    let min_ready_ms = seconds_ms(&rs, "/spec/minReadySeconds", 0);
    let ready: Vec<&Value> = pods.iter().filter(|p| pod_ready(p)).collect();
    let available = ready
        .iter()
        .filter(|p| {
            let since = state::condition(p, "Ready").and_then(|c| parse_rfc3339(text(c, "/lastTransitionTime"))).unwrap_or(0);
            state.clock_ms >= since + min_ready_ms
        })
        .count();
    let previous_conditions = rs.pointer("/status/conditions").cloned();
    let fully_labeled = pods.iter().filter(|p| match_label_selector(rs.pointer("/spec/selector"), &util::labels(p))).count();
    let mut status = json!({"replicas": pods.len(), "observedGeneration": observed, "terminatingReplicas": terminating.len()});
    if fully_labeled > 0 {
        util::set(&mut status, &["fullyLabeledReplicas".into()], Value::from(fully_labeled));
    }
    if !ready.is_empty() {
        util::set(&mut status, &["readyReplicas".into()], Value::from(ready.len()));
    }
    if available > 0 {
        util::set(&mut status, &["availableReplicas".into()], Value::from(available));
    }
    if let Some(c) = previous_conditions {
        util::set(&mut status, &["conditions".into()], c);
    }
    util::set(&mut rs, &["status".into()], status);
    match failure {
        Some(message) => {
            state::set_condition(&mut rs, "ReplicaFailure", "True", "FailedCreate", &message, &now, false);
        }
        None => {
            state::remove_condition(&mut rs, "ReplicaFailure");
        }
    }
    if rs.pointer("/status/conditions").and_then(Value::as_array).is_some_and(Vec::is_empty) {
        util::remove(&mut rs, &["status".into(), "conditions".into()]);
    }
    changed |= state.update(rs);
    changed
}

/// Future instants the workload controllers care about: progress deadlines and minReadySeconds.
pub(crate) fn due(state: &State, namespace: &str) -> Vec<u64> {
    let mut out = Vec::new();
    for d in state.list("apps/v1", "Deployment", Some(namespace)) {
        let d = &d;
        if let Some(p) = state::condition(d, "Progressing") {
            if !matches!(text(p, "/reason"), "NewReplicaSetAvailable" | "ProgressDeadlineExceeded" | "DeploymentPaused") {
                if let Some(t) = parse_rfc3339(text(p, "/lastUpdateTime")) {
                    out.push(t.saturating_add(seconds_ms(d, "/spec/progressDeadlineSeconds", 600)).saturating_add(1));
                }
            }
        }
        let min_ready = seconds_ms(d, "/spec/minReadySeconds", 0);
        if min_ready > 0 {
            for p in state.list("v1", "Pod", Some(namespace)) {
                if let Some(t) =
                    state::condition(&p, "Ready").filter(|c| text(c, "/status") == "True").and_then(|c| parse_rfc3339(text(c, "/lastTransitionTime")))
                {
                    out.push(t + min_ready);
                }
            }
        }
    }
    out
}
