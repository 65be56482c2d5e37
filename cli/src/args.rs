//! The command line: every command, option and help text (clap derive); no behaviour.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The long help's closing text: the exit codes (also in docs/cli.md).
pub const EXIT_CODES: &str = "\
Exit codes:
  0    success
  1    the operation failed (the typed cause is printed: stuck rollout, timeout, cluster unavailable...)
  2    bad input (spec files, arguments, kubeconfig or state file), with every problem's file, field path and line
  3    not found (tenant, application, revision, wave plan, or no rollout to promote, abort or retry)
  4    refused by policy (quota preflight, protected tenant, version still selected, domain held by another tenant, forbidden,
       a wave plan driven by another process or existing with another spec)
  130  interrupted (Ctrl-C); a rollout stays resumable with `moorage rollout --resume TENANT APP`, a wave plan with `moorage waves resume NAME`

Targets: --kubeconfig/--context (a real cluster; the default is the usual kubeconfig), --simulated
(the embedded simulated cluster, saved to --state FILE between commands), --manifests DIR (GitOps).
Colour is off when NO_COLOR is set or the output is not a terminal; progress bars when stderr is not one.";

/// moorage: deploy tenants and releases on Kubernetes, with plan, progress and rollback.
#[derive(Debug, Parser)]
#[command(name = "moorage", version, about, after_long_help = EXIT_CODES, propagate_version = true)]
pub struct Cli {
    /// Where commands execute.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Output format.
    #[arg(short = 'o', long, global = true, value_enum, default_value_t = Format::Table)]
    pub output: Format,
    /// The most a command waits for the cluster (e.g. for a version to become ready), in seconds.
    #[arg(long, global = true, default_value_t = 600)]
    pub timeout: u64,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human tables (colour on terminals).
    Table,
    /// JSON, for scripts.
    Json,
    /// YAML, for scripts.
    Yaml,
}

/// The target options, shared by every command.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// Kubeconfig file of the target cluster (default: $KUBECONFIG or ~/.kube/config).
    #[arg(long, global = true, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context (default: the current one).
    #[arg(long, global = true)]
    pub context: Option<String>,
    /// Use the embedded simulated cluster instead of a real one.
    #[arg(long, global = true, conflicts_with_all = ["manifests", "context", "kubeconfig"])]
    pub simulated: bool,
    /// The simulated cluster's state file, loaded before and saved after every command.
    #[arg(long, global = true, env = "MOORAGE_STATE", default_value = "moorage-simulated.json")]
    pub state: PathBuf,
    /// Write manifests to this folder (GitOps) instead of a cluster.
    #[arg(long, global = true, value_name = "DIR", conflicts_with = "context")]
    pub manifests: Option<PathBuf>,
}

/// Spec files: `-f` files and folders.
#[derive(Debug, Clone, Args)]
pub struct SpecArgs {
    /// Spec files or folders (read recursively: *.yaml, *.yml, *.json); repeatable.
    #[arg(short = 'f', long = "filename", value_name = "PATH", required = true)]
    pub files: Vec<PathBuf>,
}

