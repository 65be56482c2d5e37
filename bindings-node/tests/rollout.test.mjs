// Release operations (the core's rollout module) on the simulated cluster, a manifests directory
// and, with MOORAGE_TEST_KUBECONFIG, the real test control plane.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { execFileSync } from 'node:child_process'
import { moorage, realCluster, rejection, spec, thrown, unique } from './helpers.mjs'

const { BlueGreen, Canary, Cluster, Quota, Release, Tenant } = moorage

const RAISED = new Quota({ limitsCpu: '2', limitsMemory: '1Gi', requestsCpu: '1', requestsMemory: '512Mi', requestsStorage: '50Gi', pods: 6 })

/** The acme tenant and its blue and green releases, renamed for a shared control plane. */
function demo(name = 'acme') {
  // Domains are unique across the cluster's tenants: a renamed copy gets its own.
  const renamed = (s) => JSON.parse(JSON.stringify(s).replaceAll('acme.test', `${name}.test`))
  const tenant = new Tenant({ ...renamed(Tenant.fromYaml(spec('acme.tenant.yaml')).toSpec()), name, protected: false })
  const [blue, green] = ['blue', 'green'].map((color) => new Release({ ...renamed(Release.fromYaml(spec(`webserver-${color}.release.yaml`)).toSpec()), tenant: name }))
  return { tenant, blue, green }
}

