//! Monitoring objects: the tenant dashboard (snapshot and structure), alert rules, PodMonitors.

use std::collections::BTreeSet;

use moorage::compile::{compile_monitoring, GRAFANA_DASHBOARD_LABEL, GRAFANA_SCHEMA_VERSION};
use moorage::{MetricKind, Metrics, Quota, Release, Tenant};
use serde_json::Value;

fn tenant() -> Tenant {
    Tenant::builder("acme").quota(Quota::new().limits("4", "8Gi").pods(20)).build().unwrap()
}

/// An ERP with two business metrics (a counter and a gauge) and a web server without metrics.
fn releases(t: &Tenant) -> Vec<Release> {
    let erp = Release::builder(t.name(), "erp", "17.0.3")
        .image("odoo:17.0")
        .port("http", 8069)
        .port("metrics", 9100)
        .metrics(Metrics::on_port("metrics").business("erp_orders_total", MetricKind::Counter, "Orders").business(
            "erp_open_invoices",
            MetricKind::Gauge,
            "Open invoices",
        ))
        .build()
        .unwrap();
    let web = Release::builder(t.name(), "webserver", "blue").image("nginxinc/nginx-unprivileged:1.27").port("http", 8080).build().unwrap();
    vec![erp, web]
}

#[test]
fn the_dashboard_of_a_tenant_with_two_business_metrics() {
    let t = tenant();
    let m = compile_monitoring(&t, &releases(&t), true);
    insta::assert_json_snapshot!("acme_dashboard", m.dashboard);
    let titles: Vec<&str> = m.dashboard["panels"].as_array().unwrap().iter().map(|p| p["title"].as_str().unwrap()).collect();
    assert_eq!(
        titles,
        [
            "CPU per pod",
            "CPU per version",
            "Memory per pod",
            "Memory per version",
            "Disk I/O per pod",
            "Network per pod",
            "Quota use",
            "erp: Orders",
            "erp: Open invoices"
        ]
    );
    let expr = |i: usize| m.dashboard["panels"][i]["targets"][0]["expr"].as_str().unwrap().to_string();
    assert_eq!(expr(7), r#"sum by (version) (rate(erp_orders_total{namespace="acme", app="erp"}[$__rate_interval]))"#);
    assert_eq!(expr(8), r#"sum by (version) (erp_open_invoices{namespace="acme", app="erp"})"#);
}

/// What Grafana needs to load a dashboard: a uid, the schema version, unique panel ids on a
/// 24-column grid without overlaps, targets with unique refIds, datasources that are variables.
#[test]
fn the_dashboard_is_structurally_valid_grafana_json() {
    let t = tenant();
    let d = compile_monitoring(&t, &releases(&t), false).dashboard;
    assert!(d["uid"].as_str().is_some_and(|u| !u.is_empty() && u.len() <= 40));
    assert!(d["title"].is_string());
    assert_eq!(d["schemaVersion"], GRAFANA_SCHEMA_VERSION);
    let vars: BTreeSet<String> = d["templating"]["list"].as_array().unwrap().iter().map(|v| format!("${{{}}}", v["name"].as_str().unwrap())).collect();
    let panels = d["panels"].as_array().unwrap();
    let mut ids = BTreeSet::new();
    let mut cells = BTreeSet::new();
    for p in panels {
        assert!(ids.insert(p["id"].as_u64().unwrap()), "duplicate id in {p}");
        assert!(matches!(p["type"].as_str(), Some("timeseries" | "bargauge")));
        let g = &p["gridPos"];
        let (x, y, w, h) = (g["x"].as_u64().unwrap(), g["y"].as_u64().unwrap(), g["w"].as_u64().unwrap(), g["h"].as_u64().unwrap());
        assert!(w >= 1 && x + w <= 24 && h >= 1, "{g}");
        for cx in x..x + w {
            for cy in y..y + h {
                assert!(cells.insert((cx, cy)), "panels overlap at ({cx}, {cy})");
            }
        }
        assert!(vars.contains(p["datasource"]["uid"].as_str().unwrap()), "datasource of {} is not a variable", p["title"]);
        let targets = p["targets"].as_array().unwrap();
        assert!(!targets.is_empty());
        let refs: BTreeSet<&str> = targets.iter().map(|t| t["refId"].as_str().unwrap()).collect();
        assert_eq!(refs.len(), targets.len());
        for t in targets {
            let e = t["expr"].as_str().unwrap();
            assert_eq!(e.matches('(').count(), e.matches(')').count(), "{e}");
            assert_eq!(e.matches('{').count(), e.matches('}').count(), "{e}");
        }
    }
    // The JSON round-trips as text (what the file and the ConfigMap hold).
    let text = serde_json::to_string_pretty(&d).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), d);
}

#[test]
fn with_the_operator_releases_with_metrics_get_a_pod_monitor_and_the_tenant_a_rule() {
    let t = tenant();
    let m = compile_monitoring(&t, &releases(&t), true);
    let kinds: Vec<(&str, &str)> = m.objects.iter().map(|o| (o["kind"].as_str().unwrap(), o["metadata"]["name"].as_str().unwrap())).collect();
    assert_eq!(kinds, [("PodMonitor", "erp"), ("PrometheusRule", "acme-alerts"), ("ConfigMap", "moorage-acme-dashboard")]);
    let pm = &m.objects[0]["spec"];
    assert_eq!(pm["podMetricsEndpoints"][0]["port"], "metrics");
    assert_eq!(pm["selector"]["matchLabels"]["app.kubernetes.io/instance"], "acme-erp");
    let cm = &m.objects[2];
    assert_eq!(cm["metadata"]["labels"][GRAFANA_DASHBOARD_LABEL], "1");
    assert_eq!(serde_json::from_str::<Value>(cm["data"]["acme.json"].as_str().unwrap()).unwrap(), m.dashboard);
    let alerts: Vec<&str> = m.rules["groups"][0]["rules"].as_array().unwrap().iter().map(|r| r["alert"].as_str().unwrap()).collect();
    assert_eq!(alerts, ["MoorageTenantPodNotReady", "MoorageTenantQuotaNearLimit", "MoorageTenantBackupFailed", "MoorageTenantCertificateExpiring"]);
    assert_eq!(m.objects[1]["spec"], m.rules);
}

#[test]
fn without_the_operator_pods_carry_scrape_annotations() {
    let t = tenant();
    let rs = releases(&t);
    let m = compile_monitoring(&t, &rs, false);
    assert_eq!(m.objects.len(), 1, "only the dashboard ConfigMap");
    let compiled = moorage::compile_release(&t, &rs[0]).unwrap();
    let deployment = compiled.objects.iter().find(|o| o.kind() == "Deployment").unwrap();
    let v = serde_json::to_value(deployment).unwrap();
    let ann = &v["spec"]["template"]["metadata"]["annotations"];
    assert_eq!(
        (ann["prometheus.io/scrape"].as_str(), ann["prometheus.io/port"].as_str(), ann["prometheus.io/path"].as_str()),
        (Some("true"), Some("9100"), Some("/metrics"))
    );
}

#[test]
fn metrics_are_checked_with_their_paths() {
    let err = Release::builder("acme", "erp", "1")
        .image("odoo:17.0")
        .port("http", 8069)
        .metrics(Metrics::on_port("metrics").business("erp-orders", MetricKind::Counter, "Orders"))
        .build()
        .unwrap_err();
    let paths: Vec<&str> = err.errors().iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["release.metrics.port", "release.metrics.business[0].name"], "{err}");
    assert!(err.to_string().contains("\"metrics\" is not a port of this release (ports: http)"), "{err}");
}
