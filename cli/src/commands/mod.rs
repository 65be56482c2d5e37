//! The commands, one file per concept, and what they share: the context, tenant lookup, rollout runs with Ctrl-C.

pub mod meta;
pub mod release;
pub mod specs;
pub mod tenants;
pub mod waves;

use std::future::Future;
use std::time::Duration;

use moorage::rollout::{Phase, RolloutError, RolloutOptions, RolloutReport};
use moorage::tenant::TenantError;
use moorage::Tenant;
use serde::Serialize;

use crate::args::TargetArgs;
use crate::error::CliError;
use crate::output::{Colour, Output};
use crate::progress::ProgressView;
use crate::target::Target;

/// What every command gets.
pub struct Context {
    /// Where it executes.
    pub target: Target,
    /// The target options, to repeat them in hints.
    pub target_args: TargetArgs,
    /// Where it writes.
    pub out: Output,
    /// The most it waits.
    pub timeout: Duration,
}

impl Context {
    /// The target options as they would be typed again (for the resume hint).
    pub fn target_flags(&self) -> String {
        let a = &self.target_args;
        let mut s = String::new();
        if a.simulated {
            s.push_str(&format!(" --simulated --state {}", a.state.display()));
        }
        if let Some(dir) = &a.manifests {
            s.push_str(&format!(" --manifests {}", dir.display()));
        }
        if let Some(k) = &a.kubeconfig {
            s.push_str(&format!(" --kubeconfig {}", k.display()));
        }
        if let Some(c) = &a.context {
            s.push_str(&format!(" --context {c}"));
        }
        s
    }

    /// The tenant `name` as applied in the target (its recorded spec).
    pub async fn live_tenant(&self, name: &str) -> Result<Tenant, CliError> {
        Tenant::builder(name).build()?;
        Ok(moorage::tenant::live(self.target.backend(), name).await?)
    }

    /// Runs one rollout operation of `tenant`/`app` with progress; Ctrl-C stops waiting and
    /// leaves the rollout in the cluster, resumable.
    pub async fn run_rollout<T, F, Fut>(&self, tenant: &str, app: &str, wait_for_scale_down: bool, run: F) -> Result<T, CliError>
    where
        F: FnOnce(RolloutOptions) -> Fut,
        Fut: Future<Output = Result<T, RolloutError>>,
    {
        let view = ProgressView::for_run(self.out.format);
        let options = view.options(self.timeout, wait_for_scale_down);
        let result = tokio::select! {
            r = run(options) => r.map_err(CliError::from),
            _ = tokio::signal::ctrl_c() => Err(CliError::Interrupted { tenant: tenant.to_string(), app: app.to_string(), target: self.target_flags() }),
        };
        view.finish();
        result
    }
}

/// A rollout report, as printed.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportView {
    /// The tenant.
    pub tenant: String,
    /// The application.
    pub app: String,
    /// The revision.
    pub revision: u32,
    /// Its version.
    pub version: String,
    /// The version that served before.
    pub previous: Option<String>,
    /// Where the rollout stands (`done`, `waitingForPromotion`, `paused`, ...).
    pub phase: Phase,
    /// Whether nothing changed.
    pub unchanged: bool,
    /// Extra pods the strategy ran at its peak.
    pub extra_pods: u32,
}

impl ReportView {
    /// The view of a report.
    pub fn new(tenant: &str, app: &str, r: &RolloutReport) -> Self {
        ReportView {
            tenant: tenant.into(),
            app: app.into(),
            revision: r.revision,
            version: r.version.clone(),
            previous: r.previous.clone(),
            phase: r.phase,
            unchanged: r.unchanged,
            extra_pods: r.preflight.extra_pods,
        }
    }

    /// One line for people.
    pub fn human(&self, out: &Output) -> String {
        let phase = phase_name(self.phase);
        let colour = phase_colour(self.phase);
        let from = self.previous.as_ref().map(|p| format!(" (from {p})")).unwrap_or_default();
        let unchanged = if self.unchanged { ", unchanged" } else { "" };
        format!(
            "{}/{}: revision {} {}{from}: {}{unchanged}\n",
            self.tenant,
            self.app,
            self.revision,
            out.paint(&self.version, Colour::Bold),
            out.paint(phase, colour)
        )
    }
}

/// The name of a phase as JSON spells it.
pub fn phase_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Deploying => "deploying",
        Phase::WaitingForPromotion => "waitingForPromotion",
        Phase::Switched => "switched",
        Phase::Paused => "paused",
        Phase::Done => "done",
        Phase::Failed => "failed",
    }
}

/// The colour of a phase.
pub fn phase_colour(phase: Phase) -> Colour {
    match phase {
        Phase::Done => Colour::Green,
        Phase::Failed => Colour::Red,
        _ => Colour::Yellow,
    }
}

/// A tenant error that means "this tenant is not applied", for lookups that try the target.
pub fn is_missing_tenant(e: &CliError) -> bool {
    matches!(e, CliError::Tenant(TenantError::NotFound { .. }))
}
