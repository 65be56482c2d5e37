//! Tests of the simulated cluster: one or more per simulated behaviour, through the `Backend` trait.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{json, Value};

use super::controller_tests::job;
use super::{Failure, ImageFailure, SimulatedCluster};
use crate::backend::wait::{self, Condition, Target};
use crate::backend::{ApplyOptions, Backend, BackendError, Change, ConflictPolicy, Kind, Propagation, Selector, WatchEvent};

pub(super) fn kind(name: &str) -> Kind {
    crate::backend::kind::known_kinds().into_iter().find(|k| k.kind == name).unwrap_or_else(|| Kind::custom("v1", name, "x", true))
}

pub(super) fn namespace(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
}

pub(super) fn quota(ns: &str, hard: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "quota", "namespace": ns}, "spec": {"hard": hard}})
}

pub(super) fn deployment(ns: &str, name: &str, version: &str, image: &str, replicas: i64) -> Value {
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

pub(super) fn service(ns: &str, selector: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": ns},
        "spec": {"selector": selector, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
    })
}

pub(super) fn pod(ns: &str, name: &str, resources: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"containers": [{"name": "web", "image": "nginx:1.27", "resources": resources}]},
    })
}

pub(super) async fn apply(c: &SimulatedCluster, objects: &[Value]) -> Vec<crate::backend::Applied> {
    match c.apply(objects, &ApplyOptions::default()).await {
        Ok(a) => a,
        Err(e) => panic!("apply failed: {e}"),
    }
}

pub(super) async fn get(c: &SimulatedCluster, k: &str, ns: Option<&str>, name: &str) -> Value {
    c.get(&kind(k), ns, name).await.ok().flatten().unwrap_or_else(|| panic!("{k} {name} missing"))
}

pub(super) async fn list(c: &SimulatedCluster, k: &str, ns: &str, labels: Option<&str>) -> Vec<Value> {
    let selector = Selector { labels: labels.map(str::to_string), fields: None, ..Selector::default() };
    c.list(&kind(k), Some(ns), &selector).await.unwrap_or_default()
}

pub(super) async fn events(c: &SimulatedCluster, ns: &str, involved: &str) -> Vec<Value> {
    let selector = Selector { fields: Some(format!("involvedObject.name={involved}")), ..Selector::default() };
    c.list(&kind("Event"), Some(ns), &selector).await.unwrap_or_default()
}

pub(super) async fn wait_available(c: &SimulatedCluster, ns: &str, name: &str, secs: u64) -> Result<Vec<Value>, BackendError> {
    let target = Target::object(kind("Deployment"), Some(ns), name);
    wait::wait_for(c, &target, &wait::deployment_available(), Duration::from_secs(secs)).await
}

pub(super) fn s<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

pub(super) fn spec_files() -> (crate::Tenant, crate::Release, crate::Release) {
    let tenant = crate::spec::tenant_from_yaml(include_str!("../../../../examples/specs/acme.tenant.yaml")).expect("tenant spec");
    let blue = crate::spec::release_from_yaml(include_str!("../../../../examples/specs/webserver-blue.release.yaml")).expect("blue spec");
    let green = crate::spec::release_from_yaml(include_str!("../../../../examples/specs/webserver-green.release.yaml")).expect("green spec");
    (tenant, blue, green)
}

