//! Analysis: the checks that gate a promotion (Prometheus queries, verification Jobs, HTTP requests).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::checks;
use crate::error::Problems;
use crate::model::release::EnvVar;

/// The variables a query, path or URL may use; each is replaced by the release's value.
pub const VARIABLES: [&str; 4] = ["tenant", "app", "version", "namespace"];

/// A named analysis of a release: a provider, and how many measurements decide.
///
/// Every `interval`, one measurement is taken, `count` times. More than `failureLimit` failed
/// measurements fail the analysis (the rollout aborts and rolls back). A measurement that cannot
/// decide (no data, Prometheus unreachable) makes the analysis inconclusive: the rollout pauses,
/// it never passes silently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Analysis {
    /// The analysis' name (a DNS-1123 label), referred to by strategies.
    pub name: String,
    /// Time between measurements (`"30s"`).
    #[serde(default = "default_interval")]
    pub interval: String,
    /// How many measurements.
    #[serde(default = "default_count")]
    pub count: u32,
    /// How many measurements may fail before the analysis fails.
    #[serde(default)]
    pub failure_limit: u32,
    /// A PromQL query and its success condition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus: Option<PrometheusAnalysis>,
    /// A verification Job run against the new version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<JobAnalysis>,
    /// An HTTP request to the new version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpAnalysis>,
}

fn default_interval() -> String {
    "30s".into()
}
fn default_count() -> u32 {
    1
}

/// A Prometheus query and the condition its result must meet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrometheusAnalysis {
    /// The Prometheus server, e.g. `"http://prometheus.monitoring:9090"` (plain HTTP).
    pub address: String,
    /// A PromQL instant query; `{{tenant}}`, `{{app}}`, `{{version}}` and `{{namespace}}` are replaced.
    pub query: String,
    /// Threshold comparisons every returned value must meet, joined by `&&`: `"result < 0.05"`.
    pub success_condition: String,
    /// How long one query may take (`"10s"`).
    #[serde(default = "default_query_timeout")]
    pub timeout: String,
}

fn default_query_timeout() -> String {
    "10s".into()
}

/// A verification Job: its pod gets `PREVIEW_URL`, the new version's Service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobAnalysis {
    /// The image.
    pub image: String,
    /// The command (and its arguments).
    pub command: Vec<String>,
    /// More environment variables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    /// The most the Job may run (`"10m"`); beyond it the Job fails.
    #[serde(default = "default_job_timeout")]
    pub timeout: String,
}

fn default_job_timeout() -> String {
    "10m".into()
}

/// An HTTP GET on the new version and what it must answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpAnalysis {
    /// A path on the new version's Service (preview for blue/green, canary for a canary),
    /// e.g. `"/healthz"`; reachable from inside the cluster only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// A full `http://` URL instead of `path` (variables are replaced).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The status the answer must have.
    #[serde(default = "default_status")]
    pub expected_status: u16,
    /// Text the body must contain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_contains: Option<String>,
    /// How long the request may take (`"10s"`).
    #[serde(default = "default_query_timeout")]
    pub timeout: String,
}

fn default_status() -> u16 {
    200
}

impl Analysis {
    /// A Prometheus analysis: `query` must meet `condition` (e.g. `"result < 0.05"`).
    pub fn prometheus(name: impl Into<String>, address: impl Into<String>, query: impl Into<String>, condition: impl Into<String>) -> Self {
        Self::with(name, |a| {
            a.prometheus =
                Some(PrometheusAnalysis { address: address.into(), query: query.into(), success_condition: condition.into(), timeout: default_query_timeout() })
        })
    }

    /// A verification Job running `command` in `image`.
    pub fn job(name: impl Into<String>, image: impl Into<String>, command: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self::with(name, |a| {
            a.job = Some(JobAnalysis {
                image: image.into(),
                command: command.into_iter().map(Into::into).collect(),
                env: Vec::new(),
                timeout: default_job_timeout(),
            })
        })
    }

    /// An HTTP GET of `path` on the new version's Service, expecting status 200.
    pub fn http_path(name: impl Into<String>, path: impl Into<String>) -> Self {
        Self::with(name, |a| {
            a.http = Some(HttpAnalysis { path: Some(path.into()), url: None, expected_status: 200, body_contains: None, timeout: default_query_timeout() })
        })
    }

    /// An HTTP GET of a full URL, expecting status 200.
    pub fn http_url(name: impl Into<String>, url: impl Into<String>) -> Self {
        Self::with(name, |a| {
            a.http = Some(HttpAnalysis { path: None, url: Some(url.into()), expected_status: 200, body_contains: None, timeout: default_query_timeout() })
        })
    }

    fn with(name: impl Into<String>, f: impl FnOnce(&mut Analysis)) -> Self {
        let mut a = Analysis { name: name.into(), interval: default_interval(), count: 1, failure_limit: 0, prometheus: None, job: None, http: None };
        f(&mut a);
        a
    }

    /// Sets the time between measurements, how many are taken and how many may fail.
    pub fn measurements(mut self, interval: impl Into<String>, count: u32, failure_limit: u32) -> Self {
        self.interval = interval.into();
        self.count = count;
        self.failure_limit = failure_limit;
        self
    }

