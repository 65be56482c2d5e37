//! `Prometheus`: a client of one Prometheus server (the core's `analysis::Prometheus`) and the usage
//! reports over it (the core's `usage` module): CPU core-hours, memory GiB-hours, storage GiB-days
//! and requests of a tenant, or of several tenants and their total, over a period.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use moorage::usage::{self, Period, PeriodRequest};
use napi::bindgen_prelude::{Either, Object, PromiseRaw};
use napi::Env;
use napi_derive::napi;

use crate::cluster::{seconds, spawn};
use crate::errors;
use crate::tenant::Tenant;

/// The options of `new Prometheus(address, options)`.
#[napi(object)]
#[derive(Default)]
pub struct PrometheusOptions {
    /// Seconds one request may take (default 10).
    pub timeout: Option<f64>,
    /// How many times a request is tried when Prometheus is unreachable or overloaded (default 3).
    pub attempts: Option<f64>,
}

impl crate::convert::OptionKeys for PrometheusOptions {
    const NAME: &'static str = "PrometheusOptions";
    const KEYS: &'static [&'static str] = &["timeout", "attempts"];
}

/// The period of a usage report: `{last: "3d"}` or `{start}`, ending at `end` (default now)
/// (declared as `UsagePeriodOptions`, the union of both forms).
#[napi(object, object_to_js = false)]
#[derive(Default)]
pub struct UsagePeriod {
    /// Its length, ending at `end` (e.g. `"3d"`, `"10m"`), without `start`.
    pub last: Option<String>,
    /// Its start (unix seconds, exclusive: the first point is `start + step`), without `last`.
    pub start: Option<f64>,
    /// Its end (unix seconds, inclusive; default: now).
    pub end: Option<f64>,
    /// Seconds between points (default: at least a minute, at most 10,000 points).
    pub step: Option<f64>,
    /// Seconds of the `rate()` window of counters (default: 5 minutes, or the step if longer).
    pub rate_window: Option<f64>,
}

impl crate::convert::OptionKeys for UsagePeriod {
    const NAME: &'static str = "UsagePeriodOptions";
    const KEYS: &'static [&'static str] = &["last", "start", "end", "step", "rateWindow"];
}

/// What a tenant (or several) used over a period.
#[napi(object)]
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

/// A usage report: per tenant and in total.
#[napi(object)]
pub struct UsageReport {
    /// Its start (unix seconds).
    pub start: f64,
    /// Its end (unix seconds).
    pub end: f64,
    /// Seconds between points.
    pub step: f64,
    /// Usage per tenant, for every tenant asked for (zero when Prometheus has no data).
    pub tenants: HashMap<String, Usage>,
    /// The sum over the tenants.
    pub total: Usage,
}

fn usage_js(u: usage::Usage) -> Usage {
    Usage { cpu_core_hours: u.cpu_core_hours, memory_gib_hours: u.memory_gib_hours, storage_gib_days: u.storage_gib_days, requests: u.requests }
}

/// The period given to a usage call, its keys checked (see [`crate::convert::read_options`]).
fn given_period(env: &Env, given: Object<'_>) -> napi::Result<UsagePeriod> {
    crate::convert::read_options(env, Some(given))?.ok_or_else(|| napi::Error::new(napi::Status::InvalidArg, "a period is required"))
}

/// The core's period (`PeriodRequest`), thrown as `VALIDATION` at the core's path otherwise
/// (`period.last`, `period.step`, ...), as in Python.
fn period(env: &Env, p: UsagePeriod) -> napi::Result<Period> {
    let last = match p.last.as_deref().map(moorage::checks::parse_duration) {
        Some(Err(message)) => return Err(errors::field("period.last", message).into_error(env)),
        Some(Ok(d)) => Some(d),
        None => None,
    };
    let request = PeriodRequest {
        last,
        start: p.start,
        end: p.end,
        step: p.step.map(|s| seconds(env, "period.step", s)).transpose()?,
        rate_window: p.rate_window.map(|s| seconds(env, "period.rateWindow", s)).transpose()?,
    };
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64().floor()).unwrap_or_default();
    request.period(now).map_err(|e| errors::validation(&e).into_error(env))
}

/// A client of one Prometheus server, for usage reports.
#[napi]
pub struct Prometheus {
    inner: moorage::analysis::Prometheus,
}

#[napi]
impl Prometheus {
    /// A client of the server at `address` (`http://host:port`).
    #[napi(constructor)]
    pub fn new(env: Env, address: String, #[napi(ts_arg_type = "PrometheusOptions | undefined | null")] options: Option<Object<'_>>) -> napi::Result<Self> {
        let o: PrometheusOptions = crate::convert::read_options(&env, options)?.unwrap_or_default();
        let mut inner = moorage::analysis::Prometheus::new(address);
        if let Some(t) = o.timeout {
            inner = inner.timeout(seconds(&env, "timeout", t)?);
        }
        if let Some(a) = o.attempts {
            inner = inner.attempts(crate::convert::js_whole_number(a, "attempts")?);
        }
        Ok(Prometheus { inner })
    }

    /// The server's address.
    #[napi(getter)]
    pub fn address(&self) -> String {
        self.inner.address().to_string()
    }

    /// What `tenant` (a `Tenant` or its name) used over `period`. Prometheus unreachable:
    /// `PROMETHEUS_UNREACHABLE`; a refused query: `PROMETHEUS_REFUSED`.
    #[napi(ts_args_type = "tenant: string | Tenant, period: UsagePeriodOptions", ts_return_type = "Promise<Usage>")]
    pub fn tenant_usage<'env>(&self, env: &'env Env, tenant: Either<String, &Tenant>, period: Object<'_>) -> napi::Result<PromiseRaw<'env, Usage>> {
        let period = given_period(env, period)?;
        let name = match tenant {
            Either::A(name) => name,
            Either::B(t) => t.inner.name().to_string(),
        };
        let (period, client) = (self::period(env, period)?, self.inner.clone());
        spawn(env, async move { usage::tenant_usage(&client, &name, period).await.map_err(|e| errors::prometheus(&e)) }, usage_js)
    }

    /// What each of `tenants` (names) used over `period`, and their total: four range queries in all.
    #[napi(ts_args_type = "tenants: string[], period: UsagePeriodOptions", ts_return_type = "Promise<UsageReport>")]
    pub fn fleet_usage<'env>(&self, env: &'env Env, tenants: Vec<String>, period: Object<'_>) -> napi::Result<PromiseRaw<'env, UsageReport>> {
        let period = given_period(env, period)?;
        let (period, client) = (self::period(env, period)?, self.inner.clone());
        spawn(env, async move { usage::fleet_usage(&client, &tenants, period).await.map_err(|e| errors::prometheus(&e)) }, |r| UsageReport {
            start: r.period.start,
            end: r.period.end,
            step: r.period.step.as_secs_f64(),
            tenants: r.tenants.into_iter().map(|(k, v)| (k, usage_js(v))).collect(),
            total: usage_js(r.total),
        })
    }
}
