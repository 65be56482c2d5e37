//! The real-cluster backend: the [`Backend`] trait on a Kubernetes API server, through kube-rs.
//!
//! Every request goes through one retry loop ([`RetryPolicy`]): 429 (honouring `Retry-After`), 5xx,
//! dropped connections and timeouts are retried with exponential backoff and jitter; semantic 4xx
//! answers are mapped to [`BackendError`] at once. Applies are server-side applies with the field
//! manager `moorage`, unknown fields refused by the schema (see [`APPLY_FIELD_VALIDATION`]), and
//! bounded parallelism within each apply rank (namespaces first, then quotas and limits, ...).
//! Watches use kube-runtime's watcher, which resumes from the last resourceVersion and re-lists on
//! 410 Gone.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use moorage::backend::{cluster::ClusterBackend, ApplyOptions, Backend};
//! let backend = ClusterBackend::from_kubeconfig(None, Some("kind-dev")).await?;
//! let compiled = moorage::compile(&moorage::Tenant::builder("acme").build()?, &[])?;
//! let objects: Vec<_> = compiled.objects.iter().map(serde_json::to_value).collect::<Result<_, _>>()?;
//! let applied = backend.apply(&objects, &ApplyOptions::default()).await?;
//! # Ok(()) }
//! ```

mod apply;
mod errors;
mod retry;
mod watch;

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use kube::api::{DeleteParams, GetParams, ListParams, PropagationPolicy, VersionMatch};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::Status;
use serde_json::Value;

pub use apply::APPLY_FIELD_VALIDATION;
pub use retry::{parse_retry_after, Decision, Outcome, RetryPolicy};

use self::errors::Failure;
use self::retry::Jitter;
use super::{Applied, ApplyOptions, Backend, BackendError, Kind, ObjectRef, Propagation, Selector, WatchStream};

/// Tuning of a [`ClusterBackend`].
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterOptions {
    /// How transient failures are retried (default: 6 attempts, 200 ms doubling up to 10 s).
    pub retry: RetryPolicy,
    /// How many objects of one apply rank are applied at the same time (default 16).
    pub concurrency: usize,
    /// The longest one request may take, body included (default 30 s); a slower one is a
    /// timeout, retried like a dropped connection. Watches are not bound by it.
    pub request_timeout: Duration,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions { retry: RetryPolicy::default(), concurrency: 16, request_timeout: Duration::from_secs(30) }
    }
}

/// Why a [`ClusterBackend`] could not be configured (no kubeconfig, unknown context, not in a
/// pod...). The message never contains credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot configure the cluster backend: {message}")]
pub struct ConfigError {
    /// What went wrong.
    pub message: String,
}

impl ConfigError {
    /// `context: <kube's error>`, keeping only the first line of kube's message with every quoted
    /// string elided: kube quotes the kubeconfig (a YAML error shows the offending line, a token
    /// included) and the values it cannot use.
    fn from_kube(context: impl std::fmt::Display, error: &dyn std::fmt::Display) -> Self {
        let full = error.to_string();
        let first = full.lines().next().unwrap_or_default().trim_end();
        let mut shown = String::with_capacity(first.len());
        let mut quoted = false;
        for c in first.chars() {
            if c == '"' || c == '`' {
                if !quoted {
                    shown.push(c);
                    shown.push('…');
                } else {
                    shown.push(c);
                }
                quoted = !quoted;
            } else if !quoted {
                shown.push(c);
            }
        }
        ConfigError { message: format!("{context}: {shown}") }
    }
}

/// The server URL without user information: kube-rs does not authenticate with it, and its
/// request spans (`http.url`) would show it.
fn without_userinfo(url: &http::Uri) -> http::Uri {
    let Some(authority) = url.authority().filter(|a| a.as_str().contains('@')) else { return url.clone() };
    let host = authority.as_str().rsplit_once('@').map_or(authority.as_str(), |(_, host)| host);
    let mut parts = url.clone().into_parts();
    parts.authority = host.parse().ok();
    http::Uri::from_parts(parts).unwrap_or_else(|_| url.clone())
}

