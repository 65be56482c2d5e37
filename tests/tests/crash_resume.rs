//! S1 crash and resume (docs/reliability.md): the process driving a rollout is killed with SIGKILL
//! at every step boundary (after each progress event) of a blue/green and of a canary rollout, and
//! of a fleet wave, on the real control plane, then a new process resumes it. Each run must converge to the new version,
//! with the same objects as an uninterrupted run (none lost, none duplicated), a history of exactly
//! two revisions, and the stable Service never without ready endpoints.
//!
//! The drivers are `src/bin/rollout_driver.rs` and `src/bin/wave_driver.rs`; with `--step` they wait
//! for the test's answer after each event, so they are frozen at the boundary when the SIGKILL arrives.

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::Duration;

use moorage::backend::cluster::ClusterBackend;
use moorage::rollout::{self, Outcome};
use moorage_tests::fixtures;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

/// The cases take turns: each kills and starts many processes, and rollouts of different cases at the
/// same time on the two-core test machine slow each other down.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A step boundary: right after the `occurrence`-th (from 1) progress event of kind `kind`
/// (`ReplicasReady`, `TrafficSwitched`, ...). Named by kind rather than by position, because the
/// number of `ReplicasReady` events varies from run to run on a real cluster and would shift every
/// later position.
#[derive(Debug, Clone, PartialEq)]
struct KillPoint {
    kind: String,
    occurrence: usize,
}

/// How a driver process ended.
#[derive(Debug, PartialEq)]
enum End {
    /// Killed right after this boundary.
    Killed(KillPoint),
    /// Printed `result ...` after these boundaries (one per event, in order).
    Result(String, Vec<KillPoint>),
}

/// The kind of an `event N <event>` line: the Debug name of the progress event's variant.
fn event_kind(line: &str) -> String {
    let event = line.splitn(3, ' ').nth(2).unwrap_or_default();
    event.chars().take_while(|c| c.is_ascii_alphanumeric()).collect()
}

fn driver(args: &[&str]) -> Child {
    let (program, args) = match args.split_first() {
        Some((&"wave", rest)) => (env!("CARGO_BIN_EXE_wave_driver"), rest),
        _ => (env!("CARGO_BIN_EXE_rollout_driver"), args),
    };
    Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("rollout_driver started")
}

