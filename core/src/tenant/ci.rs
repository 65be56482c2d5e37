//! CI credentials: a ServiceAccount for a tenant's pipeline and a kubeconfig with a short-lived token.
//!
//! Real clusters only: the token comes from the TokenRequest API, which the simulated cluster does
//! not serve. The ServiceAccount `ci` gets the developer role's rules (deploy, read logs; no secrets,
//! quota or RBAC), confined to the tenant's namespace.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{Role as K8sRole, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::{json, Value};

use super::TenantError;
use crate::backend::cluster::ClusterBackend;
use crate::backend::{ApplyOptions, Backend};
use crate::compile::role_rules;
use crate::error::{FieldError, ValidationErrors};
use crate::labels;
use crate::model::tenant::{Role, Tenant};
use crate::secret::Secret;

/// The name of the tenant's CI ServiceAccount.
pub const CI_SERVICE_ACCOUNT: &str = "ci";
/// The name of the CI Role and RoleBinding.
pub const CI_ROLE: &str = "moorage-ci";

/// Options of [`ci_credentials`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiOptions {
    /// How long the token is valid (the API server may shorten it; at least 10 minutes).
    pub ttl: Duration,
    /// The API server URL the pipeline uses (it may differ from the one moorage talks to).
    pub server: String,
    /// The server's CA bundle, base64-encoded PEM, as a kubeconfig's `certificate-authority-data`.
    pub certificate_authority_data: Option<String>,
}

impl CiOptions {
    /// Options for a pipeline that reaches the API server the way `backend` does: its server URL
    /// and the CA bundle of its kubeconfig (none when it trusts the system roots). `None` when the
    /// backend was built from a ready client, whose server is unknown: give `server` then.
    pub fn for_cluster(backend: &ClusterBackend, ttl: Duration) -> Option<CiOptions> {
        Some(CiOptions { ttl, server: backend.server()?.to_string(), certificate_authority_data: backend.certificate_authority_data().map(str::to_string) })
    }

    /// The options a caller gave (the bindings' arguments), completed for `backend`: `server` and
    /// `certificate_authority_data` as given; without `server`, those of the backend's kubeconfig
    /// ([`CiOptions::for_cluster`]), the CA given taking the kubeconfig's place. A problem at
    /// `server` when neither is known.
    pub fn given(
        backend: &ClusterBackend,
        ttl: Duration,
        server: Option<String>,
        certificate_authority_data: Option<String>,
    ) -> Result<CiOptions, ValidationErrors> {
        if let Some(server) = server {
            return Ok(CiOptions { ttl, server, certificate_authority_data });
        }
        let derived = CiOptions::for_cluster(backend, ttl).ok_or_else(|| {
            ValidationErrors::one(FieldError {
                path: "server".into(),
                message: "this cluster was not built from a kubeconfig, so its API server URL is unknown; give the URL the pipeline uses".into(),
            })
        })?;
        Ok(CiOptions { certificate_authority_data: certificate_authority_data.or(derived.certificate_authority_data), ..derived })
    }
}

/// Credentials for a tenant's CI. The token and the kubeconfig are [`Secret`]s: `Debug` hides them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiCredentials {
    /// The namespace (the tenant's).
    pub namespace: String,
    /// The ServiceAccount, `ci`.
    pub service_account: String,
    /// The bearer token.
    pub token: Secret,
    /// When the token expires (RFC 3339), as the API server says.
    pub expires_at: String,
    /// A kubeconfig (YAML) with the token, the server and the namespace as default.
    pub kubeconfig: Secret,
}

fn meta(name: &str, ns: &str) -> ObjectMeta {
    ObjectMeta { name: Some(name.into()), namespace: Some(ns.into()), labels: Some(labels::tenant_labels(ns)), ..Default::default() }
}

/// The objects of a tenant's CI access: ServiceAccount `ci`, Role and RoleBinding `moorage-ci`.
pub fn ci_objects(tenant: &Tenant) -> Result<Vec<Value>, TenantError> {
    let ns = tenant.namespace();
    let sa = ServiceAccount { metadata: meta(CI_SERVICE_ACCOUNT, ns), automount_service_account_token: Some(false), ..Default::default() };
    let role = K8sRole { metadata: meta(CI_ROLE, ns), rules: Some(role_rules(Role::Developer)) };
    let binding = RoleBinding {
        metadata: meta(CI_ROLE, ns),
        role_ref: RoleRef { api_group: Some("rbac.authorization.k8s.io".into()), kind: "Role".into(), name: CI_ROLE.into() },
        subjects: Some(vec![Subject { api_group: None, kind: "ServiceAccount".into(), name: CI_SERVICE_ACCOUNT.into(), namespace: Some(ns.into()) }]),
    };
    let serialize = |kind: &str, v: Result<Value, serde_json::Error>, api_version: &str| -> Result<Value, TenantError> {
        let mut v = v.map_err(|e| TenantError::Serialize { object: kind.into(), message: e.to_string() })?;
        if let Some(m) = v.as_object_mut() {
            m.insert("apiVersion".into(), Value::from(api_version));
            m.insert("kind".into(), Value::from(kind));
        }
        Ok(v)
    };
    Ok(vec![
        serialize("ServiceAccount", serde_json::to_value(&sa), "v1")?,
        serialize("Role", serde_json::to_value(&role), "rbac.authorization.k8s.io/v1")?,
        serialize("RoleBinding", serde_json::to_value(&binding), "rbac.authorization.k8s.io/v1")?,
    ])
}

