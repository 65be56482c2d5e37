//! Pods on the virtual clock: the scheduler, the kubelet (start, readiness, injected failures) and
//! the Job controller.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::controllers::{pod_ready, pod_terminal};
use super::state::{self, State};
use super::util::{self, int, parse_rfc3339, qty, text, zero};
use super::workloads::{create_pod, CREATE_RETRY_MS};
use super::Failure;
use crate::backend::being_deleted;
use crate::quantity::Quantity;

/// The node label of a zone.
pub(crate) const ZONE_LABEL: &str = "topology.kubernetes.io/zone";
/// The labels the API server copies from a node to the pods bound to it (its
/// `PodTopologyLabelsAdmission` plugin, on by default since 1.35).
const TOPOLOGY_LABELS: [&str; 2] = [ZONE_LABEL, "topology.kubernetes.io/region"];

/// How long a container runs before an injected crash.
const CRASH_AFTER_MS: u64 = 1000;
/// How long after `ErrImagePull` the kubelet reports `ImagePullBackOff`.
const PULL_BACKOFF_MS: u64 = 10_000;

pub(crate) fn requests(pod: &Value, resource: &str) -> Quantity {
    let Some(containers) = pod.pointer("/spec/containers").and_then(Value::as_array) else { return zero() };
    containers.iter().fold(zero(), |acc, c| {
        let q = qty(c.get("resources").and_then(|r| r.get("requests")).and_then(|r| r.get(resource)));
        acc.checked_add(&q).unwrap_or(acc)
    })
}

fn images(pod: &Value) -> Vec<(String, String)> {
    let containers = pod.pointer("/spec/containers").and_then(Value::as_array).cloned().unwrap_or_default();
    containers.iter().map(|c| (text(c, "/name").to_string(), text(c, "/image").to_string())).collect()
}

/// The scheduler: binds pending pods to the least allocated node that fits their requests.
pub(crate) fn schedule(state: &mut State) -> bool {
    let mut changed = false;
    let pending: Vec<String> = state
        .scoped_keys("v1", "Pod")
        .into_iter()
        .filter(|k| state.objects.summary(k).and_then(|s| s.pod.as_ref()).is_some_and(|p| p.node.is_empty()))
        .collect();
    if pending.is_empty() {
        return false;
    }
    let nodes = state.options.nodes.clone();
    // What each node already runs: pod count and requested CPU and memory.
    let mut load: BTreeMap<String, (u64, Quantity, Quantity)> = nodes.iter().map(|n| (n.name.clone(), (0, zero(), zero()))).collect();
    for p in state.objects.summaries_with_prefix("v1|Pod|").filter_map(|(_, s)| s.pod.as_ref()) {
        if let Some(entry) = load.get_mut(&*p.node) {
            entry.0 += 1;
            entry.1 = entry.1.checked_add(&p.cpu).unwrap_or_else(|| entry.1.clone());
            entry.2 = entry.2.checked_add(&p.memory).unwrap_or_else(|| entry.2.clone());
        }
    }
    for key in pending {
        let Some(mut pod) = state.get_key(&key) else { continue };
        if !text(&pod, "/spec/nodeName").is_empty() || pod_terminal(&pod) {
            continue;
        }
        let (cpu, memory) = (requests(&pod, "cpu"), requests(&pod, "memory"));
        let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
        let mut best: Option<(i128, String)> = None;
        for node in &nodes {
            let (count, used_cpu, used_mem) = load.get(&node.name).cloned().unwrap_or((0, zero(), zero()));
            let cap_cpu = qty(Some(&Value::from(node.cpu.clone())));
            let cap_mem = qty(Some(&Value::from(node.memory.clone())));
            let mut fits = true;
            if count >= u64::from(node.pods) {
                *reasons.entry("Too many pods".into()).or_default() += 1;
                fits = false;
            }
            if used_cpu.checked_add(&cpu).is_none_or(|t| t > cap_cpu) {
                *reasons.entry("Insufficient cpu".into()).or_default() += 1;
                fits = false;
            }
            if used_mem.checked_add(&memory).is_none_or(|t| t > cap_mem) {
                *reasons.entry("Insufficient memory".into()).or_default() += 1;
                fits = false;
            }
            if fits {
                // Least allocated: the lowest share of CPU and memory in use (per mille), then the name.
                let share = |used: &Quantity, cap: &Quantity| if cap.millis() == 0 { 1000 } else { used.millis() * 1000 / cap.millis() };
                let score = share(&used_cpu, &cap_cpu) + share(&used_mem, &cap_mem);
                if best.as_ref().is_none_or(|(s, _)| score < *s) {
                    best = Some((score, node.name.clone()));
                }
            }
        }
        let now = state.now();
        match best {
            Some((_, node)) => {
                if let Some(entry) = load.get_mut(&node) {
                    entry.0 += 1;
                    entry.1 = entry.1.checked_add(&cpu).unwrap_or_else(|| entry.1.clone());
                    entry.2 = entry.2.checked_add(&memory).unwrap_or_else(|| entry.2.clone());
                }
                util::set(&mut pod, &["spec".into(), "nodeName".into()], Value::from(node.clone()));
                copy_topology_labels(state, &node, &mut pod);
                state::set_condition(&mut pod, "PodScheduled", "True", "", "", &now, false);
                let message = format!("Successfully assigned {}/{} to {node}", text(&pod, "/metadata/namespace"), text(&pod, "/metadata/name"));
                state.put(pod.clone());
                state.event(&pod, "Normal", "Scheduled", &message, "default-scheduler");
                changed = true;
            }
            None => {
                let mut parts: Vec<String> = reasons.iter().map(|(r, n)| format!("{n} {r}")).collect();
                parts.sort();
                let message = format!("0/{} nodes are available: {}.", nodes.len(), parts.join(", "));
                if state::set_condition(&mut pod, "PodScheduled", "False", "Unschedulable", &message, &now, false) {
                    state.put(pod.clone());
                    state.event(&pod, "Warning", "FailedScheduling", &message, "default-scheduler");
                    changed = true;
                }
            }
        }
    }
    changed
}

