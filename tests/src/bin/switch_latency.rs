//! P3 switch latency: N blue/green rollouts of one application; for each, the time from "new version
//! ready" (seen on the watch) to the stable Service's selector applied. Prints p50, p99 and max.
//!
//! Usage: `switch_latency [N]` with `MOORAGE_TEST_KUBECONFIG` (or `KUBECONFIG`) pointing at a
//! cluster; `switch_latency --simulated [N]` runs on the embedded simulated cluster instead.

use std::time::Duration;

use moorage::backend::{ApplyOptions, Backend};
use moorage::rollout::{self, RolloutOptions};
use moorage::{compile_tenant, Quota, Release, Strategy, Tenant};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

async fn run(backend: &dyn Backend, n: usize) -> Vec<Duration> {
    let name = format!("p3-{}", moorage_tests::random_suffix());
    let tenant = Tenant::builder(&name).quota(Quota::new().limits("8", "8Gi").pods(40)).build().expect("tenant");
    let objects: Vec<serde_json::Value> = compile_tenant(&tenant).objects.iter().map(|o| serde_json::to_value(o).expect("json")).collect();
    backend.apply(&objects, &ApplyOptions::default()).await.expect("tenant applied");
    let options = RolloutOptions::with_timeout(Duration::from_secs(120));
    let mut latencies = Vec::new();
    for i in 0..=n {
        let release = Release::builder(&name, "web", format!("v{i}"))
            .image("nginxinc/nginx-unprivileged:1.27")
            .replicas(2)
            .port("http", 8080)
            .resources(("50m", "32Mi"), ("100m", "64Mi"))
            .strategy(Strategy::blue_green().scale_down_delay("0s").keep_previous(1))
            .build()
            .expect("release");
        let report = rollout::rollout(backend, &tenant, &release, &options).await.expect("rollout");
        // The first rollout has nothing to switch from.
        if let Some(latency) = report.switch_latency {
            latencies.push(latency);
        }
    }
    let _ =
        backend.delete(&moorage::backend::Kind::of::<k8s_openapi::api::core::v1::Namespace>(), None, &name, moorage::backend::Propagation::Background).await;
    latencies
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let simulated = args.iter().any(|a| a == "--simulated");
    let n: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(50);
    let mut latencies = if simulated {
        run(&moorage::backend::sim::SimulatedCluster::new(), n).await
    } else {
        let path = std::env::var("MOORAGE_TEST_KUBECONFIG").or_else(|_| std::env::var("KUBECONFIG")).expect("set MOORAGE_TEST_KUBECONFIG or KUBECONFIG");
        let backend = moorage::backend::cluster::ClusterBackend::from_kubeconfig(Some(std::path::Path::new(&path)), None).await.expect("cluster");
        run(&backend, n).await
    };
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{{\"backend\":\"{}\",\"rollouts\":{},\"p50_ms\":{:.2},\"p99_ms\":{:.2},\"max_ms\":{:.2}}}",
        if simulated { "simulated" } else { "cluster" },
        latencies.len(),
        ms(percentile(&latencies, 50.0)),
        ms(percentile(&latencies, 99.0)),
        ms(*latencies.last().unwrap_or(&Duration::ZERO))
    );
}
