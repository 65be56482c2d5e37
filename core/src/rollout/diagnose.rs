//! Diagnosis: why a version does not become ready, read from Deployment conditions, pods and events.

use serde_json::Value;

use crate::backend::{parse_quota_message, Backend, BackendError, Kind, ObjectRef, Selector};

/// Why a rollout does not progress.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase", tag = "cause")]
pub enum StuckCause {
    /// The ReplicaSet cannot create pods: the namespace's quota is exhausted.
    QuotaExceeded {
        /// The resource, e.g. `limits.memory`.
        resource: String,
        /// What one pod asked for.
        requested: String,
        /// What was used.
        used: String,
        /// The hard limit.
        limit: String,
    },
    /// The image cannot be pulled (wrong name, tag or credentials).
    ImagePull,
    /// The container keeps crashing.
    CrashLoop,
    /// No node can take the pods (not enough CPU or memory, or constraints).
    Unschedulable,
    /// Pods run but never pass their readiness probe.
    NeverReady,
    /// The Deployment's progress deadline passed.
    ProgressDeadline,
    /// The caller's timeout passed with no other cause found.
    Timeout,
}

impl StuckCause {
    /// A short name, e.g. `image pull failure`.
    pub fn describe(&self) -> &'static str {
        match self {
            StuckCause::QuotaExceeded { .. } => "quota exceeded",
            StuckCause::ImagePull => "image pull failure",
            StuckCause::CrashLoop => "crash loop",
            StuckCause::Unschedulable => "unschedulable",
            StuckCause::NeverReady => "readiness never reached",
            StuckCause::ProgressDeadline => "progress deadline exceeded",
            StuckCause::Timeout => "timeout",
        }
    }
}

/// A diagnosis: the cause, the object showing it, and its last events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    /// The cause.
    pub cause: StuckCause,
    /// The object that shows it (a Deployment or a Pod).
    pub object: ObjectRef,
    /// The message Kubernetes gave.
    pub message: String,
    /// The last events of the version's objects, oldest first (`Reason: message`).
    pub events: Vec<String>,
}

fn condition<'a>(object: &'a Value, type_: &str) -> Option<&'a Value> {
    object.pointer("/status/conditions").and_then(Value::as_array)?.iter().find(|c| c.get("type").and_then(Value::as_str) == Some(type_))
}

fn text(v: Option<&Value>, key: &str) -> String {
    v.and_then(|c| c.get(key)).and_then(Value::as_str).unwrap_or_default().to_string()
}

/// A hard failure visible on the Deployment itself (quota, progress deadline), if any.
pub(crate) fn deployment_failure(deployment: &Value) -> Option<(StuckCause, String)> {
    if let Some(c) = condition(deployment, "ReplicaFailure").filter(|c| c.get("status").and_then(Value::as_str) == Some("True")) {
        let message = text(Some(c), "message");
        if let Some(q) = parse_quota_message(&message) {
            return Some((StuckCause::QuotaExceeded { resource: q.resource, requested: q.requested, used: q.used, limit: q.limit }, message));
        }
    }
    let progressing = condition(deployment, "Progressing");
    if text(progressing, "reason") == "ProgressDeadlineExceeded" {
        return Some((StuckCause::ProgressDeadline, text(progressing, "message")));
    }
    None
}

/// Whether a quota refusal will resolve by itself: pods of the namespace that are going away still
/// hold their quota until they are gone (a scaled-down version's pods, briefly), or the quota's
/// live usage already leaves room for the request (the refusal predates pods that are gone). The
/// ReplicaSet controller retries its creations, so the rollout keeps waiting instead of failing.
pub(crate) async fn quota_frees_up(backend: &dyn Backend, ns: &str, cause: &StuckCause) -> Result<bool, BackendError> {
    let StuckCause::QuotaExceeded { resource, requested, .. } = cause else { return Ok(false) };
    let pkind = Kind::of::<k8s_openapi::api::core::v1::Pod>();
    let pods = backend.list(&pkind, Some(ns), &Selector::all()).await?;
    if pods.iter().any(crate::backend::being_deleted) {
        return Ok(true);
    }
    let qkind = Kind::of::<k8s_openapi::api::core::v1::ResourceQuota>();
    let quotas = backend.list(&qkind, Some(ns), &Selector::all()).await?;
    Ok(quota_has_room(&quotas, resource, requested))
}

/// Whether every quota that limits `resource` has room for `requested` more by its live status.
fn quota_has_room(quotas: &[Value], resource: &str, requested: &str) -> bool {
    let Ok(requested) = crate::quantity::Quantity::parse(requested) else { return false };
    let quantity = |q: &Value, field: &str| {
        q.pointer(&format!("/status/{field}")).and_then(|m| m.get(resource)).and_then(Value::as_str).and_then(|s| crate::quantity::Quantity::parse(s).ok())
    };
    let limiting: Vec<&Value> = quotas.iter().filter(|q| quantity(q, "hard").is_some()).collect();
    !limiting.is_empty()
        && limiting.iter().all(|q| match (quantity(q, "hard"), quantity(q, "used")) {
            (Some(hard), Some(used)) => used.checked_add(&requested).is_some_and(|total| total.millis() <= hard.millis()),
            _ => false,
        })
}

