//! Checks that the test control plane (testcluster/) behaves like a real cluster: controllers,
//! scheduler, admission (ResourceQuota, LimitRange, RBAC) and nodes where pods become Ready.
//!
//! Each test skips (prints a line and passes) when MOORAGE_TEST_KUBECONFIG is unset, unless
//! CI or MOORAGE_REQUIRE_CLUSTER=1 is set, in which case it fails.

use std::collections::BTreeSet;

use anyhow::{anyhow, ensure, Context as _};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::authorization::v1::{SelfSubjectAccessReview, SubjectAccessReview};
use k8s_openapi::api::core::v1::{Event, LimitRange, Pod, ResourceQuota, Service, ServiceAccount};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use moorage_tests::{api_status, client_with_token, impersonating_client, real_cluster, real_cluster_config, wait_for, TestNamespace, WAIT};
use serde_json::json;

fn from_json<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).expect("test fixture must deserialize")
}

fn deployment(name: &str, app: &str, replicas: i32, cpu: &str) -> Deployment {
    from_json(json!({
        "metadata": { "name": name, "labels": { "app": app } },
        "spec": {
            "replicas": replicas,
            "selector": { "matchLabels": { "app": app } },
            "template": {
                "metadata": { "labels": { "app": app } },
                "spec": {
                    "containers": [{
                        "name": "app",
                        "image": "registry.invalid/moorage/test:1",
                        "ports": [{ "containerPort": 8080, "name": "http" }],
                        "resources": {
                            "requests": { "cpu": cpu, "memory": "64Mi" },
                            "limits": { "cpu": cpu, "memory": "64Mi" }
                        }
                    }]
                }
            }
        }
    }))
}

fn condition_true(conds: Option<&Vec<serde_json::Value>>, ty: &str) -> bool {
    conds.is_some_and(|c| c.iter().any(|c| c["type"] == ty && c["status"] == "True"))
}

/// Waits until the deployment reports Available with `replicas` available replicas.
async fn wait_available(deploys: &Api<Deployment>, name: &str, replicas: i32) -> anyhow::Result<()> {
    wait_for(&format!("deployment {name} Available with {replicas} replicas"), WAIT, || async {
        let d = serde_json::to_value(deploys.get(name).await?)?;
        let available = d["status"]["availableReplicas"].as_i64().unwrap_or(0);
        let conds = d["status"]["conditions"].as_array();
        Ok((available == i64::from(replicas) && condition_true(conds, "Available")).then_some(()))
    })
    .await
}

/// IPs of the ready endpoints in the EndpointSlices of `service`.
async fn ready_endpoint_ips(slices: &Api<EndpointSlice>, service: &str) -> anyhow::Result<BTreeSet<String>> {
    let lp = ListParams::default().labels(&format!("kubernetes.io/service-name={service}"));
    let mut ips = BTreeSet::new();
    for slice in slices.list(&lp).await? {
        for ep in slice.endpoints.into_iter().flatten() {
            if ep.conditions.as_ref().and_then(|c| c.ready) == Some(true) {
                ips.extend(ep.addresses);
            }
        }
    }
    Ok(ips)
}

async fn pod_ips(pods: &Api<Pod>, app: &str) -> anyhow::Result<BTreeSet<String>> {
    let lp = ListParams::default().labels(&format!("app={app}"));
    Ok(pods.list(&lp).await?.into_iter().filter_map(|p| p.status.and_then(|s| s.pod_ip)).collect())
}

#[tokio::test]
async fn deployment_becomes_available_and_endpoints_follow_the_service_selector() -> anyhow::Result<()> {
    let Some(client) = real_cluster().await else {
        return Ok(());
    };
    let ns = TestNamespace::create(&client, "cp-deploy").await?;
    let result = deployment_scenario(&client, &ns.name).await;
    ns.delete().await?;
    result
}

