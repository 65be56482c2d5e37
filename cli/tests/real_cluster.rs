//! The CLI against the real test control plane (MOORAGE_TEST_KUBECONFIG): the demo end to end,
//! and Ctrl-C during a rollout leaving it resumable. Skipped without a control plane, failing when
//! CI or MOORAGE_REQUIRE_CLUSTER=1 asks for one (the convention of tests/src/lib.rs).

mod support;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::Stdio;

use support::{example, raised, Workspace};

/// The control plane's kubeconfig, or `None` (skipped) when there is none and none is required.
fn kubeconfig() -> Option<PathBuf> {
    match std::env::var_os(moorage_tests::KUBECONFIG_ENV).filter(|p| !p.is_empty()) {
        Some(path) => Some(PathBuf::from(path)),
        None if moorage_tests::cluster_required() => {
            panic!("no test control plane: {} is unset but CI or {}=1 requires one", moorage_tests::KUBECONFIG_ENV, moorage_tests::REQUIRE_ENV)
        }
        None => {
            println!("skipped: no test control plane (set {})", moorage_tests::KUBECONFIG_ENV);
            None
        }
    }
}

/// The demo's specs for a tenant of its own (unique name and domains), with a scale-down delay.
fn specs(ws: &Workspace, tenant: &str, delay: &str) -> (String, String, String) {
    let rename = |text: String| text.replace("acme", tenant).replace("scaleDownDelay: 30s", &format!("scaleDownDelay: {delay}"));
    let t = ws.write("tenant.yaml", &rename(example("acme.tenant.yaml"))).display().to_string();
    let blue = ws.write("blue.yaml", &rename(example("webserver-blue.release.yaml"))).display().to_string();
    let green = ws.write("green.yaml", &rename(example("webserver-green.release.yaml"))).display().to_string();
    (t, blue, green)
}

#[test]
fn the_demo_on_a_real_cluster() {
    let Some(kubeconfig) = kubeconfig() else { return };
    let ws = Workspace::real(&kubeconfig);
    let name = format!("cli-{}", moorage_tests::random_suffix());
    let (tenant, blue, green) = specs(&ws, &name, "1s");
    let applied = ws.json(&["apply", "-f", &tenant, "-f", &blue]);
    assert_eq!(applied["releases"][0]["phase"].as_str(), Some("done"), "{applied}");
    let (plan, _) = ws.run(&["plan", "-f", &green], 0);
    assert!(plan.contains("spec.selector.app.kubernetes.io/version: \"blue\" -> \"green\""), "{plan}");
    let (_, stderr) = ws.run(&["rollout", "-f", &green], 4);
    assert!(stderr.contains("not enough quota for this rollout"), "{stderr}");
    let raised_tenant = ws.write("tenant.yaml", &raised(&std::fs::read_to_string(&tenant).expect("tenant spec"))).display().to_string();
    ws.run(&["apply", "-f", &raised_tenant], 0);
    let report = ws.json(&["rollout", "-f", &green]);
    assert_eq!(
        (report[0]["version"].as_str(), report[0]["previous"].as_str(), report[0]["phase"].as_str()),
        (Some("green"), Some("blue"), Some("done")),
        "{report}"
    );
    let status = ws.json(&["status", &name, "webserver"]);
    assert_eq!(status["active"].as_str(), Some("green"), "{status}");
    let tenant_status = ws.json(&["status", &name]);
    assert!(tenant_status["quota"].as_array().is_some_and(|q| q.iter().any(|r| r["resource"] == "pods" && r["hard"] == "12")), "{tenant_status}");
    let back = ws.json(&["rollback", &name, "webserver"]);
    assert_eq!(back["version"].as_str(), Some("blue"), "{back}");
    let history = ws.json(&["history", &name, "webserver"]);
    assert_eq!(history["revisions"].as_array().map(Vec::len), Some(3), "{history}");
    let scaled = ws.json(&["scale", &name, "webserver", "--replicas", "2"]);
    assert_eq!(scaled["revision"].as_u64(), Some(4), "{scaled}");
    let list = ws.json(&["tenants", "list"]);
    assert!(list.as_array().is_some_and(|l| l.iter().any(|t| t["name"] == name.as_str())), "{list}");
    ws.run(&["tenants", "suspend", &name], 0);
    ws.run(&["tenants", "resume", &name], 0);
    ws.run(&["tenants", "delete", &name], 4);
    ws.run(&["tenants", "delete", &name, "--confirm", "--purge"], 0);
    ws.run(&["status", "cli-never-applied"], 3);
}

#[test]
fn ctrl_c_during_a_rollout_leaves_it_resumable() {
    let Some(kubeconfig) = kubeconfig() else { return };
    let ws = Workspace::real(&kubeconfig);
    let name = format!("cli-{}", moorage_tests::random_suffix());
    let (tenant, blue, green) = specs(&ws, &name, "30s");
    ws.write("tenant.yaml", &raised(&std::fs::read_to_string(&tenant).expect("tenant spec")));
    ws.run(&["apply", "-f", &tenant, "-f", &blue], 0);

    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("moorage"))
        .args(&ws.target)
        .args(["rollout", "-f", &green])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn moorage");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let mut seen = Vec::new();
    // Interrupt once the new version's objects are applied (the rollout is recorded, not finished).
    for line in lines.by_ref() {
        let line = line.expect("stderr line");
        seen.push(line.clone());
        if line.starts_with("applied ") {
            break;
        }
    }
    let pid = child.id().to_string();
    let kill = std::process::Command::new("kill").args(["-INT", &pid]).status().expect("kill -INT");
    assert!(kill.success());
    seen.extend(lines.map_while(Result::ok));
    let status = child.wait().expect("wait");
    let stderr = seen.join("\n");
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains(&format!("rollout --resume {name} webserver")), "{stderr}");

    // The rollout is still recorded as in progress, and --resume finishes it.
    let during = ws.json(&["status", &name, "webserver"]);
    assert_eq!(during["rollout"]["to"].as_str(), Some("green"), "{during}");
    let resumed = ws.json(&["rollout", "--resume", &name, "webserver", "--no-wait"]);
    assert_eq!(resumed["version"].as_str(), Some("green"), "{resumed}");
    assert!(matches!(resumed["phase"].as_str(), Some("switched" | "done")), "{resumed}");
    assert_eq!(ws.json(&["status", &name, "webserver"])["active"].as_str(), Some("green"));
    ws.run(&["tenants", "delete", &name, "--confirm", "--purge"], 0);
}
