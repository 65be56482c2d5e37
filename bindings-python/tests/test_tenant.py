"""moorage.Tenant and moorage.Quota (the core's model::tenant and model::quota)."""

import pytest

import moorage


def test_keyword_arguments_build_a_valid_tenant():
    t = moorage.Tenant(
        "acme",
        display_name="ACME Corp",
        quota=moorage.Quota(limits_cpu="2", limits_memory="1Gi", pods=10),
        members={"alice@acme.test": "admin"},
        domains=["shop.acme.test"],
    )
    assert t.name == "acme"
    assert t.namespace == "acme"
    assert t.quota.limits_memory == "1Gi"
    assert t.to_dict()["members"] == [{"name": "alice@acme.test", "kind": "user", "role": "admin"}]
    assert repr(t).startswith("Tenant('acme', display_name='ACME Corp', quota=Quota(limits_cpu='2'")


def test_from_yaml_file_and_dict_agree(specs):
    from_file = moorage.Tenant.from_yaml(specs / "acme.tenant.yaml")
    from_text = moorage.Tenant.from_yaml((specs / "acme.tenant.yaml").read_text())
    assert from_file == from_text
    assert moorage.Tenant.from_dict(from_file.to_dict()) == from_file
    assert from_file.domains == ["shop.acme.test", "preview.acme.test"]


def test_validation_error_lists_every_path():
    with pytest.raises(moorage.ValidationError) as info:
        moorage.Tenant("Acme!", quota=moorage.Quota(limits_cpu="1", limits_memory="2g"), domains=["bad domain"])
    paths = [path for path, _ in info.value.errors]
    assert "tenant.quota.limits.memory" in paths
    assert "tenant.domains[0]" in paths
    assert len(paths) >= 3
    memory = dict(info.value.errors)["tenant.quota.limits.memory"]
    assert "2Gi" in memory
    assert isinstance(info.value, moorage.MoorageError)


def test_spec_error_has_path_and_line():
    with pytest.raises(moorage.SpecError) as info:
        moorage.Tenant.from_yaml("name: acme\nquota:\n  pods: many\n")
    assert info.value.path.startswith("tenant.quota")
    assert info.value.line == 3


def test_unknown_field_in_dict_is_refused():
    with pytest.raises(moorage.SpecError) as info:
        moorage.Tenant.from_dict({"name": "acme", "quotas": {}})
    assert info.value.path.startswith("tenant")


def test_a_dict_nested_too_deeply_is_a_spec_error_not_a_crash():
    deep = {}
    for _ in range(100_000):
        deep = {"a": deep}
    itself = {"name": "acme"}
    itself["labels"] = itself
    listed = []
    listed.append(listed)
    for spec in [{"name": "acme", "labels": deep}, itself, {"name": "acme", "domains": listed}]:
        with pytest.raises(moorage.SpecError) as info:
            moorage.Tenant.from_dict(spec)
        assert info.value.path == "tenant"
        assert info.value.message.startswith("nests deeper than 128 levels")
    with pytest.raises(moorage.SpecError) as info:
        moorage.compile_many([(itself, [])])
    assert info.value.path == "tenant"
    with pytest.raises(moorage.SpecError) as info:
        moorage.Tenant("acme", labels=deep)
    assert info.value.path == "tenant.labels"
    # 128 levels are still read (and refused by the tenant's rules, not by the conversion).
    shallow = "x"
    for _ in range(127):
        shallow = [shallow]
    with pytest.raises(moorage.SpecError) as info:
        moorage.Tenant.from_dict({"name": "acme", "domains": shallow})
    assert info.value.path.startswith("tenant.domains"), info.value.path


def test_with_quota_validates_again(specs):
    t = moorage.Tenant.from_yaml(specs / "acme.tenant.yaml")
    raised = t.with_quota(moorage.Quota(limits_cpu="2", limits_memory="1Gi", pods=6))
    assert raised.quota.limits_cpu == "2"
    with pytest.raises(moorage.ValidationError):
        t.with_quota(moorage.Quota(limits_memory="lots"))


def test_compile_is_a_yaml_stream(specs):
    t = moorage.Tenant.from_yaml(specs / "acme.tenant.yaml")
    text = t.compile()
    assert "kind: Namespace" in text
    assert "kind: ResourceQuota" in text
    assert "kind: CronJob" in text  # the nightly backup
    assert "---" in text


