//! Commands about the CLI itself: the spec files' JSON Schema and shell completions.

use clap::CommandFactory;

use crate::args::{Cli, SchemaKind};
use crate::error::CliError;
use crate::output::write_stdout;

/// `schema [tenant|release]`: the JSON Schema the spec files follow (as in docs/schema/).
pub fn schema(kind: SchemaKind) -> Result<(), CliError> {
    let value = match kind {
        SchemaKind::Tenant => moorage::schema::tenant_schema(),
        SchemaKind::Release => moorage::schema::release_schema(),
        SchemaKind::All => serde_json::json!({ "tenant": moorage::schema::tenant_schema(), "release": moorage::schema::release_schema() }),
    };
    write_stdout(&moorage::schema::schema_text(&value))
}

/// `completion SHELL`: the completion script for `moorage`.
pub fn completion(shell: clap_complete::Shell) -> Result<(), CliError> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "moorage", &mut buf);
    write_stdout(&String::from_utf8_lossy(&buf))
}
