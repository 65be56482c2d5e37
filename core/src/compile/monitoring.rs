//! Monitoring objects: a PodMonitor per release (prometheus-operator), the tenant's alert rules
//! (PrometheusRule or a plain rule file) and its Grafana dashboard (JSON and sidecar ConfigMap).

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::dashboard::{compile_dashboard, dashboard_uid};
use crate::backend::{Backend, BackendError, Kind};
use crate::checks::parse_duration;
use crate::labels;
use crate::model::release::Release;
use crate::model::tenant::Tenant;

/// The label Grafana's dashboard sidecar looks for (value `1`).
pub const GRAFANA_DASHBOARD_LABEL: &str = "grafana_dashboard";

/// The monitoring of a tenant, compiled.
#[derive(Debug, Clone, PartialEq)]
pub struct Monitoring {
    /// Objects to apply, as JSON: PodMonitors and a PrometheusRule when prometheus-operator is
    /// installed, and the dashboard ConfigMap.
    pub objects: Vec<Value>,
    /// The alert rules as a Prometheus rule file (`groups:`), for a Prometheus without the operator.
    pub rules: Value,
    /// The Grafana dashboard (also inside the ConfigMap).
    pub dashboard: Value,
}

impl Monitoring {
    /// Writes `<tenant>.dashboard.json` and `<tenant>.rules.yaml` into `dir`; returns their paths.
    pub fn write_files(&self, dir: &Path, tenant: &str) -> std::io::Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir)?;
        let dashboard = dir.join(format!("{tenant}.dashboard.json"));
        std::fs::write(&dashboard, serde_json::to_string_pretty(&self.dashboard).map_err(std::io::Error::other)?)?;
        let rules = dir.join(format!("{tenant}.rules.yaml"));
        std::fs::write(&rules, serde_yaml::to_string(&self.rules).map_err(std::io::Error::other)?)?;
        Ok(vec![dashboard, rules])
    }
}

/// Whether prometheus-operator's CRDs (PodMonitor, PrometheusRule) are installed.
pub async fn prometheus_operator_installed(backend: &dyn Backend) -> Result<bool, BackendError> {
    let crd = Kind::of::<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition>();
    for name in ["podmonitors.monitoring.coreos.com", "prometheusrules.monitoring.coreos.com"] {
        match backend.get(&crd, None, name).await {
            Ok(Some(_)) => {}
            Ok(None) => return Ok(false),
            // A backend that serves no CRDs at all (the simulated cluster) has no operator either.
            Err(BackendError::MissingKind { .. }) => return Ok(false),
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// Compiles the monitoring of `tenant` and its `releases`. With `prometheus_operator`, releases
/// that declare metrics get a PodMonitor and the rules a PrometheusRule; without it, Prometheus
/// finds pods by the scrape annotations `compile_release` puts on them, and loads [`Monitoring::rules`].
pub fn compile_monitoring(tenant: &Tenant, releases: &[Release], prometheus_operator: bool) -> Monitoring {
    let ns = tenant.namespace();
    let mut objects = Vec::new();
    if prometheus_operator {
        objects.extend(releases.iter().filter_map(|r| pod_monitor(ns, r)));
    }
    let rules = json!({"groups": [alert_group(ns)]});
    if prometheus_operator {
        objects.push(json!({
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "PrometheusRule",
            "metadata": {"name": format!("{ns}-alerts"), "namespace": ns, "labels": labels::tenant_labels(ns)},
            "spec": rules,
        }));
    }
    let dashboard = compile_dashboard(tenant, releases);
    let mut cm_labels = labels::tenant_labels(ns);
    cm_labels.insert(GRAFANA_DASHBOARD_LABEL.to_string(), "1".to_string());
    objects.push(json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": format!("{}-dashboard", dashboard_uid(ns)), "namespace": ns, "labels": cm_labels},
        "data": {format!("{ns}.json"): serde_json::to_string_pretty(&dashboard).unwrap_or_default()},
    }));
    Monitoring { objects, rules, dashboard }
}

/// The PodMonitor of a release that declares metrics: every version's pods, labelled with
/// `tenant`, `app` and `version` (what the dashboard and the analyses query by).
fn pod_monitor(ns: &str, release: &Release) -> Option<Value> {
    let spec = release.spec();
    let m = spec.metrics.as_ref()?;
    let interval = parse_duration(&m.interval).map(|d| format!("{}s", d.as_secs().max(1))).unwrap_or_else(|_| "30s".into());
    Some(json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {"name": spec.app, "namespace": ns, "labels": labels::app_labels(ns, &spec.app)},
        "spec": {
            "selector": {"matchLabels": {labels::NAME: spec.app, labels::INSTANCE: labels::instance(ns, &spec.app)}},
            "podMetricsEndpoints": [{
                "port": m.port,
                "path": m.path,
                "interval": interval,
                // `action` spelled out (the CRD's default) so that the stored object equals the compiled one.
                "relabelings": [
                    {"action": "replace", "sourceLabels": ["__meta_kubernetes_pod_label_app_kubernetes_io_version"], "targetLabel": "version"},
                    {"action": "replace", "sourceLabels": ["__meta_kubernetes_pod_label_app_kubernetes_io_name"], "targetLabel": "app"},
                    {"action": "replace", "targetLabel": "tenant", "replacement": ns},
                ],
            }],
        },
    }))
}

/// The tenant's alerts: pods not ready, quota near its limit, backup failed, certificate expiring.
fn alert_group(ns: &str) -> Value {
    let alert = |name: &str, expr: String, wait: &str, severity: &str, summary: &str| {
        json!({
            "alert": name,
            "expr": expr,
            "for": wait,
            "labels": {"severity": severity, "tenant": ns},
            "annotations": {"summary": summary},
        })
    };
    json!({
        "name": format!("moorage-{ns}"),
        "rules": [
            alert(
                "MoorageTenantPodNotReady",
                format!("sum by (namespace, pod) (kube_pod_status_ready{{namespace=\"{ns}\", condition=\"false\"}}) > 0"),
                "10m",
                "warning",
                "Pod {{ $labels.pod }} of tenant {{ $labels.namespace }} has not been ready for 10 minutes",
            ),
            alert(
                "MoorageTenantQuotaNearLimit",
                format!("kube_resourcequota{{namespace=\"{ns}\", type=\"used\"}} / ignoring (type) (kube_resourcequota{{namespace=\"{ns}\", type=\"hard\"}} > 0) > 0.9"),
                "15m",
                "warning",
                "Tenant {{ $labels.namespace }} uses over 90% of its {{ $labels.resource }} quota",
            ),
            alert(
                "MoorageTenantBackupFailed",
                format!("sum by (namespace, job_name) (kube_job_status_failed{{namespace=\"{ns}\", job_name=~\"backup-.*\"}}) > 0"),
                "0m",
                "critical",
                "Backup job {{ $labels.job_name }} of tenant {{ $labels.namespace }} failed",
            ),
            alert(
                "MoorageTenantCertificateExpiring",
                format!("certmanager_certificate_expiration_timestamp_seconds{{namespace=\"{ns}\"}} - time() < 14 * 86400"),
                "1h",
                "warning",
                "Certificate {{ $labels.name }} of tenant {{ $labels.namespace }} expires in less than 14 days",
            ),
        ],
    })
}
