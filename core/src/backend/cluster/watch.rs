//! Watches on a cluster: kube-runtime's watcher mapped to [`WatchEvent`]s.
//!
//! The watcher lists, then watches from the list's resourceVersion; when a watch connection
//! ends or drops it resumes from the last resourceVersion seen, and when that is too old
//! (410 Gone) it lists again. After each (re-)list this stream emits `Applied` for every object
//! listed and `Deleted` for every object it had seen that is no longer there, so a consumer's view
//! is right whatever was missed while disconnected. Transient failures are retried with the
//! backend's [`RetryPolicy`](super::RetryPolicy) (the count starts again after each success);
//! when they persist, or on a permanent failure (forbidden, kind not served), the stream yields
//! the error and ends.

use std::collections::{HashMap, HashSet, VecDeque};
use std::pin::Pin;

use futures_util::{Stream, StreamExt};
use kube::api::{Api, DynamicObject};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::watcher;
use serde_json::Value;

use super::errors::Failure;
use super::retry::{Decision, Jitter, RetryPolicy};
use super::{complete, ClusterBackend};
use crate::backend::{BackendError, Kind, ObjectRef, Selector, WatchEvent, WatchStream};

type Events = Pin<Box<dyn Stream<Item = Result<watcher::Event<DynamicObject>, watcher::Error>> + Send>>;

/// The state of one watch between two events.
struct State {
    events: Events,
    kind: Kind,
    reference: ObjectRef,
    /// Every object seen and not deleted, by `namespace/name`, as last seen.
    known: HashMap<String, Value>,
    /// During a (re-)list: the objects listed so far.
    listing: Option<HashSet<String>>,
    /// Events ready to be handed out.
    pending: VecDeque<Result<WatchEvent, BackendError>>,
    /// Failures since the last success.
    failures: u32,
    policy: RetryPolicy,
    jitter: Jitter,
    done: bool,
}

/// Starts a watch of `kind` objects in `namespace` (or everywhere) matching `selector`.
///
/// The initial list happens before this returns (kube-runtime's watcher is lazy otherwise), so
/// every change made after `watch` returns is seen as its own event, as on the simulated cluster.
pub(super) async fn watch(backend: &ClusterBackend, kind: &Kind, namespace: Option<&str>, selector: &Selector) -> Result<WatchStream, BackendError> {
    let (group, version) = kind.api_version.rsplit_once('/').unwrap_or(("", &kind.api_version));
    let resource = ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, &kind.kind), &kind.plural);
    let api: Api<DynamicObject> = match namespace {
        Some(ns) if kind.namespaced => Api::namespaced_with(backend.client.clone(), ns, &resource),
        _ => Api::all_with(backend.client.clone(), &resource),
    };
    let config = watcher::Config { label_selector: selector.labels.clone(), field_selector: selector.fields.clone(), ..watcher::Config::default() };
    let state = State {
        events: Box::pin(watcher(api, config)),
        kind: kind.clone(),
        reference: ObjectRef::new(kind, namespace, ""),
        known: HashMap::new(),
        listing: None,
        pending: VecDeque::new(),
        failures: 0,
        policy: backend.options.retry,
        jitter: Jitter::new(),
        done: false,
    };
    let mut state = list_now(state).await;
    if state.done && matches!(state.pending.back(), Some(Err(_))) {
        // The initial list failed for good (a bad selector, a missing kind, no permission): the
        // watch is refused, as on the simulated cluster, rather than a stream that only fails.
        if let Some(Err(error)) = state.pending.pop_back() {
            return Err(error);
        }
    }
    Ok(Box::pin(futures_util::stream::unfold(state, next)))
}

/// Runs the watcher through its initial list, keeping the events for the consumer.
async fn list_now(mut state: State) -> State {
    loop {
        match state.events.next().await {
            None => {
                state.done = true;
                return state;
            }
            Some(Ok(event)) => {
                state.failures = 0;
                let init_done = matches!(event, watcher::Event::InitDone);
                state.handle(event);
                if init_done {
                    return state;
                }
            }
            Some(Err(error)) => {
                state.fail(error).await;
                if state.done {
                    return state;
                }
            }
        }
    }
}

fn key(object: &Value) -> String {
    let text = |p: &str| object.pointer(p).and_then(Value::as_str).unwrap_or_default().to_string();
    format!("{}/{}", text("/metadata/namespace"), text("/metadata/name"))
}

/// The next event of the watch (`None` once it has ended).
async fn next(mut state: State) -> Option<(Result<WatchEvent, BackendError>, State)> {
    loop {
        if let Some(event) = state.pending.pop_front() {
            return Some((event, state));
        }
        if state.done {
            return None;
        }
        match state.events.next().await {
            None => {
                state.done = true;
            }
            Some(Ok(event)) => {
                state.failures = 0;
                state.handle(event);
            }
            Some(Err(error)) => state.fail(error).await,
        }
    }
}

impl State {
    fn to_value(&self, object: DynamicObject) -> Option<Value> {
        serde_json::to_value(object).ok().map(|v| complete(&self.kind, v))
    }

