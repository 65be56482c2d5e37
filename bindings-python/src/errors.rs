//! Exceptions: one class per core error variant, under `moorage.MoorageError`.
//!
//! The fields of every exception are set as attributes from the typed Rust error, never parsed
//! from its message. The message is the core's `Display` text.

use moorage::backend::BackendError as CoreBackendError;
use moorage::rollout::RolloutError;
use moorage::spec::SpecError as CoreSpecError;
use moorage::ValidationErrors;
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyList;
use pyo3::IntoPyObjectExt;

use crate::convert::json_to_py;

create_exception!(moorage, MoorageError, PyException, "The base class of every moorage error.");
create_exception!(moorage, ValidationError, MoorageError, "A spec breaks the model's rules; `.errors` lists every (path, message).");
create_exception!(moorage, SpecError, MoorageError, "A spec is not well-formed (bad YAML, unknown field, wrong type); `.path`, `.line`, `.message`.");
create_exception!(
    moorage,
    QuotaInsufficient,
    MoorageError,
    "The quota cannot hold the rollout's peak; nothing was created. `.resource .needed .available .hint`."
);
create_exception!(
    moorage,
    RolloutStuck,
    MoorageError,
    "The new version did not become ready; the previous one still serves. `.version .cause .object .message .events`."
);
create_exception!(moorage, VersionSelected, MoorageError, "The version is selected by the stable Service. `.app .version`.");
create_exception!(moorage, NoSuchRevision, MoorageError, "No such revision in the history. `.app .revision`.");
create_exception!(moorage, NothingToPromote, MoorageError, "No rollout is waiting for promotion. `.app`.");
create_exception!(moorage, NothingToAbort, MoorageError, "No canary is in progress. `.app`.");
create_exception!(moorage, NothingToRetry, MoorageError, "No failed or aborted revision to retry. `.app`.");
create_exception!(moorage, Unsupported, MoorageError, "The release asks for something the engine does not do yet. `.app .what`.");
create_exception!(
    moorage,
    AnalysisFailed,
    MoorageError,
    "An analysis failed and the new version was rolled back. `.app .version .analysis .gate .reason .rolled_back_to .result` (dict)."
);
create_exception!(moorage, BackendError, MoorageError, "A backend operation failed.");
create_exception!(moorage, PrometheusError, MoorageError, "A Prometheus query got no result.");
create_exception!(moorage, PrometheusUnreachable, PrometheusError, "Prometheus could not be reached after the retries. `.address .attempts .reason`.");
create_exception!(moorage, PrometheusRefused, PrometheusError, "Prometheus refused the query. `.error_type .error`.");
create_exception!(moorage, PrometheusMalformed, PrometheusError, "Prometheus' answer is not an API answer. `.status .detail`.");
create_exception!(moorage, QuotaExceeded, BackendError, "A ResourceQuota refused an object. `.object .quota .resource .requested .used .limit`.");
create_exception!(moorage, Forbidden, BackendError, "The credentials may not do this. `.object .message`.");
create_exception!(moorage, Conflict, BackendError, "Another field manager owns a field. `.object .field .manager`.");
create_exception!(
    moorage,
    Modified,
    BackendError,
    "The object changed after the read a write was conditional on; nothing was written: read it again and retry. `.object .message`."
);
create_exception!(moorage, InvalidObject, BackendError, "The API server rejected an object. `.object .causes` (list of (field, message)).");
create_exception!(moorage, NotFound, BackendError, "The object or its namespace does not exist. `.object`.");
create_exception!(moorage, MissingKind, BackendError, "The cluster does not serve this kind. `.api_version .kind .hint`.");
create_exception!(moorage, Timeout, BackendError, "A wait ended before its condition held. `.waiting_for .object .seconds`.");
create_exception!(moorage, Unavailable, BackendError, "The API server could not be reached. `.object .attempts .message`.");
create_exception!(moorage, ConfigError, MoorageError, "The kubeconfig could not be read or used. `.message`.");
create_exception!(moorage, ManifestError, MoorageError, "Manifests could not be written or read. `.message`.");
create_exception!(moorage, TenantError, MoorageError, "A tenant lifecycle operation failed.");
create_exception!(moorage, DomainTaken, TenantError, "Another tenant holds the domain; nothing was written. `.domain .holder`.");
create_exception!(
    moorage,
    DomainContended,
    TenantError,
    "Another tenant claimed the domain at the same instant; this apply's claim was put back: apply again. `.domain .rival`."
);
create_exception!(moorage, TenantProtected, TenantError, "The tenant is protected: deleting it needs `confirm=True`. `.tenant`.");
create_exception!(moorage, TenantNotFound, TenantError, "The tenant does not exist in the cluster. `.tenant`.");
create_exception!(moorage, SpecNotRecorded, TenantError, "The tenant's Namespace has no readable recorded spec; apply it again. `.tenant .message`.");
create_exception!(moorage, TokenRequestRefused, TenantError, "The TokenRequest API refused a CI token. `.tenant .message`.");
create_exception!(moorage, InternalError, MoorageError, "An object could not be serialized (a bug in moorage). `.object .message`.");
create_exception!(moorage, FleetError, MoorageError, "A fleet operation failed.");
create_exception!(moorage, DuplicateCluster, FleetError, "Two clusters of the fleet share a name. `.cluster`.");
create_exception!(moorage, UnknownCluster, FleetError, "The fleet has no cluster of that name. `.cluster`.");
create_exception!(moorage, NoCapacity, FleetError, "No cluster with the required labels has free capacity. `.required`.");
create_exception!(moorage, AlreadyPlaced, FleetError, "The tenant lives on another cluster than its pin. `.tenant .cluster`.");
create_exception!(moorage, WaveError, MoorageError, "A fleet wave plan could not start or go on.");
create_exception!(moorage, PlanExists, WaveError, "A wave plan of this name exists with another spec. `.plan`.");
create_exception!(moorage, NoSuchPlan, WaveError, "No wave plan of this name was started. `.plan`.");
create_exception!(moorage, NothingSelected, WaveError, "No tenant of the fleet runs the app and matches the selection. `.app`.");
create_exception!(moorage, WaveStateUnreadable, WaveError, "The stored wave plan cannot be read. `.plan .message`.");
create_exception!(moorage, EmptyFleet, WaveError, "The fleet has no cluster.");
create_exception!(moorage, LeaseHeld, WaveError, "Another live driver runs the wave plan. `.plan .holder .expires`.");

