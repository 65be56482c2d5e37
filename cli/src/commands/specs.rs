//! Commands on spec files: render (manifests), plan (field-level diff) and apply (tenants, then releases).

use std::path::{Path, PathBuf};

use moorage::manifest::{self, Layout};
use moorage::spec::{read_paths, SpecDocument};
use moorage::tenant::{ApplyTenantOptions, FieldChange, Plan, PlannedAction};
use moorage::{Release, Tenant};
use serde::Serialize;
use serde_json::Value;

use super::{is_missing_tenant, Context, ReportView};
use crate::args::Format;
use crate::error::CliError;
use crate::output::{table, write_stdout, Cell, Colour, Output};

/// The specs read from `-f`: tenants and releases, in file order.
pub struct Specs {
    /// Tenant specs.
    pub tenants: Vec<Tenant>,
    /// Release specs.
    pub releases: Vec<Release>,
}

/// Reads and validates the spec files (every problem of every file at once).
pub fn load(files: &[PathBuf]) -> Result<Specs, CliError> {
    let mut specs = Specs { tenants: Vec::new(), releases: Vec::new() };
    for file in read_paths(files)? {
        match file.document {
            SpecDocument::Tenant(t) => specs.tenants.push(t),
            SpecDocument::Release(r) => specs.releases.push(r),
        }
    }
    Ok(specs)
}

/// The tenant of `release`: from the spec files, else as applied in the target (when there is one).
pub async fn tenant_of(ctx: Option<&Context>, specs: &Specs, release: &Release) -> Result<Tenant, CliError> {
    let name = &release.spec().tenant;
    if let Some(t) = specs.tenants.iter().find(|t| t.name() == name) {
        return Ok(t.clone());
    }
    let unknown = || CliError::TenantUnknown { tenant: name.clone(), app: release.spec().app.clone(), version: release.spec().version.clone() };
    let Some(ctx) = ctx else { return Err(unknown()) };
    ctx.live_tenant(name).await.map_err(|e| if is_missing_tenant(&e) { unknown() } else { e })
}

/// `render`: the manifests of the spec files, on stdout or one file per object in `out`.
pub async fn render(out: &Output, files: &[PathBuf], dir: Option<&Path>) -> Result<(), CliError> {
    let specs = load(files)?;
    let mut objects = Vec::new();
    for release in &specs.releases {
        tenant_of(None, &specs, release).await?;
    }
    for tenant in &specs.tenants {
        let releases: Vec<Release> = specs.releases.iter().filter(|r| r.spec().tenant == tenant.name()).cloned().collect();
        objects.extend(moorage::compile(tenant, &releases)?.objects);
    }
    if let Some(dir) = dir {
        let written = manifest::write_dir(dir, &objects, Layout::PerObject).map_err(|e| CliError::Manifests(e.to_string()))?;
        let files: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
        return out.emit(&serde_json::json!({ "files": files }), |_| files.iter().map(|f| format!("{f}\n")).collect());
    }
    match out.format {
        Format::Json => out.emit(&objects, |_| String::new()),
        Format::Table | Format::Yaml => write_stdout(&manifest::to_yaml_stream(&objects).map_err(|e| CliError::Manifests(e.to_string()))?),
    }
}

/// One object of a plan, as printed.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ObjectView {
    action: &'static str,
    kind: String,
    namespace: Option<String>,
    name: String,
    changes: Vec<ChangeView>,
}

#[derive(Debug, Serialize)]
struct ChangeView {
    path: String,
    before: Option<Value>,
    after: Option<Value>,
}

/// The plan of one tenant or release.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PlanView {
    tenant: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    app: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    objects: Vec<ObjectView>,
}

fn action_name(a: PlannedAction) -> &'static str {
    match a {
        PlannedAction::Create => "create",
        PlannedAction::Update => "update",
        PlannedAction::Unchanged => "unchanged",
        PlannedAction::Delete => "delete",
    }
}

fn plan_view(tenant: &str, release: Option<&Release>, plan: Plan) -> PlanView {
    let objects = plan
        .objects
        .into_iter()
        .map(|o| ObjectView {
            action: action_name(o.action),
            kind: o.object.kind,
            namespace: o.object.namespace,
            name: o.object.name,
            changes: o.changes.into_iter().map(|FieldChange { path, before, after }| ChangeView { path, before, after }).collect(),
        })
        .collect();
    PlanView { tenant: tenant.into(), app: release.map(|r| r.spec().app.clone()), version: release.map(|r| r.spec().version.clone()), objects }
}

/// The longest value shown whole in the human plan (`-o json` has every value whole).
const SHOWN_CHARS: usize = 60;

fn show_value(v: &Option<Value>) -> String {
    let text = match v {
        None => return "(absent)".into(),
        Some(Value::String(s)) => format!("{s:?}"),
        Some(other) => other.to_string(),
    };
    let count = text.chars().count();
    if count <= SHOWN_CHARS {
        return text;
    }
    let head: String = text.chars().take(SHOWN_CHARS - 20).collect();
    format!("{head}... ({count} characters)")
}

