//! `Cluster.ci_credentials` (the core's `tenant::ci_credentials`): a CI ServiceAccount with the
//! developer's rules in the tenant's namespace and a kubeconfig holding a short-lived token, for
//! the integrator's pipeline. Real clusters only; the token never shows in `repr`.

use moorage::backend::cluster::ClusterBackend;
use moorage::tenant::{self, CiCredentials as CoreCiCredentials, CiOptions};
use pyo3::prelude::*;

use crate::cluster::{block_on, Cluster};
use crate::errors;
use crate::lifecycle::seconds;
use crate::tenant::Tenant;

/// Credentials for a tenant's CI: `kubeconfig` (YAML) and `token` are secrets, read only through
/// their properties; `repr` hides them.
#[pyclass(module = "moorage", frozen)]
pub struct CiCredentials {
    inner: CoreCiCredentials,
}

#[pymethods]
impl CiCredentials {
    /// The tenant's namespace.
    #[getter]
    fn namespace(&self) -> String {
        self.inner.namespace.clone()
    }
    /// The ServiceAccount (`ci`).
    #[getter]
    fn service_account(&self) -> String {
        self.inner.service_account.clone()
    }
    /// When the token expires (RFC 3339), as the API server says.
    #[getter]
    fn expires_at(&self) -> String {
        self.inner.expires_at.clone()
    }
    /// The bearer token (a secret).
    #[getter]
    fn token(&self) -> String {
        self.inner.token.expose().to_string()
    }
    /// A kubeconfig (YAML) with the token, the server and the namespace as default (a secret).
    #[getter]
    fn kubeconfig(&self) -> String {
        self.inner.kubeconfig.expose().to_string()
    }
    fn __repr__(&self) -> String {
        format!(
            "CiCredentials(namespace='{}', service_account='{}', expires_at='{}', token=***, kubeconfig=***)",
            self.inner.namespace, self.inner.service_account, self.inner.expires_at
        )
    }
}

/// The core's options (`CiOptions::given`): `server` and `certificate_authority_data` as given,
/// else those of the kubeconfig the backend was built from.
fn ci_options(backend: &ClusterBackend, server: Option<String>, ttl: f64, certificate_authority_data: Option<String>) -> PyResult<CiOptions> {
    let ttl = seconds("ttl", ttl)?;
    CiOptions::given(backend, ttl, server, certificate_authority_data).map_err(|e| Python::attach(|py| errors::validation(py, &e)))
}

#[pymethods]
impl Cluster {
    /// Creates (or keeps) the tenant's CI ServiceAccount and returns a kubeconfig for `server` (the
    /// API server URL the pipeline uses; default: the one of this cluster's kubeconfig) with a
    /// token valid `ttl` seconds (at least 10 minutes). `certificate_authority_data`: the server's
    /// CA, base64 PEM (default without `server`: the kubeconfig's). The tenant must be applied.
    #[pyo3(signature = (tenant, *, server=None, ttl=3600.0, certificate_authority_data=None))]
    fn ci_credentials(
        &self,
        py: Python<'_>,
        tenant: &Tenant,
        server: Option<String>,
        ttl: f64,
        certificate_authority_data: Option<String>,
    ) -> PyResult<CiCredentials> {
        let (backend, tenant, options) = {
            let backend = self.kube()?;
            let options = ci_options(&backend, server, ttl, certificate_authority_data)?;
            (backend, tenant.inner.clone(), options)
        };
        let r = block_on(py, async move { tenant::ci_credentials(&backend, &tenant, &options).await })?;
        r.map(|inner| CiCredentials { inner }).map_err(|e| errors::tenant(py, &e))
    }

    /// `ci_credentials`, as a coroutine.
    #[pyo3(signature = (tenant, *, server=None, ttl=3600.0, certificate_authority_data=None))]
    fn a_ci_credentials<'py>(
        &self,
        py: Python<'py>,
        tenant: &Tenant,
        server: Option<String>,
        ttl: f64,
        certificate_authority_data: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (backend, tenant, options) = {
            let backend = self.kube()?;
            let options = ci_options(&backend, server, ttl, certificate_authority_data)?;
            (backend, tenant.inner.clone(), options)
        };
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let r = tenant::ci_credentials(&backend, &tenant, &options).await;
            Python::attach(|py| r.map(|inner| CiCredentials { inner }).map_err(|e| errors::tenant(py, &e)))
        })
    }
}
