//! The load scenario (Load in docs/reliability.md): many rollouts at once in one process against
//! one backend, used by `tests/load.rs` (completion, bounded memory) and the `load_rollouts`
//! benchmark binary (timings).

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use moorage::backend::Backend;
use moorage::rollout::{self, Phase, RolloutError, RolloutOptions};
use moorage::{CanaryStep, Strategy, Tenant, TrafficRouting};

use crate::fixtures;

/// What one load run measured.
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// Rollouts run at once (the second wave, blue -> green).
    pub rollouts: usize,
    /// How many of them ended `Done`.
    pub done: usize,
    /// Errors, as `tenant/app: error`.
    pub failures: Vec<String>,
    /// Wall time of the concurrent wave.
    pub wall: Duration,
    /// The fastest and the slowest rollout of the wave.
    pub fastest: Duration,
    /// The slowest rollout of the wave.
    pub slowest: Duration,
    /// Peak resident memory of this process after the run (VmHWM), in KiB.
    pub peak_rss_kib: u64,
    /// CPU time this process spent during the concurrent wave (user + system).
    pub cpu: Duration,
}

/// The process's peak resident set size so far (`VmHWM` of /proc/self/status), in KiB.
pub fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).unwrap_or(0)
}

/// CPU time of this process so far (user + system, from /proc/self/stat, in 1/100 s ticks).
pub fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let fields: Vec<&str> = stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// The strategy of app `i`: every fifth a canary (50 %, pause 1 s, then 100 %), the others blue/green.
fn strategy_of(i: usize) -> Strategy {
    if i % 5 == 4 {
        Strategy::canary([CanaryStep::set_weight(50), CanaryStep::pause_for("1s")]).traffic(TrafficRouting::ReplicaRatio).into()
    } else {
        fixtures::strategy("bluegreen")
    }
}

/// `tenants` tenants of `apps` applications each (2 replicas): all get `blue` at once, then all
/// roll out to `green` at once; the second wave is measured. Namespaces are `<prefix>-<n>`.
pub async fn concurrent_rollouts(backend: &dyn Backend, prefix: &str, tenants: usize, apps: usize) -> LoadReport {
    let tenant_list: Vec<Tenant> = (0..tenants).map(|t| fixtures::roomy_tenant(&format!("{prefix}-{t}"))).collect();
    join_all(tenant_list.iter().map(|t| fixtures::apply_tenant(backend, t))).await;
    let options = RolloutOptions::with_timeout(Duration::from_secs(600));
    let wave = |version: &'static str| {
        let options = options.clone();
        let tenant_list = &tenant_list;
        async move {
            let runs = tenant_list.iter().flat_map(|t| (0..apps).map(move |a| (t, a))).map(|(t, a)| {
                let options = options.clone();
                async move {
                    let release = fixtures::webserver(t.name(), &format!("app{a}"), version, 2, strategy_of(a));
                    let started = Instant::now();
                    let outcome = rollout::rollout(backend, t, &release, &options).await;
                    (format!("{}/app{a}", t.name()), started.elapsed(), outcome)
                }
            });
            let started = Instant::now();
            let results: Vec<(String, Duration, Result<rollout::RolloutReport, RolloutError>)> = join_all(runs).await;
            (started.elapsed(), results)
        }
    };
    let (_, blue) = wave("blue").await;
    let cpu_before = cpu_time();
    let (wall, green) = wave("green").await;
    let cpu = cpu_time().saturating_sub(cpu_before);
    let mut failures: Vec<String> = blue.iter().chain(green.iter()).filter_map(|(name, _, r)| r.as_ref().err().map(|e| format!("{name}: {e}"))).collect();
    failures.sort();
    let done = green.iter().filter(|(_, _, r)| r.as_ref().is_ok_and(|r| r.phase == Phase::Done)).count();
    let fastest = green.iter().map(|(_, d, _)| *d).min().unwrap_or_default();
    let slowest = green.iter().map(|(_, d, _)| *d).max().unwrap_or_default();
    for t in &tenant_list {
        fixtures::delete_tenant(backend, t.name()).await;
    }
    LoadReport { rollouts: green.len(), done, failures, wall, fastest, slowest, peak_rss_kib: peak_rss_kib(), cpu }
}
