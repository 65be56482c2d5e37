//! Conformance cases of reads and deletions: watches that follow a selection, finalizers that hold a
//! deletion, foreground and orphan deletions, what every namespace gets, and the selectors and
//! versions a list refuses.

use std::time::Duration;

use futures_util::StreamExt;
use moorage::backend::wait::{self, Target};
use moorage::backend::{ApplyOptions, Backend, BackendError, Change, Propagation, Selector, WatchEvent, WatchStream};
use serde_json::{json, Value};

use super::{configmap, configmap_kind, kind, namespace, pod_kind, setup, teardown, GC_WAIT, WAIT};

/// The next `n` events of a watch, each as `applied|deleted <name> <data.key>`.
async fn next_events(stream: &mut WatchStream, n: usize) -> Vec<String> {
    let mut seen = Vec::new();
    while seen.len() < n {
        let event = tokio::time::timeout(Duration::from_secs(30), stream.next()).await.expect("an event in time").expect("stream open").expect("no error");
        let (what, o) = match event {
            WatchEvent::Applied(o) => ("applied", o),
            WatchEvent::Deleted(o) => ("deleted", o),
        };
        let marked = if o["metadata"]["deletionTimestamp"].is_string() { " (marked)" } else { "" };
        seen.push(format!("{what} {} {}{marked}", o["metadata"]["name"].as_str().unwrap_or("?"), o["data"]["key"].as_str().unwrap_or("")));
    }
    seen
}

/// A ConfigMap labelled `watched=<watched>`, with finalizers.
fn labelled(ns: &str, name: &str, watched: &str, value: &str, finalizers: &[&str]) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": name, "namespace": ns, "labels": {"watched": watched}, "finalizers": finalizers}, "data": {"key": value}})
}

/// An object that stops matching a watch's label selector is `Deleted` for that watch (in the
/// state it had when it last matched), and `Applied` again when it matches again.
pub async fn watches_follow_the_selection(b: &dyn Backend, ns: &str) {
    setup(b, ns).await;
    let mut stream = b.watch(&configmap_kind(), Some(ns), &Selector::labels("watched=yes")).await.unwrap();
    for (watched, value) in [("yes", "1"), ("no", "2"), ("no", "3"), ("yes", "4")] {
        b.apply(&[labelled(ns, "w", watched, value, &[])], &ApplyOptions::default()).await.unwrap();
    }
    b.delete(&configmap_kind(), Some(ns), "w", Propagation::Background).await.unwrap();
    assert_eq!(next_events(&mut stream, 4).await, ["applied w 1", "deleted w 1", "applied w 4", "deleted w 4"]);
    teardown(b, ns).await;
}

/// A deletion of an object with finalizers marks it (`deletionTimestamp`) and leaves it until an
/// apply removes them; meanwhile it may change but gain no finalizer.
pub async fn finalizers_hold_a_deletion(b: &dyn Backend, ns: &str) {
    setup(b, ns).await;
    let held = |value: &str, finalizers: &[&str]| labelled(ns, "held", "yes", value, finalizers);
    b.apply(&[held("1", &["example.com/hold"])], &ApplyOptions::default()).await.unwrap();
    let mut stream = b.watch(&configmap_kind(), Some(ns), &Selector::labels("watched=yes")).await.unwrap();
    assert!(b.delete(&configmap_kind(), Some(ns), "held", Propagation::Background).await.unwrap());
    let marked = b.get(&configmap_kind(), Some(ns), "held").await.unwrap().expect("kept until its finalizer is removed");
    assert!(marked["metadata"]["deletionTimestamp"].is_string(), "{marked}");
    assert_eq!(marked["metadata"]["deletionGracePeriodSeconds"], 0);
    assert!(b.delete(&configmap_kind(), Some(ns), "held", Propagation::Background).await.unwrap(), "still there to delete");
    let changed = b.apply(&[held("2", &["example.com/hold"])], &ApplyOptions::default()).await.unwrap();
    assert_eq!(changed[0].change, Change::Updated);
    let err = b.apply(&[held("2", &["example.com/hold", "example.com/more"])], &ApplyOptions::default()).await.unwrap_err();
    let BackendError::Invalid { causes, .. } = &err else { panic!("expected Invalid, got {err}") };
    assert!(causes.iter().all(|c| c.field == "metadata.finalizers" && c.message.contains("no new finalizers")), "{causes:?}");
    let released = b.apply(&[held("2", &[])], &ApplyOptions::default()).await.unwrap();
    assert_eq!(released[0].change, Change::Updated, "the apply removed the finalizer");
    assert_eq!(b.get(&configmap_kind(), Some(ns), "held").await.unwrap(), None, "gone with its last finalizer");
    let events = next_events(&mut stream, 4).await;
    assert_eq!(events, ["applied held 1", "applied held 1 (marked)", "applied held 2 (marked)", "deleted held 2 (marked)"]);
    teardown(b, ns).await;
}

