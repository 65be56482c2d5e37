//! The tenant's Grafana dashboard: CPU, memory, disk I/O and network per pod and per version,
//! quota use, and one panel per declared business metric (Grafana's dashboard JSON model).

use serde_json::{json, Value};

use crate::model::metrics::MetricKind;
use crate::model::release::Release;
use crate::model::tenant::Tenant;

/// The `schemaVersion` of Grafana's dashboard model the JSON follows.
pub const GRAFANA_SCHEMA_VERSION: u32 = 39;

/// The Grafana unique id of a tenant's dashboard.
pub fn dashboard_uid(tenant: &str) -> String {
    let mut uid = format!("moorage-{tenant}");
    uid.truncate(40);
    uid
}

/// Pod CPU, memory, disk and network series of a namespace, joined to their pod's version label.
fn by_version(expr: &str, ns: &str) -> String {
    format!(
        "sum by (version) ({expr} * on (namespace, pod) group_left (version) label_replace(kube_pod_labels{{namespace=\"{ns}\"}}, \"version\", \"$1\", \"label_app_kubernetes_io_version\", \"(.*)\"))"
    )
}

struct Panel {
    title: String,
    kind: &'static str,
    unit: &'static str,
    width: u32,
    targets: Vec<(String, String)>,
}

impl Panel {
    fn series(title: impl Into<String>, unit: &'static str, targets: Vec<(String, String)>) -> Self {
        Panel { title: title.into(), kind: "timeseries", unit, width: 12, targets }
    }
}

/// The dashboard of `tenant` for its `releases`.
pub fn compile_dashboard(tenant: &Tenant, releases: &[Release]) -> Value {
    let ns = tenant.namespace();
    let sel = format!("namespace=\"{ns}\", container!=\"\"");
    let rate = |metric: &str| format!("rate({metric}{{{sel}}}[$__rate_interval])");
    let cpu = rate("container_cpu_usage_seconds_total");
    let memory = format!("container_memory_working_set_bytes{{{sel}}}");
    let net = |metric: &str| format!("rate({metric}{{namespace=\"{ns}\"}}[$__rate_interval])");
    let mut panels = vec![
        Panel::series("CPU per pod", "short", vec![(format!("sum by (pod) ({cpu})"), "{{pod}}".into())]),
        Panel::series("CPU per version", "short", vec![(by_version(&cpu, ns), "{{version}}".into())]),
        Panel::series("Memory per pod", "bytes", vec![(format!("sum by (pod) ({memory})"), "{{pod}}".into())]),
        Panel::series("Memory per version", "bytes", vec![(by_version(&memory, ns), "{{version}}".into())]),
        Panel::series(
            "Disk I/O per pod",
            "Bps",
            vec![
                (format!("sum by (pod) ({})", rate("container_fs_reads_bytes_total")), "{{pod}} read".into()),
                (format!("sum by (pod) ({})", rate("container_fs_writes_bytes_total")), "{{pod}} write".into()),
            ],
        ),
        Panel::series(
            "Network per pod",
            "Bps",
            vec![
                (format!("sum by (pod) ({})", net("container_network_receive_bytes_total")), "{{pod}} in".into()),
                (format!("sum by (pod) ({})", net("container_network_transmit_bytes_total")), "{{pod}} out".into()),
            ],
        ),
        Panel {
            title: "Quota use".into(),
            kind: "bargauge",
            unit: "percentunit",
            width: 24,
            targets: vec![(
                format!(
                    "kube_resourcequota{{namespace=\"{ns}\", type=\"used\"}} / ignoring (type) (kube_resourcequota{{namespace=\"{ns}\", type=\"hard\"}} > 0)"
                ),
                "{{resource}}".into(),
            )],
        },
    ];
    for release in releases {
        let Some(m) = &release.spec().metrics else { continue };
        for b in &m.business {
            let series = format!("{}{{namespace=\"{ns}\", app=\"{}\"}}", b.name, release.app());
            let expr = match b.kind {
                MetricKind::Counter => format!("sum by (version) (rate({series}[$__rate_interval]))"),
                MetricKind::Gauge => format!("sum by (version) ({series})"),
            };
            let title = format!("{}: {}", release.app(), b.title.as_deref().unwrap_or(&b.name));
            panels.push(Panel { title, kind: "timeseries", unit: unit_of(&b.unit), width: 12, targets: vec![(expr, "{{version}}".into())] });
        }
    }
    json!({
        "uid": dashboard_uid(tenant.name()),
        "title": format!("moorage / {}", tenant.name()),
        "tags": ["moorage", format!("tenant:{}", tenant.name())],
        "timezone": "browser",
        "editable": true,
        "schemaVersion": GRAFANA_SCHEMA_VERSION,
        "version": 1,
        "refresh": "1m",
        "time": {"from": "now-1h", "to": "now"},
        "templating": {"list": [{
            "name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus",
            "current": {}, "hide": 0, "refresh": 1, "options": [],
        }]},
        "annotations": {"list": []},
        "panels": layout(panels),
    })
}

/// Grafana's built-in units moorage passes through; anything else shows as `short`.
fn unit_of(unit: &str) -> &'static str {
    const KNOWN: [&str; 10] = ["short", "percent", "percentunit", "bytes", "s", "ms", "reqps", "ops", "currencyEUR", "currencyUSD"];
    KNOWN.iter().find(|k| **k == unit).copied().unwrap_or("short")
}

/// Places panels left to right on Grafana's 24-column grid, 8 rows high, and numbers them.
fn layout(panels: Vec<Panel>) -> Vec<Value> {
    let (mut x, mut y) = (0u32, 0u32);
    let mut out = Vec::new();
    for (i, p) in panels.into_iter().enumerate() {
        if x + p.width > 24 {
            x = 0;
            y += 8;
        }
        let targets: Vec<Value> = p
            .targets
            .iter()
            .enumerate()
            .map(|(j, (expr, legend))| {
                json!({"refId": ref_id(j), "expr": expr, "legendFormat": legend, "range": true, "datasource": {"type": "prometheus", "uid": "${datasource}"}})
            })
            .collect();
        out.push(json!({
            "id": i + 1,
            "type": p.kind,
            "title": p.title,
            "gridPos": {"h": 8, "w": p.width, "x": x, "y": y},
            "datasource": {"type": "prometheus", "uid": "${datasource}"},
            "fieldConfig": {"defaults": {"unit": p.unit}, "overrides": []},
            "options": {},
            "targets": targets,
        }));
        x += p.width;
    }
    out
}

fn ref_id(i: usize) -> String {
    char::from(b'A' + u8::try_from(i % 26).unwrap_or(0)).to_string()
}
