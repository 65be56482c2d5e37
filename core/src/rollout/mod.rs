//! The release engine: rolling, blue/green and canary rollouts with quota preflight, history in the
//! cluster, resume, rollback and diagnosis.

mod autoscale;
mod bluegreen;
mod canary;
mod diagnose;
mod gates;
mod history;
mod options;
mod plan;
mod preflight;
mod report;
mod wait;

use serde_json::Value;

pub use canary::{NGINX_CANARY, NGINX_CANARY_WEIGHT};
pub use diagnose::{Diagnosis, StuckCause};
pub use history::{History, Outcome, Phase, Revision, RolloutState, MAX_REVISIONS};
pub use options::{Progress, ProgressFn, RolloutOptions};
pub use plan::plan;
pub use preflight::{preflight, Preflight};
pub use report::{ReleaseStatus, RolloutError, RolloutReport, VersionStatus};

use crate::backend::ownership;
use crate::backend::{ApplyOptions, Backend, BackendError, ConflictPolicy, Kind, Propagation, Selector};
use crate::compile::{Object, ServiceRole};
use crate::labels;
use crate::model::release::Release;
use crate::model::tenant::Tenant;

pub(crate) fn deployment_kind() -> Kind {
    Kind::of::<k8s_openapi::api::apps::v1::Deployment>()
}
pub(crate) fn service_kind() -> Kind {
    Kind::of::<k8s_openapi::api::core::v1::Service>()
}

/// The version the stable Service of `app` selects, if it exists.
pub async fn active_version(backend: &dyn Backend, ns: &str, app: &str) -> Result<Option<String>, BackendError> {
    let svc = backend.get(&service_kind(), Some(ns), &ServiceRole::Stable.service_name(app)).await?;
    Ok(svc.and_then(|s| s.pointer("/spec/selector").and_then(|sel| sel.get(labels::VERSION)).and_then(Value::as_str).map(str::to_string)))
}

/// Refuses a rollout operation on a backend without controllers (a manifests folder): it waits for
/// versions to become ready, which never happens there. Nothing is written.
fn needs_controllers(backend: &dyn Backend, app: &str) -> Result<(), RolloutError> {
    if backend.runs_controllers() {
        Ok(())
    } else {
        Err(RolloutError::Unsupported {
            app: app.to_string(),
            what: format!("a rollout on {} (no controllers: nothing becomes ready; render the manifests instead)", backend.describe()),
        })
    }
}

/// Rolls `release` out with its strategy: quota preflight, apply, wait until ready (driven by a
/// watch), switch traffic, keep the old version warm, scale it down. Idempotent: rolling out the
/// live release again changes nothing. Resumes a rollout of the same version whose driver died.
///
/// A canary runs its steps (`setWeight`, `pause`, `analysis`) and returns with
/// [`Phase::Paused`] at a pause until promoted; see [`promote`] and [`abort`].
pub async fn rollout(backend: &dyn Backend, tenant: &Tenant, release: &Release, options: &RolloutOptions) -> Result<RolloutReport, RolloutError> {
    needs_controllers(backend, &release.spec().app)?;
    check_ownership(backend, tenant, release, options).await?;
    match release.spec().strategy {
        crate::model::strategy::Strategy::Canary(_) => canary::rollout(backend, tenant, release, options).await,
        _ => bluegreen::rollout(backend, tenant, release, options).await,
    }
}

/// Before a rollout changes anything: with [`ConflictPolicy::Fail`], a server-side dry run of
/// everything the release compiles to, so that a field another manager changed is refused with
/// [`BackendError::Conflict`] (naming the field and the manager), and a kind the cluster does not
/// serve with [`BackendError::MissingKind`], before anything is created; with
/// [`ConflictPolicy::Force`], each field taken back is logged at `warn` level.
async fn check_ownership(backend: &dyn Backend, tenant: &Tenant, release: &Release, options: &RolloutOptions) -> Result<(), RolloutError> {
    let mut compiled = crate::compile::compile_release(tenant, release)?;
    if release.spec().autoscaling.is_some() {
        // The Deployment at its live count, or without it when the autoscaler's field manager owns it.
        let active = active_version(backend, tenant.namespace(), &release.spec().app).await?;
        autoscale::to_live(backend, release, &mut compiled, active.as_deref()).await?;
    }
    let objects: Vec<Value> = compiled.objects.iter().map(|o| serde_json::to_value(o).unwrap_or_default()).collect();
    match options.conflicts {
        ConflictPolicy::Force => {
            ownership::warn_forced_takeover(backend, &objects).await?;
        }
        ConflictPolicy::Fail => {
            // Anything but a conflict or a kind the cluster does not serve (an HTTPRoute without the
            // Gateway API CRDs) is for the rollout itself to report (quota, a namespace not there yet...).
            if let Err(e @ (BackendError::Conflict { .. } | BackendError::MissingKind { .. })) = backend.apply(&objects, &ApplyOptions::dry_run()).await {
                return Err(e.into());
            }
        }
    }
    Ok(())
}