/// A ConfigMap named `name` owned by `owner` (uid `uid`), whose deletion that reference blocks.
fn owned_by(ns: &str, name: &str, owner: &str, uid: &str, finalizers: &[&str]) -> Value {
    let mut dependent = labelled(ns, name, "no", "1", finalizers);
    dependent["metadata"]["ownerReferences"] = json!([{"apiVersion": "v1", "kind": "ConfigMap", "name": owner, "uid": uid, "blockOwnerDeletion": true}]);
    dependent
}

/// A `Foreground` deletion marks the owner with the `foregroundDeletion` finalizer until the
/// dependents that block it are gone (one held by a finalizer holds it); a second deletion in the
/// foreground changes nothing, one in the background deletes it at once. An `Orphan` deletion removes the owner's references from its dependents, and
/// the owner goes.
pub async fn foreground_and_orphan_deletions_use_finalizers(b: &dyn Backend, ns: &str) {
    setup(b, ns).await;
    let uid_of = |applied: Vec<moorage::backend::Applied>| applied[0].result["metadata"]["uid"].as_str().expect("a uid").to_string();
    let owner = uid_of(b.apply(&[labelled(ns, "owner", "yes", "1", &[])], &ApplyOptions::default()).await.unwrap());
    b.apply(&[owned_by(ns, "held", "owner", &owner, &["example.com/hold"])], &ApplyOptions::default()).await.unwrap();
    let mut stream = b.watch(&configmap_kind(), Some(ns), &Selector::labels("watched=yes")).await.unwrap();
    assert!(b.delete(&configmap_kind(), Some(ns), "owner", Propagation::Foreground).await.unwrap());
    let is_marked = wait::condition("marked for deletion", |o: &[Value]| o.first().is_some_and(|o| o["metadata"]["deletionTimestamp"].is_string()));
    wait::wait_for(b, &Target::object(configmap_kind(), Some(ns), "held"), &is_marked, GC_WAIT).await.unwrap();
    let waiting = b.get(&configmap_kind(), Some(ns), "owner").await.unwrap().expect("waits for its held dependent");
    assert_eq!(waiting["metadata"]["finalizers"], json!(["foregroundDeletion"]), "{waiting}");
    assert!(b.delete(&configmap_kind(), Some(ns), "owner", Propagation::Foreground).await.unwrap(), "still there");
    let again = b.get(&configmap_kind(), Some(ns), "owner").await.unwrap().expect("still waiting");
    assert_eq!(again, waiting, "a second deletion in the foreground changes nothing");
    b.apply(&[owned_by(ns, "held", "owner", &owner, &[])], &ApplyOptions::default()).await.unwrap();
    wait::wait_for(b, &Target::object(configmap_kind(), Some(ns), "owner"), &wait::deleted(), GC_WAIT).await.unwrap();
    assert_eq!(next_events(&mut stream, 3).await, ["applied owner 1", "applied owner 1 (marked)", "deleted owner 1 (marked)"]);

    // A deletion in the background takes the collector's finalizer away: the owner goes at once.
    let owner = uid_of(b.apply(&[labelled(ns, "owner", "yes", "2", &[])], &ApplyOptions::default()).await.unwrap());
    b.apply(&[owned_by(ns, "held", "owner", &owner, &["example.com/hold"])], &ApplyOptions::default()).await.unwrap();
    assert!(b.delete(&configmap_kind(), Some(ns), "owner", Propagation::Foreground).await.unwrap());
    wait::wait_for(b, &Target::object(configmap_kind(), Some(ns), "held"), &is_marked, GC_WAIT).await.unwrap();
    assert!(b.delete(&configmap_kind(), Some(ns), "owner", Propagation::Background).await.unwrap());
    assert_eq!(b.get(&configmap_kind(), Some(ns), "owner").await.unwrap(), None);
    b.apply(&[owned_by(ns, "held", "owner", &owner, &[])], &ApplyOptions::default()).await.unwrap();
    assert_eq!(b.get(&configmap_kind(), Some(ns), "held").await.unwrap(), None, "gone with its last finalizer");

    let parent = uid_of(b.apply(&[labelled(ns, "parent", "no", "1", &[])], &ApplyOptions::default()).await.unwrap());
    b.apply(&[owned_by(ns, "child", "parent", &parent, &[])], &ApplyOptions::default()).await.unwrap();
    assert!(b.delete(&configmap_kind(), Some(ns), "parent", Propagation::Orphan).await.unwrap());
    wait::wait_for(b, &Target::object(configmap_kind(), Some(ns), "parent"), &wait::deleted(), GC_WAIT).await.unwrap();
    let child = b.get(&configmap_kind(), Some(ns), "child").await.unwrap().expect("orphaned, not deleted");
    assert!(child["metadata"]["ownerReferences"].is_null(), "{child}");
    teardown(b, ns).await;
}

