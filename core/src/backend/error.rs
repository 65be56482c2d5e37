//! Backend errors: one variant per situation a caller can act on, each with the object it is about.

use super::kind::ObjectRef;

/// One cause of an `Invalid` error, as the API server reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Cause {
    /// The field, e.g. `spec.replicas`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// Why a backend operation failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BackendError {
    /// A ResourceQuota refused the object.
    #[error("{object}: exceeded quota {quota:?} on {resource}: requested {requested}, used {used}, limited to {limit}")]
    QuotaExceeded {
        /// The object refused.
        object: ObjectRef,
        /// The ResourceQuota's name.
        quota: String,
        /// The resource, e.g. `limits.memory`.
        resource: String,
        /// What the object asked for.
        requested: String,
        /// What was already used.
        used: String,
        /// The hard limit.
        limit: String,
    },
    /// The credentials in use may not do this.
    #[error("{object}: forbidden: {message}")]
    Forbidden {
        /// The object.
        object: ObjectRef,
        /// The API server's explanation.
        message: String,
    },
    /// Another field manager owns a field moorage applies; apply with force to take it over.
    #[error("{object}: field {field} is managed by {manager:?}; it was changed outside moorage (apply with force to take it back)")]
    Conflict {
        /// The object.
        object: ObjectRef,
        /// The field, e.g. `.spec.selector`.
        field: String,
        /// The other field manager, e.g. `kubectl-edit`.
        manager: String,
    },
    /// The object changed after the read a write was conditional on (its `metadata.resourceVersion`
    /// moved, or it was created meanwhile): nothing was written. Read it again and write to its
    /// latest version.
    #[error("{object}: modified since it was read, so the write conditional on that read was refused; read it again and retry ({message})")]
    Modified {
        /// The object.
        object: ObjectRef,
        /// The server's explanation.
        message: String,
    },
    /// The API server rejected the object as invalid.
    #[error("{object}: invalid: {}", causes.iter().map(|c| format!("{}: {}", c.field, c.message)).collect::<Vec<_>>().join("; "))]
    Invalid {
        /// The object.
        object: ObjectRef,
        /// Each problem.
        causes: Vec<Cause>,
    },
    /// The object (or its namespace) does not exist.
    #[error("{object}: not found")]
    NotFound {
        /// The object.
        object: ObjectRef,
    },
    /// The API server does not serve this kind (a CRD is missing).
    #[error("{api_version} {kind} is not served by this cluster; install the CRD that provides it ({hint})")]
    MissingKind {
        /// The kind's apiVersion.
        api_version: String,
        /// The kind.
        kind: String,
        /// Which component usually provides it.
        hint: String,
    },
    /// A wait ended before its condition held.
    #[error("timed out after {seconds}s waiting for {waiting_for}")]
    Timeout {
        /// What was awaited, e.g. `Deployment acme/web-green available (3/3 ready)`.
        waiting_for: String,
        /// The object awaited, when there is one.
        object: Option<ObjectRef>,
        /// The timeout, in seconds.
        seconds: u64,
    },
    /// The API server could not be reached or kept failing after retries. Safe to retry later.
    #[error("{}cluster unavailable after {attempts} attempt(s): {message}", object.as_ref().map(|o| format!("{o}: ")).unwrap_or_default())]
    Unavailable {
        /// The object, when the failure concerned one.
        object: Option<ObjectRef>,
        /// How many attempts were made.
        attempts: u32,
        /// The last failure.
        message: String,
    },
}

impl BackendError {
    /// The object the error is about, when there is one.
    pub fn object(&self) -> Option<&ObjectRef> {
        match self {
            BackendError::QuotaExceeded { object, .. }
            | BackendError::Forbidden { object, .. }
            | BackendError::Conflict { object, .. }
            | BackendError::Modified { object, .. }
            | BackendError::Invalid { object, .. }
            | BackendError::NotFound { object } => Some(object),
            BackendError::Timeout { object, .. } | BackendError::Unavailable { object, .. } => object.as_ref(),
            BackendError::MissingKind { .. } => None,
        }
    }

    /// Whether trying the same operation again later may succeed without changing anything.
    pub fn is_retryable(&self) -> bool {
        matches!(self, BackendError::Unavailable { .. } | BackendError::Timeout { .. })
    }
}

/// The parts of the API server's "exceeded quota" message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaMessage {
    /// The ResourceQuota's name.
    pub quota: String,
    /// The first resource over its limit.
    pub resource: String,
    /// Requested amount of that resource.
    pub requested: String,
    /// Used amount.
    pub used: String,
    /// Hard limit.
    pub limit: String,
}

/// Parses the API server's quota refusal, e.g.
/// `pods "web-1" is forbidden: exceeded quota: quota, requested: limits.memory=128Mi, used: limits.memory=512Mi, limited: limits.memory=512Mi`.
/// With several resources, the first one that is really over its limit is returned.
pub fn parse_quota_message(message: &str) -> Option<QuotaMessage> {
    let rest = &message[message.find("exceeded quota: ")? + "exceeded quota: ".len()..];
    let (quota, rest) = rest.split_once(", requested: ")?;
    let (requested, rest) = rest.split_once(", used: ")?;
    let (used, limited) = rest.split_once(", limited: ")?;
    let pairs = |s: &str| -> Vec<(String, String)> {
        s.split(',').filter_map(|kv| kv.trim().split_once('=')).map(|(k, v)| (k.to_string(), v.trim().to_string())).collect()
    };
    let requested = pairs(requested);
    let used = pairs(used);
    let limited = pairs(limited);
    let find = |list: &[(String, String)], key: &str| list.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap_or_default();
    let over = requested.iter().find(|(k, r)| {
        let total = crate::quantity::Quantity::parse(r).ok().zip(crate::quantity::Quantity::parse(&find(&used, k)).ok()).and_then(|(a, b)| a.checked_add(&b));
        let limit = crate::quantity::Quantity::parse(&find(&limited, k)).ok();
        matches!((total, limit), (Some(t), Some(l)) if t > l)
    });
    let (resource, req) = over.or(requested.first())?.clone();
    Some(QuotaMessage { quota: quota.to_string(), requested: req, used: find(&used, &resource), limit: find(&limited, &resource), resource })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_api_server_quota_message() {
        let m = parse_quota_message(
            "pods \"web-abc\" is forbidden: exceeded quota: quota, requested: limits.cpu=200m,limits.memory=128Mi, used: limits.cpu=600m,limits.memory=512Mi, limited: limits.cpu=2,limits.memory=512Mi",
        )
        .expect("parsed");
        assert_eq!(m.quota, "quota");
        assert_eq!(m.resource, "limits.memory");
        assert_eq!((m.requested.as_str(), m.used.as_str(), m.limit.as_str()), ("128Mi", "512Mi", "512Mi"));
        assert_eq!(parse_quota_message("pods is forbidden: something else"), None);
    }
}
