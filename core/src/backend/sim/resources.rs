//! Resource names and amounts as the API server validates them: a quota's `hard`, a container's requests and limits, a LimitRange's types and bounds.

use serde_json::{Map, Value};

use super::util;
use crate::backend::Cause;
use crate::checks::check_label_key;

/// The compute resources a quota tracks (with [`QUOTA_COUNTS`], apimachinery's `standardQuotaResources`).
const QUOTA_COMPUTE: [&str; 10] = [
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.storage",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
];

/// The objects a quota counts by a name without a domain (apimachinery's `integerResources`).
const QUOTA_COUNTS: [&str; 9] = [
    "pods",
    "resourcequotas",
    "services",
    "replicationcontrollers",
    "secrets",
    "configmaps",
    "persistentvolumeclaims",
    "services.nodeports",
    "services.loadbalancers",
];

/// The resources a container may request by a name without a domain (besides huge pages).
const CONTAINER_RESOURCES: [&str; 3] = ["cpu", "memory", "ephemeral-storage"];

/// The LimitRange types without a domain (apimachinery's `standardLimitRangeTypes`).
const LIMIT_TYPES: [&str; 3] = ["Pod", "Container", "PersistentVolumeClaim"];

/// Whether `resource` has no domain (`cpu`, `requests.memory`); `example.com/gpu` has one.
fn is_bare(resource: &str) -> bool {
    !resource.contains('/')
}

/// Huge pages as a quota names them (`hugepages-2Mi`, `requests.hugepages-1Gi`).
fn is_quota_huge_pages(resource: &str) -> bool {
    resource.starts_with("hugepages-") || resource.starts_with("requests.hugepages-")
}

/// Whether `resource` is one of Kubernetes' own (no domain, or a `kubernetes.io` one).
fn is_native(resource: &str) -> bool {
    is_bare(resource) || resource.contains("kubernetes.io/")
}

/// An extended resource (apimachinery's `IsExtendedResourceName`): a domain of its own
/// (`example.com/gpu`), no `requests.` prefix, and qualified once a quota prefixes it.
fn is_extended(resource: &str) -> bool {
    !is_native(resource) && !resource.starts_with("requests.") && check_label_key(&format!("requests.{resource}")).is_ok()
}

/// Whether a container may request less of `resource` than its limit: not for extended resources
/// or huge pages (apimachinery's `IsOvercommitAllowed`).
fn overcommit_allowed(resource: &str) -> bool {
    is_native(resource) && !resource.starts_with("hugepages-")
}

/// What is wrong with `resource` as any resource name (apimachinery's `validateResourceName`): not
/// qualified (in moorage's words, as for label keys), or without a domain and not a resource type
/// Kubernetes knows.
fn resource_name_problems(resource: &str) -> Vec<String> {
    if let Err(problem) = check_label_key(resource) {
        return vec![problem];
    }
    let standard = QUOTA_COMPUTE.contains(&resource) || QUOTA_COUNTS.contains(&resource) || resource == "storage" || is_quota_huge_pages(resource);
    match is_bare(resource) && !standard {
        true => vec!["must be a standard resource type or fully qualified".to_string()],
        false => Vec::new(),
    }
}

/// What is wrong with `resource` as a key of a quota's `hard` (apimachinery's
/// `ValidateResourceQuotaResourceName`): [`resource_name_problems`], and a name without a domain
/// that a quota does not track (compute resources, object counts and huge pages; `storage` is a
/// resource type but not one of them). Names with a domain (`count/widgets.example.com`,
/// `example.com/gpu`) are accepted.
pub(super) fn quota_resource_problems(resource: &str) -> Vec<String> {
    let mut problems = resource_name_problems(resource);
    let tracked = QUOTA_COMPUTE.contains(&resource) || QUOTA_COUNTS.contains(&resource) || is_quota_huge_pages(resource);
    if is_bare(resource) && !tracked {
        problems.push("must be a standard resource for quota".to_string());
    }
    problems
}

/// What is wrong with `resource` as a container's request or limit (apimachinery's
/// `validateContainerResourceName`): [`resource_name_problems`], and a name without a domain
/// other than `cpu`, `memory`, `ephemeral-storage` and huge pages, or with a domain of its own
/// that does not make an extended resource name.
fn container_resource_problems(resource: &str) -> Vec<String> {
    let mut problems = resource_name_problems(resource);
    if is_bare(resource) {
        if !CONTAINER_RESOURCES.contains(&resource) && !resource.starts_with("hugepages-") {
            problems.push("must be a standard resource for containers".to_string());
        }
    } else if !is_native(resource) && !is_extended(resource) {
        problems.push("doesn't follow extended resource name standard".to_string());
    }
    problems
}

