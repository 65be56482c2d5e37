//! The tenant lifecycle against both backends (apply, plan, status, suspend/resume, delete, domain
//! uniqueness) and CI credentials on the real control plane. The isolation matrix is in
//! `isolation.rs` (real control plane only: the simulated cluster has no RBAC authorizer).

use std::time::Duration;

use moorage::backend::wait::{self, Target};
use moorage::backend::{ApplyOptions, Backend, Kind, Propagation};
use moorage::compile::compile_release;
use moorage::tenant::{self, ApplyTenantOptions, BackupRun, CertificateState, DeleteOptions, PlannedAction, TenantError, SUSPENDED_REPLICAS};
use moorage::{BackupPolicy, Database, Quota, Release, Role, S3Target, Tenant};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(120);

fn options() -> ApplyTenantOptions {
    ApplyTenantOptions { timeout: WAIT, ..Default::default() }
}

fn customer(name: &str, pods: u32) -> Tenant {
    Tenant::builder(name)
        .quota(Quota::new().limits("4", "8Gi").requests("2", "4Gi").pods(pods))
        .member(format!("alice@{name}.test"), Role::Admin)
        .member(format!("bob@{name}.test"), Role::Developer)
        .domain(format!("shop.{name}.test"))
        .volume("data", "replicated", "1Gi")
        .backup(BackupPolicy {
            name: "nightly".into(),
            volume: "data".into(),
            schedule: "0 3 * * *".into(),
            retention: 7,
            target: S3Target {
                endpoint: "https://minio.example.test:9000".into(),
                bucket: "backups".into(),
                prefix: None,
                credentials_secret: "s3-keys".into(),
            },
            database: Database::Postgres { host: "db".into(), database: "app".into(), credentials_secret: "db-keys".into() },
        })
        .build()
        .expect("a valid tenant")
}

fn deployment_kind() -> Kind {
    Kind::of::<k8s_openapi::api::apps::v1::Deployment>()
}

async fn deploy_release(b: &dyn Backend, t: &Tenant) -> String {
    let release = Release::builder(t.name(), "webserver", "v1")
        .image("nginxinc/nginx-unprivileged:1.27")
        .replicas(2)
        .port("http", 8080)
        .resources(("100m", "64Mi"), ("200m", "128Mi"))
        .build()
        .unwrap();
    let objects: Vec<Value> = compile_release(t, &release).unwrap().objects.iter().map(|o| serde_json::to_value(o).unwrap()).collect();
    b.apply(&objects, &ApplyOptions::default()).await.unwrap();
    let deployment = objects.iter().find(|o| o["kind"] == "Deployment").unwrap()["metadata"]["name"].as_str().unwrap().to_string();
    wait::wait_for(b, &Target::object(deployment_kind(), Some(t.namespace()), &deployment), &wait::deployment_available(), WAIT).await.unwrap();
    deployment
}

async fn cleanup(b: &dyn Backend, t: &Tenant) {
    let _ = b.delete(&Kind::of::<k8s_openapi::api::core::v1::Namespace>(), None, t.namespace(), Propagation::Background).await;
}

/// A backend on which `rival` is applied, whole, in the instant between the domain checks of
/// another tenant's apply and the write of that tenant's Namespace (`claimant`): the race of two
/// processes applying the same domain at once, made to happen every time.
struct Rival<'a> {
    inner: &'a dyn Backend,
    claimant: String,
    rival: tokio::sync::Mutex<Option<Tenant>>,
}

