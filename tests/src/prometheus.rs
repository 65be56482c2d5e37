//! A real Prometheus for the tests (Debian's `prometheus` binary on loopback, temp storage) and
//! a small exporter the tests control (per-version request counters with a chosen error rate).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Environment variable naming the Prometheus binary (default: `prometheus` on the PATH).
pub const PROMETHEUS_ENV: &str = "MOORAGE_PROMETHEUS";

/// Requests per second the exporter counts for every version.
pub const REQUESTS_PER_SECOND: f64 = 100.0;

/// A free TCP port on loopback (bound, then released).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port on loopback");
    listener.local_addr().expect("a local address").port()
}

#[derive(Debug, Default)]
struct Counters {
    /// version -> (error fraction, requests, errors, last update)
    versions: BTreeMap<String, (f64, f64, f64, Option<Instant>)>,
    /// Extra text served as is (gauges a test sets).
    extra: String,
    /// (namespace, pod) -> (CPU cores, memory bytes, volume bytes, since)
    pods: BTreeMap<(String, String), (f64, f64, f64, Instant)>,
}

/// A `/metrics` endpoint on loopback serving `http_requests_total{tenant,app,version,code}` for the
/// versions a test declares, each failing the share of requests the test chooses.
#[derive(Debug)]
pub struct Exporter {
    /// The port it listens on.
    pub port: u16,
    tenant: String,
    app: String,
    counters: Arc<Mutex<Counters>>,
    task: tokio::task::JoinHandle<()>,
}