def test_onboarding_with_custom_domain_and_backups():
    t = moorage.Tenant(
        "globex",
        quota=moorage.Quota(limits_cpu="2", limits_memory="2Gi", requests_storage="20Gi", pods=10),
        members={"hank@globex.test": "admin"},
        domains=["shop.globex.test"],
        storage=[{"name": "db", "storageClass": "openebs-replicated", "size": "10Gi"}],
        backups=[
            {
                "name": "nightly",
                "volume": "db",
                "schedule": "0 3 * * *",
                "retention": 7,
                "target": {"endpoint": "https://minio.backup.svc:9000", "bucket": "globex", "credentialsSecret": "globex-s3"},
                "database": {"engine": "postgres", "host": "db", "database": "shop", "credentialsSecret": "globex-db"},
            }
        ],
    )
    cluster = moorage.Cluster.simulated()
    assert cluster.apply_tenant(t) > 0
    assert cluster.apply_tenant(t) == 0  # idempotent
    assert "credentialsSecret" not in repr(t)


def lifecycle(cluster: moorage.Cluster, name: str) -> None:
    """The core's tenant lifecycle through Python: apply, plan, status, suspend/resume, live, delete."""
    t = moorage.Tenant(name, quota=moorage.Quota(limits_cpu="2", limits_memory="1Gi", pods=10), domains=[f"shop.{name}.test"])
    assert cluster.apply_tenant(t, timeout=120) > 0
    assert cluster.apply_tenant(t, timeout=120) == 0
    plan = cluster.plan_tenant(t)
    assert plan["objects"] and all(o["action"] == "unchanged" for o in plan["objects"]), plan
    bigger = t.with_quota(moorage.Quota(limits_cpu="2", limits_memory="1Gi", pods=30))
    updates = [o for o in cluster.plan_tenant(bigger)["objects"] if o["action"] == "update"]
    quota = next(o for o in updates if o["object"]["kind"] == "ResourceQuota")
    assert {"path": "spec.hard.pods", "before": "10", "after": "30"} in quota["changes"]

    status = cluster.tenant_status(t)
    pods = next(q for q in status["quota"] if q["resource"] == "pods")
    assert pods["hard"] == "10"
    assert [d["domain"] for d in status["domains"]] == [f"shop.{name}.test"]
    assert cluster.live_tenant(name) == t

    # Another tenant cannot claim the domain; nothing is written for it.
    thief = moorage.Tenant(f"{name}-x", domains=[f"shop.{name}.test"])
    with pytest.raises(moorage.DomainTaken) as taken:
        cluster.apply_tenant(thief)
    assert (taken.value.domain, taken.value.holder) == (f"shop.{name}.test", name)
    with pytest.raises(moorage.TenantNotFound) as missing:
        cluster.live_tenant(f"{name}-x")
    assert missing.value.tenant == f"{name}-x"

    assert cluster.suspend_tenant(t) == [] and cluster.resume_tenant(t) == []
    with pytest.raises(moorage.TenantProtected) as protected:
        cluster.delete_tenant(t)
    assert protected.value.tenant == name
    assert isinstance(protected.value, moorage.TenantError)
    report = cluster.delete_tenant(t, confirm=True, purge=True)
    assert any(o["kind"] == "Namespace" for o in report["deleted"]), report


def test_lifecycle_on_the_simulated_cluster():
    lifecycle(moorage.Cluster.simulated(), "lifecycle")


def test_lifecycle_on_the_real_control_plane(real_cluster):
    from conftest import unique

    lifecycle(real_cluster, unique("pylife"))


def test_lifecycle_coroutines():
    async def main():
        c = moorage.Cluster.simulated()
        t = moorage.Tenant("coro", domains=["shop.coro.test"])
        assert await c.a_apply_tenant(t) > 0
        assert (await c.a_plan_tenant(t))["objects"]
        assert (await c.a_tenant_status(t))["domains"][0]["domain"] == "shop.coro.test"
        with pytest.raises(moorage.TenantProtected):
            await c.a_delete_tenant(t)

    import asyncio

    asyncio.run(main())


def kubectl(*args: str) -> str:
    """kubectl ($KUBECTL, else on the PATH) against the test control plane."""
    import os
    import shutil
    import subprocess

    binary = os.environ.get("KUBECTL") or shutil.which("kubectl")
    if binary is None:
        pytest.fail("no kubectl to act as another field manager")
    return subprocess.run([binary, "--kubeconfig", os.environ["MOORAGE_TEST_KUBECONFIG"], *args], check=True, capture_output=True, text=True).stdout


