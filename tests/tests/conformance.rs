//! The backend conformance suite: one set of cases, run against the embedded simulated cluster
//! (always) and the real test control plane (whenever `MOORAGE_TEST_KUBECONFIG` is set; always in CI).
//! Differences between the two are either fixed or listed in docs/simulated-cluster.md.

use std::time::Duration;

use futures_util::StreamExt;
use moorage::backend::wait::{self, Target};
use moorage::backend::{ownership, ApplyOptions, Backend, BackendError, Change, Kind, Propagation, Selector, WatchEvent};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(90);
/// Garbage collection on a freshly started control plane waits for its informers to sync, which
/// takes a while on a loaded two-core machine.
const GC_WAIT: Duration = Duration::from_secs(240);

fn kind<K: k8s_openapi::Resource<Scope = S>, S: 'static>() -> Kind {
    Kind::of::<K>()
}
fn deployment_kind() -> Kind {
    kind::<k8s_openapi::api::apps::v1::Deployment, _>()
}
fn configmap_kind() -> Kind {
    kind::<k8s_openapi::api::core::v1::ConfigMap, _>()
}
fn pod_kind() -> Kind {
    kind::<k8s_openapi::api::core::v1::Pod, _>()
}
fn slice_kind() -> Kind {
    kind::<k8s_openapi::api::discovery::v1::EndpointSlice, _>()
}

fn namespace(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
}

fn configmap(ns: &str, name: &str, value: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns, "labels": {"suite": "conformance"}}, "data": {"key": value}})
}

fn deployment(ns: &str, name: &str, replicas: u32, image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name, "tier": "web"}},
                "spec": {"containers": [{"name": "web", "image": image, "ports": [{"name": "http", "containerPort": 8080}],
                          "resources": {"limits": {"cpu": "100m", "memory": "64Mi"}, "requests": {"cpu": "50m", "memory": "32Mi"}}}]}
            }
        }
    })
}

fn service(ns: &str, name: &str, selector_app: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"selector": {"app": selector_app}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}
    })
}

async fn setup(backend: &dyn Backend, ns: &str) {
    backend.apply(&[namespace(ns)], &ApplyOptions::default()).await.expect("namespace created");
}

async fn teardown(backend: &dyn Backend, ns: &str) {
    let _ = backend.delete(&kind::<k8s_openapi::api::core::v1::Namespace, _>(), None, ns, Propagation::Background).await;
}

async fn wait_available(backend: &dyn Backend, ns: &str, name: &str) -> Value {
    let found =
        wait::wait_for(backend, &Target::object(deployment_kind(), Some(ns), name), &wait::deployment_available(), WAIT).await.expect("deployment available");
    found.into_iter().next().expect("one deployment")
}

#[path = "conformance/apply_cases.rs"]
mod apply_cases;
#[path = "conformance/defaults_cases.rs"]
mod defaults_cases;
#[path = "conformance/lifecycle_cases.rs"]
mod lifecycle_cases;
#[path = "conformance/resource_cases.rs"]
mod resource_cases;

/// The cases: each takes a backend and a fresh namespace name.
mod cases {
    pub use super::apply_cases::*;
    pub use super::defaults_cases::*;
    pub use super::lifecycle_cases::*;
    pub use super::resource_cases::*;

    use super::*;

    pub async fn apply_is_idempotent(b: &dyn Backend, ns: &str) {
        setup(b, ns).await;
        let first = b.apply(&[configmap(ns, "settings", "a")], &ApplyOptions::default()).await.unwrap();
        assert_eq!(first[0].change, Change::Created);
        let again = b.apply(&[configmap(ns, "settings", "a")], &ApplyOptions::default()).await.unwrap();
        assert_eq!(again[0].change, Change::Unchanged, "second apply changes nothing");
        assert_eq!(first[0].result["metadata"]["resourceVersion"], again[0].result["metadata"]["resourceVersion"]);
        let changed = b.apply(&[configmap(ns, "settings", "b")], &ApplyOptions::default()).await.unwrap();
        assert_eq!(changed[0].change, Change::Updated);
        let got = b.get(&configmap_kind(), Some(ns), "settings").await.unwrap().unwrap();
        assert_eq!(got["data"]["key"], "b");
        teardown(b, ns).await;
    }

    pub async fn dry_run_changes_nothing(b: &dyn Backend, ns: &str) {
        setup(b, ns).await;
        let would = b.apply(&[configmap(ns, "dry", "x")], &ApplyOptions::dry_run()).await.unwrap();
        assert_eq!(would[0].change, Change::Created);
        assert_eq!(b.get(&configmap_kind(), Some(ns), "dry").await.unwrap(), None);
        teardown(b, ns).await;
    }

    pub async fn another_field_manager_conflicts_unless_forced(b: &dyn Backend, ns: &str) {
        setup(b, ns).await;
        b.apply(&[service(ns, "web", "blue")], &ApplyOptions::default()).await.unwrap();
        // Someone edits the selector with another tool (as `kubectl edit` would).
        let edit = ApplyOptions { field_manager: "kubectl-edit".into(), ..ApplyOptions::force() };
        b.apply(&[service(ns, "web", "green")], &edit).await.unwrap();
        let err = b.apply(&[service(ns, "web", "blue")], &ApplyOptions::default()).await.unwrap_err();
        let BackendError::Conflict { manager, field, object } = &err else { panic!("expected a conflict, got {err}") };
        assert_eq!(manager, "kubectl-edit");
        assert!(field.contains("selector"), "{field}");
        assert_eq!(object.name, "web");
        b.apply(&[service(ns, "web", "blue")], &ApplyOptions::force()).await.unwrap();
        let svc = b.get(&kind::<k8s_openapi::api::core::v1::Service, _>(), Some(ns), "web").await.unwrap().unwrap();
        assert_eq!(svc["spec"]["selector"]["app"], "blue", "force takes the field back");
        teardown(b, ns).await;
    }

