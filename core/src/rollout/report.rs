//! What the release engine's calls return: the rollout's report, its error, and a release's status.

use std::time::Duration;

use crate::analysis::AnalysisResult;
use crate::backend::ownership::Drift;
use crate::backend::BackendError;
use crate::error::ValidationErrors;

use super::{History, Phase, Preflight, RolloutState, StuckCause};

/// What a rollout did.
#[derive(Debug, Clone, PartialEq)]
pub struct RolloutReport {
    /// The revision rolled out (or found already live).
    pub revision: u32,
    /// Its version.
    pub version: String,
    /// The version that served before.
    pub previous: Option<String>,
    /// Where the rollout stands.
    pub phase: Phase,
    /// Whether everything was already as asked (nothing changed).
    pub unchanged: bool,
    /// Time from "ready" seen to the selector applied, when traffic switched (real time).
    pub switch_latency: Option<Duration>,
    /// The quota preflight's figures.
    pub preflight: Preflight,
    /// The analyses this call ran (all of them are also recorded in the revision).
    pub analyses: Vec<AnalysisResult>,
}

impl RolloutReport {
    /// The report of a rollout that stands at `state`.
    pub(crate) fn from_state(state: &RolloutState, preflight: Preflight, switch_latency: Option<Duration>) -> Self {
        RolloutReport {
            revision: state.revision,
            version: state.to.clone(),
            previous: state.from.clone(),
            phase: state.phase,
            unchanged: false,
            switch_latency,
            preflight,
            analyses: Vec::new(),
        }
    }

    /// The report of a rollout aborted before it switched traffic: `serving` (the version traffic
    /// never left, numbered as in `history`) is live again; `aborted` is the version removed.
    pub(crate) fn aborted(history: &History, serving: Option<String>, aborted: String) -> Self {
        let revision = history.revisions.iter().rev().find(|r| Some(&r.version) == serving.as_ref()).map(|r| r.number).unwrap_or(0);
        RolloutReport {
            revision,
            version: serving.unwrap_or_default(),
            previous: Some(aborted),
            phase: Phase::Done,
            unchanged: false,
            switch_latency: None,
            preflight: Preflight::default(),
            analyses: Vec::new(),
        }
    }
}

/// Why a rollout, rollback or deletion did not happen or did not finish.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RolloutError {
    /// The release is not valid for this tenant.
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    /// The quota cannot hold the strategy's peak; nothing was created.
    #[error("not enough quota for this rollout: {resource} needs {needed} more, {available} left; {hint}")]
    QuotaInsufficient {
        /// The resource, e.g. `limits.memory`.
        resource: String,
        /// What the rollout needs on top of what runs.
        needed: String,
        /// What the quota has left.
        available: String,
        /// What would make it fit.
        hint: String,
    },
    /// The new version did not become ready; the previous version still serves.
    #[error("version {version} did not become ready: {} ({message}); {object}{}", cause.describe(), if events.is_empty() { String::new() } else { format!("; last events: {}", events.join(" | ")) })]
    Stuck {
        /// The version.
        version: String,
        /// Why.
        cause: StuckCause,
        /// The object that shows it.
        object: crate::backend::ObjectRef,
        /// Kubernetes' message.
        message: String,
        /// The last events.
        events: Vec<String>,
    },
    /// The version is selected by the stable Service; deleting it would leave users without a page.
    #[error("version {version} of {app} is what the stable Service selects; switch traffic to another version (rollback) before deleting it")]
    VersionSelected {
        /// The application.
        app: String,
        /// The version.
        version: String,
    },
    /// No such revision in the history.
    #[error("{app} has no revision {revision} to roll back to; see `history`")]
    NoSuchRevision {
        /// The application.
        app: String,
        /// The revision asked for (0: none at all).
        revision: u32,
    },
    /// There is no rollout waiting for promotion.
    #[error("{app} has no rollout waiting for promotion")]
    NothingToPromote {
        /// The application.
        app: String,
    },
    /// There is no canary in progress to abort.
    #[error("{app} has no canary in progress to abort")]
    NothingToAbort {
        /// The application.
        app: String,
    },
    /// There is no failed or aborted revision to retry.
    #[error("{app} has no failed or aborted rollout to retry")]
    NothingToRetry {
        /// The application.
        app: String,
    },
    /// The release asks for something the release engine does not do yet.
    #[error("{app}: {what} is not supported yet")]
    Unsupported {
        /// The application.
        app: String,
        /// What.
        what: String,
    },
    /// An analysis failed: the new version was rolled back and the previous one serves.
    #[error("analysis {analysis} of {app} {version} failed ({gate}): {reason}; rolled back to {rolled_back_to}")]
    AnalysisFailed {
        /// The application.
        app: String,
        /// The version that failed its analysis.
        version: String,
        /// The analysis' name.
        analysis: String,
        /// Where it ran: `prePromotion`, `postPromotion`, `step N`.
        gate: String,
        /// Why it failed.
        reason: String,
        /// The version serving again.
        rolled_back_to: String,
        /// The whole result, also recorded in the revision.
        result: Box<AnalysisResult>,
    },
    /// The backend failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

impl RolloutError {
    /// Whether the same call (or [`resume`](super::resume)) may succeed later without any change: the cluster was
    /// unreachable or a wait ran out. Every step of a rollout is recorded in the cluster before it
    /// is taken, so retrying never duplicates anything.
    pub fn is_retryable(&self) -> bool {
        matches!(self, RolloutError::Backend(b) if b.is_retryable())
    }
}

/// The state of one version of an application in the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionStatus {
    /// The version.
    pub version: String,
    /// Desired replicas.
    pub desired: u32,
    /// Ready replicas.
    pub ready: u32,
    /// Whether the stable Service selects it.
    pub selected: bool,
}

/// The state of an application: versions, which one serves, and any rollout in progress.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseStatus {
    /// The application.
    pub app: String,
    /// The version the stable Service selects.
    pub active: Option<String>,
    /// Every version that has a Deployment.
    pub versions: Vec<VersionStatus>,
    /// The rollout in progress.
    pub rollout: Option<RolloutState>,
    /// The newest revision.
    pub revision: Option<u32>,
    /// Fields of the live version's objects that another field manager changed (a `kubectl edit`
    /// of the Service selector, a scale from a UI): the next rollout refuses to overwrite them
    /// unless forced.
    pub drift: Vec<Drift>,
    /// During a canary: the share of traffic (percent) the canary gets now. With ingress-nginx the
    /// canary Ingress' weight; with Gateway API the canary backend's weight on the HTTPRoute `<app>`
    /// as the API server stores it; by replica ratio, the canary's ready pods over both versions' ready
    /// pods (what the stable Service's endpoints split).
    pub canary_weight: Option<u32>,
}
