//! List: the tenants of one cluster, read from their Namespaces, with protection, suspension and domains.

use serde_json::Value;

use super::fleet::tenant_namespaces;
use super::ops::SUSPENDED_REPLICAS;
use super::{text, TenantError, CLUSTER_ANNOTATION, DOMAINS_ANNOTATION};
use crate::backend::{Backend, Kind, Selector};
use crate::labels;

/// One tenant of a cluster, as its Namespace and Deployments show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantSummary {
    /// The tenant's name (its namespace).
    pub name: String,
    /// Its display name, when it has one.
    pub display_name: Option<String>,
    /// Whether deleting it needs a confirmation.
    pub protected: bool,
    /// Whether its Deployments are suspended (every moorage Deployment scaled to zero by `suspend`).
    pub suspended: bool,
    /// How many moorage Deployments (release versions) it runs.
    pub deployments: usize,
    /// Its domains.
    pub domains: Vec<String>,
    /// The fleet cluster it was placed on, when placed through a fleet.
    pub cluster: Option<String>,
}

fn annotation<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    object.pointer("/metadata/annotations").and_then(|a| a.get(key)).and_then(Value::as_str)
}

/// Every moorage tenant of the cluster, sorted by name. Reads only.
pub async fn list(backend: &dyn Backend) -> Result<Vec<TenantSummary>, TenantError> {
    let deployment = Kind::of::<k8s_openapi::api::apps::v1::Deployment>();
    let mut out = Vec::new();
    for ns in tenant_namespaces(backend).await? {
        let name = super::tenant_label(&ns).unwrap_or_else(|| text(&ns, "/metadata/name")).to_string();
        let selector = Selector::labels(format!("{}={},{}={name}", labels::MANAGED_BY, labels::MANAGER, labels::TENANT));
        let deployments = backend.list(&deployment, Some(text(&ns, "/metadata/name")), &selector).await?;
        let suspended = !deployments.is_empty() && deployments.iter().all(|d| annotation(d, SUSPENDED_REPLICAS).is_some());
        out.push(TenantSummary {
            display_name: annotation(&ns, labels::DISPLAY_NAME).map(str::to_string),
            protected: annotation(&ns, labels::PROTECTED) == Some("true"),
            suspended,
            deployments: deployments.len(),
            domains: annotation(&ns, DOMAINS_ANNOTATION).unwrap_or_default().split(',').map(str::trim).filter(|d| !d.is_empty()).map(str::to_string).collect(),
            cluster: annotation(&ns, CLUSTER_ANNOTATION).map(str::to_string),
            name,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::sim::SimulatedCluster;
    use crate::backend::Backend;
    use crate::tenant::{apply, suspend, ApplyTenantOptions};
    use crate::Tenant;

    #[tokio::test]
    async fn lists_tenants_with_their_state() {
        let sim = SimulatedCluster::new();
        assert!(list(&sim).await.expect("list").is_empty());
        let acme = Tenant::builder("acme").domain("shop.acme.test").build().expect("tenant");
        let beta = Tenant::builder("beta").protected(false).build().expect("tenant");
        for t in [&acme, &beta] {
            apply(&sim, t, &ApplyTenantOptions::default()).await.expect("apply");
        }
        let release = crate::Release::builder("acme", "web", "v1").image("nginx:1.27").replicas(2).port("http", 8080).build().expect("release");
        crate::rollout::rollout(&sim, &acme, &release, &crate::rollout::RolloutOptions::default()).await.expect("rollout");
        let before = list(&sim).await.expect("list");
        assert_eq!((before[0].deployments, before[0].suspended), (1, false));
        assert_eq!(suspend(&sim, &acme).await.expect("suspend"), ["web"]);
        let tenants = list(&sim).await.expect("list");
        let names: Vec<&str> = tenants.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["acme", "beta"]);
        assert_eq!(tenants[0].domains, ["shop.acme.test"]);
        assert!(tenants[0].protected && tenants[0].suspended);
        // A tenant without Deployments is not reported suspended.
        assert!(!tenants[1].protected && !tenants[1].suspended);
    }

    #[tokio::test]
    async fn live_gives_the_tenant_as_applied() {
        let sim = SimulatedCluster::new();
        let acme = Tenant::builder("acme").domain("shop.acme.test").pod_security(crate::PodSecurityLevel::Baseline).build().expect("tenant");
        assert!(matches!(crate::tenant::live(&sim, "acme").await, Err(TenantError::NotFound { .. })));
        apply(&sim, &acme, &ApplyTenantOptions::default()).await.expect("apply");
        assert_eq!(crate::tenant::live(&sim, "acme").await.expect("live"), acme);
        // A Namespace without the recorded spec (applied by hand, or by an older moorage).
        let bare = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "old", "labels": {labels::TENANT: "old"}}});
        sim.apply(&[bare], &crate::backend::ApplyOptions::default()).await.expect("namespace");
        assert!(matches!(crate::tenant::live(&sim, "old").await, Err(TenantError::SpecNotRecorded { .. })));
    }
}