async fn deployment_scenario(client: &Client, ns: &str) -> anyhow::Result<()> {
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let services: Api<Service> = Api::namespaced(client.clone(), ns);
    let slices: Api<EndpointSlice> = Api::namespaced(client.clone(), ns);
    let pp = PostParams::default();

    deploys.create(&pp, &deployment("web", "web", 3, "100m")).await?;
    deploys.create(&pp, &deployment("web-next", "web-next", 2, "100m")).await?;
    wait_available(&deploys, "web", 3).await?;
    wait_available(&deploys, "web-next", 2).await?;

    // Pods were scheduled on the kwok nodes and got distinct pod IPs.
    let web_ips = pod_ips(&pods, "web").await?;
    let next_ips = pod_ips(&pods, "web-next").await?;
    ensure!(web_ips.len() == 3, "expected 3 distinct pod IPs for web, got {web_ips:?}");
    ensure!(next_ips.len() == 2, "expected 2 distinct pod IPs for web-next, got {next_ips:?}");
    for p in pods.list(&ListParams::default()).await? {
        let node = p.spec.as_ref().and_then(|s| s.node_name.clone());
        ensure!(node.is_some_and(|n| n.starts_with("kwok-node-")), "pod not scheduled on a kwok node");
    }

    let svc: Service = from_json(json!({
        "metadata": { "name": "web" },
        "spec": {
            "selector": { "app": "web" },
            "ports": [{ "name": "http", "port": 80, "targetPort": "http" }]
        }
    }));
    let svc = services.create(&pp, &svc).await?;
    let cluster_ip = svc.spec.and_then(|s| s.cluster_ip).unwrap_or_default();
    ensure!(cluster_ip.starts_with("10.96."), "service got clusterIP {cluster_ip:?}, expected 10.96.0.0/16");

    let got = wait_for("EndpointSlice of web with the 3 web pods ready", WAIT, || async {
        let ips = ready_endpoint_ips(&slices, "web").await?;
        Ok((ips == web_ips).then_some(ips))
    })
    .await?;
    assert_eq!(got.len(), 3);

    // Point the service at the other deployment: the endpoints move.
    services.patch("web", &PatchParams::default(), &Patch::Merge(json!({ "spec": { "selector": { "app": "web-next" } } }))).await?;
    wait_for("EndpointSlice of web to list the web-next pods only", WAIT, || async {
        let ips = ready_endpoint_ips(&slices, "web").await?;
        Ok((ips == next_ips).then_some(()))
    })
    .await?;

    // Scaling down removes pods and endpoints through the real controllers.
    deploys.patch("web-next", &PatchParams::default(), &Patch::Merge(json!({ "spec": { "replicas": 1 } }))).await?;
    wait_for("web-next scaled down to 1 ready endpoint", WAIT, || async { Ok((ready_endpoint_ips(&slices, "web").await?.len() == 1).then_some(())) }).await?;

    // Deleting a Deployment lets the garbage collector remove its ReplicaSet and pods.
    let replicasets: Api<ReplicaSet> = Api::namespaced(client.clone(), ns);
    deploys.delete("web", &DeleteParams::background()).await?;
    wait_for("garbage collection of the web ReplicaSet and pods", WAIT, || async {
        let lp = ListParams::default().labels("app=web");
        let rs_left = replicasets.list(&lp).await?.items.len();
        let pods_left = pods.list(&lp).await?.items.len();
        Ok((rs_left == 0 && pods_left == 0).then_some(()))
    })
    .await?;
    Ok(())
}

#[tokio::test]
async fn resource_quota_and_limit_range_are_enforced() -> anyhow::Result<()> {
    let Some(client) = real_cluster().await else {
        return Ok(());
    };
    let ns = TestNamespace::create(&client, "cp-quota").await?;
    let result = quota_scenario(&client, &ns.name).await;
    ns.delete().await?;
    result
}

