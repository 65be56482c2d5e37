// Fleet wave upgrades (the core's waves module) on two simulated clusters and, with
// MOORAGE_TEST_KUBECONFIG, across the real test control plane and a simulated cluster.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { moorage, realCluster, rejection, unique } from './helpers.mjs'

const { BlueGreen, Cluster, Fleet, Quota, Release, Tenant, WaveError } = moorage

/** Onboards `names` round-robin over the fleet's clusters (or on `pin`), each running shop 1.0. */
async function onboard(fleet, names, { pods = 10, timeout = 600 } = {}) {
  for (const [i, name] of names.entries()) {
    const t = new Tenant({ name, protected: false, quota: new Quota({ limitsCpu: '4', limitsMemory: '4Gi', pods }), domains: [`shop.${name}.test`] })
    const where = fleet.clusters[i % fleet.clusters.length]
    const { cluster } = await fleet.applyTenant(t, { pin: where, timeout })
    assert.equal(cluster, where)
    const release = new Release({
      tenant: t, app: 'shop', version: '1.0', image: 'registry.test/shop:1.0', replicas: 2, ports: [{ name: 'http', port: 8080 }],
      resources: { requests: { cpu: '50m', memory: '32Mi' }, limits: { cpu: '100m', memory: '64Mi' } },
      hosts: [`shop.${name}.test`], strategy: new BlueGreen({ scaleDownDelay: '0s' }),
    })
    assert.equal((await fleet.cluster(cluster).rollout(t, release, { timeout })).phase, 'done')
  }
}

const plan = (name, tenants, extra = {}) => ({
  name, app: 'shop', version: '2.0', image: 'registry.test/shop:2.0', selection: { tenants },
  canaryTenants: tenants.slice(0, 1), waves: [50, 100], maxConcurrentPerCluster: 2, ...extra,
})

/** The version of shop that serves for `name`, on its fleet cluster. */
async function active(fleet, name, cluster) {
  const c = fleet.cluster(cluster)
  return (await c.status(await c.liveTenant(name), 'shop')).active
}

test('waves upgrade every tenant, the canary tenant first, with progress as an async iterator', async () => {
  const fleet = new Fleet([{ name: 'onprem', cluster: Cluster.simulated() }, { name: 'cloud', cluster: Cluster.simulated() }])
  const names = ['js0', 'js1', 'js2', 'js3', 'js4']
  await onboard(fleet, names)
  const run = moorage.watch((onProgress) => fleet.startWaves(plan('shop-2', names), { onProgress }))
  const events = []
  for await (const e of run) events.push(e)
  const state = await run.result
  assert.equal(state.phase, 'done')
  assert.deepEqual(state.waves, ['canary', '50%', '100%'])
  assert.deepEqual(state.tenants.map((t) => [t.tenant, t.state, t.from]), names.map((n) => [n, 'succeeded', '1.0']))
  assert.deepEqual(state.tenants.map((t) => t.cluster), ['onprem', 'cloud', 'onprem', 'cloud', 'onprem'])
  assert.equal(state.tenants[0].wave, 0, 'the canary tenant is alone in wave 0')
  assert.ok(state.tenants.slice(1).every((t) => t.wave > 0), JSON.stringify(state.tenants))

  assert.deepEqual(events[0], { event: 'planned', waves: [{ label: 'canary', tenants: 1 }, { label: '50%', tenants: 2 }, { label: '100%', tenants: 2 }], skipped: [] })
  const started = events.filter((e) => e.event === 'tenantStarted').map((e) => e.tenant)
  assert.equal(started[0], 'js0')
  assert.deepEqual([...started].sort(), names)
  assert.deepEqual(events.filter((e) => e.event === 'waveStarted').map((e) => e.label), ['canary', '50%', '100%'])
  assert.deepEqual(events.at(-1), { event: 'done', succeeded: 5, failed: 0, skipped: 0 })
  for (const t of state.tenants) assert.equal(await active(fleet, t.tenant, t.cluster), '2.0')

  // The state lives in the fleet's first cluster: any process reads it back.
  assert.deepEqual(await fleet.wavesStatus('shop-2'), state)
  assert.equal(await fleet.wavesStatus('never'), null)
  // Started again with the same spec: idempotent; with another spec: PLAN_EXISTS.
  assert.equal((await fleet.startWaves(plan('shop-2', names))).phase, 'done')
  const exists = await rejection(fleet.startWaves({ ...plan('shop-2', names), version: '3.0' }))
  assert.ok(exists instanceof moorage.PlanExistsError && exists instanceof WaveError)
  assert.deepEqual([exists.code, exists.plan], ['PLAN_EXISTS', 'shop-2'])
  const none = await rejection(fleet.resumeWaves('never'))
  assert.deepEqual([none.code, none.plan], ['NO_SUCH_PLAN', 'never'])
})