fn failure_of(state: &State, pod: &Value) -> Option<Failure> {
    images(pod).iter().find_map(|(_, image)| state.failure_for(image))
}

fn is_job_pod(pod: &Value) -> bool {
    text(pod, "/spec/restartPolicy") != "Always"
}

fn set_ready(pod: &mut Value, ready: bool, now: &str) {
    let names: Vec<String> = images(pod).into_iter().map(|(n, _)| n).collect();
    let (status, reason, message) =
        if ready { ("True", "", String::new()) } else { ("False", "ContainersNotReady", format!("containers with unready status: [{}]", names.join(" "))) };
    state::set_condition(pod, "ContainersReady", status, reason, &message, now, false);
    state::set_condition(pod, "Ready", status, reason, &message, now, false);
    if let Some(list) = pod.pointer_mut("/status/containerStatuses").and_then(Value::as_array_mut) {
        for c in list.iter_mut() {
            util::set(c, &["ready".into()], Value::from(ready));
        }
    }
}

fn container_statuses(pod: &Value, state_of: impl Fn(&str, &str) -> Value, restarts: i64, last: Option<Value>) -> Value {
    let list: Vec<Value> = images(pod)
        .into_iter()
        .map(|(name, image)| {
            let mut s = json!({
                "name": name, "image": image, "imageID": format!("{image}@sha256:{:08x}", util::fnv32(&image)),
                "containerID": format!("containerd://{:08x}", util::fnv32(&format!("{}/{name}", text(pod, "/metadata/uid")))),
                "ready": false, "started": false, "restartCount": restarts, "state": state_of(&name, &image),
            });
            if s.pointer("/state/running").is_some() {
                util::set(&mut s, &["started".into()], Value::from(true));
            }
            // As a kubelet reports it: `{}` until the container has terminated once.
            util::set(&mut s, &["lastState".into()], last.clone().unwrap_or_else(|| json!({})));
            s
        })
        .collect();
    Value::Array(list)
}

