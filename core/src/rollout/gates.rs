//! Analysis gates of a rollout: runs a release's named analyses against the new version and
//! records each result in the revision before anything acts on it.

use crate::analysis::{self, AnalysisResult, Subject, Verdict};
use crate::backend::Backend;
use crate::compile::ServiceRole;
use crate::model::release::Release;

use super::history::History;
use super::{Progress, RolloutError, RolloutOptions};

/// Runs the analyses `names` of `release` in order against the Service `role` (preview or canary),
/// stopping at the first one that does not pass. Each result is saved in revision `revision` of
/// the history (so that a failure's reason survives the driver) and reported as progress.
#[allow(clippy::too_many_arguments)]
pub(super) async fn run_gate(
    backend: &dyn Backend,
    release: &Release,
    namespace: &str,
    names: &[String],
    gate: &str,
    role: ServiceRole,
    history: &mut History,
    revision: u32,
    options: &RolloutOptions,
) -> Result<Vec<AnalysisResult>, RolloutError> {
    let spec = release.spec();
    let subject = Subject {
        tenant: spec.tenant.clone(),
        namespace: namespace.to_string(),
        app: spec.app.clone(),
        version: spec.version.clone(),
        revision,
        service: role.service_name(&spec.app),
        port: spec.ports.first().map(|p| p.port),
    };
    let mut results = Vec::new();
    for name in names {
        // Validation guarantees every referenced analysis exists.
        let Some(a) = release.analysis(name) else { continue };
        let result = analysis::run(backend, a, &subject, gate).await;
        if let Some(rev) = history.revision_mut(revision) {
            rev.analyses.push(result.clone());
        }
        history.save(backend, namespace, &spec.app).await?;
        options.emit(Progress::AnalysisFinished { name: result.name.clone(), gate: gate.to_string(), verdict: result.verdict, reason: result.reason.clone() });
        let stop = result.verdict != Verdict::Passed;
        results.push(result);
        if stop {
            break;
        }
    }
    Ok(results)
}

/// The error of a failed analysis, once the rollback is done.
pub(super) fn failed(release: &Release, result: &AnalysisResult, rolled_back_to: &str) -> RolloutError {
    RolloutError::AnalysisFailed {
        app: release.app().to_string(),
        version: release.version().to_string(),
        analysis: result.name.clone(),
        gate: result.gate.clone(),
        reason: result.reason.clone(),
        rolled_back_to: rolled_back_to.to_string(),
        result: Box::new(result.clone()),
    }
}

/// The reason recorded in a revision whose analysis failed.
pub(super) fn failure_reason(result: &AnalysisResult) -> String {
    format!("analysis {} failed ({}): {}", result.name, result.gate, result.reason)
}
