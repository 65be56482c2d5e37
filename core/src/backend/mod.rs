//! Backends: the one trait every operation executes through, and its three targets
//! (a real cluster, the embedded simulated cluster, a folder of manifests).

#[cfg(feature = "cluster")]
pub mod cluster;
mod error;
mod kind;
pub mod manifests;
pub mod ownership;
pub(crate) mod selector;
pub mod sim;
pub mod wait;

use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;
use futures_core::Stream;
use serde_json::Value;

pub use error::{parse_quota_message, BackendError, Cause, QuotaMessage};
pub use kind::{Kind, ObjectRef};

/// Whether an object is marked for deletion (`metadata.deletionTimestamp` set): it is going away and
/// waits only for its finalizers (and, for a pod, its grace period).
pub(crate) fn being_deleted(object: &Value) -> bool {
    object.pointer("/metadata/deletionTimestamp").is_some_and(|at| !at.is_null())
}

/// The field manager moorage applies with.
pub const FIELD_MANAGER: &str = crate::labels::MANAGER;

/// What to do when another field manager owns a field moorage applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConflictPolicy {
    /// Fail with [`BackendError::Conflict`] (default): never overwrite someone else's change silently.
    #[default]
    Fail,
    /// Take ownership of the field (server-side apply `force`); logged at `warn` level.
    Force,
}

/// Options of an apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyOptions {
    /// The field manager (default `moorage`).
    pub field_manager: String,
    /// Conflict policy.
    pub conflicts: ConflictPolicy,
    /// Server-side dry run: validate and admit (quota included), change nothing.
    pub dry_run: bool,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        Self { field_manager: FIELD_MANAGER.to_string(), conflicts: ConflictPolicy::Fail, dry_run: false }
    }
}

impl ApplyOptions {
    /// Default options with dry run on.
    pub fn dry_run() -> Self {
        Self { dry_run: true, ..Self::default() }
    }
    /// Default options with force on.
    pub fn force() -> Self {
        Self { conflicts: ConflictPolicy::Force, ..Self::default() }
    }
}

/// What an apply did to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Change {
    /// The object did not exist.
    Created,
    /// The object existed and some of moorage's fields changed.
    Updated,
    /// Nothing changed (the resourceVersion is the same).
    Unchanged,
}

/// The outcome of applying one object.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// The object.
    pub object: ObjectRef,
    /// What changed.
    pub change: Change,
    /// The object as the server holds it after the apply (or would, in a dry run).
    pub result: Value,
}

/// Deletion propagation, as Kubernetes defines it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Propagation {
    /// Dependents are deleted in the background after the owner (Kubernetes' default for most kinds).
    #[default]
    Background,
    /// The owner is deleted after its dependents.
    Foreground,
    /// Dependents are left behind.
    Orphan,
}

impl Propagation {
    /// The value of Kubernetes' `propagationPolicy`.
    pub fn as_str(self) -> &'static str {
        match self {
            Propagation::Background => "Background",
            Propagation::Foreground => "Foreground",
            Propagation::Orphan => "Orphan",
        }
    }
}

/// Which objects a list or watch returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    /// A label selector in Kubernetes syntax (`app.kubernetes.io/name=web,tier!=db`).
    pub labels: Option<String>,
    /// A field selector; backends support at least `metadata.name=<name>` and, for Events,
    /// `involvedObject.name=<name>` and `involvedObject.kind=<kind>`.
    pub fields: Option<String>,
    /// For a list: a `metadata.resourceVersion` the answer must be at least as recent as
    /// (Kubernetes' `resourceVersionMatch=NotOlderThan`), e.g. the one a write of this process
    /// returned, so that the list shows that write and everything before it, and may be served from
    /// the API server's cache. `None`: the most recent state, read through to etcd. Watches ignore
    /// it; the simulated cluster and the manifests folder always list their current state (the
    /// simulated cluster refuses, as the API server does, a version that is not a number
    /// ([`BackendError::Invalid`]) or is newer than its own ([`BackendError::Unavailable`])).
    pub not_older_than: Option<String>,
}

