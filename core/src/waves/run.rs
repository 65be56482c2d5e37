//! Running a wave plan: selecting and preflighting tenants, then each wave with per-cluster concurrency.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use serde_json::Value;
use tokio::sync::Mutex;

use super::lease::DriverLease;
use super::plan::{assign_waves, WaveGate, WavePlanSpec};
use super::state::{TenantWave, TenantWaveState, WavePhase, WaveState};
use super::{WaveError, WaveOptions, WaveProgress};
use crate::analysis::{self, Subject, Verdict};
use crate::backend::Backend;
use crate::checks::parse_duration;
use crate::compile::ServiceRole;
use crate::labels;
use crate::model::analysis::Analysis;
use crate::model::release::Release;
use crate::model::tenant::Tenant;
use crate::rollout::{self, History, Phase, RolloutError};
use crate::tenant::{Fleet, FleetError};

/// The backend keeping the plans: the fleet's first cluster.
pub(super) fn control(fleet: &Fleet) -> Result<Arc<dyn Backend>, WaveError> {
    fleet.clusters().first().map(|c| c.backend.clone()).ok_or(WaveError::EmptyFleet)
}

/// The tenant as last applied (its domains, quota defaults and pod security shape its release).
async fn load_tenant(backend: &dyn Backend, name: &str) -> Result<Tenant, String> {
    crate::tenant::live(backend, name).await.map_err(|e| e.to_string())
}

/// The release `spec` asks of `tenant`: its live release with the plan's version and image.
/// `Ok(None)` when the tenant does not run the application.
async fn target_release(backend: &dyn Backend, tenant: &str, spec: &WavePlanSpec) -> Result<Option<(Release, String)>, RolloutError> {
    let Some(active) = rollout::active_version(backend, tenant, &spec.app).await? else { return Ok(None) };
    let history = History::load(backend, tenant, &spec.app).await?;
    let Some(live) = history.revisions.iter().rev().find(|r| r.version == active) else { return Ok(None) };
    let mut release = live.spec.clone();
    release.version = spec.version.clone();
    release.image = spec.image.clone();
    // Before the plan the tenant ran `active`; once switched, `from` of the rollout in progress.
    let from = history.rollout.as_ref().and_then(|r| r.from.clone()).filter(|_| active == spec.version).unwrap_or(active);
    Ok(Some((Release::from_spec(release)?, from)))
}

