//! `moorage.Analysis` (the core's `Analysis`: Prometheus, Job and HTTP providers) and
//! `moorage.CanaryStep` (the core's `CanaryStep`), built from keyword arguments through the core's
//! serde form, so defaults and checks are the core's. A release validates its analyses (paths
//! `analyses[i]...`) and the strategy's references to them.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyType};
use serde_json::{Map, Value};

use crate::convert::{put_spec_members, spec_json, to_py};
use crate::errors;

/// The core's `Analysis` from its spec form, read by the core; a malformed one is a `SpecError` at
/// the field's path under `analysis`.
fn analysis_from_json(py: Python<'_>, spec: Value) -> PyResult<moorage::Analysis> {
    moorage::spec::analysis_from_value(&spec).map_err(|e| errors::spec(py, &e))
}

/// Keyword arguments of an analysis (its measurements, a provider's fields), each left out when
/// `None` and otherwise read by the core at `analysis.<key>` or `analysis.<provider>.<key>`.
type Given<'a, 'py> = [(&'a str, Option<&'a Bound<'py, PyAny>>)];

/// The spec form of an analysis: its name, measurements and one provider's fields (`fields`, set
/// by the binding, and `given`, the caller's keyword arguments).
fn spec(name: String, measurements: &Given<'_, '_>, provider: &str, fields: Vec<(&str, Value)>, given: &Given<'_, '_>) -> PyResult<Value> {
    let mut m = Map::new();
    m.insert("name".into(), Value::String(name));
    put_spec_members(&mut m, "analysis", measurements)?;
    let mut provider_fields: Map<String, Value> = fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    put_spec_members(&mut provider_fields, &format!("analysis.{provider}"), given)?;
    m.insert(provider.into(), Value::Object(provider_fields));
    Ok(Value::Object(m))
}

/// `env` as a mapping of name to value, or the spec's list of `{name, value | secret}`.
fn env_json(env: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Value>> {
    Ok(match env {
        Some(d) if d.is_instance_of::<PyDict>() => match spec_json(d, "analysis.job.env")? {
            Value::Object(map) => Some(Value::Array(map.into_iter().map(|(name, value)| serde_json::json!({"name": name, "value": value})).collect())),
            other => Some(other),
        },
        Some(other) => Some(spec_json(other, "analysis.job.env")?),
        None => None,
    })
}

/// A check that gates a promotion: a Prometheus query, a verification Job or an HTTP request,
/// measured `count` times `interval` apart; more than `failure_limit` failures fail it (the rollout
/// aborts and rolls back), a measurement that cannot decide makes it inconclusive (the rollout
/// pauses). Strategies refer to it by `name`; the release declares it in `analyses`.
#[pyclass(module = "moorage", frozen)]
#[derive(Clone)]
pub struct Analysis {
    pub(crate) inner: moorage::Analysis,
}

#[pymethods]
impl Analysis {
    /// A PromQL instant `query` (`{{tenant}}`, `{{app}}`, `{{version}}`, `{{namespace}}` are
    /// replaced) whose every value must meet `success_condition` (e.g. `"result < 0.05"`).
    #[classmethod]
    #[pyo3(signature = (name, address, query, success_condition, *, timeout=None, interval=None, count=None, failure_limit=None))]
    fn prometheus(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        name: String,
        address: String,
        query: String,
        success_condition: String,
        timeout: Option<&Bound<'_, PyAny>>,
        interval: Option<&Bound<'_, PyAny>>,
        count: Option<&Bound<'_, PyAny>>,
        failure_limit: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let fields = vec![("address", Value::String(address)), ("query", Value::String(query)), ("successCondition", Value::String(success_condition))];
        let measurements = [("interval", interval), ("count", count), ("failureLimit", failure_limit)];
        Ok(Analysis { inner: analysis_from_json(py, spec(name, &measurements, "prometheus", fields, &[("timeout", timeout)])?)? })
    }

    /// A verification Job running `command` in `image`; its pod gets `PREVIEW_URL`, the new
    /// version's Service. `env`: a mapping of name to value, or a list of `{name, value | secret}`.
    #[classmethod]
    #[pyo3(signature = (name, image, command, *, env=None, timeout=None, interval=None, count=None, failure_limit=None))]
    fn job(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        name: String,
        image: String,
        command: Vec<String>,
        env: Option<&Bound<'_, PyAny>>,
        timeout: Option<&Bound<'_, PyAny>>,
        interval: Option<&Bound<'_, PyAny>>,
        count: Option<&Bound<'_, PyAny>>,
        failure_limit: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let mut fields = vec![("image", Value::String(image)), ("command", Value::from(command))];
        fields.extend(env_json(env)?.map(|env| ("env", env)));
        let measurements = [("interval", interval), ("count", count), ("failureLimit", failure_limit)];
        Ok(Analysis { inner: analysis_from_json(py, spec(name, &measurements, "job", fields, &[("timeout", timeout)])?)? })
    }

    /// An HTTP GET of `path` on the new version's Service (or of a full `url`), which must answer
    /// `expected_status` (default 200) and, when given, contain `body_contains`.
    #[classmethod]
    #[pyo3(signature = (name, *, path=None, url=None, expected_status=None, body_contains=None, timeout=None, interval=None, count=None, failure_limit=None))]
    fn http(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        name: String,
        path: Option<&Bound<'_, PyAny>>,
        url: Option<&Bound<'_, PyAny>>,
        expected_status: Option<&Bound<'_, PyAny>>,
        body_contains: Option<&Bound<'_, PyAny>>,
        timeout: Option<&Bound<'_, PyAny>>,
        interval: Option<&Bound<'_, PyAny>>,
        count: Option<&Bound<'_, PyAny>>,
        failure_limit: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let given = [("path", path), ("url", url), ("expectedStatus", expected_status), ("bodyContains", body_contains), ("timeout", timeout)];
        let measurements = [("interval", interval), ("count", count), ("failureLimit", failure_limit)];
        Ok(Analysis { inner: analysis_from_json(py, spec(name, &measurements, "http", Vec::new(), &given)?)? })
    }

    /// An analysis from its spec form (an entry of a release's `analyses`).
    #[classmethod]
    fn from_dict(_cls: &Bound<'_, PyType>, py: Python<'_>, spec: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(Analysis { inner: analysis_from_json(py, spec_json(spec, "analysis")?)? })
    }

    /// Its name.
    #[getter]
    fn name(&self) -> String {
        self.inner.name.clone()
    }
    /// `prometheus`, `job` or `http`.
    #[getter]
    fn provider(&self) -> &'static str {
        self.inner.provider()
    }
    /// Time between measurements.
    #[getter]
    fn interval(&self) -> String {
        self.inner.interval.clone()
    }
    /// How many measurements.
    #[getter]
    fn count(&self) -> u32 {
        self.inner.count
    }
    /// How many measurements may fail.
    #[getter]
    fn failure_limit(&self) -> u32 {
        self.inner.failure_limit
    }

    /// The spec form.
    fn to_dict(&self, py: Python<'_>) -> Py<PyAny> {
        to_py(py, &self.inner)
    }

    fn __eq__(&self, other: &Self) -> bool {
        self.inner == other.inner
    }

    fn __repr__(&self) -> String {
        let a = &self.inner;
        let provider = match (&a.prometheus, &a.job, &a.http) {
            (Some(p), _, _) => format!("'{}', {:?}, success_condition={:?}", p.address, p.query, p.success_condition),
            (_, Some(j), _) => format!("'{}', {:?}", j.image, j.command),
            (_, _, Some(h)) => match (&h.path, &h.url) {
                (Some(p), _) => format!("path={p:?}, expected_status={}", h.expected_status),
                (_, u) => format!("url={:?}, expected_status={}", u.clone().unwrap_or_default(), h.expected_status),
            },
            _ => String::new(),
        };
        format!("Analysis.{}('{}', {provider}, interval='{}', count={}, failure_limit={})", a.provider(), a.name, a.interval, a.count, a.failure_limit)
    }
}

/// One canary step: `CanaryStep.set_weight(25)`, `CanaryStep.pause("5m")`, `CanaryStep.pause()`
/// (until promoted), `CanaryStep.analysis("error-rate")` (the release declares the analysis).
#[pyclass(module = "moorage", frozen)]
#[derive(Clone)]
pub struct CanaryStep {
    pub(crate) inner: moorage::CanaryStep,
}

#[pymethods]
impl CanaryStep {
    /// Sends `weight` percent of traffic to the canary.
    #[classmethod]
    fn set_weight(_cls: &Bound<'_, PyType>, py: Python<'_>, weight: &Bound<'_, PyAny>) -> PyResult<Self> {
        // Read by the core from the spec form: not a whole number is a `SpecError` at `step.setWeight`.
        let mut spec = Map::new();
        put_spec_members(&mut spec, "step", &[("setWeight", Some(weight))])?;
        let inner = moorage::spec::canary_step_from_value(&Value::Object(spec)).map_err(|e| errors::spec(py, &e))?;
        Ok(CanaryStep { inner })
    }

    /// Waits for `duration` (e.g. `"5m"`), or until promoted when no duration is given.
    #[classmethod]
    #[pyo3(signature = (duration=None))]
    fn pause(_cls: &Bound<'_, PyType>, duration: Option<String>) -> Self {
        let inner = match duration {
            Some(d) => moorage::CanaryStep::pause_for(d),
            None => moorage::CanaryStep::pause_until_promoted(),
        };
        CanaryStep { inner }
    }

    /// Runs the release's analysis `name`; a failure aborts the canary and rolls it back.
    #[classmethod]
    fn analysis(_cls: &Bound<'_, PyType>, name: String) -> Self {
        CanaryStep { inner: moorage::CanaryStep::analysis(name) }
    }

    /// The spec form (`{"setWeight": 25}`, `{"pause": {...}}`, `{"analysis": {"name": ...}}`).
    fn to_dict(&self, py: Python<'_>) -> Py<PyAny> {
        to_py(py, &self.inner)
    }

    fn __eq__(&self, other: &Self) -> bool {
        self.inner == other.inner
    }

    fn __repr__(&self) -> String {
        match &self.inner {
            moorage::CanaryStep::SetWeight(w) => format!("CanaryStep.set_weight({w})"),
            moorage::CanaryStep::Pause(p) => match &p.duration {
                Some(d) => format!("CanaryStep.pause('{d}')"),
                None => "CanaryStep.pause()".into(),
            },
            moorage::CanaryStep::Analysis(a) => format!("CanaryStep.analysis('{}')", a.name),
        }
    }
}
