//! Release commands: rollout (and --resume), promote, abort, retry, rollback, history, scale and release status.

use moorage::rollout::{self, Outcome, RolloutState};
use serde::Serialize;

use super::specs::{load, tenant_of};
use super::{phase_colour, phase_name, Context, ReportView};
use crate::args::{AppArgs, RolloutArgs};
use crate::error::CliError;
use crate::output::{table, Cell, Colour, Output};

/// `rollout -f FILES`: roll every release of the files out; `rollout --resume TENANT APP`: finish
/// the rollout in progress.
pub async fn rollout(ctx: &Context, args: &RolloutArgs) -> Result<(), CliError> {
    let backend = ctx.target.backend();
    let wait = !args.no_wait;
    if let Some([tenant, app]) = args.resume.as_deref() {
        let t = ctx.live_tenant(tenant).await?;
        let resumed = ctx.run_rollout(tenant, app, wait, |options| async move { rollout::resume(backend, &t, app, &options).await }).await?;
        return match resumed {
            Some(r) => {
                let view = ReportView::new(tenant, app, &r);
                ctx.out.emit(&view, |out| view.human(out))
            }
            None => {
                let view = serde_json::json!({ "tenant": tenant, "app": app, "resumed": false });
                ctx.out.emit(&view, |_| format!("{tenant}/{app}: no rollout in progress; nothing to resume\n"))
            }
        };
    }
    let specs = load(&args.files)?;
    let mut views = Vec::new();
    for release in &specs.releases {
        let tenant = tenant_of(Some(ctx), &specs, release).await?;
        let app = release.spec().app.clone();
        let tenant = &tenant;
        let report = ctx.run_rollout(tenant.name(), &app, wait, |options| async move { rollout::rollout(backend, tenant, release, &options).await }).await?;
        views.push(ReportView::new(&release.spec().tenant, &app, &report));
    }
    ctx.out.emit(&views, |out| views.iter().map(|v| v.human(out)).collect())
}

/// The operations on one application that answer with a rollout report.
#[derive(Debug, Clone, Copy)]
pub enum AppOperation {
    /// `promote`.
    Promote,
    /// `abort`.
    Abort,
    /// `retry`.
    Retry,
    /// `rollback [--to N]`.
    Rollback(Option<u32>),
    /// `scale --replicas N`.
    Scale(u32),
}

/// Runs an [`AppOperation`] with progress and prints its report.
pub async fn operate(ctx: &Context, args: &AppArgs, operation: AppOperation) -> Result<(), CliError> {
    let backend = ctx.target.backend();
    let tenant = ctx.live_tenant(&args.tenant).await?;
    let app = args.app.as_str();
    let report = ctx
        .run_rollout(&args.tenant, app, true, |options| async move {
            match operation {
                AppOperation::Promote => rollout::promote(backend, &tenant, app, &options).await,
                AppOperation::Abort => rollout::abort(backend, &tenant, app, &options).await,
                AppOperation::Retry => rollout::retry(backend, &tenant, app, &options).await,
                AppOperation::Rollback(to) => rollout::rollback(backend, &tenant, app, to, &options).await,
                AppOperation::Scale(replicas) => rollout::scale(backend, &tenant, app, replicas, &options).await,
            }
        })
        .await?;
    let view = ReportView::new(&args.tenant, app, &report);
    ctx.out.emit(&view, |out| view.human(out))
}

/// One revision, as printed (the whole spec is left out; `history -o json` is for scripts that
/// want the numbers).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RevisionView {
    number: u32,
    version: String,
    image: String,
    replicas: u32,
    strategy: String,
    by: String,
    started_at: u64,
    finished_at: Option<u64>,
    outcome: Outcome,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct HistoryView {
    tenant: String,
    app: String,
    revisions: Vec<RevisionView>,
    rollout: Option<RolloutState>,
}

fn outcome_cell(o: &Outcome) -> Cell {
    match o {
        Outcome::InProgress => Cell::coloured("in progress", Colour::Yellow),
        Outcome::Succeeded => Cell::coloured("succeeded", Colour::Green),
        Outcome::Failed { reason } => Cell::coloured(format!("failed: {reason}"), Colour::Red),
        Outcome::RolledBack { to } => Cell::coloured(format!("rolled back to {to}"), Colour::Yellow),
        Outcome::Superseded => Cell::coloured("superseded", Colour::Dim),
    }
}

