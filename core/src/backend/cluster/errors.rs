//! Error mapping: the API server's answers (a `Status`, or a kube-rs error) to [`BackendError`].

use kube::core::Status;

use super::retry::Outcome;
use crate::backend::{parse_quota_message, BackendError, Cause, Kind, ObjectRef};

/// One failed attempt of a request, before the retry policy decides what it becomes.
#[derive(Debug, Clone)]
pub(crate) enum Failure {
    /// The server answered with an error status.
    Api {
        /// The answer (synthesised when the body was not a Status).
        status: Box<Status>,
        /// The server's `Retry-After`, from the header or `details.retryAfterSeconds`.
        retry_after: Option<std::time::Duration>,
    },
    /// The connection failed (refused, reset, dropped mid-response).
    Connection(String),
    /// The request timed out.
    Timeout(String),
    /// The request could not even be built or its answer read (a bug, not a cluster state).
    Local(String),
}

impl Failure {
    /// What the retry policy looks at. Local failures count as a 400: never retried.
    pub(crate) fn outcome(&self) -> Outcome {
        match self {
            // The API server answers 500 when a server-side apply names fields its schema does
            // not have or gives a field a value of the wrong type ("failed to create typed patch
            // object ... field not declared in schema", "... expected string"), or when the
            // applied object cannot be decoded ("unable to convert unstructured object ...:
            // illegal base64 data"): the same request will fail the same way, so it is an invalid
            // object, not an outage.
            Failure::Api { status, .. } if status.code == 500 && is_malformed_apply(status) => Outcome::Status(422),
            Failure::Api { status, .. } => Outcome::Status(status.code),
            Failure::Connection(_) => Outcome::Connection,
            Failure::Timeout(_) => Outcome::Timeout,
            Failure::Local(_) => Outcome::Status(400),
        }
    }

    /// The server's `Retry-After`, when it gave one.
    pub(crate) fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Failure::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// A one-line description for logs and `Unavailable` messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Failure::Api { status, .. } => format!("HTTP {} {}: {}", status.code, status.reason, status.message),
            Failure::Connection(m) => format!("connection failed: {m}"),
            Failure::Timeout(m) => format!("timed out: {m}"),
            Failure::Local(m) => m.clone(),
        }
    }

    /// Classifies a kube-rs error (from discovery or a watch).
    pub(crate) fn from_kube(error: &kube::Error) -> Failure {
        match error {
            kube::Error::Api(status) => {
                let retry_after = status.details.as_ref().map(|d| d.retry_after_seconds).filter(|s| *s > 0).map(|s| std::time::Duration::from_secs(s.into()));
                Failure::Api { status: status.clone(), retry_after }
            }
            kube::Error::HyperError(e) if is_timeout(e) => Failure::Timeout(e.to_string()),
            kube::Error::HyperError(e) => Failure::Connection(e.to_string()),
            kube::Error::Service(e) if is_timeout(e.as_ref()) => Failure::Timeout(e.to_string()),
            kube::Error::Service(e) => Failure::Connection(e.to_string()),
            kube::Error::ReadEvents(e) => Failure::Connection(e.to_string()),
            other => Failure::Local(other.to_string()),
        }
    }

    /// The error a caller sees, for a failure that is final (not retried or out of attempts).
    pub(crate) fn into_error(self, object: Option<ObjectRef>, kind: Option<&Kind>, attempts: u32) -> BackendError {
        match self {
            ref failure @ Failure::Api { ref status, .. } if !super::retry::RetryPolicy::is_transient(failure.outcome()) => from_status(
                status,
                object.unwrap_or_else(|| ObjectRef { kind: kind.map(|k| k.kind.clone()).unwrap_or_default(), namespace: None, name: String::new() }),
                kind,
            ),
            other => BackendError::Unavailable { object, attempts, message: other.describe() },
        }
    }
}

/// Whether a 500 is the API server failing to type or decode a server-side apply patch (unknown
/// fields, values of the wrong type, undecodable values such as bad base64 in a Secret).
fn is_malformed_apply(status: &Status) -> bool {
    ["failed to create typed patch object", "field not declared in schema", "unable to convert unstructured object"]
        .iter()
        .any(|sign| status.message.contains(sign))
}

/// Whether an error (or one of its sources) is a timeout.
fn is_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::TimedOut {
                return true;
            }
        }
        if e.to_string().to_ascii_lowercase().contains("timed out") {
            return true;
        }
        current = e.source();
    }
    false
}

