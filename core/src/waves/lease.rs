//! The driver lease of a wave plan: a `coordination.k8s.io/v1` Lease so that one process at a time drives it.
//!
//! The Lease `moorage-waves-<plan>` sits beside the plan's state ConfigMap (namespace
//! [`WAVES_NAMESPACE`] of the fleet's first cluster). Its holder is `<hostname>-<pid>-<random>`;
//! it is renewed while the driver runs (at every save of the plan once a third of its duration
//! passed, and on a timer of a third of its duration) and given up when the driver returns.
//!
//! Races are settled by the API server, never by a read-then-write in the client:
//! - every driver applies the Lease under its own field manager (`moorage-waves/<holder>`) without
//!   force, so when two drivers create it at once the second one's apply conflicts on
//!   `spec.holderIdentity`, owned by the first with another value;
//! - a driver taking over an expired or released Lease applies with force *and* the
//!   `metadata.resourceVersion` it read, a precondition: of two drivers taking over at once, the
//!   second one's resourceVersion is stale and its apply is refused;
//! - a driver whose Lease was taken over learns it at its next renewal (the fields it applies are
//!   owned by the new holder): it stops before writing the plan again.

use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use super::state::WAVES_NAMESPACE;
use super::{WaveError, WaveState};
use crate::backend::sim::util::{parse_rfc3339, rfc3339};
use crate::backend::{ApplyOptions, Backend, BackendError, ConflictPolicy, Kind};
use crate::labels;

/// How many times a renewal reads the Lease again after a write refused because someone else
/// modified it in between (without taking it over).
const RENEW_ATTEMPTS: u32 = 3;

/// How long a driver's lease lasts without renewal, unless [`super::WaveOptions::lease_duration`] says otherwise.
pub const DEFAULT_LEASE_DURATION: Duration = Duration::from_secs(60);

/// Who holds a plan's lease, as stored in the cluster.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaseHolder {
    /// The driver: `<hostname>-<pid>-<random>`.
    pub holder: String,
    /// When its lease expires unless renewed (RFC 3339, backend time).
    pub expires: String,
    /// Whether it had expired when read (a driver that died or gave it up).
    pub expired: bool,
}

/// The Lease kind.
pub(super) fn lease_kind() -> Kind {
    Kind::of::<k8s_openapi::api::coordination::v1::Lease>()
}

/// The holder identity of this process's next driver: hostname, pid and a random part.
fn new_identity() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.').take(63).collect::<String>())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into());
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    format!("{host}-{}-{:08x}", std::process::id(), hasher.finish() as u32)
}

/// Kubernetes MicroTime (`2026-01-01T00:00:02.000000Z`) of a backend time.
fn micro_time(at: Duration) -> String {
    let seconds = rfc3339(at.as_millis() as u64);
    format!("{}.{:06}Z", seconds.trim_end_matches('Z'), at.subsec_micros())
}

/// Reads the holder of a stored Lease at backend time `now` (none when it was given up).
fn holder_of(lease: &Value, now: Duration) -> Option<LeaseHolder> {
    let holder = lease.pointer("/spec/holderIdentity").and_then(Value::as_str).filter(|h| !h.is_empty())?;
    let renewed = lease.pointer("/spec/renewTime").and_then(Value::as_str).and_then(parse_rfc3339).unwrap_or(0);
    let seconds = lease.pointer("/spec/leaseDurationSeconds").and_then(Value::as_u64).unwrap_or(0);
    let expires_ms = renewed + seconds * 1000;
    Some(LeaseHolder { holder: holder.to_string(), expires: rfc3339(expires_ms), expired: expires_ms <= now.as_millis() as u64 })
}

/// Who holds the lease of plan `plan` (none when nobody ever did, or it was given up).
pub(super) async fn holder(control: &dyn Backend, plan: &str) -> Result<Option<LeaseHolder>, BackendError> {
    let lease = control.get(&lease_kind(), Some(WAVES_NAMESPACE), &WaveState::config_map_name(plan)).await?;
    Ok(lease.and_then(|l| holder_of(&l, control.now())))
}

