//! Spec files on disk: tenants and releases read from files and folders, every problem with its file, field path and line.

use std::path::{Path, PathBuf};

use super::{parse, SpecError};
use crate::model::release::{Release, ReleaseSpec};
use crate::model::tenant::{Tenant, TenantSpec};

/// A validated spec: a tenant or a release.
#[derive(Debug, Clone, PartialEq)]
pub enum SpecDocument {
    /// A tenant spec (it has a `name`).
    Tenant(Tenant),
    /// A release spec (it has `tenant` and `app`).
    Release(Release),
}

/// A spec read from a file.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecFile {
    /// The file.
    pub path: PathBuf,
    /// What it holds.
    pub document: SpecDocument,
}

/// What kind of problem a [`SpecProblem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SpecProblemKind {
    /// The file or folder could not be read.
    Read,
    /// The text is not a well-formed spec (bad YAML, unknown field, wrong type).
    Parse,
    /// The spec is well-formed but breaks the model's rules.
    Invalid,
    /// The document is neither a tenant spec nor a release spec.
    UnknownKind,
    /// A folder holds no spec file.
    NoSpecs,
}

/// One problem of one spec file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SpecProblem {
    /// What kind of problem.
    pub kind: SpecProblemKind,
    /// The file (or folder).
    pub file: PathBuf,
    /// The field's path, e.g. `release.replicas` (empty for the whole file).
    pub path: String,
    /// The line in the file (from 1), when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for SpecProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in a set of spec files (never empty when returned as an error).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, thiserror::Error)]
#[error("{} problem{} in the spec files:{}", problems.len(), if problems.len() == 1 { "" } else { "s" }, problems.iter().map(|p| format!("\n  {p}")).collect::<String>())]
pub struct SpecFilesError {
    /// The problems, file by file in the order read.
    pub problems: Vec<SpecProblem>,
}

/// The keys that tell a release spec from a tenant spec.
fn is_release(value: &serde_yaml::Value) -> Option<bool> {
    let map = value.as_mapping()?;
    if map.contains_key("app") || map.contains_key("tenant") {
        Some(true)
    } else if map.contains_key("name") {
        Some(false)
    } else {
        None
    }
}

/// Reads one spec (YAML or JSON), telling a tenant (`name`) from a release (`tenant`, `app`).
pub fn document_from_yaml(text: &str) -> Result<Option<SpecDocument>, SpecError> {
    let value: serde_yaml::Value = parse(text, "spec")?;
    match is_release(&value) {
        Some(true) => Ok(Some(SpecDocument::Release(Release::from_spec(parse::<ReleaseSpec>(text, "release")?)?))),
        Some(false) => Ok(Some(SpecDocument::Tenant(Tenant::from_spec(parse::<TenantSpec>(text, "tenant")?)?))),
        None => Ok(None),
    }
}

/// The problems of one file's text, each with its line.
fn problems_of(file: &Path, text: &str, error: SpecError) -> Vec<SpecProblem> {
    match error {
        SpecError::Parse { path, line, message } => {
            let line = line.or_else(|| super::lines::line_of(text, &path));
            vec![SpecProblem { kind: SpecProblemKind::Parse, file: file.to_path_buf(), path, line, message }]
        }
        SpecError::Invalid(errors) => errors
            .into_errors()
            .into_iter()
            .map(|e| SpecProblem {
                kind: SpecProblemKind::Invalid,
                file: file.to_path_buf(),
                line: super::lines::line_of(text, &e.path),
                path: e.path,
                message: e.message,
            })
            .collect(),
    }
}

fn is_spec_file(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json"))
}

/// The spec files under `path`: the file itself, or a folder's `*.yaml`, `*.yml` and `*.json`
/// files (recursively, sorted by path).
fn files_under(path: &Path, problems: &mut Vec<SpecProblem>) -> Vec<PathBuf> {
    let read_problem = |message: String| SpecProblem { kind: SpecProblemKind::Read, file: path.to_path_buf(), path: String::new(), line: None, message };
    let metadata = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            problems.push(read_problem(e.to_string()));
            return Vec::new();
        }
    };
    if !metadata.is_dir() {
        return vec![path.to_path_buf()];
    }
    let mut out = Vec::new();
    let mut pending = vec![path.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) => {
                problems.push(read_problem(e.to_string()));
                continue;
            }
        };
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_dir() {
                pending.push(p);
            } else if is_spec_file(&p) {
                out.push(p);
            }
        }
    }
    out.sort();
    if out.is_empty() {
        problems.push(SpecProblem {
            kind: SpecProblemKind::NoSpecs,
            file: path.to_path_buf(),
            path: String::new(),
            line: None,
            message: "no spec file (*.yaml, *.yml, *.json) in this folder".into(),
        });
    }
    out
}

/// Reads and validates the fleet wave plan in file `path` (YAML or JSON): every problem with the
/// file, the field's path (from `plan`) and its line.
pub fn wave_plan_file(path: &Path) -> Result<crate::waves::WavePlan, SpecFilesError> {
    let text = std::fs::read_to_string(path).map_err(|e| SpecFilesError {
        problems: vec![SpecProblem { kind: SpecProblemKind::Read, file: path.to_path_buf(), path: String::new(), line: None, message: e.to_string() }],
    })?;
    super::wave_plan_from_yaml(&text).map_err(|e| SpecFilesError { problems: problems_of(path, &text, e) })
}