/// The CA certificates of a kube-rs configuration (DER) as a kubeconfig's
/// `certificate-authority-data`: base64 of their PEM form.
fn certificate_authority_data(config: &kube::Config) -> Option<String> {
    let certificates = config.root_cert.as_ref().filter(|c| !c.is_empty())?;
    let mut pem = String::new();
    for der in certificates {
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        for line in base64(der)?.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).ok()?);
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
    }
    base64(pem.as_bytes())
}

/// Standard base64, as Kubernetes writes bytes (k8s-openapi's `ByteString`).
fn base64(bytes: &[u8]) -> Option<String> {
    match serde_json::to_value(k8s_openapi::ByteString(bytes.to_vec())) {
        Ok(Value::String(s)) => Some(s),
        _ => None,
    }
}

/// A real Kubernetes cluster, reached through kube-rs.
///
/// Its `Debug` output shows the server URL and the context only, never credentials.
pub struct ClusterBackend {
    client: kube::Client,
    server: Option<String>,
    /// The CA bundle of the configuration, as a kubeconfig's `certificate-authority-data`.
    certificate_authority_data: Option<String>,
    context: Option<String>,
    options: ClusterOptions,
    jitter: Jitter,
    discovered: Mutex<HashMap<(String, String), Kind>>,
}

impl std::fmt::Debug for ClusterBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterBackend").field("server", &self.server).field("context", &self.context).field("options", &self.options).finish_non_exhaustive()
    }
}

