//! The strategies: `moorage.Rolling`, `moorage.BlueGreen`, `moorage.Canary` (the core's `Strategy`).
//!
//! Each is built from the core's serde form (`{"type": "blueGreen", ...}`), so defaults and
//! checks are the core's.

use pyo3::prelude::*;
use serde_json::{Map, Value};

use crate::convert::{spec_json, to_py};
use crate::errors;

fn build(py: Python<'_>, kind: &str, fields: Vec<(&str, Option<Value>)>) -> PyResult<moorage::Strategy> {
    let mut map = Map::new();
    map.insert("type".into(), Value::String(kind.into()));
    for (k, v) in fields {
        if let Some(v) = v {
            map.insert(k.into(), v);
        }
    }
    moorage::spec::strategy_from_value(&Value::Object(map)).map_err(|e| errors::spec(py, &e))
}

fn repr(s: &moorage::Strategy) -> String {
    let name = match s {
        moorage::Strategy::Rolling(_) => "Rolling",
        moorage::Strategy::BlueGreen(_) => "BlueGreen",
        moorage::Strategy::Canary(_) => "Canary",
    };
    let v = serde_json::to_value(s).unwrap_or_default();
    let fields: Vec<String> = v
        .as_object()
        .map(|m| m.iter().filter(|(k, _)| k.as_str() != "type").map(|(k, v)| format!("{}={}", snake(k), py_literal(v))).collect())
        .unwrap_or_default();
    format!("{name}({})", fields.join(", "))
}

fn snake(k: &str) -> String {
    let mut out = String::new();
    for c in k.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn py_literal(v: &Value) -> String {
    match v {
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        Value::String(s) => format!("'{s}'"),
        Value::Array(a) => format!("[{}]", a.iter().map(py_literal).collect::<Vec<_>>().join(", ")),
        Value::Object(m) => format!("{{{}}}", m.iter().map(|(k, v)| format!("'{k}': {}", py_literal(v))).collect::<Vec<_>>().join(", ")),
        Value::Number(n) => n.to_string(),
    }
}

/// An option given in spec form, read as the strategy's field at `path`.
fn opt(v: Option<&Bound<'_, PyAny>>, path: &str) -> PyResult<Option<Value>> {
    v.map(|v| spec_json(v, path)).transpose()
}

/// A blue/green strategy: the new version runs beside the old one; traffic switches in one
/// selector change once it is ready.
#[pyclass(module = "moorage", frozen)]
#[derive(Clone)]
pub struct BlueGreen {
    pub(crate) inner: moorage::Strategy,
}

#[pymethods]
impl BlueGreen {
    /// `pre_promotion_analysis`: names of the release's analyses that must pass before traffic
    /// switches; `post_promotion_analysis`: run after the switch, a failure switches back.
    #[new]
    #[pyo3(signature = (*, auto_promote=None, preview_host=None, scale_down_delay=None, keep_previous=None, pre_promotion_analysis=None, post_promotion_analysis=None))]
    fn new(
        py: Python<'_>,
        auto_promote: Option<bool>,
        preview_host: Option<String>,
        scale_down_delay: Option<String>,
        keep_previous: Option<u32>,
        pre_promotion_analysis: Option<Vec<String>>,
        post_promotion_analysis: Option<Vec<String>>,
    ) -> PyResult<Self> {
        let inner = build(
            py,
            "blueGreen",
            vec![
                ("autoPromote", auto_promote.map(Value::Bool)),
                ("previewHost", preview_host.map(Value::String)),
                ("scaleDownDelay", scale_down_delay.map(Value::String)),
                ("keepPrevious", keep_previous.map(Value::from)),
                ("prePromotionAnalysis", pre_promotion_analysis.map(Value::from)),
                ("postPromotionAnalysis", post_promotion_analysis.map(Value::from)),
            ],
        )?;
        Ok(BlueGreen { inner })
    }
    /// The spec form.
    fn to_dict(&self, py: Python<'_>) -> Py<PyAny> {
        to_py(py, &self.inner)
    }
    fn __repr__(&self) -> String {
        repr(&self.inner)
    }
}

/// The Deployment's own rolling update.
#[pyclass(module = "moorage", frozen)]
#[derive(Clone)]
pub struct Rolling {
    pub(crate) inner: moorage::Strategy,
}

#[pymethods]
impl Rolling {
    #[new]
    #[pyo3(signature = (*, max_surge=None, max_unavailable=None))]
    fn new(py: Python<'_>, max_surge: Option<&Bound<'_, PyAny>>, max_unavailable: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let inner = build(
            py,
            "rolling",
            vec![("maxSurge", opt(max_surge, "strategy.maxSurge")?), ("maxUnavailable", opt(max_unavailable, "strategy.maxUnavailable")?)],
        )?;
        Ok(Rolling { inner })
    }
    /// The spec form.
    fn to_dict(&self, py: Python<'_>) -> Py<PyAny> {
        to_py(py, &self.inner)
    }
    fn __repr__(&self) -> String {
        repr(&self.inner)
    }
}

/// A canary: traffic moves to the new version step by step. `steps` are `CanaryStep`s or their
/// spec form, e.g. `[CanaryStep.set_weight(20), {"analysis": {"name": "error-rate"}}, {"pause": {}}]`.
#[pyclass(module = "moorage", frozen)]
#[derive(Clone)]
pub struct Canary {
    pub(crate) inner: moorage::Strategy,
}

#[pymethods]
impl Canary {
    #[new]
    #[pyo3(signature = (steps, *, traffic=None))]
    fn new(py: Python<'_>, steps: &Bound<'_, PyAny>, traffic: Option<String>) -> PyResult<Self> {
        let inner = build(py, "canary", vec![("steps", Some(spec_json(steps, "strategy.steps")?)), ("traffic", traffic.map(Value::String))])?;
        Ok(Canary { inner })
    }
    /// The spec form.
    fn to_dict(&self, py: Python<'_>) -> Py<PyAny> {
        to_py(py, &self.inner)
    }
    fn __repr__(&self) -> String {
        repr(&self.inner)
    }
}

/// The Python object of a core strategy.
pub(crate) fn to_object(py: Python<'_>, s: &moorage::Strategy) -> PyResult<Py<PyAny>> {
    let inner = s.clone();
    Ok(match s {
        moorage::Strategy::Rolling(_) => Py::new(py, Rolling { inner })?.into_any(),
        moorage::Strategy::BlueGreen(_) => Py::new(py, BlueGreen { inner })?.into_any(),
        moorage::Strategy::Canary(_) => Py::new(py, Canary { inner })?.into_any(),
    })
}
