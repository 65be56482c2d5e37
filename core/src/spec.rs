//! Spec files: tenants and releases read from YAML or JSON, validated, with the path and line of every problem.

mod files;
mod lines;

use serde::de::DeserializeOwned;

pub use files::{document_from_yaml, read_paths, wave_plan_file, SpecDocument, SpecFile, SpecFilesError, SpecProblem, SpecProblemKind};
pub use lines::line_of;

use crate::error::ValidationErrors;
use crate::model::release::{Release, ReleaseSpec};
use crate::model::tenant::{Tenant, TenantSpec};

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
        SpecError::Parse { path, line, message: without_string_values(&message) }
    })
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

/// Reads and validates a fleet wave plan (YAML or JSON); paths start at `plan`.
pub fn wave_plan_from_yaml(text: &str) -> Result<crate::waves::WavePlan, SpecError> {
    Ok(crate::waves::WavePlan::from_spec(parse::<crate::waves::WavePlanSpec>(text, "plan")?)?)
}

/// Writes a tenant's spec as YAML.
pub fn tenant_to_yaml(tenant: &Tenant) -> Result<String, serde_yaml::Error> {
    serde_yaml::to_string(tenant.spec())
}

/// Writes a release's spec as YAML.
pub fn release_to_yaml(release: &Release) -> Result<String, serde_yaml::Error> {
    serde_yaml::to_string(release.spec())
}
