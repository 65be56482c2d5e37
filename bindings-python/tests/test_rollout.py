"""Release operations (the core's rollout module) on the simulated cluster, a manifests directory
and, when MOORAGE_TEST_KUBECONFIG is set, the real test control plane."""

import asyncio
import json

import pytest

import moorage
from conftest import unique

RAISED = moorage.Quota(limits_cpu="2", limits_memory="1Gi", requests_cpu="1", requests_memory="512Mi", requests_storage="50Gi", pods=6)


def bluegreen_demo(cluster: moorage.Cluster, tenant: moorage.Tenant, blue: moorage.Release, green: moorage.Release, timeout: float = 300):
    events = []
    cluster.apply_tenant(tenant)
    report = cluster.rollout(tenant, blue, timeout=timeout, on_progress=events.append)
    assert (report.version, report.phase, report.revision) == ("blue", "done", 1)
    assert events[0] == {"event": "preflight_passed", "extra_pods": 3}
    assert events[-1] == {"event": "done", "revision": 1, "version": "blue"}

    # The quota preflight refuses green before anything is created.
    with pytest.raises(moorage.QuotaInsufficient) as info:
        cluster.rollout(tenant, green, timeout=timeout)
    e = info.value
    assert e.resource == "limits.cpu"
    assert (e.needed, e.available) == ("600m", "400m")
    assert "raise the tenant's quota" in e.hint
    assert [v.version for v in cluster.status(tenant, "webserver").versions] == ["blue"]

    # Raise the quota; green rolls out and traffic switches.
    raised = tenant.with_quota(RAISED)
    assert cluster.apply_tenant(raised) >= 1
    report = cluster.rollout(raised, green, timeout=timeout, wait_for_scale_down=False)
    assert (report.version, report.previous, report.phase) == ("green", "blue", "switched")
    assert report.switch_latency is not None

    with pytest.raises(moorage.VersionSelected) as selected:
        cluster.delete_version(raised, "webserver", "green")
    assert (selected.value.app, selected.value.version) == ("webserver", "green")

    report = cluster.rollback(raised, "webserver", timeout=timeout)
    assert (report.version, report.previous) == ("blue", "green")
    status = cluster.status(raised, "webserver")
    assert status.active == "blue"
    assert [(v.version, v.selected) for v in status.versions][0] == ("blue", True)
    history = cluster.history(raised, "webserver")
    assert [(r.number, r.version, r.outcome) for r in history] == [(1, "blue", "superseded"), (2, "green", "rolledBack"), (3, "blue", "succeeded")]
    assert history[1].outcome_detail == {"state": "rolledBack", "to": 3} or history[1].outcome_detail["state"] == "rolledBack"


def test_bluegreen_demo_on_the_simulated_cluster(specs):
    tenant = moorage.Tenant.from_yaml(specs / "acme.tenant.yaml")
    blue = moorage.Release.from_yaml(specs / "webserver-blue.release.yaml")
    green = moorage.Release.from_yaml(specs / "webserver-green.release.yaml")
    bluegreen_demo(moorage.Cluster.simulated(), tenant, blue, green)


def test_bluegreen_demo_on_the_real_control_plane(specs, real_cluster):
    name = unique("pyacme")

    def renamed(spec: dict) -> dict:
        # Domains are unique across the cluster's tenants: the copy gets its own.
        return json.loads(json.dumps(spec).replace("acme.test", f"{name}.test"))

    spec = renamed(moorage.Tenant.from_yaml(specs / "acme.tenant.yaml").to_dict())
    spec["name"] = name
    spec["protected"] = False
    tenant = moorage.Tenant.from_dict(spec)
    releases = []
    for color in ("blue", "green"):
        r = renamed(moorage.Release.from_yaml(specs / f"webserver-{color}.release.yaml").to_dict())
        r["tenant"] = name
        releases.append(moorage.Release.from_dict(r))
    try:
        bluegreen_demo(real_cluster, tenant, releases[0], releases[1], timeout=120)
    finally:
        real_cluster.delete_tenant(tenant, confirm=True, purge=True)


