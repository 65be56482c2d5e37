"""Shared fixtures: the spec files of examples/specs and the real test control plane."""

import os
import time
from pathlib import Path

import pytest

import moorage

SPECS = Path(__file__).resolve().parents[2] / "examples" / "specs"


@pytest.fixture
def specs() -> Path:
    return SPECS


def cluster_required() -> bool:
    return bool(os.environ.get("CI")) or os.environ.get("MOORAGE_REQUIRE_CLUSTER") == "1"


@pytest.fixture
def real_cluster() -> moorage.Cluster:
    """The real test control plane (MOORAGE_TEST_KUBECONFIG); skipped when unset, unless required."""
    path = os.environ.get("MOORAGE_TEST_KUBECONFIG")
    if not path:
        if cluster_required():
            pytest.fail("MOORAGE_TEST_KUBECONFIG is unset but CI or MOORAGE_REQUIRE_CLUSTER=1 requires a control plane")
        pytest.skip("no test control plane (set MOORAGE_TEST_KUBECONFIG)")
    return moorage.Cluster.from_kubeconfig(path)


def unique(prefix: str) -> str:
    return f"{prefix}-{int(time.time() * 1000) % 10**8}-{os.getpid() % 1000}"
