//! Field paths of server-side apply: the schema's list and map types, list items as path elements, and list-aware reads, merges and removals.
//!
//! A path is a list of elements: a field name, or a list item written as in `managedFields`:
//! `k:{"name":"app"}` for an item of a list the schema types `map` (keyed by the fields it names),
//! `v:"example.com/x"` for an item of a `set`. Every other list is atomic: one leaf, owned and
//! replaced whole. Maps are merged key by key, except those the schema marks atomic.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use super::defaults::pod_spec_pointer;
use super::util::{self, text, Path};
use crate::backend::ownership::{list_item_matches, list_key_default};

/// Metadata fields a manager can own.
const OWNED_METADATA: [&str; 4] = ["labels", "annotations", "ownerReferences", "finalizers"];

/// How server-side apply treats a list: the schema's `x-kubernetes-list-type` (or, on the older
/// fields, `x-kubernetes-patch-merge-key`).
#[derive(Debug, Clone, Copy, PartialEq)]
enum ListType {
    /// Owned and replaced whole.
    Atomic,
    /// Scalars, owned one by one.
    Set,
    /// Objects, owned one by one and field by field, told apart by the fields named.
    Map(&'static [&'static str]),
}

/// The list type of the list at `fields` (field names only) in an object of `kind`, as the
/// Kubernetes API types declare it (`+listType`, `+listMapKey`, `patchMergeKey`).
fn list_type(kind: &str, fields: &[&str]) -> ListType {
    const NAME: &[&str] = &["name"];
    match (kind, fields) {
        (_, ["metadata", "finalizers"]) => return ListType::Set,
        (_, ["metadata", "ownerReferences"]) => return ListType::Map(&["uid"]),
        ("Service", ["spec", "ports"]) => return ListType::Map(&["port", "protocol"]),
        ("ServiceAccount", ["secrets"]) => return ListType::Map(NAME),
        _ => {}
    }
    let Some(pod_spec) = pod_spec_pointer(kind) else { return ListType::Atomic };
    let prefix: Vec<&str> = pod_spec.split('/').skip(1).collect();
    let Some(rest) = fields.strip_prefix(prefix.as_slice()) else { return ListType::Atomic };
    match rest {
        ["containers" | "initContainers" | "ephemeralContainers" | "volumes" | "imagePullSecrets" | "schedulingGates" | "resourceClaims"] => {
            ListType::Map(NAME)
        }
        ["hostAliases"] => ListType::Map(&["ip"]),
        ["topologySpreadConstraints"] => ListType::Map(&["topologyKey", "whenUnsatisfiable"]),
        ["containers" | "initContainers" | "ephemeralContainers", field @ ..] => match field {
            ["ports"] => ListType::Map(&["containerPort", "protocol"]),
            ["env"] | ["resources", "claims"] => ListType::Map(NAME),
            ["volumeMounts"] => ListType::Map(&["mountPath"]),
            ["volumeDevices"] => ListType::Map(&["devicePath"]),
            _ => ListType::Atomic,
        },
        _ => ListType::Atomic,
    }
}

/// Whether a path element is a list item (`k:` or `v:`) rather than a field name. Field names
/// never start so: label and annotation keys, data keys and the schema's names have no `:`.
fn is_item(element: &str) -> bool {
    element.starts_with("k:") || element.starts_with("v:")
}

/// Whether `path` ends at an item of a keyed list. Such a path owns the item's presence only; its
/// fields are owned one by one, each with a path of its own.
fn ends_at_keyed_item(path: &[String]) -> bool {
    path.last().is_some_and(|e| e.starts_with("k:"))
}

/// Whether owning `owner` makes one the owner of `path`: the same path, or a part of a value owned
/// whole (a leaf: anything but a keyed list item).
pub(crate) fn covers(owner: &[String], path: &[String]) -> bool {
    owner == path || (path.starts_with(owner) && !ends_at_keyed_item(owner))
}

/// Whether two owned paths touch the same value.
pub(crate) fn overlaps(a: &[String], b: &[String]) -> bool {
    covers(a, b) || covers(b, a)
}

/// Whether two managers' paths can disagree on a value: an item's presence cannot, only its fields.
pub(crate) fn compares_values(shorter: &[String]) -> bool {
    !ends_at_keyed_item(shorter)
}

