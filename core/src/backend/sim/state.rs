//! The simulated cluster's state: the object store, counters, virtual clock, watchers and events.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::sync::mpsc::UnboundedSender;

use super::store::{self, ObjectStore};
use super::util::{self, text};
use super::{ImageFailure, SimOptions};
use crate::backend::selector::ObjectSelector;
use crate::backend::{BackendError, Kind, WatchEvent};

/// One open watch: what it wants and where to send it.
#[derive(Debug, Clone)]
pub(crate) struct Watcher {
    /// `apiVersion|kind` of the watched objects.
    pub kind_key: String,
    /// The namespace, or all.
    pub namespace: Option<String>,
    /// Label and field selector.
    pub selector: ObjectSelector,
    /// Where events go.
    pub tx: UnboundedSender<Result<WatchEvent, BackendError>>,
}

impl Watcher {
    /// Whether this watcher watches objects of `kind_key` (`apiVersion|kind`) in `namespace`,
    /// whatever its selector says.
    fn watches(&self, kind_key: &str, namespace: &str) -> bool {
        self.kind_key == kind_key && self.namespace.as_ref().is_none_or(|ns| ns == namespace)
    }
}

/// What the ReplicaSet controller has seen of one ReplicaSet when it lags behind the API server
/// (`SimOptions::replica_set_sync_delay`): the spec it acts on, and those handed to it since.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct ReplicaSetView {
    /// The generation it acts on (0: none seen yet) and that generation's replica count.
    pub generation: i64,
    pub replicas: i64,
    /// Specs handed to it and not yet seen: (the instant it sees it, generation, replicas).
    pub pending: std::collections::VecDeque<(u64, i64, i64)>,
}

/// Everything the simulated cluster holds. Serialized as is by `save` (watchers excepted).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct State {
    /// The options the cluster was created with.
    pub options: SimOptions,
    /// Virtual time, in milliseconds since the Unix epoch.
    pub clock_ms: u64,
    /// The last resourceVersion handed out (one global counter, like etcd's revision).
    pub resource_version: u64,
    /// Counter for uids.
    pub uid_counter: u64,
    /// State of the deterministic random generator (splitmix64) used for name suffixes.
    pub rng: u64,
    /// Counter for Service cluster IPs.
    pub service_ips: u64,
    /// Counter for pod IPs.
    pub pod_ips: u64,
    /// Counter for Event names.
    pub event_counter: u64,
    /// Objects by `apiVersion|kind|namespace|name`, kept as compact JSON text.
    pub objects: ObjectStore,
    /// Injected failures, by image pattern.
    pub failures: Vec<ImageFailure>,
    /// When a controller may retry creating pods for an owner (uid) after an admission refusal.
    pub retry_after: BTreeMap<String, u64>,
    /// What the ReplicaSet controller has seen of each ReplicaSet (by uid), when
    /// `SimOptions::replica_set_sync_delay` is set (see `workloads::controller_view`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub replica_set_views: BTreeMap<String, ReplicaSetView>,
    /// Open watches (not saved).
    #[serde(skip)]
    pub watchers: Vec<Watcher>,
    /// Namespaces whose objects changed since the controllers last looked (Events aside).
    #[serde(skip)]
    pub dirty: BTreeSet<String>,
    /// Whether the controllers must look at everything (time moved, a cluster object changed).
    #[serde(skip)]
    pub all_dirty: bool,
    /// Whether something was deleted since the garbage collector last ran.
    #[serde(skip)]
    pub deleted: bool,
    /// The namespaces the current reconcile pass looks at (`None`: all).
    #[serde(skip)]
    pub scope: Option<BTreeSet<String>>,
    /// Future instants at which controllers have work, by namespace (see `controllers::advance`).
    #[serde(skip)]
    pub due: BTreeMap<String, Vec<u64>>,
    /// Namespaces whose entry in `due` is stale (their objects changed).
    #[serde(skip)]
    pub due_stale: BTreeSet<String>,
    /// Whether all of `due` is stale (a fresh or loaded state, injected failures changed).
    #[serde(skip, default = "stale")]
    pub due_all_stale: bool,
}

fn stale() -> bool {
    true
}

/// The store key of an object.
pub(crate) fn key(api_version: &str, kind: &str, namespace: &str, name: &str) -> String {
    format!("{api_version}|{kind}|{namespace}|{name}")
}

