//! Batch compilation: many tenants with their releases, compiled on every core, in input order.
//!
//! What a fleet's GitOps export or a bindings caller with a thousand tenants needs: one call
//! that compiles (and writes as YAML) every tenant with its releases, spread over the machine's
//! cores, without a thread pool of the caller's own. The output keeps the input order, so it is
//! the same on a machine with one core or sixteen.

use std::borrow::Borrow;
use std::path::Path;

use crate::error::{FieldError, ValidationErrors};
use crate::manifest::{self, ManifestError};
use crate::model::release::Release;
use crate::model::tenant::Tenant;

use super::{compile_borrowed, Compiled};

/// Errors of a batch compilation.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// Releases did not fit their tenants: every problem of every tenant, with paths prefixed by
    /// `tenants[i].` (the tenant's position in the batch).
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    /// An object could not be written as YAML.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
}

/// How many threads a batch of `units` uses: the machine's cores, at most one per unit.
pub(super) fn threads_for(units: usize) -> usize {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    cores.min(units).max(1)
}

/// Runs `work` over every unit on all cores, contiguous chunks per thread, results in input order.
fn map_parallel<T: Sync, R: Send>(units: &[T], work: impl Fn(usize, &T) -> R + Sync) -> Vec<R> {
    let threads = threads_for(units.len());
    if threads == 1 {
        return units.iter().enumerate().map(|(i, u)| work(i, u)).collect();
    }
    let chunk = units.len().div_ceil(threads);
    let work = &work;
    std::thread::scope(|s| {
        let workers: Vec<_> = units
            .chunks(chunk)
            .enumerate()
            .map(|(c, part)| s.spawn(move || part.iter().enumerate().map(|(j, u)| work(c * chunk + j, u)).collect::<Vec<R>>()))
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    })
}

/// Prefixes a unit's problems with its position, `tenants[i].`.
fn at_unit(i: usize, e: ValidationErrors) -> Vec<FieldError> {
    e.into_errors().into_iter().map(|f| FieldError { path: format!("tenants[{i}].{}", f.path), ..f }).collect()
}

/// Gathers per-unit results: every unit's problems at once, or every unit's output in order.
pub(super) fn collect_units<R>(results: Vec<Result<R, ValidationErrors>>) -> Result<Vec<R>, ValidationErrors> {
    let mut ok = Vec::with_capacity(results.len());
    let mut problems = Vec::new();
    for (i, r) in results.into_iter().enumerate() {
        match r {
            Ok(v) => ok.push(v),
            Err(e) => problems.extend(at_unit(i, e)),
        }
    }
    match ValidationErrors::from_errors(problems) {
        Some(e) => Err(e),
        None => Ok(ok),
    }
}

/// Compiles every tenant with its releases ([`compile`](super::compile) for each), on all cores.
///
/// The results are in input order. When releases do not fit their tenant, nothing is returned
/// but every problem of every tenant, paths prefixed by `tenants[i].`.
pub fn compile_many<T: Borrow<Tenant> + Sync, R: Borrow<Release> + Sync>(units: &[(T, Vec<R>)]) -> Result<Vec<Compiled>, ValidationErrors> {
    collect_units(map_parallel(units, |_, (tenant, releases)| compile_borrowed(tenant.borrow(), releases)))
}

/// Compiles every tenant with its releases and writes all their objects as one YAML stream
/// (each tenant's objects in apply order, tenants in input order), on all cores.
///
/// The same text as concatenating [`manifest::to_yaml_stream`] of each [`compile`](super::compile), in order.
pub fn compile_many_to_yaml<T: Borrow<Tenant> + Sync, R: Borrow<Release> + Sync>(units: &[(T, Vec<R>)]) -> Result<String, BatchError> {
    Ok(unit_texts(units)?.1.concat())
}

/// What [`compile_many_to_file`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchFile {
    /// The number of objects (YAML documents) in the file.
    pub objects: usize,
    /// The file's size in bytes.
    pub bytes: usize,
}

/// Compiles every tenant with its releases, as [`compile_many_to_yaml`], and writes the YAML
/// stream into the file `path` (its folder must exist) atomically: a temporary file renamed into
/// place. Nothing is written when a release does not fit its tenant.
pub fn compile_many_to_file<T: Borrow<Tenant> + Sync, R: Borrow<Release> + Sync>(units: &[(T, Vec<R>)], path: &Path) -> Result<BatchFile, BatchError> {
    let (objects, texts) = unit_texts(units)?;
    // Each unit's text written as it is, not joined into one string first.
    let pieces: Vec<&[u8]> = texts.iter().map(|t| t.as_bytes()).collect();
    let bytes = manifest::write_pieces(path, &pieces)?;
    Ok(BatchFile { objects, bytes })
}

