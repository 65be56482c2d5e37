//! The rollout flows: blue/green (switch, keep warm, scale down), rolling, promote and rollback.

use std::time::{Duration, Instant};

use super::history::{History, Outcome, Phase, Revision, RolloutState};
use super::preflight::{check_quota, running_pods, Preflight};
use super::wait::wait_version_ready;
use super::{active_version, apply_objects, delete_version_objects, deployment_kind, Progress, RolloutError, RolloutOptions, RolloutReport};
use super::{autoscale, gates};
use crate::analysis::{AnalysisResult, Verdict};
use crate::backend::{Backend, Selector};
use crate::checks::parse_duration;
use crate::compile::{compile_release, config_hash, Object, ServiceRole};
use crate::labels;
use crate::model::release::Release;
use crate::model::strategy::Strategy;
use crate::model::tenant::Tenant;

fn who() -> String {
    std::env::var("USER").ok().filter(|u| !u.is_empty()).unwrap_or_else(|| "moorage".into())
}

fn secs(d: Duration) -> u64 {
    d.as_secs()
}

/// Whether an object follows the serving version of the application as a whole (stable Service,
/// Ingress or HTTPRoute, and HorizontalPodAutoscaler): it moves to the new version at the switch.
pub(super) fn is_stable_route(o: &Object, app: &str) -> bool {
    matches!(o.kind(), "Service" | "Ingress" | "HTTPRoute" | "HorizontalPodAutoscaler") && o.name() == ServiceRole::Stable.service_name(app)
}

/// Adds the revision of `state` to the history (not saved yet) unless it is already there.
pub(super) fn record_new_revision(backend: &dyn Backend, history: &mut History, state: &RolloutState, release: &Release) {
    let spec = release.spec();
    if history.revision(state.revision).is_some() {
        return;
    }
    history.push(Revision {
        number: state.revision,
        version: spec.version.clone(),
        image: spec.image.clone(),
        config_hash: spec.config.as_ref().map(|c| config_hash(&c.files)),
        replicas: spec.replicas,
        strategy: spec.strategy.kind().to_string(),
        by: who(),
        started_at: secs(backend.now()),
        finished_at: None,
        outcome: Outcome::InProgress,
        spec: spec.clone(),
        analyses: Vec::new(),
    });
}

