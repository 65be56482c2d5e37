"""moorage.Release, the strategies and moorage.compile (the core's model::release and compile)."""

import pytest

import moorage


def tenant() -> moorage.Tenant:
    return moorage.Tenant("acme", quota=moorage.Quota(limits_cpu="2", limits_memory="2Gi", pods=10), domains=["shop.acme.test"])


def test_keyword_arguments_and_defaults_are_the_core_s():
    r = moorage.Release(tenant(), "web", "v1", image="nginx:1.27", ports=[{"name": "http", "port": 8080}], hosts=["shop.acme.test"])
    assert r.replicas == 1
    assert isinstance(r.strategy, moorage.Rolling)
    assert r.tenant == "acme"
    assert repr(r) == "Release('acme', 'web', 'v1', image='nginx:1.27', replicas=1, hosts=['shop.acme.test'], strategy='rolling')"


def test_strategies_repr_and_round_trip():
    bg = moorage.BlueGreen(preview_host="preview.acme.test")
    assert repr(bg) == "BlueGreen(auto_promote=True, keep_previous=1, preview_host='preview.acme.test', scale_down_delay='30s')"
    canary = moorage.Canary([{"setWeight": 20}, {"pause": {}}, {"setWeight": 100}])
    r = moorage.Release("acme", "web", "v2", image="nginx:1.27", strategy=canary)
    assert isinstance(r.strategy, moorage.Canary)
    assert r.strategy.to_dict()["steps"][0] == {"setWeight": 20}
    assert moorage.Release.from_dict(r.to_dict()) == r


def test_bad_strategy_is_a_spec_error():
    with pytest.raises(moorage.SpecError):
        moorage.Canary([{"setWeight": "lots"}])


def test_release_validation_lists_paths():
    with pytest.raises(moorage.ValidationError) as info:
        moorage.Release("acme", "Web_App", "v1", image="", replicas=1, resources={"limits": {"memory": "128mb"}})
    paths = [p for p, _ in info.value.errors]
    assert len(paths) >= 2
    assert all(p.startswith("release.") for p in paths)


def test_compile_refuses_a_foreign_host():
    r = moorage.Release("acme", "web", "v1", image="nginx:1.27", ports=[{"name": "http", "port": 8080}], hosts=["shop.other.test"])
    with pytest.raises(moorage.ValidationError) as info:
        moorage.compile(tenant(), [r])
    assert any("hosts" in p for p, _ in info.value.errors)


def test_compile_tenant_and_release(specs):
    t = moorage.Tenant.from_yaml(specs / "acme.tenant.yaml")
    green = moorage.Release.from_yaml(specs / "webserver-green.release.yaml")
    text = moorage.compile(t, [green])
    assert "kind: Deployment" in text and "webserver-green" in text
    assert green.to_yaml().startswith("tenant: acme")


def test_compile_many_is_each_compile_in_order_and_names_the_tenant_of_a_problem():
    def unit(i: int, host: str):
        t = moorage.Tenant(f"shop-{i}", domains=[f"shop-{i}.test"])
        r = moorage.Release(t, "web", "v1", image="nginx:1.27", ports=[{"name": "http", "port": 8080}], hosts=[host.format(i=i)])
        return t, [r]

    units = [unit(i, "shop-{i}.test") for i in range(5)]
    assert moorage.compile_many(units) == "".join(moorage.compile(t, rs) for t, rs in units)
    assert moorage.compile_many([]) == ""
    bad = [unit(0, "shop-{i}.test"), unit(1, "elsewhere.test"), unit(2, "elsewhere.test")]
    with pytest.raises(moorage.ValidationError) as info:
        moorage.compile_many(bad)
    paths = [p for p, _ in info.value.errors]
    assert paths == ["tenants[1].releases[0].hosts[0]", "tenants[2].releases[0].hosts[0]"]