    /// A resourceVersion in an apply is a precondition: the first writer at the version read
    /// wins, a second one at the same version is refused with `Modified` and writes nothing.
    pub async fn a_stale_resource_version_is_modified(b: &dyn Backend, ns: &str) {
        setup(b, ns).await;
        b.apply(&[configmap(ns, "lock", "a")], &ApplyOptions::default()).await.unwrap();
        let read = b.get(&configmap_kind(), Some(ns), "lock").await.unwrap().unwrap();
        let at_read = |value: &str| {
            let mut object = configmap(ns, "lock", value);
            object["metadata"]["resourceVersion"] = read["metadata"]["resourceVersion"].clone();
            object
        };
        let won = b.apply(&[at_read("b")], &ApplyOptions::default()).await.expect("the first write at the version read");
        assert_eq!(won[0].change, Change::Updated);
        let err = b.apply(&[at_read("c")], &ApplyOptions::default()).await.unwrap_err();
        let BackendError::Modified { object, message } = &err else { panic!("expected Modified, got {err}") };
        assert_eq!(object.name, "lock");
        assert!(message.contains("modified"), "{message}");
        let got = b.get(&configmap_kind(), Some(ns), "lock").await.unwrap().unwrap();
        assert_eq!(got["data"]["key"], "b", "the refused write changed nothing");
        teardown(b, ns).await;
    }

    /// Server-set metadata in an applied object (e.g. an object read, edited and applied back):
    /// a `resourceVersion` is a precondition only when the object exists; a `uid` is a
    /// precondition (`Modified` when no object exists; `Invalid`, immutable, when it is another
    /// object's), a `deletionTimestamp` cannot be set on an existing object, a `creationTimestamp`
    /// is ignored, and empty strings are unset fields.
    pub async fn server_set_metadata_is_checked_not_applied(b: &dyn Backend, ns: &str) {
        setup(b, ns).await;
        let with = |name: &str, value: &str, field: &str, given: &str| {
            let mut object = configmap(ns, name, value);
            object["metadata"][field] = json!(given);
            object
        };
        let stranger = "11111111-2222-3333-4444-555555555555";
        let err = b.apply(&[with("gone", "a", "uid", stranger)], &ApplyOptions::default()).await.unwrap_err();
        assert!(matches!(&err, BackendError::Modified { object, message } if object.name == "gone" && message.contains("uid")), "{err:?}");
        assert_eq!(b.get(&configmap_kind(), Some(ns), "gone").await.unwrap(), None, "nothing was created");

        // A resourceVersion is a precondition on an existing object only: one that does not
        // exist is created. Empty strings are unset fields.
        let fresh = b.apply(&[with("fresh", "a", "resourceVersion", "12345")], &ApplyOptions::default()).await.unwrap();
        assert_eq!(fresh[0].change, Change::Created);
        assert_ne!(fresh[0].result["metadata"]["resourceVersion"], "12345");
        let mut unset = with("fresh", "b", "resourceVersion", "");
        unset["metadata"]["uid"] = json!("");
        let updated = b.apply(&[unset], &ApplyOptions::default()).await.unwrap();
        assert_eq!(updated[0].change, Change::Updated);
        assert_eq!(updated[0].result["data"]["key"], "b");

        let created = b.apply(&[with("live", "a", "creationTimestamp", "2020-01-01T00:00:00Z")], &ApplyOptions::default()).await.unwrap();
        assert_eq!(created[0].change, Change::Created);
        assert_ne!(created[0].result["metadata"]["creationTimestamp"], "2020-01-01T00:00:00Z", "the server sets creationTimestamp");
        let uid = created[0].result["metadata"]["uid"].as_str().expect("a uid").to_string();

        let immutable = |err: BackendError, field: &str| {
            let BackendError::Invalid { object, causes } = &err else { panic!("expected Invalid, got {err:?}") };
            assert_eq!(object.name, "live");
            assert!(causes.iter().any(|c| c.field == field && c.message.contains("immutable")), "{causes:?}");
        };
        immutable(b.apply(&[with("live", "b", "uid", stranger)], &ApplyOptions::default()).await.unwrap_err(), "metadata.uid");
        immutable(
            b.apply(&[with("live", "b", "deletionTimestamp", "2020-01-01T00:00:00Z")], &ApplyOptions::default()).await.unwrap_err(),
            "metadata.deletionTimestamp",
        );
        let own = b.apply(&[with("live", "c", "uid", &uid)], &ApplyOptions::default()).await.expect("its own uid holds");
        assert_eq!(own[0].change, Change::Updated);

        let got = b.get(&configmap_kind(), Some(ns), "live").await.unwrap().unwrap();
        assert_eq!(got["data"]["key"], "c", "only the apply with its own uid changed it");
        assert_eq!(got["metadata"]["uid"], uid.as_str());
        assert!(got["metadata"].get("deletionTimestamp").is_none(), "{got}");
        teardown(b, ns).await;
    }