/// Whether a quota counts `resource` in whole units (apimachinery's `IsIntegerResourceName`): the
/// object counts, and extended resources (`count/widgets.example.com`, `example.com/gpu`).
pub(super) fn is_integer_resource(resource: &str) -> bool {
    QUOTA_COUNTS.contains(&resource) || is_extended(resource)
}

/// An amount as the API server prints it in a message: the stored (canonical) text.
fn shown(amount: &Value) -> String {
    amount.as_str().map_or_else(|| amount.to_string(), str::to_string)
}

/// Whether `amount` of huge pages `resource` (`hugepages-2Mi`) is a whole number of pages
/// (apimachinery's `IsHugePageResourceValueDivisible`; a page size that is not a positive whole
/// number of bytes divides nothing). Amounts count in whole bytes, rounded up.
fn huge_pages_divisible(resource: &str, amount: &Value) -> bool {
    let page = resource.strip_prefix("hugepages-").and_then(|size| crate::quantity::Quantity::parse(size).ok()).map(|q| q.millis());
    let Some(page) = page.filter(|p| *p > 0 && p % 1000 == 0).map(|p| p / 1000) else { return false };
    let bytes = (util::qty(Some(amount)).millis() + 999) / 1000;
    bytes % page == 0
}

/// The API server's checks of a container's `resources` at `path` (`spec.template.spec.containers[0].resources`;
/// apimachinery's `validateResourceRequirements`): each name, whole amounts of extended resources,
/// requests at most their limits, and exactly their limits for resources that cannot be
/// overcommitted (extended ones and huge pages), whose limits must be set.
pub(super) fn container_resources_problems(resources: &Value, path: &str) -> Vec<Cause> {
    let mut causes = Vec::new();
    let mut cause = |field: String, message: String| causes.push(Cause { field, message });
    let map = |which: &str| resources.get(which).and_then(Value::as_object).cloned().unwrap_or_default();
    let (limits, requests) = (map("limits"), map("requests"));
    for (which, amounts) in [("limits", &limits), ("requests", &requests)] {
        for (resource, amount) in amounts {
            let field = format!("{path}.{which}[{resource}]");
            for problem in container_resource_problems(resource) {
                cause(field.clone(), format!("Invalid value: {resource:?}: {problem}"));
            }
            if is_integer_resource(resource) && util::qty(Some(amount)).millis() % 1000 != 0 {
                cause(field.clone(), format!("Invalid value: {:?}: must be an integer", shown(amount)));
            }
            if resource.starts_with("hugepages-") && !huge_pages_divisible(resource, amount) {
                let amount = shown(amount);
                cause(field, format!("Invalid value: {amount:?}: {amount} is not positive integer multiple of {resource}"));
            }
        }
    }
    for (resource, request) in &requests {
        let requested = util::qty(Some(request)).millis();
        match limits.get(resource) {
            Some(limit) if !overcommit_allowed(resource) && requested != util::qty(Some(limit)).millis() => {
                let message = format!("Invalid value: {:?}: must be equal to {resource} limit of {}", shown(request), shown(limit));
                cause(format!("{path}.requests"), message);
            }
            Some(limit) if requested > util::qty(Some(limit)).millis() => {
                let message = format!("Invalid value: {:?}: must be less than or equal to {resource} limit of {}", shown(request), shown(limit));
                cause(format!("{path}.requests"), message);
            }
            Some(_) => {}
            None if !overcommit_allowed(resource) => {
                cause(format!("{path}.limits"), "Required value: Limit must be set for non overcommitable resources".into())
            }
            None => {}
        }
    }
    let named = |names: &[&str]| limits.keys().chain(requests.keys()).any(|r| names.contains(&r.as_str()));
    let huge_pages = limits.keys().chain(requests.keys()).any(|r| r.starts_with("hugepages-"));
    if huge_pages && !named(&["cpu", "memory"]) {
        cause(path.to_string(), "Forbidden: HugePages require cpu or memory".into());
    }
    causes
}

