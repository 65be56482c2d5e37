//! Conformance cases of the defaults the API server fills in: Services (cluster IPs, node ports,
//! traffic policies) and pod templates.

use moorage::backend::{ApplyOptions, Backend, BackendError, Change};
use serde_json::{json, Value};

use super::{deployment, setup, teardown, wait_available};

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
