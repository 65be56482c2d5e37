//! The CLI's errors: the core's typed errors carried as they are, and the one mapping to exit codes.

use std::path::PathBuf;
use std::process::ExitCode;

use moorage::backend::cluster::ConfigError;
use moorage::backend::BackendError;
use moorage::rollout::RolloutError;
use moorage::spec::SpecFilesError;
use moorage::tenant::{FleetError, TenantError};
use moorage::waves::WaveError;
use moorage::ValidationErrors;

/// Exit code: success.
pub const OK: u8 = 0;
/// Exit code: the operation failed (typed cause printed).
pub const FAILED: u8 = 1;
/// Exit code: bad input (spec files, arguments, kubeconfig, state file).
pub const BAD_INPUT: u8 = 2;
/// Exit code: not found (tenant, application, revision, rollout to act on).
pub const NOT_FOUND: u8 = 3;
/// Exit code: refused by policy (quota preflight, protected tenant, selected version, domain taken, forbidden).
pub const REFUSED: u8 = 4;
/// Exit code: interrupted by Ctrl-C (128 + SIGINT, as shells report it).
pub const INTERRUPTED: u8 = 130;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Spec files could not be read or are invalid.
    #[error(transparent)]
    Specs(#[from] SpecFilesError),
    /// A name given on the command line is invalid (e.g. the tenant's).
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    /// A release's tenant is neither among the spec files nor applied in the target.
    #[error("release {app}/{version}: tenant {tenant:?} is neither in the spec files nor in the target; apply it first or pass its spec with -f")]
    TenantUnknown {
        /// The tenant.
        tenant: String,
        /// The release's application.
        app: String,
        /// The release's version.
        version: String,
    },
    /// The simulated cluster's state file could not be read.
    #[error("state file {}: {message}", path.display())]
    State {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The simulated cluster's state file could not be written.
    #[error("cannot save the state file {}: {message}", path.display())]
    StateSave {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The manifests folder or a manifest file could not be written.
    #[error("manifests: {0}")]
    Manifests(String),
    /// The cluster could not be configured (kubeconfig, context).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A tenant operation failed.
    #[error(transparent)]
    Tenant(#[from] TenantError),
    /// A release operation failed.
    #[error(transparent)]
    Rollout(#[from] RolloutError),
    /// A backend operation failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// Prometheus could not answer a usage query.
    #[error(transparent)]
    Prometheus(#[from] moorage::analysis::PrometheusError),
    /// Writing the output failed.
    #[error("cannot write the output: {0}")]
    Output(String),
    /// A fleet wave plan could not start or go on.
    #[error(transparent)]
    Waves(#[from] WaveError),
    /// The CLI's one-cluster fleet could not be built.
    #[error(transparent)]
    Fleet(#[from] FleetError),
    /// A wave plan stopped: more tenants failed than its failure budget.
    #[error("wave plan {plan:?} stopped: {reason}; the failed tenants were rolled back, the upgraded ones stay upgraded")]
    WavesStopped {
        /// The plan.
        plan: String,
        /// Why.
        reason: String,
    },
    /// Ctrl-C while driving a wave plan; it stays resumable.
    #[error("interrupted; wave plan {plan:?} stays in the cluster and resumes with: moorage{target} waves resume {plan} (once this driver's lease expired)")]
    WavesInterrupted {
        /// The plan.
        plan: String,
        /// The target options to repeat.
        target: String,
    },
    /// Ctrl-C while waiting for a rollout; it stays resumable.
    #[error("interrupted; the rollout of {tenant}/{app} stays in the cluster and resumes with: moorage{target} rollout --resume {tenant} {app}")]
    Interrupted {
        /// The tenant.
        tenant: String,
        /// The application.
        app: String,
        /// The target options to repeat (e.g. ` --simulated --state s.json`).
        target: String,
    },
}

fn backend_code(e: &BackendError) -> u8 {
    match e {
        BackendError::QuotaExceeded { .. } | BackendError::Forbidden { .. } => REFUSED,
        BackendError::NotFound { .. } => NOT_FOUND,
        BackendError::Invalid { .. } => BAD_INPUT,
        BackendError::Conflict { .. }
        | BackendError::Modified { .. }
        | BackendError::MissingKind { .. }
        | BackendError::Timeout { .. }
        | BackendError::Unavailable { .. } => FAILED,
    }
}

fn fleet_code(e: &FleetError) -> u8 {
    match e {
        FleetError::UnknownCluster(_) | FleetError::DuplicateCluster(_) => BAD_INPUT,
        FleetError::NoCapacity { .. } | FleetError::AlreadyPlaced { .. } => REFUSED,
        FleetError::Tenant(e) => tenant_code(e),
        FleetError::Backend(e) => backend_code(e),
    }
}

fn tenant_code(e: &TenantError) -> u8 {
    match e {
        TenantError::DomainTaken { .. } | TenantError::Protected { .. } => REFUSED,
        TenantError::NotFound { .. } => NOT_FOUND,
        TenantError::Invalid(_) => BAD_INPUT,
        // Lost a race for a domain to another process: nothing stays written, and applying again may pass.
        TenantError::DomainContended { .. } => FAILED,
        TenantError::SpecNotRecorded { .. } | TenantError::Serialize { .. } | TenantError::TokenRequest { .. } => FAILED,
        TenantError::Backend(e) => backend_code(e),
    }
}

/// The exit code of an error: the one place where causes become exit codes (docs/cli.md).
pub fn exit_code(error: &CliError) -> u8 {
    match error {
        CliError::Specs(_) | CliError::Invalid(_) | CliError::State { .. } | CliError::Config(_) => BAD_INPUT,
        CliError::TenantUnknown { .. } => NOT_FOUND,
        CliError::StateSave { .. } | CliError::Manifests(_) | CliError::Prometheus(_) | CliError::Output(_) => FAILED,
        CliError::Interrupted { .. } | CliError::WavesInterrupted { .. } => INTERRUPTED,
        CliError::Backend(e) => backend_code(e),
        CliError::WavesStopped { .. } => FAILED,
        CliError::Fleet(e) => fleet_code(e),
        CliError::Waves(e) => match e {
            WaveError::Invalid(_) => BAD_INPUT,
            WaveError::NoSuchPlan { .. } | WaveError::NothingSelected { .. } => NOT_FOUND,
            WaveError::PlanExists { .. } | WaveError::LeaseHeld { .. } => REFUSED,
            WaveError::UnreadableState { .. } | WaveError::EmptyFleet => FAILED,
            WaveError::Fleet(e) => fleet_code(e),
            WaveError::Backend(e) => backend_code(e),
        },
        CliError::Tenant(e) => tenant_code(e),
        CliError::Rollout(e) => match e {
            RolloutError::Invalid(_) | RolloutError::Unsupported { .. } => BAD_INPUT,
            RolloutError::QuotaInsufficient { .. } | RolloutError::VersionSelected { .. } => REFUSED,
            RolloutError::NoSuchRevision { .. }
            | RolloutError::NothingToPromote { .. }
            | RolloutError::NothingToAbort { .. }
            | RolloutError::NothingToRetry { .. } => NOT_FOUND,
            RolloutError::Stuck { .. } | RolloutError::AnalysisFailed { .. } => FAILED,
            RolloutError::Backend(e) => backend_code(e),
        },
    }
}

/// The error's variant name, for the JSON error output (`{"error": {"kind": ..., "message": ...}}`).
pub fn kind(error: &CliError) -> String {
    let backend = |e: &BackendError| {
        match e {
            BackendError::QuotaExceeded { .. } => "QuotaExceeded",
            BackendError::Forbidden { .. } => "Forbidden",
            BackendError::Conflict { .. } => "Conflict",
            BackendError::Modified { .. } => "Modified",
            BackendError::Invalid { .. } => "Invalid",
            BackendError::NotFound { .. } => "NotFound",
            BackendError::MissingKind { .. } => "MissingKind",
            BackendError::Timeout { .. } => "Timeout",
            BackendError::Unavailable { .. } => "Unavailable",
        }
        .to_string()
    };
    match error {
        CliError::Specs(_) => "Specs".into(),
        CliError::Invalid(_) => "Invalid".into(),
        CliError::TenantUnknown { .. } => "TenantUnknown".into(),
        CliError::State { .. } => "State".into(),
        CliError::StateSave { .. } => "StateSave".into(),
        CliError::Manifests(_) => "Manifests".into(),
        CliError::Config(_) => "Config".into(),
        CliError::Prometheus(_) => "Prometheus".into(),
        CliError::Output(_) => "Output".into(),
        CliError::Interrupted { .. } => "Interrupted".into(),
        CliError::WavesInterrupted { .. } => "Interrupted".into(),
        CliError::WavesStopped { .. } => "WavesStopped".into(),
        CliError::Fleet(e) | CliError::Waves(WaveError::Fleet(e)) => match e {
            FleetError::DuplicateCluster(_) => "DuplicateCluster".into(),
            FleetError::UnknownCluster(_) => "UnknownCluster".into(),
            FleetError::NoCapacity { .. } => "NoCapacity".into(),
            FleetError::AlreadyPlaced { .. } => "AlreadyPlaced".into(),
            FleetError::Tenant(t) => kind(&CliError::Tenant(t.clone())),
            FleetError::Backend(e) => backend(e),
        },
        CliError::Waves(e) => match e {
            WaveError::Invalid(_) => "Invalid".into(),
            WaveError::PlanExists { .. } => "PlanExists".into(),
            WaveError::NoSuchPlan { .. } => "NoSuchPlan".into(),
            WaveError::NothingSelected { .. } => "NothingSelected".into(),
            WaveError::UnreadableState { .. } => "UnreadableState".into(),
            WaveError::LeaseHeld { .. } => "LeaseHeld".into(),
            WaveError::EmptyFleet => "EmptyFleet".into(),
            // Matched with CliError::Fleet above.
            WaveError::Fleet(f) => kind(&CliError::Fleet(f.clone())),
            WaveError::Backend(e) => backend(e),
        },
        CliError::Backend(e) => backend(e),
        CliError::Tenant(e) => match e {
            TenantError::DomainTaken { .. } => "DomainTaken",
            TenantError::DomainContended { .. } => "DomainContended",
            TenantError::Protected { .. } => "Protected",
            TenantError::NotFound { .. } => "TenantNotFound",
            TenantError::Serialize { .. } => "Serialize",
            TenantError::TokenRequest { .. } => "TokenRequest",
            TenantError::SpecNotRecorded { .. } => "SpecNotRecorded",
            TenantError::Invalid(_) => "Invalid",
            TenantError::Backend(e) => return backend(e),
        }
        .into(),
        CliError::Rollout(e) => match e {
            RolloutError::Invalid(_) => "Invalid",
            RolloutError::QuotaInsufficient { .. } => "QuotaInsufficient",
            RolloutError::Stuck { .. } => "Stuck",
            RolloutError::VersionSelected { .. } => "VersionSelected",
            RolloutError::NoSuchRevision { .. } => "NoSuchRevision",
            RolloutError::NothingToPromote { .. } => "NothingToPromote",
            RolloutError::NothingToAbort { .. } => "NothingToAbort",
            RolloutError::NothingToRetry { .. } => "NothingToRetry",
            RolloutError::Unsupported { .. } => "Unsupported",
            RolloutError::AnalysisFailed { .. } => "AnalysisFailed",
            RolloutError::Backend(e) => return backend(e),
        }
        .into(),
    }
}

/// The process exit code of a code.
pub fn to_exit(code: u8) -> ExitCode {
    ExitCode::from(code)
}
