//! Tests of the simulated controllers: rollouts, failures, scheduling, Jobs, EndpointSlices.

use std::time::Duration;

use serde_json::{json, Value};

use super::tests::{apply, compiled, deployment, events, get, kind, list, namespace, pod, quota, s, service, wait_available};
use super::{Failure, ImageFailure, SimOptions, SimulatedCluster};
use crate::backend::wait::{self, Condition, Target};
use crate::backend::{Backend, BackendError, Selector};

#[tokio::test]
async fn endpoint_slices_follow_selector_and_readiness() {
    let c = SimulatedCluster::new();
    apply(
        &c,
        &[
            namespace("e"),
            deployment("e", "blue", "blue", "nginx:1", 3),
            deployment("e", "green", "green", "nginx:2", 2),
            service("e", json!({"app": "web", "version": "blue"})),
        ],
    )
    .await;
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
    let names: Vec<&str> =
        slices[0].pointer("/endpoints").and_then(Value::as_array).map(|es| es.iter().map(|e| s(e, "/targetRef/name")).collect()).unwrap_or_default();
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
        let ready_old =
            list(&c, "Pod", "r", None).await.iter().filter(|p| s(p, "/spec/containers/0/image") == "nginx:1" && super::controllers::pod_ready(p)).count();
        let ready_new =
            list(&c, "Pod", "r", None).await.iter().filter(|p| s(p, "/spec/containers/0/image") == "nginx:2" && super::controllers::pod_ready(p)).count();
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
    let progressing = d
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| s(c, "/type") == "Progressing"))
        .cloned()
        .unwrap_or_default();
    assert_eq!((s(&progressing, "/status"), s(&progressing, "/reason")), ("False", "ProgressDeadlineExceeded"));
}

#[tokio::test]
async fn unschedulable_pod() {
    let c = SimulatedCluster::new();
    // The namespace first: its `default` ServiceAccount, which a pod needs, comes after the call.
    apply(&c, &[namespace("s")]).await;
    apply(&c, &[pod("s", "huge", json!({"requests": {"cpu": "5"}}))]).await;
    let p = get(&c, "Pod", Some("s"), "huge").await;
    let cond = p.pointer("/status/conditions/0").cloned().unwrap_or_default();
    assert_eq!((s(&cond, "/type"), s(&cond, "/reason")), ("PodScheduled", "Unschedulable"));
    assert_eq!(s(&cond, "/message"), "0/3 nodes are available: 3 Insufficient cpu.");
    let ev = events(&c, "s", "huge").await;
    assert_eq!(s(&ev[0], "/reason"), "FailedScheduling");
    // Events expire an hour after their last occurrence, like the API server's --event-ttl.
    c.sleep(Duration::from_secs(3601)).await;
    assert!(events(&c, "s", "huge").await.is_empty());
}

pub(super) fn job(ns: &str, name: &str, image: &str) -> Value {
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
    let failed = bad[0]
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| s(c, "/type") == "Failed"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(s(&failed, "/reason"), "BackoffLimitExceeded");
    let pods = list(&c, "Pod", "j", Some("job-name=ok")).await;
    assert_eq!(s(&pods[0], "/status/phase"), "Succeeded");
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
    let kinds = Selector { labels: None, fields: Some("involvedObject.kind=Deployment,reason=ScalingReplicaSet".into()), ..Selector::default() };
    let scaling = c.list(&kind("Event"), Some("rc"), &kinds).await.expect("events");
    let messages: Vec<&str> = scaling.iter().map(|e| s(e, "/message")).collect();
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert!(messages[1].starts_with("Scaled down replica set web-") && messages[1].ends_with("from 2 to 0"), "{messages:?}");
}

