//! Analysis gates in the release engine: a canary gated by a real Prometheus (scraping an exporter
//! the test controls) on the simulated cluster, and blue/green verification Jobs on the simulated
//! cluster and the real control plane.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use moorage::analysis::{JobRun, Verdict};
use moorage::backend::sim::{Failure, ImageFailure, SimulatedCluster};
use moorage::backend::{ApplyOptions, Backend, Kind};
use moorage::rollout::{self, Outcome, Phase, Progress, RolloutError, RolloutOptions};
use moorage::{compile_tenant, Analysis, CanaryStep, EnvVar, Quota, Release, Strategy, Tenant};
use moorage_tests::prometheus::{Exporter, PrometheusServer};
use serde_json::Value;

const ERROR_RATE: &str = r#"sum(rate(http_requests_total{tenant="{{tenant}}",app="{{app}}",version="{{version}}",code="500"}[10s])) / sum(rate(http_requests_total{tenant="{{tenant}}",app="{{app}}",version="{{version}}"}[10s]))"#;

fn tenant(name: &str) -> Tenant {
    Tenant::builder(name).quota(Quota::new().limits("4", "4Gi").pods(20)).build().unwrap()
}

fn options() -> RolloutOptions {
    RolloutOptions::with_timeout(Duration::from_secs(180))
}

fn recording() -> (Arc<Mutex<Vec<Progress>>>, RolloutOptions) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let log = events.clone();
    (events, options().on_progress(move |p| log.lock().unwrap().push(p.clone())))
}

fn webserver(t: &Tenant, version: &str, strategy: Strategy, analyses: Vec<Analysis>) -> Release {
    let mut b = Release::builder(t.name(), "webserver", version)
        .image("nginxinc/nginx-unprivileged:1.27")
        .replicas(4)
        .port("http", 8080)
        .resources(("100m", "64Mi"), ("200m", "128Mi"))
        .strategy(strategy);
    for a in analyses {
        b = b.analysis(a);
    }
    b.build().unwrap()
}

async fn apply_tenant(backend: &dyn Backend, t: &Tenant) {
    let objects: Vec<Value> = compile_tenant(t).objects.iter().map(|o| serde_json::to_value(o).unwrap()).collect();
    backend.apply(&objects, &ApplyOptions::default()).await.unwrap();
}

async fn replicas(backend: &dyn Backend, ns: &str, name: &str) -> Option<u64> {
    let d = backend.get(&Kind::of::<k8s_openapi::api::apps::v1::Deployment>(), Some(ns), name).await.unwrap()?;
    d["spec"]["replicas"].as_u64()
}

// ---------------------------------------------------------------- Prometheus gate (canary)

fn gated_canary() -> Strategy {
    Strategy::canary([CanaryStep::set_weight(25), CanaryStep::analysis("error-rate"), CanaryStep::set_weight(50)]).into()
}

fn error_rate(address: &str) -> Analysis {
    Analysis::prometheus("error-rate", address, ERROR_RATE, "result < 0.05").measurements("2s", 2, 0)
}