fn with_attrs<'py>(py: Python<'py>, err: PyErr, attrs: &[(&str, Py<PyAny>)]) -> PyErr {
    let value = err.value(py);
    for (name, v) in attrs {
        // Setting an attribute on a fresh exception instance cannot fail.
        let _ = value.setattr(*name, v.clone_ref(py));
    }
    err
}

fn obj<'py, T: IntoPyObject<'py>>(py: Python<'py>, v: T) -> Py<PyAny> {
    v.into_py_any(py).unwrap_or_else(|_| py.None())
}

/// A `ValidationError` with `.errors`, a list of (path, message).
pub fn validation(py: Python<'_>, e: &ValidationErrors) -> PyErr {
    let errors: Vec<(String, String)> = e.errors().iter().map(|f| (f.path.clone(), f.message.clone())).collect();
    let list = PyList::new(py, errors).map(|l| l.into_any().unbind()).unwrap_or_else(|_| py.None());
    with_attrs(py, ValidationError::new_err(e.to_string()), &[("errors", list)])
}

/// A `ValidationError` for one argument the core refused (e.g. a duration `parse_duration` rejects).
pub fn field(py: Python<'_>, path: &str, message: &str) -> PyErr {
    match ValidationErrors::from_errors(vec![moorage::FieldError { path: path.to_string(), message: message.to_string() }]) {
        Some(e) => validation(py, &e),
        None => ValidationError::new_err(format!("{path}: {message}")),
    }
}

/// The exception of a Prometheus error.
pub fn prometheus(py: Python<'_>, e: &moorage::analysis::PrometheusError) -> PyErr {
    use moorage::analysis::PrometheusError as E;
    let msg = e.to_string();
    match e {
        E::Unreachable { address, attempts, source } => with_attrs(
            py,
            PrometheusUnreachable::new_err(msg),
            &[("address", obj(py, address)), ("attempts", obj(py, *attempts)), ("reason", obj(py, source.to_string()))],
        ),
        E::Refused { error_type, error } => with_attrs(py, PrometheusRefused::new_err(msg), &[("error_type", obj(py, error_type)), ("error", obj(py, error))]),
        E::Malformed { status, detail } => with_attrs(py, PrometheusMalformed::new_err(msg), &[("status", obj(py, *status)), ("detail", obj(py, detail))]),
    }
}

