//! The Job provider: a verification Job against the new version's Service, its exit status,
//! duration and the tail of its log.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{Measurement, Subject, Verdict};
use crate::backend::sim::util::parse_rfc3339;
use crate::backend::wait::{deleted, job_finished, job_succeeded, wait_for, Target};
use crate::backend::{ApplyOptions, Backend, BackendError, Kind, Propagation, Selector};
use crate::checks::parse_duration;
use crate::compile::release::{restricted_container_security, restricted_pod_security};
use crate::labels;
use crate::model::analysis::JobAnalysis;

/// How many log lines a Job's result keeps.
pub const LOG_TAIL_LINES: u32 = 40;
/// The label naming the analysis a verification Job runs.
pub const ANALYSIS_LABEL: &str = "moorage.dev/analysis";

/// Why a verification Job could not give a result.
#[derive(Debug, Clone, thiserror::Error)]
pub enum JobError {
    /// The Job could not be created (quota, admission, API server).
    #[error("the verification Job {job} could not be created: {source}")]
    Create {
        /// The Job's name.
        job: String,
        /// The backend's error.
        source: BackendError,
    },
    /// Waiting for the Job failed for another reason than its timeout.
    #[error("the verification Job {job} could not be followed: {source}")]
    Follow {
        /// The Job's name.
        job: String,
        /// The backend's error.
        source: BackendError,
    },
}

/// One run of a verification Job, as recorded in the revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobRun {
    /// The Job's name (in the tenant's namespace).
    pub job: String,
    /// Whether it completed successfully.
    pub succeeded: bool,
    /// The container's exit code, when it terminated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// From the Job's start to its end, in seconds (backend time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<u64>,
    /// Kubernetes' reason and message for how it ended (`BackoffLimitExceeded`, `DeadlineExceeded`, ...).
    pub message: String,
    /// The last lines of its log, when the backend keeps logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_tail: Option<String>,
    /// Why there is no log tail, when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_note: Option<String>,
}

/// The name of the Job of measurement `index` of analysis `analysis` for revision `revision`.
pub fn job_name(app: &str, analysis: &str, revision: u32, index: u32) -> String {
    let suffix = format!("-r{revision}-{index}");
    let mut prefix = format!("{app}-{analysis}");
    prefix.truncate(63 - suffix.len());
    format!("{}{suffix}", prefix.trim_end_matches('-'))
}

/// The Job object.
pub(crate) fn job_object(name: &str, analysis: &str, spec: &JobAnalysis, subject: &Subject) -> Value {
    let timeout = parse_duration(&spec.timeout).unwrap_or(Duration::from_secs(600)).as_secs().max(1);
    let mut env = vec![
        json!({"name": "PREVIEW_URL", "value": subject.service_url()}),
        json!({"name": "MOORAGE_TENANT", "value": subject.tenant}),
        json!({"name": "MOORAGE_APP", "value": subject.app}),
        json!({"name": "MOORAGE_VERSION", "value": subject.version}),
        json!({"name": "MOORAGE_NAMESPACE", "value": subject.namespace}),
    ];
    for e in &spec.env {
        match (&e.value, &e.secret) {
            (Some(v), _) => env.push(json!({"name": e.name, "value": v})),
            (None, Some(s)) => env.push(json!({"name": e.name, "valueFrom": {"secretKeyRef": {"name": s.name, "key": s.key}}})),
            (None, None) => {}
        }
    }
    // Not the version's labels: the Services select on them, and a Job pod must never receive traffic.
    let mut job_labels = labels::tenant_labels(&subject.tenant);
    job_labels.insert(ANALYSIS_LABEL.to_string(), analysis.to_string());
    job_labels.insert("moorage.dev/analysis-of".to_string(), format!("{}-{}", subject.app, subject.version));
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": subject.namespace, "labels": job_labels},
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": timeout,
            "ttlSecondsAfterFinished": 86_400,
            "template": {
                "metadata": {"labels": job_labels},
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": false,
                    "securityContext": restricted_pod_security(),
                    "containers": [{
                        "name": "verify",
                        "image": spec.image,
                        "command": spec.command,
                        "env": env,
                        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}},
                        "securityContext": restricted_container_security(),
                    }],
                },
            },
        },
    })
}

/// Runs the Job of measurement `index` and waits for it; a Job that fails or overruns its timeout
/// is a failed measurement, one that cannot be created or followed an inconclusive one.
pub(super) async fn measure(backend: &dyn Backend, analysis: &str, spec: &JobAnalysis, subject: &Subject, index: u32, at: u64) -> Measurement {
    let name = job_name(&subject.app, analysis, subject.revision, index);
    match run_job(backend, &name, analysis, spec, subject).await {
        Ok(run) => {
            let verdict = if run.succeeded { Verdict::Passed } else { Verdict::Failed };
            let exit = run.exit_code.map(|c| format!(", exit code {c}")).unwrap_or_default();
            let took = run.duration_seconds.map(|s| format!(" after {s}s")).unwrap_or_default();
            let detail = format!("Job {name} {}{took}{exit}: {}", if run.succeeded { "succeeded" } else { "failed" }, run.message);
            Measurement { at, verdict, detail, job: Some(run) }
        }
        Err(e) => Measurement { at, verdict: Verdict::Inconclusive, detail: e.to_string(), job: None },
    }
}

