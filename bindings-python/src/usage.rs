//! `moorage.Prometheus`: a client of one Prometheus server (the core's `analysis::Prometheus`),
//! its instant and range queries, and the usage reports of the core's `usage` module (CPU
//! core-hours, memory GiB-hours, storage GiB-days, requests of a tenant or of the fleet over a
//! period); blocking and `a_*` coroutine twins.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use moorage::analysis::{Prometheus as CorePrometheus, PrometheusError};
use moorage::usage::{self, Period, PeriodRequest};
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::cluster::block_on;
use crate::convert::to_py;
use crate::errors;
use crate::tenant::Tenant;

/// What a tenant (or the fleet) used over a period.
#[pyclass(module = "moorage", frozen, get_all)]
#[derive(Clone)]
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

impl From<usage::Usage> for Usage {
    fn from(u: usage::Usage) -> Self {
        Usage { cpu_core_hours: u.cpu_core_hours, memory_gib_hours: u.memory_gib_hours, storage_gib_days: u.storage_gib_days, requests: u.requests }
    }
}

#[pymethods]
impl Usage {
    /// `{"cpuCoreHours", "memoryGibHours", "storageGibDays", "requests"}`.
    fn to_dict(&self, py: Python<'_>) -> Py<PyAny> {
        to_py(
            py,
            &usage::Usage {
                cpu_core_hours: self.cpu_core_hours,
                memory_gib_hours: self.memory_gib_hours,
                storage_gib_days: self.storage_gib_days,
                requests: self.requests,
            },
        )
    }
    fn __repr__(&self) -> String {
        format!(
            "Usage(cpu_core_hours={}, memory_gib_hours={}, storage_gib_days={}, requests={})",
            self.cpu_core_hours, self.memory_gib_hours, self.storage_gib_days, self.requests
        )
    }
}

/// A usage report: per tenant and in total, over `start`..`end` (unix seconds) sampled every `step`.
#[pyclass(module = "moorage", frozen, get_all)]
pub struct UsageReport {
    /// Start of the period (unix seconds, exclusive).
    pub start: f64,
    /// End of the period (unix seconds, inclusive).
    pub end: f64,
    /// Seconds between points.
    pub step: f64,
    /// The `rate()` window of counters, in seconds.
    pub rate_window: f64,
    /// Usage per tenant (zero when Prometheus has no data for it).
    pub tenants: BTreeMap<String, Usage>,
    /// The sum over the tenants.
    pub total: Usage,
}

#[pymethods]
impl UsageReport {
    fn __repr__(&self) -> String {
        let tenants: Vec<String> = self.tenants.keys().map(|t| format!("'{t}'")).collect();
        format!("UsageReport(tenants=[{}], total={})", tenants.join(", "), self.total.__repr__())
    }
}

impl From<usage::UsageReport> for UsageReport {
    fn from(r: usage::UsageReport) -> Self {
        UsageReport {
            start: r.period.start,
            end: r.period.end,
            step: r.period.step.as_secs_f64(),
            rate_window: r.period.rate_window.as_secs_f64(),
            tenants: r.tenants.into_iter().map(|(t, u)| (t, u.into())).collect(),
            total: r.total.into(),
        }
    }
}

/// A duration argument: text the core reads (`"3d"`, `"1h30m"`), seconds, or a `datetime.timedelta`.
fn duration(py: Python<'_>, field: &str, value: &Bound<'_, PyAny>) -> PyResult<Duration> {
    let seconds: f64 = if let Ok(text) = value.cast::<PyString>() {
        return moorage::checks::parse_duration(&text.to_cow()?).map_err(|m| errors::field(py, field, &m));
    } else if value.hasattr("total_seconds")? {
        value.call_method0("total_seconds")?.extract()?
    } else {
        value.extract()?
    };
    moorage::checks::duration_from_seconds(seconds).map_err(|message| errors::field(py, field, &message))
}

/// A point in time argument: unix seconds, or a `datetime.datetime`.
fn instant(value: &Bound<'_, PyAny>) -> PyResult<f64> {
    if value.hasattr("timestamp")? {
        return value.call_method0("timestamp")?.extract();
    }
    value.extract()
}

fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or_default()
}