/// The lease of a running driver.
pub(super) struct DriverLease {
    control: Arc<dyn Backend>,
    plan: String,
    holder: String,
    duration: Duration,
    acquired: String,
    transitions: u64,
    /// Backend time of the last renewal; locked while renewing, so that one renewal runs at a time.
    renewed: tokio::sync::Mutex<Duration>,
}

impl DriverLease {
    /// Takes the lease of plan `plan`, or refuses with [`WaveError::LeaseHeld`] when another live driver holds it.
    pub(super) async fn acquire(control: Arc<dyn Backend>, plan: &str, duration: Duration) -> Result<DriverLease, WaveError> {
        let name = WaveState::config_map_name(plan);
        let existing = control.get(&lease_kind(), Some(WAVES_NAMESPACE), &name).await?;
        let now = control.now();
        if let Some(live) = existing.as_ref().and_then(|l| holder_of(l, now)).filter(|h| !h.expired) {
            return Err(held(plan, live));
        }
        let transitions = existing.as_ref().and_then(|l| l.pointer("/spec/leaseTransitions")).and_then(Value::as_u64).map_or(0, |t| t + 1);
        let lease = DriverLease {
            plan: plan.to_string(),
            holder: new_identity(),
            duration: duration.max(Duration::from_secs(1)),
            acquired: micro_time(now),
            transitions,
            renewed: tokio::sync::Mutex::new(now),
            control,
        };
        // Taking over: force (the previous holder's fields), on the condition that nobody moved it since it was read.
        if existing.is_none() {
            let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": WAVES_NAMESPACE, "labels": {labels::MANAGED_BY: labels::MANAGER}}});
            lease.control.apply(&[ns], &ApplyOptions::default()).await?;
        }
        let precondition = existing.as_ref().and_then(|l| l.pointer("/metadata/resourceVersion")).and_then(Value::as_str);
        match lease.write(now, &lease.holder, precondition).await {
            Ok(()) => {
                tracing::info!(plan, holder = %lease.holder, "took the wave plan's driver lease");
                Ok(lease)
            }
            Err(e) => Err(lease.lost(e).await),
        }
    }

    /// The Lease as this driver writes it: held by `holder` (empty to give it up), renewed at `now`.
    fn object(&self, now: Duration, holder: &str, take_over: Option<&str>) -> Value {
        let mut metadata = json!({"name": WaveState::config_map_name(&self.plan), "namespace": WAVES_NAMESPACE,
                                  "labels": {labels::MANAGED_BY: labels::MANAGER}});
        if let Some(rv) = take_over {
            metadata["resourceVersion"] = Value::from(rv);
        }
        json!({
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": metadata,
            "spec": {
                "holderIdentity": holder,
                "leaseDurationSeconds": self.duration.as_secs(),
                "acquireTime": self.acquired,
                "renewTime": micro_time(now),
                "leaseTransitions": self.transitions,
            },
        })
    }

    /// The apply options of this driver: its own field manager; force only to take over (with a precondition).
    fn apply_options(&self, take_over: bool) -> ApplyOptions {
        ApplyOptions {
            field_manager: format!("moorage-waves/{}", self.holder),
            conflicts: if take_over { ConflictPolicy::Force } else { ConflictPolicy::Fail },
            dry_run: false,
        }
    }

    /// Applies the Lease held by `holder` at backend time `now`; `take_over` = the resourceVersion
    /// read (force, as a precondition), none to create it.
    async fn write(&self, now: Duration, holder: &str, take_over: Option<&str>) -> Result<(), BackendError> {
        let lease = self.object(now, holder, take_over);
        self.control.apply(&[lease], &self.apply_options(take_over.is_some())).await.map(|_| ())
    }

