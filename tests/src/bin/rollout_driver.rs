//! A rollout driver in a process of its own, for the crash-and-resume tests (S1 of
//! docs/reliability.md): the test kills it with SIGKILL at a step boundary and resumes with a new one.
//!
//! Usage: `rollout_driver [--step] NAMESPACE STRATEGY COMMAND`, with `MOORAGE_TEST_KUBECONFIG`
//! set; STRATEGY is `bluegreen` or `canary` (see `moorage_tests::fixtures::strategy`); COMMAND is
//! `run VERSION` (roll the application `webserver`, 4 replicas, out to VERSION and promote it when
//! it pauses), `resume` or `promote`.
//!
//! Prints one line per progress event (`event N <event>`), then `result <phase>` (`result none`
//! when there was nothing to resume) or `error retryable=<bool> <message>` (exit status 2).
//! With `--step`, after each event it waits for a line on stdin before going on: the test answers
//! every event but the one it kills the driver at, so the process dies exactly at that boundary.

use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use moorage::rollout::{self, Phase, Progress, RolloutError, RolloutOptions};
use moorage_tests::fixtures;

fn options(step: bool) -> RolloutOptions {
    let count = Arc::new(AtomicUsize::new(0));
    RolloutOptions::with_timeout(Duration::from_secs(180)).on_progress(move |p: &Progress| {
        let n = count.fetch_add(1, Ordering::SeqCst) + 1;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "event {n} {p:?}");
        let _ = out.flush();
        drop(out);
        if step {
            // Blocks this worker until the test answers (or kills the process).
            tokio::task::block_in_place(|| {
                let mut line = String::new();
                let _ = std::io::stdin().lock().read_line(&mut line);
            });
        }
    })
}

async fn drive(namespace: &str, strategy: &str, command: &[String], options: &RolloutOptions) -> Result<Option<Phase>, RolloutError> {
    let backend = moorage_tests::real_backend().await.expect("MOORAGE_TEST_KUBECONFIG is set");
    let tenant = fixtures::roomy_tenant(namespace);
    match command.first().map(String::as_str) {
        Some("run") => {
            let version = command.get(1).expect("run VERSION");
            let release = fixtures::webserver(namespace, "webserver", version, 4, fixtures::strategy(strategy));
            let report = rollout::rollout(&backend, &tenant, &release, options).await?;
            if report.phase == Phase::Paused {
                return Ok(Some(rollout::promote(&backend, &tenant, "webserver", options).await?.phase));
            }
            Ok(Some(report.phase))
        }
        Some("resume") => Ok(rollout::resume(&backend, &tenant, "webserver", options).await?.map(|r| r.phase)),
        Some("promote") => Ok(Some(rollout::promote(&backend, &tenant, "webserver", options).await?.phase)),
        other => panic!("unknown command {other:?}; see the usage in the source"),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let step = args.first().is_some_and(|a| a == "--step");
    if step {
        args.remove(0);
    }
    let [namespace, strategy, command @ ..] = args.as_slice() else { panic!("usage: rollout_driver [--step] NAMESPACE STRATEGY COMMAND") };
    match drive(namespace, strategy, command, &options(step)).await {
        Ok(phase) => println!("result {}", phase.map(|p| format!("{p:?}")).unwrap_or_else(|| "none".into())),
        Err(e) => {
            let retryable = e.is_retryable();
            println!("error retryable={retryable} {e}");
            std::process::exit(2);
        }
    }
}
