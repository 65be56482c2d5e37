//! Running analyses: measurements by the Prometheus, Job and HTTP providers, and their verdict.
//!
//! An analysis takes `count` measurements, `interval` apart (backend time). More than
//! `failureLimit` failed measurements fail it; one measurement that cannot decide (no data,
//! Prometheus unreachable) makes it inconclusive at once. Provider problems never pass.

pub mod client;
mod http;
mod job;
pub mod prometheus;

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::backend::Backend;
use crate::checks::parse_duration;
use crate::model::analysis::Analysis;

pub use client::HttpError;
pub use job::{JobError, JobRun, LOG_TAIL_LINES};
pub use prometheus::{Prometheus, PrometheusError, Sample, Series};

/// What an analysis (or one measurement) concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Verdict {
    /// The new version behaves: the rollout goes on.
    Passed,
    /// The new version misbehaves: the rollout aborts and rolls back.
    Failed,
    /// The analysis could not decide (no data, provider unreachable): the rollout pauses.
    Inconclusive,
}

impl Verdict {
    /// `passed`, `failed` or `inconclusive`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Passed => "passed",
            Verdict::Failed => "failed",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

/// One measurement of an analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Measurement {
    /// When it was taken (backend time, seconds since the Unix epoch).
    pub at: u64,
    /// What it concluded.
    pub verdict: Verdict,
    /// What was seen, for people: values and the condition, the HTTP status, the Job's end.
    pub detail: String,
    /// The verification Job's run (Job provider).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<JobRun>,
}

/// The result of an analysis, as returned and recorded in the release's revision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisResult {
    /// The analysis' name.
    pub name: String,
    /// `prometheus`, `job` or `http`.
    pub provider: String,
    /// Where in the rollout it ran: `prePromotion`, `postPromotion` or `step N` of a canary.
    pub gate: String,
    /// The verdict.
    pub verdict: Verdict,
    /// Why, for people.
    pub reason: String,
    /// The measurements taken.
    pub measurements: Vec<Measurement>,
}

/// The version an analysis looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// The tenant.
    pub tenant: String,
    /// The tenant's namespace.
    pub namespace: String,
    /// The application.
    pub app: String,
    /// The new version.
    pub version: String,
    /// The revision being rolled out.
    pub revision: u32,
    /// The Service that reaches only the new version (preview or canary Service).
    pub service: String,
    /// Its port, when the release declares one.
    pub port: Option<u16>,
}

impl Subject {
    /// The new version's in-cluster URL, `http://<service>.<namespace>.svc:<port>`.
    pub fn service_url(&self) -> String {
        match self.port {
            Some(p) => format!("http://{}.{}.svc:{p}", self.service, self.namespace),
            None => format!("http://{}.{}.svc", self.service, self.namespace),
        }
    }

    /// `text` with `{{tenant}}`, `{{app}}`, `{{version}}` and `{{namespace}}` replaced.
    pub fn substitute(&self, text: &str) -> String {
        crate::model::analysis::substitute(text, &self.tenant, &self.app, &self.version, &self.namespace)
    }
}

/// Runs `analysis` on `subject` and returns its result (never an error: a provider that fails to
/// answer makes the result inconclusive, with the reason). `gate` says where in the rollout it runs.
pub async fn run(backend: &dyn Backend, analysis: &Analysis, subject: &Subject, gate: &str) -> AnalysisResult {
    let interval = parse_duration(&analysis.interval).unwrap_or(Duration::from_secs(30));
    let mut measurements = Vec::new();
    let mut failures = 0u32;
    let result = |verdict, reason: String, measurements| AnalysisResult {
        name: analysis.name.clone(),
        provider: analysis.provider().to_string(),
        gate: gate.to_string(),
        verdict,
        reason,
        measurements,
    };
    for i in 0..analysis.count.max(1) {
        if i > 0 {
            backend.sleep(interval).await;
        }
        let m = measure(backend, analysis, subject, i).await;
        let (verdict, detail) = (m.verdict, m.detail.clone());
        measurements.push(m);
        match verdict {
            Verdict::Inconclusive => {
                return result(Verdict::Inconclusive, format!("measurement {} of {} was inconclusive: {detail}", i + 1, analysis.count), measurements)
            }
            Verdict::Failed => {
                failures += 1;
                if failures > analysis.failure_limit {
                    let reason = format!("{failures} of {} measurement(s) failed (limit {}); last: {detail}", i + 1, analysis.failure_limit);
                    return result(Verdict::Failed, reason, measurements);
                }
            }
            Verdict::Passed => {}
        }
    }
    let last = measurements.last().map(|m| m.detail.clone()).unwrap_or_default();
    let reason = format!("{} measurement(s), {failures} failed (limit {}); last: {last}", measurements.len(), analysis.failure_limit);
    result(Verdict::Passed, reason, measurements)
}

async fn measure(backend: &dyn Backend, analysis: &Analysis, subject: &Subject, index: u32) -> Measurement {
    let at = backend.now().as_secs();
    let measurement = |verdict, detail: String| Measurement { at, verdict, detail, job: None };
    if let Some(p) = &analysis.prometheus {
        let (verdict, detail) = measure_prometheus(p, subject).await;
        return measurement(verdict, detail);
    }
    if let Some(j) = &analysis.job {
        return job::measure(backend, &analysis.name, j, subject, index, at).await;
    }
    if let Some(h) = &analysis.http {
        let (verdict, detail) = http::measure(h, subject).await;
        return measurement(verdict, detail);
    }
    measurement(Verdict::Inconclusive, "the analysis has no provider".into())
}

async fn measure_prometheus(p: &crate::model::analysis::PrometheusAnalysis, subject: &Subject) -> (Verdict, String) {
    let condition = match crate::model::analysis::Condition::parse(&p.success_condition) {
        Ok(c) => c,
        Err(e) => return (Verdict::Inconclusive, e),
    };
    let timeout = parse_duration(&p.timeout).unwrap_or(Duration::from_secs(10));
    let query = subject.substitute(&p.query);
    let samples = match Prometheus::new(&p.address).timeout(timeout).instant(&query, None).await {
        Ok(s) => s,
        Err(e) => return (Verdict::Inconclusive, e.to_string()),
    };
    if samples.is_empty() {
        return (Verdict::Inconclusive, format!("no data: `{query}` returned no series"));
    }
    let shown = samples.iter().map(describe_sample).collect::<Vec<_>>().join(", ");
    if samples.iter().any(|s| s.value.is_nan()) {
        return (Verdict::Inconclusive, format!("no data: `{query}` returned NaN ({shown})"));
    }
    match samples.iter().find(|s| !condition.holds(s.value)) {
        Some(bad) => (Verdict::Failed, format!("{} does not meet `{}`", describe_sample(bad), p.success_condition)),
        None => (Verdict::Passed, format!("{shown} meet(s) `{}`", p.success_condition)),
    }
}

fn describe_sample(s: &Sample) -> String {
    if s.labels.is_empty() {
        format!("{}", s.value)
    } else {
        let labels: Vec<String> = s.labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
        format!("{} {{{}}}", s.value, labels.join(","))
    }
}
