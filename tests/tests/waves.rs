//! Fleet waves: one application upgraded across tenants of a hybrid fleet (two simulated clusters,
//! and the real control plane beside a simulated one): canary tenants first, waves, per-cluster
//! concurrency, the failure budget, the up-front quota preflight, pause gates, and a driver that
//! dies mid-wave replaced by another.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use moorage::backend::sim::{Failure, ImageFailure, SimulatedCluster};
use moorage::backend::{ApplyOptions, Backend, BackendError, ConflictPolicy, Kind, Propagation, Selector};
use moorage::rollout::{self, RolloutOptions};
use moorage::tenant::{self, ApplyTenantOptions, DeleteOptions, Fleet, FleetCluster, Placement};
use moorage::waves::{self, TenantWaveState, WaveError, WaveOptions, WavePhase, WavePlan, WaveProgress};
use moorage::{Quota, Release, Strategy, Tenant};
use moorage_tests::dying::Dying;

const OLD_IMAGE: &str = "registry.test/shop:1.0";
const NEW_IMAGE: &str = "registry.test/shop:2.0";

fn cluster(name: &str, backend: Arc<dyn Backend>) -> FleetCluster {
    FleetCluster { name: name.into(), labels: BTreeMap::from([("location".to_string(), name.to_string())]), capacity: 1000, storage_classes: None, backend }
}

fn tenant(name: &str, pods: u32) -> Tenant {
    Tenant::builder(name)
        .protected(false)
        .label("plan", "pro")
        .domain(format!("shop.{name}.test"))
        .quota(Quota::new().limits("4", "4Gi").pods(pods))
        .build()
        .unwrap()
}

fn shop(tenant: &Tenant, version: &str, image: &str) -> Release {
    Release::builder(tenant.name(), "shop", version)
        .image(image)
        .replicas(2)
        .port("http", 8080)
        .resources(("50m", "32Mi"), ("100m", "64Mi"))
        .host(format!("shop.{}.test", tenant.name()))
        .strategy(Strategy::blue_green().scale_down_delay("0s"))
        .build()
        .unwrap()
}

fn rollout_options() -> RolloutOptions {
    RolloutOptions::with_timeout(Duration::from_secs(120))
}

/// Places `names` on `fleet` (by rule) and rolls shop 1.0 out on each.
async fn onboard(fleet: &Fleet, names: &[String], pods: u32) {
    for name in names {
        let t = tenant(name, pods);
        let (cluster, _) = fleet
            .apply(&t, &Placement::Pinned(pin_for(fleet, name)), &ApplyTenantOptions { timeout: Duration::from_secs(120), ..Default::default() })
            .await
            .unwrap();
        let backend = fleet.cluster(&cluster).unwrap().backend.clone();
        rollout::rollout(backend.as_ref(), &t, &shop(&t, "1.0", OLD_IMAGE), &rollout_options()).await.unwrap();
    }
}

/// Alternates tenants over the fleet's clusters by the number in their name.
fn pin_for(fleet: &Fleet, name: &str) -> String {
    let head = name.split('-').next().unwrap_or(name);
    let n: usize = head.chars().filter(char::is_ascii_digit).collect::<String>().parse().unwrap_or(0);
    fleet.clusters()[n % fleet.clusters().len()].name.clone()
}

async fn version_of(fleet: &Fleet, tenant: &str) -> String {
    let cluster = fleet.locate(tenant).await.unwrap().unwrap();
    rollout::active_version(fleet.cluster(&cluster).unwrap().backend.as_ref(), tenant, "shop").await.unwrap().unwrap()
}

async fn revisions_of(fleet: &Fleet, tenant: &str) -> Vec<String> {
    let cluster = fleet.locate(tenant).await.unwrap().unwrap();
    let t = Tenant::builder(tenant).build().unwrap();
    rollout::history(fleet.cluster(&cluster).unwrap().backend.as_ref(), &t, "shop").await.unwrap().revisions.iter().map(|r| r.version.clone()).collect()
}

fn recorder() -> (WaveOptions, Arc<Mutex<Vec<WaveProgress>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let options = WaveOptions { rollout: rollout_options(), ..Default::default() }.on_progress(move |p| sink.lock().unwrap().push(p.clone()));
    (options, seen)
}

fn names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i:02}")).collect()
}

