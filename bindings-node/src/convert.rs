//! JavaScript values to and from the JSON form of the core's serde types (translation only).

use std::cell::RefCell;

use napi::bindgen_prelude::{FnArgs, FromNapiValue, Function, FunctionRef, JsObjectValue, Object, Unknown};
use napi::{Env, ValueType};
use serde_json::Value;

/// The JSON form of a core value (its serde form: the keys of a spec file).
pub fn spec_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or_default()
}

/// The JSON text of a core value (its serde form).
pub fn spec_json_text<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

/// A spec object with the members given (under their spec names), each value the caller's as it
/// is, for the core to read: napi-rs's own conversions would decide instead (a number to an
/// unsigned integer turns -1 into 4294967295, 1.5 into 1 and NaN into 0 without a word).
pub fn spec_object<'env>(env: &'env Env, members: Vec<(&str, Option<Unknown<'env>>)>) -> napi::Result<Object<'env>> {
    let mut object = Object::new(env)?;
    for (key, value) in members {
        if let Some(value) = value {
            object.set_named_property(key, value)?;
        }
    }
    Ok(object)
}

/// A `#[napi(object)]` struct of options: its name in `index.d.ts` and its members there.
pub trait OptionKeys {
    /// The interface's name (`ApplyTenantOptions`).
    const NAME: &'static str;
    /// Its members, camelCase.
    const KEYS: &'static [&'static str];
}

/// The options given to a call, read as `T` once each of their keys was found among `T::KEYS`:
/// napi-rs's own conversion skips a key it does not know, so a misspelt option (`{timout: 5}`,
/// `{too: 3}` for a rollback) would silently be its default. An unknown key is refused as an
/// argument of the wrong type is (`InvalidArg`), naming the options there are, as Python refuses an
/// unexpected keyword argument.
pub fn read_options<T: FromNapiValue + OptionKeys>(env: &Env, given: Option<Object<'_>>) -> napi::Result<Option<T>> {
    let Some(given) = given else { return Ok(None) };
    known_keys_only(&given, T::NAME, T::KEYS)?;
    // napi-rs converts the object to `T` as the value of a property of another, without `unsafe`.
    let mut holder = Object::new(env)?;
    holder.set_named_property("options", given)?;
    holder.get_named_property_unchecked::<T>("options").map(Some)
}

/// Refuses `given` when one of its keys is none of `keys` (see [`read_options`]); `what` names it in
/// the message (`ApplyTenantOptions`, `clusters[0]`).
pub fn known_keys_only(given: &Object<'_>, what: &str, keys: &[&str]) -> napi::Result<()> {
    match Object::keys(given)?.into_iter().find(|key| !keys.contains(&key.as_str())) {
        Some(unknown) => {
            let known: Vec<String> = keys.iter().map(|key| format!("`{key}`")).collect();
            Err(napi::Error::new(napi::Status::InvalidArg, format!("{what}: unknown option `{unknown}`, expected one of {}", known.join(", "))))
        }
        None => Ok(()),
    }
}

/// A whole number given for an option that is not part of a spec (`name`): napi-rs's own
/// conversion would wrap or cut it (see [`spec_object`]), so anything else is refused, as an
/// argument of the wrong type is.
pub fn js_whole_number(n: f64, name: &str) -> napi::Result<u32> {
    if n.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&n) {
        return Ok(n as u32);
    }
    Err(napi::Error::new(napi::Status::InvalidArg, format!("{name}: {} is not a whole number from 0 to {}", js_number_text(n), u32::MAX)))
}

/// A number as JavaScript writes it (`NaN`, `Infinity`, `1.5`, `2`).
fn js_number_text(n: f64) -> String {
    match n {
        n if n.is_nan() => "NaN".into(),
        f64::INFINITY => "Infinity".into(),
        f64::NEG_INFINITY => "-Infinity".into(),
        n => n.to_string(),
    }
}