/// The API server's checks of a LimitRange's `spec.limits` (apimachinery's `ValidateLimitRange`):
/// type names, each resource name (as a container's for `Pod` and `Container`), no default for
/// `Pod`, a storage bound for `PersistentVolumeClaim`, and per resource `min <= defaultRequest <=
/// default <= max` and `1 <= maxLimitRequestRatio`, defaults equal to default requests for
/// resources that cannot be overcommitted.
pub(super) fn limit_range_problems(limits: &[Value]) -> Vec<Cause> {
    let mut causes = Vec::new();
    let mut cause = |field: String, message: String| causes.push(Cause { field, message });
    for (i, item) in limits.iter().enumerate() {
        let at = format!("spec.limits[{i}]");
        let kind = item.get("type").and_then(Value::as_str).unwrap_or_default();
        match check_label_key(kind) {
            Err(problem) => cause(format!("{at}.type"), format!("Invalid value: {kind:?}: {problem}")),
            Ok(()) if is_bare(kind) && !LIMIT_TYPES.contains(&kind) => {
                cause(format!("{at}.type"), format!("Invalid value: {kind:?}: must be a standard limit type or fully qualified"));
            }
            Ok(()) => {}
        }
        if limits[..i].iter().any(|earlier| earlier.get("type").and_then(Value::as_str).unwrap_or_default() == kind) {
            cause(format!("{at}.type"), format!("Duplicate value: {kind:?}"));
        }
        let map = |which: &str| item.get(which).and_then(Value::as_object).cloned().unwrap_or_default();
        let pod = kind == "Pod";
        let (min, max, ratio) = (map("min"), map("max"), map("maxLimitRequestRatio"));
        let (default, request) = match pod {
            true => (Map::new(), Map::new()),
            false => (map("default"), map("defaultRequest")),
        };
        // In the API server's order: the bounds' names, a claim's storage bound, the ratios' names.
        for which in ["max", "min", "default", "defaultRequest"] {
            if pod && (which == "default" || which == "defaultRequest") {
                if !map(which).is_empty() {
                    cause(format!("{at}.{which}"), "Forbidden: may not be specified when `type` is 'Pod'".into());
                }
                continue;
            }
            for (field, message) in bound_name_problems(kind, &format!("{at}.{which}"), &map(which)) {
                cause(field, message);
            }
        }
        if kind == "PersistentVolumeClaim" && !min.contains_key("storage") && !max.contains_key("storage") {
            cause(format!("{at}.limits"), "Required value: either minimum or maximum storage value is required, but neither was provided".into());
        }
        for (field, message) in bound_name_problems(kind, &format!("{at}.maxLimitRequestRatio"), &ratio) {
            cause(field, message);
        }
        for (field, message) in bound_problems(&min, &max, &default, &request, &ratio) {
            cause(format!("{at}.{field}"), message);
        }
    }
    causes
}

/// The resource names of one bound (`spec.limits[0].max`) of a LimitRange item of type `kind`: as
/// a container's for `Pod` and `Container` items.
fn bound_name_problems(kind: &str, at: &str, bound: &Map<String, Value>) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    for resource in bound.keys() {
        let names = match kind {
            "Pod" | "Container" => container_resource_problems(resource),
            _ => resource_name_problems(resource),
        };
        problems.extend(names.into_iter().map(|problem| (format!("{at}[{resource}]"), format!("Invalid value: {resource:?}: {problem}"))));
    }
    problems
}

