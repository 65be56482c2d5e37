//! Status: a tenant's quota usage, release pods, domains, last backups and drift, in one call.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{tenant_objects, tenant_selector, text, TenantError};
pub use crate::backend::ownership::Drift;
use crate::backend::{Backend, BackendError, Kind, Selector};
use crate::compile::QUOTA_NAME;
use crate::labels;
use crate::model::tenant::Tenant;

/// One resource of the tenant's quota.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QuotaUsage {
    /// The resource, e.g. `limits.memory`.
    pub resource: String,
    /// What is used (as the quota controller reports it; `None` before it has).
    pub used: Option<String>,
    /// The hard limit.
    pub hard: String,
}

/// The pods of one version of one application.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleasePods {
    /// The application (`app.kubernetes.io/name`).
    pub app: String,
    /// The version (`app.kubernetes.io/version`).
    pub version: String,
    /// Ready pods, summed over the version's Deployments.
    pub ready: i64,
    /// Desired replicas.
    pub desired: i64,
}

/// The state of a domain's certificate.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase", tag = "state", content = "reason")]
pub enum CertificateState {
    /// A cert-manager Certificate for the domain is Ready.
    Ready,
    /// A Certificate exists but is not Ready yet (with its reason when it gives one).
    NotReady(String),
    /// No Certificate names the domain (it is issued when a release serves the host).
    None,
    /// cert-manager's CRDs are not installed in the cluster.
    CertManagerMissing,
}

/// One domain of the tenant.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainStatus {
    /// The domain.
    pub domain: String,
    /// Its certificate.
    pub certificate: CertificateState,
}

/// The last run of a backup CronJob.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase", tag = "state")]
pub enum BackupRun {
    /// No Job ran yet.
    None,
    /// The latest Job is still running.
    Running {
        /// The Job's name.
        job: String,
    },
    /// The latest Job completed.
    Succeeded {
        /// The Job's name.
        job: String,
    },
    /// The latest Job failed.
    Failed {
        /// The Job's name.
        job: String,
    },
}

/// Everything [`status`] reports.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantStatus {
    /// Quota usage per resource (empty without a quota).
    pub quota: Vec<QuotaUsage>,
    /// Pods per release version.
    pub releases: Vec<ReleasePods>,
    /// Domains and their certificates.
    pub domains: Vec<DomainStatus>,
    /// The last run of each backup CronJob, by CronJob name.
    pub backups: BTreeMap<String, BackupRun>,
    /// Objects changed by another field manager.
    pub drift: Vec<Drift>,
}

/// Reads a tenant's state in one call. Fails with [`TenantError::NotFound`] when its namespace is missing.
pub async fn status(backend: &dyn Backend, tenant: &Tenant) -> Result<TenantStatus, TenantError> {
    let ns = tenant.namespace();
    if backend.get(&super::namespace_kind(), None, ns).await?.is_none() {
        return Err(TenantError::NotFound { tenant: tenant.name().to_string() });
    }
    Ok(TenantStatus {
        quota: quota(backend, ns).await?,
        releases: releases(backend, tenant).await?,
        domains: domains(backend, tenant).await?,
        backups: backups(backend, tenant).await?,
        drift: drift(backend, tenant).await?,
    })
}

async fn quota(backend: &dyn Backend, ns: &str) -> Result<Vec<QuotaUsage>, BackendError> {
    let kind = Kind::of::<k8s_openapi::api::core::v1::ResourceQuota>();
    let Some(q) = backend.get(&kind, Some(ns), QUOTA_NAME).await? else { return Ok(Vec::new()) };
    let hard = q.pointer("/spec/hard").and_then(Value::as_object).cloned().unwrap_or_default();
    let used = q.pointer("/status/used").and_then(Value::as_object).cloned().unwrap_or_default();
    Ok(hard
        .iter()
        .map(|(resource, h)| QuotaUsage {
            resource: resource.clone(),
            used: used.get(resource).and_then(Value::as_str).map(str::to_string),
            hard: h.as_str().unwrap_or_default().to_string(),
        })
        .collect())
}

async fn releases(backend: &dyn Backend, tenant: &Tenant) -> Result<Vec<ReleasePods>, BackendError> {
    let kind = Kind::of::<k8s_openapi::api::apps::v1::Deployment>();
    let mut by_version: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
    for d in backend.list(&kind, Some(tenant.namespace()), &Selector::labels(tenant_selector(tenant))).await? {
        let label = |key: &str| d.pointer("/metadata/labels").and_then(|l| l.get(key)).and_then(Value::as_str).unwrap_or_default().to_string();
        let entry = by_version.entry((label(labels::NAME), label(labels::VERSION))).or_default();
        entry.0 += d.pointer("/status/readyReplicas").and_then(Value::as_i64).unwrap_or(0);
        entry.1 += d.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
    }
    Ok(by_version.into_iter().map(|((app, version), (ready, desired))| ReleasePods { app, version, ready, desired }).collect())
}