fn rollout_line(out: &Output, state: &RolloutState) -> String {
    let from = state.from.as_ref().map(|f| format!("{f} -> ")).unwrap_or_default();
    let step = state.step.map(|s| format!(", step {s}")).unwrap_or_default();
    format!("rollout in progress: revision {} {from}{}: {}{step}\n", state.revision, state.to, out.paint(phase_name(state.phase), phase_colour(state.phase)))
}

/// `history TENANT APP`.
pub async fn history(ctx: &Context, args: &AppArgs) -> Result<(), CliError> {
    let tenant = ctx.live_tenant(&args.tenant).await?;
    let h = rollout::history(ctx.target.backend(), &tenant, &args.app).await?;
    if h.revisions.is_empty() {
        return Err(rollout::RolloutError::NoSuchRevision { app: args.app.clone(), revision: 0 }.into());
    }
    let view = HistoryView {
        tenant: args.tenant.clone(),
        app: args.app.clone(),
        revisions: h
            .revisions
            .iter()
            .map(|r| RevisionView {
                number: r.number,
                version: r.version.clone(),
                image: r.image.clone(),
                replicas: r.replicas,
                strategy: r.strategy.clone(),
                by: r.by.clone(),
                started_at: r.started_at,
                finished_at: r.finished_at,
                outcome: r.outcome.clone(),
            })
            .collect(),
        rollout: h.rollout.clone(),
    };
    ctx.out.emit(&view, |out| {
        let rows: Vec<Vec<Cell>> = view
            .revisions
            .iter()
            .map(|r| {
                vec![
                    Cell::plain(r.number.to_string()),
                    Cell::plain(r.version.clone()),
                    Cell::plain(r.image.clone()),
                    Cell::plain(r.replicas.to_string()),
                    Cell::plain(r.strategy.clone()),
                    Cell::plain(r.by.clone()),
                    outcome_cell(&r.outcome),
                ]
            })
            .collect();
        let mut text = table(out, &["revision", "version", "image", "replicas", "strategy", "by", "outcome"], &rows);
        if let Some(state) = &view.rollout {
            text.push_str(&rollout_line(out, state));
        }
        text
    })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct VersionView {
    version: String,
    desired: u32,
    ready: u32,
    selected: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ReleaseStatusView {
    tenant: String,
    app: String,
    active: Option<String>,
    revision: Option<u32>,
    versions: Vec<VersionView>,
    rollout: Option<RolloutState>,
    /// During a canary: the share of traffic the canary gets now (percent).
    #[serde(skip_serializing_if = "Option::is_none")]
    canary_weight: Option<u32>,
}

/// `status TENANT APP`: versions, which one serves, and the rollout in progress.
pub async fn status(ctx: &Context, tenant: &str, app: &str) -> Result<(), CliError> {
    let t = ctx.live_tenant(tenant).await?;
    let s = rollout::status(ctx.target.backend(), &t, app).await?;
    if s.versions.is_empty() && s.revision.is_none() {
        return Err(rollout::RolloutError::NoSuchRevision { app: app.to_string(), revision: 0 }.into());
    }
    let view = ReleaseStatusView {
        tenant: tenant.into(),
        app: app.into(),
        active: s.active.clone(),
        revision: s.revision,
        versions: s.versions.iter().map(|v| VersionView { version: v.version.clone(), desired: v.desired, ready: v.ready, selected: v.selected }).collect(),
        rollout: s.rollout.clone(),
        canary_weight: s.canary_weight,
    };
    ctx.out.emit(&view, |out| {
        let mut text = format!(
            "{}/{}: serving {} (revision {})\n",
            view.tenant,
            view.app,
            out.paint(view.active.as_deref().unwrap_or("nothing"), Colour::Bold),
            view.revision.map(|r| r.to_string()).unwrap_or_else(|| "-".into())
        );
        let rows: Vec<Vec<Cell>> = view
            .versions
            .iter()
            .map(|v| {
                let ready = if v.ready >= v.desired { Colour::Green } else { Colour::Yellow };
                vec![
                    Cell::plain(v.version.clone()),
                    Cell::coloured(format!("{}/{}", v.ready, v.desired), ready),
                    if v.selected { Cell::coloured("yes", Colour::Green) } else { Cell::plain("no") },
                ]
            })
            .collect();
        text.push_str(&table(out, &["version", "ready", "serving"], &rows));
        if let Some(state) = &view.rollout {
            text.push_str(&rollout_line(out, state));
        }
        if let Some(weight) = view.canary_weight {
            text.push_str(&format!("canary weight: {weight}%\n"));
        }
        text
    })
}
