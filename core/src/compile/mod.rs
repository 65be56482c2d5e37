//! Compilation: tenants and releases to Kubernetes objects (k8s-openapi types), in apply order.

mod backup;
mod batch;
mod dashboard;
mod gateway;
mod monitoring;
mod object;
pub(crate) mod release;
mod stream;
mod tenant;

use std::collections::BTreeSet;

use serde::Serialize;

pub use backup::{backup_sizing, BackupSizing, UPLOADER_IMAGE};
pub use batch::{compile_many, compile_many_to_file, compile_many_to_yaml, BatchError, BatchFile};
pub use dashboard::{compile_dashboard, dashboard_uid, GRAFANA_SCHEMA_VERSION};
pub use gateway::{HTTPBackendRef, HTTPPathMatch, HTTPRoute, HTTPRouteMatch, HTTPRouteRule, HTTPRouteSpec, ParentReference, GATEWAY_GROUP};
pub use monitoring::{compile_monitoring, prometheus_operator_installed, Monitoring, GRAFANA_DASHBOARD_LABEL};
pub use object::{sort_for_apply, Object};
pub use release::{compile_autoscaler, compile_release, compile_service, config_hash, ServiceRole};
pub use stream::{BatchInput, YamlBatch, YamlStream};
pub use tenant::{compile_tenant, role_name, role_rules, LIMIT_RANGE_NAME, NETWORK_POLICY_NAME, QUOTA_NAME, WORKLOAD_SERVICE_ACCOUNT};

use crate::error::{FieldError, ValidationErrors};
use crate::model::release::Release;
use crate::model::tenant::Tenant;

/// Something the compiler decided on the user's behalf, worth telling them (not an error).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    /// The field the note is about.
    pub path: String,
    /// What was decided.
    pub message: String,
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// The result of a compilation: objects in apply order, and notes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Compiled {
    /// The objects, in apply order.
    pub objects: Vec<Object>,
    /// What the compiler decided on the user's behalf.
    pub notes: Vec<Note>,
}

impl Compiled {
    /// Appends another compilation's objects and notes, keeping apply order.
    pub fn merge(&mut self, other: Compiled) {
        self.objects.extend(other.objects);
        self.notes.extend(other.notes);
        sort_for_apply(&mut self.objects);
    }
}

/// Compiles a tenant and its releases (one release per application) into objects in apply order.
///
/// Every release is checked against the tenant; all problems of all releases come back at once,
/// with paths prefixed by `releases[i]`.
pub fn compile(tenant: &Tenant, releases: &[Release]) -> Result<Compiled, ValidationErrors> {
    compile_borrowed(tenant, releases)
}

/// A release's problem as one of a tenant's: `release.x` becomes `releases[i].x`.
pub(crate) fn at_release(i: usize, f: FieldError) -> FieldError {
    FieldError { path: f.path.replacen("release", &format!("releases[{i}]"), 1), ..f }
}

/// [`compile`] of releases held in any form that borrows as a [`Release`] (`Arc<Release>`, ...).
pub(crate) fn compile_borrowed<R: std::borrow::Borrow<Release>>(tenant: &Tenant, releases: &[R]) -> Result<Compiled, ValidationErrors> {
    let mut out = compile_tenant(tenant);
    let mut problems: Vec<FieldError> = Vec::new();
    let mut apps = BTreeSet::new();
    for (i, release) in releases.iter().map(std::borrow::Borrow::borrow).enumerate() {
        if !apps.insert(release.app()) {
            problems.push(FieldError {
                path: format!("releases[{i}].app"),
                message: format!("{:?} appears in two releases; compile one version per application (the release engine runs several)", release.app()),
            });
            continue;
        }
        match compile_release(tenant, release) {
            Ok(compiled) => {
                out.objects.extend(compiled.objects);
                out.notes.extend(compiled.notes.into_iter().map(|n| Note { path: n.path.replacen("release", &format!("releases[{i}]"), 1), ..n }));
            }
            Err(e) => problems.extend(e.into_errors().into_iter().map(|f| at_release(i, f))),
        }
    }
    if let Some(e) = ValidationErrors::from_errors(problems) {
        return Err(e);
    }
    sort_for_apply(&mut out.objects);
    Ok(out)
}
