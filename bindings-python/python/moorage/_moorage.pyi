"""Type stubs of the native module (checked against it by ``python -m mypy.stubtest``)."""

import builtins
import datetime
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, Optional, Union, overload

from typing_extensions import TypeAlias, final

__all__ = [
    "Tenant",
    "Quota",
    "Release",
    "BlueGreen",
    "Rolling",
    "Canary",
    "Analysis",
    "Autoscaling",
    "CanaryStep",
    "Prometheus",
    "Usage",
    "UsageReport",
    "Cluster",
    "CiCredentials",
    "RolloutReport",
    "ReleaseStatus",
    "VersionStatus",
    "Revision",
    "compile",
    "compile_tenants",
    "compile_many",
    "json_schema",
    "Monitoring",
    "compile_monitoring",
    "MoorageError",
    "ValidationError",
    "SpecError",
    "QuotaInsufficient",
    "RolloutStuck",
    "VersionSelected",
    "NoSuchRevision",
    "NothingToPromote",
    "NothingToAbort",
    "NothingToRetry",
    "Unsupported",
    "AnalysisFailed",
    "BackendError",
    "PrometheusError",
    "PrometheusUnreachable",
    "PrometheusRefused",
    "PrometheusMalformed",
    "QuotaExceeded",
    "Forbidden",
    "Conflict",
    "Modified",
    "InvalidObject",
    "NotFound",
    "MissingKind",
    "Timeout",
    "Unavailable",
    "ConfigError",
    "ManifestError",
    "Fleet",
    "TenantError",
    "DomainTaken",
    "DomainContended",
    "TenantProtected",
    "TenantNotFound",
    "SpecNotRecorded",
    "TokenRequestRefused",
    "InternalError",
    "FleetError",
    "DuplicateCluster",
    "UnknownCluster",
    "NoCapacity",
    "AlreadyPlaced",
    "WaveError",
    "PlanExists",
    "NoSuchPlan",
    "NothingSelected",
    "WaveStateUnreadable",
    "EmptyFleet",
    "LeaseHeld",
]

_Json: TypeAlias = Any
_StrPath: TypeAlias = Union[str, "os.PathLike[str]"]
_ProgressCallback: TypeAlias = Callable[[dict[str, Any]], object]

@final
class Quota:
    def __new__(
        cls,
        *,
        limits_cpu: Optional[str] = None,
        limits_memory: Optional[str] = None,
        requests_cpu: Optional[str] = None,
        requests_memory: Optional[str] = None,
        requests_storage: Optional[str] = None,
        pods: Optional[int] = None,
        services: Optional[int] = None,
        configmaps: Optional[int] = None,
        secrets: Optional[int] = None,
        persistentvolumeclaims: Optional[int] = None,
        container_defaults: Optional[Mapping[str, _Json]] = None,
    ) -> Quota: ...
    @property
    def limits_cpu(self) -> Optional[str]: ...
    @property
    def limits_memory(self) -> Optional[str]: ...
    @property
    def requests_cpu(self) -> Optional[str]: ...
    @property
    def requests_memory(self) -> Optional[str]: ...
    @property
    def requests_storage(self) -> Optional[str]: ...
    @property
    def pods(self) -> Optional[int]: ...
    def to_dict(self) -> dict[str, _Json]: ...

@final
class BlueGreen:
    def __new__(
        cls,
        *,
        auto_promote: Optional[bool] = None,
        preview_host: Optional[str] = None,
        scale_down_delay: Optional[str] = None,
        keep_previous: Optional[int] = None,
        pre_promotion_analysis: Optional[Sequence[str]] = None,
        post_promotion_analysis: Optional[Sequence[str]] = None,
    ) -> BlueGreen: ...
    def to_dict(self) -> dict[str, _Json]: ...

@final
class Rolling:
    def __new__(cls, *, max_surge: Union[str, int, None] = None, max_unavailable: Union[str, int, None] = None) -> Rolling: ...
    def to_dict(self) -> dict[str, _Json]: ...

