//! Quota held by pods that are going away (real control plane): a rollout whose new pods the quota
//! refuses while deleted pods still hold their share waits for them, instead of failing as stuck.
//!
//! kwok (the fake kubelets) is stopped while a filler pod is deleted, so that the pod stays
//! terminating and charged to the quota, as a real kubelet's pod does during its grace period.
//! A rollout that fits only without the filler starts: the quota preflight lets it through (the
//! filler is going away), the ReplicaSet controller reports the quota refusal, and kwok is started
//! again; it removes the filler and readies the pods, the controller retries (nudged: see
//! `nudge_once_the_filler_is_gone`), the rollout finishes.

use std::time::Duration;

use moorage::backend::{ApplyOptions, Backend, Kind, Propagation, Selector};
use moorage::rollout::{self, Phase, RolloutOptions};
use moorage::{Quota, Tenant};
use moorage_tests::fixtures;
use moorage_tests::testcluster::{self, Restore};
use serde_json::{json, Value};

/// A pod of 128Mi (limits) on `node`, outside any release, that obeys the tenant's restricted
/// Pod Security level; its grace period keeps it charged for minutes once deleted.
fn filler_pod(ns: &str, node: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "filler", "namespace": ns},
        "spec": {
            "nodeName": node,
            "terminationGracePeriodSeconds": 600,
            "securityContext": {"runAsNonRoot": true, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{
                "name": "filler", "image": "registry.k8s.io/pause:3.10",
                "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}},
                "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "100m", "memory": "128Mi"}}
            }]
        }
    })
}

/// Waits until the Deployment reports the quota refusal of one of its pods (ReplicaFailure).
async fn wait_quota_refusal(backend: &dyn Backend, ns: &str, name: &str) -> String {
    let kind = Kind::of::<k8s_openapi::api::apps::v1::Deployment>();
    for _ in 0..600 {
        if let Some(d) = backend.get(&kind, Some(ns), name).await.expect("deployment read") {
            let conditions = d.pointer("/status/conditions").and_then(Value::as_array).cloned().unwrap_or_default();
            if let Some(c) = conditions.iter().find(|c| c["type"] == "ReplicaFailure" && c["status"] == "True") {
                return c["message"].as_str().unwrap_or_default().to_string();
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the ReplicaSet controller never reported a quota refusal for {ns}/{name}");
}

/// Once kwok has removed the filler, touches the namespace's ReplicaSets so that the ReplicaSet
/// controller retries at once. Its retries after a refusal back off exponentially (5 ms doubling,
/// up to 1000 s), and every refusal while the filler still terminates doubles the wait: in a CI run
/// on 2026-11-27 the next retry came after the rollout's 480 s. When the controller retries is
/// Kubernetes' business; this case checks that moorage waits meanwhile instead of failing.
async fn nudge_once_the_filler_is_gone(backend: &dyn Backend, ns: &str) {
    let pods = Kind::of::<k8s_openapi::api::core::v1::Pod>();
    for _ in 0..1500 {
        if backend.get(&pods, Some(ns), "filler").await.expect("filler read").is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let replica_sets = Kind::of::<k8s_openapi::api::apps::v1::ReplicaSet>();
    for rs in backend.list(&replica_sets, Some(ns), &Selector::all()).await.expect("replica sets listed") {
        let name = rs.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
        let touch =
            json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name, "namespace": ns, "annotations": {"moorage.test/nudged": "true"}}});
        let options = ApplyOptions { field_manager: "terminating-pods-test".into(), ..ApplyOptions::default() };
        backend.apply(&[touch], &options).await.expect("replica set touched");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollout_waits_for_the_quota_of_pods_going_away() {
    let Some(backend) = moorage_tests::real_backend().await else { return };
    let ns = format!("tp-{}", moorage_tests::random_suffix());
    // Room for the release's 3 pods (3 x 64Mi limits), not for them and the filler (128Mi) too.
    let tenant = Tenant::builder(&ns).protected(false).quota(Quota::new().limits("2", "256Mi").pods(10)).build().expect("a valid tenant");
    fixtures::apply_tenant(&backend, &tenant).await;
    let nodes = backend.list(&Kind::of::<k8s_openapi::api::core::v1::Node>(), None, &Selector::all()).await.expect("nodes listed");
    let node = nodes.first().and_then(|n| n.pointer("/metadata/name")).and_then(Value::as_str).expect("a kwok node").to_string();
    backend.apply(&[filler_pod(&ns, &node)], &ApplyOptions::default()).await.expect("filler applied");

    let restore = Restore(&[["start-component", "kwok"]]);
    tokio::task::spawn_blocking(|| testcluster::run(&["stop-component", "kwok"])).await.expect("kwok stopped");
    let pods = Kind::of::<k8s_openapi::api::core::v1::Pod>();
    backend.delete(&pods, Some(&ns), "filler", Propagation::Background).await.expect("filler deletion started");
    let filler = backend.get(&pods, Some(&ns), "filler").await.expect("filler read").expect("the filler stays while no kubelet confirms");
    assert!(filler.pointer("/metadata/deletionTimestamp").is_some(), "the filler is terminating: {filler}");

    let release = fixtures::webserver(&ns, "webserver", "blue", 3, fixtures::strategy("bluegreen"));
    // Generous: after kwok restarts, the filler goes and the ReplicaSet controller retries on its
    // own back-off (seconds to minutes on a loaded machine); the case checks waiting, not speed.
    let options = RolloutOptions::with_timeout(Duration::from_secs(480));
    let deployment = release.deployment_name();
    let (outcome, refusal) = tokio::join!(rollout::rollout(&backend, &tenant, &release, &options), async {
        let refusal = wait_quota_refusal(&backend, &ns, &deployment).await;
        // The rollout is waiting, not failed: kwok comes back, removes the filler, readies pods.
        tokio::task::spawn_blocking(|| testcluster::run(&["start-component", "kwok"])).await.expect("kwok started");
        nudge_once_the_filler_is_gone(&backend, &ns).await;
        refusal
    });
    drop(restore);
    assert!(refusal.contains("exceeded quota"), "the quota refused a pod while the filler held its share: {refusal}");
    let report = outcome.expect("the rollout waited for the terminating pod's quota instead of failing");
    assert_eq!(report.phase, Phase::Done);
    assert!(backend.get(&pods, Some(&ns), "filler").await.expect("filler read").is_none(), "the filler is gone");
    fixtures::delete_tenant(&backend, &ns).await;
}
