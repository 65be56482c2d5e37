//! S4 tenant isolation on the real control plane (the simulated cluster has no RBAC authorizer and
//! no network: these checks mean nothing there):
//!
//! - the access matrix: 4 tenants, every member role (admin, developer, viewer) and each tenant's CI
//!   ServiceAccount, against every tenant's namespace, for 14 resources (Secrets included) and 7
//!   verbs, by SubjectAccessReview: allowed exactly where the role's rules say, in its own tenant
//!   only; plus invariants that do not come from `role_rules` (no role edits quota, limits, network
//!   policies or RBAC; only admins read Secrets; nobody creates namespaces);
//! - Secrets read for real (impersonation): a planted Secret of tenant B is readable by B's admin
//!   only, never by any member of A;
//! - each tenant's NetworkPolicy, evaluated against every live namespace: ingress only from the
//!   tenant's own namespace and the configured ingress and monitoring namespaces;
//! - domains: a tenant cannot claim another's domain, exactly or through a wildcard, either way;
//! - quota: a tenant has one namespace (moorage has no multi-namespace tenants), and none of its
//!   members can create another namespace, a quota or a binding to get around it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use k8s_openapi::api::authorization::v1::{NonResourceAttributes, ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::api::PostParams;
use moorage::backend::{ApplyOptions, Backend, Kind};
use moorage::compile::{role_rules, NETWORK_POLICY_NAME};
use moorage::tenant::{self, ApplyTenantOptions, DeleteOptions, TenantError};
use moorage::{Role, Tenant};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(120);

fn options() -> ApplyTenantOptions {
    ApplyTenantOptions { timeout: WAIT, ..Default::default() }
}

const ROLES: [Role; 3] = [Role::Admin, Role::Developer, Role::Viewer];
const RESOURCES: [(&str, &str); 14] = [
    ("", "pods"),
    ("", "pods/log"),
    ("", "pods/exec"),
    ("", "secrets"),
    ("", "configmaps"),
    ("", "services"),
    ("", "persistentvolumeclaims"),
    ("", "resourcequotas"),
    ("", "limitranges"),
    ("apps", "deployments"),
    ("batch", "cronjobs"),
    ("networking.k8s.io", "ingresses"),
    ("networking.k8s.io", "networkpolicies"),
    ("rbac.authorization.k8s.io", "rolebindings"),
];
const VERBS: [&str; 7] = ["get", "list", "watch", "create", "update", "patch", "delete"];
const WRITES: [&str; 4] = ["create", "update", "patch", "delete"];

/// Whether a role's rules allow `verb` on `resource` of API group `group`.
fn allowed_by_rules(role: Role, group: &str, resource: &str, verb: &str) -> bool {
    role_rules(role).iter().any(|r| {
        r.api_groups.as_ref().is_some_and(|g| g.iter().any(|g| g == group))
            && r.resources.as_ref().is_some_and(|rs| rs.iter().any(|x| x == resource))
            && r.verbs.iter().any(|v| v == verb)
    })
}

/// What must hold whatever `role_rules` says (the design of the roles, from the tenant issue):
/// `Some(false)` when the access must be denied even in the member's own namespace.
fn invariant(role: Role, resource: &str, verb: &str) -> Option<bool> {
    let write = WRITES.contains(&verb);
    match resource {
        // Nobody escapes the quota, the limits, the isolation or the RBAC of their tenant.
        "resourcequotas" | "limitranges" | "networkpolicies" | "rolebindings" if write => Some(false),
        // Only admins read or write Secrets.
        "secrets" if role != Role::Admin => Some(false),
        // Viewers read only.
        _ if role == Role::Viewer && (write || resource == "pods/exec") => Some(false),
        _ => None,
    }
}

async fn review(client: &kube::Client, user: &str, attributes: ResourceAttributes) -> bool {
    let review = SubjectAccessReview {
        spec: SubjectAccessReviewSpec { user: Some(user.to_string()), resource_attributes: Some(attributes), ..Default::default() },
        ..Default::default()
    };
    let api: kube::Api<SubjectAccessReview> = kube::Api::all(client.clone());
    let answer = api.create(&PostParams::default(), &review).await.expect("a SubjectAccessReview");
    answer.status.is_some_and(|s| s.allowed)
}