/// The number of objects and the YAML text of every unit, in input order.
fn unit_texts<T: Borrow<Tenant> + Sync, R: Borrow<Release> + Sync>(units: &[(T, Vec<R>)]) -> Result<(usize, Vec<String>), BatchError> {
    let parts = map_parallel(units, |_, (tenant, releases)| -> Result<Result<(usize, String), ManifestError>, ValidationErrors> {
        let compiled = compile_borrowed(tenant.borrow(), releases)?;
        Ok(manifest::to_yaml_stream(&compiled.objects).map(|text| (compiled.objects.len(), text)))
    });
    let mut objects = 0;
    let texts = collect_units(parts)?
        .into_iter()
        .map(|text| {
            let (count, text) = text?;
            objects += count;
            Ok(text)
        })
        .collect::<Result<Vec<_>, BatchError>>()?;
    Ok((objects, texts))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::{compile, Quota, Strategy};

    /// Tenant `customer-<i>` (domain `shop.test`) with one blue/green release serving `host`.
    pub(in crate::compile) fn unit(i: usize, host: &str) -> (Tenant, Vec<Release>) {
        let name = format!("customer-{i:03}");
        let tenant = Tenant::builder(&name).quota(Quota::new().limits("2", "4Gi").requests("1", "2Gi")).domain("shop.test").build().expect("valid tenant");
        let release = Release::builder(&name, "web", "v1")
            .image("nginx:1.27")
            .replicas(2)
            .resources(("100m", "64Mi"), ("200m", "128Mi"))
            .port("http", 8080)
            .host(host)
            .strategy(Strategy::blue_green())
            .build()
            .expect("valid release");
        (tenant, vec![release])
    }

    #[test]
    fn the_file_holds_the_stream_and_nothing_is_written_for_an_invalid_batch() {
        let dir = std::env::temp_dir().join(format!("moorage-batch-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("folder");
        let units: Vec<_> = (0..9).map(|i| unit(i, "shop.test")).collect();
        let path = dir.join("manifests.yaml");
        let written = compile_many_to_file(&units, &path).expect("batch written");
        let text = std::fs::read_to_string(&path).expect("file");
        assert_eq!(text, compile_many_to_yaml(&units).expect("batch compiles"));
        assert_eq!(written.bytes, text.len());
        let objects: usize = compile_many(&units).expect("batch compiles").iter().map(|c| c.objects.len()).sum();
        assert_eq!(written.objects, objects);
        assert!(!dir.join("manifests.yaml.tmp").exists());

        let bad: Vec<_> = vec![unit(0, "shop.test"), unit(1, "elsewhere.test")];
        let other = dir.join("bad.yaml");
        assert!(matches!(compile_many_to_file(&bad, &other), Err(BatchError::Invalid(_))));
        assert!(!other.exists());
        std::fs::remove_dir_all(&dir).expect("cleaned");
    }

    #[test]
    fn shared_units_compile_as_owned_ones() {
        use std::sync::Arc;
        let units: Vec<_> = (0..5).map(|i| unit(i, "shop.test")).collect();
        let shared: Vec<(Arc<Tenant>, Vec<Arc<Release>>)> =
            units.iter().map(|(t, rs)| (Arc::new(t.clone()), rs.iter().cloned().map(Arc::new).collect())).collect();
        assert_eq!(compile_many_to_yaml(&shared).expect("batch compiles"), compile_many_to_yaml(&units).expect("batch compiles"));
    }

    #[test]
    fn same_text_as_compiling_one_by_one_in_input_order() {
        let units: Vec<_> = (0..37).map(|i| unit(i, "shop.test")).collect();
        let expected: String = units.iter().map(|(t, r)| manifest::to_yaml_stream(&compile(t, r).expect("compiles").objects).expect("yaml")).collect();
        assert_eq!(compile_many_to_yaml(&units).expect("batch compiles"), expected);
        let compiled = compile_many(&units).expect("batch compiles");
        assert_eq!(compiled.len(), 37);
        assert_eq!(compiled[36].objects[0].name(), "customer-036");
    }

    #[test]
    fn every_problem_of_every_tenant_named_by_position() {
        // A host that is not one of the tenant's domains is refused by `compile`.
        let units = vec![unit(0, "shop.test"), unit(1, "other.test"), unit(2, "shop.test"), unit(3, "other.test")];
        let err = compile_many(&units).expect_err("two tenants do not fit");
        let paths: Vec<&str> = err.errors().iter().map(|f| f.path.as_str()).collect();
        assert!(paths.iter().any(|p| p.starts_with("tenants[1].releases[0]")), "{paths:?}");
        assert!(paths.iter().any(|p| p.starts_with("tenants[3].releases[0]")), "{paths:?}");
        assert!(!paths.iter().any(|p| p.starts_with("tenants[0]") || p.starts_with("tenants[2]")), "{paths:?}");
        assert!(matches!(compile_many_to_yaml(&units), Err(BatchError::Invalid(_))));
    }

    #[test]
    fn empty_batch_is_empty() {
        assert_eq!(compile_many_to_yaml::<Tenant, Release>(&[]).expect("nothing to compile"), "");
        assert!(compile_many::<Tenant, Release>(&[]).expect("nothing").is_empty());
    }
}
