//! Conformance cases of the defaults the API server fills in: Services (cluster IPs, node ports,
//! traffic policies), pod templates, and what admission adds to a Pod.

use moorage::backend::wait::{self, Target};
use moorage::backend::{ApplyOptions, Backend, BackendError, Change, Selector};
use serde_json::{json, Value};

use super::{deployment, kind, setup, teardown, wait_available, WAIT};

fn service(ns: &str, name: &str, spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns}, "spec": spec})
}

/// The one cause of an `Invalid` apply.
async fn refused(b: &dyn Backend, object: Value) -> (String, String) {
    let err = b.apply(&[object], &ApplyOptions::default()).await.unwrap_err();
    let BackendError::Invalid { causes, .. } = &err else { panic!("expected Invalid, got {err}") };
    assert_eq!(causes.len(), 1, "{causes:?}");
    (causes[0].field.clone(), causes[0].message.clone())
}

/// A NodePort Service gets a node port per port, in 30000-32767, kept by a re-apply; a node port
/// outside the range or another Service's is `Invalid`. Every Service gets its IP family, traffic
/// policies and an empty load balancer status; a headless one keeps `None`.
pub async fn services_get_node_ports_and_their_defaults(b: &dyn Backend, ns: &str) {
    setup(b, ns).await;
    let node_port = service(ns, "np", json!({"type": "NodePort", "selector": {"app": "x"}, "ports": [{"port": 80}]}));
    let applied = b.apply(std::slice::from_ref(&node_port), &ApplyOptions::default()).await.unwrap();
    let stored = &applied[0].result;
    let allocated = stored["spec"]["ports"][0]["nodePort"].as_i64().expect("a node port");
    assert!((30000..=32767).contains(&allocated), "{allocated}");
    assert_eq!(stored["spec"]["clusterIPs"], json!([stored["spec"]["clusterIP"].clone()]));
    for (field, value) in [("ipFamilies", json!(["IPv4"])), ("ipFamilyPolicy", json!("SingleStack")), ("externalTrafficPolicy", json!("Cluster"))] {
        assert_eq!(stored["spec"][field], value, "{field}");
    }
    assert_eq!(stored["spec"]["internalTrafficPolicy"], "Cluster");
    assert_eq!(stored["status"], json!({"loadBalancer": {}}));
    let again = b.apply(&[node_port], &ApplyOptions::default()).await.unwrap();
    assert_eq!(again[0].change, Change::Unchanged);
    assert_eq!(again[0].result["spec"]["ports"][0]["nodePort"], allocated, "kept");

    let taken = service(ns, "taken", json!({"type": "NodePort", "selector": {"app": "x"}, "ports": [{"port": 80, "nodePort": allocated}]}));
    let (field, message) = refused(b, taken).await;
    assert_eq!(field, "spec.ports[0].nodePort");
    assert!(message.contains("provided port is already allocated"), "{message}");
    let outside = service(ns, "outside", json!({"type": "NodePort", "selector": {"app": "x"}, "ports": [{"port": 80, "nodePort": 80}]}));
    let (field, message) = refused(b, outside).await;
    assert_eq!(field, "spec.ports[0].nodePort");
    assert!(message.contains("provided port is not in the valid range. The range of valid ports is 30000-32767"), "{message}");

    let headless = b
        .apply(&[service(ns, "headless", json!({"clusterIP": "None", "selector": {"app": "x"}, "ports": [{"port": 80}]}))], &ApplyOptions::default())
        .await
        .unwrap();
    assert_eq!(headless[0].result["spec"]["clusterIPs"], json!(["None"]));
    assert!(headless[0].result["spec"]["ports"][0].get("nodePort").is_none());
    teardown(b, ns).await;
}

/// A workload's pod template gets `SetDefaults_PodSpec`'s and `SetDefaults_Container`'s values:
/// the pull policy from the image's tag, the termination message, DNS policy, scheduler, grace
/// period, port protocols.
pub async fn pod_templates_get_their_defaults(b: &dyn Backend, ns: &str) {
    setup(b, ns).await;
    b.apply(&[deployment(ns, "web", 1, "nginx:1.27"), deployment(ns, "untagged", 1, "busybox")], &ApplyOptions::default()).await.unwrap();
    let web = wait_available(b, ns, "web").await;
    let expected = json!({
        "containers": [{
            "image": "nginx:1.27", "imagePullPolicy": "IfNotPresent", "name": "web",
            "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
            "resources": {"limits": {"cpu": "100m", "memory": "64Mi"}, "requests": {"cpu": "50m", "memory": "32Mi"}},
            "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
        }],
        "dnsPolicy": "ClusterFirst", "restartPolicy": "Always", "schedulerName": "default-scheduler",
        "securityContext": {}, "terminationGracePeriodSeconds": 30,
    });
    assert_eq!(web["spec"]["template"]["spec"], expected);
    let untagged = b.get(&super::deployment_kind(), Some(ns), "untagged").await.unwrap().expect("stored");
    assert_eq!(untagged["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"], "Always", "no tag means latest");
    teardown(b, ns).await;
}

