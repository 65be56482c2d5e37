//! The canary flow: weighted steps (replica ratio, ingress-nginx or Gateway API), pauses, promote, abort and resume.

use std::time::Duration;

use serde_json::{json, Value};

use super::bluegreen::{finish, is_stable_route, record_new_revision};
use super::gates;
use super::history::{History, Outcome, Phase, RolloutState};
use super::preflight::{check_quota, Preflight};
use super::wait::wait_version_ready;
use super::{active_version, deployment_kind, Progress, RolloutError, RolloutOptions, RolloutReport};
use crate::analysis::Verdict;
use crate::backend::wait::{condition, ready_endpoints, wait_for, Target};
use crate::backend::{Backend, BackendError, Kind, Propagation, Selector};
use crate::checks::parse_duration;
use crate::compile::{compile_release, compile_service, HTTPRoute, Object, ServiceRole};
use crate::labels;
use crate::model::release::Release;
use crate::model::strategy::{Canary, CanaryStep, Strategy, TrafficRouting};
use crate::model::tenant::Tenant;

/// The annotation that marks an ingress-nginx canary Ingress.
pub const NGINX_CANARY: &str = "nginx.ingress.kubernetes.io/canary";
/// The annotation carrying the ingress-nginx canary weight (0 to 100).
pub const NGINX_CANARY_WEIGHT: &str = "nginx.ingress.kubernetes.io/canary-weight";

fn ingress_kind() -> Kind {
    Kind::of::<k8s_openapi::api::networking::v1::Ingress>()
}

fn secs(d: Duration) -> u64 {
    d.as_secs()
}

/// Canary replicas for weight `w` of `r`: rounded, at least 1 when `w > 0`, at most `r`.
pub(crate) fn canary_replicas(r: u32, w: u32) -> u32 {
    if w == 0 {
        return 0;
    }
    let c = (u64::from(r) * u64::from(w.min(100)) + 50) / 100;
    u32::try_from(c).unwrap_or(r).clamp(1, r.max(1))
}

/// The size the canary grows to (`R`): the live count recorded when an autoscaled canary started, else `replicas`.
fn full_size(release: &Release, state: &RolloutState) -> u32 {
    state.replicas.filter(|_| release.spec().autoscaling.is_some()).unwrap_or(release.spec().replicas)
}

fn canary_of(release: &Release) -> Option<&Canary> {
    match &release.spec().strategy {
        Strategy::Canary(c) => Some(c),
        _ => None,
    }
}

async fn desired_replicas(backend: &dyn Backend, ns: &str, name: &str) -> Result<u32, BackendError> {
    let d = backend.get(&deployment_kind(), Some(ns), name).await?;
    Ok(d.and_then(|d| d.pointer("/spec/replicas").and_then(Value::as_u64)).and_then(|n| u32::try_from(n).ok()).unwrap_or(0))
}

/// Applies `release`'s Deployment with `replicas` and waits until it is available.
async fn scale(backend: &dyn Backend, tenant: &Tenant, release: &Release, replicas: u32, options: &RolloutOptions) -> Result<(), RolloutError> {
    let compiled = compile_release(tenant, release)?;
    let Some(d) = compiled.objects.iter().find(|o| o.kind() == "Deployment") else { return Ok(()) };
    let mut v = serde_json::to_value(d).unwrap_or_default();
    if let Some(spec) = v.get_mut("spec").and_then(Value::as_object_mut) {
        spec.insert("replicas".into(), json!(replicas));
    }
    let mut apply = options.apply_options();
    if release.spec().autoscaling.is_some() {
        // The autoscaler's count is taken back: moorage sizes both versions through a canary.
        apply.conflicts = crate::backend::ConflictPolicy::Force;
    }
    backend.apply(&[v], &apply).await?;
    wait_version_ready(backend, release, options, options.timeout).await?;
    Ok(())
}

/// The stable Service of the canary's application selecting every version (name and instance).
fn shared_stable_service(release: &Release) -> Value {
    let mut svc = serde_json::to_value(compile_service(release, ServiceRole::Stable)).unwrap_or_default();
    if let Some(sel) = svc.pointer_mut("/spec/selector").and_then(Value::as_object_mut) {
        sel.remove(labels::VERSION);
    }
    if let Some(ann) = svc.pointer_mut("/metadata/annotations").and_then(Value::as_object_mut) {
        ann.remove(labels::ACTIVE_VERSION);
    }
    svc
}