async fn quota_scenario(client: &Client, ns: &str) -> anyhow::Result<()> {
    let quotas: Api<ResourceQuota> = Api::namespaced(client.clone(), ns);
    let limits: Api<LimitRange> = Api::namespaced(client.clone(), ns);
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let replicasets: Api<ReplicaSet> = Api::namespaced(client.clone(), ns);
    let events: Api<Event> = Api::namespaced(client.clone(), ns);
    let pp = PostParams::default();

    limits
        .create(
            &pp,
            &from_json(json!({
                "metadata": { "name": "defaults" },
                "spec": { "limits": [{
                    "type": "Container",
                    "defaultRequest": { "cpu": "500m", "memory": "128Mi" },
                    "default": { "cpu": "500m", "memory": "128Mi" }
                }] }
            })),
        )
        .await?;
    quotas
        .create(
            &pp,
            &from_json(json!({
                "metadata": { "name": "compute" },
                "spec": { "hard": {
                    "pods": "3", "requests.cpu": "1", "requests.memory": "1Gi",
                    "limits.cpu": "1", "limits.memory": "1Gi"
                } }
            })),
        )
        .await?;

    // The quota controller fills status.used.
    wait_for("ResourceQuota compute status.used", WAIT, || async {
        let q = quotas.get("compute").await?;
        let used = q.status.and_then(|s| s.used).unwrap_or_default();
        Ok((used.get("pods").map(|q| q.0.as_str()) == Some("0") && used.get("requests.cpu").map(|q| q.0.as_str()) == Some("0")).then_some(()))
    })
    .await?;

    // A pod without resources gets the LimitRange defaults and is counted.
    let p1: Pod = from_json(json!({
        "metadata": { "name": "p1" },
        "spec": { "containers": [{ "name": "c", "image": "registry.invalid/moorage/test:1" }] }
    }));
    let p1 = pods.create(&pp, &p1).await?;
    let res = p1.spec.as_ref().and_then(|s| s.containers[0].resources.clone()).unwrap_or_default();
    let req_cpu = res.requests.as_ref().and_then(|r| r.get("cpu")).map(|q| q.0.clone());
    ensure!(req_cpu.as_deref() == Some("500m"), "LimitRange default request not applied: {res:?}");
    wait_for("ResourceQuota compute counts p1", WAIT, || async {
        let q = quotas.get("compute").await?;
        let used = q.status.as_ref().and_then(|s| s.used.clone()).unwrap_or_default();
        if used.get("pods").map(|q| q.0.as_str()) == Some("1") && used.get("requests.cpu").map(|q| q.0.as_str()) == Some("500m") {
            return Ok(Some(()));
        }
        Err(anyhow!("status.used = {used:?} (resourceVersion {:?})", q.metadata.resource_version))
    })
    .await?;

    // A pod over quota is refused by admission, with the usual message.
    let p2: Pod = from_json(json!({
        "metadata": { "name": "p2" },
        "spec": { "containers": [{
            "name": "c", "image": "registry.invalid/moorage/test:1",
            "resources": { "requests": { "cpu": "800m", "memory": "64Mi" },
                           "limits": { "cpu": "800m", "memory": "64Mi" } }
        }] }
    }));
    let err = pods.create(&pp, &p2).await.expect_err("a pod over quota must be refused");
    let status = api_status(&err).ok_or_else(|| anyhow!("expected an API error, got {err}"))?;
    assert_eq!(status.code, 403, "over-quota pod: {status:?}");
    assert!(
        status.message.contains("exceeded quota: compute")
            && status.message.contains("requested: limits.cpu=800m,requests.cpu=800m")
            && status.message.contains("used: limits.cpu=500m,requests.cpu=500m")
            && status.message.contains("limited: limits.cpu=1,requests.cpu=1"),
        "unexpected over-quota message: {}",
        status.message
    );

    // A Deployment over quota: its ReplicaSet reports ReplicaFailure/FailedCreate and an event.
    deploys.create(&pp, &deployment("big", "big", 2, "600m")).await?;
    let rs_name = wait_for("ReplicaSet of big with ReplicaFailure FailedCreate", WAIT, || async {
        for rs in replicasets.list(&ListParams::default().labels("app=big")).await? {
            let failed = rs.status.as_ref().and_then(|s| s.conditions.as_ref()).is_some_and(|c| {
                c.iter().any(|c| {
                    c.type_ == "ReplicaFailure"
                        && c.status == "True"
                        && c.reason.as_deref() == Some("FailedCreate")
                        && c.message.as_deref().is_some_and(|m| m.contains("exceeded quota: compute"))
                })
            });
            if failed {
                return Ok(rs.metadata.name);
            }
        }
        Ok(None)
    })
    .await?;
    wait_for("FailedCreate event on the ReplicaSet", WAIT, || async {
        let found = events.list(&ListParams::default()).await?.into_iter().any(|e| {
            e.reason.as_deref() == Some("FailedCreate")
                && e.involved_object.kind.as_deref() == Some("ReplicaSet")
                && e.involved_object.name.as_deref() == Some(rs_name.as_str())
                && e.message.as_deref().is_some_and(|m| m.contains("exceeded quota"))
        });
        Ok(found.then_some(()))
    })
    .await?;
    // The deployment surfaces it too.
    wait_for("Deployment big with ReplicaFailure", WAIT, || async {
        let d = serde_json::to_value(deploys.get("big").await?)?;
        Ok(condition_true(d["status"]["conditions"].as_array(), "ReplicaFailure").then_some(()))
    })
    .await?;
    Ok(())
}

#[tokio::test]
async fn rbac_role_in_one_namespace_does_not_reach_another() -> anyhow::Result<()> {
    let Some(config) = real_cluster_config().await else {
        return Ok(());
    };
    let client = Client::try_from(config.clone())?;
    let ns_a = TestNamespace::create(&client, "cp-rbac-a").await?;
    let ns_b = TestNamespace::create(&client, "cp-rbac-b").await?;
    let result = rbac_scenario(&client, &config, &ns_a.name, &ns_b.name).await;
    ns_a.delete().await?;
    ns_b.delete().await?;
    result
}