#[async_trait::async_trait]
impl Backend for Rival<'_> {
    fn describe(&self) -> String {
        format!("{} with a rival", self.inner.describe())
    }
    async fn apply(&self, objects: &[Value], apply_options: &ApplyOptions) -> Result<Vec<moorage::backend::Applied>, moorage::backend::BackendError> {
        let claimant_namespace = objects.iter().any(|o| o["kind"] == "Namespace" && o["metadata"]["name"] == self.claimant.as_str());
        if claimant_namespace {
            if let Some(rival) = self.rival.lock().await.take() {
                tenant::apply(self.inner, &rival, &options()).await.expect("the rival's apply passes: nothing holds its domain yet");
            }
        }
        self.inner.apply(objects, apply_options).await
    }
    async fn get(&self, kind: &Kind, namespace: Option<&str>, name: &str) -> Result<Option<Value>, moorage::backend::BackendError> {
        self.inner.get(kind, namespace, name).await
    }
    async fn list(&self, kind: &Kind, namespace: Option<&str>, selector: &moorage::backend::Selector) -> Result<Vec<Value>, moorage::backend::BackendError> {
        self.inner.list(kind, namespace, selector).await
    }
    async fn delete(&self, kind: &Kind, namespace: Option<&str>, name: &str, propagation: Propagation) -> Result<bool, moorage::backend::BackendError> {
        self.inner.delete(kind, namespace, name, propagation).await
    }
    async fn watch(
        &self,
        kind: &Kind,
        namespace: Option<&str>,
        selector: &moorage::backend::Selector,
    ) -> Result<moorage::backend::WatchStream, moorage::backend::BackendError> {
        self.inner.watch(kind, namespace, selector).await
    }
    async fn sleep(&self, duration: Duration) {
        self.inner.sleep(duration).await;
    }
    fn now(&self) -> Duration {
        self.inner.now()
    }
}

mod cases {
    use super::*;