/// A `SpecError` (parse) or `ValidationError` (rules).
pub fn spec(py: Python<'_>, e: &CoreSpecError) -> PyErr {
    match e {
        CoreSpecError::Parse { path, line, message } => {
            with_attrs(py, SpecError::new_err(e.to_string()), &[("path", obj(py, path)), ("line", obj(py, *line)), ("message", obj(py, message))])
        }
        CoreSpecError::Invalid(v) => validation(py, v),
    }
}

fn object_str(o: Option<&moorage::backend::ObjectRef>) -> Option<String> {
    o.map(ToString::to_string)
}

/// The exception of a backend error.
pub fn backend(py: Python<'_>, e: &CoreBackendError) -> PyErr {
    let msg = e.to_string();
    let object = obj(py, object_str(e.object()));
    match e {
        CoreBackendError::QuotaExceeded { quota, resource, requested, used, limit, .. } => with_attrs(
            py,
            QuotaExceeded::new_err(msg),
            &[
                ("object", object),
                ("quota", obj(py, quota)),
                ("resource", obj(py, resource)),
                ("requested", obj(py, requested)),
                ("used", obj(py, used)),
                ("limit", obj(py, limit)),
            ],
        ),
        CoreBackendError::Forbidden { message, .. } => with_attrs(py, Forbidden::new_err(msg), &[("object", object), ("message", obj(py, message))]),
        CoreBackendError::Conflict { field, manager, .. } => {
            with_attrs(py, Conflict::new_err(msg), &[("object", object), ("field", obj(py, field)), ("manager", obj(py, manager))])
        }
        CoreBackendError::Modified { message, .. } => with_attrs(py, Modified::new_err(msg), &[("object", object), ("message", obj(py, message))]),
        CoreBackendError::Invalid { causes, .. } => {
            let causes: Vec<(String, String)> = causes.iter().map(|c| (c.field.clone(), c.message.clone())).collect();
            with_attrs(py, InvalidObject::new_err(msg), &[("object", object), ("causes", obj(py, causes))])
        }
        CoreBackendError::NotFound { .. } => with_attrs(py, NotFound::new_err(msg), &[("object", object)]),
        CoreBackendError::MissingKind { api_version, kind, hint } => with_attrs(
            py,
            MissingKind::new_err(msg),
            &[("object", object), ("api_version", obj(py, api_version)), ("kind", obj(py, kind)), ("hint", obj(py, hint))],
        ),
        CoreBackendError::Timeout { waiting_for, seconds, .. } => {
            with_attrs(py, Timeout::new_err(msg), &[("object", object), ("waiting_for", obj(py, waiting_for)), ("seconds", obj(py, *seconds))])
        }
        CoreBackendError::Unavailable { attempts, message, .. } => {
            with_attrs(py, Unavailable::new_err(msg), &[("object", object), ("attempts", obj(py, *attempts)), ("message", obj(py, message))])
        }
    }
}

/// The exception of a rollout error.
pub fn rollout(py: Python<'_>, e: &RolloutError) -> PyErr {
    let msg = e.to_string();
    match e {
        RolloutError::Invalid(v) => validation(py, v),
        RolloutError::QuotaInsufficient { resource, needed, available, hint } => with_attrs(
            py,
            QuotaInsufficient::new_err(msg),
            &[("resource", obj(py, resource)), ("needed", obj(py, needed)), ("available", obj(py, available)), ("hint", obj(py, hint))],
        ),
        RolloutError::Stuck { version, cause, object, message, events } => {
            let cause_value = serde_json::to_value(cause).unwrap_or_default();
            let kind = cause_value.get("cause").and_then(|c| c.as_str()).unwrap_or_default().to_string();
            with_attrs(
                py,
                RolloutStuck::new_err(msg),
                &[
                    ("version", obj(py, version)),
                    ("cause", obj(py, kind)),
                    ("cause_detail", json_to_py(py, &cause_value)),
                    ("object", obj(py, object.to_string())),
                    ("message", obj(py, message)),
                    ("events", obj(py, events.clone())),
                ],
            )
        }
        RolloutError::VersionSelected { app, version } => {
            with_attrs(py, VersionSelected::new_err(msg), &[("app", obj(py, app)), ("version", obj(py, version))])
        }
        RolloutError::NoSuchRevision { app, revision } => {
            with_attrs(py, NoSuchRevision::new_err(msg), &[("app", obj(py, app)), ("revision", obj(py, *revision))])
        }
        RolloutError::NothingToPromote { app } => with_attrs(py, NothingToPromote::new_err(msg), &[("app", obj(py, app))]),
        RolloutError::NothingToAbort { app } => with_attrs(py, NothingToAbort::new_err(msg), &[("app", obj(py, app))]),
        RolloutError::NothingToRetry { app } => with_attrs(py, NothingToRetry::new_err(msg), &[("app", obj(py, app))]),
        RolloutError::Unsupported { app, what } => with_attrs(py, Unsupported::new_err(msg), &[("app", obj(py, app)), ("what", obj(py, what))]),
        RolloutError::AnalysisFailed { app, version, analysis, gate, reason, rolled_back_to, result } => with_attrs(
            py,
            AnalysisFailed::new_err(msg),
            &[
                ("app", obj(py, app)),
                ("version", obj(py, version)),
                ("analysis", obj(py, analysis)),
                ("gate", obj(py, gate)),
                ("reason", obj(py, reason)),
                ("rolled_back_to", obj(py, rolled_back_to)),
                ("result", json_to_py(py, &serde_json::to_value(result.as_ref()).unwrap_or_default())),
            ],
        ),
        RolloutError::Backend(b) => backend(py, b),
    }
}

