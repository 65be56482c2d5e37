//! S5 drift and ownership (docs/reliability.md): an object moorage manages is changed by another
//! field manager (the stable Service's selector edited as `kubectl edit` would, a Deployment scaled
//! as a UI does); the release's status reports it with the manager's name; a rollout refuses to
//! overwrite it (a typed conflict naming the field and the manager) before changing anything, unless
//! forced, and the forced takeover is logged at warn level. On the simulated cluster and the real
//! control plane; the scale through the `scale` subresource is real-only (the simulated cluster
//! has no subresources).

use std::time::Duration;

use moorage::backend::{ApplyOptions, Backend, BackendError, Kind};
use moorage::rollout::{self, Phase, RolloutError, RolloutOptions};
use moorage::Strategy;
use moorage_tests::fixtures;
use moorage_tests::log_capture::CapturedLogs;
use serde_json::json;
use tracing::instrument::WithSubscriber;

/// A Service's selector is an atomic map: owned whole.
const SELECTOR_FIELD: &str = "spec.selector";

fn options() -> RolloutOptions {
    RolloutOptions::with_timeout(Duration::from_secs(120))
}

fn bluegreen() -> Strategy {
    Strategy::blue_green().scale_down_delay("0s").into()
}

fn conflict_of(err: &RolloutError) -> (String, String) {
    match err {
        RolloutError::Backend(BackendError::Conflict { manager, field, .. }) => (manager.clone(), field.trim_start_matches('.').to_string()),
        other => panic!("expected a conflict, got {other}"),
    }
}

async fn edited_selector_is_reported_refused_then_forced(b: &dyn Backend, ns: &str) {
    let tenant = fixtures::roomy_tenant(ns);
    fixtures::apply_tenant(b, &tenant).await;
    rollout::rollout(b, &tenant, &fixtures::webserver(ns, "webserver", "blue", 2, bluegreen()), &options()).await.unwrap();
    assert_eq!(rollout::status(b, &tenant, "webserver").await.unwrap().drift, [], "no drift after moorage's own rollout");

    // Someone points the stable Service at a hotfix with another tool.
    let edit = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "webserver", "namespace": ns}, "spec": {"selector": {"app.kubernetes.io/version": "hotfix"}}});
    b.apply(&[edit], &ApplyOptions { field_manager: "kubectl-edit".into(), ..ApplyOptions::force() }).await.unwrap();
    let drift = rollout::status(b, &tenant, "webserver").await.unwrap().drift;
    let found: Vec<(&str, &str, Vec<String>)> = drift.iter().map(|d| (d.object.kind.as_str(), d.manager.as_str(), d.fields.clone())).collect();
    assert_eq!(found, [("Service", "kubectl-edit", vec![SELECTOR_FIELD.to_string()])]);

    // Neither the live release again nor a new version overwrites it; nothing is created.
    let green = fixtures::webserver(ns, "webserver", "green", 2, bluegreen());
    for release in [fixtures::webserver(ns, "webserver", "blue", 2, bluegreen()), green.clone()] {
        let err = rollout::rollout(b, &tenant, &release, &options()).await.unwrap_err();
        assert_eq!(conflict_of(&err), ("kubectl-edit".to_string(), SELECTOR_FIELD.to_string()), "{err}");
        assert!(!err.is_retryable(), "a conflict is not retried: {err}");
    }
    assert!(b.get(&Kind::of::<k8s_openapi::api::apps::v1::Deployment>(), Some(ns), "webserver-green").await.unwrap().is_none(), "nothing created");
    assert_eq!(rollout::history(b, &tenant, "webserver").await.unwrap().revisions.len(), 1, "nothing recorded");
    assert_eq!(rollout::active_version(b, ns, "webserver").await.unwrap().as_deref(), Some("hotfix"), "the edit stays");

    // Forced: the rollout takes the selector back, and says so at warn level.
    let logs = CapturedLogs::default();
    let done = rollout::rollout(b, &tenant, &green, &options().force()).with_subscriber(logs.clone()).await.unwrap();
    assert_eq!(done.phase, Phase::Done);
    assert_eq!(rollout::active_version(b, ns, "webserver").await.unwrap().as_deref(), Some("green"));
    assert_eq!(rollout::status(b, &tenant, "webserver").await.unwrap().drift, [], "the field is moorage's again");
    let lines = logs.lines();
    assert!(
        lines.iter().any(|l| l.starts_with("WARN") && l.contains("kubectl-edit") && l.contains(SELECTOR_FIELD)),
        "the forced takeover is logged: {lines:#?}"
    );
    fixtures::delete_tenant(b, ns).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_edited_selector_is_reported_refused_then_forced() {
    let sim = moorage::backend::sim::SimulatedCluster::new();
    edited_selector_is_reported_refused_then_forced(&sim, "acme").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_edited_selector_is_reported_refused_then_forced() {
    let Some(backend) = moorage_tests::real_backend().await else { return };
    edited_selector_is_reported_refused_then_forced(&backend, &format!("s5-{}", moorage_tests::random_suffix())).await;
}

/// A scale through the `scale` subresource (what `kubectl scale` and UIs do) on the real control plane.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_scale_from_a_ui_is_reported_and_refused_unless_forced() {
    let Some(backend) = moorage_tests::real_backend().await else { return };
    let ns = format!("s5-{}", moorage_tests::random_suffix());
    let tenant = fixtures::roomy_tenant(&ns);
    fixtures::apply_tenant(&backend, &tenant).await;
    let blue = fixtures::webserver(&ns, "webserver", "blue", 2, bluegreen());
    rollout::rollout(&backend, &tenant, &blue, &options()).await.unwrap();

    let deployments: kube::Api<k8s_openapi::api::apps::v1::Deployment> = kube::Api::namespaced(backend.client().clone(), &ns);
    let params = kube::api::PatchParams { field_manager: Some("rancher-ui".into()), ..Default::default() };
    deployments
        .patch_scale("webserver-blue", &params, &kube::api::Patch::Merge(json!({"spec": {"replicas": 5}})))
        .await
        .expect("scaled through the scale subresource");

    let drift = rollout::status(&backend, &tenant, "webserver").await.unwrap().drift;
    let found: Vec<(&str, &str, Option<&str>, Vec<String>)> =
        drift.iter().map(|d| (d.object.name.as_str(), d.manager.as_str(), d.subresource.as_deref(), d.fields.clone())).collect();
    assert_eq!(found, [("webserver-blue", "rancher-ui", Some("scale"), vec!["spec.replicas".to_string()])]);

    let err = rollout::rollout(&backend, &tenant, &blue, &options()).await.unwrap_err();
    assert_eq!(conflict_of(&err), ("rancher-ui".to_string(), "spec.replicas".to_string()), "{err}");
    assert_eq!(rollout::status(&backend, &tenant, "webserver").await.unwrap().versions[0].desired, 5, "the scale stays");

    let logs = CapturedLogs::default();
    rollout::rollout(&backend, &tenant, &blue, &options().force()).with_subscriber(logs.clone()).await.unwrap();
    assert_eq!(rollout::status(&backend, &tenant, "webserver").await.unwrap().versions[0].desired, 2);
    assert!(logs.lines().iter().any(|l| l.starts_with("WARN") && l.contains("rancher-ui") && l.contains("spec.replicas")), "{:#?}", logs.lines());
    fixtures::delete_tenant(&backend, &ns).await;
}
