//! Compiles N tenants with one release each and writes each tenant's manifests as one YAML file.
//!
//! Usage: `compile_tenants [N] [OUT_DIR]` (default 1000 tenants into a temporary folder). Prints one
//! line of JSON: tenants, objects, bytes and the time spent inside the process. The whole-process
//! figure (start-up included) is measured around it by `bench/compile.sh`.

use std::path::PathBuf;
use std::time::Instant;

use moorage::manifest::{self, Layout};
use moorage::{compile, Quota, Release, Role, Strategy, Tenant};

fn tenant_and_release(i: usize) -> (Tenant, Release) {
    let name = format!("customer-{i:04}");
    let tenant = Tenant::builder(&name)
        .display_name(format!("Customer {i}"))
        .label("plan", if i % 3 == 0 { "business" } else { "standard" })
        .quota(Quota::new().limits("4", "8Gi").requests("2", "4Gi").pods(20))
        .member(format!("admin@{name}.test"), Role::Admin)
        .domain(format!("{name}.shop.test"))
        .build()
        .expect("valid tenant");
    let release = Release::builder(&name, "webserver", "v1")
        .image("nginxinc/nginx-unprivileged:1.27")
        .replicas(3)
        .port("http", 8080)
        .resources(("100m", "64Mi"), ("200m", "128Mi"))
        .config_file("index.html", format!("<h1>{name}</h1>"))
        .host(format!("{name}.shop.test"))
        .strategy(Strategy::blue_green())
        .build()
        .expect("valid release");
    (tenant, release)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let out = args.next().map(PathBuf::from).unwrap_or_else(|| std::env::temp_dir().join(format!("moorage-bench-{}", std::process::id())));
    std::fs::create_dir_all(&out).expect("output folder");
    let start = Instant::now();
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let (objects, bytes) = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let out = &out;
                s.spawn(move || {
                    let (mut objects, mut bytes) = (0usize, 0usize);
                    for i in (t..n).step_by(threads) {
                        let (tenant, release) = tenant_and_release(i);
                        let compiled = compile(&tenant, &[release]).expect("compiles");
                        let dir = out.join(tenant.name());
                        let files = manifest::write_dir(&dir, &compiled.objects, Layout::Single).expect("written");
                        objects += compiled.objects.len();
                        bytes += files.iter().map(|f| std::fs::metadata(f).map(|m| m.len() as usize).unwrap_or(0)).sum::<usize>();
                    }
                    (objects, bytes)
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("worker")).fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    });
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{{\"tenants\":{n},\"objects\":{objects},\"bytes\":{bytes},\"threads\":{threads},\"in_process_seconds\":{secs:.4},\"in_process_objects_per_second\":{:.0}}}",
        objects as f64 / secs
    );
}
