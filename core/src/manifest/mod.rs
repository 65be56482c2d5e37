//! The manifest writer: compiled objects as deterministic YAML, one stream or one file per object, for GitOps.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::compile::Object;

/// Errors of the manifest writer and reader.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// An object could not be turned into YAML.
    #[error("cannot write {reference} as YAML: {source}")]
    Serialize {
        /// The object, e.g. `Deployment acme/webserver-blue`.
        reference: String,
        /// The cause.
        source: serde_yaml::Error,
    },
    /// A file or folder could not be written or read.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A manifest file does not hold objects moorage understands.
    #[error("{path}: document {document} is not a Kubernetes object moorage emits: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The document's position in the file (from 1).
        document: usize,
        /// What is wrong.
        message: String,
    },
}

/// One object as a YAML document (without the `---` separator).
pub fn to_yaml(object: &Object) -> Result<String, ManifestError> {
    serde_yaml::to_string(object).map_err(|source| ManifestError::Serialize { reference: object.reference(), source })
}

/// All objects as one YAML stream, documents separated by `---`, in the given order.
pub fn to_yaml_stream(objects: &[Object]) -> Result<String, ManifestError> {
    let mut out = String::with_capacity(objects.len() * 1024);
    for object in objects {
        out.push_str("---\n");
        out.push_str(&to_yaml(object)?);
    }
    Ok(out)
}

/// Reads objects back from a YAML stream written by [`to_yaml_stream`] (or by hand).
pub fn from_yaml_stream(yaml: &str, path: &Path) -> Result<Vec<Object>, ManifestError> {
    let mut objects = Vec::new();
    for (i, doc) in serde_yaml::Deserializer::from_str(yaml).enumerate() {
        let value = serde_yaml::Value::deserialize_from(doc).map_err(|e| ManifestError::Parse { path: path.to_path_buf(), document: i + 1, message: e.to_string() })?;
        if value.is_null() {
            continue;
        }
        let json = serde_json::to_value(&value).map_err(|e| ManifestError::Parse { path: path.to_path_buf(), document: i + 1, message: e.to_string() })?;
        objects.push(Object::from_json(json).map_err(|e| ManifestError::Parse { path: path.to_path_buf(), document: i + 1, message: e.to_string() })?);
    }
    Ok(objects)
}

trait DeserializeFrom: Sized {
    fn deserialize_from(d: serde_yaml::Deserializer<'_>) -> Result<Self, serde_yaml::Error>;
}

impl DeserializeFrom for serde_yaml::Value {
    fn deserialize_from(d: serde_yaml::Deserializer<'_>) -> Result<Self, serde_yaml::Error> {
        serde::Deserialize::deserialize(d)
    }
}

/// How objects are laid out in a folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// One file per object: `<namespace>/<NN>-<kind>-<name>.yaml` (`_cluster` for cluster-scoped objects),
    /// where `NN` is the object's apply rank, so a sorted listing is the apply order.
    #[default]
    PerObject,
    /// One file, `manifests.yaml`, holding the whole stream.
    Single,
}

/// The relative path of an object's file in the [`Layout::PerObject`] layout.
pub fn object_path(object: &Object) -> PathBuf {
    let folder = object.namespace().unwrap_or("_cluster");
    PathBuf::from(folder).join(format!("{:02}-{}-{}.yaml", object.apply_rank(), object.kind().to_ascii_lowercase(), object.name()))
}

/// Writes objects into `dir` (created if missing) and returns the files written, in apply order.
///
/// Each file is written to a temporary name and renamed into place, so a reader never sees half a file.
/// Output is deterministic: the same objects give the same bytes.
pub fn write_dir(dir: &Path, objects: &[Object], layout: Layout) -> Result<Vec<PathBuf>, ManifestError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ManifestError::Io { path, source }
    };
    fs::create_dir_all(dir).map_err(io(dir))?;
    let mut written = Vec::new();
    match layout {
        Layout::Single => {
            let path = dir.join("manifests.yaml");
            write_atomic(&path, to_yaml_stream(objects)?.as_bytes()).map_err(io(&path))?;
            written.push(path);
        }
        Layout::PerObject => {
            for object in objects {
                let path = dir.join(object_path(object));
                if let Some(parent) = path.parent() {
                    fs::create_dir_all(parent).map_err(io(parent))?;
                }
                let yaml = to_yaml(object)?;
                write_atomic(&path, yaml.as_bytes()).map_err(io(&path))?;
                written.push(path);
            }
        }
    }
    Ok(written)
}

/// Reads every `.yaml` file under `dir` (sorted by path) back into objects.
pub fn read_dir(dir: &Path) -> Result<Vec<Object>, ManifestError> {
    let mut files = Vec::new();
    collect_yaml_files(dir, &mut files)?;
    files.sort();
    let mut objects = Vec::new();
    for file in files {
        let text = fs::read_to_string(&file).map_err(|source| ManifestError::Io { path: file.clone(), source })?;
        objects.extend(from_yaml_stream(&text, &file)?);
    }
    Ok(objects)
}

fn collect_yaml_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), ManifestError> {
    let entries = fs::read_dir(dir).map_err(|source| ManifestError::Io { path: dir.to_path_buf(), source })?;
    for entry in entries {
        let entry = entry.map_err(|source| ManifestError::Io { path: dir.to_path_buf(), source })?;
        let path = entry.path();
        if path.is_dir() {
            collect_yaml_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
    Ok(())
}

fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
    }
    fs::rename(&tmp, path)
}