fn two_sims() -> (Fleet, Arc<SimulatedCluster>, Arc<SimulatedCluster>) {
    let (a, b) = (Arc::new(SimulatedCluster::new()), Arc::new(SimulatedCluster::new()));
    let fleet = Fleet::new(vec![cluster("onprem", a.clone()), cluster("cloud", b.clone())]).unwrap();
    (fleet, a, b)
}

#[tokio::test]
async fn canary_tenants_go_first_then_waves_upgrade_everyone_once() {
    let (fleet, _, _) = two_sims();
    let tenants = names("w", 10);
    onboard(&fleet, &tenants, 10).await;
    let plan = WavePlan::builder("shop-2", "shop", "2.0", NEW_IMAGE).canary_tenants(["w03"]).waves([25, 100]).max_concurrent_per_cluster(2).build().unwrap();
    let (options, seen) = recorder();
    let state = waves::start(&fleet, &plan, &options).await.unwrap();

    assert_eq!(state.phase, WavePhase::Done);
    assert_eq!(state.waves, ["canary", "25%", "100%"]);
    assert_eq!((state.succeeded(), state.failed(), state.skipped()), (10, 0, 0));
    for t in &tenants {
        assert_eq!(version_of(&fleet, t).await, "2.0", "{t}");
        assert_eq!(revisions_of(&fleet, t).await, ["1.0", "2.0"], "{t} rolled out exactly once");
    }
    // The canary tenant finished before any other tenant started.
    let events = seen.lock().unwrap().clone();
    let started: Vec<String> =
        events.iter().filter_map(|e| if let WaveProgress::TenantStarted { tenant, .. } = e { Some(tenant.clone()) } else { None }).collect();
    assert_eq!(started[0], "w03");
    let canary_done = events.iter().position(|e| matches!(e, WaveProgress::TenantSucceeded { tenant, .. } if tenant == "w03")).unwrap();
    let second_start = events.iter().position(|e| matches!(e, WaveProgress::TenantStarted { tenant, .. } if tenant != "w03")).unwrap();
    assert!(canary_done < second_start, "{events:?}");
    // 25% of the 9 others rounds up to 3 tenants.
    assert_eq!(state.wave_tenants(1).count(), 3);
    assert!(matches!(events.last(), Some(WaveProgress::Done { succeeded: 10, failed: 0, skipped: 0 })));

    // Stored in the cluster: another process reads the same state; starting again changes nothing.
    let stored = waves::status(&fleet, "shop-2").await.unwrap().unwrap();
    assert_eq!(stored, state);
    let again = waves::start(&fleet, &plan, &options).await.unwrap();
    assert_eq!(again, state);
    for t in &tenants {
        assert_eq!(revisions_of(&fleet, t).await, ["1.0", "2.0"]);
    }
    let other = WavePlan::builder("shop-2", "shop", "3.0", NEW_IMAGE).build().unwrap();
    assert!(matches!(waves::start(&fleet, &other, &options).await, Err(WaveError::PlanExists { .. })));
    assert!(matches!(waves::resume(&fleet, "nope", &options).await, Err(WaveError::NoSuchPlan { .. })));
}

#[tokio::test]
async fn the_failure_budget_stops_the_plan_and_failed_tenants_are_rolled_back() {
    let (fleet, _, cloud) = two_sims();
    let tenants = names("f", 8);
    onboard(&fleet, &tenants, 10).await;
    // Every tenant on the cloud cluster (odd numbers) fails to pull the new image.
    cloud.inject(ImageFailure::new(NEW_IMAGE, Failure::PullError));
    let plan = WavePlan::builder("shop-2", "shop", "2.0", NEW_IMAGE)
        .canary_tenants(["f00"])
        .waves([50, 100])
        .failure_budget(1)
        .max_concurrent_per_cluster(1)
        .build()
        .unwrap();
    let (mut options, _) = recorder();
    options.rollout = RolloutOptions::with_timeout(Duration::from_secs(30));
    let state = waves::start(&fleet, &plan, &options).await.unwrap();

    assert!(matches!(state.phase, WavePhase::Stopped { .. }), "{:?}", state.phase);
    assert_eq!(state.current_wave, 1, "stopped in the 50% wave");
    assert!(state.failed() >= 2, "more than the budget of 1 failed: {:?}", state.tenants);
    for t in &state.tenants {
        let version = version_of(&fleet, &t.tenant).await;
        match &t.state {
            TenantWaveState::Succeeded => assert_eq!(version, "2.0"),
            TenantWaveState::Failed { reason } => {
                assert_eq!(version, "1.0", "{} rolled back", t.tenant);
                assert!(reason.contains("2.0"), "{reason}");
                // Rolled back: the new version's Deployment is gone.
                let cluster = fleet.cluster(&t.cluster).unwrap().backend.clone();
                let deployments = cluster.list(&Kind::of::<k8s_openapi::api::apps::v1::Deployment>(), Some(&t.tenant), &Selector::all()).await.unwrap();
                assert!(deployments.iter().all(|d| d["metadata"]["name"] != "shop-2.0"), "{}: {deployments:?}", t.tenant);
            }
            TenantWaveState::Pending => {
                assert_eq!(version, "1.0");
                assert_eq!(revisions_of(&fleet, &t.tenant).await, ["1.0"], "{} never touched", t.tenant);
            }
            other => panic!("{}: unexpected {other:?}", t.tenant),
        }
    }
    assert!(state.tenants.iter().any(|t| t.state == TenantWaveState::Pending), "the 100% wave never started");
}