pub(super) fn compiled(tenant: &crate::Tenant, releases: &[crate::Release]) -> Vec<Value> {
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
            // A Service's selector is an atomic map, owned whole (as on a real API server).
            assert_eq!(field, ".spec.selector");
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
async fn a_resource_version_in_an_apply_is_a_precondition() {
    let c = SimulatedCluster::new();
    let blue = json!({"app.kubernetes.io/name": "web", "app.kubernetes.io/version": "blue"});
    apply(&c, &[namespace("acme"), service("acme", blue.clone())]).await;
    let read = s(&get(&c, "Service", Some("acme"), "web").await, "/metadata/resourceVersion").to_string();
    let green = json!({"app.kubernetes.io/name": "web", "app.kubernetes.io/version": "green"});
    let mut conditioned = service("acme", green);
    conditioned["metadata"]["resourceVersion"] = Value::from(read.clone());
    // The first writer at `read` wins; the second, still at `read`, is refused.
    let won = c.apply(&[conditioned.clone()], &ApplyOptions::force()).await.expect("at the read resourceVersion");
    assert_eq!(won[0].change, Change::Updated);
    assert_ne!(s(&won[0].result, "/metadata/resourceVersion"), read);
    match c.apply(&[conditioned.clone()], &ApplyOptions::force()).await {
        Err(BackendError::Modified { object, message }) => {
            assert_eq!(object.name, "web");
            assert!(message.contains(&format!("since resourceVersion {read}")), "{message}");
        }
        other => panic!("expected Modified, got {other:?}"),
    }
    // Not an owned field; and a precondition on an existing object only: as on the API server,
    // an object that does not exist is created (the conformance suite checks both backends).
    let svc = get(&c, "Service", Some("acme"), "web").await;
    assert!(!svc["metadata"]["managedFields"].to_string().contains("resourceVersion"), "{svc}");
    conditioned["metadata"]["name"] = "other".into();
    let created = c.apply(&[conditioned], &ApplyOptions::default()).await.expect("created");
    assert_eq!(created[0].change, Change::Created);
    assert!(c.get(&kind("Service"), Some("acme"), "other").await.unwrap().is_some());
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
            assert_eq!(
                (quota.as_str(), resource.as_str(), requested.as_str(), used.as_str(), limit.as_str()),
                ("quota", "limits.memory", "128Mi", "512Mi", "512Mi")
            );
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
    assert!(matches!(
        c.apply(&[pod("q", "dry", json!({"limits": {"cpu": "100m", "memory": "1Gi"}}))], &ApplyOptions::dry_run()).await,
        Err(BackendError::QuotaExceeded { .. })
    ));
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

/// HTTPRoutes are served once the Gateway API CRDs are "installed", applied with field ownership,
/// and the installation survives save and load.
#[tokio::test]
async fn httproutes_need_the_gateway_api_crds() {
    let c = SimulatedCluster::new();
    let route_kind = Kind::of::<crate::compile::HTTPRoute>();
    let route = |weight: u32| {
        json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "web", "namespace": "default"},
               "spec": {"hostnames": ["shop.test"], "rules": [{"backendRefs": [{"name": "web", "port": 80, "weight": weight}]}]}})
    };
    let refused = c.apply(&[route(100)], &ApplyOptions::default()).await;
    assert!(matches!(refused, Err(BackendError::MissingKind { ref kind, .. }) if kind == "HTTPRoute"), "{refused:?}");
    assert!(matches!(c.get(&route_kind, Some("default"), "web").await, Err(BackendError::MissingKind { .. })));
    c.install_gateway_api();
    assert_eq!(c.apply(&[route(100)], &ApplyOptions::default()).await.expect("served")[0].change, Change::Created);
    assert_eq!(c.apply(&[route(100)], &ApplyOptions::default()).await.expect("again")[0].change, Change::Unchanged);
    assert_eq!(c.apply(&[route(70)], &ApplyOptions::default()).await.expect("weight")[0].change, Change::Updated);
    let restored = SimulatedCluster::from_json(c.to_json()).expect("load");
    let stored = restored.get(&route_kind, Some("default"), "web").await.expect("still served").expect("stored");
    assert_eq!(stored["spec"]["rules"][0]["backendRefs"][0]["weight"], 70);
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
    let nameless = ApplyOptions { field_manager: String::new(), ..ApplyOptions::default() };
    assert!(matches!(c.apply(&[cm("four")], &nameless).await, Err(BackendError::Invalid { ref causes, .. }) if causes[0].field == "fieldManager"));
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
    assert!(d
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| cs.iter().any(|c| s(c, "/type") == "Progressing" && s(c, "/reason") == "NewReplicaSetAvailable")));
    let pods = list(&c, "Pod", "acme", Some("app.kubernetes.io/version=blue")).await;
    assert_eq!(pods.len(), 3);
    assert!(pods.iter().all(|p| s(p, "/status/phase") == "Running" && !s(p, "/spec/nodeName").is_empty()));
    // LimitRange and quota accounting from the compiled tenant.
    let q = get(&c, "ResourceQuota", Some("acme"), "quota").await;
    assert_eq!(s(&q, "/status/used/limits.memory"), "384Mi");
    assert_eq!(s(&q, "/status/used/limits.cpu"), "600m");
    let slices = list(&c, "EndpointSlice", "acme", Some("kubernetes.io/service-name=webserver")).await;
    assert_eq!(wait::ready_endpoints(&slices), 3);
    // Re-applying the compiled objects after the rollout changes nothing.
    let again = apply(&c, &objects).await;
    let changed: Vec<String> = again.iter().filter(|a| a.change != Change::Unchanged).map(|a| a.object.to_string()).collect();
    assert!(changed.is_empty(), "changed on re-apply: {changed:?}");
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
    let rf = d
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| s(c, "/type") == "ReplicaFailure"))
        .cloned()
        .unwrap_or_default();
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

