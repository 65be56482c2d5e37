//! Fault injection between the cluster backend and a real API server: 429 with Retry-After, 503,
//! dropped connections, slow answers and watches dropped mid-stream; every operation must still
//! complete, once (S2 of docs/reliability.md).
//!
//! Layout: `ClusterBackend` -> fault proxy (this file, plain HTTP, hyper) -> `kubectl proxy`
//! (plain HTTP, authenticates with the test kubeconfig) -> kube-apiserver (TLS).
//! Faults are chosen by request count, so a run is reproducible: among non-watch requests,
//! number 3 of every 10 gets a 429 with `Retry-After: 1`, number 5 a 503 and number 8 a dropped
//! connection (closed without an answer). The first watch request is answered, then its
//! connection is cut mid-stream after a second.
//!
//! The whole-rollout case adds slow answers: request 6 of every 10 is forwarded, then its answer
//! held 1 s, and request 16 of every 20 held longer than the backend's request timeout (the
//! server did the work, the client never hears of it and tries again); and every watch connection,
//! not only the first, is cut after 1.5 s.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{combinators::BoxBody, BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response};
use hyper_util::client::legacy::{connect::HttpConnector, Client as HttpClient};
use hyper_util::rt::{TokioExecutor, TokioIo};
use moorage::backend::cluster::ClusterBackend;
use moorage::backend::{ApplyOptions, Backend, Change, Kind, Propagation, Selector, WatchEvent};
use moorage::{Quota, Release, Tenant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;

type ProxyBody = BoxBody<Bytes, std::io::Error>;

/// What the fault proxy did.
#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    too_many: AtomicU64,
    unavailable: AtomicU64,
    dropped: AtomicU64,
    watches: AtomicU64,
    watches_cut: AtomicU64,
    slow: AtomicU64,
    too_slow: AtomicU64,
    /// Whole-rollout plan: slow answers, and every watch cut (not only the first).
    harsh: bool,
}

impl Counters {
    fn harsh() -> Self {
        Counters { harsh: true, ..Counters::default() }
    }
}

/// The backend's request timeout in the whole-rollout case; "too slow" answers are held longer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);

enum Fault {
    TooManyRequests,
    Unavailable,
    Drop,
}

fn fault_for(n: u64) -> Option<Fault> {
    match n % 10 {
        3 => Some(Fault::TooManyRequests),
        5 => Some(Fault::Unavailable),
        8 => Some(Fault::Drop),
        _ => None,
    }
}

fn status_body(code: u16, reason: &str, message: &str, retry_after: u32) -> ProxyBody {
    let status = serde_json::json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code,
        "details": { "retryAfterSeconds": retry_after },
    });
    Full::new(Bytes::from(status.to_string())).map_err(|never: Infallible| match never {}).boxed()
}