fn attributes(namespace: Option<&str>, group: &str, resource: &str, verb: &str) -> ResourceAttributes {
    let (resource, subresource) = match resource.split_once('/') {
        Some((r, s)) => (r, Some(s.to_string())),
        None => (resource, None),
    };
    ResourceAttributes {
        namespace: namespace.map(str::to_string),
        group: Some(group.to_string()),
        resource: Some(resource.to_string()),
        subresource,
        verb: Some(verb.to_string()),
        ..Default::default()
    }
}

fn member(role: Role, tenant: &Tenant) -> String {
    format!("{}@{}.test", role.as_str(), tenant.name())
}

/// Four tenants with one member per role, applied, each with its CI ServiceAccount.
async fn four_tenants(backend: &moorage::backend::cluster::ClusterBackend, config: &kube::Config, prefix: &str) -> Vec<Tenant> {
    let suffix = moorage_tests::random_suffix();
    let tenants: Vec<Tenant> = (0..4)
        .map(|i| {
            let name = format!("{prefix}{i}-{suffix}");
            let mut builder = Tenant::builder(&name).protected(false);
            for role in ROLES {
                builder = builder.member(format!("{}@{name}.test", role.as_str()), role);
            }
            builder.build().unwrap()
        })
        .collect();
    for t in &tenants {
        tenant::apply(backend, t, &options()).await.unwrap();
        tenant::ci_credentials(backend, t, &ci_options(config)).await.unwrap();
    }
    tenants
}

fn ci_options(config: &kube::Config) -> tenant::CiOptions {
    tenant::CiOptions { ttl: Duration::from_secs(600), server: config.cluster_url.to_string(), certificate_authority_data: None }
}

async fn delete_all(backend: &moorage::backend::cluster::ClusterBackend, tenants: &[Tenant]) {
    for t in tenants {
        let _ = tenant::delete(backend, t, DeleteOptions { confirm: true, purge: true }).await;
    }
}