pub(super) async fn rollout(backend: &dyn Backend, tenant: &Tenant, release: &Release, options: &RolloutOptions) -> Result<RolloutReport, RolloutError> {
    let spec = release.spec();
    let ns = tenant.namespace();
    let app = spec.app.as_str();
    let mut compiled = compile_release(tenant, release)?;
    let mut history = History::load(backend, ns, app).await?;
    let active = active_version(backend, ns, app).await?;
    // Autoscaled: the live count (of this version once it runs, else of the one it replaces).
    let replicas = autoscale::to_live(backend, release, &mut compiled, active.as_deref()).await?;

    // Already live with the same spec: applying again changes nothing.
    if active.as_deref() == Some(spec.version.as_str()) && history.rollout.is_none() {
        if let Some(rev) = history.revisions.iter().rev().find(|r| r.version == spec.version) {
            if rev.spec == *spec && rev.outcome == Outcome::Succeeded {
                let all: Vec<&Object> = compiled.objects.iter().collect();
                let changed = apply_objects(backend, &all, options).await?;
                return Ok(RolloutReport {
                    revision: rev.number,
                    version: spec.version.clone(),
                    previous: None,
                    phase: Phase::Done,
                    unchanged: changed == 0,
                    switch_latency: None,
                    preflight: Preflight::default(),
                    analyses: Vec::new(),
                });
            }
        }
    }

    // Resume the rollout of this very release, or start a new one.
    let resuming = history.rollout.clone().filter(|s| s.to == spec.version && history.revision(s.revision).is_some_and(|r| r.spec == *spec));
    let mut state = match resuming {
        // A failed rollout of the same release is retried from the start.
        Some(mut state) if state.phase == Phase::Failed => {
            state.phase = Phase::Deploying;
            state
        }
        Some(state) => state,
        None => {
            if let Some(old) = history.rollout.take() {
                if let Some(rev) = history.revision_mut(old.revision).filter(|r| r.outcome == Outcome::InProgress) {
                    rev.outcome = Outcome::Failed { reason: format!("replaced by the rollout of {}", spec.version) };
                }
            }
            RolloutState {
                revision: history.next_number(),
                from: active.clone().filter(|a| *a != spec.version),
                to: spec.version.clone(),
                phase: Phase::Deploying,
                switched_at: None,
                step: None,
                replicas: spec.autoscaling.map(|_| replicas),
            }
        }
    };

    let mut preflight = Preflight::default();
    if state.phase == Phase::Deploying {
        let (running_new, running_old) = running_pods(backend, ns, release, state.from.as_deref()).await?;
        let deployment = compiled.objects.iter().find(|o| o.kind() == "Deployment");
        if let Some(d) = deployment {
            preflight = check_quota(backend, ns, d, &spec.strategy, replicas, running_new, running_old).await?;
        }
        record_new_revision(backend, &mut history, &state, release);
        history.rollout = Some(state.clone());
        history.save(backend, ns, app).await?;
        // Emitted once recorded, so that a driver dying after it is resumed.
        options.emit(Progress::PreflightPassed { extra_pods: preflight.extra_pods });

        // Hold the stable routes on the old version until the new one is ready (blue/green);
        // a first release, or a rolling update, applies everything at once.
        let hold = state.from.is_some() && matches!(spec.strategy, Strategy::BlueGreen(_) | Strategy::Canary(_));
        let to_apply: Vec<&Object> = compiled.objects.iter().filter(|o| !(hold && is_stable_route(o, app))).collect();
        let changed = apply_objects(backend, &to_apply, options).await?;
        options.emit(Progress::Applied { objects: to_apply.len(), changed });
        let ready_at = match wait_version_ready(backend, release, options, options.timeout).await {
            Ok(at) => at,
            // The cluster was unreachable: nothing failed. The rollout stays in progress
            // (`Deploying`, recorded above) and `resume` goes on waiting.
            Err(e) if e.is_retryable() => return Err(e),
            Err(e) => {
                if let Some(rev) = history.revision_mut(state.revision) {
                    rev.outcome = Outcome::Failed { reason: e.to_string() };
                    rev.finished_at = Some(secs(backend.now()));
                }
                // Kept so that `rollback` (or `resume`) cleans the failed version up, and a
                // rollout of the same release retries it.
                state.phase = Phase::Failed;
                history.rollout = Some(state);
                history.save(backend, ns, app).await?;
                return Err(e);
            }
        };
        // Pre-promotion analyses gate the switch: a failure rolls the new version back, an
        // inconclusive result waits for `promote` (never passes silently).
        let mut analyses = Vec::new();
        let mut ready_at = ready_at;
        if let (Strategy::BlueGreen(bg), true) = (&spec.strategy, hold) {
            if !bg.pre_promotion_analysis.is_empty() {
                analyses = gates::run_gate(
                    backend,
                    release,
                    ns,
                    &bg.pre_promotion_analysis,
                    "prePromotion",
                    ServiceRole::Preview,
                    &mut history,
                    state.revision,
                    options,
                )
                .await?;
                match analyses.last() {
                    Some(r) if r.verdict == Verdict::Failed => {
                        let r = r.clone();
                        return Err(reject_before_switch(backend, release, &mut history, state, &r, options).await?);
                    }
                    Some(r) if r.verdict == Verdict::Inconclusive => {
                        state.phase = Phase::WaitingForPromotion;
                        history.rollout = Some(state.clone());
                        history.save(backend, ns, app).await?;
                        options.emit(Progress::WaitingForPromotion { version: spec.version.clone() });
                        return Ok(RolloutReport { analyses, ..RolloutReport::from_state(&state, preflight, None) });
                    }
                    _ => {}
                }
                // The switch follows the analyses' verdict, not the readiness they waited on.
                ready_at = Instant::now();
            }
        }
        match &spec.strategy {
            Strategy::BlueGreen(bg) if hold && !bg.auto_promote => {
                state.phase = Phase::WaitingForPromotion;
                history.rollout = Some(state.clone());
                history.save(backend, ns, app).await?;
                options.emit(Progress::WaitingForPromotion { version: spec.version.clone() });
                return Ok(RolloutReport { analyses, ..RolloutReport::from_state(&state, preflight, None) });
            }
            _ => {}
        }
        let latency = if hold { Some(switch(backend, tenant, release, &mut history, &mut state, options, ready_at).await?) } else { None };
        if !hold {
            state.phase = Phase::Switched;
            state.switched_at = Some(secs(backend.now()));
        }
        if hold {
            if let Some(report) = post_promotion(backend, tenant, release, &mut history, &state, options, &mut analyses).await? {
                return Ok(report);
            }
        }
        let report = finish(backend, tenant, release, history, state, options, preflight, latency).await?;
        return Ok(RolloutReport { analyses, ..report });
    }
    if state.phase == Phase::WaitingForPromotion {
        return Ok(RolloutReport::from_state(&state, preflight, None));
    }
    finish(backend, tenant, release, history, state, options, preflight, None).await
}