/// The kubelet: starts scheduled pods, makes them ready after the readiness delay, runs Job pods
/// to completion, and plays injected failures.
pub(crate) fn kubelet(state: &mut State) -> bool {
    let mut changed = false;
    let delay = u64::try_from(state.options.readiness_delay.as_millis()).unwrap_or(u64::MAX);
    let job_ms = u64::try_from(state.options.job_duration.as_millis()).unwrap_or(u64::MAX);
    for key in state.scoped_keys("v1", "Pod") {
        let Some(mut pod) = state.get_key(&key) else { continue };
        let node = text(&pod, "/spec/nodeName").to_string();
        if node.is_empty() || pod_terminal(&pod) {
            continue;
        }
        let now_ms = state.clock_ms;
        let now = state.now();
        let failure = failure_of(state, &pod);
        let pod_name = text(&pod, "/metadata/name").to_string();
        let started = text(&pod, "/status/startTime").is_empty();
        if started {
            // Sandbox and containers.
            let node_index = state.options.nodes.iter().position(|n| n.name == node).unwrap_or(0);
            let ip = state.next_pod_ip(node_index);
            let host_ip = format!("192.168.49.{}", node_index + 2);
            let status = util::map_at(&mut pod, &["status"]);
            status.insert("startTime".into(), Value::from(now.clone()));
            status.insert("podIP".into(), Value::from(ip.clone()));
            status.insert("podIPs".into(), json!([{"ip": ip}]));
            status.insert("hostIP".into(), Value::from(host_ip.clone()));
            status.insert("hostIPs".into(), json!([{"ip": host_ip}]));
            state::set_condition(&mut pod, "Initialized", "True", "", "", &now, false);
            let mut events: Vec<(&str, &str, String)> = Vec::new();
            if failure == Some(Failure::PullError) {
                let statuses = container_statuses(
                    &pod,
                    |_, image| json!({"waiting": {"reason": "ErrImagePull", "message": format!("failed to pull and unpack image \"{image}\": not found")}}),
                    0,
                    None,
                );
                util::set(&mut pod, &["status".into(), "containerStatuses".into()], statuses);
                for (_, image) in images(&pod) {
                    events.push(("Normal", "Pulling", format!("Pulling image \"{image}\"")));
                    events.push((
                        "Warning",
                        "Failed",
                        format!("Failed to pull image \"{image}\": rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": not found"),
                    ));
                    events.push(("Warning", "Failed", "Error: ErrImagePull".into()));
                }
            } else {
                let statuses = container_statuses(&pod, |_, _| json!({"running": {"startedAt": now}}), 0, None);
                util::set(&mut pod, &["status".into(), "containerStatuses".into()], statuses);
                util::set(&mut pod, &["status".into(), "phase".into()], Value::from("Running"));
                for (name, image) in images(&pod) {
                    events.push(("Normal", "Pulled", format!("Container image \"{image}\" already present on machine")));
                    events.push(("Normal", "Created", format!("Created container: {name}")));
                    events.push(("Normal", "Started", format!("Started container {name}")));
                }
            }
            set_ready(&mut pod, false, &now);
            state.put(pod.clone());
            for (type_, reason, message) in events {
                state.event(&pod, type_, reason, &message, "kubelet");
            }
            changed = true;
            continue;
        }
        let start = parse_rfc3339(text(&pod, "/status/startTime")).unwrap_or(now_ms);
        let waiting = text(&pod, "/status/containerStatuses/0/state/waiting/reason").to_string();
        match failure {
            Some(Failure::PullError) => {
                if waiting == "ErrImagePull" && now_ms >= start.saturating_add(PULL_BACKOFF_MS) {
                    if let Some(list) = pod.pointer_mut("/status/containerStatuses").and_then(Value::as_array_mut) {
                        for c in list.iter_mut() {
                            let image = text(c, "/image").to_string();
                            util::set(
                                c,
                                &["state".into()],
                                json!({"waiting": {"reason": "ImagePullBackOff", "message": format!("Back-off pulling image \"{image}\"")}}),
                            );
                        }
                    }
                    state.put(pod.clone());
                    for (_, image) in images(&pod) {
                        state.event(&pod, "Normal", "BackOff", &format!("Back-off pulling image \"{image}\""), "kubelet");
                        state.event(&pod, "Warning", "Failed", "Error: ImagePullBackOff", "kubelet");
                    }
                    changed = true;
                }
            }
            Some(Failure::CrashLoop) => {
                let running_since = pod.pointer("/status/containerStatuses/0/state/running/startedAt").and_then(Value::as_str).and_then(parse_rfc3339);
                let restarts = int(&pod, "/status/containerStatuses/0/restartCount", 0);
                if let Some(since) = running_since.filter(|s| now_ms >= s.saturating_add(CRASH_AFTER_MS)) {
                    let last = json!({"terminated": {"exitCode": 1, "reason": "Error", "startedAt": util::rfc3339(since), "finishedAt": now}});
                    if is_job_pod(&pod) {
                        let statuses = container_statuses(&pod, |_, _| last.clone(), restarts, None);
                        util::set(&mut pod, &["status".into(), "containerStatuses".into()], statuses);
                        util::set(&mut pod, &["status".into(), "phase".into()], Value::from("Failed"));
                        set_ready(&mut pod, false, &now);
                        state.put(pod);
                    } else {
                        let backoff = backoff_ms(restarts + 1);
                        let statuses = container_statuses(
                            &pod,
                            |name, _| json!({"waiting": {"reason": "CrashLoopBackOff", "message": format!("back-off {}s restarting failed container={name} pod={pod_name}", backoff / 1000)}}),
                            restarts + 1,
                            Some(last),
                        );
                        util::set(&mut pod, &["status".into(), "containerStatuses".into()], statuses);
                        set_ready(&mut pod, false, &now);
                        state.put(pod.clone());
                        let namespace = text(&pod, "/metadata/namespace").to_string();
                        let uid = text(&pod, "/metadata/uid").to_string();
                        for (name, _) in images(&pod) {
                            state.event(
                                &pod,
                                "Warning",
                                "BackOff",
                                &format!("Back-off restarting failed container {name} in pod {pod_name}_{namespace}({uid})"),
                                "kubelet",
                            );
                        }
                    }
                    changed = true;
                } else if waiting == "CrashLoopBackOff" {
                    let finished = pod
                        .pointer("/status/containerStatuses/0/lastState/terminated/finishedAt")
                        .and_then(Value::as_str)
                        .and_then(parse_rfc3339)
                        .unwrap_or(now_ms);
                    if now_ms >= finished.saturating_add(backoff_ms(restarts)) {
                        let last = pod.pointer("/status/containerStatuses/0/lastState").cloned();
                        let statuses = container_statuses(&pod, |_, _| json!({"running": {"startedAt": now}}), restarts, last);
                        util::set(&mut pod, &["status".into(), "containerStatuses".into()], statuses);
                        state.put(pod.clone());
                        for (name, _) in images(&pod) {
                            state.event(&pod, "Normal", "Started", &format!("Started container {name}"), "kubelet");
                        }
                        changed = true;
                    }
                }
            }
            Some(Failure::NeverReady) | None => {
                if is_job_pod(&pod) {
                    if now_ms >= start.saturating_add(job_ms) {
                        let finished = json!({"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": util::rfc3339(start), "finishedAt": now}});
                        let statuses = container_statuses(&pod, |_, _| finished.clone(), 0, None);
                        util::set(&mut pod, &["status".into(), "containerStatuses".into()], statuses);
                        util::set(&mut pod, &["status".into(), "phase".into()], Value::from("Succeeded"));
                        state::set_condition(&mut pod, "Ready", "False", "PodCompleted", "", &now, false);
                        state::set_condition(&mut pod, "ContainersReady", "False", "PodCompleted", "", &now, false);
                        state.put(pod);
                        changed = true;
                    }
                } else if !pod_ready(&pod) && now_ms >= start.saturating_add(delay) {
                    if failure == Some(Failure::NeverReady) {
                        if state::condition(&pod, "Ready").is_some_and(|c| text(c, "/reason") != "ReadinessProbeFailed") {
                            state::set_condition(
                                &mut pod,
                                "Ready",
                                "False",
                                "ReadinessProbeFailed",
                                "Readiness probe failed: HTTP probe failed with statuscode: 503",
                                &now,
                                false,
                            );
                            state.put(pod.clone());
                            state.event(&pod, "Warning", "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503", "kubelet");
                            changed = true;
                        }
                    } else {
                        set_ready(&mut pod, true, &now);
                        state.put(pod);
                        changed = true;
                    }
                }
            }
        }
    }
    changed
}

