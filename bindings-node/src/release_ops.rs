//! More release operations on a `Cluster` (the core's `rollout` module): the plan and the quota
//! preflight of a release, changing nothing, and scaling the serving version. The rest is in
//! `rollout.rs`; Python's `release_ops.rs` has the same.

use std::collections::HashMap;

use moorage::rollout::{self, Preflight};
use napi::bindgen_prelude::{Object, PromiseRaw};
use napi::Env;
use napi_derive::napi;

use crate::cluster::{spawn, Cluster};
use crate::errors;
use crate::release::Release;
use crate::rollout::{options, report, run, RolloutOptionsJs, RolloutReport};
use crate::tenant::{plan, Tenant, TenantPlan};

/// One quota resource of a preflight, in Kubernetes notation.
#[napi(object)]
pub struct PreflightResource {
    /// What the rollout needs at its peak.
    pub needed: String,
    /// What the quota has left.
    pub available: String,
}

/// The quota preflight of a rollout.
#[napi(object)]
pub struct PreflightReport {
    /// Extra pods the strategy runs at its peak (beside the pods already counted).
    pub extra_pods: u32,
    /// Per quota resource (`limits.cpu`, ...): needed and available.
    pub resources: HashMap<String, PreflightResource>,
}

fn preflight_report(p: Preflight) -> PreflightReport {
    PreflightReport {
        extra_pods: p.extra_pods,
        resources: p.resources.into_iter().map(|(k, (needed, available))| (k, PreflightResource { needed, available })).collect(),
    }
}

#[napi]
impl Cluster {
    /// What a rollout of `release` would create or change once finished, field by field,
    /// changing nothing (the shape of `planTenant`'s plan).
    #[napi(ts_return_type = "Promise<TenantPlan>")]
    pub fn plan_release<'env>(&self, env: &'env Env, tenant: &Tenant, release: &Release) -> napi::Result<PromiseRaw<'env, TenantPlan>> {
        let (backend, tenant, release) = (self.backend.clone(), tenant.inner.clone(), release.inner.clone());
        spawn(env, async move { rollout::plan(backend.as_ref(), &tenant, &release).await.map_err(|e| errors::rollout(&e)) }, plan)
    }

    /// The quota preflight of a rollout of `release`, changing nothing; rejects with
    /// `QUOTA_INSUFFICIENT` when the quota cannot hold the strategy's peak.
    #[napi(ts_return_type = "Promise<PreflightReport>")]
    pub fn preflight<'env>(&self, env: &'env Env, tenant: &Tenant, release: &Release) -> napi::Result<PromiseRaw<'env, PreflightReport>> {
        let (backend, tenant, release) = (self.backend.clone(), tenant.inner.clone(), release.inner.clone());
        spawn(env, async move { rollout::preflight(backend.as_ref(), &tenant, &release).await.map_err(|e| errors::rollout(&e)) }, preflight_report)
    }

    /// Sets the replicas of the version of `app` that serves: a new revision, quota preflight first.
    #[napi(ts_args_type = "tenant: Tenant, app: string, replicas: number, options?: RolloutOptions", ts_return_type = "Promise<RolloutReport>")]
    pub fn scale<'env>(
        &self,
        env: &'env Env,
        tenant: &Tenant,
        app: String,
        replicas: f64,
        options: Option<Object<'_>>,
    ) -> napi::Result<PromiseRaw<'env, RolloutReport>> {
        let o: RolloutOptionsJs = crate::convert::read_options(env, options)?.unwrap_or_default();
        let (opts, deliveries) = self::options(env, o.timeout, o.wait_for_scale_down, o.force, o.on_progress)?;
        let replicas = crate::convert::js_whole_number(replicas, "replicas")?;
        let (backend, tenant) = (self.backend.clone(), tenant.inner.clone());
        run(env, deliveries, async move { rollout::scale(backend.as_ref(), &tenant, &app, replicas, &opts).await }, report)
    }
}