/// The ingress-nginx canary Ingress: the stable Ingress's hosts, sent to the canary Service.
fn canary_ingress(tenant: &Tenant, release: &Release, weight: u32) -> Result<Option<Value>, RolloutError> {
    let app = release.app();
    let compiled = compile_release(tenant, release)?;
    let Some(stable) = compiled.objects.iter().find(|o| o.kind() == "Ingress" && o.name() == app) else { return Ok(None) };
    let mut v = serde_json::to_value(stable).unwrap_or_default();
    let canary_svc = ServiceRole::Canary.service_name(app);
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("name".into(), json!(canary_svc));
        meta.insert("annotations".into(), json!({NGINX_CANARY: "true", NGINX_CANARY_WEIGHT: weight.to_string()}));
    }
    if let Some(spec) = v.get_mut("spec").and_then(Value::as_object_mut) {
        spec.remove("tls");
        for rule in spec.get_mut("rules").and_then(Value::as_array_mut).into_iter().flatten() {
            for path in rule.pointer_mut("/http/paths").and_then(Value::as_array_mut).into_iter().flatten() {
                if let Some(svc) = path.pointer_mut("/backend/service").and_then(Value::as_object_mut) {
                    svc.insert("name".into(), json!(canary_svc));
                }
            }
        }
    }
    Ok(Some(v))
}

/// The stable HTTPRoute `<app>` of `release` with `weight` percent to the canary Service, as JSON.
fn weighted_route(tenant: &Tenant, release: &Release, weight: u32) -> Result<Option<Value>, RolloutError> {
    let app = release.app();
    let compiled = compile_release(tenant, release)?;
    let Some(Object::HTTPRoute(route)) = compiled.objects.into_iter().find(|o| o.kind() == "HTTPRoute" && o.name() == app) else { return Ok(None) };
    let mut route = route;
    route.set_canary_weight(app, weight);
    Ok(Some(serde_json::to_value(&route).unwrap_or_default()))
}

/// The canary's weight on the stable HTTPRoute `<app>` as the API server stored it.
pub(crate) fn route_canary_weight(route: &Value, app: &str) -> Option<u32> {
    let route: HTTPRoute = serde_json::from_value(route.clone()).ok()?;
    route.weight_of(&ServiceRole::Canary.service_name(app))
}

/// Counts the ready endpoints of the stable Service, and those of `version`, once they settle at `expected`.
async fn measure(backend: &dyn Backend, ns: &str, app: &str, version: &str, expected: usize) -> Result<(u32, u32), RolloutError> {
    let target = Target::labelled(Kind::of::<k8s_openapi::api::discovery::v1::EndpointSlice>(), Some(ns), &format!("kubernetes.io/service-name={app}"));
    let settled = condition(format!("to have exactly {expected} ready endpoint(s)"), move |slices| ready_endpoints(slices) == expected);
    let slices = match wait_for(backend, &target, &settled, Duration::from_secs(60)).await {
        Ok(s) => s,
        Err(BackendError::Timeout { .. }) => backend.list(&target.kind, Some(ns), &target.selector).await?,
        Err(e) => return Err(e.into()),
    };
    let pods = backend
        .list(&Kind::of::<k8s_openapi::api::core::v1::Pod>(), Some(ns), &Selector::labels(format!("{}={app},{}={version}", labels::NAME, labels::VERSION)))
        .await?;
    let names: Vec<&str> = pods.iter().filter_map(|p| p.pointer("/metadata/name").and_then(Value::as_str)).collect();
    let (mut canary, mut total) = (0u32, 0u32);
    for e in slices.iter().flat_map(|s| s.get("endpoints").and_then(Value::as_array).cloned().unwrap_or_default()) {
        if e.pointer("/conditions/ready").and_then(Value::as_bool) == Some(true) {
            total += 1;
            if e.pointer("/targetRef/name").and_then(Value::as_str).is_some_and(|n| names.contains(&n)) {
                canary += 1;
            }
        }
    }
    Ok((canary, total))
}