/// The store key of a JSON object.
pub(crate) fn key_of(object: &Value) -> String {
    key(text(object, "/apiVersion"), text(object, "/kind"), text(object, "/metadata/namespace"), text(object, "/metadata/name"))
}

/// The owner reference that points at `owner` as its controller.
pub(crate) fn owner_ref(owner: &Value) -> Value {
    json!({
        "apiVersion": text(owner, "/apiVersion"),
        "kind": text(owner, "/kind"),
        "name": text(owner, "/metadata/name"),
        "uid": text(owner, "/metadata/uid"),
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

/// Whether `object` is controlled by (has an owner reference to) the object with `uid`.
pub(crate) fn owned_by(object: &Value, uid: &str) -> bool {
    object.pointer("/metadata/ownerReferences").and_then(Value::as_array).is_some_and(|refs| refs.iter().any(|r| text(r, "/uid") == uid))
}

impl State {
    /// A fresh cluster: the standard namespaces and the nodes of `options`.
    pub(crate) fn new(options: SimOptions) -> Self {
        let mut state = State {
            rng: options.seed,
            options,
            clock_ms: util::EPOCH_MS,
            resource_version: 0,
            uid_counter: 0,
            service_ips: 0,
            pod_ips: 0,
            event_counter: 0,
            objects: ObjectStore::default(),
            failures: Vec::new(),
            retry_after: BTreeMap::new(),
            replica_set_views: BTreeMap::new(),
            watchers: Vec::new(),
            dirty: BTreeSet::new(),
            all_dirty: true,
            deleted: false,
            scope: None,
            due: BTreeMap::new(),
            due_stale: BTreeSet::new(),
            due_all_stale: true,
        };
        for ns in ["default", "kube-node-lease", "kube-public", "kube-system"] {
            let namespace = json!({
                "apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}},
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            });
            state.create(namespace);
        }
        for node in state.options.nodes.clone() {
            let resources = json!({"cpu": node.cpu, "memory": node.memory, "pods": node.pods.to_string()});
            let mut object = json!({
                "apiVersion": "v1", "kind": "Node",
                "metadata": {"name": node.name, "labels": {"kubernetes.io/hostname": node.name, "kubernetes.io/os": "linux"}},
                "spec": {},
                "status": {
                    "capacity": resources, "allocatable": resources,
                    "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status"}],
                    "nodeInfo": {"kubeletVersion": "v1.36.0-sim", "operatingSystem": "linux", "architecture": "amd64"},
                },
            });
            if let Some(zone) = &node.zone {
                util::set(&mut object, &["metadata".into(), "labels".into(), super::pods::ZONE_LABEL.into()], Value::from(zone.as_str()));
            }
            state.create(object);
        }
        state
    }

    /// The current virtual time as RFC 3339.
    pub(crate) fn now(&self) -> String {
        util::rfc3339(self.clock_ms)
    }

    /// The next deterministic random number.
    pub(crate) fn random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A random suffix of `n` characters from Kubernetes' alphabet (`x7k2q`).
    pub(crate) fn suffix(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| {
                let r = self.random();
                util::alphanum(r)
            })
            .collect()
    }

    /// The uid the next created object will get (without using it).
    pub(crate) fn peek_uid(&self) -> String {
        format!("5e1a0000-0000-4000-8000-{:012x}", self.uid_counter + 1)
    }

    fn next_uid(&mut self) -> String {
        let uid = self.peek_uid();
        self.uid_counter += 1;
        uid
    }

    /// A copy of the object stored under `key`.
    pub(crate) fn get_key(&self, key: &str) -> Option<Value> {
        self.objects.get(key)
    }

    /// Whether an object is stored under `key` (without reading it).
    pub(crate) fn contains_key(&self, key: &str) -> bool {
        self.objects.contains(key)
    }

    /// A copy of one object by kind, namespace and name.
    pub(crate) fn get(&self, kind: &Kind, namespace: Option<&str>, name: &str) -> Option<Value> {
        self.objects.get(&key(&kind.api_version, &kind.kind, namespace.unwrap_or(""), name))
    }

    /// Keys of the objects of a kind (given as `apiVersion`, `kind`), in one namespace or all.
    pub(crate) fn keys(&self, api_version: &str, kind: &str, namespace: Option<&str>) -> Vec<String> {
        let prefix = match namespace {
            Some(ns) => format!("{api_version}|{kind}|{ns}|"),
            None => format!("{api_version}|{kind}|"),
        };
        self.objects.keys_with_prefix(&prefix)
    }

    /// Keys of the objects of a kind in the namespaces of the current reconcile pass.
    pub(crate) fn scoped_keys(&self, api_version: &str, kind: &str) -> Vec<String> {
        match &self.scope {
            None => self.keys(api_version, kind, None),
            Some(namespaces) => namespaces.iter().flat_map(|ns| self.keys(api_version, kind, Some(ns))).collect(),
        }
    }

    /// Copies of the objects of a kind in all namespaces, in key order (read one at a time).
    pub(crate) fn iter<'a>(&'a self, api_version: &str, kind: &str) -> impl Iterator<Item = Value> + 'a {
        self.keys(api_version, kind, None).into_iter().filter_map(|k| self.objects.peek(&k))
    }

    fn mark(&mut self, object: &Value) {
        let kind = text(object, "/kind");
        if kind == "Event" {
            return;
        }
        match (text(object, "/metadata/namespace"), kind) {
            ("", "Namespace") => {
                self.dirty.insert(text(object, "/metadata/name").to_string());
                self.due_stale.insert(text(object, "/metadata/name").to_string());
            }
            ("", _) => self.all_dirty = true,
            (ns, _) => {
                self.dirty.insert(ns.to_string());
                self.due_stale.insert(ns.to_string());
            }
        }
    }

    /// Copies of the objects of a kind, in one namespace or all, in key order.
    pub(crate) fn list(&self, api_version: &str, kind: &str, namespace: Option<&str>) -> Vec<Value> {
        self.keys(api_version, kind, namespace).iter().filter_map(|k| self.read(k, namespace)).collect()
    }

    /// Copies of the objects of a kind that `selector` selects, in one namespace or all, in key
    /// order. A `metadata.name=NAME` requirement reads only the objects of that name.
    pub(crate) fn select(&self, api_version: &str, kind: &str, namespace: Option<&str>, selector: &ObjectSelector) -> Vec<Value> {
        let keys = self.keys(api_version, kind, namespace);
        let wanted = |k: &String| selector.name().is_none_or(|name| k.rsplit('|').next() == Some(name));
        // A label the selector requires appears in the object's text as a quoted key (label keys
        // need no escaping in JSON): objects without it are skipped unread.
        let needles: Vec<String> = selector.required_label_keys().map(|key| format!("\"{key}\"")).collect();
        let may_match = |k: &String| needles.iter().all(|n| self.objects.text_contains(k, n));
        keys.iter().filter(|k| wanted(k) && may_match(k)).filter_map(|k| self.read(k, namespace)).filter(|o| selector.matches(o)).collect()
    }

    /// Reads an object for a list: kept parsed when the list is of one namespace (the working set
    /// of the controllers), not when it spans the cluster.
    fn read(&self, key: &str, namespace: Option<&str>) -> Option<Value> {
        match namespace {
            Some(_) => self.objects.get(key),
            None => self.objects.peek(key),
        }
    }

    /// Copies of the objects of a kind in `namespace` that have an owner reference to `uid`.
    pub(crate) fn owned(&self, api_version: &str, kind: &str, namespace: &str, uid: &str) -> Vec<Value> {
        let keys = self.objects.keys_where(&format!("{api_version}|{kind}|{namespace}|"), |s| s.owners.iter().any(|o| &**o == uid));
        keys.iter().filter_map(|k| self.objects.get(k)).collect()
    }

    /// Stores an object as is (bumping its resourceVersion) and tells the watchers.
    pub(crate) fn put(&mut self, mut object: Value) -> Value {
        self.resource_version += 1;
        util::set(&mut object, &["metadata".into(), "resourceVersion".into()], Value::from(self.resource_version.to_string()));
        let key = key_of(&object);
        let before = if self.leaves_a_watch(&object) { self.objects.peek(&key) } else { None };
        self.objects.insert(key, &object);
        self.mark(&object);
        self.notify(&object, before.as_ref(), false);
        object
    }

    /// Whether a watcher of `object`'s kind and namespace does not select it (so that the object's
    /// previous state is needed to tell whether it just left that watcher's selection).
    fn leaves_a_watch(&self, object: &Value) -> bool {
        let kind_key = format!("{}|{}", text(object, "/apiVersion"), text(object, "/kind"));
        let namespace = text(object, "/metadata/namespace");
        self.watchers.iter().any(|w| w.watches(&kind_key, namespace) && !w.selector.matches(object))
    }

    /// Stores a new object: uid and creationTimestamp are set, and generation for the kinds that
    /// keep one ([`util::tracks_generation`]).
    pub(crate) fn create(&mut self, mut object: Value) -> Value {
        let uid = self.next_uid();
        let now = self.now();
        let generation = util::tracks_generation(util::text(&object, "/apiVersion"), util::text(&object, "/kind"));
        let meta = util::map_at(&mut object, &["metadata"]);
        meta.insert("uid".into(), Value::from(uid));
        meta.insert("creationTimestamp".into(), Value::from(now));
        if generation {
            meta.insert("generation".into(), Value::from(1));
        }
        self.put(object)
    }

    /// Stores `object` if it differs from the stored one (resourceVersion aside); returns whether it did.
    pub(crate) fn update(&mut self, object: Value) -> bool {
        let key = key_of(&object);
        let unchanged = self.objects.get(&key).is_some_and(|old| same_ignoring_rv(&old, &object));
        if unchanged {
            return false;
        }
        self.put(object);
        true
    }

    /// Removes an object and tells the watchers; returns it.
    pub(crate) fn remove(&mut self, key: &str) -> Option<Value> {
        let mut object = self.objects.remove(key)?;
        self.mark(&object);
        self.deleted = true;
        self.resource_version += 1;
        util::set(&mut object, &["metadata".into(), "resourceVersion".into()], Value::from(self.resource_version.to_string()));
        self.notify(&object, None, true);
        Some(object)
    }

    /// Tells the watchers of `object`, stored (`deleted` false) or removed (true): `Applied` or
    /// `Deleted` to those that select it, and `Deleted` to those that selected its previous state
    /// `before` and no longer select it: the object left their selection, and the API server's
    /// watch then sends its previous state, at the new resourceVersion.
    fn notify(&mut self, object: &Value, before: Option<&Value>, deleted: bool) {
        let kind_key = format!("{}|{}", text(object, "/apiVersion"), text(object, "/kind"));
        let namespace = text(object, "/metadata/namespace").to_string();
        let left = before.map(|b| {
            let mut b = b.clone();
            util::set(&mut b, &["metadata".into(), "resourceVersion".into()], object["metadata"]["resourceVersion"].clone());
            b
        });
        self.watchers.retain(|w| {
            if !w.watches(&kind_key, &namespace) {
                return !w.tx.is_closed();
            }
            let event = match &left {
                _ if w.selector.matches(object) => {
                    if deleted {
                        WatchEvent::Deleted(object.clone())
                    } else {
                        WatchEvent::Applied(object.clone())
                    }
                }
                Some(previous) if w.selector.matches(previous) => WatchEvent::Deleted(previous.clone()),
                _ => return !w.tx.is_closed(),
            };
            w.tx.send(Ok(event)).is_ok()
        });
    }

    /// Records an Event about `involved` (aggregated like the real event recorder: same reason and
    /// message → `count` rises and `lastTimestamp` moves).
    pub(crate) fn event(&mut self, involved: &Value, type_: &str, reason: &str, message: &str, component: &str) {
        let namespace = match text(involved, "/metadata/namespace") {
            "" => "default".to_string(),
            ns => ns.to_string(),
        };
        let uid = text(involved, "/metadata/uid").to_string();
        let now = self.now();
        let group = store::event_group(&uid, reason, message);
        let candidates = self.objects.keys_where(&format!("v1|Event|{namespace}|"), |s| s.event_group == Some(group));
        let existing = candidates.into_iter().find_map(|k| {
            self.objects.get(&k).filter(|e| text(e, "/involvedObject/uid") == uid && text(e, "/reason") == reason && text(e, "/message") == message)
        });
        if let Some(mut e) = existing {
            let count = util::int(&e, "/count", 1) + 1;
            if let Some(m) = e.as_object_mut() {
                m.insert("count".into(), Value::from(count));
                m.insert("lastTimestamp".into(), Value::from(now));
            }
            self.put(e);
            return;
        }
        self.event_counter += 1;
        let name = format!("{}.{:016x}", text(involved, "/metadata/name"), self.clock_ms.wrapping_mul(1_000_000).wrapping_add(self.event_counter));
        let event = json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": {
                "apiVersion": text(involved, "/apiVersion"), "kind": text(involved, "/kind"),
                "name": text(involved, "/metadata/name"), "namespace": text(involved, "/metadata/namespace"),
                "uid": uid, "resourceVersion": text(involved, "/metadata/resourceVersion"),
            },
            "reason": reason, "message": message, "type": type_,
            "count": 1, "firstTimestamp": now, "lastTimestamp": now,
            "source": {"component": component},
            "reportingComponent": component, "reportingInstance": "",
        });
        self.create(event);
    }

    /// The injected failure for an image, if any (the last matching injection wins).
    pub(crate) fn failure_for(&self, image: &str) -> Option<super::Failure> {
        self.failures.iter().rev().find(|f| util::glob(&f.image_pattern, image)).map(|f| f.failure)
    }

    /// Allocates a Service cluster IP.
    pub(crate) fn next_service_ip(&mut self) -> String {
        self.service_ips += 1;
        format!("10.96.{}.{}", (self.service_ips / 250) % 256, self.service_ips % 250 + 2)
    }

    /// Allocates a pod IP on node number `node`.
    pub(crate) fn next_pod_ip(&mut self, node: usize) -> String {
        self.pod_ips += 1;
        format!("10.244.{}.{}", node % 256, self.pod_ips % 250 + 2)
    }
}

