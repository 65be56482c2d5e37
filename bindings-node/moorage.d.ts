// The public types of the `moorage` package: the generated declarations of the native module
// (index.d.ts, napi build) and those of moorage.js (error classes, `watch`).
export * from './index'
import type { ProgressEvent } from './index'

/** The base class of every error moorage throws: `code` names the core error variant. */
export declare class MoorageError extends Error {
  readonly code: ErrorCode
}
/** Errors of a backend operation. */
export declare class BackendError extends MoorageError {
  /** `Kind namespace/name` of the object concerned, when there is one. */
  readonly object: string | null
}
/** Errors of the tenant lifecycle. */
export declare class TenantError extends MoorageError {}
/** Errors of a fleet (its clusters, tenant placement). */
export declare class FleetError extends MoorageError {}
/** Errors of a fleet wave plan that could not start or go on. */
export declare class WaveError extends MoorageError {}
/** Errors of a Prometheus query (usage reports). */
export declare class PrometheusError extends MoorageError {}

export type ErrorCode =
  | 'VALIDATION' | 'SPEC' | 'QUOTA_INSUFFICIENT' | 'ROLLOUT_STUCK' | 'VERSION_SELECTED' | 'NO_SUCH_REVISION'
  | 'NOTHING_TO_PROMOTE' | 'NOTHING_TO_ABORT' | 'NOTHING_TO_RETRY' | 'UNSUPPORTED' | 'ANALYSIS_FAILED'
  | 'QUOTA_EXCEEDED' | 'FORBIDDEN' | 'CONFLICT' | 'MODIFIED' | 'INVALID_OBJECT' | 'NOT_FOUND' | 'MISSING_KIND' | 'TIMEOUT' | 'UNAVAILABLE'
  | 'DOMAIN_TAKEN' | 'DOMAIN_CONTENDED' | 'TENANT_PROTECTED' | 'TENANT_NOT_FOUND' | 'SERIALIZE' | 'TOKEN_REQUEST' | 'SPEC_NOT_RECORDED' | 'CONFIG' | 'MANIFEST'
  | 'DUPLICATE_CLUSTER' | 'UNKNOWN_CLUSTER' | 'NO_CAPACITY' | 'ALREADY_PLACED'
  | 'PLAN_EXISTS' | 'NO_SUCH_PLAN' | 'NOTHING_SELECTED' | 'WAVE_STATE_UNREADABLE' | 'EMPTY_FLEET' | 'LEASE_HELD'
  | 'PROMETHEUS_UNREACHABLE' | 'PROMETHEUS_REFUSED' | 'PROMETHEUS_MALFORMED'
  | 'BATCH_FINISHED'