/// Several tenants in one cluster: each namespace is reconciled on its own and accounted on its own.
/// `SIM_TENANTS=200 cargo test -p moorage --lib many_tenants -- --nocapture` prints timings.
#[tokio::test]
async fn many_tenants_are_independent() {
    let c = SimulatedCluster::with_options(super::SimOptions {
        nodes: (0..20).map(|i| super::SimNode::new(&format!("n{i}"), "64", "256Gi", 500)).collect(),
        ..Default::default()
    });
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

#[tokio::test]
async fn revisions_rollback_and_qos() {
    let c = SimulatedCluster::new();
    apply(&c, &[namespace("rv"), deployment("rv", "web", "v", "nginx:1", 2)]).await;
    let revision = |d: &Value| s(d, "/metadata/annotations/deployment.kubernetes.io~1revision").to_string();
    assert_eq!(revision(&get(&c, "Deployment", Some("rv"), "web").await), "1");
    let first_rs = s(&list(&c, "ReplicaSet", "rv", None).await[0], "/metadata/name").to_string();
    wait_available(&c, "rv", "web", 30).await.expect("v1");
    apply(&c, &[deployment("rv", "web", "v", "nginx:2", 2)]).await;
    wait_available(&c, "rv", "web", 30).await.expect("v2");
    assert_eq!(revision(&get(&c, "Deployment", Some("rv"), "web").await), "2");
    // Back to the first template: its ReplicaSet is reused and becomes revision 3.
    apply(&c, &[deployment("rv", "web", "v", "nginx:1", 2)]).await;
    wait_available(&c, "rv", "web", 30).await.expect("rollback");
    assert_eq!(revision(&get(&c, "Deployment", Some("rv"), "web").await), "3");
    assert_eq!(revision(&get(&c, "ReplicaSet", Some("rv"), &first_rs).await), "3");
    assert_eq!(list(&c, "ReplicaSet", "rv", None).await.len(), 2);
    // QoS classes as the API server computes them.
    let guaranteed = json!({"limits": {"cpu": "100m", "memory": "64Mi"}});
    apply(&c, &[pod("rv", "g", guaranteed), pod("rv", "b", json!({"requests": {"cpu": "100m"}})), pod("rv", "e", json!({}))]).await;
    for (name, class) in [("g", "Guaranteed"), ("b", "Burstable"), ("e", "BestEffort")] {
        assert_eq!(s(&get(&c, "Pod", Some("rv"), name).await, "/status/qosClass"), class);
    }
}

#[tokio::test]
async fn rolling_update_with_max_unavailable_and_scaling_midway() {
    let c = SimulatedCluster::new();
    let mut d = deployment("mu", "web", "v", "nginx:1", 4);
    d["spec"]["strategy"]["rollingUpdate"] = json!({"maxSurge": 1, "maxUnavailable": "25%"});
    apply(&c, &[namespace("mu"), d.clone()]).await;
    wait_available(&c, "mu", "web", 30).await.expect("v1");
    d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:2");
    apply(&c, &[d.clone()]).await;
    let (mut max_pods, mut min_ready) = (0, usize::MAX);
    for step in 0..30 {
        if step == 3 {
            // Scale up in the middle of the rollout.
            d["spec"]["replicas"] = json!(6);
            apply(&c, &[d.clone()]).await;
        }
        c.sleep(Duration::from_millis(500)).await;
        let pods = list(&c, "Pod", "mu", None).await;
        let want: usize = if step >= 3 { 6 } else { 4 };
        max_pods = max_pods.max(pods.len());
        min_ready = min_ready.min(pods.iter().filter(|p| super::controllers::pod_ready(p)).count());
        assert!(pods.len() <= want + 2, "{} pods at step {step}", pods.len());
    }
    assert!(min_ready >= 3, "at most one of four unavailable, saw {min_ready} ready");
    let done = wait_available(&c, "mu", "web", 60).await.expect("v2");
    assert_eq!(done[0].pointer("/status/availableReplicas"), Some(&json!(6)));
    let pods = list(&c, "Pod", "mu", None).await;
    assert_eq!(pods.len(), 6);
    assert!(pods.iter().all(|p| s(p, "/spec/containers/0/image") == "nginx:2"));
    // Paused: a template change creates nothing until resumed.
    d["spec"]["paused"] = json!(true);
    d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:3");
    apply(&c, &[d.clone()]).await;
    c.sleep(Duration::from_secs(5)).await;
    assert!(list(&c, "Pod", "mu", None).await.iter().all(|p| s(p, "/spec/containers/0/image") == "nginx:2"));
    let paused = get(&c, "Deployment", Some("mu"), "web").await;
    let progressing = paused
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| s(c, "/type") == "Progressing"))
        .cloned()
        .unwrap_or_default();
    assert_eq!((s(&progressing, "/status"), s(&progressing, "/reason")), ("Unknown", "DeploymentPaused"));
    assert_eq!(paused.pointer("/status/observedGeneration"), paused.pointer("/metadata/generation"));
    d["spec"]["paused"] = json!(false);
    apply(&c, &[d]).await;
    wait_available(&c, "mu", "web", 60).await.expect("v3");
    assert!(list(&c, "Pod", "mu", None).await.iter().all(|p| s(p, "/spec/containers/0/image") == "nginx:3"));
}