@final
class CanaryStep:
    @classmethod
    def set_weight(cls, weight: int) -> CanaryStep: ...
    @classmethod
    def pause(cls, duration: Optional[str] = None) -> CanaryStep: ...
    @classmethod
    def analysis(cls, name: str) -> CanaryStep: ...
    def to_dict(self) -> dict[str, _Json]: ...

@final
class Canary:
    def __new__(cls, steps: Sequence[Union[CanaryStep, Mapping[str, _Json]]], *, traffic: Optional[str] = None) -> Canary: ...
    def to_dict(self) -> dict[str, _Json]: ...

@final
class Analysis:
    @classmethod
    def prometheus(
        cls,
        name: str,
        address: str,
        query: str,
        success_condition: str,
        *,
        timeout: Optional[str] = None,
        interval: Optional[str] = None,
        count: Optional[int] = None,
        failure_limit: Optional[int] = None,
    ) -> Analysis: ...
    @classmethod
    def job(
        cls,
        name: str,
        image: str,
        command: Sequence[str],
        *,
        env: Union[Mapping[str, str], Sequence[Mapping[str, _Json]], None] = None,
        timeout: Optional[str] = None,
        interval: Optional[str] = None,
        count: Optional[int] = None,
        failure_limit: Optional[int] = None,
    ) -> Analysis: ...
    @classmethod
    def http(
        cls,
        name: str,
        *,
        path: Optional[str] = None,
        url: Optional[str] = None,
        expected_status: Optional[int] = None,
        body_contains: Optional[str] = None,
        timeout: Optional[str] = None,
        interval: Optional[str] = None,
        count: Optional[int] = None,
        failure_limit: Optional[int] = None,
    ) -> Analysis: ...
    @classmethod
    def from_dict(cls, spec: Mapping[str, _Json]) -> Analysis: ...
    @property
    def name(self) -> str: ...
    @property
    def provider(self) -> str: ...
    @property
    def interval(self) -> str: ...
    @property
    def count(self) -> int: ...
    @property
    def failure_limit(self) -> int: ...
    def to_dict(self) -> dict[str, _Json]: ...

_Strategy: TypeAlias = Union[BlueGreen, Rolling, Canary]

@final
class Tenant:
    def __new__(
        cls,
        name: str,
        *,
        display_name: Optional[str] = None,
        labels: Optional[Mapping[str, str]] = None,
        quota: Union[Quota, Mapping[str, _Json], None] = None,
        members: Union[Mapping[str, str], Sequence[Mapping[str, _Json]], None] = None,
        domains: Optional[Sequence[str]] = None,
        allow_wildcard_domains: Optional[bool] = None,
        cert_issuer: Optional[str] = None,
        storage: Optional[Sequence[Mapping[str, _Json]]] = None,
        backups: Optional[Sequence[Mapping[str, _Json]]] = None,
        network: Optional[Mapping[str, _Json]] = None,
        pod_security: Optional[str] = None,
        protected: Optional[bool] = None,
        gateway: Optional[Mapping[str, str]] = None,
    ) -> Tenant: ...
    @classmethod
    def from_dict(cls, spec: Mapping[str, _Json]) -> Tenant: ...
    @classmethod
    def from_yaml(cls, text_or_path: _StrPath) -> Tenant: ...
    def with_quota(self, quota: Quota) -> Tenant: ...
    @property
    def name(self) -> str: ...
    @property
    def namespace(self) -> str: ...
    @property
    def display_name(self) -> Optional[str]: ...
    @property
    def domains(self) -> list[str]: ...
    @property
    def quota(self) -> Quota: ...
    def to_dict(self) -> dict[str, _Json]: ...
    def to_yaml(self) -> str: ...
    def compile(self) -> str: ...

@final
class Autoscaling:
    def __new__(cls, min_replicas: int, max_replicas: int, target_cpu_utilization: int) -> Autoscaling: ...
    @property
    def min_replicas(self) -> int: ...
    @property
    def max_replicas(self) -> int: ...
    @property
    def target_cpu_utilization(self) -> int: ...
    def to_dict(self) -> dict[str, _Json]: ...

