//! Autoscaled releases on both backends: the HorizontalPodAutoscaler follows the serving version, a
//! new version starts at the live count (blue/green and canary), and re-applying never resets it.

use std::time::Duration;

use moorage::backend::{ApplyOptions, Backend, Kind};
use moorage::rollout::{self, Phase, RolloutError, RolloutOptions};
use moorage::{compile_tenant, Autoscaling, CanaryStep, Quota, Release, Strategy, Tenant, TrafficRouting};
use serde_json::{json, Value};

/// The field manager the tests scale with, as the autoscaler controller would.
const AUTOSCALER: &str = "horizontal-pod-autoscaler";

fn tenant(name: &str) -> Tenant {
    Tenant::builder(name).quota(Quota::new().limits("4", "4Gi").pods(20)).build().unwrap()
}

fn webserver(t: &Tenant, version: &str, strategy: impl Into<Strategy>) -> Release {
    Release::builder(t.name(), "webserver", version)
        .image("nginxinc/nginx-unprivileged:1.27")
        .replicas(2)
        .port("http", 8080)
        .resources(("100m", "64Mi"), ("200m", "128Mi"))
        .config_file("index.html", format!("<h1>{version}</h1>"))
        .autoscaling(Autoscaling::new(2, 8, 70))
        .strategy(strategy)
        .build()
        .unwrap()
}

fn options() -> RolloutOptions {
    RolloutOptions::with_timeout(Duration::from_secs(180))
}

async fn apply_tenant(backend: &dyn Backend, tenant: &Tenant) {
    let objects: Vec<Value> = compile_tenant(tenant).objects.iter().map(|o| serde_json::to_value(o).unwrap()).collect();
    backend.apply(&objects, &ApplyOptions::default()).await.unwrap();
}

async fn delete_tenant(backend: &dyn Backend, tenant: &Tenant) {
    let _ = backend.delete(&Kind::of::<k8s_openapi::api::core::v1::Namespace>(), None, tenant.name(), moorage::backend::Propagation::Background).await;
}

async fn replicas(backend: &dyn Backend, ns: &str, deployment: &str) -> u64 {
    let d = backend.get(&Kind::of::<k8s_openapi::api::apps::v1::Deployment>(), Some(ns), deployment).await.unwrap().unwrap();
    d["spec"]["replicas"].as_u64().unwrap()
}

async fn autoscaler_target(backend: &dyn Backend, ns: &str) -> String {
    let hpa = backend
        .get(&Kind::of::<k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler>(), Some(ns), "webserver")
        .await
        .unwrap()
        .expect("the HorizontalPodAutoscaler");
    hpa["spec"]["scaleTargetRef"]["name"].as_str().unwrap().to_string()
}

/// Scales a Deployment as the autoscaler does: another field manager takes `spec.replicas`.
async fn scale_as_the_autoscaler(backend: &dyn Backend, ns: &str, deployment: &str, to: u32) {
    let scale = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": deployment, "namespace": ns}, "spec": {"replicas": to}});
    backend.apply(&[scale], &ApplyOptions { field_manager: AUTOSCALER.into(), ..ApplyOptions::force() }).await.unwrap();
}

mod cases {
    use super::*;

