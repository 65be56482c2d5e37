//! Fixtures shared by the reliability tests, their driver binaries and the load benchmark.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::StreamExt;
use moorage::backend::{ApplyOptions, Backend, Kind, Propagation, Selector, WatchEvent, WatchStream};
use moorage::{compile_tenant, CanaryStep, Quota, Release, Strategy, Tenant, TrafficRouting};
use serde_json::Value;

/// A tenant with room for two versions of a few small releases.
pub fn roomy_tenant(name: &str) -> Tenant {
    Tenant::builder(name).quota(Quota::new().limits("8", "8Gi").pods(60)).build().expect("a valid tenant")
}

/// The strategies the crash tests drive, by name: `bluegreen` (scale-down delay 1 s) or `canary`
/// (25 %, pause 1 s, 50 %, pause until promoted; replica ratio).
pub fn strategy(name: &str) -> Strategy {
    match name {
        "canary" => Strategy::canary([CanaryStep::set_weight(25), CanaryStep::pause_for("1s"), CanaryStep::set_weight(50), CanaryStep::pause_until_promoted()])
            .traffic(TrafficRouting::ReplicaRatio)
            .into(),
        _ => Strategy::blue_green().scale_down_delay("1s").into(),
    }
}

/// Version `version` of the application `app` of `tenant`: nginx, `replicas` pods, a page from a
/// ConfigMap, the given strategy.
pub fn webserver(tenant: &str, app: &str, version: &str, replicas: u32, strategy: Strategy) -> Release {
    Release::builder(tenant, app, version)
        .image("nginxinc/nginx-unprivileged:1.27")
        .replicas(replicas)
        .port("http", 8080)
        .resources(("50m", "32Mi"), ("100m", "64Mi"))
        .config_file("index.html", format!("<h1>{version}</h1>"))
        .strategy(strategy)
        .build()
        .expect("a valid release")
}

/// Applies everything `tenant` compiles to.
pub async fn apply_tenant(backend: &dyn Backend, tenant: &Tenant) {
    let objects: Vec<Value> = compile_tenant(tenant).objects.iter().map(|o| serde_json::to_value(o).expect("json")).collect();
    backend.apply(&objects, &ApplyOptions::default()).await.expect("tenant applied");
}

/// Starts the deletion of the tenant's namespace.
pub async fn delete_tenant(backend: &dyn Backend, name: &str) {
    let _ = backend.delete(&Kind::of::<k8s_openapi::api::core::v1::Namespace>(), None, name, Propagation::Background).await;
}

/// The objects of a namespace a rollout creates or changes, as `kind/name`: those moorage applied
/// (a field manager `moorage`; not, say, `kube-root-ca.crt`, which a controller publishes when it
/// gets to it), and the ReplicaSets of their Deployments as `ReplicaSet/<owner>#<n>` (their names
/// carry a hash of the namespace). Equal inventories mean no object lost and none duplicated.
pub async fn inventory(backend: &dyn Backend, ns: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for kind in [
        Kind::of::<k8s_openapi::api::apps::v1::Deployment>(),
        Kind::of::<k8s_openapi::api::core::v1::Service>(),
        Kind::of::<k8s_openapi::api::core::v1::ConfigMap>(),
        Kind::of::<k8s_openapi::api::policy::v1::PodDisruptionBudget>(),
        Kind::of::<k8s_openapi::api::networking::v1::Ingress>(),
    ] {
        for o in backend.list(&kind, Some(ns), &Selector::all()).await.expect("list") {
            let applied_by_moorage =
                o["metadata"]["managedFields"].as_array().is_some_and(|m| m.iter().any(|e| e["manager"] == moorage::backend::FIELD_MANAGER));
            if applied_by_moorage {
                out.insert(format!("{}/{}", kind.kind, o["metadata"]["name"].as_str().unwrap_or_default()));
            }
        }
    }
    let mut per_owner: BTreeMap<String, usize> = BTreeMap::new();
    for rs in backend.list(&Kind::of::<k8s_openapi::api::apps::v1::ReplicaSet>(), Some(ns), &Selector::all()).await.expect("list") {
        let owner = rs["metadata"]["ownerReferences"][0]["name"].as_str().unwrap_or("none").to_string();
        *per_owner.entry(owner).or_default() += 1;
    }
    for (owner, n) in per_owner {
        out.insert(format!("ReplicaSet/{owner}#{n}"));
    }
    out
}