/// Blue live on the simulated cluster, a Prometheus scraping an exporter where blue is healthy and
/// green fails `green_errors` of its requests (green absent when `None`).
async fn setup(green_errors: Option<f64>) -> Option<(SimulatedCluster, Tenant, Exporter, PrometheusServer)> {
    let exporter = Exporter::start("acme", "webserver").await.unwrap();
    exporter.set_error_rate("blue", 0.0);
    if let Some(e) = green_errors {
        exporter.set_error_rate("green", e);
    }
    let prometheus = PrometheusServer::start(&[format!("127.0.0.1:{}", exporter.port)]).await?;
    if green_errors.is_some() {
        let q = moorage::model::analysis::substitute(ERROR_RATE, "acme", "webserver", "green", "acme");
        prometheus.wait_for_data(&q, Duration::from_secs(60)).await.unwrap();
    }
    let sim = SimulatedCluster::new();
    let t = tenant("acme");
    apply_tenant(&sim, &t).await;
    rollout::rollout(&sim, &t, &webserver(&t, "blue", gated_canary(), vec![error_rate(&prometheus.address)]), &options()).await.unwrap();
    Some((sim, t, exporter, prometheus))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_with_a_high_error_rate_is_aborted_and_rolled_back() {
    let Some((sim, t, _exporter, prometheus)) = setup(Some(0.4)).await else { return };
    let (events, opts) = recording();
    let err = rollout::rollout(&sim, &t, &webserver(&t, "green", gated_canary(), vec![error_rate(&prometheus.address)]), &opts).await.unwrap_err();
    let RolloutError::AnalysisFailed { analysis, gate, rolled_back_to, result, .. } = &err else { panic!("expected AnalysisFailed, got {err:?}") };
    assert_eq!((analysis.as_str(), gate.as_str(), rolled_back_to.as_str()), ("error-rate", "step 1", "blue"));
    assert_eq!(result.verdict, Verdict::Failed);
    assert!(result.measurements[0].detail.contains("does not meet `result < 0.05`"), "{:?}", result.measurements);
    // Rolled back: blue serves alone at full size, green is scaled to 0, the 50% step never ran.
    assert_eq!(rollout::active_version(&sim, "acme", "webserver").await.unwrap().as_deref(), Some("blue"));
    assert_eq!(replicas(&sim, "acme", "webserver-blue").await, Some(4));
    assert_eq!(replicas(&sim, "acme", "webserver-green").await, Some(0));
    let weights: Vec<u32> =
        events.lock().unwrap().iter().filter_map(|p| if let Progress::WeightSet { requested, .. } = p { Some(*requested) } else { None }).collect();
    assert_eq!(weights, [25]);
    // The revision records the failure and why.
    let history = rollout::history(&sim, &t, "webserver").await.unwrap();
    let rev = history.revisions.last().unwrap();
    assert_eq!(rev.version, "green");
    assert!(matches!(&rev.outcome, Outcome::Failed { reason } if reason.starts_with("analysis error-rate failed (step 1)")), "{:?}", rev.outcome);
    assert_eq!(rev.analyses.len(), 1);
    assert_eq!(rev.analyses[0].verdict, Verdict::Failed);
    assert!(history.rollout.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_canary_with_healthy_metrics_is_promoted() {
    let Some((sim, t, _exporter, prometheus)) = setup(Some(0.0)).await else { return };
    let (events, opts) = recording();
    let report = rollout::rollout(&sim, &t, &webserver(&t, "green", gated_canary(), vec![error_rate(&prometheus.address)]), &opts).await.unwrap();
    assert_eq!(report.phase, Phase::Done);
    assert_eq!(report.analyses.len(), 0, "a canary reports its analyses through the revision");
    assert_eq!(rollout::active_version(&sim, "acme", "webserver").await.unwrap().as_deref(), Some("green"));
    let finished: Vec<(String, Verdict)> = events
        .lock()
        .unwrap()
        .iter()
        .filter_map(|p| if let Progress::AnalysisFinished { name, verdict, .. } = p { Some((name.clone(), *verdict)) } else { None })
        .collect();
    assert_eq!(finished, [("error-rate".to_string(), Verdict::Passed)]);
    let history = rollout::history(&sim, &t, "webserver").await.unwrap();
    let rev = history.revisions.last().unwrap();
    assert_eq!(rev.outcome, Outcome::Succeeded);
    assert_eq!(rev.analyses[0].measurements.len(), 2, "count: 2 measurements");
    assert!(rev.analyses[0].measurements.iter().all(|m| m.verdict == Verdict::Passed && m.detail.contains("meet(s) `result < 0.05`")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_prometheus_stopped_the_canary_pauses_as_inconclusive() {
    let Some((sim, t, _exporter, mut prometheus)) = setup(Some(0.0)).await else { return };
    prometheus.stop();
    let report = rollout::rollout(&sim, &t, &webserver(&t, "green", gated_canary(), vec![error_rate(&prometheus.address)]), &options()).await.unwrap();
    assert_eq!(report.phase, Phase::Paused, "never a pass without Prometheus");
    assert_eq!(report.analyses[0].verdict, Verdict::Inconclusive);
    assert!(report.analyses[0].reason.contains("could not be queried"), "{}", report.analyses[0].reason);
    // Paused at 25%: both versions serve, nothing was rolled back; promote or abort decide.
    assert_eq!(replicas(&sim, "acme", "webserver-green").await, Some(1));
    let history = rollout::history(&sim, &t, "webserver").await.unwrap();
    assert_eq!(history.rollout.as_ref().map(|s| s.phase), Some(Phase::Paused));
    assert_eq!(history.revisions.last().unwrap().analyses[0].verdict, Verdict::Inconclusive);
    let done = rollout::promote(&sim, &t, "webserver", &options()).await.unwrap();
    assert_eq!(done.phase, Phase::Done);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_without_data_is_inconclusive_not_passed() {
    let Some((sim, t, _exporter, prometheus)) = setup(None).await else { return };
    let report = rollout::rollout(&sim, &t, &webserver(&t, "green", gated_canary(), vec![error_rate(&prometheus.address)]), &options()).await.unwrap();
    assert_eq!(report.phase, Phase::Paused);
    assert!(report.analyses[0].reason.contains("no data"), "{}", report.analyses[0].reason);
}

// ---------------------------------------------------------------- verification Job (blue/green)

const VERIFY_OK: &str = "registry.test/verify:passes";
const VERIFY_FAILS: &str = "registry.test/verify:fails";

/// The exit code of the failing verification Job on the real control plane: its pod sets
/// `KWOK_EXIT_CODE`, which testcluster/stages/pod-exit-code.yaml turns into a Failed pod with that
/// exit code (the simulated cluster fails `VERIFY_FAILS` with exit code 1 and ignores the variable).
const KWOK_EXIT_CODE: i32 = 3;

fn verified(image: &str) -> (Strategy, Vec<Analysis>) {
    let mut job = Analysis::job("smoke", image, ["sh", "-c", "curl -fsS $PREVIEW_URL/"]);
    if image == VERIFY_FAILS {
        if let Some(j) = job.job.as_mut() {
            j.env.push(EnvVar { name: "KWOK_EXIT_CODE".into(), value: Some(KWOK_EXIT_CODE.to_string()), secret: None });
        }
    }
    (Strategy::blue_green().scale_down_delay("1s").pre_promotion_analysis("smoke").into(), vec![job])
}

mod cases {
    use super::*;

    /// Returns the Job's run, as the revision holds it.
    pub async fn a_failing_verification_job_is_not_promoted(backend: &dyn Backend, name: &str, exit_code: i32) -> JobRun {
        let t = tenant(name);
        apply_tenant(backend, &t).await;
        let (strategy, analyses) = verified(VERIFY_OK);
        rollout::rollout(backend, &t, &webserver(&t, "blue", strategy, analyses), &options()).await.unwrap();
        let (strategy, analyses) = verified(VERIFY_FAILS);
        let err = rollout::rollout(backend, &t, &webserver(&t, "green", strategy, analyses), &options()).await.unwrap_err();
        let RolloutError::AnalysisFailed { analysis, gate, result, rolled_back_to, .. } = &err else { panic!("expected AnalysisFailed, got {err:?}") };
        assert_eq!((analysis.as_str(), gate.as_str(), rolled_back_to.as_str()), ("smoke", "prePromotion", "blue"));
        let job = result.measurements[0].job.clone().expect("the Job's run");
        assert!(!job.succeeded);
        assert_eq!(job.exit_code, Some(exit_code));
        assert_eq!(job.job, "webserver-smoke-r2-0");
        // Not promoted: blue still selected, green gone.
        assert_eq!(rollout::active_version(backend, name, "webserver").await.unwrap().as_deref(), Some("blue"));
        assert_eq!(replicas(backend, name, "webserver-green").await, None);
        let history = rollout::history(backend, &t, "webserver").await.unwrap();
        let rev = history.revisions.last().unwrap();
        assert!(matches!(&rev.outcome, Outcome::Failed { reason } if reason.contains("analysis smoke failed (prePromotion)")), "{:?}", rev.outcome);
        assert_eq!(rev.analyses[0].measurements[0].job.as_ref(), Some(&job), "the revision holds the Job's result");
        let _ = backend.delete(&Kind::of::<k8s_openapi::api::core::v1::Namespace>(), None, name, moorage::backend::Propagation::Background).await;
        job
    }

    pub async fn a_passing_verification_job_promotes(backend: &dyn Backend, name: &str) {
        let t = tenant(name);
        apply_tenant(backend, &t).await;
        let (strategy, analyses) = verified(VERIFY_OK);
        rollout::rollout(backend, &t, &webserver(&t, "blue", strategy.clone(), analyses.clone()), &options()).await.unwrap();
        let report = rollout::rollout(backend, &t, &webserver(&t, "green", strategy, analyses), &options()).await.unwrap();
        assert_eq!(report.phase, Phase::Done);
        assert_eq!(report.analyses.len(), 1);
        let job = report.analyses[0].measurements[0].job.clone().expect("the Job's run");
        assert!(job.succeeded, "{job:?}");
        assert_eq!(job.exit_code, Some(0));
        assert!(job.duration_seconds.is_some(), "{job:?}");
        // The Job reached the new version through the preview Service.
        let created = backend.get(&Kind::of::<k8s_openapi::api::batch::v1::Job>(), Some(name), &job.job).await.unwrap().expect("the Job is kept");
        let env = &created["spec"]["template"]["spec"]["containers"][0]["env"];
        assert_eq!(env[0]["name"], "PREVIEW_URL");
        assert_eq!(env[0]["value"], format!("http://webserver-preview.{name}.svc:8080"));
        assert_eq!(rollout::active_version(backend, name, "webserver").await.unwrap().as_deref(), Some("green"));
        let history = rollout::history(backend, &t, "webserver").await.unwrap();
        let rev = history.revisions.last().unwrap();
        assert_eq!(rev.outcome, Outcome::Succeeded);
        assert_eq!(rev.analyses[0].measurements[0].job.as_ref(), Some(&job));
        let _ = backend.delete(&Kind::of::<k8s_openapi::api::core::v1::Namespace>(), None, name, moorage::backend::Propagation::Background).await;
    }
}

mod simulated {
    use super::*;

    fn sim() -> SimulatedCluster {
        let sim = SimulatedCluster::new();
        sim.inject(ImageFailure::new(VERIFY_FAILS, Failure::CrashLoop));
        sim
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_verification_job_is_not_promoted() {
        let job = cases::a_failing_verification_job_is_not_promoted(&sim(), "acme", 1).await;
        assert_eq!((job.log_tail, job.log_note.as_deref()), (None, Some("simulated keeps no container logs")));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_passing_verification_job_promotes() {
        cases::a_passing_verification_job_promotes(&sim(), "acme").await;
    }
}

/// On the real control plane kwok completes a Job pod with exit code 0, or fails it with the exit
/// code its container's `KWOK_EXIT_CODE` names (the test cluster's pod-exit-code stage), and serves
/// a pod's log from the file a kwok `ClusterLogs` object names (through the API server, as a
/// kubelet would).
mod real {
    use super::*;
    use moorage::analysis::LOG_TAIL_LINES;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_verification_job_is_not_promoted() {
        let Some(backend) = moorage_tests::real_backend().await else { return };
        let name = format!("an-{}", moorage_tests::random_suffix());
        // The verification's output: 50 passing checks, then the failure (CRI log format, which
        // kwok reads; the API server hands moorage the text).
        let log_file = std::env::temp_dir().join(format!("moorage-{name}-verify.log"));
        let mut log: String = (0..50).map(|i| format!("2026-01-01T00:00:{i:02}.000000000Z stdout F check {i} passed\n")).collect();
        log.push_str("2026-01-01T00:00:50.000000000Z stderr F verification failed: 3 of 12 checks\n");
        std::fs::write(&log_file, log).unwrap();
        let logs_kind = Kind::custom("kwok.x-k8s.io/v1alpha1", "ClusterLogs", "clusterlogs", false);
        let logs = serde_json::json!({
            "apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "ClusterLogs", "metadata": {"name": name},
            "spec": {"selector": {"matchNamespaces": [name]}, "logs": [{"logsFile": log_file}]},
        });
        backend.apply(&[logs], &ApplyOptions::default()).await.unwrap();
        let job = cases::a_failing_verification_job_is_not_promoted(&backend, &name, KWOK_EXIT_CODE).await;
        let _ = backend.delete(&logs_kind, None, &name, moorage::backend::Propagation::Background).await;
        let _ = std::fs::remove_file(&log_file);
        assert!(job.message.starts_with("BackoffLimitExceeded"), "{}", job.message);
        assert!(job.duration_seconds.is_some(), "{job:?}");
        // The run keeps the last 40 lines of the Job's log: checks 11 to 49 and the failure.
        let tail = job.log_tail.unwrap_or_else(|| panic!("no log tail: {:?}", job.log_note));
        let lines: Vec<&str> = tail.lines().collect();
        assert_eq!(lines.len(), LOG_TAIL_LINES as usize, "{tail}");
        assert_eq!(lines[0], "check 11 passed");
        assert_eq!(lines.last(), Some(&"verification failed: 3 of 12 checks"));
        assert_eq!(job.log_note, None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_passing_verification_job_promotes() {
        let Some(backend) = moorage_tests::real_backend().await else { return };
        let name = format!("an-{}", moorage_tests::random_suffix());
        super::cases::a_passing_verification_job_promotes(&backend, &name).await;
    }
}

// ---------------------------------------------------------------- HTTP checks (blue/green)

/// A blue/green checked over HTTP against a URL served by the test (the exporter's page).
fn http_checked(url: &str, body: &str, post: bool) -> (Strategy, Vec<Analysis>) {
    let mut check = Analysis::http_url("page", url);
    if let Some(h) = check.http.as_mut() {
        h.body_contains = Some(body.to_string());
    }
    let bg = Strategy::blue_green().scale_down_delay("1s");
    let bg = if post { bg.post_promotion_analysis("page") } else { bg.pre_promotion_analysis("page") };
    (bg.into(), vec![check])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passing_http_check_promotes() {
    let exporter = Exporter::start("acme", "webserver").await.unwrap();
    let url = format!("http://127.0.0.1:{}/metrics", exporter.port);
    let sim = SimulatedCluster::new();
    let t = tenant("acme");
    apply_tenant(&sim, &t).await;
    let (strategy, analyses) = http_checked(&url, "", false);
    rollout::rollout(&sim, &t, &webserver(&t, "blue", strategy.clone(), analyses.clone()), &options()).await.unwrap();
    exporter.set_error_rate("green", 0.0);
    let (strategy, analyses) = http_checked(&url, "version=\"green\"", false);
    let report = rollout::rollout(&sim, &t, &webserver(&t, "green", strategy, analyses), &options()).await.unwrap();
    assert_eq!(report.phase, Phase::Done);
    assert_eq!(report.analyses[0].verdict, Verdict::Passed);
    assert_eq!(report.analyses[0].measurements[0].detail, format!("GET {url} answered 200"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_post_promotion_check_switches_traffic_back() {
    let exporter = Exporter::start("acme", "webserver").await.unwrap();
    let url = format!("http://127.0.0.1:{}/metrics", exporter.port);
    let sim = SimulatedCluster::new();
    let t = tenant("acme");
    apply_tenant(&sim, &t).await;
    let (strategy, analyses) = http_checked(&url, "", true);
    rollout::rollout(&sim, &t, &webserver(&t, "blue", strategy, analyses), &options()).await.unwrap();
    // The page never mentions green: the check after the switch fails.
    let (strategy, analyses) = http_checked(&url, "version=\"green\"", true);
    let (events, opts) = recording();
    let err = rollout::rollout(&sim, &t, &webserver(&t, "green", strategy, analyses), &opts).await.unwrap_err();
    let RolloutError::AnalysisFailed { gate, rolled_back_to, reason, .. } = &err else { panic!("expected AnalysisFailed, got {err:?}") };
    assert_eq!((gate.as_str(), rolled_back_to.as_str()), ("postPromotion", "blue"));
    assert!(reason.contains("does not contain \"version=\\\"green\\\"\""), "{reason}");
    let switches: Vec<String> =
        events.lock().unwrap().iter().filter_map(|p| if let Progress::TrafficSwitched { to, .. } = p { Some(to.clone()) } else { None }).collect();
    assert_eq!(switches, ["green", "blue"], "switched, then back");
    assert_eq!(rollout::active_version(&sim, "acme", "webserver").await.unwrap().as_deref(), Some("blue"));
    assert_eq!(replicas(&sim, "acme", "webserver-blue").await, Some(4), "blue was kept warm");
    assert_eq!(replicas(&sim, "acme", "webserver-green").await, None);
    let history = rollout::history(&sim, &t, "webserver").await.unwrap();
    assert!(matches!(&history.revisions.last().unwrap().outcome, Outcome::Failed { reason } if reason.starts_with("analysis page failed (postPromotion)")));
}