/// Aborts the canary of `app` in progress: the stable version back at full size and selected
/// alone, the canary scaled to 0, its revision recorded as failed (`aborted`).
pub async fn abort(backend: &dyn Backend, tenant: &Tenant, app: &str, options: &RolloutOptions) -> Result<RolloutReport, RolloutError> {
    needs_controllers(backend, app)?;
    canary::abort(backend, tenant, app, options).await
}

/// Rolls out again the newest revision of `app` that failed or was aborted, from its first step.
pub async fn retry(backend: &dyn Backend, tenant: &Tenant, app: &str, options: &RolloutOptions) -> Result<RolloutReport, RolloutError> {
    let history = History::load(backend, tenant.namespace(), app).await?;
    let Some(rev) = history.revisions.last().filter(|r| matches!(r.outcome, Outcome::Failed { .. })) else {
        return Err(RolloutError::NothingToRetry { app: app.to_string() });
    };
    let release = Release::from_spec(rev.spec.clone())?;
    rollout(backend, tenant, &release, options).await
}

/// Finishes the rollout of `app` in progress, whatever step its driver died at (or rolls back a
/// failed one's leftovers). Returns `None` when nothing was in progress.
pub async fn resume(backend: &dyn Backend, tenant: &Tenant, app: &str, options: &RolloutOptions) -> Result<Option<RolloutReport>, RolloutError> {
    needs_controllers(backend, app)?;
    let history = History::load(backend, tenant.namespace(), app).await?;
    let Some(state) = history.rollout.clone() else { return Ok(None) };
    let Some(rev) = history.revision(state.revision) else { return Ok(None) };
    let release = Release::from_spec(rev.spec.clone())?;
    if matches!(state.phase, Phase::WaitingForPromotion | Phase::Paused) {
        return Ok(Some(RolloutReport::from_state(&state, Preflight::default(), None)));
    }
    let is_canary = matches!(release.spec().strategy, crate::model::strategy::Strategy::Canary(_)) && state.from.is_some();
    if is_canary && state.phase == Phase::Failed {
        return Ok(Some(canary::abort(backend, tenant, app, options).await?));
    }
    if is_canary {
        return Ok(Some(canary::rollout(backend, tenant, &release, options).await?));
    }
    if state.phase == Phase::Failed {
        // A failed rollout is rolled back: its version's objects go, traffic never left the old one.
        return Ok(Some(bluegreen::rollback(backend, tenant, app, None, options).await?));
    }
    Ok(Some(bluegreen::rollout(backend, tenant, &release, options).await?))
}

/// Switches traffic to the version waiting for promotion (blue/green with `autoPromote: false`).
/// For a canary paused until promoted: skips the remaining steps and goes to 100%.
pub async fn promote(backend: &dyn Backend, tenant: &Tenant, app: &str, options: &RolloutOptions) -> Result<RolloutReport, RolloutError> {
    needs_controllers(backend, app)?;
    let history = History::load(backend, tenant.namespace(), app).await?;
    if history.rollout.as_ref().is_some_and(|s| s.phase == Phase::Paused) {
        return canary::promote(backend, tenant, app, options).await;
    }
    bluegreen::promote(backend, tenant, app, options).await
}

/// Rolls back to revision `to` (default: the last one that succeeded before the live one),
/// restoring its image **and** config. Instant (one selector change) while the old version is warm.
pub async fn rollback(backend: &dyn Backend, tenant: &Tenant, app: &str, to: Option<u32>, options: &RolloutOptions) -> Result<RolloutReport, RolloutError> {
    needs_controllers(backend, app)?;
    // A canary not yet at 100% is aborted: the stable version gets all traffic back at full size.
    let history = History::load(backend, tenant.namespace(), app).await?;
    if to.is_none()
        && history.rollout.as_ref().is_some_and(|s| s.step.is_some() && s.from.is_some() && matches!(s.phase, Phase::Deploying | Phase::Paused | Phase::Failed))
    {
        return canary::abort(backend, tenant, app, options).await;
    }
    bluegreen::rollback(backend, tenant, app, to, options).await
}

