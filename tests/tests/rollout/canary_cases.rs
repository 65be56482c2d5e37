//! Canary and crash-and-resume cases of the release engine, run on both backends by `rollout.rs`.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use moorage::backend::{Backend, Kind, Selector};
use moorage::rollout::{self, Outcome, Phase, Progress, RolloutOptions};
use moorage::{CanaryStep, Release, Strategy, Tenant, TrafficRouting};
use serde_json::Value;

use super::{apply_tenant, delete_tenant, options, record_ready_endpoints, selected, tenant};

/// A release of `webserver` with 4 replicas and the given strategy.
pub fn webserver4(t: &Tenant, version: &str, strategy: Strategy) -> Release {
    let mut spec = super::webserver(t, version).into_spec();
    spec.replicas = 4;
    spec.strategy = strategy;
    Release::from_spec(spec).unwrap()
}

fn canary(traffic: TrafficRouting) -> Strategy {
    Strategy::canary([CanaryStep::set_weight(25), CanaryStep::pause_for("1s"), CanaryStep::set_weight(50), CanaryStep::pause_until_promoted()])
        .traffic(traffic)
        .into()
}

fn recording() -> (Arc<Mutex<Vec<Progress>>>, RolloutOptions) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let log = events.clone();
    (events, options().on_progress(move |p| log.lock().unwrap().push(p.clone())))
}

async fn replicas(backend: &dyn Backend, ns: &str, name: &str) -> u64 {
    let d = backend.get(&Kind::of::<k8s_openapi::api::apps::v1::Deployment>(), Some(ns), name).await.unwrap().unwrap();
    d["spec"]["replicas"].as_u64().unwrap_or(0)
}

/// Ready endpoints of the stable Service: (of `version`, all).
async fn endpoint_share(backend: &dyn Backend, ns: &str, version: &str) -> (usize, usize) {
    let slices = backend
        .list(&Kind::of::<k8s_openapi::api::discovery::v1::EndpointSlice>(), Some(ns), &Selector::labels("kubernetes.io/service-name=webserver"))
        .await
        .unwrap();
    let pods = backend
        .list(&Kind::of::<k8s_openapi::api::core::v1::Pod>(), Some(ns), &Selector::labels(format!("{}={version}", moorage::labels::VERSION)))
        .await
        .unwrap();
    let names: Vec<&str> = pods.iter().filter_map(|p| p["metadata"]["name"].as_str()).collect();
    let ready: Vec<&Value> = slices.iter().flat_map(|s| s["endpoints"].as_array().into_iter().flatten()).filter(|e| e["conditions"]["ready"] == true).collect();
    (ready.iter().filter(|e| e["targetRef"]["name"].as_str().is_some_and(|n| names.contains(&n))).count(), ready.len())
}

pub async fn canary_weights_match_endpoints(backend: &dyn Backend, name: &str) {
    let t = tenant(name, "4", "4Gi", 20);
    apply_tenant(backend, &t).await;
    rollout::rollout(backend, &t, &webserver4(&t, "blue", canary(TrafficRouting::ReplicaRatio)), &options()).await.unwrap();
    let stream = backend
        .watch(&Kind::of::<k8s_openapi::api::discovery::v1::EndpointSlice>(), Some(name), &Selector::labels("kubernetes.io/service-name=webserver"))
        .await
        .unwrap();
    let (stop, recorder) = record_ready_endpoints(stream);
    let (events, opts) = recording();
    let paused = rollout::rollout(backend, &t, &webserver4(&t, "green", canary(TrafficRouting::ReplicaRatio)), &opts).await.unwrap();
    assert_eq!(paused.phase, Phase::Paused);
    let weights: Vec<(u32, u32, u32, u32)> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|p| match p {
            Progress::WeightSet { requested, actual, canary, total } => Some((*requested, *actual, *canary, *total)),
            _ => None,
        })
        .collect();
    assert_eq!(weights, [(25, 25, 1, 4), (50, 50, 2, 4)], "R=4: 25% is one pod of four, 50% two");
    // Paused at 50%: the stable Service's ready endpoints are half green, half blue.
    assert_eq!(endpoint_share(backend, name, "green").await, (2, 4));
    assert_eq!(endpoint_share(backend, name, "blue").await, (2, 4));
    let status = rollout::status(backend, &t, "webserver").await.unwrap();
    assert_eq!(status.rollout.unwrap().step, Some(3));
    assert_eq!(status.canary_weight, Some(50), "status reports the weight reached");
    let done = rollout::promote(backend, &t, "webserver", &opts).await.unwrap();
    assert_eq!(done.phase, Phase::Done);
    assert_eq!(selected(backend, name).await, "green");
    assert_eq!(endpoint_share(backend, name, "green").await, (4, 4));
    assert_eq!((replicas(backend, name, "webserver-green").await, replicas(backend, name, "webserver-blue").await), (4, 0));
    stop.send(()).unwrap();
    let counts = recorder.await.unwrap();
    let first = counts.iter().position(|c| *c > 0).expect("endpoints seen");
    assert!(counts[first..].iter().all(|c| *c > 0), "stable Service lost its endpoints: {counts:?}");
    delete_tenant(backend, &t).await;
}

