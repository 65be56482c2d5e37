//! Fleet placement: tenants placed by rule (required labels, then most free capacity) or pinned, on
//! simulated clusters; and the onboarding of 100 tenants through the fleet API on the real control
//! plane (ignored by default: `cargo test -p moorage-tests --test fleet -- --ignored --nocapture`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use moorage::backend::sim::SimulatedCluster;
use moorage::backend::Backend;
use moorage::tenant::{self, ApplyTenantOptions, DeleteOptions, Fleet, FleetCluster, FleetError, Placement, CLUSTER_ANNOTATION};
use moorage::Tenant;

fn options() -> ApplyTenantOptions {
    ApplyTenantOptions { timeout: Duration::from_secs(120), ..Default::default() }
}

fn cluster(name: &str, location: &str, capacity: u32, backend: Arc<dyn Backend>) -> FleetCluster {
    FleetCluster { name: name.into(), labels: BTreeMap::from([("location".to_string(), location.to_string())]), capacity, storage_classes: None, backend }
}

fn tenant(name: &str) -> Tenant {
    Tenant::builder(name).protected(false).build().unwrap()
}

#[tokio::test]
async fn tenants_are_placed_by_rule_or_pin_and_found_again() {
    let onprem: Arc<dyn Backend> = Arc::new(SimulatedCluster::new());
    let cloud: Arc<dyn Backend> = Arc::new(SimulatedCluster::new());
    let fleet = Fleet::new(vec![cluster("onprem", "onprem", 2, onprem.clone()), cluster("cloud", "cloud", 3, cloud.clone())]).unwrap();

    // Most free capacity first: cloud (3), then a tie (2/2) goes to the first name, cloud.
    let (first, report) = fleet.apply(&tenant("t1"), &Placement::anywhere(), &options()).await.unwrap();
    assert_eq!(first, "cloud");
    assert!(report.created() > 0);
    assert_eq!(fleet.apply(&tenant("t2"), &Placement::anywhere(), &options()).await.unwrap().0, "cloud");
    assert_eq!(fleet.apply(&tenant("t3"), &Placement::anywhere(), &options()).await.unwrap().0, "onprem");
    let onprem_only = Placement::Rule { required_labels: BTreeMap::from([("location".to_string(), "onprem".to_string())]) };
    assert_eq!(fleet.apply(&tenant("t4"), &onprem_only, &options()).await.unwrap().0, "onprem");
    let err = fleet.apply(&tenant("t5"), &onprem_only, &options()).await.unwrap_err();
    assert!(matches!(err, FleetError::NoCapacity { .. }), "{err}");
    assert_eq!(fleet.apply(&tenant("t5"), &Placement::Pinned("cloud".into()), &options()).await.unwrap().0, "cloud");
    let err = fleet.apply(&tenant("t6"), &Placement::Pinned("mars".into()), &options()).await.unwrap_err();
    assert!(matches!(err, FleetError::UnknownCluster(_)), "{err}");

    // The placement is recorded on the Namespace: a new fleet value (another process) finds it again.
    let ns = onprem.get(&moorage::backend::Kind::of::<k8s_openapi::api::core::v1::Namespace>(), None, "t3").await.unwrap().unwrap();
    assert_eq!(ns["metadata"]["annotations"][CLUSTER_ANNOTATION], "onprem");
    let again = Fleet::new(vec![cluster("onprem", "onprem", 2, onprem.clone()), cluster("cloud", "cloud", 3, cloud.clone())]).unwrap();
    let (placed, report) = again.apply(&tenant("t3"), &Placement::anywhere(), &options()).await.unwrap();
    assert_eq!((placed.as_str(), report.changes()), ("onprem", 0), "a re-apply stays put and changes nothing");
    let err = again.apply(&tenant("t3"), &Placement::Pinned("cloud".into()), &options()).await.unwrap_err();
    assert!(matches!(err, FleetError::AlreadyPlaced { .. }), "{err}");
    let listed: Vec<(String, String)> = again.list().await.unwrap().into_iter().map(|t| (t.tenant, t.cluster)).collect();
    let expected: Vec<(String, String)> =
        [("t1", "cloud"), ("t2", "cloud"), ("t3", "onprem"), ("t4", "onprem"), ("t5", "cloud")].iter().map(|(t, c)| (t.to_string(), c.to_string())).collect();
    assert_eq!(listed, expected);
    assert!(matches!(Fleet::new(vec![cluster("a", "x", 1, onprem.clone()), cluster("a", "y", 1, cloud)]), Err(FleetError::DuplicateCluster(_))));
}

#[tokio::test]
async fn a_domain_is_unique_across_the_fleet() {
    let onprem: Arc<dyn Backend> = Arc::new(SimulatedCluster::new());
    let cloud: Arc<dyn Backend> = Arc::new(SimulatedCluster::new());
    let fleet = Fleet::new(vec![cluster("onprem", "onprem", 5, onprem.clone()), cluster("cloud", "cloud", 5, cloud.clone())]).unwrap();
    let holder = Tenant::builder("holder").protected(false).domain("shop.example.test").build().unwrap();
    assert_eq!(fleet.apply(&holder, &Placement::Pinned("onprem".into()), &options()).await.unwrap().0, "onprem");
    // The same domain on the other cluster is refused before anything is written there.
    let thief = Tenant::builder("thief").protected(false).domain("shop.example.test").build().unwrap();
    let err = fleet.apply(&thief, &Placement::Pinned("cloud".into()), &options()).await.unwrap_err();
    assert!(
        matches!(&err, FleetError::Tenant(tenant::TenantError::DomainTaken { domain, holder }) if domain == "shop.example.test" && holder == "holder"),
        "{err}"
    );
    let ns = moorage::backend::Kind::of::<k8s_openapi::api::core::v1::Namespace>();
    assert!(cloud.get(&ns, None, "thief").await.unwrap().is_none(), "nothing written for the refused tenant");
    // Its own domains stay its own: a re-apply of the holder passes.
    assert_eq!(fleet.apply(&holder, &Placement::anywhere(), &options()).await.unwrap().1.changes(), 0);
}

/// Onboards 100 tenants through the fleet API on the real control plane and prints the wall time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run with --ignored against a test control plane"]
async fn onboarding_100_tenants() {
    let Some(config) = moorage_tests::real_cluster_config().await else { return };
    let backend: Arc<dyn Backend> = Arc::new(moorage::backend::cluster::ClusterBackend::from_config(config).unwrap());
    let fleet = Fleet::new(vec![cluster("real", "onprem", 1000, backend.clone())]).unwrap();
    let suffix = moorage_tests::random_suffix();
    let tenants: Vec<Tenant> = (0..100)
        .map(|i| {
            Tenant::builder(format!("on{i}-{suffix}"))
                .protected(false)
                .quota(moorage::Quota::new().limits("2", "4Gi").pods(10))
                .member(format!("admin@on{i}.test"), moorage::Role::Admin)
                .domain(format!("shop.on{i}-{suffix}.test"))
                .build()
                .unwrap()
        })
        .collect();
    let start = Instant::now();
    for t in &tenants {
        fleet.apply(t, &Placement::anywhere(), &options()).await.unwrap();
    }
    let wall = start.elapsed();
    println!("onboarded {} tenants through the fleet API in {:.1} s ({:.0} ms per tenant)", tenants.len(), wall.as_secs_f64(), wall.as_secs_f64() * 10.0);
    for t in &tenants {
        let _ = tenant::delete(backend.as_ref(), t, DeleteOptions { confirm: true, purge: true }).await;
    }
}
