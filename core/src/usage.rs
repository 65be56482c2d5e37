//! Usage reports for capacity and billing: CPU core-hours, memory GiB-hours, storage GiB-days and
//! requests of a tenant or of the fleet over a period, from Prometheus range queries.
//!
//! Every figure is an integral over the period: each point of a range query stands for the `step`
//! that ends at it, so a quantity is `Σ value(t) × step` over the points `start + step, ..., end`.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::analysis::{Prometheus, PrometheusError};

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// Adds an integrated value to the field of [`Usage`] a query measures.
type AddTo = fn(&mut Usage, f64);

/// The period of a report and how finely it is sampled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Period {
    /// Start (unix seconds, exclusive: the first point is `start + step`).
    pub start: f64,
    /// End (unix seconds, inclusive).
    pub end: f64,
    /// Time between points.
    pub step: Duration,
    /// The window of `rate()` for counters (at least a few scrape intervals).
    pub rate_window: Duration,
}

impl Period {
    /// The last `length` before `now` (unix seconds), in at most 10,000 points (Prometheus
    /// answers at most 11,000), at least a minute apart, with a 5-minute rate window.
    pub fn last(length: Duration, now: f64) -> Period {
        let step = (length.as_secs() / 10_000).max(60);
        Period {
            start: now - length.as_secs_f64(),
            end: now,
            step: Duration::from_secs(step),
            rate_window: Duration::from_secs(300).max(Duration::from_secs(step)),
        }
    }
}

/// What a tenant (or the fleet) used over a period.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    /// CPU used, in core-hours.
    pub cpu_core_hours: f64,
    /// Memory used (working set), in GiB-hours.
    pub memory_gib_hours: f64,
    /// Volume capacity held, in GiB-days.
    pub storage_gib_days: f64,
    /// HTTP requests served.
    pub requests: f64,
}

impl Usage {
    fn add(&mut self, other: &Usage) {
        self.cpu_core_hours += other.cpu_core_hours;
        self.memory_gib_hours += other.memory_gib_hours;
        self.storage_gib_days += other.storage_gib_days;
        self.requests += other.requests;
    }
}

/// A usage report: per tenant and in total.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageReport {
    /// The period.
    pub period: Period,
    /// Usage per tenant (namespace), for every tenant asked for (zero when no data).
    pub tenants: BTreeMap<String, Usage>,
    /// The sum over the tenants.
    pub total: Usage,
}

/// The usage of one tenant over `period`.
pub async fn tenant_usage(prometheus: &Prometheus, tenant: &str, period: Period) -> Result<Usage, PrometheusError> {
    let report = fleet_usage(prometheus, &[tenant.to_string()], period).await?;
    Ok(report.total)
}

/// The usage of each of `tenants` over `period`, with the fleet's total: four range queries in all.
pub async fn fleet_usage(prometheus: &Prometheus, tenants: &[String], period: Period) -> Result<UsageReport, PrometheusError> {
    let mut report = UsageReport { period, tenants: tenants.iter().map(|t| (t.clone(), Usage::default())).collect(), total: Usage::default() };
    if tenants.is_empty() {
        return Ok(report);
    }
    let ns = format!("namespace=~\"^({})$\"", tenants.iter().map(|t| regex_escape(t)).collect::<Vec<_>>().join("|"));
    let w = format!("{}s", period.rate_window.as_secs().max(1));
    let step = period.step.as_secs_f64();
    let queries: [(String, f64, AddTo); 4] = [
        (format!("sum by (namespace) (rate(container_cpu_usage_seconds_total{{{ns}, container!=\"\"}}[{w}]))"), step / 3600.0, |u, v| u.cpu_core_hours += v),
        (format!("sum by (namespace) (container_memory_working_set_bytes{{{ns}, container!=\"\"}})"), step / GIB / 3600.0, |u, v| u.memory_gib_hours += v),
        (format!("sum by (namespace) (kubelet_volume_stats_capacity_bytes{{{ns}}})"), step / GIB / 86_400.0, |u, v| u.storage_gib_days += v),
        (format!("sum by (namespace) (rate(http_requests_total{{{ns}}}[{w}]))"), step, |u, v| u.requests += v),
    ];
    for (query, scale, add) in queries {
        // The first point is one step after the start: each point stands for the step ending at it.
        for series in prometheus.range(&query, period.start + step, period.end, period.step).await? {
            let Some(usage) = series.labels.get("namespace").and_then(|n| report.tenants.get_mut(n)) else { continue };
            let sum: f64 = series.points.iter().map(|(_, v)| v).filter(|v| v.is_finite()).sum();
            add(usage, sum * scale);
        }
    }
    let mut total = Usage::default();
    for u in report.tenants.values() {
        total.add(u);
    }
    report.total = total;
    Ok(report)
}

/// Escapes the regex metacharacters of a namespace name (only `.` and `-` occur in valid ones).
fn regex_escape(s: &str) -> String {
    s.replace('.', "\\\\.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_periods_stay_under_prometheus_point_limit() {
        let p = Period::last(Duration::from_secs(300 * 86_400), 1e9);
        let points = (p.end - p.start) / p.step.as_secs_f64();
        assert!(points <= 10_000.0, "{points}");
        let short = Period::last(Duration::from_secs(3 * 86_400), 1e9);
        assert_eq!(short.step, Duration::from_secs(60));
    }
}