/// The JavaScript function that writes a spec object as JSON text: `JSON.stringify(this)`, without
/// the members named in its first argument (class instances the caller reads itself), and with
/// the members named in its second written as lists of `{name, role}` when they are given as a
/// mapping of name to role (a tenant's `members`). `JSON.stringify` writes a number that is not
/// finite as `null`, which the core reads as absent; so when the text has a `null`, the values
/// are searched for one, and the first found is given as [`NOT_FINITE`] followed by the JSON of
/// `[path, shown]`. An object too deep for `JSON.stringify`, or containing itself, gives
/// [`NESTED_TOO_DEEPLY`].
const SPEC_TEXT: &str = "(function (omit, named) { 'use strict'; \
    let copy = null; \
    for (const key of named) { const v = this[key]; \
      if (v !== null && typeof v === 'object' && !Array.isArray(v) && [Object.prototype, null].includes(Object.getPrototypeOf(v))) { \
        copy = copy ?? { ...this }; copy[key] = Object.entries(v).map(([name, role]) => ({ name, role })) } } \
    if (omit.length > 0) { copy = copy ?? { ...this }; for (const key of omit) copy[key] = undefined } \
    let text; \
    try { text = JSON.stringify(copy ?? this) } catch (e) { \
      if (e instanceof RangeError || (e instanceof TypeError && /circular/i.test(e.message))) return '\\u0000'; \
      throw e } \
    if (!text.includes('null')) return text; \
    const find = (v, path) => { \
      if (typeof v === 'number') return Number.isFinite(v) ? null : [path, String(v)]; \
      if (v === null || typeof v !== 'object' || typeof v.toJSON === 'function') return null; \
      if (Array.isArray(v)) { for (let i = 0; i < v.length; i++) { const f = find(v[i], path + '[' + i + ']'); if (f) return f } return null } \
      for (const [k, x] of Object.entries(v)) { const f = find(x, path + '.' + k); if (f) return f } \
      return null }; \
    const found = find(copy ?? this, ''); \
    return found ? '\\u0001' + JSON.stringify(found) : text })";

/// What [`SPEC_TEXT`] gives for an object nested too deeply (not JSON text, which never starts so).
const NESTED_TOO_DEEPLY: &str = "\u{0}";

/// How [`SPEC_TEXT`] starts what it gives for a number that is not finite.
const NOT_FINITE: char = '\u{1}';

type SpecTextArgs = FnArgs<(Vec<&'static str>, Vec<&'static str>)>;
type SpecText = FunctionRef<SpecTextArgs, Option<String>>;

thread_local! {
    /// `SPEC_TEXT` compiled once per JavaScript thread (each worker loads the module anew).
    static SPEC_TEXT_FN: RefCell<Option<SpecText>> = const { RefCell::new(None) };
}

/// A spec object as JSON text, in one crossing: the object is written by `JSON.stringify` on the
/// JavaScript side (one string instead of one Node-API call per member), without the members
/// named in `extra`, which are spliced in from the JSON texts the caller gives (class instances it
/// reads itself, such as a `Quota`), and with the members named in `named` turned from a mapping
/// of name to role into the spec's list of `{name, role}`. An object with no JSON text is the
/// core's problem at `root` (the spec's name: `tenant`, `release`, `plan`), thrown.
pub fn spec_text(env: &Env, object: &Object<'_>, root: &str, extra: &[(&'static str, String)], named: &[&'static str]) -> napi::Result<String> {
    spec_text_or_problem(env, object, root, extra, named)?.map_err(|problem| crate::errors::spec(&problem).into_error(env))
}

/// [`spec_text`], with the core's problem returned for the caller to throw or reject with: an
/// object nested too deeply or containing itself, a number that is not finite.
pub fn spec_text_or_problem(
    env: &Env,
    object: &Object<'_>,
    root: &str,
    extra: &[(&'static str, String)],
    named: &[&'static str],
) -> napi::Result<Result<String, moorage::spec::SpecError>> {
    let omit: Vec<&'static str> = extra.iter().map(|(key, _)| *key).collect();
    let text = SPEC_TEXT_FN.with(|cell| -> napi::Result<Option<String>> {
        let mut cell = cell.borrow_mut();
        if cell.is_none() {
            let f: Function<SpecTextArgs, Option<String>> = env.run_script(SPEC_TEXT)?;
            *cell = Some(f.create_ref()?);
        }
        match cell.as_ref() {
            Some(f) => f.borrow_back(env)?.apply(object, FnArgs::from((omit, named.to_vec()))),
            None => Ok(None),
        }
    })?;
    let text = text.unwrap_or_else(|| "null".into());
    if text == NESTED_TOO_DEEPLY {
        return Ok(Err(moorage::spec::nested_too_deeply(root)));
    }
    if let Some(found) = text.strip_prefix(NOT_FINITE) {
        let (below, shown): (String, String) = serde_json::from_str(found).map_err(|e| napi::Error::from_reason(e.to_string()))?;
        return Ok(Err(moorage::spec::not_a_finite_number(&format!("{root}{below}"), &shown)));
    }
    if extra.is_empty() || !text.starts_with('{') {
        return Ok(Ok(text));
    }
    // `{"a":1}` with `tenant` and `strategy`: `{"tenant":"acme","strategy":{...},"a":1}`.
    let mut spliced = String::with_capacity(text.len() + extra.iter().map(|(k, v)| k.len() + v.len() + 4).sum::<usize>());
    spliced.push('{');
    for (i, (key, json)) in extra.iter().enumerate() {
        if i > 0 {
            spliced.push(',');
        }
        spliced.push_str(&Value::String((*key).into()).to_string());
        spliced.push(':');
        spliced.push_str(json);
    }
    if text != "{}" {
        spliced.push(',');
    }
    spliced.push_str(&text[1..]);
    Ok(Ok(spliced))
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
