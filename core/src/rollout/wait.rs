//! Waiting for a version to become ready, reporting progress and failing fast on a diagnosed cause.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::diagnose::{deployment_failure, diagnose, StuckCause};
use super::{deployment_kind, Progress, RolloutError, RolloutOptions};
use crate::backend::wait::{condition, deployment_available, wait_for, Condition, Target};
use crate::backend::{Backend, BackendError};
use crate::model::release::Release;

/// How long one watch-driven wait runs before pods are checked for a hard failure (backend time).
const CHECK_EVERY: Duration = Duration::from_secs(10);

/// Waits until `release`'s Deployment is available, for at most `timeout` (backend time).
/// Returns the real instant readiness was seen. Fails fast with [`RolloutError::Stuck`] when a
/// cause is diagnosed (quota, image pull, crash loop, unschedulable, progress deadline).
pub(crate) async fn wait_version_ready(backend: &dyn Backend, release: &Release, options: &RolloutOptions, timeout: Duration) -> Result<Instant, RolloutError> {
    let spec = release.spec();
    let ns = spec.tenant.as_str();
    let name = release.deployment_name();
    let target = Target::object(deployment_kind(), Some(ns), &name);
    let available = deployment_available();
    let last_ready = Arc::new(AtomicU32::new(u32::MAX));
    let progress = options.progress.clone();
    let version = spec.version.clone();
    let desired = spec.replicas;
    let seen = last_ready.clone();
    let ready_or_failing = condition("to be available (or to fail)", move |objects: &[Value]| {
        let Some(d) = objects.first() else { return false };
        let ready = d.pointer("/status/readyReplicas").and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok()).unwrap_or(0);
        if seen.swap(ready, Ordering::SeqCst) != ready {
            if let Some(f) = &progress {
                f(&Progress::ReplicasReady { version: version.clone(), ready, desired });
            }
        }
        available.holds(objects) || deployment_failure(d).is_some()
    });
    let deadline = backend.now() + timeout;
    let selector = release.pod_selector().iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",");
    loop {
        let now = backend.now();
        let remaining = deadline.saturating_sub(now);
        let timed_out = remaining.is_zero();
        if !timed_out {
            match wait_for(backend, &target, &ready_or_failing, remaining.min(CHECK_EVERY)).await {
                Ok(objects) => {
                    let failing = objects.first().and_then(deployment_failure);
                    if failing.is_none() {
                        return Ok(Instant::now());
                    }
                }
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
