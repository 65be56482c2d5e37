//! Conformance cases of server-side apply with several managers: keyed lists (containers, env, ports)
//! and sets (finalizers) merged and owned item by item, and conflicts named down to the item's field.

use moorage::backend::{ApplyOptions, Backend, BackendError, Change};
use serde_json::{json, Value};

use super::{configmap, configmap_kind, deployment, deployment_kind, service, setup, teardown};

fn manager(name: &str) -> ApplyOptions {
    ApplyOptions { field_manager: name.into(), ..ApplyOptions::default() }
}

/// The values of `field` in the items of a list.
fn item_values(list: &Value, field: &str) -> Vec<String> {
    list.as_array().into_iter().flatten().map(|item| item[field].as_str().map(str::to_string).unwrap_or_else(|| item[field].to_string())).collect()
}

/// The `fieldsV1` of `name`'s entry in an object's `managedFields`.
fn fields_of<'a>(object: &'a Value, name: &str) -> &'a Value {
    let entries = object["metadata"]["managedFields"].as_array().expect("managedFields");
    &entries.iter().find(|e| e["manager"] == name).unwrap_or_else(|| panic!("no entry of {name} in {entries:?}"))["fieldsV1"]
}

fn conflict(err: BackendError) -> (String, String) {
    match err {
        BackendError::Conflict { field, manager, .. } => (field, manager),
        other => panic!("expected a conflict, got {other}"),
    }
}

/// A partial Deployment `web` of another manager: only the pod template's containers.
fn containers_only(ns: &str, containers: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": ns},
           "spec": {"template": {"spec": {"containers": containers}}}})
}