def test_compile_many_from_a_generator_writes_the_file(tmp_path):
    """compile_many takes any iterable (the core's YamlBatch compiles while Python builds the next
    unit); with path= the core writes the stream atomically and returns (objects, bytes)."""

    def unit(i: int):
        t = moorage.Tenant(f"gen-{i}", domains=[f"gen-{i}.test"])
        return t, [moorage.Release(t, "web", "v1", image="nginx:1.27", ports=[{"name": "http", "port": 8080}], hosts=[f"gen-{i}.test"])]

    expected = moorage.compile_many([unit(i) for i in range(20)])
    assert moorage.compile_many(unit(i) for i in range(20)) == expected
    path = tmp_path / "manifests.yaml"
    objects, size = moorage.compile_many(map(unit, range(20)), path=path)
    assert path.read_text() == expected and size == len(expected.encode())
    assert objects == expected.count("\nkind: ") + expected.startswith("kind: ") and objects > 20
    assert not (tmp_path / "manifests.yaml.tmp").exists()
    assert moorage.compile_many(iter(()), path=str(tmp_path / "empty.yaml")) == (0, 0)
    with pytest.raises(moorage.ManifestError):
        moorage.compile_many([unit(0)], path=tmp_path / "missing" / "m.yaml")

    def failing():
        yield unit(0)
        raise RuntimeError("the caller's own error")

    with pytest.raises(RuntimeError, match="the caller's own error"):
        moorage.compile_many(failing())
    with pytest.raises(TypeError, match="expected a Tenant or its spec as a dict, got str"):
        moorage.compile_many([unit(0), ("not a tenant", [])])


def test_compile_many_takes_spec_dicts_read_and_validated_by_the_core_workers():
    """A tenant or release may be its spec as a dict (what from_dict takes): the same stream as the
    objects built from it, and its problems come back with the batch's others."""

    def specs(i: int, host: str = ""):
        tenant = {"name": f"dict-{i}", "domains": [f"dict-{i}.test"], "members": [{"name": f"alice@dict-{i}.test", "role": "admin"}]}
        release = {"tenant": f"dict-{i}", "app": "web", "version": "v1", "image": "nginx:1.27", "ports": [{"name": "http", "port": 8080}], "hosts": [host or f"dict-{i}.test"]}
        return tenant, [release]

    built = [(moorage.Tenant.from_dict(t), [moorage.Release.from_dict(r) for r in rs]) for t, rs in map(specs, range(6))]
    # Dicts, objects, and a mix of both in one unit give the same stream.
    mixed = [specs(i) if i % 3 == 0 else (built[i][0], specs(i)[1]) if i % 3 == 1 else built[i] for i in range(6)]
    assert moorage.compile_many(mixed) == moorage.compile_many(built)
    bad_tenant = {"name": "Not A Name"}
    bad_release = dict(specs(1)[1][0], replicas="three")
    with pytest.raises(moorage.ValidationError) as info:
        moorage.compile_many([specs(0), (bad_tenant, [bad_release]), specs(2, "elsewhere.test")])
    paths = [p for p, _ in info.value.errors]
    assert any(p.startswith("tenants[1].tenant.name") for p in paths), paths
    assert "tenants[1].releases[0].replicas" in paths, paths
    assert "tenants[2].releases[0].hosts[0]" in paths, paths
    assert not any(p.startswith("tenants[0]") for p in paths), paths
    with pytest.raises(TypeError, match="expected a Release or its spec as a dict, got int"):
        moorage.compile_many([(specs(0)[0], [3])])


