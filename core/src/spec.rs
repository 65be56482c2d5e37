//! Spec files: tenants and releases read from YAML or JSON, validated, with the path and line of every problem.

mod files;
mod lines;

use serde::de::DeserializeOwned;

pub use files::{document_from_yaml, read_paths, wave_plan_file, SpecDocument, SpecFile, SpecFilesError, SpecProblem, SpecProblemKind};
pub use lines::line_of;

use crate::error::{FieldError, ValidationErrors};
use crate::model::release::{Release, ReleaseSpec};
use crate::model::tenant::{Tenant, TenantSpec};
use crate::spec_value::StructsFromMaps;

/// Why a spec file was refused.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The text is not a well-formed spec: bad YAML, an unknown field, a wrong type.
    #[error("{path}: {message}{}", line.map(|l| format!(" (line {l})")).unwrap_or_default())]
    Parse {
        /// Path of the field, e.g. `release.replicas`.
        path: String,
        /// Line in the file (from 1), when known.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// The spec is well-formed but breaks the model's rules.
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
}

/// How many levels a spec may nest: the limit serde_json and serde_yaml put on a spec's text, which
/// the bindings also put on a program's values (so that a dict or object containing itself is a
/// problem, not a stack overflow).
pub const MAX_NESTING: usize = 128;

/// The problem of a spec nested deeper than [`MAX_NESTING`] levels (`path`: the spec's root).
pub fn nested_too_deeply(path: &str) -> SpecError {
    SpecError::Parse {
        path: path.to_string(),
        line: None,
        message: format!(
            "nests deeper than {MAX_NESTING} levels, where a spec has a few; does a value contain itself (a YAML alias to itself, a dict inside itself)?"
        ),
    }
}

/// The problem of a number at `path` in a program's value beyond a float's range (a Python int
/// past 1.8e308), `shown` as the program writes it: no field of a spec takes such a number.
pub fn number_too_large(path: &str, shown: &str) -> SpecError {
    SpecError::Parse { path: path.to_string(), line: None, message: format!("{shown} is too large: no field of a spec takes a number beyond 1.8e308") }
}

/// The problem of a number that is not finite (`NaN`, an infinity) at `path` in a program's value,
/// shown as the program writes it: JSON has no such numbers, so a binding would otherwise pass
/// them on as `null`, that is absent, and a field would silently take its default.
pub fn not_a_finite_number(path: &str, shown: &str) -> SpecError {
    SpecError::Parse {
        path: path.to_string(),
        line: None,
        message: format!("{shown} is not a finite number; give a number (is it the result of a failed conversion?)"),
    }
}

pub(crate) fn parse<T: DeserializeOwned>(text: &str, root: &str) -> Result<T, SpecError> {
    let de = serde_yaml::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        // A syntax error has no field yet: serde_path_to_error ends the path with `?`, which names nothing.
        let segments = e.path().to_string();
        let segments = segments.trim_end_matches('?').trim_end_matches('.');
        let path = if segments.is_empty() { root.to_string() } else { format!("{root}.{segments}") };
        let inner = e.into_inner();
        let line = inner.location().map(|l| l.line());
        let mut message = inner.to_string();
        if message.starts_with("recursion limit exceeded") {
            // The path would name every one of the levels.
            return match nested_too_deeply(root) {
                SpecError::Parse { path, message, .. } => SpecError::Parse { path, line, message },
                other => other,
            };
        }
        // serde_yaml appends " at line L column C"; the line is reported separately.
        if let Some(pos) = message.find(" at line ") {
            message.truncate(pos);
        }
        // serde_yaml also starts nested errors with its own path ("backups[0]: ..."); ours is more complete.
        if let Some((head, rest)) = message.split_once(": ") {
            if !head.contains(char::is_whitespace) {
                message = rest.to_string();
            }
        }
        SpecError::Parse { path, line, message: in_plain_words(&without_string_values(&message)) }
    })
}

