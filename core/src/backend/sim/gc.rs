//! Deletion and the garbage collector: finalizers, the `orphan` and `foregroundDeletion`
//! finalizers a propagation policy puts on an owner, and the dependents whose owners are gone.

use std::collections::BTreeSet;

use serde_json::Value;

use super::state::State;
use super::util::{self, text};
use crate::backend::{being_deleted, BackendError, ObjectRef, Propagation};

/// The finalizer of an `Orphan` deletion: the collector removes the owner's references from its
/// dependents, then this finalizer.
pub(crate) const ORPHAN: &str = "orphan";
/// The finalizer of a `Foreground` deletion: the collector deletes the dependents that block
/// their owner's deletion (`blockOwnerDeletion`), then removes this finalizer.
pub(crate) const FOREGROUND: &str = "foregroundDeletion";

/// Deletes the object under `key` with `propagation`; `Ok(false)` when it did not exist.
///
/// As on the API server: an object that ends up with finalizers (its own, or the one of its
/// propagation policy) is marked (`deletionTimestamp`, `deletionGracePeriodSeconds: 0`) and stays
/// until they are removed. A deletion of a marked object sets the collector's finalizer again, so
/// a `Background` one of an owner waiting for its dependents deletes it at once.
pub(crate) fn delete(state: &mut State, key: &str, propagation: Propagation) -> Result<bool, BackendError> {
    let Some(object) = state.get_key(key) else { return Ok(false) };
    if text(&object, "/kind") == "Namespace" {
        return delete_namespace(state, object);
    }
    let finalizers = deletion_finalizers(&object, propagation);
    if finalizers.is_empty() {
        finish_deletion(state, key);
        return Ok(true);
    }
    let mut marked = object;
    let first = !being_deleted(&marked);
    let generation = util::int(&marked, "/metadata/generation", 0);
    let now = state.now();
    let meta = util::map_at(&mut marked, &["metadata"]);
    if first {
        if generation > 0 {
            meta.insert("generation".into(), Value::from(generation + 1));
        }
        meta.insert("deletionTimestamp".into(), Value::from(now));
    }
    meta.insert("deletionGracePeriodSeconds".into(), Value::from(0));
    meta.insert("finalizers".into(), Value::from(finalizers));
    if state.update(marked) {
        // The collector may have an owner to finalize.
        state.deleted = true;
    }
    Ok(true)
}

/// A namespace is marked `Terminating`; the namespace controller empties it, then removes it.
fn delete_namespace(state: &mut State, object: Value) -> Result<bool, BackendError> {
    let name = text(&object, "/metadata/name").to_string();
    if matches!(name.as_str(), "default" | "kube-system" | "kube-public") {
        return Err(BackendError::Forbidden {
            object: ObjectRef { kind: "Namespace".into(), namespace: None, name: name.clone() },
            message: format!("namespaces {name:?} is forbidden: this namespace may not be deleted"),
        });
    }
    if !being_deleted(&object) {
        let mut ns = object;
        let now = state.now();
        util::set(&mut ns, &["metadata".into(), "deletionTimestamp".into()], Value::from(now));
        util::set(&mut ns, &["status".into(), "phase".into()], Value::from("Terminating"));
        state.put(ns);
    }
    Ok(true)
}

/// The finalizers `object` has once deleted with `propagation`: its own, without the collector's
/// two, plus the one of `propagation` (the API server's `deletionFinalizersForGarbageCollection`;
/// Events take no part in garbage collection). The order is kept when the set does not change.
fn deletion_finalizers(object: &Value, propagation: Propagation) -> Vec<String> {
    let current = util::finalizers(object);
    if text(object, "/kind") == "Event" {
        return current.into_iter().map(str::to_string).collect();
    }
    let mut wanted: Vec<&str> = current.iter().copied().filter(|f| *f != ORPHAN && *f != FOREGROUND).collect();
    match propagation {
        Propagation::Background => {}
        Propagation::Orphan => wanted.push(ORPHAN),
        Propagation::Foreground => wanted.push(FOREGROUND),
    }
    let same = wanted.iter().collect::<BTreeSet<_>>() == current.iter().collect::<BTreeSet<_>>();
    let chosen = if same { current } else { wanted };
    chosen.into_iter().map(str::to_string).collect()
}

/// Removes the object under `key` for good (its deletion is complete) with what the controllers
/// kept about it; returns it.
pub(crate) fn finish_deletion(state: &mut State, key: &str) -> Option<Value> {
    let object = state.get_key(key)?;
    state.retry_after.remove(text(&object, "/metadata/uid"));
    state.replica_set_views.remove(text(&object, "/metadata/uid"));
    if matches!(text(&object, "/kind"), "ResourceQuota" | "LimitRange") {
        // Admission inputs change: controllers retry at once what was refused.
        state.retry_after.clear();
    }
    state.remove(key)
}

/// Removes `finalizer` from the object under `key`; the object goes if it was marked and that was
/// its last finalizer.
fn release(state: &mut State, key: &str, finalizer: &str) {
    let Some(mut object) = state.get_key(key) else { return };
    let rest: Vec<Value> = util::finalizers(&object).into_iter().filter(|f| *f != finalizer).map(Value::from).collect();
    if rest.is_empty() && being_deleted(&object) {
        finish_deletion(state, key);
        return;
    }
    let meta = util::map_at(&mut object, &["metadata"]);
    if rest.is_empty() {
        meta.remove("finalizers");
    } else {
        meta.insert("finalizers".into(), Value::from(rest));
    }
    state.update(object);
}

