//! `moorage`: the command line for operators. It parses, calls the core, and prints; it never decides.

mod args;
mod commands;
mod error;
mod output;
mod progress;
mod target;

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use args::{Cli, Command, Format};
use commands::release::AppOperation;
use commands::{meta, release, specs, tenants, waves, Context};
use error::CliError;
use output::{colour_wanted, Colour, Output};
use target::Target;

async fn run(cli: Cli) -> Result<(), CliError> {
    let out = Output::new(cli.output);
    // Commands that need no target.
    match &cli.command {
        Command::Render { specs: s, out: dir } => return specs::render(&out, &s.files, dir.as_deref()).await,
        Command::Schema { kind } => return meta::schema(*kind),
        Command::Completion { shell } => return meta::completion(*shell),
        Command::Usage { tenant: Some(tenant), prometheus, last } => return tenants::usage(&out, Some(tenant), prometheus, last, None).await,
        _ => {}
    }
    let target = Target::open(&cli.target).await?;
    let ctx = Context { target, target_args: cli.target.clone(), out, timeout: Duration::from_secs(cli.timeout) };
    let result = match &cli.command {
        Command::Plan { specs: s } => specs::plan(&ctx, &s.files).await,
        Command::Apply { specs: s } => specs::apply(&ctx, &s.files).await,
        Command::Status { tenant, app: Some(app) } => release::status(&ctx, tenant, app).await,
        Command::Status { tenant, app: None } => tenants::status(&ctx, tenant).await,
        Command::Rollout(args) => release::rollout(&ctx, args).await,
        Command::Promote(a) => release::operate(&ctx, a, AppOperation::Promote).await,
        Command::Abort(a) => release::operate(&ctx, a, AppOperation::Abort).await,
        Command::Retry(a) => release::operate(&ctx, a, AppOperation::Retry).await,
        Command::Rollback { app, to } => release::operate(&ctx, app, AppOperation::Rollback(*to)).await,
        Command::Scale { app, replicas } => release::operate(&ctx, app, AppOperation::Scale(*replicas)).await,
        Command::History(a) => release::history(&ctx, a).await,
        Command::Tenants(command) => tenants::tenants(&ctx, command).await,
        Command::Waves(command) => waves::waves(&ctx, command).await,
        Command::Usage { tenant: None, prometheus, last } => tenants::usage(&ctx.out, None, prometheus, last, Some(ctx.target.backend())).await,
        Command::Render { .. } | Command::Schema { .. } | Command::Completion { .. } | Command::Usage { tenant: Some(_), .. } => Ok(()),
    };
    // The simulated cluster's state is saved whatever happened: a failed or interrupted rollout leaves state too.
    let saved = ctx.target.finish();
    result.and(saved)
}

/// Prints the error on stderr (as JSON on stdout's format for scripts) and returns its exit code.
fn report(format: Format, e: &CliError) -> ExitCode {
    let code = error::exit_code(e);
    match format {
        Format::Json | Format::Yaml => {
            let value = serde_json::json!({ "error": { "kind": error::kind(e), "exitCode": code, "message": e.to_string(), "problems": problems(e) } });
            let text = serde_json::to_string_pretty(&value).unwrap_or_default();
            eprintln!("{text}");
        }
        Format::Table => {
            use std::io::IsTerminal;
            let out = Output::new(format);
            let label = if colour_wanted(std::io::stderr().is_terminal()) { out.paint("error:", Colour::Red) } else { "error:".to_string() };
            eprintln!("{label} {e}");
        }
    }
    error::to_exit(code)
}

/// The spec problems of an error, one object each, for the JSON error output.
fn problems(e: &CliError) -> serde_json::Value {
    match e {
        CliError::Specs(s) => serde_json::to_value(&s.problems).unwrap_or_default(),
        CliError::Invalid(v) | CliError::Rollout(moorage::rollout::RolloutError::Invalid(v)) => serde_json::to_value(v.errors()).unwrap_or_default(),
        _ => serde_json::Value::Array(Vec::new()),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let format = cli.output;
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return error::to_exit(error::FAILED);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => error::to_exit(error::OK),
        Err(e) => report(format, &e),
    }
}