def test_canary_pauses_then_is_promoted():
    t = moorage.Tenant("shop", quota=moorage.Quota(limits_cpu="4", limits_memory="4Gi", pods=20))
    c = moorage.Cluster.simulated()
    c.apply_tenant(t)
    c.rollout(t, moorage.Release(t, "web", "v1", image="nginx:1.27", replicas=2, ports=[{"name": "http", "port": 8080}], strategy=moorage.BlueGreen()))
    canary = moorage.Canary([{"setWeight": 50}, {"pause": {}}, {"setWeight": 100}])
    v2 = moorage.Release(t, "web", "v2", image="nginx:1.28", replicas=2, ports=[{"name": "http", "port": 8080}], strategy=canary)
    weights = []
    report = c.rollout(t, v2, on_progress=lambda p: weights.append(p["actual"]) if p["event"] == "weight_set" else None)
    assert (report.version, report.previous, report.phase) == ("v2", "v1", "paused")
    assert weights == [50]
    # During a replica-ratio canary the stable Service selects both versions.
    assert c.status(t, "web").active is None
    assert c.status(t, "web").canary_weight == 50
    done = c.promote(t, "web")
    assert done.phase == "done"
    assert c.status(t, "web").active == "v2"
    assert c.status(t, "web").canary_weight is None
    assert c.history(t, "web")[-1].strategy == "canary"


def test_manual_promotion():
    t = moorage.Tenant("shop", quota=moorage.Quota(limits_cpu="4", limits_memory="4Gi", pods=20))
    c = moorage.Cluster.simulated()
    c.apply_tenant(t)
    c.rollout(t, moorage.Release(t, "web", "v1", image="nginx:1.27", replicas=2, ports=[{"name": "http", "port": 8080}], strategy=moorage.BlueGreen()))
    manual = moorage.BlueGreen(auto_promote=False)
    v2 = moorage.Release(t, "web", "v2", image="nginx:1.28", replicas=2, ports=[{"name": "http", "port": 8080}], strategy=manual)
    report = c.rollout(t, v2)
    assert (report.version, report.phase) == ("v2", "waitingForPromotion")
    assert c.status(t, "web").rollout_phase == "waitingForPromotion"
    report = c.promote(t, "web")
    assert (report.version, report.phase) == ("v2", "done")
    assert c.status(t, "web").active == "v2"


def test_asyncio_twins(specs):
    tenant = moorage.Tenant.from_yaml(specs / "acme.tenant.yaml")
    blue = moorage.Release.from_yaml(specs / "webserver-blue.release.yaml")
    green = moorage.Release.from_yaml(specs / "webserver-green.release.yaml")
    c = moorage.Cluster.simulated()

    async def main():
        await c.a_apply_tenant(tenant)
        first = await c.a_rollout(tenant, blue)
        with pytest.raises(moorage.QuotaInsufficient):
            await c.a_rollout(tenant, green)
        raised = tenant.with_quota(RAISED)
        await c.a_apply_tenant(raised)
        second = await c.a_rollout(raised, green)
        back = await c.a_rollback(raised, "webserver")
        return first, second, back

    first, second, back = asyncio.run(main())
    assert (first.version, second.version, back.version) == ("blue", "green", "blue")


def test_an_exception_in_the_callback_is_raised_after_the_operation(specs):
    tenant = moorage.Tenant.from_yaml(specs / "acme.tenant.yaml")
    blue = moorage.Release.from_yaml(specs / "webserver-blue.release.yaml")
    c = moorage.Cluster.simulated()
    c.apply_tenant(tenant)

    def boom(event):
        raise RuntimeError("callback failed")

    with pytest.raises(RuntimeError, match="callback failed"):
        c.rollout(tenant, blue, on_progress=boom)


def test_manifests_directory(tmp_path, specs):
    tenant = moorage.Tenant.from_yaml(specs / "acme.tenant.yaml")
    blue = moorage.Release.from_yaml(specs / "webserver-blue.release.yaml")
    c = moorage.Cluster.manifests(tmp_path)
    assert "manifests" in repr(c)
    assert c.apply_tenant(tenant) > 0
    files = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert files, "apply_tenant writes files"
    text = "".join(p.read_text() for p in files)
    assert "kind: ResourceQuota" in text