/** The provider's blue/green demo, with every mistake of the original refused or avoided. */
async function bluegreenDemo(cluster, { tenant, blue, green }, timeout) {
  await cluster.applyTenant(tenant)
  const events = []
  let report = await cluster.rollout(tenant, blue, { timeout, onProgress: (e) => events.push(e) })
  assert.deepEqual([report.version, report.phase, report.revision], ['blue', 'done', 1])
  assert.deepEqual(events[0], { event: 'preflightPassed', extraPods: 3 })
  assert.deepEqual(events.at(-1), { event: 'done', revision: 1, version: 'blue' })

  // The quota preflight refuses green before anything is created: caught by its code.
  const e = await rejection(cluster.rollout(tenant, green, { timeout }))
  assert.equal(e.code, 'QUOTA_INSUFFICIENT')
  assert.ok(e instanceof moorage.QuotaInsufficientError)
  assert.deepEqual([e.resource, e.needed, e.available], ['limits.cpu', '600m', '400m'])
  assert.match(e.hint, /raise the tenant's quota/)
  assert.deepEqual((await cluster.status(tenant, 'webserver')).versions.map((v) => v.version), ['blue'])

  // Raise the quota; green rolls out and traffic switches.
  const raised = tenant.withQuota(RAISED)
  assert.ok((await cluster.applyTenant(raised)).changes >= 1)
  report = await cluster.rollout(raised, green, { timeout, waitForScaleDown: false })
  assert.deepEqual([report.version, report.previous, report.phase], ['green', 'blue', 'switched'])
  assert.equal(typeof report.switchLatency, 'number')

  const selected = await rejection(cluster.deleteVersion(raised, 'webserver', 'green'))
  assert.deepEqual([selected.code, selected.app, selected.version], ['VERSION_SELECTED', 'webserver', 'green'])

  report = await cluster.rollback(raised, 'webserver', { timeout })
  assert.deepEqual([report.version, report.previous], ['blue', 'green'])
  const status = await cluster.status(raised, 'webserver')
  assert.equal(status.active, 'blue')
  assert.deepEqual(status.versions.map((v) => [v.version, v.selected]), [['blue', true], ['green', false]])
  const history = await cluster.history(raised, 'webserver')
  assert.deepEqual(history.map((r) => [r.number, r.version, r.outcome]), [[1, 'blue', 'superseded'], [2, 'green', 'rolledBack'], [3, 'blue', 'succeeded']])
  assert.deepEqual(history[1].outcomeDetail, { state: 'rolledBack', to: 3 })
}

test('the blue/green demo on the simulated cluster', async () => {
  await bluegreenDemo(Cluster.simulated(), demo(), 600)
})

test('the blue/green demo on the real control plane', async (t) => {
  const cluster = await realCluster(t)
  if (!cluster) return
  const d = demo(unique('jsacme'))
  try {
    await bluegreenDemo(cluster, d, 120)
  } finally {
    // Never masks the demo's own failure (the tenant may not exist when it failed early).
    await cluster.deleteTenant(d.tenant, { purge: true }).catch(() => {})
  }
})

/** A canary at 50%, paused, then promoted; a second one aborted. */
async function canary(cluster, name, timeout) {
  const t = new Tenant({ name, protected: false, quota: new Quota({ limitsCpu: '4', limitsMemory: '4Gi', pods: 20 }) })
  await cluster.applyTenant(t)
  const web = (version, strategy) => new Release({ tenant: t, app: 'web', version, image: 'nginxinc/nginx-unprivileged:1.27', replicas: 2, ports: [{ name: 'http', port: 8080 }], strategy })
  await cluster.rollout(t, web('v1', new BlueGreen({ scaleDownDelay: '0s' })), { timeout })
  const steps = new Canary([{ setWeight: 50 }, { pause: {} }, { setWeight: 100 }])

  const run = moorage.watch((onProgress) => cluster.rollout(t, web('v2', steps), { timeout, onProgress }))
  const events = []
  for await (const event of run) events.push(event)
  const report = await run.result
  assert.deepEqual([report.version, report.previous, report.phase], ['v2', 'v1', 'paused'])
  assert.deepEqual(events.filter((e) => e.event === 'weightSet').map((e) => e.actual), [50])
  assert.equal(events.at(-1).event, 'paused')
  // During a replica-ratio canary the stable Service selects both versions; the canary's share of
  // traffic is its share of the ready pods.
  const during = await cluster.status(t, 'web')
  assert.deepEqual([during.active, during.canaryWeight, during.rolloutPhase], [undefined, 50, 'paused'])
  assert.deepEqual(during.drift, [])
  const done = await cluster.promote(t, 'web', { timeout })
  assert.equal(done.phase, 'done')
  const after = await cluster.status(t, 'web')
  assert.deepEqual([after.active, after.canaryWeight], ['v2', undefined])
  assert.equal((await cluster.history(t, 'web')).at(-1).strategy, 'canary')

  // The next canary is aborted at its pause: all traffic back on v2.
  const paused = await cluster.rollout(t, web('v3', steps), { timeout })
  assert.equal(paused.phase, 'paused')
  const aborted = []
  await cluster.abort(t, 'web', { timeout, onProgress: (e) => aborted.push(e.event) })
  assert.ok(aborted.includes('aborted'))
  assert.equal((await cluster.status(t, 'web')).active, 'v2')
  assert.equal((await cluster.history(t, 'web')).at(-1).outcome, 'failed')
  return t
}

test('a canary on the simulated cluster', async () => {
  await canary(Cluster.simulated(), 'shop', 600)
})

test('a canary on the real control plane', async (t) => {
  const cluster = await realCluster(t)
  if (!cluster) return
  const tenant = await canary(cluster, unique('jsshop'), 120)
  await cluster.deleteTenant(tenant, { purge: true })
})

/** A release that breaks the tenant's rules is refused, every path listed, before any API call. */
async function invalidRelease(cluster, name) {
  const t = new Tenant({ name, protected: false, domains: [`shop.${name}.test`], quota: new Quota({ limitsCpu: '2', limitsMemory: '2Gi', pods: 10 }) })
  const release = new Release({ tenant: t, app: 'web', version: 'v1', image: 'nginx:1.27', ports: [{ name: 'http', port: 8080 }], hosts: ['shop.other.test', 'www.other.test'] })
  // The tenant was never applied: a rollout reaching the cluster would fail otherwise.
  const e = await rejection(cluster.rollout(t, release))
  assert.equal(e.code, 'VALIDATION', e.message)
  assert.deepEqual(e.errors.map((x) => x.path), ['release.hosts[0]', 'release.hosts[1]'])
}

test('a validation error lists several paths, on the simulated cluster', async () => {
  await invalidRelease(Cluster.simulated(), 'hooli')
})

test('a validation error lists several paths, on the real control plane', async (t) => {
  const cluster = await realCluster(t)
  if (!cluster) return
  await invalidRelease(cluster, unique('jshooli'))
})

test('manual promotion', async () => {
  const t = new Tenant({ name: 'shop', quota: new Quota({ limitsCpu: '4', limitsMemory: '4Gi', pods: 20 }) })
  const c = Cluster.simulated()
  await c.applyTenant(t)
  const web = (version, strategy) => new Release({ tenant: t, app: 'web', version, image: 'nginx:1.27', replicas: 2, ports: [{ name: 'http', port: 8080 }], strategy })
  await c.rollout(t, web('v1', new BlueGreen()))
  let report = await c.rollout(t, web('v2', new BlueGreen({ autoPromote: false })))
  assert.deepEqual([report.version, report.phase], ['v2', 'waitingForPromotion'])
  assert.equal((await c.status(t, 'web')).rolloutPhase, 'waitingForPromotion')
  assert.equal((await c.resume(t, 'web')).phase, 'waitingForPromotion')
  report = await c.promote(t, 'web')
  assert.deepEqual([report.version, report.phase], ['v2', 'done'])
  assert.equal((await c.status(t, 'web')).active, 'v2')
  assert.equal(await c.resume(t, 'web'), null)
})

test('operations return Promises and every progress event is delivered before they settle', async () => {
  const { tenant, blue } = demo()
  const c = Cluster.simulated()
  await c.applyTenant(tenant)
  const events = []
  const pending = c.rollout(tenant, blue, { onProgress: (e) => events.push(e.event) })
  assert.ok(pending instanceof Promise)
  assert.deepEqual(events, [], 'no event is delivered synchronously')
  await pending
  assert.equal(events.at(-1), 'done')
})

test('an exception in the progress callback rejects the operation after it ran', async () => {
  const { tenant, blue } = demo()
  const c = Cluster.simulated()
  await c.applyTenant(tenant)
  const e = await rejection(
    c.rollout(tenant, blue, {
      onProgress: () => {
        throw new RangeError('callback failed')
      },
    }),
  )
  assert.ok(e instanceof RangeError)
  assert.equal(e.message, 'callback failed')
  assert.equal((await c.status(tenant, 'webserver')).active, 'blue', 'the rollout itself completed')
})

test('a manifests directory, and MANIFEST when it cannot be made', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'moorage-node-'))
  try {
    const c = Cluster.manifests(dir)
    assert.match(c.describe(), /manifests/)
    assert.ok(fs.existsSync(dir))
    const blocker = path.join(dir, 'a-file')
    fs.writeFileSync(blocker, '')
    const e = thrown(() => Cluster.manifests(path.join(blocker, 'sub')))
    assert.equal(e.code, 'MANIFEST')
    assert.ok(e instanceof moorage.ManifestError)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('the plan and the preflight of a release change nothing; scale makes a revision', async () => {
  // As Python's test_plan_and_preflight_of_a_release_change_nothing.
  const cluster = Cluster.simulated()
  const { tenant, blue, green } = demo()
  await cluster.applyTenant(tenant)
  const plan = await cluster.planRelease(tenant, blue)
  assert.ok(plan.objects.some((o) => o.object.startsWith('Deployment ')) && plan.objects.some((o) => o.object.startsWith('Service ')), JSON.stringify(plan))
  assert.ok(plan.objects.every((o) => o.action === 'create'), JSON.stringify(plan))
  assert.equal((await cluster.preflight(tenant, blue)).extraPods, 3)
  assert.deepEqual((await cluster.status(tenant, 'webserver')).versions, [], 'nothing was created')
  await cluster.rollout(tenant, blue)
  // Green would double the capacity: the preflight says so with the figures, before anything runs.
  const e = await rejection(cluster.preflight(tenant, green))
  assert.deepEqual([e.code, e.resource, e.needed, e.available], ['QUOTA_INSUFFICIENT', 'limits.cpu', '600m', '400m'])
  const raised = tenant.withQuota(RAISED)
  await cluster.applyTenant(raised)
  const figures = await cluster.preflight(raised, green)
  assert.equal(figures.extraPods, 3)
  assert.deepEqual(figures.resources['limits.cpu'], { needed: '600m', available: '1400m' })
  const planned = Object.fromEntries((await cluster.planRelease(raised, green)).objects.map((o) => [o.object, o.action]))
  assert.equal(planned['Deployment acme/webserver-green'], 'create', JSON.stringify(planned))
  assert.deepEqual((await cluster.status(raised, 'webserver')).versions.map((v) => v.version), ['blue'])

  // Scaling the serving version is a new revision of it, through the preflight.
  const scaled = await cluster.scale(raised, 'webserver', 2)
  assert.deepEqual([scaled.version, scaled.revision, scaled.phase], ['blue', 2, 'done'])
  assert.deepEqual((await cluster.status(raised, 'webserver')).versions.map((v) => [v.version, v.desired]), [['blue', 2]])
  const tooMany = await rejection(cluster.scale(raised, 'webserver', 50))
  assert.equal(tooMany.code, 'QUOTA_INSUFFICIENT')
  assert.match(thrown(() => cluster.scale(raised, 'webserver', -1)).message, /replicas: -1 is not a whole number/)
})

test('a field another manager changed is a CONFLICT, taken back with force, on the real control plane', async (t) => {
  // As Python's drift test: a UI (here kubectl, $KUBECTL from testcluster/run-with-cluster.sh)
  // scales the serving Deployment with its own field manager.
  const cluster = await realCluster(t)
  if (!cluster) return
  const name = unique('jsdrift')
  const tenant = new Tenant({ name, quota: new Quota({ limitsCpu: '2', limitsMemory: '2Gi', pods: 10 }) })
  const web = new Release({
    tenant,
    app: 'web',
    version: 'v1',
    image: 'nginxinc/nginx-unprivileged:1.27',
    replicas: 1,
    ports: [{ name: 'http', port: 8080 }],
    resources: { requests: { cpu: '50m', memory: '32Mi' }, limits: { cpu: '100m', memory: '64Mi' } },
    strategy: new BlueGreen({ scaleDownDelay: '1s' }),
  })
  try {
    await cluster.applyTenant(tenant, { timeout: 120 })
    assert.equal((await cluster.rollout(tenant, web, { timeout: 120 })).phase, 'done')
    const kubectl = process.env.KUBECTL || 'kubectl'
    execFileSync(kubectl, ['--kubeconfig', process.env.MOORAGE_TEST_KUBECONFIG, 'scale', 'deployment', 'web-v1', '-n', name, '--replicas=2'])
    const { drift } = await cluster.status(tenant, 'web')
    assert.deepEqual(drift.map((d) => [d.manager, d.fields]), [['kubectl', ['spec.replicas']]], JSON.stringify(drift))
    const conflict = await rejection(cluster.scale(tenant, 'web', 3, { timeout: 120 }))
    assert.deepEqual([conflict.code, conflict.manager, conflict.field], ['CONFLICT', 'kubectl', '.spec.replicas'], conflict.message)
    const report = await cluster.scale(tenant, 'web', 3, { timeout: 120, force: true })
    assert.deepEqual([report.version, report.phase], ['v1', 'done'])
    const status = await cluster.status(tenant, 'web')
    assert.deepEqual(status.drift, [])
    assert.deepEqual(status.versions.map((v) => [v.version, v.desired]), [['v1', 3]])
  } finally {
    await cluster.deleteTenant(tenant, { confirm: true, purge: true })
  }
})