    /// `metadata.generation` is kept where the API server keeps it: a Deployment's is 1 at
    /// creation, stays with a change of its labels and is bumped by a change of its spec or its
    /// annotations; a ConfigMap and a Namespace have none, also after a change, unless the applied
    /// object that creates one gives it.
    pub async fn generation_is_kept_for_workloads_not_config(b: &dyn Backend, ns: &str) {
        setup(b, ns).await;
        let generation = |o: &Value| o["metadata"].get("generation").cloned();
        let namespace_kind = kind::<k8s_openapi::api::core::v1::Namespace, _>();
        let live_ns = b.get(&namespace_kind, None, ns).await.unwrap().expect("the namespace");
        assert_eq!(generation(&live_ns), None, "{live_ns}");

        for value in ["a", "b"] {
            let applied = b.apply(&[configmap(ns, "plain", value)], &ApplyOptions::default()).await.unwrap();
            assert_ne!(applied[0].change, Change::Unchanged);
            assert_eq!(generation(&applied[0].result), None, "{}", applied[0].result);
        }

        // A generation in the applied object: stored as given on a kind that keeps none, where an
        // update keeps the stored one; set by the server on a Deployment.
        let mut given = configmap(ns, "given", "a");
        given["metadata"]["generation"] = json!(7);
        let created = b.apply(std::slice::from_ref(&given), &ApplyOptions::default()).await.unwrap();
        assert_eq!(generation(&created[0].result), Some(json!(7)), "{}", created[0].result);
        given["metadata"]["generation"] = json!(9);
        given["data"]["key"] = json!("b");
        let updated = b.apply(std::slice::from_ref(&given), &ApplyOptions::default()).await.unwrap();
        assert_eq!(updated[0].change, Change::Updated);
        assert_eq!(generation(&updated[0].result), Some(json!(7)), "{}", updated[0].result);

        let mut web = deployment(ns, "web", 1, "nginx:1.27");
        web["metadata"]["generation"] = json!(5);
        let created = b.apply(std::slice::from_ref(&web), &ApplyOptions::default()).await.unwrap();
        assert_eq!(generation(&created[0].result), Some(json!(1)));
        web["metadata"].as_object_mut().unwrap().remove("generation");
        web["metadata"]["labels"]["team"] = json!("shop");
        let relabelled = b.apply(std::slice::from_ref(&web), &ApplyOptions::default()).await.unwrap();
        assert_eq!(relabelled[0].change, Change::Updated);
        assert_eq!(generation(&relabelled[0].result), Some(json!(1)), "a metadata change keeps the generation");
        web["spec"]["replicas"] = json!(2);
        let scaled = b.apply(std::slice::from_ref(&web), &ApplyOptions::default()).await.unwrap();
        assert_eq!(generation(&scaled[0].result), Some(json!(2)), "a spec change bumps it");
        web["metadata"]["annotations"] = json!({"team.example/owner": "shop"});
        let annotated = b.apply(std::slice::from_ref(&web), &ApplyOptions::default()).await.unwrap();
        assert_eq!(generation(&annotated[0].result), Some(json!(3)), "a Deployment's annotations bump it too (they are copied to its ReplicaSets)");
        let live = b.get(&deployment_kind(), Some(ns), "web").await.unwrap().unwrap();
        assert_eq!(generation(&live), Some(json!(3)));
        teardown(b, ns).await;
    }

    /// The API server's checks of metadata, each refused with `Invalid` naming the field and
    /// nothing created: label keys and values, annotation keys and total size, finalizer names,
    /// owner references without a uid, `managedFields` in an apply, a missing name.
    pub async fn metadata_is_validated(b: &dyn Backend, ns: &str) {
        setup(b, ns).await;
        let with = |name: &str, edit: &dyn Fn(&mut Value)| {
            let mut object = configmap(ns, name, "a");
            edit(&mut object["metadata"]);
            object
        };
        let cases: Vec<(Value, &str, &str)> = vec![
            (with("label-value", &|m| m["labels"]["tier"] = json!("has space")), "metadata.labels", "has space"),
            (with("label-key", &|m| m["labels"] = json!({"-tier": "web"})), "metadata.labels", "-tier"),
            (with("annotation-key", &|m| m["annotations"] = json!({"bad key": "x"})), "metadata.annotations", "bad key"),
            (with("annotations-size", &|m| m["annotations"] = json!({"big": "x".repeat(300_000)})), "metadata.annotations", "262144"),
            (with("finalizer", &|m| m["finalizers"] = json!(["cleanup"])), "metadata.finalizers[0]", "fully qualified"),
            (
                with("owner", &|m| m["ownerReferences"] = json!([{"apiVersion": "v1", "kind": "ConfigMap", "name": "x"}])),
                "metadata.ownerReferences.uid",
                "must not be empty",
            ),
            (
                with("managed", &|m| {
                    m["managedFields"] = json!([{"manager": "x", "operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV1", "fieldsV1": {}}])
                }),
                "",
                "metadata.managedFields must be nil",
            ),
        ];
        for (object, field, says) in cases {
            let name = object["metadata"]["name"].as_str().unwrap().to_string();
            let err = b.apply(std::slice::from_ref(&object), &ApplyOptions::default()).await.unwrap_err();
            let BackendError::Invalid { object: refused, causes } = &err else { panic!("{name}: expected Invalid, got {err:?}") };
            assert_eq!(refused.name, name);
            assert!(causes.iter().any(|c| c.field == field && c.message.contains(says)), "{name}: {causes:?}");
            assert_eq!(b.get(&configmap_kind(), Some(ns), &name).await.unwrap(), None, "{name}: nothing was created");
        }
        let mut nameless = configmap(ns, "x", "a");
        nameless["metadata"] = json!({"generateName": "x-", "namespace": ns});
        let err = b.apply(&[nameless], &ApplyOptions::default()).await.unwrap_err();
        assert!(matches!(&err, BackendError::Invalid { causes, .. } if causes.iter().any(|c| c.field == "metadata.name")), "{err:?}");
        // The standard finalizers need no prefix, qualified ones are kept.
        let kept = with("finalized", &|m| m["finalizers"] = json!(["example.com/cleanup"]));
        b.apply(&[kept], &ApplyOptions::default()).await.expect("a qualified finalizer");
        let mut done = with("finalized", &|_| {});
        done["metadata"]["finalizers"] = json!([]);
        b.apply(&[done], &ApplyOptions::default()).await.expect("finalizer removed");
        teardown(b, ns).await;
    }

