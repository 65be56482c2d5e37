//! The manifest backend: the manifest writer behind the `Backend` trait, for GitOps (apply writes
//! files, reads answer from what was written).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use serde_json::Value;
use tokio::sync::mpsc::UnboundedSender;

use super::selector::ObjectSelector;
use super::{Applied, ApplyOptions, Backend, BackendError, Cause, Change, Kind, ObjectRef, Propagation, Selector, WatchEvent, WatchStream};
use crate::compile::Object;
use crate::manifest::{self, ManifestError};

/// Objects as files in a folder, one per object (`<namespace>/<NN>-<kind>-<name>.yaml`), ready for
/// Argo CD or Flux. There are no controllers: nothing becomes "ready", and waits on status time out.
/// No field managers either: an apply replaces the file (see `docs/simulated-cluster.md`).
pub struct ManifestBackend {
    dir: PathBuf,
    state: Mutex<Files>,
}

/// A watch registered on the folder: kind, namespace, selector, and where its events go.
type Watcher = (String, Option<String>, ObjectSelector, UnboundedSender<Result<WatchEvent, BackendError>>);

#[derive(Default)]
struct Files {
    /// `(kind, namespace, name)` to the object as written and its file.
    objects: BTreeMap<(String, String, String), (Value, PathBuf)>,
    watchers: Vec<Watcher>,
}

impl std::fmt::Debug for ManifestBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManifestBackend").field("dir", &self.dir).finish_non_exhaustive()
    }
}

fn key(object: &Value) -> (String, String, String) {
    let r = ObjectRef::of(object);
    (r.kind, r.namespace.unwrap_or_default(), r.name)
}

fn io_error(e: ManifestError) -> BackendError {
    BackendError::Unavailable { object: None, attempts: 1, message: e.to_string() }
}

impl ManifestBackend {
    /// Opens (and creates if needed) a manifests folder, reading the objects already in it.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, ManifestError> {
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|source| ManifestError::Io { path: dir.clone(), source })?;
        let mut files = Files::default();
        for object in manifest::read_dir(&dir)? {
            let value = serde_json::to_value(&object).unwrap_or_default();
            files.objects.insert(key(&value), (value, dir.join(manifest::object_path(&object))));
        }
        Ok(ManifestBackend { dir, state: Mutex::new(files) })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Files> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn notify(files: &mut Files, event: &WatchEvent) {
        let object = match event {
            WatchEvent::Applied(o) | WatchEvent::Deleted(o) => o,
        };
        let (kind, ns, _) = key(object);
        files.watchers.retain(|(k, n, selector, tx)| {
            if *k != kind || n.as_deref().is_some_and(|n| n != ns) || !selector.matches(object) {
                return !tx.is_closed();
            }
            tx.send(Ok(event.clone())).is_ok()
        });
    }
}

#[async_trait]
impl Backend for ManifestBackend {
    fn describe(&self) -> String {
        format!("manifests ({})", self.dir.display())
    }

    fn runs_controllers(&self) -> bool {
        false
    }

    async fn apply(&self, objects: &[Value], options: &ApplyOptions) -> Result<Vec<Applied>, BackendError> {
        let mut out = Vec::with_capacity(objects.len());
        for value in objects {
            let reference = ObjectRef::of(value);
            if value.pointer("/metadata/resourceVersion").is_some() {
                // No resourceVersions in a folder: a conditional apply cannot be honoured, so it is refused.
                return Err(BackendError::Invalid {
                    object: reference,
                    causes: vec![Cause {
                        field: "metadata.resourceVersion".into(),
                        message: "a manifests folder keeps no resourceVersions: conditional applies are not supported".into(),
                    }],
                });
            }
            let object = Object::from_json(value.clone()).map_err(|e| BackendError::Invalid {
                object: reference.clone(),
                causes: vec![Cause { field: "kind".into(), message: format!("a manifests folder holds the kinds moorage compiles: {e}") }],
            })?;
            let normalized = serde_json::to_value(&object).unwrap_or_default();
            let path = self.dir.join(manifest::object_path(&object));
            let mut files = self.lock();
            let change = match files.objects.get(&key(&normalized)) {
                None => Change::Created,
                Some((old, _)) if *old == normalized => Change::Unchanged,
                Some(_) => Change::Updated,
            };
            if !options.dry_run && change != Change::Unchanged {
                manifest::write_dir(&self.dir, std::slice::from_ref(&object), manifest::Layout::PerObject).map_err(io_error)?;
                files.objects.insert(key(&normalized), (normalized.clone(), path));
                Self::notify(&mut files, &WatchEvent::Applied(normalized.clone()));
            }
            out.push(Applied { object: reference, change, result: normalized });
        }
        Ok(out)
    }

