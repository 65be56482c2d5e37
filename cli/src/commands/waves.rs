//! `waves start|resume|status`: fleet wave plans on the target, with progress and a per-tenant table.

use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};
use moorage::tenant::{Fleet, FleetCluster};
use moorage::waves::{self, LeaseHolder, TenantWaveState, WaveOptions, WavePhase, WaveProgress, WaveState};
use serde::Serialize;

use super::Context;
use crate::args::WavesCommand;
use crate::error::CliError;
use crate::output::{table, Cell, Colour, Output};
use crate::progress::ProgressView;

/// Runs a `waves` subcommand.
pub async fn waves(ctx: &Context, command: &WavesCommand) -> Result<(), CliError> {
    match command {
        WavesCommand::Start { plan } => start(ctx, plan).await,
        WavesCommand::Resume { name } => resume(ctx, name).await,
        WavesCommand::Status { name } => status(ctx, name).await,
    }
}

/// The fleet of a CLI run: the target alone, as cluster [`cluster_name`].
fn fleet(ctx: &Context) -> Result<Fleet, CliError> {
    let cluster = FleetCluster { name: cluster_name(ctx), labels: Default::default(), capacity: u32::MAX, storage_classes: None, backend: ctx.target.shared() };
    Ok(Fleet::new(vec![cluster])?)
}

/// The target's name as a fleet cluster (what a plan's `selection.clusters` names): the kubeconfig
/// context, `simulated`, `manifests`, or `default` for the current context.
fn cluster_name(ctx: &Context) -> String {
    let a = &ctx.target_args;
    if a.simulated {
        "simulated".into()
    } else if a.manifests.is_some() {
        "manifests".into()
    } else {
        a.context.clone().unwrap_or_else(|| "default".into())
    }
}

async fn start(ctx: &Context, file: &Path) -> Result<(), CliError> {
    let plan = moorage::spec::wave_plan_file(file)?;
    let fleet = fleet(ctx)?;
    let name = plan.name().to_string();
    let state = drive(ctx, &name, |options| async move { waves::start(&fleet, &plan, &options).await }).await?;
    finish(ctx, state)
}

async fn resume(ctx: &Context, name: &str) -> Result<(), CliError> {
    let fleet = fleet(ctx)?;
    let state = drive(ctx, name, |options| async move { waves::resume(&fleet, name, &options).await }).await?;
    finish(ctx, state)
}

async fn status(ctx: &Context, name: &str) -> Result<(), CliError> {
    let fleet = fleet(ctx)?;
    let state = waves::status(&fleet, name).await?.ok_or_else(|| CliError::Waves(waves::WaveError::NoSuchPlan { plan: name.to_string() }))?;
    let driver = waves::driver(&fleet, name).await?.filter(|d| !d.expired);
    let view = StatusView { state: &state, driver: driver.as_ref() };
    ctx.out.emit(&view, |out| human(out, &state, driver.as_ref()))
}

/// A plan's state with its live driver, as printed.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusView<'a> {
    #[serde(flatten)]
    state: &'a WaveState,
    #[serde(skip_serializing_if = "Option::is_none")]
    driver: Option<&'a LeaseHolder>,
}

/// Runs a plan with progress on stderr; Ctrl-C stops the driver (the plan resumes with `waves resume`).
async fn drive<F, Fut>(ctx: &Context, name: &str, run: F) -> Result<WaveState, CliError>
where
    F: FnOnce(WaveOptions) -> Fut,
    Fut: std::future::Future<Output = Result<WaveState, waves::WaveError>>,
{
    let view = ProgressView::for_run(ctx.out.format);
    // Every tenant's rollout waits for its cluster up to --timeout; its own steps are not shown.
    let base = WaveOptions { rollout: moorage::rollout::RolloutOptions::with_timeout(ctx.timeout), ..Default::default() };
    let options = match &view {
        ProgressView::Off => base,
        ProgressView::Lines => base.on_progress(|p| eprintln!("{}", describe(p))),
        ProgressView::Bar(bar) => {
            let bar = bar.clone();
            base.on_progress(move |p| show(&bar, p))
        }
    };
    let result = tokio::select! {
        r = run(options) => r.map_err(CliError::from),
        _ = tokio::signal::ctrl_c() => Err(CliError::WavesInterrupted { plan: name.to_string(), target: ctx.target_flags() }),
    };
    view.finish();
    result
}

/// Prints the final state; a plan stopped by its failure budget is an error (exit 1).
fn finish(ctx: &Context, state: WaveState) -> Result<(), CliError> {
    let view = StatusView { state: &state, driver: None };
    ctx.out.emit(&view, |out| {
        let mut text = human(out, &state, None);
        if state.phase == WavePhase::Paused {
            text.push_str(&format!("paused before wave {}; go on with: moorage{} waves resume {}\n", state.current_wave, ctx.target_flags(), state.spec.name));
        }
        text
    })?;
    match state.phase {
        WavePhase::Stopped { reason } => Err(CliError::WavesStopped { plan: state.spec.name, reason }),
        _ => Ok(()),
    }
}

