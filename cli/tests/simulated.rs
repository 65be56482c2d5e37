//! Every command against the simulated cluster, its state in a temporary file between commands:
//! exit codes, human output and JSON shapes (insta snapshots).

mod support;

use support::{example, raised, Workspace};

/// The demo up to blue serving: tenant applied, blue rolled out.
fn with_blue() -> (Workspace, String, String, String) {
    let ws = Workspace::simulated();
    let (tenant, blue, green) = ws.demo_specs();
    ws.run(&["apply", "-f", &tenant, "-f", &blue], 0);
    (ws, tenant, blue, green)
}

#[test]
fn help_documents_the_exit_codes() {
    let ws = Workspace::simulated();
    let (stdout, _) = ws.run(&["--help"], 0);
    for line in ["0    success", "2    bad input", "3    not found", "4    refused by policy", "130  interrupted"] {
        assert!(stdout.contains(line), "missing {line:?} in:\n{stdout}");
    }
}

#[test]
fn plan_of_a_fresh_cluster_creates_everything() {
    let ws = Workspace::simulated();
    let (tenant, blue, _) = ws.demo_specs();
    let (stdout, _) = ws.run(&["plan", "-f", &tenant, "-f", &blue], 0);
    insta::assert_snapshot!("plan_fresh", stdout);
    // Planning changed nothing: a second plan is the same.
    assert_eq!(ws.run(&["plan", "-f", &tenant, "-f", &blue], 0).0, stdout);
}

#[test]
fn plan_of_green_shows_the_selector_switch_field_by_field() {
    let (ws, tenant, _, green) = with_blue();
    let plan = ws.json(&["plan", "-f", &tenant, "-f", &green]);
    insta::assert_json_snapshot!("plan_green_json", plan);
    let (stdout, _) = ws.run(&["plan", "-f", &green], 0);
    assert!(stdout.contains("spec.selector.app.kubernetes.io/version: \"blue\" -> \"green\""), "{stdout}");
}

#[test]
fn apply_then_apply_again_changes_nothing() {
    let ws = Workspace::simulated();
    let (tenant, blue, _) = ws.demo_specs();
    let (first, progress) = ws.run(&["apply", "-f", &tenant, "-f", &blue], 0);
    insta::assert_snapshot!("apply_first", first);
    // Not a terminal: one progress line per event, no bar.
    insta::assert_snapshot!("apply_progress_lines", progress);
    let again = ws.json(&["apply", "-f", &tenant, "-f", &blue]);
    insta::assert_json_snapshot!("apply_again_json", again);
}

#[test]
fn green_is_refused_by_the_quota_preflight_until_the_quota_is_raised() {
    let (ws, _, _, green) = with_blue();
    let (_, stderr) = ws.run(&["rollout", "-f", &green], 4);
    assert!(stderr.contains("error: not enough quota for this rollout: limits.cpu needs 600m more, 400m left"), "{stderr}");
    let raised_tenant = ws.write("raised.tenant.yaml", &raised(&example("acme.tenant.yaml")));
    ws.run(&["apply", "-f", &raised_tenant.display().to_string()], 0);
    let report = ws.json(&["rollout", "-f", &green]);
    insta::assert_json_snapshot!("rollout_green_json", report);
}

#[test]
fn status_of_a_tenant_and_of_a_release() {
    let (ws, _, _, _) = with_blue();
    insta::assert_json_snapshot!("status_tenant_json", ws.json(&["status", "acme"]));
    insta::assert_json_snapshot!("status_release_json", ws.json(&["status", "acme", "webserver"]));
    insta::assert_snapshot!("status_release_table", ws.run(&["status", "acme", "webserver"], 0).0);
    ws.run(&["status", "nobody"], 3);
    ws.run(&["status", "acme", "nothing"], 3);
    ws.run(&["status", "Not_A_Name"], 2);
}

#[test]
fn rollback_history_and_rollback_to_a_revision() {
    let (ws, tenant, _, green) = with_blue();
    let raised_tenant = ws.write("acme.tenant.yaml", &raised(&example("acme.tenant.yaml")));
    assert_eq!(raised_tenant.display().to_string(), tenant);
    ws.run(&["apply", "-f", &tenant, "-f", &green], 0);
    let back = ws.json(&["rollback", "acme", "webserver"]);
    assert_eq!((back["version"].as_str(), back["phase"].as_str()), (Some("blue"), Some("done")), "{back}");
    insta::assert_snapshot!("history_table", ws.run(&["history", "acme", "webserver"], 0).0);
    let history = ws.json(&["history", "acme", "webserver"]);
    // blue, green, and the rollback to blue's image and config as revision 3.
    assert_eq!(history["revisions"].as_array().map(Vec::len), Some(3), "{history}");
    let to_green = ws.json(&["rollback", "acme", "webserver", "--to", "2"]);
    assert_eq!(to_green["version"].as_str(), Some("green"), "{to_green}");
    let (_, stderr) = ws.run(&["rollback", "acme", "webserver", "--to", "99"], 3);
    assert!(stderr.contains("no revision 99"), "{stderr}");
    ws.run(&["history", "acme", "nothing"], 3);
}

