//! Waiting for a version to become ready, reporting progress and failing fast on a diagnosed cause.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::diagnose::{deployment_failure, diagnose, quota_frees_up, StuckCause};
use super::{deployment_kind, Progress, RolloutError, RolloutOptions};
use crate::backend::wait::{condition, deployment_available, pods_serving, replica_sets_observed, wait_for, Condition, Target};
use crate::backend::{Backend, BackendError};
use crate::model::release::Release;

/// How long one watch-driven wait runs before pods are checked for a hard failure (backend time).
const CHECK_EVERY: Duration = Duration::from_secs(10);

/// Waits until `release`'s Deployment is available, its ReplicaSet controller has acted on the
/// latest spec, and as many of its pods serve (ready, not being deleted: the status lags behind
/// the pods), for at most `timeout` (backend time).
/// Returns the real instant readiness was seen. Fails fast with [`RolloutError::Stuck`] when a
/// cause is diagnosed (quota, image pull, crash loop, unschedulable, progress deadline).
pub(crate) async fn wait_version_ready(backend: &dyn Backend, release: &Release, options: &RolloutOptions, timeout: Duration) -> Result<Instant, RolloutError> {
    let spec = release.spec();
    let ns = spec.tenant.as_str();
    let name = release.deployment_name();
    let target = Target::object(deployment_kind(), Some(ns), &name);
    let available = deployment_available();
    let available_only = deployment_available();
    let last_ready = Arc::new(AtomicU32::new(u32::MAX));
    let progress = options.progress.clone();
    let version = spec.version.clone();
    let seen = last_ready.clone();
    let ready_or_failing = condition("to be available (or to fail)", move |objects: &[Value]| {
        let Some(d) = objects.first() else { return false };
        let ready = d.pointer("/status/readyReplicas").and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok()).unwrap_or(0);
        if seen.swap(ready, Ordering::SeqCst) != ready {
            // What the Deployment asks for (an autoscaled version starts at the live count, not `replicas`).
            let desired = d.pointer("/spec/replicas").and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok()).unwrap_or(0);
            if let Some(f) = &progress {
                f(&Progress::ReplicasReady { version: version.clone(), ready, desired });
            }
        }
        available.holds(objects) || deployment_failure(d).is_some()
    });
    let deadline = backend.now().saturating_add(timeout);
    let selector = release.pod_label_selector();
    let serving = Serving::of(release);
    loop {
        let now = backend.now();
        let remaining = deadline.saturating_sub(now);
        let timed_out = remaining.is_zero();
        if !timed_out {
            match wait_for(backend, &target, &ready_or_failing, remaining.min(CHECK_EVERY)).await {
                Ok(objects) => match objects.first().and_then(deployment_failure) {
                    None => {
                        if pods_serve(backend, &serving, objects.first(), remaining.min(CHECK_EVERY)).await? {
                            return Ok(Instant::now());
                        }
                    }
                    Some((cause, _)) if quota_frees_up(backend, ns, &cause).await? => {
                        // Transient: the ReplicaSet controller retries once the quota has room.
                        // Wait for availability alone (not "or failing"), then look again.
                        match wait_for(backend, &target, &available_only, remaining.min(CHECK_EVERY)).await {
                            Ok(found) if pods_serve(backend, &serving, found.first(), remaining.min(CHECK_EVERY)).await? => return Ok(Instant::now()),
                            Ok(_) | Err(BackendError::Timeout { .. }) => continue,
                            Err(e) => return Err(e.into()),
                        }
                    }
                    Some(_) => {}
                },
                Err(BackendError::Timeout { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let d = diagnose(backend, ns, &name, &selector, timed_out).await?;
        if timed_out || d.cause != StuckCause::Timeout {
            return Err(RolloutError::Stuck { version: spec.version.clone(), cause: d.cause, object: d.object, message: d.message, events: d.events });
        }
    }
}

/// The objects behind a version's serving pods: its ReplicaSets, then its pods.
struct Serving {
    replica_sets: Target,
    pods: Target,
}

impl Serving {
    fn of(release: &Release) -> Self {
        let (ns, selector) = (Some(release.spec().tenant.as_str()), release.pod_label_selector());
        Serving {
            replica_sets: Target::labelled(crate::backend::Kind::of::<k8s_openapi::api::apps::v1::ReplicaSet>(), ns, &selector),
            pods: Target::labelled(crate::backend::Kind::of::<k8s_openapi::api::core::v1::Pod>(), ns, &selector),
        }
    }
}

/// Whether `release`'s pods serve right now, `replicas` of them: [`pods_serve`] without waiting
/// (one list of the ReplicaSets, then one of the pods, in that order).
pub(crate) async fn serves_now(backend: &dyn Backend, release: &Release, replicas: usize) -> Result<bool, BackendError> {
    let Serving { replica_sets: sets, pods } = Serving::of(release);
    if !replica_sets_observed().holds(&backend.list(&sets.kind, sets.namespace.as_deref(), &sets.selector).await?) {
        return Ok(false);
    }
    Ok(pods_serving(replicas).holds(&backend.list(&pods.kind, pods.namespace.as_deref(), &pods.selector).await?))
}

/// Whether the pods of an available `deployment` serve (as many ready and not being deleted as it
/// asks for) within `timeout`: its status alone can be stale (see [`pods_serving`]). The
/// ReplicaSet controller must have acted on the latest spec first, or pods that serve now may be
/// deleted a moment later by a scale-down it has yet to make (see [`replica_sets_observed`]).
async fn pods_serve(backend: &dyn Backend, serving: &Serving, deployment: Option<&Value>, timeout: Duration) -> Result<bool, RolloutError> {
    let want = deployment.and_then(|d| d.pointer("/spec/replicas")).and_then(Value::as_u64).unwrap_or(0);
    let deadline = backend.now().saturating_add(timeout);
    let observed = wait_for(backend, &serving.replica_sets, &replica_sets_observed(), timeout).await;
    let serve = match observed {
        Ok(_) => wait_for(backend, &serving.pods, &pods_serving(usize::try_from(want).unwrap_or(usize::MAX)), deadline.saturating_sub(backend.now())).await,
        Err(e) => Err(e),
    };
    match serve {
        Ok(_) => Ok(true),
        Err(BackendError::Timeout { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Waits until the stable Service's EndpointSlices route only to `release`'s pods, and to at least
/// one ready pod of it: the switch has settled in the data plane. The old version must not be scaled
/// down before: the EndpointSlice controller applies a selector change a moment after the API
/// server accepted it (seconds on a loaded control plane), and until then the old pods still serve.
pub(crate) async fn wait_traffic_settled(backend: &dyn Backend, release: &Release, timeout: Duration) -> Result<(), RolloutError> {
    let spec = release.spec();
    if spec.ports.is_empty() || spec.replicas == 0 {
        return Ok(());
    }
    let service = crate::compile::ServiceRole::Stable.service_name(&spec.app);
    let prefix = format!("{}-", release.deployment_name());
    let slices = Target::labelled(
        crate::backend::Kind::of::<k8s_openapi::api::discovery::v1::EndpointSlice>(),
        Some(spec.tenant.as_str()),
        &format!("kubernetes.io/service-name={service}"),
    );
    let settled = condition(format!("to route only to {}", release.deployment_name()), move |slices: &[Value]| {
        let ready: Vec<&str> = slices
            .iter()
            .flat_map(|s| s.get("endpoints").and_then(Value::as_array).map(|e| e.iter().collect::<Vec<_>>()).unwrap_or_default())
            .filter(|e| e.pointer("/conditions/ready").and_then(Value::as_bool).unwrap_or(false))
            .map(|e| e.pointer("/targetRef/name").and_then(Value::as_str).unwrap_or_default())
            .collect();
        !ready.is_empty() && ready.iter().all(|name| name.starts_with(&prefix))
    });
    wait_for(backend, &slices, &settled, timeout).await?;
    Ok(())
}
