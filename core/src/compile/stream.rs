//! Streaming batch compilation: units pushed one at a time are compiled on worker threads while the caller builds the next.
//!
//! [`compile_many_to_yaml`](super::compile_many_to_yaml) needs every unit built before it starts.
//! A caller that builds its units slowly, one by one (a Python or Node script turning its
//! customers into tenants), can instead [`push`](YamlBatch::push) each unit as soon as it is
//! built: the machine's other cores compile it meanwhile. [`finish`](YamlBatch::finish) returns
//! the same text as `compile_many_to_yaml` of the same units (input order), or every problem of
//! every unit with paths prefixed by `tenants[i].`.

use std::ops::Range;
use std::path::Path;
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;

use crate::error::ValidationErrors;
use crate::manifest::{self, ManifestError};
use crate::model::release::Release;
use crate::model::tenant::Tenant;
use crate::spec::{self, SpecError};

use super::batch::{collect_units, threads_for, BatchError, BatchFile};
use super::{at_release, compile_borrowed};

/// One unit's outcome: its objects' count and where its YAML lies in its worker's buffer, or its
/// problems.
type Compiled = Result<(usize, Result<Range<usize>, ManifestError>), ValidationErrors>;

/// A unit's outcome with its text placed: the worker's number and the range in its buffer.
type Placed = Result<(usize, Result<(usize, Range<usize>), ManifestError>), ValidationErrors>;

/// What a worker did: one buffer holding the YAML of every unit it compiled (each unit's text
/// appended, then dropped, so memory stays warm), and each unit's outcome by its position.
#[derive(Default)]
struct WorkerOutput {
    buffer: String,
    units: Vec<(usize, Compiled)>,
}
/// A unit and its position in the batch.
type Numbered = (usize, (BatchInput<Tenant>, Vec<BatchInput<Release>>));

/// A tenant or a release of a batch's unit: built already, or its spec as JSON text that a worker
/// reads and validates ([`spec::tenant_from_json`], [`spec::release_from_json`]) before compiling.
///
/// The JSON form lets a binding hand over a plain spec object (a Node or Python caller's dict)
/// without validating it on the caller's thread: the reading and the checks run on the batch's
/// workers too, and their problems come back with the unit's others, paths prefixed by
/// `tenants[i].` (and `releases[j].` for a release).
#[derive(Debug, Clone)]
pub enum BatchInput<T> {
    /// A value built already, shared (a binding holding it in an `Arc` pushes it without copying).
    Built(Arc<T>),
    /// A spec as JSON text (`null` members are absent fields).
    Json(String),
}

impl<T> BatchInput<T> {
    /// The value, read from its JSON text by `read` if it is not built yet.
    fn into_value(self, read: fn(&str) -> Result<T, SpecError>) -> Result<Arc<T>, SpecError> {
        match self {
            BatchInput::Built(value) => Ok(value),
            BatchInput::Json(text) => read(&text).map(Arc::new),
        }
    }
}

/// A unit's tenant and releases, read from their JSON texts where they are not built yet: every
/// problem of every part at once, release paths prefixed by `releases[j].`.
fn read_unit(tenant: BatchInput<Tenant>, releases: Vec<BatchInput<Release>>) -> Result<(Arc<Tenant>, Vec<Arc<Release>>), ValidationErrors> {
    let tenant = tenant.into_value(spec::tenant_from_json);
    let mut problems = Vec::new();
    let releases: Vec<Arc<Release>> = releases
        .into_iter()
        .enumerate()
        .filter_map(|(j, r)| {
            r.into_value(spec::release_from_json)
                .map_err(|e| problems.extend(e.into_validation_errors().into_errors().into_iter().map(|f| at_release(j, f))))
                .ok()
        })
        .collect();
    match tenant {
        Err(e) => Err(e.into_validation_errors().extended(problems)),
        Ok(tenant) => match ValidationErrors::from_errors(problems) {
            None => Ok((tenant, releases)),
            Some(e) => Err(e),
        },
    }
}

/// The YAML stream of a batch and how many objects it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlStream {
    /// Every unit's objects as one YAML stream, units in the order they were pushed.
    pub yaml: String,
    /// How many objects (documents) the stream holds.
    pub objects: usize,
}

impl YamlStream {
    /// Writes the stream into the file `path` (its folder must exist), atomically (a temporary
    /// file renamed into place). Returns the number of bytes written.
    pub fn write_file(&self, path: &Path) -> Result<usize, ManifestError> {
        manifest::write_text(path, &self.yaml)
    }
}

