//! Release history: revisions and the rollout in progress, stored in the cluster (a ConfigMap per app).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::analysis::AnalysisResult;
use crate::backend::{ApplyOptions, Backend, BackendError, Kind};
use crate::labels;
use crate::model::release::ReleaseSpec;

/// How many revisions a history keeps.
pub const MAX_REVISIONS: usize = 20;

/// The outcome of a revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "state")]
pub enum Outcome {
    /// The rollout is running (or its driver died; `resume` finishes it).
    InProgress,
    /// Traffic moved to this revision and it is live.
    Succeeded,
    /// The rollout failed; traffic stayed on the previous version.
    Failed {
        /// Why.
        reason: String,
    },
    /// Traffic went back to an earlier revision.
    RolledBack {
        /// The revision traffic went back to.
        to: u32,
    },
    /// A later revision replaced it.
    Superseded,
}

/// One release of an application, as recorded in the cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Revision {
    /// 1, 2, 3, ... per application.
    pub number: u32,
    /// The version.
    pub version: String,
    /// The image.
    pub image: String,
    /// The hash of the config files, when any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_hash: Option<String>,
    /// Replicas asked for.
    pub replicas: u32,
    /// The strategy (`rolling`, `blueGreen`, `canary`).
    pub strategy: String,
    /// Who started it (`$USER`, or `moorage`).
    pub by: String,
    /// When it started (backend time, seconds since the Unix epoch).
    pub started_at: u64,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<u64>,
    /// How it ended.
    pub outcome: Outcome,
    /// The whole release spec, so that a rollback restores image **and** config.
    pub spec: ReleaseSpec,
    /// The analyses run for this revision (newest last), with their measurements.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub analyses: Vec<AnalysisResult>,
}

/// The phase of a rollout in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Phase {
    /// The new version's objects are being applied and awaited.
    Deploying,
    /// The new version is ready; waiting for `promote`.
    WaitingForPromotion,
    /// Traffic moved; the old version stays warm until the scale-down delay has passed.
    Switched,
    /// A canary paused until promoted (a `pause: {}` or `analysis` step).
    Paused,
    /// Finished.
    Done,
    /// Failed; the previous version still serves.
    Failed,
}

/// The rollout in progress, stored with the history so that another process can resume it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutState {
    /// The revision being rolled out.
    pub revision: u32,
    /// The version serving before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The version being rolled out.
    pub to: String,
    /// Where it is.
    pub phase: Phase,
    /// When traffic switched (backend time, seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub switched_at: Option<u64>,
    /// Canary: the index of the next step to run (or of the pause waiting for promotion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<u32>,
    /// Autoscaled releases: the count the new version goes to, taken from the replaced version's
    /// live count when the rollout started (the canary's `R`; the stable size an abort restores).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
}

/// An application's history: its revisions (newest last) and the rollout in progress.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct History {
    /// Revisions, oldest first, at most [`MAX_REVISIONS`].
    pub revisions: Vec<Revision>,
    /// The rollout in progress, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<RolloutState>,
}

impl History {
    /// The name of the ConfigMap holding the history of `app`.
    pub fn config_map_name(app: &str) -> String {
        format!("{app}-history")
    }

    /// The number the next revision gets.
    pub fn next_number(&self) -> u32 {
        self.revisions.last().map(|r| r.number + 1).unwrap_or(1)
    }

    /// A revision by number.
    pub fn revision(&self, number: u32) -> Option<&Revision> {
        self.revisions.iter().find(|r| r.number == number)
    }

    /// A revision by number, to change it.
    pub fn revision_mut(&mut self, number: u32) -> Option<&mut Revision> {
        self.revisions.iter_mut().find(|r| r.number == number)
    }

    /// The newest revision that succeeded, other than `except`.
    pub fn last_succeeded_except(&self, except: &str) -> Option<&Revision> {
        self.revisions.iter().rev().find(|r| r.version != except && matches!(r.outcome, Outcome::Succeeded | Outcome::Superseded | Outcome::RolledBack { .. }))
    }

    /// Adds a revision, dropping the oldest beyond [`MAX_REVISIONS`].
    pub fn push(&mut self, revision: Revision) {
        self.revisions.push(revision);
        if self.revisions.len() > MAX_REVISIONS {
            let excess = self.revisions.len() - MAX_REVISIONS;
            self.revisions.drain(..excess);
        }
    }

    /// Reads the history of `app` in namespace `ns` (empty when there is none yet).
    pub async fn load(backend: &dyn Backend, ns: &str, app: &str) -> Result<History, BackendError> {
        let kind = Kind::of::<k8s_openapi::api::core::v1::ConfigMap>();
        let Some(cm) = backend.get(&kind, Some(ns), &Self::config_map_name(app)).await? else {
            return Ok(History::default());
        };
        let text = cm.pointer("/data/history.json").and_then(Value::as_str).unwrap_or("{}");
        Ok(serde_json::from_str(text).unwrap_or_default())
    }

    /// Writes the history of `app` (server-side apply; the ConfigMap is owned by moorage).
    pub async fn save(&self, backend: &dyn Backend, ns: &str, app: &str) -> Result<(), BackendError> {
        let text = serde_json::to_string(self).unwrap_or_else(|_| "{}".into());
        let labels: BTreeMap<String, String> = labels::app_labels(ns, app);
        let cm = json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": Self::config_map_name(app), "namespace": ns, "labels": labels,
                         "annotations": {"moorage.dev/role": "release-history"}},
            "data": {"history.json": text},
        });
        backend.apply(&[cm], &ApplyOptions::default()).await.map(|_| ())
    }
}
