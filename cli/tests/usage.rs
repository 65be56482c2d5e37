//! `moorage usage` against a real Prometheus (Debian's, started by the test) scraping an exporter
//! whose usage the test sets: the CLI prints the core's usage report (`moorage::usage`) as it is.

mod support;

use std::time::Duration;

use moorage_tests::prometheus::{Exporter, PrometheusServer};
use support::Workspace;

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_reports_what_prometheus_measured_per_tenant_and_in_total() {
    let exporter = Exporter::start("acme", "webserver").await.expect("exporter");
    exporter.set_usage("acme", "web-1", 0.5, 512.0 * 1024.0 * 1024.0, 5.0 * GIB);
    exporter.set_usage("globex", "bi-1", 1.0, GIB, 2.0 * GIB);
    let Some(prometheus) = PrometheusServer::start(&[format!("127.0.0.1:{}", exporter.port)]).await else { return };
    prometheus.wait_for_data("sum(container_memory_working_set_bytes)", Duration::from_secs(60)).await.expect("scraped");
    tokio::time::sleep(Duration::from_secs(3)).await;

    let ws = Workspace::simulated();
    let report = ws.json(&["usage", "acme", "--prometheus", &prometheus.address, "--last", "10m"]);
    let acme = &report["tenants"]["acme"];
    assert!(acme["memoryGibHours"].as_f64().is_some_and(|m| m > 0.0), "{report}");
    assert!(acme["storageGibDays"].as_f64().is_some_and(|s| s > 0.0), "{report}");
    assert_eq!(report["total"], *acme, "one tenant: the total is the tenant");
    assert!(report["tenants"].get("globex").is_none(), "only the tenant asked for: {report}");
    // The human table names the tenant and the columns.
    let (table, _) = ws.run(&["usage", "acme", "--prometheus", &prometheus.address, "--last", "10m"], 0);
    assert!(table.contains("acme") && table.to_lowercase().contains("memory gib-hours"), "{table}");
}