/// The release serving before the canary, from the history.
fn stable_release(history: &History, from: &str) -> Option<Release> {
    history.revisions.iter().rev().find(|r| r.version == from).and_then(|r| Release::from_spec(r.spec.clone()).ok())
}

async fn save(backend: &dyn Backend, ns: &str, app: &str, history: &mut History, state: &RolloutState) -> Result<(), RolloutError> {
    history.rollout = Some(state.clone());
    history.save(backend, ns, app).await?;
    Ok(())
}

/// Runs (or resumes) the canary of `release`. A first release, or the live one again, goes the
/// blue/green way (there is nothing to split traffic with).
pub(super) async fn rollout(backend: &dyn Backend, tenant: &Tenant, release: &Release, options: &RolloutOptions) -> Result<RolloutReport, RolloutError> {
    let Some(canary) = canary_of(release) else { return super::bluegreen::rollout(backend, tenant, release, options).await };
    let spec = release.spec();
    let ns = tenant.namespace();
    let app = spec.app.as_str();
    let mut history = History::load(backend, ns, app).await?;
    let active = active_version(backend, ns, app).await?;
    let resuming = history.rollout.clone().filter(|s| s.to == spec.version && history.revision(s.revision).is_some_and(|r| r.spec == *spec));
    let from = resuming.as_ref().and_then(|s| s.from.clone()).or_else(|| active.clone().filter(|a| *a != spec.version));
    let Some(from) = from else { return super::bluegreen::rollout(backend, tenant, release, options).await };
    let Some(stable) = stable_release(&history, &from) else {
        return Err(RolloutError::Unsupported { app: app.to_string(), what: format!("a canary from version {from}, which has no revision in the history") });
    };
    let mut preflight = Preflight::default();
    let mut state = match resuming {
        Some(mut s) if s.phase == Phase::Failed => {
            s.phase = Phase::Deploying;
            s.step = Some(0);
            s
        }
        Some(s) => s,
        None => {
            if let Some(old) = history.rollout.take() {
                if let Some(rev) = history.revision_mut(old.revision).filter(|r| r.outcome == Outcome::InProgress) {
                    rev.outcome = Outcome::Failed { reason: format!("replaced by the rollout of {}", spec.version) };
                }
            }
            let running_new = desired_replicas(backend, ns, &release.deployment_name()).await?;
            let running_old = desired_replicas(backend, ns, &stable.deployment_name()).await?;
            // Autoscaled: R is the stable version's live count now, before any step shrinks it.
            let replicas = super::autoscale::replicas_to_apply(backend, release, Some(&from)).await?;
            let compiled = compile_release(tenant, release)?;
            if let Some(d) = compiled.objects.iter().find(|o| o.kind() == "Deployment") {
                preflight = check_quota(backend, ns, d, &spec.strategy, replicas, running_new, running_old).await?;
            }
            let state = RolloutState {
                revision: history.next_number(),
                from: Some(from.clone()),
                to: spec.version.clone(),
                phase: Phase::Deploying,
                switched_at: None,
                step: Some(0),
                replicas: spec.autoscaling.map(|_| replicas),
            };
            record_new_revision(backend, &mut history, &state, release);
            save(backend, ns, app, &mut history, &state).await?;
            // Emitted once recorded, so that a driver dying after it is resumed.
            options.emit(Progress::PreflightPassed { extra_pods: preflight.extra_pods });
            state
        }
    };
    match state.phase {
        Phase::Paused | Phase::WaitingForPromotion => return Ok(RolloutReport::from_state(&state, preflight, None)),
        Phase::Switched | Phase::Done => return finish(backend, tenant, release, history, state, options, preflight, None).await,
        Phase::Deploying | Phase::Failed => {}
    }
    save(backend, ns, app, &mut history, &state).await?;
    // Versioned objects and the canary Service; the stable routes stay where they are.
    let compiled = compile_release(tenant, release)?;
    let others: Vec<&Object> = compiled.objects.iter().filter(|o| o.kind() != "Deployment" && !is_stable_route(o, app)).collect();
    let changed = super::apply_objects(backend, &others, options).await?;
    options.emit(Progress::Applied { objects: others.len(), changed });

    let first = state.step.unwrap_or(0) as usize;
    for (i, step) in canary.steps.iter().enumerate().skip(first) {
        match step {
            CanaryStep::SetWeight(w) => {
                if let Err(e) = set_weight(backend, tenant, release, &stable, canary, *w, full_size(release, &state), options).await {
                    return fail(backend, &mut history, state, e).await;
                }
            }
            CanaryStep::Pause(p) => match p.duration.as_deref().map(parse_duration) {
                Some(Ok(d)) => backend.sleep(d).await,
                _ => return pause(backend, &mut history, state, i, "paused until promoted".into(), options).await,
            },
            CanaryStep::Analysis(a) => {
                let gate = format!("step {i}");
                let results =
                    gates::run_gate(backend, release, ns, std::slice::from_ref(&a.name), &gate, ServiceRole::Canary, &mut history, state.revision, options)
                        .await?;
                match results.last() {
                    Some(r) if r.verdict == Verdict::Failed => {
                        abort_with(backend, tenant, app, options, gates::failure_reason(r)).await?;
                        return Err(gates::failed(release, r, &from));
                    }
                    Some(r) if r.verdict == Verdict::Inconclusive => {
                        let note = format!("analysis {} inconclusive: {}; promote to go on, or abort", r.name, r.reason);
                        let report = pause(backend, &mut history, state, i, note, options).await?;
                        return Ok(RolloutReport { analyses: results, ..report });
                    }
                    _ => {}
                }
            }
        }
        state.step = Some(u32::try_from(i + 1).unwrap_or(u32::MAX));
        save(backend, ns, app, &mut history, &state).await?;
    }
    complete(backend, tenant, release, &stable, history, state, options, preflight).await
}