impl ClusterBackend {
    /// From a kubeconfig: `path`, or else `$KUBECONFIG`, or else `~/.kube/config`; with `context`,
    /// or else the kubeconfig's current context.
    pub async fn from_kubeconfig(path: Option<&Path>, context: Option<&str>) -> Result<Self, ConfigError> {
        let kubeconfig = match path {
            Some(path) => Kubeconfig::read_from(path).map_err(|e| ConfigError::from_kube(format!("reading kubeconfig {}", path.display()), &e))?,
            None => Kubeconfig::read().map_err(|e| ConfigError::from_kube("reading the kubeconfig ($KUBECONFIG or ~/.kube/config)", &e))?,
        };
        let context = context.map(str::to_string).or_else(|| kubeconfig.current_context.clone());
        let options = KubeConfigOptions { context: context.clone(), ..KubeConfigOptions::default() };
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|e| ConfigError::from_kube(format!("kubeconfig context {}", context.as_deref().unwrap_or("(current)")), &e))?;
        let mut backend = Self::from_config(config)?;
        backend.context = context;
        Ok(backend)
    }

    /// From the service account of the pod this process runs in.
    pub fn in_cluster() -> Result<Self, ConfigError> {
        let config = kube::Config::incluster().map_err(|e| ConfigError::from_kube("in-cluster configuration", &e))?;
        let mut backend = Self::from_config(config)?;
        backend.context = Some("in-cluster".into());
        Ok(backend)
    }

    /// The kubeconfig if there is one (`$KUBECONFIG`, `~/.kube/config`), else the in-cluster
    /// configuration: what `kubectl` would use.
    pub async fn infer() -> Result<Self, ConfigError> {
        let config = kube::Config::infer().await.map_err(|e| ConfigError::from_kube("no kubeconfig and not in a cluster", &e))?;
        Self::from_config(config)
    }

    /// From a kube-rs configuration. kube-rs' own retry layer is turned off: this backend retries.
    pub fn from_config(mut config: kube::Config) -> Result<Self, ConfigError> {
        config.default_retry = false;
        // A server URL may carry credentials (`https://user:password@host`): drop them.
        config.cluster_url = without_userinfo(&config.cluster_url);
        let server = config.cluster_url.to_string();
        let certificate_authority_data = certificate_authority_data(&config);
        let client = kube::Client::try_from(config).map_err(|e| ConfigError::from_kube(format!("building the client for {server}"), &e))?;
        let mut backend = Self::from_client(client);
        backend.server = Some(server);
        backend.certificate_authority_data = certificate_authority_data;
        Ok(backend)
    }

    /// From a ready kube-rs client. If the client retries by itself (kube-rs' default layer),
    /// retries multiply; prefer [`ClusterBackend::from_config`].
    pub fn from_client(client: kube::Client) -> Self {
        ClusterBackend {
            client,
            server: None,
            certificate_authority_data: None,
            context: None,
            options: ClusterOptions::default(),
            jitter: Jitter::new(),
            discovered: Mutex::new(HashMap::new()),
        }
    }

    /// The same backend with other options.
    pub fn with_options(mut self, options: ClusterOptions) -> Self {
        self.options = options;
        self
    }

    /// The options in use.
    pub fn options(&self) -> &ClusterOptions {
        &self.options
    }

    /// The API server URL of the configuration this backend was built from (without user
    /// information); none when it was built from a ready client.
    pub fn server(&self) -> Option<&str> {
        self.server.as_deref()
    }

    /// The CA bundle this backend trusts, as a kubeconfig's `certificate-authority-data` (base64
    /// of the PEM certificates); none when the configuration names none (system roots) or the
    /// backend was built from a ready client.
    pub fn certificate_authority_data(&self) -> Option<&str> {
        self.certificate_authority_data.as_deref()
    }

    /// The kube-rs client (for what the trait does not cover).
    pub fn client(&self) -> &kube::Client {
        &self.client
    }

    /// Runs `op` until it succeeds, fails for good, or runs out of attempts. Returns the last
    /// failure with the number of attempts made and whether an earlier attempt was interrupted
    /// (connection dropped or timed out: the server may have done the work).
    async fn retrying<T, F, Fut>(&self, what: &str, mut op: F) -> Result<(T, bool), (Failure, u32, bool)>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        let mut attempt = 0;
        let mut interrupted = false;
        loop {
            attempt += 1;
            match op().await {
                Ok(value) => return Ok((value, interrupted)),
                Err(failure) => match self.options.retry.decide(attempt, failure.outcome(), failure.retry_after(), self.jitter.next()) {
                    Decision::Retry(delay) => {
                        tracing::debug!(attempt, ?delay, "{what}: {}; retrying", failure.describe());
                        interrupted |= matches!(failure, Failure::Connection(_) | Failure::Timeout(_));
                        tokio::time::sleep(delay).await;
                    }
                    Decision::Exhausted => {
                        tracing::warn!(attempt, "{what}: {}; giving up", failure.describe());
                        return Err((failure, attempt, interrupted));
                    }
                    Decision::Fail => return Err((failure, attempt, interrupted)),
                },
            }
        }
    }

    /// Sends one request (rebuilt at each attempt) with retries; returns the status and body.
    async fn send(
        &self,
        request: &http::Request<Vec<u8>>,
        object: Option<&ObjectRef>,
        kind: Option<&Kind>,
    ) -> Result<(http::StatusCode, Vec<u8>, bool), BackendError> {
        let what = format!("{} {}", request.method(), request.uri());
        self.retrying(&what, || self.send_once(copy_request(request)))
            .await
            .map(|((status, body), interrupted)| (status, body, interrupted))
            .map_err(|(failure, attempts, _)| failure.into_error(object.cloned(), kind, attempts))
    }

    /// One attempt of a request, bounded by the request timeout.
    async fn send_once(&self, request: http::Request<Vec<u8>>) -> Result<(http::StatusCode, Vec<u8>), Failure> {
        let exchange = async {
            let response = self.client.send(request.map(kube::client::Body::from)).await.map_err(|e| Failure::from_kube(&e))?;
            let code = response.status();
            let retry_after = response.headers().get(http::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(parse_retry_after);
            let body = response.into_body().collect_bytes().await.map_err(|e| Failure::from_kube(&e))?.to_vec();
            if code.is_client_error() || code.is_server_error() {
                let mut status = serde_json::from_slice::<Status>(&body)
                    .ok()
                    .filter(|s| !s.message.is_empty() || !s.reason.is_empty())
                    .unwrap_or_else(|| Status::failure(String::from_utf8_lossy(&body).trim(), code.canonical_reason().unwrap_or("")));
                status.code = code.as_u16();
                let from_details = status.details.as_ref().map(|d| d.retry_after_seconds).filter(|s| *s > 0).map(|s| Duration::from_secs(s.into()));
                return Err(Failure::Api { status: Box::new(status), retry_after: retry_after.or(from_details) });
            }
            Ok((code, body))
        };
        match tokio::time::timeout(self.options.request_timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(Failure::Timeout(format!("no complete answer within {:?}", self.options.request_timeout))),
        }
    }

    /// The kind of a JSON object: a built-in one, or one found by discovery (cached).
    pub(crate) async fn resolve_kind(&self, api_version: &str, kind: &str) -> Result<Kind, BackendError> {
        if let Some(known) = super::kind::known_kinds().into_iter().find(|k| k.api_version == api_version && k.kind == kind) {
            return Ok(known);
        }
        let key = (api_version.to_string(), kind.to_string());
        if let Some(found) = self.discovered.lock().ok().and_then(|cache| cache.get(&key).cloned()) {
            return Ok(found);
        }
        let missing = || BackendError::MissingKind { api_version: api_version.to_string(), kind: kind.to_string(), hint: errors::provider_hint(api_version) };
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let gvk = kube::core::GroupVersionKind::gvk(group, version, kind);
        let found = self
            .retrying(&format!("discovery of {api_version} {kind}"), || async {
                kube::discovery::pinned_kind(&self.client, &gvk).await.map_err(|e| Failure::from_kube(&e))
            })
            .await;
        let (resource, capabilities) = match found {
            Ok((found, _)) => found,
            Err((Failure::Api { status, .. }, _, _)) if status.code == 404 => return Err(missing()),
            Err((Failure::Local(message), _, _)) if message.contains("discovery") || message.contains("Discovery") => return Err(missing()),
            Err((failure, attempts, _)) => return Err(failure.into_error(None, Some(&Kind::custom(api_version, kind, "", true)), attempts)),
        };
        let resolved = Kind::custom(api_version, kind, &resource.plural, capabilities.scope == kube::discovery::Scope::Namespaced);
        if let Ok(mut cache) = self.discovered.lock() {
            cache.insert(key, resolved.clone());
        }
        Ok(resolved)
    }
}

