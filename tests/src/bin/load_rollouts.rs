//! Load benchmark (docs/reliability.md): one rollout alone, then TENANTS x APPS rollouts at once in
//! this process, on the same control plane in the same run; prints one JSON line with the wall
//! times, their ratio, the fastest and slowest rollout of the concurrent wave, the peak RSS and the CPU time
//! this process spent during the wave.
//!
//! Usage: `load_rollouts [TENANTS [APPS]]` (default 5 x 10) with `MOORAGE_TEST_KUBECONFIG` set.

use moorage_tests::load::concurrent_rollouts;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let (tenants, apps) = (args.first().copied().unwrap_or(5), args.get(1).copied().unwrap_or(10));
    let backend = moorage_tests::real_backend().await.expect("set MOORAGE_TEST_KUBECONFIG");
    let suffix = moorage_tests::random_suffix();
    let alone = concurrent_rollouts(&backend, &format!("bench1-{suffix}"), 1, 1).await;
    let many = concurrent_rollouts(&backend, &format!("bench-{suffix}"), tenants, apps).await;
    for failure in alone.failures.iter().chain(&many.failures) {
        eprintln!("failed: {failure}");
    }
    let s = |d: std::time::Duration| d.as_secs_f64();
    println!(
        "{{\"rollouts\":{},\"done\":{},\"alone_s\":{:.2},\"concurrent_wall_s\":{:.2},\"ratio\":{:.1},\"fastest_s\":{:.2},\"slowest_s\":{:.2},\"peak_rss_mib\":{:.1},\"cpu_s\":{:.2}}}",
        many.rollouts,
        many.done,
        s(alone.wall),
        s(many.wall),
        s(many.wall) / s(alone.wall).max(f64::EPSILON),
        s(many.fastest),
        s(many.slowest),
        many.peak_rss_kib as f64 / 1024.0,
        s(many.cpu)
    );
    if !many.failures.is_empty() || many.done != many.rollouts {
        std::process::exit(1);
    }
}