#[tokio::test]
async fn tenants_whose_quota_cannot_hold_the_rollout_are_left_out_up_front() {
    let (fleet, _, _) = two_sims();
    let mut tenants = names("q", 4);
    onboard(&fleet, &tenants, 10).await;
    // Room for the two running pods only: blue/green needs two more at its peak.
    let tight = "q10".to_string();
    onboard(&fleet, std::slice::from_ref(&tight), 2).await;
    tenants.push(tight.clone());
    let plan = WavePlan::builder("shop-2", "shop", "2.0", NEW_IMAGE).build().unwrap();
    let (options, seen) = recorder();
    let state = waves::start(&fleet, &plan, &options).await.unwrap();

    let entry = state.tenant(&tight).unwrap();
    assert!(matches!(&entry.state, TenantWaveState::Skipped { reason } if reason.contains("quota") && reason.contains("pods")), "{entry:?}");
    assert_eq!(entry.wave, None);
    assert_eq!(revisions_of(&fleet, &tight).await, ["1.0"], "nothing was created for the tenant left out");
    assert_eq!((state.succeeded(), state.skipped()), (4, 1));
    let planned = seen.lock().unwrap().iter().find_map(|e| if let WaveProgress::Planned { skipped, .. } = e { Some(skipped.clone()) } else { None }).unwrap();
    assert_eq!(planned.len(), 1, "reported before the first wave: {planned:?}");
}