/// Records the ready endpoints of the Service `service` of `ns` at every EndpointSlice change, until
/// the returned sender is used; the task returns the counts in order.
pub async fn record_ready_endpoints(backend: &dyn Backend, ns: &str, service: &str) -> (tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<Vec<usize>>) {
    let slices = Kind::of::<k8s_openapi::api::discovery::v1::EndpointSlice>();
    let stream: WatchStream =
        backend.watch(&slices, Some(ns), &Selector::labels(format!("kubernetes.io/service-name={service}"))).await.expect("EndpointSlice watch");
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let mut stream = stream;
    let task = tokio::spawn(async move {
        let (mut current, mut counts) = (BTreeMap::new(), Vec::new());
        let mut record = |event: WatchEvent, counts: &mut Vec<usize>| {
            match event {
                WatchEvent::Applied(s) => current.insert(s["metadata"]["name"].as_str().unwrap_or_default().to_string(), s),
                WatchEvent::Deleted(s) => current.remove(s["metadata"]["name"].as_str().unwrap_or_default()),
            };
            counts.push(moorage::backend::wait::ready_endpoints(&current.values().cloned().collect::<Vec<_>>()));
        };
        loop {
            tokio::select! {
                event = stream.next() => match event {
                    Some(Ok(e)) => record(e, &mut counts),
                    _ => break,
                },
                _ = &mut stopped => {
                    while let Some(Some(Ok(e))) = futures_util::FutureExt::now_or_never(stream.next()) {
                        record(e, &mut counts);
                    }
                    break;
                }
            }
        }
        counts
    });
    (stop, task)
}

/// Whether the recorded counts never fall to zero once the Service had a ready endpoint.
pub fn never_without_endpoints(counts: &[usize]) -> bool {
    match counts.iter().position(|c| *c > 0) {
        Some(first) => counts[first..].iter().all(|c| *c > 0),
        None => false,
    }
}

/// The fleet-wave scenario of the crash tests: `n` tenants `wk<i>-<suffix>` on a one-cluster fleet
/// (the real control plane, named `onprem`), each running `shop` 1.0; the plan `wk-<suffix>`
/// upgrades them to 2.0, tenant 0 first as the canary tenant, then the rest in one wave.
pub mod wave {
    use std::collections::BTreeMap;
    use std::sync::Arc;
    use std::time::Duration;

    use moorage::backend::Backend;
    use moorage::rollout::{self, RolloutOptions};
    use moorage::tenant::{ApplyTenantOptions, Fleet, FleetCluster, Placement};
    use moorage::waves::WavePlan;
    use moorage::{Quota, Release, Strategy, Tenant};

    /// The tenants' names.
    pub fn tenants(suffix: &str, n: usize) -> Vec<String> {
        (0..n).map(|i| format!("wk{i}-{suffix}")).collect()
    }

    /// A tenant of the scenario.
    pub fn tenant(name: &str) -> Tenant {
        Tenant::builder(name).protected(false).quota(Quota::new().limits("4", "4Gi").pods(10)).build().expect("a valid tenant")
    }

    /// `shop` at `version` (image tag = version), 2 replicas, blue/green.
    pub fn shop(tenant: &str, version: &str) -> Release {
        Release::builder(tenant, "shop", version)
            .image(format!("nginxinc/nginx-unprivileged:{version}"))
            .replicas(2)
            .port("http", 8080)
            .resources(("50m", "32Mi"), ("100m", "64Mi"))
            .strategy(Strategy::blue_green().scale_down_delay("0s"))
            .build()
            .expect("a valid release")
    }

    /// The one-cluster fleet.
    pub fn fleet(backend: Arc<dyn Backend>) -> Fleet {
        Fleet::new(vec![FleetCluster { name: "onprem".into(), labels: BTreeMap::new(), capacity: 1000, storage_classes: None, backend }])
            .expect("a valid fleet")
    }

    /// The plan's name.
    pub fn plan_name(suffix: &str) -> String {
        format!("wk-{suffix}")
    }

    /// The plan: 2.0 for every tenant, tenant 0 first.
    pub fn plan(suffix: &str, n: usize) -> WavePlan {
        let names = tenants(suffix, n);
        WavePlan::builder(plan_name(suffix), "shop", "2.0", "nginxinc/nginx-unprivileged:2.0")
            .select_tenants(names.clone())
            .canary_tenants([names[0].clone()])
            .waves([100])
            .build()
            .expect("a valid plan")
    }

    /// Places every tenant on the fleet and rolls `shop` 1.0 out on each.
    pub async fn onboard(fleet: &Fleet, backend: &dyn Backend, suffix: &str, n: usize) {
        for name in tenants(suffix, n) {
            let t = tenant(&name);
            fleet
                .apply(&t, &Placement::Pinned("onprem".into()), &ApplyTenantOptions { timeout: Duration::from_secs(120), ..Default::default() })
                .await
                .expect("tenant placed");
            rollout::rollout(backend, &t, &shop(&name, "1.0"), &RolloutOptions::with_timeout(Duration::from_secs(120))).await.expect("shop 1.0");
        }
    }
}