pub async fn canary_abort_returns_traffic_to_stable(backend: &dyn Backend, name: &str) {
    let t = tenant(name, "4", "4Gi", 20);
    apply_tenant(backend, &t).await;
    rollout::rollout(backend, &t, &webserver4(&t, "blue", canary(TrafficRouting::ReplicaRatio)), &options()).await.unwrap();
    let green = webserver4(&t, "green", canary(TrafficRouting::ReplicaRatio));
    assert_eq!(rollout::rollout(backend, &t, &green, &options()).await.unwrap().phase, Phase::Paused);
    for version in ["blue", "green"] {
        let err = rollout::delete_version(backend, &t, "webserver", version).await.unwrap_err();
        assert!(matches!(err, rollout::RolloutError::VersionSelected { .. }), "both versions serve during the canary: {err}");
    }
    let aborted = rollout::abort(backend, &t, "webserver", &options()).await.unwrap();
    assert_eq!(aborted.version, "blue");
    assert_eq!(selected(backend, name).await, "blue");
    assert_eq!(endpoint_share(backend, name, "blue").await, (4, 4));
    assert_eq!((replicas(backend, name, "webserver-green").await, replicas(backend, name, "webserver-blue").await), (0, 4));
    let history = rollout::history(backend, &t, "webserver").await.unwrap();
    assert_eq!(history.revisions.last().unwrap().outcome, Outcome::Failed { reason: "aborted".into() });
    // Retry restarts the steps from the first.
    let (events, opts) = recording();
    assert_eq!(rollout::retry(backend, &t, "webserver", &opts).await.unwrap().phase, Phase::Paused);
    assert!(events.lock().unwrap().iter().any(|p| matches!(p, Progress::WeightSet { requested: 25, .. })));
    // A rollback during the canary aborts it too.
    assert_eq!(rollout::rollback(backend, &t, "webserver", None, &options()).await.unwrap().version, "blue");
    assert_eq!(selected(backend, name).await, "blue");
    assert_eq!((replicas(backend, name, "webserver-green").await, replicas(backend, name, "webserver-blue").await), (0, 4));
    delete_tenant(backend, &t).await;
}