/// A batch compiled as it is filled: one worker thread per core takes the pushed units.
pub struct YamlBatch {
    sender: Option<mpsc::Sender<Numbered>>,
    workers: Vec<JoinHandle<WorkerOutput>>,
    pushed: usize,
}

impl Default for YamlBatch {
    fn default() -> Self {
        Self::new()
    }
}

impl YamlBatch {
    /// An empty batch, its workers (one per core) waiting for units.
    pub fn new() -> Self {
        let (sender, receiver) = mpsc::channel::<Numbered>();
        let receiver = Arc::new(Mutex::new(receiver));
        let workers = (0..threads_for(usize::MAX))
            .map(|_| {
                let receiver = receiver.clone();
                std::thread::spawn(move || {
                    let mut out = WorkerOutput::default();
                    // The lock is held while waiting, so one idle worker waits on the channel and
                    // the others on the lock; it ends when the batch is finished (or dropped).
                    while let Some((i, (tenant, releases))) = receiver.lock().ok().and_then(|r| r.recv().ok()) {
                        let compiled = read_unit(tenant, releases).and_then(|(tenant, releases)| compile_borrowed(&tenant, &releases)).map(|c| {
                            let text = manifest::to_yaml_stream(&c.objects).map(|text| {
                                let start = out.buffer.len();
                                out.buffer.push_str(&text);
                                start..out.buffer.len()
                            });
                            (c.objects.len(), text)
                        });
                        out.units.push((i, compiled));
                    }
                    out
                })
            })
            .collect();
        YamlBatch { sender: Some(sender), workers, pushed: 0 }
    }

    /// Adds a tenant with its releases; a worker compiles it while the caller goes on.
    pub fn push(&mut self, tenant: Tenant, releases: Vec<Release>) {
        self.push_shared(Arc::new(tenant), releases.into_iter().map(Arc::new).collect());
    }

    /// [`push`](Self::push) of a tenant and releases shared in an `Arc` (a binding's values),
    /// without copying them.
    pub fn push_shared(&mut self, tenant: Arc<Tenant>, releases: Vec<Arc<Release>>) {
        self.push_input(BatchInput::Built(tenant), releases.into_iter().map(BatchInput::Built).collect());
    }

    /// Adds a tenant with its releases, each built or as its spec's JSON text, which a worker reads
    /// and validates ([`BatchInput`]); their problems come back from [`finish`](Self::finish) with
    /// the batch's others.
    pub fn push_input(&mut self, tenant: BatchInput<Tenant>, releases: Vec<BatchInput<Release>>) {
        if let Some(sender) = &self.sender {
            // The workers live until the sender is dropped, so the channel is open here.
            let _ = sender.send((self.pushed, (tenant, releases)));
            self.pushed += 1;
        }
    }

    /// How many units were pushed.
    pub fn len(&self) -> usize {
        self.pushed
    }

    /// Whether no unit was pushed.
    pub fn is_empty(&self) -> bool {
        self.pushed == 0
    }

    /// Waits for the workers and returns every unit's objects as one YAML stream, in the order
    /// the units were pushed: the text [`compile_many_to_yaml`](super::compile_many_to_yaml) gives.
    pub fn finish(self) -> Result<YamlStream, BatchError> {
        Ok(self.finish_pieces()?.join())
    }

    /// [`finish`](Self::finish), with the stream written into the file `path` (its folder must
    /// exist) atomically (a temporary file renamed into place), straight from the workers'
    /// buffers: the units' texts are never copied into one string first. Nothing is written when
    /// a unit does not compile.
    pub fn finish_to_file(self, path: &Path) -> Result<BatchFile, BatchError> {
        let pieces = self.finish_pieces()?;
        let bytes = manifest::write_pieces(path, &pieces.slices())?;
        Ok(BatchFile { objects: pieces.objects, bytes })
    }

    /// Joins the workers: every unit's text where its worker wrote it, in push order, or every
    /// problem of every unit.
    fn finish_pieces(mut self) -> Result<Pieces, BatchError> {
        drop(self.sender.take());
        let mut buffers = Vec::with_capacity(self.workers.len());
        let mut parts: Vec<(usize, Placed)> = Vec::with_capacity(self.pushed);
        for (w, worker) in self.workers.drain(..).enumerate() {
            let out = worker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            buffers.push(out.buffer);
            parts.extend(out.units.into_iter().map(|(i, c)| (i, c.map(|(n, text)| (n, text.map(|range| (w, range)))))));
        }
        parts.sort_unstable_by_key(|(i, _)| *i);
        let units = collect_units(parts.into_iter().map(|(_, c)| c).collect())?;
        let objects = units.iter().map(|(n, _)| n).sum();
        let order = units.into_iter().map(|(_, text)| text).collect::<Result<_, _>>()?;
        Ok(Pieces { buffers, order, objects })
    }
}