def test_a_failed_analysis_raises_analysis_failed_and_the_revision_keeps_it(specs):
    import http.server
    import threading

    class Down(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(503)
            self.end_headers()
            self.wfile.write(b"down")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Down)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/health"

    def release(version):
        return moorage.Release.from_yaml(
            f"""tenant: acme
app: shop
version: {version}
image: nginxinc/nginx-unprivileged:1.27
ports: [{{name: http, port: 8080}}]
resources: {{requests: {{cpu: 50m, memory: 32Mi}}, limits: {{cpu: 100m, memory: 64Mi}}}}
strategy: {{type: blueGreen, scaleDownDelay: 1s, prePromotionAnalysis: [health]}}
analyses:
  - name: health
    http: {{url: "{url}", expectedStatus: 200}}
"""
        )

    cluster = moorage.Cluster.simulated()
    tenant = moorage.Tenant.from_yaml(specs / "acme.tenant.yaml")
    cluster.apply_tenant(tenant)
    try:
        # A first release has nothing to gate: it goes live at once.
        assert cluster.rollout(tenant, release("v1")).phase == "done"
        events = []
        with pytest.raises(moorage.AnalysisFailed) as info:
            cluster.rollout(tenant, release("v2"), on_progress=events.append)
    finally:
        server.shutdown()
    e = info.value
    assert (e.app, e.version, e.analysis, e.gate, e.rolled_back_to) == ("shop", "v2", "health", "prePromotion", "v1")
    assert "answered 503 instead of 200" in e.reason
    assert e.result["verdict"] == "failed"
    assert {"event": "analysis_finished", "name": "health", "gate": "prePromotion", "verdict": "failed", "reason": e.reason} in events
    assert cluster.status(tenant, "shop").active == "v1"
    last = cluster.history(tenant, "shop")[-1]
    assert (last.version, last.outcome) == ("v2", "failed")
    assert last.analyses[0]["measurements"][0]["verdict"] == "failed"


def test_progress_as_an_async_iterator(specs):
    """moorage.watch: the events of a coroutine's on_progress, in order, through `async for`; the
    operation's result at the end, and its exception raised by the iteration."""
    tenant = moorage.Tenant.from_yaml(specs / "acme.tenant.yaml")
    blue = moorage.Release.from_yaml(specs / "webserver-blue.release.yaml")
    green = moorage.Release.from_yaml(specs / "webserver-green.release.yaml")

    async def main():
        c = moorage.Cluster.simulated()
        await c.a_apply_tenant(tenant)
        stream = moorage.watch(lambda on_progress: c.a_rollout(tenant, blue, on_progress=on_progress))
        events = [e async for e in stream]
        assert events[0] == {"event": "preflight_passed", "extra_pods": 3}
        assert events[-1] == {"event": "done", "revision": 1, "version": "blue"}
        assert stream.result is not None and stream.result.version == "blue"
        # The quota preflight refuses green: the iteration raises the operation's exception.
        refused = moorage.watch(lambda on_progress: c.a_rollout(tenant, green, on_progress=on_progress))
        with pytest.raises(moorage.QuotaInsufficient):
            async for _ in refused:
                pass

    asyncio.run(main())


def test_import_moorage_leaves_asyncio_and_typing_for_later():
    """`import moorage` loads the native module only; moorage.watch (asyncio, typing) comes when used."""
    import subprocess
    import sys

    probe = "import sys, moorage; before = [m for m in ('asyncio', 'typing') if m in sys.modules]; moorage.watch; print(before, 'typing' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True).stdout.strip()
    assert out == "[] True", out
    with pytest.raises(AttributeError):
        moorage.no_such_name  # noqa: B018