    async fn get(&self, kind: &Kind, namespace: Option<&str>, name: &str) -> Result<Option<Value>, BackendError> {
        let ns = if kind.namespaced { namespace.unwrap_or_default() } else { "" };
        Ok(self.lock().objects.get(&(kind.kind.clone(), ns.to_string(), name.to_string())).map(|(v, _)| v.clone()))
    }

    async fn list(&self, kind: &Kind, namespace: Option<&str>, selector: &Selector) -> Result<Vec<Value>, BackendError> {
        let parsed = ObjectSelector::parse(&kind.kind, selector)
            .map_err(|m| BackendError::Invalid { object: ObjectRef::new(kind, namespace, ""), causes: vec![Cause { field: "selector".into(), message: m }] })?;
        Ok(self
            .lock()
            .objects
            .iter()
            .filter(|((k, ns, _), (v, _))| *k == kind.kind && namespace.is_none_or(|n| !kind.namespaced || n == ns) && parsed.matches(v))
            .map(|(_, (v, _))| v.clone())
            .collect())
    }

    async fn delete(&self, kind: &Kind, namespace: Option<&str>, name: &str, _propagation: Propagation) -> Result<bool, BackendError> {
        let ns = if kind.namespaced { namespace.unwrap_or_default() } else { "" };
        let mut files = self.lock();
        let Some((value, path)) = files.objects.remove(&(kind.kind.clone(), ns.to_string(), name.to_string())) else { return Ok(false) };
        std::fs::remove_file(&path).map_err(|source| io_error(ManifestError::Io { path: path.clone(), source }))?;
        // A namespace's folder goes with it: deleting a namespace deletes what is in it.
        if kind.kind == "Namespace" {
            let inside: Vec<_> = files.objects.keys().filter(|(_, n, _)| n == name).cloned().collect();
            for k in inside {
                if let Some((v, p)) = files.objects.remove(&k) {
                    let _ = std::fs::remove_file(&p);
                    Self::notify(&mut files, &WatchEvent::Deleted(v));
                }
            }
        }
        Self::notify(&mut files, &WatchEvent::Deleted(value));
        Ok(true)
    }