/// A finished batch's text as its workers left it: their buffers, and each unit's place in them
/// in push order.
struct Pieces {
    buffers: Vec<String>,
    order: Vec<(usize, Range<usize>)>,
    objects: usize,
}

impl Pieces {
    /// The units' texts in push order, neighbours in one buffer merged into one slice.
    fn slices(&self) -> Vec<&[u8]> {
        let mut merged: Vec<(usize, Range<usize>)> = Vec::with_capacity(self.order.len());
        for (w, range) in &self.order {
            match merged.last_mut() {
                Some((last_w, last)) if last_w == w && last.end == range.start => last.end = range.end,
                _ => merged.push((*w, range.clone())),
            }
        }
        merged.into_iter().map(|(w, range)| &self.buffers[w].as_bytes()[range]).collect()
    }

    /// The stream as one string.
    fn join(self) -> YamlStream {
        let mut yaml = String::with_capacity(self.order.iter().map(|(_, r)| r.len()).sum());
        for (w, range) in &self.order {
            yaml.push_str(&self.buffers[*w][range.clone()]);
        }
        YamlStream { yaml, objects: self.objects }
    }
}

impl Drop for YamlBatch {
    fn drop(&mut self) {
        // Dropped unfinished (the caller failed while building): the workers end after the units
        // already pushed; nothing waits for them.
        drop(self.sender.take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::batch::tests::unit;
    use crate::compile::{compile, compile_many_to_yaml};

    fn batch_of(units: &[(Tenant, Vec<Release>)]) -> YamlBatch {
        let mut batch = YamlBatch::new();
        for (t, r) in units {
            batch.push(t.clone(), r.clone());
        }
        batch
    }

    #[test]
    fn the_same_text_as_compile_many_to_yaml_in_push_order() {
        let units: Vec<_> = (0..53).map(|i| unit(i, "shop.test")).collect();
        let batch = batch_of(&units);
        assert_eq!(batch.len(), 53);
        let stream = batch.finish().expect("compiles");
        assert_eq!(stream.yaml, compile_many_to_yaml(&units).expect("compiles"));
        let objects: usize = units.iter().map(|(t, r)| compile(t, r).expect("compiles").objects.len()).sum();
        assert_eq!(stream.objects, objects);
        assert_eq!(stream.yaml.matches("\nkind: ").count() + usize::from(stream.yaml.starts_with("kind: ")), objects);
    }

    #[test]
    fn shared_units_give_the_text_of_owned_ones() {
        let units: Vec<_> = (0..7).map(|i| unit(i, "shop.test")).collect();
        let mut shared = YamlBatch::new();
        for (t, r) in &units {
            shared.push_shared(Arc::new(t.clone()), r.iter().cloned().map(Arc::new).collect());
        }
        assert_eq!(shared.finish().expect("compiles"), batch_of(&units).finish().expect("compiles"));
    }

    #[test]
    fn every_problem_of_every_unit_named_by_position() {
        let units = vec![unit(0, "shop.test"), unit(1, "other.test"), unit(2, "shop.test"), unit(3, "other.test")];
        let Err(BatchError::Invalid(err)) = batch_of(&units).finish() else { panic!("two units do not fit") };
        let paths: Vec<&str> = err.errors().iter().map(|f| f.path.as_str()).collect();
        assert!(paths.iter().any(|p| p.starts_with("tenants[1].releases[0]")), "{paths:?}");
        assert!(paths.iter().any(|p| p.starts_with("tenants[3].releases[0]")), "{paths:?}");
        assert!(!paths.iter().any(|p| p.starts_with("tenants[0]") || p.starts_with("tenants[2]")), "{paths:?}");
    }

    #[test]
    fn json_specs_give_the_text_of_built_units() {
        let units: Vec<_> = (0..9).map(|i| unit(i, "shop.test")).collect();
        let mut batch = YamlBatch::new();
        for (i, (t, r)) in units.iter().enumerate() {
            // Every other unit as JSON texts, the others built: one batch takes both.
            if i % 2 == 0 {
                let releases = r.iter().map(|r| BatchInput::Json(serde_json::to_string(r.spec()).expect("json"))).collect();
                batch.push_input(BatchInput::Json(serde_json::to_string(t.spec()).expect("json")), releases);
            } else {
                batch.push(t.clone(), r.clone());
            }
        }
        assert_eq!(batch.finish().expect("compiles"), batch_of(&units).finish().expect("compiles"));
    }

    #[test]
    fn json_specs_problems_come_back_with_the_units_others() {
        let (tenant, releases) = unit(0, "shop.test");
        let good_tenant = serde_json::to_string(tenant.spec()).expect("json");
        let good_release = serde_json::to_string(releases[0].spec()).expect("json");
        let mut batch = YamlBatch::new();
        batch.push(tenant.clone(), releases.clone());
        // A malformed release and an invalid tenant name in unit 1; a bad release of unit 2.
        let bad_release = good_release.replacen("\"replicas\":", "\"replicas\":\"three\",\"x\":", 1);
        batch.push_input(BatchInput::Json(good_tenant.replacen(tenant.name(), "Not A Name", 1)), vec![BatchInput::Json(bad_release)]);
        batch.push_input(BatchInput::Built(Arc::new(tenant)), vec![BatchInput::Built(Arc::new(releases[0].clone())), BatchInput::Json("{".into())]);
        let Err(BatchError::Invalid(err)) = batch.finish() else { panic!("units 1 and 2 are invalid") };
        let paths: Vec<&str> = err.errors().iter().map(|f| f.path.as_str()).collect();
        assert!(paths.iter().any(|p| p.starts_with("tenants[1].tenant.name")), "{paths:?}");
        assert!(paths.contains(&"tenants[1].releases[0].replicas"), "{paths:?}");
        assert!(paths.contains(&"tenants[2].releases[1]"), "{paths:?}");
        assert!(!paths.iter().any(|p| p.starts_with("tenants[0]")), "{paths:?}");
    }

    #[test]
    fn an_empty_or_dropped_batch_ends_its_workers() {
        let empty = YamlBatch::new();
        assert!(empty.is_empty());
        assert_eq!(empty.finish().expect("nothing"), YamlStream { yaml: String::new(), objects: 0 });
        // Dropped half-filled: nothing hangs.
        drop(batch_of(&[unit(0, "shop.test"), unit(1, "shop.test")]));
    }

    #[test]
    fn written_atomically_to_a_file() {
        let dir = std::env::temp_dir().join(format!("moorage-yaml-batch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let stream = batch_of(&[unit(0, "shop.test")]).finish().expect("compiles");
        let path = dir.join("manifests.yaml");
        assert_eq!(stream.write_file(&path).expect("written"), stream.yaml.len());
        assert_eq!(std::fs::read_to_string(&path).expect("read"), stream.yaml);
        assert!(!dir.join("manifests.yaml.tmp").exists());
        assert!(stream.write_file(&dir.join("missing").join("m.yaml")).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn neighbours_in_one_buffer_are_written_as_one_slice_in_push_order() {
        let pieces = |order: Vec<(usize, Range<usize>)>| Pieces { buffers: vec!["abc".into(), "xyz".into()], order, objects: 0 };
        let together = pieces(vec![(0, 0..1), (0, 1..3), (1, 0..3)]);
        assert_eq!(together.slices(), [&b"abc"[..], b"xyz"]);
        assert_eq!(together.join().yaml, "abcxyz");
        // Interleaved units, or a gap in a buffer, stay apart.
        let apart = pieces(vec![(0, 0..1), (1, 0..1), (0, 1..2), (0, 3..3), (1, 2..3)]);
        assert_eq!(apart.slices(), [&b"a"[..], b"x", b"b", b"", b"z"]);
        assert_eq!(apart.join().yaml, "axbz");
    }

    #[test]
    fn finished_to_a_file_straight_from_the_workers_buffers() {
        let dir = std::env::temp_dir().join(format!("moorage-yaml-batch-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let units: Vec<_> = (0..41).map(|i| unit(i, "shop.test")).collect();
        let path = dir.join("manifests.yaml");
        let file = batch_of(&units).finish_to_file(&path).expect("written");
        let expected = compile_many_to_yaml(&units).expect("compiles");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), expected);
        assert_eq!(file, BatchFile { objects: batch_of(&units).finish().expect("compiles").objects, bytes: expected.len() });
        assert!(!dir.join("manifests.yaml.tmp").exists());
        // A unit that does not compile: the file written before stays as it was.
        let bad = vec![unit(0, "shop.test"), unit(1, "other.test")];
        assert!(matches!(batch_of(&bad).finish_to_file(&path), Err(BatchError::Invalid(_))));
        assert_eq!(std::fs::read_to_string(&path).expect("read"), expected);
        // A folder that does not exist: the I/O error, naming the file.
        let Err(BatchError::Manifest(e)) = batch_of(&units).finish_to_file(&dir.join("missing").join("m.yaml")) else { panic!("no folder") };
        assert!(e.to_string().contains("m.yaml"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