def test_compile_many_reads_a_spec_dict_as_from_dict_does():
    """A spec dict in compile_many gives the spec, or the message, that Tenant.from_dict and
    Release.from_dict give: None members are absent, tuples are lists, moorage objects inside are
    their specs, and a field of the wrong kind is named (at the unit's place in the batch)."""

    def tenant(**fields):
        return dict({"name": "plain", "domains": ["plain.test"]}, **fields)

    def release(**fields):
        return dict({"tenant": "plain", "app": "web", "version": "v1", "image": "nginx:1.27", "ports": [{"name": "http", "port": 8080}]}, **fields)

    readable = [
        (tenant(), [release()]),
        # None members are absent fields; a tuple is a list.
        (tenant(displayName=None, domains=("plain.test",)), [release(replicas=2, hosts=("plain.test",), resources=None, strategy={"type": "blueGreen"})]),
        # A Quota object inside the dict.
        (tenant(quota=moorage.Quota(limits_cpu="2", limits_memory="4Gi")), [release()]),
    ]
    for t, rs in readable:
        expected = moorage.compile(moorage.Tenant.from_dict(t), [moorage.Release.from_dict(r) for r in rs])
        assert moorage.compile_many([(t, rs)]) == expected
    wrong_kinds = [
        # A str where a list is expected is not split into its characters.
        (tenant(domains="plain.test"), release()),
        # A bool is not a number, a float not a whole number, a key not a str.
        (tenant(), release(replicas=True)),
        (tenant(), release(replicas=2.0)),
        (tenant(labels={1: "one"}), release()),
    ]
    for t, r in wrong_kinds:
        with pytest.raises((moorage.SpecError, TypeError)) as from_dict:
            moorage.Tenant.from_dict(t)
            moorage.Release.from_dict(r)
        if isinstance(from_dict.value, moorage.SpecError):
            # The same problem, at the unit's place in the batch.
            with pytest.raises(moorage.ValidationError) as batch:
                moorage.compile_many([(t, [r])])
            path = "tenants[0]." + from_dict.value.path.replace("release", "releases[0]", 1)
            assert batch.value.errors == [(path, from_dict.value.message)]
        else:
            with pytest.raises(TypeError, match=str(from_dict.value)):
                moorage.compile_many([(t, [r])])


def test_json_schemas_of_the_spec_files():
    tenant, release = moorage.json_schema("tenant"), moorage.json_schema("release")
    assert {"name", "quota", "domains", "backups"} <= set(tenant["properties"])
    assert {"tenant", "app", "version", "strategy", "analyses", "metrics"} <= set(release["properties"])
    with pytest.raises(ValueError):
        moorage.json_schema("fleet")


def test_in_cluster_outside_a_pod_is_a_config_error(monkeypatch):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(moorage.ConfigError):
        moorage.Cluster.in_cluster()


def test_numbers_json_cannot_carry_are_refused_at_their_path():
    base = {"tenant": "acme", "app": "web", "version": "v1", "image": "nginx"}
    # Not finite: JSON has no such numbers; they are not taken for "absent" (the default).
    for value, shown in [(float("nan"), "nan"), (float("inf"), "inf"), (-float("inf"), "-inf")]:
        with pytest.raises(moorage.SpecError) as info:
            moorage.Release.from_dict({**base, "replicas": value})
        assert info.value.path == "release.replicas"
        assert info.value.message.startswith(f"{shown} is not a finite number")
    # Beyond a float's range: too large for any field (it was called "not a finite number"),
    # shown cut to its first digits.
    for value, shown in [(10**400, "1" + "0" * 15 + "... (401 digits)"), (-(10**400), "-1" + "0" * 14 + "... (401 digits)")]:
        with pytest.raises(moorage.SpecError) as info:
            moorage.Release.from_dict({**base, "replicas": value})
        assert (info.value.path, info.value.message) == ("release.replicas", f"{shown} is too large: no field of a spec takes a number beyond 1.8e308")
    with pytest.raises(moorage.SpecError) as info:
        moorage.Release.from_dict({**base, "ports": [{"name": "http", "port": 8080}, {"name": "m", "port": float("nan")}]})
    assert info.value.path == "release.ports[1].port"
    with pytest.raises(moorage.SpecError) as info:
        moorage.Release("acme", "web", "v1", image="nginx", env=[{"name": "A", "value": float("nan")}])
    assert info.value.path == "release.env[0].value"
    with pytest.raises(moorage.SpecError) as info:
        moorage.compile_many([({"name": "acme"}, [{**base, "replicas": float("nan")}])])
    assert info.value.path == "release.replicas"
    # Beyond 64 bits: a number no field takes, named by the core with its field.
    for big in [2**70, -(2**70)]:
        with pytest.raises(moorage.SpecError) as info:
            moorage.Release.from_dict({**base, "replicas": big})
        assert info.value.path == "release.replicas"
        assert "expected a whole number from 0 to 4294967295" in info.value.message
