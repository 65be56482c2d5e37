//! The embedded simulated cluster: a deterministic, in-process Kubernetes for whole moorage flows.
//!
//! [`SimulatedCluster`] implements [`Backend`] with an object store (uids, resourceVersions,
//! generations, managedFields), server-side apply with per-manager field ownership and conflicts,
//! namespace lifecycle, garbage collection, LimitRange defaulting and ResourceQuota admission with
//! the API server's own messages, and controllers (Deployment, ReplicaSet, scheduler, kubelet, Job,
//! EndpointSlice, quota) that run on a **virtual clock**: [`Backend::sleep`] advances time at once.
//! Everything is deterministic: the same calls give the same objects, names and IPs.
//!
//! ```
//! use moorage::backend::{sim::SimulatedCluster, ApplyOptions, Backend, Change};
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let cluster = SimulatedCluster::new();
//! let ns = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "acme"}});
//! let applied = cluster.apply(&[ns.clone()], &ApplyOptions::default()).await.unwrap();
//! assert_eq!(applied[0].change, Change::Created);
//! let again = cluster.apply(&[ns], &ApplyOptions::default()).await.unwrap();
//! assert_eq!(again[0].change, Change::Unchanged);
//! # });
//! ```
//!
//! See `docs/simulated-cluster.md` for what is simulated and how it differs from a real API server.

mod admission;
mod apply;
mod controllers;
mod defaults;
mod fields;
mod gc;
mod pod_admission;
mod pods;
mod quantities;
mod resources;
mod state;
mod store;
pub(crate) mod util;
mod validation;
mod workloads;

#[cfg(test)]
mod controller_tests;
#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Applied, ApplyOptions, Backend, BackendError, Cause, Kind, ObjectRef, Propagation, Selector, WatchEvent, WatchStream};
use crate::backend::selector::ObjectSelector;
use state::State;

/// A virtual node of the simulated cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimNode {
    /// The node's name.
    pub name: String,
    /// Allocatable CPU, as a quantity (`"4"`).
    pub cpu: String,
    /// Allocatable memory, as a quantity (`"8Gi"`).
    pub memory: String,
    /// How many pods fit.
    pub pods: u32,
    /// Its zone, the node's `topology.kubernetes.io/zone` label (none when `None`). As on an API
    /// server of 1.35 or later, a pod bound to the node gets that label too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
}

impl SimNode {
    /// A node with the given capacity.
    pub fn new(name: &str, cpu: &str, memory: &str, pods: u32) -> Self {
        SimNode { name: name.into(), cpu: cpu.into(), memory: memory.into(), pods, zone: None }
    }

    /// The same node, in `zone`.
    pub fn in_zone(mut self, zone: &str) -> Self {
        self.zone = Some(zone.into());
        self
    }
}

/// How the simulated cluster behaves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimOptions {
    /// Time from a container's start to its readiness (default 2 s of virtual time).
    pub readiness_delay: Duration,
    /// How long a Job's pod runs before it completes (default 5 s of virtual time).
    pub job_duration: Duration,
    /// The nodes (default: `sim-node-0..2` in zones `zone-1..3`, each 4 CPU, 8Gi, 110 pods).
    pub nodes: Vec<SimNode>,
    /// Seed of the generator of name suffixes (same seed, same names).
    pub seed: u64,
    /// Whether the Gateway API CRDs are installed (`HTTPRoute` served). Off by default, as on a
    /// fresh cluster: an HTTPRoute is then refused with `MissingKind`, as a real API server does.
    #[serde(default)]
    pub gateway_api: bool,
    /// How long the ReplicaSet controller takes to see a ReplicaSet's new spec (default 0: at
    /// once). A busy controller on a real cluster lags behind: until it has seen the spec, a
    /// ReplicaSet's `status.observedGeneration` stays behind its `metadata.generation` and its
    /// pods are neither created nor deleted. It then acts on each spec it was handed, in turn, so
    /// a scale-down followed at once by a scale-up deletes the pods and creates new ones. A way to
    /// test that a program waits for the controller rather than reading a stale status.
    #[serde(default)]
    pub replica_set_sync_delay: Duration,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            readiness_delay: Duration::from_secs(2),
            job_duration: Duration::from_secs(5),
            nodes: (0..3).map(|i| SimNode::new(&format!("sim-node-{i}"), "4", "8Gi", 110).in_zone(&format!("zone-{}", i + 1))).collect(),
            seed: 0,
            gateway_api: false,
            replica_set_sync_delay: Duration::ZERO,
        }
    }
}

/// A failure the simulated kubelet produces for containers of some images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Failure {
    /// The image cannot be pulled: `ErrImagePull`, then `ImagePullBackOff`.
    PullError,
    /// The container exits with code 1 shortly after starting: `CrashLoopBackOff` with a rising
    /// `restartCount` (a Job's pod fails instead).
    CrashLoop,
    /// The container runs but never passes its readiness probe.
    NeverReady,
}

