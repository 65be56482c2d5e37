//! Load (docs/reliability.md): 50 rollouts at once in one process against the real control plane
//! (5 tenants x 10 applications; 40 blue/green, 10 canary) all complete: no deadlock, no
//! starvation, and the process's peak memory stays bounded. No timing is asserted; the figures come
//! from `bench/load_rollouts.sh`.

use std::time::Duration;

/// A generous bound on the test process's peak resident memory (the harness included; about
/// 32 MiB were measured, see docs/reliability.md).
const PEAK_RSS_BOUND_KIB: u64 = 256 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_rollouts_complete_with_bounded_memory() {
    let Some(backend) = moorage_tests::real_backend().await else { return };
    let prefix = format!("load-{}", moorage_tests::random_suffix());
    // Not a timing assertion: a guard that turns a deadlock into a failure instead of a hang.
    let guard = Duration::from_secs(900);
    let report = tokio::time::timeout(guard, moorage_tests::load::concurrent_rollouts(&backend, &prefix, 5, 10))
        .await
        .expect("the rollouts deadlocked or starved (nothing finished within the guard)");
    println!(
        "Load: {} concurrent rollouts, {} done in {:.1} s (fastest {:.1} s, slowest {:.1} s), {:.1} s of CPU in this process, peak RSS {} MiB",
        report.rollouts,
        report.done,
        report.wall.as_secs_f64(),
        report.fastest.as_secs_f64(),
        report.slowest.as_secs_f64(),
        report.cpu.as_secs_f64(),
        report.peak_rss_kib / 1024
    );
    assert_eq!(report.failures, Vec::<String>::new(), "every rollout of both waves succeeded");
    assert_eq!((report.rollouts, report.done), (50, 50), "all 50 rollouts are done");
    assert!(report.peak_rss_kib > 0, "VmHWM was read");
    assert!(report.peak_rss_kib < PEAK_RSS_BOUND_KIB, "peak RSS {} KiB over the bound {PEAK_RSS_BOUND_KIB} KiB", report.peak_rss_kib);
}
