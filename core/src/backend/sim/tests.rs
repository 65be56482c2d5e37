//! Tests of the simulated cluster: one or more per simulated behaviour, through the `Backend` trait.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{json, Value};

use super::{Failure, ImageFailure, SimulatedCluster};
use crate::backend::wait::{self, Condition, Target};
use crate::backend::{ApplyOptions, Backend, BackendError, Change, ConflictPolicy, Kind, Propagation, Selector, WatchEvent};

fn kind(name: &str) -> Kind {
    crate::backend::kind::known_kinds().into_iter().find(|k| k.kind == name).unwrap_or_else(|| Kind::custom("v1", name, "x", true))
}

fn namespace(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
}

fn quota(ns: &str, hard: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "quota", "namespace": ns}, "spec": {"hard": hard}})
}

fn deployment(ns: &str, name: &str, version: &str, image: &str, replicas: i64) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": {"app": "web", "version": version}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web", "version": version}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": {"app": "web", "version": version}},
                "spec": {"containers": [{
                    "name": "web", "image": image, "ports": [{"name": "http", "containerPort": 8080}],
                    "resources": {"limits": {"cpu": "200m", "memory": "128Mi"}, "requests": {"cpu": "100m", "memory": "64Mi"}},
                }]},
            },
        },
    })
}

fn service(ns: &str, selector: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": ns},
        "spec": {"selector": selector, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
    })
}

fn pod(ns: &str, name: &str, resources: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"containers": [{"name": "web", "image": "nginx:1.27", "resources": resources}]},
    })
}

async fn apply(c: &SimulatedCluster, objects: &[Value]) -> Vec<crate::backend::Applied> {
    match c.apply(objects, &ApplyOptions::default()).await {
        Ok(a) => a,
        Err(e) => panic!("apply failed: {e}"),
    }
}

async fn get(c: &SimulatedCluster, k: &str, ns: Option<&str>, name: &str) -> Value {
    c.get(&kind(k), ns, name).await.ok().flatten().unwrap_or_else(|| panic!("{k} {name} missing"))
}

async fn list(c: &SimulatedCluster, k: &str, ns: &str, labels: Option<&str>) -> Vec<Value> {
    let selector = Selector { labels: labels.map(str::to_string), fields: None };
    c.list(&kind(k), Some(ns), &selector).await.unwrap_or_default()
}

async fn events(c: &SimulatedCluster, ns: &str, involved: &str) -> Vec<Value> {
    let selector = Selector { labels: None, fields: Some(format!("involvedObject.name={involved}")) };
    c.list(&kind("Event"), Some(ns), &selector).await.unwrap_or_default()
}

async fn wait_available(c: &SimulatedCluster, ns: &str, name: &str, secs: u64) -> Result<Vec<Value>, BackendError> {
    let target = Target::object(kind("Deployment"), Some(ns), name);
    wait::wait_for(c, &target, &wait::deployment_available(), Duration::from_secs(secs)).await
}

fn s<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn spec_files() -> (crate::Tenant, crate::Release, crate::Release) {
    let tenant = crate::spec::tenant_from_yaml(include_str!("../../../../examples/specs/acme.tenant.yaml")).expect("tenant spec");
    let blue = crate::spec::release_from_yaml(include_str!("../../../../examples/specs/webserver-blue.release.yaml")).expect("blue spec");
    let green = crate::spec::release_from_yaml(include_str!("../../../../examples/specs/webserver-green.release.yaml")).expect("green spec");
    (tenant, blue, green)
}

fn compiled(tenant: &crate::Tenant, releases: &[crate::Release]) -> Vec<Value> {
    let c = crate::compile(tenant, releases).expect("compiles");
    c.objects.iter().map(|o| serde_json::to_value(o).expect("serializes")).collect()
}

#[tokio::test]
async fn second_apply_is_unchanged() {
    let c = SimulatedCluster::new();
    let objects = vec![namespace("acme"), deployment("acme", "web", "blue", "nginx:1.27", 2), service("acme", json!({"app": "web"}))];
    let first = apply(&c, &objects).await;
    assert!(first.iter().all(|a| a.change == Change::Created));
    let rv = s(&get(&c, "Deployment", Some("acme"), "web").await, "/metadata/resourceVersion").to_string();
    let before_status = get(&c, "Deployment", Some("acme"), "web").await;
    let second = apply(&c, &objects).await;
    assert!(second.iter().all(|a| a.change == Change::Unchanged), "{:?}", second.iter().map(|a| a.change).collect::<Vec<_>>());
    assert_eq!(s(&second[1].result, "/metadata/resourceVersion"), s(&before_status, "/metadata/resourceVersion"));
    assert_eq!(s(&get(&c, "Deployment", Some("acme"), "web").await, "/metadata/resourceVersion"), rv);
    // A real change: Updated, generation bumped.
    let changed = apply(&c, &[deployment("acme", "web", "blue", "nginx:1.28", 2)]).await;
    assert_eq!(changed[0].change, Change::Updated);
    assert_eq!(changed[0].result.pointer("/metadata/generation"), Some(&json!(2)));
    let fields = changed[0].result.pointer("/metadata/managedFields/0/manager").and_then(Value::as_str);
    assert_eq!(fields, Some("moorage"));
}