def test_a_field_another_manager_changed_conflicts_until_forced(real_cluster):
    from conftest import unique

    name = unique("pyforce")
    t = moorage.Tenant(name, quota=moorage.Quota(limits_cpu="2", limits_memory="1Gi", pods=10))
    try:
        assert real_cluster.apply_tenant(t, timeout=120) > 0
        quota = next(o["object"] for o in real_cluster.plan_tenant(t)["objects"] if o["object"]["kind"] == "ResourceQuota")
        # Someone raises the quota by hand, as the operator of the demo did.
        kubectl("patch", "resourcequota", quota["name"], "-n", quota["namespace"], "--type", "merge", "-p", '{"spec":{"hard":{"pods":"11"}}}')
        with pytest.raises(moorage.Conflict) as conflict:
            real_cluster.apply_tenant(t, timeout=120)
        assert conflict.value.manager == "kubectl-patch"
        assert "pods" in conflict.value.field
        assert quota["name"] in conflict.value.object
        assert next(q for q in real_cluster.tenant_status(t)["quota"] if q["resource"] == "pods")["hard"] == "11", "nothing overwritten"
        # Forced, moorage takes the field back.
        assert real_cluster.apply_tenant(t, timeout=120, force=True) > 0
        assert next(q for q in real_cluster.tenant_status(t)["quota"] if q["resource"] == "pods")["hard"] == "10"
        assert real_cluster.apply_tenant(t, timeout=120) == 0
    finally:
        real_cluster.delete_tenant(t, confirm=True, purge=True)


def test_list_tenants():
    import asyncio

    cluster = moorage.Cluster.simulated()
    for name in ("beta", "alpha"):
        cluster.apply_tenant(moorage.Tenant(name, display_name=name.title(), domains=[f"shop.{name}.test"]))
    listed = cluster.list_tenants()
    assert [(t["name"], t["display_name"], t["domains"], t["suspended"]) for t in listed] == [
        ("alpha", "Alpha", ["shop.alpha.test"], False),
        ("beta", "Beta", ["shop.beta.test"], False),
    ]

    async def main():
        return await cluster.a_list_tenants()

    assert asyncio.run(main()) == listed


def test_ci_credentials_reach_the_tenant_and_nothing_else(real_cluster, tmp_path):
    import os
    import re

    from conftest import unique

    admin = open(os.environ["MOORAGE_TEST_KUBECONFIG"]).read()
    server = re.search(r"server:\s*(\S+)", admin).group(1)
    ca = re.search(r"certificate-authority-data:\s*(\S+)", admin)
    mine, other = moorage.Tenant(unique("pyci"), protected=False), moorage.Tenant(unique("pyother"), protected=False)
    try:
        for t in (mine, other):
            real_cluster.apply_tenant(t, timeout=120)
        with pytest.raises(TypeError):
            moorage.Cluster.simulated().ci_credentials(mine, server=server)
        # Without server=, the kubeconfig's server and CA (the core's CiOptions::for_cluster).
        creds = real_cluster.ci_credentials(mine, ttl=600)
        assert (creds.namespace, creds.service_account) == (mine.namespace, "ci")
        assert creds.token and creds.token not in repr(creds) and "token=***" in repr(creds)
        assert creds.token in creds.kubeconfig and f"server: {server.rstrip('/')}" in creds.kubeconfig, creds.kubeconfig.replace(creds.token, "***")
        if ca:
            assert f"certificate-authority-data: {ca.group(1)}" in creds.kubeconfig
        # Given, the pipeline's own server (it may reach the API server another way), without a CA.
        other_way = real_cluster.ci_credentials(mine, server="https://ci-gateway.example.test:6443", ttl=600)
        assert "server: https://ci-gateway.example.test:6443" in other_way.kubeconfig
        assert "certificate-authority-data" not in other_way.kubeconfig
        path = tmp_path / "ci.kubeconfig"
        path.write_text(creds.kubeconfig)
        ci = moorage.Cluster.from_kubeconfig(path)
        assert ci.status(mine, "web").versions == [], "the pipeline reads its own tenant"
        with pytest.raises(moorage.Forbidden):
            ci.status(other, "web")
    finally:
        for t in (mine, other):
            real_cluster.delete_tenant(t, confirm=True, purge=True)


