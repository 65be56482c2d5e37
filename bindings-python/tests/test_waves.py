"""moorage.Fleet and fleet wave upgrades (the core's tenant::fleet and waves modules), on two
simulated clusters and, when MOORAGE_TEST_KUBECONFIG is set, the real control plane beside one."""

import pytest

import moorage
from conftest import unique


def onboard(fleet: moorage.Fleet, clusters: dict, names: list, pin=None) -> None:
    for i, name in enumerate(names):
        t = moorage.Tenant(name, quota=moorage.Quota(limits_cpu="4", limits_memory="4Gi", pods=10), domains=[f"shop.{name}.test"], protected=False)
        where = pin or sorted(clusters)[i % len(clusters)]
        cluster_name, changes = fleet.apply_tenant(t, pin=where, timeout=120)
        assert (cluster_name, changes > 0) == (where, True)
        release = moorage.Release(
            name, "shop", "1.0", image="registry.test/shop:1.0", replicas=2, ports=[{"name": "http", "port": 8080}],
            resources={"requests": {"cpu": "50m", "memory": "32Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}},
            hosts=[f"shop.{name}.test"], strategy=moorage.BlueGreen(scale_down_delay="0s"),
        )
        assert clusters[cluster_name].rollout(t, release, timeout=120).phase == "done"


def plan(name: str, tenants: list) -> dict:
    return {"name": name, "app": "shop", "version": "2.0", "image": "registry.test/shop:2.0", "selection": {"tenants": tenants},
            "canaryTenants": tenants[:1], "waves": [50, 100], "maxConcurrentPerCluster": 2}


def test_waves_upgrade_every_tenant_canary_first():
    clusters = {"onprem": moorage.Cluster.simulated(), "cloud": moorage.Cluster.simulated()}
    fleet = moorage.Fleet([{"name": n, "cluster": c, "labels": {"location": n}} for n, c in clusters.items()])
    names = [f"py{i}" for i in range(5)]
    onboard(fleet, clusters, names)
    assert sorted(fleet.list()) == sorted((n, sorted(clusters)[i % 2]) for i, n in enumerate(names))
    events = []
    state = fleet.start_waves(plan("shop-2", names), on_progress=events.append)
    assert state["phase"] == "done"
    assert state["waves"] == ["canary", "50%", "100%"]
    assert all(t["state"] == "succeeded" for t in state["tenants"]), state
    started = [e["tenant"] for e in events if e["event"] == "tenant_started"]
    assert started[0] == "py0" and sorted(started) == names
    assert events[-1] == {"event": "done", "succeeded": 5, "failed": 0, "skipped": 0}
    for i, n in enumerate(names):
        c = clusters[sorted(clusters)[i % 2]]
        assert c.status(c.live_tenant(n), "shop").active == "2.0"
    assert fleet.waves_status("shop-2") == state
    assert fleet.waves_status("never") is None
    with pytest.raises(moorage.PlanExists) as exists:
        fleet.start_waves({**plan("shop-2", names), "version": "3.0"})
    assert exists.value.plan == "shop-2"
    with pytest.raises(moorage.NoSuchPlan):
        fleet.resume_waves("never")


def test_a_second_driver_is_refused_while_the_first_one_runs():
    """One driver at a time (the core's waves::lease): while a driver runs a wave, a second
    start_waves or resume_waves is refused with LeaseHeld, naming the holder and its expiry; once
    the first driver returns, its lease is given up and another driver goes on at once."""
    import os
    import threading

    clusters = {"onprem": moorage.Cluster.simulated(), "cloud": moorage.Cluster.simulated()}
    fleet = moorage.Fleet([{"name": n, "cluster": c} for n, c in clusters.items()])
    names = [f"pyd{i}" for i in range(4)]
    onboard(fleet, clusters, names)
    mid_wave, tried = threading.Event(), threading.Event()

    def first_progress(event: dict) -> None:
        # The first driver stops in its first tenant until the second one has tried.
        if event["event"] == "tenant_started" and not mid_wave.is_set():
            mid_wave.set()
            tried.wait(120)

    first: dict = {}

    def run_first() -> None:
        try:
            first["state"] = fleet.start_waves(plan("shop-2", names), on_progress=first_progress, timeout=120)
        except BaseException as e:  # re-raised below, in the test's thread
            first["error"] = e

    driver = threading.Thread(target=run_first)
    driver.start()
    try:
        assert mid_wave.wait(120), "the first driver reached its first tenant"
        refused_events: list = []
        with pytest.raises(moorage.LeaseHeld) as started:
            fleet.start_waves(plan("shop-2", names), on_progress=refused_events.append)
        with pytest.raises(moorage.LeaseHeld) as resumed:
            fleet.resume_waves("shop-2", on_progress=refused_events.append)
    finally:
        tried.set()
        driver.join(120)
    assert "error" not in first, first
    for refused in (started.value, resumed.value):
        assert isinstance(refused, moorage.WaveError) and isinstance(refused, moorage.MoorageError)
        assert refused.plan == "shop-2"
        # The holder is `<hostname>-<pid>-<random>`: this process drives the first one.
        assert f"-{os.getpid()}-" in refused.holder, refused.holder
        assert refused.expires and refused.holder in str(refused)
    assert (started.value.holder, started.value.expires) == (resumed.value.holder, resumed.value.expires)
    assert refused_events == [], "the refused drivers did nothing"
    done = first["state"]
    assert done["phase"] == "done" and all(t["state"] == "succeeded" for t in done["tenants"]), done
    # Given up on return: another driver goes on at once (nothing left to do).
    assert fleet.resume_waves("shop-2") == done


def test_a_bad_plan_lists_every_path():
    fleet = moorage.Fleet([{"name": "one", "cluster": moorage.Cluster.simulated()}])
    with pytest.raises(moorage.ValidationError) as info:
        fleet.start_waves({"name": "Bad Name", "app": "shop", "version": "2.0", "image": "registry.test/shop:2.0", "waves": [50, 40], "maxConcurrentPerCluster": 0})
    paths = [p for p, _ in info.value.errors]
    assert {"plan.name", "plan.waves[1]", "plan.maxConcurrentPerCluster"} <= set(paths), paths
    # 40 does not rise above 50, and the last wave is not 100: two problems at the same path.
    assert paths.count("plan.waves[1]") == 2, info.value.errors
    with pytest.raises(moorage.SpecError) as unknown:
        fleet.start_waves({"name": "p", "app": "shop", "version": "2.0", "image": "x:1", "wavez": [100]})
    assert unknown.value.path.startswith("plan")
    assert unknown.value.line is None, "built from a dict: no line"
    with pytest.raises(moorage.SpecError) as from_yaml:
        fleet.start_waves('name: p\napp: shop\nversion: "2.0"\nimage: x:1\nwavez: [100]\n')
    assert from_yaml.value.line == 5
    # None is an absent member (as null is in Node): the plan is read, and only then found to select nothing.
    with pytest.raises(moorage.NothingSelected):
        fleet.start_waves({"name": "p", "app": "shop", "version": "2.0", "image": "registry.test/shop:2.0", "canaryTenants": None, "failureBudget": None})
    with pytest.raises(moorage.UnknownCluster) as unknown_cluster:
        fleet.start_waves({"name": "p", "app": "shop", "version": "2.0", "image": "registry.test/shop:2.0", "selection": {"clusters": ["mars"]}})
    assert unknown_cluster.value.cluster == "mars"
    with pytest.raises(moorage.DuplicateCluster):
        moorage.Fleet([{"name": "a", "cluster": moorage.Cluster.simulated()}, {"name": "a", "cluster": moorage.Cluster.simulated()}])
    # Numbers JSON cannot carry are refused at their path, not taken for absent members.
    with pytest.raises(moorage.SpecError) as nan:
        fleet.start_waves({"name": "p", "app": "shop", "version": "2.0", "image": "registry.test/shop:2.0", "failureBudget": float("nan")})
    assert (nan.value.path, nan.value.message.split(";")[0]) == ("plan.failureBudget", "nan is not a finite number")
    itself = {"name": "p", "app": "shop", "version": "2.0", "image": "registry.test/shop:2.0"}
    itself["selection"] = itself
    with pytest.raises(moorage.SpecError) as deep:
        fleet.start_waves(itself)
    assert deep.value.path == "plan"


def test_waves_across_the_real_control_plane_and_a_simulated_cluster(real_cluster):
    clusters = {"onprem": real_cluster, "zcloud": moorage.Cluster.simulated()}
    fleet = moorage.Fleet([{"name": n, "cluster": c} for n, c in clusters.items()])
    suffix = unique("w")
    names = [f"pw{i}-{suffix}" for i in range(3)]
    onboard(fleet, clusters, names)
    state = fleet.start_waves(plan(f"py-{suffix}", names), timeout=300)
    assert state["phase"] == "done", state
    assert [t["cluster"] for t in state["tenants"]].count("onprem") == 2
    for t in state["tenants"]:
        if t["cluster"] == "onprem":
            real_cluster.delete_tenant(real_cluster.live_tenant(t["tenant"]), confirm=True, purge=True)


def test_fleet_coroutines():
    import asyncio

    clusters = {"a": moorage.Cluster.simulated(), "b": moorage.Cluster.simulated()}
    fleet = moorage.Fleet([{"name": n, "cluster": c} for n, c in clusters.items()])

    async def main():
        t = moorage.Tenant("pyasync", protected=False)
        cluster_name, changes = await fleet.a_apply_tenant(t, pin="b")
        assert (cluster_name, changes > 0) == ("b", True)
        assert await fleet.a_list() == [("pyasync", "b")]
        assert await fleet.a_waves_status("never") is None
        with pytest.raises(moorage.NoSuchPlan):
            await fleet.a_resume_waves("never")

    asyncio.run(main())
