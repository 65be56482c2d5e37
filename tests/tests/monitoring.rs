//! The monitoring against the real tools: every dashboard query is accepted by a real Prometheus,
//! the alert rules by `promtool check rules`, operator detection on both backends, and
//! `monitoring::apply`: PodMonitor and PrometheusRule accepted by the real API server's validation
//! of prometheus-operator's CRDs, scrape annotations and the dashboard without them.

use std::time::Duration;

use moorage::backend::{ApplyOptions, Backend, Change, Kind, Propagation, Selector};
use moorage::compile::{compile_monitoring, prometheus_operator_installed};
use moorage::monitoring::MonitoringReport;
use moorage::rollout::{self, RolloutOptions};
use moorage::tenant::ApplyTenantOptions;
use moorage::{MetricKind, Metrics, Quota, Release, Strategy, Tenant};
use moorage_tests::prometheus::PrometheusServer;

fn setup() -> (Tenant, Vec<Release>) {
    let t = Tenant::builder("acme").quota(Quota::new().limits("4", "8Gi").pods(20)).build().unwrap();
    let erp = Release::builder("acme", "erp", "17.0.3")
        .image("odoo:17.0")
        .port("metrics", 9100)
        .metrics(Metrics::on_port("metrics").business("erp_orders_total", MetricKind::Counter, "Orders").business(
            "erp_open_invoices",
            MetricKind::Gauge,
            "Open invoices",
        ))
        .build()
        .unwrap();
    (t, vec![erp])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dashboard_query_is_valid_promql() {
    let Some(prometheus) = PrometheusServer::start(&[]).await else { return };
    let (t, releases) = setup();
    let dashboard = compile_monitoring(&t, &releases, false).dashboard;
    let client = moorage::analysis::Prometheus::new(&prometheus.address).timeout(Duration::from_secs(10));
    let mut checked = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            // $__rate_interval is Grafana's; Prometheus sees what Grafana substitutes.
            let expr = target["expr"].as_str().unwrap().replace("$__rate_interval", "5m");
            if let Err(e) = client.instant(&expr, None).await {
                panic!("panel {:?}: Prometheus refused `{expr}`: {e}", panel["title"]);
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 11, "9 panels, two of them with two queries");
}

#[test]
fn the_alert_rules_pass_promtool() {
    let (t, releases) = setup();
    let m = compile_monitoring(&t, &releases, false);
    let dir = std::env::temp_dir().join(format!("moorage-rules-{}", moorage_tests::random_suffix()));
    let files = m.write_files(&dir, "acme").unwrap();
    let promtool = std::process::Command::new("promtool").arg("check").arg("rules").arg(&files[1]).output();
    let output = match promtool {
        Ok(o) => o,
        Err(e) if !moorage_tests::cluster_required() => {
            eprintln!("skipped: no promtool ({e}); install Debian's `prometheus`");
            return;
        }
        Err(e) => panic!("promtool: {e}"),
    };
    let text = String::from_utf8_lossy(&output.stdout).to_string() + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("SUCCESS: 4 rules found"), "{text}");
    let dashboard: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&files[0]).unwrap()).unwrap();
    assert_eq!(dashboard, m.dashboard);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_is_detected_by_its_crds() {
    let sim = moorage::backend::sim::SimulatedCluster::new();
    assert!(!prometheus_operator_installed(&sim).await.unwrap(), "the simulated cluster serves no CRDs");
    // The test control plane installs prometheus-operator's CRDs at `up` (testcluster/go/crds).
    if let Some(backend) = moorage_tests::real_backend().await {
        assert!(prometheus_operator_installed(&backend).await.unwrap());
    }
}

// ---------------------------------------------------------------- applying the monitoring

fn monitored_tenant(name: &str) -> (Tenant, Release) {
    let t = Tenant::builder(name).quota(Quota::new().limits("4", "8Gi").pods(20)).build().unwrap();
    let erp = Release::builder(name, "erp", "17.0.3")
        .image("odoo:17.0")
        .replicas(2)
        .port("metrics", 9100)
        .resources(("100m", "64Mi"), ("200m", "128Mi"))
        .strategy(Strategy::blue_green())
        .metrics(Metrics::on_port("metrics").business("erp_orders_total", MetricKind::Counter, "Orders").business(
            "erp_open_invoices",
            MetricKind::Gauge,
            "Open invoices",
        ))
        .build()
        .unwrap();
    (t, erp)
}

/// The tenant applied and its release rolled out.
async fn deployed(backend: &dyn Backend, name: &str) -> (Tenant, Release) {
    let (t, erp) = monitored_tenant(name);
    moorage::tenant::apply(backend, &t, &ApplyTenantOptions::default()).await.unwrap();
    rollout::rollout(backend, &t, &erp, &RolloutOptions::with_timeout(Duration::from_secs(120))).await.unwrap();
    (t, erp)
}

fn applied(report: &MonitoringReport) -> Vec<(String, String, Change)> {
    report.objects.iter().map(|o| (o.object.kind.clone(), o.object.name.clone(), o.change)).collect()
}