impl Exporter {
    /// Starts an exporter for application `app` of `tenant`.
    pub async fn start(tenant: &str, app: &str) -> anyhow::Result<Exporter> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.context("binding the exporter")?;
        let port = listener.local_addr()?.port();
        let counters = Arc::new(Mutex::new(Counters::default()));
        let (shared, t, a) = (counters.clone(), tenant.to_string(), app.to_string());
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else { continue };
                let (shared, t, a) = (shared.clone(), t.clone(), a.clone());
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = socket.read(&mut buf).await;
                    let body = render(&shared, &t, &a);
                    let head =
                        format!("HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
                    let _ = socket.write_all(head.as_bytes()).await;
                    let _ = socket.write_all(body.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        Ok(Exporter { port, tenant: tenant.to_string(), app: app.to_string(), counters, task })
    }

    /// Makes `version` serve requests of which `error_fraction` (0 to 1) answer 500 from now on.
    pub fn set_error_rate(&self, version: &str, error_fraction: f64) {
        let mut c = self.counters.lock().expect("exporter state");
        // Counting starts now (not at the first scrape), like a server that was already running.
        let entry = c.versions.entry(version.to_string()).or_insert((0.0, 0.0, 0.0, Some(Instant::now())));
        entry.0 = error_fraction;
    }

    /// Serves `text` (Prometheus exposition lines) in addition to the request counters.
    pub fn set_extra(&self, text: &str) {
        self.counters.lock().expect("exporter state").extra = text.to_string();
    }

    /// Makes pod `pod` of `namespace` use `cpu_cores` (its CPU counter grows by that many seconds per
    /// second from now), `memory_bytes` of working set and a volume of `volume_bytes`.
    pub fn set_usage(&self, namespace: &str, pod: &str, cpu_cores: f64, memory_bytes: f64, volume_bytes: f64) {
        let mut c = self.counters.lock().expect("exporter state");
        c.pods.insert((namespace.to_string(), pod.to_string()), (cpu_cores, memory_bytes, volume_bytes, Instant::now()));
    }

    /// The tenant and application it reports for.
    pub fn labels(&self) -> (&str, &str) {
        (&self.tenant, &self.app)
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Advances every version's counters to now and renders them.
fn render(shared: &Mutex<Counters>, tenant: &str, app: &str) -> String {
    let mut c = shared.lock().expect("exporter state");
    let now = Instant::now();
    let mut out = String::from("# TYPE http_requests_total counter\n");
    for (version, (fraction, total, errors, last)) in c.versions.iter_mut() {
        let elapsed = last.map(|l| now.duration_since(l).as_secs_f64()).unwrap_or(0.0);
        *total += REQUESTS_PER_SECOND * elapsed;
        *errors += REQUESTS_PER_SECOND * elapsed * *fraction;
        *last = Some(now);
        let labels = format!("namespace=\"{tenant}\",tenant=\"{tenant}\",app=\"{app}\",version=\"{version}\"");
        out.push_str(&format!("http_requests_total{{{labels},code=\"200\"}} {}\n", *total - *errors));
        out.push_str(&format!("http_requests_total{{{labels},code=\"500\"}} {}\n", *errors));
    }
    for ((namespace, pod), (cores, memory, volume, since)) in &c.pods {
        let labels = format!("namespace=\"{namespace}\",pod=\"{pod}\",container=\"app\"");
        out.push_str(&format!("container_cpu_usage_seconds_total{{{labels}}} {}\n", cores * now.duration_since(*since).as_secs_f64()));
        out.push_str(&format!("container_memory_working_set_bytes{{{labels}}} {memory}\n"));
        out.push_str(&format!("kubelet_volume_stats_capacity_bytes{{namespace=\"{namespace}\",persistentvolumeclaim=\"{pod}-data\"}} {volume}\n"));
    }
    out.push_str(&c.extra);
    out
}

/// A Prometheus server on loopback with its own storage, scraping the given targets every second.
/// Stopped (and its storage removed) when dropped.
#[derive(Debug)]
pub struct PrometheusServer {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    child: Option<Child>,
    dir: PathBuf,
}

impl PrometheusServer {
    /// Starts Prometheus scraping `targets` (`host:port`), or returns `None` (after a "skipped"
    /// line) when there is no `prometheus` binary, unless the tests must not skip (CI, or
    /// `MOORAGE_REQUIRE_CLUSTER=1`), in which case it panics.
    pub async fn start(targets: &[String]) -> Option<PrometheusServer> {
        let binary = std::env::var(PROMETHEUS_ENV).unwrap_or_else(|_| "prometheus".into());
        if Command::new(&binary).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_err() {
            if crate::cluster_required() {
                panic!("no Prometheus binary ({binary}); test.sh installs Debian's `prometheus` package");
            }
            eprintln!("skipped: no Prometheus binary ({binary}); install Debian's `prometheus` or set {PROMETHEUS_ENV}");
            return None;
        }
        Some(Self::start_binary(&binary, targets).await.expect("Prometheus starts on loopback"))
    }

    async fn start_binary(binary: &str, targets: &[String]) -> anyhow::Result<PrometheusServer> {
        let dir = std::env::temp_dir().join(format!("moorage-prometheus-{}", crate::random_suffix()));
        std::fs::create_dir_all(dir.join("data"))?;
        let targets: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
        let config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: exporter\n    static_configs:\n      - targets: [{}]\n",
            targets.join(", ")
        );
        std::fs::write(dir.join("prometheus.yml"), config)?;
        let port = free_port();
        let log = std::fs::File::create(dir.join("prometheus.log"))?;
        let child = Command::new(binary)
            .arg(format!("--config.file={}", dir.join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--storage.tsdb.retention.time=1d")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {binary}"))?;
        let server = PrometheusServer { address: format!("http://127.0.0.1:{port}"), child: Some(child), dir };
        let ready = format!("{}/-/ready", server.address);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if moorage::analysis::client::get(&ready, Duration::from_secs(2)).await.is_ok_and(|a| a.status == 200) {
                return Ok(server);
            }
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(server.dir.join("prometheus.log")).unwrap_or_default();
                bail!("Prometheus was not ready within 60 s; its log:\n{log}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Stops the server (its storage stays until drop).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Waits until `query` returns at least one series and no NaN (data has been scraped).
    pub async fn wait_for_data(&self, query: &str, timeout: Duration) -> anyhow::Result<Vec<moorage::analysis::Sample>> {
        let client = moorage::analysis::Prometheus::new(&self.address);
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(samples) = client.instant(query, None).await {
                if !samples.is_empty() && samples.iter().all(|s| s.value.is_finite()) {
                    return Ok(samples);
                }
            }
            if Instant::now() > deadline {
                bail!("no data for `{query}` within {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

impl Drop for PrometheusServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