/// Sets the replicas of the version of `app` that serves: a rollout of its live revision's spec
/// with `replicas` changed, so the quota preflight applies and the history records it as a new
/// revision (a rollback restores the replicas too). Refused with [`RolloutError::NoSuchRevision`]
/// (revision 0) when nothing of `app` serves, and with [`RolloutError::Unsupported`] while a
/// rollout is in progress (promote, abort or finish it first) and when the live release is
/// autoscaled: its HorizontalPodAutoscaler owns the count (change `autoscaling.minReplicas` /
/// `maxReplicas` in the release and roll it out instead).
pub async fn scale(backend: &dyn Backend, tenant: &Tenant, app: &str, replicas: u32, options: &RolloutOptions) -> Result<RolloutReport, RolloutError> {
    let history = History::load(backend, tenant.namespace(), app).await?;
    if history.rollout.as_ref().is_some_and(|s| s.phase != Phase::Done) {
        return Err(RolloutError::Unsupported { app: app.to_string(), what: "scaling while a rollout is in progress".into() });
    }
    let active = active_version(backend, tenant.namespace(), app).await?;
    let live = active.and_then(|v| history.revisions.iter().rev().find(|r| r.version == v && r.outcome == Outcome::Succeeded));
    let Some(live) = live else { return Err(RolloutError::NoSuchRevision { app: app.to_string(), revision: 0 }) };
    if let Some(a) = &live.spec.autoscaling {
        return Err(RolloutError::Unsupported {
            app: app.to_string(),
            what: format!(
                "scaling an autoscaled release by hand (its HorizontalPodAutoscaler keeps it between {} and {} pods: change autoscaling.minReplicas and maxReplicas in the release and roll it out)",
                a.min_replicas, a.max_replicas
            ),
        });
    }
    let mut spec = live.spec.clone();
    spec.replicas = replicas;
    let release = Release::from_spec(spec)?;
    rollout(backend, tenant, &release, options).await
}

/// The history of `app` (revisions, oldest first).
pub async fn history(backend: &dyn Backend, tenant: &Tenant, app: &str) -> Result<History, RolloutError> {
    Ok(History::load(backend, tenant.namespace(), app).await?)
}

/// The versions of `app`, which one serves, and any rollout in progress.
pub async fn status(backend: &dyn Backend, tenant: &Tenant, app: &str) -> Result<ReleaseStatus, RolloutError> {
    let ns = tenant.namespace();
    let active = active_version(backend, ns, app).await?;
    let deployments = backend.list(&deployment_kind(), Some(ns), &Selector::labels(format!("{}={app}", labels::NAME))).await?;
    let mut versions: Vec<VersionStatus> = deployments
        .iter()
        .filter_map(|d| {
            let version = d.pointer(&format!("/metadata/labels/{}", labels::VERSION.replace('/', "~1")))?.as_str()?.to_string();
            let num = |p: &str| d.pointer(p).and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok()).unwrap_or(0);
            Some(VersionStatus {
                selected: active.as_deref() == Some(version.as_str()),
                desired: num("/spec/replicas"),
                ready: num("/status/readyReplicas"),
                version,
            })
        })
        .collect();
    versions.sort_by(|a, b| a.version.cmp(&b.version));
    let history = History::load(backend, ns, app).await?;
    // Drift of the live version's objects, as its revision compiles them: the revision that last
    // succeeded (the selector itself may be what another manager changed).
    let live = history
        .revisions
        .iter()
        .rev()
        .find(|r| r.outcome == Outcome::Succeeded)
        .or_else(|| history.revisions.iter().rev().find(|r| active.as_deref() == Some(r.version.as_str())));
    let drift = match live.map(|r| Release::from_spec(r.spec.clone())) {
        Some(Ok(release)) => {
            // Autoscaled: the live count is the autoscaler's, not drift.
            let (compiled, _) = autoscale::compile_live(backend, tenant, &release, active.as_deref()).await?;
            let objects: Vec<Value> = compiled.objects.iter().map(|o| serde_json::to_value(o).unwrap_or_default()).collect();
            ownership::drift(backend, &objects).await?
        }
        _ => Vec::new(),
    };
    let canary_weight = canary_weight(backend, ns, app, &history, &versions).await?;
    Ok(ReleaseStatus {
        app: app.to_string(),
        active,
        versions,
        rollout: history.rollout.clone(),
        revision: history.revisions.last().map(|r| r.number),
        drift,
        canary_weight,
    })
}