/// Selects the tenants, preflights each one, and splits them into waves. Writes nothing.
pub(super) async fn plan_tenants(fleet: &Fleet, spec: &WavePlanSpec, options: &WaveOptions) -> Result<WaveState, WaveError> {
    for name in &spec.selection.clusters {
        if fleet.cluster(name).is_none() {
            return Err(FleetError::UnknownCluster(name.clone()).into());
        }
    }
    let explicit = !spec.selection.tenants.is_empty();
    let mut entries: BTreeMap<String, TenantWave> = BTreeMap::new();
    for cluster in fleet.clusters().iter().filter(|c| spec.selection.clusters.is_empty() || spec.selection.clusters.contains(&c.name)) {
        for ns in crate::tenant::tenant_namespaces(cluster.backend.as_ref()).await? {
            let ns_labels = ns.pointer("/metadata/labels").cloned().unwrap_or(Value::Null);
            let tenant = ns_labels.get(labels::TENANT).and_then(Value::as_str).unwrap_or_default().to_string();
            let matches = spec.selection.labels.iter().all(|(k, v)| ns_labels.get(k).and_then(Value::as_str) == Some(v.as_str()))
                && (!explicit || spec.selection.tenants.contains(&tenant));
            if !matches || entries.contains_key(&tenant) {
                continue;
            }
            let skip = |reason: String| TenantWave {
                tenant: tenant.clone(),
                cluster: cluster.name.clone(),
                wave: None,
                from: None,
                state: TenantWaveState::Skipped { reason },
            };
            let entry = match target_release(cluster.backend.as_ref(), &tenant, spec).await {
                Ok(None) if explicit => skip(format!("does not run {}", spec.app)),
                Ok(None) => continue,
                Err(RolloutError::Backend(e)) => return Err(e.into()),
                Err(e) => skip(e.to_string()),
                Ok(Some((release, from))) => match load_tenant(cluster.backend.as_ref(), &tenant).await {
                    Err(reason) => skip(reason),
                    Ok(model) => match rollout::preflight(cluster.backend.as_ref(), &model, &release).await {
                        Ok(_) => {
                            TenantWave { tenant: tenant.clone(), cluster: cluster.name.clone(), wave: None, from: Some(from), state: TenantWaveState::Pending }
                        }
                        Err(RolloutError::Backend(e)) => return Err(e.into()),
                        Err(e) => skip(e.to_string()),
                    },
                },
            };
            entries.insert(tenant, entry);
        }
    }
    let missing: Vec<&String> = spec.selection.tenants.iter().filter(|t| !entries.contains_key(*t)).collect();
    for name in missing {
        entries.insert(
            name.clone(),
            TenantWave {
                tenant: name.clone(),
                cluster: String::new(),
                wave: None,
                from: None,
                state: TenantWaveState::Skipped { reason: "not found in the fleet".into() },
            },
        );
    }
    let eligible: Vec<String> = entries.values().filter(|t| t.state == TenantWaveState::Pending).map(|t| t.tenant.clone()).collect();
    if eligible.is_empty() && entries.is_empty() {
        return Err(WaveError::NothingSelected { app: spec.app.clone() });
    }
    let waves = assign_waves(spec, &eligible);
    for (index, (_, tenants)) in waves.iter().enumerate() {
        for t in tenants {
            if let Some(e) = entries.get_mut(t) {
                e.wave = u32::try_from(index).ok();
            }
        }
    }
    let skipped: Vec<(String, String)> = entries
        .values()
        .filter_map(|t| match &t.state {
            TenantWaveState::Skipped { reason } => Some((t.tenant.clone(), reason.clone())),
            _ => None,
        })
        .collect();
    options.emit(WaveProgress::Planned { waves: waves.iter().map(|(l, t)| (l.clone(), t.len())).collect(), skipped });
    Ok(WaveState {
        spec: spec.clone(),
        waves: waves.into_iter().map(|(l, _)| l).collect(),
        current_wave: 0,
        phase: WavePhase::Running,
        resume_at: None,
        tenants: entries.into_values().collect(),
    })
}

/// Runs the plan from where `state` stands until it is done, paused or stopped.
pub(super) async fn drive(fleet: &Fleet, mut state: WaveState, options: &WaveOptions, lease: &DriverLease) -> Result<WaveState, WaveError> {
    let control = control(fleet)?;
    loop {
        if state.phase != WavePhase::Running {
            return Ok(state);
        }
        if let Some(at) = state.resume_at {
            let now = control.now().as_secs();
            if at > now {
                let left = Duration::from_secs(at - now);
                options.emit(WaveProgress::Waiting { seconds: left.as_secs() });
                control.sleep(left).await;
            }
            state.resume_at = None;
            lease.save(&state).await?;
        }
        let wave = state.current_wave;
        let Some(label) = state.waves.get(wave as usize).cloned() else {
            state.phase = WavePhase::Done;
            lease.save(&state).await?;
            options.emit(WaveProgress::Done { succeeded: state.succeeded(), failed: state.failed(), skipped: state.skipped() });
            return Ok(state);
        };
        let todo: Vec<TenantWave> = state.wave_tenants(wave).filter(|t| !t.state.is_final()).cloned().collect();
        options.emit(WaveProgress::WaveStarted { wave, label, tenants: todo.len() });
        state = run_wave(fleet, state, todo, lease, options).await?;
        options.emit(WaveProgress::WaveFinished { wave, succeeded: state.succeeded(), failed: state.failed() });
        if state.failed() > state.spec.failure_budget as usize {
            let reason = format!("{} tenant(s) failed, more than the failure budget of {}", state.failed(), state.spec.failure_budget);
            options.emit(WaveProgress::Stopped { reason: reason.clone() });
            state.phase = WavePhase::Stopped { reason };
            lease.save(&state).await?;
            return Ok(state);
        }
        state.current_wave += 1;
        if (state.current_wave as usize) < state.waves.len() {
            match &state.spec.between_waves {
                WaveGate::None => {}
                WaveGate::Pause => {
                    state.phase = WavePhase::Paused;
                    options.emit(WaveProgress::Paused { next_wave: state.current_wave });
                }
                WaveGate::Wait(d) => {
                    let d = parse_duration(d).unwrap_or_default();
                    state.resume_at = Some(control.now().as_secs() + d.as_secs());
                }
                WaveGate::Analysis(analysis) => match analyse_wave(fleet, &state, wave, analysis, options).await? {
                    (Verdict::Passed, _) => {}
                    (Verdict::Failed, reason) => {
                        options.emit(WaveProgress::Stopped { reason: reason.clone() });
                        state.phase = WavePhase::Stopped { reason };
                    }
                    (Verdict::Inconclusive, _) => {
                        state.phase = WavePhase::Paused;
                        options.emit(WaveProgress::Paused { next_wave: state.current_wave });
                    }
                },
            }
        }
        lease.save(&state).await?;
    }
}

