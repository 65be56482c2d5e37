//! Fuzz target: the spec parser and validators on arbitrary YAML text. No input may panic or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(tenant) = moorage::spec::tenant_from_yaml(text) {
            // A tenant that validates must compile.
            let _ = moorage::compile(&tenant, &[]).expect("a valid tenant compiles");
        }
        let _ = moorage::spec::release_from_yaml(text);
    }
});