    fn handle(&mut self, event: watcher::Event<DynamicObject>) {
        match event {
            watcher::Event::Init => self.listing = Some(HashSet::new()),
            watcher::Event::InitApply(object) | watcher::Event::Apply(object) => {
                if let Some(value) = self.to_value(object) {
                    let key = key(&value);
                    if let Some(listing) = self.listing.as_mut() {
                        listing.insert(key.clone());
                    }
                    self.known.insert(key, value.clone());
                    self.pending.push_back(Ok(WatchEvent::Applied(value)));
                }
            }
            watcher::Event::Delete(object) => {
                if let Some(value) = self.to_value(object) {
                    self.known.remove(&key(&value));
                    self.pending.push_back(Ok(WatchEvent::Deleted(value)));
                }
            }
            watcher::Event::InitDone => {
                if let Some(listed) = self.listing.take() {
                    let gone: Vec<String> = self.known.keys().filter(|k| !listed.contains(*k)).cloned().collect();
                    for key in gone {
                        if let Some(value) = self.known.remove(&key) {
                            self.pending.push_back(Ok(WatchEvent::Deleted(value)));
                        }
                    }
                }
            }
        }
    }

    async fn fail(&mut self, error: watcher::Error) {
        let failure = match &error {
            watcher::Error::InitialListFailed(e) | watcher::Error::WatchStartFailed(e) | watcher::Error::WatchFailed(e) => Failure::from_kube(e),
            watcher::Error::WatchError(status) => {
                if status.code == 410 {
                    // Our resourceVersion is too old: the watcher lists again at the next poll.
                    tracing::debug!(watch = %self.reference, "watch expired (410 Gone); listing again");
                    return;
                }
                Failure::Api { status: status.clone(), retry_after: None }
            }
            watcher::Error::NoResourceVersion => Failure::Local(error.to_string()),
        };
        self.failures += 1;
        match self.policy.decide(self.failures, failure.outcome(), failure.retry_after(), self.jitter.next()) {
            Decision::Retry(delay) => {
                tracing::debug!(watch = %self.reference, attempt = self.failures, ?delay, "watch: {}; resuming", failure.describe());
                tokio::time::sleep(delay).await;
            }
            Decision::Exhausted | Decision::Fail => {
                tracing::warn!(watch = %self.reference, "watch ended: {}", failure.describe());
                self.pending.push_back(Err(failure.into_error(Some(self.reference.clone()), Some(&self.kind), self.failures)));
                self.done = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(name: &str) -> DynamicObject {
        serde_json::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "acme"}})).expect("object")
    }

    fn state() -> State {
        State {
            events: Box::pin(futures_util::stream::empty()),
            kind: Kind::custom("v1", "ConfigMap", "configmaps", true),
            reference: ObjectRef { kind: "ConfigMap".into(), namespace: Some("acme".into()), name: String::new() },
            known: HashMap::new(),
            listing: None,
            pending: VecDeque::new(),
            failures: 0,
            policy: RetryPolicy::default(),
            jitter: Jitter::new(),
            done: false,
        }
    }

    fn names(state: &mut State) -> Vec<String> {
        state
            .pending
            .drain(..)
            .map(|e| match e {
                Ok(WatchEvent::Applied(v)) => format!("+{}", v["metadata"]["name"].as_str().unwrap_or_default()),
                Ok(WatchEvent::Deleted(v)) => format!("-{}", v["metadata"]["name"].as_str().unwrap_or_default()),
                Err(e) => format!("!{e}"),
            })
            .collect()
    }

    #[test]
    fn a_relist_reports_objects_that_disappeared() {
        let mut s = state();
        for e in [
            watcher::Event::Init,
            watcher::Event::InitApply(object("a")),
            watcher::Event::InitApply(object("b")),
            watcher::Event::InitDone,
            watcher::Event::Apply(object("c")),
        ] {
            s.handle(e);
        }
        assert_eq!(names(&mut s), ["+a", "+b", "+c"]);
        // disconnected; b was deleted meanwhile and the resourceVersion expired: re-list
        for e in [watcher::Event::Init, watcher::Event::InitApply(object("a")), watcher::Event::InitApply(object("c")), watcher::Event::InitDone] {
            s.handle(e);
        }
        assert_eq!(names(&mut s), ["+a", "+c", "-b"]);
        s.handle(watcher::Event::Delete(object("a")));
        assert_eq!(names(&mut s), ["-a"]);
        assert_eq!(s.known.len(), 1);
    }

    #[tokio::test]
    async fn permanent_failures_end_the_stream() {
        let mut s = state();
        let status = kube::core::Status::failure("configmaps is forbidden", "Forbidden").with_code(403);
        s.fail(watcher::Error::InitialListFailed(kube::Error::Api(status.boxed()))).await;
        assert!(s.done);
        assert!(matches!(s.pending.pop_front(), Some(Err(BackendError::Forbidden { .. }))));
        // 410 Gone is not a failure: the watcher lists again
        let mut s = state();
        let gone = kube::core::Status::failure("too old resource version", "Expired").with_code(410);
        s.fail(watcher::Error::WatchError(gone.boxed())).await;
        assert!(!s.done && s.pending.is_empty() && s.failures == 0);
    }
}
