"""Usage reports (the core's usage module) from Python, against a real Prometheus scraping an
exporter whose usage the test sets, compared with the figures computed by hand."""

from __future__ import annotations

import asyncio
import datetime
import math
import time

import pytest

import moorage
from prometheus_server import REQUESTS_PER_SECOND, Exporter, free_port, start_prometheus

GIB = 1024.0**3


def close(actual: float, expected: float, tolerance: float, what: str) -> None:
    error = abs(actual) if expected == 0 else abs((actual - expected) / expected)
    assert error <= tolerance, f"{what}: {actual} is not within {tolerance * 100}% of {expected}"


def test_a_usage_report_matches_the_figures_computed_by_hand() -> None:
    # acme: two pods (0.5 + 0.25 cores, 512 + 256 MiB), two 5 GiB volumes, 100 requests/s.
    # globex: one pod (1 core, 1 GiB), one 2 GiB volume, no requests.
    exporter = Exporter("acme", "webserver")
    exporter.set_error_rate("blue", 0.1)
    exporter.set_usage("acme", "web-1", 0.5, 512 * 1024**2, 5 * GIB)
    exporter.set_usage("acme", "web-2", 0.25, 256 * 1024**2, 5 * GIB)
    exporter.set_usage("globex", "bi-1", 1.0, GIB, 2 * GIB)
    prometheus = None
    try:
        prometheus = start_prometheus([f"127.0.0.1:{exporter.port}"])
        # Enough scrapes for every point of the period to see a full rate window.
        prometheus.wait_for_data("sum(rate(container_cpu_usage_seconds_total[4s]))")
        time.sleep(10)
        now = math.floor(time.time())
        # Six one-second points, ending two seconds ago (the last scrape is in).
        period = {"start": now - 8, "end": now - 2, "step": 1, "rate_window": "4s"}
        seconds = 6.0
        client = moorage.Prometheus(prometheus.address)

        acme = client.tenant_usage("acme", **period)
        # By hand: cores x seconds / 3600; GiB x seconds / 3600; GiB x seconds / 86400; requests/s x seconds.
        close(acme.cpu_core_hours, 0.75 * seconds / 3600, 0.01, "acme CPU core-hours")
        close(acme.memory_gib_hours, 0.75 * seconds / 3600, 1e-9, "acme memory GiB-hours")
        close(acme.storage_gib_days, 10 * seconds / 86_400, 1e-9, "acme storage GiB-days")
        close(acme.requests, REQUESTS_PER_SECOND * seconds, 0.01, "acme requests (200s and 500s)")
        assert acme.to_dict() == {"cpuCoreHours": acme.cpu_core_hours, "memoryGibHours": acme.memory_gib_hours, "storageGibDays": acme.storage_gib_days, "requests": acme.requests}

        # The same from a Tenant object, as a coroutine, with datetimes and a timedelta.
        as_dates = {
            "start": datetime.datetime.fromtimestamp(now - 8, tz=datetime.timezone.utc),
            "end": datetime.datetime.fromtimestamp(now - 2, tz=datetime.timezone.utc),
            "step": datetime.timedelta(seconds=1),
            "rate_window": 4.0,
        }

        async def coroutines() -> tuple[moorage.Usage, moorage.UsageReport]:
            return await client.a_tenant_usage(moorage.Tenant("acme"), **as_dates), await client.a_fleet_usage(["acme", "globex"], **period)

        again, afleet = asyncio.run(coroutines())
        close(again.memory_gib_hours, acme.memory_gib_hours, 1e-9, "the coroutine's memory GiB-hours")
        close(again.storage_gib_days, acme.storage_gib_days, 1e-9, "the coroutine's storage GiB-days")

        fleet = client.fleet_usage(["acme", "globex", "initech"], **period)
        assert (fleet.start, fleet.end, fleet.step, fleet.rate_window) == (now - 8, now - 2, 1.0, 4.0)
        assert sorted(fleet.tenants) == ["acme", "globex", "initech"]
        globex = fleet.tenants["globex"]
        close(globex.cpu_core_hours, 1.0 * seconds / 3600, 0.01, "globex CPU core-hours")
        close(globex.memory_gib_hours, 1.0 * seconds / 3600, 1e-9, "globex memory GiB-hours")
        close(globex.storage_gib_days, 2 * seconds / 86_400, 1e-9, "globex storage GiB-days")
        assert globex.requests == 0.0
        initech = fleet.tenants["initech"]
        assert (initech.cpu_core_hours, initech.memory_gib_hours, initech.storage_gib_days, initech.requests) == (0, 0, 0, 0), "no data, no usage"
        close(fleet.tenants["acme"].memory_gib_hours, acme.memory_gib_hours, 1e-9, "the same tenant in the fleet report")
        close(fleet.total.memory_gib_hours, 1.75 * seconds / 3600, 1e-9, "fleet memory GiB-hours")
        close(fleet.total.storage_gib_days, 12 * seconds / 86_400, 1e-9, "fleet storage GiB-days")
        close(fleet.total.cpu_core_hours, 1.75 * seconds / 3600, 0.01, "fleet CPU core-hours")
        close(afleet.total.storage_gib_days, 12 * seconds / 86_400, 1e-9, "the coroutine's fleet storage GiB-days")

        # The range query the reports are made of: one series per namespace, a point per second.
        query = "sum by (namespace) (container_memory_working_set_bytes)"
        by_namespace = {labels["namespace"]: points for labels, points in client.range(query, now - 8, now - 2, "1s")}
        assert sorted(by_namespace) == ["acme", "globex"], by_namespace
        assert [t for t, _ in by_namespace["acme"]] == [float(now - 8 + i) for i in range(7)]
        assert {v for _, v in by_namespace["acme"]} == {768 * 1024**2}

        async def ranged() -> list:
            return await client.a_range(query, now - 8, now - 2, 1)

        assert {labels["namespace"]: points for labels, points in asyncio.run(ranged())} == by_namespace

        # "The last 3 days": the core's sampling of such a period (one-minute points, 5-minute rate window).
        recent = client.fleet_usage(["acme"], last="3d")
        assert (recent.end - recent.start, recent.step, recent.rate_window) == (pytest.approx(3 * 86_400), 60.0, 300.0)
        assert recent.total.storage_gib_days >= 0
    finally:
        if prometheus is not None:
            prometheus.close()
        exporter.close()


def test_a_usage_report_needs_a_reachable_prometheus_and_a_valid_period() -> None:
    client = moorage.Prometheus(f"http://127.0.0.1:{free_port()}", timeout=2.0, attempts=1)
    with pytest.raises(moorage.PrometheusUnreachable) as info:
        client.tenant_usage("acme", last="3d")
    assert info.value.attempts == 1
    with pytest.raises(moorage.ValidationError) as invalid:
        client.tenant_usage("acme", last="3 days")
    assert [p for p, _ in invalid.value.errors] == ["period.last"]
    with pytest.raises(moorage.ValidationError) as backwards:
        client.fleet_usage(["acme"], start=200.0, end=100.0)
    assert [p for p, _ in backwards.value.errors] == ["period.end"]
    with pytest.raises(moorage.ValidationError) as none:
        client.tenant_usage("acme")
    assert [p for p, _ in none.value.errors] == ["period"]