impl Selector {
    /// Everything.
    pub fn all() -> Self {
        Self::default()
    }
    /// By label selector.
    pub fn labels(selector: impl Into<String>) -> Self {
        Self { labels: Some(selector.into()), ..Self::default() }
    }
    /// One object, by name.
    pub fn name(name: &str) -> Self {
        Self { fields: Some(format!("metadata.name={name}")), ..Self::default() }
    }
    /// The same selection, listed at least as recent as `resource_version` ([`Self::not_older_than`]).
    pub fn not_older_than(self, resource_version: impl Into<String>) -> Self {
        Self { not_older_than: Some(resource_version.into()), ..self }
    }
}

/// A change seen by a watch.
#[derive(Debug, Clone, PartialEq)]
pub enum WatchEvent {
    /// An object was created or changed (or was there when the watch started).
    Applied(Value),
    /// An object was deleted.
    Deleted(Value),
}

/// A stream of watch events. It ends only when the backend cannot resume it (then with an error).
pub type WatchStream = Pin<Box<dyn Stream<Item = Result<WatchEvent, BackendError>> + Send>>;

/// Where compiled objects go. Every operation of moorage executes through this trait.
///
/// Objects are passed as JSON (`apiVersion`, `kind`, `metadata`, ...) so that one trait serves the
/// kinds moorage compiles and the ones it reads (Pods, ReplicaSets, EndpointSlices, Events, Jobs).
#[async_trait]
pub trait Backend: Send + Sync {
    /// A short description, e.g. `simulated`, `cluster (context kind-dev)`, `manifests (./out)`.
    fn describe(&self) -> String;

    /// Whether controllers act on what is applied (Deployments get pods, Namespaces become Active),
    /// so that waiting for a status makes sense. True for clusters, real or simulated; false for a
    /// manifests folder, where nothing ever becomes ready.
    fn runs_controllers(&self) -> bool {
        true
    }

    /// Server-side applies `objects` in the given order (callers sort them with
    /// [`crate::compile::sort_for_apply`]), all or nothing as far as admission goes: an error on one
    /// object stops the apply and is returned with that object's reference.
    ///
    /// An object carrying `metadata.resourceVersion` is applied only if the stored object is at
    /// that resourceVersion (Kubernetes' optimistic lock): otherwise, or when it does not exist,
    /// [`BackendError::Conflict`]. The manifests backend keeps no resourceVersions and refuses such
    /// objects as [`BackendError::Invalid`] (field `metadata.resourceVersion`).
    async fn apply(&self, objects: &[Value], options: &ApplyOptions) -> Result<Vec<Applied>, BackendError>;

    /// Reads one object; `Ok(None)` when it does not exist.
    async fn get(&self, kind: &Kind, namespace: Option<&str>, name: &str) -> Result<Option<Value>, BackendError>;

    /// Lists objects of a kind in a namespace (or all namespaces with `None`).
    async fn list(&self, kind: &Kind, namespace: Option<&str>, selector: &Selector) -> Result<Vec<Value>, BackendError>;

    /// Deletes one object; `Ok(false)` when it did not exist.
    async fn delete(&self, kind: &Kind, namespace: Option<&str>, name: &str, propagation: Propagation) -> Result<bool, BackendError>;

    /// Watches objects of a kind: first the current objects as `Applied`, then every change.
    async fn watch(&self, kind: &Kind, namespace: Option<&str>, selector: &Selector) -> Result<WatchStream, BackendError>;

    /// Waits for `duration` of the backend's time: real time on a cluster, virtual time on the
    /// simulated cluster (where it returns at once after advancing the clock and its controllers).
    async fn sleep(&self, duration: Duration);

    /// The backend's current time, as a duration since the Unix epoch.
    fn now(&self) -> Duration;

    /// The last `lines` lines of the log of pod `pod`; `Ok(None)` when the backend keeps no logs
    /// (the simulated cluster and the manifests folder do not run containers).
    async fn pod_log_tail(&self, namespace: &str, pod: &str, lines: u32) -> Result<Option<String>, BackendError> {
        let _ = (namespace, pod, lines);
        Ok(None)
    }
}
