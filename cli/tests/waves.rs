//! `moorage waves start|resume|status` against the simulated cluster saved in a state file: output,
//! progress lines, exit codes, a bad plan file's line, and a plan driven by another process.

mod support;

use std::sync::Arc;

use moorage::backend::sim::SimulatedCluster;
use moorage::tenant::{Fleet, FleetCluster};
use moorage::waves::{self, WaveOptions, WaveProgress};
use support::Workspace;

fn tenant(name: &str) -> String {
    format!("name: {name}\nlabels:\n  plan: pro\nquota:\n  limits:\n    cpu: \"4\"\n    memory: 4Gi\n  pods: 10\ndomains:\n  - shop.{name}.test\n")
}

fn release(tenant: &str) -> String {
    format!(
        "tenant: {tenant}\napp: shop\nversion: \"1.0\"\nimage: registry.test/shop:1.0\nreplicas: 2\nports:\n  - name: http\n    port: 8080\n\
         resources:\n  requests:\n    cpu: 50m\n    memory: 32Mi\n  limits:\n    cpu: 100m\n    memory: 64Mi\nhosts:\n  - shop.{tenant}.test\n\
         strategy:\n  type: blueGreen\n  scaleDownDelay: 0s\n"
    )
}

const PLAN: &str = "\
name: shop-2
app: shop
version: \"2.0\"
image: registry.test/shop:2.0
canaryTenants: [t1]
waves: [100]
betweenWaves: pause
maxConcurrentPerCluster: 2
";

/// Three tenants running shop 1.0, and the plan file.
fn fleet_of_three() -> (Workspace, String) {
    let ws = Workspace::simulated();
    std::fs::create_dir_all(ws.path("specs")).unwrap();
    for t in ["t1", "t2", "t3"] {
        ws.write(&format!("specs/{t}.tenant.yaml"), &tenant(t));
        ws.write(&format!("specs/{t}.release.yaml"), &release(t));
    }
    ws.run(&["apply", "-f", &ws.path("specs")], 0);
    let plan = ws.write("shop-2.plan.yaml", PLAN).display().to_string();
    (ws, plan)
}

#[test]
fn a_plan_pauses_after_the_canary_then_resumes_to_done() {
    let (ws, plan) = fleet_of_three();
    let (stdout, progress) = ws.run(&["waves", "start", &plan], 0);
    insta::assert_snapshot!("waves_start_paused", ws.redact(&stdout));
    // Not a terminal: one progress line per event.
    insta::assert_snapshot!("waves_start_progress_lines", progress);
    let status = ws.json(&["waves", "status", "shop-2"]);
    assert_eq!((status["phase"].as_str(), status["currentWave"].as_u64()), (Some("paused"), Some(1)), "{status}");
    assert!(status.get("driver").is_none(), "no driver once start returned: {status}");

    let done = ws.json(&["waves", "resume", "shop-2"]);
    insta::assert_json_snapshot!("waves_resume_done_json", done);
    insta::assert_snapshot!("waves_status_done_table", ws.run(&["waves", "status", "shop-2"], 0).0);
    // Starting the same plan again changes nothing; one with another spec is refused (exit 4).
    assert_eq!(ws.json(&["waves", "start", &plan]), done);
    let other = ws.write("other.plan.yaml", &PLAN.replace("\"2.0\"", "\"3.0\"")).display().to_string();
    let (_, stderr) = ws.run(&["waves", "start", &other], 4);
    assert!(stderr.contains("already exists with another spec"), "{stderr}");
}

#[test]
fn bad_plans_and_unknown_names_have_their_exit_codes() {
    let (ws, _) = fleet_of_three();
    let bad = ws
        .write("bad.plan.yaml", &PLAN.replace("waves: [100]", "waves: [50, 500]").replace("maxConcurrentPerCluster: 2", "maxConcurent: 2"))
        .display()
        .to_string();
    let (_, stderr) = ws.run(&["waves", "start", &bad], 2);
    insta::assert_snapshot!("waves_bad_plan_stderr", ws.redact(&stderr));
    let invalid = ws.write("invalid.plan.yaml", &PLAN.replace("waves: [100]", "waves: [50, 500]")).display().to_string();
    let (_, stderr) = ws.run(&["waves", "start", &invalid], 2);
    assert!(ws.redact(&stderr).contains("  [DIR]/invalid.plan.yaml:6: plan.waves[1]: 500 is not a percentage"), "{stderr}");
    let (_, stderr) = ws.run(&["-o", "json", "waves", "resume", "nope"], 3);
    let error: serde_json::Value = serde_json::from_str(&stderr).unwrap();
    assert_eq!((error["error"]["kind"].as_str(), error["error"]["exitCode"].as_u64()), (Some("NoSuchPlan"), Some(3)), "{error}");
    ws.run(&["waves", "status", "nope"], 3);
    let nothing = ws.write("nothing.plan.yaml", &PLAN.replace("app: shop", "app: erp").replace("canaryTenants: [t1]\n", "")).display().to_string();
    ws.run(&["waves", "start", &nothing], 3);
}

#[test]
fn a_plan_driven_by_another_process_is_refused_with_its_holder() {
    let (ws, plan_file) = fleet_of_three();
    let state_file = ws.path("state.json");
    // Another driver, in this process, holds the plan: the state file is saved while its first tenant upgrades.
    let sim = Arc::new(SimulatedCluster::load(std::path::Path::new(&state_file)).unwrap());
    let fleet = Fleet::new(vec![FleetCluster {
        name: "simulated".into(),
        labels: Default::default(),
        capacity: u32::MAX,
        storage_classes: None,
        backend: sim.clone(),
    }])
    .unwrap();
    let plan = moorage::spec::wave_plan_file(std::path::Path::new(&plan_file)).unwrap();
    let (saver, path) = (sim.clone(), state_file.clone());
    let saved = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = saved.clone();
    let options = WaveOptions::default().on_progress(move |p| {
        if matches!(p, WaveProgress::TenantStarted { .. }) && !flag.swap(true, std::sync::atomic::Ordering::SeqCst) {
            saver.save(std::path::Path::new(&path)).unwrap();
        }
    });
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(waves::start(&fleet, &plan, &options)).unwrap();
    assert!(saved.load(std::sync::atomic::Ordering::SeqCst));

    let (_, stderr) = ws.run(&["waves", "resume", "shop-2"], 4);
    assert!(stderr.contains("is being driven by") && stderr.contains(&format!("-{}-", std::process::id())), "{stderr}");
    let (_, stderr) = ws.run(&["-o", "json", "waves", "start", &plan_file], 4);
    let error: serde_json::Value = serde_json::from_str(&stderr).unwrap();
    assert_eq!(error["error"]["kind"].as_str(), Some("LeaseHeld"), "{error}");
    let status = ws.json(&["waves", "status", "shop-2"]);
    assert_eq!(status["phase"].as_str(), Some("running"), "{status}");
    assert!(status["driver"]["holder"].as_str().is_some_and(|h| h.contains(&format!("-{}-", std::process::id()))), "{status}");
    let (table, _) = ws.run(&["waves", "status", "shop-2"], 0);
    assert!(table.contains("driven by "), "{table}");
}
