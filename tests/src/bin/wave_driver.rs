//! A fleet-wave driver in a process of its own, for the crash-and-resume tests (S1 of
//! docs/reliability.md): the test kills it with SIGKILL at a step boundary and resumes with a new one.
//!
//! Usage: `wave_driver [--step] SUFFIX TENANTS COMMAND`, with `MOORAGE_TEST_KUBECONFIG` set, on the
//! scenario of `moorage_tests::fixtures::wave`. COMMAND is `start` (start the plan, or continue it
//! when it is recorded already) or `resume` (continue the recorded plan; start it when the driver
//! that should have recorded it died first).
//!
//! A driver killed holding the plan's lease blocks the next one until the lease expires: drivers
//! here use a lease of [`LEASE`], and `resume` waits for a dead driver's lease to expire.
//!
//! Prints one line per wave progress event (`event N <event>`), then `result <phase>` or
//! `error <message>` (exit status 2). With `--step`, after each event it waits for a line on stdin.

use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use moorage::rollout::RolloutOptions;
use moorage::waves::{self, WaveError, WaveOptions, WaveProgress};
use moorage_tests::fixtures::wave;

/// The drivers' lease duration: a killed driver holds up its successor for at most this long.
const LEASE: Duration = Duration::from_secs(5);

fn options(step: bool) -> WaveOptions {
    let count = Arc::new(AtomicUsize::new(0));
    WaveOptions { rollout: RolloutOptions::with_timeout(Duration::from_secs(180)), lease_duration: Some(LEASE), progress: None }.on_progress(
        move |p: &WaveProgress| {
            let n = count.fetch_add(1, Ordering::SeqCst) + 1;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "event {n} {p:?}");
            let _ = out.flush();
            drop(out);
            if step {
                tokio::task::block_in_place(|| {
                    let mut line = String::new();
                    let _ = std::io::stdin().lock().read_line(&mut line);
                });
            }
        },
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let step = args.first().is_some_and(|a| a == "--step");
    if step {
        args.remove(0);
    }
    let [suffix, n, command] = args.as_slice() else { panic!("usage: wave_driver [--step] SUFFIX TENANTS start|resume") };
    let n: usize = n.parse().expect("TENANTS is a number");
    let backend = moorage_tests::real_backend().await.expect("MOORAGE_TEST_KUBECONFIG is set");
    let fleet = wave::fleet(Arc::new(backend));
    let options = options(step);
    let plan = wave::plan(suffix, n);
    let outcome = match command.as_str() {
        "start" => waves::start(&fleet, &plan, &options).await,
        "resume" => {
            // The killed driver's lease expires within LEASE (a few retries more for a loaded machine).
            let mut attempt = 0;
            loop {
                let outcome = match waves::resume(&fleet, &wave::plan_name(suffix), &options).await {
                    Err(WaveError::NoSuchPlan { .. }) => waves::start(&fleet, &plan, &options).await,
                    other => other,
                };
                match outcome {
                    Err(WaveError::LeaseHeld { .. }) if attempt < 40 => {
                        attempt += 1;
                        tokio::time::sleep(LEASE / 5).await;
                    }
                    other => break other,
                }
            }
        }
        other => panic!("unknown command {other}"),
    };
    match outcome {
        Ok(state) => println!("result {:?}", state.phase),
        Err(e) => {
            println!("error {e}");
            std::process::exit(2);
        }
    }
}
