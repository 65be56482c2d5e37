//! The simulated cluster's object store: each object kept as compact JSON text, parsed on read.
//!
//! A `serde_json::Value` tree costs about ten times its JSON text (every small map is a B-tree
//! node with eleven slots), which put 1,000 tenants over 300 MiB. The store keeps each object as
//! its compact JSON text, and beside it a small [`Summary`] of what whole-store scans need (uid,
//! owners, a pod's node and requests, quota usage, an Event's time and aggregation key), so those
//! scans do not parse every object. A bounded cache keeps the objects last read or written parsed
//! (the controllers read one namespace's objects many times in a row). Saved files are unchanged:
//! the store serializes as a JSON map from key to object, as the `BTreeMap<String, Value>` it
//! replaces did.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::util::{parse_rfc3339, text};
use crate::backend::being_deleted;
use crate::quantity::Quantity;

/// What the scheduler needs of a pod that has not finished.
#[derive(Debug, Clone)]
pub(crate) struct PodSummary {
    /// `spec.nodeName` (empty while pending).
    pub node: Box<str>,
    /// Requested CPU, summed over the containers.
    pub cpu: Quantity,
    /// Requested memory, summed over the containers.
    pub memory: Quantity,
}

/// What whole-store scans need of an object, kept so that they need not parse it.
#[derive(Debug, Clone)]
pub(crate) struct Summary {
    /// `metadata.uid`.
    pub uid: Box<str>,
    /// The uids of `metadata.ownerReferences`.
    pub owners: Box<[Box<str>]>,
    /// For a Pod that has not finished (neither Succeeded nor Failed): its node and requests.
    pub pod: Option<Box<PodSummary>>,
    /// For an Event: its `lastTimestamp` in milliseconds (what expiry goes by).
    pub event_time: Option<u64>,
    /// For an Event: a hash of what aggregation compares (see [`event_group`]).
    pub event_group: Option<u64>,
    /// What the object counts against a ResourceQuota (see `admission::usage`).
    pub usage: Box<[(Box<str>, Quantity)]>,
    /// Whether it is marked for deletion and waits for its finalizers.
    pub deleting: bool,
}

impl Summary {
    fn of(key: &str, object: &Value) -> Self {
        let owners = object
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .map(|refs| refs.iter().map(|r| Box::from(text(r, "/uid"))).collect())
            .unwrap_or_default();
        let pod = (key.starts_with("v1|Pod|") && !super::controllers::pod_terminal(object)).then(|| {
            Box::new(PodSummary {
                node: text(object, "/spec/nodeName").into(),
                cpu: super::pods::requests(object, "cpu"),
                memory: super::pods::requests(object, "memory"),
            })
        });
        let event = key.starts_with("v1|Event|");
        let event_time = if event { parse_rfc3339(text(object, "/lastTimestamp")) } else { None };
        let usage = if event { Box::default() } else { super::admission::usage(object).into_iter().map(|(r, q)| (r.into_boxed_str(), q)).collect() };
        let event_group = event.then(|| event_group(text(object, "/involvedObject/uid"), text(object, "/reason"), text(object, "/message")));
        let deleting = being_deleted(object);
        Summary { uid: text(object, "/metadata/uid").into(), owners, pod, event_time, event_group, usage, deleting }
    }
}

/// A hash of what makes two Events the same for aggregation: the involved object's uid, the
/// reason and the message (candidates with the same hash are then compared in full).
pub(crate) fn event_group(uid: &str, reason: &str, message: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (uid, reason, message).hash(&mut hasher);
    hasher.finish()
}

#[derive(Debug, Clone)]
struct Entry {
    json: Box<str>,
    summary: Summary,
}

impl Entry {
    fn value(&self) -> Value {
        // The text was written by `serde_json::to_writer` from a `Value`, so it always parses.
        serde_json::from_str(&self.json).unwrap_or(Value::Null)
    }
}

/// How many parsed objects the store keeps at most (about 10 KiB each); the oldest go first.
const PARSED_CAPACITY: usize = 512;

/// Objects by `apiVersion|kind|namespace|name`, in key order.
#[derive(Debug, Clone, Default)]
pub(crate) struct ObjectStore {
    entries: BTreeMap<String, Entry>,
    /// Parsed copies of recently read or written objects: the controllers read one namespace's
    /// objects many times in a row, and a small cluster fits whole.
    parsed: RefCell<(BTreeMap<String, Value>, VecDeque<String>)>,
    /// Where objects are written before their text is stored (reused: growing a fresh buffer for
    /// every write costs more than the write).
    scratch: Vec<u8>,
    /// Events by `lastTimestamp`, oldest first (for expiry without reading every Event).
    events_by_time: BTreeSet<(u64, String)>,
}