@final
class Release:
    def __new__(
        cls,
        tenant: Union[Tenant, str],
        app: str,
        version: str,
        *,
        image: str,
        replicas: Optional[int] = None,
        ports: Optional[Sequence[Mapping[str, _Json]]] = None,
        resources: Optional[Mapping[str, _Json]] = None,
        env: Optional[Sequence[Mapping[str, _Json]]] = None,
        config_files: Optional[Mapping[str, str]] = None,
        config_mount_path: Optional[str] = None,
        liveness: Optional[Mapping[str, _Json]] = None,
        readiness: Optional[Mapping[str, _Json]] = None,
        hosts: Optional[Sequence[str]] = None,
        strategy: Union[_Strategy, Mapping[str, _Json], None] = None,
        analyses: Optional[Sequence[Union[Analysis, Mapping[str, _Json]]]] = None,
        metrics: Optional[Mapping[str, _Json]] = None,
        autoscaling: Union[Autoscaling, Mapping[str, _Json], None] = None,
    ) -> Release: ...
    @classmethod
    def from_dict(cls, spec: Mapping[str, _Json]) -> Release: ...
    @classmethod
    def from_yaml(cls, text_or_path: _StrPath) -> Release: ...
    @property
    def tenant(self) -> str: ...
    @property
    def app(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def image(self) -> str: ...
    @property
    def replicas(self) -> int: ...
    @property
    def hosts(self) -> list[str]: ...
    @property
    def strategy(self) -> _Strategy: ...
    @property
    def analyses(self) -> list[Analysis]: ...
    @property
    def metrics(self) -> Optional[dict[str, _Json]]: ...
    @property
    def autoscaling(self) -> Optional[Autoscaling]: ...
    def to_dict(self) -> dict[str, _Json]: ...
    def to_yaml(self) -> str: ...

def compile(tenant: Tenant, releases: Sequence[Release] = ...) -> str: ...
def compile_tenants(tenants: Sequence[Tenant]) -> str: ...
@overload
def compile_many(units: Iterable[tuple[Union[Tenant, dict[str, _Json]], Sequence[Union[Release, dict[str, _Json]]]]], *, path: None = None) -> str: ...
@overload
def compile_many(units: Iterable[tuple[Union[Tenant, dict[str, _Json]], Sequence[Union[Release, dict[str, _Json]]]]], *, path: _StrPath) -> tuple[int, int]: ...
def json_schema(kind: str) -> dict[str, _Json]: ...

@final
class Monitoring:
    @property
    def objects(self) -> list[dict[str, _Json]]: ...
    @property
    def rules(self) -> dict[str, _Json]: ...
    @property
    def dashboard(self) -> dict[str, _Json]: ...
    def write_files(self, dir: _StrPath) -> list[str]: ...

def compile_monitoring(tenant: Tenant, releases: Sequence[Release] = ..., *, prometheus_operator: bool = False) -> Monitoring: ...

@final
class RolloutReport:
    @property
    def revision(self) -> int: ...
    @property
    def version(self) -> str: ...
    @property
    def previous(self) -> Optional[str]: ...
    @property
    def phase(self) -> str: ...
    @property
    def unchanged(self) -> bool: ...
    @property
    def switch_latency(self) -> Optional[float]: ...
    @property
    def extra_pods(self) -> int: ...
    @property
    def analyses(self) -> list[dict[str, _Json]]: ...

@final
class VersionStatus:
    @property
    def version(self) -> str: ...
    @property
    def desired(self) -> int: ...
    @property
    def ready(self) -> int: ...
    @property
    def selected(self) -> bool: ...

@final
class ReleaseStatus:
    @property
    def app(self) -> str: ...
    @property
    def active(self) -> Optional[str]: ...
    @property
    def versions(self) -> list[VersionStatus]: ...
    @property
    def rollout_phase(self) -> Optional[str]: ...
    @property
    def revision(self) -> Optional[int]: ...
    @property
    def canary_weight(self) -> Optional[int]: ...
    @property
    def drift(self) -> list[dict[str, _Json]]: ...

@final
class Revision:
    @property
    def number(self) -> int: ...
    @property
    def version(self) -> str: ...
    @property
    def image(self) -> str: ...
    @property
    def replicas(self) -> int: ...
    @property
    def strategy(self) -> str: ...
    @property
    def by(self) -> str: ...
    @property
    def started_at(self) -> int: ...
    @property
    def finished_at(self) -> Optional[int]: ...
    @property
    def outcome(self) -> str: ...
    @property
    def outcome_detail(self) -> dict[str, _Json]: ...
    @property
    def analyses(self) -> list[dict[str, _Json]]: ...

@final
class Cluster:
    @classmethod
    def simulated(cls, *, failures: Optional[Mapping[str, str]] = None) -> Cluster: ...
    @classmethod
    def load(cls, path: _StrPath) -> Cluster: ...
    def save(self, path: _StrPath) -> None: ...
    def inject_failure(self, image_pattern: str, failure: str) -> None: ...
    def clear_failures(self) -> None: ...
    def advance(self, seconds: float) -> None: ...
    @classmethod
    def manifests(cls, path: _StrPath) -> Cluster: ...
    @classmethod
    def from_kubeconfig(cls, path: Optional[_StrPath] = None, context: Optional[str] = None) -> Cluster: ...
    @classmethod
    def in_cluster(cls) -> Cluster: ...
    def describe(self) -> str: ...
    def prometheus_operator_installed(self) -> bool: ...
    def apply_tenant(self, tenant: Tenant, *, timeout: float = 60.0, force: bool = False, storage_classes: Optional[Sequence[str]] = None) -> int: ...
    def a_apply_tenant(self, tenant: Tenant, *, timeout: float = 60.0, force: bool = False, storage_classes: Optional[Sequence[str]] = None) -> Awaitable[int]: ...
    def plan_tenant(self, tenant: Tenant) -> dict[str, Any]: ...
    def a_plan_tenant(self, tenant: Tenant) -> Awaitable[dict[str, Any]]: ...
    def tenant_status(self, tenant: Tenant) -> dict[str, Any]: ...
    def a_tenant_status(self, tenant: Tenant) -> Awaitable[dict[str, Any]]: ...
    def suspend_tenant(self, tenant: Tenant) -> list[str]: ...
    def a_suspend_tenant(self, tenant: Tenant) -> Awaitable[list[str]]: ...
    def resume_tenant(self, tenant: Tenant) -> list[str]: ...
    def a_resume_tenant(self, tenant: Tenant) -> Awaitable[list[str]]: ...
    def delete_tenant(self, tenant: Tenant, *, confirm: bool = False, purge: bool = False) -> dict[str, Any]: ...
    def a_delete_tenant(self, tenant: Tenant, *, confirm: bool = False, purge: bool = False) -> Awaitable[dict[str, Any]]: ...
    def live_tenant(self, name: str) -> Tenant: ...
    def list_tenants(self) -> list[dict[str, Any]]: ...
    def a_list_tenants(self) -> Awaitable[list[dict[str, Any]]]: ...
    def ci_credentials(
        self, tenant: Tenant, *, server: Optional[str] = None, ttl: float = 3600.0, certificate_authority_data: Optional[str] = None
    ) -> CiCredentials: ...
    def a_ci_credentials(
        self, tenant: Tenant, *, server: Optional[str] = None, ttl: float = 3600.0, certificate_authority_data: Optional[str] = None
    ) -> Awaitable[CiCredentials]: ...
    def plan_release(self, tenant: Tenant, release: Release) -> dict[str, Any]: ...
    def a_plan_release(self, tenant: Tenant, release: Release) -> Awaitable[dict[str, Any]]: ...
    def preflight(self, tenant: Tenant, release: Release) -> dict[str, Any]: ...
    def a_preflight(self, tenant: Tenant, release: Release) -> Awaitable[dict[str, Any]]: ...
    def rollout(
        self,
        tenant: Tenant,
        release: Release,
        *,
        timeout: float = 600.0,
        wait_for_scale_down: bool = True,
        force: bool = False,
        on_progress: Optional[_ProgressCallback] = None,
    ) -> RolloutReport: ...
    def a_rollout(
        self,
        tenant: Tenant,
        release: Release,
        *,
        timeout: float = 600.0,
        wait_for_scale_down: bool = True,
        force: bool = False,
        on_progress: Optional[_ProgressCallback] = None,
    ) -> Awaitable[RolloutReport]: ...
    def resume(
        self, tenant: Tenant, app: str, *, timeout: float = 600.0, force: bool = False, on_progress: Optional[_ProgressCallback] = None
    ) -> Optional[RolloutReport]: ...
    def a_resume(
        self, tenant: Tenant, app: str, *, timeout: float = 600.0, force: bool = False, on_progress: Optional[_ProgressCallback] = None
    ) -> Awaitable[Optional[RolloutReport]]: ...
    def promote(
        self,
        tenant: Tenant,
        app: str,
        *,
        timeout: float = 600.0,
        wait_for_scale_down: bool = True,
        force: bool = False,
        on_progress: Optional[_ProgressCallback] = None,
    ) -> RolloutReport: ...
    def a_promote(
        self,
        tenant: Tenant,
        app: str,
        *,
        timeout: float = 600.0,
        wait_for_scale_down: bool = True,
        force: bool = False,
        on_progress: Optional[_ProgressCallback] = None,
    ) -> Awaitable[RolloutReport]: ...
    def rollback(
        self,
        tenant: Tenant,
        app: str,
        to: Optional[int] = None,
        *,
        timeout: float = 600.0,
        wait_for_scale_down: bool = True,
        force: bool = False,
        on_progress: Optional[_ProgressCallback] = None,
    ) -> RolloutReport: ...
    def a_rollback(
        self,
        tenant: Tenant,
        app: str,
        to: Optional[int] = None,
        *,
        timeout: float = 600.0,
        wait_for_scale_down: bool = True,
        force: bool = False,
        on_progress: Optional[_ProgressCallback] = None,
    ) -> Awaitable[RolloutReport]: ...
    def abort(
        self, tenant: Tenant, app: str, *, timeout: float = 600.0, force: bool = False, on_progress: Optional[_ProgressCallback] = None
    ) -> RolloutReport: ...
    def a_abort(
        self, tenant: Tenant, app: str, *, timeout: float = 600.0, force: bool = False, on_progress: Optional[_ProgressCallback] = None
    ) -> Awaitable[RolloutReport]: ...
    def retry(
        self,
        tenant: Tenant,
        app: str,
        *,
        timeout: float = 600.0,
        wait_for_scale_down: bool = True,
        force: bool = False,
        on_progress: Optional[_ProgressCallback] = None,
    ) -> RolloutReport: ...
    def a_retry(
        self,
        tenant: Tenant,
        app: str,
        *,
        timeout: float = 600.0,
        wait_for_scale_down: bool = True,
        force: bool = False,
        on_progress: Optional[_ProgressCallback] = None,
    ) -> Awaitable[RolloutReport]: ...
    def scale(
        self,
        tenant: Tenant,
        app: str,
        replicas: int,
        *,
        timeout: float = 600.0,
        force: bool = False,
        on_progress: Optional[_ProgressCallback] = None,
    ) -> RolloutReport: ...
    def a_scale(
        self,
        tenant: Tenant,
        app: str,
        replicas: int,
        *,
        timeout: float = 600.0,
        force: bool = False,
        on_progress: Optional[_ProgressCallback] = None,
    ) -> Awaitable[RolloutReport]: ...
    def status(self, tenant: Tenant, app: str) -> ReleaseStatus: ...
    def a_status(self, tenant: Tenant, app: str) -> Awaitable[ReleaseStatus]: ...
    def history(self, tenant: Tenant, app: str) -> list[Revision]: ...
    def a_history(self, tenant: Tenant, app: str) -> Awaitable[list[Revision]]: ...
    def delete_version(self, tenant: Tenant, app: str, version: str) -> None: ...
    def a_delete_version(self, tenant: Tenant, app: str, version: str) -> Awaitable[None]: ...

@final
class CiCredentials:
    @property
    def namespace(self) -> str: ...
    @property
    def service_account(self) -> str: ...
    @property
    def expires_at(self) -> str: ...
    @property
    def token(self) -> str: ...
    @property
    def kubeconfig(self) -> str: ...

_Duration: TypeAlias = Union[str, float, "datetime.timedelta"]
_Instant: TypeAlias = Union[float, "datetime.datetime"]

@final
class Usage:
    @property
    def cpu_core_hours(self) -> float: ...
    @property
    def memory_gib_hours(self) -> float: ...
    @property
    def storage_gib_days(self) -> float: ...
    @property
    def requests(self) -> float: ...
    def to_dict(self) -> dict[str, float]: ...

@final
class UsageReport:
    @property
    def start(self) -> float: ...
    @property
    def end(self) -> float: ...
    @property
    def step(self) -> float: ...
    @property
    def rate_window(self) -> float: ...
    @property
    def tenants(self) -> dict[str, Usage]: ...
    @property
    def total(self) -> Usage: ...

@final
class Prometheus:
    def __new__(cls, address: str, *, timeout: float = 10.0, attempts: int = 3) -> Prometheus: ...
    @property
    def address(self) -> str: ...
    def instant(self, query: str, time: Optional[_Instant] = None) -> list[tuple[dict[str, str], float]]: ...
    def a_instant(self, query: str, time: Optional[_Instant] = None) -> Awaitable[list[tuple[dict[str, str], float]]]: ...
    def range(self, query: str, start: _Instant, end: _Instant, step: _Duration) -> list[tuple[dict[str, str], list[tuple[float, float]]]]: ...
    def a_range(
        self, query: str, start: _Instant, end: _Instant, step: _Duration
    ) -> Awaitable[list[tuple[dict[str, str], list[tuple[float, float]]]]]: ...
    def tenant_usage(
        self,
        tenant: Union[Tenant, str],
        *,
        last: Optional[_Duration] = None,
        start: Optional[_Instant] = None,
        end: Optional[_Instant] = None,
        step: Optional[_Duration] = None,
        rate_window: Optional[_Duration] = None,
    ) -> Usage: ...
    def a_tenant_usage(
        self,
        tenant: Union[Tenant, str],
        *,
        last: Optional[_Duration] = None,
        start: Optional[_Instant] = None,
        end: Optional[_Instant] = None,
        step: Optional[_Duration] = None,
        rate_window: Optional[_Duration] = None,
    ) -> Awaitable[Usage]: ...
    def fleet_usage(
        self,
        tenants: Sequence[Union[Tenant, str]],
        *,
        last: Optional[_Duration] = None,
        start: Optional[_Instant] = None,
        end: Optional[_Instant] = None,
        step: Optional[_Duration] = None,
        rate_window: Optional[_Duration] = None,
    ) -> UsageReport: ...
    def a_fleet_usage(
        self,
        tenants: Sequence[Union[Tenant, str]],
        *,
        last: Optional[_Duration] = None,
        start: Optional[_Instant] = None,
        end: Optional[_Instant] = None,
        step: Optional[_Duration] = None,
        rate_window: Optional[_Duration] = None,
    ) -> Awaitable[UsageReport]: ...

@final
class Fleet:
    def __new__(cls, clusters: Sequence[Mapping[str, Any]]) -> Fleet: ...
    def apply_tenant(
        self,
        tenant: Tenant,
        *,
        pin: Optional[str] = None,
        labels: Optional[Mapping[str, str]] = None,
        timeout: float = 60.0,
        force: bool = False,
    ) -> tuple[str, int]: ...
    def a_apply_tenant(
        self,
        tenant: Tenant,
        *,
        pin: Optional[str] = None,
        labels: Optional[Mapping[str, str]] = None,
        timeout: float = 60.0,
        force: bool = False,
    ) -> Awaitable[tuple[str, int]]: ...
    def list(self) -> list[tuple[str, str]]: ...
    def a_list(self) -> Awaitable[builtins.list[tuple[str, str]]]: ...
    def start_waves(
        self, plan: Union[Mapping[str, Any], _StrPath], *, timeout: float = 600.0, on_progress: Optional[_ProgressCallback] = None
    ) -> dict[str, Any]: ...
    def a_start_waves(
        self, plan: Union[Mapping[str, Any], _StrPath], *, timeout: float = 600.0, on_progress: Optional[_ProgressCallback] = None
    ) -> Awaitable[dict[str, Any]]: ...
    def resume_waves(self, name: str, *, timeout: float = 600.0, on_progress: Optional[_ProgressCallback] = None) -> dict[str, Any]: ...
    def a_resume_waves(
        self, name: str, *, timeout: float = 600.0, on_progress: Optional[_ProgressCallback] = None
    ) -> Awaitable[dict[str, Any]]: ...
    def waves_status(self, name: str) -> Optional[dict[str, Any]]: ...
    def a_waves_status(self, name: str) -> Awaitable[Optional[dict[str, Any]]]: ...

class MoorageError(Exception): ...

class ValidationError(MoorageError):
    errors: list[tuple[str, str]]

class SpecError(MoorageError):
    path: str
    line: Optional[int]
    message: str

class QuotaInsufficient(MoorageError):
    resource: str
    needed: str
    available: str
    hint: str

class RolloutStuck(MoorageError):
    version: str
    cause: str
    cause_detail: dict[str, _Json]
    object: str
    message: str
    events: list[str]

class VersionSelected(MoorageError):
    app: str
    version: str

class NoSuchRevision(MoorageError):
    app: str
    revision: int

class NothingToPromote(MoorageError):
    app: str

class NothingToAbort(MoorageError):
    app: str

class NothingToRetry(MoorageError):
    app: str

class Unsupported(MoorageError):
    app: str
    what: str

class AnalysisFailed(MoorageError):
    app: str
    version: str
    analysis: str
    gate: str
    reason: str
    rolled_back_to: str
    result: dict[str, _Json]

class BackendError(MoorageError):
    object: Optional[str]

class PrometheusError(MoorageError): ...

class PrometheusUnreachable(PrometheusError):
    address: str
    attempts: int
    reason: str

class PrometheusRefused(PrometheusError):
    error_type: str
    error: str

class PrometheusMalformed(PrometheusError):
    status: int
    detail: str

class QuotaExceeded(BackendError):
    quota: str
    resource: str
    requested: str
    used: str
    limit: str

class Forbidden(BackendError):
    message: str

class Conflict(BackendError):
    field: str
    manager: str

class Modified(BackendError):
    message: str

class InvalidObject(BackendError):
    causes: list[tuple[str, str]]

class NotFound(BackendError): ...

class MissingKind(BackendError):
    api_version: str
    kind: str
    hint: str

class Timeout(BackendError):
    waiting_for: str
    seconds: int

class Unavailable(BackendError):
    attempts: int
    message: str

class ConfigError(MoorageError):
    message: str

class ManifestError(MoorageError):
    message: str

class TenantError(MoorageError): ...

class DomainTaken(TenantError):
    domain: str
    holder: str

class DomainContended(TenantError):
    domain: str
    rival: str

class TenantProtected(TenantError):
    tenant: str

class TenantNotFound(TenantError):
    tenant: str

class SpecNotRecorded(TenantError):
    tenant: str
    message: str

class TokenRequestRefused(TenantError):
    tenant: str
    message: str

class InternalError(MoorageError):
    object: str
    message: str

class FleetError(MoorageError): ...

class DuplicateCluster(FleetError):
    cluster: str

class UnknownCluster(FleetError):
    cluster: str

class NoCapacity(FleetError):
    required: list[str]

class AlreadyPlaced(FleetError):
    tenant: str
    cluster: str

class WaveError(MoorageError): ...

class PlanExists(WaveError):
    plan: str

class NoSuchPlan(WaveError):
    plan: str

class NothingSelected(WaveError):
    app: str

class WaveStateUnreadable(WaveError):
    plan: str
    message: str

class EmptyFleet(WaveError): ...

class LeaseHeld(WaveError):
    plan: str
    holder: str
    expires: str