/// The URL path of a kind's collection (in a namespace for namespaced kinds).
pub(crate) fn url_path(kind: &Kind, namespace: Option<&str>) -> String {
    let base = if kind.group().is_empty() { format!("/api/{}", kind.api_version) } else { format!("/apis/{}", kind.api_version) };
    match namespace {
        Some(ns) if kind.namespaced => format!("{base}/namespaces/{ns}/{}", kind.plural),
        _ => format!("{base}/{}", kind.plural),
    }
}

/// A copy of a request (requests are not `Clone`; each attempt sends a fresh one).
fn copy_request(request: &http::Request<Vec<u8>>) -> http::Request<Vec<u8>> {
    let mut copy = http::Request::new(request.body().clone());
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.headers_mut() = request.headers().clone();
    copy
}

/// Fills in `apiVersion` and `kind`, which the API server leaves out of list items.
pub(crate) fn complete(kind: &Kind, mut object: Value) -> Value {
    if let Some(map) = object.as_object_mut() {
        map.entry("apiVersion").or_insert_with(|| Value::String(kind.api_version.clone()));
        map.entry("kind").or_insert_with(|| Value::String(kind.kind.clone()));
    }
    object
}

fn build_error(object: Option<ObjectRef>, error: kube::core::request::Error) -> BackendError {
    BackendError::Invalid {
        object: object.unwrap_or_else(|| ObjectRef { kind: String::new(), namespace: None, name: String::new() }),
        causes: vec![super::Cause { field: String::new(), message: format!("cannot build the request: {error}") }],
    }
}