/// Which component usually provides the kinds of an API group (for `MissingKind` hints).
pub(crate) fn provider_hint(api_version: &str) -> String {
    let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
    let provider = match group {
        "monitoring.coreos.com" => "the Prometheus Operator (e.g. kube-prometheus-stack)",
        "cert-manager.io" | "acme.cert-manager.io" => "cert-manager",
        "gateway.networking.k8s.io" => "the Gateway API CRDs (gateway-api standard-install.yaml)",
        "snapshot.storage.k8s.io" => "the CSI external-snapshotter CRDs",
        "velero.io" => "Velero",
        "traefik.io" | "traefik.containo.us" => "Traefik",
        "networking.istio.io" | "security.istio.io" => "Istio",
        "cilium.io" => "Cilium",
        "objectbucket.io" => "Rook/Ceph or another object bucket provisioner",
        "openebs.io" => "OpenEBS",
        "postgresql.cnpg.io" => "CloudNativePG",
        "" => return "a core kind this API server does not serve; check its version".to_string(),
        other => return format!("the CRDs of API group {other}"),
    };
    format!("usually provided by {provider}")
}

/// The error a final (non-transient) API answer means for `object`.
pub(crate) fn from_status(status: &Status, object: ObjectRef, kind: Option<&Kind>) -> BackendError {
    let causes = || -> Vec<Cause> {
        let from_details: Vec<Cause> =
            status.details.iter().flat_map(|d| d.causes.iter()).map(|c| Cause { field: c.field.clone(), message: c.message.clone() }).collect();
        if from_details.is_empty() {
            vec![Cause { field: String::new(), message: status.message.clone() }]
        } else {
            from_details
        }
    };
    match status.code {
        403 => match parse_quota_message(&status.message) {
            Some(q) => BackendError::QuotaExceeded { object, quota: q.quota, resource: q.resource, requested: q.requested, used: q.used, limit: q.limit },
            None => BackendError::Forbidden { object, message: status.message.clone() },
        },
        401 => BackendError::Forbidden { object, message: format!("unauthorized (the credentials were refused): {}", status.message) },
        409 => conflict(status, object),
        404 if is_missing_resource(status) => {
            let (api_version, kind_name) = match kind {
                Some(k) => (k.api_version.clone(), k.kind.clone()),
                None => (String::new(), object.kind.clone()),
            };
            BackendError::MissingKind { hint: provider_hint(&api_version), api_version, kind: kind_name }
        }
        404 => BackendError::NotFound { object },
        // 422 Invalid, 400 BadRequest (strict field validation, malformed objects), and any other
        // semantic 4xx (405, 406, 413, 415...): the object as sent cannot be accepted.
        _ => {
            let mut causes = causes();
            if status.code != 422 && status.code != 400 {
                for c in &mut causes {
                    c.message = format!("HTTP {} {}: {}", status.code, status.reason, c.message);
                }
            }
            BackendError::Invalid { object, causes }
        }
    }
}

/// Whether a 404 means "this kind is not served" rather than "this object does not exist".
pub(crate) fn is_missing_resource(status: &Status) -> bool {
    let named = status.details.as_ref().is_some_and(|d| !d.name.is_empty());
    !named && (status.message.contains("the server could not find the requested resource") || status.message.contains("404 page not found"))
}

/// A 409: a server-side apply conflict with another field manager (from the causes of type
/// `FieldManagerConflict`, or from the message); any other 409 is a write whose precondition no
/// longer holds (a stale resourceVersion, or an object that now exists).
fn conflict(status: &Status, object: ObjectRef) -> BackendError {
    let from_cause = status
        .details
        .iter()
        .flat_map(|d| d.causes.iter())
        .find(|c| c.reason == "FieldManagerConflict" || c.message.starts_with("conflict with"))
        .map(|c| (c.field.clone(), first_quoted(&c.message)));
    if let Some((field, Some(manager))) = from_cause {
        return BackendError::Conflict { object, field, manager };
    }
    if let Some((field, manager)) = parse_conflict_message(&status.message) {
        return BackendError::Conflict { object, field, manager };
    }
    BackendError::Modified { object, message: status.message.clone() }
}

/// The first `"quoted"` string of a message.
fn first_quoted(message: &str) -> Option<String> {
    let start = message.find('"')? + 1;
    let end = start + message[start..].find('"')?;
    Some(message[start..end].to_string())
}

