//! Fleet placement: several named clusters (one backend each); a tenant goes where a rule or a pin says.
//!
//! The placement is recorded on the tenant's Namespace (annotation [`CLUSTER_ANNOTATION`]), so any
//! process finds it again with [`Fleet::locate`] or [`Fleet::list`]; nothing is kept in memory.
//! Capacity is counted in tenants: a cluster's free capacity is its `capacity` minus the moorage
//! tenants whose Namespace it holds.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::Value;

use super::{apply_objects, namespace_kind, tenant_objects, text, ApplyTenantOptions, TenantError, TenantReport};
use crate::backend::{Backend, BackendError, Selector};
use crate::labels;
use crate::model::tenant::Tenant;

/// Annotation on a tenant's Namespace: the fleet cluster it was placed on.
pub const CLUSTER_ANNOTATION: &str = "moorage.dev/cluster";

/// One cluster of a fleet.
#[derive(Clone)]
pub struct FleetCluster {
    /// A unique name, e.g. `onprem-paris`.
    pub name: String,
    /// Labels rules select on, e.g. `location=onprem`.
    pub labels: BTreeMap<String, String>,
    /// How many tenants the cluster may hold.
    pub capacity: u32,
    /// The storage classes the cluster offers tenants (e.g. OpenEBS or Rook/Ceph replicated
    /// classes); `None` allows any. A tenant with a volume of another class is not placed there,
    /// and is refused with [`TenantError::Invalid`] when no candidate cluster offers its classes.
    pub storage_classes: Option<Vec<String>>,
    /// The backend that reaches it.
    pub backend: Arc<dyn Backend>,
}

impl std::fmt::Debug for FleetCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetCluster")
            .field("name", &self.name)
            .field("labels", &self.labels)
            .field("capacity", &self.capacity)
            .field("storage_classes", &self.storage_classes)
            .field("backend", &self.backend.describe())
            .finish()
    }
}

/// Where a tenant goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// Among the clusters carrying every required label, the one with the most free capacity
    /// (ties: the first by name).
    Rule {
        /// Labels the cluster must carry.
        required_labels: BTreeMap<String, String>,
    },
    /// On this cluster.
    Pinned(String),
}

impl FleetCluster {
    /// Whether the cluster offers every storage class of `tenant`'s volumes.
    pub fn offers_storage_of(&self, tenant: &Tenant) -> bool {
        self.storage_classes.as_ref().is_none_or(|allowed| tenant.spec().check_storage_classes(allowed).is_ok())
    }

    /// `options` with this cluster's storage classes, when it has a list.
    fn options(&self, options: &ApplyTenantOptions) -> ApplyTenantOptions {
        ApplyTenantOptions { storage_classes: self.storage_classes.clone().or_else(|| options.storage_classes.clone()), ..options.clone() }
    }
}

impl Placement {
    /// Any cluster, by free capacity.
    pub fn anywhere() -> Self {
        Placement::Rule { required_labels: BTreeMap::new() }
    }
}

/// Why a fleet operation failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FleetError {
    /// Two clusters share a name.
    #[error("two clusters of the fleet are named {0:?}")]
    DuplicateCluster(String),
    /// A pin names a cluster the fleet does not have.
    #[error("the fleet has no cluster named {0:?}")]
    UnknownCluster(String),
    /// No cluster carries the required labels with free capacity.
    #[error("no cluster with labels {required:?} has free capacity")]
    NoCapacity {
        /// The required labels, `key=value`.
        required: Vec<String>,
    },
    /// The tenant already lives on another cluster than the one it is pinned to.
    #[error("tenant {tenant:?} is on cluster {cluster:?}; moving tenants between clusters is not supported")]
    AlreadyPlaced {
        /// The tenant.
        tenant: String,
        /// Where it is.
        cluster: String,
    },
    /// The tenant operation failed.
    #[error(transparent)]
    Tenant(#[from] TenantError),
    /// A backend failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// A tenant of the fleet and where it lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetTenant {
    /// The tenant's name.
    pub tenant: String,
    /// The cluster.
    pub cluster: String,
}

/// A set of named clusters.
#[derive(Debug, Clone)]
pub struct Fleet {
    clusters: Vec<FleetCluster>,
}

/// The Namespaces of moorage tenants (managed by moorage, with the tenant label).
pub(crate) async fn tenant_namespaces(backend: &dyn Backend) -> Result<Vec<Value>, BackendError> {
    let selector = Selector::labels(format!("{}={}", labels::MANAGED_BY, labels::MANAGER));
    let namespaces = backend.list(&namespace_kind(), None, &selector).await?;
    Ok(namespaces.into_iter().filter(|n| n.pointer("/metadata/labels").and_then(|l| l.get(labels::TENANT)).is_some()).collect())
}

impl Fleet {
    /// A fleet of these clusters; names must be unique.
    pub fn new(clusters: Vec<FleetCluster>) -> Result<Self, FleetError> {
        let mut seen = BTreeSet::new();
        for c in &clusters {
            if !seen.insert(c.name.clone()) {
                return Err(FleetError::DuplicateCluster(c.name.clone()));
            }
        }
        Ok(Fleet { clusters })
    }

    /// The clusters.
    pub fn clusters(&self) -> &[FleetCluster] {
        &self.clusters
    }

    /// The cluster named `name`.
    pub fn cluster(&self, name: &str) -> Option<&FleetCluster> {
        self.clusters.iter().find(|c| c.name == name)
    }

