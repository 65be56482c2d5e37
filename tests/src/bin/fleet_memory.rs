//! P4 memory: peak RSS of one process managing N tenants (each with a quota, an admin, a domain and
//! one blue/green release of 2 replicas): applied, released, then `tenant::status` and
//! `rollout::status` of every tenant, twice over. Prints peak RSS (VmHWM) after each phase.
//!
//! Usage: `fleet_memory [N]` with `MOORAGE_TEST_KUBECONFIG` (or `KUBECONFIG`) pointing at a cluster;
//! `fleet_memory --simulated [N]` runs on the embedded simulated cluster, which then lives in the
//! same process (its objects count in the figure).

use std::sync::Arc;
use std::time::{Duration, Instant};

use moorage::backend::{Backend, Kind, Propagation};
use moorage::rollout::{self, RolloutOptions};
use moorage::tenant::{self, ApplyTenantOptions};
use moorage::{Quota, Release, Role, Strategy, Tenant};

/// Peak resident set size of this process, in MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok()).unwrap_or(0.0) / 1024.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let simulated = args.iter().any(|a| a == "--simulated");
    let n: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(1000);
    let backend: Arc<dyn Backend> = if simulated {
        // Enough simulated nodes for every tenant's pods (the default three hold about 120 tenants).
        let nodes = (0..n.div_ceil(50).max(3)).map(|i| moorage::backend::sim::SimNode::new(&format!("node-{i}"), "8", "32Gi", 110)).collect();
        Arc::new(moorage::backend::sim::SimulatedCluster::with_options(moorage::backend::sim::SimOptions { nodes, ..Default::default() }))
    } else {
        let path = std::env::var("MOORAGE_TEST_KUBECONFIG").or_else(|_| std::env::var("KUBECONFIG")).expect("set MOORAGE_TEST_KUBECONFIG or KUBECONFIG");
        Arc::new(moorage::backend::cluster::ClusterBackend::from_kubeconfig(Some(std::path::Path::new(&path)), None).await.expect("cluster"))
    };
    let start_rss = peak_rss_mib();
    let suffix = moorage_tests::random_suffix();
    let tenants: Vec<Tenant> = (0..n)
        .map(|i| {
            let name = format!("mem{i}-{suffix}");
            Tenant::builder(name.as_str())
                .protected(false)
                .quota(Quota::new().limits("2", "2Gi").pods(10))
                .member(format!("admin@{name}.test"), Role::Admin)
                .domain(format!("shop.{name}.test"))
                .build()
                .expect("tenant")
        })
        .collect();
    let t0 = Instant::now();
    let options = RolloutOptions::with_timeout(Duration::from_secs(300));
    for t in &tenants {
        tenant::apply(backend.as_ref(), t, &ApplyTenantOptions { timeout: Duration::from_secs(120), ..Default::default() }).await.expect("tenant applied");
        let release = Release::builder(t.name(), "shop", "1.0")
            .image("registry.test/shop:1.0")
            .replicas(2)
            .port("http", 8080)
            .resources(("50m", "32Mi"), ("100m", "64Mi"))
            .host(format!("shop.{}.test", t.name()))
            .strategy(Strategy::blue_green())
            .build()
            .expect("release");
        rollout::rollout(backend.as_ref(), t, &release, &options).await.expect("release rolled out");
    }
    let after_apply = peak_rss_mib();
    let mut ready = 0u64;
    for _ in 0..2 {
        for t in &tenants {
            let status = tenant::status(backend.as_ref(), t).await.expect("tenant status");
            ready += status.releases.iter().map(|r| r.ready.max(0) as u64).sum::<u64>();
            let release = rollout::status(backend.as_ref(), t, "shop").await.expect("release status");
            assert_eq!(release.active.as_deref(), Some("1.0"));
        }
    }
    println!(
        "{{\"backend\":\"{}\",\"tenants\":{n},\"elapsed_s\":{:.1},\"rss_start_mib\":{start_rss:.1},\"peak_rss_after_apply_mib\":{after_apply:.1},\"peak_rss_after_status_mib\":{:.1},\"ready_pods_seen\":{ready}}}",
        if simulated { "simulated" } else { "cluster" },
        t0.elapsed().as_secs_f64(),
        peak_rss_mib()
    );
    if !simulated {
        for t in &tenants {
            let _ = backend.delete(&Kind::of::<k8s_openapi::api::core::v1::Namespace>(), None, t.name(), Propagation::Background).await;
        }
    }
}
