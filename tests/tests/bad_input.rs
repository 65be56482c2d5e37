//! S3 bad input: every spec under `tests/bad-input/` is refused before any API call, with the
//! field path and the message fragment its header names.
//!
//! Each file opens with `# spec: tenant|release|release-of-tenant`, `# path: <field path>` and
//! `# message: <fragment>`. A file goes through what every front end does with a spec file: read
//! and validate it (`moorage::spec`), then `tenant::apply` or `rollout::rollout` on a backend that
//! counts every call. `release-of-tenant` specs are valid on their own and refused against the
//! tenant of `tenant-of-releases.yaml` (hosts it does not hold, another tenant, limits above its
//! container maximum), inside `rollout`. A tenant file may add `# storage-classes: a, b`: the
//! provider's allowed storage classes (`ApplyTenantOptions::storage_classes`; empty: none). Every problem reported must be at the expected path, so a
//! spec cannot pass by failing for an unrelated earlier reason.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use moorage::backend::sim::SimulatedCluster;
use moorage::backend::{Applied, ApplyOptions, Backend, BackendError, Kind, Propagation, Selector, WatchStream};
use moorage::rollout::{self, RolloutError, RolloutOptions};
use moorage::spec::SpecError;
use moorage::tenant::{self, ApplyTenantOptions, TenantError};
use moorage::Tenant;
use serde_json::Value;

/// A backend that records every API call before passing it to the simulated cluster.
struct CountingBackend {
    inner: SimulatedCluster,
    calls: AtomicUsize,
    log: Mutex<Vec<String>>,
}