/// A `ConfigError` or `ManifestError` carrying the core's message.
pub fn message<E: std::fmt::Display>(py: Python<'_>, manifest: bool, e: &E) -> PyErr {
    let m = e.to_string();
    let err = if manifest { ManifestError::new_err(m.clone()) } else { ConfigError::new_err(m.clone()) };
    with_attrs(py, err, &[("message", obj(py, m))])
}

/// The exception of a tenant lifecycle error.
pub fn tenant(py: Python<'_>, e: &moorage::tenant::TenantError) -> PyErr {
    use moorage::tenant::TenantError as E;
    let msg = e.to_string();
    match e {
        E::DomainTaken { domain, holder } => with_attrs(py, DomainTaken::new_err(msg), &[("domain", obj(py, domain)), ("holder", obj(py, holder))]),
        E::DomainContended { domain, rival } => with_attrs(py, DomainContended::new_err(msg), &[("domain", obj(py, domain)), ("rival", obj(py, rival))]),
        E::Protected { tenant } => with_attrs(py, TenantProtected::new_err(msg), &[("tenant", obj(py, tenant))]),
        E::NotFound { tenant } => with_attrs(py, TenantNotFound::new_err(msg), &[("tenant", obj(py, tenant))]),
        E::SpecNotRecorded { tenant, message } => with_attrs(py, SpecNotRecorded::new_err(msg), &[("tenant", obj(py, tenant)), ("message", obj(py, message))]),
        E::TokenRequest { tenant, message } => with_attrs(py, TokenRequestRefused::new_err(msg), &[("tenant", obj(py, tenant)), ("message", obj(py, message))]),
        E::Serialize { object, message } => with_attrs(py, InternalError::new_err(msg), &[("object", obj(py, object)), ("message", obj(py, message))]),
        E::Invalid(v) => validation(py, v),
        E::Backend(b) => backend(py, b),
    }
}

/// The exception of a fleet error.
pub fn fleet(py: Python<'_>, e: &moorage::tenant::FleetError) -> PyErr {
    use moorage::tenant::FleetError as E;
    let msg = e.to_string();
    match e {
        E::DuplicateCluster(c) => with_attrs(py, DuplicateCluster::new_err(msg), &[("cluster", obj(py, c))]),
        E::UnknownCluster(c) => with_attrs(py, UnknownCluster::new_err(msg), &[("cluster", obj(py, c))]),
        E::NoCapacity { required } => with_attrs(py, NoCapacity::new_err(msg), &[("required", obj(py, required.clone()))]),
        E::AlreadyPlaced { tenant, cluster } => with_attrs(py, AlreadyPlaced::new_err(msg), &[("tenant", obj(py, tenant)), ("cluster", obj(py, cluster))]),
        E::Tenant(t) => tenant(py, t),
        E::Backend(b) => backend(py, b),
    }
}

