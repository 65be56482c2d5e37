//! Driving the test control plane's components from a test: `testcluster.sh` stop, start and restart.

use std::path::PathBuf;

/// The test control plane's state directory: where its kubeconfig ([`crate::KUBECONFIG_ENV`]) lives.
pub fn state_dir() -> PathBuf {
    let kubeconfig = std::env::var(crate::KUBECONFIG_ENV).expect("the test control plane's kubeconfig");
    PathBuf::from(kubeconfig).parent().expect("the kubeconfig lives in the state directory").to_path_buf()
}

/// Runs `testcluster.sh ARGS... STATE_DIR` and waits for it; panics if it fails.
pub fn run(args: &[&str]) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../testcluster/testcluster.sh");
    let status = std::process::Command::new("bash").arg(script).args(args).arg(state_dir()).status().expect("testcluster.sh runs");
    assert!(status.success(), "testcluster.sh {args:?}: {status}");
}

/// Runs `testcluster.sh` commands when dropped (e.g. `["start-component", "kwok"]`, a no-op for a
/// component that runs), so that a failing case never leaves the control plane broken for the
/// next test binaries.
pub struct Restore(pub &'static [[&'static str; 2]]);

impl Drop for Restore {
    fn drop(&mut self) {
        for command in self.0 {
            run(command);
        }
    }
}