#[tokio::test]
async fn conflicts_with_another_field_manager() {
    let c = SimulatedCluster::new();
    let blue = json!({"app.kubernetes.io/name": "web", "app.kubernetes.io/version": "blue"});
    apply(&c, &[namespace("acme"), service("acme", blue.clone())]).await;
    let edit = ApplyOptions { field_manager: "kubectl-edit".into(), conflicts: ConflictPolicy::Force, dry_run: false };
    let green = json!({"app.kubernetes.io/name": "web", "app.kubernetes.io/version": "green"});
    let edited = c.apply(&[service("acme", green)], &edit).await.expect("forced edit");
    assert_eq!(edited[0].change, Change::Updated);
    match c.apply(&[service("acme", blue.clone())], &ApplyOptions::default()).await {
        Err(BackendError::Conflict { field, manager, object }) => {
            assert_eq!(manager, "kubectl-edit");
            assert_eq!(field, ".spec.selector.app.kubernetes.io/version");
            assert_eq!(object.name, "web");
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    let forced = c.apply(&[service("acme", blue)], &ApplyOptions::force()).await.expect("force");
    assert_eq!(forced[0].change, Change::Updated);
    assert_eq!(s(&forced[0].result, "/spec/selector/app.kubernetes.io~1version"), "blue");
    // Same value from two managers: shared, no conflict; a field dropped by its only manager goes.
    let svc = get(&c, "Service", Some("acme"), "web").await;
    assert!(svc.pointer("/metadata/managedFields").and_then(Value::as_array).is_some_and(|m| m.len() == 2));
    let mut labelled = service("acme", json!({"app.kubernetes.io/name": "web", "app.kubernetes.io/version": "blue"}));
    labelled["metadata"]["labels"] = json!({"team": "a"});
    apply(&c, &[labelled]).await;
    let dropped = apply(&c, &[service("acme", json!({"app.kubernetes.io/name": "web", "app.kubernetes.io/version": "blue"}))]).await;
    assert_eq!(dropped[0].result.pointer("/metadata/labels/team"), None);
}

#[tokio::test]
async fn quota_admission_message_and_usage() {
    let c = SimulatedCluster::new();
    apply(&c, &[namespace("q"), quota("q", json!({"limits.memory": "512Mi", "limits.cpu": "2", "pods": "10"}))]).await;
    for i in 0..4 {
        apply(&c, &[pod("q", &format!("p{i}"), json!({"limits": {"cpu": "200m", "memory": "128Mi"}}))]).await;
    }
    let refused = c.apply(&[pod("q", "web-7d9c-abcde", json!({"limits": {"cpu": "200m", "memory": "128Mi"}}))], &ApplyOptions::default()).await;
    match refused {
        Err(BackendError::QuotaExceeded { object, quota, resource, requested, used, limit }) => {
            assert_eq!(object.name, "web-7d9c-abcde");
            assert_eq!((quota.as_str(), resource.as_str(), requested.as_str(), used.as_str(), limit.as_str()), ("quota", "limits.memory", "128Mi", "512Mi", "512Mi"));
        }
        other => panic!("expected QuotaExceeded, got {other:?}"),
    }
    let q = get(&c, "ResourceQuota", Some("q"), "quota").await;
    assert_eq!(q.pointer("/status/used"), Some(&json!({"limits.cpu": "800m", "limits.memory": "512Mi", "pods": "4"})));
    assert_eq!(q.pointer("/status/hard/limits.memory"), Some(&json!("512Mi")));
    assert!(wait::quota_status_known().holds(&[q]));
    // Dry run: admission runs, nothing is stored.
    let dry = c.apply(&[pod("q", "dry", json!({"limits": {"cpu": "100m", "memory": "0"}}))], &ApplyOptions::dry_run()).await.expect("dry run");
    assert_eq!(dry[0].change, Change::Created);
    assert!(c.get(&kind("Pod"), Some("q"), "dry").await.expect("get").is_none());
    assert!(matches!(c.apply(&[pod("q", "dry", json!({"limits": {"cpu": "100m", "memory": "1Gi"}}))], &ApplyOptions::dry_run()).await, Err(BackendError::QuotaExceeded { .. })));
    // A quota on limits.cpu needs every container to set it.
    match c.apply(&[pod("q", "bare", json!({}))], &ApplyOptions::default()).await {
        Err(BackendError::Forbidden { message, .. }) => {
            assert_eq!(message, "pods \"bare\" is forbidden: failed quota: quota: must specify limits.cpu for: web; limits.memory for: web");
        }
        other => panic!("expected Forbidden, got {other:?}"),
    }
}

#[tokio::test]
async fn limit_range_defaults_and_bounds() {
    let c = SimulatedCluster::new();
    let lr = json!({
        "apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "defaults", "namespace": "l"},
        "spec": {"limits": [{"type": "Container", "default": {"cpu": "200m", "memory": "128Mi"}, "defaultRequest": {"cpu": "100m"}, "max": {"cpu": "1"}}]},
    });
    let stored = apply(&c, &[namespace("l"), lr]).await;
    // LimitRange defaulting of the API server: defaultRequest falls back to default.
    assert_eq!(stored[1].result.pointer("/spec/limits/0/defaultRequest/memory"), Some(&json!("128Mi")));
    let bare = apply(&c, &[pod("l", "bare", json!({}))]).await;
    let r = bare[0].result.pointer("/spec/containers/0/resources").cloned().unwrap_or_default();
    assert_eq!(r, json!({"limits": {"cpu": "200m", "memory": "128Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}}));
    assert!(s(&bare[0].result, "/metadata/annotations/kubernetes.io~1limit-ranger").starts_with("LimitRanger plugin set:"));
    let limits_only = apply(&c, &[pod("l", "limits", json!({"limits": {"cpu": "300m", "memory": "256Mi"}}))]).await;
    assert_eq!(limits_only[0].result.pointer("/spec/containers/0/resources/requests"), Some(&json!({"cpu": "300m", "memory": "256Mi"})));
    match c.apply(&[pod("l", "big", json!({"limits": {"cpu": "2"}}))], &ApplyOptions::default()).await {
        Err(BackendError::Forbidden { message, .. }) => assert_eq!(message, "pods \"big\" is forbidden: maximum cpu usage per Container is 1, but limit is 2"),
        other => panic!("expected Forbidden, got {other:?}"),
    }
}

#[tokio::test]
async fn addressing_errors() {
    let c = SimulatedCluster::new();
    let missing_ns = c.apply(&[pod("nowhere", "p", json!({}))], &ApplyOptions::default()).await;
    assert!(matches!(missing_ns, Err(BackendError::NotFound { ref object }) if object.kind == "Namespace" && object.name == "nowhere"), "{missing_ns:?}");
    let crd = json!({"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": {"name": "m", "namespace": "default"}});
    assert!(matches!(c.apply(&[crd], &ApplyOptions::default()).await, Err(BackendError::MissingKind { .. })));
    let bad = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Bad_Name", "namespace": "default"}});
    match c.apply(&[bad], &ApplyOptions::default()).await {
        Err(BackendError::Invalid { causes, .. }) => assert_eq!(causes[0].field, "metadata.name"),
        other => panic!("expected Invalid, got {other:?}"),
    }
    // A list stops at the first error; what came before stays.
    let cm = |n: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": n, "namespace": "default"}});
    assert!(c.apply(&[cm("one"), cm("Two"), cm("three")], &ApplyOptions::default()).await.is_err());
    assert!(c.get(&kind("ConfigMap"), Some("default"), "one").await.expect("get").is_some());
    assert!(c.get(&kind("ConfigMap"), Some("default"), "three").await.expect("get").is_none());
    assert!(matches!(c.list(&kind("Pod"), None, &Selector::labels("a in b")).await, Err(BackendError::Invalid { .. })));
    assert_eq!(c.list(&kind("Node"), None, &Selector::all()).await.map(|n| n.len()).unwrap_or(0), 3);
}

#[tokio::test]
async fn compiled_tenant_rolls_out_and_serves() {
    let (tenant, blue, _) = spec_files();
    let c = SimulatedCluster::new();
    let objects = compiled(&tenant, &[blue]);
    apply(&c, &objects).await;
    let started = c.now();
    let done = wait_available(&c, "acme", "webserver-blue", 120).await.expect("available");
    assert!(c.now() - started <= Duration::from_secs(10), "took {:?}", c.now() - started);
    let d = &done[0];
    assert_eq!(d.pointer("/status/readyReplicas"), Some(&json!(3)));
    assert!(d.pointer("/status/conditions").and_then(Value::as_array).is_some_and(|cs| cs.iter().any(|c| s(c, "/type") == "Progressing" && s(c, "/reason") == "NewReplicaSetAvailable")));
    let pods = list(&c, "Pod", "acme", Some("app.kubernetes.io/version=blue")).await;
    assert_eq!(pods.len(), 3);
    assert!(pods.iter().all(|p| s(p, "/status/phase") == "Running" && !s(p, "/spec/nodeName").is_empty()));
    // LimitRange and quota accounting from the compiled tenant.
    let q = get(&c, "ResourceQuota", Some("acme"), "quota").await;
    assert_eq!(s(&q, "/status/used/limits.memory"), "384Mi");
    assert_eq!(s(&q, "/status/used/limits.cpu"), "600m");
    let slices = list(&c, "EndpointSlice", "acme", Some("kubernetes.io/service-name=webserver")).await;
    assert_eq!(wait::ready_endpoints(&slices), 3);
    let events = events(&c, "acme", s(&pods[0], "/metadata/name")).await;
    let reasons: Vec<&str> = events.iter().map(|e| s(e, "/reason")).collect();
    assert_eq!(reasons, ["Scheduled", "Pulled", "Created", "Started"]);
}

#[tokio::test]
async fn green_over_quota_fails_to_create_pods() {
    let (tenant, blue, green) = spec_files();
    let c = SimulatedCluster::new();
    apply(&c, &compiled(&tenant, &[blue])).await;
    wait_available(&c, "acme", "webserver-blue", 60).await.expect("blue");
    let green_objects: Vec<Value> = compiled(&tenant, &[green]).into_iter().filter(|o| s(o, "/metadata/name").starts_with("webserver-green")).collect();
    apply(&c, &green_objects).await;
    c.sleep(Duration::from_secs(5)).await;
    let rs = list(&c, "ReplicaSet", "acme", Some("app.kubernetes.io/version=green")).await;
    assert_eq!(rs.len(), 1);
    let rs_name = s(&rs[0], "/metadata/name").to_string();
    let expected = format!(
        "pods \"{rs_name}-\" is forbidden: exceeded quota: quota, requested: limits.memory=128Mi,requests.memory=64Mi, used: limits.memory=512Mi,requests.memory=256Mi, limited: limits.memory=512Mi,requests.memory=256Mi"
    );
    let failure = rs[0].pointer("/status/conditions/0").cloned().unwrap_or_default();
    assert_eq!((s(&failure, "/type"), s(&failure, "/reason"), s(&failure, "/message")), ("ReplicaFailure", "FailedCreate", expected.as_str()));
    let ev = events(&c, "acme", &rs_name).await;
    let failed = ev.iter().find(|e| s(e, "/reason") == "FailedCreate").expect("FailedCreate event");
    assert_eq!(s(failed, "/message"), format!("Error creating: {expected}"));
    assert_eq!(s(failed, "/type"), "Warning");
    let d = get(&c, "Deployment", Some("acme"), "webserver-green").await;
    let rf = d.pointer("/status/conditions").and_then(Value::as_array).and_then(|cs| cs.iter().find(|c| s(c, "/type") == "ReplicaFailure")).cloned().unwrap_or_default();
    assert_eq!(s(&rf, "/reason"), "FailedCreate");
    let parsed = crate::backend::parse_quota_message(&expected).expect("parses");
    assert_eq!(parsed.resource, "limits.memory");
    // Raising the quota lets the ReplicaSet create its pods.
    let mut raised = get(&c, "ResourceQuota", Some("acme"), "quota").await;
    raised["spec"]["hard"]["limits.memory"] = json!("1Gi");
    raised["spec"]["hard"]["requests.memory"] = json!("1Gi");
    raised["spec"]["hard"]["limits.cpu"] = json!("2");
    raised["spec"]["hard"]["requests.cpu"] = json!("2");
    let raised = json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "quota", "namespace": "acme"}, "spec": raised["spec"].clone()});
    apply(&c, &[raised]).await;
    wait_available(&c, "acme", "webserver-green", 60).await.expect("green after raise");
    let d = get(&c, "Deployment", Some("acme"), "webserver-green").await;
    assert!(d.pointer("/status/conditions").and_then(Value::as_array).is_some_and(|cs| cs.iter().all(|c| s(c, "/type") != "ReplicaFailure")));
}

#[tokio::test]
async fn endpoint_slices_follow_selector_and_readiness() {
    let c = SimulatedCluster::new();
    apply(&c, &[namespace("e"), deployment("e", "blue", "blue", "nginx:1", 3), deployment("e", "green", "green", "nginx:2", 2), service("e", json!({"app": "web", "version": "blue"}))]).await;
    let target = Target::labelled(kind("EndpointSlice"), Some("e"), "kubernetes.io/service-name=web");
    let slices = list(&c, "EndpointSlice", "e", Some("kubernetes.io/service-name=web")).await;
    assert_eq!(slices.len(), 1);
    assert_eq!(wait::ready_endpoints(&slices), 0, "not ready before the readiness delay");
    assert_eq!(slices[0].pointer("/endpoints").and_then(Value::as_array).map(Vec::len), Some(3));
    assert_eq!(slices[0].pointer("/ports/0"), Some(&json!({"name": "http", "port": 8080, "protocol": "TCP"})));
    assert_eq!(s(&slices[0], "/addressType"), "IPv4");
    assert!(s(&slices[0], "/metadata/name").starts_with("web-"));
    wait::wait_for(&c, &target, &wait::endpoints_ready(3), Duration::from_secs(30)).await.expect("3 ready");
    apply(&c, &[service("e", json!({"app": "web", "version": "green"}))]).await;
    let slices = wait::wait_for(&c, &target, &wait::endpoints_ready(2), Duration::from_secs(30)).await.expect("green ready");
    let names: Vec<&str> = slices[0].pointer("/endpoints").and_then(Value::as_array).map(|es| es.iter().map(|e| s(e, "/targetRef/name")).collect()).unwrap_or_default();
    assert_eq!(names.len(), 2);
    assert!(names.iter().all(|n| n.starts_with("green-")));
    assert!(s(&slices[0], "/endpoints/0/addresses/0").starts_with("10.244."));
}

#[tokio::test]
async fn rolling_update_to_a_new_image() {
    let c = SimulatedCluster::new();
    apply(&c, &[namespace("r"), deployment("r", "web", "v", "nginx:1", 4)]).await;
    wait_available(&c, "r", "web", 30).await.expect("v1");
    apply(&c, &[deployment("r", "web", "v", "nginx:2", 4)]).await;
    let mut max_pods = 0;
    for _ in 0..40 {
        c.sleep(Duration::from_millis(500)).await;
        max_pods = max_pods.max(list(&c, "Pod", "r", None).await.len());
        let ready_old = list(&c, "Pod", "r", None).await.iter().filter(|p| s(p, "/spec/containers/0/image") == "nginx:1" && super::controllers::pod_ready(p)).count();
        let ready_new = list(&c, "Pod", "r", None).await.iter().filter(|p| s(p, "/spec/containers/0/image") == "nginx:2" && super::controllers::pod_ready(p)).count();
        assert!(ready_old + ready_new >= 4, "maxUnavailable 0 keeps 4 ready pods");
    }
    assert_eq!(max_pods, 5, "maxSurge 25% of 4 = 1 extra pod");
    let d = wait_available(&c, "r", "web", 60).await.expect("v2");
    assert_eq!(d[0].pointer("/status/updatedReplicas"), Some(&json!(4)));
    let pods = list(&c, "Pod", "r", None).await;
    assert_eq!(pods.len(), 4);
    assert!(pods.iter().all(|p| s(p, "/spec/containers/0/image") == "nginx:2"));
    let rs = list(&c, "ReplicaSet", "r", None).await;
    assert_eq!(rs.len(), 2);
    let replicas: Vec<i64> = rs.iter().map(|r| r.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(-1)).collect();
    assert!(replicas.contains(&0) && replicas.contains(&4));
    let scaling = events(&c, "r", "web").await.into_iter().filter(|e| s(e, "/reason") == "ScalingReplicaSet").count();
    assert!(scaling >= 5, "{scaling} ScalingReplicaSet events");
    // revisionHistoryLimit 0 removes the old ReplicaSet.
    let mut d = deployment("r", "web", "v", "nginx:2", 4);
    d["spec"]["revisionHistoryLimit"] = json!(0);
    apply(&c, &[d]).await;
    assert_eq!(list(&c, "ReplicaSet", "r", None).await.len(), 1);
    // Scale down.
    apply(&c, &[deployment("r", "web", "v", "nginx:2", 1)]).await;
    assert_eq!(list(&c, "Pod", "r", None).await.len(), 1);
}

#[tokio::test]
async fn injected_image_failures() {
    let c = SimulatedCluster::new();
    c.inject(ImageFailure::new("registry.test/broken:*", Failure::PullError));
    c.inject(ImageFailure::new("crash:1", Failure::CrashLoop));
    c.inject(ImageFailure::new("slow:1", Failure::NeverReady));
    let mut d = deployment("f", "pull", "a", "registry.test/broken:1", 1);
    d["spec"]["progressDeadlineSeconds"] = json!(30);
    apply(&c, &[namespace("f"), d, deployment("f", "crash", "b", "crash:1", 1), deployment("f", "slow", "c", "slow:1", 1)]).await;
    let waited = wait_available(&c, "f", "pull", 20).await;
    assert!(matches!(waited, Err(BackendError::Timeout { ref object, seconds: 20, .. }) if object.as_ref().is_some_and(|o| o.name == "pull")), "{waited:?}");
    let p = &list(&c, "Pod", "f", Some("version=a")).await[0];
    assert_eq!(s(p, "/status/containerStatuses/0/state/waiting/reason"), "ImagePullBackOff");
    let reasons: Vec<String> = events(&c, "f", s(p, "/metadata/name")).await.iter().map(|e| s(e, "/reason").to_string()).collect();
    assert!(reasons.contains(&"Failed".to_string()) && reasons.contains(&"BackOff".to_string()), "{reasons:?}");
    c.sleep(Duration::from_secs(60)).await;
    let crash = &list(&c, "Pod", "f", Some("version=b")).await[0];
    assert!(crash.pointer("/status/containerStatuses/0/restartCount").and_then(Value::as_i64).unwrap_or(0) >= 2);
    assert_eq!(s(crash, "/status/containerStatuses/0/state/waiting/reason"), "CrashLoopBackOff");
    let slow = &list(&c, "Pod", "f", Some("version=c")).await[0];
    assert_eq!(s(slow, "/status/phase"), "Running");
    assert!(!super::controllers::pod_ready(slow));
    let d = get(&c, "Deployment", Some("f"), "pull").await;
    let progressing = d.pointer("/status/conditions").and_then(Value::as_array).and_then(|cs| cs.iter().find(|c| s(c, "/type") == "Progressing")).cloned().unwrap_or_default();
    assert_eq!((s(&progressing, "/status"), s(&progressing, "/reason")), ("False", "ProgressDeadlineExceeded"));
}

#[tokio::test]
async fn unschedulable_pod() {
    let c = SimulatedCluster::new();
    apply(&c, &[namespace("s"), pod("s", "huge", json!({"requests": {"cpu": "5"}}))]).await;
    let p = get(&c, "Pod", Some("s"), "huge").await;
    let cond = p.pointer("/status/conditions/0").cloned().unwrap_or_default();
    assert_eq!((s(&cond, "/type"), s(&cond, "/reason")), ("PodScheduled", "Unschedulable"));
    assert_eq!(s(&cond, "/message"), "0/3 nodes are available: 3 Insufficient cpu.");
    let ev = events(&c, "s", "huge").await;
    assert_eq!(s(&ev[0], "/reason"), "FailedScheduling");
}

fn job(ns: &str, name: &str, image: &str) -> Value {
    json!({
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": ns},
        "spec": {"backoffLimit": 1, "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "test", "image": image}]}}},
    })
}

#[tokio::test]
async fn jobs_complete_or_fail() {
    let c = SimulatedCluster::new();
    c.inject(ImageFailure::new("failing:*", Failure::CrashLoop));
    apply(&c, &[namespace("j"), job("j", "ok", "tests:1"), job("j", "bad", "failing:1")]).await;
    let target = |n: &str| Target::object(kind("Job"), Some("j"), n);
    let ok = wait::wait_for(&c, &target("ok"), &wait::job_finished(), Duration::from_secs(60)).await.expect("ok finishes");
    assert!(wait::job_succeeded(&ok[0]));
    assert_eq!(ok[0].pointer("/status/succeeded"), Some(&json!(1)));
    let bad = wait::wait_for(&c, &target("bad"), &wait::job_finished(), Duration::from_secs(60)).await.expect("bad finishes");
    assert!(!wait::job_succeeded(&bad[0]));
    assert_eq!(bad[0].pointer("/status/failed"), Some(&json!(2)));
    let failed = bad[0].pointer("/status/conditions").and_then(Value::as_array).and_then(|cs| cs.iter().find(|c| s(c, "/type") == "Failed")).cloned().unwrap_or_default();
    assert_eq!(s(&failed, "/reason"), "BackoffLimitExceeded");
    let pods = list(&c, "Pod", "j", Some("job-name=ok")).await;
    assert_eq!(s(&pods[0], "/status/phase"), "Succeeded");
}

#[tokio::test]
async fn watch_sees_changes_in_order() {
    let c = SimulatedCluster::new();
    let cm = |data: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "default", "labels": {"app": "x"}}, "data": {"k": data}});
    apply(&c, &[cm("1")]).await;
    let mut stream = c.watch(&kind("ConfigMap"), Some("default"), &Selector::labels("app=x")).await.expect("watch");
    apply(&c, &[cm("2")]).await;
    apply(&c, &[cm("2")]).await; // unchanged: no event
    apply(&c, &[json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "other", "namespace": "default"}})]).await; // not selected
    assert_eq!(c.delete(&kind("ConfigMap"), Some("default"), "cfg", Propagation::Background).await, Ok(true));
    assert_eq!(c.delete(&kind("ConfigMap"), Some("default"), "cfg", Propagation::Background).await, Ok(false));
    let mut seen = Vec::new();
    for _ in 0..3 {
        match stream.next().await {
            Some(Ok(WatchEvent::Applied(o))) => seen.push(format!("applied {}", s(&o, "/data/k"))),
            Some(Ok(WatchEvent::Deleted(o))) => seen.push(format!("deleted {}", s(&o, "/data/k"))),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(seen, ["applied 1", "applied 2", "deleted 2"]);
}

#[tokio::test]
async fn namespace_deletion_and_garbage_collection() {
    let c = SimulatedCluster::new();
    apply(&c, &[namespace("gc"), deployment("gc", "a", "a", "nginx:1", 2), deployment("gc", "b", "b", "nginx:1", 2)]).await;
    assert_eq!(list(&c, "Pod", "gc", None).await.len(), 4);
    // Background: the ReplicaSet and its pods go too.
    assert_eq!(c.delete(&kind("Deployment"), Some("gc"), "a", Propagation::Background).await, Ok(true));
    assert!(list(&c, "ReplicaSet", "gc", Some("version=a")).await.is_empty());
    assert!(list(&c, "Pod", "gc", Some("version=a")).await.is_empty());
    // Orphan: the ReplicaSet stays, without its owner reference.
    assert_eq!(c.delete(&kind("Deployment"), Some("gc"), "b", Propagation::Orphan).await, Ok(true));
    let rs = list(&c, "ReplicaSet", "gc", Some("version=b")).await;
    assert_eq!(rs.len(), 1);
    assert!(rs[0].pointer("/metadata/ownerReferences").is_none());
    assert_eq!(list(&c, "Pod", "gc", Some("version=b")).await.len(), 2);
    // Foreground on the ReplicaSet.
    let rs_name = s(&rs[0], "/metadata/name").to_string();
    c.delete(&kind("ReplicaSet"), Some("gc"), &rs_name, Propagation::Foreground).await.expect("delete");
    assert!(list(&c, "Pod", "gc", None).await.is_empty());
    // Namespace: Terminating, content gone, then the namespace.
    apply(&c, &[deployment("gc", "c", "c", "nginx:1", 1)]).await;
    c.delete(&kind("Namespace"), None, "gc", Propagation::Background).await.expect("delete ns");
    let ns = get(&c, "Namespace", None, "gc").await;
    assert_eq!(s(&ns, "/status/phase"), "Terminating");
    assert!(list(&c, "Deployment", "gc", None).await.is_empty());
    match c.apply(&[json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "late", "namespace": "gc"}})], &ApplyOptions::default()).await {
        Err(BackendError::Forbidden { message, .. }) => {
            assert_eq!(message, "configmaps \"late\" is forbidden: unable to create new content in namespace gc because it is being terminated");
        }
        other => panic!("expected Forbidden, got {other:?}"),
    }
    wait::wait_for(&c, &Target::object(kind("Namespace"), None, "gc"), &wait::deleted(), Duration::from_secs(30)).await.expect("gone");
    assert!(matches!(c.delete(&kind("Namespace"), None, "default", Propagation::Background).await, Err(BackendError::Forbidden { .. })));
}