/// The exception of a fleet wave error.
pub fn waves(py: Python<'_>, e: &moorage::waves::WaveError) -> PyErr {
    use moorage::waves::WaveError as E;
    let msg = e.to_string();
    match e {
        E::Invalid(v) => validation(py, v),
        E::PlanExists { plan } => with_attrs(py, PlanExists::new_err(msg), &[("plan", obj(py, plan))]),
        E::NoSuchPlan { plan } => with_attrs(py, NoSuchPlan::new_err(msg), &[("plan", obj(py, plan))]),
        E::NothingSelected { app } => with_attrs(py, NothingSelected::new_err(msg), &[("app", obj(py, app))]),
        E::UnreadableState { plan, message } => with_attrs(py, WaveStateUnreadable::new_err(msg), &[("plan", obj(py, plan)), ("message", obj(py, message))]),
        E::EmptyFleet => EmptyFleet::new_err(msg),
        E::LeaseHeld { plan, holder, expires } => {
            with_attrs(py, LeaseHeld::new_err(msg), &[("plan", obj(py, plan)), ("holder", obj(py, holder)), ("expires", obj(py, expires))])
        }
        E::Fleet(f) => fleet(py, f),
        E::Backend(b) => backend(py, b),
    }
}

/// Registers the exception classes on the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("MoorageError", py.get_type::<MoorageError>())?;
    m.add("ValidationError", py.get_type::<ValidationError>())?;
    m.add("SpecError", py.get_type::<SpecError>())?;
    m.add("QuotaInsufficient", py.get_type::<QuotaInsufficient>())?;
    m.add("RolloutStuck", py.get_type::<RolloutStuck>())?;
    m.add("VersionSelected", py.get_type::<VersionSelected>())?;
    m.add("NoSuchRevision", py.get_type::<NoSuchRevision>())?;
    m.add("NothingToPromote", py.get_type::<NothingToPromote>())?;
    m.add("NothingToAbort", py.get_type::<NothingToAbort>())?;
    m.add("NothingToRetry", py.get_type::<NothingToRetry>())?;
    m.add("Unsupported", py.get_type::<Unsupported>())?;
    m.add("AnalysisFailed", py.get_type::<AnalysisFailed>())?;
    m.add("BackendError", py.get_type::<BackendError>())?;
    m.add("PrometheusError", py.get_type::<PrometheusError>())?;
    m.add("PrometheusUnreachable", py.get_type::<PrometheusUnreachable>())?;
    m.add("PrometheusRefused", py.get_type::<PrometheusRefused>())?;
    m.add("PrometheusMalformed", py.get_type::<PrometheusMalformed>())?;
    m.add("QuotaExceeded", py.get_type::<QuotaExceeded>())?;
    m.add("Forbidden", py.get_type::<Forbidden>())?;
    m.add("Conflict", py.get_type::<Conflict>())?;
    m.add("Modified", py.get_type::<Modified>())?;
    m.add("InvalidObject", py.get_type::<InvalidObject>())?;
    m.add("NotFound", py.get_type::<NotFound>())?;
    m.add("MissingKind", py.get_type::<MissingKind>())?;
    m.add("Timeout", py.get_type::<Timeout>())?;
    m.add("Unavailable", py.get_type::<Unavailable>())?;
    m.add("ConfigError", py.get_type::<ConfigError>())?;
    m.add("ManifestError", py.get_type::<ManifestError>())?;
    register_lifecycle(m)
}

/// Registers the tenant, fleet and wave exception classes.
fn register_lifecycle(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("TenantError", py.get_type::<TenantError>())?;
    m.add("DomainTaken", py.get_type::<DomainTaken>())?;
    m.add("DomainContended", py.get_type::<DomainContended>())?;
    m.add("TenantProtected", py.get_type::<TenantProtected>())?;
    m.add("TenantNotFound", py.get_type::<TenantNotFound>())?;
    m.add("SpecNotRecorded", py.get_type::<SpecNotRecorded>())?;
    m.add("TokenRequestRefused", py.get_type::<TokenRequestRefused>())?;
    m.add("InternalError", py.get_type::<InternalError>())?;
    m.add("FleetError", py.get_type::<FleetError>())?;
    m.add("DuplicateCluster", py.get_type::<DuplicateCluster>())?;
    m.add("UnknownCluster", py.get_type::<UnknownCluster>())?;
    m.add("NoCapacity", py.get_type::<NoCapacity>())?;
    m.add("AlreadyPlaced", py.get_type::<AlreadyPlaced>())?;
    m.add("WaveError", py.get_type::<WaveError>())?;
    m.add("PlanExists", py.get_type::<PlanExists>())?;
    m.add("NoSuchPlan", py.get_type::<NoSuchPlan>())?;
    m.add("NothingSelected", py.get_type::<NothingSelected>())?;
    m.add("WaveStateUnreadable", py.get_type::<WaveStateUnreadable>())?;
    m.add("EmptyFleet", py.get_type::<EmptyFleet>())?;
    m.add("LeaseHeld", py.get_type::<LeaseHeld>())?;
    Ok(())
}