    pub async fn lifecycle(b: &dyn Backend, name: &str) {
        let t = customer(name, 20);
        let plan = tenant::plan(b, &t).await.unwrap();
        assert!(plan.objects.iter().all(|o| o.action == PlannedAction::Create), "{plan:#?}");

        let first = tenant::apply(b, &t, &options()).await.unwrap();
        assert!(first.created() >= 8, "{first:#?}");
        let again = tenant::apply(b, &t, &options()).await.unwrap();
        assert_eq!(again.changes(), 0, "a second apply changes nothing: {again:#?}");
        // Another process rebuilds the same tenant from the cluster.
        assert_eq!(tenant::live(b, name).await.unwrap(), t);
        assert!(matches!(tenant::live(b, "nobody-here").await, Err(tenant::TenantError::NotFound { .. })));
        assert!(tenant::plan(b, &t).await.unwrap().is_empty());

        // A change shows in the plan, field by field, and the plan writes nothing.
        let bigger = customer(name, 30);
        let plan = tenant::plan(b, &bigger).await.unwrap();
        let updates: Vec<_> = plan.with_action(PlannedAction::Update).collect();
        // Only the quota changes for people: the tenant's recorded spec on its Namespace is bookkeeping
        // and never listed as a change.
        let kinds: Vec<&str> = updates.iter().map(|u| u.object.kind.as_str()).collect();
        assert_eq!(kinds, ["ResourceQuota"], "{plan:#?}");
        let quota = updates[0];
        let change = quota.changes.iter().find(|c| c.path == "spec.hard.pods").expect("the pods field changes");
        assert_eq!(change.before, Some(Value::from("20")));
        assert_eq!(change.after, Some(Value::from("30")));
        assert_eq!(tenant::apply(b, &t, &options()).await.unwrap().changes(), 0, "the plan changed nothing");

        // Status.
        let deployment = deploy_release(b, &t).await;
        let status = tenant::status(b, &t).await.unwrap();
        let pods = status.quota.iter().find(|q| q.resource == "pods").expect("pods in quota");
        assert_eq!(pods.hard, "20");
        assert_eq!(pods.used.as_deref(), Some("2"), "{status:#?}");
        let release = status.releases.iter().find(|r| r.app == "webserver" && r.version == "v1").expect("the release");
        assert_eq!((release.ready, release.desired), (2, 2));
        assert_eq!(status.domains.len(), 1);
        assert!(matches!(status.domains[0].certificate, CertificateState::CertManagerMissing | CertificateState::None), "{status:#?}");
        assert_eq!(status.backups.values().collect::<Vec<_>>(), vec![&BackupRun::None]);
        assert!(status.drift.is_empty(), "{status:#?}");

        // Drift: someone edits the quota with another tool.
        let mut edited = tenant::tenant_objects(&t).unwrap().into_iter().find(|o| o["kind"] == "ResourceQuota").unwrap();
        edited["spec"]["hard"]["pods"] = Value::from("25");
        let edit = ApplyOptions { field_manager: "kubectl-edit".into(), ..ApplyOptions::force() };
        b.apply(&[edited], &edit).await.unwrap();
        let drift = tenant::status(b, &t).await.unwrap().drift;
        assert!(
            drift.iter().any(|d| d.object.kind == "ResourceQuota" && d.manager == "kubectl-edit" && d.fields.iter().any(|f| f == "spec.hard.pods")),
            "{drift:#?}"
        );
        let err = tenant::apply(b, &t, &options()).await.unwrap_err();
        assert!(matches!(err, TenantError::Backend(moorage::backend::BackendError::Conflict { .. })), "{err}");
        let forced = ApplyTenantOptions { conflicts: moorage::backend::ConflictPolicy::Force, ..options() };
        assert_eq!(tenant::apply(b, &t, &forced).await.unwrap().updated(), 1);

        // Suspend and resume.
        assert_eq!(tenant::suspend(b, &t).await.unwrap(), vec![deployment.clone()]);
        let d = b.get(&deployment_kind(), Some(name), &deployment).await.unwrap().unwrap();
        assert_eq!(d["spec"]["replicas"], 0);
        assert_eq!(d["metadata"]["annotations"][SUSPENDED_REPLICAS], "2");
        assert!(d["spec"]["template"]["spec"]["containers"].is_array(), "the rest of the Deployment is untouched");
        assert!(tenant::suspend(b, &t).await.unwrap().is_empty(), "suspending twice keeps the recorded replicas");
        assert_eq!(tenant::resume(b, &t).await.unwrap(), vec![deployment.clone()]);
        let d = b.get(&deployment_kind(), Some(name), &deployment).await.unwrap().unwrap();
        assert_eq!(d["spec"]["replicas"], 2);
        assert!(d["metadata"]["annotations"].get(SUSPENDED_REPLICAS).is_none());
        wait::wait_for(b, &Target::object(deployment_kind(), Some(name), &deployment), &wait::deployment_available(), WAIT).await.unwrap();

        // Delete: refused while protected, then confirmed; the volume and its namespace stay.
        let err = tenant::delete(b, &t, DeleteOptions::default()).await.unwrap_err();
        assert!(matches!(err, TenantError::Protected { .. }), "{err}");
        assert!(b.get(&deployment_kind(), Some(name), &deployment).await.unwrap().is_some(), "a refused delete deletes nothing");
        let report = tenant::delete(b, &t, DeleteOptions { confirm: true, purge: false }).await.unwrap();
        assert!(report.kept.iter().any(|r| r.kind == "PersistentVolumeClaim" && r.name == "data"), "{report:#?}");
        assert!(report.kept.iter().any(|r| r.kind == "Namespace"), "{report:#?}");
        assert!(report.deleted.iter().any(|r| r.kind == "ResourceQuota"), "{report:#?}");
        let pvc = Kind::of::<k8s_openapi::api::core::v1::PersistentVolumeClaim>();
        assert!(b.get(&pvc, Some(name), "data").await.unwrap().is_some(), "the volume is kept");
        let quota = Kind::of::<k8s_openapi::api::core::v1::ResourceQuota>();
        assert!(b.get(&quota, Some(name), "quota").await.unwrap().is_none());
        let cronjob = Kind::of::<k8s_openapi::api::batch::v1::CronJob>();
        assert!(b.list(&cronjob, Some(name), &moorage::backend::Selector::all()).await.unwrap().is_empty());
        cleanup(b, &t).await;
    }