/// A Deployment deleted in the foreground waits, marked, for its ReplicaSet, which waits for its
/// pods: a pod held by a finalizer holds them all, and no controller replaces anything meanwhile. A
/// second foreground deletion changes nothing, a background one deletes the Deployment at once;
/// releasing the pod lets the rest go.
#[tokio::test]
async fn a_foreground_deletion_waits_for_held_dependents() {
    let c = SimulatedCluster::new();
    apply(&c, &[deployment("default", "fg", "v", "nginx:1", 2)]).await;
    let held = s(&list(&c, "Pod", "default", Some("app=web")).await[0], "/metadata/name").to_string();
    let hold = |finalizers: Value| json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": held, "namespace": "default", "finalizers": finalizers}});
    let holder = ApplyOptions { field_manager: "holder".into(), ..ApplyOptions::default() };
    c.apply(&[hold(json!(["example.com/hold"]))], &holder).await.expect("held");
    let generation = get(&c, "Deployment", Some("default"), "fg").await["metadata"]["generation"].as_i64().expect("a generation");
    assert_eq!(c.delete(&kind("Deployment"), Some("default"), "fg", Propagation::Foreground).await, Ok(true));
    let waiting = |c: &'static str| move |o: &Value| o["metadata"]["deletionTimestamp"].is_string() && o["metadata"]["finalizers"] == json!([c]);
    for _ in 0..2 {
        let d = get(&c, "Deployment", Some("default"), "fg").await;
        assert!(waiting("foregroundDeletion")(&d), "{d}");
        assert_eq!(d["metadata"]["generation"], generation + 1, "marking bumps the generation");
        let rs = list(&c, "ReplicaSet", "default", None).await;
        assert!(rs.len() == 1 && waiting("foregroundDeletion")(&rs[0]), "{rs:?}");
        let pods = list(&c, "Pod", "default", Some("app=web")).await;
        assert!(pods.len() == 1 && s(&pods[0], "/metadata/name") == held && waiting("example.com/hold")(&pods[0]), "{pods:?}");
        // Time passes and a second deletion, in the foreground too, comes: nothing changes.
        c.advance(Duration::from_secs(60));
        assert_eq!(c.delete(&kind("Deployment"), Some("default"), "fg", Propagation::Foreground).await, Ok(true));
    }
    // One in the background takes the collector's finalizer away: the Deployment goes at once,
    // and its ReplicaSet still waits for the held pod.
    assert_eq!(c.delete(&kind("Deployment"), Some("default"), "fg", Propagation::Background).await, Ok(true));
    assert_eq!(c.get(&kind("Deployment"), Some("default"), "fg").await, Ok(None));
    let rs = list(&c, "ReplicaSet", "default", None).await;
    assert!(rs.len() == 1 && waiting("foregroundDeletion")(&rs[0]), "{rs:?}");
    c.apply(&[hold(json!([]))], &holder).await.expect("released");
    assert!(list(&c, "Pod", "default", Some("app=web")).await.is_empty());
    assert!(list(&c, "ReplicaSet", "default", None).await.is_empty());
}