impl ObjectStore {
    /// How many objects the store holds.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether an object is stored under `key`.
    pub(crate) fn contains(&self, key: &str) -> bool {
        self.entries.contains_key(key)
    }

    /// A copy of the object under `key`.
    pub(crate) fn get(&self, key: &str) -> Option<Value> {
        if let Some(object) = self.parsed.borrow().0.get(key) {
            return Some(object.clone());
        }
        let object = self.entries.get(key)?.value();
        self.remember(key, &object);
        Some(object)
    }

    /// A copy of the object under `key`, without keeping it parsed: for reads across the whole
    /// store (a list of every namespace), which would only push the working set out.
    pub(crate) fn peek(&self, key: &str) -> Option<Value> {
        if let Some(object) = self.parsed.borrow().0.get(key) {
            return Some(object.clone());
        }
        self.entries.get(key).map(Entry::value)
    }

    fn remember(&self, key: &str, object: &Value) {
        let mut parsed = self.parsed.borrow_mut();
        let (map, order) = &mut *parsed;
        if map.insert(key.to_string(), object.clone()).is_none() {
            order.push_back(key.to_string());
        }
        // First in, first out; stale names (removed objects) only cost a turn.
        while map.len() > PARSED_CAPACITY {
            let Some(oldest) = order.pop_front() else { break };
            map.remove(&oldest);
        }
        if order.len() > 4 * PARSED_CAPACITY {
            order.retain(|k| map.contains_key(k));
        }
    }

    /// Whether the stored text of the object under `key` contains `needle` (false without an
    /// object): a quick test before reading it.
    pub(crate) fn text_contains(&self, key: &str, needle: &str) -> bool {
        self.entries.get(key).is_some_and(|e| e.json.contains(needle))
    }

    /// The summary of the object under `key`.
    pub(crate) fn summary(&self, key: &str) -> Option<&Summary> {
        self.entries.get(key).map(|e| &e.summary)
    }

    /// Stores `object` under `key`, replacing what was there.
    pub(crate) fn insert(&mut self, key: String, object: &Value) {
        let summary = Summary::of(&key, object);
        self.scratch.clear();
        // Writing a `Value` to memory cannot fail, and its text is UTF-8.
        let json: Box<str> = match serde_json::to_writer(&mut self.scratch, object) {
            Ok(()) => String::from_utf8_lossy(&self.scratch).into(),
            Err(_) => "null".into(),
        };
        if let Some(t) = summary.event_time {
            self.events_by_time.insert((t, key.clone()));
        }
        self.remember(&key, object);
        if let Some(old) = self.entries.insert(key.clone(), Entry { json, summary }) {
            self.forget_event_time(&key, &old);
        }
    }

    fn forget_event_time(&mut self, key: &str, old: &Entry) {
        let now = self.entries.get(key).and_then(|e| e.summary.event_time);
        if let Some(t) = old.summary.event_time.filter(|&t| Some(t) != now) {
            self.events_by_time.remove(&(t, key.to_string()));
        }
    }

    /// Removes and returns the object under `key`.
    pub(crate) fn remove(&mut self, key: &str) -> Option<Value> {
        let old = self.entries.remove(key)?;
        self.forget_event_time(key, &old);
        Some(self.parsed.get_mut().0.remove(key).unwrap_or_else(|| old.value()))
    }

    /// The keys of the Events whose `lastTimestamp` is before `before` (milliseconds).
    pub(crate) fn events_before(&self, before: u64) -> Vec<String> {
        self.events_by_time.iter().take_while(|(t, _)| *t < before).map(|(_, k)| k.clone()).collect()
    }

    /// The keys that start with `prefix`, in order.
    pub(crate) fn keys_with_prefix(&self, prefix: &str) -> Vec<String> {
        self.entries.range(prefix.to_string()..).take_while(|(k, _)| k.starts_with(prefix)).map(|(k, _)| k.clone()).collect()
    }