/// The access matrix: every subject of every tenant against every tenant's namespace, for every
/// resource and verb, by SubjectAccessReview; then the cluster-scoped escapes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_matrix_every_role_resource_and_verb() {
    let Some(config) = moorage_tests::real_cluster_config().await else { return };
    let backend = moorage::backend::cluster::ClusterBackend::from_config(config.clone()).unwrap();
    let admin = kube::Client::try_from(config.clone()).unwrap();
    let tenants = four_tenants(&backend, &config, "mx").await;
    // RBAC is served from informers: wait until the last tenant's admin is authorized.
    let last = tenants.last().unwrap();
    moorage_tests::wait_for("RBAC to see the last tenant's roles", WAIT, || {
        let (admin, user, ns) = (admin.clone(), member(Role::Admin, last), last.namespace().to_string());
        async move { Ok(review(&admin, &user, attributes(Some(&ns), "", "pods", "get")).await.then_some(())) }
    })
    .await
    .unwrap();

    let mut checks = Vec::new();
    for a in &tenants {
        let mut subjects: Vec<(String, Role)> = ROLES.iter().map(|r| (member(*r, a), *r)).collect();
        subjects.push((format!("system:serviceaccount:{}:{}", a.namespace(), tenant::CI_SERVICE_ACCOUNT), Role::Developer));
        for (user, role) in subjects {
            for b in &tenants {
                for (group, resource) in RESOURCES {
                    for verb in VERBS {
                        let own = a.name() == b.name();
                        let by_rules = own && allowed_by_rules(role, group, resource, verb);
                        checks.push((user.clone(), role, b.namespace().to_string(), group, resource, verb, own, by_rules));
                    }
                }
            }
        }
    }
    let total = checks.len();
    let results: Vec<_> = stream::iter(checks)
        .map(|(user, role, ns, group, resource, verb, own, by_rules)| {
            let admin = admin.clone();
            async move {
                let got = review(&admin, &user, attributes(Some(&ns), group, resource, verb)).await;
                (user, role, ns, resource, verb, own, by_rules, got)
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let mut wrong = Vec::new();
    let (mut cross_tenant, mut invariants) = (0, 0);
    for (user, role, ns, resource, verb, own, by_rules, got) in &results {
        if got != by_rules {
            wrong.push(format!("{user} {verb} {resource} in {ns}: got {got}, the role's rules say {by_rules}"));
        }
        if !own {
            cross_tenant += 1;
        } else if let Some(expected) = invariant(*role, resource, verb) {
            invariants += 1;
            if *got != expected {
                wrong.push(format!("{user} {verb} {resource} in its own {ns}: got {got}, the role's design says {expected}"));
            }
        }
    }
    // Cluster-scoped escapes: another namespace (to get a second quota), cluster roles and bindings.
    let mut escapes = 0;
    for t in &tenants {
        let mut subjects: Vec<String> = ROLES.iter().map(|r| member(*r, t)).collect();
        subjects.push(format!("system:serviceaccount:{}:{}", t.namespace(), tenant::CI_SERVICE_ACCOUNT));
        for user in subjects {
            for (group, resource, verb) in [
                ("", "namespaces", "create"),
                ("", "namespaces", "update"),
                ("", "namespaces", "patch"),
                ("", "namespaces", "delete"),
                ("rbac.authorization.k8s.io", "clusterroles", "create"),
                ("rbac.authorization.k8s.io", "clusterrolebindings", "create"),
                ("rbac.authorization.k8s.io", "roles", "escalate"),
                ("rbac.authorization.k8s.io", "roles", "bind"),
                ("", "secrets", "list"),
            ] {
                // Namespaced verbs are asked in the member's own namespace; the rest cluster-wide.
                let ns = (resource == "roles").then(|| t.namespace());
                let ns = if resource == "namespaces" { None } else { ns };
                let got = review(&admin, &user, attributes(ns, group, resource, verb)).await;
                escapes += 1;
                if got {
                    wrong.push(format!("{user} may {verb} {resource} {}", ns.map_or("cluster-wide".to_string(), |n| format!("in {n}"))));
                }
            }
            // Non-resource URLs beyond discovery are not theirs either.
            let review_url = SubjectAccessReview {
                spec: SubjectAccessReviewSpec {
                    user: Some(user.clone()),
                    non_resource_attributes: Some(NonResourceAttributes { path: Some("/metrics".into()), verb: Some("get".into()) }),
                    ..Default::default()
                },
                ..Default::default()
            };
            let api: kube::Api<SubjectAccessReview> = kube::Api::all(admin.clone());
            escapes += 1;
            if api.create(&PostParams::default(), &review_url).await.unwrap().status.is_some_and(|s| s.allowed) {
                wrong.push(format!("{user} may read /metrics"));
            }
        }
    }
    println!(
        "access matrix: {total} SubjectAccessReviews ({cross_tenant} cross-tenant, {invariants} role invariants in the own namespace) + {escapes} cluster-scoped escapes, {} wrong",
        wrong.len()
    );
    delete_all(&backend, &tenants).await;
    assert!(wrong.is_empty(), "{} checks wrong:\n{}", wrong.len(), wrong.join("\n"));
    assert_eq!(total, 4 * 4 * 4 * RESOURCES.len() * VERBS.len());
}

/// Secrets for real: a Secret planted in each tenant is read, through impersonation, by every member
/// of every tenant. Only the admin of its own tenant gets it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_are_read_only_by_their_tenants_admin() {
    let Some(config) = moorage_tests::real_cluster_config().await else { return };
    let backend = moorage::backend::cluster::ClusterBackend::from_config(config.clone()).unwrap();
    let tenants = four_tenants(&backend, &config, "sc").await;
    for t in &tenants {
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s3-keys", "namespace": t.namespace()},
                            "stringData": {"AWS_SECRET_ACCESS_KEY": format!("planted-{}", t.name())}});
        backend.apply(&[secret], &ApplyOptions::default()).await.unwrap();
    }
    let last = tenants.last().unwrap();
    let as_last_admin = moorage_tests::impersonating_client(&config, &member(Role::Admin, last), &[]).unwrap();
    moorage_tests::wait_for("RBAC to let the last tenant's admin read its Secret", WAIT, || {
        let api: kube::Api<Secret> = kube::Api::namespaced(as_last_admin.clone(), last.namespace());
        async move { Ok(api.get("s3-keys").await.ok().map(|_| ())) }
    })
    .await
    .unwrap();
    let (mut reads, mut wrong) = (0, Vec::new());
    for a in &tenants {
        for role in ROLES {
            let user = member(role, a);
            let client = moorage_tests::impersonating_client(&config, &user, &[]).unwrap();
            for b in &tenants {
                let api: kube::Api<Secret> = kube::Api::namespaced(client.clone(), b.namespace());
                let expected = a.name() == b.name() && role == Role::Admin;
                reads += 2;
                match api.get("s3-keys").await {
                    Ok(s) => {
                        let value = s.data.and_then(|d| d.get("AWS_SECRET_ACCESS_KEY").map(|v| String::from_utf8_lossy(&v.0).into_owned()));
                        if !expected {
                            wrong.push(format!("{user} read {}'s Secret", b.name()));
                        } else if value.as_deref() != Some(format!("planted-{}", b.name()).as_str()) {
                            wrong.push(format!("{user} read its Secret with the wrong value"));
                        }
                    }
                    Err(e) => {
                        let code = moorage_tests::api_status(&e).map(|s| s.code);
                        if expected || code != Some(403) {
                            wrong.push(format!("{user} get {}'s Secret: {e} (expected {})", b.name(), if expected { "the Secret" } else { "403" }));
                        }
                    }
                }
                let listed = api.list(&Default::default()).await;
                if listed.is_ok() != expected {
                    wrong.push(format!("{user} list Secrets in {}: {}", b.name(), if listed.is_ok() { "allowed" } else { "denied" }));
                }
            }
        }
    }
    println!("secrets: {reads} impersonated reads (get and list), {} wrong", wrong.len());
    delete_all(&backend, &tenants).await;
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Whether a label selector selects an object with these labels (matchLabels and matchExpressions).
fn selects(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    let by_labels = selector.match_labels.iter().flatten().all(|(k, v)| labels.get(k) == Some(v));
    let by_expressions = selector.match_expressions.iter().flatten().all(|e| {
        let values: BTreeSet<&String> = e.values.iter().flatten().collect();
        match e.operator.as_str() {
            "In" => labels.get(&e.key).is_some_and(|v| values.contains(v)),
            "NotIn" => labels.get(&e.key).is_none_or(|v| !values.contains(v)),
            "Exists" => labels.contains_key(&e.key),
            "DoesNotExist" => !labels.contains_key(&e.key),
            other => panic!("unknown operator {other}"),
        }
    });
    by_labels && by_expressions
}