#[tokio::test]
async fn a_paused_plan_waits_for_resume_and_a_dead_driver_is_replaced() {
    let (fleet, _, _) = two_sims();
    let tenants = names("p", 9);
    onboard(&fleet, &tenants, 10).await;
    let plan = WavePlan::builder("shop-2", "shop", "2.0", NEW_IMAGE)
        .canary_tenants(["p00"])
        .waves([100])
        .pause_between_waves()
        .max_concurrent_per_cluster(2)
        .build()
        .unwrap();
    let (options, _) = recorder();
    let paused = waves::start(&fleet, &plan, &options).await.unwrap();
    assert_eq!((paused.phase.clone(), paused.current_wave, paused.succeeded()), (WavePhase::Paused, 1, 1));
    assert_eq!(version_of(&fleet, "p05").await, "1.0", "the second wave waits for resume");

    // The driver of the second wave dies after three tenants succeeded: from then on its calls never
    // return (a frozen, then killed, process), and its future is dropped mid-rollout.
    let dead = Arc::new(AtomicBool::new(false));
    let frozen: Vec<FleetCluster> =
        fleet.clusters().iter().map(|c| cluster(&c.name, Arc::new(Dying { inner: c.backend.clone(), dead: dead.clone() }))).collect();
    let doomed = Fleet::new(frozen).unwrap();
    let (flag, count) = (dead.clone(), Arc::new(AtomicUsize::new(0)));
    let counting = WaveOptions { rollout: rollout_options(), ..Default::default() }.on_progress(move |p| {
        if matches!(p, WaveProgress::TenantSucceeded { .. }) && count.fetch_add(1, Ordering::SeqCst) + 1 == 3 {
            flag.store(true, Ordering::SeqCst);
        }
    });
    let driver = waves::resume(&doomed, "shop-2", &counting);
    tokio::pin!(driver);
    let frozen_at = async {
        while !dead.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    tokio::select! {
        r = &mut driver => panic!("the driver finished before it was killed: {r:?}"),
        () = frozen_at => {}
    }
    // The driver is never polled again, and its backend answers nothing: a killed process.
    let mid = waves::status(&fleet, "shop-2").await.unwrap().unwrap();
    assert_eq!(mid.phase, WavePhase::Running);
    assert!(mid.remaining() > 0, "killed mid-wave: {:?}", mid.tenants);

    // The dead driver's lease holds until it expires (virtual time): until then resume is refused.
    let dead_holder = waves::driver(&fleet, "shop-2").await.unwrap().expect("the dead driver's lease");
    assert!(!dead_holder.expired);
    match waves::resume(&fleet, "shop-2", &options).await {
        Err(WaveError::LeaseHeld { holder, expires, .. }) => assert_eq!((holder, expires), (dead_holder.holder.clone(), dead_holder.expires.clone())),
        other => panic!("expected LeaseHeld, got {other:?}"),
    }
    fleet.clusters()[0].backend.sleep(waves::DEFAULT_LEASE_DURATION).await;
    assert!(waves::driver(&fleet, "shop-2").await.unwrap().unwrap().expired);

    let finished = waves::resume(&fleet, "shop-2", &options).await.unwrap();
    assert_eq!((finished.phase.clone(), finished.succeeded()), (WavePhase::Done, 9));
    for t in &tenants {
        assert_eq!(version_of(&fleet, t).await, "2.0");
        assert_eq!(revisions_of(&fleet, t).await, ["1.0", "2.0"], "{t}: none rolled out twice");
    }
}

/// Two drivers at once: while the first one runs a wave, a second `start` or `resume` is refused
/// with the holder's name and lease expiry; once the first one returns, its lease is given up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_driver_is_refused_while_the_first_one_runs() {
    let (fleet, _, _) = two_sims();
    let tenants = names("d", 4);
    onboard(&fleet, &tenants, 10).await;
    let plan = WavePlan::builder("shop-2", "shop", "2.0", NEW_IMAGE).canary_tenants(["d00"]).waves([100]).build().unwrap();
    // The first driver stops in its first tenant's start until the second one has tried.
    let (mid_wave, mid_wave_rx) = tokio::sync::oneshot::channel::<()>();
    let (tried, tried_rx) = std::sync::mpsc::channel::<()>();
    let mid_wave = Mutex::new(Some(mid_wave));
    let tried_rx = Mutex::new(tried_rx);
    let first_options = WaveOptions { rollout: rollout_options(), ..Default::default() }.on_progress(move |p| {
        if matches!(p, WaveProgress::TenantStarted { .. }) {
            if let Some(signal) = mid_wave.lock().unwrap().take() {
                let _ = signal.send(());
                let _ = tried_rx.lock().unwrap().recv();
            }
        }
    });
    let first = {
        let (fleet, plan) = (fleet.clone(), plan.clone());
        tokio::spawn(async move { waves::start(&fleet, &plan, &first_options).await })
    };
    mid_wave_rx.await.expect("the first driver reached its first tenant");
    let holder = waves::driver(&fleet, "shop-2").await.unwrap().expect("held by the first driver");
    assert!(!holder.expired && holder.holder.contains(&format!("-{}-", std::process::id())), "{holder:?}");
    let (options, seen) = recorder();
    for attempt in [waves::start(&fleet, &plan, &options).await, waves::resume(&fleet, "shop-2", &options).await] {
        match attempt {
            Err(e @ WaveError::LeaseHeld { .. }) => {
                let WaveError::LeaseHeld { holder: h, expires, plan } = &e else { unreachable!() };
                assert_eq!((h, expires, plan.as_str()), (&holder.holder, &holder.expires, "shop-2"));
                assert!(e.to_string().contains(&holder.holder), "{e}");
            }
            other => panic!("expected LeaseHeld, got {other:?}"),
        }
    }
    assert!(seen.lock().unwrap().is_empty(), "the refused drivers did nothing");
    tried.send(()).unwrap();
    let done = first.await.unwrap().unwrap();
    assert_eq!((done.phase.clone(), done.succeeded()), (WavePhase::Done, 4));
    for t in &tenants {
        assert_eq!(revisions_of(&fleet, t).await, ["1.0", "2.0"], "{t}: upgraded once");
    }
    // Given up on return: another driver goes on at once (nothing left to do).
    assert_eq!(waves::driver(&fleet, "shop-2").await.unwrap(), None);
    assert_eq!(waves::resume(&fleet, "shop-2", &options).await.unwrap(), done);
}

