//! The manifest writer: compiled objects as deterministic YAML, one stream or one file per object, for GitOps.

use std::fs;
use std::io::{IoSlice, Write};
use std::path::{Path, PathBuf};

use crate::compile::Object;

pub mod yaml;

pub use yaml::{to_yaml_string, YamlError};

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
    yaml::to_yaml_string(object).map_err(|e| serialize_error(object, e))
}

fn serialize_error(object: &Object, e: YamlError) -> ManifestError {
    ManifestError::Serialize { reference: object.reference(), source: <serde_yaml::Error as serde::ser::Error>::custom(e) }
}

/// All objects as one YAML stream, documents separated by `---`, in the given order.
pub fn to_yaml_stream(objects: &[Object]) -> Result<String, ManifestError> {
    let mut out = String::with_capacity(objects.len() * 1024);
    for object in objects {
        out.push_str("---\n");
        yaml::append_yaml(&mut out, object).map_err(|e| serialize_error(object, e))?;
    }
    Ok(out)
}

/// Reads objects back from a YAML stream written by [`to_yaml_stream`] (or by hand).
pub fn from_yaml_stream(yaml: &str, path: &Path) -> Result<Vec<Object>, ManifestError> {
    let mut objects = Vec::new();
    for (i, doc) in serde_yaml::Deserializer::from_str(yaml).enumerate() {
        let value =
            serde_yaml::Value::deserialize_from(doc).map_err(|e| ManifestError::Parse { path: path.to_path_buf(), document: i + 1, message: e.to_string() })?;
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
            write_atomic(&path, &[to_yaml_stream(objects)?.as_bytes()]).map_err(io(&path))?;
            written.push(path);
        }
        Layout::PerObject => {
            for object in objects {
                let path = dir.join(object_path(object));
                if let Some(parent) = path.parent() {
                    fs::create_dir_all(parent).map_err(io(parent))?;
                }
                let yaml = to_yaml(object)?;
                write_atomic(&path, &[yaml.as_bytes()]).map_err(io(&path))?;
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

/// Writes objects as one YAML stream into the file `path` (its folder must exist), atomically
/// (a temporary file renamed into place). Returns the number of bytes written.
pub fn write_file(path: &Path, objects: &[Object]) -> Result<usize, ManifestError> {
    write_text(path, &to_yaml_stream(objects)?)
}

/// Writes YAML text (a stream of [`to_yaml_stream`]) into the file `path` (its folder must
/// exist), atomically (a temporary file renamed into place). Returns the number of bytes written.
pub fn write_text(path: &Path, yaml: &str) -> Result<usize, ManifestError> {
    write_pieces(path, &[yaml.as_bytes()])
}

/// Writes a YAML stream held in pieces (in order) into the file `path`, atomically, with vectored
/// writes: the pieces are not joined in memory first. Returns the number of bytes written.
pub(crate) fn write_pieces(path: &Path, pieces: &[&[u8]]) -> Result<usize, ManifestError> {
    write_atomic(path, pieces).map_err(|source| ManifestError::Io { path: path.to_path_buf(), source })?;
    Ok(pieces.iter().map(|p| p.len()).sum())
}

fn write_atomic(path: &Path, pieces: &[&[u8]]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    // The file is closed (dropped at the end of the closure) before it is renamed.
    let written = fs::File::create(&tmp).and_then(|mut f| write_all_pieces(&mut f, pieces)).and_then(|()| fs::rename(&tmp, path));
    if written.is_err() {
        // No temporary file is left behind, half written or not renamed (the file at `path`, if
        // any, is untouched).
        let _ = fs::remove_file(&tmp);
    }
    written
}

/// `write_all` of pieces in order, as few system calls as the OS allows (`writev`).
fn write_all_pieces(out: &mut impl Write, pieces: &[&[u8]]) -> std::io::Result<()> {
    let mut slices: Vec<IoSlice<'_>> = pieces.iter().map(|p| IoSlice::new(p)).collect();
    let mut rest = &mut slices[..];
    IoSlice::advance_slices(&mut rest, 0);
    while !rest.is_empty() {
        match out.write_vectored(rest) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut rest, n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod write_tests {
    use std::io::Write;

    use proptest::prelude::*;

    use super::write_all_pieces;

    /// A writer that takes at most `step` bytes per call and is interrupted every third call,
    /// as a pipe or a signal-interrupted `writev` can be.
    struct Trickle {
        out: Vec<u8>,
        step: usize,
        calls: usize,
    }

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.calls += 1;
            if self.calls % 3 == 0 {
                return Err(std::io::ErrorKind::Interrupted.into());
            }
            let n = buf.len().min(self.step);
            self.out.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    proptest! {
        #[test]
        fn pieces_are_written_whole_and_in_order(pieces in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..20), step in 1usize..50) {
            let mut out = Trickle { out: Vec::new(), step, calls: 0 };
            let slices: Vec<&[u8]> = pieces.iter().map(Vec::as_slice).collect();
            write_all_pieces(&mut out, &slices).expect("written");
            prop_assert_eq!(out.out, pieces.concat());
        }
    }

    #[test]
    fn a_failed_write_leaves_no_temporary_file() {
        let dir = std::env::temp_dir().join(format!("moorage-write-pieces-{}", std::process::id()));
        // The target is a folder: the temporary file is written, the rename fails.
        let target = dir.join("manifests.yaml");
        std::fs::create_dir_all(&target).expect("temp dirs");
        let err = super::write_pieces(&target, &[b"kind: Namespace\n"]).expect_err("a folder is in the way");
        assert!(err.to_string().contains("manifests.yaml"), "{err}");
        assert!(!dir.join("manifests.yaml.tmp").exists());
        assert!(target.is_dir());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_writer_that_takes_nothing_is_an_error_not_a_loop() {
        let mut full: &mut [u8] = &mut [];
        let e = write_all_pieces(&mut full, &[b"kind: Namespace\n"]).expect_err("no room");
        assert_eq!(e.kind(), std::io::ErrorKind::WriteZero);
    }
}

#[cfg(test)]
mod yaml_tests {
    use proptest::prelude::*;
    use serde::Serialize;
    use serde_json::{json, Map, Value};

    use super::yaml::to_yaml_string;

    fn round_trip(value: &Value) -> Result<(), TestCaseError> {
        let yaml = to_yaml_string(value).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back: Value = serde_yaml::from_str(&yaml).map_err(|e| TestCaseError::fail(format!("{e}\n{yaml}")))?;
        prop_assert_eq!(&back, value, "yaml:\n{}", yaml);
        Ok(())
    }

    const TRICKY: &[&str] = &[
        "",
        " ",
        "  ",
        "yes",
        "no",
        "Yes",
        "NO",
        "on",
        "off",
        "y",
        "n",
        "true",
        "False",
        "null",
        "Null",
        "~",
        "1e3",
        "0x1F",
        "0o17",
        "0b101",
        "1_000",
        "08",
        "-",
        "- a",
        "-a",
        "? x",
        "?x",
        ": x",
        ":x",
        "x:",
        "x: y",
        "a:b",
        "#",
        "a #b",
        "a#b",
        "'",
        "''",
        "\"",
        "a'b",
        "a\"b",
        "\\",
        "---",
        "...",
        "--- x",
        "%x",
        "@x",
        "`x",
        "!x",
        "&x",
        "*x",
        "|",
        ">",
        "[a]",
        "{a}",
        "a, b",
        "<<",
        "=",
        ".inf",
        "-.inf",
        ".nan",
        ".5",
        "+1",
        "-1",
        "1.0",
        "1.27.3",
        "2001-12-14",
        "12:30",
        "0 3 * * *",
        "20Gi",
        "500m",
        "\n",
        "\n\n",
        "a\n",
        "a\nb",
        "a\n\n",
        "a\n\nb\n",
        " a\nb",
        "a \nb",
        "a\n b",
        "a\n\tb",
        "\t",
        "a\rb",
        "\u{0}",
        "\u{7f}",
        "\u{85}",
        "\u{a0}",
        "\u{2028}",
        "\u{feff}",
        "\u{fffe}",
        "é",
        "日本",
        "😀",
        "a\n---\nb",
        "a\n...\n",
        "#!/bin/sh\nset -eu\n",
    ];

    fn string() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[ a-c#:'\"\\-?\\n\\t.0-9]{0,10}",
            prop::sample::select(TRICKY).prop_map(str::to_owned),
            (prop::sample::select(TRICKY), prop::sample::select(TRICKY), "[ a\\n:#]{0,3}").prop_map(|(a, b, c)| format!("{a}{c}{b}")),
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
            prop_oneof![Just(0.5), Just(1.0), Just(-0.0), Just(1e16), Just(1.5e-7), Just(1e300)].prop_map(Value::from),
            string().prop_map(Value::String),
        ];
        leaf.prop_recursive(5, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec((string(), inner), 0..5).prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn any_value_round_trips(value in value()) {
            round_trip(&value)?;
        }

        #[test]
        fn any_string_round_trips_as_key_and_value(s in string()) {
            round_trip(&Value::String(s.clone()))?;
            round_trip(&json!({ s.clone(): s.clone(), "k": [s.clone(), { s.clone(): [s] }] }))?;
        }
    }

    #[test]
    fn edge_cases_round_trip() {
        let long_key = "k".repeat(2000);
        for value in [
            json!({}),
            json!([]),
            json!([[]]),
            json!([{}]),
            json!({"a": {}, "b": [], "c": [[], {}], "d": [[1, [2, []]], [{"x": []}]]}),
            json!([[1, 2], [[3], {"a": [4, {"b": {}}]}]]),
            json!([{"a": 1, "b": [1, 2], "c": {"d": "e\nf\n"}}, {"x": "multi\n\nline\n\n"}]),
            json!({ long_key.clone(): { long_key.clone(): [long_key.clone()] }, "s": [long_key] }),
            json!("top\nlevel"),
            json!(null),
            json!(1.5),
        ] {
            round_trip(&value).unwrap();
        }
    }

    #[test]
    fn layout_matches_serde_yaml() {
        let value = json!({
            "apiVersion": "v1",
            "data": {"index.html": "<h1>blue</h1>\n", "script": "set -eu\necho 'hi' | awk '{print $1}'", "keep": "a\n\n"},
            "list": ["a", "8080", "true", "", "x: y", "- z", " lead", "tab\there", "9f79acaa72", "1e3", "12", "1.5", "0x1F", 3, 1.5, false, null],
            "maps": [{"name": "a", "ports": [{"port": 80}], "env": []}, {"empty": {}}],
            "nested": [[1, 2], ["a"]],
            "quoted 'key'": 1,
            "8080": "k",
        });
        assert_eq!(to_yaml_string(&value).unwrap(), serde_yaml::to_string(&value).unwrap());
    }

    #[test]
    fn enums_are_single_key_maps() {
        #[derive(Serialize)]
        enum E {
            Unit,
            New(u8),
            Tuple(u8, u8),
            Struct { a: u8 },
        }
        let yaml = to_yaml_string(&json!(null)).unwrap();
        assert_eq!(yaml, "null\n");
        assert_eq!(
            to_yaml_string(&vec![E::Unit, E::New(1), E::Tuple(1, 2), E::Struct { a: 3 }]).unwrap(),
            "- Unit\n- New: 1\n- Tuple:\n  - 1\n  - 2\n- Struct:\n    a: 3\n"
        );
        assert_eq!(
            to_yaml_string(&std::collections::BTreeMap::from([("k", E::Tuple(1, 2)), ("s", E::Struct { a: 1 })])).unwrap(),
            "k:\n  Tuple:\n  - 1\n  - 2\ns:\n  Struct:\n    a: 1\n"
        );
    }

    #[test]
    fn non_string_keys_and_bad_keys() {
        let map = std::collections::BTreeMap::from([(1, "a"), (2, "b")]);
        assert_eq!(to_yaml_string(&map).unwrap(), "1: a\n2: b\n");
        let bad = std::collections::BTreeMap::from([(vec![1], 1)]);
        assert!(to_yaml_string(&bad).is_err());
    }
}
