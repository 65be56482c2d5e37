//! Usage reports against a real Prometheus scraping an exporter whose usage the test sets, compared
//! with the figures computed by hand.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use moorage::analysis::Prometheus;
use moorage::usage::{fleet_usage, tenant_usage, Period};
use moorage_tests::prometheus::{Exporter, PrometheusServer, REQUESTS_PER_SECOND};

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

fn close(actual: f64, expected: f64, tolerance: f64, what: &str) {
    let err = if expected == 0.0 { actual.abs() } else { ((actual - expected) / expected).abs() };
    assert!(err <= tolerance, "{what}: {actual} is not within {}% of {expected}", tolerance * 100.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_usage_report_matches_the_figures_computed_by_hand() {
    // acme: two pods (0.5 + 0.25 cores, 512 + 256 MiB), two 5 GiB volumes, 100 requests/s.
    // globex: one pod (1 core, 1 GiB), one 2 GiB volume, no requests.
    let exporter = Exporter::start("acme", "webserver").await.unwrap();
    exporter.set_error_rate("blue", 0.1);
    exporter.set_usage("acme", "web-1", 0.5, 512.0 * 1024.0 * 1024.0, 5.0 * GIB);
    exporter.set_usage("acme", "web-2", 0.25, 256.0 * 1024.0 * 1024.0, 5.0 * GIB);
    exporter.set_usage("globex", "bi-1", 1.0, GIB, 2.0 * GIB);
    let Some(prometheus) = PrometheusServer::start(&[format!("127.0.0.1:{}", exporter.port)]).await else { return };
    // Enough scrapes for every point of the period to see a full rate window.
    prometheus.wait_for_data("sum(rate(container_cpu_usage_seconds_total[4s]))", Duration::from_secs(60)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64().floor();
    // Six one-second points, ending two seconds ago (the last scrape is in).
    let period = Period { start: now - 8.0, end: now - 2.0, step: Duration::from_secs(1), rate_window: Duration::from_secs(4) };
    let client = Prometheus::new(&prometheus.address);
    let seconds = 6.0;

    let acme = tenant_usage(&client, "acme", period).await.unwrap();
    // By hand: cores × seconds / 3600; GiB × seconds / 3600; GiB × seconds / 86400; requests/s × seconds.
    close(acme.cpu_core_hours, 0.75 * seconds / 3600.0, 0.01, "acme CPU core-hours");
    close(acme.memory_gib_hours, 0.75 * seconds / 3600.0, 1e-9, "acme memory GiB-hours");
    close(acme.storage_gib_days, 10.0 * seconds / 86_400.0, 1e-9, "acme storage GiB-days");
    close(acme.requests, REQUESTS_PER_SECOND * seconds, 0.01, "acme requests (200s and 500s)");

    let fleet = fleet_usage(&client, &["acme".to_string(), "globex".to_string(), "initech".to_string()], period).await.unwrap();
    let globex = fleet.tenants["globex"];
    close(globex.cpu_core_hours, 1.0 * seconds / 3600.0, 0.01, "globex CPU core-hours");
    close(globex.memory_gib_hours, 1.0 * seconds / 3600.0, 1e-9, "globex memory GiB-hours");
    close(globex.storage_gib_days, 2.0 * seconds / 86_400.0, 1e-9, "globex storage GiB-days");
    assert_eq!(globex.requests, 0.0);
    assert_eq!(fleet.tenants["initech"], moorage::usage::Usage::default(), "a tenant without data uses nothing");
    close(fleet.tenants["acme"].memory_gib_hours, acme.memory_gib_hours, 1e-9, "the same tenant in the fleet report");
    close(fleet.total.memory_gib_hours, 1.75 * seconds / 3600.0, 1e-9, "fleet memory GiB-hours");
    close(fleet.total.storage_gib_days, 12.0 * seconds / 86_400.0, 1e-9, "fleet storage GiB-days");
    close(fleet.total.cpu_core_hours, 1.75 * seconds / 3600.0, 0.01, "fleet CPU core-hours");
}
