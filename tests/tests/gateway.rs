//! Gateway API: a tenant's hosts as HTTPRoutes parented to its Gateway, and a canary split by the
//! route's backend weights (0 -> n -> 100, abort back to 0), on the simulated cluster (with the
//! Gateway API CRDs installed) and on the real test control plane (`testcluster.sh up` installs the
//! standard CRDs). Also: the simulated cluster without the CRDs refuses HTTPRoutes as a real API
//! server does (`MissingKind`), and the allowed storage classes of a fleet's clusters.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use moorage::backend::sim::{SimOptions, SimulatedCluster};
use moorage::backend::{Backend, BackendError, Kind, Propagation, Selector, WatchEvent};
use moorage::compile::HTTPRoute;
use moorage::rollout::{self, Phase, Progress, RolloutError, RolloutOptions};
use moorage::tenant::{self, ApplyTenantOptions, Fleet, FleetCluster, FleetError, Placement, TenantError};
use moorage::{CanaryStep, GatewayRef, Quota, Release, Strategy, Tenant, TrafficRouting};

fn tenant(name: &str) -> Tenant {
    Tenant::builder(name)
        .quota(Quota::new().limits("4", "4Gi").pods(20))
        .domain(format!("shop.{name}.test"))
        .gateway(GatewayRef::new("gateways", "shared").section_name("https"))
        .build()
        .unwrap()
}

fn webserver(t: &Tenant, version: &str, steps: Vec<CanaryStep>) -> Release {
    Release::builder(t.name(), "webserver", version)
        .image("nginxinc/nginx-unprivileged:1.27")
        .replicas(4)
        .port("http", 8080)
        .resources(("100m", "64Mi"), ("200m", "128Mi"))
        .host(format!("shop.{}.test", t.name()))
        .strategy(Strategy::canary(steps).traffic(TrafficRouting::GatewayApi))
        .build()
        .unwrap()
}

fn options() -> RolloutOptions {
    RolloutOptions::with_timeout(Duration::from_secs(180))
}

fn route_kind() -> Kind {
    Kind::of::<HTTPRoute>()
}

/// The stable route's (stable, canary) backend weights.
async fn weights(backend: &dyn Backend, ns: &str) -> (Option<u32>, Option<u32>) {
    let route = backend.get(&route_kind(), Some(ns), "webserver").await.unwrap().expect("HTTPRoute webserver");
    let route: HTTPRoute = serde_json::from_value(route).unwrap();
    (route.weight_of("webserver"), route.weight_of("webserver-canary"))
}

async fn replicas(backend: &dyn Backend, ns: &str, name: &str) -> u64 {
    let d = backend.get(&Kind::of::<k8s_openapi::api::apps::v1::Deployment>(), Some(ns), name).await.unwrap().unwrap();
    d["spec"]["replicas"].as_u64().unwrap_or(0)
}

/// Records the canary backend's weight at every change of the route, until stopped (repeats dropped).
async fn record_weights(backend: &dyn Backend, ns: &str) -> (tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<Vec<u32>>) {
    {
        let ns = ns.to_string();
        let mut stream = backend.watch(&route_kind(), Some(&ns), &Selector::all()).await.unwrap();
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let mut seen: Vec<u32> = Vec::new();
            let mut record = |event: WatchEvent| {
                if let WatchEvent::Applied(route) = event {
                    let route: HTTPRoute = serde_json::from_value(route).unwrap_or_default();
                    if route.metadata.name.as_deref() == Some("webserver") {
                        let w = route.weight_of("webserver-canary").unwrap_or(0);
                        if seen.last() != Some(&w) {
                            seen.push(w);
                        }
                    }
                }
            };
            loop {
                tokio::select! {
                    event = stream.next() => match event {
                        Some(Ok(e)) => record(e),
                        _ => break,
                    },
                    _ = &mut stopped => {
                        while let Some(Some(Ok(e))) = futures_util::FutureExt::now_or_never(stream.next()) {
                            record(e);
                        }
                        break;
                    }
                }
            }
            seen
        });
        (stop, task)
    }
}

