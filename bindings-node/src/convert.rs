//! JavaScript values to and from the JSON form of the core's serde types (translation only).

use napi::bindgen_prelude::{JsObjectValue, Object, Unknown};
use napi::{Env, ValueType};
use serde_json::Value;

/// A plain JavaScript value (object, array, string, number, boolean) as JSON, with `null` and
/// `undefined` members left out (a spec's absent field), as the spec file form.
pub fn to_json(env: &Env, value: Unknown<'_>) -> napi::Result<Value> {
    let mut v: Value = env.from_js_value(value)?;
    drop_nulls(&mut v);
    Ok(v)
}

fn drop_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            m.values_mut().for_each(drop_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

/// The JSON form of a core value (its serde form: the keys of a spec file).
pub fn spec_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or_default()
}

/// A spec object as JSON, member by member: `special` turns a member into JSON first (a class
/// instance such as a `Quota`, which has no JSON of its own), returning `None` for plain values.
pub fn spec_object_json(
    env: &Env,
    object: &Object<'_>,
    special: impl Fn(&str, &Unknown<'_>) -> napi::Result<Option<Value>>,
) -> napi::Result<Value> {
    let mut map = serde_json::Map::new();
    for key in Object::keys(object)? {
        let Some(v) = member(object, &key)? else { continue };
        let json = match special(&key, &v)? {
            Some(json) => json,
            None => to_json(env, v)?,
        };
        map.insert(key, json);
    }
    Ok(Value::Object(map))
}

/// A member of a plain object, if present and neither `null` nor `undefined`.
pub fn member<'env>(object: &Object<'env>, key: &str) -> napi::Result<Option<Unknown<'env>>> {
    let v: Unknown<'env> = object.get_named_property(key)?;
    Ok(match v.get_type()? {
        ValueType::Null | ValueType::Undefined => None,
        _ => Some(v),
    })
}

/// YAML or JSON text, or the path of a file holding it: text has a newline or does not name a file.
pub fn text_or_file(text_or_path: String) -> napi::Result<String> {
    if !text_or_path.contains('\n') && std::path::Path::new(&text_or_path).is_file() {
        return std::fs::read_to_string(&text_or_path).map_err(|e| napi::Error::from_reason(format!("reading {text_or_path}: {e}")));
    }
    Ok(text_or_path)
}