test('a pause gate stops after each wave until resumeWaves; a tenant whose quota cannot hold the rollout is skipped up front', async () => {
  const fleet = new Fleet([{ name: 'one', cluster: Cluster.simulated() }])
  await onboard(fleet, ['a1', 'a2'])
  // 3 pods: version 1.0 (2 pods) fits, a blue/green to 2.0 (4 pods at its peak) does not.
  await onboard(fleet, ['tight'], { pods: 3 })
  const spec = { ...plan('paused', ['a1', 'a2', 'tight'], { betweenWaves: 'pause' }), waves: [100] }
  const events = []
  let state = await fleet.startWaves(spec, { onProgress: (e) => events.push(e) })
  assert.deepEqual([state.phase, state.currentWave], ['paused', 1])
  assert.equal(events[0].event, 'planned')
  assert.deepEqual(events[0].skipped.map((s) => s.tenant), ['tight'])
  assert.match(events[0].skipped[0].reason, /pods/)
  assert.deepEqual(events.at(-1), { event: 'paused', nextWave: 1 })
  const tight = state.tenants.find((t) => t.tenant === 'tight')
  assert.equal(tight.state, 'skipped')
  assert.equal(tight.wave, undefined)
  assert.deepEqual(state.tenants.map((t) => t.state), ['succeeded', 'pending', 'skipped'])
  assert.equal(await active(fleet, 'a2', 'one'), '1.0', 'the second wave waits for resumeWaves')

  const resumed = []
  state = await fleet.resumeWaves('paused', { onProgress: (e) => resumed.push(e.event) })
  assert.equal(state.phase, 'done')
  assert.deepEqual(state.tenants.map((t) => t.state), ['succeeded', 'succeeded', 'skipped'])
  assert.deepEqual(resumed.slice(-1), ['done'])
  assert.equal(await active(fleet, 'a2', 'one'), '2.0')
  assert.equal(await active(fleet, 'tight', 'one'), '1.0')
})

test('a tenant that fails is rolled back and, past the failure budget, the plan stops with the rest untouched', async () => {
  const fleet = new Fleet([{ name: 'one', cluster: Cluster.simulated() }])
  const names = ['f0', 'f1', 'f2']
  await onboard(fleet, names)
  // No backend time at all for a rollout: on the simulated cluster's virtual clock the new version
  // is never ready in time, so the canary tenant fails (and is rolled back).
  const events = []
  const state = await fleet.startWaves({ ...plan('failing', names), failureBudget: 0 }, { timeout: 0, onProgress: (e) => events.push(e) })
  assert.deepEqual([state.phase, state.currentWave], ['stopped', 0])
  assert.match(state.reason, /failure budget of 0/)
  assert.deepEqual(state.tenants.map((t) => t.state), ['failed', 'pending', 'pending'])
  assert.match(state.tenants[0].reason, /2\.0 did not become ready/)
  const failed = events.find((e) => e.event === 'tenantFailed')
  assert.deepEqual([failed.tenant, failed.cluster, failed.reason], ['f0', 'one', state.tenants[0].reason])
  assert.deepEqual(events.slice(-2), [{ event: 'waveFinished', wave: 0, succeeded: 0, failed: 1 }, { event: 'stopped', reason: state.reason }])
  for (const name of names) assert.equal(await active(fleet, name, 'one'), '1.0', `${name} serves 1.0`)
})