/// Moves the stable Service (and Ingress) to `release` in one apply; returns the switch latency.
async fn switch(
    backend: &dyn Backend,
    tenant: &Tenant,
    release: &Release,
    history: &mut History,
    state: &mut RolloutState,
    options: &RolloutOptions,
    ready_at: Instant,
) -> Result<Duration, RolloutError> {
    let app = release.app();
    let compiled = compile_release(tenant, release)?;
    let routes: Vec<&Object> = compiled.objects.iter().filter(|o| is_stable_route(o, app)).collect();
    apply_objects(backend, &routes, options).await?;
    let latency = ready_at.elapsed();
    state.phase = Phase::Switched;
    state.switched_at = Some(secs(backend.now()));
    history.rollout = Some(state.clone());
    history.save(backend, tenant.namespace(), app).await?;
    options.emit(Progress::TrafficSwitched { from: state.from.clone(), to: state.to.clone(), latency });
    Ok(latency)
}

/// After the switch: keep the old version warm for the scale-down delay, scale it down, prune
/// versions beyond `keep_previous`, and record the outcome.
#[allow(clippy::too_many_arguments)]
pub(super) async fn finish(
    backend: &dyn Backend,
    tenant: &Tenant,
    release: &Release,
    mut history: History,
    mut state: RolloutState,
    options: &RolloutOptions,
    preflight: Preflight,
    latency: Option<Duration>,
) -> Result<RolloutReport, RolloutError> {
    let ns = tenant.namespace();
    let spec = release.spec();
    let app = spec.app.as_str();
    let (delay, keep) = match &spec.strategy {
        Strategy::BlueGreen(bg) => (parse_duration(&bg.scale_down_delay).unwrap_or_default(), bg.keep_previous as usize),
        _ => (Duration::ZERO, 1),
    };
    if let (Some(from), false) = (&state.from, matches!(spec.strategy, Strategy::Rolling(_))) {
        if !options.wait_for_scale_down {
            return Ok(RolloutReport::from_state(&state, preflight, latency));
        }
        // Never scale the old version down while the stable Service's endpoints still point at it.
        super::wait::wait_traffic_settled(backend, release, options.timeout).await?;
        let elapsed = backend.now().saturating_sub(Duration::from_secs(state.switched_at.unwrap_or(0)));
        if elapsed < delay {
            options.emit(Progress::KeepingWarm { version: from.clone(), delay: delay - elapsed });
            backend.sleep(delay - elapsed).await;
        }
        if let Some(old) = history.revisions.iter().rev().find(|r| &r.version == from).map(|r| r.spec.clone()) {
            let mut old = old;
            old.replicas = 0;
            if let Ok(old_release) = Release::from_spec(old) {
                let compiled = compile_release(tenant, &old_release)?;
                let deployment: Vec<&Object> = compiled.objects.iter().filter(|o| o.kind() == "Deployment").collect();
                // Autoscaled: the autoscaler has moved to the new version; its count on the old one is taken back.
                autoscale::apply_scaled(backend, &deployment, release, options).await?;
                options.emit(Progress::ScaledDown { version: from.clone() });
            }
        }
    }
    // Keep the live version and the `keep` most recent others; prune the rest.
    let live = spec.version.clone();
    let deployments = backend.list(&deployment_kind(), Some(ns), &Selector::labels(format!("{}={app}", labels::NAME))).await?;
    let mut kept: Vec<String> = Vec::new();
    for rev in history.revisions.iter().rev() {
        if rev.version != live && !kept.contains(&rev.version) && kept.len() < keep {
            kept.push(rev.version.clone());
        }
    }
    for d in deployments {
        let version =
            d.pointer(&format!("/metadata/labels/{}", labels::VERSION.replace('/', "~1"))).and_then(serde_json::Value::as_str).unwrap_or_default().to_string();
        if !matches!(spec.strategy, Strategy::Rolling(_)) && version != live && !kept.contains(&version) && !version.is_empty() {
            delete_version_objects(backend, ns, app, &version).await?;
            options.emit(Progress::Pruned { version });
        }
    }
    for rev in history.revisions.iter_mut() {
        if rev.number == state.revision {
            rev.outcome = Outcome::Succeeded;
            rev.finished_at = Some(secs(backend.now()));
        } else if rev.outcome == Outcome::Succeeded {
            rev.outcome = Outcome::Superseded;
        }
    }
    state.phase = Phase::Done;
    history.rollout = None;
    history.save(backend, ns, app).await?;
    options.emit(Progress::Done { revision: state.revision, version: live });
    Ok(RolloutReport::from_state(&state, preflight, latency))
}