/// A hard failure visible on a pod (image pull, crash loop, unschedulable), if any.
pub(crate) fn pod_failure(pod: &Value) -> Option<(StuckCause, String)> {
    let statuses = pod.pointer("/status/containerStatuses").and_then(Value::as_array).cloned().unwrap_or_default();
    for s in &statuses {
        let waiting = s.pointer("/state/waiting");
        let reason = text(waiting, "reason");
        let message = text(waiting, "message");
        match reason.as_str() {
            "ErrImagePull" | "ImagePullBackOff" | "InvalidImageName" => return Some((StuckCause::ImagePull, format!("{reason}: {message}"))),
            "CrashLoopBackOff" => return Some((StuckCause::CrashLoop, format!("{reason}: {message}"))),
            _ => {}
        }
    }
    let scheduled = condition(pod, "PodScheduled");
    if text(scheduled, "status") == "False" && text(scheduled, "reason") == "Unschedulable" {
        return Some((StuckCause::Unschedulable, text(scheduled, "message")));
    }
    None
}

/// Diagnoses a version that is not ready: reads the Deployment, its pods and their events.
pub(crate) async fn diagnose(backend: &dyn Backend, ns: &str, deployment: &str, pod_selector: &str, timed_out: bool) -> Result<Diagnosis, BackendError> {
    let dkind = Kind::of::<k8s_openapi::api::apps::v1::Deployment>();
    let pkind = Kind::of::<k8s_openapi::api::core::v1::Pod>();
    let dref = ObjectRef::new(&dkind, Some(ns), deployment);
    let d = backend.get(&dkind, Some(ns), deployment).await?;
    let pods = backend.list(&pkind, Some(ns), &Selector::labels(pod_selector)).await?;
    let rkind = Kind::of::<k8s_openapi::api::apps::v1::ReplicaSet>();
    let replica_sets = backend.list(&rkind, Some(ns), &Selector::labels(pod_selector)).await?;
    let mut names: Vec<String> = vec![deployment.to_string()];
    names.extend(replica_sets.iter().chain(pods.iter()).map(|o| ObjectRef::of(o).name));
    let events = recent_events(backend, ns, &names).await?;
    if let Some((cause, message)) = d.as_ref().and_then(deployment_failure) {
        return Ok(Diagnosis { cause, object: dref, message, events });
    }
    for p in &pods {
        if let Some((cause, message)) = pod_failure(p) {
            return Ok(Diagnosis { cause, object: ObjectRef::of(p), message, events });
        }
    }
    let running_unready =
        pods.iter().find(|p| p.pointer("/status/phase").and_then(Value::as_str) == Some("Running") && text(condition(p, "Ready"), "status") != "True");
    if let (true, Some(p)) = (timed_out, running_unready) {
        return Ok(Diagnosis { cause: StuckCause::NeverReady, object: ObjectRef::of(p), message: text(condition(p, "Ready"), "message"), events });
    }
    Ok(Diagnosis { cause: StuckCause::Timeout, object: dref, message: "the version did not become available in time".into(), events })
}

/// The last events (at most 8) about the named objects, oldest first.
async fn recent_events(backend: &dyn Backend, ns: &str, names: &[String]) -> Result<Vec<String>, BackendError> {
    let kind = Kind::of::<k8s_openapi::api::core::v1::Event>();
    let mut events: Vec<(String, String)> = backend
        .list(&kind, Some(ns), &Selector::all())
        .await?
        .into_iter()
        .filter(|e| names.iter().any(|n| e.pointer("/involvedObject/name").and_then(Value::as_str) == Some(n.as_str())))
        .map(|e| {
            let when = text(Some(&e), "lastTimestamp");
            let when = if when.is_empty() { text(Some(&e), "eventTime") } else { when };
            (when, format!("{}: {}", text(Some(&e), "reason"), text(Some(&e), "message")))
        })
        .collect();
    events.sort();
    let skip = events.len().saturating_sub(8);
    Ok(events.into_iter().skip(skip).map(|(_, e)| e).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn quota(hard: &str, used: &str) -> Value {
        json!({"status": {"hard": {"limits.memory": hard, "pods": "10"}, "used": {"limits.memory": used, "pods": "3"}}})
    }

    #[test]
    fn a_quota_with_room_by_its_live_status_makes_a_refusal_transient() {
        assert!(quota_has_room(&[quota("1Gi", "768Mi")], "limits.memory", "128Mi"));
        assert!(quota_has_room(&[quota("1Gi", "896Mi")], "limits.memory", "128Mi"), "exactly full after the request");
        assert!(!quota_has_room(&[quota("1Gi", "1Gi")], "limits.memory", "128Mi"));
        assert!(!quota_has_room(&[quota("1Gi", "768Mi"), quota("800Mi", "768Mi")], "limits.memory", "128Mi"), "every limiting quota must have room");
    }

    #[test]
    fn no_limiting_quota_or_no_status_is_not_room() {
        assert!(!quota_has_room(&[], "limits.memory", "128Mi"));
        assert!(!quota_has_room(&[json!({"status": {"hard": {"limits.memory": "1Gi"}}})], "limits.memory", "128Mi"), "usage not computed yet");
        assert!(!quota_has_room(&[quota("1Gi", "0")], "limits.memory", "not-a-quantity"));
    }
}