/// The analysis gate between waves: a verification Job in each upgraded tenant's namespace after
/// the canary wave. Passing, the plan goes on; failing, it stops before the next wave; unable to
/// decide, it pauses until `resume`.
#[tokio::test]
async fn an_analysis_between_waves_goes_on_stops_or_pauses_the_plan() {
    let (fleet, onprem, _) = two_sims();
    let tenants = names("a", 4);
    onboard(&fleet, &tenants, 10).await;
    let check = |image: &str| moorage::Analysis::job("smoke", image, ["sh", "-c", "curl -fsS http://shop/"]);
    let plan = |name: &str, analysis: moorage::Analysis| {
        WavePlan::builder(name, "shop", "2.0", NEW_IMAGE).canary_tenants(["a00"]).waves([100]).analysis_between_waves(analysis).build().unwrap()
    };
    // Passing: every wave runs.
    let (options, seen) = recorder();
    let passed = waves::start(&fleet, &plan("shop-2", check("registry.test/check:1")), &options).await.unwrap();
    assert_eq!((passed.phase.clone(), passed.succeeded()), (WavePhase::Done, 4));
    let analyses: Vec<WaveProgress> = seen.lock().unwrap().iter().filter(|e| matches!(e, WaveProgress::AnalysisFinished { .. })).cloned().collect();
    assert!(
        matches!(analyses.as_slice(), [WaveProgress::AnalysisFinished { wave: 0, tenant, verdict: moorage::analysis::Verdict::Passed, .. }] if tenant == "a00"),
        "{analyses:?}"
    );

    // Failing on the canary (a00 runs on onprem): the plan stops, the next wave never starts.
    onprem.inject(ImageFailure::new("registry.test/check:bad", Failure::CrashLoop));
    let bad = WavePlan::builder("shop-3", "shop", "3.0", "registry.test/shop:3.0")
        .canary_tenants(["a00"])
        .waves([100])
        .analysis_between_waves(check("registry.test/check:bad"))
        .build()
        .unwrap();
    let stopped = waves::start(&fleet, &bad, &options).await.unwrap();
    assert!(
        matches!(&stopped.phase, WavePhase::Stopped { reason } if reason.contains("smoke") && reason.contains("a00") && reason.contains("failed")),
        "{:?}",
        stopped.phase
    );
    assert_eq!(stopped.succeeded(), 1);
    assert_eq!(version_of(&fleet, "a01").await, "2.0", "the 100% wave never started");

    // Unable to decide (nothing listens): paused after the canary; resume goes on.
    let unsure = WavePlan::builder("shop-4", "shop", "4.0", "registry.test/shop:4.0")
        .select_tenants(["a01", "a02"])
        .canary_tenants(["a01"])
        .waves([100])
        .analysis_between_waves(moorage::Analysis::http_url("reachable", "http://127.0.0.1:1/health"))
        .build()
        .unwrap();
    let paused = waves::start(&fleet, &unsure, &options).await.unwrap();
    assert_eq!((paused.phase.clone(), paused.current_wave, paused.succeeded()), (WavePhase::Paused, 1, 1));
    let resumed = waves::resume(&fleet, "shop-4", &options).await.unwrap();
    assert_eq!((resumed.phase.clone(), resumed.succeeded()), (WavePhase::Done, 2));

    // A bad analysis is refused with its path before any call.
    let e = WavePlan::builder("shop-5", "shop", "5.0", NEW_IMAGE)
        .analysis_between_waves(moorage::Analysis::job("Bad Name", "", Vec::<String>::new()))
        .build()
        .unwrap_err();
    for path in ["plan.betweenWaves.analysis.name", "plan.betweenWaves.analysis.job.image"] {
        assert!(e.has_path(path), "{path}: {e}");
    }
}

#[tokio::test]
async fn a_bad_plan_is_refused_with_every_path_before_any_call() {
    let err = WavePlan::builder("shop 2", "shop", "2.0", "not an image!").waves([50]).build().unwrap_err();
    for path in ["plan.name", "plan.image", "plan.waves[0]"] {
        assert!(err.has_path(path), "{path}: {err}");
    }
    let (fleet, _, _) = two_sims();
    let plan = WavePlan::builder("shop-2", "shop", "2.0", NEW_IMAGE).select_cluster("mars").build().unwrap();
    assert!(matches!(waves::start(&fleet, &plan, &WaveOptions::default()).await, Err(WaveError::Fleet(_))));
    let plan = WavePlan::builder("shop-3", "shop", "2.0", NEW_IMAGE).build().unwrap();
    assert!(matches!(waves::start(&fleet, &plan, &WaveOptions::default()).await, Err(WaveError::NothingSelected { .. })));
}