    /// Every key, in order.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &String> + '_ {
        self.entries.keys()
    }

    /// Every key with its object's summary, in key order.
    pub(crate) fn summaries(&self) -> impl Iterator<Item = (&String, &Summary)> + '_ {
        self.entries.iter().map(|(k, e)| (k, &e.summary))
    }

    /// The keys of the objects of `prefix` (`apiVersion|kind|namespace|`) whose summary passes `keep`.
    pub(crate) fn keys_where(&self, prefix: &str, keep: impl Fn(&Summary) -> bool) -> Vec<String> {
        self.summaries_with_prefix(prefix).filter(|(_, s)| keep(s)).map(|(k, _)| k.clone()).collect()
    }

    /// The summaries of the objects whose keys start with `prefix`, in key order.
    pub(crate) fn summaries_with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a String, &'a Summary)> + 'a {
        self.entries.range(prefix.to_string()..).take_while(move |(k, _)| k.starts_with(prefix)).map(|(k, e)| (k, &e.summary))
    }

    /// How many bytes of JSON text the store holds.
    #[cfg(test)]
    pub(crate) fn text_bytes(&self) -> usize {
        self.entries.values().map(|e| e.json.len()).sum()
    }
}

impl Serialize for ObjectStore {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.entries.len()))?;
        for (key, entry) in &self.entries {
            map.serialize_entry(key, &entry.value())?;
        }
        map.end()
    }
}

struct StoreVisitor;

impl<'de> Visitor<'de> for StoreVisitor {
    type Value = ObjectStore;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map from store key to Kubernetes object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<ObjectStore, A::Error> {
        let mut store = ObjectStore::default();
        while let Some((key, object)) = access.next_entry::<String, Value>()? {
            store.insert(key, &object);
        }
        Ok(store)
    }
}

impl<'de> Deserialize<'de> for ObjectStore {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(StoreVisitor)
    }
}

#[cfg(test)]
mod store_tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, node: &str, phase: &str) -> Value {
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "a", "uid": format!("u-{name}"), "ownerReferences": [{"uid": "rs-1"}, {"uid": "rs-2"}]},
            "spec": {"nodeName": node, "containers": [{"name": "c", "resources": {"requests": {"cpu": "250m", "memory": "64Mi"}}}]},
            "status": {"phase": phase, "ratio": 0.1, "big": u64::MAX, "neg": -3},
        })
    }

    #[test]
    fn objects_read_back_equal_and_summaries_follow_them() {
        let mut store = ObjectStore::default();
        let running = pod("p", "n1", "Running");
        store.insert("v1|Pod|a|p".into(), &running);
        store.insert("v1|Pod|a|q".into(), &pod("q", "", "Succeeded"));
        assert_eq!(store.get("v1|Pod|a|p"), Some(running.clone()));
        store.parsed.get_mut().0.clear();
        assert_eq!(store.get("v1|Pod|a|p"), Some(running), "read back from the text");
        let summary = store.summary("v1|Pod|a|p").expect("stored");
        assert_eq!(&*summary.uid, "u-p");
        assert_eq!(summary.owners.iter().map(|o| &**o).collect::<Vec<_>>(), ["rs-1", "rs-2"]);
        let p = summary.pod.as_ref().expect("a running pod has a pod summary");
        assert_eq!((&*p.node, p.cpu.to_string(), p.memory.to_string()), ("n1", "250m".to_string(), "67108864".to_string()));
        assert!(store.summary("v1|Pod|a|q").is_some_and(|s| s.pod.is_none()), "a finished pod is not counted by the scheduler");
        assert_eq!(store.keys_with_prefix("v1|Pod|a|"), ["v1|Pod|a|p", "v1|Pod|a|q"]);
        let event = |t: &str| json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e", "namespace": "a"}, "lastTimestamp": t});
        store.insert("v1|Event|a|e".into(), &event("2026-01-01T00:00:05Z"));
        store.insert("v1|Event|a|e".into(), &event("2026-01-01T00:00:09Z"));
        let t9 = parse_rfc3339("2026-01-01T00:00:09Z").expect("time");
        assert_eq!(store.events_before(t9), Vec::<String>::new(), "the event moved on: its old time is forgotten");
        assert_eq!(store.events_before(t9 + 1), ["v1|Event|a|e"]);
        store.remove("v1|Event|a|e");
        assert_eq!(store.events_before(u64::MAX), Vec::<String>::new());
        assert!(store.remove("v1|Pod|a|q").is_some());
        assert!(!store.contains("v1|Pod|a|q"));
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn serializes_as_the_map_of_objects_it_replaced() {
        let mut objects = BTreeMap::new();
        objects.insert("v1|Pod|a|p".to_string(), pod("p", "n1", "Running"));
        objects.insert("v1|Namespace||a".to_string(), json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}));
        let old_format = serde_json::to_string_pretty(&objects).expect("serializes");
        let store: ObjectStore = serde_json::from_str(&old_format).expect("an old file loads");
        assert_eq!(serde_json::to_string_pretty(&store).expect("serializes"), old_format);
        assert!(store.text_bytes() < old_format.len(), "compact text is smaller than the pretty file");
    }
}
