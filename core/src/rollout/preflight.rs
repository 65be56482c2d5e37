//! Quota preflight: the peak capacity a strategy needs, checked against what the tenant's quota has left.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use serde_json::Value;

use super::RolloutError;
use crate::backend::{Backend, BackendError, Kind};
use crate::compile::compile_release;
use crate::compile::{Object, QUOTA_NAME};
use crate::model::release::Release;
use crate::model::strategy::{CountOrPercent, Strategy};
use crate::model::tenant::Tenant;
use crate::quantity::Quantity;

/// The resources a quota may cap that a pod consumes.
const POD_RESOURCES: [&str; 7] = ["pods", "limits.cpu", "limits.memory", "requests.cpu", "requests.memory", "cpu", "memory"];

/// What a rollout needs beyond what already runs, and what the quota has left, per resource.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Preflight {
    /// Extra pods the strategy runs at its peak (beside the pods already counted).
    pub extra_pods: u32,
    /// Per quota resource: (needed, available), in Kubernetes notation.
    pub resources: BTreeMap<String, (String, String)>,
}

/// Resources of one pod of a Deployment: the sum over its containers, per quota resource name.
pub(crate) fn pod_resources(deployment: &Deployment) -> BTreeMap<&'static str, Quantity> {
    let mut out: BTreeMap<&'static str, Quantity> = BTreeMap::new();
    let one = Quantity::from_millis(1000).unwrap_or_default();
    out.insert("pods", one);
    let containers = deployment.spec.as_ref().and_then(|s| s.template.spec.as_ref()).map(|s| s.containers.clone()).unwrap_or_default();
    for c in containers {
        let Some(r) = c.resources else { continue };
        for (prefix, list) in [("limits", r.limits), ("requests", r.requests)] {
            for (name, q) in list.unwrap_or_default() {
                let key: Option<&'static str> = match (prefix, name.as_str()) {
                    ("limits", "cpu") => Some("limits.cpu"),
                    ("limits", "memory") => Some("limits.memory"),
                    ("requests", "cpu") => Some("requests.cpu"),
                    ("requests", "memory") => Some("requests.memory"),
                    _ => None,
                };
                if let (Some(key), Ok(q)) = (key, Quantity::parse(&q.0)) {
                    let sum = out.get(key).and_then(|a| a.checked_add(&q)).unwrap_or(q);
                    out.insert(key, sum);
                }
            }
        }
    }
    // `cpu` and `memory` in a quota mean requests.
    if let Some(q) = out.get("requests.cpu").cloned() {
        out.insert("cpu", q);
    }
    if let Some(q) = out.get("requests.memory").cloned() {
        out.insert("memory", q);
    }
    out
}

/// What the pods of `ns` that are not finished use, per quota resource, as the quota controller
/// counts it (containers' requests and limits; `pods` counts the pods): the pods that stay, and
/// apart the pods that are going away (deleted, still charged until they are gone).
async fn observed_usage(backend: &dyn Backend, ns: &str) -> Result<(Usage, Usage), BackendError> {
    let pods = backend.list(&Kind::of::<k8s_openapi::api::core::v1::Pod>(), Some(ns), &crate::backend::Selector::all()).await?;
    let unfinished = |p: &&Value| !matches!(p.pointer("/status/phase").and_then(Value::as_str), Some("Succeeded" | "Failed"));
    let terminating = |p: &&Value| crate::backend::being_deleted(p);
    let (going, staying): (Vec<&Value>, Vec<&Value>) = pods.iter().filter(unfinished).partition(terminating);
    Ok((pods_usage(&staying), pods_usage(&going)))
}

/// Usage per quota resource.
type Usage = BTreeMap<&'static str, Quantity>;

/// What `pods` use per quota resource.
fn pods_usage(pods: &[&Value]) -> Usage {
    let mut out: Usage = BTreeMap::new();
    let mut add = |key: &'static str, q: Quantity| {
        let sum = out.get(key).and_then(|a| a.checked_add(&q)).unwrap_or(q);
        out.insert(key, sum);
    };
    for pod in pods {
        add("pods", Quantity::from_millis(1000).unwrap_or_default());
        let containers = pod.pointer("/spec/containers").and_then(Value::as_array).cloned().unwrap_or_default();
        for c in &containers {
            for (prefix, keys) in [("limits", ["limits.cpu", "limits.memory"]), ("requests", ["requests.cpu", "requests.memory"])] {
                for (resource, key) in [("cpu", keys[0]), ("memory", keys[1])] {
                    let value = c.pointer(&format!("/resources/{prefix}/{resource}")).and_then(Value::as_str).and_then(|v| Quantity::parse(v).ok());
                    if let Some(q) = value {
                        add(key, q.clone());
                        if prefix == "requests" {
                            add(resource_alias(resource), q);
                        }
                    }
                }
            }
        }
    }
    out
}

