//! Compiles N tenants with one release each and writes their manifests as YAML.
//!
//! Usage: `compile_tenants [N] [OUT_DIR] [--per-tenant] [--build-first] [--json=FILE]` (`--json`
//! writes the same objects as JSON for the cdk8s baseline and exits; `--build-first` builds every
//! tenant on the main thread, then compiles them with `compile_many_to_file`, as the Node twin must). By default every tenant's objects go into
//! one YAML stream, `OUT_DIR/manifests.yaml`; with `--per-tenant`, one file per tenant,
//! `OUT_DIR/<tenant>.yaml`. Files are written atomically. Prints one line of JSON: tenants,
//! objects, bytes and the time spent inside the process. The whole-process figure (start-up
//! included) is measured around it by `bench/compile.sh`.

use std::path::PathBuf;
use std::time::Instant;

use moorage::manifest;
use moorage::{compile, Quota, Release, Role, Strategy, Tenant};

fn tenant_and_release(i: usize) -> (Tenant, Release) {
    let name = format!("customer-{i:04}");
    let tenant = Tenant::builder(&name)
        .display_name(format!("Customer {i}"))
        .label("plan", if i.is_multiple_of(3) { "business" } else { "standard" })
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
    let args: Vec<String> = std::env::args().skip(1).collect();
    let per_tenant = args.iter().any(|a| a == "--per-tenant");
    let mut positional = args.iter().filter(|a| !a.starts_with("--"));
    let n: usize = positional.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let out = positional.next().map(PathBuf::from).unwrap_or_else(|| std::env::temp_dir().join(format!("moorage-bench-{}", std::process::id())));
    if let Some(path) = args.iter().find_map(|a| a.strip_prefix("--json=")) {
        // The same objects as JSON, for the cdk8s baseline (bench/p1_cdk8s.sh); not timed.
        let all: Vec<serde_json::Value> = (0..n)
            .map(|i| {
                let (tenant, release) = tenant_and_release(i);
                let compiled = compile(&tenant, &[release]).expect("compiles");
                serde_json::json!({"tenant": tenant.name(), "objects": compiled.objects})
            })
            .collect();
        std::fs::write(path, serde_json::to_vec(&all).expect("json")).expect("written");
        return;
    }
    std::fs::create_dir_all(&out).expect("output folder");
    let start = Instant::now();
    if args.iter().any(|a| a == "--build-first") {
        // The Node twin's structure: every tenant and release built on the main thread first, then
        // one call to the core's batch compiler, which writes the stream file.
        let units: Vec<(Tenant, Vec<Release>)> = (0..n).map(tenant_and_release).map(|(t, r)| (t, vec![r])).collect();
        let built = start.elapsed().as_secs_f64();
        let written = moorage::compile_many_to_file(&units, &out.join("manifests.yaml")).expect("written");
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{{\"tenants\":{n},\"objects\":{},\"bytes\":{},\"layout\":\"build-first\",\"in_process_seconds\":{secs:.4},\"build_seconds\":{built:.4}}}",
            written.objects, written.bytes
        );
        return;
    }
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    // Contiguous chunks, one per thread: the stream keeps the tenants' order.
    let chunk = n.div_ceil(threads);
    let results: Vec<(usize, usize, String)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let out = &out;
                s.spawn(move || {
                    let (mut objects, mut bytes, mut stream) = (0usize, 0usize, String::new());
                    for i in (t * chunk).min(n)..((t + 1) * chunk).min(n) {
                        let (tenant, release) = tenant_and_release(i);
                        let compiled = compile(&tenant, &[release]).expect("compiles");
                        objects += compiled.objects.len();
                        if per_tenant {
                            bytes += manifest::write_file(&out.join(format!("{}.yaml", tenant.name())), &compiled.objects).expect("written");
                        } else {
                            stream.push_str(&manifest::to_yaml_stream(&compiled.objects).expect("yaml"));
                        }
                    }
                    (objects, bytes, stream)
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("worker")).collect()
    });
    let objects: usize = results.iter().map(|r| r.0).sum();
    let mut bytes: usize = results.iter().map(|r| r.1).sum();
    if !per_tenant {
        let stream: String = results.into_iter().map(|r| r.2).collect();
        std::fs::write(out.join("manifests.yaml.tmp"), &stream).expect("written");
        std::fs::rename(out.join("manifests.yaml.tmp"), out.join("manifests.yaml")).expect("renamed");
        bytes = stream.len();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{{\"tenants\":{n},\"objects\":{objects},\"bytes\":{bytes},\"layout\":\"{}\",\"threads\":{threads},\"in_process_seconds\":{secs:.4},\"in_process_objects_per_second\":{:.0}}}",
        if per_tenant { "per-tenant" } else { "stream" },
        objects as f64 / secs
    );
}
