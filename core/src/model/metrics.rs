//! Business metrics: what an application exposes for Prometheus (port, path, the metrics that matter).

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::Problems;
use crate::model::release::Port;

/// The metrics endpoint of a release and the business metrics it exposes; each metric gets a
/// panel on the tenant's dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Metrics {
    /// The name of the release port serving the metrics (one of `ports`).
    pub port: String,
    /// The path of the metrics endpoint.
    #[serde(default = "default_path")]
    pub path: String,
    /// How often Prometheus scrapes it (`"30s"`).
    #[serde(default = "default_interval")]
    pub interval: String,
    /// The business metrics worth a dashboard panel.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub business: Vec<BusinessMetric>,
}

fn default_path() -> String {
    "/metrics".into()
}
fn default_interval() -> String {
    "30s".into()
}

/// One business metric, e.g. `erp_orders_total` (a counter, shown as a rate).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BusinessMetric {
    /// The Prometheus metric name.
    pub name: String,
    /// The panel's title (default: the name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// A counter (shown as a per-second rate) or a gauge (shown as is).
    #[serde(default)]
    pub kind: MetricKind,
    /// The Grafana unit of the panel (`short`, `percent`, `bytes`, `currencyEUR`, ...).
    #[serde(default = "default_unit")]
    pub unit: String,
}

fn default_unit() -> String {
    "short".into()
}

/// The type of a Prometheus metric.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum MetricKind {
    /// Only goes up; shown as a per-second rate.
    #[default]
    Counter,
    /// Goes up and down; shown as is.
    Gauge,
}

impl Metrics {
    /// Metrics on the port named `port` at `/metrics`, scraped every 30 s.
    pub fn on_port(port: impl Into<String>) -> Self {
        Metrics { port: port.into(), path: default_path(), interval: default_interval(), business: Vec::new() }
    }

    /// Adds a business metric.
    pub fn business(mut self, name: impl Into<String>, kind: MetricKind, title: impl Into<String>) -> Self {
        self.business.push(BusinessMetric { name: name.into(), title: Some(title.into()), kind, unit: default_unit() });
        self
    }

    pub(crate) fn validate(&self, p: &mut Problems, path: &str, ports: &[Port]) {
        if !ports.iter().any(|port| port.name == self.port) {
            let names: Vec<&str> = ports.iter().map(|port| port.name.as_str()).collect();
            let known = if names.is_empty() { "the release declares no ports".to_string() } else { format!("ports: {}", names.join(", ")) };
            p.add(format!("{path}.port"), format!("{:?} is not a port of this release ({known})", self.port));
        }
        if !self.path.starts_with('/') || self.path.chars().any(|c| c.is_whitespace() || c.is_control()) {
            p.add(format!("{path}.path"), format!("{:?} is not an absolute URL path such as \"/metrics\"", self.path));
        }
        p.check(|| format!("{path}.interval"), crate::checks::parse_duration(&self.interval).map(|_| ()));
        let mut seen = BTreeSet::new();
        for (i, m) in self.business.iter().enumerate() {
            let mpath = format!("{path}.business[{i}]");
            if !is_metric_name(&m.name) {
                p.add(format!("{mpath}.name"), format!("{:?} is not a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)", m.name));
            } else if !seen.insert(m.name.as_str()) {
                p.add(format!("{mpath}.name"), format!("{:?} is listed twice", m.name));
            }
            if m.unit.is_empty() || !m.unit.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '/' | ':' | '.' | '-')) {
                p.add(format!("{mpath}.unit"), format!("{:?} is not a Grafana unit such as \"short\" or \"percent\"", m.unit));
            }
        }
    }
}

/// Whether `name` is a valid Prometheus metric name.
pub fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':') && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}
