//! The release engine on the embedded simulated cluster: the demo of shared/mission.md, made safe.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use moorage::backend::sim::{Failure, ImageFailure, SimulatedCluster};
use moorage::backend::{ApplyOptions, Backend, Kind, Selector, WatchEvent};
use moorage::rollout::{self, Outcome, Phase, Progress, RolloutError, RolloutOptions, StuckCause};
use moorage::{compile_tenant, labels, Quota, Release, Strategy, Tenant};
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

/// The ready-endpoint count of the stable Service after every change seen so far on `stream`.
fn drain_ready_counts(stream: &mut moorage::backend::WatchStream, slices: &mut std::collections::BTreeMap<String, Value>, out: &mut Vec<usize>) {
    use futures_util::FutureExt;
    while let Some(Some(Ok(event))) = stream.next().now_or_never() {
        match event {
            WatchEvent::Applied(s) => slices.insert(s["metadata"]["name"].as_str().unwrap_or_default().to_string(), s),
            WatchEvent::Deleted(s) => slices.remove(s["metadata"]["name"].as_str().unwrap_or_default()),
        };
        let all: Vec<Value> = slices.values().cloned().collect();
        out.push(moorage::backend::wait::ready_endpoints(&all));
    }
}

#[tokio::test]
async fn the_demo_made_safe() {
    let sim = SimulatedCluster::new();
    let backend: &dyn Backend = &sim;
    // A quota sized for one version of 3 pods (3 x 200m / 128Mi limits).
    let small = tenant("600m", "384Mi", 4);
    apply_tenant(backend, &small).await;
    let events = Arc::new(Mutex::new(Vec::new()));
    let log = events.clone();
    let options = RolloutOptions::with_timeout(Duration::from_secs(300)).on_progress(move |p| log.lock().unwrap().push(p.clone()));

    let blue = rollout::rollout(backend, &small, &webserver("blue"), &options).await.unwrap();
    assert_eq!((blue.revision, blue.phase), (1, Phase::Done));
    assert_eq!(stable_selector_version(backend).await, "blue");
    let slice_kind = Kind::of::<k8s_openapi::api::discovery::v1::EndpointSlice>();
    let mut slices_stream = backend.watch(&slice_kind, Some("acme"), &Selector::labels("kubernetes.io/service-name=webserver")).await.unwrap();

    // Green needs a second set of 3 pods: refused before anything is created, with the raise needed.
    let err = rollout::rollout(backend, &small, &webserver("green"), &options).await.unwrap_err();
    let RolloutError::QuotaInsufficient { resource, needed, available, hint } = &err else { panic!("expected QuotaInsufficient, got {err}") };
    assert_eq!(resource, "pods");
    assert_eq!((needed.as_str(), available.as_str()), ("3", "1"));
    assert!(hint.contains("raise the tenant's quota: pods from 4 to at least 6"), "{hint}");
    assert_eq!(list_deployments(backend).await, ["webserver-blue"], "nothing created");

    // The quota is raised; green rolls out; traffic switches once green is ready.
    let raised = tenant("2", "1Gi", 10);
    apply_tenant(backend, &raised).await;
    events.lock().unwrap().clear();
    let green = rollout::rollout(backend, &raised, &webserver("green"), &options).await.unwrap();
    assert_eq!((green.revision, green.phase, green.previous.as_deref()), (2, Phase::Done, Some("blue")));
    assert_eq!(stable_selector_version(backend).await, "green");
    let progress = events.lock().unwrap().clone();
    let ready_at = progress.iter().position(|p| matches!(p, Progress::ReplicasReady { version, ready: 3, .. } if version == "green")).expect("green 3/3 reported");
    let switched_at = progress.iter().position(|p| matches!(p, Progress::TrafficSwitched { .. })).expect("switch reported");
    assert!(ready_at < switched_at, "switch only after green is ready: {progress:#?}");
    assert!(progress.iter().any(|p| matches!(p, Progress::ScaledDown { version } if version == "blue")), "{progress:#?}");
    // Blue is kept (scaled down) for rollback.
    assert_eq!(list_deployments(backend).await, ["webserver-blue", "webserver-green"]);

    // Deleting green while the stable Service selects it is refused (the demo's 503).
    let err = rollout::delete_version(backend, &raised, "webserver", "green").await.unwrap_err();
    assert!(matches!(err, RolloutError::VersionSelected { .. }), "{err}");

    // Rollback to blue restores blue (its image and config) and moves the selector.
    let back = rollout::rollback(backend, &raised, "webserver", None, &options).await.unwrap();
    assert_eq!((back.version.as_str(), back.phase), ("blue", Phase::Done));
    assert_eq!(stable_selector_version(backend).await, "blue");
    let history = rollout::history(backend, &raised, "webserver").await.unwrap();
    let outcomes: Vec<(u32, &str, &Outcome)> = history.revisions.iter().map(|r| (r.number, r.version.as_str(), &r.outcome)).collect();
    assert_eq!(outcomes, [(1, "blue", &Outcome::Superseded), (2, "green", &Outcome::RolledBack { to: 3 }), (3, "blue", &Outcome::Succeeded)]);
    // Deleting green is allowed now that blue is selected.
    rollout::delete_version(backend, &raised, "webserver", "green").await.unwrap();
    assert_eq!(list_deployments(backend).await, ["webserver-blue"]);

    // The stable Service never had zero ready endpoints once it had some.
    let (mut slices, mut counts) = (std::collections::BTreeMap::new(), Vec::new());
    drain_ready_counts(&mut slices_stream, &mut slices, &mut counts);
    let first = counts.iter().position(|c| *c > 0).expect("endpoints seen");
    assert!(counts[first..].iter().all(|c| *c > 0), "stable Service lost its endpoints: {counts:?}");
}