async fn pause(
    backend: &dyn Backend,
    history: &mut History,
    mut state: RolloutState,
    step: usize,
    note: String,
    options: &RolloutOptions,
) -> Result<RolloutReport, RolloutError> {
    let app = history.revision(state.revision).map(|r| r.spec.app.clone()).unwrap_or_default();
    let ns = history.revision(state.revision).map(|r| r.spec.tenant.clone()).unwrap_or_default();
    state.phase = Phase::Paused;
    state.step = Some(u32::try_from(step).unwrap_or(u32::MAX));
    save(backend, &ns, &app, history, &state).await?;
    options.emit(Progress::Paused { version: state.to.clone(), step: state.step.unwrap_or(0), note });
    Ok(RolloutReport::from_state(&state, Preflight::default(), None))
}

/// Records the rollout as failed (so that `resume` or `rollback` aborts it), unless the error is
/// retryable: the cluster was unreachable, nothing failed, and `resume` goes on from this step.
async fn fail(backend: &dyn Backend, history: &mut History, mut state: RolloutState, e: RolloutError) -> Result<RolloutReport, RolloutError> {
    if e.is_retryable() {
        return Err(e);
    }
    let Some(rev) = history.revision_mut(state.revision) else { return Err(e) };
    rev.outcome = Outcome::Failed { reason: e.to_string() };
    rev.finished_at = Some(secs(backend.now()));
    let (ns, app) = (rev.spec.tenant.clone(), rev.spec.app.clone());
    state.phase = Phase::Failed;
    save(backend, &ns, &app, history, &state).await?;
    Err(e)
}

