//! A wave plan's progress, stored in the fleet's first cluster so that any process can resume it.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::plan::WavePlanSpec;
use super::WaveError;
use crate::backend::{ApplyOptions, Backend, BackendError, Kind};
use crate::labels;

/// The namespace holding wave plans, in the fleet's first cluster.
pub const WAVES_NAMESPACE: &str = "moorage-system";

/// Where a plan stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "phase")]
pub enum WavePhase {
    /// Waves are running (or their driver died: [`super::resume`] goes on).
    Running,
    /// Paused after a wave, until [`super::resume`].
    Paused,
    /// Stopped: more tenants failed than the budget allows. The upgraded tenants stay upgraded.
    Stopped {
        /// Why, for people.
        reason: String,
    },
    /// Every wave ran.
    Done,
}

/// Where one tenant of a plan stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "state")]
pub enum TenantWaveState {
    /// Not started yet.
    Pending,
    /// Its rollout started (a driver that died leaves it here; resuming finishes it).
    Running,
    /// Upgraded.
    Succeeded,
    /// Its rollout failed; its previous version serves again.
    Failed {
        /// Why.
        reason: String,
    },
    /// Left out before the first wave (e.g. its quota cannot hold the rollout).
    Skipped {
        /// Why.
        reason: String,
    },
}

impl TenantWaveState {
    /// Whether nothing more will happen to the tenant in this plan.
    pub fn is_final(&self) -> bool {
        !matches!(self, TenantWaveState::Pending | TenantWaveState::Running)
    }
}

/// One tenant of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantWave {
    /// The tenant.
    pub tenant: String,
    /// Its fleet cluster.
    pub cluster: String,
    /// The index of its wave in [`WaveState::waves`] (none when skipped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wave: Option<u32>,
    /// The version it ran before the plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Where it stands.
    #[serde(flatten)]
    pub state: TenantWaveState,
}

/// A plan's progress, as stored in the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WaveState {
    /// The plan.
    pub spec: WavePlanSpec,
    /// The waves' labels (`canary`, `5%`, ...), in order.
    pub waves: Vec<String>,
    /// The index of the wave running (or the next to run when paused).
    pub current_wave: u32,
    /// Where the plan stands.
    #[serde(flatten)]
    pub phase: WavePhase,
    /// When the plan may go on after a `wait` gate (backend time, seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_at: Option<u64>,
    /// Every selected tenant, sorted by name.
    pub tenants: Vec<TenantWave>,
}

impl WaveState {
    /// The tenants of wave `index`.
    pub fn wave_tenants(&self, index: u32) -> impl Iterator<Item = &TenantWave> {
        self.tenants.iter().filter(move |t| t.wave == Some(index))
    }

    /// How many tenants succeeded.
    pub fn succeeded(&self) -> usize {
        self.tenants.iter().filter(|t| t.state == TenantWaveState::Succeeded).count()
    }

    /// How many tenants failed.
    pub fn failed(&self) -> usize {
        self.tenants.iter().filter(|t| matches!(t.state, TenantWaveState::Failed { .. })).count()
    }

    /// How many tenants were left out before the first wave.
    pub fn skipped(&self) -> usize {
        self.tenants.iter().filter(|t| matches!(t.state, TenantWaveState::Skipped { .. })).count()
    }

    /// How many tenants are not finished yet.
    pub fn remaining(&self) -> usize {
        self.tenants.iter().filter(|t| !t.state.is_final()).count()
    }

    /// The entry of `tenant`.
    pub fn tenant(&self, tenant: &str) -> Option<&TenantWave> {
        self.tenants.iter().find(|t| t.tenant == tenant)
    }

    pub(crate) fn tenant_mut(&mut self, tenant: &str) -> Option<&mut TenantWave> {
        self.tenants.iter_mut().find(|t| t.tenant == tenant)
    }

    /// The name of the ConfigMap holding plan `name`.
    pub fn config_map_name(name: &str) -> String {
        format!("moorage-waves-{name}")
    }

    /// Reads plan `name` from `backend` (none when it was never started).
    pub async fn load(backend: &dyn Backend, name: &str) -> Result<Option<WaveState>, WaveError> {
        let kind = Kind::of::<k8s_openapi::api::core::v1::ConfigMap>();
        let Some(cm) = backend.get(&kind, Some(WAVES_NAMESPACE), &Self::config_map_name(name)).await? else {
            return Ok(None);
        };
        let text = cm.pointer("/data/state.json").and_then(Value::as_str).unwrap_or_default();
        serde_json::from_str(text).map(Some).map_err(|e| WaveError::UnreadableState { plan: name.to_string(), message: e.to_string() })
    }

    /// Writes the plan (server-side apply; the namespace is created when missing).
    pub async fn save(&self, backend: &dyn Backend) -> Result<(), BackendError> {
        let text = serde_json::to_string(self).unwrap_or_default();
        let managed = json!({labels::MANAGED_BY: labels::MANAGER});
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": WAVES_NAMESPACE, "labels": managed}});
        let cm = json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": Self::config_map_name(&self.spec.name), "namespace": WAVES_NAMESPACE, "labels": managed,
                         "annotations": {"moorage.dev/role": "wave-plan"}},
            "data": {"state.json": text},
        });
        backend.apply(&[ns, cm], &ApplyOptions::default()).await.map(|_| ())
    }
}