/// Parses `Apply failed with 1 conflict: conflict with "kubectl-edit" using v1: .spec.selector`
/// and the several-conflicts form (`conflicts with "m" using v1:\n- .spec.a\n- .spec.b`).
/// Returns the first field and its manager.
pub(crate) fn parse_conflict_message(message: &str) -> Option<(String, String)> {
    let rest = &message[message.find("conflict")?..];
    let rest = &rest[rest.find(" with ")?..];
    let manager = first_quoted(rest)?;
    let after_manager = &rest[rest.find(&format!("\"{manager}\""))? + manager.len() + 2..];
    // ` using v1: .spec.x` or ` using v1:\n- .spec.x`
    let field_part = after_manager.split_once(':').map(|(_, f)| f)?;
    let field = field_part.lines().map(|l| l.trim().trim_start_matches("- ").trim()).find(|l| !l.is_empty())?;
    Some((field.to_string(), manager))
}

#[cfg(test)]
mod tests {
    use kube::core::response::{StatusCause, StatusDetails};

    use super::*;

    fn api_error(code: u16, reason: &str, message: &str, details: Option<StatusDetails>) -> kube::Error {
        let mut status = Status::failure(message, reason).with_code(code);
        status.details = details;
        kube::Error::Api(status.boxed())
    }

    fn map(error: kube::Error) -> BackendError {
        let object = ObjectRef { kind: "Service".into(), namespace: Some("acme".into()), name: "web".into() };
        let kind = Kind::custom("v1", "Service", "services", true);
        Failure::from_kube(&error).into_error(Some(object), Some(&kind), 1)
    }

    fn details(name: &str, causes: &[(&str, &str, &str)]) -> Option<StatusDetails> {
        Some(StatusDetails {
            name: name.into(),
            group: String::new(),
            kind: "services".into(),
            uid: String::new(),
            causes: causes
                .iter()
                .map(|(reason, message, field)| StatusCause { reason: (*reason).into(), message: (*message).into(), field: (*field).into() })
                .collect(),
            retry_after_seconds: 0,
        })
    }

    #[test]
    fn quota_refusals_become_quota_exceeded() {
        let e = map(api_error(
            403,
            "Forbidden",
            "pods \"web-1\" is forbidden: exceeded quota: quota, requested: limits.memory=128Mi, used: limits.memory=512Mi, limited: limits.memory=512Mi",
            None,
        ));
        match e {
            BackendError::QuotaExceeded { quota, resource, requested, used, limit, object } => {
                assert_eq!(
                    (quota.as_str(), resource.as_str(), requested.as_str(), used.as_str(), limit.as_str()),
                    ("quota", "limits.memory", "128Mi", "512Mi", "512Mi")
                );
                assert_eq!(object.name, "web");
            }
            other => panic!("{other:?}"),
        }
        let e = map(api_error(403, "Forbidden", "services \"web\" is forbidden: User \"bob\" cannot patch resource", None));
        assert!(matches!(e, BackendError::Forbidden { ref message, .. } if message.contains("bob")), "{e:?}");
        assert!(matches!(map(api_error(401, "Unauthorized", "Unauthorized", None)), BackendError::Forbidden { .. }));
    }

    #[test]
    fn apply_conflicts_name_the_field_and_the_manager() {
        let message = "Apply failed with 1 conflict: conflict with \"kubectl-edit\" using v1: .spec.selector.app.kubernetes.io/version";
        // from the causes
        let e = map(api_error(
            409,
            "Conflict",
            message,
            details("web", &[("FieldManagerConflict", "conflict with \"kubectl-edit\" using v1", ".spec.selector.app.kubernetes.io/version")]),
        ));
        assert_eq!(
            e,
            BackendError::Conflict {
                object: e.object().cloned().expect("object"),
                field: ".spec.selector.app.kubernetes.io/version".into(),
                manager: "kubectl-edit".into()
            }
        );
        // from the message alone
        let e = map(api_error(409, "Conflict", message, None));
        assert!(
            matches!(e, BackendError::Conflict { ref field, ref manager, .. } if field == ".spec.selector.app.kubernetes.io/version" && manager == "kubectl-edit"),
            "{e:?}"
        );
        // several conflicts
        let several = "Apply failed with 2 conflicts: conflicts with \"kubectl-client-side-apply\" using apps/v1:\n- .spec.replicas\n- .spec.template.spec.containers[name=\"web\"].image";
        assert_eq!(parse_conflict_message(several), Some((".spec.replicas".into(), "kubectl-client-side-apply".into())));
        // a stale resourceVersion precondition is not a field manager's conflict
        let stale = "Operation cannot be fulfilled on leases.coordination.k8s.io \"moorage-waves-p\": the object has been modified; please apply your changes to the latest version and try again";
        let e = map(api_error(409, "Conflict", stale, None));
        assert!(matches!(e, BackendError::Modified { ref message, ref object } if message == stale && object.name == "web"), "{e:?}");
        assert!(e.to_string().contains("read it again and retry"), "{e}");
        // nor is an object created meanwhile
        let e = map(api_error(409, "AlreadyExists", "services \"web\" already exists", None));
        assert!(matches!(e, BackendError::Modified { ref message, .. } if message.contains("already exists")), "{e:?}");
    }