async fn handle(
    upstream: String,
    client: HttpClient<HttpConnector, Incoming>,
    counters: Arc<Counters>,
    request: Request<Incoming>,
) -> Result<Response<ProxyBody>, std::io::Error> {
    let is_watch = request.uri().query().is_some_and(|q| q.split('&').any(|p| p == "watch=true" || p == "watch=1"));
    let mut cut_after = None;
    let mut hold = None;
    if is_watch {
        let first = counters.watches.fetch_add(1, Ordering::SeqCst) == 0;
        if counters.harsh {
            cut_after = Some(Duration::from_millis(1500));
        } else if first {
            cut_after = Some(Duration::from_secs(1));
        }
    } else {
        let n = counters.requests.fetch_add(1, Ordering::SeqCst);
        if counters.harsh && n % 20 == 16 {
            counters.too_slow.fetch_add(1, Ordering::SeqCst);
            hold = Some(REQUEST_TIMEOUT + Duration::from_secs(1));
        } else if counters.harsh && n % 10 == 6 {
            counters.slow.fetch_add(1, Ordering::SeqCst);
            hold = Some(Duration::from_secs(1));
        }
        match fault_for(n) {
            Some(Fault::TooManyRequests) => {
                counters.too_many.fetch_add(1, Ordering::SeqCst);
                return Response::builder()
                    .status(429)
                    .header("Retry-After", "1")
                    .header("Content-Type", "application/json")
                    // Only the header says how long to wait: the backend must read it.
                    .body(status_body(429, "TooManyRequests", "Too many requests, please try again later.", 0))
                    .map_err(std::io::Error::other);
            }
            Some(Fault::Unavailable) => {
                counters.unavailable.fetch_add(1, Ordering::SeqCst);
                return Response::builder()
                    .status(503)
                    .header("Content-Type", "application/json")
                    .body(status_body(503, "ServiceUnavailable", "injected: the server is currently unable to handle the request", 0))
                    .map_err(std::io::Error::other);
            }
            Some(Fault::Drop) => {
                counters.dropped.fetch_add(1, Ordering::SeqCst);
                // An error from the service makes hyper close the connection without an answer.
                return Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "injected: connection dropped"));
            }
            None => {}
        }
    }
    let (mut parts, body) = request.into_parts();
    let path = parts.uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into());
    parts.uri = format!("{upstream}{path}").parse().map_err(std::io::Error::other)?;
    parts.headers.remove(hyper::header::HOST);
    let response = client.request(Request::from_parts(parts, body)).await.map_err(std::io::Error::other)?;
    if let Some(hold) = hold {
        // The API server has done the work; its answer comes late (or too late).
        tokio::time::sleep(hold).await;
    }
    let (parts, body) = response.into_parts();
    let body: ProxyBody = match cut_after {
        None => body.map_err(std::io::Error::other).boxed(),
        Some(after) => {
            // Forward the watch for a while, then fail the body: the chunked stream is cut
            // without its final chunk, as when a load balancer or the network drops it.
            let counters = counters.clone();
            let frames = body.into_data_stream().map(|r| r.map(Frame::data).map_err(std::io::Error::other));
            let cut = futures_util::stream::once(async move {
                tokio::time::sleep(after).await;
                counters.watches_cut.fetch_add(1, Ordering::SeqCst);
                Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "injected: watch cut"))
            });
            let frames = futures_util::stream::select(frames.take_until(tokio::time::sleep(after)), cut);
            BodyExt::boxed(StreamBody::new(frames))
        }
    };
    Ok(Response::from_parts(parts, body))
}

/// Starts the fault proxy in front of `upstream` (`http://127.0.0.1:PORT`); returns its port.
async fn start_fault_proxy(upstream: String, counters: Arc<Counters>) -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let client: HttpClient<HttpConnector, Incoming> = HttpClient::builder(TokioExecutor::new()).build(HttpConnector::new());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (upstream, client, counters) = (upstream.clone(), client.clone(), counters.clone());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| handle(upstream.clone(), client.clone(), counters.clone(), req));
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    Ok(port)
}

/// Starts `kubectl proxy` on a free port; returns the child (killed on drop) and its URL.
async fn start_kubectl_proxy(kubeconfig: &str) -> anyhow::Result<(tokio::process::Child, String)> {
    let kubectl = std::env::var("KUBECTL").unwrap_or_else(|_| "kubectl".into());
    let mut child = tokio::process::Command::new(kubectl)
        .args(["proxy", "--port=0", "--address=127.0.0.1", "--kubeconfig", kubeconfig])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("starting kubectl proxy")?;
    let stdout = child.stdout.take().context("kubectl proxy stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let line =
        tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await.context("kubectl proxy did not start")??.context("kubectl proxy exited")?;
    // "Starting to serve on 127.0.0.1:40123"
    let address = line.rsplit(' ').next().context("kubectl proxy address")?.to_string();
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok((child, format!("http://{address}")))
}

fn tenant_objects(name: &str) -> anyhow::Result<Vec<serde_json::Value>> {
    let tenant = Tenant::builder(name).quota(Quota::new().limits("4", "8Gi").requests("2", "4Gi").pods(20)).build()?;
    let release = Release::builder(name, "web", "blue")
        .image("nginxinc/nginx-unprivileged:1.27")
        .replicas(2)
        .port("http", 8080)
        .resources(("100m", "64Mi"), ("200m", "128Mi"))
        .build()?;
    let compiled = moorage::compile(&tenant, &[release])?;
    Ok(compiled.objects.iter().map(serde_json::to_value).collect::<Result<_, _>>()?)
}

type Events = tokio::sync::mpsc::UnboundedReceiver<Result<WatchEvent, moorage::backend::BackendError>>;

/// Drives a watch in the background (a watch only makes progress while it is polled).
fn drive(mut watch: moorage::backend::WatchStream) -> Events {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(event) = watch.next().await {
            if tx.send(event).is_err() {
                break;
            }
        }
    });
    rx
}

