//! `compileMonitoring` (the core's `compile::monitoring`: PodMonitors, alert rules and the Grafana
//! dashboard of a tenant) and `Cluster.prometheusOperatorInstalled`.

use moorage::compile::{compile_monitoring as core_compile_monitoring, prometheus_operator_installed, Monitoring as CoreMonitoring};
use napi::bindgen_prelude::{Object, PromiseRaw};
use napi::Env;
use napi_derive::napi;
use serde_json::Value;

use crate::cluster::{spawn, Cluster};
use crate::errors;
use crate::release::Release;
use crate::tenant::Tenant;

/// The monitoring of a tenant, compiled: objects to apply (PodMonitors and a PrometheusRule with
/// prometheus-operator, and the dashboard ConfigMap for Grafana's sidecar), the alert rules as a
/// Prometheus rule file, and the Grafana dashboard.
#[napi]
pub struct Monitoring {
    inner: CoreMonitoring,
    tenant: String,
}

#[napi]
impl Monitoring {
    /// Objects to apply, as plain Kubernetes objects.
    #[napi(getter, ts_return_type = "Record<string, unknown>[]")]
    pub fn objects(&self) -> Vec<Value> {
        self.inner.objects.clone()
    }
    /// The alert rules (`{groups: [...]}`, a Prometheus rule file).
    #[napi(getter, ts_return_type = "{ groups: Record<string, unknown>[] }")]
    pub fn rules(&self) -> Value {
        self.inner.rules.clone()
    }
    /// The Grafana dashboard (Grafana's dashboard JSON model).
    #[napi(getter, ts_return_type = "Record<string, unknown>")]
    pub fn dashboard(&self) -> Value {
        self.inner.dashboard.clone()
    }
    /// Writes `<tenant>.dashboard.json` and `<tenant>.rules.yaml` into `dir` (created if needed);
    /// returns their paths.
    #[napi]
    pub fn write_files(&self, dir: String) -> napi::Result<Vec<String>> {
        let paths =
            self.inner.write_files(std::path::Path::new(&dir), &self.tenant).map_err(|e| napi::Error::from_reason(format!("writing into {dir}: {e}")))?;
        Ok(paths.iter().map(|p| p.display().to_string()).collect())
    }
}

/// The options of `compileMonitoring`.
#[napi(object)]
#[derive(Default)]
pub struct CompileMonitoringOptions {
    /// Whether the cluster has prometheus-operator's CRDs (`Cluster.prometheusOperatorInstalled`):
    /// PodMonitors and a PrometheusRule are compiled only then (default false).
    pub prometheus_operator: Option<bool>,
}

impl crate::convert::OptionKeys for CompileMonitoringOptions {
    const NAME: &'static str = "CompileMonitoringOptions";
    const KEYS: &'static [&'static str] = &["prometheusOperator"];
}

/// Compiles the monitoring of `tenant` and its `releases` (their `metrics`).
#[napi]
pub fn compile_monitoring(
    env: Env,
    tenant: &Tenant,
    releases: Option<Vec<&Release>>,
    #[napi(ts_arg_type = "CompileMonitoringOptions | undefined | null")] options: Option<Object<'_>>,
) -> napi::Result<Monitoring> {
    let options: Option<CompileMonitoringOptions> = crate::convert::read_options(&env, options)?;
    let releases: Vec<moorage::Release> = releases.unwrap_or_default().into_iter().map(|r| moorage::Release::clone(&r.inner)).collect();
    let operator = options.unwrap_or_default().prometheus_operator.unwrap_or(false);
    Ok(Monitoring { inner: core_compile_monitoring(&tenant.inner, &releases, operator), tenant: tenant.inner.name().to_string() })
}

#[napi]
impl Cluster {
    /// Whether prometheus-operator's CRDs (PodMonitor, PrometheusRule) are installed.
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn prometheus_operator_installed<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, bool>> {
        let backend = self.backend.clone();
        spawn(env, async move { prometheus_operator_installed(backend.as_ref()).await.map_err(|e| errors::backend(&e)) }, |v| v)
    }
}
