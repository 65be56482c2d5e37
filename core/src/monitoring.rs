//! Applying a tenant's monitoring: PodMonitors and a PrometheusRule where prometheus-operator's
//! CRDs are installed, scrape annotations (already on the pods) otherwise, the dashboard ConfigMap always.
//!
//! ```no_run
//! # async fn demo(backend: &dyn moorage::backend::Backend, tenant: &moorage::Tenant, releases: &[moorage::Release]) -> Result<(), moorage::monitoring::MonitoringError> {
//! let report = moorage::monitoring::apply(backend, tenant, releases).await?;
//! if !report.prometheus_operator {
//!     // Prometheus finds the pods by their `prometheus.io/*` annotations and loads the rule file.
//!     report.monitoring.write_files(std::path::Path::new("monitoring"), tenant.name()).ok();
//! }
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;

use crate::backend::{ApplyOptions, Backend, BackendError};
use crate::compile::{compile_monitoring, prometheus_operator_installed, Monitoring};
use crate::model::release::Release;
use crate::model::tenant::Tenant;
use crate::tenant::ObjectChange;

/// Why a tenant's monitoring was not applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MonitoringError {
    /// A release given belongs to another tenant. Nothing was written.
    #[error("{field}: release {app:?} belongs to tenant {owner:?}, not to {tenant:?}")]
    ForeignRelease {
        /// The field path, e.g. `releases[1].tenant`.
        field: String,
        /// The release's application.
        app: String,
        /// The tenant the release names.
        owner: String,
        /// The tenant whose monitoring is applied.
        tenant: String,
    },
    /// Two releases given are of the same application (one PodMonitor each). Nothing was written.
    #[error("{field}: application {app:?} is given twice (first at releases[{first}])")]
    DuplicateApp {
        /// The field path of the second one, e.g. `releases[2].app`.
        field: String,
        /// The application.
        app: String,
        /// The index of the first one.
        first: usize,
    },
    /// The backend failed (the operator's detection or the apply).
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// What [`apply`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitoringReport {
    /// Whether prometheus-operator's CRDs (PodMonitor, PrometheusRule) were found: with them the
    /// releases got PodMonitors and the alerts a PrometheusRule; without them Prometheus finds the
    /// pods by the `prometheus.io/scrape|port|path` annotations their releases put on them and
    /// loads [`Monitoring::rules`] itself.
    pub prometheus_operator: bool,
    /// Every object applied, in order, with what changed.
    pub objects: Vec<ObjectChange>,
    /// Everything compiled, including the rule file and the dashboard JSON.
    pub monitoring: Monitoring,
}

/// Applies the monitoring of `tenant` and its `releases` (the applications whose PodMonitors and
/// dashboard panels it holds): detects prometheus-operator, compiles
/// ([`compile_monitoring`]) and server-side applies the objects. Idempotent: a second call with the
/// same input reports every object unchanged. The tenant's Namespace must exist (tenant apply).
pub async fn apply(backend: &dyn Backend, tenant: &Tenant, releases: &[Release]) -> Result<MonitoringReport, MonitoringError> {
    check_releases(tenant, releases)?;
    let prometheus_operator = prometheus_operator_installed(backend).await?;
    let monitoring = compile_monitoring(tenant, releases, prometheus_operator);
    let applied = backend.apply(&monitoring.objects, &ApplyOptions::default()).await?;
    let objects = applied.into_iter().map(|a| ObjectChange { object: a.object, change: a.change }).collect();
    Ok(MonitoringReport { prometheus_operator, objects, monitoring })
}

/// Refuses a release of another tenant or a second release of the same application.
fn check_releases(tenant: &Tenant, releases: &[Release]) -> Result<(), MonitoringError> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, release) in releases.iter().enumerate() {
        let spec = release.spec();
        if spec.tenant != tenant.name() {
            return Err(MonitoringError::ForeignRelease {
                field: format!("releases[{i}].tenant"),
                app: spec.app.clone(),
                owner: spec.tenant.clone(),
                tenant: tenant.name().to_string(),
            });
        }
        if let Some(&first) = seen.get(spec.app.as_str()) {
            return Err(MonitoringError::DuplicateApp { field: format!("releases[{i}].app"), app: spec.app.clone(), first });
        }
        seen.insert(&spec.app, i);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::quota::Quota;

    fn tenant() -> Tenant {
        Tenant::builder("acme").quota(Quota::new().limits("1", "1Gi").pods(5)).build().unwrap()
    }

    fn release(tenant: &str, app: &str) -> Release {
        Release::builder(tenant, app, "v1").image("nginx:1.27").port("http", 8080).build().unwrap()
    }

    #[test]
    fn releases_of_another_tenant_or_twice_the_same_app_are_refused_with_their_path() {
        let t = tenant();
        assert!(check_releases(&t, &[release("acme", "web"), release("acme", "erp")]).is_ok());
        let err = check_releases(&t, &[release("acme", "web"), release("globex", "erp")]).unwrap_err();
        assert_eq!(err.to_string(), "releases[1].tenant: release \"erp\" belongs to tenant \"globex\", not to \"acme\"");
        let err = check_releases(&t, &[release("acme", "web"), release("acme", "erp"), release("acme", "web")]).unwrap_err();
        assert_eq!(err, MonitoringError::DuplicateApp { field: "releases[2].app".into(), app: "web".into(), first: 0 });
    }
}