/// One `SetWeight` step: scale up the canary, then scale down the stable version (replica ratio),
/// or set the canary Ingress weight (ingress-nginx); reports the weight reached.
#[allow(clippy::too_many_arguments)]
async fn set_weight(
    backend: &dyn Backend,
    tenant: &Tenant,
    release: &Release,
    stable: &Release,
    canary: &Canary,
    w: u32,
    r: u32,
    options: &RolloutOptions,
) -> Result<(), RolloutError> {
    let ns = tenant.namespace();
    let app = release.app();
    let c = canary_replicas(r, w);
    match canary.traffic {
        TrafficRouting::IngressNginx => {
            scale(backend, tenant, release, c, options).await?;
            if let Some(ingress) = canary_ingress(tenant, release, w)? {
                backend.apply(&[ingress], &options.apply_options()).await?;
            }
            options.emit(Progress::WeightSet { requested: w, actual: w, canary: c, total: r + c });
        }
        TrafficRouting::GatewayApi => {
            // The canary is sized for its share, then the route's backend weights move: exact weights.
            scale(backend, tenant, release, c, options).await?;
            let Some(route) = weighted_route(tenant, release, w)? else {
                return Err(RolloutError::Unsupported {
                    app: app.to_string(),
                    what: "gatewayApi traffic without an HTTPRoute (the release has no hosts)".into(),
                });
            };
            let applied = backend.apply(&[route], &options.apply_options()).await?;
            let actual = applied.first().and_then(|a| route_canary_weight(&a.result, app)).unwrap_or(w);
            options.emit(Progress::WeightSet { requested: w, actual, canary: c, total: r + c });
        }
        TrafficRouting::ReplicaRatio => {
            scale(backend, tenant, release, c, options).await?;
            // Both versions behind the stable Service (idempotent), then the stable version shrinks.
            backend.apply(&[shared_stable_service(release)], &options.apply_options()).await?;
            let s = if w >= 100 { 0 } else { r.saturating_sub(c).max(1) };
            scale(backend, tenant, stable, s, options).await?;
            let (ready_canary, total) = measure(backend, ns, app, &release.spec().version, (c + s) as usize).await?;
            let actual = (ready_canary * 100 + total / 2).checked_div(total).unwrap_or(0);
            options.emit(Progress::WeightSet { requested: w, actual, canary: ready_canary, total });
        }
    }
    Ok(())
}

/// Goes to 100%: the canary at full size, the stable routes on it, the old version scaled down.
#[allow(clippy::too_many_arguments)]
async fn complete(
    backend: &dyn Backend,
    tenant: &Tenant,
    release: &Release,
    stable: &Release,
    mut history: History,
    mut state: RolloutState,
    options: &RolloutOptions,
    preflight: Preflight,
) -> Result<RolloutReport, RolloutError> {
    let ns = tenant.namespace();
    let app = release.app();
    let r = full_size(release, &state);
    let traffic = canary_of(release).map(|c| c.traffic).unwrap_or_default();
    let chunk = canary_of(release).map(|c| canary_replicas(r, c.max_weight())).unwrap_or(r).max(1);
    let mut n = desired_replicas(backend, ns, &release.deployment_name()).await?;
    let started = std::time::Instant::now();
    let result: Result<(), RolloutError> = async {
        if matches!(traffic, TrafficRouting::IngressNginx | TrafficRouting::GatewayApi) {
            scale(backend, tenant, release, r, options).await?;
        } else {
            // Grow the canary by at most its peak at a time, shrinking the stable version behind it.
            loop {
                n = (n + chunk).min(r);
                scale(backend, tenant, release, n, options).await?;
                scale(backend, tenant, stable, r - n, options).await?;
                if n >= r {
                    break;
                }
            }
        }
        Ok(())
    }
    .await;
    if let Err(e) = result {
        return fail(backend, &mut history, state, e).await;
    }
    let compiled = compile_release(tenant, release)?;
    let routes: Vec<&Object> = compiled.objects.iter().filter(|o| is_stable_route(o, app)).collect();
    super::apply_objects(backend, &routes, options).await?;
    backend.delete(&ingress_kind(), Some(ns), &ServiceRole::Canary.service_name(app), Propagation::Background).await?;
    state.phase = Phase::Switched;
    state.switched_at = Some(secs(backend.now()));
    state.step = canary_of(release).map(|c| u32::try_from(c.steps.len()).unwrap_or(u32::MAX));
    save(backend, ns, app, &mut history, &state).await?;
    let latency = started.elapsed();
    options.emit(Progress::TrafficSwitched { from: state.from.clone(), to: state.to.clone(), latency });
    finish(backend, tenant, release, history, state, options, preflight, Some(latency)).await
}