    pub async fn blue_green_hands_the_live_count_to_the_new_version(backend: &dyn Backend, ns: &str) {
        let t = tenant(ns);
        apply_tenant(backend, &t).await;
        let bg = || Strategy::blue_green().scale_down_delay("1s");
        rollout::rollout(backend, &t, &webserver(&t, "blue", bg()), &options()).await.unwrap();
        assert_eq!(replicas(backend, ns, "webserver-blue").await, 2, "the first release starts at replicas");
        assert_eq!(autoscaler_target(backend, ns).await, "webserver-blue");

        scale_as_the_autoscaler(backend, ns, "webserver-blue", 5).await;
        let again = rollout::rollout(backend, &t, &webserver(&t, "blue", bg()), &options()).await.unwrap();
        assert!(again.unchanged, "re-applying the live release changes nothing: {again:?}");
        assert_eq!(replicas(backend, ns, "webserver-blue").await, 5, "re-applying never resets the autoscaler's count");

        let green = rollout::rollout(backend, &t, &webserver(&t, "green", bg()), &options()).await.unwrap();
        assert_eq!(green.phase, Phase::Done);
        assert_eq!(replicas(backend, ns, "webserver-green").await, 5, "the new version starts at the live count, not replicas (2)");
        assert_eq!(autoscaler_target(backend, ns).await, "webserver-green", "the autoscaler moved with the switch");
        assert_eq!(replicas(backend, ns, "webserver-blue").await, 0, "the old version is scaled down");

        scale_as_the_autoscaler(backend, ns, "webserver-green", 6).await;
        let again = rollout::rollout(backend, &t, &webserver(&t, "green", bg()), &options()).await.unwrap();
        assert!(again.unchanged, "{again:?}");
        assert_eq!(replicas(backend, ns, "webserver-green").await, 6);
        let status = rollout::status(backend, &t, "webserver").await.unwrap();
        assert!(status.drift.is_empty(), "the autoscaler's count is not drift: {:?}", status.drift);

        // Scaling by hand is refused: the autoscaler owns the count.
        let err = rollout::scale(backend, &t, "webserver", 3, &options()).await.unwrap_err();
        assert!(matches!(&err, RolloutError::Unsupported { what, .. } if what.contains("autoscaling.minReplicas")), "{err}");
        assert_eq!(replicas(backend, ns, "webserver-green").await, 6);

        // A rollback brings blue back at the live count, and the autoscaler with it.
        let back = rollout::rollback(backend, &t, "webserver", None, &options()).await.unwrap();
        assert_eq!(back.version, "blue");
        assert_eq!(replicas(backend, ns, "webserver-blue").await, 6);
        assert_eq!(autoscaler_target(backend, ns).await, "webserver-blue");
        delete_tenant(backend, &t).await;
    }

    pub async fn a_rolling_update_keeps_the_autoscaled_count(backend: &dyn Backend, ns: &str) {
        let t = tenant(ns);
        apply_tenant(backend, &t).await;
        rollout::rollout(backend, &t, &webserver(&t, "v1", Strategy::rolling("25%", "0")), &options()).await.unwrap();
        assert_eq!(autoscaler_target(backend, ns).await, "webserver", "one Deployment, named after the application");
        scale_as_the_autoscaler(backend, ns, "webserver", 5).await;
        let v2 = rollout::rollout(backend, &t, &webserver(&t, "v2", Strategy::rolling("25%", "0")), &options()).await.unwrap();
        assert_eq!(v2.phase, Phase::Done);
        let d = backend.get(&Kind::of::<k8s_openapi::api::apps::v1::Deployment>(), Some(ns), "webserver").await.unwrap().unwrap();
        assert_eq!(d["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/version"], "v2", "the pods rolled to v2");
        assert_eq!(replicas(backend, ns, "webserver").await, 5, "the rolling update kept the autoscaler's count");
        delete_tenant(backend, &t).await;
    }

    pub async fn canary_grows_to_the_stable_live_count(backend: &dyn Backend, ns: &str) {
        let t = tenant(ns);
        apply_tenant(backend, &t).await;
        let canary = || Strategy::canary([CanaryStep::set_weight(50), CanaryStep::pause_until_promoted()]).traffic(TrafficRouting::ReplicaRatio);
        rollout::rollout(backend, &t, &webserver(&t, "blue", canary()), &options()).await.unwrap();
        scale_as_the_autoscaler(backend, ns, "webserver-blue", 4).await;
        let paused = rollout::rollout(backend, &t, &webserver(&t, "green", canary()), &options()).await.unwrap();
        assert_eq!(paused.phase, Phase::Paused);
        assert_eq!(
            (replicas(backend, ns, "webserver-green").await, replicas(backend, ns, "webserver-blue").await),
            (2, 2),
            "50% of R = 4 (the live count), not of replicas (2)"
        );
        assert_eq!(autoscaler_target(backend, ns).await, "webserver-blue", "the autoscaler stays on the stable version until promotion");
        let done = rollout::promote(backend, &t, "webserver", &options()).await.unwrap();
        assert_eq!(done.phase, Phase::Done);
        assert_eq!((replicas(backend, ns, "webserver-green").await, replicas(backend, ns, "webserver-blue").await), (4, 0));
        assert_eq!(autoscaler_target(backend, ns).await, "webserver-green");
        delete_tenant(backend, &t).await;
    }
}

// The real cases run together. (They took turns from 2026-11-26 to 11-28, like the rollout cases,
// whose endpoint drop under load was moorage's own and was fixed on 2026-11-27; see rollout.rs.)
moorage_tests::both_backends!(prefix: "hpa", turns: None, cases: [blue_green_hands_the_live_count_to_the_new_version, a_rolling_update_keeps_the_autoscaled_count, canary_grows_to_the_stable_live_count]);