/// What admission completes a Pod with: its ServiceAccount (`default` unless named) and the API
/// token volume mounted in every container, priority 0, and tolerations of a node not ready or
/// unreachable; an update keeps them. A pod whose account does not exist is `Forbidden`, and a
/// ReplicaSet reports it; an account that opts out of the token gets none.
pub async fn pods_are_completed_by_admission(b: &dyn Backend, ns: &str) {
    setup(b, ns).await;
    let accounts = kind::<k8s_openapi::api::core::v1::ServiceAccount, _>();
    wait::wait_for(b, &Target::object(accounts, Some(ns), "default"), &wait::exists(), WAIT).await.unwrap();
    let pod = |name: &str, spec: Value| {
        let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns},
                             "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}});
        pod["spec"].as_object_mut().expect("a spec").extend(spec.as_object().cloned().unwrap_or_default());
        pod
    };
    let applied = b.apply(&[pod("plain", json!({}))], &ApplyOptions::default()).await.unwrap();
    let spec = &applied[0].result["spec"];
    assert_eq!((&spec["serviceAccountName"], &spec["serviceAccount"]), (&json!("default"), &json!("default")));
    assert_eq!((&spec["priority"], &spec["preemptionPolicy"]), (&json!(0), &json!("PreemptLowerPriority")));
    let tolerate = |key: &str| json!({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300});
    assert_eq!(spec["tolerations"], json!([tolerate("node.kubernetes.io/not-ready"), tolerate("node.kubernetes.io/unreachable")]));
    let volume = spec["volumes"][0]["name"].as_str().expect("the token volume").to_string();
    assert!(volume.starts_with("kube-api-access-") && volume.len() == "kube-api-access-".len() + 5, "{volume}");
    let token = json!({"name": volume, "projected": {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
    ]}});
    assert_eq!(spec["volumes"], json!([token]));
    let mount = json!([{"name": volume, "readOnly": true, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}]);
    assert_eq!(spec["containers"][0]["volumeMounts"], mount);
    let again = b.apply(&[pod("plain", json!({}))], &ApplyOptions::default()).await.unwrap();
    assert_eq!(again[0].change, Change::Unchanged, "{}", again[0].result["spec"]);

    let err = b.apply(&[pod("ghost", json!({"serviceAccountName": "ghost"}))], &ApplyOptions::default()).await.unwrap_err();
    let expected = format!("error looking up service account {ns}/ghost: serviceaccount \"ghost\" not found");
    assert!(matches!(&err, BackendError::Forbidden { message, .. } if message.contains(&expected)), "{err}");
    let quiet = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "quiet", "namespace": ns}, "automountServiceAccountToken": false});
    b.apply(&[quiet], &ApplyOptions::default()).await.unwrap();
    let applied = b.apply(&[pod("quiet", json!({"serviceAccountName": "quiet"}))], &ApplyOptions::default()).await.unwrap();
    let spec = &applied[0].result["spec"];
    assert!(spec["volumes"].is_null() && spec["containers"][0]["volumeMounts"].is_null(), "{spec}");

    let mut lost = deployment(ns, "lost", 1, "nginx:1.27");
    lost["spec"]["template"]["spec"]["serviceAccountName"] = json!("ghost");
    let applied = b.apply(&[lost], &ApplyOptions::default()).await.unwrap();
    assert_eq!(applied[0].result["spec"]["template"]["spec"]["serviceAccount"], "ghost", "the deprecated field mirrors the name");
    let replica_sets = Target::labelled(kind::<k8s_openapi::api::apps::v1::ReplicaSet, _>(), Some(ns), "app=lost");
    let refused = wait::condition("to report the missing account", |rs: &[Value]| {
        rs.iter().flat_map(|r| r["status"]["conditions"].as_array().cloned().unwrap_or_default()).any(|c| {
            c["type"] == "ReplicaFailure"
                && c["reason"] == "FailedCreate"
                && c["message"].as_str().is_some_and(|m| m.contains("error looking up service account"))
        })
    });
    wait::wait_for(b, &replica_sets, &refused, WAIT).await.unwrap();
    assert!(b.list(&super::pod_kind(), Some(ns), &Selector::labels("app=lost")).await.unwrap().is_empty());
    teardown(b, ns).await;
}

