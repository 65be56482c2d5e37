//! A cluster that stops answering reads in the middle of a rollout (its watches and lists fail with
//! `Unavailable`, while writes still go through): the rollout ends with a retryable error and stays
//! in progress, so that `resume` finishes it. It must never be recorded as failed, because `resume`
//! rolls a failed rollout back.
//!
//! This is the deterministic form of a real-cluster race (S2 in docs/reliability.md,
//! `controlplane_restart.rs`): the API server came back just in time for the rollout to record
//! its outcome, and the outage was recorded as a failed rollout, which `resume` then rolled back.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use moorage::backend::sim::SimulatedCluster;
use moorage::backend::{Applied, ApplyOptions, Backend, BackendError, Kind, Propagation, Selector, WatchStream};
use moorage::rollout::{self, Outcome, Phase, Progress, RolloutError, RolloutOptions};
use moorage_tests::fixtures;
use serde_json::Value;

/// The simulated cluster behind a switch: while `outage` is on, lists and watches fail as a real
/// backend's do once its retries are spent; applies and gets still pass.
struct ReadOutage {
    inner: SimulatedCluster,
    outage: AtomicBool,
    refused: AtomicUsize,
}

impl ReadOutage {
    fn new() -> Arc<Self> {
        Arc::new(Self { inner: SimulatedCluster::new(), outage: AtomicBool::new(false), refused: AtomicUsize::new(0) })
    }

    fn check(&self, what: &str) -> Result<(), BackendError> {
        if self.outage.load(Ordering::SeqCst) {
            self.refused.fetch_add(1, Ordering::SeqCst);
            return Err(BackendError::Unavailable { object: None, attempts: 6, message: format!("{what}: connection refused") });
        }
        Ok(())
    }
}

#[async_trait]
impl Backend for ReadOutage {
    fn describe(&self) -> String {
        format!("{} behind a read outage", self.inner.describe())
    }
    async fn apply(&self, objects: &[Value], options: &ApplyOptions) -> Result<Vec<Applied>, BackendError> {
        self.inner.apply(objects, options).await
    }
    async fn get(&self, kind: &Kind, namespace: Option<&str>, name: &str) -> Result<Option<Value>, BackendError> {
        self.inner.get(kind, namespace, name).await
    }
    async fn list(&self, kind: &Kind, namespace: Option<&str>, selector: &Selector) -> Result<Vec<Value>, BackendError> {
        self.check("list")?;
        self.inner.list(kind, namespace, selector).await
    }
    async fn delete(&self, kind: &Kind, namespace: Option<&str>, name: &str, propagation: Propagation) -> Result<bool, BackendError> {
        self.inner.delete(kind, namespace, name, propagation).await
    }
    async fn watch(&self, kind: &Kind, namespace: Option<&str>, selector: &Selector) -> Result<WatchStream, BackendError> {
        self.check("watch")?;
        self.inner.watch(kind, namespace, selector).await
    }
    async fn sleep(&self, duration: Duration) {
        self.inner.sleep(duration).await;
    }
    fn now(&self) -> Duration {
        self.inner.now()
    }
}

/// Rolls `strategy`'s v2 out over a live v1, with reads failing from the moment v2's objects are
/// applied; returns the rollout's error once the outage is over.
async fn rollout_through_outage(backend: &Arc<ReadOutage>, strategy: &str) -> (moorage::Tenant, RolloutError) {
    let tenant = fixtures::roomy_tenant("acme");
    fixtures::apply_tenant(backend.as_ref(), &tenant).await;
    let options = RolloutOptions::with_timeout(Duration::from_secs(300));
    let v1 = fixtures::webserver("acme", "web", "v1", 2, fixtures::strategy(strategy));
    rollout::rollout(backend.as_ref(), &tenant, &v1, &options).await.expect("v1 rolled out");

    let switch = backend.clone();
    let armed = options.clone().on_progress(move |p| {
        if matches!(p, Progress::Applied { .. }) {
            switch.outage.store(true, Ordering::SeqCst);
        }
    });
    let v2 = fixtures::webserver("acme", "web", "v2", 2, fixtures::strategy(strategy));
    let err = rollout::rollout(backend.as_ref(), &tenant, &v2, &armed).await.expect_err("reads fail during the rollout");
    backend.outage.store(false, Ordering::SeqCst);
    assert!(backend.refused.load(Ordering::SeqCst) > 0, "the outage refused reads");
    assert!(err.is_retryable(), "an unreachable cluster is retryable, got: {err}");
    (tenant, err)
}

/// What the cluster records right after the outage: v2 still in progress (never failed), v1 serving.
async fn assert_still_in_progress(backend: &ReadOutage, tenant: &moorage::Tenant, err: &RolloutError) {
    let status = rollout::status(backend, tenant, "web").await.expect("status");
    let state = status.rollout.as_ref().unwrap_or_else(|| panic!("the rollout stays in progress after {err}"));
    assert_eq!((state.to.as_str(), state.phase), ("v2", Phase::Deploying), "after {err}");
    assert_eq!(status.active.as_deref(), Some("v1"), "traffic stays on v1 during the outage");
    let history = rollout::history(backend, tenant, "web").await.expect("history");
    let v2 = history.revisions.iter().find(|r| r.version == "v2").expect("v2's revision is recorded");
    assert_eq!(v2.outcome, Outcome::InProgress, "an outage is not a failure of v2");
}

/// What the cluster records once the rollout is finished: v2 serves, v1 superseded, nothing failed.
async fn assert_finished(backend: &ReadOutage, tenant: &moorage::Tenant) {
    let status = rollout::status(backend, tenant, "web").await.expect("status");
    assert!(status.rollout.is_none(), "finished: {:?}", status.rollout);
    assert_eq!(status.active.as_deref(), Some("v2"));
    let history = rollout::history(backend, tenant, "web").await.expect("history");
    let outcomes: Vec<(&str, &Outcome)> = history.revisions.iter().map(|r| (r.version.as_str(), &r.outcome)).collect();
    assert_eq!(outcomes, [("v1", &Outcome::Superseded), ("v2", &Outcome::Succeeded)]);
}

#[tokio::test]
async fn blue_green_interrupted_by_an_outage_is_resumed_not_rolled_back() {
    let backend = ReadOutage::new();
    let (tenant, err) = rollout_through_outage(&backend, "bluegreen").await;
    assert_still_in_progress(&backend, &tenant, &err).await;
    let options = RolloutOptions::with_timeout(Duration::from_secs(300));
    let report = rollout::resume(backend.as_ref(), &tenant, "web", &options).await.expect("resumed").expect("a rollout to resume");
    assert_eq!(report.phase, Phase::Done);
    assert_finished(&backend, &tenant).await;
}

#[tokio::test]
async fn canary_interrupted_by_an_outage_is_resumed_not_aborted() {
    let backend = ReadOutage::new();
    let (tenant, err) = rollout_through_outage(&backend, "canary").await;
    assert_still_in_progress(&backend, &tenant, &err).await;
    let options = RolloutOptions::with_timeout(Duration::from_secs(300));
    // The fixture's canary pauses until promoted after its 50 % step.
    let report = rollout::resume(backend.as_ref(), &tenant, "web", &options).await.expect("resumed").expect("a rollout to resume");
    assert_eq!(report.phase, Phase::Paused);
    rollout::promote(backend.as_ref(), &tenant, "web", &options).await.expect("promoted");
    assert_finished(&backend, &tenant).await;
}