/// A pod held by a finalizer is marked, not removed: its ReplicaSet replaces it, and it goes when an
/// apply removes the finalizer.
#[tokio::test]
async fn a_pod_held_by_a_finalizer_is_replaced_and_goes_when_released() {
    let c = SimulatedCluster::new();
    apply(&c, &[deployment("default", "held", "v", "nginx:1", 1)]).await;
    let pod = list(&c, "Pod", "default", Some("app=web")).await.remove(0);
    let name = pod["metadata"]["name"].as_str().expect("a name").to_string();
    let hold = |finalizers: Value| json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default", "finalizers": finalizers}});
    c.apply(&[hold(json!(["example.com/hold"]))], &ApplyOptions { field_manager: "holder".into(), ..ApplyOptions::default() }).await.expect("held");
    assert!(c.delete(&kind("Pod"), Some("default"), &name, Propagation::Background).await.expect("delete"));
    let pods = list(&c, "Pod", "default", Some("app=web")).await;
    assert_eq!(pods.len(), 2, "the marked pod and its replacement");
    assert!(pods.iter().any(|p| p["metadata"]["name"] == name.as_str() && p["metadata"]["deletionTimestamp"].is_string()));
    c.apply(&[hold(json!([]))], &ApplyOptions { field_manager: "holder".into(), ..ApplyOptions::default() }).await.expect("released");
    let pods = list(&c, "Pod", "default", Some("app=web")).await;
    assert_eq!(pods.len(), 1);
    assert_ne!(pods[0]["metadata"]["name"], name.as_str());
}

/// A list's `not_older_than` is a number no newer than the cluster's resourceVersion.
#[tokio::test]
async fn a_list_version_is_a_number_no_newer_than_the_cluster() {
    let c = SimulatedCluster::new();
    let applied = c.apply(&[namespace("v")], &ApplyOptions::default()).await.expect("applied");
    let version = applied[0].result["metadata"]["resourceVersion"].as_str().expect("a version").to_string();
    let namespaces = kind("Namespace");
    assert!(!c.list(&namespaces, None, &Selector::all().not_older_than(version)).await.expect("listed").is_empty());
    let err = c.list(&namespaces, None, &Selector::all().not_older_than("abc")).await.unwrap_err();
    assert!(matches!(&err, BackendError::Invalid { causes, .. } if causes[0].field == "resourceVersion"), "{err}");
    let err = c.list(&namespaces, None, &Selector::all().not_older_than("99999999")).await.unwrap_err();
    assert!(matches!(&err, BackendError::Unavailable { message, .. } if message.contains("Too large resource version: 99999999")), "{err}");
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

#[test]
fn simulated_cluster_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<SimulatedCluster>();
}

/// The saved file holds every object as a JSON object under its store key (the format of files
/// saved before the store kept compact text), and a cluster loaded mid-rollout still knows when
/// its pods become ready (the instants at which work is due are recomputed after a load).
#[tokio::test]
async fn saved_file_holds_objects_and_a_loaded_cluster_keeps_time() {
    let c = SimulatedCluster::new();
    apply(&c, &[namespace("mid"), deployment("mid", "web", "blue", "nginx:1.27", 2)]).await;
    let dir = std::env::temp_dir().join(format!("moorage-sim-mid-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("cluster.json");
    c.save(&path).expect("save");
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("the file is JSON");
    let objects = file.get("objects").and_then(Value::as_object).expect("objects is a map");
    let stored = objects.get("apps/v1|Deployment|mid|web").expect("the deployment under its key");
    assert_eq!(stored.pointer("/spec/replicas"), Some(&json!(2)), "an object, not text");
    assert_eq!(objects.values().filter(|o| o.pointer("/kind") == Some(&json!("Pod"))).count(), 2);
    let loaded = SimulatedCluster::load(&path).expect("load");
    let _ = std::fs::remove_dir_all(&dir);
    let ready = |d: &Value| d.pointer("/status/readyReplicas").and_then(Value::as_i64).unwrap_or(0);
    assert_eq!(ready(&get(&loaded, "Deployment", Some("mid"), "web").await), 0);
    loaded.sleep(Duration::from_secs(3)).await;
    assert_eq!(ready(&get(&loaded, "Deployment", Some("mid"), "web").await), 2, "the readiness delay ran out after the load");
}

#[test]
fn failures_by_the_names_the_bindings_take() {
    for (name, failure) in Failure::NAMES {
        assert_eq!(Failure::from_name(name), Ok(failure));
    }
    assert_eq!(Failure::from_name("NeverReady"), Err("\"NeverReady\" is not a failure; use pull_error, crash_loop or never_ready".to_string()));
}
