//! `Fleet`: several named clusters (the core's `tenant::Fleet`), each with labels and a capacity in
//! tenants, and tenant placement on them (apply where a pin or a label rule says, list). The fleet
//! wave upgrades on a `Fleet` are in `waves.rs`.

use std::collections::BTreeMap;
use std::sync::Arc;

use moorage::backend::ConflictPolicy;
use moorage::tenant::{ApplyTenantOptions, Fleet as CoreFleet, FleetCluster, Placement};
use napi::bindgen_prelude::{ClassInstance, JsObjectValue, Object, PromiseRaw};
use napi::Env;
use napi_derive::napi;

use crate::cluster::{seconds, spawn, Cluster};
use crate::convert::member;
use crate::errors;
use crate::tenant::{report, Tenant, TenantReport};

/// Several named clusters, each with labels and a capacity in tenants.
#[napi]
pub struct Fleet {
    pub(crate) inner: Arc<CoreFleet>,
}

/// The options of `Fleet.applyTenant`.
#[napi(object, js_name = "FleetApplyOptions")]
#[derive(Default)]
pub struct FleetApplyOptions {
    /// The cluster to put the tenant on (`UNKNOWN_CLUSTER` when the fleet has none of that name).
    pub pin: Option<String>,
    /// Without `pin`: among the clusters carrying every one of these labels, the one with the
    /// most free capacity.
    pub labels: Option<BTreeMap<String, String>>,
    /// Seconds to wait, in all, for the tenant to become usable (default 60).
    pub timeout: Option<f64>,
    /// Take over fields another field manager changed (default: fail with `CONFLICT`).
    pub force: Option<bool>,
}

impl crate::convert::OptionKeys for FleetApplyOptions {
    const NAME: &'static str = "FleetApplyOptions";
    const KEYS: &'static [&'static str] = &["pin", "labels", "timeout", "force"];
}

/// Where `Fleet.applyTenant` put the tenant, and what the apply did there.
#[napi(object)]
pub struct FleetApplyReport {
    /// The fleet cluster holding the tenant.
    pub cluster: String,
    /// What the apply did on it.
    pub report: TenantReport,
}

/// One tenant of the fleet and its cluster.
#[napi(object)]
pub struct FleetTenant {
    /// The tenant.
    pub tenant: String,
    /// Its fleet cluster.
    pub cluster: String,
}

/// One cluster of `new Fleet([...])`, read member by member (`clusters[i].name`, ...).
fn fleet_cluster(i: usize, c: &Object<'_>) -> napi::Result<FleetCluster> {
    crate::convert::known_keys_only(c, &format!("clusters[{i}]"), &["name", "cluster", "labels", "capacity", "storageClasses"])?;
    let missing = |name: &str| napi::Error::new(napi::Status::InvalidArg, format!("clusters[{i}].{name} is missing"));
    let name: String = member(c, "name")?.ok_or_else(|| missing("name")).and_then(|_| c.get_named_property("name"))?;
    member(c, "cluster")?.ok_or_else(|| missing("cluster"))?;
    let cluster: ClassInstance<Cluster> = c.get_named_property("cluster")?;
    let labels: BTreeMap<String, String> = match member(c, "labels")? {
        Some(_) => c.get_named_property("labels")?,
        None => BTreeMap::new(),
    };
    let capacity: u32 = match member(c, "capacity")? {
        Some(_) => crate::convert::js_whole_number(c.get_named_property("capacity")?, &format!("clusters[{i}].capacity"))?,
        None => u32::MAX,
    };
    // The provider's allow list of storage classes on this cluster (absent: any class).
    let storage_classes: Option<Vec<String>> = match member(c, "storageClasses")? {
        Some(_) => Some(c.get_named_property("storageClasses")?),
        None => None,
    };
    Ok(FleetCluster { name, labels, capacity, storage_classes, backend: cluster.backend.clone() })
}

#[napi]
impl Fleet {
    /// A fleet of named clusters: `[{name, cluster, labels?, capacity?, storageClasses?}]` (capacity in tenants,
    /// default unlimited). Two clusters of one name: `DUPLICATE_CLUSTER`.
    #[napi(constructor, ts_args_type = "clusters: FleetClusterOptions[]")]
    pub fn new(env: Env, clusters: Vec<Object>) -> napi::Result<Self> {
        let clusters = clusters.iter().enumerate().map(|(i, c)| fleet_cluster(i, c)).collect::<napi::Result<Vec<_>>>()?;
        let inner = CoreFleet::new(clusters).map_err(|e| errors::fleet(&e).into_error(&env))?;
        Ok(Fleet { inner: Arc::new(inner) })
    }

    /// The clusters' names, in order.
    #[napi(getter)]
    pub fn clusters(&self) -> Vec<String> {
        self.inner.clusters().iter().map(|c| c.name.clone()).collect()
    }

    /// The cluster named `name` (the same backend the fleet uses), or `null`.
    #[napi]
    pub fn cluster(&self, name: String) -> Option<Cluster> {
        self.inner.cluster(&name).map(|c| Cluster::of(c.backend.clone()))
    }

    /// Places the tenant (where it already is, else `pin`, else among the clusters carrying
    /// `labels` the one with the most free capacity), applies it there and waits until it is usable.
    #[napi(ts_return_type = "Promise<FleetApplyReport>")]
    pub fn apply_tenant<'env>(
        &self,
        env: &'env Env,
        tenant: &Tenant,
        #[napi(ts_arg_type = "FleetApplyOptions | undefined | null")] options: Option<Object<'_>>,
    ) -> napi::Result<PromiseRaw<'env, FleetApplyReport>> {
        let o: FleetApplyOptions = crate::convert::read_options(env, options)?.unwrap_or_default();
        let placement = match o.pin {
            Some(p) => Placement::Pinned(p),
            None => Placement::Rule { required_labels: o.labels.unwrap_or_default() },
        };
        let mut opts = ApplyTenantOptions::default();
        if let Some(t) = o.timeout {
            opts.timeout = seconds(env, "timeout", t)?;
        }
        if o.force == Some(true) {
            opts.conflicts = ConflictPolicy::Force;
        }
        let (fleet, tenant) = (self.inner.clone(), tenant.inner.clone());
        spawn(env, async move { fleet.apply(&tenant, &placement, &opts).await.map_err(|e| errors::fleet(&e)) }, |(cluster, r)| FleetApplyReport {
            cluster,
            report: report(r),
        })
    }

    /// Every tenant of the fleet and its cluster.
    #[napi(ts_return_type = "Promise<FleetTenant[]>")]
    pub fn list<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, Vec<FleetTenant>>> {
        let fleet = self.inner.clone();
        spawn(env, async move { fleet.list().await.map_err(|e| errors::fleet(&e)) }, |l| {
            l.into_iter().map(|t| FleetTenant { tenant: t.tenant, cluster: t.cluster }).collect()
        })
    }

    /// `Fleet(onprem, cloud)`.
    #[napi]
    pub fn describe(&self) -> String {
        format!("Fleet({})", self.clusters().join(", "))
    }
}