    /// The error for an apply of the Lease that failed: refused by the server (another driver won) or not.
    async fn lost(&self, error: BackendError) -> WaveError {
        if !refused(&error) {
            return error.into();
        }
        match holder(self.control.as_ref(), &self.plan).await {
            Ok(Some(other)) if other.holder != self.holder => held(&self.plan, other),
            Ok(_) => error.into(),
            Err(e) => e.into(),
        }
    }

    /// Renews the lease when a third of its duration passed since the last renewal (backend time).
    ///
    /// One renewal at a time: the plan's saves and the timer of [`DriverLease::hold`] both renew,
    /// and of two writes conditional on the same resourceVersion the API server refuses the second
    /// (409), so the second waits for the first and then finds nothing due. A Lease modified by
    /// someone else between the read and the write, but still held by this driver, is read again
    /// (at most [`RENEW_ATTEMPTS`] times); one taken over is [`WaveError::LeaseHeld`].
    pub(super) async fn renew_if_due(&self) -> Result<(), WaveError> {
        let mut renewed = self.renewed.lock().await;
        let now = self.control.now();
        if now.saturating_sub(*renewed) < self.duration / 3 {
            return Ok(());
        }
        let mut attempt = 1;
        loop {
            let rv = self.still_held().await?;
            match self.write(now, &self.holder, rv.as_deref()).await {
                Ok(()) => break,
                Err(e) if refused(&e) && attempt < RENEW_ATTEMPTS => attempt += 1,
                Err(e) => return Err(e.into()),
            }
        }
        *renewed = now;
        Ok(())
    }

    /// The resourceVersion of the Lease while no other driver took it over (none when it is gone);
    /// [`WaveError::LeaseHeld`] once another one did. Every later write is conditional on it.
    async fn still_held(&self) -> Result<Option<String>, WaveError> {
        let Some(lease) = self.control.get(&lease_kind(), Some(WAVES_NAMESPACE), &WaveState::config_map_name(&self.plan)).await? else {
            return Ok(None);
        };
        match holder_of(&lease, self.control.now()) {
            Some(other) if other.holder != self.holder => Err(held(&self.plan, other)),
            _ => Ok(lease.pointer("/metadata/resourceVersion").and_then(Value::as_str).map(str::to_string)),
        }
    }

    /// Renews the lease if due, then saves the plan: a driver that lost its lease writes nothing.
    pub(super) async fn save(&self, state: &WaveState) -> Result<(), WaveError> {
        if let Err(e) = self.renew_if_due().await {
            return Err(match e {
                WaveError::Backend(b) => self.lost(b).await,
                other => other,
            });
        }
        state.save(self.control.as_ref()).await.map_err(WaveError::from)
    }

    /// Runs `driving` while renewing the lease on a timer (real time); stops it when the lease is lost.
    pub(super) async fn hold<F>(&self, driving: F) -> Result<WaveState, WaveError>
    where
        F: std::future::Future<Output = Result<WaveState, WaveError>>,
    {
        let renewing = async {
            loop {
                tokio::time::sleep(self.duration / 3).await;
                match self.renew_if_due().await {
                    Ok(()) => {}
                    // The API server out of reach: try again at the next tick (the lease may still be ours).
                    Err(WaveError::Backend(b)) if b.is_retryable() => tracing::warn!(plan = %self.plan, error = %b, "renewing the driver lease failed"),
                    Err(WaveError::Backend(b)) => return self.lost(b).await,
                    Err(e) => return e,
                }
            }
        };
        tokio::select! {
            result = driving => result,
            lost = renewing => Err(lost),
        }
    }

    /// Gives the lease up (best effort: a lease taken over meanwhile stays with its new holder).
    pub(super) async fn release(self) {
        let outcome = match self.still_held().await {
            Ok(Some(rv)) => self.write(self.control.now(), "", Some(&rv)).await.map_err(WaveError::from),
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        };
        if let Err(e) = outcome {
            tracing::debug!(plan = %self.plan, error = %e, "the driver lease was not given up (taken over, or out of reach)");
        }
    }
}