async fn next_event(watch: &mut Events, what: &str) -> anyhow::Result<WatchEvent> {
    match tokio::time::timeout(Duration::from_secs(60), watch.recv()).await {
        Ok(Some(Ok(event))) => Ok(event),
        Ok(Some(Err(e))) => bail!("watch failed while waiting for {what}: {e}"),
        Ok(None) => bail!("watch ended while waiting for {what}"),
        Err(_) => bail!("no watch event within 60 s while waiting for {what}"),
    }
}

fn event_name(event: &WatchEvent) -> (bool, String) {
    match event {
        WatchEvent::Applied(v) => (true, v["metadata"]["name"].as_str().unwrap_or_default().to_string()),
        WatchEvent::Deleted(v) => (false, v["metadata"]["name"].as_str().unwrap_or_default().to_string()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_survives_injected_faults() -> anyhow::Result<()> {
    let Some(kubeconfig) = std::env::var(moorage_tests::KUBECONFIG_ENV).ok().filter(|p| !p.is_empty()) else {
        if moorage_tests::cluster_required() {
            panic!("no test control plane: {} is unset but CI requires one (run through testcluster/run-with-cluster.sh)", moorage_tests::KUBECONFIG_ENV);
        }
        println!("skipped: no test control plane (set {})", moorage_tests::KUBECONFIG_ENV);
        return Ok(());
    };
    let (_kubectl, upstream) = start_kubectl_proxy(&kubeconfig).await?;
    let counters = Arc::new(Counters::default());
    let port = start_fault_proxy(upstream, counters.clone()).await?;
    let backend = ClusterBackend::from_config(kube::Config::new(format!("http://127.0.0.1:{port}").parse()?))?;

    let name = format!("fault-{}", moorage_tests::random_suffix());
    let objects = tenant_objects(&name)?;
    assert!(objects.len() >= 8, "a tenant with a release compiles to several objects ({})", objects.len());

    // 1. apply through the faults: everything is created, once
    let first = backend.apply(&objects, &ApplyOptions::default()).await.context("first apply")?;
    assert_eq!(first.len(), objects.len());
    assert!(first.iter().all(|a| a.change == Change::Created), "first apply: {:?}", first.iter().map(|a| (a.object.to_string(), a.change)).collect::<Vec<_>>());

    // 2. the second apply changes nothing
    let second = backend.apply(&objects, &ApplyOptions::default()).await.context("second apply")?;
    let changed: Vec<_> = second.iter().filter(|a| a.change != Change::Unchanged).map(|a| format!("{} {:?}", a.object, a.change)).collect();
    assert!(changed.is_empty(), "second apply changed: {changed:?}");

    // 3. no duplicates: each compiled object exists exactly once
    let selector = Selector::labels(format!("{}={name}", moorage::labels::TENANT));
    let mut kinds: Vec<Kind> = objects.iter().filter_map(Kind::of_object).filter(|k| k.namespaced).collect();
    kinds.sort();
    kinds.dedup();
    for kind in &kinds {
        let expected: BTreeSet<String> =
            objects.iter().filter(|o| o["kind"] == kind.kind.as_str()).map(|o| o["metadata"]["name"].as_str().unwrap_or_default().to_string()).collect();
        let listed = backend.list(kind, Some(&name), &selector).await.with_context(|| format!("listing {kind}"))?;
        let names: Vec<String> = listed.iter().map(|o| o["metadata"]["name"].as_str().unwrap_or_default().to_string()).collect();
        assert_eq!(names.len(), names.iter().collect::<BTreeSet<_>>().len(), "duplicate {kind}: {names:?}");
        assert_eq!(names.iter().cloned().collect::<BTreeSet<_>>(), expected, "{kind} objects");
    }

    // 4. a watch survives its connection being cut mid-stream
    let configmaps = Kind::custom("v1", "ConfigMap", "configmaps", true);
    let mut watch = drive(backend.watch(&configmaps, Some(&name), &Selector::all()).await?);
    let initial: BTreeSet<String> =
        objects.iter().filter(|o| o["kind"] == "ConfigMap").map(|o| o["metadata"]["name"].as_str().unwrap_or_default().to_string()).collect();
    let mut seen = BTreeSet::new();
    while seen.len() < initial.len() {
        let (applied, n) = event_name(&next_event(&mut watch, "the initial ConfigMaps").await?);
        assert!(applied, "initial events are Applied ({n})");
        seen.insert(n);
    }
    assert!(initial.is_subset(&seen), "initial {initial:?}, seen {seen:?}");
    // A quiet watch sends nothing (and kubectl proxy passes no headers before the first bytes):
    // make a change so the stream carries an event, then the proxy cuts it.
    let before_cut = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "before-cut", "namespace": name}, "data": {"k": "v"}});
    backend.apply(std::slice::from_ref(&before_cut), &ApplyOptions::default()).await?;
    loop {
        let (applied, n) = event_name(&next_event(&mut watch, "the before-cut ConfigMap").await?);
        if applied && n == "before-cut" {
            break;
        }
    }
    moorage_tests::wait_for("the watch connection to be cut", Duration::from_secs(30), || {
        let cut = counters.watches_cut.load(Ordering::SeqCst);
        async move { Ok((cut > 0).then_some(())) }
    })
    .await?;
    let probe = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "probe", "namespace": name}, "data": {"k": "v"}});
    let applied = backend.apply(std::slice::from_ref(&probe), &ApplyOptions::default()).await?;
    assert_eq!(applied[0].change, Change::Created);
    loop {
        let (applied, n) = event_name(&next_event(&mut watch, "the probe ConfigMap after the cut").await?);
        if applied && n == "probe" {
            break;
        }
    }
    assert!(backend.delete(&configmaps, Some(&name), "probe", Propagation::Background).await?, "probe deleted");
    loop {
        let (applied, n) = event_name(&next_event(&mut watch, "the deletion of the probe").await?);
        if !applied && n == "probe" {
            break;
        }
    }
    assert!(counters.watches.load(Ordering::SeqCst) >= 2, "the watch was resumed on a new connection");

    // 5. get and delete through the faults
    let namespace_kind = Kind::custom("v1", "Namespace", "namespaces", false);
    assert!(backend.get(&namespace_kind, None, &name).await?.is_some());
    assert!(backend.get(&configmaps, Some(&name), "probe").await?.is_none());
    assert!(backend.delete(&namespace_kind, None, &name, Propagation::Background).await?, "namespace deleted");

    let (requests, too_many, unavailable, dropped) = (
        counters.requests.load(Ordering::SeqCst),
        counters.too_many.load(Ordering::SeqCst),
        counters.unavailable.load(Ordering::SeqCst),
        counters.dropped.load(Ordering::SeqCst),
    );
    println!(
        "fault proxy: {requests} requests, {too_many} x 429, {unavailable} x 503, {dropped} dropped, {} watch(es), {} cut",
        counters.watches.load(Ordering::SeqCst),
        counters.watches_cut.load(Ordering::SeqCst)
    );
    assert!(too_many > 0 && unavailable > 0 && dropped > 0, "every kind of fault was injected");
    Ok(())
}

