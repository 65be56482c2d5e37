//! The defaults the API server fills in: pod specs (in pods and workload templates), Services
//! (cluster IPs, node ports, traffic policies), Deployments, Jobs, Namespaces, claims and the rest.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::admission;
use super::state::State;
use super::util::{self, text, Path};
use crate::backend::{Cause, Kind};

/// The node ports the API server allocates from (its default `--service-node-port-range`).
const NODE_PORTS: std::ops::RangeInclusive<i64> = 30000..=32767;

/// Sets `path` to `value` unless the object already has a (non-null) value there.
fn fill(v: &mut Value, path: &[&str], value: Value) {
    let p: Path = path.iter().map(|s| s.to_string()).collect();
    if util::get(v, &p).is_none_or(Value::is_null) {
        util::set(v, &p, value);
    }
}

/// Where a kind keeps its pod spec, if it has one.
pub(super) fn pod_spec_pointer(kind: &str) -> Option<&'static str> {
    match kind {
        "Pod" => Some("/spec"),
        "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" | "Job" => Some("/spec/template/spec"),
        "CronJob" => Some("/spec/jobTemplate/spec/template/spec"),
        _ => None,
    }
}

/// `SetDefaults_PodSpec` and `SetDefaults_Container`. `restart_always`: default `restartPolicy` to
/// `Always` (not for Jobs, whose pods must say `OnFailure` or `Never`).
fn pod_spec_defaults(spec: &mut Value, restart_always: bool) {
    if restart_always {
        fill(spec, &["restartPolicy"], Value::from("Always"));
    }
    fill(spec, &["dnsPolicy"], Value::from("ClusterFirst"));
    fill(spec, &["schedulerName"], Value::from("default-scheduler"));
    fill(spec, &["securityContext"], json!({}));
    fill(spec, &["terminationGracePeriodSeconds"], Value::from(30));
    // The v1 API's deprecated `serviceAccount` mirrors `serviceAccountName`, and stands for it
    // when it is the only one given.
    let account = ["serviceAccountName", "serviceAccount"].iter().find_map(|k| spec.get(*k).and_then(Value::as_str).filter(|a| !a.is_empty()));
    if let Some(account) = account.map(str::to_string) {
        for k in ["serviceAccountName", "serviceAccount"] {
            util::set(spec, &[k.into()], Value::from(account.as_str()));
        }
    }
    for list in ["containers", "initContainers"] {
        let Some(containers) = spec.get_mut(list).and_then(Value::as_array_mut) else { continue };
        for container in containers.iter_mut().filter(|c| c.is_object()) {
            let policy = pull_policy(text(container, "/image"));
            fill(container, &["imagePullPolicy"], Value::from(policy));
            fill(container, &["terminationMessagePath"], Value::from("/dev/termination-log"));
            fill(container, &["terminationMessagePolicy"], Value::from("File"));
            if let Some(ports) = container.get_mut("ports").and_then(Value::as_array_mut) {
                for port in ports.iter_mut().filter(|p| p.is_object()) {
                    fill(port, &["protocol"], Value::from("TCP"));
                }
            }
        }
    }
}

/// `Always` for an image tagged `latest` or not tagged, `IfNotPresent` for another tag or a digest.
fn pull_policy(image: &str) -> &'static str {
    if image.contains('@') {
        return "IfNotPresent";
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        Some((_, tag)) if tag != "latest" => "IfNotPresent",
        _ => "Always",
    }
}

/// A Service's defaults: type, session affinity, IP families and traffic policies, a cluster IP
/// (`None` stays headless), each port's protocol and target port, and for `NodePort` and
/// `LoadBalancer` a node port per port: the one the stored Service had for that port, or the lowest
/// free one. Returns the problems with node ports given in the object: outside the range, taken
/// by another Service, or on a type that has none.
fn service_defaults(state: &mut State, object: &mut Value, existing: Option<&Value>) -> Vec<Cause> {
    fill(object, &["spec", "type"], Value::from("ClusterIP"));
    fill(object, &["spec", "sessionAffinity"], Value::from("None"));
    fill(object, &["status", "loadBalancer"], json!({}));
    let type_ = text(object, "/spec/type").to_string();
    if type_ == "ExternalName" {
        return Vec::new();
    }
    if object.pointer("/spec/clusterIP").is_none() {
        let ip = match existing {
            Some(live) => text(live, "/spec/clusterIP").to_string(),
            None => state.next_service_ip(),
        };
        fill(object, &["spec", "clusterIP"], Value::from(ip));
    }
    let ip = object.pointer("/spec/clusterIP").cloned().unwrap_or(Value::Null);
    fill(object, &["spec", "clusterIPs"], json!([ip]));
    fill(object, &["spec", "ipFamilies"], json!(["IPv4"]));
    fill(object, &["spec", "ipFamilyPolicy"], Value::from("SingleStack"));
    fill(object, &["spec", "internalTrafficPolicy"], Value::from("Cluster"));
    let node_ports = matches!(type_.as_str(), "NodePort" | "LoadBalancer");
    if node_ports {
        fill(object, &["spec", "externalTrafficPolicy"], Value::from("Cluster"));
    }
    if type_ == "LoadBalancer" {
        fill(object, &["spec", "allocateLoadBalancerNodePorts"], Value::from(true));
    }
    let key = super::state::key_of(object);
    let mut causes = Vec::new();
    let mut taken = if node_ports { node_ports_in_use(state, &key) } else { BTreeSet::new() };
    let live_ports = existing.and_then(|l| l.pointer("/spec/ports")).and_then(Value::as_array).cloned().unwrap_or_default();
    let Some(ports) = object.pointer_mut("/spec/ports").and_then(Value::as_array_mut) else { return causes };
    for (i, p) in ports.iter_mut().enumerate().filter(|(_, p)| p.is_object()) {
        let port = p.get("port").cloned().unwrap_or(Value::Null);
        fill(p, &["protocol"], Value::from("TCP"));
        fill(p, &["targetPort"], port.clone());
        let field = format!("spec.ports[{i}].nodePort");
        match p.get("nodePort").and_then(Value::as_i64) {
            Some(n) if !node_ports => causes.push(Cause { field, message: format!("Forbidden: may not be used when `type` is '{type_}' (it is {n})") }),
            Some(n) if !NODE_PORTS.contains(&n) => causes.push(Cause {
                field,
                message: format!("Invalid value: {n}: provided port is not in the valid range. The range of valid ports is 30000-32767"),
            }),
            Some(n) if !taken.insert(n) => causes.push(Cause { field, message: format!("Invalid value: {n}: provided port is already allocated") }),
            Some(_) => {}
            None if node_ports => {
                let same = |l: &&Value| l.get("port") == Some(&port) && text(l, "/protocol") == text(p, "/protocol");
                let kept = live_ports.iter().find(same).and_then(|l| l.get("nodePort")).and_then(Value::as_i64);
                let n = kept.filter(|n| !taken.contains(n)).or_else(|| NODE_PORTS.clone().find(|n| !taken.contains(n)));
                if let Some(n) = n {
                    taken.insert(n);
                    p["nodePort"] = Value::from(n);
                }
            }
            None => {}
        }
    }
    causes
}