fn parse_body(object: Option<&ObjectRef>, body: &[u8]) -> Result<Value, BackendError> {
    serde_json::from_slice(body).map_err(|e| BackendError::Unavailable {
        object: object.cloned(),
        attempts: 1,
        message: format!("unreadable answer from the API server: {e}"),
    })
}

#[async_trait]
impl Backend for ClusterBackend {
    async fn pod_log_tail(&self, namespace: &str, pod: &str, lines: u32) -> Result<Option<String>, BackendError> {
        let api: kube::Api<k8s_openapi::api::core::v1::Pod> = kube::Api::namespaced(self.client.clone(), namespace);
        let params = kube::api::LogParams { tail_lines: Some(i64::from(lines)), ..Default::default() };
        match tokio::time::timeout(self.options.request_timeout, api.logs(pod, &params)).await {
            Ok(Ok(text)) => Ok(Some(text)),
            Ok(Err(e)) => {
                let kind = Kind::of::<k8s_openapi::api::core::v1::Pod>();
                Err(Failure::from_kube(&e).into_error(Some(ObjectRef::new(&kind, Some(namespace), pod)), Some(&kind), 1))
            }
            Err(_) => {
                let kind = Kind::of::<k8s_openapi::api::core::v1::Pod>();
                Err(BackendError::Timeout {
                    waiting_for: format!("the log of pod {namespace}/{pod}"),
                    object: Some(ObjectRef::new(&kind, Some(namespace), pod)),
                    seconds: self.options.request_timeout.as_secs(),
                })
            }
        }
    }

    fn describe(&self) -> String {
        match (&self.context, &self.server) {
            (Some(context), _) => format!("cluster (context {context})"),
            (None, Some(server)) => format!("cluster ({server})"),
            (None, None) => "cluster".to_string(),
        }
    }

    async fn apply(&self, objects: &[Value], options: &ApplyOptions) -> Result<Vec<Applied>, BackendError> {
        apply::apply_all(self, objects, options).await
    }