#[tokio::test]
async fn foreground_deletion_survives_owner_cycles() {
    let c = SimulatedCluster::new();
    let cm = |name: &str, owner: Option<(&str, &str)>| {
        let mut v = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"}});
        if let Some((n, uid)) = owner {
            v["metadata"]["ownerReferences"] = json!([{"apiVersion": "v1", "kind": "ConfigMap", "name": n, "uid": uid}]);
        }
        v
    };
    let a = apply(&c, &[cm("a", None)]).await;
    let a_uid = s(&a[0].result, "/metadata/uid").to_string();
    let b = apply(&c, &[cm("b", Some(("a", &a_uid)))]).await;
    let b_uid = s(&b[0].result, "/metadata/uid").to_string();
    apply(&c, &[cm("a", Some(("b", &b_uid)))]).await;
    assert_eq!(c.delete(&kind("ConfigMap"), Some("default"), "a", Propagation::Foreground).await, Ok(true));
    assert!(c.get(&kind("ConfigMap"), Some("default"), "b").await.expect("get").is_none());
    // A Deployment deleted in the foreground takes its ReplicaSet and pods first.
    apply(&c, &[deployment("default", "fg", "v", "nginx:1", 2)]).await;
    assert_eq!(list(&c, "Pod", "default", Some("app=web")).await.len(), 2);
    c.delete(&kind("Deployment"), Some("default"), "fg", Propagation::Foreground).await.expect("delete");
    assert!(list(&c, "Pod", "default", Some("app=web")).await.is_empty());
    assert!(list(&c, "ReplicaSet", "default", None).await.is_empty());
}

