//! Errors: one stable `code` per core error variant, with the variant's fields, thrown as a
//! `MoorageError` (a JavaScript `Error` subclass defined by `moorage.js`).
//!
//! Every code and field comes from the typed Rust error, never from its message; the message is
//! the core's `Display` text. The same variants as the Python bindings' exception classes
//! (`bindings-python/src/errors.rs`), plus the Prometheus client's (usage reports).

use std::cell::RefCell;

use moorage::analysis::PrometheusError;
use moorage::backend::cluster::ConfigError;
use moorage::backend::BackendError;
use moorage::manifest::ManifestError;
use moorage::rollout::RolloutError;
use moorage::spec::SpecError;
use moorage::tenant::{FleetError, TenantError};
use moorage::waves::WaveError;
use moorage::ValidationErrors;
use napi::bindgen_prelude::{FnArgs, FunctionRef, JsObjectValue, Object, Unknown};
use napi::{Env, JsValue, Status};
use napi_derive::napi;
use serde_json::{json, Value};

/// Every code a `MoorageError` can carry, one per core error variant.
pub const CODES: &[&str] = &[
    "VALIDATION",
    "SPEC",
    "QUOTA_INSUFFICIENT",
    "ROLLOUT_STUCK",
    "VERSION_SELECTED",
    "NO_SUCH_REVISION",
    "NOTHING_TO_PROMOTE",
    "NOTHING_TO_ABORT",
    "NOTHING_TO_RETRY",
    "UNSUPPORTED",
    "ANALYSIS_FAILED",
    "QUOTA_EXCEEDED",
    "FORBIDDEN",
    "CONFLICT",
    "MODIFIED",
    "INVALID_OBJECT",
    "NOT_FOUND",
    "MISSING_KIND",
    "TIMEOUT",
    "UNAVAILABLE",
    "DOMAIN_TAKEN",
    "DOMAIN_CONTENDED",
    "TENANT_PROTECTED",
    "TENANT_NOT_FOUND",
    "SERIALIZE",
    "TOKEN_REQUEST",
    "SPEC_NOT_RECORDED",
    "CONFIG",
    "MANIFEST",
    "DUPLICATE_CLUSTER",
    "UNKNOWN_CLUSTER",
    "NO_CAPACITY",
    "ALREADY_PLACED",
    "PLAN_EXISTS",
    "NO_SUCH_PLAN",
    "NOTHING_SELECTED",
    "WAVE_STATE_UNREADABLE",
    "EMPTY_FLEET",
    "LEASE_HELD",
    "PROMETHEUS_UNREACHABLE",
    "PROMETHEUS_REFUSED",
    "PROMETHEUS_MALFORMED",
    "BATCH_FINISHED",
];

/// A core error, translated: its code, the core's message and the variant's fields (camelCase).
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// One of [`CODES`].
    pub code: &'static str,
    /// The core's `Display` text.
    pub message: String,
    /// The variant's fields, as a JSON object.
    pub fields: Value,
}

impl Failure {
    fn new(code: &'static str, message: impl ToString, fields: Value) -> Self {
        debug_assert!(CODES.contains(&code), "{code} is listed in CODES");
        Failure { code, message: message.to_string(), fields }
    }

    /// The JavaScript error to throw or reject with: made by the factory `moorage.js` registered
    /// (a `MoorageError` subclass), or a plain `Error` with `code` and the fields without one.
    pub fn into_error(self, env: &Env) -> napi::Error {
        match self.to_js(env) {
            Ok(error) => napi::Error::from(error),
            Err(e) => e,
        }
    }

    fn to_js<'env>(&self, env: &'env Env) -> napi::Result<Unknown<'env>> {
        let made = FACTORY.with(|f| -> napi::Result<Option<Unknown<'env>>> {
            match f.borrow().as_ref() {
                Some(factory) => {
                    let factory = factory.borrow_back(env)?;
                    Ok(Some(factory.call(FnArgs::from((self.code.to_string(), self.message.clone(), self.fields.clone())))?))
                }
                None => Ok(None),
            }
        })?;
        if let Some(error) = made {
            return Ok(error);
        }
        let mut error: Object<'env> = env.create_error(napi::Error::new(Status::GenericFailure, self.message.clone()))?;
        error.set_named_property("code", self.code)?;
        if let Value::Object(fields) = &self.fields {
            for (k, v) in fields {
                error.set_named_property(k, env.to_js_value(v)?)?;
            }
        }
        Ok(error.to_unknown())
    }
}

type Factory = FunctionRef<FnArgs<(String, String, Value)>, Unknown<'static>>;

thread_local! {
    /// The error factory of this JavaScript thread (each worker loads the module anew).
    static FACTORY: RefCell<Option<Factory>> = const { RefCell::new(None) };
}

/// Registers the function that builds the errors thrown by moorage (called once by `moorage.js`).
#[napi(ts_args_type = "factory: (code: string, message: string, fields: Record<string, unknown>) => Error")]
pub fn register_error_factory(factory: Factory) {
    FACTORY.with(|f| *f.borrow_mut() = Some(factory));
}