async fn domains(backend: &dyn Backend, tenant: &Tenant) -> Result<Vec<DomainStatus>, BackendError> {
    if tenant.spec().domains.is_empty() {
        return Ok(Vec::new());
    }
    let kind = Kind::custom("cert-manager.io/v1", "Certificate", "certificates", true);
    // Behind a Gateway the certificates are the Gateway's listeners' (cert-manager's gateway-shim
    // creates them in the Gateway's namespace): look there too, when the caller may.
    let mut namespaces = vec![(tenant.namespace(), false)];
    namespaces.extend(tenant.spec().gateway.as_ref().map(|g| (g.namespace.as_str(), true)));
    let mut certificates = Some(Vec::new());
    for (ns, shared) in namespaces {
        match backend.list(&kind, Some(ns), &Selector::all()).await {
            Ok(list) => certificates.get_or_insert_with(Vec::new).extend(list),
            Err(BackendError::MissingKind { .. }) => certificates = None,
            Err(BackendError::Forbidden { .. }) if shared => {}
            Err(e) => return Err(e),
        }
    }
    Ok(tenant
        .spec()
        .domains
        .iter()
        .map(|domain| {
            let certificate = match &certificates {
                None => CertificateState::CertManagerMissing,
                Some(list) => certificate_state(list, domain),
            };
            DomainStatus { domain: domain.clone(), certificate }
        })
        .collect())
}

fn certificate_state(certificates: &[Value], domain: &str) -> CertificateState {
    let names = |c: &Value| c.pointer("/spec/dnsNames").and_then(Value::as_array).cloned().unwrap_or_default();
    let Some(cert) = certificates.iter().find(|c| names(c).iter().any(|n| n.as_str().is_some_and(|n| n.eq_ignore_ascii_case(domain)))) else {
        return CertificateState::None;
    };
    let conditions = cert.pointer("/status/conditions").and_then(Value::as_array).cloned().unwrap_or_default();
    match conditions.iter().find(|c| text(c, "/type") == "Ready") {
        Some(c) if text(c, "/status") == "True" => CertificateState::Ready,
        Some(c) => CertificateState::NotReady(text(c, "/reason").to_string()),
        None => CertificateState::NotReady(String::new()),
    }
}

async fn backups(backend: &dyn Backend, tenant: &Tenant) -> Result<BTreeMap<String, BackupRun>, BackendError> {
    use k8s_openapi::api::batch::v1::{CronJob, Job};
    let ns = tenant.namespace();
    let cronjobs = backend.list(&Kind::of::<CronJob>(), Some(ns), &Selector::labels(tenant_selector(tenant))).await?;
    if cronjobs.is_empty() {
        return Ok(BTreeMap::new());
    }
    let jobs = backend.list(&Kind::of::<Job>(), Some(ns), &Selector::all()).await?;
    let mut out = BTreeMap::new();
    for cj in &cronjobs {
        let name = text(cj, "/metadata/name");
        let owned = |j: &&Value| {
            j.pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .is_some_and(|refs| refs.iter().any(|r| text(r, "/kind") == "CronJob" && text(r, "/name") == name))
        };
        let latest = jobs.iter().filter(owned).max_by(|a, b| text(a, "/metadata/creationTimestamp").cmp(text(b, "/metadata/creationTimestamp")));
        let run = match latest {
            None => BackupRun::None,
            Some(job) => {
                let job_name = text(job, "/metadata/name").to_string();
                let has = |t: &str| {
                    job.pointer("/status/conditions")
                        .and_then(Value::as_array)
                        .is_some_and(|cs| cs.iter().any(|c| text(c, "/type") == t && text(c, "/status") == "True"))
                };
                if has("Complete") {
                    BackupRun::Succeeded { job: job_name }
                } else if has("Failed") {
                    BackupRun::Failed { job: job_name }
                } else {
                    BackupRun::Running { job: job_name }
                }
            }
        };
        out.insert(name.to_string(), run);
    }
    Ok(out)
}

async fn drift(backend: &dyn Backend, tenant: &Tenant) -> Result<Vec<Drift>, TenantError> {
    Ok(crate::backend::ownership::drift(backend, &tenant_objects(tenant)?).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn certificate_states() {
        let cert = json!({"spec": {"dnsNames": ["shop.a.test"]}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}});
        assert_eq!(certificate_state(&[cert], "shop.a.test"), CertificateState::Ready);
        assert_eq!(certificate_state(&[], "shop.a.test"), CertificateState::None);
    }
}