#[tokio::test]
async fn applying_the_live_release_again_changes_nothing() {
    let sim = SimulatedCluster::new();
    let t = tenant("4", "4Gi", 20);
    apply_tenant(&sim, &t).await;
    let options = RolloutOptions::default();
    rollout::rollout(&sim, &t, &webserver("blue"), &options).await.unwrap();
    let again = rollout::rollout(&sim, &t, &webserver("blue"), &options).await.unwrap();
    assert!(again.unchanged, "{again:?}");
    assert_eq!(again.revision, 1);
}

#[tokio::test]
async fn manual_promotion_waits_then_switches() {
    let sim = SimulatedCluster::new();
    let t = tenant("4", "4Gi", 20);
    apply_tenant(&sim, &t).await;
    let options = RolloutOptions::default();
    rollout::rollout(&sim, &t, &webserver("blue"), &options).await.unwrap();
    let manual = Release::from_spec({
        let mut s = webserver("green").into_spec();
        s.strategy = Strategy::blue_green().auto_promote(false).into();
        s
    })
    .unwrap();
    let waiting = rollout::rollout(&sim, &t, &manual, &options).await.unwrap();
    assert_eq!(waiting.phase, Phase::WaitingForPromotion);
    assert_eq!(stable_selector_version(&sim).await, "blue", "no switch before promote");
    let preview = sim.get(&Kind::of::<k8s_openapi::api::core::v1::Service>(), Some("acme"), "webserver-preview").await.unwrap().unwrap();
    assert_eq!(preview["spec"]["selector"][labels::VERSION], "green", "green is reachable on the preview Service");
    let done = rollout::promote(&sim, &t, "webserver", &options).await.unwrap();
    assert_eq!(done.phase, Phase::Done);
    assert_eq!(stable_selector_version(&sim).await, "green");
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
    let RolloutError::Stuck { cause: StuckCause::QuotaExceeded { resource, limit, .. }, events, .. } = &err else { panic!("expected the quota cause, got {err}") };
    assert_eq!((resource.as_str(), limit.as_str()), ("limits.memory", "768Mi"));
    assert!(events.iter().any(|e| e.starts_with("FailedCreate") && e.contains("exceeded quota")), "{events:?}");
    assert_eq!(stable_selector_version(sim.as_ref()).await, "blue", "blue still serves");
}

#[tokio::test]
async fn rollback_while_the_old_version_is_warm_is_one_selector_change() {
    let sim = SimulatedCluster::new();
    let t = tenant("4", "4Gi", 20);
    apply_tenant(&sim, &t).await;
    rollout::rollout(&sim, &t, &webserver("blue"), &RolloutOptions::default()).await.unwrap();
    let switch_only = RolloutOptions { wait_for_scale_down: false, ..RolloutOptions::default() };
    let green = rollout::rollout(&sim, &t, &webserver("green"), &switch_only).await.unwrap();
    assert_eq!(green.phase, Phase::Switched);
    let status = rollout::status(&sim, &t, "webserver").await.unwrap();
    assert!(status.versions.iter().all(|v| v.ready == 3), "both versions warm: {status:?}");
    let events = Arc::new(Mutex::new(Vec::new()));
    let log = events.clone();
    let options = RolloutOptions::default().on_progress(move |p| log.lock().unwrap().push(p.clone()));
    rollout::rollback(&sim, &t, "webserver", None, &options).await.unwrap();
    let progress = events.lock().unwrap().clone();
    assert!(matches!(&progress[0], Progress::TrafficSwitched { to, .. } if to == "blue"), "the first thing a warm rollback does is switch: {progress:#?}");
    assert!(!progress.iter().any(|p| matches!(p, Progress::Applied { .. } | Progress::ReplicasReady { .. })), "{progress:#?}");
    assert_eq!(stable_selector_version(&sim).await, "blue");
}