/// Reads and validates every spec in `paths` (files, and folders read recursively), returning
/// them in order (folders sorted by path), or every problem of every file at once.
pub fn read_paths(paths: &[PathBuf]) -> Result<Vec<SpecFile>, SpecFilesError> {
    let mut problems = Vec::new();
    let mut files = Vec::new();
    for path in paths {
        for file in files_under(path, &mut problems) {
            let text = match std::fs::read_to_string(&file) {
                Ok(t) => t,
                Err(e) => {
                    problems.push(SpecProblem { kind: SpecProblemKind::Read, file, path: String::new(), line: None, message: e.to_string() });
                    continue;
                }
            };
            match document_from_yaml(&text) {
                Ok(Some(document)) => files.push(SpecFile { path: file, document }),
                Ok(None) => problems.push(SpecProblem {
                    kind: SpecProblemKind::UnknownKind,
                    file,
                    path: String::new(),
                    line: None,
                    message: "neither a tenant spec (with `name`) nor a release spec (with `tenant` and `app`)".into(),
                }),
                Err(e) => problems.extend(problems_of(&file, &text, e)),
            }
        }
    }
    if problems.is_empty() {
        Ok(files)
    } else {
        Err(SpecFilesError { problems })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("moorage-spec-files-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).expect("temp dir");
        dir
    }

    #[test]
    fn reads_folders_recursively_and_tells_kinds_apart() {
        let dir = temp_dir("ok");
        std::fs::write(dir.join("a.tenant.yaml"), include_str!("../../../examples/specs/acme.tenant.yaml")).expect("write");
        std::fs::write(dir.join("sub/b.release.yaml"), include_str!("../../../examples/specs/webserver-blue.release.yaml")).expect("write");
        std::fs::write(dir.join("notes.txt"), "not a spec").expect("write");
        let files = read_paths(std::slice::from_ref(&dir)).expect("specs");
        assert_eq!(files.len(), 2);
        assert!(matches!(&files[0].document, SpecDocument::Tenant(t) if t.name() == "acme"));
        assert!(matches!(&files[1].document, SpecDocument::Release(r) if r.spec().version == "blue"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn every_problem_has_its_file_path_and_line() {
        let dir = temp_dir("bad");
        std::fs::write(dir.join("bad.yaml"), "tenant: acme\napp: web\nversion: v1\nimage: nginx\nreplicas: 3\nports:\n  - name: http\n    port: 0\nresources:\n  limits:\n    cpu: 2g\n    memory: 1Gi\n").expect("write");
        std::fs::write(dir.join("typo.yaml"), "name: acme\nquota:\n  pods: many\n").expect("write");
        std::fs::write(dir.join("other.yaml"), "kind: Deployment\n").expect("write");
        let err = read_paths(&[dir.clone(), dir.join("missing.yaml")]).expect_err("problems");
        let found: Vec<(SpecProblemKind, String, String, Option<usize>)> =
            err.problems.iter().map(|p| (p.kind, p.file.file_name().unwrap_or_default().to_string_lossy().into_owned(), p.path.clone(), p.line)).collect();
        assert!(found.contains(&(SpecProblemKind::Invalid, "bad.yaml".into(), "release.ports[0].port".into(), Some(8))), "{found:?}");
        assert!(
            found
                .iter()
                .any(|(k, f, p, l)| *k == SpecProblemKind::Invalid && f == "bad.yaml" && p.starts_with("release.resources.limits.cpu") && *l == Some(11)),
            "{found:?}"
        );
        assert!(found.contains(&(SpecProblemKind::Parse, "typo.yaml".into(), "tenant.quota.pods".into(), Some(3))), "{found:?}");
        assert!(found.contains(&(SpecProblemKind::UnknownKind, "other.yaml".into(), String::new(), None)), "{found:?}");
        assert!(found.contains(&(SpecProblemKind::Read, "missing.yaml".into(), String::new(), None)), "{found:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_wave_plan_file_problem_has_its_line() {
        let dir = temp_dir("wave-plan");
        let file = dir.join("plan.yaml");
        std::fs::write(&file, "name: shop-2\napp: shop\nversion: \"2.0\"\nimage: registry.test/shop:2.0\nwaves: [25, 250]\n").unwrap();
        let e = wave_plan_file(&file).unwrap_err();
        assert_eq!(e.problems.len(), 1, "{e}");
        assert_eq!((e.problems[0].path.as_str(), e.problems[0].line), ("plan.waves[1]", Some(5)), "{e}");
        std::fs::write(&file, "name: shop-2\napp: shop\nversion: \"2.0\"\nimage: registry.test/shop:2.0\nwaves: [25, 100]\n").unwrap();
        assert_eq!(wave_plan_file(&file).unwrap().name(), "shop-2");
        assert!(matches!(wave_plan_file(&dir.join("missing.yaml")), Err(SpecFilesError { problems }) if problems[0].kind == SpecProblemKind::Read));
    }

    #[test]
    fn an_empty_folder_is_a_problem() {
        let dir = temp_dir("empty");
        let err = read_paths(std::slice::from_ref(&dir)).expect_err("no specs");
        assert_eq!(err.problems[0].kind, SpecProblemKind::NoSpecs);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