/// The core's period (`PeriodRequest`): `last`, or `start` (and `end`, default now), with `step`
/// and `rate_window` when given; every problem is a `ValidationError` at the core's path
/// (`period.last`, `period.step`, ...).
fn period(
    py: Python<'_>,
    last: Option<&Bound<'_, PyAny>>,
    start: Option<&Bound<'_, PyAny>>,
    end: Option<&Bound<'_, PyAny>>,
    step: Option<&Bound<'_, PyAny>>,
    rate_window: Option<&Bound<'_, PyAny>>,
) -> PyResult<Period> {
    let request = PeriodRequest {
        last: last.map(|v| duration(py, "period.last", v)).transpose()?,
        start: start.map(instant).transpose()?,
        end: end.map(instant).transpose()?,
        step: step.map(|v| duration(py, "period.step", v)).transpose()?,
        rate_window: rate_window.map(|v| duration(py, "period.rateWindow", v)).transpose()?,
    };
    request.period(now()).map_err(|e| errors::validation(py, &e))
}

/// A tenant or its name (the core's usage reports key tenants by namespace, which is the name).
fn tenant_name(t: &Bound<'_, PyAny>) -> PyResult<String> {
    match t.cast::<Tenant>() {
        Ok(t) => Ok(t.get().inner.namespace().to_string()),
        Err(_) => t.extract(),
    }
}

fn samples(py: Python<'_>, r: Result<Vec<moorage::analysis::Sample>, PrometheusError>) -> PyResult<Vec<(BTreeMap<String, String>, f64)>> {
    r.map(|s| s.into_iter().map(|s| (s.labels, s.value)).collect()).map_err(|e| errors::prometheus(py, &e))
}

type SeriesList = Vec<(BTreeMap<String, String>, Vec<(f64, f64)>)>;

fn series(py: Python<'_>, r: Result<Vec<moorage::analysis::Series>, PrometheusError>) -> PyResult<SeriesList> {
    r.map(|s| s.into_iter().map(|s| (s.labels, s.points)).collect()).map_err(|e| errors::prometheus(py, &e))
}

/// A client of one Prometheus server (plain `http://`): instant and range queries, and usage
/// reports. An unreachable server raises `PrometheusUnreachable` after `attempts` tries.
#[pyclass(module = "moorage", frozen)]
pub struct Prometheus {
    inner: CorePrometheus,
}

#[pymethods]
impl Prometheus {
    /// `timeout`: seconds one request may take; `attempts`: tries when unreachable or overloaded.
    #[new]
    #[pyo3(signature = (address, *, timeout=10.0, attempts=3))]
    fn new(py: Python<'_>, address: String, timeout: f64, attempts: u32) -> PyResult<Self> {
        let timeout = moorage::checks::duration_from_seconds(timeout).map_err(|message| errors::field(py, "timeout", &message))?;
        Ok(Prometheus { inner: CorePrometheus::new(address).timeout(timeout).attempts(attempts) })
    }

    /// The server's address.
    #[getter]
    fn address(&self) -> String {
        self.inner.address().to_string()
    }

    /// Evaluates `query` now (or at `time`, unix seconds): a list of `(labels, value)`.
    #[pyo3(signature = (query, time=None))]
    fn instant(&self, py: Python<'_>, query: String, time: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<(BTreeMap<String, String>, f64)>> {
        let (client, time) = (self.inner.clone(), time.map(instant).transpose()?);
        let r = block_on(py, async move { client.instant(&query, time).await })?;
        samples(py, r)
    }