/// The kubelet's crash back-off: 10 s, doubling, at most 5 minutes.
fn backoff_ms(restarts: i64) -> u64 {
    let exp = u32::try_from((restarts - 1).clamp(0, 10)).unwrap_or(0);
    (10_000u64 << exp).min(300_000)
}

/// The Job controller: creates pods up to `parallelism`, counts successes and failures, and sets
/// `Complete` or `Failed` (after `backoffLimit` failures).
pub(crate) fn jobs(state: &mut State) -> bool {
    let mut changed = false;
    for key in state.scoped_keys("batch/v1", "Job") {
        let Some(mut job) = state.get_key(&key) else { continue };
        let finished = ["Complete", "Failed"].iter().any(|t| state::condition(&job, t).is_some_and(|c| text(c, "/status") == "True"));
        if finished {
            continue;
        }
        let namespace = text(&job, "/metadata/namespace").to_string();
        let uid = text(&job, "/metadata/uid").to_string();
        let name = text(&job, "/metadata/name").to_string();
        let pods: Vec<Value> = state.owned("v1", "Pod", &namespace, &uid);
        let succeeded = pods.iter().filter(|p| text(p, "/status/phase") == "Succeeded").count() as i64;
        let failed = pods.iter().filter(|p| text(p, "/status/phase") == "Failed").count() as i64;
        let mut active = pods.iter().filter(|p| !pod_terminal(p)).count() as i64;
        let completions = int(&job, "/spec/completions", 1).max(0);
        let parallelism = int(&job, "/spec/parallelism", 1).max(0);
        let backoff_limit = int(&job, "/spec/backoffLimit", 6).max(0);
        let now = state.now();
        if text(&job, "/status/startTime").is_empty() {
            util::set(&mut job, &["status".into(), "startTime".into()], Value::from(now.clone()));
        }
        let mut event: Option<(&str, &str, String)> = None;
        if succeeded >= completions {
            state::set_condition(&mut job, "SuccessCriteriaMet", "True", "CompletionsReached", "Reached expected number of succeeded pods", &now, false);
            state::set_condition(&mut job, "Complete", "True", "CompletionsReached", "Reached expected number of succeeded pods", &now, false);
            util::set(&mut job, &["status".into(), "completionTime".into()], Value::from(now.clone()));
            event = Some(("Normal", "Completed", "Job completed".into()));
        } else if failed > backoff_limit {
            for p in pods.iter().filter(|p| !pod_terminal(p)) {
                state.remove(&state::key_of(p));
            }
            active = 0;
            state::set_condition(&mut job, "FailureTarget", "True", "BackoffLimitExceeded", "Job has reached the specified backoff limit", &now, false);
            state::set_condition(&mut job, "Failed", "True", "BackoffLimitExceeded", "Job has reached the specified backoff limit", &now, false);
            event = Some(("Warning", "BackoffLimitExceeded", "Job has reached the specified backoff limit".into()));
        } else {
            let want = parallelism.min(completions - succeeded).min(active + super::workloads::BURST);
            // A Job marked for deletion creates no more pods.
            let may_create = state.retry_after.get(&uid).is_none_or(|t| state.clock_ms >= *t) && !being_deleted(&job);
            if may_create {
                state.retry_after.remove(&uid);
                while active < want {
                    let labels = [
                        ("batch.kubernetes.io/controller-uid", uid.clone()),
                        ("batch.kubernetes.io/job-name", name.clone()),
                        ("controller-uid", uid.clone()),
                        ("job-name", name.clone()),
                    ];
                    match create_pod(state, &job, &labels, "job-controller") {
                        Ok(_) => {
                            active += 1;
                            changed = true;
                        }
                        Err(_) => {
                            state.retry_after.insert(uid.clone(), state.clock_ms.saturating_add(CREATE_RETRY_MS));
                            break;
                        }
                    }
                }
            }
        }
        let ready = pods.iter().filter(|p| pod_ready(p)).count();
        let status = util::map_at(&mut job, &["status"]);
        status.insert("active".into(), Value::from(active));
        status.insert("succeeded".into(), Value::from(succeeded));
        status.insert("failed".into(), Value::from(failed));
        status.insert("ready".into(), Value::from(ready));
        status.insert("terminating".into(), Value::from(0));
        for k in ["active", "succeeded", "failed"] {
            if status.get(k).and_then(Value::as_i64) == Some(0) {
                status.remove(k);
            }
        }
        let job_copy = job.clone();
        changed |= state.update(job);
        if let Some((type_, reason, message)) = event {
            state.event(&job_copy, type_, reason, &message, "job-controller");
            changed = true;
        }
    }
    changed
}