/// Every namespace gets a `default` ServiceAccount and the `kube-root-ca.crt` ConfigMap, and a
/// `configmaps` quota counts the latter.
pub async fn every_namespace_gets_its_service_account_and_root_ca(b: &dyn Backend, ns: &str) {
    setup(b, ns).await;
    let root_ca = wait::wait_for(b, &Target::object(configmap_kind(), Some(ns), "kube-root-ca.crt"), &wait::exists(), WAIT).await.unwrap();
    assert!(root_ca[0]["data"]["ca.crt"].as_str().is_some_and(|pem| pem.starts_with("-----BEGIN CERTIFICATE-----")), "{}", root_ca[0]);
    let accounts = kind::<k8s_openapi::api::core::v1::ServiceAccount, _>();
    wait::wait_for(b, &Target::object(accounts, Some(ns), "default"), &wait::exists(), WAIT).await.unwrap();

    let quotas = kind::<k8s_openapi::api::core::v1::ResourceQuota, _>();
    let quota = json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "quota", "namespace": ns}, "spec": {"hard": {"configmaps": "2"}}});
    b.apply(&[quota], &ApplyOptions::default()).await.unwrap();
    let counted = wait::condition("to count the root CA", |q: &[Value]| q.first().is_some_and(|q| q["status"]["used"]["configmaps"] == "1"));
    wait::wait_for(b, &Target::object(quotas, Some(ns), "quota"), &counted, WAIT).await.unwrap();
    b.apply(&[configmap(ns, "first", "1")], &ApplyOptions::default()).await.unwrap();
    let err = b.apply(&[configmap(ns, "second", "2")], &ApplyOptions::default()).await.unwrap_err();
    let BackendError::QuotaExceeded { resource, used, limit, .. } = &err else { panic!("expected QuotaExceeded, got {err}") };
    assert_eq!((resource.as_str(), used.as_str(), limit.as_str()), ("configmaps", "2", "2"));
    teardown(b, ns).await;
}