    /// Fields the API server refuses to change once set, each refused with `Invalid` naming the
    /// field and the object left as it was: an immutable ConfigMap's data (its labels may change)
    /// and `immutable` itself, a Deployment's selector, a Job's pod template, a Secret's type, a
    /// Service's cluster IP, a RoleBinding's roleRef, a claim's access modes. And a label selector
    /// whose value no label can have is refused.
    pub async fn immutable_fields_are_refused(b: &dyn Backend, ns: &str) {
        setup(b, ns).await;
        let refused = |result: Result<Vec<moorage::backend::Applied>, BackendError>, field: &str| {
            let err = result.unwrap_err();
            let BackendError::Invalid { causes, .. } = &err else { panic!("{field}: expected Invalid, got {err:?}") };
            let says = |c: &moorage::backend::Cause| ["immutable", "may not change", "cannot change"].iter().any(|s| c.message.contains(s));
            assert!(causes.iter().any(|c| c.field == field && says(c)), "{field}: {causes:?}");
        };
        let apply = |object: &Value| {
            let object = object.clone();
            async move { b.apply(&[object], &ApplyOptions::default()).await }
        };

        let mut config = configmap(ns, "locked", "a");
        config["immutable"] = json!(true);
        apply(&config).await.unwrap();
        config["data"]["key"] = json!("b");
        refused(apply(&config).await, "data");
        config["data"]["key"] = json!("a");
        config["metadata"]["labels"]["release"] = json!("v2");
        assert_eq!(apply(&config).await.expect("labels may change")[0].change, Change::Updated);
        config["immutable"] = json!(false);
        refused(apply(&config).await, "immutable");
        let live = b.get(&configmap_kind(), Some(ns), "locked").await.unwrap().unwrap();
        assert_eq!((&live["data"]["key"], &live["immutable"]), (&json!("a"), &json!(true)));

        let mut web = deployment(ns, "web", 1, "nginx:1.27");
        apply(&web).await.unwrap();
        web["spec"]["selector"]["matchLabels"]["tier"] = json!("web");
        refused(apply(&web).await, "spec.selector");
        let live = b.get(&deployment_kind(), Some(ns), "web").await.unwrap().unwrap();
        assert_eq!(live["spec"]["selector"]["matchLabels"], json!({"app": "web"}));

        let mut job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate", "namespace": ns},
            "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "migrate", "image": "busybox:1.36"}]}}}});
        apply(&job).await.unwrap();
        job["spec"]["template"]["spec"]["containers"][0]["image"] = json!("busybox:1.37");
        refused(apply(&job).await, "spec.template");

        let mut secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds", "namespace": ns}, "data": {"token": "c2VjcmV0"}});
        assert_eq!(apply(&secret).await.unwrap()[0].result["type"], "Opaque", "the type's default");
        secret["type"] = json!("kubernetes.io/tls");
        refused(apply(&secret).await, "type");

        let mut front = service(ns, "front", "web");
        let created = apply(&front).await.unwrap();
        let ip = created[0].result["spec"]["clusterIP"].as_str().expect("a cluster IP").to_string();
        front["spec"]["clusterIP"] = json!("10.0.0.99");
        refused(apply(&front).await, "spec.clusterIPs[0]");
        front["spec"]["clusterIP"] = json!(ip);
        apply(&front).await.expect("the same cluster IP, given");

        let binding = |role: &str| {
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "admins", "namespace": ns},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role},
                   "subjects": [{"kind": "User", "name": "ada@acme.test", "apiGroup": "rbac.authorization.k8s.io"}]})
        };
        apply(&binding("admin")).await.unwrap();
        refused(apply(&binding("viewer")).await, "roleRef");

        let mut claim = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data", "namespace": ns},
                               "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}});
        apply(&claim).await.unwrap();
        claim["spec"]["accessModes"] = json!(["ReadWriteMany"]);
        refused(apply(&claim).await, "spec");

        let err = b.list(&configmap_kind(), Some(ns), &Selector::labels("a=b=c")).await.unwrap_err();
        assert!(matches!(err, BackendError::Invalid { .. }), "{err:?}");
        teardown(b, ns).await;
    }

    /// The API server's checks of the kinds moorage compiles, each refused with `Invalid` naming
    /// the field, and nothing created.
    pub async fn specs_are_validated(b: &dyn Backend, ns: &str) {
        setup(b, ns).await;
        let rule = |host: &str, path_type: Option<&str>| {
            let mut path = json!({"path": "/", "backend": {"service": {"name": "web", "port": {"number": 80}}}});
            if let Some(t) = path_type {
                path["pathType"] = json!(t);
            }
            json!([{"host": host, "http": {"paths": [path]}}])
        };
        let object = |api_version: &str, kind: &str, name: &str, body: Value| {
            let mut o = json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": ns}});
            o.as_object_mut().unwrap().extend(body.as_object().unwrap().clone());
            o
        };
        let selector = json!({"matchLabels": {"app": "web"}});
        let cases = vec![
            (object("v1", "Service", "no-ports", json!({"spec": {"selector": {"app": "web"}}})), "spec.ports"),
            (object("policy/v1", "PodDisruptionBudget", "both", json!({"spec": {"minAvailable": 1, "maxUnavailable": 1, "selector": selector}})), "spec"),
            (
                object(
                    "autoscaling/v2",
                    "HorizontalPodAutoscaler",
                    "inverted",
                    json!({"spec": {"minReplicas": 5, "maxReplicas": 2, "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}}}),
                ),
                "spec.maxReplicas",
            ),
            (object("rbac.authorization.k8s.io/v1", "Role", "no-verbs", json!({"rules": [{"apiGroups": [""], "resources": ["pods"]}]})), "rules[0].verbs"),
            (
                object(
                    "networking.k8s.io/v1",
                    "NetworkPolicy",
                    "http",
                    json!({"spec": {"podSelector": {}, "ingress": [{"ports": [{"protocol": "HTTP", "port": 80}]}]}}),
                ),
                "spec.ingress[0].ports[0].protocol",
            ),
            (object("networking.k8s.io/v1", "Ingress", "bad-host", json!({"spec": {"rules": rule("Shop_Acme", Some("Prefix"))}})), "spec.rules[0].host"),
            (
                object("networking.k8s.io/v1", "Ingress", "no-path-type", json!({"spec": {"rules": rule("shop.acme.test", None)}})),
                "spec.rules[0].http.paths[0].pathType",
            ),
            (
                object("v1", "LimitRange", "inverted", json!({"spec": {"limits": [{"type": "Container", "max": {"cpu": "1"}, "min": {"cpu": "2"}}]}})),
                "spec.limits[0].min[cpu]",
            ),
            (
                object(
                    "apps/v1",
                    "Deployment",
                    "no-selector",
                    json!({"spec": {"selector": {}, "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}}),
                ),
                "spec.selector",
            ),
            (
                object(
                    "apps/v1",
                    "Deployment",
                    "never",
                    json!({"spec": {"selector": selector, "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"restartPolicy": "Never", "containers": [{"name": "web", "image": "nginx:1.27"}]}}}}),
                ),
                "spec.template.spec.restartPolicy",
            ),
            // A Job's pods have no default restart policy, and may not restart always.
            (
                object(
                    "batch/v1",
                    "Job",
                    "always",
                    json!({"spec": {"template": {"spec": {"restartPolicy": "Always", "containers": [{"name": "c", "image": "busybox:1.36"}]}}}}),
                ),
                "spec.template.spec.restartPolicy",
            ),
            (
                object("batch/v1", "Job", "no-policy", json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}}})),
                "spec.template.spec.restartPolicy",
            ),
            (
                object(
                    "batch/v1",
                    "CronJob",
                    "no-containers",
                    json!({"spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "Never", "containers": []}}}}}}),
                ),
                "spec.jobTemplate.spec.template.spec.containers",
            ),
            // The API server refuses two containers of one name when it merges the apply (a 500
            // without a field, reported as Invalid); the simulated cluster names the field.
            (
                object(
                    "apps/v1",
                    "Deployment",
                    "twins",
                    json!({"spec": {"selector": selector, "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "a:1"}, {"name": "web", "image": "b:1"}]}}}}),
                ),
                "*",
            ),
        ];
        for (object, field) in cases {
            let (kind, name) = (object["kind"].as_str().unwrap(), object["metadata"]["name"].as_str().unwrap());
            let err = b.apply(std::slice::from_ref(&object), &ApplyOptions::default()).await.unwrap_err();
            let BackendError::Invalid { causes, .. } = &err else { panic!("{kind} {name}: expected Invalid, got {err:?}") };
            assert!(field == "*" || causes.iter().any(|c| c.field == field), "{kind} {name}: {causes:?}");
            let kind = Kind::of_object(&object).expect("a known kind");
            assert_eq!(b.get(&kind, Some(ns), name).await.unwrap(), None, "{name}: nothing was created");
        }
        teardown(b, ns).await;
    }

    pub async fn a_scale_by_another_manager_is_drift_until_forced(b: &dyn Backend, ns: &str) {
        setup(b, ns).await;
        let mine = deployment(ns, "web", 2, "nginx:1.27");
        b.apply(std::slice::from_ref(&mine), &ApplyOptions::default()).await.unwrap();
        assert_eq!(ownership::drift(b, std::slice::from_ref(&mine)).await.unwrap(), [], "no drift after moorage's own apply");
        // A UI scales the Deployment with its own field manager.
        let scale = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": ns}, "spec": {"replicas": 5}});
        b.apply(&[scale], &ApplyOptions { field_manager: "rancher-ui".into(), ..ApplyOptions::force() }).await.unwrap();
        let drift = ownership::drift(b, std::slice::from_ref(&mine)).await.unwrap();
        let found: Vec<(&str, Vec<String>)> = drift.iter().map(|d| (d.manager.as_str(), d.fields.clone())).collect();
        assert_eq!(found, [("rancher-ui", vec!["spec.replicas".to_string()])]);
        assert_eq!(drift[0].object.name, "web");
        // moorage's apply (dry run or not) refuses to overwrite it, naming the field and the manager.
        for options in [ApplyOptions::dry_run(), ApplyOptions::default()] {
            let err = b.apply(std::slice::from_ref(&mine), &options).await.unwrap_err();
            let BackendError::Conflict { manager, field, .. } = &err else { panic!("expected a conflict, got {err}") };
            assert_eq!((manager.as_str(), field.as_str()), ("rancher-ui", ".spec.replicas"), "{err}");
        }
        let live = b.get(&deployment_kind(), Some(ns), "web").await.unwrap().unwrap();
        assert_eq!(live["spec"]["replicas"], 5, "nothing overwritten");
        // Forced, the field comes back to moorage and the drift is gone.
        b.apply(std::slice::from_ref(&mine), &ApplyOptions::force()).await.unwrap();
        let live = b.get(&deployment_kind(), Some(ns), "web").await.unwrap().unwrap();
        assert_eq!(live["spec"]["replicas"], 2);
        assert_eq!(ownership::drift(b, &[mine]).await.unwrap(), []);
        teardown(b, ns).await;
    }

    pub async fn quota_admission_and_usage(b: &dyn Backend, ns: &str) {
        setup(b, ns).await;
        let quota = json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "quota", "namespace": ns},
                           "spec": {"hard": {"pods": "2", "limits.memory": "128Mi", "limits.cpu": "1"}}});
        b.apply(&[quota], &ApplyOptions::default()).await.unwrap();
        wait::wait_for(b, &Target::object(kind::<k8s_openapi::api::core::v1::ResourceQuota, _>(), Some(ns), "quota"), &wait::quota_status_known(), WAIT)
            .await
            .unwrap();
        let pod = |name: &str, memory: &str| {
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns},
            "spec": {"containers": [{"name": "c", "image": "busybox:1.36", "resources": {"limits": {"cpu": "100m", "memory": memory}}}]}})
        };
        b.apply(&[pod("small", "64Mi")], &ApplyOptions::default()).await.unwrap();
        let err = b.apply(&[pod("big", "100Mi")], &ApplyOptions::default()).await.unwrap_err();
        let BackendError::QuotaExceeded { resource, requested, used, limit, quota, object } = &err else { panic!("expected QuotaExceeded, got {err}") };
        assert_eq!(
            (resource.as_str(), requested.as_str(), used.as_str(), limit.as_str(), quota.as_str()),
            ("limits.memory", "100Mi", "64Mi", "128Mi", "quota")
        );
        assert_eq!(object.name, "big");
        let used = wait::wait_for(
            b,
            &Target::object(kind::<k8s_openapi::api::core::v1::ResourceQuota, _>(), Some(ns), "quota"),
            &wait::condition("to count the pod", |q: &[Value]| q.first().is_some_and(|q| q["status"]["used"]["pods"] == "1")),
            WAIT,
        )
        .await
        .unwrap();
        assert_eq!(used[0]["status"]["used"]["limits.memory"], "64Mi");
        // A pod without limits where the quota tracks them is refused as Forbidden.
        let bare = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bare", "namespace": ns}, "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}});
        let err = b.apply(&[bare], &ApplyOptions::default()).await.unwrap_err();
        assert!(matches!(&err, BackendError::Forbidden { message, .. } if message.contains("must specify")), "{err}");
        teardown(b, ns).await;
    }

    pub async fn limit_range_defaults(b: &dyn Backend, ns: &str) {
        setup(b, ns).await;
        let lr = json!({"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "defaults", "namespace": ns},
            "spec": {"limits": [{"type": "Container", "default": {"cpu": "300m", "memory": "96Mi"}, "defaultRequest": {"cpu": "30m", "memory": "48Mi"}}]}});
        b.apply(&[lr], &ApplyOptions::default()).await.unwrap();
        let bare = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bare", "namespace": ns}, "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}});
        b.apply(&[bare], &ApplyOptions::default()).await.unwrap();
        let pod = b.get(&pod_kind(), Some(ns), "bare").await.unwrap().unwrap();
        let r = &pod["spec"]["containers"][0]["resources"];
        assert_eq!((r["limits"]["cpu"].as_str(), r["limits"]["memory"].as_str()), (Some("300m"), Some("96Mi")));
        assert_eq!((r["requests"]["cpu"].as_str(), r["requests"]["memory"].as_str()), (Some("30m"), Some("48Mi")));
        teardown(b, ns).await;
    }

    pub async fn deployment_becomes_available(b: &dyn Backend, ns: &str) {
        setup(b, ns).await;
        b.apply(&[deployment(ns, "web", 3, "nginx:1.27")], &ApplyOptions::default()).await.unwrap();
        let d = wait_available(b, ns, "web").await;
        assert_eq!(d["status"]["readyReplicas"], 3);
        let pods = b.list(&pod_kind(), Some(ns), &Selector::labels("app=web")).await.unwrap();
        assert_eq!(pods.len(), 3);
        // A new image rolls out to a new ReplicaSet.
        b.apply(&[deployment(ns, "web", 3, "nginx:1.28")], &ApplyOptions::default()).await.unwrap();
        wait::wait_for(
            b,
            &Target::labelled(pod_kind(), Some(ns), "app=web"),
            &wait::condition("3 pods of nginx:1.28, and no other", |pods: &[Value]| {
                pods.len() == 3 && pods.iter().all(|p| p["spec"]["containers"][0]["image"] == "nginx:1.28")
            }),
            WAIT,
        )
        .await
        .unwrap();
        wait_available(b, ns, "web").await;
        teardown(b, ns).await;
    }

    pub async fn endpoint_slices_follow_selector_and_readiness(b: &dyn Backend, ns: &str) {
        setup(b, ns).await;
        b.apply(&[deployment(ns, "blue", 3, "nginx:1.27"), deployment(ns, "green", 2, "nginx:1.27"), service(ns, "web", "blue")], &ApplyOptions::default())
            .await
            .unwrap();
        wait_available(b, ns, "blue").await;
        wait_available(b, ns, "green").await;
        let slices = Target::labelled(slice_kind(), Some(ns), "kubernetes.io/service-name=web");
        wait::wait_for(b, &slices, &wait::endpoints_ready(3), WAIT).await.unwrap();
        b.apply(&[service(ns, "web", "green")], &ApplyOptions::default()).await.unwrap();
        let moved = wait::wait_for(
            b,
            &slices,
            &wait::condition("to list exactly the 2 green pods", |s: &[Value]| {
                let targets: Vec<String> = s
                    .iter()
                    .flat_map(|s| s["endpoints"].as_array().cloned().unwrap_or_default())
                    .filter(|e| e["conditions"]["ready"] == true)
                    .map(|e| e["targetRef"]["name"].as_str().unwrap_or_default().to_string())
                    .collect();
                targets.len() == 2 && targets.iter().all(|t| t.starts_with("green-"))
            }),
            WAIT,
        )
        .await
        .unwrap();
        assert_eq!(wait::ready_endpoints(&moved), 2);

        // Each endpoint carries its node's zone, which binding also copied onto the pod.
        let nodes = b.list(&kind::<k8s_openapi::api::core::v1::Node, _>(), None, &Selector::all()).await.unwrap();
        let zone_of =
            |node: &Value| nodes.iter().find(|n| n["metadata"]["name"] == *node).map(|n| n["metadata"]["labels"]["topology.kubernetes.io/zone"].clone());
        let pods = b.list(&pod_kind(), Some(ns), &Selector::labels("app=green")).await.unwrap();
        for endpoint in moved[0]["endpoints"].as_array().expect("endpoints") {
            let zone = zone_of(&endpoint["nodeName"]).expect("a node of the cluster");
            assert!(zone.is_string(), "the nodes of both clusters are in zones: {zone}");
            assert_eq!(endpoint["zone"], zone, "{endpoint}");
            let pod = pods.iter().find(|p| p["metadata"]["name"] == endpoint["targetRef"]["name"]).expect("the endpoint's pod");
            assert_eq!(pod["metadata"]["labels"]["topology.kubernetes.io/zone"], zone, "{}", pod["metadata"]);
        }

        // A pod marked for deletion (held by a finalizer) stays in the slice, terminating and not ready.
        let held = pods[0]["metadata"]["name"].as_str().expect("a name").to_string();
        let holder = ApplyOptions { field_manager: "holder".into(), ..ApplyOptions::default() };
        let hold = |finalizers: Value| json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": held, "namespace": ns, "finalizers": finalizers}});
        b.apply(&[hold(json!(["example.com/hold"]))], &holder).await.unwrap();
        assert!(b.delete(&pod_kind(), Some(ns), &held, Propagation::Background).await.unwrap());
        let terminating = wait::condition("to list the held pod as terminating", |s: &[Value]| {
            s.iter()
                .flat_map(|s| s["endpoints"].as_array().cloned().unwrap_or_default())
                .any(|e| e["targetRef"]["name"] == held.as_str() && e["conditions"]["terminating"] == true && e["conditions"]["ready"] == false)
        });
        wait::wait_for(b, &slices, &terminating, WAIT).await.unwrap();
        // The Deployment counts it as terminating, and its ReplicaSet has replaced it.
        let counted = wait::condition("to count 1 terminating and 2 available replicas", |d: &[Value]| {
            d.first().is_some_and(|d| d["status"]["terminatingReplicas"] == 1 && d["status"]["availableReplicas"] == 2)
        });
        wait::wait_for(b, &Target::object(deployment_kind(), Some(ns), "green"), &counted, WAIT).await.unwrap();
        b.apply(&[hold(json!([]))], &holder).await.unwrap();
        let released = wait::condition("to count no terminating replica", |d: &[Value]| d.first().is_some_and(|d| d["status"]["terminatingReplicas"] == 0));
        wait::wait_for(b, &Target::object(deployment_kind(), Some(ns), "green"), &released, WAIT).await.unwrap();
        teardown(b, ns).await;
    }

    pub async fn jobs_run_to_completion(b: &dyn Backend, ns: &str) {
        setup(b, ns).await;
        let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "check", "namespace": ns},
            "spec": {"backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox:1.36", "command": ["true"]}]}}}});
        b.apply(&[job], &ApplyOptions::default()).await.unwrap();
        let done =
            wait::wait_for(b, &Target::object(kind::<k8s_openapi::api::batch::v1::Job, _>(), Some(ns), "check"), &wait::job_finished(), WAIT).await.unwrap();
        assert!(wait::job_succeeded(&done[0]), "{}", done[0]["status"]);
        teardown(b, ns).await;
    }

    pub async fn watches_see_every_change_in_order(b: &dyn Backend, ns: &str) {
        setup(b, ns).await;
        b.apply(&[configmap(ns, "before", "0")], &ApplyOptions::default()).await.unwrap();
        let mut stream = b.watch(&configmap_kind(), Some(ns), &Selector::labels("suite=conformance")).await.unwrap();
        b.apply(&[configmap(ns, "during", "1")], &ApplyOptions::default()).await.unwrap();
        b.apply(&[configmap(ns, "during", "2")], &ApplyOptions::default()).await.unwrap();
        b.delete(&configmap_kind(), Some(ns), "during", Propagation::Background).await.unwrap();
        let mut seen = Vec::new();
        while seen.len() < 4 {
            let event = tokio::time::timeout(Duration::from_secs(30), stream.next()).await.expect("an event in time").expect("stream open").expect("no error");
            seen.push(match event {
                WatchEvent::Applied(o) => format!("applied {} {}", o["metadata"]["name"].as_str().unwrap(), o["data"]["key"].as_str().unwrap_or("")),
                WatchEvent::Deleted(o) => format!("deleted {}", o["metadata"]["name"].as_str().unwrap()),
            });
        }
        assert_eq!(seen, ["applied before 0", "applied during 1", "applied during 2", "deleted during"]);
        teardown(b, ns).await;
    }

    pub async fn deletes_collect_dependents(b: &dyn Backend, ns: &str) {
        setup(b, ns).await;
        b.apply(&[deployment(ns, "web", 2, "nginx:1.27")], &ApplyOptions::default()).await.unwrap();
        wait_available(b, ns, "web").await;
        assert!(b.delete(&deployment_kind(), Some(ns), "web", Propagation::Background).await.unwrap());
        wait::wait_for(b, &Target::labelled(kind::<k8s_openapi::api::apps::v1::ReplicaSet, _>(), Some(ns), "app=web"), &wait::deleted(), GC_WAIT)
            .await
            .unwrap();
        wait::wait_for(b, &Target::labelled(pod_kind(), Some(ns), "app=web"), &wait::deleted(), GC_WAIT).await.unwrap();
        assert!(!b.delete(&deployment_kind(), Some(ns), "web", Propagation::Background).await.unwrap(), "deleting again reports it was gone");
        teardown(b, ns).await;
    }

    pub async fn missing_things_are_not_found(b: &dyn Backend, ns: &str) {
        assert_eq!(b.get(&configmap_kind(), Some(ns), "nothing").await.unwrap(), None);
        let err = b.apply(&[configmap(ns, "orphan", "x")], &ApplyOptions::default()).await.unwrap_err();
        assert!(matches!(err, BackendError::NotFound { .. }), "namespace missing: {err}");
        // Not a kind the test control plane installs (it has ServiceMonitor, PodMonitor, PrometheusRule).
        let unknown = Kind::custom("monitoring.coreos.com/v1", "Probe", "probes", true);
        let err = b.list(&unknown, Some(ns), &Selector::all()).await.unwrap_err();
        assert!(matches!(err, BackendError::MissingKind { .. }), "{err}");
    }

    pub async fn invalid_objects_are_refused_with_causes(b: &dyn Backend, ns: &str) {
        setup(b, ns).await;
        let bad = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "bad", "namespace": ns},
            "spec": {"replicas": -1, "selector": {"matchLabels": {"app": "bad"}},
                     "template": {"metadata": {"labels": {"app": "bad"}}, "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}}});
        let err = b.apply(&[bad], &ApplyOptions::default()).await.unwrap_err();
        let BackendError::Invalid { causes, .. } = &err else { panic!("expected Invalid, got {err}") };
        assert!(causes.iter().any(|c| c.field.contains("replicas")), "{causes:?}");
        teardown(b, ns).await;
    }
}

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod simulated {
            $(
                #[tokio::test]
                async fn $case() {
                    let sim = moorage::backend::sim::SimulatedCluster::new();
                    super::cases::$case(&sim, concat!("conf-", stringify!($case)).replace('_', "-").as_str()).await;
                }
            )*
        }
        mod real {
            $(
                #[tokio::test]
                async fn $case() {
                    let Some(backend) = moorage_tests::real_backend().await else { return };
                    let ns = format!("conf-{}-{}", stringify!($case).replace('_', "-").chars().take(40).collect::<String>(), moorage_tests::random_suffix());
                    super::cases::$case(&backend, &ns).await;
                }
            )*
        }
    };
}

