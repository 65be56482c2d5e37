"""Monitoring objects (the core's compile::monitoring) from Python: the tenant's Grafana dashboard
with one panel per declared business metric, the alert rules, and the objects for
prometheus-operator when it is installed."""

from __future__ import annotations

import json
from pathlib import Path

import moorage


def erp() -> tuple[moorage.Tenant, moorage.Release]:
    t = moorage.Tenant("erp", quota=moorage.Quota(limits_cpu="4", limits_memory="4Gi", pods=20))
    odoo = moorage.Release(
        t,
        "odoo",
        "v17",
        image="odoo:17",
        ports=[{"name": "http", "port": 8069}],
        metrics={
            "port": "http",
            "business": [
                {"name": "erp_orders_total", "title": "Orders"},
                {"name": "erp_cart_value", "kind": "gauge", "unit": "currencyEUR", "title": "Cart value"},
            ],
        },
    )
    return t, odoo


def test_the_dashboard_has_a_panel_per_business_metric(tmp_path: Path) -> None:
    t, odoo = erp()
    assert odoo.metrics is not None and [b["name"] for b in odoo.metrics["business"]] == ["erp_orders_total", "erp_cart_value"]
    m = moorage.compile_monitoring(t, [odoo])
    panels = {p["title"]: p for p in m.dashboard["panels"]}
    orders, cart = panels["odoo: Orders"], panels["odoo: Cart value"]
    assert orders["targets"][0]["expr"] == 'sum by (version) (rate(erp_orders_total{namespace="erp", app="odoo"}[$__rate_interval]))'
    assert cart["targets"][0]["expr"] == 'sum by (version) (erp_cart_value{namespace="erp", app="odoo"})'
    assert {"CPU per pod", "Memory per pod", "Quota use"} <= set(panels)
    assert m.dashboard["title"] == "moorage / erp"
    # Without prometheus-operator: only the dashboard ConfigMap, labelled for Grafana's sidecar.
    assert [o["kind"] for o in m.objects] == ["ConfigMap"]
    configmap = m.objects[0]
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(next(iter(configmap["data"].values()))) == m.dashboard
    assert m.rules["groups"][0]["rules"], m.rules
    written = m.write_files(tmp_path)
    assert sorted(Path(p).name for p in written) == ["erp.dashboard.json", "erp.rules.yaml"]
    assert json.loads((tmp_path / "erp.dashboard.json").read_text()) == m.dashboard


def test_with_prometheus_operator_releases_get_pod_monitors_and_rules() -> None:
    t, odoo = erp()
    kinds = sorted(o["kind"] for o in moorage.compile_monitoring(t, [odoo], prometheus_operator=True).objects)
    assert kinds == ["ConfigMap", "PodMonitor", "PrometheusRule"]
    assert moorage.Cluster.simulated().prometheus_operator_installed() is False