/// serde names the Rust type a number did not fit (`invalid value: integer `70000`, expected u16`);
/// the message says which numbers fit instead.
fn in_plain_words(message: &str) -> String {
    let Some((head, rust_type)) = message.rsplit_once(", expected ") else { return message.to_string() };
    let fits = match rust_type {
        "u8" => "a whole number from 0 to 255",
        "u16" => "a whole number from 0 to 65535",
        "u32" => "a whole number from 0 to 4294967295",
        "u64" | "usize" => "a whole number from 0 to 18446744073709551615",
        "i8" => "a whole number from -128 to 127",
        "i16" => "a whole number from -32768 to 32767",
        "i32" => "a whole number from -2147483648 to 2147483647",
        "i64" | "isize" => "a whole number from -9223372036854775808 to 9223372036854775807",
        "f32" | "f64" => "a number",
        _ => return message.to_string(),
    };
    format!("{head}, expected {fits}")
}

/// serde quotes a string in the wrong place (`invalid type: string "…", expected a boolean`); a value
/// in the wrong field may be a key or a token pasted by mistake, so the message keeps its type only.
fn without_string_values(message: &str) -> String {
    for prefix in ["invalid type: string \"", "invalid value: string \""] {
        if let Some(rest) = message.strip_prefix(prefix) {
            if let Some(end) = rest.rfind("\", expected") {
                return format!("{}{}", &prefix[..prefix.len() - 2], &rest[end + 1..]);
            }
        }
    }
    message.to_string()
}

/// Reads and validates a tenant spec (YAML or JSON).
pub fn tenant_from_yaml(text: &str) -> Result<Tenant, SpecError> {
    Ok(Tenant::from_spec(parse::<TenantSpec>(text, "tenant")?)?)
}

/// Reads and validates a release spec (YAML or JSON).
pub fn release_from_yaml(text: &str) -> Result<Release, SpecError> {
    Ok(Release::from_spec(parse::<ReleaseSpec>(text, "release")?)?)
}

/// Reads and validates a tenant spec given as JSON text by a program (a binding's spec object, a
/// batch's unit): `null` members mean absent fields, and a malformed spec is reported with its
/// field's path but no line (the text is the program's, not a file the user wrote).
pub fn tenant_from_json(text: &str) -> Result<Tenant, SpecError> {
    Ok(Tenant::from_spec(parse_json::<TenantSpec>(text, "tenant")?)?)
}

/// [`tenant_from_json`] for a release spec.
pub fn release_from_json(text: &str) -> Result<Release, SpecError> {
    Ok(Release::from_spec(parse_json::<ReleaseSpec>(text, "release")?)?)
}

/// [`tenant_from_json`] of a spec already held as a JSON value (a Python dict converted).
pub fn tenant_from_value(value: &serde_json::Value) -> Result<Tenant, SpecError> {
    Ok(Tenant::from_spec(parse_value::<TenantSpec>(value, "tenant")?)?)
}

/// [`release_from_json`] of a spec already held as a JSON value.
pub fn release_from_value(value: &serde_json::Value) -> Result<Release, SpecError> {
    Ok(Release::from_spec(parse_value::<ReleaseSpec>(value, "release")?)?)
}

/// A spec from a program's JSON text: straight through serde_json when it deserializes as is (the
/// common case, and the fast one; a struct only from a mapping, as in a spec file: see
/// [`StructsFromMaps`]), or else as [`parse_value`] does.
fn parse_json<T: DeserializeOwned>(text: &str, root: &str) -> Result<T, SpecError> {
    let mut de = serde_json::Deserializer::from_str(text);
    if let Ok(spec) = T::deserialize(StructsFromMaps(&mut de)).and_then(|spec| de.end().map(|()| spec)) {
        return Ok(spec);
    }
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| match e.to_string().starts_with("recursion limit exceeded") {
        true => nested_too_deeply(root),
        false => SpecError::Parse { path: root.to_string(), line: None, message: format!("not JSON: {e}") },
    })?;
    parse_value(&value, root)
}

