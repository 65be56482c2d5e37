//! S1 crash and resume (docs/reliability.md): the process driving a rollout is killed with SIGKILL
//! at every step boundary (after each progress event) of a blue/green and of a canary rollout on the
//! real control plane, then a new process resumes it. Each run must converge to the new version,
//! with the same objects as an uninterrupted run (none lost, none duplicated), a history of exactly
//! two revisions, and the stable Service never without ready endpoints.
//!
//! The driver is `src/bin/rollout_driver.rs`; with `--step` it waits for the test's answer after
//! each event, so it is frozen at the boundary when the SIGKILL arrives.

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::Duration;

use moorage::backend::cluster::ClusterBackend;
use moorage::rollout::{self, Outcome};
use moorage_tests::fixtures;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

/// How a driver process ended.
#[derive(Debug, PartialEq)]
enum End {
    /// Killed right after this many events.
    Killed(usize),
    /// Printed `result ...` after this many events.
    Result(String, usize),
}

fn driver(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_rollout_driver"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("rollout_driver started")
}

/// Runs a driver; with `kill_at`, answers every event but that one, at which it sends SIGKILL.
async fn run_driver(args: &[&str], kill_at: Option<usize>) -> End {
    let mut child = driver(args);
    let mut stdin = child.stdin.take().expect("stdin");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut events = 0;
    let guard = Duration::from_secs(300);
    loop {
        let line = tokio::time::timeout(guard, lines.next_line()).await.expect("the driver hangs").expect("driver output");
        let Some(line) = line else { panic!("driver {args:?} ended without a result ({:?})", child.wait().await) };
        if line.starts_with("event ") {
            events += 1;
            if Some(events) == kill_at {
                child.start_kill().expect("SIGKILL sent");
                let status = child.wait().await.expect("driver reaped");
                assert!(!status.success(), "the driver was killed: {status}");
                return End::Killed(events);
            }
            // A driver without --step does not read its stdin; a closed pipe is fine then.
            let _ = stdin.write_all(b"go\n").await;
            let _ = stdin.flush().await;
        } else if let Some(result) = line.strip_prefix("result ") {
            let status = child.wait().await.expect("driver reaped");
            assert!(status.success(), "{args:?}: {status}");
            return End::Result(result.to_string(), events);
        } else if line.starts_with("error ") {
            panic!("driver {args:?} failed: {line}");
        }
    }
}

/// What one kill-and-resume run saw.
struct Run {
    end: End,
    inventory: BTreeSet<String>,
}

/// Blue live, then green rolled out by a driver killed at event `kill_at` (never with `None`),
/// then new drivers resume (and promote) until nothing is in progress.
async fn kill_and_resume(backend: &ClusterBackend, strategy: &str, kill_at: Option<usize>) -> Run {
    let ns = format!("s1-{}", moorage_tests::random_suffix());
    let tenant = fixtures::roomy_tenant(&ns);
    fixtures::apply_tenant(backend, &tenant).await;
    let blue = fixtures::webserver(&ns, "webserver", "blue", 4, fixtures::strategy(strategy));
    rollout::rollout(backend, &tenant, &blue, &rollout::RolloutOptions::with_timeout(Duration::from_secs(180))).await.expect("blue rolled out");
    let (stop, recorder) = fixtures::record_ready_endpoints(backend, &ns, "webserver").await;

    let end = run_driver(&["--step", &ns, strategy, "run", "green"], kill_at).await;
    let mut resumes = 0;
    loop {
        resumes += 1;
        assert!(resumes <= 5, "{strategy} kill at {kill_at:?}: still not converged after 4 resumes");
        match run_driver(&[&ns, strategy, "resume"], None).await {
            End::Result(r, _) if r == "none" => break,
            End::Result(r, _) if r == "Paused" => {
                run_driver(&[&ns, strategy, "promote"], None).await;
            }
            End::Result(..) => {}
            End::Killed(_) => unreachable!("no kill point given"),
        }
    }

    let at = format!("{strategy}, kill at {kill_at:?} ({end:?})");
    let status = rollout::status(backend, &tenant, "webserver").await.expect("status");
    assert!(status.rollout.is_none(), "{at}: converged");
    assert_eq!(status.active.as_deref(), Some("green"), "{at}");
    let replicas: Vec<(String, u32)> = status.versions.iter().map(|v| (v.version.clone(), v.desired)).collect();
    assert_eq!(replicas, [("blue".to_string(), 0), ("green".to_string(), 4)], "{at}");
    let history = rollout::history(backend, &tenant, "webserver").await.expect("history");
    let revisions: Vec<(u32, &str, &Outcome)> = history.revisions.iter().map(|r| (r.number, r.version.as_str(), &r.outcome)).collect();
    assert_eq!(revisions, [(1, "blue", &Outcome::Superseded), (2, "green", &Outcome::Succeeded)], "{at}: one revision per rollout");
    stop.send(()).expect("recorder running");
    let counts = recorder.await.expect("recorder");
    assert!(fixtures::never_without_endpoints(&counts), "{at}: the stable Service lost its ready endpoints: {counts:?}");
    let inventory = fixtures::inventory(backend, &ns).await;
    fixtures::delete_tenant(backend, &ns).await;
    Run { end, inventory }
}

/// Kills the driver at every event of a clean run's count; returns (events, kill points, killed).
async fn every_kill_point(strategy: &str) -> Option<(usize, usize, usize)> {
    let backend = moorage_tests::real_backend().await?;
    let clean = kill_and_resume(&backend, strategy, None).await;
    let End::Result(_, total) = clean.end else { panic!("the clean run was not killed") };
    assert!(total > 3, "a clean run emits progress events ({total})");
    let mut killed = 0;
    // Killing after the last event (Done) leaves nothing to resume: every boundary before it.
    for n in 1..total {
        let run = kill_and_resume(&backend, strategy, Some(n)).await;
        assert_eq!(run.inventory, clean.inventory, "{strategy}, kill at {n}: the same objects as the uninterrupted run");
        // The number of `ReplicasReady` events varies from run to run on a real cluster: a run
        // may finish before reaching event n.
        if run.end == End::Killed(n) {
            killed += 1;
        }
    }
    println!("S1 {strategy}: {total} events in a clean run, {} kill points, {killed} driver(s) killed by SIGKILL and resumed", total - 1);
    assert!(killed * 4 >= (total - 1) * 3, "most kill points were reached ({killed} of {})", total - 1);
    Some((total, total - 1, killed))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blue_green_driver_killed_at_every_step_boundary_resumes() {
    every_kill_point("bluegreen").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_driver_killed_at_every_step_boundary_resumes() {
    every_kill_point("canary").await;
}