/// Future instants the kubelet cares about in `namespace`: readiness, Job completion, crash
/// restarts, pull back-off.
pub(crate) fn due(state: &State, namespace: &str) -> Vec<u64> {
    let delay = u64::try_from(state.options.readiness_delay.as_millis()).unwrap_or(u64::MAX);
    let job_ms = u64::try_from(state.options.job_duration.as_millis()).unwrap_or(u64::MAX);
    let mut out = Vec::new();
    for key in state.keys("v1", "Pod", Some(namespace)) {
        // Finished pods have no summary and nothing due: they are not read at all.
        if state.objects.summary(&key).is_none_or(|s| s.pod.is_none()) {
            continue;
        }
        let Some(pod) = state.get_key(&key) else { continue };
        let pod = &pod;
        let Some(start) = parse_rfc3339(text(pod, "/status/startTime")) else { continue };
        match failure_of(state, pod) {
            Some(Failure::PullError) => out.push(start.saturating_add(PULL_BACKOFF_MS)),
            Some(Failure::CrashLoop) => {
                if let Some(s) = pod.pointer("/status/containerStatuses/0/state/running/startedAt").and_then(Value::as_str).and_then(parse_rfc3339) {
                    out.push(s.saturating_add(CRASH_AFTER_MS));
                }
                if let Some(f) = pod.pointer("/status/containerStatuses/0/lastState/terminated/finishedAt").and_then(Value::as_str).and_then(parse_rfc3339) {
                    out.push(f.saturating_add(backoff_ms(int(pod, "/status/containerStatuses/0/restartCount", 0))));
                }
            }
            _ if is_job_pod(pod) => out.push(start.saturating_add(job_ms)),
            _ if !pod_ready(pod) => out.push(start.saturating_add(delay)),
            _ => {}
        }
    }
    out
}

/// Copies the topology labels of the node `node` onto `pod` (replacing the pod's own), as binding
/// a pod to it does.
fn copy_topology_labels(state: &State, node: &str, pod: &mut Value) {
    let labels = node_labels(state, node);
    for label in TOPOLOGY_LABELS {
        if let Some(value) = labels.get(label) {
            util::set(pod, &["metadata".into(), "labels".into(), label.into()], value.clone());
        }
    }
}

/// The labels of the node `name` (none when there is no such node).
pub(super) fn node_labels(state: &State, name: &str) -> Map<String, Value> {
    state.get_key(&state::key("v1", "Node", "", name)).map(|node| util::labels(&node)).unwrap_or_default()
}