/// The order of one LimitRange item's bounds, per resource, as (field, message) in the API
/// server's words (which name, in two of them, the other bound's value).
fn bound_problems(
    min: &Map<String, Value>,
    max: &Map<String, Value>,
    default: &Map<String, Value>,
    request: &Map<String, Value>,
    ratio: &Map<String, Value>,
) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    let mut resources: Vec<&String> = min.keys().chain(max.keys()).chain(default.keys()).chain(request.keys()).chain(ratio.keys()).collect();
    resources.sort();
    resources.dedup();
    let millis = |v: &Value| util::qty(Some(v)).millis();
    for resource in resources {
        let bound = |m: &Map<String, Value>| m.get(resource.as_str()).map(|v| (millis(v), shown(v)));
        let (lo, hi, def, req, rat) = (bound(min), bound(max), bound(default), bound(request), bound(ratio));
        let mut problem =
            |which: &str, value: &str, message: String| problems.push((format!("{which}[{resource}]"), format!("Invalid value: {value:?}: {message}")));
        if let (Some(lo), Some(hi)) = (&lo, &hi) {
            if lo.0 > hi.0 {
                problem("min", &lo.1, format!("min value {} is greater than max value {}", lo.1, hi.1));
            }
        }
        if let Some(req) = &req {
            if let Some(lo) = lo.as_ref().filter(|lo| lo.0 > req.0) {
                problem("defaultRequest", &req.1, format!("min value {} is greater than default request value {}", lo.1, req.1));
            }
            if let Some(hi) = hi.as_ref().filter(|hi| req.0 > hi.0) {
                problem("defaultRequest", &req.1, format!("default request value {} is greater than max value {}", req.1, hi.1));
            }
            if let Some(def) = def.as_ref().filter(|def| req.0 > def.0) {
                problem("defaultRequest", &req.1, format!("default request value {} is greater than default limit value {}", req.1, def.1));
            }
        }
        if let Some(def) = &def {
            if let Some(lo) = lo.as_ref().filter(|lo| lo.0 > def.0) {
                problem("default", &lo.1, format!("min value {} is greater than default value {}", lo.1, def.1));
            }
            if let Some(hi) = hi.as_ref().filter(|hi| def.0 > hi.0) {
                problem("default", &hi.1, format!("default value {} is greater than max value {}", def.1, hi.1));
            }
        }
        if let Some(rat) = rat.as_ref().filter(|rat| rat.0 < 1000) {
            problem("maxLimitRequestRatio", &rat.1, format!("ratio {} is less than 1", rat.1));
        }
        if let (Some(rat), Some(lo), Some(hi)) = (&rat, &lo, &hi) {
            // max/min as the API server prints it (Go's %f: six decimals).
            let allowed = hi.0 as f64 / lo.0 as f64;
            if rat.0 as f64 / 1000.0 > allowed {
                problem("maxLimitRequestRatio", &rat.1, format!("ratio {} is greater than max/min = {allowed:.6}", rat.1));
            }
        }
        if let (Some(def), Some(req)) = (&def, &req) {
            if !overcommit_allowed(resource) && def.0 != req.0 {
                problem("defaultRequest", &req.1, format!("default value {} must equal to defaultRequest value {} in {resource}", def.1, req.1));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pairs(causes: &[Cause]) -> Vec<(&str, &str)> {
        causes.iter().map(|c| (c.field.as_str(), c.message.as_str())).collect()
    }

    #[test]
    fn quota_resource_names_are_checked_as_the_api_server_does() {
        for tracked in ["cpu", "requests.memory", "limits.ephemeral-storage", "pods", "services.loadbalancers", "hugepages-2Mi", "requests.hugepages-1Gi"] {
            assert!(quota_resource_problems(tracked).is_empty(), "{tracked}");
        }
        for with_domain in ["count/deployments.apps", "requests.example.com/gpu", "example.com/gpu"] {
            assert!(quota_resource_problems(with_domain).is_empty(), "{with_domain}");
        }
        let untracked = ["must be a standard resource type or fully qualified", "must be a standard resource for quota"];
        assert_eq!(quota_resource_problems("gpus"), untracked);
        assert_eq!(quota_resource_problems("storage"), ["must be a standard resource for quota"]);
        // Not a qualified name: moorage's words for label keys, and, without a domain, not tracked.
        for unqualified in ["a/b/c", "example.com/"] {
            let problems = quota_resource_problems(unqualified);
            assert_eq!(problems.len(), 1, "{unqualified:?}: {problems:?}");
            assert!(problems[0].contains("not a label key"), "{unqualified:?}: {problems:?}");
        }
        for unqualified in ["Foo Bar", ""] {
            let problems = quota_resource_problems(unqualified);
            assert_eq!(problems.len(), 2, "{unqualified:?}: {problems:?}");
            assert!(problems[0].contains("not a label key"), "{unqualified:?}: {problems:?}");
            assert_eq!(problems[1], "must be a standard resource for quota");
        }
    }

    #[test]
    fn container_resource_names_are_checked_as_the_api_server_does() {
        for accepted in ["cpu", "memory", "ephemeral-storage", "hugepages-2Mi", "example.com/gpu", "kubernetes.io/anything"] {
            assert!(container_resource_problems(accepted).is_empty(), "{accepted}");
        }
        let unknown = ["must be a standard resource type or fully qualified", "must be a standard resource for containers"];
        assert_eq!(container_resource_problems("gpu"), unknown);
        // Resource types, but not for containers.
        for quota_only in ["pods", "storage", "requests.cpu"] {
            assert_eq!(container_resource_problems(quota_only), ["must be a standard resource for containers"], "{quota_only}");
        }
        assert_eq!(container_resource_problems("requests.example.com/gpu"), ["doesn't follow extended resource name standard"]);
    }

    #[test]
    fn requests_are_held_to_their_limits() {
        let path = "spec.containers[0].resources";
        let ok = json!({"limits": {"cpu": "1", "example.com/gpu": "2", "hugepages-2Mi": "4Mi"}, "requests": {"cpu": "500m", "example.com/gpu": "2", "hugepages-2Mi": "4Mi"}});
        assert!(container_resources_problems(&ok, path).is_empty());
        let over = json!({"limits": {"cpu": "1"}, "requests": {"cpu": "2"}});
        assert_eq!(
            pairs(&container_resources_problems(&over, path)),
            [("spec.containers[0].resources.requests", "Invalid value: \"2\": must be less than or equal to cpu limit of 1")]
        );
        let unequal = json!({"limits": {"example.com/gpu": "2"}, "requests": {"example.com/gpu": "1"}});
        assert_eq!(
            pairs(&container_resources_problems(&unequal, path)),
            [("spec.containers[0].resources.requests", "Invalid value: \"1\": must be equal to example.com/gpu limit of 2")]
        );
        let unlimited = json!({"requests": {"example.com/gpu": "500m"}});
        assert_eq!(
            pairs(&container_resources_problems(&unlimited, path)),
            [
                ("spec.containers[0].resources.requests[example.com/gpu]", "Invalid value: \"500m\": must be an integer"),
                ("spec.containers[0].resources.limits", "Required value: Limit must be set for non overcommitable resources"),
            ]
        );
        let huge_pages_alone = json!({"limits": {"hugepages-2Mi": "4Mi"}});
        assert_eq!(pairs(&container_resources_problems(&huge_pages_alone, path)), [(path, "Forbidden: HugePages require cpu or memory")]);
    }

    /// Huge pages come in whole pages of a size that is a whole number of bytes; an amount counts
    /// its bytes rounded up, as the API server's `Quantity.Value`.
    #[test]
    fn huge_pages_are_whole_pages() {
        for (resource, amount, whole) in [
            ("hugepages-2Mi", "4Mi", true),
            ("hugepages-2Mi", "0", true),
            ("hugepages-2Mi", "3Mi", false),
            ("hugepages-1Gi", "2Gi", true),
            ("hugepages-1Gi", "1536Mi", false),
            ("hugepages-1536", "3072", true),
            ("hugepages-500m", "1", false),
            ("hugepages-0", "0", false),
            ("hugepages-big", "2Mi", false),
        ] {
            assert_eq!(huge_pages_divisible(resource, &json!(amount)), whole, "{amount} of {resource}");
        }
    }

    /// The bounds the conformance case `limit_ranges_are_checked` does not reach (it runs the
    /// type, name, Pod, claim, ratio and default-above-max rules on both backends).
    #[test]
    fn a_limit_range_holds_min_below_its_defaults_and_extended_defaults_equal() {
        let ok = json!([{"type": "example.com/Device", "max": {"example.com/gpu": "2"}}, {"type": "Container", "default": {"example.com/gpu": "1"}, "defaultRequest": {"example.com/gpu": "1"}}]);
        assert!(limit_range_problems(ok.as_array().unwrap()).is_empty());
        let wrong = json!([
            {"type": "Container", "min": {"cpu": "2", "memory": "1Gi"}, "max": {"memory": "512Mi"}, "default": {"cpu": "1"}, "defaultRequest": {"cpu": "500m"}},
            {"type": "Pod", "min": {"example.com/gpu": "1"}},
            {"type": "PersistentVolumeClaim", "min": {"storage": "1Gi"}, "default": {"example.com/gpu": "2"}, "defaultRequest": {"example.com/gpu": "1"}},
        ]);
        assert_eq!(
            pairs(&limit_range_problems(wrong.as_array().unwrap())),
            [
                ("spec.limits[0].defaultRequest[cpu]", "Invalid value: \"500m\": min value 2 is greater than default request value 500m"),
                ("spec.limits[0].default[cpu]", "Invalid value: \"2\": min value 2 is greater than default value 1"),
                ("spec.limits[0].min[memory]", "Invalid value: \"1Gi\": min value 1Gi is greater than max value 512Mi"),
                (
                    "spec.limits[2].defaultRequest[example.com/gpu]",
                    "Invalid value: \"1\": default value 2 must equal to defaultRequest value 1 in example.com/gpu"
                ),
            ]
        );
    }
}
