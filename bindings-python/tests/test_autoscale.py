"""Autoscaled releases: moorage.Autoscaling and Release(autoscaling=...) (the core's
model::release::Autoscaling and rollout::autoscale), on the simulated cluster and the real
control plane."""

import pytest

import moorage
from conftest import unique

RESOURCES = {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}}


def tenant(name: str = "scaly") -> moorage.Tenant:
    return moorage.Tenant(name, quota=moorage.Quota(limits_cpu="4", limits_memory="4Gi", pods=20), protected=False)


def webserver(t: moorage.Tenant, version: str, **kwargs) -> moorage.Release:
    args = dict(image="nginxinc/nginx-unprivileged:1.27", replicas=2, ports=[{"name": "http", "port": 8080}], resources=RESOURCES,
                strategy=moorage.BlueGreen(scale_down_delay="1s"), autoscaling=moorage.Autoscaling(2, 8, 70))
    return moorage.Release(t, "webserver", version, **{**args, **kwargs})


def test_the_keyword_the_object_and_the_spec_form():
    a = moorage.Autoscaling(2, 8, target_cpu_utilization=70)
    assert (a.min_replicas, a.max_replicas, a.target_cpu_utilization) == (2, 8, 70)
    assert repr(a) == "Autoscaling(min_replicas=2, max_replicas=8, target_cpu_utilization=70)"
    assert a.to_dict() == {"minReplicas": 2, "maxReplicas": 8, "targetCpuUtilization": 70}
    assert a == moorage.Autoscaling(2, 8, 70) and a != moorage.Autoscaling(2, 9, 70)
    r = webserver(tenant(), "blue")
    assert r.autoscaling == a
    assert r.to_dict()["autoscaling"] == a.to_dict()
    # The spec form (a YAML file's keys) is the same release; without the keyword there is none.
    assert webserver(tenant(), "blue", autoscaling=a.to_dict()) == r
    assert moorage.Release.from_dict(r.to_dict()) == r
    assert webserver(tenant(), "blue", autoscaling=None).autoscaling is None


def test_compiles_a_horizontal_pod_autoscaler_on_the_version():
    t = tenant()
    text = moorage.compile(t, [webserver(t, "blue")])
    start = text.index("kind: HorizontalPodAutoscaler")
    hpa = text[text.rfind("---", 0, start) + 3:].split("\n---")[0]
    for line in ("apiVersion: autoscaling/v2", "  name: webserver\n", "maxReplicas: 8", "minReplicas: 2", "averageUtilization: 70",
                 "scaleTargetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: webserver-blue"):
        assert line in hpa, (line, hpa)
    assert "HorizontalPodAutoscaler" not in moorage.compile(t, [webserver(t, "blue", autoscaling=None)])


def test_bad_bounds_list_every_path():
    with pytest.raises(moorage.ValidationError) as info:
        webserver(tenant(), "blue", resources={"limits": {"cpu": "200m", "memory": "128Mi"}}, autoscaling=moorage.Autoscaling(0, 0, 150))
    paths = [p for p, _ in info.value.errors]
    assert set(paths) == {
        "release.autoscaling.minReplicas",
        "release.autoscaling.targetCpuUtilization",
        "release.resources.requests.cpu",
    }, info.value.errors
    with pytest.raises(moorage.ValidationError) as info:
        webserver(tenant(), "blue", autoscaling={"minReplicas": 5, "maxReplicas": 3, "targetCpuUtilization": 70})
    assert [p for p, _ in info.value.errors] == ["release.autoscaling.maxReplicas"]
    # An unknown key of the spec form is the core's spec error, with its path.
    with pytest.raises(moorage.SpecError) as unknown:
        webserver(tenant(), "blue", autoscaling={"minReplicas": 2, "maxReplicas": 3, "targetCpu": 70})
    assert unknown.value.path == "release.autoscaling.targetCpu", unknown.value.path
    assert "targetCpuUtilization" in str(unknown.value)
    with pytest.raises(TypeError):
        moorage.Autoscaling(2, 8)  # type: ignore[call-arg]
    # The keyword form is read by the core too: a count that is not a whole number names its field.
    for args, path in [((-1, 8, 70), "autoscaling.minReplicas"), ((2, 8.5, 70), "autoscaling.maxReplicas"), ((2, 8, "70"), "autoscaling.targetCpuUtilization")]:
        with pytest.raises(moorage.SpecError) as info:
            moorage.Autoscaling(*args)  # type: ignore[arg-type]
        assert info.value.path == path and "expected a whole number from 0 to 4294967295" in info.value.message, str(info.value)


def test_an_autoscaled_release_rolls_out_and_is_not_scaled_by_hand():
    t = tenant()
    c = moorage.Cluster.simulated()
    c.apply_tenant(t)
    assert c.rollout(t, webserver(t, "blue")).phase == "done"
    assert [(v.version, v.desired) for v in c.status(t, "webserver").versions] == [("blue", 2)], "the first release starts at replicas"
    with pytest.raises(moorage.Unsupported) as refused:
        c.scale(t, "webserver", 5)
    assert refused.value.app == "webserver" and "autoscal" in refused.value.what
    green = c.rollout(t, webserver(t, "green"))
    assert (green.version, green.previous, green.phase) == ("green", "blue", "done")
    status = c.status(t, "webserver")
    assert status.active == "green" and status.drift == []


def test_a_new_version_starts_at_the_live_count_on_the_real_control_plane(real_cluster):
    from test_tenant import kubectl

    t = tenant(unique("pyhpa"))
    try:
        real_cluster.apply_tenant(t, timeout=120)
        assert real_cluster.rollout(t, webserver(t, "blue"), timeout=180).phase == "done"
        target = kubectl("get", "hpa", "webserver", "-n", t.namespace, "-o", "jsonpath={.spec.scaleTargetRef.name}")
        assert target == "webserver-blue"
        # Scaled by another field manager, as the autoscaler does: re-applying keeps its count.
        kubectl("scale", "deployment", "webserver-blue", "-n", t.namespace, "--replicas=5")
        assert real_cluster.rollout(t, webserver(t, "blue"), timeout=180).unchanged
        assert [(v.version, v.desired) for v in real_cluster.status(t, "webserver").versions] == [("blue", 5)]
        assert real_cluster.rollout(t, webserver(t, "green"), timeout=180).phase == "done"
        versions = {v.version: v.desired for v in real_cluster.status(t, "webserver").versions}
        assert versions["green"] == 5, f"the new version starts at the live count, not replicas (2): {versions}"
        target = kubectl("get", "hpa", "webserver", "-n", t.namespace, "-o", "jsonpath={.spec.scaleTargetRef.name}")
        assert target == "webserver-green", "the autoscaler moved with the switch"
    finally:
        real_cluster.delete_tenant(t, confirm=True, purge=True)