/// Whether the API server refused a write of the Lease because someone else wrote it first: a
/// field-manager conflict (another driver's Lease) or a stale resourceVersion precondition.
fn refused(error: &BackendError) -> bool {
    matches!(error, BackendError::Conflict { .. } | BackendError::Modified { .. })
}

fn held(plan: &str, other: LeaseHolder) -> WaveError {
    WaveError::LeaseHeld { plan: plan.to_string(), holder: other.holder, expires: other.expires }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holders_expire_after_their_duration() {
        let lease = json!({"spec": {"holderIdentity": "h-1-ab", "leaseDurationSeconds": 60, "renewTime": "2026-01-01T00:00:10.000000Z"}});
        let at = |s: u64| Duration::from_millis(crate::backend::sim::util::EPOCH_MS + s * 1000);
        let live = holder_of(&lease, at(69)).expect("held");
        assert_eq!((live.holder.as_str(), live.expires.as_str(), live.expired), ("h-1-ab", "2026-01-01T00:01:10Z", false));
        assert!(holder_of(&lease, at(70)).expect("held").expired);
        let released = json!({"spec": {"holderIdentity": "", "leaseDurationSeconds": 60}});
        assert_eq!(holder_of(&released, at(0)), None);
        assert_eq!(micro_time(at(2) + Duration::from_micros(1500)), "2026-01-01T00:00:02.001500Z");
    }

    fn driver(control: &Arc<dyn Backend>) -> DriverLease {
        let now = control.now();
        DriverLease {
            control: control.clone(),
            plan: "p".into(),
            holder: new_identity(),
            duration: Duration::from_secs(30),
            acquired: micro_time(now),
            transitions: 0,
            renewed: tokio::sync::Mutex::new(now),
        }
    }

    /// Two drivers that both read "no lease" (or the same expired lease) and then write: the API
    /// server lets one win; the loser learns who won.
    #[tokio::test]
    async fn of_two_drivers_racing_one_wins() {
        let control: Arc<dyn Backend> = Arc::new(crate::backend::sim::SimulatedCluster::new());
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": WAVES_NAMESPACE}});
        control.apply(&[ns], &ApplyOptions::default()).await.unwrap();
        let (a, b) = (driver(&control), driver(&control));
        a.write(control.now(), &a.holder, None).await.expect("the first creates it");
        let conflict = b.write(control.now(), &b.holder, None).await.expect_err("the second conflicts on spec.holderIdentity");
        assert!(matches!(&b.lost(conflict).await, WaveError::LeaseHeld { holder, .. } if *holder == a.holder));
        // a's lease expires; c and d both read it, then both take it over with the resourceVersion read.
        control.sleep(Duration::from_secs(31)).await;
        let read = control.get(&lease_kind(), Some(WAVES_NAMESPACE), "moorage-waves-p").await.unwrap().unwrap();
        assert!(holder_of(&read, control.now()).unwrap().expired);
        let rv = read["metadata"]["resourceVersion"].as_str().unwrap().to_string();
        let (c, d) = (driver(&control), driver(&control));
        c.write(control.now(), &c.holder, Some(&rv)).await.expect("the first takeover wins");
        let stale = d.write(control.now(), &d.holder, Some(&rv)).await.expect_err("the second one's resourceVersion is stale");
        assert!(matches!(&d.lost(stale).await, WaveError::LeaseHeld { holder, .. } if *holder == c.holder));
        // a, back from the dead, cannot renew: c owns the fields now.
        control.sleep(Duration::from_secs(11)).await;
        assert!(matches!(a.renew_if_due().await, Err(WaveError::LeaseHeld { holder, .. }) if holder == c.holder));
        // Nor can it overwrite c's lease with the resourceVersion it saw before the takeover.
        assert!(matches!(a.write(control.now(), &a.holder, Some(&rv)).await, Err(BackendError::Modified { .. })));
        c.renew_if_due().await.expect("the holder renews");
        // Renewals keep working while earlier holders still co-own fields of the same value.
        control.sleep(Duration::from_secs(11)).await;
        c.renew_if_due().await.expect("the holder renews again");
        let held = holder(control.as_ref(), "p").await.unwrap().unwrap();
        assert_eq!((held.holder.as_str(), held.expired), (c.holder.as_str(), false));
        c.release().await;
        assert_eq!(holder(control.as_ref(), "p").await.unwrap(), None, "given up");
    }

    /// A driver taking over at the very time the previous one gave up shares fields of equal value
    /// with it (server-side apply co-ownership): it still renews and gives up.
    #[tokio::test]
    async fn a_successor_renews_and_gives_up_whatever_its_predecessor_left() {
        let control: Arc<dyn Backend> = Arc::new(crate::backend::sim::SimulatedCluster::new());
        let first = DriverLease::acquire(control.clone(), "p", Duration::from_secs(30)).await.unwrap();
        first.release().await;
        let second = DriverLease::acquire(control.clone(), "p", Duration::from_secs(30)).await.unwrap();
        assert!(
            matches!(DriverLease::acquire(control.clone(), "p", Duration::from_secs(30)).await, Err(WaveError::LeaseHeld { holder, .. }) if holder == second.holder)
        );
        control.sleep(Duration::from_secs(20)).await;
        second.renew_if_due().await.expect("renewed");
        let held = holder(control.as_ref(), "p").await.unwrap().unwrap();
        assert_eq!((held.holder.as_str(), held.expires.as_str()), (second.holder.as_str(), "2026-01-01T00:00:50Z"));
        second.release().await;
        assert_eq!(holder(control.as_ref(), "p").await.unwrap(), None);
        let third = DriverLease::acquire(control.clone(), "p", Duration::from_secs(30)).await.expect("free again");
        third.release().await;
    }

    /// The simulated cluster with a yield before every read and write, so that two futures of one
    /// task interleave between a driver's read of the Lease and its write, as they do on a cluster;
    /// and, when `meddle` holds an object, someone else's apply of it just before the next write.
    struct Interleaved {
        inner: crate::backend::sim::SimulatedCluster,
        meddle: std::sync::Mutex<Option<(Value, ApplyOptions)>>,
    }

    impl Interleaved {
        fn new() -> Self {
            Interleaved { inner: crate::backend::sim::SimulatedCluster::new(), meddle: std::sync::Mutex::new(None) }
        }
    }

    #[async_trait::async_trait]
    impl Backend for Interleaved {
        fn describe(&self) -> String {
            self.inner.describe()
        }
        async fn apply(&self, objects: &[Value], options: &ApplyOptions) -> Result<Vec<crate::backend::Applied>, BackendError> {
            tokio::task::yield_now().await;
            let meddling = self.meddle.lock().unwrap().take();
            if let Some((object, theirs)) = meddling {
                self.inner.apply(&[object], &theirs).await.expect("someone else's apply");
            }
            self.inner.apply(objects, options).await
        }
        async fn get(&self, kind: &Kind, namespace: Option<&str>, name: &str) -> Result<Option<Value>, BackendError> {
            tokio::task::yield_now().await;
            self.inner.get(kind, namespace, name).await
        }
        async fn list(&self, kind: &Kind, namespace: Option<&str>, selector: &crate::backend::Selector) -> Result<Vec<Value>, BackendError> {
            self.inner.list(kind, namespace, selector).await
        }
        async fn delete(&self, kind: &Kind, namespace: Option<&str>, name: &str, propagation: crate::backend::Propagation) -> Result<bool, BackendError> {
            self.inner.delete(kind, namespace, name, propagation).await
        }
        async fn watch(&self, kind: &Kind, namespace: Option<&str>, selector: &crate::backend::Selector) -> Result<crate::backend::WatchStream, BackendError> {
            self.inner.watch(kind, namespace, selector).await
        }
        async fn sleep(&self, duration: Duration) {
            self.inner.sleep(duration).await;
        }
        fn now(&self) -> Duration {
            self.inner.now()
        }
    }

    /// The plan's save and the timer of `hold` renew from two futures of one task: the second
    /// renewal waits for the first and finds nothing due, instead of writing with the
    /// resourceVersion the first just made stale (which the API server refuses with a 409, and the
    /// wave plan stopped on it).
    #[tokio::test]
    async fn two_renewals_at_once_by_one_driver_both_succeed() {
        let control: Arc<dyn Backend> = Arc::new(Interleaved::new());
        let driver = DriverLease::acquire(control.clone(), "p", Duration::from_secs(30)).await.unwrap();
        let before = control.get(&lease_kind(), Some(WAVES_NAMESPACE), "moorage-waves-p").await.unwrap().unwrap();
        control.sleep(Duration::from_secs(11)).await;
        let (first, second) = tokio::join!(driver.renew_if_due(), driver.renew_if_due());
        first.expect("the first renewal");
        second.expect("the second renewal");
        let after = control.get(&lease_kind(), Some(WAVES_NAMESPACE), "moorage-waves-p").await.unwrap().unwrap();
        assert_eq!(after["spec"]["renewTime"], "2026-01-01T00:00:11.000000Z", "renewed once, at the time it was due");
        assert_ne!(after["metadata"]["resourceVersion"], before["metadata"]["resourceVersion"]);
        let held = holder(control.as_ref(), "p").await.unwrap().unwrap();
        assert_eq!((held.holder.as_str(), held.expired), (driver.holder.as_str(), false));
        driver.release().await;
    }

    /// A Lease modified by someone else between the driver's read and its write, without being
    /// taken over (a label added by hand, say): the write conditional on the read is refused, and
    /// the renewal reads the Lease again and renews it. Taken over, it is not renewed.
    #[tokio::test]
    async fn a_lease_modified_but_not_taken_over_is_still_renewed() {
        let cluster = Arc::new(Interleaved::new());
        let control: Arc<dyn Backend> = cluster.clone();
        let holder_a = DriverLease::acquire(control.clone(), "p", Duration::from_secs(30)).await.unwrap();
        control.sleep(Duration::from_secs(11)).await;
        let label = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                           "metadata": {"name": "moorage-waves-p", "namespace": WAVES_NAMESPACE, "labels": {"team": "ops"}}});
        let by_hand = ApplyOptions { field_manager: "kubectl-label".into(), ..ApplyOptions::default() };
        *cluster.meddle.lock().unwrap() = Some((label, by_hand));
        holder_a.renew_if_due().await.expect("renewed over the label");
        assert!(cluster.meddle.lock().unwrap().is_none(), "the label was applied between the read and the write");
        let lease = control.get(&lease_kind(), Some(WAVES_NAMESPACE), "moorage-waves-p").await.unwrap().unwrap();
        assert_eq!((lease["metadata"]["labels"]["team"].as_str(), lease["spec"]["renewTime"].as_str()), (Some("ops"), Some("2026-01-01T00:00:11.000000Z")));
        // Taken over between the read and the write: the renewal learns who holds it now.
        control.sleep(Duration::from_secs(40)).await;
        let successor = driver(&control);
        let expired = control.get(&lease_kind(), Some(WAVES_NAMESPACE), "moorage-waves-p").await.unwrap().unwrap();
        let rv = expired["metadata"]["resourceVersion"].as_str().unwrap().to_string();
        let takeover = successor.object(control.now(), &successor.holder, Some(&rv));
        *cluster.meddle.lock().unwrap() = Some((takeover, successor.apply_options(true)));
        assert!(matches!(holder_a.renew_if_due().await, Err(WaveError::LeaseHeld { holder, .. }) if holder == successor.holder));
    }

    #[test]
    fn identities_name_host_and_process_and_differ() {
        let (a, b) = (new_identity(), new_identity());
        assert_ne!(a, b);
        assert!(a.contains(&format!("-{}-", std::process::id())), "{a}");
    }
}
