//! Tenant commands: status, tenants list|suspend|resume|delete, and usage (from Prometheus).

use std::collections::BTreeMap;

use moorage::tenant::{self, BackupRun, CertificateState, DeleteOptions};
use serde::Serialize;

use super::Context;
use crate::args::TenantsCommand;
use crate::error::CliError;
use crate::output::{table, Cell, Colour};

#[derive(Debug, Serialize)]
struct QuotaView {
    resource: String,
    used: Option<String>,
    hard: String,
}

#[derive(Debug, Serialize)]
struct PodsView {
    app: String,
    version: String,
    ready: i64,
    desired: i64,
}

#[derive(Debug, Serialize)]
struct DomainView {
    domain: String,
    certificate: String,
}

#[derive(Debug, Serialize)]
struct DriftView {
    object: String,
    manager: String,
    fields: Vec<String>,
}

#[derive(Debug, Serialize)]
struct TenantStatusView {
    tenant: String,
    quota: Vec<QuotaView>,
    releases: Vec<PodsView>,
    domains: Vec<DomainView>,
    backups: BTreeMap<String, String>,
    drift: Vec<DriftView>,
}

fn certificate(c: &CertificateState) -> String {
    match c {
        CertificateState::Ready => "ready".into(),
        CertificateState::NotReady(reason) => format!("not ready: {reason}"),
        CertificateState::None => "none".into(),
        CertificateState::CertManagerMissing => "cert-manager missing".into(),
    }
}

fn backup(b: &BackupRun) -> String {
    match b {
        BackupRun::None => "never ran".into(),
        BackupRun::Running { job } => format!("running ({job})"),
        BackupRun::Succeeded { job } => format!("succeeded ({job})"),
        BackupRun::Failed { job } => format!("failed ({job})"),
    }
}