    async fn watch(&self, kind: &Kind, namespace: Option<&str>, selector: &Selector) -> Result<WatchStream, BackendError> {
        let current = self.list(kind, namespace, selector).await?;
        let parsed = ObjectSelector::parse(&kind.kind, selector)
            .map_err(|m| BackendError::Invalid { object: ObjectRef::new(kind, namespace, ""), causes: vec![Cause { field: "selector".into(), message: m }] })?;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        for object in current {
            let _ = tx.send(Ok(WatchEvent::Applied(object)));
        }
        self.lock().watchers.push((kind.kind.clone(), namespace.filter(|_| kind.namespaced).map(str::to_string), parsed, tx));
        Ok(Box::pin(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))))
    }

    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }

    fn now(&self) -> Duration {
        SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::wait::{self, Target};
    use crate::{compile, Quota, Release, Tenant};

    fn objects() -> Vec<Value> {
        let tenant = Tenant::builder("acme").quota(Quota::new().limits("2", "2Gi")).domain("shop.acme.test").build().unwrap();
        let release = Release::builder("acme", "web", "v1").image("nginx:1.27").replicas(2).port("http", 8080).host("shop.acme.test").build().unwrap();
        compile(&tenant, &[release]).unwrap().objects.iter().map(|o| serde_json::to_value(o).unwrap()).collect()
    }

    #[tokio::test]
    async fn tenants_are_written_without_waiting_and_rollouts_are_refused() {
        let dir = std::env::temp_dir().join(format!("moorage-manifests-no-controllers-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let backend = ManifestBackend::open(&dir).unwrap();
        assert!(!backend.runs_controllers());
        let tenant = Tenant::builder("acme").build().unwrap();
        // A minute's timeout that would fail if apply waited for the Namespace to become Active.
        let options = crate::tenant::ApplyTenantOptions { timeout: Duration::from_secs(60), ..Default::default() };
        let report = tokio::time::timeout(Duration::from_secs(5), crate::tenant::apply(&backend, &tenant, &options)).await.expect("no wait").unwrap();
        assert!(report.created() > 0);
        let release = Release::builder("acme", "web", "v1").image("nginx:1.27").port("http", 8080).build().unwrap();
        let err = crate::rollout::rollout(&backend, &tenant, &release, &crate::rollout::RolloutOptions::default()).await.unwrap_err();
        assert!(matches!(err, crate::rollout::RolloutError::Unsupported { .. }), "{err}");
        let deployment = Kind::of::<k8s_openapi::api::apps::v1::Deployment>();
        assert!(backend.list(&deployment, Some("acme"), &Selector::all()).await.unwrap().is_empty(), "nothing of the release written");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn apply_writes_files_and_reads_answer_from_them() {
        let dir = std::env::temp_dir().join(format!("moorage-manifests-backend-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let backend = ManifestBackend::open(&dir).unwrap();
        let objects = objects();
        let first = backend.apply(&objects, &ApplyOptions::default()).await.unwrap();
        assert!(first.iter().all(|a| a.change == Change::Created));
        let again = backend.apply(&objects, &ApplyOptions::default()).await.unwrap();
        assert!(again.iter().all(|a| a.change == Change::Unchanged), "second apply changes nothing");
        assert_eq!(manifest::read_dir(&dir).unwrap().len(), objects.len(), "one file per object");
        let mut conditioned = objects[0].clone();
        conditioned["metadata"]["resourceVersion"] = "7".into();
        let refused = backend.apply(&[conditioned], &ApplyOptions::default()).await.unwrap_err();
        assert!(matches!(&refused, BackendError::Invalid { causes, .. } if causes[0].field == "metadata.resourceVersion"), "{refused}");

        // A second process sees what the first wrote.
        let reopened = ManifestBackend::open(&dir).unwrap();
        let deployment = Kind::of::<k8s_openapi::api::apps::v1::Deployment>();
        let d = reopened.get(&deployment, Some("acme"), "web").await.unwrap().unwrap();
        assert_eq!(d["spec"]["replicas"], 2);
        let listed = reopened.list(&deployment, Some("acme"), &Selector::labels("app.kubernetes.io/name=web")).await.unwrap();
        assert_eq!(listed.len(), 1);

        // Watches see changes; deletes remove files; dry runs write nothing.
        let mut stream = reopened.watch(&deployment, Some("acme"), &Selector::all()).await.unwrap();
        let mut changed = objects.iter().find(|o| o["kind"] == "Deployment").unwrap().clone();
        changed["spec"]["replicas"] = 3.into();
        let dry = reopened.apply(&[changed.clone()], &ApplyOptions::dry_run()).await.unwrap();
        assert_eq!(dry[0].change, Change::Updated);
        assert_eq!(reopened.get(&deployment, Some("acme"), "web").await.unwrap().unwrap()["spec"]["replicas"], 2);
        reopened.apply(&[changed], &ApplyOptions::default()).await.unwrap();
        assert!(reopened.delete(&deployment, Some("acme"), "web", Propagation::Background).await.unwrap());
        use futures_util::StreamExt;
        let mut seen = Vec::new();
        for _ in 0..3 {
            seen.push(match stream.next().await.unwrap().unwrap() {
                WatchEvent::Applied(o) => format!("applied {}", o["spec"]["replicas"]),
                WatchEvent::Deleted(_) => "deleted".to_string(),
            });
        }
        assert_eq!(seen, ["applied 2", "applied 3", "deleted"]);
        assert_eq!(manifest::read_dir(&dir).unwrap().len(), objects.len() - 1);
        // Nothing becomes ready in a folder: a wait says so by timing out.
        let err = wait::wait_for(
            &reopened,
            &Target::object(Kind::of::<k8s_openapi::api::apps::v1::Deployment>(), Some("acme"), "web"),
            &wait::exists(),
            Duration::from_millis(50),
        )
        .await;
        assert!(matches!(err, Err(BackendError::Timeout { .. })));
        let err = reopened
            .apply(&[serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "acme"}})], &ApplyOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(err, BackendError::Invalid { .. }), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