/** `VALIDATION`: every problem of a spec, each with its field's path. */
export declare class ValidationError extends MoorageError {
  readonly code: 'VALIDATION'
  readonly errors: { path: string; message: string }[]
}
/** `SPEC`: a spec is not well-formed (bad YAML, unknown field, wrong type). */
export declare class SpecError extends MoorageError {
  readonly code: 'SPEC'
  readonly path: string
  readonly line: number | null
  readonly detail: string
}
/** `QUOTA_INSUFFICIENT`: the quota cannot hold the rollout's peak; nothing was created. */
export declare class QuotaInsufficientError extends MoorageError {
  readonly code: 'QUOTA_INSUFFICIENT'
  readonly resource: string
  readonly needed: string
  readonly available: string
  readonly hint: string
}
/** `ROLLOUT_STUCK`: the new version did not become ready; the previous one still serves. */
export declare class RolloutStuckError extends MoorageError {
  readonly code: 'ROLLOUT_STUCK'
  readonly version: string
  readonly cause: string
  readonly causeDetail: Record<string, unknown>
  readonly object: string
  readonly detail: string
  readonly events: string[]
}
/** `VERSION_SELECTED`: the stable Service selects this version. */
export declare class VersionSelectedError extends MoorageError {
  readonly code: 'VERSION_SELECTED'
  readonly app: string
  readonly version: string
}
/** `NO_SUCH_REVISION`. */
export declare class NoSuchRevisionError extends MoorageError {
  readonly code: 'NO_SUCH_REVISION'
  readonly app: string
  readonly revision: number
}
/** `NOTHING_TO_PROMOTE`. */
export declare class NothingToPromoteError extends MoorageError {
  readonly code: 'NOTHING_TO_PROMOTE'
  readonly app: string
}
/** `NOTHING_TO_ABORT`. */
export declare class NothingToAbortError extends MoorageError {
  readonly code: 'NOTHING_TO_ABORT'
  readonly app: string
}
/** `NOTHING_TO_RETRY`. */
export declare class NothingToRetryError extends MoorageError {
  readonly code: 'NOTHING_TO_RETRY'
  readonly app: string
}
/** `UNSUPPORTED`: the release asks for something the engine does not do yet. */
export declare class UnsupportedError extends MoorageError {
  readonly code: 'UNSUPPORTED'
  readonly app: string
  readonly what: string
}
/** `QUOTA_EXCEEDED`: a ResourceQuota refused an object. */
export declare class QuotaExceededError extends BackendError {
  readonly code: 'QUOTA_EXCEEDED'
  readonly quota: string
  readonly resource: string
  readonly requested: string
  readonly used: string
  readonly limit: string
}
/** `FORBIDDEN`. */
export declare class ForbiddenError extends BackendError {
  readonly code: 'FORBIDDEN'
  readonly detail: string
}
/** `CONFLICT`: another field manager owns a field. */
export declare class ConflictError extends BackendError {
  readonly code: 'CONFLICT'
  readonly field: string
  readonly manager: string
}
/** `MODIFIED`: the object changed after the read a write was conditional on; nothing was written: read it again and retry. */
export declare class ModifiedError extends BackendError {
  readonly code: 'MODIFIED'
  readonly detail: string
}
/** `INVALID_OBJECT`: the API server rejected an object. */
export declare class InvalidObjectError extends BackendError {
  readonly code: 'INVALID_OBJECT'
  readonly causes: { field: string; message: string }[]
}
/** `NOT_FOUND`. */
export declare class NotFoundError extends BackendError {
  readonly code: 'NOT_FOUND'
}
/** `MISSING_KIND`: the cluster does not serve this kind (a CRD is missing). */
export declare class MissingKindError extends BackendError {
  readonly code: 'MISSING_KIND'
  readonly apiVersion: string
  readonly kind: string
  readonly hint: string
}
/** `TIMEOUT`: a wait ended before its condition held. */
export declare class TimeoutError extends BackendError {
  readonly code: 'TIMEOUT'
  readonly waitingFor: string
  readonly seconds: number
}
/** `UNAVAILABLE`: the API server could not be reached. */
export declare class UnavailableError extends BackendError {
  readonly code: 'UNAVAILABLE'
  readonly attempts: number
  readonly detail: string
}
/** `DOMAIN_TAKEN`: another tenant holds the domain; nothing was written. */
export declare class DomainTakenError extends TenantError {
  readonly code: 'DOMAIN_TAKEN'
  readonly domain: string
  readonly holder: string
}
/** `DOMAIN_CONTENDED`: another tenant claimed the domain at the same instant; this apply's claim was put back: apply again. */
export declare class DomainContendedError extends TenantError {
  readonly code: 'DOMAIN_CONTENDED'
  readonly domain: string
  readonly rival: string
}
/** `TENANT_PROTECTED`: deleting it needs `confirm`. */
export declare class TenantProtectedError extends TenantError {
  readonly code: 'TENANT_PROTECTED'
  readonly tenant: string
}
/** `TENANT_NOT_FOUND`. */
export declare class TenantNotFoundError extends TenantError {
  readonly code: 'TENANT_NOT_FOUND'
  readonly tenant: string
}
/** `SERIALIZE`: a compiled object could not be turned into JSON (a bug in moorage). */
export declare class SerializeError extends TenantError {
  readonly code: 'SERIALIZE'
  readonly object: string
  readonly detail: string
}
/** `TOKEN_REQUEST`: the TokenRequest API refused to issue a token. */
export declare class TokenRequestError extends TenantError {
  readonly code: 'TOKEN_REQUEST'
  readonly tenant: string
  readonly detail: string
}
/** `SPEC_NOT_RECORDED`: the tenant's Namespace has no readable recorded spec; apply it again. */
export declare class SpecNotRecordedError extends TenantError {
  readonly code: 'SPEC_NOT_RECORDED'
  readonly tenant: string
  readonly detail: string
}
/** `ANALYSIS_FAILED`: an analysis failed and the new version was rolled back. */
export declare class AnalysisFailedError extends MoorageError {
  readonly code: 'ANALYSIS_FAILED'
  readonly app: string
  readonly version: string
  readonly analysis: string
  readonly gate: string
  readonly reason: string
  readonly rolledBackTo: string
  readonly result: unknown
}
/** `CONFIG`: the kubeconfig could not be read or used. */
export declare class ConfigError extends MoorageError {
  readonly code: 'CONFIG'
  readonly detail: string
}
/** `MANIFEST`: manifests could not be written or read. */
export declare class ManifestError extends MoorageError {
  readonly code: 'MANIFEST'
}

