//! Waiting: small composable conditions on objects, and one wait driven by a watch, with the caller's timeout.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;

use super::{Backend, BackendError, Kind, ObjectRef, Selector, WatchEvent};

/// What a wait watches: objects of one kind in one namespace, matching a selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The kind.
    pub kind: Kind,
    /// The namespace (`None`: cluster-scoped or all namespaces).
    pub namespace: Option<String>,
    /// Which objects.
    pub selector: Selector,
}

impl Target {
    /// One object by name.
    pub fn object(kind: Kind, namespace: Option<&str>, name: &str) -> Self {
        Target { kind, namespace: namespace.map(str::to_string), selector: Selector::name(name) }
    }
    /// Objects matching a label selector.
    pub fn labelled(kind: Kind, namespace: Option<&str>, labels: &str) -> Self {
        Target { kind, namespace: namespace.map(str::to_string), selector: Selector::labels(labels) }
    }
    fn describe(&self) -> String {
        let what = self
            .selector
            .fields
            .as_deref()
            .and_then(|f| f.strip_prefix("metadata.name="))
            .map(str::to_string)
            .or_else(|| self.selector.labels.as_ref().map(|l| format!("[{l}]")))
            .unwrap_or_else(|| "*".into());
        match &self.namespace {
            Some(ns) => format!("{} {ns}/{what}", self.kind),
            None => format!("{} {what}", self.kind),
        }
    }
}

/// A condition on the objects a [`Target`] designates (zero, one or several).
pub trait Condition: Send + Sync {
    /// What the condition waits for, for messages (`available`, `3 ready endpoints`).
    fn describe(&self) -> String;
    /// Whether the condition holds for the current objects.
    fn holds(&self, objects: &[Value]) -> bool;
}

/// A condition made from a description and a function.
pub struct FnCondition<F> {
    description: String,
    check: F,
}

impl<F: Fn(&[Value]) -> bool + Send + Sync> Condition for FnCondition<F> {
    fn describe(&self) -> String {
        self.description.clone()
    }
    fn holds(&self, objects: &[Value]) -> bool {
        (self.check)(objects)
    }
}

/// A condition from a description and a check.
pub fn condition(description: impl Into<String>, check: impl Fn(&[Value]) -> bool + Send + Sync) -> impl Condition {
    FnCondition { description: description.into(), check }
}

fn int(v: &Value, pointer: &str) -> i64 {
    v.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

fn has_condition(v: &Value, type_: &str, status: &str) -> bool {
    v.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| cs.iter().any(|c| c.get("type").and_then(Value::as_str) == Some(type_) && c.get("status").and_then(Value::as_str) == Some(status)))
}

/// The object exists.
pub fn exists() -> impl Condition {
    condition("to exist", |objects| !objects.is_empty())
}

/// No object is left.
pub fn deleted() -> impl Condition {
    condition("to be deleted", |objects| objects.is_empty())
}

/// A Deployment has rolled out: the controller saw the latest generation, every replica is updated
/// and available, and no old replica is left.
pub fn deployment_available() -> impl Condition {
    condition("to be available", |objects| {
        objects.first().is_some_and(|d| {
            let want = d.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
            int(d, "/status/observedGeneration") >= int(d, "/metadata/generation")
                && int(d, "/status/updatedReplicas") == want
                && int(d, "/status/availableReplicas") == want
                && int(d, "/status/replicas") == want
        })
    })
}

/// At least `n` of the selected pods can serve: `Ready` and not being deleted (as the EndpointSlice
/// controller counts them). A Deployment's status lags behind its pods: scaled down and at once up
/// again, it can still report the old pods available while they terminate.
pub fn pods_serving(n: usize) -> impl Condition {
    condition(format!("to have {n} ready pod(s) not being deleted"), move |pods| {
        pods.iter().filter(|p| has_condition(p, "Ready", "True") && !super::being_deleted(p)).count() >= n
    })
}

/// Every selected ReplicaSet's controller has acted on its latest spec (`status.observedGeneration`
/// at `metadata.generation`; none selected holds too). A Deployment scaled down and at once up
/// again can leave its ReplicaSet controller with the scale-down still to make: the pods look ready
/// and are deleted a moment later. The controller deletes before it writes its status, so once
/// this holds, a list of the pods taken afterwards shows any deletion of an earlier spec. Check
/// [`pods_serving`] after it, not beside it.
pub fn replica_sets_observed() -> impl Condition {
    condition("to have its latest spec observed by the ReplicaSet controller", |sets| {
        sets.iter().all(|rs| int(rs, "/status/observedGeneration") >= int(rs, "/metadata/generation"))
    })
}

/// The EndpointSlices of a Service (target them with label `kubernetes.io/service-name=<svc>`) list at least `n` ready endpoints.
pub fn endpoints_ready(n: usize) -> impl Condition {
    condition(format!("to have {n} ready endpoint(s)"), move |slices| ready_endpoints(slices) >= n)
}

/// The number of ready endpoints in a set of EndpointSlices.
pub fn ready_endpoints(slices: &[Value]) -> usize {
    slices
        .iter()
        .flat_map(|s| s.get("endpoints").and_then(Value::as_array).cloned().unwrap_or_default())
        .filter(|e| e.pointer("/conditions/ready").and_then(Value::as_bool).unwrap_or(false))
        .count()
}

/// A Job has finished: `Complete` or `Failed` (check which with [`job_succeeded`]).
pub fn job_finished() -> impl Condition {
    condition("to finish", |objects| objects.first().is_some_and(|j| has_condition(j, "Complete", "True") || has_condition(j, "Failed", "True")))
}

/// Whether a finished Job succeeded.
pub fn job_succeeded(job: &Value) -> bool {
    has_condition(job, "Complete", "True")
}