/// `cpu` and `memory` in a quota mean requests.
fn resource_alias(resource: &str) -> &'static str {
    if resource == "cpu" {
        "cpu"
    } else {
        "memory"
    }
}

/// How many pods beyond those already running the strategy adds at its peak.
pub(crate) fn extra_pods(strategy: &Strategy, replicas: u32, running_new: u32, running_old: u32) -> u32 {
    match strategy {
        Strategy::BlueGreen(_) => replicas.saturating_sub(running_new),
        // ingress-nginx and Gateway API keep the stable version at full size: the canary reaches full size at 100%.
        Strategy::Canary(c)
            if matches!(c.traffic, crate::model::strategy::TrafficRouting::IngressNginx | crate::model::strategy::TrafficRouting::GatewayApi) =>
        {
            replicas.saturating_sub(running_new)
        }
        Strategy::Canary(c) => {
            let weight = c.max_weight().min(100);
            let canary = (u64::from(replicas) * u64::from(weight)).div_ceil(100);
            u32::try_from(canary).unwrap_or(u32::MAX).saturating_sub(running_new)
        }
        Strategy::Rolling(r) => {
            let surge = CountOrPercent::parse(&r.max_surge).map(|s| s.resolve(replicas, true)).unwrap_or(1);
            replicas.saturating_sub(running_old).saturating_add(surge)
        }
    }
}

fn show(resource: &str, q: &Quantity) -> String {
    if resource.ends_with("cpu") || resource == "cpu" {
        q.to_canonical_cpu()
    } else if resource == "pods" {
        (q.millis() / 1000).to_string()
    } else {
        q.to_canonical_bytes()
    }
}

/// Pods running now for the new version and for the one serving before (`from`), as the peak
/// computation counts them (a rolling update replaces pods in place).
pub(super) async fn running_pods(backend: &dyn Backend, ns: &str, release: &Release, from: Option<&str>) -> Result<(u32, u32), BackendError> {
    let spec = release.spec();
    let running_new = replicas_of(backend, ns, &release.deployment_name()).await?;
    let running_old = match (&spec.strategy, from) {
        (Strategy::Rolling(_), _) => running_new,
        (_, Some(from)) => replicas_of(backend, ns, &format!("{}-{from}", spec.app)).await?,
        (_, None) => 0,
    };
    let running_new = if matches!(spec.strategy, Strategy::Rolling(_)) { 0 } else { running_new };
    Ok((running_new, running_old))
}

async fn replicas_of(backend: &dyn Backend, ns: &str, name: &str) -> Result<u32, BackendError> {
    let d = backend.get(&Kind::of::<Deployment>(), Some(ns), name).await?;
    Ok(d.and_then(|d| d.pointer("/status/replicas").and_then(Value::as_u64)).and_then(|n| u32::try_from(n).ok()).unwrap_or(0))
}

/// What rolling `release` out on `tenant` now would need at its peak, checked against what the
/// tenant's quota has left, without creating anything: [`RolloutError::QuotaInsufficient`] when it
/// does not fit. Fleet waves run it for every tenant before the first wave.
pub async fn preflight(backend: &dyn Backend, tenant: &Tenant, release: &Release) -> Result<Preflight, RolloutError> {
    let spec = release.spec();
    let ns = tenant.namespace();
    let compiled = compile_release(tenant, release)?;
    let Some(deployment) = compiled.objects.iter().find(|o| o.kind() == "Deployment") else { return Ok(Preflight::default()) };
    let active = super::active_version(backend, ns, &spec.app).await?;
    let from = active.filter(|a| *a != spec.version);
    let (running_new, running_old) = running_pods(backend, ns, release, from.as_deref()).await?;
    check_quota(backend, ns, deployment, &spec.strategy, spec.replicas, running_new, running_old).await
}