/// Nodes without a zone give their pods no zone label and their endpoints no `zone`; the default
/// nodes are in zones, which pods and endpoints carry.
#[tokio::test]
async fn zones_come_from_the_nodes() {
    let zoneless = SimOptions { nodes: vec![super::SimNode::new("plain", "4", "8Gi", 110)], ..SimOptions::default() };
    for (c, zoned) in [(SimulatedCluster::with_options(zoneless), false), (SimulatedCluster::new(), true)] {
        apply(&c, &[namespace("z"), deployment("z", "web", "v", "nginx:1", 1), service("z", json!({"app": "web"}))]).await;
        let pod = list(&c, "Pod", "z", Some("app=web")).await.remove(0);
        let slice = list(&c, "EndpointSlice", "z", Some("kubernetes.io/service-name=web")).await.remove(0);
        let labelled = pod["metadata"]["labels"].get("topology.kubernetes.io/zone").and_then(Value::as_str);
        let node = list(&c, "Node", "", None).await.into_iter().find(|n| n["metadata"]["name"] == pod["spec"]["nodeName"]).expect("the pod's node");
        assert_eq!(labelled, node["metadata"]["labels"].get("topology.kubernetes.io/zone").and_then(Value::as_str));
        assert_eq!(slice["endpoints"][0].get("zone").and_then(Value::as_str), labelled);
        assert_eq!(labelled.is_some(), zoned, "{pod}");
    }
}

/// `SimOptions::replica_set_sync_delay`: until the ReplicaSet controller has seen a spec, the
/// ReplicaSet's status says so (`observedGeneration` behind) and its pods are not touched; then it
/// acts on each spec it was handed, in turn. A scale-down followed at once by a scale-up leaves
/// the old pods ready, and the Deployment's status stale but available, for the delay; then the
/// old pods are deleted and new ones created, as on a busy control plane.
#[tokio::test]
async fn a_lagging_replica_set_controller_acts_late_on_each_spec_in_turn() {
    let lag = SimOptions { replica_set_sync_delay: Duration::from_secs(3), ..SimOptions::default() };
    let c = SimulatedCluster::with_options(lag);
    apply(&c, &[namespace("lag"), deployment("lag", "web", "v", "nginx:1", 2)]).await;
    let rs = || async { list(&c, "ReplicaSet", "lag", None).await.remove(0) };
    let observed = |rs: &Value| rs.pointer("/status/observedGeneration").and_then(Value::as_i64);
    assert_eq!((observed(&rs().await), list(&c, "Pod", "lag", None).await.len()), (None, 0), "nothing seen yet");
    c.sleep(Duration::from_millis(2999)).await;
    assert!(list(&c, "Pod", "lag", None).await.is_empty(), "still not seen 1 ms before the delay");
    c.sleep(Duration::from_millis(1)).await;
    assert_eq!((observed(&rs().await), list(&c, "Pod", "lag", None).await.len()), (Some(1), 2));
    wait_available(&c, "lag", "web", 30).await.expect("available");
    let before: Vec<String> = list(&c, "Pod", "lag", None).await.iter().map(|p| s(p, "/metadata/name").to_string()).collect();

    // Down to 0 and at once back to 2: the spec is back where it was, but the controller was
    // handed both changes.
    apply(&c, &[deployment("lag", "web", "v", "nginx:1", 0)]).await;
    apply(&c, &[deployment("lag", "web", "v", "nginx:1", 2)]).await;
    let stale = rs().await;
    assert_eq!((stale.pointer("/metadata/generation").and_then(Value::as_i64), observed(&stale)), (Some(3), Some(1)));
    let d = get(&c, "Deployment", Some("lag"), "web").await;
    assert!(wait::deployment_available().holds(&[d]), "the Deployment's status comes from the stale ReplicaSet's");
    assert!(!wait::replica_sets_observed().holds(&[stale]));
    let pods = list(&c, "Pod", "lag", None).await;
    assert!(wait::pods_serving(2).holds(&pods), "the old pods still serve, for now");

    c.sleep(Duration::from_secs(3)).await;
    let seen = rs().await;
    assert!(wait::replica_sets_observed().holds(std::slice::from_ref(&seen)));
    let after: Vec<String> = list(&c, "Pod", "lag", None).await.iter().map(|p| s(p, "/metadata/name").to_string()).collect();
    assert_eq!(after.len(), 2);
    assert!(after.iter().all(|p| !before.contains(p)), "the scale-down deleted {before:?}; new pods {after:?}");
    assert!(!wait::pods_serving(1).holds(&list(&c, "Pod", "lag", None).await), "the new pods are not ready yet");
    let deletions = events(&c, "lag", s(&seen, "/metadata/name")).await.into_iter().filter(|e| s(e, "/reason") == "SuccessfulDelete").count();
    assert_eq!(deletions, 2);
}