/// A spec from a program's JSON value: straight through serde when it deserializes as is (a struct
/// only from a mapping, as in [`parse_json`]), or else through the spec reader for the field's
/// path (no line), with `null` members left out first.
fn parse_value<T: DeserializeOwned>(value: &serde_json::Value, root: &str) -> Result<T, SpecError> {
    if let Ok(spec) = T::deserialize(StructsFromMaps(value)) {
        return Ok(spec);
    }
    let mut value = value.clone();
    drop_nulls(&mut value);
    parse::<T>(&json_text_for_yaml(&value), root).map_err(|e| match e {
        SpecError::Parse { path, message, .. } => SpecError::Parse { path, line: None, message },
        other => other,
    })
}

/// A JSON value as JSON text that YAML reads back as the same value: serde_json writes as they are
/// the characters that YAML does not allow in a document (DEL, C1 controls, U+FFFE, U+FFFF) or
/// reads as line breaks, folded into a space in a string (NEL, U+2028, U+2029), so they are
/// written as escapes (`\u007f`) instead. They can only be in strings, where JSON and YAML read
/// the escape alike.
fn json_text_for_yaml(value: &serde_json::Value) -> String {
    let text = value.to_string();
    let not_for_yaml = |c: char| matches!(c, '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{fffe}' | '\u{ffff}');
    if !text.contains(not_for_yaml) {
        return text;
    }
    let mut escaped = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match not_for_yaml(c) {
            true => escaped.push_str(&format!("\\u{:04x}", u32::from(c))),
            false => escaped.push(c),
        }
    }
    escaped
}