/// The path element of `item` in a list of type `list`, or `None` for an atomic list or an item
/// with no key (the API server refuses such an item; the list is then treated as atomic).
fn item_element(list: ListType, item: &Value) -> Option<String> {
    match list {
        ListType::Atomic => None,
        ListType::Set => (!item.is_object() && !item.is_array() && !item.is_null()).then(|| format!("v:{item}")),
        ListType::Map(keys) => {
            let fields = item.as_object()?;
            let mut parts: Vec<(&str, Value)> =
                keys.iter().filter_map(|k| fields.get(*k).filter(|v| !v.is_null()).cloned().or_else(|| list_key_default(k)).map(|v| (*k, v))).collect();
            if parts.is_empty() {
                return None;
            }
            parts.sort_by(|a, b| a.0.cmp(b.0));
            let body: Vec<String> = parts.iter().map(|(k, v)| format!("{}:{v}", Value::from(*k))).collect();
            Some(format!("k:{{{}}}", body.join(",")))
        }
    }
}

/// The path elements of the items of the list at `prefix`, or `None` when the list is atomic
/// (by type, or because an item has no key or two items have the same one).
fn item_elements(kind: &str, prefix: &[String], items: &[Value]) -> Option<Vec<String>> {
    let fields: Vec<&str> = prefix.iter().map(String::as_str).filter(|e| !is_item(e)).collect();
    let list = list_type(kind, &fields);
    let elements = items.iter().map(|item| item_element(list, item)).collect::<Option<Vec<String>>>()?;
    let distinct: BTreeSet<&String> = elements.iter().collect();
    (distinct.len() == elements.len()).then_some(elements)
}

/// Whether the API schema makes the map at `path` of a `kind` atomic (owned and replaced whole):
/// a Service's `spec.selector` (`mapType=atomic`) and label selectors (`structType=atomic`).
fn is_atomic_map(kind: &str, path: &[String]) -> bool {
    let at = |p: &[&str]| path.len() == p.len() && path.iter().zip(p).all(|(a, b)| a == b);
    match kind {
        "Service" | "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" | "Job" | "PodDisruptionBudget" => at(&["spec", "selector"]),
        "NetworkPolicy" => at(&["spec", "podSelector"]),
        _ => false,
    }
}