/// A hybrid fleet: the real control plane beside a simulated cluster, one plan across both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_a_wave_plan_across_the_real_control_plane_and_a_simulated_cluster() {
    let Some(real) = moorage_tests::real_backend().await else { return };
    let real: Arc<dyn Backend> = Arc::new(real);
    let sim: Arc<dyn Backend> = Arc::new(SimulatedCluster::new());
    let fleet = Fleet::new(vec![cluster("onprem", real.clone()), cluster("cloud", sim)]).unwrap();
    let suffix = moorage_tests::random_suffix();
    let tenants: Vec<String> = (0..4).map(|i| format!("wv{i}-{suffix}")).collect();
    onboard(&fleet, &tenants, 10).await;
    let plan = WavePlan::builder(format!("shop-{suffix}"), "shop", "2.0", NEW_IMAGE)
        .select_tenants(tenants.clone())
        .canary_tenants([tenants[0].clone()])
        .waves([50, 100])
        .build()
        .unwrap();
    let (options, _) = recorder();
    let state = waves::start(&fleet, &plan, &options).await.unwrap();
    assert_eq!((state.phase.clone(), state.succeeded()), (WavePhase::Done, 4), "{:?}", state.tenants);
    for t in &tenants {
        assert_eq!(version_of(&fleet, t).await, "2.0");
    }
    assert_eq!(state.tenants.iter().filter(|t| t.cluster == "onprem").count(), 2, "two tenants on the real cluster");
    for t in &tenants {
        if fleet.locate(t).await.unwrap().as_deref() == Some("onprem") {
            let _ = tenant::delete(real.as_ref(), &Tenant::builder(t.as_str()).build().unwrap(), DeleteOptions { confirm: true, purge: true }).await;
        }
    }
    let _ = real
        .delete(
            &Kind::of::<k8s_openapi::api::core::v1::ConfigMap>(),
            Some(waves::WAVES_NAMESPACE),
            &format!("moorage-waves-shop-{suffix}"),
            Propagation::Background,
        )
        .await;
}

