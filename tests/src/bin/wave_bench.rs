//! Fleet wave upgrade benchmark: N tenants each running shop 1.0, upgraded to 2.0 by one wave plan
//! (a canary tenant, then 10%, 50%, 100%, 10 rollouts at once). Prints the wave plan's wall time,
//! the process's CPU time during it, the share of the wall time spent waiting on the cluster
//! (1 - CPU / wall: the driver is idle while the API server and controllers work), and peak RSS.
//!
//! Usage: `wave_bench [N]` with `MOORAGE_TEST_KUBECONFIG` (or `KUBECONFIG`) pointing at a cluster;
//! `wave_bench --simulated [N]` runs on the embedded simulated cluster instead.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use moorage::backend::{Backend, Kind, Propagation};
use moorage::rollout::{self, RolloutOptions};
use moorage::tenant::{ApplyTenantOptions, Fleet, FleetCluster, Placement};
use moorage::waves::{self, WaveOptions, WavePhase, WavePlan};
use moorage::{Quota, Release, Strategy, Tenant};

/// User + system CPU time of this process so far.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    // After the command name: state is field 3, utime field 14, stime field 15 (1-based, man 5 proc).
    let ticks = |i: usize| fields.get(i - 3).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    Duration::from_millis((ticks(14) + ticks(15)) * 10)
}

/// Peak resident set size of this process, in MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok()).unwrap_or(0.0) / 1024.0
}

fn release(tenant: &Tenant, version: &str) -> Release {
    Release::builder(tenant.name(), "shop", version)
        .image(format!("registry.test/shop:{version}"))
        .replicas(2)
        .port("http", 8080)
        .resources(("50m", "32Mi"), ("100m", "64Mi"))
        .strategy(Strategy::blue_green().scale_down_delay("0s").keep_previous(1))
        .build()
        .expect("release")
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let simulated = args.iter().any(|a| a == "--simulated");
    let n: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(100);
    let backend: Arc<dyn Backend> = if simulated {
        Arc::new(moorage::backend::sim::SimulatedCluster::new())
    } else {
        let path = std::env::var("MOORAGE_TEST_KUBECONFIG").or_else(|_| std::env::var("KUBECONFIG")).expect("set MOORAGE_TEST_KUBECONFIG or KUBECONFIG");
        Arc::new(moorage::backend::cluster::ClusterBackend::from_kubeconfig(Some(std::path::Path::new(&path)), None).await.expect("cluster"))
    };
    let fleet =
        Fleet::new(vec![FleetCluster { name: "main".into(), labels: BTreeMap::new(), capacity: 10_000, storage_classes: None, backend: backend.clone() }])
            .expect("fleet");
    let suffix = moorage_tests::random_suffix();
    let names: Vec<String> = (0..n).map(|i| format!("wb{i}-{suffix}")).collect();

    let setup = Instant::now();
    let options = RolloutOptions::with_timeout(Duration::from_secs(300));
    for name in &names {
        let tenant = Tenant::builder(name.as_str()).protected(false).quota(Quota::new().limits("2", "2Gi").pods(10)).build().expect("tenant");
        fleet
            .apply(&tenant, &Placement::anywhere(), &ApplyTenantOptions { timeout: Duration::from_secs(120), ..Default::default() })
            .await
            .expect("tenant applied");
        rollout::rollout(backend.as_ref(), &tenant, &release(&tenant, "1.0"), &options).await.expect("shop 1.0");
    }
    let setup = setup.elapsed();

    let plan = WavePlan::builder(format!("bench-{suffix}"), "shop", "2.0", "registry.test/shop:2.0")
        .select_tenants(names.clone())
        .canary_tenants([names[0].clone()])
        .waves([10, 50, 100])
        .max_concurrent_per_cluster(10)
        .build()
        .expect("plan");
    let (cpu0, t0) = (cpu_time(), Instant::now());
    let state = waves::start(&fleet, &plan, &WaveOptions { rollout: options, ..Default::default() }).await.expect("wave plan");
    let (wall, cpu) = (t0.elapsed(), cpu_time().saturating_sub(cpu0));
    assert_eq!(state.phase, WavePhase::Done, "{:?}", state.tenants);
    assert_eq!(state.succeeded(), n);

    let waiting = 1.0 - cpu.as_secs_f64() / wall.as_secs_f64().max(1e-9);
    println!(
        "{{\"backend\":\"{}\",\"tenants\":{n},\"setup_s\":{:.1},\"wave_wall_s\":{:.2},\"wave_cpu_s\":{:.2},\"waiting_share\":{:.3},\"per_tenant_ms\":{:.1},\"peak_rss_mib\":{:.1}}}",
        if simulated { "simulated" } else { "cluster" },
        setup.as_secs_f64(),
        wall.as_secs_f64(),
        cpu.as_secs_f64(),
        waiting,
        wall.as_secs_f64() * 1000.0 / n as f64,
        peak_rss_mib()
    );
    if !simulated {
        for name in &names {
            let _ = backend.delete(&Kind::of::<k8s_openapi::api::core::v1::Namespace>(), None, name, Propagation::Background).await;
        }
    }
}
