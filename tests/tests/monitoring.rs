//! The compiled monitoring against the real tools: every dashboard query is accepted by a real
//! Prometheus, the alert rules by `promtool check rules`, and operator detection on both backends.

use std::time::Duration;

use moorage::compile::{compile_monitoring, prometheus_operator_installed};
use moorage::{MetricKind, Metrics, Quota, Release, Tenant};
use moorage_tests::prometheus::PrometheusServer;

fn setup() -> (Tenant, Vec<Release>) {
    let t = Tenant::builder("acme").quota(Quota::new().limits("4", "8Gi").pods(20)).build().unwrap();
    let erp = Release::builder("acme", "erp", "17.0.3")
        .image("odoo:17.0")
        .port("metrics", 9100)
        .metrics(Metrics::on_port("metrics").business("erp_orders_total", MetricKind::Counter, "Orders").business("erp_open_invoices", MetricKind::Gauge, "Open invoices"))
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
async fn without_its_crds_the_operator_is_not_detected() {
    let sim = moorage::backend::sim::SimulatedCluster::new();
    assert!(!prometheus_operator_installed(&sim).await.unwrap());
    if let Some(backend) = moorage_tests::real_backend().await {
        assert!(!prometheus_operator_installed(&backend).await.unwrap());
    }
}
