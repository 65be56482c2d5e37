//! The demo of shared/mission.md, made safe: a blue/green update of a tenant's web server on the
//! embedded simulated cluster.
//!
//! Run it with `cargo run -p moorage-examples --example bluegreen_demo`. It reads the spec files in
//! `examples/specs/`, provisions tenant `acme`, rolls out `blue`, shows the quota preflight refusing
//! `green` before anything is created, raises the quota, rolls `green` out (traffic switches the
//! moment green is ready), refuses to delete the selected version, rolls back in one selector
//! change, and writes the manifests for GitOps.

use std::path::PathBuf;
use std::time::Duration;

use moorage::backend::sim::SimulatedCluster;
use moorage::backend::{ApplyOptions, Backend, Change};
use moorage::manifest::{self, Layout};
use moorage::rollout::{self, Progress, RolloutOptions};
use moorage::spec::{release_from_yaml, tenant_from_yaml};
use moorage::{compile, compile_tenant, Quota, Tenant};

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
    if let Err(e) = runtime.block_on(run()) {
        eprintln!("\nerror: {e}");
        std::process::exit(1);
    }
}

fn step(n: u32, title: &str) {
    println!("\n{n}. {title}");
}

fn show_progress(p: &Progress) {
    match p {
        Progress::PreflightPassed { extra_pods } => println!("   ✓ quota preflight: the {extra_pods} extra pod(s) this needs fit"),
        Progress::Applied { objects, changed } => println!("   applied {objects} objects ({changed} created or changed)"),
        Progress::ReplicasReady { version, ready, desired } => println!("   {version}: {ready}/{desired} ready"),
        Progress::WaitingForPromotion { version } => println!("   {version} is ready; waiting for promotion"),
        Progress::TrafficSwitched { from, to, latency } => {
            println!("   ✓ traffic switched {} → {to} ({:.2} ms after ready)", from.as_deref().unwrap_or("-"), latency.as_secs_f64() * 1000.0)
        }
        Progress::KeepingWarm { version, delay } => println!("   {version} kept warm for {}s for an instant rollback", delay.as_secs()),
        Progress::ScaledDown { version } => println!("   {version} scaled down (kept for rollback)"),
        Progress::Pruned { version } => println!("   {version} deleted (beyond keepPrevious)"),
        Progress::WeightSet { requested, actual, canary, total } => println!("   canary weight {requested}% asked, {actual}% reached ({canary}/{total})"),
        Progress::Paused { version, step, note } => println!("   {version} paused at step {step}: {note}"),
        Progress::AnalysisFinished { name, gate, verdict, reason } => println!("   analysis {name} ({gate}): {} ({reason})", verdict.as_str()),
        Progress::Aborted { version } => println!("   {version} aborted; all traffic on the stable version"),
        Progress::Done { revision, version } => println!("   ✓ revision {revision} ({version}) is live"),
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let specs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("specs");
    let read = |name: &str| std::fs::read_to_string(specs.join(name));
    let tenant = tenant_from_yaml(&read("acme.tenant.yaml")?)?;
    let blue = release_from_yaml(&read("webserver-blue.release.yaml")?)?;
    let green = release_from_yaml(&read("webserver-green.release.yaml")?)?;
    let cluster = SimulatedCluster::new();
    let started = cluster.now();
    let options = RolloutOptions::with_timeout(Duration::from_secs(300)).on_progress(show_progress);
    println!("moorage: blue/green update of tenant acme's webserver, on the embedded simulated cluster");

    step(1, "Bad input is refused before any API call");
    let typo = Tenant::builder("acme").quota(Quota::new().limits("1", "2g")).build().err().ok_or("expected an error")?;
    for e in typo.errors() {
        println!("   ✗ {e}");
    }
    let mut foreign = green.clone().into_spec();
    foreign.hosts = vec!["shop.other-customer.test".into()];
    if let Err(e) = compile(&tenant, &[moorage::Release::from_spec(foreign)?]) {
        for e in e.errors() {
            println!("   ✗ {e}");
        }
    }

    step(2, "Tenant acme: namespace, quota, limits, access, isolation, storage, backups");
    let objects: Vec<serde_json::Value> = compile_tenant(&tenant).objects.iter().map(serde_json::to_value).collect::<Result<_, _>>()?;
    let applied = cluster.apply(&objects, &ApplyOptions::default()).await?;
    println!("   applied {} objects; quota: limits 1 CPU / 512Mi, 6 pods", applied.len());

    step(3, "Release webserver blue: 3 pods, page from a ConfigMap, CPU and memory limits");
    rollout::rollout(&cluster, &tenant, &blue, &options).await?;

    step(4, "Release green, blue/green: the quota is checked before anything is created");
    match rollout::rollout(&cluster, &tenant, &green, &options).await {
        Err(e @ rollout::RolloutError::QuotaInsufficient { .. }) => println!("   ✗ refused: {e}"),
        other => return Err(format!("expected the quota preflight to refuse green, got {other:?}").into()),
    }
    let versions = rollout::status(&cluster, &tenant, "webserver").await?.versions;
    println!("   nothing was created: versions present: {}", versions.iter().map(|v| v.version.as_str()).collect::<Vec<_>>().join(", "));

    step(5, "The operator raises the quota as the refusal said; green rolls out");
    let mut raised = tenant.clone().into_spec();
    raised.quota = raised.quota.limits("2", "1Gi").requests("1", "512Mi");
    let raised = Tenant::from_spec(raised)?;
    let objects: Vec<serde_json::Value> = compile_tenant(&raised).objects.iter().map(serde_json::to_value).collect::<Result<_, _>>()?;
    let changed = cluster.apply(&objects, &ApplyOptions::default()).await?.into_iter().filter(|a| a.change != Change::Unchanged).count();
    println!("   quota now limits 2 CPU / 1Gi, requests 1 CPU / 512Mi ({changed} object changed)");
    // Return once traffic has switched: blue stays warm for its scale-down delay.
    let switch_only = RolloutOptions { wait_for_scale_down: false, ..options.clone() };
    rollout::rollout(&cluster, &raised, &green, &switch_only).await?;
    println!("   blue stays warm (3 pods ready, no traffic) for 30s: a rollback is one selector change");

    step(6, "Deleting green while the stable Service selects it");
    match rollout::delete_version(&cluster, &raised, "webserver", "green").await {
        Err(e) => println!("   ✗ refused: {e}"),
        Ok(()) => return Err("deleting the selected version must be refused".into()),
    }

    step(7, "Green misbehaves: rollback to blue (its image and its config) while blue is warm");
    rollout::rollback(&cluster, &raised, "webserver", None, &options).await?;

    step(8, "Status and history");
    let status = rollout::status(&cluster, &raised, "webserver").await?;
    println!("   {:<8} {:>7} {:>5}  selected", "version", "desired", "ready");
    for v in &status.versions {
        println!("   {:<8} {:>7} {:>5}  {}", v.version, v.desired, v.ready, if v.selected { "← stable Service" } else { "" });
    }
    for r in rollout::history(&cluster, &raised, "webserver").await?.revisions {
        println!("   revision {} {:<6} {:<10} {:?}", r.number, r.version, r.strategy, r.outcome);
    }

    step(9, "The same objects as manifests, for a GitOps tool");
    let mut all = compile(&raised, &[blue])?.objects;
    all.extend(compile(&raised, &[green])?.objects.into_iter().filter(|o| o.name().contains("green")));
    moorage::compile::sort_for_apply(&mut all);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().map(PathBuf::from).unwrap_or_default();
    let out = root.join("target").join("moorage-demo");
    let files = manifest::write_dir(&out, &all, Layout::PerObject)?;
    println!("   wrote {} files under {}", files.len(), out.display());

    let elapsed = cluster.now().saturating_sub(started);
    println!("\nDone: {}s of simulated cluster time (readiness delays, the 30s warm period) took no real time.", elapsed.as_secs());
    Ok(())
}