/// Runs the gate's analysis against every tenant wave `wave` upgraded, in the tenant's namespace on
/// its cluster (the stable Service now serves the new version). The first failure decides; else
/// the first inconclusive result; else passed. (Run again when a driver dies before the next save.)
async fn analyse_wave(fleet: &Fleet, state: &WaveState, wave: u32, analysis: &Analysis, options: &WaveOptions) -> Result<(Verdict, String), WaveError> {
    let spec = &state.spec;
    let mut outcome = (Verdict::Passed, String::new());
    for t in state.wave_tenants(wave).filter(|t| t.state == TenantWaveState::Succeeded) {
        let backend = fleet.cluster(&t.cluster).map(|c| c.backend.clone()).ok_or_else(|| FleetError::UnknownCluster(t.cluster.clone()))?;
        let history = History::load(backend.as_ref(), &t.tenant, &spec.app).await?;
        let live = history.revisions.iter().rev().find(|r| r.version == spec.version);
        let subject = Subject {
            tenant: t.tenant.clone(),
            namespace: t.tenant.clone(),
            app: spec.app.clone(),
            version: spec.version.clone(),
            revision: live.map_or(0, |r| r.number),
            service: ServiceRole::Stable.service_name(&spec.app),
            port: live.and_then(|r| r.spec.ports.first()).map(|p| p.port),
        };
        let result = analysis::run(backend.as_ref(), analysis, &subject, &format!("after wave {wave}")).await;
        options.emit(WaveProgress::AnalysisFinished { wave, tenant: t.tenant.clone(), verdict: result.verdict, reason: result.reason.clone() });
        let reason = format!("analysis {} after wave {wave}: {} on {}: {}", result.name, result.verdict.as_str(), t.tenant, result.reason);
        match result.verdict {
            Verdict::Failed => return Ok((Verdict::Failed, reason)),
            Verdict::Inconclusive if outcome.0 == Verdict::Passed => outcome = (Verdict::Inconclusive, reason),
            _ => {}
        }
    }
    Ok(outcome)
}

/// Upgrades the unfinished tenants of one wave, at most `maxConcurrentPerCluster` at once per
/// cluster, saving the plan at every tenant's start and end.
async fn run_wave(fleet: &Fleet, state: WaveState, todo: Vec<TenantWave>, control: &DriverLease, options: &WaveOptions) -> Result<WaveState, WaveError> {
    let max = state.spec.max_concurrent_per_cluster.max(1) as usize;
    let spec = state.spec.clone();
    let shared = Mutex::new(state);
    let stop = AtomicBool::new(false);
    let mut per_cluster: BTreeMap<String, Vec<TenantWave>> = BTreeMap::new();
    for t in todo {
        per_cluster.entry(t.cluster.clone()).or_default().push(t);
    }
    let clusters = per_cluster.into_iter().map(|(cluster, tenants)| {
        let (shared, stop, spec) = (&shared, &stop, &spec);
        async move {
            let backend = fleet.cluster(&cluster).map(|c| c.backend.clone()).ok_or_else(|| FleetError::UnknownCluster(cluster.clone()))?;
            let results: Vec<Result<(), WaveError>> =
                stream::iter(tenants).map(|t| upgrade_tenant(backend.as_ref(), t, spec, shared, stop, control, options)).buffer_unordered(max).collect().await;
            results.into_iter().collect::<Result<Vec<()>, WaveError>>().map(|_| ())
        }
    });
    let results = futures_util::future::join_all(clusters).await;
    let state = shared.into_inner();
    for r in results {
        r?;
    }
    Ok(state)
}

