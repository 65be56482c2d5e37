//! The release engine on the simulated cluster, for what only it can inject (image pull failures,
//! a quota taken mid-way). The cases run on both backends are in tests/tests/rollout.rs.

use std::sync::Arc;
use std::time::Duration;

use moorage::backend::sim::{Failure, ImageFailure, SimulatedCluster};
use moorage::backend::{ApplyOptions, Backend, Kind, Selector};
use moorage::rollout::{self, Outcome, Progress, RolloutError, RolloutOptions, StuckCause};
use moorage::{compile_tenant, Quota, Release, Strategy, Tenant};
use serde_json::Value;

fn tenant(limits_cpu: &str, limits_memory: &str, pods: u32) -> Tenant {
    Tenant::builder("acme").quota(Quota::new().limits(limits_cpu, limits_memory).pods(pods)).domain("shop.acme.test").build().unwrap()
}

fn webserver(version: &str) -> Release {
    Release::builder("acme", "webserver", version)
        .image("nginxinc/nginx-unprivileged:1.27")
        .replicas(3)
        .port("http", 8080)
        .resources(("100m", "64Mi"), ("200m", "128Mi"))
        .config_file("index.html", format!("<h1>{version}</h1>"))
        .host("shop.acme.test")
        .strategy(Strategy::blue_green().scale_down_delay("30s"))
        .build()
        .unwrap()
}

async fn apply_tenant(backend: &dyn Backend, tenant: &Tenant) {
    let objects: Vec<Value> = compile_tenant(tenant).objects.iter().map(|o| serde_json::to_value(o).unwrap()).collect();
    backend.apply(&objects, &ApplyOptions::default()).await.unwrap();
}

fn deployments(names: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = names.iter().map(|d| d["metadata"]["name"].as_str().unwrap().to_string()).collect();
    v.sort();
    v
}

async fn list_deployments(backend: &dyn Backend) -> Vec<String> {
    deployments(&backend.list(&Kind::of::<k8s_openapi::api::apps::v1::Deployment>(), Some("acme"), &Selector::all()).await.unwrap())
}

async fn stable_selector_version(backend: &dyn Backend) -> String {
    rollout::active_version(backend, "acme", "webserver").await.unwrap().unwrap()
}

#[tokio::test]
async fn a_bad_image_ends_with_the_image_pull_cause_and_blue_keeps_serving() {
    let sim = SimulatedCluster::new();
    sim.inject(ImageFailure::new("registry.test/broken:*", Failure::PullError));
    let t = tenant("4", "4Gi", 20);
    apply_tenant(&sim, &t).await;
    let options = RolloutOptions::with_timeout(Duration::from_secs(120));
    rollout::rollout(&sim, &t, &webserver("blue"), &options).await.unwrap();
    let mut bad = webserver("green").into_spec();
    bad.image = "registry.test/broken:2.0".into();
    let err = rollout::rollout(&sim, &t, &Release::from_spec(bad).unwrap(), &options).await.unwrap_err();
    let RolloutError::Stuck { cause, version, .. } = &err else { panic!("expected Stuck, got {err}") };
    assert_eq!((cause, version.as_str()), (&StuckCause::ImagePull, "green"));
    assert_eq!(stable_selector_version(&sim).await, "blue");
    let history = rollout::history(&sim, &t, "webserver").await.unwrap();
    assert!(matches!(history.revisions.last().unwrap().outcome, Outcome::Failed { .. }));
    // Rolling back cleans the failed version up.
    rollout::rollback(&sim, &t, "webserver", None, &options).await.unwrap();
    assert_eq!(list_deployments(&sim).await, ["webserver-blue"]);
}

#[tokio::test]
async fn quota_exceeded_mid_way_ends_with_the_quota_cause() {
    let sim = Arc::new(SimulatedCluster::new());
    // Room for exactly two sets of 3 x 128Mi: the preflight of green passes.
    let t = tenant("4", "768Mi", 20);
    apply_tenant(sim.as_ref(), &t).await;
    rollout::rollout(sim.as_ref(), &t, &webserver("blue"), &RolloutOptions::default()).await.unwrap();
    // Right after the preflight, another workload takes 256Mi of the quota.
    let other = Release::builder("acme", "batch", "v1").image("busybox:1.36").resources(("50m", "256Mi"), ("100m", "256Mi")).build().unwrap();
    let other = moorage::compile_release(&t, &other).unwrap().objects.iter().map(|o| serde_json::to_value(o).unwrap()).collect::<Vec<_>>();
    let intruder = sim.clone();
    let options = RolloutOptions::with_timeout(Duration::from_secs(120)).on_progress(move |p| {
        if matches!(p, Progress::PreflightPassed { .. }) {
            futures_util::FutureExt::now_or_never(intruder.apply(&other, &ApplyOptions::default())).expect("the simulated cluster answers at once").unwrap();
        }
    });
    let err = rollout::rollout(sim.as_ref(), &t, &webserver("green"), &options).await.unwrap_err();
    let RolloutError::Stuck { cause: StuckCause::QuotaExceeded { resource, limit, .. }, events, .. } = &err else {
        panic!("expected the quota cause, got {err}")
    };
    assert_eq!((resource.as_str(), limit.as_str()), ("limits.memory", "768Mi"));
    assert!(events.iter().any(|e| e.starts_with("FailedCreate") && e.contains("exceeded quota")), "{events:?}");
    assert_eq!(stable_selector_version(sim.as_ref()).await, "blue", "blue still serves");
}

#[tokio::test]
async fn scale_rolls_the_live_revision_out_with_new_replicas_inside_the_quota() {
    let sim = SimulatedCluster::new();
    // 3 pods of 200m/128Mi limits; blue/green needs room for both versions, scaling for the extra pods.
    let t = tenant("2", "1Gi", 10);
    apply_tenant(&sim, &t).await;
    let options = RolloutOptions::with_timeout(Duration::from_secs(120));
    let err = rollout::scale(&sim, &t, "webserver", 4, &options).await.unwrap_err();
    assert!(matches!(err, RolloutError::NoSuchRevision { revision: 0, .. }), "{err}");
    rollout::rollout(&sim, &t, &webserver("blue"), &options).await.unwrap();
    let report = rollout::scale(&sim, &t, "webserver", 5, &options).await.unwrap();
    assert_eq!((report.version.as_str(), report.revision), ("blue", 2));
    let status = rollout::status(&sim, &t, "webserver").await.unwrap();
    assert_eq!((status.versions[0].desired, status.versions[0].ready), (5, 5));
    let history = rollout::history(&sim, &t, "webserver").await.unwrap();
    assert_eq!(history.revisions.iter().map(|r| r.replicas).collect::<Vec<_>>(), [3, 5]);
    // 12 pods x 128Mi do not fit in 1Gi: refused by the preflight, nothing changes.
    let err = rollout::scale(&sim, &t, "webserver", 12, &options).await.unwrap_err();
    assert!(matches!(err, RolloutError::QuotaInsufficient { .. }), "{err}");
    assert_eq!(rollout::status(&sim, &t, "webserver").await.unwrap().versions[0].desired, 5);
}