mod cases {
    use super::*;

    /// blue serves; green goes 0 -> 30 -> 100 on the route's canary backend and is promoted; red goes
    /// to 40 and is aborted back to 0. Status reports the weight the API server holds.
    pub async fn canary_moves_httproute_weights(backend: &dyn Backend, name: &str) {
        let t = tenant(name);
        tenant::apply(backend, &t, &ApplyTenantOptions::default()).await.unwrap();
        let blue = rollout::rollout(backend, &t, &webserver(&t, "blue", vec![CanaryStep::set_weight(50)]), &options()).await.unwrap();
        assert_eq!(blue.phase, Phase::Done);

        let route = backend.get(&route_kind(), Some(name), "webserver").await.unwrap().expect("the host is an HTTPRoute");
        assert_eq!(route["spec"]["hostnames"], serde_json::json!([format!("shop.{name}.test")]));
        assert_eq!(route["spec"]["parentRefs"][0]["name"], "shared");
        assert_eq!(route["spec"]["parentRefs"][0]["namespace"], "gateways");
        assert_eq!(route["spec"]["parentRefs"][0]["sectionName"], "https");
        let ingresses = backend.list(&Kind::of::<k8s_openapi::api::networking::v1::Ingress>(), Some(name), &Selector::all()).await.unwrap();
        assert!(ingresses.is_empty(), "no Ingress when the tenant routes through a Gateway");
        assert_eq!(weights(backend, name).await, (Some(100), Some(0)), "the canary backend is there at weight 0");

        let (stop, recorder) = record_weights(backend, name).await;
        let events = Arc::new(Mutex::new(Vec::new()));
        let log = events.clone();
        let recording = options().on_progress(move |p| log.lock().unwrap().push(p.clone()));
        let steps = vec![CanaryStep::set_weight(30), CanaryStep::pause_for("1s"), CanaryStep::set_weight(100), CanaryStep::pause_until_promoted()];
        let green = webserver(&t, "green", steps);
        assert_eq!(rollout::rollout(backend, &t, &green, &recording).await.unwrap().phase, Phase::Paused);
        let set: Vec<(u32, u32)> = events
            .lock()
            .unwrap()
            .iter()
            .filter_map(|p| match p {
                Progress::WeightSet { requested, actual, .. } => Some((*requested, *actual)),
                _ => None,
            })
            .collect();
        assert_eq!(set, [(30, 30), (100, 100)], "exact weights, read back from the applied route");
        assert_eq!(weights(backend, name).await, (Some(0), Some(100)));
        let status = rollout::status(backend, &t, "webserver").await.unwrap();
        assert_eq!(status.canary_weight, Some(100), "status reports the weight on the route");
        assert_eq!(status.active.as_deref(), Some("blue"), "the stable Service stays on blue until promotion");
        assert_eq!(replicas(backend, name, "webserver-green").await, 4);

        let done = rollout::promote(backend, &t, "webserver", &options()).await.unwrap();
        assert_eq!(done.phase, Phase::Done);
        assert_eq!(rollout::active_version(backend, name, "webserver").await.unwrap().as_deref(), Some("green"));
        assert_eq!(weights(backend, name).await, (Some(100), Some(0)), "after promotion the stable Service (now green) takes it all");
        assert_eq!(replicas(backend, name, "webserver-blue").await, 0);
        assert_eq!(rollout::status(backend, &t, "webserver").await.unwrap().canary_weight, None);
        stop.send(()).unwrap();
        assert_eq!(recorder.await.unwrap(), [0, 30, 100, 0], "the route's canary weight, as watched");

        let red = webserver(&t, "red", vec![CanaryStep::set_weight(40), CanaryStep::pause_until_promoted()]);
        assert_eq!(rollout::rollout(backend, &t, &red, &options()).await.unwrap().phase, Phase::Paused);
        assert_eq!(weights(backend, name).await, (Some(60), Some(40)));
        assert_eq!(rollout::status(backend, &t, "webserver").await.unwrap().canary_weight, Some(40));
        let aborted = rollout::abort(backend, &t, "webserver", &options()).await.unwrap();
        assert_eq!(aborted.version, "green");
        assert_eq!(weights(backend, name).await, (Some(100), Some(0)), "abort sets the canary weight to 0");
        assert_eq!(replicas(backend, name, "webserver-red").await, 0, "and scales the canary down");
        assert_eq!(rollout::active_version(backend, name, "webserver").await.unwrap().as_deref(), Some("green"));
        let _ = backend.delete(&Kind::of::<k8s_openapi::api::core::v1::Namespace>(), None, name, Propagation::Background).await;
    }