#[test]
fn scale_is_a_new_revision_within_the_quota() {
    let (ws, _, _, _) = with_blue();
    let report = ws.json(&["scale", "acme", "webserver", "--replicas", "2"]);
    assert_eq!((report["revision"].as_u64(), report["version"].as_str()), (Some(2), Some("blue")), "{report}");
    let status = ws.json(&["status", "acme", "webserver"]);
    assert_eq!(status["versions"][0]["desired"].as_u64(), Some(2), "{status}");
    let (_, stderr) = ws.run(&["scale", "acme", "webserver", "--replicas", "20"], 4);
    assert!(stderr.contains("not enough quota"), "{stderr}");
    ws.run(&["scale", "acme", "nothing", "--replicas", "2"], 3);
    ws.run(&["scale", "acme", "webserver", "--replicas", "two"], 2);
}

fn canary(version: &str) -> String {
    example("webserver-blue.release.yaml").replace("version: blue", &format!("version: {version}")).replace(
        "strategy:\n  type: blueGreen\n  previewHost: preview.acme.test\n  scaleDownDelay: 30s\n",
        "strategy:\n  type: canary\n  steps:\n    - setWeight: 34\n    - pause: {}\n    - setWeight: 67\n",
    )
}

#[test]
fn a_paused_canary_is_promoted_or_aborted() {
    let ws = Workspace::simulated();
    let tenant = ws.write("acme.tenant.yaml", &raised(&example("acme.tenant.yaml"))).display().to_string();
    let v1 = ws.write("v1.yaml", &canary("v1")).display().to_string();
    let v2 = ws.write("v2.yaml", &canary("v2")).display().to_string();
    let v3 = ws.write("v3.yaml", &canary("v3")).display().to_string();
    ws.run(&["apply", "-f", &tenant, "-f", &v1], 0);
    ws.run(&["promote", "acme", "webserver"], 3);
    ws.run(&["abort", "acme", "webserver"], 3);
    ws.run(&["retry", "acme", "webserver"], 3);
    let paused = ws.json(&["rollout", "-f", &v2]);
    assert_eq!(paused[0]["phase"].as_str(), Some("paused"), "{paused}");
    // The status shows the weight the canary reached (34% of 3 replicas: one pod of three).
    let status = ws.json(&["status", "acme", "webserver"]);
    assert_eq!(status["canaryWeight"].as_u64(), Some(33), "{status}");
    let (table, _) = ws.run(&["status", "acme", "webserver"], 0);
    assert!(table.contains("canary weight: 33%"), "{table}");
    let promoted = ws.json(&["promote", "acme", "webserver"]);
    assert_eq!((promoted["version"].as_str(), promoted["phase"].as_str()), (Some("v2"), Some("done")), "{promoted}");
    ws.run(&["rollout", "-f", &v3], 0);
    let aborted = ws.json(&["abort", "acme", "webserver"]);
    assert_eq!(aborted["version"].as_str(), Some("v2"), "{aborted}");
    let retried = ws.json(&["retry", "acme", "webserver"]);
    assert_eq!((retried["version"].as_str(), retried["phase"].as_str()), (Some("v3"), Some("paused")), "{retried}");
    // Nothing left to resume: the paused canary waits for promote.
    let resumed = ws.json(&["rollout", "--resume", "acme", "webserver"]);
    assert_eq!(resumed["phase"].as_str(), Some("paused"), "{resumed}");
}

#[test]
fn resume_with_nothing_in_progress_says_so() {
    let (ws, _, _, _) = with_blue();
    let (stdout, _) = ws.run(&["rollout", "--resume", "acme", "webserver"], 0);
    assert_eq!(stdout, "acme/webserver: no rollout in progress; nothing to resume\n");
    ws.run(&["rollout", "--resume", "nobody", "webserver"], 3);
    ws.run(&["rollout"], 2);
}