    /// The provider's name: `prometheus`, `job` or `http`.
    pub fn provider(&self) -> &'static str {
        if self.prometheus.is_some() {
            "prometheus"
        } else if self.job.is_some() {
            "job"
        } else {
            "http"
        }
    }

    pub(crate) fn validate(&self, p: &mut Problems, path: &str) {
        p.check(|| format!("{path}.name"), checks::check_dns1123_label(&self.name));
        p.check(|| format!("{path}.interval"), checks::parse_duration(&self.interval).map(|_| ()));
        if self.count == 0 {
            p.add(format!("{path}.count"), "must be at least 1");
        } else if self.count > 100 {
            p.add(format!("{path}.count"), format!("{} is more than 100 measurements", self.count));
        }
        if self.failure_limit >= self.count && self.count > 0 {
            p.add(
                format!("{path}.failureLimit"),
                format!("{} lets all {} measurements fail, so the analysis could never fail; use at most {}", self.failure_limit, self.count, self.count - 1),
            );
        }
        let providers = usize::from(self.prometheus.is_some()) + usize::from(self.job.is_some()) + usize::from(self.http.is_some());
        if providers != 1 {
            p.add(path, format!("an analysis needs exactly one of prometheus, job or http ({providers} given)"));
        }
        if let Some(prom) = &self.prometheus {
            let ppath = format!("{path}.prometheus");
            p.check(|| format!("{ppath}.address"), check_http_url(&prom.address));
            if prom.query.trim().is_empty() {
                p.add(format!("{ppath}.query"), "is empty; give a PromQL query such as `sum(rate(http_requests_total{version=\"{{version}}\"}[1m]))`");
            } else {
                p.check(|| format!("{ppath}.query"), check_variables(&prom.query));
            }
            p.check(|| format!("{ppath}.successCondition"), Condition::parse(&prom.success_condition).map(|_| ()));
            p.check(|| format!("{ppath}.timeout"), checks::parse_duration(&prom.timeout).map(|_| ()));
        }
        if let Some(job) = &self.job {
            let jpath = format!("{path}.job");
            if job.image.is_empty() {
                p.add(format!("{jpath}.image"), "is required, e.g. \"curlimages/curl:8.10.1\"");
            } else {
                p.check(|| format!("{jpath}.image"), checks::check_image_reference(&job.image));
            }
            if job.command.is_empty() {
                p.add(format!("{jpath}.command"), "is empty; give the command that tests the new version, e.g. [\"sh\", \"-c\", \"curl -fsS $PREVIEW_URL\"]");
            }
            for (i, e) in job.env.iter().enumerate() {
                let epath = format!("{jpath}.env[{i}]");
                if e.name.is_empty() || e.name.starts_with(|c: char| c.is_ascii_digit()) || !e.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    p.add(
                        format!("{epath}.name"),
                        format!("{:?} is not an environment variable name (letters, digits and '_', not starting with a digit)", e.name),
                    );
                }
                if e.value.is_some() == e.secret.is_some() {
                    p.add(epath, "set exactly one of value or secret");
                }
            }
            p.check(|| format!("{jpath}.timeout"), checks::parse_duration(&job.timeout).map(|_| ()));
        }
        if let Some(http) = &self.http {
            let hpath = format!("{path}.http");
            match (&http.path, &http.url) {
                (Some(pth), None) => {
                    if !pth.starts_with('/') || pth.chars().any(|c| c.is_whitespace() || c.is_control()) {
                        p.add(format!("{hpath}.path"), format!("{pth:?} is not an absolute URL path such as \"/healthz\""));
                    }
                }
                (None, Some(url)) => {
                    p.check(|| format!("{hpath}.url"), check_http_url(url).and_then(|()| check_variables(url)));
                }
                _ => p.add(hpath.clone(), "set exactly one of path or url"),
            }
            if !(100..=599).contains(&http.expected_status) {
                p.add(format!("{hpath}.expectedStatus"), format!("{} is not an HTTP status (100 to 599)", http.expected_status));
            }
            p.check(|| format!("{hpath}.timeout"), checks::parse_duration(&http.timeout).map(|_| ()));
        }
    }
}

/// Checks that `url` is a plain `http://host[:port][/path]` URL.
fn check_http_url(url: &str) -> Result<(), String> {
    let Some(rest) = url.strip_prefix("http://") else {
        return Err(if url.starts_with("https://") {
            format!("{url:?}: https is not supported yet; use the server's in-cluster http:// address")
        } else {
            format!("{url:?} is not an http:// URL such as \"http://prometheus.monitoring:9090\"")
        });
    };
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{url:?} has no host; e.g. \"http://prometheus.monitoring:9090\""));
    }
    // A port after the host (not inside an IPv6 literal such as `[::1]`) must be 1 to 65535.
    if let Some((_, port)) = authority.rsplit_once(':').filter(|_| !authority.ends_with(']')) {
        if !port.is_empty() && port.parse::<u16>().ok().is_none_or(|p| p == 0) {
            return Err(format!("{url:?}: {port:?} is not a port (1 to 65535)"));
        }
    }
    Ok(())
}

