//! Usage reports for capacity and billing: CPU core-hours, memory GiB-hours, storage GiB-days and
//! requests of a tenant or of the fleet over a period, from Prometheus range queries.
//!
//! Every figure is an integral over the period: each point of a range query stands for the `step`
//! that ends at it, so a quantity is `Σ value(t) × step` over the points `start + step, ..., end`.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::analysis::{Prometheus, PrometheusError};
use crate::checks::format_duration;
use crate::error::{FieldError, ValidationErrors};

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// The most points Prometheus returns for one series of a range query.
pub const MAX_POINTS: f64 = 11_000.0;

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

/// A period as a program asks for it (the bindings' arguments): `last` (ending at `end`, default
/// now) or `start` (to `end`, default now); `step` and `rate_window`, when given, replace the
/// sampling [`Period::last`] picks for the period's length.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PeriodRequest {
    /// The period's length, ending at `end`.
    pub last: Option<Duration>,
    /// Its start (unix seconds).
    pub start: Option<f64>,
    /// Its end (unix seconds).
    pub end: Option<f64>,
    /// Time between points.
    pub step: Option<Duration>,
    /// The window of `rate()` for counters.
    pub rate_window: Option<Duration>,
}

impl PeriodRequest {
    /// The period asked for, `now` being the time in unix seconds. Every problem is reported at
    /// its field (`period.start`, `period.end`, `period.step`, ...) before any query: no period,
    /// two, a time that is not a number, an end not after the start, a step of zero, longer than
    /// the period, or making more points than Prometheus answers.
    pub fn period(&self, now: f64) -> Result<Period, ValidationErrors> {
        let problem = |path: &str, message: String| ValidationErrors::one(FieldError { path: path.to_string(), message });
        let end = self.end.unwrap_or(now);
        for (path, value) in [("period.start", self.start), ("period.end", self.end)] {
            match value {
                Some(v) if !v.is_finite() => {
                    return Err(problem(path, format!("{v} is not a time; give unix seconds (is it the result of a failed conversion?)")))
                }
                _ => {}
            }
        }
        let mut period = match (self.last, self.start) {
            (Some(_), Some(_)) => return Err(problem("period", "give `last` or `start`, not both".to_string())),
            (None, None) => return Err(problem("period", "give `last` (e.g. \"3d\"), or `start` (and `end`, default now)".to_string())),
            (Some(last), None) if last.is_zero() => {
                return Err(problem("period.last", "0s is no time; give the length of the period, e.g. \"3d\"".to_string()))
            }
            (Some(last), None) => Period::last(last, end),
            (None, Some(start)) if end <= start => return Err(problem("period.end", format!("{end} is not after start ({start})"))),
            (None, Some(start)) => Period { start, ..Period::last(Duration::try_from_secs_f64(end - start).unwrap_or(Duration::MAX), end) },
        };
        if let Some(step) = self.step {
            period.step = step;
        }
        if let Some(window) = self.rate_window {
            period.rate_window = window;
        }
        let length = period.end - period.start;
        let step = period.step.as_secs_f64();
        if period.step.is_zero() {
            return Err(problem("period.step", "0s between points; give more than 0, e.g. 60 seconds".to_string()));
        }
        if step > length {
            return Err(problem(
                "period.step",
                format!("{} is longer than the period ({}): no point would fall in it", format_duration(period.step), length_text(length)),
            ));
        }
        if length / step > MAX_POINTS {
            let least = (length / MAX_POINTS).ceil();
            return Err(problem(
                "period.step",
                format!(
                    "{} makes {:.0} points over {}, and Prometheus answers at most {MAX_POINTS}; give at least {least} seconds",
                    format_duration(period.step),
                    (length / step).floor(),
                    length_text(length)
                ),
            ));
        }
        Ok(period)
    }
}

/// A period's length (seconds) as a message shows it.
fn length_text(seconds: f64) -> String {
    Duration::try_from_secs_f64(seconds).map(format_duration).unwrap_or_else(|_| format!("{seconds:e}s"))
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

    #[test]
    fn a_requested_period_is_the_core_sampling_unless_told_otherwise() {
        let three_days = Duration::from_secs(3 * 86_400);
        let last = PeriodRequest { last: Some(three_days), ..Default::default() };
        assert_eq!(last.period(1e9), Ok(Period::last(three_days, 1e9)));
        let ending = PeriodRequest { end: Some(5e8), ..last };
        assert_eq!(ending.period(1e9), Ok(Period::last(three_days, 5e8)));
        let between =
            PeriodRequest { start: Some(1e9 - 600.0), step: Some(Duration::from_secs(1)), rate_window: Some(Duration::from_secs(4)), ..Default::default() };
        assert_eq!(between.period(1e9), Ok(Period { start: 1e9 - 600.0, end: 1e9, step: Duration::from_secs(1), rate_window: Duration::from_secs(4) }));
        let defaults = PeriodRequest { start: Some(1e9 - 600.0), end: Some(1e9), ..Default::default() };
        assert_eq!(defaults.period(0.0), Ok(Period { start: 1e9 - 600.0, ..Period::last(Duration::from_secs(600), 1e9) }));
    }

    #[test]
    fn a_bad_period_names_its_field() {
        let day = Some(Duration::from_secs(86_400));
        let cases = [
            (PeriodRequest::default(), "period", "give `last` (e.g. \"3d\"), or `start` (and `end`, default now)"),
            (PeriodRequest { last: day, start: Some(1.0), ..Default::default() }, "period", "give `last` or `start`, not both"),
            (PeriodRequest { last: Some(Duration::ZERO), ..Default::default() }, "period.last", "0s is no time; give the length of the period, e.g. \"3d\""),
            (
                PeriodRequest { start: Some(f64::NAN), ..Default::default() },
                "period.start",
                "NaN is not a time; give unix seconds (is it the result of a failed conversion?)",
            ),
            (
                PeriodRequest { last: day, end: Some(f64::INFINITY), ..Default::default() },
                "period.end",
                "inf is not a time; give unix seconds (is it the result of a failed conversion?)",
            ),
            (PeriodRequest { start: Some(10.0), end: Some(10.0), ..Default::default() }, "period.end", "10 is not after start (10)"),
            (
                PeriodRequest { last: day, step: Some(Duration::ZERO), ..Default::default() },
                "period.step",
                "0s between points; give more than 0, e.g. 60 seconds",
            ),
            (
                PeriodRequest { start: Some(0.0), end: Some(60.0), step: Some(Duration::from_secs(61)), ..Default::default() },
                "period.step",
                "1m1s is longer than the period (1m): no point would fall in it",
            ),
            (
                PeriodRequest { last: Some(Duration::from_secs(3 * 86_400)), step: Some(Duration::from_secs(1)), ..Default::default() },
                "period.step",
                "1s makes 259200 points over 72h, and Prometheus answers at most 11000; give at least 24 seconds",
            ),
        ];
        for (request, path, message) in cases {
            let e = request.period(1e9).unwrap_err();
            assert_eq!(e.errors(), [FieldError { path: path.to_string(), message: message.to_string() }], "{request:?}");
        }
        let at_the_limit = PeriodRequest { last: Some(Duration::from_secs(11_000)), step: Some(Duration::from_secs(1)), ..Default::default() };
        assert!(at_the_limit.period(1e9).is_ok());
    }
}