pub async fn lists_merge_item_by_item(b: &dyn Backend, ns: &str) {
    setup(b, ns).await;
    let mine = ApplyOptions::default();
    let injector = manager("sidecar-injector");
    let mut web = deployment(ns, "web", 1, "nginx:1.27");
    web["spec"]["template"]["spec"]["containers"][0]["env"] = json!([{"name": "MODE", "value": "blue"}, {"name": "LEVEL", "value": "info"}]);
    let created = b.apply(&[web.clone()], &mine).await.unwrap().remove(0).result;
    // moorage's entry in managedFields: what it applied, lists by item (`.` marks an item owned
    // beside its fields), the atomic selector whole.
    let item = |fields: Value| {
        let mut fields = fields;
        fields["."] = json!({});
        fields
    };
    let port = item(json!({"f:containerPort": {}, "f:name": {}}));
    let env = |name: &str| (format!("k:{{\"name\":\"{name}\"}}"), item(json!({"f:name": {}, "f:value": {}})));
    let container = item(json!({
        "f:image": {}, "f:name": {},
        "f:env": Value::Object([env("MODE"), env("LEVEL")].into_iter().collect()),
        "f:ports": {"k:{\"containerPort\":8080,\"protocol\":\"TCP\"}": port},
        "f:resources": {"f:limits": {"f:cpu": {}, "f:memory": {}}, "f:requests": {"f:cpu": {}, "f:memory": {}}},
    }));
    let expected = json!({
        "f:metadata": {"f:labels": {"f:app": {}}},
        "f:spec": {"f:replicas": {}, "f:selector": {}, "f:template": {
            "f:metadata": {"f:labels": {"f:app": {}, "f:tier": {}}},
            "f:spec": {"f:containers": {"k:{\"name\":\"web\"}": container}},
        }},
    });
    assert_eq!(fields_of(&created, "moorage"), &expected);

    // Another manager adds a container, and a variable to moorage's container, naming it only:
    // containers are merged by name, variables too.
    let sidecar = containers_only(ns, json!([{"name": "web", "env": [{"name": "TRACE", "value": "on"}]}, {"name": "proxy", "image": "envoy:1.31"}]));
    let merged = b.apply(&[sidecar], &injector).await.unwrap().remove(0).result;
    let containers = &merged["spec"]["template"]["spec"]["containers"];
    assert_eq!(item_values(containers, "name"), ["web", "proxy"]);
    assert_eq!(item_values(&containers[0]["env"], "name"), ["MODE", "LEVEL", "TRACE"]);
    assert_eq!(containers[0]["image"], "nginx:1.27", "moorage's fields of the item stay");
    let theirs = &fields_of(&merged, "sidecar-injector")["f:spec"]["f:template"]["f:spec"]["f:containers"];
    assert!(theirs["k:{\"name\":\"proxy\"}"]["f:image"].is_object(), "{theirs}");
    assert!(theirs["k:{\"name\":\"web\"}"]["f:env"]["k:{\"name\":\"TRACE\"}"]["f:value"].is_object(), "{theirs}");
    assert!(theirs["k:{\"name\":\"web\"}"].get("f:image").is_none(), "the injector does not own moorage's image: {theirs}");

    // moorage's own apply again changes nothing: the other manager's items stay.
    let again = b.apply(&[web.clone()], &mine).await.unwrap();
    assert_eq!(again[0].change, Change::Unchanged);

    // moorage drops a variable it set: that one goes, the injector's stay.
    web["spec"]["template"]["spec"]["containers"][0]["env"] = json!([{"name": "MODE", "value": "blue"}]);
    let dropped = b.apply(&[web.clone()], &mine).await.unwrap().remove(0).result;
    let containers = &dropped["spec"]["template"]["spec"]["containers"];
    assert_eq!(item_values(containers, "name"), ["web", "proxy"]);
    assert_eq!(item_values(&containers[0]["env"], "name"), ["MODE", "TRACE"]);

    // Another value for a field moorage owns in an item conflicts on that field alone.
    let takeover = containers_only(ns, json!([{"name": "web", "image": "nginx:1.28"}]));
    let (field, owner) = conflict(b.apply(&[takeover], &injector).await.unwrap_err());
    assert_eq!((field.as_str(), owner.as_str()), (".spec.template.spec.containers[name=\"web\"].image", "moorage"));
    let live = b.get(&deployment_kind(), Some(ns), "web").await.unwrap().unwrap();
    assert_eq!(live["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.27");

    // A Service's ports are keyed by port and protocol (TCP when left out).
    b.apply(&[service(ns, "web", "web")], &mine).await.unwrap();
    let metrics = |target: Value| {
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": ns},
               "spec": {"ports": [{"name": "metrics", "port": 9090, "targetPort": 9090}, {"port": 80, "targetPort": target}]}})
    };
    let (field, owner) = conflict(b.apply(&[metrics(json!(8080))], &manager("monitoring")).await.unwrap_err());
    assert_eq!((field.as_str(), owner.as_str()), (".spec.ports[port=80,protocol=\"TCP\"].targetPort", "moorage"));
    let shared = b.apply(&[metrics(json!("http"))], &manager("monitoring")).await.unwrap().remove(0).result;
    // structured-merge-diff's order: the applied items in their order, an item the apply leaves out
    // where it was.
    assert_eq!(item_values(&shared["spec"]["ports"], "port"), ["9090", "80"]);
    teardown(b, ns).await;
}

pub async fn finalizers_are_a_set(b: &dyn Backend, ns: &str) {
    setup(b, ns).await;
    let mut held = configmap(ns, "held", "x");
    held["metadata"]["finalizers"] = json!(["example.com/a"]);
    b.apply(&[held.clone()], &ApplyOptions::default()).await.unwrap();
    let mut theirs = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "held", "namespace": ns, "finalizers": ["example.com/b"]}});
    let both = b.apply(&[theirs.clone()], &manager("holder")).await.unwrap().remove(0).result;
    assert_eq!(both["metadata"]["finalizers"], json!(["example.com/a", "example.com/b"]));
    assert!(fields_of(&both, "holder")["f:metadata"]["f:finalizers"]["v:\"example.com/b\""].is_object(), "{both}");

    // Each manager removes its own finalizer only.
    held["metadata"].as_object_mut().unwrap().remove("finalizers");
    let one = b.apply(&[held], &ApplyOptions::default()).await.unwrap().remove(0).result;
    assert_eq!(one["metadata"]["finalizers"], json!(["example.com/b"]));
    theirs["metadata"].as_object_mut().unwrap().remove("finalizers");
    let none = b.apply(&[theirs], &manager("holder")).await.unwrap().remove(0).result;
    assert_eq!(none["metadata"].get("finalizers"), None, "{none}");
    assert!(b.get(&configmap_kind(), Some(ns), "held").await.unwrap().is_some());
    teardown(b, ns).await;
}