async fn scenario(c: &SimulatedCluster) {
    let (tenant, blue, green) = spec_files();
    c.inject(ImageFailure::new("never:*", Failure::NeverReady));
    apply(c, &compiled(&tenant, &[blue])).await;
    wait_available(c, "acme", "webserver-blue", 60).await.expect("blue");
    c.sleep(Duration::from_millis(500)).await;
    let _ = c.apply(&compiled(&tenant, &[green]), &ApplyOptions::default()).await;
    c.sleep(Duration::from_secs(30)).await;
    apply(c, &[namespace("other"), job("other", "t", "tests:1")]).await;
    c.sleep(Duration::from_secs(10)).await;
}

#[tokio::test]
async fn save_and_load_round_trip() {
    let c = SimulatedCluster::new();
    scenario(&c).await;
    let dir = std::env::temp_dir().join(format!("moorage-sim-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("cluster.json");
    c.save(&path).expect("save");
    let loaded = SimulatedCluster::load(&path).expect("load");
    assert_eq!(loaded.to_json(), c.to_json());
    assert_eq!(loaded.now(), c.now());
    assert_eq!(loaded.failures().len(), 1);
    // Both continue identically.
    c.sleep(Duration::from_secs(5)).await;
    loaded.sleep(Duration::from_secs(5)).await;
    assert_eq!(loaded.to_json(), c.to_json());
    let _ = std::fs::remove_dir_all(&dir);
    assert!(SimulatedCluster::load(&dir.join("missing.json")).is_err());
}

#[tokio::test]
async fn same_scenario_same_state() {
    let a = SimulatedCluster::new();
    let b = SimulatedCluster::new();
    scenario(&a).await;
    scenario(&b).await;
    let (ja, jb) = (a.to_json(), b.to_json());
    assert_eq!(serde_json::to_string(&ja).ok(), serde_json::to_string(&jb).ok());
    assert_eq!(a.now(), b.now());
}

#[tokio::test]
async fn recreate_strategy_and_late_limit_range() {
    let c = SimulatedCluster::new();
    let mut d = deployment("rc", "web", "v", "nginx:1", 2);
    d["spec"]["strategy"] = json!({"type": "Recreate"});
    d["spec"]["template"]["spec"]["containers"][0].as_object_mut().map(|m| m.remove("resources"));
    apply(&c, &[namespace("rc"), quota("rc", json!({"limits.cpu": "4", "limits.memory": "4Gi"})), d.clone()]).await;
    // The quota tracks limits the pods do not set: the ReplicaSet cannot create them.
    let rs = list(&c, "ReplicaSet", "rc", None).await;
    let message = s(&rs[0], "/status/conditions/0/message").to_string();
    assert!(message.ends_with("is forbidden: failed quota: quota: must specify limits.cpu for: web; limits.memory for: web"), "{message}");
    assert!(list(&c, "Pod", "rc", None).await.is_empty());
    // A LimitRange with defaults unblocks it at once.
    let lr = json!({"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "defaults", "namespace": "rc"}, "spec": {"limits": [{"type": "Container", "default": {"cpu": "100m", "memory": "64Mi"}}]}});
    apply(&c, &[lr]).await;
    assert_eq!(list(&c, "Pod", "rc", None).await.len(), 2);
    wait_available(&c, "rc", "web", 30).await.expect("v1");
    // Recreate: old pods go before new ones come.
    d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:2");
    apply(&c, &[d]).await;
    let images: Vec<String> = list(&c, "Pod", "rc", None).await.iter().map(|p| s(p, "/spec/containers/0/image").to_string()).collect();
    assert!(images.iter().all(|i| i == "nginx:2"), "{images:?}");
    wait_available(&c, "rc", "web", 30).await.expect("v2");
    let kinds = Selector { labels: None, fields: Some("involvedObject.kind=Deployment,reason=ScalingReplicaSet".into()) };
    let scaling = c.list(&kind("Event"), Some("rc"), &kinds).await.expect("events");
    let messages: Vec<&str> = scaling.iter().map(|e| s(e, "/message")).collect();
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert!(messages[1].starts_with("Scaled down replica set web-") && messages[1].ends_with("from 2 to 0"), "{messages:?}");
}

#[test]
fn simulated_cluster_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<SimulatedCluster>();
}

/// Several tenants in one cluster: each namespace is reconciled on its own and accounted on its own.
/// `SIM_TENANTS=200 cargo test -p moorage --lib many_tenants -- --nocapture` prints timings.
#[tokio::test]
async fn many_tenants_are_independent() {
    let c = SimulatedCluster::with_options(super::SimOptions { nodes: (0..20).map(|i| super::SimNode::new(&format!("n{i}"), "64", "256Gi", 500)).collect(), ..Default::default() });
    let t0 = std::time::Instant::now();
    let n: usize = std::env::var("SIM_TENANTS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    for i in 0..n {
        let tenant_yaml = include_str!("../../../../examples/specs/acme.tenant.yaml").replace("name: acme", &format!("name: t{i}"));
        let tenant = crate::spec::tenant_from_yaml(&tenant_yaml).expect("tenant");
        let blue_yaml = include_str!("../../../../examples/specs/webserver-blue.release.yaml").replace("tenant: acme", &format!("tenant: t{i}"));
        let release = crate::spec::release_from_yaml(&blue_yaml).expect("release");
        apply(&c, &compiled(&tenant, &[release])).await;
    }
    let applied = t0.elapsed();
    c.sleep(Duration::from_secs(5)).await;
    eprintln!("{n} tenants: apply {applied:?}, then 5 s of virtual time: {:?} in all", t0.elapsed());
    for i in 0..n {
        let ns = format!("t{i}");
        let d = get(&c, "Deployment", Some(&ns), "webserver-blue").await;
        assert!(wait::deployment_available().holds(&[d]), "tenant {ns}");
        let q = get(&c, "ResourceQuota", Some(&ns), "quota").await;
        assert_eq!(s(&q, "/status/used/limits.memory"), "384Mi");
        assert_eq!(s(&q, "/status/used/pods"), "3");
    }
}
