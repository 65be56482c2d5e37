//! JSON Schemas of the spec files (tenant and release), generated from the model by schemars.

use crate::model::release::ReleaseSpec;
use crate::model::tenant::TenantSpec;

/// The JSON Schema of a tenant spec file.
pub fn tenant_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(TenantSpec)).unwrap_or_default()
}

/// The JSON Schema of a release spec file.
pub fn release_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(ReleaseSpec)).unwrap_or_default()
}

/// Every schema with the file name it is published under in `docs/schema/`.
pub fn all_schemas() -> Vec<(&'static str, serde_json::Value)> {
    vec![("tenant.schema.json", tenant_schema()), ("release.schema.json", release_schema())]
}

/// A schema as the pretty-printed text written to `docs/schema/` (with a final newline).
pub fn schema_text(schema: &serde_json::Value) -> String {
    let mut text = serde_json::to_string_pretty(schema).unwrap_or_default();
    text.push('\n');
    text
}
