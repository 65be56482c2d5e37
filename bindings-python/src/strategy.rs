//! The strategies: `moorage.Rolling`, `moorage.BlueGreen`, `moorage.Canary` (the core's `Strategy`).
//!
//! Each is built from the core's serde form (`{"type": "blueGreen", ...}`), so defaults and
//! checks are the core's.

use pyo3::prelude::*;
use serde_json::{Map, Value};

use crate::convert::{put_spec_members, to_py};
use crate::errors;

/// The strategy of type `kind` from its options given in spec form, read by the core as a
/// release's `strategy` is: their problems are `SpecError`s at `strategy.<option>`.
fn build(py: Python<'_>, kind: &str, given: &[(&str, Option<&Bound<'_, PyAny>>)]) -> PyResult<moorage::Strategy> {
    let mut map = Map::new();
    map.insert("type".into(), Value::String(kind.into()));
    put_spec_members(&mut map, "strategy", given)?;
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
        auto_promote: Option<&Bound<'_, PyAny>>,
        preview_host: Option<&Bound<'_, PyAny>>,
        scale_down_delay: Option<&Bound<'_, PyAny>>,
        keep_previous: Option<&Bound<'_, PyAny>>,
        pre_promotion_analysis: Option<&Bound<'_, PyAny>>,
        post_promotion_analysis: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let given = [
            ("autoPromote", auto_promote),
            ("previewHost", preview_host),
            ("scaleDownDelay", scale_down_delay),
            ("keepPrevious", keep_previous),
            ("prePromotionAnalysis", pre_promotion_analysis),
            ("postPromotionAnalysis", post_promotion_analysis),
        ];
        let inner = build(py, "blueGreen", &given)?;
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
        let inner = build(py, "rolling", &[("maxSurge", max_surge), ("maxUnavailable", max_unavailable)])?;
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
    fn new(py: Python<'_>, steps: &Bound<'_, PyAny>, traffic: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let inner = build(py, "canary", &[("steps", Some(steps)), ("traffic", traffic)])?;
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
