//! `Cluster.ciCredentials` (the core's `tenant::ci_credentials`): a CI ServiceAccount with the
//! developer's rules in the tenant's namespace and a kubeconfig holding a short-lived token, for
//! the integrator's pipeline. Real clusters only; the token never shows when the object is
//! printed or turned into JSON. Python's `ci.rs` has the same.

use moorage::tenant::{self, CiCredentials as CoreCiCredentials, CiOptions};
use napi::bindgen_prelude::{Object, PromiseRaw};
use napi::Env;
use napi_derive::napi;

use crate::cluster::{seconds, spawn, Cluster};
use crate::errors;
use crate::tenant::Tenant;

/// The options of `ciCredentials`.
#[napi(object, object_to_js = false)]
#[derive(Default)]
pub struct CiCredentialsOptions {
    /// The API server URL the pipeline uses (default: the one of this cluster's kubeconfig).
    pub server: Option<String>,
    /// Seconds the token is valid (default 3600; at least 10 minutes).
    pub ttl: Option<f64>,
    /// The server's CA, base64 PEM (default without `server`: the kubeconfig's).
    pub certificate_authority_data: Option<String>,
}

impl crate::convert::OptionKeys for CiCredentialsOptions {
    const NAME: &'static str = "CiCredentialsOptions";
    const KEYS: &'static [&'static str] = &["server", "ttl", "certificateAuthorityData"];
}

/// Credentials for a tenant's CI: `kubeconfig` (YAML) and `token` are secrets, read only through
/// their getters (printing the object or `JSON.stringify` shows neither).
#[napi]
pub struct CiCredentials {
    inner: CoreCiCredentials,
}

#[napi]
impl CiCredentials {
    /// The tenant's namespace.
    #[napi(getter)]
    pub fn namespace(&self) -> String {
        self.inner.namespace.clone()
    }

    /// The ServiceAccount (`ci`).
    #[napi(getter)]
    pub fn service_account(&self) -> String {
        self.inner.service_account.clone()
    }

    /// When the token expires (RFC 3339), as the API server says.
    #[napi(getter)]
    pub fn expires_at(&self) -> String {
        self.inner.expires_at.clone()
    }

    /// The bearer token (a secret).
    #[napi(getter)]
    pub fn token(&self) -> String {
        self.inner.token.expose().to_string()
    }

    /// A kubeconfig (YAML) with the token, the server and the namespace as default (a secret).
    #[napi(getter)]
    pub fn kubeconfig(&self) -> String {
        self.inner.kubeconfig.expose().to_string()
    }

    /// The credentials without their secrets (what `JSON.stringify` writes).
    #[napi(js_name = "toJSON")]
    pub fn to_json(&self) -> CiCredentialsSummary {
        CiCredentialsSummary {
            namespace: self.inner.namespace.clone(),
            service_account: self.inner.service_account.clone(),
            expires_at: self.inner.expires_at.clone(),
            token: "***".into(),
            kubeconfig: "***".into(),
        }
    }
}

/// What `JSON.stringify` writes of `CiCredentials`: the secrets as `***`.
#[napi(object)]
pub struct CiCredentialsSummary {
    /// The tenant's namespace.
    pub namespace: String,
    /// The ServiceAccount.
    pub service_account: String,
    /// When the token expires.
    pub expires_at: String,
    /// `***`.
    pub token: String,
    /// `***`.
    pub kubeconfig: String,
}

#[napi]
impl Cluster {
    /// Creates (or keeps) the tenant's CI ServiceAccount and resolves with a kubeconfig for
    /// `server` (default: the one of this cluster's kubeconfig) with a token valid `ttl` seconds.
    /// The tenant must be applied. A real cluster only (`InvalidArg` otherwise).
    #[napi(ts_return_type = "Promise<CiCredentials>")]
    pub fn ci_credentials<'env>(
        &self,
        env: &'env Env,
        tenant: &Tenant,
        #[napi(ts_arg_type = "CiCredentialsOptions | undefined | null")] options: Option<Object<'_>>,
    ) -> napi::Result<PromiseRaw<'env, CiCredentials>> {
        let o: CiCredentialsOptions = crate::convert::read_options(env, options)?.unwrap_or_default();
        let backend = self.kube()?;
        let ttl = seconds(env, "ttl", o.ttl.unwrap_or(3600.0))?;
        let options = CiOptions::given(&backend, ttl, o.server, o.certificate_authority_data).map_err(|e| errors::validation(&e).into_error(env))?;
        let tenant = tenant.inner.clone();
        spawn(env, async move { tenant::ci_credentials(&backend, &tenant, &options).await.map_err(|e| errors::tenant(&e)) }, |inner| CiCredentials { inner })
    }
}