/// The driver lease on the real control plane: what it rests on (server-side apply conflicts
/// between drivers' field managers, resourceVersion preconditions), then a driver that dies
/// holding it: resume is refused until its lease expires, then goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_the_driver_lease_keeps_one_driver_at_a_time() {
    let Some(real) = moorage_tests::real_backend().await else { return };
    let real: Arc<dyn Backend> = Arc::new(real);
    let suffix = moorage_tests::random_suffix();
    let lease_kind = Kind::of::<k8s_openapi::api::coordination::v1::Lease>();

    // The API server settles races: a second creator conflicts, a stale takeover is refused.
    let ns = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": waves::WAVES_NAMESPACE}});
    real.apply(&[ns], &ApplyOptions::default()).await.unwrap();
    let lease = |holder: &str, rv: Option<&str>| {
        let mut l = serde_json::json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": format!("race-{suffix}"), "namespace": waves::WAVES_NAMESPACE},
            "spec": {"holderIdentity": holder, "leaseDurationSeconds": 5}});
        if let Some(rv) = rv {
            l["metadata"]["resourceVersion"] = rv.into();
        }
        l
    };
    let manager = |name: &str, conflicts: ConflictPolicy| ApplyOptions { field_manager: name.into(), conflicts, dry_run: false };
    real.apply(&[lease("a", None)], &manager("moorage-waves/a", ConflictPolicy::Fail)).await.unwrap();
    let second = real.apply(&[lease("b", None)], &manager("moorage-waves/b", ConflictPolicy::Fail)).await;
    assert!(matches!(second, Err(BackendError::Conflict { .. })), "{second:?}");
    let read = real.get(&lease_kind, Some(waves::WAVES_NAMESPACE), &format!("race-{suffix}")).await.unwrap().unwrap();
    let rv = read["metadata"]["resourceVersion"].as_str().unwrap().to_string();
    real.apply(&[lease("c", Some(&rv))], &manager("moorage-waves/c", ConflictPolicy::Force)).await.expect("takeover at the read resourceVersion");
    let stale = real.apply(&[lease("d", Some(&rv))], &manager("moorage-waves/d", ConflictPolicy::Force)).await;
    assert!(matches!(stale, Err(BackendError::Modified { .. })), "{stale:?}");
    let renew_lost = real.apply(&[lease("a", None)], &manager("moorage-waves/a", ConflictPolicy::Fail)).await;
    assert!(matches!(renew_lost, Err(BackendError::Conflict { .. })), "the old holder cannot renew: {renew_lost:?}");
    let now = real.get(&lease_kind, Some(waves::WAVES_NAMESPACE), &format!("race-{suffix}")).await.unwrap().unwrap();
    assert_eq!(now["spec"]["holderIdentity"], "c");
    let _ = real.delete(&lease_kind, Some(waves::WAVES_NAMESPACE), &format!("race-{suffix}"), Propagation::Background).await;

    // A driver dies holding the lease of a plan kept on the real control plane.
    let fleet = Fleet::new(vec![cluster("onprem", real.clone()), cluster("cloud", Arc::new(SimulatedCluster::new()))]).unwrap();
    let tenants: Vec<String> = (0..4).map(|i| format!("lz{i}-{suffix}")).collect();
    onboard(&fleet, &tenants, 10).await;
    let name = format!("lease-{suffix}");
    let plan = WavePlan::builder(name.clone(), "shop", "2.0", NEW_IMAGE).select_tenants(tenants.clone()).canary_tenants([tenants[0].clone()]).build().unwrap();
    let dead = Arc::new(AtomicBool::new(false));
    let doomed =
        Fleet::new(fleet.clusters().iter().map(|c| cluster(&c.name, Arc::new(Dying { inner: c.backend.clone(), dead: dead.clone() }))).collect()).unwrap();
    let flag = dead.clone();
    let dying = WaveOptions { rollout: rollout_options(), lease_duration: Some(Duration::from_secs(15)), ..Default::default() }.on_progress(move |p| {
        if matches!(p, WaveProgress::TenantSucceeded { .. }) {
            flag.store(true, Ordering::SeqCst);
        }
    });
    let driver = waves::start(&doomed, &plan, &dying);
    tokio::pin!(driver);
    let frozen_at = async {
        while !dead.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::select! {
        r = &mut driver => panic!("the driver finished before it was killed: {r:?}"),
        () = frozen_at => {}
    }
    // The driver is never polled again, and its backend answers nothing: a killed process.
    let (options, _) = recorder();
    let refused = waves::resume(&fleet, &name, &options).await;
    assert!(matches!(&refused, Err(WaveError::LeaseHeld { plan, .. }) if *plan == name), "{refused:?}");
    // Wait (real time) for the dead driver's lease to expire; then resume takes it over.
    for _ in 0..60 {
        if waves::driver(&fleet, &name).await.unwrap().is_none_or(|h| h.expired) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let finished = waves::resume(&fleet, &name, &options).await.unwrap();
    assert_eq!((finished.phase.clone(), finished.succeeded()), (WavePhase::Done, 4), "{:?}", finished.tenants);
    for t in &tenants {
        assert_eq!(revisions_of(&fleet, t).await, ["1.0", "2.0"], "{t}: upgraded once");
    }
    let stored = real.get(&lease_kind, Some(waves::WAVES_NAMESPACE), &format!("moorage-waves-{name}")).await.unwrap().unwrap();
    assert_eq!(stored["spec"]["holderIdentity"], "", "given up on return");
    assert!(stored["spec"]["leaseTransitions"].as_u64().unwrap() >= 1);
    for t in &tenants {
        if fleet.locate(t).await.unwrap().as_deref() == Some("onprem") {
            let _ = tenant::delete(real.as_ref(), &Tenant::builder(t.as_str()).build().unwrap(), DeleteOptions { confirm: true, purge: true }).await;
        }
    }
    let _ = real
        .delete(&Kind::of::<k8s_openapi::api::core::v1::ConfigMap>(), Some(waves::WAVES_NAMESPACE), &format!("moorage-waves-{name}"), Propagation::Background)
        .await;
    let _ = real.delete(&lease_kind, Some(waves::WAVES_NAMESPACE), &format!("moorage-waves-{name}"), Propagation::Background).await;
}