impl Failure {
    /// Each failure by the name the bindings take.
    pub const NAMES: [(&'static str, Failure); 3] =
        [("pull_error", Failure::PullError), ("crash_loop", Failure::CrashLoop), ("never_ready", Failure::NeverReady)];

    /// The failure named `name` (`pull_error`, `crash_loop` or `never_ready`), or what to give instead.
    pub fn from_name(name: &str) -> Result<Failure, String> {
        match Self::NAMES.iter().find(|(n, _)| *n == name) {
            Some((_, failure)) => Ok(*failure),
            None => Err(format!("{name:?} is not a failure; use pull_error, crash_loop or never_ready")),
        }
    }
}

/// A failure injected for every container whose image matches `image_pattern`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageFailure {
    /// The image, exactly, or a pattern where `*` matches anything (`registry.test/broken:*`).
    pub image_pattern: String,
    /// What happens.
    pub failure: Failure,
}

impl ImageFailure {
    /// A failure for images matching `image_pattern`.
    pub fn new(image_pattern: &str, failure: Failure) -> Self {
        ImageFailure { image_pattern: image_pattern.into(), failure }
    }
}

/// The embedded simulated cluster. `Send + Sync`; all calls are deterministic.
///
/// Its `Debug` output shows the clock and how many objects it holds, never the objects: Secrets are
/// among them.
pub struct SimulatedCluster {
    state: Mutex<State>,
}

impl std::fmt::Debug for SimulatedCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (objects, clock_ms) = self.state.lock().map(|s| (s.objects.len(), s.clock_ms)).unwrap_or_default();
        f.debug_struct("SimulatedCluster").field("objects", &objects).field("clock_ms", &clock_ms).finish_non_exhaustive()
    }
}

impl Default for SimulatedCluster {
    fn default() -> Self {
        Self::new()
    }
}

/// The error for a kind the simulated cluster does not serve.
pub(crate) fn missing_kind(api_version: &str, kind: &str) -> BackendError {
    let hint = match kind {
        "ServiceMonitor" | "PodMonitor" | "PrometheusRule" => "the Prometheus operator",
        "Certificate" | "Issuer" | "ClusterIssuer" => "cert-manager",
        "HTTPRoute" | "Gateway" | "GRPCRoute" => "the Gateway API CRDs",
        _ => "a CRD; the simulated cluster serves built-in kinds only",
    };
    BackendError::MissingKind { api_version: api_version.into(), kind: kind.into(), hint: hint.into() }
}

fn check_kind(state: &State, kind: &Kind) -> Result<(), BackendError> {
    if util::served_in(state, &kind.api_version, &kind.kind).is_some() {
        Ok(())
    } else {
        Err(missing_kind(&kind.api_version, &kind.kind))
    }
}

fn bad_selector(kind: &Kind, message: String) -> BackendError {
    BackendError::Invalid {
        object: ObjectRef { kind: kind.kind.clone(), namespace: None, name: String::new() },
        causes: vec![Cause { field: "selector".into(), message }],
    }
}

/// A list's `resourceVersionMatch=NotOlderThan` version: a number no newer than the cluster's,
/// as the API server requires (it waits a few seconds for a newer one, then answers 504).
fn check_list_version(state: &State, kind: &Kind, namespace: Option<&str>, version: &str) -> Result<(), BackendError> {
    let object = || ObjectRef { kind: kind.kind.clone(), namespace: namespace.map(str::to_string), name: String::new() };
    match version.parse::<u64>() {
        Err(_) => Err(BackendError::Invalid {
            object: object(),
            causes: vec![Cause { field: "resourceVersion".into(), message: format!("Invalid value: {version:?}: a resourceVersion is a number") }],
        }),
        Ok(v) if v > state.resource_version => Err(BackendError::Unavailable {
            object: Some(object()),
            attempts: 1,
            message: format!("Timeout: Too large resource version: {v}, current: {}", state.resource_version),
        }),
        Ok(_) => Ok(()),
    }
}

impl SimulatedCluster {
    /// A cluster with the default options: three nodes `sim-node-{0,1,2}` (4 CPU, 8Gi, 110 pods
    /// each), a readiness delay of 2 s, virtual time starting at 2026-01-01T00:00:00Z.
    pub fn new() -> Self {
        Self::with_options(SimOptions::default())
    }

