//! Python values to and from the JSON form of the core's serde types (translation only).

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

use crate::analysis::{Analysis, CanaryStep};
use crate::autoscaling::Autoscaling;
use crate::quota::Quota;
use crate::strategy::{BlueGreen, Canary, Rolling};

/// A Python value (None, bool, int, float, str, list, tuple, dict, `Quota`, a strategy, an
/// `Analysis`, a `CanaryStep`, an `Autoscaling`) as JSON. Deeper than the core's
/// `spec::MAX_NESTING` (a dict that contains itself, say) it is the core's `SpecError`.
pub fn py_to_json(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    json_within(obj, moorage::spec::MAX_NESTING)
}

/// [`py_to_json`] with `levels` lists, tuples or dicts left to enter.
fn json_within(obj: &Bound<'_, PyAny>, levels: usize) -> PyResult<Value> {
    let deeper = |obj: &Bound<'_, PyAny>| match levels.checked_sub(1) {
        Some(left) => json_within(obj, left),
        None => Err(crate::errors::spec(obj.py(), &moorage::spec::nested_too_deeply("spec"))),
    };
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::from(i));
        }
        return Ok(Value::from(obj.extract::<u64>()?));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Ok(Number::from_f64(f.value()).map(Value::Number).unwrap_or(Value::Null));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.to_cow()?.into_owned()));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut map = Map::new();
        for (k, v) in d.iter() {
            let key: String = k
                .extract()
                .map_err(|_| PyTypeError::new_err(format!("dictionary keys must be strings, got {}", k.repr().map(|r| r.to_string()).unwrap_or_default())))?;
            map.insert(key, deeper(&v)?);
        }
        return Ok(Value::Object(map));
    }
    if let Ok(l) = obj.cast::<PyList>() {
        return l.iter().map(|v| deeper(&v)).collect::<PyResult<Vec<_>>>().map(Value::Array);
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        return t.iter().map(|v| deeper(&v)).collect::<PyResult<Vec<_>>>().map(Value::Array);
    }
    if let Ok(q) = obj.cast::<Quota>() {
        return Ok(serde_json::to_value(&q.get().inner).unwrap_or_default());
    }
    if let Ok(s) = obj.cast::<BlueGreen>() {
        return Ok(serde_json::to_value(&s.get().inner).unwrap_or_default());
    }
    if let Ok(s) = obj.cast::<Rolling>() {
        return Ok(serde_json::to_value(&s.get().inner).unwrap_or_default());
    }
    if let Ok(s) = obj.cast::<Canary>() {
        return Ok(serde_json::to_value(&s.get().inner).unwrap_or_default());
    }
    if let Ok(a) = obj.cast::<Analysis>() {
        return Ok(serde_json::to_value(&a.get().inner).unwrap_or_default());
    }
    if let Ok(s) = obj.cast::<CanaryStep>() {
        return Ok(serde_json::to_value(&s.get().inner).unwrap_or_default());
    }
    if let Ok(a) = obj.cast::<Autoscaling>() {
        return Ok(serde_json::to_value(a.get().inner).unwrap_or_default());
    }
    if obj.hasattr("__fspath__")? {
        let p = obj.call_method0("__fspath__")?;
        return deeper(&p);
    }
    Err(PyTypeError::new_err(format!("cannot use a {} in a spec", obj.get_type().name()?)))
}

/// A JSON value as a Python value (dicts, lists, str, int, float, bool, None).
pub fn json_to_py(py: Python<'_>, v: &Value) -> Py<PyAny> {
    let r: PyResult<Py<PyAny>> = (|| {
        Ok(match v {
            Value::Null => py.None(),
            Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any().unbind(),
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    i.into_pyobject(py)?.into_any().unbind()
                } else if let Some(u) = n.as_u64() {
                    u.into_pyobject(py)?.into_any().unbind()
                } else {
                    n.as_f64().unwrap_or_default().into_pyobject(py)?.into_any().unbind()
                }
            }
            Value::String(s) => PyString::new(py, s).into_any().unbind(),
            Value::Array(a) => PyList::new(py, a.iter().map(|x| json_to_py(py, x)))?.into_any().unbind(),
            Value::Object(m) => {
                let d = PyDict::new(py);
                for (k, x) in m {
                    d.set_item(k, json_to_py(py, x))?;
                }
                d.into_any().unbind()
            }
        })
    })();
    r.unwrap_or_else(|_| py.None())
}

/// The JSON form of a serde value, as Python.
pub fn to_py<T: serde::Serialize>(py: Python<'_>, v: &T) -> Py<PyAny> {
    json_to_py(py, &serde_json::to_value(v).unwrap_or_default())
}

/// Reads `text_or_path`: a path (str or os.PathLike) to a file that exists, else the text itself.
pub fn text_or_file(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    let os = obj.py().import("os")?;
    let is_str = obj.is_instance_of::<PyString>();
    if !is_str || !obj.extract::<String>()?.contains('\n') {
        let path = os.call_method1("fspath", (obj,))?;
        if os.getattr("path")?.call_method1("isfile", (&path,))?.is_truthy()? {
            let p: String = path.extract()?;
            return std::fs::read_to_string(&p).map_err(|e| pyo3::exceptions::PyOSError::new_err(format!("reading {p}: {e}")));
        }
    }
    obj.extract::<String>()
}