async fn run_job(backend: &dyn Backend, name: &str, analysis: &str, spec: &JobAnalysis, subject: &Subject) -> Result<JobRun, JobError> {
    let kind = Kind::of::<k8s_openapi::api::batch::v1::Job>();
    let ns = subject.namespace.as_str();
    let follow = |source| JobError::Follow { job: name.to_string(), source };
    // A Job of the same name is a leftover of an earlier attempt (a retry): it goes first.
    if backend.delete(&kind, Some(ns), name, Propagation::Foreground).await.map_err(follow)? {
        wait_for(backend, &Target::object(kind.clone(), Some(ns), name), &deleted(), Duration::from_secs(60)).await.map_err(follow)?;
    }
    let job = job_object(name, analysis, spec, subject);
    backend.apply(&[job], &ApplyOptions::default()).await.map_err(|source| JobError::Create { job: name.to_string(), source })?;
    let timeout = parse_duration(&spec.timeout).unwrap_or(Duration::from_secs(600));
    // The Job's own deadline ends it; the wait allows the controller a moment beyond it.
    let wait = timeout.saturating_add(Duration::from_secs(30));
    let finished = match wait_for(backend, &Target::object(kind.clone(), Some(ns), name), &job_finished(), wait).await {
        Ok(objects) => objects.into_iter().next(),
        Err(BackendError::Timeout { .. }) => None,
        Err(e) => return Err(follow(e)),
    };
    let pods = backend
        .list(&Kind::of::<k8s_openapi::api::core::v1::Pod>(), Some(ns), &Selector::labels(format!("batch.kubernetes.io/job-name={name}")))
        .await
        .map_err(follow)?;
    let pod = pods.iter().max_by_key(|p| p.pointer("/metadata/creationTimestamp").and_then(Value::as_str).unwrap_or_default().to_string());
    let exit_code =
        pod.and_then(|p| p.pointer("/status/containerStatuses/0/state/terminated/exitCode")).and_then(Value::as_i64).and_then(|c| i32::try_from(c).ok());
    let (log_tail, log_note) = match pod.and_then(|p| p.pointer("/metadata/name")).and_then(Value::as_str) {
        Some(pod_name) => match backend.pod_log_tail(ns, pod_name, LOG_TAIL_LINES).await {
            Ok(Some(text)) => (Some(text), None),
            Ok(None) => (None, Some(format!("{} keeps no container logs", backend.describe()))),
            Err(e) => (None, Some(format!("the log of pod {pod_name} could not be read: {e}"))),
        },
        None => (None, Some("the Job has no pod".to_string())),
    };
    let Some(job) = finished else {
        // Still running past its deadline: stop it so it does not linger.
        let _ = backend.delete(&kind, Some(ns), name, Propagation::Background).await;
        return Ok(JobRun {
            job: name.to_string(),
            succeeded: false,
            exit_code,
            duration_seconds: Some(timeout.as_secs()),
            message: format!("did not finish within its timeout ({})", spec.timeout),
            log_tail,
            log_note,
        });
    };
    let succeeded = job_succeeded(&job);
    let end_type = if succeeded { "Complete" } else { "Failed" };
    let end = job
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| c.get("type").and_then(Value::as_str) == Some(end_type)))
        .cloned()
        .unwrap_or_default();
    let text = |v: &Value, p: &str| v.pointer(p).and_then(Value::as_str).unwrap_or_default().to_string();
    let started = parse_rfc3339(&text(&job, "/status/startTime"));
    let ended = parse_rfc3339(&text(&job, "/status/completionTime")).or_else(|| parse_rfc3339(&text(&end, "/lastTransitionTime")));
    let duration_seconds = match (started, ended) {
        (Some(s), Some(e)) => Some(e.saturating_sub(s) / 1000),
        _ => None,
    };
    let message = match (text(&end, "/reason"), text(&end, "/message")) {
        (r, m) if r.is_empty() && m.is_empty() => end_type.to_string(),
        (r, m) if m.is_empty() => r,
        (r, m) => format!("{r}: {m}"),
    };
    Ok(JobRun { job: name.to_string(), succeeded, exit_code, duration_seconds, message, log_tail, log_note })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_names_fit_a_label_and_keep_the_revision() {
        let long = "a".repeat(60);
        let name = job_name(&long, "smoke", 12, 0);
        assert!(name.len() <= 63, "{name}");
        assert!(name.ends_with("-r12-0"));
        assert_eq!(job_name("web", "smoke", 3, 1), "web-smoke-r3-1");
    }
}
