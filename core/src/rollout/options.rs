//! The options of the release engine's calls, and the progress they report while they run.

use std::sync::Arc;
use std::time::Duration;

use crate::analysis::Verdict;
use crate::backend::{ApplyOptions, ConflictPolicy};

/// Something that happened during a rollout, for CLIs and UIs.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// The quota preflight passed.
    PreflightPassed {
        /// Extra pods the strategy runs at its peak.
        extra_pods: u32,
    },
    /// Objects of the new version were applied.
    Applied {
        /// How many objects.
        objects: usize,
        /// How many were created or changed.
        changed: usize,
    },
    /// Ready replicas of a version changed.
    ReplicasReady {
        /// The version.
        version: String,
        /// Ready replicas.
        ready: u32,
        /// Desired replicas.
        desired: u32,
    },
    /// The new version is ready; waiting for `promote`.
    WaitingForPromotion {
        /// The version.
        version: String,
    },
    /// The stable Service now selects `to`.
    TrafficSwitched {
        /// The version that served before.
        from: Option<String>,
        /// The version that serves now.
        to: String,
        /// Time from "ready" seen to the selector applied (real time).
        latency: Duration,
    },
    /// The old version stays warm for the scale-down delay.
    KeepingWarm {
        /// The version.
        version: String,
        /// For how long.
        delay: Duration,
    },
    /// A version was scaled to zero (kept for rollback).
    ScaledDown {
        /// The version.
        version: String,
    },
    /// A version's objects were deleted (beyond `keep_previous`).
    Pruned {
        /// The version.
        version: String,
    },
    /// A canary weight was set.
    WeightSet {
        /// The weight the step asked for (percent).
        requested: u32,
        /// The weight reached (percent): ready canary endpoints over all ready endpoints of the
        /// stable Service (replica ratio), the Ingress weight (ingress-nginx), or the canary
        /// backend's weight on the HTTPRoute as the API server stored it (Gateway API).
        actual: u32,
        /// Ready canary endpoints (replica ratio) or canary replicas (ingress-nginx, Gateway API).
        canary: u32,
        /// All ready endpoints of the stable Service (replica ratio) or all replicas (ingress-nginx, Gateway API).
        total: u32,
    },
    /// A rollout paused: a canary `pause: {}`, or an analysis that was inconclusive.
    Paused {
        /// The canary version.
        version: String,
        /// The index of the step.
        step: u32,
        /// Why, for people.
        note: String,
    },
    /// An analysis finished (its full result is in the revision's `analyses`).
    AnalysisFinished {
        /// The analysis' name.
        name: String,
        /// Where it ran: `prePromotion`, `postPromotion`, `step N`.
        gate: String,
        /// What it concluded.
        verdict: Verdict,
        /// Why.
        reason: String,
    },
    /// A canary was aborted: all traffic is back on the stable version.
    Aborted {
        /// The canary version.
        version: String,
    },
    /// The rollout finished.
    Done {
        /// The revision now live.
        revision: u32,
        /// Its version.
        version: String,
    },
}

/// A callback receiving rollout progress.
pub type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// Options of a rollout, rollback or promote.
#[derive(Clone)]
pub struct RolloutOptions {
    /// The most the whole operation waits for a version to become ready (backend time).
    pub timeout: Duration,
    /// Wait through the scale-down delay and scale the old version down before returning
    /// (default). When false, the call returns once traffic has switched; `resume` finishes later.
    pub wait_for_scale_down: bool,
    /// Receives progress.
    pub progress: Option<ProgressFn>,
    /// What to do when another field manager changed a field the rollout applies (a `kubectl
    /// edit` of the Service selector, a scale from a UI): fail with [`BackendError::Conflict`](crate::backend::BackendError::Conflict)
    /// before anything changes (default), or take the fields back, logged at `warn` level.
    pub conflicts: ConflictPolicy,
}

impl std::fmt::Debug for RolloutOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RolloutOptions")
            .field("timeout", &self.timeout)
            .field("wait_for_scale_down", &self.wait_for_scale_down)
            .field("conflicts", &self.conflicts)
            .finish_non_exhaustive()
    }
}

impl Default for RolloutOptions {
    fn default() -> Self {
        Self { timeout: Duration::from_secs(600), wait_for_scale_down: true, progress: None, conflicts: ConflictPolicy::Fail }
    }
}

impl RolloutOptions {
    /// Options with the given timeout.
    pub fn with_timeout(timeout: Duration) -> Self {
        Self { timeout, ..Self::default() }
    }
    /// Sends progress to `f`.
    pub fn on_progress(mut self, f: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }
    /// Takes back fields another field manager changed (server-side apply `force`), logged.
    pub fn force(mut self) -> Self {
        self.conflicts = ConflictPolicy::Force;
        self
    }
    /// The backend options of the rollout's applies.
    pub(crate) fn apply_options(&self) -> ApplyOptions {
        ApplyOptions { conflicts: self.conflicts, ..ApplyOptions::default() }
    }
    pub(crate) fn emit(&self, p: Progress) {
        if let Some(f) = &self.progress {
            f(&p);
        }
    }
}