/// `status TENANT`: quota used/hard, pods per version, domains, last backups, drift.
pub async fn status(ctx: &Context, name: &str) -> Result<(), CliError> {
    let t = ctx.live_tenant(name).await?;
    let s = tenant::status(ctx.target.backend(), &t).await?;
    let view = TenantStatusView {
        tenant: name.into(),
        quota: s.quota.iter().map(|q| QuotaView { resource: q.resource.clone(), used: q.used.clone(), hard: q.hard.clone() }).collect(),
        releases: s.releases.iter().map(|r| PodsView { app: r.app.clone(), version: r.version.clone(), ready: r.ready, desired: r.desired }).collect(),
        domains: s.domains.iter().map(|d| DomainView { domain: d.domain.clone(), certificate: certificate(&d.certificate) }).collect(),
        backups: s.backups.iter().map(|(k, v)| (k.clone(), backup(v))).collect(),
        drift: s.drift.iter().map(|d| DriftView { object: d.object.to_string(), manager: d.manager.clone(), fields: d.fields.clone() }).collect(),
    };
    ctx.out.emit(&view, |out| {
        let mut text = format!("tenant {}\n", out.paint(&view.tenant, Colour::Bold));
        if !view.quota.is_empty() {
            let rows: Vec<Vec<Cell>> = view
                .quota
                .iter()
                .map(|q| vec![Cell::plain(q.resource.clone()), Cell::plain(q.used.clone().unwrap_or_else(|| "?".into())), Cell::plain(q.hard.clone())])
                .collect();
            text.push_str(&table(out, &["quota", "used", "hard"], &rows));
        }
        if !view.releases.is_empty() {
            let rows: Vec<Vec<Cell>> = view
                .releases
                .iter()
                .map(|r| {
                    let colour = if r.ready >= r.desired { Colour::Green } else { Colour::Yellow };
                    vec![Cell::plain(r.app.clone()), Cell::plain(r.version.clone()), Cell::coloured(format!("{}/{}", r.ready, r.desired), colour)]
                })
                .collect();
            text.push_str(&table(out, &["app", "version", "ready"], &rows));
        }
        if !view.domains.is_empty() {
            let rows: Vec<Vec<Cell>> = view.domains.iter().map(|d| vec![Cell::plain(d.domain.clone()), Cell::plain(d.certificate.clone())]).collect();
            text.push_str(&table(out, &["domain", "certificate"], &rows));
        }
        if !view.backups.is_empty() {
            let rows: Vec<Vec<Cell>> = view.backups.iter().map(|(k, v)| vec![Cell::plain(k.clone()), Cell::plain(v.clone())]).collect();
            text.push_str(&table(out, &["backup", "last run"], &rows));
        }
        for d in &view.drift {
            text.push_str(&format!("{} {} changed by {}: {}\n", out.paint("drift:", Colour::Yellow), d.object, d.manager, d.fields.join(", ")));
        }
        text
    })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SummaryView {
    name: String,
    display_name: Option<String>,
    protected: bool,
    suspended: bool,
    deployments: usize,
    domains: Vec<String>,
    cluster: Option<String>,
}

/// `tenants list|suspend|resume|delete`.
pub async fn tenants(ctx: &Context, command: &TenantsCommand) -> Result<(), CliError> {
    let backend = ctx.target.backend();
    match command {
        TenantsCommand::List => {
            let list: Vec<SummaryView> = tenant::list(backend)
                .await?
                .into_iter()
                .map(|t| SummaryView {
                    name: t.name,
                    display_name: t.display_name,
                    protected: t.protected,
                    suspended: t.suspended,
                    deployments: t.deployments,
                    domains: t.domains,
                    cluster: t.cluster,
                })
                .collect();
            ctx.out.emit(&list, |out| {
                let rows: Vec<Vec<Cell>> = list
                    .iter()
                    .map(|t| {
                        vec![
                            Cell::plain(t.name.clone()),
                            if t.suspended { Cell::coloured("suspended", Colour::Yellow) } else { Cell::coloured("active", Colour::Green) },
                            Cell::plain(if t.protected { "yes" } else { "no" }),
                            Cell::plain(t.deployments.to_string()),
                            Cell::plain(t.domains.join(",")),
                        ]
                    })
                    .collect();
                table(out, &["name", "state", "protected", "deployments", "domains"], &rows)
            })
        }
        TenantsCommand::Suspend { tenant: name } | TenantsCommand::Resume { tenant: name } => {
            let t = ctx.live_tenant(name).await?;
            let suspend = matches!(command, TenantsCommand::Suspend { .. });
            let scaled = if suspend { tenant::suspend(backend, &t).await? } else { tenant::resume(backend, &t).await? };
            let verb = if suspend { "suspended" } else { "resumed" };
            let view = serde_json::json!({ "tenant": name, verb: scaled });
            ctx.out.emit(&view, |_| {
                if scaled.is_empty() {
                    format!("{name}: nothing to do (no Deployment left to scale)\n")
                } else {
                    format!("{name}: {verb} {}\n", scaled.join(", "))
                }
            })
        }
        TenantsCommand::Delete { tenant: name, confirm, purge } => {
            // The tenant as applied when its spec is recorded, else by name: delete also removes what a name finds.
            let t = match ctx.live_tenant(name).await {
                Ok(t) => t,
                Err(CliError::Tenant(tenant::TenantError::SpecNotRecorded { .. })) => moorage::Tenant::builder(name).build()?,
                Err(e) => return Err(e),
            };
            let report = tenant::delete(backend, &t, DeleteOptions { confirm: *confirm, purge: *purge }).await?;
            let deleted: Vec<String> = report.deleted.iter().map(ToString::to_string).collect();
            let kept: Vec<String> = report.kept.iter().map(ToString::to_string).collect();
            let view = serde_json::json!({ "tenant": name, "deleted": deleted, "kept": kept });
            ctx.out.emit(&view, |out| {
                let mut text = format!("{name}: deleted {} objects\n", deleted.len());
                for k in &kept {
                    text.push_str(&format!("  {} {k}\n", out.paint("kept", Colour::Yellow)));
                }
                text
            })
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct UsageView {
    /// Start and end of the period (unix seconds).
    start: f64,
    end: f64,
    tenants: BTreeMap<String, moorage::usage::Usage>,
    total: moorage::usage::Usage,
}

/// `usage [TENANT] --prometheus URL --last 3d`: the core's usage report (`moorage::usage`) of one
/// tenant, or of every tenant of the target (`backend`) and their total.
pub async fn usage(
    out: &crate::output::Output,
    tenant: Option<&String>,
    prometheus: &str,
    last: &str,
    backend: Option<&dyn moorage::backend::Backend>,
) -> Result<(), CliError> {
    let length = moorage::checks::parse_duration(last).map_err(|message| {
        moorage::ValidationErrors::from_errors(vec![moorage::FieldError { path: "--last".into(), message }])
            .map_or_else(|| CliError::Output(String::new()), CliError::Invalid)
    })?;
    let tenants: Vec<String> = match (tenant, backend) {
        (Some(t), _) => vec![t.clone()],
        (None, Some(b)) => tenant::list(b).await?.into_iter().map(|t| t.name).collect(),
        (None, None) => Vec::new(),
    };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64().floor()).unwrap_or_default();
    let period = moorage::usage::PeriodRequest { last: Some(length), ..Default::default() }.period(now).map_err(|e| {
        // The only field the command takes is `--last`.
        let problems = e.into_errors().into_iter().map(|p| moorage::FieldError { path: "--last".into(), message: p.message }).collect();
        moorage::ValidationErrors::from_errors(problems).map_or_else(|| CliError::Output(String::new()), CliError::Invalid)
    })?;
    let client = moorage::analysis::Prometheus::new(prometheus);
    let report = moorage::usage::fleet_usage(&client, &tenants, period).await?;
    let view = UsageView { start: report.period.start, end: report.period.end, tenants: report.tenants, total: report.total };
    out.emit(&view, |out| {
        let row = |name: &str, u: &moorage::usage::Usage| {
            vec![
                Cell::plain(name.to_string()),
                Cell::plain(format!("{:.3}", u.cpu_core_hours)),
                Cell::plain(format!("{:.3}", u.memory_gib_hours)),
                Cell::plain(format!("{:.3}", u.storage_gib_days)),
                Cell::plain(format!("{:.0}", u.requests)),
            ]
        };
        let mut rows: Vec<Vec<Cell>> = view.tenants.iter().map(|(n, u)| row(n, u)).collect();
        if view.tenants.len() > 1 {
            rows.push(row("total", &view.total));
        }
        format!(
            "usage over the last {last} (from {prometheus})\n{}",
            table(out, &["tenant", "cpu core-hours", "memory GiB-hours", "storage GiB-days", "requests"], &rows)
        )
    })
}
