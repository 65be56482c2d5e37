//! Fleet waves: one application upgraded across many tenants of a fleet, canary tenants first, then in waves.
//!
//! A [`WavePlan`] names the application, the version and its image; every selected tenant keeps its
//! own release settings (replicas, hosts, configuration, strategy) and only changes version and
//! image. [`start`] runs the quota preflight for every tenant before the first wave (tenants that
//! would not fit are reported and left out), then runs the waves with at most
//! `maxConcurrentPerCluster` rollouts at once per cluster. A failed tenant is rolled back at once;
//! when more tenants failed than the failure budget allows, the plan stops and the upgraded tenants
//! stay upgraded.
//!
//! The plan's progress lives in the fleet's first cluster (ConfigMap `moorage-waves-<name>` in
//! namespace [`WAVES_NAMESPACE`]) and every tenant's rollout state lives in its own namespace, so a
//! driver that dies is replaced by any process calling [`resume`]: tenants caught mid-rollout are
//! resumed, none is rolled out twice.

mod lease;
mod plan;
mod run;
mod state;

use std::sync::Arc;

pub use lease::{LeaseHolder, DEFAULT_LEASE_DURATION};
pub use plan::{TenantSelection, WaveGate, WavePlan, WavePlanBuilder, WavePlanSpec};
pub use state::{TenantWave, TenantWaveState, WavePhase, WaveState, WAVES_NAMESPACE};

use crate::backend::BackendError;
use crate::error::ValidationErrors;
use crate::rollout::RolloutOptions;
use crate::tenant::{Fleet, FleetError};

/// Why a wave plan could not start or go on. A tenant whose rollout fails is not an error of the
/// plan: it is recorded as [`TenantWaveState::Failed`] and counted against the failure budget.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WaveError {
    /// The plan is not valid.
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    /// A plan of this name exists with another spec; pick another name (or resume the existing one).
    #[error("a wave plan named {plan:?} already exists with another spec; resume it, or start the new one under another name")]
    PlanExists {
        /// The plan.
        plan: String,
    },
    /// No plan of this name was ever started.
    #[error("no wave plan named {plan:?}; start it first")]
    NoSuchPlan {
        /// The plan.
        plan: String,
    },
    /// The selection matches no tenant running the application.
    #[error("no tenant of the fleet runs {app} and matches the plan's selection")]
    NothingSelected {
        /// The application.
        app: String,
    },
    /// The stored plan cannot be read (changed by hand, or written by a newer moorage).
    #[error("the stored wave plan {plan:?} cannot be read: {message}")]
    UnreadableState {
        /// The plan.
        plan: String,
        /// The parser's message.
        message: String,
    },
    /// Another driver, alive, is running the plan (its lease, Lease `moorage-waves-<plan>` in
    /// [`WAVES_NAMESPACE`], has not expired). Wait for it; when it died, `resume` after `expires`.
    #[error("wave plan {plan:?} is being driven by {holder}, whose lease expires at {expires} unless renewed; wait for it, or resume after that if it died")]
    LeaseHeld {
        /// The plan.
        plan: String,
        /// The driver holding the lease (`<hostname>-<pid>-<random>`).
        holder: String,
        /// When its lease expires unless renewed (RFC 3339, the cluster's time).
        expires: String,
    },
    /// The fleet has no cluster to keep the plan's state in.
    #[error("the fleet has no cluster")]
    EmptyFleet,
    /// The fleet refused (e.g. the selection names an unknown cluster).
    #[error(transparent)]
    Fleet(#[from] FleetError),
    /// A backend failed in a way that may pass (the plan is saved; [`resume`] goes on).
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// Something that happened during a wave plan, for CLIs and UIs. Serializes as an object with an
/// `event` field (`tenant_started`, ...) and the variant's fields.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum WaveProgress {
    /// The plan was worked out: tenants per wave, and those left out.
    Planned {
        /// Per wave: its label and how many tenants it holds.
        waves: Vec<(String, usize)>,
        /// Tenants left out before the first wave, with the reason.
        skipped: Vec<(String, String)>,
    },
    /// A wave started.
    WaveStarted {
        /// Its index.
        wave: u32,
        /// Its label (`canary`, `25%`, ...).
        label: String,
        /// Tenants still to upgrade in it.
        tenants: usize,
    },
    /// A tenant's rollout started (or resumed).
    TenantStarted {
        /// The tenant.
        tenant: String,
        /// Its cluster.
        cluster: String,
    },
    /// A tenant runs the new version.
    TenantSucceeded {
        /// The tenant.
        tenant: String,
        /// Its cluster.
        cluster: String,
    },
    /// A tenant's rollout failed; it was rolled back.
    TenantFailed {
        /// The tenant.
        tenant: String,
        /// Its cluster.
        cluster: String,
        /// Why.
        reason: String,
    },
    /// A wave finished.
    WaveFinished {
        /// Its index.
        wave: u32,
        /// Tenants upgraded so far (all waves).
        succeeded: usize,
        /// Tenants failed so far (all waves).
        failed: usize,
    },
    /// The analysis between waves ran against one tenant of the wave.
    AnalysisFinished {
        /// The wave.
        wave: u32,
        /// The tenant.
        tenant: String,
        /// Its verdict.
        verdict: crate::analysis::Verdict,
        /// Why, for people.
        reason: String,
    },
    /// The plan paused after a wave; `resume` goes on.
    Paused {
        /// The next wave.
        next_wave: u32,
    },
    /// The plan waits before the next wave.
    Waiting {
        /// For how long, in seconds of backend time.
        seconds: u64,
    },
    /// The plan stopped: too many tenants failed.
    Stopped {
        /// Why.
        reason: String,
    },
    /// Every wave ran.
    Done {
        /// Tenants upgraded.
        succeeded: usize,
        /// Tenants failed (rolled back).
        failed: usize,
        /// Tenants left out.
        skipped: usize,
    },
}

