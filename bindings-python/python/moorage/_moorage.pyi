"""Type stubs of the native module (checked against it by ``python -m mypy.stubtest``)."""

import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Optional, Union

from typing_extensions import TypeAlias, final

__all__ = [
    "Tenant",
    "Quota",
    "Release",
    "BlueGreen",
    "Rolling",
    "Canary",
    "Cluster",
    "RolloutReport",
    "ReleaseStatus",
    "VersionStatus",
    "Revision",
    "compile",
    "compile_tenants",
    "compile_many",
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
    "QuotaExceeded",
    "Forbidden",
    "Conflict",
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
    ) -> BlueGreen: ...
    def to_dict(self) -> dict[str, _Json]: ...

@final
class Rolling:
    def __new__(cls, *, max_surge: Union[str, int, None] = None, max_unavailable: Union[str, int, None] = None) -> Rolling: ...
    def to_dict(self) -> dict[str, _Json]: ...

@final
class Canary:
    def __new__(cls, steps: Sequence[Mapping[str, _Json]], *, traffic: Optional[str] = None) -> Canary: ...
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
    def to_dict(self) -> dict[str, _Json]: ...
    def to_yaml(self) -> str: ...

def compile(tenant: Tenant, releases: Sequence[Release] = ...) -> str: ...
def compile_tenants(tenants: Sequence[Tenant]) -> str: ...
def compile_many(units: Sequence[tuple[Tenant, Sequence[Release]]]) -> str: ...

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
    def simulated(cls) -> Cluster: ...
    @classmethod
    def manifests(cls, path: _StrPath) -> Cluster: ...
    @classmethod
    def from_kubeconfig(cls, path: Optional[_StrPath] = None, context: Optional[str] = None) -> Cluster: ...
    def describe(self) -> str: ...
    def apply_tenant(self, tenant: Tenant, *, timeout: float = 60.0) -> int: ...
    def a_apply_tenant(self, tenant: Tenant, *, timeout: float = 60.0) -> Awaitable[int]: ...
    def plan_tenant(self, tenant: Tenant) -> dict[str, Any]: ...
    def a_plan_tenant(self, tenant: Tenant) -> Awaitable[dict[str, Any]]: ...
    def tenant_status(self, tenant: Tenant) -> dict[str, Any]: ...
    def a_tenant_status(self, tenant: Tenant) -> Awaitable[dict[str, Any]]: ...
    def suspend_tenant(self, tenant: Tenant) -> list[str]: ...
    def resume_tenant(self, tenant: Tenant) -> list[str]: ...
    def delete_tenant(self, tenant: Tenant, *, confirm: bool = False, purge: bool = False) -> dict[str, Any]: ...
    def a_delete_tenant(self, tenant: Tenant, *, confirm: bool = False, purge: bool = False) -> Awaitable[dict[str, Any]]: ...
    def live_tenant(self, name: str) -> Tenant: ...
    def rollout(
        self, tenant: Tenant, release: Release, *, timeout: float = 600.0, wait_for_scale_down: bool = True, on_progress: Optional[_ProgressCallback] = None
    ) -> RolloutReport: ...
    def a_rollout(
        self, tenant: Tenant, release: Release, *, timeout: float = 600.0, wait_for_scale_down: bool = True, on_progress: Optional[_ProgressCallback] = None
    ) -> Awaitable[RolloutReport]: ...
    def resume(self, tenant: Tenant, app: str, *, timeout: float = 600.0, on_progress: Optional[_ProgressCallback] = None) -> Optional[RolloutReport]: ...
    def promote(
        self, tenant: Tenant, app: str, *, timeout: float = 600.0, wait_for_scale_down: bool = True, on_progress: Optional[_ProgressCallback] = None
    ) -> RolloutReport: ...
    def a_promote(
        self, tenant: Tenant, app: str, *, timeout: float = 600.0, wait_for_scale_down: bool = True, on_progress: Optional[_ProgressCallback] = None
    ) -> Awaitable[RolloutReport]: ...
    def rollback(
        self,
        tenant: Tenant,
        app: str,
        to: Optional[int] = None,
        *,
        timeout: float = 600.0,
        wait_for_scale_down: bool = True,
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
        on_progress: Optional[_ProgressCallback] = None,
    ) -> Awaitable[RolloutReport]: ...
    def status(self, tenant: Tenant, app: str) -> ReleaseStatus: ...
    def history(self, tenant: Tenant, app: str) -> list[Revision]: ...
    def delete_version(self, tenant: Tenant, app: str, version: str) -> None: ...

@final
class Fleet:
    def __new__(cls, clusters: Sequence[Mapping[str, Any]]) -> Fleet: ...
    def apply_tenant(
        self, tenant: Tenant, *, pin: Optional[str] = None, labels: Optional[Mapping[str, str]] = None, timeout: float = 60.0
    ) -> tuple[str, int]: ...
    def list(self) -> list[tuple[str, str]]: ...
    def start_waves(
        self, plan: Union[Mapping[str, Any], _StrPath], *, timeout: float = 600.0, on_progress: Optional[_ProgressCallback] = None
    ) -> dict[str, Any]: ...
    def a_start_waves(
        self, plan: Union[Mapping[str, Any], _StrPath], *, timeout: float = 600.0, on_progress: Optional[_ProgressCallback] = None
    ) -> Awaitable[dict[str, Any]]: ...
    def resume_waves(self, name: str, *, timeout: float = 600.0, on_progress: Optional[_ProgressCallback] = None) -> dict[str, Any]: ...
    def waves_status(self, name: str) -> Optional[dict[str, Any]]: ...

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