/// The keys of the objects with an owner reference to `uid`.
fn dependents(state: &State, uid: &str) -> Vec<String> {
    state.objects.summaries().filter(|(_, s)| s.owners.iter().any(|o| &**o == uid)).map(|(k, _)| k.clone()).collect()
}

/// Removes from `object` its owner references to the owners in `uids` (and the list, once empty).
fn without_references(object: &mut Value, uids: &BTreeSet<&str>) {
    if let Some(refs) = object.pointer_mut("/metadata/ownerReferences").and_then(Value::as_array_mut) {
        refs.retain(|r| !uids.contains(text(r, "/uid")));
        if refs.is_empty() {
            util::remove(object, &["metadata".into(), "ownerReferences".into()]);
        }
    }
}

/// The propagation the collector deletes a dependent with: the one its own finalizers ask for,
/// else in the background.
fn propagation_of(object: &Value) -> Propagation {
    let finalizers = util::finalizers(object);
    if finalizers.contains(&ORPHAN) {
        Propagation::Orphan
    } else if finalizers.contains(&FOREGROUND) {
        Propagation::Foreground
    } else {
        Propagation::Background
    }
}

/// The garbage collector, as the real one but at one instant:
/// - an owner marked with `orphan` loses its dependents' references to it, then that finalizer;
/// - an owner marked with `foregroundDeletion` has its blocking dependents deleted (in the
///   foreground themselves when they have dependents) or, when they have another owner that
///   stays, their reference to it removed; it loses that finalizer when none is left;
/// - an object all of whose owners are gone is deleted (with the propagation its finalizers ask).
pub(crate) fn garbage_collect(state: &mut State) {
    let finalizing: Vec<(String, String)> = state
        .objects
        .summaries()
        .filter(|(_, s)| s.deleting)
        .filter(|(key, _)| state.objects.get(key).is_some_and(|o| waits_for_collector(&o)))
        .map(|(key, s)| (key.clone(), s.uid.to_string()))
        .collect();
    for (key, uid) in finalizing {
        let Some(owner) = state.get_key(&key) else { continue };
        if util::finalizers(&owner).contains(&ORPHAN) {
            for dependent in dependents(state, &uid) {
                if let Some(mut d) = state.get_key(&dependent) {
                    without_references(&mut d, &BTreeSet::from([uid.as_str()]));
                    state.put(d);
                }
            }
            release(state, &key, ORPHAN);
        } else if delete_blocking_dependents(state, &uid) == 0 {
            release(state, &key, FOREGROUND);
        }
    }

    let orphans: Vec<String> = {
        let uids: BTreeSet<&str> = state.objects.summaries().map(|(_, s)| &*s.uid).collect();
        let orphaned = |s: &super::store::Summary| !s.deleting && !s.owners.is_empty() && s.owners.iter().all(|o| !uids.contains(&**o));
        state.objects.summaries().filter(|(_, s)| orphaned(s)).map(|(k, _)| k.clone()).collect()
    };
    for key in &orphans {
        if let Some(object) = state.get_key(key) {
            let _ = delete(state, key, propagation_of(&object));
        }
    }
}

/// Whether a marked object waits for the collector (has its `orphan` or `foregroundDeletion`).
fn waits_for_collector(object: &Value) -> bool {
    util::finalizers(object).iter().any(|f| *f == ORPHAN || *f == FOREGROUND)
}

/// Whether the owner `uid` stays: it exists and is not being deleted in the foreground.
fn owner_stays(state: &State, uid: &str) -> bool {
    let Some((key, _)) = state.objects.summaries().find(|(_, s)| &*s.uid == uid) else { return false };
    state.objects.get(key).is_some_and(|o| !util::finalizers(&o).contains(&FOREGROUND) || !being_deleted(&o))
}

/// Deletes (or detaches) the dependents of the owner `uid` whose reference to it blocks its
/// deletion; returns how many still block it.
fn delete_blocking_dependents(state: &mut State, uid: &str) -> usize {
    let mut blocking = 0;
    for key in dependents(state, uid) {
        let Some(mut dependent) = state.get_key(&key) else { continue };
        let refs = dependent.pointer("/metadata/ownerReferences").and_then(Value::as_array).cloned().unwrap_or_default();
        let blocks = refs.iter().any(|r| text(r, "/uid") == uid && r.get("blockOwnerDeletion").and_then(Value::as_bool) == Some(true));
        if !blocks {
            // Not waited for: it goes with the other orphans once the owner is gone.
            continue;
        }
        if being_deleted(&dependent) {
            blocking += 1;
            continue;
        }
        // Owners that stay keep it: only the references to the others go.
        let gone: BTreeSet<&str> = refs.iter().map(|r| text(r, "/uid")).filter(|o| *o == uid || !owner_stays(state, o)).collect();
        if refs.iter().any(|r| !gone.contains(text(r, "/uid"))) {
            without_references(&mut dependent, &gone);
            state.put(dependent);
            continue;
        }
        let own_uid = text(&dependent, "/metadata/uid").to_string();
        let propagation = if dependents(state, &own_uid).is_empty() { propagation_of(&dependent) } else { Propagation::Foreground };
        let _ = delete(state, &key, propagation);
        blocking += usize::from(state.contains_key(&key));
    }
    blocking
}
