//! Conformance cases of resources in specs: the names a container and a LimitRange may use, a
//! container's requests held to its limits, and a LimitRange's bounds in order.

use moorage::backend::{ApplyOptions, Backend, BackendError};
use serde_json::{json, Value};

use super::{deployment, setup, teardown};

/// The causes of an `Invalid` apply as (field, message), sorted: the API server checks the keys of
/// a map in no fixed order.
async fn causes_of(b: &dyn Backend, object: Value) -> Vec<(String, String)> {
    let err = b.apply(&[object], &ApplyOptions::default()).await.unwrap_err();
    let BackendError::Invalid { causes, .. } = &err else { panic!("expected Invalid, got {err}") };
    let mut pairs: Vec<(String, String)> = causes.iter().map(|c| (c.field.clone(), c.message.clone())).collect();
    pairs.sort();
    pairs
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut owned: Vec<(String, String)> = pairs.iter().map(|(f, m)| (f.to_string(), m.to_string())).collect();
    owned.sort();
    owned
}

/// A Deployment (no replicas: nothing to schedule) whose one container has `resources`.
fn with_resources(ns: &str, name: &str, resources: Value) -> Value {
    let mut object = deployment(ns, name, 0, "nginx:1.27");
    object["spec"]["template"]["spec"]["containers"][0]["resources"] = resources;
    object
}

/// A container may use cpu, memory, ephemeral storage, huge pages and extended resources (with a
/// domain); another bare name is refused twice over. Requests are at most their limits, and equal
/// to them for extended resources, which must have limits and be whole.
pub async fn container_resources_are_checked(b: &dyn Backend, ns: &str) {
    setup(b, ns).await;
    let at = "spec.template.spec.containers[0].resources";
    let gpu = json!({"limits": {"cpu": "1", "memory": "64Mi", "example.com/gpu": "2"}, "requests": {"cpu": "500m", "memory": "64Mi", "example.com/gpu": "2"}});
    b.apply(&[with_resources(ns, "gpu", gpu)], &ApplyOptions::default()).await.expect("an extended resource with a domain");
    let bare = with_resources(ns, "bare", json!({"limits": {"cpu": "1", "gpu": "1"}}));
    assert_eq!(
        causes_of(b, bare).await,
        owned(&[
            (&format!("{at}.limits[gpu]"), "Invalid value: \"gpu\": must be a standard resource type or fully qualified"),
            (&format!("{at}.limits[gpu]"), "Invalid value: \"gpu\": must be a standard resource for containers"),
        ])
    );
    let over = with_resources(ns, "over", json!({"limits": {"cpu": "1"}, "requests": {"cpu": "2"}}));
    assert_eq!(causes_of(b, over).await, owned(&[(&format!("{at}.requests"), "Invalid value: \"2\": must be less than or equal to cpu limit of 1")]));
    let unequal = with_resources(ns, "unequal", json!({"limits": {"example.com/gpu": "2"}, "requests": {"example.com/gpu": "1"}}));
    assert_eq!(causes_of(b, unequal).await, owned(&[(&format!("{at}.requests"), "Invalid value: \"1\": must be equal to example.com/gpu limit of 2")]));
    let unlimited = with_resources(ns, "unlimited", json!({"requests": {"cpu": "100m", "example.com/gpu": "0.5"}}));
    assert_eq!(
        causes_of(b, unlimited).await,
        owned(&[
            (&format!("{at}.requests[example.com/gpu]"), "Invalid value: \"500m\": must be an integer"),
            (&format!("{at}.limits"), "Required value: Limit must be set for non overcommitable resources"),
        ])
    );
    let pages = |amount: &str| json!({"limits": {"cpu": "1", "hugepages-2Mi": amount}, "requests": {"cpu": "1", "hugepages-2Mi": amount}});
    b.apply(&[with_resources(ns, "pages", pages("4Mi"))], &ApplyOptions::default()).await.expect("two huge pages");
    let message = "Invalid value: \"3Mi\": 3Mi is not positive integer multiple of hugepages-2Mi";
    assert_eq!(
        causes_of(b, with_resources(ns, "half-page", pages("3Mi"))).await,
        owned(&[(&format!("{at}.limits[hugepages-2Mi]"), message), (&format!("{at}.requests[hugepages-2Mi]"), message)])
    );
    teardown(b, ns).await;
}

/// A LimitRange's types are Pod, Container or PersistentVolumeClaim (or have a domain), each once;
/// a Pod item has no defaults, a claim item bounds storage; per resource `min <= defaultRequest <=
/// default <= max`, and a limit-to-request ratio between 1 and max/min.
pub async fn limit_ranges_are_checked(b: &dyn Backend, ns: &str) {
    setup(b, ns).await;
    let limit_range =
        |name: &str, limits: Value| json!({"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": name, "namespace": ns}, "spec": {"limits": limits}});
    let ordered = json!([
        {"type": "Container", "min": {"cpu": "100m"}, "defaultRequest": {"cpu": "200m"}, "default": {"cpu": "500m"}, "max": {"cpu": "1"}, "maxLimitRequestRatio": {"cpu": "4"}},
        {"type": "PersistentVolumeClaim", "max": {"storage": "10Gi"}},
        {"type": "Pod", "max": {"memory": "1Gi"}},
    ]);
    b.apply(&[limit_range("ordered", ordered)], &ApplyOptions::default()).await.expect("bounds in order");
    let wrong = json!([
        {"type": "Containers", "default": {"cpu": "2"}, "max": {"cpu": "1"}, "defaultRequest": {"cpu": "3"}},
        {"type": "Pod", "default": {"cpu": "1"}, "max": {"gpu": "1"}},
        {"type": "PersistentVolumeClaim", "min": {"requests.storage": "1Gi"}},
        {"type": "Container", "min": {"memory": "1Gi"}, "max": {"memory": "2Gi"}, "maxLimitRequestRatio": {"memory": "3", "cpu": "500m"}},
        {"type": "Pod"},
    ]);
    assert_eq!(
        causes_of(b, limit_range("wrong", wrong)).await,
        owned(&[
            ("spec.limits[0].type", "Invalid value: \"Containers\": must be a standard limit type or fully qualified"),
            ("spec.limits[0].defaultRequest[cpu]", "Invalid value: \"3\": default request value 3 is greater than max value 1"),
            ("spec.limits[0].defaultRequest[cpu]", "Invalid value: \"3\": default request value 3 is greater than default limit value 2"),
            ("spec.limits[0].default[cpu]", "Invalid value: \"1\": default value 2 is greater than max value 1"),
            ("spec.limits[1].default", "Forbidden: may not be specified when `type` is 'Pod'"),
            ("spec.limits[1].max[gpu]", "Invalid value: \"gpu\": must be a standard resource type or fully qualified"),
            ("spec.limits[1].max[gpu]", "Invalid value: \"gpu\": must be a standard resource for containers"),
            ("spec.limits[2].limits", "Required value: either minimum or maximum storage value is required, but neither was provided"),
            ("spec.limits[3].maxLimitRequestRatio[cpu]", "Invalid value: \"500m\": ratio 500m is less than 1"),
            ("spec.limits[3].maxLimitRequestRatio[memory]", "Invalid value: \"3\": ratio 3 is greater than max/min = 2.000000"),
            ("spec.limits[4].type", "Duplicate value: \"Pod\""),
        ])
    );
    teardown(b, ns).await;
}