def test_a_scale_by_another_manager_is_drift_until_forced(real_cluster):
    from test_tenant import kubectl

    name = unique("pydrift")
    t = moorage.Tenant(name, quota=moorage.Quota(limits_cpu="2", limits_memory="2Gi", pods=10))
    web = moorage.Release(
        t,
        "web",
        "v1",
        image="nginxinc/nginx-unprivileged:1.27",
        replicas=1,
        ports=[{"name": "http", "port": 8080}],
        resources={"requests": {"cpu": "50m", "memory": "32Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}},
        strategy=moorage.BlueGreen(scale_down_delay="1s"),
    )
    try:
        real_cluster.apply_tenant(t, timeout=120)
        assert real_cluster.rollout(t, web, timeout=120).phase == "done"
        assert real_cluster.status(t, "web").drift == []
        # A UI (here kubectl) scales the serving Deployment with its own field manager.
        kubectl("scale", "deployment", "web-v1", "-n", t.namespace, "--replicas=2")
        drift = real_cluster.status(t, "web").drift
        assert [(d["manager"], d["fields"]) for d in drift] == [("kubectl", ["spec.replicas"])], drift
        with pytest.raises(moorage.Conflict) as conflict:
            real_cluster.scale(t, "web", 3, timeout=120)
        assert (conflict.value.manager, conflict.value.field) == ("kubectl", ".spec.replicas")
        report = real_cluster.scale(t, "web", 3, timeout=120, force=True)
        assert (report.version, report.phase) == ("v1", "done")
        status = real_cluster.status(t, "web")
        assert status.drift == []
        assert [(v.version, v.desired) for v in status.versions] == [("v1", 3)]
    finally:
        real_cluster.delete_tenant(t, confirm=True, purge=True)


def test_plan_and_preflight_of_a_release_change_nothing(specs):
    cluster = moorage.Cluster.simulated()
    tenant = moorage.Tenant.from_yaml(specs / "acme.tenant.yaml")
    blue = moorage.Release.from_yaml(specs / "webserver-blue.release.yaml")
    green = moorage.Release.from_yaml(specs / "webserver-green.release.yaml")
    cluster.apply_tenant(tenant)
    plan = cluster.plan_release(tenant, blue)
    assert {o["object"]["kind"] for o in plan["objects"]} >= {"Deployment", "Service"}
    assert all(o["action"] == "create" for o in plan["objects"]), plan
    assert cluster.preflight(tenant, blue)["extra_pods"] == 3
    assert cluster.status(tenant, "webserver").versions == [], "nothing was created"
    cluster.rollout(tenant, blue)
    # Green would double the capacity: the preflight says so with the figures, before anything runs.
    with pytest.raises(moorage.QuotaInsufficient) as info:
        cluster.preflight(tenant, green)
    assert (info.value.resource, info.value.needed, info.value.available) == ("limits.cpu", "600m", "400m")
    raised = tenant.with_quota(RAISED)
    cluster.apply_tenant(raised)
    figures = cluster.preflight(raised, green)
    assert figures["extra_pods"] == 3
    assert figures["resources"]["limits.cpu"] == {"needed": "600m", "available": "1400m"}, figures
    planned = {(o["object"]["kind"], o["object"]["name"]): o["action"] for o in cluster.plan_release(raised, green)["objects"]}
    assert planned[("Deployment", "webserver-green")] == "create"
    assert [v.version for v in cluster.status(raised, "webserver").versions] == ["blue"]

    async def main():
        assert (await cluster.a_preflight(raised, green))["extra_pods"] == 3
        assert (await cluster.a_plan_release(raised, green))["objects"]

    asyncio.run(main())


def test_an_unknown_failure_is_refused_as_in_node():
    """The core names the failures (`Failure::from_name`); Node's injectFailure gives the same problem."""
    problem = [('failures["x:*"]', '"slow" is not a failure; use pull_error, crash_loop or never_ready')]
    with pytest.raises(moorage.ValidationError) as info:
        moorage.Cluster.simulated(failures={"x:*": "slow"})
    assert info.value.errors == problem
    with pytest.raises(moorage.ValidationError) as info:
        moorage.Cluster.simulated().inject_failure("x:*", "slow")
    assert info.value.errors == problem
