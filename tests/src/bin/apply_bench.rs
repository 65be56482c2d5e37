//! The apply benchmark's helper: renders N tenants to manifest files, or applies them with the cluster backend.
//!
//! ```text
//! apply_bench render DIR PREFIX N     write N tenants (each a tenant + one release) under DIR
//! apply_bench apply PREFIX N          compile the same N tenants and apply them with ClusterBackend
//!                                     (kubeconfig: $KUBECONFIG or ~/.kube/config); prints one line
//!                                     `objects=<n> seconds=<s> objects_per_second=<r> created=<c> ...`
//! ```
//! Used by `bench/apply_vs_kubectl.sh`; tenants are named `<PREFIX>-<i>` (i from 1, 3 digits).

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context as _};
use moorage::backend::cluster::{ClusterBackend, ClusterOptions};
use moorage::backend::{ApplyOptions, Backend, Change};
use moorage::manifest::{write_dir, Layout};
use moorage::{compile, Compiled, Quota, Release, Role, Tenant};

fn tenant(prefix: &str, i: usize) -> anyhow::Result<Compiled> {
    let name = format!("{prefix}-{i:03}");
    let domain = format!("{name}.bench.test");
    let tenant = Tenant::builder(&name)
        .quota(Quota::new().limits("4", "8Gi").requests("2", "4Gi").pods(20))
        .member(format!("admin@{domain}"), Role::Admin)
        .domain(&domain)
        .build()?;
    let release = Release::builder(&name, "web", "blue")
        .image("nginxinc/nginx-unprivileged:1.27")
        .replicas(2)
        .config_file("index.html", "<h1>blue</h1>")
        .host(&domain)
        .port("http", 8080)
        .resources(("100m", "64Mi"), ("200m", "128Mi"))
        .build()?;
    Ok(compile(&tenant, &[release])?)
}

/// The API server's limit: one server-side apply PATCH per object, `concurrency` in flight, no
/// reads, no waits, no retries (kube-rs directly, the kind's resource from its group/version/kind),
/// with moorage's `fieldValidation` so that the server does the same work for each body.
async fn raw_apply(client: &kube::Client, objects: Vec<serde_json::Value>, concurrency: usize) -> anyhow::Result<()> {
    use futures_util::stream::{self, StreamExt, TryStreamExt};
    use kube::api::{Api, DynamicObject, Patch, PatchParams};
    use kube::core::{ApiResource, GroupVersionKind};
    let mut params = PatchParams::apply("moorage-raw-bench").force();
    params.field_validation = Some(moorage::backend::cluster::APPLY_FIELD_VALIDATION);
    stream::iter(objects)
        .map(|o| {
            let client = client.clone();
            let params = params.clone();
            async move {
                let (group, version) = o["apiVersion"]
                    .as_str()
                    .unwrap_or("v1")
                    .rsplit_once('/')
                    .map(|(g, v)| (g.to_string(), v.to_string()))
                    .unwrap_or((String::new(), o["apiVersion"].as_str().unwrap_or("v1").to_string()));
                let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(&group, &version, o["kind"].as_str().unwrap_or_default()));
                let name = o["metadata"]["name"].as_str().unwrap_or_default().to_string();
                let api: Api<DynamicObject> = match o["metadata"]["namespace"].as_str() {
                    Some(ns) => Api::namespaced_with(client, ns, &resource),
                    None => Api::all_with(client, &resource),
                };
                api.patch(&name, &params, &Patch::Apply(&o)).await.with_context(|| format!("{} {name}", resource.kind)).map(|_| ())
            }
        })
        .buffer_unordered(concurrency)
        .try_collect::<Vec<()>>()
        .await
        .map(|_| ())
}

fn count(arg: Option<&String>) -> anyhow::Result<usize> {
    arg.context("missing N")?.parse().context("N must be a number")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("render") => {
            let dir = Path::new(args.get(2).context("missing DIR")?);
            let prefix = args.get(3).context("missing PREFIX")?;
            let n = count(args.get(4))?;
            let mut objects = 0;
            for i in 1..=n {
                let compiled = tenant(prefix, i)?;
                objects += write_dir(dir, &compiled.objects, Layout::PerObject)?.len();
            }
            println!("objects={objects}");
        }
        Some("apply") => {
            let prefix = args.get(2).context("missing PREFIX")?;
            let n = count(args.get(3))?;
            let concurrency = std::env::var("MOORAGE_APPLY_CONCURRENCY").ok().and_then(|c| c.parse().ok()).unwrap_or(ClusterOptions::default().concurrency);
            let started = Instant::now();
            let backend = ClusterBackend::from_kubeconfig(None, None).await?.with_options(ClusterOptions { concurrency, ..ClusterOptions::default() });
            let mut objects = Vec::new();
            for i in 1..=n {
                for object in tenant(prefix, i)?.objects {
                    objects.push(serde_json::to_value(&object)?);
                }
            }
            let applied = backend.apply(&objects, &ApplyOptions::default()).await?;
            let seconds = started.elapsed().as_secs_f64();
            let by = |c: Change| applied.iter().filter(|a| a.change == c).count();
            println!(
                "objects={} seconds={seconds:.2} objects_per_second={:.0} created={} updated={} unchanged={} concurrency={concurrency}",
                applied.len(),
                applied.len() as f64 / seconds,
                by(Change::Created),
                by(Change::Updated),
                by(Change::Unchanged)
            );
        }
        Some("raw") => {
            let prefix = args.get(2).context("missing PREFIX")?;
            let n = count(args.get(3))?;
            let concurrency = std::env::var("MOORAGE_APPLY_CONCURRENCY").ok().and_then(|c| c.parse().ok()).unwrap_or(ClusterOptions::default().concurrency);
            let started = Instant::now();
            let client = kube::Client::try_default().await?;
            let mut objects = Vec::new();
            for i in 1..=n {
                for object in tenant(prefix, i)?.objects {
                    objects.push(serde_json::to_value(&object)?);
                }
            }
            let (namespaces, rest): (Vec<_>, Vec<_>) = objects.into_iter().partition(|o| o["kind"] == "Namespace");
            let total = namespaces.len() + rest.len();
            raw_apply(&client, namespaces, concurrency).await?;
            raw_apply(&client, rest, concurrency).await?;
            let seconds = started.elapsed().as_secs_f64();
            println!("objects={total} seconds={seconds:.2} objects_per_second={:.0} concurrency={concurrency}", total as f64 / seconds);
        }
        _ => bail!("usage: apply_bench render DIR PREFIX N | apply_bench apply PREFIX N | apply_bench raw PREFIX N"),
    }
    Ok(())
}