/// Quantities are stored as the API server encodes them again: `"0.5"` as `"500m"`, `"2048Mi"` as
/// `"2Gi"`, a number as a string; a canonical string as written. Re-applying the same values
/// changes nothing. A quota of objects or extended resources must be whole, and a quota names
/// resources it tracks.
pub async fn quantities_are_stored_canonical(b: &dyn Backend, ns: &str) {
    setup(b, ns).await;
    let written = [json!("1000m"), json!("0.5"), json!("2048Mi"), json!("1.5Gi"), json!(2.5), json!("1e3"), json!("+5")];
    let stored = ["1", "500m", "2Gi", "1536Mi", "2500m", "1e3", "+5"];
    let keys = ["requests.cpu", "limits.cpu", "requests.memory", "limits.memory", "cpu", "requests.ephemeral-storage", "limits.ephemeral-storage"];
    let hard: serde_json::Map<String, Value> = keys.iter().zip(&written).map(|(k, v)| (k.to_string(), v.clone())).collect();
    let quota = json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q", "namespace": ns}, "spec": {"hard": hard}});
    let created = b.apply(std::slice::from_ref(&quota), &ApplyOptions::default()).await.unwrap().remove(0).result;
    for (key, expected) in keys.iter().zip(stored) {
        assert_eq!(created["spec"]["hard"][*key], expected, "{key}");
    }
    let mut web = deployment(ns, "web", 1, "nginx:1.27");
    web["spec"]["template"]["spec"]["containers"][0]["resources"] =
        json!({"limits": {"cpu": 0.5, "memory": "1024Mi"}, "requests": {"cpu": "0.25", "memory": "0.5Gi"}});
    let deployed = b.apply(&[web.clone()], &ApplyOptions::default()).await.unwrap().remove(0).result;
    let resources = &deployed["spec"]["template"]["spec"]["containers"][0]["resources"];
    assert_eq!(resources, &json!({"limits": {"cpu": "500m", "memory": "1Gi"}, "requests": {"cpu": "250m", "memory": "512Mi"}}));
    for object in [quota, web] {
        assert_eq!(b.apply(&[object], &ApplyOptions::default()).await.unwrap()[0].change, Change::Unchanged);
    }
    // Object counts and extended resources are whole numbers; the message shows the stored form.
    let counts = json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "counts", "namespace": ns},
                        "spec": {"hard": {"pods": "10", "count/widgets.example.com": "0.5"}}});
    let (field, message) = refused(b, counts).await;
    assert_eq!((field.as_str(), message.as_str()), ("spec.hard[count/widgets.example.com]", "Invalid value: \"500m\": must be an integer"));
    // A quota tracks the standard resources, huge pages and names with a domain; another bare name
    // is refused.
    let tracked = json!({"hugepages-2Mi": "1Gi", "requests.example.com/gpu": "2", "count/widgets.example.com": "3", "services.loadbalancers": "1"});
    let wide = json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "wide", "namespace": ns}, "spec": {"hard": tracked}});
    let created = b.apply(&[wide], &ApplyOptions::default()).await.unwrap().remove(0).result;
    assert_eq!(created["spec"]["hard"], tracked);
    let unknown = json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "unknown", "namespace": ns},
                         "spec": {"hard": {"pods": "10", "gpus": "1"}}});
    let err = b.apply(&[unknown], &ApplyOptions::default()).await.unwrap_err();
    let BackendError::Invalid { causes, .. } = &err else { panic!("expected Invalid, got {err}") };
    let causes: Vec<(&str, &str)> = causes.iter().map(|c| (c.field.as_str(), c.message.as_str())).collect();
    let expected = [
        ("spec.hard[gpus]", "Invalid value: \"gpus\": must be a standard resource type or fully qualified"),
        ("spec.hard[gpus]", "Invalid value: \"gpus\": must be a standard resource for quota"),
    ];
    assert_eq!(causes, expected);
    // `storage` is a resource type, but not one a quota tracks (`requests.storage` is).
    let storage = json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "storage", "namespace": ns},
                         "spec": {"hard": {"storage": "10Gi"}}});
    let (field, message) = refused(b, storage).await;
    assert_eq!((field.as_str(), message.as_str()), ("spec.hard[storage]", "Invalid value: \"storage\": must be a standard resource for quota"));
    teardown(b, ns).await;
}