conformance!(
    apply_is_idempotent,
    dry_run_changes_nothing,
    another_field_manager_conflicts_unless_forced,
    a_stale_resource_version_is_modified,
    server_set_metadata_is_checked_not_applied,
    generation_is_kept_for_workloads_not_config,
    metadata_is_validated,
    immutable_fields_are_refused,
    specs_are_validated,
    a_scale_by_another_manager_is_drift_until_forced,
    quota_admission_and_usage,
    limit_range_defaults,
    deployment_becomes_available,
    endpoint_slices_follow_selector_and_readiness,
    jobs_run_to_completion,
    watches_see_every_change_in_order,
    deletes_collect_dependents,
    missing_things_are_not_found,
    invalid_objects_are_refused_with_causes,
    watches_follow_the_selection,
    finalizers_hold_a_deletion,
    every_namespace_gets_its_service_account_and_root_ca,
    selectors_and_versions_are_checked,
    a_terminating_namespace_waits_for_finalizers,
    services_get_node_ports_and_their_defaults,
    pod_templates_get_their_defaults,
    foreground_and_orphan_deletions_use_finalizers,
    pods_are_completed_by_admission,
    lists_merge_item_by_item,
    finalizers_are_a_set,
    quantities_are_stored_canonical,
    container_resources_are_checked,
    limit_ranges_are_checked,
);
