//! Compilation: golden snapshots, apply order, labels, versioned names and the YAML round trip.

use moorage::compile::sort_for_apply;
use moorage::manifest::{self, Layout};
use moorage::spec::{release_from_yaml, tenant_from_yaml};
use moorage::{compile, labels, Object, Release, Strategy, Tenant};

fn spec(name: &str) -> String {
    std::fs::read_to_string(format!("{}/../examples/specs/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn demo() -> (Tenant, Release, Release) {
    (
        tenant_from_yaml(&spec("acme.tenant.yaml")).unwrap(),
        release_from_yaml(&spec("webserver-blue.release.yaml")).unwrap(),
        release_from_yaml(&spec("webserver-green.release.yaml")).unwrap(),
    )
}

#[test]
fn golden_tenant_and_release() {
    let (tenant, blue, _) = demo();
    let compiled = compile(&tenant, &[blue]).unwrap();
    insta::assert_snapshot!("acme_with_blue", manifest::to_yaml_stream(&compiled.objects).unwrap());
    insta::assert_debug_snapshot!("acme_with_blue_notes", compiled.notes);
}

#[test]
fn objects_come_out_in_apply_order() {
    let (tenant, blue, _) = demo();
    let objects = compile(&tenant, &[blue]).unwrap().objects;
    assert_eq!(objects[0].kind(), "Namespace");
    let ranks: Vec<usize> = objects.iter().map(Object::apply_rank).collect();
    assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{ranks:?}");
    let pos = |kind: &str| objects.iter().position(|o| o.kind() == kind).unwrap();
    assert!(pos("ResourceQuota") < pos("Deployment"));
    assert!(pos("LimitRange") < pos("Deployment"));
    assert!(pos("ConfigMap") < pos("Deployment"));
    assert!(pos("Deployment") < pos("Service"));
}

#[test]
fn every_object_carries_the_standard_labels() {
    let (tenant, blue, _) = demo();
    for o in compile(&tenant, &[blue]).unwrap().objects {
        let l = o.metadata().labels.clone().unwrap_or_default();
        assert_eq!(l.get(labels::MANAGED_BY).map(String::as_str), Some("moorage"), "{}", o.reference());
        assert_eq!(l.get(labels::TENANT).map(String::as_str), Some("acme"), "{}", o.reference());
        if ["Deployment", "ConfigMap", "PodDisruptionBudget"].contains(&o.kind()) {
            assert_eq!(l.get(labels::VERSION).map(String::as_str), Some("blue"), "{}", o.reference());
            assert_eq!(l.get(labels::NAME).map(String::as_str), Some("webserver"), "{}", o.reference());
        }
    }
}

#[test]
fn the_stable_service_selects_name_and_version_so_versions_never_mix() {
    let (tenant, blue, green) = demo();
    for (release, version) in [(blue, "blue"), (green, "green")] {
        let objects = compile(&tenant, &[release]).unwrap().objects;
        let Some(Object::Service(svc)) = objects.iter().find(|o| o.kind() == "Service" && o.name() == "webserver") else { panic!("no stable service") };
        let selector = svc.spec.as_ref().unwrap().selector.clone().unwrap();
        assert_eq!(selector.get(labels::VERSION).map(String::as_str), Some(version));
        assert_eq!(selector.get(labels::NAME).map(String::as_str), Some("webserver"));
        let Some(Object::Deployment(d)) = objects.iter().find(|o| o.kind() == "Deployment") else { panic!("no deployment") };
        assert_eq!(d.metadata.name.as_deref(), Some(format!("webserver-{version}").as_str()));
        let pod_labels = d.spec.as_ref().unwrap().template.metadata.as_ref().unwrap().labels.clone().unwrap();
        // The selector picks exactly this version's pods.
        assert!(selector.iter().all(|(k, v)| pod_labels.get(k) == Some(v)));
    }
}

#[test]
fn config_is_versioned_by_content() {
    let (tenant, blue, _) = demo();
    let config_name = |r: &Release| {
        compile(&tenant, std::slice::from_ref(r)).unwrap().objects.iter().find(|o| o.kind() == "ConfigMap").map(|o| o.name().to_string()).unwrap()
    };
    let a = config_name(&blue);
    let mut changed = blue.clone().into_spec();
    changed.config.as_mut().unwrap().files.insert("index.html".into(), "<h1>blue, fixed</h1>".into());
    let b = config_name(&Release::from_spec(changed).unwrap());
    assert_ne!(a, b, "a config change gives a new ConfigMap name");
    assert!(a.starts_with("webserver-blue-") && b.starts_with("webserver-blue-"));
    assert_eq!(a, config_name(&blue), "same content, same name");
}

#[test]
fn release_without_limits_gets_tenant_defaults_and_says_so() {
    let (tenant, _, _) = demo();
    let r = Release::builder("acme", "api", "v1").image("ghcr.io/acme/api:1.0.0").port("http", 8080).build().unwrap();
    let compiled = compile(&tenant, &[r]).unwrap();
    let Some(Object::Deployment(d)) = compiled.objects.iter().find(|o| o.kind() == "Deployment") else { panic!() };
    let limits = d.spec.as_ref().unwrap().template.spec.as_ref().unwrap().containers[0].resources.as_ref().unwrap().limits.clone().unwrap();
    assert_eq!(limits["cpu"].0, "200m");
    assert_eq!(limits["memory"].0, "128Mi");
    assert!(compiled.notes.iter().any(|n| n.path == "releases[0].resources.limits" && n.message.contains("container defaults")), "{:?}", compiled.notes);
}

#[test]
fn cross_checks_against_the_tenant() {
    let (tenant, _, _) = demo();
    let r = Release::builder("other", "web", "v1")
        .image("nginx:1.27")
        .port("http", 8080)
        .resources(("100m", "1Gi"), ("2", "2Gi"))
        .host("shop.elsewhere.test")
        .strategy(Strategy::blue_green().preview_host("preview.elsewhere.test"))
        .build()
        .unwrap();
    let err = compile(&tenant, &[r]).unwrap_err();
    let p: Vec<&str> = err.errors().iter().map(|e| e.path.as_str()).collect();
    for expected in [
        "releases[0].tenant",
        "releases[0].hosts[0]",
        "releases[0].strategy.previewHost",
        "releases[0].resources.limits.cpu",
        "releases[0].resources.limits.memory",
    ] {
        assert!(p.contains(&expected), "missing {expected} in {p:#?}");
    }
}

#[test]
fn two_releases_of_one_app_are_refused() {
    let (tenant, blue, green) = demo();
    let err = compile(&tenant, &[blue, green]).unwrap_err();
    assert_eq!(err.errors()[0].path, "releases[1].app");
}

#[test]
fn yaml_round_trips_and_output_is_deterministic() {
    let (tenant, blue, _) = demo();
    let objects = compile(&tenant, std::slice::from_ref(&blue)).unwrap().objects;
    let yaml = manifest::to_yaml_stream(&objects).unwrap();
    let back = manifest::from_yaml_stream(&yaml, std::path::Path::new("stream.yaml")).unwrap();
    assert_eq!(back, objects);
    assert_eq!(yaml, manifest::to_yaml_stream(&compile(&tenant, &[blue]).unwrap().objects).unwrap());

    let dir = std::env::temp_dir().join(format!("moorage-compile-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let files = manifest::write_dir(&dir, &objects, Layout::PerObject).unwrap();
    assert_eq!(files.len(), objects.len());
    let mut read = manifest::read_dir(&dir).unwrap();
    let mut expected = objects.clone();
    sort_for_apply(&mut read);
    sort_for_apply(&mut expected);
    assert_eq!(read.len(), expected.len());
    for o in &expected {
        assert!(read.contains(o), "{} not read back", o.reference());
    }
    let single = manifest::write_dir(&dir.join("single"), &objects, Layout::Single).unwrap();
    assert_eq!(std::fs::read_to_string(&single[0]).unwrap(), yaml);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn isolation_and_access_objects() {
    let (tenant, _, _) = demo();
    let objects = compile(&tenant, &[]).unwrap().objects;
    let ns = objects.iter().find(|o| o.kind() == "Namespace").unwrap();
    let l = ns.metadata().labels.clone().unwrap();
    assert_eq!(l["pod-security.kubernetes.io/enforce"], "restricted");
    assert_eq!(ns.metadata().annotations.as_ref().unwrap()[labels::PROTECTED], "true");
    assert!(objects.iter().any(|o| o.kind() == "NetworkPolicy"));
    let role_names: Vec<&str> = objects.iter().filter(|o| o.kind() == "Role").map(Object::name).collect();
    assert_eq!(role_names, ["moorage-admin", "moorage-developer"], "one Role per role in use");
    // Developers cannot touch RBAC, quota or secrets; viewers only read.
    let dev = moorage::compile::role_rules(moorage::Role::Developer);
    assert!(!dev.iter().any(|r| r.resources.as_ref().unwrap().iter().any(|x| x == "secrets" || x == "roles" || x == "resourcequotas")
        && r.verbs.iter().any(|v| v != "get" && v != "list" && v != "watch")));
    let viewer = moorage::compile::role_rules(moorage::Role::Viewer);
    assert!(viewer.iter().all(|r| r.verbs.iter().all(|v| ["get", "list", "watch"].contains(&v.as_str()))));
    assert!(!viewer.iter().any(|r| r.resources.as_ref().unwrap().iter().any(|x| x == "secrets")));
}

#[test]
fn backup_keys_only_appear_as_secret_references() {
    let (tenant, _, _) = demo();
    let objects = compile(&tenant, &[]).unwrap().objects;
    let yaml = manifest::to_yaml_stream(&objects).unwrap();
    assert!(yaml.contains("secretKeyRef"));
    assert!(yaml.contains("name: acme-s3"));
    let Some(Object::CronJob(cj)) = objects.iter().find(|o| o.kind() == "CronJob") else { panic!() };
    let job = cj.spec.job_template.spec.as_ref().unwrap();
    assert_eq!(job.active_deadline_seconds, Some(600 + 120 * 20), "sized from the 20Gi volume");
}

/// A tenant naming a Gateway: hosts compile to HTTPRoutes parented to it (the stable one with the
/// canary backend at weight 0 for a Gateway API canary, the preview one for blue/green), never to
/// Ingresses; the routes read back from YAML.
#[test]
fn gateway_tenants_get_httproutes_instead_of_ingresses() {
    let (tenant, _, _) = demo();
    let mut spec = tenant.into_spec();
    spec.gateway = Some(moorage::GatewayRef::new("gateways", "shared").section_name("https"));
    let tenant = Tenant::from_spec(spec).unwrap();
    let canary = release_from_yaml(
        "tenant: acme\napp: shop\nversion: v2\nimage: nginx:1.27\nreplicas: 4\nports: [{name: http, port: 8080}]\nhosts: [shop.acme.test]\n\
         strategy: {type: canary, traffic: gatewayApi, steps: [{setWeight: 20}, {pause: {}}]}\n",
    )
    .unwrap();
    let (_, blue, _) = demo();
    let mut routes = Vec::new();
    for release in [canary, blue] {
        let objects = compile(&tenant, &[release]).unwrap().objects;
        assert!(objects.iter().all(|o| o.kind() != "Ingress"), "no Ingress with a Gateway");
        routes.extend(objects.into_iter().filter(|o| o.kind() == "HTTPRoute"));
    }
    assert_eq!(routes.len(), 3, "the canary's stable route, blue's stable and preview routes");
    let yaml = manifest::to_yaml_stream(&routes).unwrap();
    insta::assert_snapshot!("gateway_routes", yaml);
    assert_eq!(manifest::from_yaml_stream(&yaml, std::path::Path::new("routes.yaml")).unwrap(), routes);
}

/// The traffic routing must fit the tenant's routes: gatewayApi needs a Gateway and hosts,
/// ingressNginx needs Ingresses.
#[test]
fn canary_traffic_must_fit_the_tenants_routes() {
    let (plain, _, _) = demo();
    let mut spec = plain.clone().into_spec();
    spec.gateway = Some(moorage::GatewayRef::new("gateways", "shared"));
    let gatewayed = Tenant::from_spec(spec).unwrap();
    let release = |traffic: &str, hosts: &str| {
        release_from_yaml(&format!(
            "tenant: acme\napp: shop\nversion: v2\nimage: nginx:1.27\nports: [{{name: http, port: 8080}}]\nhosts: {hosts}\nstrategy: {{type: canary, traffic: {traffic}, steps: [{{setWeight: 20}}]}}\n"
        ))
        .unwrap()
    };
    let refusal = |t: &Tenant, r: Release| compile(t, &[r]).unwrap_err().errors().iter().map(|e| format!("{}: {}", e.path, e.message)).collect::<Vec<_>>();
    let no_gateway = refusal(&plain, release("gatewayApi", "[shop.acme.test]"));
    assert_eq!(no_gateway.len(), 1);
    assert!(
        no_gateway[0].starts_with("releases[0].strategy.traffic: gatewayApi splits traffic by HTTPRoute weights, and tenant \"acme\" names no Gateway"),
        "{no_gateway:?}"
    );
    let no_hosts = refusal(&gatewayed, release("gatewayApi", "[]"));
    assert!(no_hosts[0].contains("the release has none"), "{no_hosts:?}");
    let nginx = refusal(&gatewayed, release("ingressNginx", "[shop.acme.test]"));
    assert!(nginx[0].contains("routes its hosts through Gateway gateways/shared; use gatewayApi"), "{nginx:?}");
    assert!(compile(&gatewayed, &[release("gatewayApi", "[shop.acme.test]")]).is_ok());
    assert!(compile(&plain, &[release("ingressNginx", "[shop.acme.test]")]).is_ok());
}

#[test]
fn an_autoscaled_release_gets_a_cpu_autoscaler_on_its_version() {
    let (tenant, blue, _) = demo();
    let mut spec = blue.into_spec();
    spec.autoscaling = Some(moorage::Autoscaling::new(2, 10, 70));
    let blue = Release::from_spec(spec).unwrap();
    let objects = compile(&tenant, &[blue]).unwrap().objects;
    let hpa: Vec<Object> = objects.into_iter().filter(|o| o.kind() == "HorizontalPodAutoscaler").collect();
    assert_eq!(hpa.len(), 1, "one autoscaler per application");
    insta::assert_snapshot!("autoscaler_of_blue", manifest::to_yaml_stream(&hpa).unwrap());
}