#[test]
fn tenants_list_suspend_resume_and_delete() {
    let (ws, _, _, _) = with_blue();
    insta::assert_json_snapshot!("tenants_list_json", ws.json(&["tenants", "list"]));
    let suspended = ws.json(&["tenants", "suspend", "acme"]);
    assert_eq!(suspended["suspended"], serde_json::json!(["webserver-blue"]));
    insta::assert_snapshot!("tenants_list_table", ws.run(&["tenants", "list"], 0).0);
    let resumed = ws.json(&["tenants", "resume", "acme"]);
    assert_eq!(resumed["resumed"], serde_json::json!(["webserver-blue"]));
    let (_, stderr) = ws.run(&["tenants", "delete", "acme"], 4);
    assert!(stderr.contains("protected"), "{stderr}");
    // The database volume is kept (and its Namespace with it) unless --purge.
    let deleted = ws.json(&["tenants", "delete", "acme", "--confirm"]);
    assert_eq!(deleted["kept"], serde_json::json!(["PersistentVolumeClaim acme/db", "Namespace acme"]), "{deleted}");
    let purged = ws.json(&["tenants", "delete", "acme", "--confirm", "--purge"]);
    assert!(purged["deleted"].as_array().is_some_and(|d| d.iter().any(|o| o == "Namespace acme")), "{purged}");
    ws.run(&["tenants", "delete", "nobody", "--confirm"], 3);
}

#[test]
fn bad_spec_files_exit_2_with_every_problem_file_path_and_line() {
    let ws = Workspace::simulated();
    ws.write("bad.release.yaml", &example("webserver-blue.release.yaml").replace("replicas: 3", "replicas: 3\nreplicaz: 4").replace("cpu: 200m", "cpu: 2g"));
    ws.write("typo.tenant.yaml", "name: Acme Corp\nquota:\n  pods: 6\n");
    let (stdout, stderr) = ws.run(&["apply", "-f", &ws.path(".")], 2);
    assert!(stdout.is_empty());
    insta::assert_snapshot!("bad_specs_stderr", ws.redact(&stderr));
    let fixed = ws.write("bad.release.yaml", &example("webserver-blue.release.yaml").replace("cpu: 200m", "cpu: 2g"));
    let output = ws.cmd(&["-o", "json", "plan", "-f", &fixed.display().to_string()]).output().expect("run");
    assert_eq!(output.status.code(), Some(2));
    let error: serde_json::Value = serde_json::from_str(&ws.redact(&String::from_utf8_lossy(&output.stderr))).expect("JSON error on stderr");
    insta::assert_json_snapshot!("bad_spec_json_error", error);
    ws.run(&["plan", "-f", &ws.path("missing.yaml")], 2);
    // A document that nests without end (an alias to itself) is one problem, not a path of 128 levels.
    let endless = ws.write("endless.yaml", "name: acme\nlabels: &a [*a]\n");
    let (_, stderr) = ws.run(&["plan", "-f", &endless.display().to_string()], 2);
    assert!(stderr.contains("endless.yaml:2: spec: nests deeper than 128 levels"), "{stderr}");
    ws.run(&["plan"], 2);
    ws.run(&["no-such-command"], 2);
}

#[test]
fn a_release_without_its_tenant_is_not_found() {
    let ws = Workspace::simulated();
    let (_, blue, _) = ws.demo_specs();
    let (_, stderr) = ws.run(&["apply", "-f", &blue], 3);
    assert!(stderr.contains("tenant \"acme\" is neither in the spec files nor in the target"), "{stderr}");
    ws.run(&["render", "-f", &blue], 3);
}

#[test]
fn a_broken_state_file_is_bad_input() {
    let ws = Workspace::simulated();
    ws.write("state.json", "{ not json");
    let (_, stderr) = ws.run(&["tenants", "list"], 2);
    assert!(stderr.contains("state file"), "{stderr}");
}

#[test]
fn render_writes_manifests_to_stdout_or_a_folder() {
    let ws = Workspace::simulated();
    let (tenant, blue, _) = ws.demo_specs();
    let (yaml, _) = ws.run(&["render", "-f", &tenant, "-f", &blue], 0);
    let kinds: Vec<&str> = yaml.lines().filter_map(|l| l.strip_prefix("kind: ")).collect();
    insta::assert_snapshot!("render_kinds", kinds.join("\n"));
    let objects = ws.json(&["render", "-f", &tenant, "-f", &blue]);
    assert_eq!(objects.as_array().map(Vec::len), Some(kinds.len()));
    let written = ws.json(&["render", "-f", &tenant, "-f", &blue, "--out", &ws.path("out")]);
    assert_eq!(written["files"].as_array().map(Vec::len), Some(kinds.len()), "{written}");
    assert!(std::path::Path::new(&ws.path("out/acme")).is_dir());
}

