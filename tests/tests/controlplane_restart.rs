//! S2 control-plane faults (docs/reliability.md): the API server and etcd of the real test control
//! plane are killed (SIGKILL) and restarted in the middle of a blue/green rollout. The rollout
//! either completes or fails with a typed error that says it is safe to retry
//! ([`RolloutError::is_retryable`]); `resume` then completes it; no object is duplicated and the
//! history holds one revision per rollout.
//!
//! Uses `testcluster.sh stop-component` / `start-component` on the control plane whose admin
//! kubeconfig is `MOORAGE_TEST_KUBECONFIG` (its state directory). The two cases take turns: they
//! stop the control plane every other test of this binary would use.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use moorage::backend::cluster::ClusterBackend;
use moorage::rollout::{self, Outcome, Progress, RolloutError, RolloutOptions};
use moorage_tests::fixtures;
use moorage_tests::testcluster::{self, Restore};

static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
/// The objects of an uninterrupted rollout, measured once for both cases.
static REFERENCE: tokio::sync::OnceCell<BTreeSet<String>> = tokio::sync::OnceCell::const_new();

fn options() -> RolloutOptions {
    RolloutOptions::with_timeout(Duration::from_secs(240))
}

/// Blue live in a fresh tenant; returns the tenant.
async fn blue_live(backend: &ClusterBackend) -> moorage::Tenant {
    let ns = format!("s2-{}", moorage_tests::random_suffix());
    let tenant = fixtures::roomy_tenant(&ns);
    fixtures::apply_tenant(backend, &tenant).await;
    rollout::rollout(backend, &tenant, &fixtures::webserver(&ns, "webserver", "blue", 3, fixtures::strategy("bluegreen")), &options())
        .await
        .expect("blue rolled out");
    tenant
}

/// The objects of an uninterrupted blue -> green rollout, for comparison (measured once).
async fn reference_inventory(backend: &ClusterBackend) -> BTreeSet<String> {
    REFERENCE.get_or_init(|| measure_reference(backend)).await.clone()
}

async fn measure_reference(backend: &ClusterBackend) -> BTreeSet<String> {
    let tenant = blue_live(backend).await;
    let ns = tenant.name().to_string();
    rollout::rollout(backend, &tenant, &fixtures::webserver(&ns, "webserver", "green", 3, fixtures::strategy("bluegreen")), &options())
        .await
        .expect("green rolled out");
    let inventory = fixtures::inventory(backend, &ns).await;
    fixtures::delete_tenant(backend, &ns).await;
    inventory
}

/// Starts etcd and the API server again (a no-op for a running one). The controller manager is
/// restarted too: after etcd comes back its EndpointSlice controller can keep finding its informer
/// cache "out of date" for minutes, which would slow every later test binary's rollouts (the
/// components of a production control plane restart together in the same way).
const BACK_UP: &[[&str; 2]] = &[["start-component", "etcd"], ["start-component", "kube-apiserver"], ["restart-component", "kube-controller-manager"]];

/// After the fault: the rollout's own outcome, then `resume` until done; checks convergence.
async fn settle(
    backend: &ClusterBackend,
    tenant: &moorage::Tenant,
    outcome: Result<rollout::RolloutReport, RolloutError>,
    reference: &BTreeSet<String>,
) -> String {
    let ns = tenant.name();
    let first = match &outcome {
        Ok(report) => format!("completed through the fault ({:?})", report.phase),
        Err(e) => {
            assert!(e.is_retryable(), "a fault must end in a retry-safe error, got: {e}");
            assert!(
                matches!(e, RolloutError::Backend(moorage::backend::BackendError::Unavailable { .. } | moorage::backend::BackendError::Timeout { .. })),
                "{e}"
            );
            format!("failed with a retryable error ({e})")
        }
    };
    for _ in 0..3 {
        match rollout::resume(backend, tenant, "webserver", &options()).await {
            Ok(None) => break,
            Ok(Some(_)) => {}
            Err(e) if e.is_retryable() => tokio::time::sleep(Duration::from_secs(2)).await,
            Err(e) => panic!("resume after the fault: {e}"),
        }
    }
    let status = rollout::status(backend, tenant, "webserver").await.expect("status");
    assert!(status.rollout.is_none(), "converged after {first}");
    assert_eq!(status.active.as_deref(), Some("green"), "{first}");
    let history = rollout::history(backend, tenant, "webserver").await.expect("history");
    let revisions: Vec<(u32, &str, &Outcome)> = history.revisions.iter().map(|r| (r.number, r.version.as_str(), &r.outcome)).collect();
    assert_eq!(revisions, [(1, "blue", &Outcome::Superseded), (2, "green", &Outcome::Succeeded)], "{first}");
    assert_eq!(&fixtures::inventory(backend, ns).await, reference, "{first}: the objects of an uninterrupted rollout, no more, no fewer");
    fixtures::delete_tenant(backend, ns).await;
    first
}