    /// The cluster holding the tenant's Namespace, if any.
    pub async fn locate(&self, tenant: &str) -> Result<Option<String>, FleetError> {
        for c in &self.clusters {
            if c.backend
                .get(&namespace_kind(), None, tenant)
                .await?
                .is_some_and(|n| n.pointer("/metadata/labels").and_then(|l| l.get(labels::TENANT)).is_some())
            {
                return Ok(Some(c.name.clone()));
            }
        }
        Ok(None)
    }

    /// Where `tenant` goes: where it already is, else where the placement says.
    pub async fn place(&self, tenant: &str, placement: &Placement) -> Result<String, FleetError> {
        self.place_among(tenant, placement, |_| true).await
    }

    /// [`Fleet::place`] among the clusters `eligible` accepts (a rule's choice only; a pin or the
    /// cluster the tenant is on wins).
    async fn place_among(&self, tenant: &str, placement: &Placement, eligible: impl Fn(&FleetCluster) -> bool) -> Result<String, FleetError> {
        if let Some(current) = self.locate(tenant).await? {
            if let Placement::Pinned(pin) = placement {
                if *pin != current {
                    return Err(FleetError::AlreadyPlaced { tenant: tenant.to_string(), cluster: current });
                }
            }
            return Ok(current);
        }
        match placement {
            Placement::Pinned(name) => self.cluster(name).map(|c| c.name.clone()).ok_or_else(|| FleetError::UnknownCluster(name.clone())),
            Placement::Rule { required_labels } => {
                let mut best: Option<(i64, &str)> = None;
                for c in self.clusters.iter().filter(|c| required_labels.iter().all(|(k, v)| c.labels.get(k) == Some(v)) && eligible(c)) {
                    let used = i64::try_from(tenant_namespaces(c.backend.as_ref()).await?.len()).unwrap_or(i64::MAX);
                    let free = i64::from(c.capacity) - used;
                    let better = best.is_none_or(|(f, name)| free > f || (free == f && c.name.as_str() < name));
                    if free > 0 && better {
                        best = Some((free, &c.name));
                    }
                }
                best.map(|(_, name)| name.to_string())
                    .ok_or_else(|| FleetError::NoCapacity { required: required_labels.iter().map(|(k, v)| format!("{k}={v}")).collect() })
            }
        }
    }

    /// Places the tenant, then applies it there (as [`super::apply`] does) with the placement
    /// recorded on its Namespace, after checking on every cluster of the fleet that no other tenant
    /// holds one of its domains ([`TenantError::DomainTaken`]; nothing is written). New domains are
    /// claimed against every cluster as [`super::apply`] claims them. Returns the cluster and the
    /// apply's report.
    /// With storage classes: a rule places the tenant only on a cluster offering its volumes' classes
    /// ([`FleetCluster::storage_classes`]); when no candidate does (or the pinned cluster does not), it
    /// is refused before any API call with the first candidate's allowed classes named.
    pub async fn apply(&self, tenant: &Tenant, placement: &Placement, options: &ApplyTenantOptions) -> Result<(String, TenantReport), FleetError> {
        let candidates: Vec<&FleetCluster> = match placement {
            Placement::Pinned(name) => self.cluster(name).into_iter().collect(),
            Placement::Rule { required_labels } => self.clusters.iter().filter(|c| required_labels.iter().all(|(k, v)| c.labels.get(k) == Some(v))).collect(),
        };
        if let Some(first) = candidates.first().filter(|_| !candidates.iter().any(|c| c.offers_storage_of(tenant))) {
            first.options(options).check(tenant)?;
        }
        options.check(tenant)?;
        let name = self.place_among(tenant.name(), placement, |c| c.offers_storage_of(tenant)).await?;
        let cluster = self.cluster(&name).ok_or_else(|| FleetError::UnknownCluster(name.clone()))?;
        let mut objects = tenant_objects(tenant)?;
        if let Some(ns) = objects.iter_mut().find(|o| text(o, "/kind") == "Namespace") {
            if let Some(meta) = ns.get_mut("metadata").and_then(Value::as_object_mut) {
                let annotations = meta.entry("annotations").or_insert_with(|| Value::Object(Default::default()));
                if let Some(a) = annotations.as_object_mut() {
                    a.insert(CLUSTER_ANNOTATION.into(), Value::from(name.clone()));
                }
            }
        }
        // A domain is unique across the fleet, not only within one cluster.
        let scope: Vec<&dyn Backend> = self.clusters.iter().map(|c| c.backend.as_ref()).collect();
        let live = super::live_namespace(cluster.backend.as_ref(), tenant).await?;
        let report = apply_objects(cluster.backend.as_ref(), &scope, tenant, live.as_ref(), &objects, &cluster.options(options)).await?;
        Ok((name, report))
    }

    /// Every tenant of the fleet and its cluster, sorted by tenant.
    pub async fn list(&self) -> Result<Vec<FleetTenant>, FleetError> {
        let mut out = Vec::new();
        for c in &self.clusters {
            for ns in tenant_namespaces(c.backend.as_ref()).await? {
                let tenant = super::tenant_label(&ns).unwrap_or_default();
                out.push(FleetTenant { tenant: tenant.to_string(), cluster: c.name.clone() });
            }
        }
        out.sort_by(|a, b| (&a.tenant, &a.cluster).cmp(&(&b.tenant, &b.cluster)));
        Ok(out)
    }
}