/// A whole blue/green rollout (tenant, blue, then green) through the fault proxy with every fault at
/// once: it completes, with exactly the objects and history of a rollout without faults, and the
/// stable Service keeps ready endpoints throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_rollout_survives_injected_faults() -> anyhow::Result<()> {
    use moorage::rollout::{self, Outcome, RolloutOptions};
    use moorage_tests::fixtures;
    let Some(direct) = moorage_tests::real_backend().await else { return Ok(()) };
    let kubeconfig = std::env::var(moorage_tests::KUBECONFIG_ENV)?;
    let (_kubectl, upstream) = start_kubectl_proxy(&kubeconfig).await?;
    let counters = Arc::new(Counters::harsh());
    let port = start_fault_proxy(upstream, counters.clone()).await?;
    let options = moorage::backend::cluster::ClusterOptions { request_timeout: REQUEST_TIMEOUT, ..Default::default() };
    let faulty = ClusterBackend::from_config(kube::Config::new(format!("http://127.0.0.1:{port}").parse()?))?.with_options(options);
    let timeout = RolloutOptions::with_timeout(Duration::from_secs(240));

    // The reference: the same rollouts without faults.
    let run = |backend: &'static str| format!("s2p-{backend}-{}", moorage_tests::random_suffix());
    let (reference_ns, faulty_ns) = (run("ref"), run("flt"));
    let mut inventories = Vec::new();
    for (ns, backend) in [(&reference_ns, &direct), (&faulty_ns, &faulty)] {
        let tenant = fixtures::roomy_tenant(ns);
        fixtures::apply_tenant(backend, &tenant).await;
        rollout::rollout(backend, &tenant, &fixtures::webserver(ns, "webserver", "blue", 3, fixtures::strategy("bluegreen")), &timeout)
            .await
            .context("blue")?;
        // Watched through the same backend: through the faults, its connection is cut every 1.5 s.
        let (stop, recorder) = fixtures::record_ready_endpoints(backend, ns, "webserver").await;
        let green = rollout::rollout(backend, &tenant, &fixtures::webserver(ns, "webserver", "green", 3, fixtures::strategy("bluegreen")), &timeout)
            .await
            .context("green")?;
        assert_eq!(green.version, "green");
        stop.send(()).ok();
        let counts = recorder.await?;
        assert!(fixtures::never_without_endpoints(&counts), "{ns}: the stable Service lost its ready endpoints: {counts:?}");
        let history = rollout::history(&direct, &tenant, "webserver").await?;
        let revisions: Vec<(u32, &str, &Outcome)> = history.revisions.iter().map(|r| (r.number, r.version.as_str(), &r.outcome)).collect();
        assert_eq!(revisions, [(1, "blue", &Outcome::Superseded), (2, "green", &Outcome::Succeeded)], "{ns}: one revision per rollout");
        assert!(rollout::status(&direct, &tenant, "webserver").await?.rollout.is_none());
        inventories.push(fixtures::inventory(&direct, ns).await);
        fixtures::delete_tenant(&direct, ns).await;
    }
    assert_eq!(inventories[0], inventories[1], "through the faults: the objects of a rollout without faults, none duplicated");
    let c = |a: &AtomicU64| a.load(Ordering::SeqCst);
    println!(
        "S2 fault proxy, whole rollout: {} requests, {} x 429 (Retry-After: 1), {} x 503, {} dropped, {} answers held 1 s, {} held past the {:?} request timeout, {} watches, {} cut",
        c(&counters.requests), c(&counters.too_many), c(&counters.unavailable), c(&counters.dropped), c(&counters.slow), c(&counters.too_slow), REQUEST_TIMEOUT, c(&counters.watches), c(&counters.watches_cut)
    );
    assert!(c(&counters.too_many) > 0 && c(&counters.unavailable) > 0 && c(&counters.dropped) > 0, "every kind of error was injected");
    assert!(c(&counters.slow) > 0 && c(&counters.too_slow) > 0, "slow and too slow answers were injected");
    assert!(c(&counters.watches_cut) >= 2, "watches were cut during the rollout (the rollout's own waits, and the EndpointSlice watch)");
    Ok(())
}