/// Which namespaces a NetworkPolicy of namespace `own` admits ingress from, among `namespaces`
/// (name to labels); `None` when it admits traffic not tied to namespaces (no `from`, an ipBlock).
fn ingress_sources(policy: &NetworkPolicy, own: &str, namespaces: &BTreeMap<String, BTreeMap<String, String>>) -> Option<BTreeSet<String>> {
    let spec = policy.spec.as_ref()?;
    let mut sources = BTreeSet::new();
    for rule in spec.ingress.iter().flatten() {
        let peers = rule.from.as_ref().filter(|f| !f.is_empty())?;
        for peer in peers {
            if peer.ip_block.is_some() {
                return None;
            }
            match &peer.namespace_selector {
                None => {
                    sources.insert(own.to_string());
                }
                Some(selector) => sources.extend(namespaces.iter().filter(|(_, l)| selects(selector, l)).map(|(n, _)| n.clone())),
            }
        }
    }
    Some(sources)
}

/// Each tenant's NetworkPolicy, evaluated against every live namespace (plus the ingress and
/// monitoring namespaces): it selects every pod of the tenant, covers ingress, and admits traffic
/// only from the tenant's namespace and the trusted ones. One tenant configures its own trusted
/// namespaces.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_policies_deny_cross_tenant_ingress() {
    let Some(config) = moorage_tests::real_cluster_config().await else { return };
    let backend = moorage::backend::cluster::ClusterBackend::from_config(config.clone()).unwrap();
    let admin = kube::Client::try_from(config.clone()).unwrap();
    let suffix = moorage_tests::random_suffix();
    let mut tenants: Vec<Tenant> = (0..3).map(|i| Tenant::builder(format!("np{i}-{suffix}")).protected(false).build().unwrap()).collect();
    tenants.push(Tenant::builder(format!("np3-{suffix}")).protected(false).trusted_namespaces("nginx-system", "observability").build().unwrap());
    for t in &tenants {
        tenant::apply(&backend, t, &options()).await.unwrap();
    }
    let mut namespaces: BTreeMap<String, BTreeMap<String, String>> = kube::Api::<Namespace>::all(admin.clone())
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|n| (n.metadata.name.clone().unwrap_or_default(), n.metadata.labels.unwrap_or_default()))
        .collect();
    // The trusted namespaces, as the API server would label them if they existed.
    for name in ["ingress-nginx", "monitoring", "nginx-system", "observability"] {
        namespaces.entry(name.to_string()).or_insert_with(|| BTreeMap::from([("kubernetes.io/metadata.name".to_string(), name.to_string())]));
    }
    assert!(tenants.iter().all(|t| namespaces.contains_key(t.namespace())));
    let mut wrong = Vec::new();
    for t in &tenants {
        let api: kube::Api<NetworkPolicy> = kube::Api::namespaced(admin.clone(), t.namespace());
        let policy = api.get(NETWORK_POLICY_NAME).await.expect("the tenant's NetworkPolicy");
        let spec = policy.spec.clone().unwrap_or_default();
        if spec
            .pod_selector
            .as_ref()
            .is_none_or(|s| s.match_labels.as_ref().is_some_and(|m| !m.is_empty()) || s.match_expressions.as_ref().is_some_and(|e| !e.is_empty()))
        {
            wrong.push(format!("{}: the policy does not select every pod", t.name()));
        }
        if !spec.policy_types.iter().flatten().any(|p| p == "Ingress") {
            wrong.push(format!("{}: the policy does not cover ingress", t.name()));
        }
        let network = &t.spec().network;
        let expected: BTreeSet<String> =
            [t.namespace(), network.ingress_namespace.as_str(), network.monitoring_namespace.as_str()].into_iter().map(str::to_string).collect();
        match ingress_sources(&policy, t.namespace(), &namespaces) {
            None => wrong.push(format!("{}: the policy admits traffic from outside any namespace", t.name())),
            Some(sources) if sources != expected => wrong.push(format!("{}: ingress from {sources:?}, expected {expected:?}", t.name())),
            Some(sources) => {
                for other in tenants.iter().filter(|o| o.name() != t.name()) {
                    assert!(!sources.contains(other.namespace()), "{} admits {}", t.name(), other.name());
                }
            }
        }
    }
    // The evaluation can fail: a policy with an empty `from` (allow all) is caught.
    let mut open = kube::Api::<NetworkPolicy>::namespaced(admin.clone(), tenants[0].namespace()).get(NETWORK_POLICY_NAME).await.unwrap();
    open.spec.as_mut().unwrap().ingress.as_mut().unwrap()[0].from = None;
    assert!(ingress_sources(&open, tenants[0].namespace(), &namespaces).is_none());
    println!("network policies: {} tenants, each evaluated against {} namespaces, {} wrong", tenants.len(), namespaces.len(), wrong.len());
    delete_all(&backend, &tenants).await;
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// A domain is held by one tenant: claiming it again, or a wildcard covering it, or a host under
/// another's wildcard, is refused before anything is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_cannot_claim_another_tenants_domain() {
    let Some(backend) = moorage_tests::real_backend().await else { return };
    let suffix = moorage_tests::random_suffix();
    let zone = format!("{suffix}.test");
    let holder = Tenant::builder(format!("dh-{suffix}")).protected(false).domain(format!("shop.{zone}")).build().unwrap();
    let wildcard_holder =
        Tenant::builder(format!("dw-{suffix}")).protected(false).allow_wildcard_domains(true).domain(format!("*.apps.{zone}")).build().unwrap();
    for t in [&holder, &wildcard_holder] {
        tenant::apply(&backend, t, &options()).await.unwrap();
    }
    let claims = [
        ("the same domain", vec![format!("shop.{zone}")], false, format!("shop.{zone}"), holder.name()),
        ("a wildcard covering it", vec![format!("*.{zone}")], true, format!("*.{zone}"), holder.name()),
        ("a host under another's wildcard", vec![format!("api.apps.{zone}")], false, format!("api.apps.{zone}"), wildcard_holder.name()),
        ("the same wildcard", vec![format!("*.apps.{zone}")], true, format!("*.apps.{zone}"), wildcard_holder.name()),
        ("a free domain next to a taken one", vec![format!("free.{zone}"), format!("shop.{zone}")], false, format!("shop.{zone}"), holder.name()),
    ];
    let ns = Kind::of::<Namespace>();
    for (i, (what, domains, wildcard, taken, by)) in claims.iter().enumerate() {
        let mut builder = Tenant::builder(format!("dc{i}-{suffix}")).protected(false).allow_wildcard_domains(*wildcard);
        for d in domains {
            builder = builder.domain(d);
        }
        let claimant = builder.build().unwrap();
        match tenant::apply(&backend, &claimant, &options()).await {
            Err(TenantError::DomainTaken { domain, holder }) => {
                assert_eq!((&domain, holder.as_str()), (taken, *by), "{what}");
            }
            other => panic!("{what}: expected DomainTaken, got {other:?}"),
        }
        assert!(backend.get(&ns, None, claimant.namespace()).await.unwrap().is_none(), "{what}: nothing of the claimant was written");
    }
    // Hosts two levels under a wildcard, or the wildcard's apex, are not covered by it.
    let neighbour =
        Tenant::builder(format!("dn-{suffix}")).protected(false).domain(format!("apps.{zone}")).domain(format!("x.api.apps.{zone}")).build().unwrap();
    tenant::apply(&backend, &neighbour, &options()).await.expect("not held by anyone");
    for t in [&holder, &wildcard_holder, &neighbour] {
        tenant::delete(&backend, t, DeleteOptions { confirm: true, purge: true }).await.unwrap();
    }
}