/// Every error code, one per core error variant.
#[napi]
pub fn error_codes() -> Vec<String> {
    CODES.iter().map(|c| c.to_string()).collect()
}

/// `VALIDATION`: every problem of a spec, each with its field's path.
pub fn validation(e: &ValidationErrors) -> Failure {
    let errors: Vec<Value> = e.errors().iter().map(|f| json!({"path": f.path, "message": f.message})).collect();
    Failure::new("VALIDATION", e, json!({ "errors": errors }))
}

/// `VALIDATION` with one problem, at `path` (an argument of the bindings, checked by the core).
pub fn field(path: &str, message: String) -> Failure {
    let problem = moorage::FieldError { path: path.into(), message };
    match ValidationErrors::from_errors(vec![problem.clone()]) {
        Some(v) => validation(&v),
        None => Failure::new("VALIDATION", &problem, json!({"errors": [{"path": problem.path, "message": problem.message}]})),
    }
}

/// `SPEC` (not well-formed: path, line) or `VALIDATION` (breaks the rules).
pub fn spec(e: &SpecError) -> Failure {
    match e {
        SpecError::Parse { path, line, message } => Failure::new("SPEC", e, json!({"path": path, "line": line, "detail": message})),
        SpecError::Invalid(v) => validation(v),
    }
}

/// The code and fields of a backend error; `object` is the object it is about, when there is one.
pub fn backend(e: &BackendError) -> Failure {
    let object = e.object().map(ToString::to_string);
    match e {
        BackendError::QuotaExceeded { quota, resource, requested, used, limit, .. } => Failure::new(
            "QUOTA_EXCEEDED",
            e,
            json!({"object": object, "quota": quota, "resource": resource, "requested": requested, "used": used, "limit": limit}),
        ),
        BackendError::Forbidden { message, .. } => Failure::new("FORBIDDEN", e, json!({"object": object, "detail": message})),
        BackendError::Conflict { field, manager, .. } => Failure::new("CONFLICT", e, json!({"object": object, "field": field, "manager": manager})),
        BackendError::Modified { message, .. } => Failure::new("MODIFIED", e, json!({"object": object, "detail": message})),
        BackendError::Invalid { causes, .. } => {
            let causes: Vec<Value> = causes.iter().map(|c| json!({"field": c.field, "message": c.message})).collect();
            Failure::new("INVALID_OBJECT", e, json!({"object": object, "causes": causes}))
        }
        BackendError::NotFound { .. } => Failure::new("NOT_FOUND", e, json!({ "object": object })),
        BackendError::MissingKind { api_version, kind, hint } => {
            Failure::new("MISSING_KIND", e, json!({"object": object, "apiVersion": api_version, "kind": kind, "hint": hint}))
        }
        BackendError::Timeout { waiting_for, seconds, .. } => {
            Failure::new("TIMEOUT", e, json!({"object": object, "waitingFor": waiting_for, "seconds": seconds}))
        }
        BackendError::Unavailable { attempts, message, .. } => {
            Failure::new("UNAVAILABLE", e, json!({"object": object, "attempts": attempts, "detail": message}))
        }
    }
}

/// The code and fields of a release engine error.
pub fn rollout(e: &RolloutError) -> Failure {
    match e {
        RolloutError::Invalid(v) => validation(v),
        RolloutError::QuotaInsufficient { resource, needed, available, hint } => {
            Failure::new("QUOTA_INSUFFICIENT", e, json!({"resource": resource, "needed": needed, "available": available, "hint": hint}))
        }
        RolloutError::Stuck { version, cause, object, message, events } => {
            let detail = serde_json::to_value(cause).unwrap_or_default();
            let kind = detail.get("cause").cloned().unwrap_or_default();
            Failure::new(
                "ROLLOUT_STUCK",
                e,
                json!({"version": version, "cause": kind, "causeDetail": detail, "object": object.to_string(), "detail": message, "events": events}),
            )
        }
        RolloutError::VersionSelected { app, version } => Failure::new("VERSION_SELECTED", e, json!({"app": app, "version": version})),
        RolloutError::NoSuchRevision { app, revision } => Failure::new("NO_SUCH_REVISION", e, json!({"app": app, "revision": revision})),
        RolloutError::NothingToPromote { app } => Failure::new("NOTHING_TO_PROMOTE", e, json!({ "app": app })),
        RolloutError::NothingToAbort { app } => Failure::new("NOTHING_TO_ABORT", e, json!({ "app": app })),
        RolloutError::NothingToRetry { app } => Failure::new("NOTHING_TO_RETRY", e, json!({ "app": app })),
        RolloutError::Unsupported { app, what } => Failure::new("UNSUPPORTED", e, json!({"app": app, "what": what})),
        RolloutError::AnalysisFailed { app, version, analysis, gate, reason, rolled_back_to, result } => Failure::new(
            "ANALYSIS_FAILED",
            e,
            json!({"app": app, "version": version, "analysis": analysis, "gate": gate, "reason": reason, "rolledBackTo": rolled_back_to, "result": serde_json::to_value(result.as_ref()).unwrap_or_default()}),
        ),
        RolloutError::Backend(b) => backend(b),
    }
}