#[test]
fn usage_needs_a_reachable_prometheus_and_a_valid_period() {
    let ws = Workspace::simulated();
    // Nothing listens on port 9: a typed failure naming Prometheus, exit 1.
    let (_, stderr) = ws.run(&["usage", "acme", "--prometheus", "http://127.0.0.1:9", "--last", "10m"], 1);
    assert!(stderr.contains("Prometheus at http://127.0.0.1:9"), "{stderr}");
    // A period that is not a duration is bad input, named by its option, exit 2.
    let (_, stderr) = ws.run(&["usage", "acme", "--prometheus", "http://127.0.0.1:9", "--last", "soon"], 2);
    assert!(stderr.contains("--last"), "{stderr}");
    // So is an empty one, refused by the core before any query (Prometheus would be unreachable: exit 1).
    let (_, stderr) = ws.run(&["usage", "acme", "--prometheus", "http://127.0.0.1:9", "--last", "0s"], 2);
    assert!(stderr.contains("--last: 0s is no time; give the length of the period"), "{stderr}");
}

#[test]
fn schema_is_the_published_one_and_completions_are_generated() {
    let ws = Workspace::simulated();
    let tenant: serde_json::Value = serde_json::from_str(&ws.run(&["schema", "tenant"], 0).0).expect("JSON");
    assert_eq!(tenant, moorage::schema::tenant_schema());
    let both: serde_json::Value = serde_json::from_str(&ws.run(&["schema"], 0).0).expect("JSON");
    assert_eq!(both["release"], moorage::schema::release_schema());
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let (script, _) = ws.run(&["completion", shell], 0);
        assert!(script.contains("rollback"), "{shell}: {script}");
    }
    ws.run(&["completion", "tcsh"], 2);
}

#[test]
fn yaml_output_is_the_json_shape() {
    let (ws, _, _, _) = with_blue();
    let (yaml, _) = ws.run(&["-o", "yaml", "status", "acme", "webserver"], 0);
    let from_yaml: serde_json::Value = serde_yaml::from_str(&yaml).expect("YAML");
    assert_eq!(from_yaml, ws.json(&["status", "acme", "webserver"]));
}

#[test]
fn no_colour_when_not_a_terminal() {
    let (ws, _, _, _) = with_blue();
    let (stdout, stderr) = ws.run(&["history", "acme", "webserver"], 0);
    assert!(!stdout.contains('\x1b') && !stderr.contains('\x1b'), "{stdout:?}");
}

#[test]
fn a_quota_raise_plans_as_the_fields_that_change() {
    let (ws, tenant, _, _) = with_blue();
    let raised_tenant = ws.write("raised.tenant.yaml", &raised(&example("acme.tenant.yaml"))).display().to_string();
    let (stdout, _) = ws.run(&["plan", "-f", &raised_tenant], 0);
    insta::assert_snapshot!("plan_quota_raise", stdout);
    assert!(ws.run(&["plan", "-f", &tenant], 0).0.ends_with("Plan: 0 to create, 0 to change, 0 to delete, 11 unchanged.\n"));
}

#[test]
fn the_cli_demo_script_runs() {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/cli_demo.sh");
    let output = std::process::Command::new("bash")
        .arg(&script)
        .env("MOORAGE_BIN", assert_cmd::cargo::cargo_bin("moorage"))
        .env_remove("MOORAGE_STATE")
        .output()
        .expect("run the script");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("acme/webserver: revision 2 green (from blue): done"), "{stdout}");
    assert!(stdout.contains("acme/webserver: revision 3 blue (from green): done"), "{stdout}");
}

#[test]
fn a_manifests_folder_takes_tenants_and_refuses_rollouts() {
    let ws = Workspace::simulated();
    let (tenant, blue, _) = ws.demo_specs();
    // Not the workspace's simulated cluster: only --manifests.
    let gitops = |args: &[&str]| {
        let mut cmd = assert_cmd::Command::cargo_bin("moorage").expect("moorage binary");
        cmd.current_dir(ws.dir.path()).args(["--manifests", "gitops"]).args(args).output().expect("run moorage")
    };
    assert_eq!(gitops(&["apply", "-f", &tenant]).status.code(), Some(0));
    assert!(ws.dir.path().join("gitops/acme").is_dir());
    let refused = gitops(&["rollout", "-f", &blue]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no controllers"), "{}", String::from_utf8_lossy(&refused.stderr));
    // Targets exclude each other.
    ws.run(&["--manifests", "x", "tenants", "list"], 2);
}