/** `DUPLICATE_CLUSTER`: two clusters of the fleet share a name. */
export declare class DuplicateClusterError extends FleetError {
  readonly code: 'DUPLICATE_CLUSTER'
  readonly cluster: string
}
/** `UNKNOWN_CLUSTER`: the fleet has no cluster of that name. */
export declare class UnknownClusterError extends FleetError {
  readonly code: 'UNKNOWN_CLUSTER'
  readonly cluster: string
}
/** `NO_CAPACITY`: no cluster with the required labels has free capacity. */
export declare class NoCapacityError extends FleetError {
  readonly code: 'NO_CAPACITY'
  /** The required labels, `key=value`. */
  readonly required: string[]
}
/** `ALREADY_PLACED`: the tenant lives on another cluster than its pin. */
export declare class AlreadyPlacedError extends FleetError {
  readonly code: 'ALREADY_PLACED'
  readonly tenant: string
  readonly cluster: string
}
/** `PLAN_EXISTS`: a wave plan of this name exists with another spec. */
export declare class PlanExistsError extends WaveError {
  readonly code: 'PLAN_EXISTS'
  readonly plan: string
}
/** `NO_SUCH_PLAN`: no wave plan of this name was started. */
export declare class NoSuchPlanError extends WaveError {
  readonly code: 'NO_SUCH_PLAN'
  readonly plan: string
}
/** `NOTHING_SELECTED`: no tenant of the fleet runs the app and matches the selection. */
export declare class NothingSelectedError extends WaveError {
  readonly code: 'NOTHING_SELECTED'
  readonly app: string
}
/** `WAVE_STATE_UNREADABLE`: the stored wave plan cannot be read. */
export declare class WaveStateUnreadableError extends WaveError {
  readonly code: 'WAVE_STATE_UNREADABLE'
  readonly plan: string
  readonly detail: string
}
/** `EMPTY_FLEET`: the fleet has no cluster to keep the plan's state in. */
export declare class EmptyFleetError extends WaveError {
  readonly code: 'EMPTY_FLEET'
}
/** `LEASE_HELD`: another live driver runs the plan (one driver at a time). */
export declare class LeaseHeldError extends WaveError {
  readonly code: 'LEASE_HELD'
  readonly plan: string
  /** The driver holding the lease (`<hostname>-<pid>-<random>`). */
  readonly holder: string
  /** When its lease expires unless renewed (RFC 3339, the cluster's time). */
  readonly expires: string
}
/** `PROMETHEUS_UNREACHABLE`: Prometheus could not be queried (after the retries). */
export declare class PrometheusUnreachableError extends PrometheusError {
  readonly code: 'PROMETHEUS_UNREACHABLE'
  readonly address: string
  readonly attempts: number
  readonly detail: string
}
/** `PROMETHEUS_REFUSED`: Prometheus refused the query. */
export declare class PrometheusRefusedError extends PrometheusError {
  readonly code: 'PROMETHEUS_REFUSED'
  readonly errorType: string
  readonly detail: string
}
/** `PROMETHEUS_MALFORMED`: the answer is not what the Prometheus HTTP API returns. */
export declare class PrometheusMalformedError extends PrometheusError {
  readonly code: 'PROMETHEUS_MALFORMED'
  readonly status: number
  readonly detail: string
}
/** `BATCH_FINISHED`: a `CompileBatch` pushed to or finished again after it was finished. */
export declare class BatchFinishedError extends MoorageError {
  readonly code: 'BATCH_FINISHED'
}

/** The error class of each code. */
export declare const errorClasses: Record<ErrorCode, typeof MoorageError>

/** A running release operation or wave plan: its progress events as an async iterable, and its result. */
export interface Watched<T, E = ProgressEvent> extends AsyncIterable<E> {
  readonly result: Promise<T>
}

/**
 * Runs `start(onProgress)` and iterates over the progress events it reports: rollout
 * `ProgressEvent`s by default, `WaveEvent`s with `watch<WaveState, WaveEvent>(...)`.
 */
export declare function watch<T, E = ProgressEvent>(start: (onProgress: (event: E) => void) => Promise<T>): Watched<T, E>