/// Promotes a paused canary: skips the remaining steps and goes to 100%.
pub(super) async fn promote(backend: &dyn Backend, tenant: &Tenant, app: &str, options: &RolloutOptions) -> Result<RolloutReport, RolloutError> {
    let ns = tenant.namespace();
    let mut history = History::load(backend, ns, app).await?;
    let Some(mut state) = history.rollout.clone().filter(|s| s.phase == Phase::Paused) else {
        return Err(RolloutError::NothingToPromote { app: app.to_string() });
    };
    let Some(rev) = history.revision(state.revision) else { return Err(RolloutError::NothingToPromote { app: app.to_string() }) };
    let release = Release::from_spec(rev.spec.clone())?;
    let Some(stable) = state.from.as_deref().and_then(|f| stable_release(&history, f)) else {
        return Err(RolloutError::NothingToPromote { app: app.to_string() });
    };
    // Promoting is recorded first, so that a driver dying now is resumed to 100%.
    state.phase = Phase::Deploying;
    state.step = canary_of(&release).map(|c| u32::try_from(c.steps.len()).unwrap_or(u32::MAX));
    save(backend, ns, app, &mut history, &state).await?;
    complete(backend, tenant, &release, &stable, history, state, options, Preflight::default()).await
}

/// Aborts the canary of `app`: all traffic back to the stable version at full size, the canary scaled to 0.
pub(super) async fn abort(backend: &dyn Backend, tenant: &Tenant, app: &str, options: &RolloutOptions) -> Result<RolloutReport, RolloutError> {
    abort_with(backend, tenant, app, options, "aborted".into()).await
}

/// Aborts the canary of `app`, recording `reason` as its revision's failure.
async fn abort_with(backend: &dyn Backend, tenant: &Tenant, app: &str, options: &RolloutOptions, reason: String) -> Result<RolloutReport, RolloutError> {
    let ns = tenant.namespace();
    let mut history = History::load(backend, ns, app).await?;
    let nothing = || RolloutError::NothingToAbort { app: app.to_string() };
    let state = history
        .rollout
        .clone()
        .filter(|s| matches!(s.phase, Phase::Deploying | Phase::Paused | Phase::Failed | Phase::WaitingForPromotion))
        .ok_or_else(nothing)?;
    let rev = history.revision(state.revision).ok_or_else(nothing)?;
    let release = Release::from_spec(rev.spec.clone())?;
    let stable = state.from.as_deref().and_then(|f| stable_release(&history, f)).ok_or_else(nothing)?;
    // Stable back to full size first, then the selector, then the canary goes.
    scale(backend, tenant, &stable, state.replicas.unwrap_or(stable.spec().replicas), options).await?;
    let mut compiled = compile_release(tenant, &stable)?;
    // With Gateway API routing the stable route keeps its canary backend, at weight 0.
    if canary_of(&release).is_some_and(|c| c.traffic == TrafficRouting::GatewayApi) {
        for o in &mut compiled.objects {
            if let Object::HTTPRoute(route) = o {
                if route.metadata.name.as_deref() == Some(app) {
                    route.set_canary_weight(app, 0);
                }
            }
        }
    }
    let routes: Vec<&Object> = compiled.objects.iter().filter(|o| is_stable_route(o, app)).collect();
    super::apply_objects(backend, &routes, options).await?;
    backend.delete(&ingress_kind(), Some(ns), &ServiceRole::Canary.service_name(app), Propagation::Background).await?;
    if backend.get(&deployment_kind(), Some(ns), &release.deployment_name()).await?.is_some() {
        scale(backend, tenant, &release, 0, options).await?;
    }
    if let Some(rev) = history.revision_mut(state.revision) {
        rev.outcome = Outcome::Failed { reason };
        rev.finished_at = Some(secs(backend.now()));
    }
    history.rollout = None;
    history.save(backend, ns, app).await?;
    options.emit(Progress::Aborted { version: state.to.clone() });
    Ok(RolloutReport::aborted(&history, state.from, state.to))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canary_replicas_round_with_at_least_one_pod() {
        assert_eq!(canary_replicas(4, 25), 1);
        assert_eq!(canary_replicas(4, 50), 2);
        assert_eq!(canary_replicas(3, 10), 1, "at least one pod once the weight is above zero");
        assert_eq!(canary_replicas(3, 50), 2, "1.5 rounds up");
        assert_eq!(canary_replicas(4, 100), 4);
        assert_eq!(canary_replicas(4, 0), 0);
    }

    #[test]
    fn a_rollout_state_without_a_step_still_reads() {
        let old = r#"{"revision":2,"from":"blue","to":"green","phase":"deploying"}"#;
        let state: RolloutState = serde_json::from_str(old).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(state.step, None);
    }
}