pub async fn canary_ingress_nginx_sets_the_weight(backend: &dyn Backend, name: &str) {
    let t = tenant(name, "4", "4Gi", 20);
    apply_tenant(backend, &t).await;
    let strategy = || Strategy::from(Strategy::canary([CanaryStep::set_weight(30), CanaryStep::pause_until_promoted()]).traffic(TrafficRouting::IngressNginx));
    rollout::rollout(backend, &t, &webserver4(&t, "blue", strategy()), &options()).await.unwrap();
    assert_eq!(rollout::rollout(backend, &t, &webserver4(&t, "green", strategy()), &options()).await.unwrap().phase, Phase::Paused);
    let ingress_kind = Kind::of::<k8s_openapi::api::networking::v1::Ingress>();
    let ingress = backend.get(&ingress_kind, Some(name), "webserver-canary").await.unwrap().expect("canary Ingress");
    assert_eq!(ingress["metadata"]["annotations"][rollout::NGINX_CANARY], "true");
    assert_eq!(ingress["metadata"]["annotations"][rollout::NGINX_CANARY_WEIGHT], "30");
    assert_eq!(ingress["spec"]["rules"][0]["host"], format!("shop.{name}.test"));
    assert_eq!(ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"], "webserver-canary");
    assert_eq!(selected(backend, name).await, "blue", "the stable Service stays on blue");
    rollout::promote(backend, &t, "webserver", &options()).await.unwrap();
    assert_eq!(selected(backend, name).await, "green");
    assert!(backend.get(&ingress_kind, Some(name), "webserver-canary").await.unwrap().is_none(), "canary Ingress deleted at 100%");
    delete_tenant(backend, &t).await;
}

/// Rolls blue then green out with `strategy`, killing green's driver right after its `kill_at`-th
/// progress event (never, with `usize::MAX`), then resumes (and promotes) with new drivers until
/// done. Returns how many progress events the green driver emitted before it died or finished.
async fn kill_and_resume(backend: &dyn Backend, name: &str, strategy: Strategy, kill_at: usize) -> usize {
    let t = tenant(name, "4", "4Gi", 20);
    apply_tenant(backend, &t).await;
    rollout::rollout(backend, &t, &webserver4(&t, "blue", strategy.clone()), &options()).await.unwrap();
    let stream = backend
        .watch(&Kind::of::<k8s_openapi::api::discovery::v1::EndpointSlice>(), Some(name), &Selector::labels("kubernetes.io/service-name=webserver"))
        .await
        .unwrap();
    let (stop, recorder) = record_ready_endpoints(stream);
    let dead = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(AtomicUsize::new(0));
    let (flag, count) = (dead.clone(), seen.clone());
    let opts = options().on_progress(move |_| {
        if count.fetch_add(1, Ordering::SeqCst) + 1 == kill_at {
            flag.store(true, Ordering::SeqCst);
        }
    });
    let dying = moorage_tests::dying::Dying { inner: backend, dead: dead.clone() };
    let green = webserver4(&t, "green", strategy);
    let (kill, killed) = tokio::sync::oneshot::channel::<()>();
    let watcher = {
        let dead = dead.clone();
        tokio::spawn(async move {
            while !dead.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let _ = kill.send(());
        })
    };
    let driver = async {
        let r = rollout::rollout(&dying, &t, &green, &opts).await.unwrap();
        if r.phase == Phase::Paused {
            rollout::promote(&dying, &t, "webserver", &opts).await.unwrap();
        }
    };
    tokio::select! {
        () = driver => {},
        _ = killed => {},
    };
    watcher.abort();
    let emitted = seen.load(Ordering::SeqCst);
    // New drivers until done.
    for _ in 0..4 {
        match rollout::resume(backend, &t, "webserver", &options()).await.unwrap() {
            None => break,
            Some(r) if r.phase == Phase::Paused => {
                rollout::promote(backend, &t, "webserver", &options()).await.unwrap();
            }
            Some(_) => {}
        }
    }
    assert!(rollout::status(backend, &t, "webserver").await.unwrap().rollout.is_none(), "kill at {kill_at}: converged");
    assert_eq!(selected(backend, name).await, "green", "kill at {kill_at}");
    assert_eq!(replicas(backend, name, "webserver-green").await, 4, "kill at {kill_at}");
    stop.send(()).unwrap();
    let counts = recorder.await.unwrap();
    let first = counts.iter().position(|c| *c > 0).expect("endpoints seen");
    assert!(counts[first..].iter().all(|c| *c > 0), "kill at {kill_at}: stable Service lost its endpoints: {counts:?}");
    delete_tenant(backend, &t).await;
    emitted
}

async fn kill_at_every_boundary(backend: &dyn Backend, name: &str, strategy: Strategy) -> usize {
    let total = kill_and_resume(backend, &format!("{name}-k0"), strategy.clone(), usize::MAX).await;
    assert!(total > 3, "a clean run emits progress");
    let mut killed = 0;
    for n in 1..total {
        // Events emitted with no backend call between them die together. On a real cluster the
        // number of `ReplicasReady` events varies from run to run: a run may finish before event n.
        if kill_and_resume(backend, &format!("{name}-k{n}"), strategy.clone(), n).await >= n {
            killed += 1;
        }
    }
    eprintln!("{}: {} kill points tried, {killed} driver(s) killed and resumed", strategy.kind(), total - 1);
    assert!(killed * 2 >= total - 1, "most kill points were reached");
    killed
}

pub async fn blue_green_survives_a_kill_at_every_step(backend: &dyn Backend, name: &str) {
    kill_at_every_boundary(backend, name, Strategy::blue_green().scale_down_delay("1s").into()).await;
}

pub async fn canary_survives_a_kill_at_every_step(backend: &dyn Backend, name: &str) {
    kill_at_every_boundary(backend, name, canary(TrafficRouting::ReplicaRatio)).await;
}