pub(super) async fn promote(backend: &dyn Backend, tenant: &Tenant, app: &str, options: &RolloutOptions) -> Result<RolloutReport, RolloutError> {
    let mut history = History::load(backend, tenant.namespace(), app).await?;
    let Some(mut state) = history.rollout.clone().filter(|s| s.phase == Phase::WaitingForPromotion) else {
        return Err(RolloutError::NothingToPromote { app: app.to_string() });
    };
    let Some(rev) = history.revision(state.revision) else { return Err(RolloutError::NothingToPromote { app: app.to_string() }) };
    let release = Release::from_spec(rev.spec.clone())?;
    let latency = switch(backend, tenant, &release, &mut history, &mut state, options, Instant::now()).await?;
    let mut analyses = Vec::new();
    if let Some(report) = post_promotion(backend, tenant, &release, &mut history, &state, options, &mut analyses).await? {
        return Ok(report);
    }
    let report = finish(backend, tenant, &release, history, state, options, Preflight::default(), Some(latency)).await?;
    Ok(RolloutReport { analyses, ..report })
}

/// A pre-promotion analysis failed: the new version's objects go (traffic never left the old
/// version) and the revision records why. Returns the error to give the caller.
async fn reject_before_switch(
    backend: &dyn Backend,
    release: &Release,
    history: &mut History,
    state: RolloutState,
    result: &AnalysisResult,
    options: &RolloutOptions,
) -> Result<RolloutError, RolloutError> {
    let ns = release.tenant();
    let app = release.app();
    delete_version_objects(backend, ns, app, &state.to).await?;
    if let Some(rev) = history.revision_mut(state.revision) {
        rev.outcome = Outcome::Failed { reason: gates::failure_reason(result) };
        rev.finished_at = Some(secs(backend.now()));
    }
    history.rollout = None;
    history.save(backend, ns, app).await?;
    options.emit(Progress::Aborted { version: state.to.clone() });
    Ok(gates::failed(release, result, state.from.as_deref().unwrap_or_default()))
}

/// Post-promotion analyses, right after the switch while the old version is still warm. A failure
/// switches traffic back to it (one selector change) and removes the new version; an inconclusive
/// result leaves the rollout switched with the old version warm (`rollback` or `resume` decide).
/// Returns a report when the rollout must stop here.
async fn post_promotion(
    backend: &dyn Backend,
    tenant: &Tenant,
    release: &Release,
    history: &mut History,
    state: &RolloutState,
    options: &RolloutOptions,
    analyses: &mut Vec<AnalysisResult>,
) -> Result<Option<RolloutReport>, RolloutError> {
    let Strategy::BlueGreen(bg) = &release.spec().strategy else { return Ok(None) };
    if bg.post_promotion_analysis.is_empty() {
        return Ok(None);
    }
    let ns = tenant.namespace();
    let app = release.app();
    // The stable Service now selects the new version: the analyses look at it.
    let results =
        gates::run_gate(backend, release, ns, &bg.post_promotion_analysis, "postPromotion", ServiceRole::Stable, history, state.revision, options).await?;
    analyses.extend(results.iter().cloned());
    match results.last() {
        Some(r) if r.verdict == Verdict::Failed => {
            let from = state.from.clone().unwrap_or_default();
            let Some(old) = history.revisions.iter().rev().find(|rev| rev.version == from).map(|rev| rev.spec.clone()) else {
                return Err(gates::failed(release, r, ""));
            };
            let old = Release::from_spec(old)?;
            let compiled = compile_release(tenant, &old)?;
            let routes: Vec<&Object> = compiled.objects.iter().filter(|o| is_stable_route(o, app)).collect();
            let started = Instant::now();
            apply_objects(backend, &routes, options).await?;
            options.emit(Progress::TrafficSwitched { from: Some(state.to.clone()), to: from.clone(), latency: started.elapsed() });
            super::wait::wait_traffic_settled(backend, &old, options.timeout).await?;
            delete_version_objects(backend, ns, app, &state.to).await?;
            if let Some(rev) = history.revision_mut(state.revision) {
                rev.outcome = Outcome::Failed { reason: gates::failure_reason(r) };
                rev.finished_at = Some(secs(backend.now()));
            }
            history.rollout = None;
            history.save(backend, ns, app).await?;
            options.emit(Progress::Aborted { version: state.to.clone() });
            Err(gates::failed(release, r, &from))
        }
        Some(r) if r.verdict == Verdict::Inconclusive => {
            options.emit(Progress::Paused {
                version: state.to.clone(),
                step: 0,
                note: format!("post-promotion analysis {} inconclusive: {}; the old version stays warm until resume or rollback", r.name, r.reason),
            });
            Ok(Some(RolloutReport { analyses: analyses.clone(), ..RolloutReport::from_state(state, Preflight::default(), None) }))
        }
        _ => Ok(None),
    }
}