    /// Deleting a tenant behind a Gateway removes its HTTPRoutes even where its Namespace stays for a
    /// kept volume (a leftover route would keep taking the tenant's hosts at the shared Gateway).
    pub async fn deleting_a_gateway_tenant_removes_its_routes(backend: &dyn Backend, name: &str) {
        let mut spec = tenant(name).into_spec();
        spec.storage.push(moorage::Volume { name: "db".into(), storage_class: "openebs-replicated".into(), size: "1Gi".into() });
        let t = Tenant::from_spec(spec).unwrap();
        tenant::apply(backend, &t, &ApplyTenantOptions::default().storage_classes(["openebs-replicated"])).await.unwrap();
        rollout::rollout(backend, &t, &webserver(&t, "blue", vec![CanaryStep::set_weight(50)]), &options()).await.unwrap();
        let report = tenant::delete(backend, &t, tenant::DeleteOptions { confirm: true, purge: false }).await.unwrap();
        assert!(report.deleted.iter().any(|o| o.kind == "HTTPRoute" && o.name == "webserver"), "{report:?}");
        assert!(report.kept.iter().any(|o| o.kind == "PersistentVolumeClaim"), "{report:?}");
        assert!(backend.get(&route_kind(), Some(name), "webserver").await.unwrap().is_none());
        let purged = tenant::delete(backend, &t, tenant::DeleteOptions { confirm: true, purge: true }).await.unwrap();
        assert!(purged.kept.is_empty(), "{purged:?}");
    }
}

mod simulated {
    use super::*;