/// Whether two objects are equal once their resourceVersions are ignored.
pub(crate) fn same_ignoring_rv(a: &Value, b: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        util::remove(&mut v, &["metadata".into(), "resourceVersion".into()]);
        v
    };
    strip(a) == strip(b)
}

/// Sets a condition in `object`'s `status.conditions`, keeping `lastTransitionTime` when the status
/// does not change. `update_time` is the Deployment controller's way: it also maintains
/// `lastUpdateTime`, and a condition that changes moves to the end of the list. Returns whether
/// anything changed.
pub(crate) fn set_condition(object: &mut Value, type_: &str, status: &str, reason: &str, message: &str, now: &str, update_time: bool) -> bool {
    let status_map = util::map_at(object, &["status"]);
    let conditions = status_map.entry("conditions").or_insert_with(|| Value::Array(Vec::new()));
    if !conditions.is_array() {
        *conditions = Value::Array(Vec::new());
    }
    let Some(list) = conditions.as_array_mut() else { return false };
    let existing = list.iter_mut().find(|c| text(c, "/type") == type_);
    match existing {
        Some(c) => {
            if text(c, "/status") == status && text(c, "/reason") == reason && text(c, "/message") == message {
                return false;
            }
            let transition = if text(c, "/status") == status { text(c, "/lastTransitionTime").to_string() } else { now.to_string() };
            let mut new = json!({"type": type_, "status": status, "reason": reason, "message": message, "lastTransitionTime": transition});
            if update_time {
                util::set(&mut new, &["lastUpdateTime".into()], Value::from(now));
                list.retain(|c| text(c, "/type") != type_);
                list.push(new);
            } else {
                *c = new;
            }
        }
        None => {
            let mut new = json!({"type": type_, "status": status, "reason": reason, "message": message, "lastTransitionTime": now});
            if update_time {
                util::set(&mut new, &["lastUpdateTime".into()], Value::from(now));
            }
            list.push(new);
        }
    }
    true
}

/// Removes a condition; returns whether it was there.
pub(crate) fn remove_condition(object: &mut Value, type_: &str) -> bool {
    let Some(list) = object.pointer_mut("/status/conditions").and_then(Value::as_array_mut) else { return false };
    let before = list.len();
    list.retain(|c| text(c, "/type") != type_);
    before != list.len()
}

/// A condition of an object.
pub(crate) fn condition<'a>(object: &'a Value, type_: &str) -> Option<&'a Value> {
    object.pointer("/status/conditions").and_then(Value::as_array)?.iter().find(|c| text(c, "/type") == type_)
}