    /// A cluster with the given options.
    pub fn with_options(options: SimOptions) -> Self {
        SimulatedCluster { state: Mutex::new(State::new(options)) }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Makes containers of matching images fail from now on (pods already running are affected at
    /// their next transition).
    pub fn inject(&self, failure: ImageFailure) {
        let mut state = self.lock();
        state.failures.push(failure);
        controllers::failures_changed(&mut state);
    }

    /// Installs the Gateway API CRDs: `HTTPRoute` is served from now on (see [`SimOptions::gateway_api`]).
    pub fn install_gateway_api(&self) {
        self.lock().options.gateway_api = true;
    }

    /// Removes every injected failure.
    pub fn clear_failures(&self) {
        let mut state = self.lock();
        state.failures.clear();
        controllers::failures_changed(&mut state);
    }

    /// The injected failures.
    pub fn failures(&self) -> Vec<ImageFailure> {
        self.lock().failures.clone()
    }

    /// Advances virtual time by `duration`, running the controllers at every point where
    /// something was due (the synchronous form of [`Backend::sleep`]).
    pub fn advance(&self, duration: Duration) {
        let mut state = self.lock();
        controllers::advance(&mut state, duration);
    }

    /// The whole state as JSON (objects, clock, counters, failures): what [`save`](Self::save) writes.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(&*self.lock()).unwrap_or(Value::Null)
    }

    /// A cluster from what [`to_json`](Self::to_json) returned.
    pub fn from_json(value: Value) -> Result<Self, serde_json::Error> {
        let state: State = serde_json::from_value(value)?;
        Ok(SimulatedCluster { state: Mutex::new(state) })
    }

    /// Saves the whole state to a JSON file (open watches are not saved).
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(&*self.lock()).map_err(std::io::Error::other)?;
        std::fs::write(path, text)
    }

    /// Loads a cluster saved with [`save`](Self::save).
    pub fn load(path: &Path) -> std::io::Result<Self> {
        let text = std::fs::read_to_string(path)?;
        let state: State = serde_json::from_str(&text).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        Ok(SimulatedCluster { state: Mutex::new(state) })
    }
}

#[async_trait]
impl Backend for SimulatedCluster {
    fn describe(&self) -> String {
        "simulated".into()
    }

    async fn apply(&self, objects: &[Value], options: &ApplyOptions) -> Result<Vec<Applied>, BackendError> {
        let mut state = self.lock();
        let mut out = Vec::with_capacity(objects.len());
        for object in objects {
            match apply::apply_object(&mut state, object, options) {
                Ok(applied) => out.push(applied),
                Err(e) => {
                    if !options.dry_run {
                        controllers::reconcile(&mut state);
                    }
                    return Err(e);
                }
            }
        }
        if !options.dry_run {
            controllers::reconcile(&mut state);
        }
        Ok(out)
    }

    async fn get(&self, kind: &Kind, namespace: Option<&str>, name: &str) -> Result<Option<Value>, BackendError> {
        check_kind(&self.lock(), kind)?;
        let namespace = if kind.namespaced { namespace.or(Some("default")) } else { None };
        Ok(self.lock().get(kind, namespace, name))
    }

    async fn list(&self, kind: &Kind, namespace: Option<&str>, selector: &Selector) -> Result<Vec<Value>, BackendError> {
        check_kind(&self.lock(), kind)?;
        let parsed = ObjectSelector::parse(&kind.kind, selector).map_err(|m| bad_selector(kind, m))?;
        let namespace = if kind.namespaced { namespace } else { None };
        let state = self.lock();
        if let Some(version) = &selector.not_older_than {
            check_list_version(&state, kind, namespace, version)?;
        }
        Ok(state.select(&kind.api_version, &kind.kind, namespace, &parsed))
    }

    async fn delete(&self, kind: &Kind, namespace: Option<&str>, name: &str, propagation: Propagation) -> Result<bool, BackendError> {
        check_kind(&self.lock(), kind)?;
        let namespace = if kind.namespaced { namespace.unwrap_or("default") } else { "" };
        let mut state = self.lock();
        let deleted = gc::delete(&mut state, &state::key(&kind.api_version, &kind.kind, namespace, name), propagation)?;
        controllers::reconcile(&mut state);
        Ok(deleted)
    }

    async fn watch(&self, kind: &Kind, namespace: Option<&str>, selector: &Selector) -> Result<WatchStream, BackendError> {
        check_kind(&self.lock(), kind)?;
        let parsed = ObjectSelector::parse(&kind.kind, selector).map_err(|m| bad_selector(kind, m))?;
        let namespace = if kind.namespaced { namespace.map(str::to_string) } else { None };
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut state = self.lock();
        for object in state.select(&kind.api_version, &kind.kind, namespace.as_deref(), &parsed) {
            // The receiver is alive (held here), so sending cannot fail.
            let _ = tx.send(Ok(WatchEvent::Applied(object)));
        }
        state.watchers.push(state::Watcher { kind_key: format!("{}|{}", kind.api_version, kind.kind), namespace, selector: parsed, tx });
        drop(state);
        Ok(Box::pin(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))))
    }

    async fn sleep(&self, duration: Duration) {
        self.advance(duration);
    }

    fn now(&self) -> Duration {
        Duration::from_millis(self.lock().clock_ms)
    }
}
