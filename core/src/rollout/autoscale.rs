//! Autoscaled releases: the replica count a version's Deployment is applied with while a HorizontalPodAutoscaler owns it.
//!
//! With `autoscaling` set, `replicas` is only the first release's starting count. Afterwards the
//! count is the autoscaler's: a new version starts at the live count of the version it replaces
//! (so a blue/green or canary never shrinks a fleet the autoscaler grew). Once the autoscaler (or
//! anyone) has scaled a version, its field manager owns `spec.replicas` and moorage's applies leave
//! the field out, so server-side apply neither resets it nor conflicts, and it is not drift; while
//! moorage still owns the field, it applies the live value (leaving it out would remove it).

use serde_json::Value;

use super::{deployment_kind, RolloutError, RolloutOptions};
use crate::backend::ownership::owned_paths;
use crate::backend::{Backend, BackendError, ConflictPolicy, FIELD_MANAGER};
use crate::compile::{compile_release, Compiled, Object};
use crate::model::release::Release;
use crate::model::strategy::Strategy;
use crate::model::tenant::Tenant;

/// The live `spec.replicas` of Deployment `name`, when it exists and asks for at least one pod.
async fn live_count(backend: &dyn Backend, ns: &str, name: &str) -> Result<Option<u32>, BackendError> {
    let d = backend.get(&deployment_kind(), Some(ns), name).await?;
    Ok(d.and_then(|d| d.pointer("/spec/replicas").and_then(Value::as_u64)).and_then(|n| u32::try_from(n).ok()).filter(|n| *n > 0))
}

/// How many pods `release`'s Deployment is applied with: `spec.replicas` without autoscaling;
/// with it, the live count of the release's own Deployment once it runs, else the live count of
/// the version it replaces (`from`), else `spec.replicas`, clamped to `[minReplicas, maxReplicas]`.
pub(crate) async fn replicas_to_apply(backend: &dyn Backend, release: &Release, from: Option<&str>) -> Result<u32, BackendError> {
    let spec = release.spec();
    let Some(autoscaling) = &spec.autoscaling else { return Ok(spec.replicas) };
    let ns = spec.tenant.as_str();
    let mut count = live_count(backend, ns, &release.deployment_name()).await?;
    if count.is_none() {
        // A rolling update has one Deployment (`<app>`): its own count is the one it replaces.
        if let (Some(from), false) = (from.filter(|f| *f != spec.version), matches!(spec.strategy, Strategy::Rolling(_))) {
            count = live_count(backend, ns, &format!("{}-{from}", spec.app)).await?;
        }
    }
    Ok(autoscaling.clamp(count.unwrap_or(spec.replicas)))
}

/// Sets the replicas of the Deployments among `objects` to `replicas` (`None`: leaves the field out).
pub(crate) fn set_replicas(objects: &mut [Object], replicas: Option<u32>) {
    for o in objects {
        if let Object::Deployment(d) = o {
            if let Some(spec) = d.spec.as_mut() {
                spec.replicas = replicas.map(|n| i32::try_from(n).unwrap_or(i32::MAX));
            }
        }
    }
}

/// Whether another field manager than moorage's apply owns `spec.replicas` of a live Deployment
/// that runs pods: the autoscaler (or a scale by hand) took the count over.
fn scaled_by_another_manager(deployment: &Value) -> bool {
    let running = deployment.pointer("/spec/replicas").and_then(Value::as_u64).unwrap_or(0) > 0;
    let moorage_owns = deployment.pointer("/metadata/managedFields").and_then(Value::as_array).into_iter().flatten().any(|entry| {
        let manager = entry.get("manager").and_then(Value::as_str).unwrap_or_default();
        let operation = entry.get("operation").and_then(Value::as_str).unwrap_or_default();
        let mut owned = Vec::new();
        if let Some(f) = entry.get("fieldsV1") {
            owned_paths(f, Vec::new(), &mut owned);
        }
        manager == FIELD_MANAGER && operation == "Apply" && owned.iter().any(|p| p == &["spec".to_string(), "replicas".to_string()])
    });
    running && !moorage_owns
}

/// Applies `objects` of `release`; an autoscaled release's Deployment counts are taken back from
/// the autoscaler's field manager (forced): moorage scales a version the autoscaler no longer
/// targets (the old one after the switch, the stable one through a canary).
pub(crate) async fn apply_scaled(backend: &dyn Backend, objects: &[&Object], release: &Release, options: &RolloutOptions) -> Result<usize, BackendError> {
    let mut apply = options.apply_options();
    if release.spec().autoscaling.is_some() {
        apply.conflicts = ConflictPolicy::Force;
    }
    let json: Vec<Value> = objects.iter().map(|o| serde_json::to_value(o).unwrap_or_default()).collect();
    let applied = backend.apply(&json, &apply).await?;
    Ok(applied.iter().filter(|a| a.change != crate::backend::Change::Unchanged).count())
}

/// Compiles `release` (refusing an invalid one before any API call) with its Deployment's count
/// as [`to_live`] sets it; returns the count too.
pub(crate) async fn compile_live(backend: &dyn Backend, tenant: &Tenant, release: &Release, from: Option<&str>) -> Result<(Compiled, u32), RolloutError> {
    let mut compiled = compile_release(tenant, release)?;
    let replicas = to_live(backend, release, &mut compiled, from).await?;
    Ok((compiled, replicas))
}

/// Sets the count of `release`'s compiled Deployment for an autoscaled release: left out when the
/// autoscaler owns it, else [`replicas_to_apply`]. Returns the count the version runs at.
pub(crate) async fn to_live(backend: &dyn Backend, release: &Release, compiled: &mut Compiled, from: Option<&str>) -> Result<u32, BackendError> {
    let replicas = replicas_to_apply(backend, release, from).await?;
    if release.spec().autoscaling.is_some() {
        let ns = release.tenant();
        let live = backend.get(&deployment_kind(), Some(ns), &release.deployment_name()).await?;
        let leave_out = live.as_ref().is_some_and(scaled_by_another_manager);
        set_replicas(&mut compiled.objects, (!leave_out).then_some(replicas));
    }
    Ok(replicas)
}