/// The node ports of every Service but the one stored under `key`.
fn node_ports_in_use(state: &State, key: &str) -> BTreeSet<i64> {
    state
        .iter("v1", "Service")
        .filter(|s| super::state::key_of(s) != key)
        .flat_map(|s| s.pointer("/spec/ports").and_then(Value::as_array).cloned().unwrap_or_default())
        .filter_map(|p| p.get("nodePort").and_then(Value::as_i64))
        .collect()
}

/// Fills the defaults the API server would, for fields the object leaves unset.
pub(super) fn fill_defaults(state: &mut State, kind: &Kind, object: &mut Value, existing: Option<&Value>) -> Vec<Cause> {
    if let Some(pointer) = pod_spec_pointer(&kind.kind) {
        if let Some(spec) = object.pointer_mut(pointer) {
            pod_spec_defaults(spec, !matches!(kind.kind.as_str(), "Job" | "CronJob"));
        }
    }
    let mut causes = Vec::new();
    match kind.kind.as_str() {
        "Namespace" => {
            let name = text(object, "/metadata/name").to_string();
            fill(object, &["metadata", "labels", "kubernetes.io/metadata.name"], Value::from(name));
            fill(object, &["spec", "finalizers"], json!(["kubernetes"]));
            fill(object, &["status", "phase"], Value::from("Active"));
        }
        "Deployment" => {
            fill(object, &["spec", "replicas"], Value::from(1));
            fill(object, &["spec", "revisionHistoryLimit"], Value::from(10));
            fill(object, &["spec", "progressDeadlineSeconds"], Value::from(600));
            fill(object, &["spec", "strategy", "type"], Value::from("RollingUpdate"));
            if text(object, "/spec/strategy/type") == "RollingUpdate" {
                fill(object, &["spec", "strategy", "rollingUpdate", "maxSurge"], Value::from("25%"));
                fill(object, &["spec", "strategy", "rollingUpdate", "maxUnavailable"], Value::from("25%"));
            }
        }
        "Secret" => fill(object, &["type"], Value::from("Opaque")),
        "Job" => {
            fill(object, &["spec", "backoffLimit"], Value::from(6));
            fill(object, &["spec", "completions"], Value::from(1));
            fill(object, &["spec", "parallelism"], Value::from(1));
        }
        "Pod" => {
            fill(object, &["spec", "enableServiceLinks"], Value::from(true));
            super::pod_admission::priority_and_tolerations(object);
            admission::default_requests_from_limits(object);
        }
        "Service" => causes = service_defaults(state, object, existing),
        "LimitRange" => {
            if let Some(items) = object.pointer_mut("/spec/limits").and_then(Value::as_array_mut) {
                for item in items.iter_mut().filter(|i| text(i, "/type") == "Container") {
                    for r in item.pointer("/max").and_then(Value::as_object).map(|m| m.keys().cloned().collect::<Vec<_>>()).unwrap_or_default() {
                        if let Some(v) = item.pointer(&format!("/max/{r}")).cloned() {
                            fill(item, &["default", &r], v);
                        }
                    }
                    for r in item.pointer("/default").and_then(Value::as_object).map(|m| m.keys().cloned().collect::<Vec<_>>()).unwrap_or_default() {
                        if let Some(v) = item.pointer(&format!("/default/{r}")).cloned() {
                            fill(item, &["defaultRequest", &r], v);
                        }
                    }
                }
            }
        }
        "PersistentVolumeClaim" => {
            let storage = object.pointer("/spec/resources/requests/storage").cloned().unwrap_or(Value::Null);
            let modes = object.pointer("/spec/accessModes").cloned().unwrap_or(json!([]));
            fill(object, &["spec", "volumeMode"], Value::from("Filesystem"));
            fill(object, &["status"], json!({"phase": "Bound", "accessModes": modes, "capacity": {"storage": storage}}));
        }
        "ResourceQuota" => {
            let hard = object.pointer("/spec/hard").cloned().unwrap_or(json!({}));
            util::set(object, &["status".into(), "hard".into()], hard);
        }
        _ => {}
    }
    causes
}
