//! Standard labels and annotations moorage puts on every object it compiles.

use std::collections::BTreeMap;

/// `app.kubernetes.io/name`: the application.
pub const NAME: &str = "app.kubernetes.io/name";
/// `app.kubernetes.io/instance`: `<tenant>-<app>`, unique across the cluster.
pub const INSTANCE: &str = "app.kubernetes.io/instance";
/// `app.kubernetes.io/version`: the release's version.
pub const VERSION: &str = "app.kubernetes.io/version";
/// `app.kubernetes.io/managed-by`: always `moorage`.
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// The value of [`MANAGED_BY`] and the server-side apply field manager.
pub const MANAGER: &str = "moorage";
/// `moorage.dev/tenant`: the tenant an object belongs to.
pub const TENANT: &str = "moorage.dev/tenant";
/// Annotation on a pod template: the hash of the release's config files.
pub const CONFIG_HASH: &str = "moorage.dev/config-hash";
/// Annotation on a Service: the version it currently selects.
pub const ACTIVE_VERSION: &str = "moorage.dev/active-version";
/// Annotation on a Service: its role (`stable`, `preview`, `canary`).
pub const SERVICE_ROLE: &str = "moorage.dev/service-role";
/// Annotation on the tenant's namespace: deletion needs confirmation.
pub const PROTECTED: &str = "moorage.dev/protected";
/// Annotation on the tenant's namespace: the display name.
pub const DISPLAY_NAME: &str = "moorage.dev/display-name";
/// Annotation on objects moorage keeps when a tenant is deleted without purge (volumes).
pub const KEEP: &str = "moorage.dev/keep";

/// Labels of every object of a tenant that belongs to no particular application.
pub fn tenant_labels(tenant: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(MANAGED_BY.to_string(), MANAGER.to_string()), (TENANT.to_string(), tenant.to_string())])
}

/// Labels of objects that span the versions of an application (its Services and Ingresses).
pub fn app_labels(tenant: &str, app: &str) -> BTreeMap<String, String> {
    let mut labels = tenant_labels(tenant);
    labels.insert(NAME.to_string(), app.to_string());
    labels.insert(INSTANCE.to_string(), instance(tenant, app));
    labels
}

/// Labels of the objects of one version of an application (Deployment, pods, ConfigMap, PDB).
pub fn version_labels(tenant: &str, app: &str, version: &str) -> BTreeMap<String, String> {
    let mut labels = app_labels(tenant, app);
    labels.insert(VERSION.to_string(), version.to_string());
    labels
}

/// The selector of one version's pods: name, instance **and** version, so two versions can never mix
/// behind one Service by accident.
pub fn version_selector(tenant: &str, app: &str, version: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(NAME.to_string(), app.to_string()), (INSTANCE.to_string(), instance(tenant, app)), (VERSION.to_string(), version.to_string())])
}

/// The value of [`INSTANCE`] for an application of a tenant.
pub fn instance(tenant: &str, app: &str) -> String {
    format!("{tenant}-{app}")
}
