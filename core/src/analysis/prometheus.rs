//! The Prometheus provider: instant and range queries over the HTTP API, with timeouts and retries.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use super::client::{self, encode_component, HttpError};

/// Why a Prometheus query got no result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrometheusError {
    /// Prometheus could not be reached (after the retries).
    #[error("Prometheus at {address} could not be queried after {attempts} attempt(s): {source}")]
    Unreachable {
        /// The server.
        address: String,
        /// How many attempts were made.
        attempts: u32,
        /// The last transport error.
        source: HttpError,
    },
    /// Prometheus refused the query (bad PromQL, too many samples, ...).
    #[error("Prometheus refused the query ({error_type}): {error}")]
    Refused {
        /// Prometheus' `errorType`.
        error_type: String,
        /// Prometheus' `error`.
        error: String,
    },
    /// The answer is not what the Prometheus HTTP API returns.
    #[error("Prometheus answered with HTTP {status} and a body that is not an API answer: {detail}")]
    Malformed {
        /// The HTTP status.
        status: u16,
        /// What was wrong.
        detail: String,
    },
}

/// One series of an instant query: its labels and value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The series' labels.
    pub labels: BTreeMap<String, String>,
    /// The value (may be NaN or infinite, as Prometheus returns them).
    pub value: f64,
}

/// One series of a range query: its labels and `(unix seconds, value)` points.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The series' labels.
    pub labels: BTreeMap<String, String>,
    /// The points, oldest first.
    pub points: Vec<(f64, f64)>,
}

/// A client of one Prometheus server.
#[derive(Debug, Clone)]
pub struct Prometheus {
    address: String,
    timeout: Duration,
    attempts: u32,
    backoff: Duration,
}

impl Prometheus {
    /// A client of the server at `address` (`http://host:port`), 10 s per request, 3 attempts.
    pub fn new(address: impl Into<String>) -> Self {
        Prometheus {
            address: address.into().trim_end_matches('/').to_string(),
            timeout: Duration::from_secs(10),
            attempts: 3,
            backoff: Duration::from_millis(200),
        }
    }

    /// Sets the timeout of one request.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets how many times a request is tried when Prometheus is unreachable or overloaded (at least 1).
    pub fn attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts.max(1);
        self
    }

    /// The server's address.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Evaluates `query` now (or at `time`, unix seconds): one sample per series (a scalar is one
    /// sample without labels).
    pub async fn instant(&self, query: &str, time: Option<f64>) -> Result<Vec<Sample>, PrometheusError> {
        let mut url = format!("{}/api/v1/query?query={}", self.address, encode_component(query));
        if let Some(t) = time {
            url.push_str(&format!("&time={t}"));
        }
        let data = self.call(&url).await?;
        match data.get("resultType").and_then(Value::as_str) {
            Some("vector") => Ok(data
                .get("result")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|s| Sample { labels: labels(s), value: point(s.get("value")).map(|p| p.1).unwrap_or(f64::NAN) })
                .collect()),
            Some("scalar") => Ok(point(data.get("result")).map(|(_, v)| Sample { labels: BTreeMap::new(), value: v }).into_iter().collect()),
            other => Err(PrometheusError::Malformed {
                status: 200,
                detail: format!("an instant query returned resultType {other:?}; use a query that yields a vector or a scalar"),
            }),
        }
    }

    /// Evaluates `query` from `start` to `end` (unix seconds) every `step`.
    pub async fn range(&self, query: &str, start: f64, end: f64, step: Duration) -> Result<Vec<Series>, PrometheusError> {
        let url = format!("{}/api/v1/query_range?query={}&start={start}&end={end}&step={}", self.address, encode_component(query), step.as_secs_f64());
        let data = self.call(&url).await?;
        if data.get("resultType").and_then(Value::as_str) != Some("matrix") {
            return Err(PrometheusError::Malformed { status: 200, detail: "a range query did not return a matrix".into() });
        }
        Ok(data
            .get("result")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|s| Series {
                labels: labels(s),
                points: s.get("values").and_then(Value::as_array).into_iter().flatten().filter_map(|p| point(Some(p))).collect(),
            })
            .collect())
    }

    /// One API call with retries; returns the answer's `data`.
    async fn call(&self, url: &str) -> Result<Value, PrometheusError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let last = attempt >= self.attempts;
            match client::get(url, self.timeout).await {
                Ok(answer) => {
                    let body: Option<Value> = serde_json::from_str(&answer.body).ok();
                    match body {
                        Some(v) if v.get("status").and_then(Value::as_str) == Some("success") => return Ok(v.get("data").cloned().unwrap_or(Value::Null)),
                        // Overloaded or restarting: worth another try.
                        _ if answer.status >= 500 && !last => {}
                        Some(v) if v.get("status").and_then(Value::as_str) == Some("error") => {
                            let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
                            return Err(PrometheusError::Refused { error_type: text("errorType"), error: text("error") });
                        }
                        _ => {
                            let detail: String = answer.body.chars().take(200).collect();
                            return Err(PrometheusError::Malformed { status: answer.status, detail });
                        }
                    }
                }
                Err(e) if last => return Err(PrometheusError::Unreachable { address: self.address.clone(), attempts: attempt, source: e }),
                Err(_) => {}
            }
            tokio::time::sleep(self.backoff * attempt).await;
        }
    }
}

fn labels(series: &Value) -> BTreeMap<String, String> {
    series
        .get("metric")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
        .unwrap_or_default()
}

/// `[1700000000.123, "0.5"]` as `(time, value)`; Prometheus writes values as strings ("NaN", "+Inf").
fn point(p: Option<&Value>) -> Option<(f64, f64)> {
    let p = p?.as_array()?;
    let t = p.first()?.as_f64()?;
    let v = p.get(1)?.as_str()?;
    let v = match v {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        other => other.parse().ok()?,
    };
    Some((t, v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn points_read_prometheus_strings() {
        assert_eq!(point(Some(&json!([1.5, "0.25"]))), Some((1.5, 0.25)));
        assert_eq!(point(Some(&json!([1, "+Inf"]))), Some((1.0, f64::INFINITY)));
        assert!(point(Some(&json!([1, "NaN"]))).is_some_and(|p| p.1.is_nan()));
        assert_eq!(point(Some(&json!([1, 2]))), None);
    }

    #[tokio::test]
    async fn an_unreachable_server_is_reported_with_its_attempts() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_else(|e| panic!("{e}"));
        drop(listener);
        let p = Prometheus::new(format!("http://127.0.0.1:{port}")).attempts(2);
        match p.instant("up", None).await {
            Err(PrometheusError::Unreachable { attempts, .. }) => assert_eq!(attempts, 2),
            other => panic!("expected Unreachable, got {other:?}"),
        }
    }
}