fn plans_human(out: &Output, plans: &[PlanView]) -> String {
    let mut text = String::new();
    let mut counts = [0usize; 4];
    for plan in plans {
        let title = match (&plan.app, &plan.version) {
            (Some(app), Some(version)) => format!("release {}/{app} {version}", plan.tenant),
            _ => format!("tenant {}", plan.tenant),
        };
        text.push_str(&out.paint(&title, Colour::Bold));
        text.push('\n');
        for o in &plan.objects {
            let (sign, colour, slot) = match o.action {
                "create" => ("+", Colour::Green, 0),
                "update" => ("~", Colour::Yellow, 1),
                "delete" => ("-", Colour::Red, 2),
                _ => ("=", Colour::Dim, 3),
            };
            counts[slot] += 1;
            if slot == 3 {
                continue;
            }
            let name = match &o.namespace {
                Some(ns) => format!("{} {ns}/{}", o.kind, o.name),
                None => format!("{} {}", o.kind, o.name),
            };
            text.push_str(&format!("  {} {name}\n", out.paint(sign, colour)));
            for c in &o.changes {
                text.push_str(&format!(
                    "      {}: {} -> {}\n",
                    c.path,
                    out.paint(&show_value(&c.before), Colour::Red),
                    out.paint(&show_value(&c.after), Colour::Green)
                ));
            }
        }
    }
    text.push_str(&format!("Plan: {} to create, {} to change, {} to delete, {} unchanged.\n", counts[0], counts[1], counts[2], counts[3]));
    text
}

/// `plan`: what `apply` would change, tenants then releases.
pub async fn plan(ctx: &Context, files: &[PathBuf]) -> Result<(), CliError> {
    let specs = load(files)?;
    let backend = ctx.target.backend();
    let mut plans = Vec::new();
    for tenant in &specs.tenants {
        plans.push(plan_view(tenant.name(), None, moorage::tenant::plan(backend, tenant).await?));
    }
    for release in &specs.releases {
        let tenant = tenant_of(Some(ctx), &specs, release).await?;
        plans.push(plan_view(tenant.name(), Some(release), moorage::rollout::plan(backend, &tenant, release).await?));
    }
    ctx.out.emit(&plans, |out| plans_human(out, &plans))
}

/// What `apply` did to one tenant.
#[derive(Debug, Serialize)]
struct TenantApplied {
    tenant: String,
    created: usize,
    updated: usize,
    unchanged: usize,
}

/// What `apply` did.
#[derive(Debug, Serialize)]
struct Applied {
    tenants: Vec<TenantApplied>,
    releases: Vec<ReportView>,
}

/// `apply`: every tenant, then every release rolled out with its strategy.
pub async fn apply(ctx: &Context, files: &[PathBuf]) -> Result<(), CliError> {
    let specs = load(files)?;
    let backend = ctx.target.backend();
    let mut applied = Applied { tenants: Vec::new(), releases: Vec::new() };
    let options = ApplyTenantOptions { timeout: ctx.timeout, ..ApplyTenantOptions::default() };
    for tenant in &specs.tenants {
        let r = moorage::tenant::apply(backend, tenant, &options).await?;
        applied.tenants.push(TenantApplied { tenant: tenant.name().into(), created: r.created(), updated: r.updated(), unchanged: r.unchanged() });
    }
    for release in &specs.releases {
        let tenant = tenant_of(Some(ctx), &specs, release).await?;
        let app = release.spec().app.clone();
        let tenant = &tenant;
        let report =
            ctx.run_rollout(tenant.name(), &app, true, |options| async move { moorage::rollout::rollout(backend, tenant, release, &options).await }).await?;
        applied.releases.push(ReportView::new(&release.spec().tenant, &app, &report));
    }
    ctx.out.emit(&applied, |out| {
        let rows: Vec<Vec<Cell>> = applied
            .tenants
            .iter()
            .map(|t| {
                let colour = if t.created + t.updated == 0 { Colour::Dim } else { Colour::Green };
                vec![
                    Cell::plain(t.tenant.clone()),
                    Cell::coloured(t.created.to_string(), colour),
                    Cell::coloured(t.updated.to_string(), colour),
                    Cell::plain(t.unchanged.to_string()),
                ]
            })
            .collect();
        let mut text = if rows.is_empty() { String::new() } else { table(out, &["tenant", "created", "updated", "unchanged"], &rows) };
        for r in &applied.releases {
            text.push_str(&r.human(out));
        }
        text
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_abbreviated_with_their_length() {
        assert_eq!(show_value(&None), "(absent)");
        assert_eq!(show_value(&Some(Value::from("20"))), "\"20\"");
        assert_eq!(show_value(&Some(Value::from(3))), "3");
        let long = show_value(&Some(Value::from("x".repeat(100))));
        assert_eq!(long, format!("\"{}... (102 characters)", "x".repeat(39)));
    }
}