impl CountingBackend {
    fn new() -> Self {
        Self { inner: SimulatedCluster::new(), calls: AtomicUsize::new(0), log: Mutex::new(Vec::new()) }
    }
    fn record(&self, call: String) {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.log.lock().unwrap().push(call);
    }
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl Backend for CountingBackend {
    fn describe(&self) -> String {
        format!("counting {}", self.inner.describe())
    }
    async fn apply(&self, objects: &[Value], options: &ApplyOptions) -> Result<Vec<Applied>, BackendError> {
        self.record(format!("apply {} objects", objects.len()));
        self.inner.apply(objects, options).await
    }
    async fn get(&self, kind: &Kind, namespace: Option<&str>, name: &str) -> Result<Option<Value>, BackendError> {
        self.record(format!("get {kind:?} {namespace:?} {name}"));
        self.inner.get(kind, namespace, name).await
    }
    async fn list(&self, kind: &Kind, namespace: Option<&str>, selector: &Selector) -> Result<Vec<Value>, BackendError> {
        self.record(format!("list {kind:?} {namespace:?}"));
        self.inner.list(kind, namespace, selector).await
    }
    async fn delete(&self, kind: &Kind, namespace: Option<&str>, name: &str, propagation: Propagation) -> Result<bool, BackendError> {
        self.record(format!("delete {kind:?} {namespace:?} {name}"));
        self.inner.delete(kind, namespace, name, propagation).await
    }
    async fn watch(&self, kind: &Kind, namespace: Option<&str>, selector: &Selector) -> Result<WatchStream, BackendError> {
        self.record(format!("watch {kind:?} {namespace:?}"));
        self.inner.watch(kind, namespace, selector).await
    }
    async fn sleep(&self, duration: Duration) {
        self.inner.sleep(duration).await;
    }
    fn now(&self) -> Duration {
        self.inner.now()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SpecKind {
    Tenant,
    Release,
    ReleaseOfTenant,
}

struct Case {
    file: PathBuf,
    kind: SpecKind,
    path: String,
    message: String,
    /// The provider's allowed storage classes, from `# storage-classes:`.
    storage_classes: Option<Vec<String>>,
    text: String,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("bad-input")
}

fn header<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().take_while(|l| l.starts_with('#')).find_map(|l| l.strip_prefix(&format!("# {key}:")).map(str::trim))
}

fn load_corpus() -> Vec<Case> {
    let mut files = Vec::new();
    for category in std::fs::read_dir(corpus_dir()).expect("tests/bad-input") {
        let category = category.unwrap().path();
        if category.is_dir() {
            for f in std::fs::read_dir(&category).unwrap() {
                let f = f.unwrap().path();
                if f.extension().is_some_and(|e| e == "yaml") {
                    files.push(f);
                }
            }
        }
    }
    files.sort();
    files
        .into_iter()
        .map(|file| {
            let text = std::fs::read_to_string(&file).unwrap();
            let kind = match header(&text, "spec") {
                Some("tenant") => SpecKind::Tenant,
                Some("release") => SpecKind::Release,
                Some("release-of-tenant") => SpecKind::ReleaseOfTenant,
                other => panic!("{}: `# spec:` is {other:?}", file.display()),
            };
            let path = header(&text, "path").unwrap_or_else(|| panic!("{}: no `# path:`", file.display())).to_string();
            let message = header(&text, "message").unwrap_or_else(|| panic!("{}: no `# message:`", file.display())).to_string();
            assert!(!message.is_empty(), "{}: an empty `# message:` would match anything", file.display());
            let storage_classes =
                header(&text, "storage-classes").map(|list| list.split(',').map(str::trim).filter(|c| !c.is_empty()).map(String::from).collect());
            Case { file, kind, path, message, storage_classes, text }
        })
        .collect()
}

/// Why a spec file was refused, as one of the entry points reports it.
// The variants' errors are read through `Debug` in the failure report.
#[allow(dead_code)]
#[derive(Debug)]
enum Refused {
    Spec(SpecError),
    Tenant(TenantError),
    Rollout(RolloutError),
}

impl Refused {
    /// Every (path, message) problem, or `None` when the error is not a validation error.
    fn problems(&self) -> Option<Vec<(String, String)>> {
        let from = |e: &moorage::ValidationErrors| e.errors().iter().map(|f| (f.path.clone(), f.message.clone())).collect();
        match self {
            Refused::Spec(SpecError::Parse { path, message, .. }) => Some(vec![(path.clone(), message.clone())]),
            Refused::Spec(SpecError::Invalid(e)) | Refused::Rollout(RolloutError::Invalid(e)) | Refused::Tenant(TenantError::Invalid(e)) => Some(from(e)),
            _ => None,
        }
    }
}

/// A tenant spec file to the cluster: read and validate, then apply.
async fn apply_tenant_file(backend: &dyn Backend, text: &str, storage_classes: Option<Vec<String>>) -> Result<tenant::TenantReport, Refused> {
    let tenant = moorage::spec::tenant_from_yaml(text).map_err(Refused::Spec)?;
    tenant::apply(backend, &tenant, &ApplyTenantOptions { storage_classes, ..ApplyTenantOptions::default() }).await.map_err(Refused::Tenant)
}

/// A release spec file to the cluster: read and validate, then roll out into `tenant`.
async fn rollout_file(backend: &dyn Backend, tenant: &Tenant, text: &str) -> Result<rollout::RolloutReport, Refused> {
    let release = moorage::spec::release_from_yaml(text).map_err(Refused::Spec)?;
    rollout::rollout(backend, tenant, &release, &RolloutOptions::with_timeout(Duration::from_secs(600))).await.map_err(Refused::Rollout)
}

fn tenant_of_releases() -> Tenant {
    let text = std::fs::read_to_string(corpus_dir().join("tenant-of-releases.yaml")).unwrap();
    moorage::spec::tenant_from_yaml(&text).expect("tenant-of-releases.yaml is valid")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_spec_is_refused_before_any_api_call_with_its_path() {
    let cases = load_corpus();
    let tenant = tenant_of_releases();
    let mut wrong = Vec::new();
    let mut per_category = std::collections::BTreeMap::<String, usize>::new();
    for case in &cases {
        let category = case.file.parent().and_then(Path::file_name).unwrap().to_string_lossy().to_string();
        *per_category.entry(category).or_default() += 1;
        let name = case.file.strip_prefix(corpus_dir()).unwrap().display().to_string();
        let backend = CountingBackend::new();
        let outcome = match case.kind {
            SpecKind::Tenant => apply_tenant_file(&backend, &case.text, case.storage_classes.clone()).await.map(|_| ()),
            SpecKind::Release | SpecKind::ReleaseOfTenant => {
                if case.kind == SpecKind::ReleaseOfTenant {
                    // Valid on its own: the refusal must come from the tenant it is rolled out into.
                    if let Err(e) = moorage::spec::release_from_yaml(&case.text) {
                        wrong.push(format!("{name}: should be valid on its own, got {e}"));
                        continue;
                    }
                }
                rollout_file(&backend, &tenant, &case.text).await.map(|_| ())
            }
        };
        let calls = backend.calls();
        match outcome {
            Ok(()) => wrong.push(format!("{name}: accepted ({calls} API calls)")),
            Err(refused) => {
                if calls != 0 {
                    wrong.push(format!("{name}: {calls} API calls before the refusal: {:?}", backend.log.lock().unwrap()));
                }
                match refused.problems() {
                    None => wrong.push(format!("{name}: refused, but not as invalid input: {refused:?}")),
                    Some(problems) => {
                        let elsewhere: Vec<_> = problems.iter().filter(|(p, _)| *p != case.path).collect();
                        let matched = problems.iter().any(|(p, m)| *p == case.path && m.contains(&case.message));
                        if !elsewhere.is_empty() || !matched {
                            wrong.push(format!("{name}: expected `{}` with {:?}, got {problems:#?}", case.path, case.message));
                        }
                    }
                }
            }
        }
    }
    println!("bad input: {} specs refused before any API call, by category: {per_category:?}", cases.len() - wrong.len());
    assert!(wrong.is_empty(), "{} of {} specs wrong:\n{}", wrong.len(), cases.len(), wrong.join("\n"));
    assert!(cases.len() >= 200, "the corpus holds {} specs, fewer than 200", cases.len());
}

/// The pipeline and the counter work: the valid tenant applies and the valid release rolls out
/// through the same functions, and the counter sees their calls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_valid_specs_the_corpus_starts_from_go_through() {
    let backend = CountingBackend::new();
    let tenant_text = std::fs::read_to_string(corpus_dir().join("tenant-of-releases.yaml")).unwrap();
    // Its storage class is among the allowed ones: the allow list lets the valid tenant through.
    let allowed = Some(vec!["rook-ceph-block".to_string(), "openebs-replicated".to_string()]);
    let report = apply_tenant_file(&backend, &tenant_text, allowed).await.expect("the valid tenant applies");
    assert!(report.created() > 0);
    let after_tenant = backend.calls();
    assert!(after_tenant > 0, "the counter counts");
    let release_text = std::fs::read_to_string(corpus_dir().join("valid.release.yaml")).unwrap();
    let report = rollout_file(&backend, &tenant_of_releases(), &release_text).await.expect("the valid release rolls out");
    assert_eq!(report.version, "green");
    assert!(backend.calls() > after_tenant);
}

/// The same problems, at the same paths, whether a tenant spec is read as YAML or as JSON (the
/// Python and Node bindings pass JSON).
#[test]
fn the_same_problems_come_back_from_json() {
    let mut compared = 0;
    // YAML syntax cases (duplicate keys, tabs) have no JSON twin.
    let syntax = corpus_dir().join("yaml");
    for case in load_corpus().iter().filter(|c| c.kind == SpecKind::Tenant && !c.file.starts_with(&syntax)) {
        let Ok(value) = serde_yaml::from_str::<serde_json::Value>(&case.text) else { continue };
        let json = serde_json::to_string(&value).unwrap();
        let yaml_problems = moorage::spec::tenant_from_yaml(&case.text).err().map(|e| Refused::Spec(e).problems());
        let json_problems = moorage::spec::tenant_from_yaml(&json).err().map(|e| Refused::Spec(e).problems());
        let paths = |p: Option<Option<Vec<(String, String)>>>| p.flatten().map(|v| v.into_iter().map(|(path, _)| path).collect::<Vec<_>>());
        assert_eq!(paths(yaml_problems), paths(json_problems), "{}", case.file.display());
        compared += 1;
    }
    assert!(compared > 100, "only {compared} tenant specs compared");
}
