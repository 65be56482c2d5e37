"""Analysis gates (the core's analysis module) from Python: a canary gated by a real Prometheus
scraping an exporter the test controls, on the simulated cluster (promoted with healthy metrics,
aborted and rolled back with a high error rate, paused as inconclusive without Prometheus), and a
blue/green whose verification Job gates the promotion; the keyword surface over the core's types."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

import moorage
from prometheus_server import Exporter, PrometheusServer, free_port, start_prometheus

ERROR_RATE = (
    'sum(rate(http_requests_total{tenant="{{tenant}}",app="{{app}}",version="{{version}}",code="500"}[10s]))'
    ' / sum(rate(http_requests_total{tenant="{{tenant}}",app="{{app}}",version="{{version}}"}[10s]))'
)


def tenant() -> moorage.Tenant:
    return moorage.Tenant("acme", quota=moorage.Quota(limits_cpu="4", limits_memory="4Gi", pods=20))


def error_rate(address: str) -> moorage.Analysis:
    return moorage.Analysis.prometheus("error-rate", address, ERROR_RATE, "result < 0.05", interval="2s", count=2, failure_limit=0)


def gated_canary() -> moorage.Canary:
    return moorage.Canary([moorage.CanaryStep.set_weight(25), moorage.CanaryStep.analysis("error-rate"), moorage.CanaryStep.set_weight(50)])


def webserver(version: str, strategy: object, analyses: list[moorage.Analysis]) -> moorage.Release:
    return moorage.Release(
        "acme",
        "webserver",
        version,
        image="nginxinc/nginx-unprivileged:1.27",
        replicas=4,
        ports=[{"name": "http", "port": 8080}],
        resources={"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}},
        strategy=strategy,
        analyses=analyses,
    )


def blue_live(address: str) -> tuple[moorage.Cluster, moorage.Tenant]:
    cluster, t = moorage.Cluster.simulated(), tenant()
    cluster.apply_tenant(t)
    report = cluster.rollout(t, webserver("blue", gated_canary(), [error_rate(address)]), timeout=180)
    assert (report.version, report.phase) == ("blue", "done")
    return cluster, t


@pytest.fixture
def exporter() -> Iterator[Exporter]:
    e = Exporter("acme", "webserver")
    e.set_error_rate("blue", 0.0)
    yield e
    e.close()


def prometheus_with_green(exporter: Exporter, green_errors: float) -> PrometheusServer:
    exporter.set_error_rate("green", green_errors)
    server = start_prometheus([f"127.0.0.1:{exporter.port}"])
    server.wait_for_data(ERROR_RATE.replace("{{tenant}}", "acme").replace("{{app}}", "webserver").replace("{{version}}", "green"))
    return server


def test_the_canary_with_healthy_metrics_is_promoted(exporter: Exporter) -> None:
    prometheus = prometheus_with_green(exporter, 0.0)
    try:
        cluster, t = blue_live(prometheus.address)
        events: list[dict] = []
        report = cluster.rollout(t, webserver("green", gated_canary(), [error_rate(prometheus.address)]), timeout=180, on_progress=events.append)
        assert report.phase == "done"
        assert cluster.status(t, "webserver").active == "green"
        finished = [(e["name"], e["gate"], e["verdict"]) for e in events if e["event"] == "analysis_finished"]
        assert finished == [("error-rate", "step 1", "passed")]
        assert [e["requested"] for e in events if e["event"] == "weight_set"] == [25, 50]
        revision = cluster.history(t, "webserver")[-1]
        assert (revision.version, revision.outcome) == ("green", "succeeded")
        measurements = revision.analyses[0]["measurements"]
        assert len(measurements) == 2, "count=2 measurements"
        assert all(m["verdict"] == "passed" and "meet(s) `result < 0.05`" in m["detail"] for m in measurements), measurements
    finally:
        prometheus.close()


def test_the_canary_with_a_high_error_rate_is_aborted_and_rolled_back(exporter: Exporter) -> None:
    prometheus = prometheus_with_green(exporter, 0.4)
    try:
        cluster, t = blue_live(prometheus.address)
        events: list[dict] = []
        with pytest.raises(moorage.AnalysisFailed) as info:
            cluster.rollout(t, webserver("green", gated_canary(), [error_rate(prometheus.address)]), timeout=180, on_progress=events.append)
        e = info.value
        assert (e.app, e.version, e.analysis, e.gate, e.rolled_back_to) == ("webserver", "green", "error-rate", "step 1", "blue")
        assert e.result["verdict"] == "failed"
        assert "does not meet `result < 0.05`" in e.result["measurements"][0]["detail"], e.result
        # Rolled back: blue serves alone at full size, green is scaled to 0, the 50% step never ran.
        status = cluster.status(t, "webserver")
        assert status.active == "blue"
        assert {v.version: v.desired for v in status.versions} == {"blue": 4, "green": 0}
        assert [e["requested"] for e in events if e["event"] == "weight_set"] == [25]
        revision = cluster.history(t, "webserver")[-1]
        assert (revision.version, revision.outcome) == ("green", "failed")
        assert revision.outcome_detail["reason"].startswith("analysis error-rate failed (step 1)"), revision.outcome_detail
        assert [a["verdict"] for a in revision.analyses] == ["failed"]
    finally:
        prometheus.close()


def test_with_prometheus_stopped_the_canary_pauses_as_inconclusive(exporter: Exporter) -> None:
    prometheus = prometheus_with_green(exporter, 0.0)
    try:
        cluster, t = blue_live(prometheus.address)
        prometheus.stop()
        report = cluster.rollout(t, webserver("green", gated_canary(), [error_rate(prometheus.address)]), timeout=180)
        assert report.phase == "paused", "never a pass without Prometheus"
        assert [a["verdict"] for a in report.analyses] == ["inconclusive"]
        assert "could not be queried" in report.analyses[0]["reason"], report.analyses[0]["reason"]
        # Paused at 25%: both versions serve, nothing was rolled back; promote or abort decide.
        status = cluster.status(t, "webserver")
        assert status.rollout_phase == "paused"
        assert {v.version: v.desired for v in status.versions} == {"blue": 3, "green": 1}
        assert status.canary_weight == 25
        assert cluster.history(t, "webserver")[-1].analyses[0]["verdict"] == "inconclusive"
        # The operator decides: abort puts all traffic back on blue at full size.
        aborted = cluster.abort(t, "webserver", timeout=180)
        assert (aborted.version, aborted.previous, aborted.phase) == ("blue", "green", "done")
        status = cluster.status(t, "webserver")
        assert status.active == "blue"
        assert {v.version: v.desired for v in status.versions} == {"blue": 4, "green": 0}
        assert cluster.history(t, "webserver")[-1].outcome == "failed"
        with pytest.raises(moorage.NothingToAbort):
            cluster.abort(t, "webserver")
    finally:
        prometheus.close()


def test_an_unreachable_prometheus_is_an_error_with_its_attempts_not_a_result() -> None:
    address = f"http://127.0.0.1:{free_port()}"
    client = moorage.Prometheus(address, timeout=2.0, attempts=2)
    with pytest.raises(moorage.PrometheusUnreachable) as info:
        client.instant("up")
    assert (info.value.address, info.value.attempts) == (address, 2)
    assert isinstance(info.value, moorage.PrometheusError) and isinstance(info.value, moorage.MoorageError)

    async def main() -> None:
        with pytest.raises(moorage.PrometheusUnreachable):
            await client.a_instant("up")

    asyncio.run(main())


def test_a_canary_gated_by_an_unreachable_prometheus_pauses_and_promote_decides() -> None:
    address = f"http://127.0.0.1:{free_port()}"
    cluster, t = blue_live(address)

    async def main() -> moorage.RolloutReport:
        return await cluster.a_rollout(t, webserver("green", gated_canary(), [error_rate(address)]), timeout=180)

    report = asyncio.run(main())
    assert report.phase == "paused"
    assert report.analyses[0]["verdict"] == "inconclusive"
    assert cluster.status(t, "webserver").canary_weight == 25
    done = cluster.promote(t, "webserver", timeout=180)
    assert done.phase == "done"
    assert cluster.status(t, "webserver").active == "green"


VERIFY_OK = "registry.test/verify:passes"
VERIFY_FAILS = "registry.test/verify:fails"


def verified(version: str, image: str) -> moorage.Release:
    strategy = moorage.BlueGreen(scale_down_delay="1s", pre_promotion_analysis=["smoke"])
    job = moorage.Analysis.job("smoke", image, ["sh", "-c", "curl -fsS $PREVIEW_URL/"], env={"EXPECT": "200"})
    return webserver(version, strategy, [job])


def test_a_failing_verification_job_is_not_promoted_and_the_revision_holds_its_result() -> None:
    cluster, t = moorage.Cluster.simulated(failures={VERIFY_FAILS: "crash_loop"}), tenant()
    cluster.apply_tenant(t)
    cluster.rollout(t, verified("blue", VERIFY_OK), timeout=180)
    with pytest.raises(moorage.AnalysisFailed) as info:
        cluster.rollout(t, verified("green", VERIFY_FAILS), timeout=180)
    e = info.value
    assert (e.analysis, e.gate, e.rolled_back_to) == ("smoke", "prePromotion", "blue")
    job = e.result["measurements"][0]["job"]
    assert (job["succeeded"], job["exitCode"], job["job"]) == (False, 1, "webserver-smoke-r2-0")
    status = cluster.status(t, "webserver")
    assert status.active == "blue"
    assert [v.version for v in status.versions] == ["blue"], "green is gone"
    revision = cluster.history(t, "webserver")[-1]
    assert revision.outcome == "failed"
    assert revision.analyses[0]["measurements"][0]["job"] == job, "the revision holds the Job's result"


def test_a_passing_verification_job_promotes() -> None:
    cluster, t = moorage.Cluster.simulated(failures={VERIFY_FAILS: "crash_loop"}), tenant()
    cluster.apply_tenant(t)
    cluster.rollout(t, verified("blue", VERIFY_OK), timeout=180)
    report = cluster.rollout(t, verified("green", VERIFY_OK), timeout=180)
    assert report.phase == "done"
    [result] = report.analyses
    assert (result["name"], result["provider"], result["gate"], result["verdict"]) == ("smoke", "job", "prePromotion", "passed")
    job = result["measurements"][0]["job"]
    assert (job["succeeded"], job["exitCode"]) == (True, 0)
    assert cluster.status(t, "webserver").active == "green"


def test_keyword_analyses_are_the_same_core_values_as_the_spec_form() -> None:
    address = "http://prometheus.monitoring:9090"
    spec = {
        "tenant": "acme",
        "app": "webserver",
        "version": "green",
        "image": "nginxinc/nginx-unprivileged:1.27",
        "ports": [{"name": "http", "port": 8080}],
        "strategy": {"type": "canary", "steps": [{"setWeight": 25}, {"analysis": {"name": "error-rate"}}, {"pause": {"duration": "1m"}}, {"pause": {}}]},
        "analyses": [
            {"name": "error-rate", "interval": "2s", "count": 2, "prometheus": {"address": address, "query": ERROR_RATE, "successCondition": "result < 0.05"}},
            {"name": "smoke", "job": {"image": VERIFY_OK, "command": ["true"], "env": [{"name": "A", "value": "1"}]}},
            {"name": "health", "http": {"path": "/healthz", "expectedStatus": 204, "bodyContains": "ok"}},
        ],
    }
    by_keywords = moorage.Release(
        "acme",
        "webserver",
        "green",
        image="nginxinc/nginx-unprivileged:1.27",
        ports=[{"name": "http", "port": 8080}],
        strategy=moorage.Canary(
            [moorage.CanaryStep.set_weight(25), moorage.CanaryStep.analysis("error-rate"), moorage.CanaryStep.pause("1m"), moorage.CanaryStep.pause()]
        ),
        analyses=[
            moorage.Analysis.prometheus("error-rate", address, ERROR_RATE, "result < 0.05", interval="2s", count=2),
            moorage.Analysis.job("smoke", VERIFY_OK, ["true"], env={"A": "1"}),
            moorage.Analysis.http("health", path="/healthz", expected_status=204, body_contains="ok"),
        ],
    )
    from_dict = moorage.Release.from_dict(spec)
    assert by_keywords == from_dict
    assert moorage.Release.from_yaml(by_keywords.to_yaml()) == from_dict
    assert [(a.name, a.provider, a.count) for a in by_keywords.analyses] == [("error-rate", "prometheus", 2), ("smoke", "job", 1), ("health", "http", 1)]
    # The core's defaults, not the bindings'.
    health = by_keywords.analyses[2].to_dict()
    assert (health["interval"], health["failureLimit"], health["http"]["timeout"]) == ("30s", 0, "10s")
    assert moorage.Analysis.from_dict(spec["analyses"][0]) == by_keywords.analyses[0]
    assert repr(moorage.CanaryStep.pause("1m")) == "CanaryStep.pause('1m')"
    assert repr(by_keywords.analyses[0]).startswith("Analysis.prometheus('error-rate', 'http://prometheus.monitoring:9090'")
    bg = moorage.BlueGreen(pre_promotion_analysis=["smoke"], post_promotion_analysis=["health"])
    assert (bg.to_dict()["prePromotionAnalysis"], bg.to_dict()["postPromotionAnalysis"]) == (["smoke"], ["health"])


def test_keyword_forms_of_analyses_and_steps_are_read_by_the_core() -> None:
    # Each keyword argument is a field of the spec form: a value of the wrong kind is the core's
    # SpecError at that field, as the same analysis or step in a release file would be.
    cases = [
        (lambda: moorage.Analysis.http("health", path="/", count=-1), "analysis.count", "expected a whole number from 0 to 4294967295"),
        (lambda: moorage.Analysis.http("health", path="/", expected_status=70000), "analysis.http.expectedStatus", "expected a whole number from 0 to 65535"),
        (lambda: moorage.Analysis.job("smoke", "busybox", ["true"], failure_limit=1.5), "analysis.failureLimit", "expected a whole number"),
        (lambda: moorage.CanaryStep.set_weight(-5), "step.setWeight", "expected a whole number from 0 to 4294967295"),
    ]
    for make, path, expected in cases:
        with pytest.raises(moorage.SpecError) as info:
            make()
        assert info.value.path == path and expected in info.value.message, str(info.value)
    assert moorage.CanaryStep.set_weight(30).to_dict() == {"setWeight": 30}


def test_invalid_analyses_are_refused_with_every_path() -> None:
    with pytest.raises(moorage.ValidationError) as info:
        moorage.Release(
            "acme",
            "webserver",
            "green",
            image="nginxinc/nginx-unprivileged:1.27",
            strategy=moorage.BlueGreen(pre_promotion_analysis=["smoke", "missing"]),
            analyses=[
                moorage.Analysis.prometheus("error-rate", "https://prometheus:9090", "up{pod=\"{{pod}}\"}", "result ~ 3", count=2, failure_limit=2),
                moorage.Analysis.job("smoke", "", []),
            ],
        )
    paths = [p for p, _ in info.value.errors]
    for expected in [
        "analyses[0].failureLimit",
        "analyses[0].prometheus.address",
        "analyses[0].prometheus.query",
        "analyses[0].prometheus.successCondition",
        "analyses[1].job.image",
        "analyses[1].job.command",
        "strategy.prePromotionAnalysis[1]",
    ]:
        assert any(p.endswith(expected) for p in paths), (expected, paths)
    with pytest.raises(moorage.SpecError) as unknown:
        moorage.Analysis.from_dict({"name": "x", "prometheus": {"address": "http://p:9090"}, "unknown": 1})
    assert unknown.value.path.startswith("analysis"), unknown.value.path
    # A problem of a field names it, as in a release's analyses.
    with pytest.raises(moorage.SpecError) as typed:
        moorage.Analysis.from_dict({"name": "x", "count": -1, "prometheus": {"address": "http://p:9090", "query": "up", "successCondition": "result > 0"}})
    assert typed.value.path == "analysis.count", typed.value.path
    assert "expected a whole number from 0 to 4294967295" in typed.value.message