test('a bad plan is refused before any API call: VALIDATION with every path, SPEC, UNKNOWN_CLUSTER, NOTHING_SELECTED', async () => {
  const fleet = new Fleet([{ name: 'one', cluster: Cluster.simulated() }])
  const bad = await rejection(fleet.startWaves({ name: 'Bad Name', app: 'shop', version: '2.0', image: 'registry.test/shop:2.0', waves: [50, 40], maxConcurrentPerCluster: 0 }))
  assert.equal(bad.code, 'VALIDATION', bad.message)
  const paths = bad.errors.map((e) => e.path)
  for (const p of ['plan.name', 'plan.waves[1]', 'plan.maxConcurrentPerCluster']) assert.ok(paths.includes(p), paths.join(', '))
  assert.equal(paths.filter((p) => p === 'plan.waves[1]').length, 2, 'not rising, and not ending at 100')

  const unknown = await rejection(fleet.startWaves({ name: 'p', app: 'shop', version: '2.0', image: 'x:1', wavez: [100] }))
  assert.equal(unknown.code, 'SPEC')
  assert.match(unknown.path, /^plan/)
  assert.equal(unknown.line, null, 'built from an object: no line')
  const yaml = await rejection(fleet.startWaves('name: p\napp: shop\nversion: "2.0"\nimage: x:1\nwavez: [100]\n'))
  assert.deepEqual([yaml.code, yaml.line], ['SPEC', 5])
  // null and undefined are absent members (as None is in Python): the plan is read, and only then
  // found to select nothing.
  const absent = await rejection(fleet.startWaves({ name: 'p', app: 'shop', version: '2.0', image: 'registry.test/shop:2.0', canaryTenants: null, failureBudget: undefined }))
  assert.equal(absent.code, 'NOTHING_SELECTED', absent.message)

  const mars = await rejection(fleet.startWaves({ name: 'p', app: 'shop', version: '2.0', image: 'registry.test/shop:2.0', selection: { clusters: ['mars'] } }))
  assert.deepEqual([mars.code, mars.cluster], ['UNKNOWN_CLUSTER', 'mars'])
  const nothing = await rejection(fleet.startWaves({ name: 'p', app: 'shop', version: '2.0', image: 'registry.test/shop:2.0' }))
  assert.ok(nothing instanceof moorage.NothingSelectedError)
  assert.deepEqual([nothing.code, nothing.app], ['NOTHING_SELECTED', 'shop'])
  const empty = await rejection(new Fleet([]).wavesStatus('p'))
  assert.ok(empty instanceof moorage.EmptyFleetError)
  assert.throws(() => fleet.startWaves(plan('p', ['x']), { timeout: -1 }), /timeout/)
})

test('waves across the real control plane and a simulated cluster', async (t) => {
  const real = await realCluster(t)
  if (!real) return
  const fleet = new Fleet([{ name: 'onprem', cluster: real }, { name: 'zcloud', cluster: Cluster.simulated() }])
  const suffix = unique('w')
  const names = [0, 1, 2].map((i) => `jw${i}-${suffix}`)
  try {
    await onboard(fleet, names, { timeout: 120 })
    const run = moorage.watch((onProgress) => fleet.startWaves(plan(`js-${suffix}`, names), { timeout: 300, onProgress }))
    const events = []
    for await (const e of run) events.push(e.event)
    const state = await run.result
    assert.equal(state.phase, 'done', JSON.stringify(state))
    assert.deepEqual(state.tenants.map((x) => x.cluster), ['onprem', 'zcloud', 'onprem'])
    assert.equal(events.filter((e) => e === 'tenantSucceeded').length, 3)
    assert.equal(await active(fleet, names[0], 'onprem'), '2.0')
    assert.deepEqual(await fleet.wavesStatus(`js-${suffix}`), state)
  } finally {
    for (const name of [names[0], names[2]]) {
      // Never masks the test's own failure (a tenant may not exist when it failed early).
      await real.deleteTenant(new Tenant({ name, protected: false }), { purge: true }).catch(() => {})
    }
  }
})

test('a plan object with no JSON form is a SPEC rejection: too deep, containing itself, a number that is not finite', async () => {
  const fleet = new Fleet([{ name: 'sim', cluster: Cluster.simulated() }])
  const plan = { name: 'p', app: 'shop', version: '2.0', image: 'registry.test/shop:2.0', waves: [50, 100] }
  let deep = {}
  for (let i = 0; i < 100000; i++) deep = { a: deep }
  const itself = { ...plan }
  itself.selection = itself
  for (const bad of [{ ...plan, selection: deep }, itself]) {
    const e = await rejection(fleet.startWaves(bad))
    assert.equal(e.code, 'SPEC', e.message)
    assert.equal(e.path, 'plan')
    assert.match(e.detail, /^nests deeper than 128 levels/)
  }
  const nan = await rejection(fleet.startWaves({ ...plan, failureBudget: NaN }))
  assert.equal(nan.code, 'SPEC', nan.message)
  assert.equal(nan.path, 'plan.failureBudget')
  const inList = await rejection(fleet.startWaves({ ...plan, waves: [NaN, 100] }))
  assert.equal(inList.path, 'plan.waves[0]')
})