/// Leaves out the `null` members of every object (a program's way of saying "absent").
fn drop_nulls(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            m.values_mut().for_each(drop_nulls);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

impl SpecError {
    /// The problems as a validation error (paths and messages): the one problem of a malformed
    /// spec, or every rule an invalid one breaks. What a batch reports for each of its units.
    pub fn into_validation_errors(self) -> ValidationErrors {
        match self {
            SpecError::Parse { path, message, .. } => ValidationErrors::one(FieldError { path, message }),
            SpecError::Invalid(e) => e,
        }
    }
}

/// Reads and validates a fleet wave plan (YAML or JSON); paths start at `plan`.
pub fn wave_plan_from_yaml(text: &str) -> Result<crate::waves::WavePlan, SpecError> {
    Ok(crate::waves::WavePlan::from_spec(parse::<crate::waves::WavePlanSpec>(text, "plan")?)?)
}

/// A tenant's quota from its spec form held as a JSON value (a binding's options, converted), read
/// as the `quota` of a tenant spec is: problems name the field under `quota`, with no line. The
/// tenant validates the quantities.
pub fn quota_from_value(value: &serde_json::Value) -> Result<crate::Quota, SpecError> {
    parse_value::<crate::Quota>(value, "quota")
}

/// A release's strategy from its spec form held as a JSON value (`{type: "blueGreen", ...}`), read
/// as the `strategy` of a release spec is: problems name the field under `strategy`.
pub fn strategy_from_value(value: &serde_json::Value) -> Result<crate::Strategy, SpecError> {
    parse_value::<crate::Strategy>(value, "strategy")
}

/// [`quota_from_value`] of a quota written by a program as JSON text (a JavaScript object through
/// `JSON.stringify`): `null` members are absent, and nesting deeper than [`MAX_NESTING`] is one
/// problem at `quota`.
pub fn quota_from_json(text: &str) -> Result<crate::Quota, SpecError> {
    parse_json::<crate::Quota>(text, "quota")
}

/// [`strategy_from_value`] of a strategy written by a program as JSON text (a JavaScript object
/// through `JSON.stringify`): `null` members are absent, and nesting deeper than [`MAX_NESTING`] is
/// one problem at `strategy`.
pub fn strategy_from_json(text: &str) -> Result<crate::Strategy, SpecError> {
    parse_json::<crate::Strategy>(text, "strategy")
}

/// An analysis (one of a release's `analyses`) from its spec form held as a JSON value: problems
/// name the field under `analysis`. The release validates it with its other analyses.
pub fn analysis_from_value(value: &serde_json::Value) -> Result<crate::Analysis, SpecError> {
    parse_value::<crate::Analysis>(value, "analysis")
}

/// A release's autoscaler from its spec form held as a JSON value (`{minReplicas, maxReplicas,
/// targetCpuUtilization}`): problems name the field under `autoscaling`. The release validates it.
pub fn autoscaling_from_value(value: &serde_json::Value) -> Result<crate::Autoscaling, SpecError> {
    parse_value::<crate::Autoscaling>(value, "autoscaling")
}

/// One canary step from its spec form held as a JSON value (`{setWeight: 20}`, `{pause: {}}`):
/// problems name the field under `step`. The release validates it with its strategy.
pub fn canary_step_from_value(value: &serde_json::Value) -> Result<crate::CanaryStep, SpecError> {
    parse_value::<crate::CanaryStep>(value, "step")
}

/// [`wave_plan_from_yaml`] of a plan written by a program as JSON text (a JavaScript object
/// through `JSON.stringify`): `null` members are absent, and a problem names the field with no
/// line, as [`tenant_from_json`] does.
pub fn wave_plan_from_json(text: &str) -> Result<crate::waves::WavePlan, SpecError> {
    Ok(crate::waves::WavePlan::from_spec(parse_json::<crate::waves::WavePlanSpec>(text, "plan")?)?)
}

/// [`wave_plan_from_yaml`] of a plan held as a JSON value (a Python dict or a JavaScript object
/// converted): `null` members are absent, and a problem names the field with no line, as
/// [`tenant_from_value`] does.
pub fn wave_plan_from_value(value: &serde_json::Value) -> Result<crate::waves::WavePlan, SpecError> {
    Ok(crate::waves::WavePlan::from_spec(parse_value::<crate::waves::WavePlanSpec>(value, "plan")?)?)
}

/// Writes a tenant's spec as YAML.
pub fn tenant_to_yaml(tenant: &Tenant) -> Result<String, serde_yaml::Error> {
    serde_yaml::to_string(tenant.spec())
}

/// Writes a release's spec as YAML.
pub fn release_to_yaml(release: &Release) -> Result<String, serde_yaml::Error> {
    serde_yaml::to_string(release.spec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_specs_read_like_yaml_ones_with_nulls_as_absent() {
        let json = r#"{"name":"acme","displayName":null,"quota":{"limits":{"cpu":"4","memory":"8Gi"}},"domains":["acme.test"]}"#;
        let tenant = tenant_from_json(json).expect("a valid tenant");
        assert_eq!(tenant.spec(), tenant_from_yaml("name: acme\nquota: {limits: {cpu: '4', memory: 8Gi}}\ndomains: [acme.test]\n").expect("valid").spec());
        let release = release_from_json(r#"{"tenant":"acme","app":"web","version":"v1","image":"nginx:1.27","replicas":null}"#).expect("a valid release");
        assert_eq!(release.app(), "web");
    }

    #[test]
    fn numbers_that_do_not_fit_say_which_numbers_do() {
        let problem = |yaml: &str| match release_from_yaml(yaml) {
            Err(SpecError::Parse { path, message, .. }) => format!("{path}: {message}"),
            other => panic!("expected a parse problem, got {other:?}"),
        };
        let release = "tenant: acme\napp: web\nversion: v1\nimage: nginx\n";
        assert_eq!(
            problem(&format!("{release}replicas: 99999999999\n")),
            "release.replicas: invalid value: integer `99999999999`, expected a whole number from 0 to 4294967295"
        );
        assert_eq!(problem(&format!("{release}replicas: -1\n")), "release.replicas: invalid type: integer `-1`, expected a whole number from 0 to 4294967295");
        assert_eq!(
            problem(&format!("{release}replicas: 1.5\n")),
            "release.replicas: invalid type: floating point `1.5`, expected a whole number from 0 to 4294967295"
        );
        assert_eq!(
            problem(&format!("{release}ports: [{{name: http, port: 70000}}]\n")),
            "release.ports[0].port: invalid value: integer `70000`, expected a whole number from 0 to 65535"
        );
        // The same words from a program's values (Python, Node).
        let value = serde_json::json!({"tenant": "acme", "app": "web", "version": "v1", "image": "nginx", "replicas": -3});
        let Err(SpecError::Parse { path, message, .. }) = release_from_value(&value) else { panic!("replicas is negative") };
        assert_eq!((path.as_str(), message.as_str()), ("release.replicas", "invalid type: integer `-3`, expected a whole number from 0 to 4294967295"));
        // Other messages are left as they are.
        assert_eq!(in_plain_words("invalid type: sequence, expected a string"), "invalid type: sequence, expected a string");
    }

    #[test]
    fn specs_nested_too_deeply_are_one_problem_at_the_root() {
        // A spec file is first read as a document of any kind (`spec::files`), where nothing stops
        // the nesting before serde_yaml's limit.
        let deep = format!("name: acme\nlabels: {}{}\n", "[".repeat(200), "]".repeat(200));
        for (yaml, at) in [("&a [*a]\n", 1), (deep.as_str(), 2)] {
            let Err(SpecError::Parse { path, line, message }) = parse::<serde_yaml::Value>(yaml, "spec") else { panic!("{yaml} nests too deeply") };
            assert_eq!((path.as_str(), line), ("spec", Some(at)), "{message}");
            assert!(message.starts_with("nests deeper than 128 levels"), "{message}");
        }
        // A program's JSON text (what the Node bindings pass) says the same.
        let json = format!(r#"{{"name":"acme","labels":{}{}}}"#, "[".repeat(200), "]".repeat(200));
        let Err(SpecError::Parse { path, line, message }) = tenant_from_json(&json) else { panic!("nested too deeply") };
        assert_eq!((path.as_str(), line), ("tenant", None), "{message}");
        assert!(message.starts_with("nests deeper than 128 levels"), "{message}");
    }

    #[test]
    fn json_problems_name_the_field_without_a_line() {
        let Err(SpecError::Parse { path, line, message }) =
            release_from_json(r#"{"tenant":"acme","app":"web","version":"v1","image":"nginx","replicas":"three"}"#)
        else {
            panic!("replicas is not a number")
        };
        assert_eq!((path.as_str(), line), ("release.replicas", None), "{message}");
        let Err(SpecError::Parse { path, .. }) = tenant_from_json("{not json") else { panic!("not JSON") };
        assert_eq!(path, "tenant");
        let invalid = tenant_from_json(r#"{"name":"Not A Name"}"#).expect_err("an invalid name");
        let fields = invalid.into_validation_errors().into_errors();
        assert_eq!(fields.len(), 1, "{fields:?}");
        assert!(fields[0].path.starts_with("tenant.name"), "{fields:?}");
    }

    #[test]
    fn wave_plans_held_as_values_read_like_yaml_ones() {
        let value = serde_json::json!({"name": "p", "app": "shop", "version": "2.0", "image": "registry.test/shop:2.0", "canaryTenants": null, "waves": [50, 100], "failureBudget": null});
        let plan = wave_plan_from_value(&value).expect("nulls are absent members");
        let yaml = wave_plan_from_yaml("name: p\napp: shop\nversion: '2.0'\nimage: registry.test/shop:2.0\nwaves: [50, 100]\n").expect("valid");
        assert_eq!(plan.spec(), yaml.spec());
        let Err(SpecError::Parse { path, line, .. }) =
            wave_plan_from_value(&serde_json::json!({"name": "p", "app": "shop", "version": "2.0", "image": "x:1", "waves": "all"}))
        else {
            panic!("waves is not a list")
        };
        assert_eq!((path.as_str(), line), ("plan.waves", None));
    }

    #[test]
    fn quotas_and_strategies_from_json_text_name_their_field() {
        let quota = quota_from_json(r#"{"pods":3,"containerDefaults":{"default":{"cpu":"1"},"defaultRequest":{},"max":null}}"#).expect("a valid quota");
        assert_eq!(quota.pods, Some(3));
        let Err(SpecError::Parse { path, line, .. }) = quota_from_json(r#"{"containerDefaults":{"default":{},"defaultRequest":{},"max":{"cpu":[2]}}}"#) else {
            panic!("cpu is a list")
        };
        assert_eq!((path.as_str(), line), ("quota.containerDefaults.max.cpu", None));
        let strategy = strategy_from_json(r#"{"type":"canary","steps":[{"setWeight":20},{"pause":{}},{"setWeight":100}],"traffic":null}"#).expect("valid");
        assert!(matches!(strategy, crate::Strategy::Canary(_)));
        let Err(SpecError::Parse { path, .. }) = strategy_from_json(r#"{"type":"canary","steps":[{"setWeight":-5}]}"#) else { panic!("a negative weight") };
        assert_eq!(path, "strategy.steps[0].setWeight");
        let deep = format!(r#"{{"type":"canary","steps":{}{}}}"#, "[".repeat(200), "]".repeat(200));
        let Err(SpecError::Parse { path, message, .. }) = strategy_from_json(&deep) else { panic!("nested too deeply") };
        assert_eq!(path, "strategy", "{message}");
        assert!(message.starts_with("nests deeper than 128 levels"), "{message}");
    }

    #[test]
    fn a_programs_list_is_not_read_as_a_struct() {
        // serde_json alone reads `[20]` as `{setWeight: 20}` and `["/web/login"]` as `{path: ...}`;
        // a spec file refuses both, and so does a program's value or JSON text.
        let release = serde_json::json!({"tenant": "acme", "app": "web", "version": "v1", "image": "nginx",
            "strategy": {"type": "canary", "steps": [[20], {"setWeight": 100}]}});
        let text = release.to_string();
        for problem in [release_from_value(&release).map(|_| ()), release_from_json(&text).map(|_| ()), release_from_yaml(&text).map(|_| ())] {
            let Err(SpecError::Parse { path, message, .. }) = problem else { panic!("a list is not a canary step") };
            assert_eq!((path.as_str(), message.as_str()), ("release.strategy.steps[0]", "invalid type: sequence, expected struct CanaryStepRepr"));
        }
        let analysis = serde_json::json!({"name": "login", "http": ["/web/login"]});
        let Err(SpecError::Parse { path, .. }) = analysis_from_value(&analysis) else { panic!("a list is not an HTTP check") };
        assert_eq!(path, "analysis.http");
    }

    #[test]
    fn characters_yaml_does_not_allow_are_named_in_the_field_not_at_a_position_in_text() {
        // The value is read through JSON text written for it; a program wrote no text.
        let tenant = serde_json::json!({"name": "acme", "labels": {"plan": "a\u{7f}b"}, "quota": {"pods": "x\u{9f}"}});
        let Err(SpecError::Parse { path, message, .. }) = tenant_from_value(&tenant) else { panic!("pods is a string") };
        assert_eq!(path, "tenant.quota.pods", "{message}");
        assert_eq!(json_text_for_yaml(&serde_json::json!(["\u{7f}é\u{85}\u{ffff}"])), "[\"\\u007fé\\u0085\\uffff\"]");
        // A line break to YAML would be read as a space: the field is named as the program wrote it.
        let Err(SpecError::Parse { path, .. }) = tenant_from_value(&serde_json::json!({"name": "acme", "a\u{85}b": 1})) else { panic!("unknown field") };
        assert_eq!(path, "tenant.a\u{85}b");
    }
}