/// A callback receiving wave progress.
pub type WaveProgressFn = Arc<dyn Fn(&WaveProgress) + Send + Sync>;

/// Options of [`start`] and [`resume`].
#[derive(Clone, Default)]
pub struct WaveOptions {
    /// The options of every tenant's rollout (its timeout; per-tenant progress is not forwarded).
    pub rollout: RolloutOptions,
    /// Receives the plan's progress.
    pub progress: Option<WaveProgressFn>,
    /// How long the driver's lease lasts without renewal (default [`DEFAULT_LEASE_DURATION`]): a
    /// driver that dies blocks `resume` by other processes for at most this long.
    pub lease_duration: Option<std::time::Duration>,
}

impl std::fmt::Debug for WaveOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaveOptions").field("rollout", &self.rollout).field("lease_duration", &self.lease_duration).finish_non_exhaustive()
    }
}

impl WaveOptions {
    /// Sends progress to `f`.
    pub fn on_progress(mut self, f: impl Fn(&WaveProgress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }
    pub(crate) fn emit(&self, p: WaveProgress) {
        if let Some(f) = &self.progress {
            f(&p);
        }
    }
}

/// Starts plan `plan` on `fleet` and runs it until it is done, paused or stopped. Starting a plan
/// that already exists with the same spec resumes it (idempotent); with another spec it is refused.
/// Refused with [`WaveError::LeaseHeld`] while another live driver runs the plan.
pub async fn start(fleet: &Fleet, plan: &WavePlan, options: &WaveOptions) -> Result<WaveState, WaveError> {
    let control = run::control(fleet)?;
    let lease = lease::DriverLease::acquire(control.clone(), plan.name(), options.lease_duration.unwrap_or(DEFAULT_LEASE_DURATION)).await?;
    let result = lease
        .hold(async {
            if let Some(existing) = WaveState::load(control.as_ref(), plan.name()).await? {
                if existing.spec != *plan.spec() {
                    return Err(WaveError::PlanExists { plan: plan.name().to_string() });
                }
                return run::drive(fleet, existing, options, &lease).await;
            }
            let state = run::plan_tenants(fleet, plan.spec(), options).await?;
            lease.save(&state).await?;
            run::drive(fleet, state, options, &lease).await
        })
        .await;
    lease.release().await;
    result
}

/// Goes on with plan `name`: after a pause, a wait, or a driver that died mid-wave (once its lease
/// expired). Refused with [`WaveError::LeaseHeld`] while another live driver runs the plan.
pub async fn resume(fleet: &Fleet, name: &str, options: &WaveOptions) -> Result<WaveState, WaveError> {
    let control = run::control(fleet)?;
    if WaveState::load(control.as_ref(), name).await?.is_none() {
        return Err(WaveError::NoSuchPlan { plan: name.to_string() });
    }
    let lease = lease::DriverLease::acquire(control.clone(), name, options.lease_duration.unwrap_or(DEFAULT_LEASE_DURATION)).await?;
    let result = lease
        .hold(async {
            // Read again under the lease: the previous driver may have written since.
            let mut state = WaveState::load(control.as_ref(), name).await?.ok_or_else(|| WaveError::NoSuchPlan { plan: name.to_string() })?;
            if state.phase == WavePhase::Paused {
                state.phase = WavePhase::Running;
                lease.save(&state).await?;
            }
            run::drive(fleet, state, options, &lease).await
        })
        .await;
    lease.release().await;
    result
}

/// Where plan `name` stands, per wave and per tenant (none when it was never started).
pub async fn status(fleet: &Fleet, name: &str) -> Result<Option<WaveState>, WaveError> {
    let control = run::control(fleet)?;
    WaveState::load(control.as_ref(), name).await
}

/// Who drives plan `name` (its lease holder, with the lease's expiry); none when no driver holds it.
pub async fn driver(fleet: &Fleet, name: &str) -> Result<Option<LeaseHolder>, WaveError> {
    let control = run::control(fleet)?;
    Ok(lease::holder(control.as_ref(), name).await?)
}