/// The canary's share of traffic now, when a canary is in progress (see [`ReleaseStatus::canary_weight`]).
async fn canary_weight(backend: &dyn Backend, ns: &str, app: &str, history: &History, versions: &[VersionStatus]) -> Result<Option<u32>, BackendError> {
    let Some(state) = history.rollout.as_ref().filter(|s| s.step.is_some() && s.phase != Phase::Failed) else { return Ok(None) };
    let Some(from) = state.from.as_deref() else { return Ok(None) };
    let strategy = history.revision(state.revision).map(|r| &r.spec.strategy);
    if matches!(strategy, Some(crate::model::strategy::Strategy::Canary(c)) if c.traffic == crate::model::strategy::TrafficRouting::GatewayApi) {
        let route = backend.get(&Kind::of::<crate::compile::HTTPRoute>(), Some(ns), app).await?;
        return Ok(route.and_then(|r| canary::route_canary_weight(&r, app)));
    }
    let ingress = Kind::of::<k8s_openapi::api::networking::v1::Ingress>();
    if let Some(canary) = backend.get(&ingress, Some(ns), &format!("{app}-canary")).await? {
        let weight = canary.pointer("/metadata/annotations").and_then(|a| a.get(NGINX_CANARY_WEIGHT)).and_then(Value::as_str).and_then(|w| w.parse().ok());
        return Ok(weight);
    }
    let ready = |v: &str| versions.iter().find(|s| s.version == v).map_or(0, |s| s.ready);
    let (canary, stable) = (ready(&state.to), ready(from));
    Ok((canary + stable > 0).then(|| canary * 100 / (canary + stable)))
}

/// Deletes one version of `app` (Deployment, ConfigMaps, PodDisruptionBudget). Refused while the
/// stable Service selects it: that is how the demo's 503 happened.
pub async fn delete_version(backend: &dyn Backend, tenant: &Tenant, app: &str, version: &str) -> Result<(), RolloutError> {
    let ns = tenant.namespace();
    if active_version(backend, ns, app).await?.as_deref() == Some(version) {
        return Err(RolloutError::VersionSelected { app: app.to_string(), version: version.to_string() });
    }
    // During a canary the stable Service selects both versions (replica ratio): both serve.
    let history = History::load(backend, ns, app).await?;
    if history.rollout.as_ref().is_some_and(|s| s.phase != Phase::Failed && (s.from.as_deref() == Some(version) || (s.to == version && s.step.is_some()))) {
        return Err(RolloutError::VersionSelected { app: app.to_string(), version: version.to_string() });
    }
    delete_version_objects(backend, ns, app, version).await?;
    Ok(())
}

pub(crate) async fn delete_version_objects(backend: &dyn Backend, ns: &str, app: &str, version: &str) -> Result<(), BackendError> {
    let selector = Selector::labels(format!("{}={app},{}={version}", labels::NAME, labels::VERSION));
    for kind in [deployment_kind(), Kind::of::<k8s_openapi::api::core::v1::ConfigMap>(), Kind::of::<k8s_openapi::api::policy::v1::PodDisruptionBudget>()] {
        for o in backend.list(&kind, Some(ns), &selector).await? {
            let name = crate::backend::ObjectRef::of(&o).name;
            backend.delete(&kind, Some(ns), &name, Propagation::Background).await?;
        }
    }
    Ok(())
}

/// Applies compiled objects as JSON; returns how many were created or changed.
pub(crate) async fn apply_objects(backend: &dyn Backend, objects: &[&Object], options: &RolloutOptions) -> Result<usize, BackendError> {
    let json: Vec<Value> = objects.iter().map(|o| serde_json::to_value(o).unwrap_or_default()).collect();
    let applied = backend.apply(&json, &options.apply_options()).await?;
    Ok(applied.iter().filter(|a| a.change != crate::backend::Change::Unchanged).count())
}