/// The API server and etcd are killed while the rollout waits for green to become ready (its
/// watch is cut), and come back 3 s later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apiserver_and_etcd_killed_while_waiting_for_readiness() {
    let Some(backend) = moorage_tests::real_backend().await else { return };
    let _turn = TURN.lock().await;
    let reference = reference_inventory(&backend).await;
    let tenant = blue_live(&backend).await;
    let ns = tenant.name().to_string();
    let (applied_tx, applied_rx) = tokio::sync::oneshot::channel::<()>();
    let applied_tx = Arc::new(Mutex::new(Some(applied_tx)));
    let opts = options().on_progress(move |p| {
        if matches!(p, Progress::Applied { .. }) {
            if let Some(tx) = applied_tx.lock().unwrap().take() {
                let _ = tx.send(());
            }
        }
    });
    let outage = tokio::spawn(async move {
        applied_rx.await.expect("green applied");
        tokio::task::spawn_blocking(|| {
            let _restore = Restore(BACK_UP);
            testcluster::run(&["stop-component", "--kill", "kube-apiserver"]);
            testcluster::run(&["stop-component", "--kill", "etcd"]);
            std::thread::sleep(Duration::from_secs(3));
        })
        .await
        .expect("outage");
    });
    let green = fixtures::webserver(&ns, "webserver", "green", 3, fixtures::strategy("bluegreen"));
    let outcome = rollout::rollout(&backend, &tenant, &green, &opts).await;
    outage.await.expect("the control plane is back");
    let how = settle(&backend, &tenant, outcome, &reference).await;
    println!("S2 API server + etcd killed while waiting for readiness: {how}");
}

/// The API server is killed right at a step boundary (preflight passed, nothing applied yet) and
/// stays down 10 s, longer than the backend's retries last: the rollout must fail with a typed,
/// retryable error, and `resume` must finish it once the API server is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apiserver_down_longer_than_the_retries_gives_a_retryable_error() {
    let Some(backend) = moorage_tests::real_backend().await else { return };
    let _turn = TURN.lock().await;
    let reference = reference_inventory(&backend).await;
    let tenant = blue_live(&backend).await;
    let ns = tenant.name().to_string();
    let restarted = Arc::new(Mutex::new(None::<std::thread::JoinHandle<()>>));
    let handle = restarted.clone();
    let opts = options().on_progress(move |p| {
        if matches!(p, Progress::PreflightPassed { .. }) {
            let mut slot = handle.lock().unwrap();
            if slot.is_none() {
                // Synchronously: the API server is dead before the rollout's next request.
                tokio::task::block_in_place(|| testcluster::run(&["stop-component", "--kill", "kube-apiserver"]));
                *slot = Some(std::thread::spawn(|| {
                    let _restore = Restore(BACK_UP);
                    std::thread::sleep(Duration::from_secs(10));
                }));
            }
        }
    });
    let green = fixtures::webserver(&ns, "webserver", "green", 3, fixtures::strategy("bluegreen"));
    let outcome = rollout::rollout(&backend, &tenant, &green, &opts).await;
    let restart = restarted.lock().unwrap().take().expect("the API server was killed");
    tokio::task::spawn_blocking(move || restart.join().expect("restarted")).await.expect("restart");
    let err = outcome.as_ref().expect_err("10 s without an API server outlasts the retries (at most 6.2 s of backoff)");
    assert!(err.is_retryable(), "{err}");
    let how = settle(&backend, &tenant, outcome, &reference).await;
    println!("S2 API server down 10 s at a step boundary: {how}");
}