pub(super) async fn rollback(
    backend: &dyn Backend,
    tenant: &Tenant,
    app: &str,
    to: Option<u32>,
    options: &RolloutOptions,
) -> Result<RolloutReport, RolloutError> {
    let ns = tenant.namespace();
    let mut history = History::load(backend, ns, app).await?;
    let active = active_version(backend, ns, app).await?;
    // A rollout that has not switched yet is aborted: traffic never left the active version.
    if let Some(state) = history.rollout.clone().filter(|s| matches!(s.phase, Phase::Deploying | Phase::WaitingForPromotion | Phase::Failed)) {
        if active.as_deref() != Some(state.to.as_str()) {
            delete_version_objects(backend, ns, app, &state.to).await?;
            if let Some(rev) = history.revision_mut(state.revision) {
                rev.outcome = Outcome::Failed { reason: "aborted by rollback before the switch".into() };
                rev.finished_at = Some(secs(backend.now()));
            }
            history.rollout = None;
            history.save(backend, ns, app).await?;
            return Ok(RolloutReport::aborted(&history, active, state.to));
        }
    }
    let target = match to {
        Some(n) => history.revision(n).cloned().ok_or(RolloutError::NoSuchRevision { app: app.to_string(), revision: n })?,
        None => history
            .last_succeeded_except(active.as_deref().unwrap_or_default())
            .cloned()
            .ok_or(RolloutError::NoSuchRevision { app: app.to_string(), revision: 0 })?,
    };
    let from_revision = history.revisions.iter().rev().find(|r| Some(r.version.as_str()) == active.as_deref()).map(|r| r.number);
    let release = Release::from_spec(target.spec.clone())?;
    let (compiled, replicas) = autoscale::compile_live(backend, tenant, &release, active.as_deref()).await?;
    let autoscaled = release.spec().autoscaling.map(|_| replicas);
    let mut state = RolloutState {
        revision: history.next_number(),
        from: active.clone(),
        to: target.version.clone(),
        phase: Phase::Deploying,
        switched_at: None,
        step: None,
        replicas: autoscaled,
    };
    history.push(Revision {
        number: state.revision,
        strategy: "rollback".into(),
        by: who(),
        started_at: secs(backend.now()),
        finished_at: None,
        outcome: Outcome::InProgress,
        analyses: Vec::new(),
        ..target.clone()
    });
    history.rollout = Some(state.clone());
    history.save(backend, ns, app).await?;
    // Warm (ready at full size, its ReplicaSets settled and its pods serving: the status may lag
    // behind them; see `wait_version_ready`): one selector change. Otherwise bring it back first.
    let name = release.deployment_name();
    let mut warm = backend.get(&deployment_kind(), Some(ns), &name).await?.is_some_and(|d| {
        let n = |p: &str| d.pointer(p).and_then(serde_json::Value::as_u64).unwrap_or(0);
        n("/spec/replicas") == u64::from(replicas) && n("/status/readyReplicas") == u64::from(replicas)
    });
    if warm {
        warm = super::wait::serves_now(backend, &release, replicas as usize).await?;
    }
    let ready_at = if warm {
        Instant::now()
    } else {
        let versioned: Vec<&Object> = compiled.objects.iter().filter(|o| !is_stable_route(o, app)).collect();
        autoscale::apply_scaled(backend, &versioned, &release, options).await?;
        wait_version_ready(backend, &release, options, options.timeout).await?
    };
    let latency = switch(backend, tenant, &release, &mut history, &mut state, options, ready_at).await?;
    if let Some(n) = from_revision {
        if let Some(rev) = history.revision_mut(n) {
            rev.outcome = Outcome::RolledBack { to: state.revision };
        }
    }
    finish(backend, tenant, &release, history, state, options, Preflight::default(), Some(latency)).await
}