/// A ResourceQuota's status lists usage for every hard limit.
pub fn quota_status_known() -> impl Condition {
    condition("to report its usage", |objects| {
        objects.first().is_some_and(|q| match (q.pointer("/spec/hard").and_then(Value::as_object), q.pointer("/status/used").and_then(Value::as_object)) {
            (Some(hard), Some(used)) => hard.keys().all(|k| used.contains_key(k)),
            _ => false,
        })
    })
}

/// A Namespace is Active.
pub fn namespace_active() -> impl Condition {
    condition("to be active", |objects| objects.first().is_some_and(|n| n.pointer("/status/phase").and_then(Value::as_str) == Some("Active")))
}

/// Both conditions hold.
pub fn all_of(a: impl Condition, b: impl Condition) -> impl Condition {
    let description = format!("{} and {}", a.describe(), b.describe());
    condition(description, move |o| a.holds(o) && b.holds(o))
}

/// Either condition holds.
pub fn any_of(a: impl Condition, b: impl Condition) -> impl Condition {
    let description = format!("{} or {}", a.describe(), b.describe());
    condition(description, move |o| a.holds(o) || b.holds(o))
}

/// How often a wait re-checks its deadline while the watch is quiet (in the backend's time).
const TICK: Duration = Duration::from_millis(500);

/// Waits until `condition` holds for `target`, driven by a watch, for at most `timeout` of the
/// backend's time. Returns the objects for which it held.
pub async fn wait_for(backend: &dyn Backend, target: &Target, condition: &dyn Condition, timeout: Duration) -> Result<Vec<Value>, BackendError> {
    let deadline = backend.now().saturating_add(timeout);
    let mut current: BTreeMap<(String, String), Value> = BTreeMap::new();
    let key = |v: &Value| {
        let r = ObjectRef::of(v);
        (r.namespace.unwrap_or_default(), r.name)
    };
    let mut stream = backend.watch(&target.kind, target.namespace.as_deref(), &target.selector).await?;
    // The initial state: a quiet watch must not hide a condition that already holds.
    for object in backend.list(&target.kind, target.namespace.as_deref(), &target.selector).await? {
        current.insert(key(&object), object);
    }
    loop {
        let objects: Vec<Value> = current.values().cloned().collect();
        if condition.holds(&objects) {
            return Ok(objects);
        }
        let now = backend.now();
        if now >= deadline {
            let single = target.selector.fields.as_deref().and_then(|f| f.strip_prefix("metadata.name="));
            return Err(BackendError::Timeout {
                waiting_for: format!("{} {}", target.describe(), condition.describe()),
                object: single.map(|name| ObjectRef::new(&target.kind, target.namespace.as_deref(), name)),
                seconds: timeout.as_secs(),
            });
        }
        let tick = TICK.min(deadline - now);
        // Biased: events already delivered are handled before time moves on, which keeps waits on
        // the simulated cluster's virtual clock deterministic.
        tokio::select! {
            biased;
            event = stream.next() => match event {
                Some(Ok(WatchEvent::Applied(o))) => { current.insert(key(&o), o); }
                Some(Ok(WatchEvent::Deleted(o))) => { current.remove(&key(&o)); }
                Some(Err(e)) => return Err(e),
                None => {
                    stream = backend.watch(&target.kind, target.namespace.as_deref(), &target.selector).await?;
                    current.clear();
                }
            },
            _ = backend.sleep(tick) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::{pods_serving, replica_sets_observed, Condition};

    fn pod(ready: &str, deleting: bool) -> Value {
        let mut pod = json!({"metadata": {"name": "web"}, "status": {"conditions": [{"type": "Ready", "status": ready}]}});
        if deleting {
            pod["metadata"]["deletionTimestamp"] = json!("2026-11-27T22:10:32Z");
        }
        pod
    }

    #[test]
    fn pods_being_deleted_or_not_ready_do_not_serve() {
        let serving = pod("True", false);
        // What a rollback right after a scale-down saw: the old pods still ready, but terminating.
        let terminating = [pod("True", true), pod("True", true), pod("True", true)];
        assert!(!pods_serving(3).holds(&terminating));
        assert!(!pods_serving(1).holds(&[pod("False", false), pod("True", true)]));
        assert!(pods_serving(2).holds(&[serving.clone(), pod("True", true), serving.clone(), pod("False", false)]));
        assert!(!pods_serving(3).holds(&[serving.clone(), serving]));
        assert!(pods_serving(0).holds(&[]), "nothing asked, nothing to wait for");
    }

    fn replica_set(generation: i64, observed: Option<i64>) -> Value {
        let mut rs = json!({"metadata": {"generation": generation}, "spec": {"replicas": 3}, "status": {"replicas": 3, "readyReplicas": 3}});
        if let Some(observed) = observed {
            rs["status"]["observedGeneration"] = json!(observed);
        }
        rs
    }

    #[test]
    fn a_replica_set_with_a_spec_its_controller_has_not_acted_on_is_not_observed() {
        // What a rollback right after a scale-down saw: scaled to 0 (generation 2), then back to 3
        // (generation 3); the controller had acted on neither, and its status still said 3 ready.
        assert!(!replica_sets_observed().holds(&[replica_set(3, Some(1))]));
        assert!(!replica_sets_observed().holds(&[replica_set(1, None)]), "a new ReplicaSet has no status yet");
        assert!(!replica_sets_observed().holds(&[replica_set(3, Some(3)), replica_set(2, Some(1))]), "every one of them");
        assert!(replica_sets_observed().holds(&[replica_set(3, Some(3)), replica_set(5, Some(6))]));
        assert!(replica_sets_observed().holds(&[]), "no ReplicaSet has nothing left to do");
    }
}