/// The part of an applied object a manager can own: no `apiVersion`, `kind` or `status`, and of
/// its metadata only labels, annotations, owner references and finalizers.
pub(crate) fn owned_part(object: &Value) -> Value {
    let mut out = Map::new();
    for (k, v) in object.as_object().into_iter().flatten() {
        match k.as_str() {
            "apiVersion" | "kind" | "status" => {}
            "metadata" => {
                let meta: Map<String, Value> = OWNED_METADATA.iter().filter_map(|f| v.get(*f).map(|x| (f.to_string(), x.clone()))).collect();
                if !meta.is_empty() {
                    out.insert(k.clone(), Value::Object(meta));
                }
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Object(out)
}

/// The paths an applied object sets: its leaves, and the items of its keyed lists.
pub(crate) fn leaf_paths(object: &Value) -> BTreeSet<Path> {
    let mut out = BTreeSet::new();
    let kind = text(object, "/kind");
    if let Some(map) = owned_part(object).as_object() {
        for (k, v) in map {
            walk(kind, v, vec![k.clone()], &mut out);
        }
    }
    out
}

fn walk(kind: &str, v: &Value, prefix: Path, out: &mut BTreeSet<Path>) {
    match v {
        Value::Null => {}
        Value::Object(m) if !m.is_empty() && !is_atomic_map(kind, &prefix) => {
            for (k, c) in m {
                let mut p = prefix.clone();
                p.push(k.clone());
                walk(kind, c, p, out);
            }
        }
        Value::Array(items) if !items.is_empty() => match item_elements(kind, &prefix, items) {
            Some(elements) => {
                for (element, item) in elements.into_iter().zip(items) {
                    let mut p = prefix.clone();
                    p.push(element);
                    if item.is_object() {
                        out.insert(p.clone());
                    }
                    walk(kind, item, p, out);
                }
            }
            None => {
                out.insert(prefix);
            }
        },
        _ => {
            out.insert(prefix);
        }
    }
}

/// The value at `path`, list items included.
pub(crate) fn get<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut cur = v;
    for element in path {
        cur = match cur {
            Value::Object(m) => m.get(element)?,
            Value::Array(items) => items.iter().enumerate().find(|(i, item)| list_item_matches(element, *i, item)).map(|(_, item)| item)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Removes the value at `path` (a field or a list item), then the maps and lists left empty
/// above it.
pub(crate) fn remove(v: &mut Value, path: &[String]) {
    if remove_one(v, path) {
        let mut parent = path.to_vec();
        while parent.len() > 1 {
            parent.pop();
            let empty = match get(v, &parent) {
                Some(Value::Object(m)) => m.is_empty(),
                Some(Value::Array(items)) => items.is_empty(),
                _ => false,
            };
            if !empty || !remove_one(v, &parent) {
                break;
            }
        }
    }
}

fn remove_one(v: &mut Value, path: &[String]) -> bool {
    let Some((last, parent)) = path.split_last() else { return false };
    let mut cur = v;
    for element in parent {
        let next = match cur {
            Value::Object(m) => m.get_mut(element),
            Value::Array(items) => items.iter_mut().enumerate().find(|(i, item)| list_item_matches(element, *i, item)).map(|(_, item)| item),
            _ => None,
        };
        match next {
            Some(next) => cur = next,
            None => return false,
        }
    }
    match cur {
        Value::Object(m) => m.remove(last).is_some(),
        Value::Array(items) => match items.iter().enumerate().position(|(i, item)| list_item_matches(last, i, item)) {
            Some(at) => {
                items.remove(at);
                true
            }
            None => false,
        },
        _ => false,
    }
}

/// Whether removing `path` would take a key field from an item that stays: the key is removed
/// with its item or not at all.
pub(crate) fn is_key_field(path: &[String]) -> bool {
    let [.., item, field] = path else { return false };
    let Some(keys) = item.strip_prefix("k:").and_then(|json| serde_json::from_str::<Map<String, Value>>(json).ok()) else { return false };
    keys.contains_key(field)
}

/// `applied` merged into `live` as server-side apply merges them: maps key by key, keyed lists and
/// sets item by item (the order of structured-merge-diff: the applied items in their order, the
/// live items no one applied kept at their place), everything else replaced. `null`s are skipped.
pub(crate) fn merge(kind: &str, live: Option<&Value>, applied: &Value, prefix: &mut Path) -> Value {
    match (live, applied) {
        (_, Value::Object(a)) if !is_atomic_map(kind, prefix) => {
            let mut out = match live {
                Some(Value::Object(l)) => l.clone(),
                _ => Map::new(),
            };
            for (k, v) in a.iter().filter(|(_, v)| !v.is_null()) {
                prefix.push(k.clone());
                let merged = merge(kind, out.get(k), v, prefix);
                prefix.pop();
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (Some(Value::Array(l)), Value::Array(a)) => match (item_elements(kind, prefix, l), item_elements(kind, prefix, a)) {
            (Some(live_elements), Some(applied_elements)) => merge_items(kind, l, &live_elements, a, &applied_elements, prefix),
            _ => applied.clone(),
        },
        (_, Value::Array(a)) if item_elements(kind, prefix, a).is_some() => {
            // A new keyed list: its items, each merged with nothing (no `null`s kept).
            Value::Array(a.iter().map(|item| merge(kind, None, item, prefix)).collect())
        }
        _ => applied.clone(),
    }
}

/// structured-merge-diff's `visitListItems`: walks both lists at once, so that the items both have
/// come in the applied order and the live items the apply leaves out stay where they were.
fn merge_items(kind: &str, live: &[Value], live_elements: &[String], applied: &[Value], applied_elements: &[String], prefix: &mut Path) -> Value {
    let position = |elements: &[String], e: &str| elements.iter().position(|x| x == e);
    let mut shared = applied_elements.iter().filter(|e| position(live_elements, e).is_some()).peekable();
    let mut merged_applied: BTreeSet<&String> = BTreeSet::new();
    let mut out = Vec::with_capacity(live.len().max(applied.len()));
    let item = |e: &String, l: Option<&Value>, a: &Value, prefix: &mut Path| {
        prefix.push(e.clone());
        let v = merge(kind, l, a, prefix);
        prefix.pop();
        v
    };
    let (mut li, mut ai) = (0, 0);
    while li < live.len() || ai < applied.len() {
        if li < live.len() && ai < applied.len() {
            if live_elements[li] == applied_elements[ai] {
                merged_applied.insert(&applied_elements[ai]);
                out.push(item(&applied_elements[ai], Some(&live[li]), &applied[ai], prefix));
                li += 1;
                ai += 1;
                shared.next();
                continue;
            }
            let in_applied = position(applied_elements, &live_elements[li]).is_some();
            if in_applied && shared.peek().is_some_and(|next| **next != live_elements[li]) {
                li += 1;
                continue;
            }
        }
        if li < live.len() {
            if position(applied_elements, &live_elements[li]).is_none() {
                out.push(live[li].clone());
                li += 1;
                continue;
            } else if merged_applied.contains(&live_elements[li]) {
                li += 1;
            }
        }
        if ai < applied.len() {
            let e = &applied_elements[ai];
            merged_applied.insert(e);
            let l = position(live_elements, e).map(|i| &live[i]);
            out.push(item(e, l, &applied[ai], prefix));
            ai += 1;
            if shared.peek().is_some_and(|next| *next == e) {
                shared.next();
            }
        }
    }
    Value::Array(out)
}

/// A path as the API server writes it in conflicts: `.spec.ports[port=80,protocol="TCP"].targetPort`.
pub(crate) fn display(path: &[String]) -> String {
    path.iter()
        .map(|element| {
            if let Some(json) = element.strip_prefix("k:") {
                let keys: Map<String, Value> = serde_json::from_str(json).unwrap_or_default();
                let parts: Vec<String> = keys.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("[{}]", parts.join(","))
            } else if let Some(json) = element.strip_prefix("v:") {
                format!("[={json}]")
            } else {
                format!(".{element}")
            }
        })
        .collect()
}

/// A set of paths as a `fieldsV1` value: `f:` before field names, items as they are, `.` on an
/// item (or field) owned beside its fields.
pub(crate) fn to_fields_v1(paths: &BTreeSet<Path>) -> Value {
    let mut root = Value::Object(Map::new());
    // Longer paths first, so that a path whose fields were written is marked with `.`.
    for p in paths.iter().rev() {
        let keys: Path = p.iter().map(|s| if is_item(s) { s.clone() } else { format!("f:{s}") }).collect();
        if util::get(&root, &keys).is_some() {
            let mut dot = keys.clone();
            dot.push(".".into());
            util::set(&mut root, &dot, json!({}));
        } else {
            util::set(&mut root, &keys, json!({}));
        }
    }
    root
}

/// The paths of a `fieldsV1` value.
pub(crate) fn from_fields_v1(v: &Value, prefix: Path, out: &mut BTreeSet<Path>) {
    let Some(m) = v.as_object() else { return };
    if m.is_empty() {
        if !prefix.is_empty() {
            out.insert(prefix);
        }
        return;
    }
    for (k, c) in m {
        if k == "." {
            out.insert(prefix.clone());
            continue;
        }
        let element = match k.strip_prefix("f:") {
            Some(name) => name.to_string(),
            None if is_item(k) => k.clone(),
            None => continue,
        };
        let mut p = prefix.clone();
        p.push(element);
        from_fields_v1(c, p, out);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn path(elements: &[&str]) -> Path {
        elements.iter().map(|e| e.to_string()).collect()
    }

    fn deployment(containers: Value) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "finalizers": ["example.com/a"]},
               "spec": {"template": {"spec": {"containers": containers, "tolerations": [{"key": "k"}]}}}})
    }

    #[test]
    fn keyed_items_and_set_members_are_paths_of_their_own() {
        let paths = leaf_paths(&deployment(json!([{"name": "app", "image": "a", "ports": [{"containerPort": 80}]}])));
        let containers = ["spec", "template", "spec", "containers"];
        let item = |rest: &[&str]| path(&[&containers[..], &["k:{\"name\":\"app\"}"], rest].concat());
        let expected: BTreeSet<Path> = [
            path(&["metadata", "finalizers", "v:\"example.com/a\""]),
            item(&[]),
            item(&["name"]),
            item(&["image"]),
            item(&["ports", "k:{\"containerPort\":80,\"protocol\":\"TCP\"}"]),
            item(&["ports", "k:{\"containerPort\":80,\"protocol\":\"TCP\"}", "containerPort"]),
            // Tolerations are an atomic list: one leaf.
            path(&["spec", "template", "spec", "tolerations"]),
        ]
        .into_iter()
        .collect();
        assert_eq!(paths, expected);
        // `fieldsV1` marks an item owned beside its fields with `.`, and reads back the same paths.
        let written = to_fields_v1(&paths);
        let app = &written["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"app\"}"];
        assert_eq!(app["."], json!({}));
        let mut read = BTreeSet::new();
        from_fields_v1(&written, Vec::new(), &mut read);
        assert_eq!(read, paths);
    }

    #[test]
    fn lists_without_keys_stay_atomic() {
        // Two containers of the same name, or one without a name: the list is one leaf.
        for containers in [json!([{"name": "a"}, {"name": "a"}]), json!([{"image": "x"}])] {
            let paths = leaf_paths(&deployment(containers));
            assert!(paths.contains(&path(&["spec", "template", "spec", "containers"])), "{paths:?}");
        }
    }

    #[test]
    fn merges_follow_structured_merge_diff_order() {
        let ports = |list: Value| json!({"spec": {"ports": list}});
        let port = |p: u16| json!({"port": p});
        let merged = |live: Value, applied: Value| merge("Service", Some(&ports(live)), &ports(applied), &mut Vec::new())["spec"]["ports"].clone();
        // Applied items in their order, live-only items where they were.
        assert_eq!(merged(json!([port(80)]), json!([port(9090), port(80)])), json!([port(9090), port(80)]));
        assert_eq!(merged(json!([port(1), port(2), port(3)]), json!([port(3), port(1)])), json!([port(2), port(3), port(1)]));
        assert_eq!(merged(json!([port(1), port(2)]), json!([port(4)])), json!([port(1), port(2), port(4)]));
        // A live item and its applied twin merge field by field; `null`s are skipped.
        let live = json!([{"port": 80, "protocol": "TCP", "targetPort": 8080, "name": "http"}]);
        let out = merged(live, json!([{"port": 80, "targetPort": 9090, "name": null}]));
        assert_eq!(out, json!([{"port": 80, "protocol": "TCP", "targetPort": 9090, "name": "http"}]));
        // An atomic list is replaced.
        let selector = json!({"spec": {"externalIPs": ["1.2.3.4"]}});
        let out = merge("Service", Some(&selector), &json!({"spec": {"externalIPs": ["5.6.7.8"]}}), &mut Vec::new());
        assert_eq!(out["spec"]["externalIPs"], json!(["5.6.7.8"]));
    }

    #[test]
    fn removals_take_items_and_empty_lists() {
        let mut object = json!({"metadata": {"finalizers": ["a", "b"]}, "spec": {"ports": [{"port": 80, "protocol": "TCP"}]}});
        remove(&mut object, &path(&["metadata", "finalizers", "v:\"a\""]));
        assert_eq!(object["metadata"]["finalizers"], json!(["b"]));
        remove(&mut object, &path(&["spec", "ports", "k:{\"port\":80,\"protocol\":\"TCP\"}"]));
        assert_eq!(object.get("spec"), None, "the emptied list and map go: {object}");
        assert!(is_key_field(&path(&["spec", "ports", "k:{\"port\":80,\"protocol\":\"TCP\"}", "port"])));
        assert!(!is_key_field(&path(&["spec", "ports", "k:{\"port\":80,\"protocol\":\"TCP\"}", "targetPort"])));
    }

    #[test]
    fn paths_are_written_as_the_api_server_writes_them() {
        let field = path(&["spec", "ports", "k:{\"port\":80,\"protocol\":\"TCP\"}", "targetPort"]);
        assert_eq!(display(&field), ".spec.ports[port=80,protocol=\"TCP\"].targetPort");
        assert_eq!(display(&path(&["metadata", "finalizers", "v:\"x\""])), ".metadata.finalizers[=\"x\"]");
        // Owning an item owns its presence, not its fields; owning a leaf owns what is under it.
        let item = path(&["spec", "ports", "k:{\"port\":80,\"protocol\":\"TCP\"}"]);
        assert!(!covers(&item, &field) && covers(&item, &item));
        assert!(covers(&path(&["spec", "selector"]), &path(&["spec", "selector", "app"])));
    }

    /// Ports with distinct keys, from a small range so that live and applied lists share some.
    fn ports() -> impl Strategy<Value = Vec<u16>> {
        proptest::sample::subsequence((1u16..=8).collect::<Vec<_>>(), 0..=8).prop_shuffle()
    }

    proptest! {
        /// Every live and every applied item comes out once, the applied ones in their order, and
        /// merging the same again changes nothing.
        #[test]
        fn merged_keyed_lists_keep_every_item_once(live in ports(), applied in ports()) {
            let as_list = |ports: &[u16]| json!({"spec": {"ports": ports.iter().map(|p| json!({"port": p, "name": format!("p{p}")})).collect::<Vec<_>>()}});
            let once = merge("Service", Some(&as_list(&live)), &as_list(&applied), &mut Vec::new());
            let out: Vec<u16> = once["spec"]["ports"].as_array().into_iter().flatten().filter_map(|p| p["port"].as_u64()).map(|p| p as u16).collect();
            let mut expected: Vec<u16> = live.iter().chain(&applied).copied().collect();
            expected.sort_unstable();
            expected.dedup();
            let mut sorted = out.clone();
            sorted.sort_unstable();
            prop_assert_eq!(sorted, expected);
            let applied_order: Vec<u16> = out.iter().copied().filter(|p| applied.contains(p)).collect();
            prop_assert_eq!(applied_order, applied.clone());
            let twice = merge("Service", Some(&once), &as_list(&applied), &mut Vec::new());
            prop_assert_eq!(twice, once);
        }
    }
}
