//! Fuzz target: the spec readers and validators (YAML files, programs' JSON texts) on arbitrary text. No input may panic or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(tenant) = moorage::spec::tenant_from_yaml(text) {
            // A tenant that validates must compile.
            let _ = moorage::compile(&tenant, &[]).expect("a valid tenant compiles");
        }
        let _ = moorage::spec::release_from_yaml(text);
        // A wave plan held as a JSON value (the bindings' dicts and objects) is read as its text is.
        if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
            if let Err(e) = moorage::spec::wave_plan_from_value(&value) {
                let problems = e.into_validation_errors();
                assert!(problems.errors().iter().all(|p| p.path.starts_with("plan")), "{problems}");
                if !contains_null(&value) {
                    assert!(moorage::spec::wave_plan_from_yaml(text).is_err(), "value refused but its YAML reading accepted: {text}");
                }
            }
        }
        // The JSON readers (bindings, batches) accept what the YAML reader accepts from JSON text,
        // and a refusal always names a field (a path under the spec's root).
        for (json, yaml) in [
            (moorage::spec::tenant_from_json(text).map(|_| ()), moorage::spec::tenant_from_yaml(text).map(|_| ())),
            (moorage::spec::release_from_json(text).map(|_| ()), moorage::spec::release_from_yaml(text).map(|_| ())),
        ] {
            if let Err(e) = json {
                let problems = e.into_validation_errors();
                assert!(problems.errors().iter().all(|p| p.path.starts_with("tenant") || p.path.starts_with("release")), "{problems}");
                if serde_json::from_str::<serde_json::Value>(text).is_ok_and(|v| !contains_null(&v)) {
                    assert!(yaml.is_err(), "JSON refused but its YAML reading accepted: {text}");
                }
            }
        }
    }
});

fn contains_null(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Null => true,
        serde_json::Value::Array(a) => a.iter().any(contains_null),
        serde_json::Value::Object(m) => m.values().any(contains_null),
        _ => false,
    }
}