/// Checks that the peak of `strategy` fits in what the tenant's quota has left; refuses with
/// [`RolloutError::QuotaInsufficient`] otherwise. Nothing is created either way.
pub(crate) async fn check_quota(
    backend: &dyn Backend,
    ns: &str,
    deployment: &Object,
    strategy: &Strategy,
    replicas: u32,
    running_new: u32,
    running_old: u32,
) -> Result<Preflight, RolloutError> {
    let Object::Deployment(deployment) = deployment else { return Ok(Preflight::default()) };
    let extra = extra_pods(strategy, replicas, running_new, running_old);
    let mut report = Preflight { extra_pods: extra, resources: BTreeMap::new() };
    let kind = Kind::of::<k8s_openapi::api::core::v1::ResourceQuota>();
    let Some(quota) = backend.get(&kind, Some(ns), QUOTA_NAME).await? else { return Ok(report) };
    let per_pod = pod_resources(deployment);
    let (observed, going) = observed_usage(backend, ns).await?;
    let read = |pointer: &str, key: &str| -> Option<Quantity> {
        quota.pointer(pointer).and_then(|m| m.get(key)).and_then(Value::as_str).and_then(|s| Quantity::parse(s).ok())
    };
    // Every resource that does not fit, so that one raise is enough.
    let mut short: Vec<(String, Quantity, Quantity, String)> = Vec::new();
    let mut fits_pods = u64::MAX;
    for resource in POD_RESOURCES {
        let Some(hard) = read("/spec/hard", resource) else { continue };
        // The quota controller updates `status.used` a moment after pods change: the pods the
        // namespace runs now count even when the status has not caught up yet. Pods going away
        // free their share as they go (the wait for readiness waits for them), so they do not.
        let reported = read("/status/used", resource).unwrap_or_default();
        let reported = going.get(resource).map_or(reported.clone(), |g| reported.checked_sub(g).unwrap_or_default());
        let used = observed.get(resource).cloned().map_or(reported.clone(), |o| o.max(reported));
        let available = hard.checked_sub(&used).unwrap_or_default();
        let Some(each) = per_pod.get(resource) else {
            continue;
        };
        let needed = each.checked_mul(u64::from(extra)).unwrap_or(hard.clone());
        if !each.is_zero() {
            fits_pods = fits_pods.min(u64::try_from(available.millis() / each.millis()).unwrap_or(0));
        }
        report.resources.insert(resource.to_string(), (show(resource, &needed), show(resource, &available)));
        if needed > available {
            let raise_to = used.checked_add(&needed).unwrap_or(needed.clone());
            short.push((
                resource.to_string(),
                needed,
                available,
                format!("{resource} from {} to at least {}", show(resource, &hard), show(resource, &raise_to)),
            ));
        }
    }
    if let Some((resource, needed, available, _)) = short.first() {
        let raises: Vec<&str> = short.iter().map(|s| s.3.as_str()).collect();
        let mut hint = format!("raise the tenant's quota: {}", raises.join(", "));
        match strategy {
            Strategy::Canary(_) => hint.push_str(&format!("; or use canary steps that never run more than {fits_pods} extra pod(s)")),
            Strategy::Rolling(_) => hint.push_str(&format!("; or lower maxSurge to at most {fits_pods}")),
            Strategy::BlueGreen(_) => {}
        }
        return Err(RolloutError::QuotaInsufficient { resource: resource.clone(), needed: show(resource, needed), available: show(resource, available), hint });
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::strategy::{CanaryStep, Strategy, TrafficRouting};

    #[test]
    fn peak_pods_per_strategy() {
        assert_eq!(extra_pods(&Strategy::blue_green().into(), 3, 0, 3), 3);
        assert_eq!(extra_pods(&Strategy::blue_green().into(), 3, 1, 3), 2, "resume counts pods already there");
        assert_eq!(extra_pods(&Strategy::rolling("1", "0"), 3, 0, 3), 1);
        assert_eq!(extra_pods(&Strategy::rolling("25%", "0"), 3, 0, 3), 1);
        assert_eq!(extra_pods(&Strategy::rolling("25%", "0"), 5, 0, 3), 4, "scale up plus surge");
        let canary = Strategy::canary([CanaryStep::set_weight(25), CanaryStep::set_weight(50)]).into();
        assert_eq!(extra_pods(&canary, 4, 0, 4), 2);
        assert_eq!(extra_pods(&canary, 3, 0, 3), 2, "weights round up to whole pods");
        // Routed by ingress-nginx or Gateway API the stable version stays at full size until the canary is.
        for traffic in [TrafficRouting::IngressNginx, TrafficRouting::GatewayApi] {
            let routed = Strategy::canary([CanaryStep::set_weight(25)]).traffic(traffic).into();
            assert_eq!(extra_pods(&routed, 4, 0, 4), 4, "{traffic:?}");
        }
    }
}
