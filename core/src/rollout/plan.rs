//! Plan of a release: what rolling it out would leave in the cluster, field by field, changing nothing.

use serde_json::Value;

use super::RolloutError;
use crate::backend::{Backend, Kind, ObjectRef};
use crate::compile::compile_release;
use crate::model::release::Release;
use crate::model::tenant::Tenant;
use crate::tenant::{Plan, PlannedAction, PlannedObject};

/// What a rollout of `release` would create or change once finished (the new version's objects,
/// and the stable Service and Ingress moved to it), from a server-side dry run compared with the
/// live objects. Older versions are not listed: the rollout keeps or prunes them per its strategy.
pub async fn plan(backend: &dyn Backend, tenant: &Tenant, release: &Release) -> Result<Plan, RolloutError> {
    let compiled = compile_release(tenant, release)?;
    let objects: Vec<Value> = compiled.objects.iter().map(|o| serde_json::to_value(o).unwrap_or_default()).collect();
    let namespace = Kind::of::<k8s_openapi::api::core::v1::Namespace>();
    if backend.get(&namespace, None, tenant.namespace()).await?.is_none() {
        // The tenant is not applied yet: everything would be created (with the tenant first).
        let objects = objects.iter().map(|o| PlannedObject { object: ObjectRef::of(o), action: PlannedAction::Create, changes: Vec::new() }).collect();
        return Ok(Plan { objects });
    }
    Ok(Plan { objects: crate::tenant::plan_objects(backend, &objects).await? })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::sim::SimulatedCluster;
    use crate::rollout::{rollout, RolloutOptions};
    use crate::tenant::{apply, ApplyTenantOptions};

    fn release(version: &str, replicas: u32) -> Release {
        Release::builder("acme", "web", version)
            .image("nginx:1.27")
            .replicas(replicas)
            .port("http", 8080)
            .strategy(crate::Strategy::blue_green())
            .build()
            .expect("release")
    }

    #[tokio::test]
    async fn plans_the_new_version_and_the_switch() {
        let sim = SimulatedCluster::new();
        let tenant = Tenant::builder("acme").build().expect("tenant");
        let before = plan(&sim, &tenant, &release("v1", 2)).await.expect("plan");
        assert!(before.objects.iter().all(|o| o.action == PlannedAction::Create));
        apply(&sim, &tenant, &ApplyTenantOptions::default()).await.expect("apply");
        rollout(&sim, &tenant, &release("v1", 2), &RolloutOptions::default()).await.expect("rollout");
        assert!(plan(&sim, &tenant, &release("v1", 2)).await.expect("plan").is_empty());
        let next = plan(&sim, &tenant, &release("v2", 2)).await.expect("plan");
        let created: Vec<&str> = next.with_action(PlannedAction::Create).map(|o| o.object.name.as_str()).collect();
        assert!(created.contains(&"web-v2"), "{created:?}");
        let service = next.objects.iter().find(|o| o.object.kind == "Service" && o.object.name == "web").expect("stable service");
        assert_eq!(service.action, PlannedAction::Update);
        let selector = service.changes.iter().find(|c| c.path == "spec.selector.app.kubernetes.io/version").expect("selector change");
        assert_eq!((selector.before.clone(), selector.after.clone()), (Some("v1".into()), Some("v2".into())));
        // Planning changed nothing.
        assert_eq!(crate::rollout::active_version(&sim, "acme", "web").await.expect("active").as_deref(), Some("v1"));
    }
}
