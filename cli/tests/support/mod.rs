//! Shared helpers of the CLI tests: the binary with a target, spec files in a temporary folder.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The example specs of the demo.
pub fn example(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/specs").join(name)).expect("example spec")
}

/// The demo tenant with room for blue and green at once (the operator's quota raise, in the spec).
pub fn raised(tenant: &str) -> String {
    tenant
        .replace(
            "    cpu: \"1\"\n    memory: 512Mi\n  requests:\n    cpu: 500m\n    memory: 256Mi",
            "    cpu: \"2\"\n    memory: 1Gi\n  requests:\n    cpu: \"1\"\n    memory: 512Mi",
        )
        .replace("  pods: 6\n", "  pods: 12\n")
}

/// A folder of spec files and the state file of the simulated cluster.
pub struct Workspace {
    /// The temporary folder (removed on drop).
    pub dir: tempfile::TempDir,
    /// Extra target arguments (`--simulated --state ...`, or `--kubeconfig ...`).
    pub target: Vec<String>,
}

impl Workspace {
    /// A workspace on the simulated cluster, its state in the folder.
    pub fn simulated() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let state = dir.path().join("state.json").display().to_string();
        Workspace { dir, target: vec!["--simulated".into(), "--state".into(), state] }
    }

    /// A workspace on a real cluster.
    pub fn real(kubeconfig: &Path) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        Workspace { dir, target: vec!["--kubeconfig".into(), kubeconfig.display().to_string()] }
    }

    /// Writes a spec file and returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write spec");
        path
    }

    /// The `moorage` command with the workspace's target, a fixed `$USER` and no colour.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("moorage").expect("moorage binary");
        cmd.current_dir(self.dir.path()).env("USER", "operator").env_remove("NO_COLOR").env_remove("MOORAGE_STATE").args(&self.target).args(args);
        cmd
    }

    /// Runs `moorage args`, asserts the exit code, and returns (stdout, stderr).
    pub fn run(&self, args: &[&str], code: i32) -> (String, String) {
        let output = self.cmd(args).output().expect("run moorage");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert_eq!(output.status.code(), Some(code), "moorage {args:?}\nstdout:\n{stdout}\nstderr:\n{stderr}");
        (stdout, stderr)
    }

    /// Runs `moorage -o json args`, expecting success, and parses stdout.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["-o", "json"];
        all.extend_from_slice(args);
        let (stdout, _) = self.run(&all, 0);
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("moorage {args:?}: not JSON ({e}):\n{stdout}"))
    }

    /// The path of a file of the folder, as a string.
    pub fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

impl Workspace {
    /// `text` with the workspace's folder replaced by `[DIR]` (for snapshots).
    pub fn redact(&self, text: &str) -> String {
        text.replace(&self.dir.path().display().to_string(), "[DIR]")
    }

    /// Writes the demo's specs (tenant, blue, green) and returns their paths.
    pub fn demo_specs(&self) -> (String, String, String) {
        self.write("acme.tenant.yaml", &example("acme.tenant.yaml"));
        self.write("blue.release.yaml", &example("webserver-blue.release.yaml"));
        self.write("green.release.yaml", &example("webserver-green.release.yaml"));
        (self.path("acme.tenant.yaml"), self.path("blue.release.yaml"), self.path("green.release.yaml"))
    }
}