    fn with_gateway_api() -> SimulatedCluster {
        SimulatedCluster::with_options(SimOptions { gateway_api: true, ..SimOptions::default() })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn canary_moves_httproute_weights() {
        super::cases::canary_moves_httproute_weights(&with_gateway_api(), "acme").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn deleting_a_gateway_tenant_removes_its_routes() {
        super::cases::deleting_a_gateway_tenant_removes_its_routes(&with_gateway_api(), "acme").await;
    }

    /// Without the CRDs the route is refused with `MissingKind`, as a real API server does, and the
    /// rollout fails before the Deployment is touched; installing them lets the same rollout through.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn without_the_crds_httproutes_are_missing_kinds() {
        let sim = SimulatedCluster::new();
        let t = tenant("acme");
        tenant::apply(&sim, &t, &ApplyTenantOptions::default()).await.unwrap();
        let err = sim.list(&route_kind(), Some("acme"), &Selector::all()).await.unwrap_err();
        let BackendError::MissingKind { kind, hint, .. } = &err else { panic!("expected MissingKind, got {err}") };
        assert_eq!((kind.as_str(), hint.as_str()), ("HTTPRoute", "the Gateway API CRDs"));
        let blue = webserver(&t, "blue", vec![CanaryStep::set_weight(50)]);
        let err = rollout::rollout(&sim, &t, &blue, &options()).await.unwrap_err();
        assert!(matches!(err, RolloutError::Backend(BackendError::MissingKind { .. })), "{err}");
        let deployments = sim.list(&Kind::of::<k8s_openapi::api::apps::v1::Deployment>(), Some("acme"), &Selector::all()).await.unwrap();
        assert!(deployments.is_empty(), "refused by the ownership dry run, before any write");
        sim.install_gateway_api();
        assert_eq!(rollout::rollout(&sim, &t, &blue, &options()).await.unwrap().phase, Phase::Done);
        assert_eq!(weights(&sim, "acme").await, (Some(100), Some(0)));
    }

    /// A fleet places a tenant only on a cluster offering its volumes' storage classes, and refuses
    /// it before any write when no candidate does, naming the class and the allowed ones.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn fleet_places_volumes_on_clusters_offering_their_class() {
        let onprem: Arc<dyn Backend> = Arc::new(SimulatedCluster::new());
        let cloud: Arc<dyn Backend> = Arc::new(SimulatedCluster::new());
        let cluster = |name: &str, classes: &[&str], backend: &Arc<dyn Backend>| FleetCluster {
            name: name.into(),
            labels: BTreeMap::new(),
            capacity: 10,
            storage_classes: Some(classes.iter().map(|c| c.to_string()).collect()),
            backend: backend.clone(),
        };
        // onprem has more free capacity (10 vs 10, first by name), but only cloud offers rook-ceph-block.
        let fleet = Fleet::new(vec![cluster("a-onprem", &["openebs-replicated"], &onprem), cluster("b-cloud", &["rook-ceph-block"], &cloud)]).unwrap();
        let ceph = Tenant::builder("ceph").volume("db", "rook-ceph-block", "10Gi").build().unwrap();
        let (placed, _) = fleet.apply(&ceph, &Placement::anywhere(), &ApplyTenantOptions::default()).await.unwrap();
        assert_eq!(placed, "b-cloud");
        let plain = Tenant::builder("plain").build().unwrap();
        assert_eq!(fleet.apply(&plain, &Placement::anywhere(), &ApplyTenantOptions::default()).await.unwrap().0, "a-onprem", "no volume: any cluster");

        let nfs = Tenant::builder("nfs").volume("files", "nfs-client", "5Gi").build().unwrap();
        let err = fleet.apply(&nfs, &Placement::anywhere(), &ApplyTenantOptions::default()).await.unwrap_err();
        let FleetError::Tenant(TenantError::Invalid(problems)) = &err else { panic!("expected Invalid, got {err}") };
        assert_eq!(problems.errors()[0].path, "tenant.storage[0].storageClass");
        assert_eq!(problems.errors()[0].message, "\"nfs-client\" is not an allowed storage class (allowed: openebs-replicated)");
        let err = fleet
            .apply(
                &Tenant::builder("ceph2").volume("db", "rook-ceph-block", "1Gi").build().unwrap(),
                &Placement::Pinned("a-onprem".into()),
                &ApplyTenantOptions::default(),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, FleetError::Tenant(TenantError::Invalid(_))), "pinned to a cluster without the class: {err}");
        for (backend, gone) in [(&onprem, "nfs"), (&onprem, "ceph2"), (&cloud, "nfs"), (&cloud, "ceph2")] {
            assert!(backend.get(&Kind::of::<k8s_openapi::api::core::v1::Namespace>(), None, gone).await.unwrap().is_none(), "nothing written for {gone}");
        }
    }
}

mod real {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn canary_moves_httproute_weights() {
        let Some(backend) = moorage_tests::real_backend().await else { return };
        let name = format!("gw-{}", moorage_tests::random_suffix());
        super::cases::canary_moves_httproute_weights(&backend, &name).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn deleting_a_gateway_tenant_removes_its_routes() {
        let Some(backend) = moorage_tests::real_backend().await else { return };
        let name = format!("gw-{}", moorage_tests::random_suffix());
        super::cases::deleting_a_gateway_tenant_removes_its_routes(&backend, &name).await;
    }
}