    async fn get(&self, kind: &Kind, namespace: Option<&str>, name: &str) -> Result<Option<Value>, BackendError> {
        let object = ObjectRef::new(kind, namespace, name);
        let request = kube::core::Request::new(url_path(kind, namespace)).get(name, &GetParams::default()).map_err(|e| build_error(Some(object.clone()), e))?;
        match self.send(&request, Some(&object), Some(kind)).await {
            Ok((_, body, _)) => parse_body(Some(&object), &body).map(|v| Some(complete(kind, v))),
            Err(BackendError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn list(&self, kind: &Kind, namespace: Option<&str>, selector: &Selector) -> Result<Vec<Value>, BackendError> {
        let reference = ObjectRef::new(kind, namespace, "");
        let mut params = ListParams::default().limit(500);
        params.label_selector = selector.labels.clone();
        params.field_selector = selector.fields.clone();
        if let Some(version) = &selector.not_older_than {
            params = params.at(version).matching(VersionMatch::NotOlderThan);
        }
        let mut items = Vec::new();
        loop {
            let request = kube::core::Request::new(url_path(kind, namespace)).list(&params).map_err(|e| build_error(Some(reference.clone()), e))?;
            let (_, body, _) = self.send(&request, Some(&reference), Some(kind)).await?;
            let mut page = parse_body(Some(&reference), &body)?;
            if let Some(Value::Array(page_items)) = page.get_mut("items").map(Value::take) {
                items.extend(page_items.into_iter().map(|item| complete(kind, item)));
            }
            match page.pointer("/metadata/continue").and_then(Value::as_str).filter(|c| !c.is_empty()) {
                Some(token) => {
                    // The next pages are of the same snapshot: Kubernetes refuses a version with a token.
                    params.continue_token = Some(token.to_string());
                    (params.resource_version, params.version_match) = (None, None);
                }
                None => return Ok(items),
            }
        }
    }

    async fn delete(&self, kind: &Kind, namespace: Option<&str>, name: &str, propagation: Propagation) -> Result<bool, BackendError> {
        let object = ObjectRef::new(kind, namespace, name);
        let policy = match propagation {
            Propagation::Background => PropagationPolicy::Background,
            Propagation::Foreground => PropagationPolicy::Foreground,
            Propagation::Orphan => PropagationPolicy::Orphan,
        };
        let params = DeleteParams { propagation_policy: Some(policy), ..DeleteParams::default() };
        let request = kube::core::Request::new(url_path(kind, namespace)).delete(name, &params).map_err(|e| build_error(Some(object.clone()), e))?;
        let what = format!("DELETE {object}");
        match self.retrying(&what, || self.send_once(copy_request(&request))).await {
            Ok(_) => Ok(true),
            // An earlier attempt whose answer was lost may have deleted it: that was us.
            Err((Failure::Api { status, .. }, _, interrupted)) if status.code == 404 && !errors::is_missing_resource(&status) => Ok(interrupted),
            Err((failure, attempts, _)) => Err(failure.into_error(Some(object), Some(kind), attempts)),
        }
    }

    async fn watch(&self, kind: &Kind, namespace: Option<&str>, selector: &Selector) -> Result<WatchStream, BackendError> {
        watch::watch(self, kind, namespace, selector).await
    }

    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }

    fn now(&self) -> Duration {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_paths_follow_the_api_layout() {
        let deployments = Kind::custom("apps/v1", "Deployment", "deployments", true);
        assert_eq!(url_path(&deployments, Some("acme")), "/apis/apps/v1/namespaces/acme/deployments");
        assert_eq!(url_path(&deployments, None), "/apis/apps/v1/deployments");
        let namespaces = Kind::custom("v1", "Namespace", "namespaces", false);
        assert_eq!(url_path(&namespaces, Some("ignored")), "/api/v1/namespaces");
        let pods = Kind::custom("v1", "Pod", "pods", true);
        assert_eq!(url_path(&pods, Some("acme")), "/api/v1/namespaces/acme/pods");
    }

    #[test]
    fn list_items_get_their_kind_back() {
        let pods = Kind::custom("v1", "Pod", "pods", true);
        let item = complete(&pods, serde_json::json!({"metadata": {"name": "p"}}));
        assert_eq!(item["kind"], "Pod");
        assert_eq!(item["apiVersion"], "v1");
    }

    #[tokio::test]
    async fn debug_output_shows_no_credentials() {
        let mut config = kube::Config::new("https://127.0.0.1:6443".parse().expect("url"));
        config.auth_info = serde_json::from_value(serde_json::json!({ "token": "s3cr3t-token" })).expect("auth info");
        let backend = ClusterBackend::from_config(config).expect("backend");
        let debug = format!("{backend:?}");
        assert!(debug.contains("127.0.0.1:6443"), "{debug}");
        assert!(!debug.contains("s3cr3t-token"), "{debug}");
        assert_eq!(backend.describe(), "cluster (https://127.0.0.1:6443/)");
    }

    #[tokio::test]
    async fn kubeconfig_contexts_are_selected() {
        let dir = std::env::temp_dir().join(format!("moorage-kubeconfig-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("config");
        let kubeconfig = r#"
apiVersion: v1
kind: Config
current-context: first
clusters:
- name: one
  cluster: { server: "https://one.example.test:6443", insecure-skip-tls-verify: true }
- name: two
  cluster: { server: "https://two.example.test:6443", insecure-skip-tls-verify: true }
users:
- name: admin
  user: { token: "kubeconfig-s3cr3t" }
contexts:
- name: first
  context: { cluster: one, user: admin }
- name: second
  context: { cluster: two, user: admin, namespace: apps }
"#;
        std::fs::write(&path, kubeconfig).expect("kubeconfig written");
        let current = ClusterBackend::from_kubeconfig(Some(&path), None).await.expect("current context");
        assert_eq!(current.describe(), "cluster (context first)");
        let second = ClusterBackend::from_kubeconfig(Some(&path), Some("second")).await.expect("second context");
        let debug = format!("{second:?}");
        assert!(debug.contains("two.example.test") && debug.contains("second"), "{debug}");
        assert!(!debug.contains("s3cr3t"), "{debug}");
        let e = ClusterBackend::from_kubeconfig(Some(&path), Some("third")).await.expect_err("no such context");
        assert!(e.message.contains("third") && !e.message.contains("s3cr3t"), "{e}");
        let e = ClusterBackend::from_kubeconfig(Some(&dir.join("missing")), None).await.expect_err("no such file");
        assert!(e.message.contains("missing"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A self-signed test CA (no key kept), as the kubeconfig's `certificate-authority-data`.
    const TEST_CA_DATA: &str = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJpekNDQVRHZ0F3SUJBZ0lVUmY3Y0RPSm1ta0JUYTZ5QjlUM2pGN3VLTjFJd0NnWUlLb1pJemowRUF3SXcKR2pFWU1CWUdBMVVFQXd3UGJXOXZjbUZuWlMxMFpYTjBMV05oTUNBWERUSTJNVEV5TmpBMU1qa3pNVm9ZRHpJeApNall4TVRBeU1EVXlPVE14V2pBYU1SZ3dGZ1lEVlFRRERBOXRiMjl5WVdkbExYUmxjM1F0WTJFd1dUQVRCZ2NxCmhrak9QUUlCQmdncWhrak9QUU1CQndOQ0FBVFhJSG92QkRMZ3VHYldIRC92bS9ReFJCSlFSYW0rRnNzcHNHYTkKVUk4M1BvSit2OXZUL0VqeUZSbnpCVjgrNStHVHM5SlJRMXErcXFsdEZYckI1NldobzFNd1VUQWRCZ05WSFE0RQpGZ1FVM05EV29BKzJYNlpNVmZzbjZLOTdZRVBXNEZJd0h3WURWUjBqQkJnd0ZvQVUzTkRXb0ErMlg2Wk1WZnNuCjZLOTdZRVBXNEZJd0R3WURWUjBUQVFIL0JBVXdBd0VCL3pBS0JnZ3Foa2pPUFFRREFnTklBREJGQWlFQS9aZlcKVk1XWDJpL3NDV0ozTE5pT05rTjQ4N0RkYkVQV1Z0Y3hwTTFCcDQwQ0lGb2JpeVNWektiZnJvQzU2V3hkVHVXbAp0L2tGV2s0bmFUeHlpMlBqem1vNAotLS0tLUVORCBDRVJUSUZJQ0FURS0tLS0tCg==";

    #[tokio::test]
    async fn the_server_and_ca_of_the_kubeconfig_are_kept() {
        let dir = std::env::temp_dir().join(format!("moorage-kubeconfig-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("config");
        let kubeconfig = format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: ca\nclusters:\n- name: ca\n  cluster: {{ server: \"https://ca.example.test:6443\", certificate-authority-data: {TEST_CA_DATA} }}\n- name: insecure\n  cluster: {{ server: \"https://insecure.example.test:6443\", insecure-skip-tls-verify: true }}\nusers:\n- name: admin\n  user: {{ token: \"kubeconfig-s3cr3t\" }}\ncontexts:\n- name: ca\n  context: {{ cluster: ca, user: admin }}\n- name: insecure\n  context: {{ cluster: insecure, user: admin }}\n"
        );
        std::fs::write(&path, kubeconfig).expect("kubeconfig written");
        let backend = ClusterBackend::from_kubeconfig(Some(&path), None).await.expect("kubeconfig with a CA");
        assert_eq!(backend.server(), Some("https://ca.example.test:6443/"));
        assert_eq!(backend.certificate_authority_data(), Some(TEST_CA_DATA), "the same PEM bundle, base64");
        let insecure = ClusterBackend::from_kubeconfig(Some(&path), Some("insecure")).await.expect("kubeconfig without a CA");
        assert_eq!((insecure.server(), insecure.certificate_authority_data()), (Some("https://insecure.example.test:6443/"), None));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