/// The code and fields of a tenant lifecycle error.
pub fn tenant(e: &TenantError) -> Failure {
    match e {
        TenantError::DomainTaken { domain, holder } => Failure::new("DOMAIN_TAKEN", e, json!({"domain": domain, "holder": holder})),
        TenantError::DomainContended { domain, rival } => Failure::new("DOMAIN_CONTENDED", e, json!({"domain": domain, "rival": rival})),
        TenantError::Protected { tenant } => Failure::new("TENANT_PROTECTED", e, json!({ "tenant": tenant })),
        TenantError::NotFound { tenant } => Failure::new("TENANT_NOT_FOUND", e, json!({ "tenant": tenant })),
        TenantError::Serialize { object, message } => Failure::new("SERIALIZE", e, json!({"object": object, "detail": message})),
        TenantError::TokenRequest { tenant, message } => Failure::new("TOKEN_REQUEST", e, json!({"tenant": tenant, "detail": message})),
        TenantError::SpecNotRecorded { tenant, message } => Failure::new("SPEC_NOT_RECORDED", e, json!({"tenant": tenant, "detail": message})),
        TenantError::Invalid(v) => validation(v),
        TenantError::Backend(b) => backend(b),
    }
}

/// `CONFIG`: the kubeconfig could not be read or used.
pub fn config(e: &ConfigError) -> Failure {
    Failure::new("CONFIG", e, json!({ "detail": e.message }))
}

/// `BATCH_FINISHED`: a `CompileBatch` pushed to or finished again after its `finish`. The core's
/// `YamlBatch::finish` consumes the batch (Rust rules the misuse out at compile time); the
/// JavaScript object outlives it, so its misuse is this code.
pub fn batch_finished() -> Failure {
    Failure::new("BATCH_FINISHED", "this CompileBatch is finished: push its units to a new CompileBatch", json!({}))
}

/// `MANIFEST`: manifests could not be written or read.
pub fn manifest(e: &ManifestError) -> Failure {
    Failure::new("MANIFEST", e, json!({}))
}

/// The code and fields of a fleet error.
pub fn fleet(e: &FleetError) -> Failure {
    match e {
        FleetError::DuplicateCluster(c) => Failure::new("DUPLICATE_CLUSTER", e, json!({ "cluster": c })),
        FleetError::UnknownCluster(c) => Failure::new("UNKNOWN_CLUSTER", e, json!({ "cluster": c })),
        FleetError::NoCapacity { required } => Failure::new("NO_CAPACITY", e, json!({ "required": required })),
        FleetError::AlreadyPlaced { tenant, cluster } => Failure::new("ALREADY_PLACED", e, json!({"tenant": tenant, "cluster": cluster})),
        FleetError::Tenant(t) => tenant(t),
        FleetError::Backend(b) => backend(b),
    }
}

/// The code and fields of a fleet wave error.
pub fn waves(e: &WaveError) -> Failure {
    match e {
        WaveError::Invalid(v) => validation(v),
        WaveError::PlanExists { plan } => Failure::new("PLAN_EXISTS", e, json!({ "plan": plan })),
        WaveError::NoSuchPlan { plan } => Failure::new("NO_SUCH_PLAN", e, json!({ "plan": plan })),
        WaveError::NothingSelected { app } => Failure::new("NOTHING_SELECTED", e, json!({ "app": app })),
        WaveError::UnreadableState { plan, message } => Failure::new("WAVE_STATE_UNREADABLE", e, json!({"plan": plan, "detail": message})),
        WaveError::EmptyFleet => Failure::new("EMPTY_FLEET", e, json!({})),
        WaveError::LeaseHeld { plan, holder, expires } => Failure::new("LEASE_HELD", e, json!({"plan": plan, "holder": holder, "expires": expires})),
        WaveError::Fleet(f) => fleet(f),
        WaveError::Backend(b) => backend(b),
    }
}

/// The code and fields of a Prometheus query error.
pub fn prometheus(e: &PrometheusError) -> Failure {
    match e {
        PrometheusError::Unreachable { address, attempts, source } => {
            Failure::new("PROMETHEUS_UNREACHABLE", e, json!({"address": address, "attempts": attempts, "detail": source.to_string()}))
        }
        PrometheusError::Refused { error_type, error } => Failure::new("PROMETHEUS_REFUSED", e, json!({"errorType": error_type, "detail": error})),
        PrometheusError::Malformed { status, detail } => Failure::new("PROMETHEUS_MALFORMED", e, json!({"status": status, "detail": detail})),
    }
}