/// One line describing a wave event, for people.
pub fn describe(p: &WaveProgress) -> String {
    match p {
        WaveProgress::Planned { waves, skipped } => {
            let waves: Vec<String> = waves.iter().map(|(label, n)| format!("{label}: {n}")).collect();
            let mut line = format!("planned: {}", waves.join(", "));
            for (tenant, reason) in skipped {
                line.push_str(&format!("\n  skipped {tenant}: {reason}"));
            }
            line
        }
        WaveProgress::WaveStarted { wave, label, tenants } => format!("wave {wave} ({label}): {tenants} tenant(s)"),
        WaveProgress::TenantStarted { tenant, cluster } => format!("{tenant} ({cluster}): upgrading"),
        WaveProgress::TenantSucceeded { tenant, cluster } => format!("{tenant} ({cluster}): upgraded"),
        WaveProgress::TenantFailed { tenant, cluster, reason } => format!("{tenant} ({cluster}): failed, rolled back: {reason}"),
        WaveProgress::WaveFinished { wave, succeeded, failed } => format!("wave {wave} finished ({succeeded} upgraded, {failed} failed so far)"),
        WaveProgress::AnalysisFinished { wave, tenant, verdict, reason } => format!("analysis after wave {wave} on {tenant}: {} ({reason})", verdict.as_str()),
        WaveProgress::Paused { next_wave } => format!("paused before wave {next_wave}"),
        WaveProgress::Waiting { seconds } => format!("waiting {seconds}s before the next wave"),
        WaveProgress::Stopped { reason } => format!("stopped: {reason}"),
        WaveProgress::Done { succeeded, failed, skipped } => format!("done: {succeeded} upgraded, {failed} failed, {skipped} skipped"),
    }
}

/// Wave progress on a terminal: a bar of finished tenants, every event printed above it.
fn show(bar: &ProgressBar, p: &WaveProgress) {
    match p {
        WaveProgress::Planned { waves, .. } => {
            bar.set_style(ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len}").unwrap_or_else(|_| ProgressStyle::default_bar()));
            bar.set_length(waves.iter().map(|(_, n)| *n as u64).sum());
        }
        WaveProgress::TenantSucceeded { .. } | WaveProgress::TenantFailed { .. } => bar.inc(1),
        _ => {}
    }
    bar.println(format!("  {}", describe(p)));
    bar.set_message(describe(p));
}

fn phase_text(phase: &WavePhase) -> (String, Colour) {
    match phase {
        WavePhase::Running => ("running".into(), Colour::Yellow),
        WavePhase::Paused => ("paused".into(), Colour::Yellow),
        WavePhase::Stopped { reason } => (format!("stopped: {reason}"), Colour::Red),
        WavePhase::Done => ("done".into(), Colour::Green),
    }
}

/// The plan for people: its phase, its waves, and one row per tenant.
fn human(out: &Output, state: &WaveState, driver: Option<&LeaseHolder>) -> String {
    let (phase, colour) = phase_text(&state.phase);
    let spec = &state.spec;
    let mut text = format!("plan {}: {} {} ({}): {}\n", spec.name, spec.app, out.paint(&spec.version, Colour::Bold), spec.image, out.paint(&phase, colour));
    if let Some(d) = driver {
        text.push_str(&format!("driven by {} (lease until {})\n", d.holder, d.expires));
    }
    let waves: Vec<String> = state
        .waves
        .iter()
        .enumerate()
        .map(|(i, label)| {
            let n = state.wave_tenants(i as u32).count();
            let mark = if i as u32 == state.current_wave && !matches!(state.phase, WavePhase::Done) { "*" } else { "" };
            format!("{mark}{label} ({n})")
        })
        .collect();
    text.push_str(&format!("waves: {}\n", waves.join(", ")));
    text.push_str(&format!("upgraded {}, failed {}, skipped {}, remaining {}\n\n", state.succeeded(), state.failed(), state.skipped(), state.remaining()));
    let rows: Vec<Vec<Cell>> = state
        .tenants
        .iter()
        .map(|t| {
            let wave = t.wave.and_then(|w| state.waves.get(w as usize)).cloned().unwrap_or_else(|| "-".into());
            let (st, colour, note) = match &t.state {
                TenantWaveState::Pending => ("pending", None, String::new()),
                TenantWaveState::Running => ("running", Some(Colour::Yellow), String::new()),
                TenantWaveState::Succeeded => ("upgraded", Some(Colour::Green), String::new()),
                TenantWaveState::Failed { reason } => ("failed", Some(Colour::Red), reason.clone()),
                TenantWaveState::Skipped { reason } => ("skipped", Some(Colour::Yellow), reason.clone()),
            };
            let state_cell = match colour {
                Some(c) => Cell::coloured(st, c),
                None => Cell::plain(st),
            };
            vec![
                Cell::plain(t.tenant.clone()),
                Cell::plain(t.cluster.clone()),
                Cell::plain(wave),
                Cell::plain(t.from.clone().unwrap_or_else(|| "-".into())),
                state_cell,
                Cell::plain(note),
            ]
        })
        .collect();
    text.push_str(&table(out, &["tenant", "cluster", "wave", "from", "state", "note"], &rows));
    text
}