    pub async fn a_domain_of_another_tenant_is_refused(b: &dyn Backend, name: &str) {
        let a = Tenant::builder(name).domain(format!("shop.{name}.test")).build().unwrap();
        let other = format!("{name}-b");
        let b_tenant = Tenant::builder(&other).domain(format!("shop.{name}.test")).domain(format!("b.{name}.test")).build().unwrap();
        tenant::apply(b, &a, &options()).await.unwrap();
        let err = tenant::apply(b, &b_tenant, &options()).await.unwrap_err();
        let TenantError::DomainTaken { domain, holder } = &err else { panic!("expected DomainTaken, got {err}") };
        assert_eq!(domain, &format!("shop.{name}.test"));
        assert_eq!(holder, name);
        let ns = Kind::of::<k8s_openapi::api::core::v1::Namespace>();
        assert!(b.get(&ns, None, &other).await.unwrap().is_none(), "nothing of the second tenant was written");
        // Re-applying the holder is fine: its own domains do not conflict with themselves.
        assert_eq!(tenant::apply(b, &a, &options()).await.unwrap().changes(), 0);
        cleanup(b, &a).await;
    }

    /// The domain check finds its clashes through the Namespaces' domain labels, wildcards both
    /// ways, and still reads Namespaces applied before those labels existed.
    pub async fn wildcard_and_unindexed_holders_are_found(b: &dyn Backend, name: &str) {
        let ns = Kind::of::<k8s_openapi::api::core::v1::Namespace>();
        // A tenant holding a wildcard: its Namespace carries the index.
        let wild = Tenant::builder(format!("{name}-w")).allow_wildcard_domains(true).domain(format!("*.{name}.test")).build().unwrap();
        tenant::apply(b, &wild, &options()).await.unwrap();
        let applied = b.get(&ns, None, wild.namespace()).await.unwrap().unwrap();
        assert_eq!(applied["metadata"]["labels"][tenant::DOMAINS_INDEXED], "v1", "{applied}");
        for key in tenant::domain_labels(&wild.spec().domains).keys() {
            assert!(applied["metadata"]["labels"].get(key).is_some(), "{key} missing: {applied}");
        }
        let host = Tenant::builder(format!("{name}-h")).domain(format!("shop.{name}.test")).build().unwrap();
        let err = tenant::apply(b, &host, &options()).await.unwrap_err();
        assert!(
            matches!(&err, TenantError::DomainTaken { domain, holder } if *domain == format!("shop.{name}.test") && *holder == format!("{name}-w")),
            "{err}"
        );
        // A host first, then a wildcard over it.
        let other_host = Tenant::builder(format!("{name}-o")).domain(format!("shop.{name}.example")).build().unwrap();
        tenant::apply(b, &other_host, &options()).await.unwrap();
        let other_wild = Tenant::builder(format!("{name}-x")).allow_wildcard_domains(true).domain(format!("*.{name}.example")).build().unwrap();
        let err = tenant::apply(b, &other_wild, &options()).await.unwrap_err();
        assert!(matches!(&err, TenantError::DomainTaken { holder, .. } if *holder == format!("{name}-o")), "{err}");
        // A Namespace written before the index (the annotation only) is still read.
        let old = format!("{name}-old");
        let legacy = serde_json::json!({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": old, "labels": {"app.kubernetes.io/managed-by": "moorage", "moorage.dev/tenant": old},
                         "annotations": {tenant::DOMAINS_ANNOTATION: format!("legacy.{name}.test")}},
        });
        b.apply(&[legacy], &ApplyOptions::default()).await.unwrap();
        let late = Tenant::builder(format!("{name}-l")).domain(format!("legacy.{name}.test")).build().unwrap();
        let err = tenant::apply(b, &late, &options()).await.unwrap_err();
        assert!(matches!(&err, TenantError::DomainTaken { holder, .. } if *holder == old), "{err}");
        for n in [wild.namespace(), other_host.namespace(), old.as_str()] {
            let _ = b.delete(&ns, None, n, Propagation::Background).await;
        }
    }
    /// Two tenants claiming one domain at the same instant: the one whose claim comes second backs
    /// off, and its Namespace is put back as it was (deleted when the apply created it; its previous
    /// spec and domains when it existed). Then two applies really run at once: never both get it.
    pub async fn a_domain_claimed_at_the_same_time_goes_to_one_tenant(b: &dyn Backend, name: &str) {
        let ns = Kind::of::<k8s_openapi::api::core::v1::Namespace>();
        let contested = format!("race.{name}.test");
        let gone_or_going = |live: Option<Value>| live.is_none_or(|ns| ns["metadata"]["deletionTimestamp"].is_string());

        // A new tenant: its Namespace is created by the claim, then deleted.
        let first = Tenant::builder(format!("{name}-a")).domain(&contested).build().unwrap();
        let winner = Tenant::builder(format!("{name}-b")).domain(&contested).build().unwrap();
        let racing = Rival { inner: b, claimant: first.namespace().to_string(), rival: tokio::sync::Mutex::new(Some(winner.clone())) };
        let err = tenant::apply(&racing, &first, &options()).await.unwrap_err();
        assert!(matches!(&err, TenantError::DomainContended { domain, rival } if *domain == contested && rival == winner.name()), "{err}");
        assert!(gone_or_going(b.get(&ns, None, first.namespace()).await.unwrap()), "the backed-off claim left its Namespace behind");
        assert_eq!(tenant::apply(b, &winner, &options()).await.unwrap().changes(), 0, "the winner keeps its domain, unchanged");

        // An existing tenant adding a domain (and changing a label): its Namespace gets back its
        // previous domains, their labels and its previous spec.
        let holder = Tenant::builder(format!("{name}-c")).domain(format!("own.{name}.test")).build().unwrap();
        tenant::apply(b, &holder, &options()).await.unwrap();
        let before = b.get(&ns, None, holder.namespace()).await.unwrap().unwrap();
        let grown =
            Tenant::builder(holder.name()).label("plan", "gold").domain(format!("own.{name}.test")).domain(format!("more.{name}.test")).build().unwrap();
        let rival = Tenant::builder(format!("{name}-d")).domain(format!("more.{name}.test")).build().unwrap();
        let racing = Rival { inner: b, claimant: holder.namespace().to_string(), rival: tokio::sync::Mutex::new(Some(rival.clone())) };
        let err = tenant::apply(&racing, &grown, &options()).await.unwrap_err();
        assert!(matches!(&err, TenantError::DomainContended { rival: r, .. } if r == rival.name()), "{err}");
        let after = b.get(&ns, None, holder.namespace()).await.unwrap().unwrap();
        for field in ["labels", "annotations"] {
            assert_eq!(after["metadata"][field], before["metadata"][field], "the Namespace's {field} are back as they were");
        }
        assert_eq!(tenant::live(b, holder.name()).await.unwrap().spec(), holder.spec(), "the recorded spec is the previous one");
        assert_eq!(tenant::apply(b, &holder, &options()).await.unwrap().changes(), 0, "the holder is exactly as before");

        // Two applies at once, three times, each on a domain of its own: at most one tenant holds it.
        for round in 0..3 {
            let domain = format!("round{round}.{name}.test");
            let x = Tenant::builder(format!("{name}-x{round}")).domain(&domain).build().unwrap();
            let y = Tenant::builder(format!("{name}-y{round}")).domain(&domain).build().unwrap();
            let opts = options();
            let (rx, ry) = tokio::join!(tenant::apply(b, &x, &opts), tenant::apply(b, &y, &opts));
            assert!(!(rx.is_ok() && ry.is_ok()), "round {round}: both tenants got {domain}");
            for (t, result) in [(&x, &rx), (&y, &ry)] {
                match result {
                    Ok(_) => assert!(b.get(&ns, None, t.namespace()).await.unwrap().is_some()),
                    // Refused by the first check (the other was written) or by the claim's second one.
                    Err(TenantError::DomainTaken { domain: taken, .. } | TenantError::DomainContended { domain: taken, .. }) => {
                        assert_eq!(taken, &domain);
                        assert!(gone_or_going(b.get(&ns, None, t.namespace()).await.unwrap()), "round {round}: {} left its Namespace", t.name());
                    }
                    Err(other) => panic!("round {round}: {} failed otherwise: {other}", t.name()),
                }
            }
            cleanup(b, &x).await;
            cleanup(b, &y).await;
        }
        for t in [&first, &winner, &holder, &rival] {
            cleanup(b, t).await;
        }
    }
}