/// A tenant has exactly one namespace; a member cannot make a second one (a second quota), nor
/// create or change the quota, through real (impersonated) requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_cannot_escape_its_quota_through_a_second_namespace() {
    let Some(config) = moorage_tests::real_cluster_config().await else { return };
    let backend = moorage::backend::cluster::ClusterBackend::from_config(config.clone()).unwrap();
    let name = format!("qe-{}", moorage_tests::random_suffix());
    let mut builder = Tenant::builder(&name).protected(false).quota(moorage::Quota::new().limits("1", "1Gi").pods(2));
    for role in ROLES {
        builder = builder.member(format!("{}@{name}.test", role.as_str()), role);
    }
    let t = builder.build().unwrap();
    let report = tenant::apply(&backend, &t, &options()).await.unwrap();
    let namespaces: Vec<_> = report.objects.iter().filter(|o| o.object.kind == "Namespace").collect();
    assert_eq!(namespaces.len(), 1, "one namespace per tenant");
    let admin_user = member(Role::Admin, &t);
    let as_admin = moorage_tests::impersonating_client(&config, &admin_user, &[]).unwrap();
    moorage_tests::wait_for("RBAC to see the tenant's admin", WAIT, || {
        let api: kube::Api<k8s_openapi::api::core::v1::Pod> = kube::Api::namespaced(as_admin.clone(), t.namespace());
        async move { Ok(api.list(&Default::default()).await.ok().map(|_| ())) }
    })
    .await
    .unwrap();
    let mut refused = 0;
    for role in ROLES {
        let client = moorage_tests::impersonating_client(&config, &member(role, &t), &[]).unwrap();
        let second: Namespace = serde_json::from_value(json!({"metadata": {"name": format!("{name}-second")}})).unwrap();
        let e = kube::Api::<Namespace>::all(client.clone()).create(&PostParams::default(), &second).await.expect_err("no second namespace");
        assert_eq!(moorage_tests::api_status(&e).map(|s| s.code), Some(403), "{role:?}: {e}");
        let quotas: kube::Api<k8s_openapi::api::core::v1::ResourceQuota> = kube::Api::namespaced(client.clone(), t.namespace());
        let bigger: k8s_openapi::api::core::v1::ResourceQuota =
            serde_json::from_value(json!({"metadata": {"name": "more"}, "spec": {"hard": {"pods": "1000"}}})).unwrap();
        let e = quotas.create(&PostParams::default(), &bigger).await.expect_err("no second quota");
        assert_eq!(moorage_tests::api_status(&e).map(|s| s.code), Some(403), "{role:?}: {e}");
        let patch = kube::api::Patch::Merge(json!({"spec": {"hard": {"pods": "1000"}}}));
        let e = quotas.patch(moorage::compile::QUOTA_NAME, &kube::api::PatchParams::default(), &patch).await.expect_err("no quota change");
        assert_eq!(moorage_tests::api_status(&e).map(|s| s.code), Some(403), "{role:?}: {e}");
        let e = quotas.delete(moorage::compile::QUOTA_NAME, &Default::default()).await.expect_err("no quota removal");
        assert_eq!(moorage_tests::api_status(&e).map(|s| s.code), Some(403), "{role:?}: {e}");
        refused += 4;
    }
    println!("quota escapes: {refused} impersonated requests refused with 403");
    tenant::delete(&backend, &t, DeleteOptions { confirm: true, purge: true }).await.unwrap();
}
