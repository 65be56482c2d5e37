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
/// `Analysis`, a `CanaryStep`, an `Autoscaling`) as JSON: the spec or spec field at `root`
/// (`tenant`, `release.env`...), the root of the paths of its problems, which are the core's
/// `SpecError`s: a float that is not finite (the core's `not_a_finite_number`), nesting deeper
/// than the core's `spec::MAX_NESTING` (a dict that contains itself, say).
pub fn spec_json(obj: &Bound<'_, PyAny>, root: &str) -> PyResult<Value> {
    json_within(obj, moorage::spec::MAX_NESTING).map_err(|e| match e {
        Unconvertible::Python(e) => e,
        Unconvertible::TooDeep => crate::errors::spec(obj.py(), &moorage::spec::nested_too_deeply(root)),
        Unconvertible::BadNumber { below, shown, too_large } => {
            let path: String = std::iter::once(root.to_string()).chain(below.into_iter().rev()).collect();
            let problem = match too_large {
                true => moorage::spec::number_too_large(&path, &shown),
                false => moorage::spec::not_a_finite_number(&path, &shown),
            };
            crate::errors::spec(obj.py(), &problem)
        }
    })
}

/// Keyword arguments given in spec form, each put into the spec `m` under its key (left out when
/// `None`), converted with [`spec_json`] at `root.key` (`tenant.labels`).
pub fn put_spec_members(m: &mut Map<String, Value>, root: &str, members: &[(&str, Option<&Bound<'_, PyAny>>)]) -> PyResult<()> {
    for (key, v) in members {
        if let Some(v) = v {
            m.insert((*key).into(), spec_json(v, &format!("{root}.{key}"))?);
        }
    }
    Ok(())
}

/// A long number's text cut to its first digits and its length (`10**400` has 401 digits).
fn shortened(text: &str) -> String {
    match text.len() > 24 {
        true => format!("{}... ({} digits)", &text[..16], text.trim_start_matches('-').len()),
        false => text.to_string(),
    }
}

/// Why a Python value has no JSON form.
enum Unconvertible {
    /// A Python error (a type that has no JSON form, an exception in `__fspath__`...).
    Python(PyErr),
    /// Deeper than `spec::MAX_NESTING`.
    TooDeep,
    /// A float that is not finite, or an int beyond a float's range (`too_large`), `shown` as
    /// Python writes it, at the path segments `below` (the innermost first: collected on the way
    /// out, so that nothing is spent on paths otherwise).
    BadNumber { below: Vec<String>, shown: String, too_large: bool },
}

impl From<PyErr> for Unconvertible {
    fn from(e: PyErr) -> Self {
        Unconvertible::Python(e)
    }
}

/// The JSON of `obj` with `levels` lists, tuples or dicts left to enter.
fn json_within(obj: &Bound<'_, PyAny>, levels: usize) -> Result<Value, Unconvertible> {
    let deeper = |obj: &Bound<'_, PyAny>, segment: &dyn Fn() -> String| match levels.checked_sub(1) {
        Some(left) => json_within(obj, left).map_err(|e| match e {
            Unconvertible::BadNumber { mut below, shown, too_large } => {
                below.push(segment());
                Unconvertible::BadNumber { below, shown, too_large }
            }
            other => other,
        }),
        None => Err(Unconvertible::TooDeep),
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
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::from(u));
        }
        // Beyond 64 bits: as a float, which no field takes as a whole number, so that the core names
        // the field; beyond a float's range, the core's `number_too_large`.
        return match obj.extract::<f64>() {
            Ok(f) => Ok(Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null)),
            Err(_) => Err(Unconvertible::BadNumber { below: Vec::new(), shown: shortened(&obj.repr()?.to_string()), too_large: true }),
        };
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return match Number::from_f64(f.value()) {
            Some(n) => Ok(Value::Number(n)),
            None => Err(Unconvertible::BadNumber { below: Vec::new(), shown: obj.repr()?.to_string(), too_large: false }),
        };
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
            let value = deeper(&v, &|| format!(".{key}"))?;
            map.insert(key, value);
        }
        return Ok(Value::Object(map));
    }
    if let Ok(l) = obj.cast::<PyList>() {
        return l.iter().enumerate().map(|(i, v)| deeper(&v, &|| format!("[{i}]"))).collect::<Result<Vec<_>, _>>().map(Value::Array);
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        return t.iter().enumerate().map(|(i, v)| deeper(&v, &|| format!("[{i}]"))).collect::<Result<Vec<_>, _>>().map(Value::Array);
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
        return deeper(&p, &String::new);
    }
    Err(PyTypeError::new_err(format!("cannot use a {} in a spec", obj.get_type().name()?)).into())
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