moorage_tests::both_backends!(prefix: "tn", turns: None, cases: [lifecycle, a_domain_of_another_tenant_is_refused, wildcard_and_unindexed_holders_are_found, a_domain_claimed_at_the_same_time_goes_to_one_tenant]);

fn ci_options(config: &kube::Config) -> tenant::CiOptions {
    let path = std::env::var(moorage_tests::KUBECONFIG_ENV).expect("the admin kubeconfig");
    let kubeconfig = kube::config::Kubeconfig::read_from(&path).unwrap();
    let ca = kubeconfig.clusters.first().and_then(|c| c.cluster.as_ref()).and_then(|c| c.certificate_authority_data.clone());
    tenant::CiOptions { ttl: Duration::from_secs(600), server: config.cluster_url.to_string(), certificate_authority_data: ca }
}

/// The CI kubeconfig of a tenant works in its namespace with the developer's rights, and nowhere else.
/// Real control plane only (the simulated cluster serves no TokenRequest API).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ci_credentials_are_scoped_to_the_tenant() {
    let Some(config) = moorage_tests::real_cluster_config().await else { return };
    let backend = moorage::backend::cluster::ClusterBackend::from_config(config.clone()).unwrap();
    let suffix = moorage_tests::random_suffix();
    let own = Tenant::builder(format!("ci-{suffix}")).protected(false).build().unwrap();
    let other = Tenant::builder(format!("ci2-{suffix}")).protected(false).build().unwrap();
    for t in [&own, &other] {
        tenant::apply(&backend, t, &options()).await.unwrap();
    }
    let creds = tenant::ci_credentials(&backend, &own, &ci_options(&config)).await.unwrap();
    assert!(!creds.token.is_empty() && !creds.expires_at.is_empty());
    assert!(!format!("{creds:?}").contains(creds.token.expose()), "Debug hides the token");
    assert!(tenant::plan(&backend, &own).await.unwrap().is_empty(), "the CI objects are not planned for deletion");
    let kubeconfig = kube::config::Kubeconfig::from_yaml(creds.kubeconfig.expose()).expect("a parsable kubeconfig");
    let ci_config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await.unwrap();
    assert_eq!(ci_config.default_namespace, own.namespace());
    let client = kube::Client::try_from(ci_config).unwrap();
    let deployments: kube::Api<k8s_openapi::api::apps::v1::Deployment> = kube::Api::default_namespaced(client.clone());
    moorage_tests::wait_for("the CI token to list deployments", WAIT, || {
        let d = deployments.clone();
        async move { Ok(d.list(&Default::default()).await.ok().map(|_| ())) }
    })
    .await
    .unwrap();
    let secrets: kube::Api<k8s_openapi::api::core::v1::Secret> = kube::Api::default_namespaced(client.clone());
    let err = secrets.list(&Default::default()).await.unwrap_err();
    assert_eq!(moorage_tests::api_status(&err).map(|s| s.code), Some(403), "developers do not read secrets: {err}");
    let elsewhere: kube::Api<k8s_openapi::api::core::v1::Pod> = kube::Api::namespaced(client, other.namespace());
    let err = elsewhere.list(&Default::default()).await.unwrap_err();
    assert_eq!(moorage_tests::api_status(&err).map(|s| s.code), Some(403), "{err}");
    for t in [&own, &other] {
        tenant::delete(&backend, t, DeleteOptions { confirm: true, purge: true }).await.unwrap();
    }
}