fn forbidden(result: Result<impl std::fmt::Debug, kube::Error>, what: &str) -> anyhow::Result<String> {
    let err = match result {
        Ok(v) => anyhow::bail!("{what}: expected 403, got success {v:?}"),
        Err(e) => e,
    };
    let status = api_status(&err).ok_or_else(|| anyhow!("{what}: expected an API error, got {err}"))?;
    ensure!(status.code == 403 && status.reason == "Forbidden", "{what}: expected 403 Forbidden, got {status:?}");
    Ok(status.message.clone())
}

async fn rbac_scenario(client: &Client, admin: &kube::Config, a: &str, b: &str) -> anyhow::Result<()> {
    let pp = PostParams::default();
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), a);
    sas.create(&pp, &from_json(json!({ "metadata": { "name": "alice" } }))).await?;
    Api::<Role>::namespaced(client.clone(), a)
        .create(
            &pp,
            &from_json(json!({
                "metadata": { "name": "pod-reader" },
                "rules": [{ "apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"] }]
            })),
        )
        .await?;
    Api::<RoleBinding>::namespaced(client.clone(), a)
        .create(
            &pp,
            &from_json(json!({
                "metadata": { "name": "alice-reads-pods" },
                "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-reader" },
                "subjects": [{ "kind": "ServiceAccount", "name": "alice", "namespace": a }]
            })),
        )
        .await?;

    // A real ServiceAccount token (TokenRequest, signed by the API server's key).
    let tr: TokenRequest = from_json(json!({ "spec": { "audiences": [], "expirationSeconds": 600 } }));
    let token = sas.create_token_request("alice", &pp, &tr).await?.status.and_then(|s| s.token).context("TokenRequest returned no token")?;
    let alice = client_with_token(admin, &token)?;
    let user = format!("system:serviceaccount:{a}:alice");
    let sa_group = format!("system:serviceaccounts:{a}");
    let impersonated = impersonating_client(admin, &user, &["system:serviceaccounts", sa_group.as_str(), "system:authenticated"])?;

    for (who, c) in [("token", &alice), ("impersonation", &impersonated)] {
        // Allowed in A (RBAC caches may need a moment to see the new binding).
        wait_for(&format!("{who}: list pods in {a} allowed"), WAIT, || async {
            Ok(Api::<Pod>::namespaced(c.clone(), a).list(&ListParams::default()).await.ok().map(|_| ()))
        })
        .await?;
        // Forbidden in B, and for verbs the Role does not grant in A.
        let msg = forbidden(Api::<Pod>::namespaced(c.clone(), b).list(&ListParams::default()).await, who)?;
        ensure!(
            msg.contains(&format!("User \"{user}\" cannot list resource \"pods\"")) && msg.contains(&format!("in the namespace \"{b}\"")),
            "{who}: unexpected forbidden message: {msg}"
        );
        let pod: Pod = from_json(json!({
            "metadata": { "name": "nope" },
            "spec": { "containers": [{ "name": "c", "image": "registry.invalid/moorage/test:1" }] }
        }));
        forbidden(Api::<Pod>::namespaced(c.clone(), a).create(&pp, &pod).await, who)?;
    }

    // SubjectAccessReview (asked by the admin) answers the same.
    let sar = |ns: &str, verb: &str| -> SubjectAccessReview {
        from_json(json!({ "spec": {
            "user": user,
            "groups": ["system:serviceaccounts", sa_group, "system:authenticated"],
            "resourceAttributes": { "namespace": ns, "verb": verb, "resource": "pods" }
        } }))
    };
    let sars: Api<SubjectAccessReview> = Api::all(client.clone());
    for (ns, verb, expected) in [(a, "list", true), (b, "list", false), (a, "create", false)] {
        let answer = sars.create(&pp, &sar(ns, verb)).await?;
        let allowed = answer.status.map(|s| s.allowed).unwrap_or(false);
        ensure!(allowed == expected, "SubjectAccessReview {verb} pods in {ns}: allowed={allowed}, expected {expected}");
    }
    // And the ServiceAccount asking about itself, with its token.
    let ssar: SelfSubjectAccessReview = from_json(json!({ "spec": {
        "resourceAttributes": { "namespace": b, "verb": "list", "resource": "pods" }
    } }));
    let answer = Api::<SelfSubjectAccessReview>::all(alice).create(&pp, &ssar).await?;
    ensure!(!answer.status.map(|s| s.allowed).unwrap_or(true), "SelfSubjectAccessReview in {b} must deny");
    Ok(())
}
