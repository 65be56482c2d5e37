// Fleets (the core's tenant::fleet): named clusters with labels and capacities, tenant placement by
// pin or label rule, the tenants of the fleet, and the fleet's error codes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { moorage, rejection, thrown } from './helpers.mjs'

const { Cluster, Fleet, Quota, Tenant, FleetError } = moorage

const tenant = (name) => new Tenant({ name, protected: false, quota: new Quota({ limitsCpu: '2', limitsMemory: '2Gi', pods: 10 }), domains: [`shop.${name}.test`] })

test('tenants go where the pin or the label rule says, and stay there', async () => {
  const onprem = Cluster.simulated()
  const fleet = new Fleet([
    { name: 'onprem', cluster: onprem, labels: { location: 'onprem' }, capacity: 2 },
    { name: 'cloud', cluster: Cluster.simulated(), labels: { location: 'cloud' } },
  ])
  assert.deepEqual(fleet.clusters, ['onprem', 'cloud'])
  assert.equal(fleet.describe(), 'Fleet(onprem, cloud)')

  const pinned = await fleet.applyTenant(tenant('acme'), { pin: 'cloud' })
  assert.equal(pinned.cluster, 'cloud')
  assert.ok(pinned.report.created > 0 && pinned.report.changes === pinned.report.created, JSON.stringify(pinned.report))
  const ruled = await fleet.applyTenant(tenant('globex'), { labels: { location: 'onprem' } })
  assert.equal(ruled.cluster, 'onprem')
  // Applied again without a pin, a tenant stays where it is, unchanged.
  const again = await fleet.applyTenant(tenant('acme'))
  assert.deepEqual([again.cluster, again.report.changes], ['cloud', 0])
  assert.deepEqual((await fleet.list()).map((t) => [t.tenant, t.cluster]).sort(), [['acme', 'cloud'], ['globex', 'onprem']])

  // The fleet's clusters are the same backends: the tenant is on `onprem`, not on a copy.
  assert.equal((await fleet.cluster('onprem').liveTenant('globex')).name, 'globex')
  assert.equal((await onprem.liveTenant('globex')).namespace, 'globex')
  assert.equal(fleet.cluster('mars'), null)
  const missing = await rejection(onprem.liveTenant('acme'))
  assert.deepEqual([missing.code, missing.tenant], ['TENANT_NOT_FOUND', 'acme'])
})

test('fleet errors carry their fields: UNKNOWN_CLUSTER, NO_CAPACITY, ALREADY_PLACED, DUPLICATE_CLUSTER', async () => {
  const fleet = new Fleet([
    { name: 'onprem', cluster: Cluster.simulated(), labels: { location: 'onprem' }, capacity: 1 },
    { name: 'cloud', cluster: Cluster.simulated(), labels: { location: 'cloud' } },
  ])
  const unknown = await rejection(fleet.applyTenant(tenant('acme'), { pin: 'mars' }))
  assert.ok(unknown instanceof moorage.UnknownClusterError && unknown instanceof FleetError)
  assert.deepEqual([unknown.code, unknown.cluster], ['UNKNOWN_CLUSTER', 'mars'])

  await fleet.applyTenant(tenant('acme'), { labels: { location: 'onprem' } })
  const full = await rejection(fleet.applyTenant(tenant('globex'), { labels: { location: 'onprem' } }))
  assert.deepEqual([full.code, full.required], ['NO_CAPACITY', ['location=onprem']])
  const placed = await rejection(fleet.applyTenant(tenant('acme'), { pin: 'cloud' }))
  assert.ok(placed instanceof moorage.AlreadyPlacedError)
  assert.deepEqual([placed.tenant, placed.cluster], ['acme', 'onprem'])

  // A domain is unique across the fleet, not only within one cluster: the tenant lifecycle's code.
  const taken = await rejection(fleet.applyTenant(new Tenant({ name: 'initech', domains: ['shop.acme.test'] }), { pin: 'cloud' }))
  assert.deepEqual([taken.code, taken.domain, taken.holder], ['DOMAIN_TAKEN', 'shop.acme.test', 'acme'])

  const duplicate = thrown(() => new Fleet([{ name: 'a', cluster: Cluster.simulated() }, { name: 'a', cluster: Cluster.simulated() }]))
  assert.ok(duplicate instanceof moorage.DuplicateClusterError)
  assert.deepEqual([duplicate.code, duplicate.cluster], ['DUPLICATE_CLUSTER', 'a'])
  assert.throws(() => new Fleet([{ name: 'a' }]), /clusters\[0\]\.cluster is missing/)
  assert.throws(() => new Fleet([{ cluster: Cluster.simulated() }]), /clusters\[0\]\.name is missing/)
})
