//! Validation of the model: every problem reported at once, each with its field path.

use moorage::{CanaryStep, ComputeResources, ContainerDefaults, Probe, Quota, Release, Role, Strategy, Tenant};

fn paths(e: &moorage::ValidationErrors) -> Vec<&str> {
    e.errors().iter().map(|f| f.path.as_str()).collect()
}

fn nginx(version: &str) -> moorage::ReleaseBuilder {
    Release::builder("acme", "webserver", version).image("nginxinc/nginx-unprivileged:1.27").port("http", 8080)
}

#[test]
fn quota_typo_names_the_field_and_suggests_the_fix() {
    let err = Tenant::builder("acme").quota(Quota::new().limits("2", "2g")).build().unwrap_err();
    assert_eq!(paths(&err), ["tenant.quota.limits.memory"]);
    let msg = &err.errors()[0].message;
    assert!(msg.contains("\"2g\"") && msg.contains("\"2Gi\""), "{msg}");
    assert!(err.to_string().contains("tenant.quota.limits.memory: \"2g\" is not a Kubernetes quantity"), "{err}");
}

#[test]
fn canary_weight_over_100_names_the_step() {
    let err = nginx("green")
        .strategy(Strategy::canary([CanaryStep::set_weight(25), CanaryStep::pause_until_promoted(), CanaryStep::set_weight(120)]))
        .build()
        .unwrap_err();
    assert_eq!(paths(&err), ["release.strategy.steps[2].setWeight"]);
    assert!(err.errors()[0].message.contains("120 is over 100"));
}

#[test]
fn every_problem_comes_back_at_once() {
    let err = Release::builder("Acme", "9web", "v1_0")
        .image("NGINX:")
        .replicas(5000)
        .port("http", 0)
        .port("http", 8080)
        .resources(("2", "1Gi"), ("1", "512Mi"))
        .env("1BAD", "x")
        .readiness(Probe::http("healthz"))
        .host("shop.acme.test:443")
        .strategy(Strategy::canary([CanaryStep::set_weight(50), CanaryStep::set_weight(20), CanaryStep::pause_for("5 minutes")]))
        .build()
        .unwrap_err();
    let p = paths(&err);
    for expected in [
        "release.tenant",
        "release.app",
        "release.version",
        "release.image",
        "release.replicas",
        "release.ports[0].port",
        "release.ports[1].name",
        "release.resources.requests.cpu",
        "release.resources.requests.memory",
        "release.env[0].name",
        "release.readiness.http.path",
        "release.hosts[0]",
        "release.strategy.steps[1].setWeight",
        "release.strategy.steps[2].pause.duration",
    ] {
        assert!(p.contains(&expected), "missing {expected} in {p:#?}");
    }
    // The version gets a suggestion it can use.
    let version = err.errors().iter().find(|e| e.path == "release.version").unwrap();
    assert!(version.message.contains("did you mean \"v1-0\""), "{}", version.message);
}

#[test]
fn tenant_rules() {
    let err = Tenant::builder("a-very-long-tenant-name-over-thirty-chars")
        .label("moorage.dev/tenant", "x")
        .label("plan", "not a valid value!")
        .member("alice", Role::Admin)
        .member("alice", Role::Viewer)
        .domain("*.acme.test")
        .domain("Shop.Acme.Test")
        .volume("db", "openebs", "0")
        .quota(Quota::new().limits("1", "1Gi").requests("2", "512Mi").container_defaults(ContainerDefaults {
            default: ComputeResources::new("2", "128Mi"),
            default_request: ComputeResources::new("100m", "256Mi"),
            max: ComputeResources::new("1", "1Gi"),
        }))
        .build()
        .unwrap_err();
    let p = paths(&err);
    for expected in [
        "tenant.name",
        "tenant.labels[\"moorage.dev/tenant\"]",
        "tenant.labels[\"plan\"]",
        "tenant.members[1].name",
        "tenant.domains[0]",
        "tenant.domains[1]",
        "tenant.storage[0].size",
        "tenant.quota.requests.cpu",
        "tenant.quota.containerDefaults.defaultRequest.memory",
        "tenant.quota.containerDefaults.default.cpu",
    ] {
        assert!(p.contains(&expected), "missing {expected} in {p:#?}");
    }
    // Without a `default`, the API server takes `max` for it: a default request above `max` is refused.
    let err = Tenant::builder("acme")
        .quota(Quota::new().container_defaults(ContainerDefaults {
            default: ComputeResources::default(),
            default_request: ComputeResources::new("2", "64Mi"),
            max: ComputeResources::new("1", "1Gi"),
        }))
        .build()
        .unwrap_err();
    assert_eq!(paths(&err), ["tenant.quota.containerDefaults.defaultRequest.cpu"]);
    assert!(err.to_string().contains("above max.cpu"), "{err}");
    // Wildcards are allowed only when the tenant allows them.
    assert!(Tenant::builder("acme").allow_wildcard_domains(true).domain("*.acme.test").build().is_ok());
}

#[test]
fn defaults_are_safe() {
    let t = Tenant::builder("acme").build().unwrap();
    assert!(t.spec().protected, "deletion protection is on by default");
    assert!(t.spec().network.isolated, "network isolation is on by default");
    assert_eq!(t.spec().pod_security, moorage::PodSecurityLevel::Restricted);
    let r = nginx("blue").build().unwrap();
    assert_eq!(r.spec().replicas, 1);
    assert_eq!(r.spec().strategy.kind(), "rolling");
}

#[test]
fn rolling_that_cannot_progress_is_refused() {
    let err = nginx("v2").replicas(3).strategy(Strategy::rolling("0", "0%")).build().unwrap_err();
    assert_eq!(paths(&err), ["release.strategy.maxSurge"]);
}

#[test]
fn canary_needs_a_weight_and_non_decreasing_steps() {
    let err = nginx("v2").strategy(Strategy::canary([])).build().unwrap_err();
    assert_eq!(paths(&err), ["release.strategy.steps"]);
    let err = nginx("v2").strategy(Strategy::canary([CanaryStep::pause_for("1m")])).build().unwrap_err();
    assert_eq!(paths(&err), ["release.strategy.steps"]);
    assert!(nginx("v2").strategy(Strategy::canary([CanaryStep::set_weight(25), CanaryStep::set_weight(25), CanaryStep::set_weight(100)])).build().is_ok());
}

#[test]
fn backup_policy_checks() {
    use moorage::{BackupPolicy, Database, S3Target};
    let policy = BackupPolicy {
        name: "nightly".into(),
        volume: "missing".into(),
        schedule: "61 * * * *".into(),
        retention: 0,
        target: S3Target { endpoint: "https://key:secret@minio.test".into(), bucket: "Bad_Bucket".into(), prefix: None, credentials_secret: "s3".into() },
        database: Database::Postgres { host: "db".into(), database: "shop".into(), credentials_secret: "db".into() },
    };
    let err = Tenant::builder("acme").volume("db", "openebs", "10Gi").backup(policy).build().unwrap_err();
    let p = paths(&err);
    for expected in [
        "tenant.backups[0].volume",
        "tenant.backups[0].schedule",
        "tenant.backups[0].retention",
        "tenant.backups[0].target.endpoint",
        "tenant.backups[0].target.bucket",
    ] {
        assert!(p.contains(&expected), "missing {expected} in {p:#?}");
    }
    // The message about the endpoint never repeats the embedded secret.
    assert!(!err.to_string().contains("secret@"), "{err}");
}
