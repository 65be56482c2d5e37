//! Shared helpers for moorage's integration tests (test control plane access, fixtures).
//!
//! The tests run against a real control plane (kube-apiserver, kube-controller-manager,
//! kube-scheduler, etcd and kwok fake nodes) started by `testcluster/testcluster.sh up`, or
//! by `testcluster/run-with-cluster.sh`, which exports [`KUBECONFIG_ENV`].

pub mod prometheus;

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context as _};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{DeleteParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};

mod both_backends;
pub mod dying;
pub mod fixtures;
pub mod load;
pub mod log_capture;
pub mod testcluster;

/// Environment variable holding the admin kubeconfig of the test control plane.
pub const KUBECONFIG_ENV: &str = "MOORAGE_TEST_KUBECONFIG";

/// Environment variable that, set to `1`, makes a missing control plane a test failure.
pub const REQUIRE_ENV: &str = "MOORAGE_REQUIRE_CLUSTER";

/// Default bound for every wait in the control plane tests.
pub const WAIT: Duration = Duration::from_secs(60);

/// Whether a missing control plane must fail the tests (in CI, or when asked explicitly).
pub fn cluster_required() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty()) || std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1")
}

/// The admin [`Config`] of the test control plane, read from [`KUBECONFIG_ENV`].
///
/// Returns `None` (after printing a "skipped" line) when the variable is unset, unless
/// [`cluster_required`] holds, in which case it panics so the test fails loudly.
/// A variable that is set but points to an unreadable kubeconfig always panics.
pub async fn real_cluster_config() -> Option<Config> {
    let Some(path) = std::env::var_os(KUBECONFIG_ENV).filter(|p| !p.is_empty()) else {
        if cluster_required() {
            panic!(
                "no test control plane: {KUBECONFIG_ENV} is unset but CI or {REQUIRE_ENV}=1 \
                 requires one (run the tests through testcluster/run-with-cluster.sh)"
            );
        }
        println!("skipped: no test control plane (set {KUBECONFIG_ENV})");
        return None;
    };
    let kubeconfig = Kubeconfig::read_from(&path).unwrap_or_else(|e| panic!("cannot read {KUBECONFIG_ENV}={}: {e}", path.to_string_lossy()));
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap_or_else(|e| panic!("invalid kubeconfig {}: {e}", path.to_string_lossy()));
    Some(config)
}

/// An admin [`Client`] for the test control plane, or `None` when the test must be skipped
/// (see [`real_cluster_config`] for when it panics instead).
pub async fn real_cluster() -> Option<Client> {
    let config = real_cluster_config().await?;
    Some(Client::try_from(config).expect("cannot build a client for the test control plane"))
}

/// A client that authenticates with a bearer token (for example from a TokenRequest) against
/// the same API server and CA as `admin`, without any client certificate.
pub fn client_with_token(admin: &Config, token: &str) -> anyhow::Result<Client> {
    let mut config = admin.clone();
    config.auth_info = serde_json::from_value(serde_json::json!({ "token": token })).context("building token auth info")?;
    Ok(Client::try_from(config)?)
}

/// A client that keeps the admin credentials but impersonates `user` (and `groups`).
pub fn impersonating_client(admin: &Config, user: &str, groups: &[&str]) -> anyhow::Result<Client> {
    let mut config = admin.clone();
    config.auth_info.impersonate = Some(user.to_owned());
    config.auth_info.impersonate_groups = if groups.is_empty() { None } else { Some(groups.iter().map(|g| (*g).to_owned()).collect()) };
    Ok(Client::try_from(config)?)
}

/// A short random lowercase suffix, unique within the process, usable in DNS-1123 names.
pub fn random_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let mut x = (nanos as u64) ^ (u64::from(std::process::id()) << 32) ^ COUNTER.fetch_add(1, Ordering::Relaxed).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    // splitmix64 finaliser, then base36
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    let alphabet = b"0123456789abcdefghijklmnopqrstuvwxyz";
    (0..8).map(|i| alphabet[((x >> (i * 6)) % 36) as usize] as char).collect()
}

/// A namespace created for one test, named `<prefix>-<random suffix>`.
///
/// Call [`TestNamespace::delete`] at the end of the test; namespaces left behind by a failed
/// test disappear with the control plane.
pub struct TestNamespace {
    /// The namespace's name.
    pub name: String,
    client: Client,
}

impl TestNamespace {
    /// Creates a fresh namespace with the label `moorage.test/suite=controlplane`.
    pub async fn create(client: &Client, prefix: &str) -> anyhow::Result<Self> {
        let name = format!("{prefix}-{}", random_suffix());
        let ns: Namespace = serde_json::from_value(serde_json::json!({
            "metadata": { "name": name, "labels": { "moorage.test/suite": "controlplane" } }
        }))?;
        Api::<Namespace>::all(client.clone()).create(&PostParams::default(), &ns).await.with_context(|| format!("creating namespace {name}"))?;
        Ok(Self { name, client: client.clone() })
    }

    /// Starts the deletion of the namespace (the namespace controller finishes it).
    pub async fn delete(self) -> anyhow::Result<()> {
        Api::<Namespace>::all(self.client).delete(&self.name, &DeleteParams::default()).await.with_context(|| format!("deleting namespace {}", self.name))?;
        Ok(())
    }
}

/// Polls `check` every 250 ms until it returns `Ok(Some(value))`, for at most `timeout`.
///
/// `Ok(None)` means "not yet"; an `Err` is remembered and reported if the time runs out.
/// On timeout the error names `what` and the last observation `check` returned.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = Instant::now() + timeout;
    let mut last_error = None;
    loop {
        match check().await {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) => last_error = Some(e),
        }
        if Instant::now() >= deadline {
            match last_error {
                Some(e) => {
                    bail!("timed out after {timeout:?} waiting for {what}; last error: {e:#}")
                }
                None => bail!("timed out after {timeout:?} waiting for {what}"),
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The API status (HTTP code, reason, message) carried by a kube error, if it is one.
pub fn api_status(err: &kube::Error) -> Option<&kube::core::Status> {
    match err {
        kube::Error::Api(status) => Some(status),
        _ => None,
    }
}

/// moorage's backend for the test control plane, or `None` when the test must be skipped
/// (see [`real_cluster_config`] for when it panics instead).
pub async fn real_backend() -> Option<moorage::backend::cluster::ClusterBackend> {
    let config = real_cluster_config().await?;
    Some(moorage::backend::cluster::ClusterBackend::from_config(config).expect("a backend for the test control plane"))
}
