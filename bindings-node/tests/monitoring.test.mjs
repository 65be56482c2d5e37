// Monitoring objects (the core's compile::monitoring) from Node: the tenant's Grafana dashboard
// with one panel per declared business metric, the alert rules, and the objects for
// prometheus-operator when it is installed.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { moorage, realCluster } from './helpers.mjs'

const { Cluster, Quota, Release, Tenant, compileMonitoring } = moorage

function erp() {
  const tenant = new Tenant({ name: 'erp', quota: new Quota({ limitsCpu: '4', limitsMemory: '4Gi', pods: 20 }) })
  const odoo = new Release({
    tenant,
    app: 'odoo',
    version: 'v17',
    image: 'odoo:17',
    ports: [{ name: 'http', port: 8069 }],
    metrics: {
      port: 'http',
      business: [
        { name: 'erp_orders_total', title: 'Orders' },
        { name: 'erp_cart_value', kind: 'gauge', unit: 'currencyEUR', title: 'Cart value' },
      ],
    },
  })
  return [tenant, odoo]
}

test('the dashboard has a panel per business metric; rules and dashboard files are written', () => {
  const [tenant, odoo] = erp()
  const m = compileMonitoring(tenant, [odoo])
  const panels = Object.fromEntries(m.dashboard.panels.map((p) => [p.title, p]))
  assert.equal(panels['odoo: Orders'].targets[0].expr, 'sum by (version) (rate(erp_orders_total{namespace="erp", app="odoo"}[$__rate_interval]))')
  assert.equal(panels['odoo: Cart value'].targets[0].expr, 'sum by (version) (erp_cart_value{namespace="erp", app="odoo"})')
  for (const title of ['CPU per pod', 'Memory per pod', 'Quota use']) assert.ok(title in panels, title)
  assert.equal(m.dashboard.title, 'moorage / erp')
  // Without prometheus-operator: only the dashboard ConfigMap, labelled for Grafana's sidecar.
  assert.deepEqual(m.objects.map((o) => o.kind), ['ConfigMap'])
  const configmap = m.objects[0]
  assert.equal(configmap.metadata.labels.grafana_dashboard, '1')
  assert.deepEqual(JSON.parse(Object.values(configmap.data)[0]), m.dashboard)
  assert.ok(m.rules.groups[0].rules.length > 0, JSON.stringify(m.rules))
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'moorage-node-monitoring-'))
  try {
    const written = m.writeFiles(path.join(dir, 'out'))
    assert.deepEqual(written.map((p) => path.basename(p)).sort(), ['erp.dashboard.json', 'erp.rules.yaml'])
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'out', 'erp.dashboard.json'), 'utf8')), m.dashboard)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('with prometheus-operator, releases get PodMonitors and the tenant a PrometheusRule', async () => {
  const [tenant, odoo] = erp()
  const kinds = compileMonitoring(tenant, [odoo], { prometheusOperator: true }).objects.map((o) => o.kind).sort()
  assert.deepEqual(kinds, ['ConfigMap', 'PodMonitor', 'PrometheusRule'])
  assert.deepEqual(compileMonitoring(tenant).objects.map((o) => o.kind), ['ConfigMap'])
  assert.equal(await Cluster.simulated().prometheusOperatorInstalled(), false)
})

test('the real control plane serves prometheus-operator\'s CRDs', async (t) => {
  const cluster = await realCluster(t)
  if (!cluster) return
  assert.equal(await cluster.prometheusOperatorInstalled(), true)
})