/// A list or watch refuses a field a kind cannot be selected by, and a list a version that is not a
/// number, as `Invalid`; set-based label selectors select as on the API server.
pub async fn selectors_and_versions_are_checked(b: &dyn Backend, ns: &str) {
    setup(b, ns).await;
    for name in ["b", "a", "c"] {
        b.apply(&[configmap(ns, name, name)], &ApplyOptions::default()).await.unwrap();
    }
    wait::wait_for(b, &Target::object(configmap_kind(), Some(ns), "kube-root-ca.crt"), &wait::exists(), WAIT).await.unwrap();
    let names = |objects: Vec<Value>| objects.iter().map(|o| o["metadata"]["name"].as_str().unwrap_or("?").to_string()).collect::<Vec<_>>();
    let list = |labels: &'static str| async move { names(b.list(&configmap_kind(), Some(ns), &Selector::labels(labels)).await.unwrap()) };
    assert_eq!(list("suite in (conformance,other)").await, ["a", "b", "c"], "in key order");
    assert_eq!(list("suite notin (conformance)").await, ["kube-root-ca.crt"]);
    assert_eq!(list("!suite").await, ["kube-root-ca.crt"]);
    assert_eq!(list("suite!=other").await, ["a", "b", "c", "kube-root-ca.crt"]);
    assert!(list("suite in ()").await.is_empty());
    let by_fields = |fields: &str| Selector { fields: Some(fields.to_string()), ..Selector::labels("suite") };
    assert_eq!(names(b.list(&configmap_kind(), Some(ns), &by_fields("metadata.name!=a")).await.unwrap()), ["b", "c"]);

    for (kind, field, says) in [(configmap_kind(), "data.key", "is not a known field selector"), (pod_kind(), "spec.hostname", "field label not supported")] {
        let err = b.list(&kind, Some(ns), &by_fields(&format!("{field}=x"))).await.unwrap_err();
        let BackendError::Invalid { causes, .. } = &err else { panic!("expected Invalid, got {err}") };
        assert!(causes.iter().any(|c| c.message.contains(field) && c.message.contains(says)), "{causes:?}");
        let err = b.watch(&kind, Some(ns), &by_fields(&format!("{field}=x"))).await.err().expect("a watch refuses it too");
        assert!(matches!(err, BackendError::Invalid { .. }), "{err}");
    }
    let err = b.list(&configmap_kind(), Some(ns), &Selector::all().not_older_than("abc")).await.unwrap_err();
    assert!(matches!(err, BackendError::Invalid { .. }), "{err}");
    teardown(b, ns).await;
}

/// A namespace's content goes with it, but an object with finalizers holds it back until they are
/// removed; creating in a terminating namespace is `Forbidden`, and applying the namespace again
/// changes nothing.
pub async fn a_terminating_namespace_waits_for_finalizers(b: &dyn Backend, ns: &str) {
    setup(b, ns).await;
    b.apply(&[configmap(ns, "plain", "1")], &ApplyOptions::default()).await.unwrap();
    let mut hold = configmap(ns, "hold", "1");
    hold["metadata"]["finalizers"] = json!(["example.com/hold"]);
    b.apply(&[hold.clone()], &ApplyOptions::default()).await.unwrap();
    let namespaces = kind::<k8s_openapi::api::core::v1::Namespace, _>();
    assert!(b.delete(&namespaces, None, ns, Propagation::Background).await.unwrap());
    let err = b.apply(&[configmap(ns, "late", "x")], &ApplyOptions::default()).await.unwrap_err();
    assert!(matches!(&err, BackendError::Forbidden { message, .. } if message.contains("being terminated")), "{err}");
    let again = b.apply(&[namespace(ns)], &ApplyOptions::default()).await.unwrap();
    assert_eq!(again[0].change, Change::Unchanged, "the namespace stays marked");
    wait::wait_for(b, &Target::object(configmap_kind(), Some(ns), "plain"), &wait::deleted(), GC_WAIT).await.unwrap();
    let is_marked = wait::condition("marked for deletion", |o: &[Value]| o.first().is_some_and(|o| o["metadata"]["deletionTimestamp"].is_string()));
    wait::wait_for(b, &Target::object(configmap_kind(), Some(ns), "hold"), &is_marked, GC_WAIT).await.unwrap();
    b.sleep(Duration::from_secs(3)).await;
    let waiting = b.get(&namespaces, None, ns).await.unwrap().expect("the namespace waits for the held object");
    assert_eq!(waiting["status"]["phase"], "Terminating");
    hold["metadata"]["finalizers"] = json!([]);
    b.apply(&[hold], &ApplyOptions::default()).await.unwrap();
    wait::wait_for(b, &Target::object(namespaces, None, ns), &wait::deleted(), GC_WAIT).await.unwrap();
}