/// Records `update` for `tenant` and saves the plan (under the lock, so saves never interleave).
async fn record(shared: &Mutex<WaveState>, control: &DriverLease, tenant: &str, update: TenantWaveState) -> Result<WaveState, WaveError> {
    let mut state = shared.lock().await;
    if let Some(t) = state.tenant_mut(tenant) {
        t.state = update;
    }
    control.save(&state).await?;
    Ok(state.clone())
}

async fn upgrade_tenant(
    backend: &dyn Backend,
    entry: TenantWave,
    spec: &WavePlanSpec,
    shared: &Mutex<WaveState>,
    stop: &AtomicBool,
    control: &DriverLease,
    options: &WaveOptions,
) -> Result<(), WaveError> {
    if stop.load(Ordering::SeqCst) {
        return Ok(());
    }
    let (tenant_name, cluster) = (entry.tenant.clone(), entry.cluster.clone());
    record(shared, control, &tenant_name, TenantWaveState::Running).await?;
    options.emit(WaveProgress::TenantStarted { tenant: tenant_name.clone(), cluster: cluster.clone() });
    let outcome = match (load_tenant(backend, &tenant_name).await, target_release(backend, &tenant_name, spec).await) {
        (Ok(tenant), Ok(Some((release, _)))) => upgrade_release(backend, &tenant, &release, options).await.map_err(|e| (e.to_string(), Some(e), Some(tenant))),
        (Ok(_), Ok(None)) => Err((format!("{} no longer runs {}", tenant_name, spec.app), None, None)),
        (Err(reason), _) => Err((reason, None, None)),
        (_, Err(e)) => Err((e.to_string(), Some(e), None)),
    };
    match outcome {
        Ok(()) => {
            record(shared, control, &tenant_name, TenantWaveState::Succeeded).await?;
            options.emit(WaveProgress::TenantSucceeded { tenant: tenant_name, cluster });
            Ok(())
        }
        // The cluster is out of reach: the tenant stays `Running`; `resume` picks it up again.
        Err((_, Some(RolloutError::Backend(b)), _)) if b.is_retryable() => Err(WaveError::Backend(b)),
        Err((mut reason, _, tenant)) => {
            // Rolled back at once: traffic on the previous version, the new one's leftovers gone.
            if let Some(tenant) = tenant {
                if let Err(cleanup) = rollout::resume(backend, &tenant, &spec.app, &options.rollout).await {
                    reason.push_str(&format!("; rolling back also failed: {cleanup}"));
                }
            }
            let state = record(shared, control, &tenant_name, TenantWaveState::Failed { reason: reason.clone() }).await?;
            if state.failed() > spec.failure_budget as usize {
                stop.store(true, Ordering::SeqCst);
            }
            options.emit(WaveProgress::TenantFailed { tenant: tenant_name, cluster, reason });
            Ok(())
        }
    }
}

/// Rolls `release` out on one tenant; a rollout that stops for promotion is promoted: the plan's
/// waves are the gate.
async fn upgrade_release(backend: &dyn Backend, tenant: &Tenant, release: &Release, options: &WaveOptions) -> Result<(), RolloutError> {
    let mut report = rollout::rollout(backend, tenant, release, &options.rollout).await?;
    for _ in 0..32 {
        if !matches!(report.phase, Phase::WaitingForPromotion | Phase::Paused) {
            return Ok(());
        }
        report = rollout::promote(backend, tenant, release.app(), &options.rollout).await?;
    }
    Err(RolloutError::Unsupported { app: release.app().to_string(), what: "a rollout that keeps pausing after promotion".into() })
}