/// Checks that every `{{...}}` in `text` names one of [`VARIABLES`].
fn check_variables(text: &str) -> Result<(), String> {
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { return Err("a `{{` is never closed by `}}`".into()) };
        let name = after[..end].trim();
        if !VARIABLES.contains(&name) {
            return Err(format!("{{{{{name}}}}} is not a variable; the variables are {}", VARIABLES.map(|v| format!("{{{{{v}}}}}")).join(", ")));
        }
        rest = &after[end + 2..];
    }
    Ok(())
}

/// Replaces `{{tenant}}`, `{{app}}`, `{{version}}` and `{{namespace}}` in `text`.
pub fn substitute(text: &str, tenant: &str, app: &str, version: &str, namespace: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        match after[..end].trim() {
            "tenant" => out.push_str(tenant),
            "app" => out.push_str(app),
            "version" => out.push_str(version),
            "namespace" => out.push_str(namespace),
            _ => out.push_str(&rest[start..start + 2 + end + 2]),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// A comparison operator of a success condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// `<`
    Less,
    /// `<=`
    LessOrEqual,
    /// `>`
    Greater,
    /// `>=`
    GreaterOrEqual,
    /// `==`
    Equal,
    /// `!=`
    NotEqual,
}

/// A parsed success condition: threshold comparisons of `result`, all of which must hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The comparisons, joined by `&&`.
    pub comparisons: Vec<(Comparison, f64)>,
}

impl Condition {
    /// Parses `"result < 0.05"`, `"result >= 0.9 && result <= 1"` (the `result` is optional: `"< 0.05"`).
    pub fn parse(text: &str) -> Result<Condition, String> {
        let bad = |part: &str| format!("{part:?} is not a comparison such as \"result < 0.05\" (operators <, <=, >, >=, ==, !=; comparisons joined by &&)");
        let mut comparisons = Vec::new();
        for part in text.split("&&") {
            let s = part.trim();
            let s = s.strip_prefix("result").map(str::trim_start).unwrap_or(s);
            let (op, number) = [
                ("<=", Comparison::LessOrEqual),
                (">=", Comparison::GreaterOrEqual),
                ("==", Comparison::Equal),
                ("!=", Comparison::NotEqual),
                ("<", Comparison::Less),
                (">", Comparison::Greater),
            ]
            .iter()
            .find_map(|(sym, op)| s.strip_prefix(sym).map(|n| (*op, n.trim())))
            .ok_or_else(|| bad(part.trim()))?;
            let value: f64 = number.parse().map_err(|_| bad(part.trim()))?;
            if !value.is_finite() {
                return Err(bad(part.trim()));
            }
            comparisons.push((op, value));
        }
        Ok(Condition { comparisons })
    }

    /// Whether `value` meets every comparison.
    pub fn holds(&self, value: f64) -> bool {
        self.comparisons.iter().all(|(op, t)| match op {
            Comparison::Less => value < *t,
            Comparison::LessOrEqual => value <= *t,
            Comparison::Greater => value > *t,
            Comparison::GreaterOrEqual => value >= *t,
            Comparison::Equal => value == *t,
            Comparison::NotEqual => value != *t,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_parse_and_compare() {
        let c = Condition::parse("result < 0.05").unwrap_or_else(|e| panic!("{e}"));
        assert!(c.holds(0.01));
        assert!(!c.holds(0.05));
        let c = Condition::parse("result >= 0.9 && result <= 1").unwrap_or_else(|e| panic!("{e}"));
        assert!(c.holds(0.95) && !c.holds(0.89) && !c.holds(1.01));
        assert!(Condition::parse(">= 3").is_ok_and(|c| c.holds(3.0)));
        assert!(Condition::parse("result ~ 3").is_err());
        assert!(Condition::parse("result < fast").is_err());
        assert!(Condition::parse("").is_err());
    }

    #[test]
    fn variables_are_replaced_and_unknown_ones_refused() {
        let q = r#"rate(x{tenant="{{tenant}}",version="{{ version }}",ns="{{namespace}}",app="{{app}}"}[1m])"#;
        assert_eq!(substitute(q, "acme", "web", "green", "acme"), r#"rate(x{tenant="acme",version="green",ns="acme",app="web"}[1m])"#);
        assert!(check_variables(q).is_ok());
        assert!(check_variables("x{{pod}}").is_err_and(|e| e.contains("{{pod}} is not a variable")));
        assert!(check_variables("x{{version").is_err());
    }

    #[test]
    fn urls_must_be_plain_http_with_a_host() {
        assert!(check_http_url("http://127.0.0.1:9090").is_ok());
        assert!(check_http_url("http://prometheus.monitoring:9090/prom").is_ok());
        assert!(check_http_url("https://p:9090").is_err_and(|e| e.contains("https")));
        assert!(check_http_url("http://").is_err());
        assert!(check_http_url("http://p:99999").is_err());
        assert!(check_http_url("prometheus:9090").is_err());
        assert!(check_http_url("http://[::1]:9090").is_ok());
        assert!(check_http_url("http://[::1]").is_ok());
    }
}