    /// `instant`, as a coroutine.
    #[pyo3(signature = (query, time=None))]
    fn a_instant<'py>(&self, py: Python<'py>, query: String, time: Option<&Bound<'_, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
        let (client, time) = (self.inner.clone(), time.map(instant).transpose()?);
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let r = client.instant(&query, time).await;
            Python::attach(|py| samples(py, r))
        })
    }

    /// Evaluates `query` from `start` to `end` every `step`: a list of `(labels, [(time, value)])`.
    fn range(&self, py: Python<'_>, query: String, start: &Bound<'_, PyAny>, end: &Bound<'_, PyAny>, step: &Bound<'_, PyAny>) -> PyResult<SeriesList> {
        let (client, start, end, step) = (self.inner.clone(), instant(start)?, instant(end)?, duration(py, "step", step)?);
        let r = block_on(py, async move { client.range(&query, start, end, step).await })?;
        series(py, r)
    }

    /// `range`, as a coroutine.
    fn a_range<'py>(
        &self,
        py: Python<'py>,
        query: String,
        start: &Bound<'_, PyAny>,
        end: &Bound<'_, PyAny>,
        step: &Bound<'_, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (client, start, end, step) = (self.inner.clone(), instant(start)?, instant(end)?, duration(py, "step", step)?);
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let r = client.range(&query, start, end, step).await;
            Python::attach(|py| series(py, r))
        })
    }

    /// What `tenant` (a `Tenant` or its name) used over the period: `last` (`"3d"`, `"300d"`,
    /// seconds or a timedelta) before `end` (default now), or `start` to `end`; times are unix seconds or datetimes.
    #[pyo3(signature = (tenant, *, last=None, start=None, end=None, step=None, rate_window=None))]
    fn tenant_usage(
        &self,
        py: Python<'_>,
        tenant: &Bound<'_, PyAny>,
        last: Option<&Bound<'_, PyAny>>,
        start: Option<&Bound<'_, PyAny>>,
        end: Option<&Bound<'_, PyAny>>,
        step: Option<&Bound<'_, PyAny>>,
        rate_window: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Usage> {
        let (client, tenant, period) = (self.inner.clone(), tenant_name(tenant)?, period(py, last, start, end, step, rate_window)?);
        let r = block_on(py, async move { usage::tenant_usage(&client, &tenant, period).await })?;
        r.map(Usage::from).map_err(|e| errors::prometheus(py, &e))
    }

    /// `tenant_usage`, as a coroutine.
    #[pyo3(signature = (tenant, *, last=None, start=None, end=None, step=None, rate_window=None))]
    fn a_tenant_usage<'py>(
        &self,
        py: Python<'py>,
        tenant: &Bound<'_, PyAny>,
        last: Option<&Bound<'_, PyAny>>,
        start: Option<&Bound<'_, PyAny>>,
        end: Option<&Bound<'_, PyAny>>,
        step: Option<&Bound<'_, PyAny>>,
        rate_window: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (client, tenant, period) = (self.inner.clone(), tenant_name(tenant)?, period(py, last, start, end, step, rate_window)?);
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let r = usage::tenant_usage(&client, &tenant, period).await;
            Python::attach(|py| r.map(Usage::from).map_err(|e| errors::prometheus(py, &e)))
        })
    }

    /// The usage of each of `tenants` (Tenants or names) over the period, with the total.
    #[pyo3(signature = (tenants, *, last=None, start=None, end=None, step=None, rate_window=None))]
    fn fleet_usage(
        &self,
        py: Python<'_>,
        tenants: Vec<Bound<'_, PyAny>>,
        last: Option<&Bound<'_, PyAny>>,
        start: Option<&Bound<'_, PyAny>>,
        end: Option<&Bound<'_, PyAny>>,
        step: Option<&Bound<'_, PyAny>>,
        rate_window: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<UsageReport> {
        let names = tenants.iter().map(tenant_name).collect::<PyResult<Vec<_>>>()?;
        let (client, period) = (self.inner.clone(), period(py, last, start, end, step, rate_window)?);
        let r = block_on(py, async move { usage::fleet_usage(&client, &names, period).await })?;
        r.map(UsageReport::from).map_err(|e| errors::prometheus(py, &e))
    }

    /// `fleet_usage`, as a coroutine.
    #[pyo3(signature = (tenants, *, last=None, start=None, end=None, step=None, rate_window=None))]
    fn a_fleet_usage<'py>(
        &self,
        py: Python<'py>,
        tenants: Vec<Bound<'_, PyAny>>,
        last: Option<&Bound<'_, PyAny>>,
        start: Option<&Bound<'_, PyAny>>,
        end: Option<&Bound<'_, PyAny>>,
        step: Option<&Bound<'_, PyAny>>,
        rate_window: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let names = tenants.iter().map(tenant_name).collect::<PyResult<Vec<_>>>()?;
        let (client, period) = (self.inner.clone(), period(py, last, start, end, step, rate_window)?);
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let r = usage::fleet_usage(&client, &names, period).await;
            Python::attach(|py| r.map(UsageReport::from).map_err(|e| errors::prometheus(py, &e)))
        })
    }

    fn __repr__(&self) -> String {
        format!("Prometheus('{}')", self.inner.address())
    }
}