/// Creates (or keeps) the tenant's CI ServiceAccount with the developer's rules in the tenant's
/// namespace, and returns a kubeconfig with a token from the TokenRequest API valid for `ttl`.
/// The tenant must have been applied.
pub async fn ci_credentials(backend: &ClusterBackend, tenant: &Tenant, options: &CiOptions) -> Result<CiCredentials, TenantError> {
    let ns = tenant.namespace();
    if backend.get(&super::namespace_kind(), None, ns).await?.is_none() {
        return Err(TenantError::NotFound { tenant: tenant.name().to_string() });
    }
    backend.apply(&ci_objects(tenant)?, &ApplyOptions::default()).await?;
    let seconds = i64::try_from(options.ttl.as_secs()).unwrap_or(i64::MAX).max(600);
    let request = TokenRequest {
        metadata: ObjectMeta::default(),
        spec: Some(TokenRequestSpec { audiences: None, bound_object_ref: None, expiration_seconds: Some(seconds) }),
        status: None,
    };
    let api: kube::Api<ServiceAccount> = kube::Api::namespaced(backend.client().clone(), ns);
    let answer = api
        .create_token_request(CI_SERVICE_ACCOUNT, &kube::api::PostParams::default(), &request)
        .await
        .map_err(|e| TenantError::TokenRequest { tenant: tenant.name().to_string(), message: e.to_string() })?;
    let no_token = || TenantError::TokenRequest { tenant: tenant.name().to_string(), message: "the API server returned no token".into() };
    let status = answer.status.ok_or_else(no_token)?;
    let token = status.token.filter(|t| !t.is_empty()).ok_or_else(no_token)?;
    let expires_at = status.expiration_timestamp.map(|t| t.0.to_string()).unwrap_or_default();
    let name = format!("{}-ci", tenant.name());
    let mut cluster = BTreeMap::from([("server".to_string(), Value::from(options.server.clone()))]);
    if let Some(ca) = &options.certificate_authority_data {
        cluster.insert("certificate-authority-data".into(), Value::from(ca.clone()));
    }
    let kubeconfig = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": name, "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name, "namespace": ns}}],
        "current-context": name,
    });
    let kubeconfig =
        crate::manifest::to_yaml_string(&kubeconfig).map_err(|e| TenantError::Serialize { object: "kubeconfig".into(), message: e.to_string() })?;
    Ok(CiCredentials {
        namespace: ns.to_string(),
        service_account: CI_SERVICE_ACCOUNT.to_string(),
        token: Secret::new(token),
        expires_at,
        kubeconfig: Secret::new(kubeconfig),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn options_for_a_cluster_reach_its_server() {
        let config = kube::Config::new("https://user:pw@api.example.test:6443".parse().expect("url"));
        let backend = ClusterBackend::from_config(config.clone()).expect("backend");
        let options = CiOptions::for_cluster(&backend, Duration::from_secs(900)).expect("the server is known");
        assert_eq!(options, CiOptions { ttl: Duration::from_secs(900), server: "https://api.example.test:6443/".into(), certificate_authority_data: None });
        let bare = ClusterBackend::from_client(kube::Client::try_from(config).expect("client"));
        assert_eq!(CiOptions::for_cluster(&bare, Duration::from_secs(900)), None, "a ready client's server is unknown");

        // What a caller gives: its server and CA as given; without a server, the cluster's, with the CA given.
        let ttl = Duration::from_secs(600);
        let given = CiOptions::given(&bare, ttl, Some("https://ci.example.test".into()), None).expect("a server given");
        assert_eq!(given, CiOptions { ttl, server: "https://ci.example.test".into(), certificate_authority_data: None });
        let derived = CiOptions::given(&backend, ttl, None, Some("Q0E=".into())).expect("the cluster's server");
        assert_eq!(derived, CiOptions { ttl, server: "https://api.example.test:6443/".into(), certificate_authority_data: Some("Q0E=".into()) });
        let unknown = CiOptions::given(&bare, ttl, None, None).unwrap_err();
        assert_eq!(unknown.errors()[0].path, "server");
    }
}