fn pods_kind() -> Kind {
    Kind::of::<k8s_openapi::api::core::v1::Pod>()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_prometheus_operator_the_pods_carry_scrape_annotations_and_the_dashboard_is_applied() {
    let sim = moorage::backend::sim::SimulatedCluster::new();
    let (t, erp) = deployed(&sim, "acme").await;
    let report = moorage::monitoring::apply(&sim, &t, std::slice::from_ref(&erp)).await.unwrap();
    assert!(!report.prometheus_operator);
    assert_eq!(applied(&report), [("ConfigMap".to_string(), "moorage-acme-dashboard".to_string(), Change::Created)], "no PodMonitor, no PrometheusRule");
    let pods = sim.list(&pods_kind(), Some("acme"), &Selector::labels("app.kubernetes.io/name=erp")).await.unwrap();
    assert_eq!(pods.len(), 2);
    for pod in &pods {
        let a = &pod["metadata"]["annotations"];
        assert_eq!(
            (a["prometheus.io/scrape"].as_str(), a["prometheus.io/port"].as_str(), a["prometheus.io/path"].as_str()),
            (Some("true"), Some("9100"), Some("/metrics")),
            "{pod}"
        );
    }
    let cm =
        sim.get(&Kind::of::<k8s_openapi::api::core::v1::ConfigMap>(), Some("acme"), "moorage-acme-dashboard").await.unwrap().expect("the dashboard ConfigMap");
    assert_eq!(cm["metadata"]["labels"]["grafana_dashboard"], "1");
    let dashboard: serde_json::Value = serde_json::from_str(cm["data"]["acme.json"].as_str().unwrap()).unwrap();
    assert_eq!(dashboard, report.monitoring.dashboard);
    // The rule file is what a Prometheus without the operator loads.
    assert_eq!(report.monitoring.rules["groups"][0]["rules"].as_array().map(Vec::len), Some(4));
    let again = moorage::monitoring::apply(&sim, &t, &[erp]).await.unwrap();
    assert!(again.objects.iter().all(|o| o.change == Change::Unchanged), "{:?}", again.objects);
}

/// On the test control plane, with prometheus-operator's CRDs (generated from the operator's Go
/// types) installed: the API server validates every PodMonitor and PrometheusRule against their
/// schemas; server-side apply refuses unknown fields whatever moorage's `fieldValidation`.
mod real {
    use super::*;

    fn pod_monitor_kind() -> Kind {
        Kind::custom("monitoring.coreos.com/v1", "PodMonitor", "podmonitors", true)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn with_prometheus_operator_a_pod_monitor_and_the_alert_rules_are_applied() {
        let Some(backend) = moorage_tests::real_backend().await else { return };
        let name = format!("mon-{}", moorage_tests::random_suffix());
        let (t, erp) = deployed(&backend, &name).await;
        let report = moorage::monitoring::apply(&backend, &t, std::slice::from_ref(&erp)).await.unwrap();
        assert!(report.prometheus_operator);
        assert_eq!(
            applied(&report),
            [
                ("PodMonitor".to_string(), "erp".to_string(), Change::Created),
                ("PrometheusRule".to_string(), format!("{name}-alerts"), Change::Created),
                ("ConfigMap".to_string(), format!("moorage-{name}-dashboard"), Change::Created),
            ]
        );
        // Stored as compiled: every field was accepted by the CRD's schema.
        let pm = backend.get(&pod_monitor_kind(), Some(&name), "erp").await.unwrap().expect("the PodMonitor");
        assert_eq!(pm["spec"], report.monitoring.objects[0]["spec"]);
        let endpoint = &pm["spec"]["podMetricsEndpoints"][0];
        assert_eq!((endpoint["port"].as_str(), endpoint["path"].as_str()), (Some("metrics"), Some("/metrics")));
        // Its selector finds the release's live pods.
        let selector = pm["spec"]["selector"]["matchLabels"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap()))
            .collect::<Vec<_>>()
            .join(",");
        let pods = backend.list(&pods_kind(), Some(&name), &Selector::labels(selector)).await.unwrap();
        assert_eq!(pods.len(), 2, "the PodMonitor selects the 2 pods of erp");
        assert!(pods.iter().all(|p| p["metadata"]["labels"]["app.kubernetes.io/version"] == "17.0.3"));
        let rule_kind = Kind::custom("monitoring.coreos.com/v1", "PrometheusRule", "prometheusrules", true);
        let rule = backend.get(&rule_kind, Some(&name), &format!("{name}-alerts")).await.unwrap().expect("the PrometheusRule");
        assert_eq!(rule["spec"], report.monitoring.rules);
        let alerts: Vec<&str> = rule["spec"]["groups"][0]["rules"].as_array().unwrap().iter().map(|r| r["alert"].as_str().unwrap()).collect();
        assert_eq!(alerts, ["MoorageTenantPodNotReady", "MoorageTenantQuotaNearLimit", "MoorageTenantBackupFailed", "MoorageTenantCertificateExpiring"]);
        // Idempotent.
        let again = moorage::monitoring::apply(&backend, &t, &[erp]).await.unwrap();
        assert!(again.objects.iter().all(|o| o.change == Change::Unchanged), "{:?}", again.objects);
        // The acceptance means something: the same API server refuses a PodMonitor that does not
        // match the schema, an unknown field as well as a wrongly typed one.
        let mut unknown = report.monitoring.objects[0].clone();
        unknown["metadata"]["name"] = "erp-unknown".into();
        unknown["spec"]["podMetricsEndpoints"][0]["intervall"] = "30s".into();
        let err = backend.apply(&[unknown], &ApplyOptions::default()).await.unwrap_err();
        assert!(err.to_string().contains("intervall"), "{err}");
        let mut typed = report.monitoring.objects[0].clone();
        typed["metadata"]["name"] = "erp-typed".into();
        typed["spec"]["podMetricsEndpoints"][0]["relabelings"] = "not a list".into();
        let err = backend.apply(&[typed], &ApplyOptions::default()).await.unwrap_err();
        assert!(err.to_string().contains("relabelings"), "{err}");
        assert!(backend.get(&pod_monitor_kind(), Some(&name), "erp-unknown").await.unwrap().is_none());
        let _ = backend.delete(&Kind::of::<k8s_openapi::api::core::v1::Namespace>(), None, &name, Propagation::Background).await;
    }
}