    #[test]
    fn invalid_objects_carry_their_causes() {
        let e = map(api_error(
            422,
            "Invalid",
            "Service \"web\" is invalid: spec.ports[0].port: Invalid value: 0",
            details("web", &[("FieldValueInvalid", "Invalid value: 0: must be between 1 and 65535", "spec.ports[0].port")]),
        ));
        assert_eq!(
            e,
            BackendError::Invalid {
                object: e.object().cloned().expect("object"),
                causes: vec![Cause { field: "spec.ports[0].port".into(), message: "Invalid value: 0: must be between 1 and 65535".into() }]
            }
        );
        // strict field validation answers 400 without causes
        let e = map(api_error(400, "BadRequest", ".spec.bogus: field not declared in schema", None));
        assert!(matches!(e, BackendError::Invalid { ref causes, .. } if causes.len() == 1 && causes[0].message.contains("not declared")), "{e:?}");
        // server-side apply of unknown fields: a 500 that is not an outage
        let e = map(api_error(500, "", "failed to create typed patch object (acme/web; /v1, Kind=Service): .spec.bogus: field not declared in schema", None));
        assert!(matches!(e, BackendError::Invalid { ref causes, .. } if causes[0].message.contains("not declared")), "{e:?}");
        // nor is an applied object that cannot be decoded (bad base64 in a Secret's data)
        let message = "failed to convert new object (acme/creds; /v1, Kind=Secret) to proper version: unable to convert unstructured object to /v1, Kind=Secret: illegal base64 data at input byte 3";
        let e = map(api_error(500, "", message, None));
        assert!(matches!(e, BackendError::Invalid { ref causes, .. } if causes[0].message.contains("illegal base64")), "{e:?}");
        let e = map(api_error(415, "UnsupportedMediaType", "the body of the request was in an unknown format", None));
        assert!(matches!(e, BackendError::Invalid { ref causes, .. } if causes[0].message.starts_with("HTTP 415")), "{e:?}");
    }

    #[test]
    fn not_found_and_missing_kinds_are_told_apart() {
        let e = map(api_error(404, "NotFound", "namespaces \"acme\" not found", details("acme", &[])));
        assert!(matches!(e, BackendError::NotFound { .. }), "{e:?}");
        let object = ObjectRef { kind: "ServiceMonitor".into(), namespace: Some("acme".into()), name: "web".into() };
        let kind = Kind::custom("monitoring.coreos.com/v1", "ServiceMonitor", "servicemonitors", true);
        let e =
            Failure::from_kube(&api_error(404, "NotFound", "the server could not find the requested resource", None)).into_error(Some(object), Some(&kind), 1);
        match e {
            BackendError::MissingKind { api_version, kind, hint } => {
                assert_eq!((api_version.as_str(), kind.as_str()), ("monitoring.coreos.com/v1", "ServiceMonitor"));
                assert!(hint.contains("Prometheus Operator"), "{hint}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn transient_answers_become_unavailable_after_retries() {
        let mut status = Status::failure("Too many requests, please try again later.", "TooManyRequests").with_code(429);
        status.details = Some(StatusDetails { retry_after_seconds: 1, ..details("", &[]).expect("details") });
        let failure = Failure::from_kube(&kube::Error::Api(status.boxed()));
        assert_eq!(failure.outcome(), Outcome::Status(429));
        assert_eq!(failure.retry_after(), Some(std::time::Duration::from_secs(1)));
        let e = failure.into_error(None, None, 6);
        assert!(matches!(e, BackendError::Unavailable { attempts: 6, ref message, .. } if message.contains("429")), "{e:?}");
        assert!(e.is_retryable());
        let e = map(api_error(503, "ServiceUnavailable", "etcdserver: leader changed", None));
        assert!(matches!(e, BackendError::Unavailable { .. }), "{e:?}");
        let timeout = Failure::Timeout("30s".into());
        assert_eq!(timeout.outcome(), Outcome::Timeout);
        assert!(matches!(timeout.into_error(None, None, 3), BackendError::Unavailable { attempts: 3, .. }));
    }
}