/// Runs a driver; with `kill_at`, answers every event but that one, at which it sends SIGKILL.
/// (`args` starting with `wave` run the wave driver with the rest.)
async fn run_driver(args: &[&str], kill_at: Option<&KillPoint>) -> End {
    let mut child = driver(args);
    let mut stdin = child.stdin.take().expect("stdin");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut seen: Vec<KillPoint> = Vec::new();
    let guard = Duration::from_secs(300);
    loop {
        let line = tokio::time::timeout(guard, lines.next_line()).await.expect("the driver hangs").expect("driver output");
        let Some(line) = line else { panic!("driver {args:?} ended without a result ({:?})", child.wait().await) };
        if line.starts_with("event ") {
            let kind = event_kind(&line);
            assert!(!kind.is_empty(), "an event line names its event: {line:?}");
            let occurrence = seen.iter().filter(|p| p.kind == kind).count() + 1;
            let point = KillPoint { kind, occurrence };
            if Some(&point) == kill_at {
                child.start_kill().expect("SIGKILL sent");
                let status = child.wait().await.expect("driver reaped");
                assert!(!status.success(), "the driver was killed: {status}");
                return End::Killed(point);
            }
            seen.push(point);
            // A driver without --step does not read its stdin; a closed pipe is fine then.
            let _ = stdin.write_all(b"go\n").await;
            let _ = stdin.flush().await;
        } else if let Some(result) = line.strip_prefix("result ") {
            let status = child.wait().await.expect("driver reaped");
            assert!(status.success(), "{args:?}: {status}");
            return End::Result(result.to_string(), seen);
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

/// Blue live, then green rolled out by a driver killed at `kill_at` (never with `None`),
/// then new drivers resume (and promote) until nothing is in progress.
async fn kill_and_resume(backend: &ClusterBackend, strategy: &str, kill_at: Option<&KillPoint>) -> Run {
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

/// How many runs may try a required boundary. Every run passes the first boundary of each kind
/// but one: `KeepingWarm` is only emitted when the scale-down delay (1 s) is still running once the
/// stable Service's endpoints have moved, and on a loaded machine they may take longer than that
/// (a CI run on 2026-11-27 ended without it). Such a run is checked all the same, then the boundary
/// is tried in a new run.
const ATTEMPTS: usize = 3;

/// Kills the driver at every boundary of a clean run but the last (after `Done` there is nothing
/// to resume), and checks that the first boundary of each kind was reached by its kill.
async fn every_kill_point(strategy: &str) {
    let Some(backend) = moorage_tests::real_backend().await else { return };
    let _turn = TURN.lock().await;
    let clean = kill_and_resume(&backend, strategy, None).await;
    let End::Result(_, points) = clean.end else { panic!("the clean run was not killed") };
    assert!(points.len() > 3, "a clean run emits progress events ({points:?})");
    let boundaries = &points[..points.len() - 1];
    let mut killed = Vec::new();
    let mut retried = Vec::new();
    for point in boundaries {
        for attempt in 1..=ATTEMPTS {
            let run = kill_and_resume(&backend, strategy, Some(point)).await;
            assert_eq!(run.inventory, clean.inventory, "{strategy}, kill at {point:?}: the same objects as the uninterrupted run");
            if run.end == End::Killed(point.clone()) {
                killed.push(point);
                break;
            }
            // Only a required boundary (the first of its kind) is tried again; see ATTEMPTS.
            if point.occurrence > 1 || attempt == ATTEMPTS {
                break;
            }
            retried.push(format!("{} #{}", point.kind, point.occurrence));
        }
    }
    let unreached: Vec<&KillPoint> = boundaries.iter().filter(|p| !killed.contains(p)).collect();
    let shown: Vec<String> = unreached.iter().map(|p| format!("{} #{}", p.kind, p.occurrence)).collect();
    println!(
        "S1 {strategy}: {} events in a clean run, {} kill points, {} driver(s) killed by SIGKILL and resumed (runs that ended first: {shown:?}; tried again: {retried:?})",
        points.len(),
        boundaries.len(),
        killed.len()
    );
    // The first boundary of each kind of event is required. Later `ReplicasReady` events come as
    // pods happen to get ready, so a run may end before, for instance, the fourth; such a boundary
    // is tried but not required.
    let missed: Vec<&&KillPoint> = unreached.iter().filter(|p| p.occurrence == 1).collect();
    assert!(missed.is_empty(), "{strategy}: every kind of step boundary is reached by a kill; not reached: {missed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blue_green_driver_killed_at_every_step_boundary_resumes() {
    every_kill_point("bluegreen").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_driver_killed_at_every_step_boundary_resumes() {
    every_kill_point("canary").await;
}

/// A fleet wave over 3 tenants (tenant 0 alone first, then the other two), killed at every wave
/// progress event; new processes resume it. Every tenant converges on 2.0 with exactly one new
/// revision, the objects of the uninterrupted run, and its stable Service never without endpoints.
async fn wave_kill_and_resume(backend: &ClusterBackend, kill_at: Option<&KillPoint>) -> (End, Vec<BTreeSet<String>>) {
    use moorage_tests::fixtures::wave;
    const TENANTS: usize = 3;
    let suffix = moorage_tests::random_suffix();
    let shared: std::sync::Arc<dyn moorage::backend::Backend> = std::sync::Arc::new(moorage_tests::real_backend().await.expect("cluster"));
    let fleet = wave::fleet(shared);
    wave::onboard(&fleet, backend, &suffix, TENANTS).await;
    let names = wave::tenants(&suffix, TENANTS);
    let mut recorders = Vec::new();
    for name in &names {
        recorders.push(fixtures::record_ready_endpoints(backend, name, "shop").await);
    }
    let n = TENANTS.to_string();
    let end = run_driver(&["wave", "--step", &suffix, &n, "start"], kill_at).await;
    let mut phase = match &end {
        End::Result(p, _) => p.clone(),
        End::Killed(_) => String::new(),
    };
    for _ in 0..4 {
        if phase == "Done" {
            break;
        }
        match run_driver(&["wave", &suffix, &n, "resume"], None).await {
            End::Result(p, _) => phase = p,
            End::Killed(_) => unreachable!("no kill point given"),
        }
    }
    let at = format!("wave, kill at {kill_at:?} ({end:?})");
    assert_eq!(phase, "Done", "{at}: the plan finished");
    let state = moorage::waves::status(&fleet, &wave::plan_name(&suffix)).await.expect("status").expect("the plan is recorded");
    assert_eq!((state.succeeded(), state.failed(), state.remaining()), (TENANTS, 0, 0), "{at}: {:?}", state.tenants);
    let mut inventories = Vec::new();
    for (name, (stop, recorder)) in names.iter().zip(recorders) {
        let t = wave::tenant(name);
        assert_eq!(rollout::active_version(backend, name, "shop").await.expect("active").as_deref(), Some("2.0"), "{at}: {name}");
        let history = rollout::history(backend, &t, "shop").await.expect("history");
        let versions: Vec<&str> = history.revisions.iter().map(|r| r.version.as_str()).collect();
        assert_eq!(versions, ["1.0", "2.0"], "{at}: {name}: one revision per rollout");
        stop.send(()).expect("recorder running");
        let counts = recorder.await.expect("recorder");
        assert!(fixtures::never_without_endpoints(&counts), "{at}: {name} lost its ready endpoints: {counts:?}");
        inventories.push(fixtures::inventory(backend, name).await);
        fixtures::delete_tenant(backend, name).await;
    }
    let cm = moorage::backend::Kind::of::<k8s_openapi::api::core::v1::ConfigMap>();
    let _ = moorage::backend::Backend::delete(
        backend,
        &cm,
        Some(moorage::waves::WAVES_NAMESPACE),
        &moorage::waves::WaveState::config_map_name(&wave::plan_name(&suffix)),
        moorage::backend::Propagation::Background,
    )
    .await;
    let lease = moorage::backend::Kind::of::<k8s_openapi::api::coordination::v1::Lease>();
    let _ = moorage::backend::Backend::delete(
        backend,
        &lease,
        Some(moorage::waves::WAVES_NAMESPACE),
        &moorage::waves::WaveState::config_map_name(&wave::plan_name(&suffix)),
        moorage::backend::Propagation::Background,
    )
    .await;
    (end, inventories)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_wave_driver_killed_at_every_step_boundary_resumes() {
    let Some(backend) = moorage_tests::real_backend().await else { return };
    let _turn = TURN.lock().await;
    let (clean, reference) = wave_kill_and_resume(&backend, None).await;
    let End::Result(_, points) = clean else { panic!("the clean run was not killed") };
    assert!(points.len() > 3, "a clean wave emits progress events ({points:?})");
    let boundaries = &points[..points.len() - 1];
    let mut killed = 0;
    for point in boundaries {
        let (end, inventories) = wave_kill_and_resume(&backend, Some(point)).await;
        assert_eq!(inventories, reference, "wave, kill at {point:?}: the same objects as the uninterrupted run");
        if end == End::Killed(point.clone()) {
            killed += 1;
        }
    }
    println!("S1 fleet wave: {} events in a clean run, {} kill points, {killed} driver(s) killed by SIGKILL and resumed", points.len(), boundaries.len());
    assert_eq!(killed, boundaries.len(), "wave events do not vary from run to run: every kill point is reached");
}