/// A release: its tenant and application.
#[derive(Debug, Clone, Args)]
pub struct AppArgs {
    /// The tenant.
    pub tenant: String,
    /// The application.
    pub app: String,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compile spec files to Kubernetes manifests (stdout, or one file per object in --out DIR).
    Render {
        #[command(flatten)]
        specs: SpecArgs,
        /// Write one file per object into this folder instead of stdout.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Show what `apply` would change, field by field, changing nothing.
    Plan {
        #[command(flatten)]
        specs: SpecArgs,
    },
    /// Apply tenants, then roll their releases out (each with its strategy).
    Apply {
        #[command(flatten)]
        specs: SpecArgs,
    },
    /// Status of a tenant (quota, pods, domains, backups, drift) or of one release (versions, rollout).
    Status {
        /// The tenant.
        tenant: String,
        /// The application (release status instead of tenant status).
        app: Option<String>,
    },
    /// Start a release's rollout with its strategy, or resume one whose driver stopped.
    Rollout(RolloutArgs),
    /// Switch traffic to the version waiting for promotion (or take a paused canary to 100%).
    Promote(AppArgs),
    /// Abort the canary in progress: all traffic back on the stable version.
    Abort(AppArgs),
    /// Roll the newest failed or aborted revision out again.
    Retry(AppArgs),
    /// Roll back to the previous revision that succeeded, or to --to REVISION.
    Rollback {
        #[command(flatten)]
        app: AppArgs,
        /// The revision to roll back to (see `history`).
        #[arg(long, value_name = "REVISION")]
        to: Option<u32>,
    },
    /// The revisions of a release, oldest first, and the rollout in progress.
    History(AppArgs),
    /// Set the replicas of the version that serves (a new revision; the quota preflight applies).
    Scale {
        #[command(flatten)]
        app: AppArgs,
        /// The replicas wanted.
        #[arg(long)]
        replicas: u32,
    },
    /// List, suspend, resume or delete tenants.
    #[command(subcommand)]
    Tenants(TenantsCommand),
    /// Upgrade one application across the target's tenants in waves (canary tenants first), resume
    /// a plan, or show where it stands.
    #[command(subcommand)]
    Waves(WavesCommand),
    /// Resource usage per tenant over a period, from Prometheus: CPU core-hours, memory GiB-hours,
    /// storage GiB-days and requests (without TENANT: every tenant of the target and the total).
    Usage {
        /// The tenant (default: every tenant of the target).
        tenant: Option<String>,
        /// The Prometheus that scrapes the tenants (its HTTP address).
        #[arg(long, env = "MOORAGE_PROMETHEUS")]
        prometheus: String,
        /// How far back, e.g. `3d`, `10m`, `720h`.
        #[arg(long, default_value = "3d")]
        last: String,
    },
    /// Print the JSON Schema of the spec files.
    Schema {
        /// Which spec.
        #[arg(value_enum, default_value_t = SchemaKind::All)]
        kind: SchemaKind,
    },
    /// Print a shell completion script.
    Completion {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// The options of `rollout`.
#[derive(Debug, Clone, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["files", "resume"])))]
pub struct RolloutArgs {
    /// Release spec files or folders (tenant specs found there are used for their releases).
    #[arg(short = 'f', long = "filename", value_name = "PATH")]
    pub files: Vec<PathBuf>,
    /// Resume the rollout of TENANT APP in progress instead of starting one.
    #[arg(long, num_args = 2, value_names = ["TENANT", "APP"])]
    pub resume: Option<Vec<String>>,
    /// Return once traffic has switched, without waiting through the scale-down delay
    /// (`rollout --resume` finishes later).
    #[arg(long)]
    pub no_wait: bool,
}

/// Which schema `schema` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaKind {
    /// Both, as `{"tenant": ..., "release": ...}`.
    All,
    /// The tenant spec's.
    Tenant,
    /// The release spec's.
    Release,
}

/// `waves` subcommands.
#[derive(Debug, Subcommand)]
pub enum WavesCommand {
    /// Start the wave plan in PLAN (YAML or JSON; see docs/fleet-waves.md) and run it until it is
    /// done, paused or stopped. Starting a plan that exists with the same spec resumes it.
    Start {
        /// The plan file.
        #[arg(value_name = "PLAN")]
        plan: PathBuf,
    },
    /// Go on with plan NAME: after a pause, a wait, or a driver that died (once its lease expired).
    Resume {
        /// The plan's name.
        name: String,
    },
    /// Where plan NAME stands: per wave and per tenant, and the driver running it.
    Status {
        /// The plan's name.
        name: String,
    },
}

/// `tenants` subcommands.
#[derive(Debug, Subcommand)]
pub enum TenantsCommand {
    /// Every tenant of the target.
    List,
    /// Scale every Deployment of a tenant to zero (replicas recorded for `resume`).
    Suspend {
        /// The tenant.
        tenant: String,
    },
    /// Scale a suspended tenant's Deployments back.
    Resume {
        /// The tenant.
        tenant: String,
    },
    /// Delete a tenant (releases first, volumes marked keep are kept unless --purge).
    Delete {
        /// The tenant.
        tenant: String,
        /// Confirm the deletion of a protected tenant.
        #[arg(long)]
        confirm: bool,
        /// Delete the kept volumes and the Namespace too.
        #[arg(long)]
        purge: bool,
    },
}