def test_the_provider_s_allowed_storage_classes():
    cluster = moorage.Cluster.simulated()
    t = moorage.Tenant.from_dict({"name": "vault", "quota": {"limits": {"cpu": "2", "memory": "2Gi"}, "requests": {"storage": "10Gi"}}, "storage": [{"name": "data", "size": "1Gi", "storageClass": "slow-hdd"}]})
    with pytest.raises(moorage.ValidationError) as refused:
        cluster.apply_tenant(t, storage_classes=["openebs-replicated"])
    [(path, message)] = refused.value.errors
    assert path == "tenant.storage[0].storageClass"
    assert "openebs-replicated" in message
    with pytest.raises(moorage.TenantNotFound):
        cluster.live_tenant("vault")  # nothing applied
    assert cluster.apply_tenant(t, storage_classes=["slow-hdd", "openebs-replicated"]) > 0
    # A fleet cluster's allow list, as Node's `storageClasses` (the same check, in the core).
    fleet = moorage.Fleet([{"name": "onprem", "cluster": moorage.Cluster.simulated(), "storage_classes": ["openebs-replicated"]}])
    with pytest.raises(moorage.ValidationError) as refused:
        fleet.apply_tenant(t)
    assert [p for p, _ in refused.value.errors] == ["tenant.storage[0].storageClass"]
    # A misspelt key of a cluster is refused, not ignored (a capacity that limits nothing).
    with pytest.raises(TypeError, match=r"clusters\[0\]: unknown key 'capacty', expected one of 'name', 'cluster', 'labels', 'capacity', 'storage_classes'"):
        moorage.Fleet([{"name": "onprem", "cluster": moorage.Cluster.simulated(), "capacty": 5}])


def _schema_fields(name):
    import json
    import pathlib

    schema = pathlib.Path(__file__).resolve().parents[2] / "docs" / "schema" / f"{name}.schema.json"
    return set(json.loads(schema.read_text())["properties"])


def _snake(field):
    return "".join("_" + c.lower() if c.isupper() else c for c in field)


def test_every_tenant_spec_field_has_a_keyword():
    # The core's JSON schema (docs/schema, generated from the spec types and checked by the Rust
    # tests) is the list of fields: a field added to the core without a keyword here fails.
    import inspect

    keywords = set(inspect.signature(moorage.Tenant).parameters)
    assert {_snake(f) for f in _schema_fields("tenant")} - keywords == set()


def test_every_release_spec_field_has_a_keyword():
    import inspect

    keywords = set(inspect.signature(moorage.Release).parameters)
    # `config` (files and mount path) is spelled as two keywords.
    fields = {_snake(f) for f in _schema_fields("release")} - {"config"}
    assert fields - keywords == set()
    assert {"config_files", "config_mount_path"} <= keywords


def test_gateway_keyword_routes_hosts_through_http_routes():
    t = moorage.Tenant("acme", domains=["shop.acme.test"], gateway={"name": "public", "namespace": "gateways"})
    assert t.to_dict()["gateway"] == {"name": "public", "namespace": "gateways"}
    r = moorage.Release(t, "web", "v1", image="nginxinc/nginx-unprivileged:1.27", ports=[{"name": "http", "port": 8080}], hosts=["shop.acme.test"])
    kinds = [line for line in moorage.compile(t, [r]).splitlines() if line.startswith("kind: ")]
    assert "kind: HTTPRoute" in kinds and "kind: Ingress" not in kinds
    with pytest.raises(moorage.ValidationError) as e:
        moorage.Tenant("acme", gateway={"name": "", "namespace": "gateways"})
    assert [path for path, _ in e.value.errors] == ["tenant.gateway.name"]


def test_quota_and_strategy_problems_name_their_field():
    with pytest.raises(moorage.SpecError) as info:
        moorage.Quota(container_defaults={"default": {"cpu": 5, "memory": "1Gi"}})
    assert info.value.path.startswith("quota.containerDefaults"), info.value.path
    with pytest.raises(moorage.SpecError) as info:
        moorage.Canary([{"setWeight": "lots"}])
    assert info.value.path == "strategy.steps[0].setWeight"
    # Counts are read by the core, as a tenant file's are: never wrapped or cut, and each problem
    # names its field (Node's `new Quota({pods: -1})` gives the same path and message).
    for given, path, expected in [
        ({"pods": -1}, "quota.pods", "invalid type: integer `-1`, expected a whole number from 0 to 4294967295"),
        ({"pods": 1.5}, "quota.pods", "invalid type: floating point `1.5`, expected a whole number from 0 to 4294967295"),
        ({"secrets": 2**40}, "quota.objects.secrets", "invalid value: integer `1099511627776`, expected a whole number from 0 to 4294967295"),
        ({"pods": True}, "quota.pods", "invalid type: boolean `true`, expected a whole number from 0 to 4294967295"),
        ({"limits_memory": ["2Gi"]}, "quota.limits.memory", "invalid type: sequence, expected a string"),
    ]:
        with pytest.raises(moorage.SpecError) as info:
            moorage.Quota(**given)
        assert (info.value.path, info.value.message) == (path, expected), (given, str(info.value))
    # A count given as a number of the right kind is kept, and a quantity given as a number is read
    # as its text, as in a file (`cpu: 2`).
    q = moorage.Quota(pods=20, limits_cpu=2, secrets=5)
    assert (q.pods, q.limits_cpu, q.to_dict()["objects"]["secrets"]) == (20, "2", 5)
