// Errors: one code per core error variant, each thrown as its MoorageError subclass with the
// variant's fields (the core's error types: ValidationErrors, SpecError, RolloutError,
// BackendError, TenantError, ConfigError, ManifestError).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import os from 'node:os'
import path from 'node:path'
import { moorage, rejection, thrown } from './helpers.mjs'

const { Cluster, Quota, Release, Tenant, MoorageError, BackendError, TenantError, FleetError, WaveError, PrometheusError } = moorage

test('every code of the native module has its MoorageError subclass', () => {
  const codes = moorage.errorCodes()
  assert.equal(new Set(codes).size, codes.length)
  assert.deepEqual(Object.keys(moorage.errorClasses).sort(), [...codes].sort())
  for (const code of codes) {
    const cls = moorage.errorClasses[code]
    assert.ok(cls.prototype instanceof MoorageError, code)
    assert.equal(moorage[cls.name], cls, `${cls.name} is exported`)
  }
  for (const code of ['QUOTA_EXCEEDED', 'FORBIDDEN', 'CONFLICT', 'MODIFIED', 'INVALID_OBJECT', 'NOT_FOUND', 'MISSING_KIND', 'TIMEOUT', 'UNAVAILABLE']) {
    assert.ok(moorage.errorClasses[code].prototype instanceof BackendError, code)
  }
  for (const code of ['DOMAIN_TAKEN', 'DOMAIN_CONTENDED', 'TENANT_PROTECTED', 'TENANT_NOT_FOUND']) {
    assert.ok(moorage.errorClasses[code].prototype instanceof TenantError, code)
  }
  for (const code of ['DUPLICATE_CLUSTER', 'UNKNOWN_CLUSTER', 'NO_CAPACITY', 'ALREADY_PLACED']) {
    assert.ok(moorage.errorClasses[code].prototype instanceof FleetError, code)
  }
  for (const code of ['PLAN_EXISTS', 'NO_SUCH_PLAN', 'NOTHING_SELECTED', 'WAVE_STATE_UNREADABLE', 'EMPTY_FLEET']) {
    assert.ok(moorage.errorClasses[code].prototype instanceof WaveError, code)
  }
  for (const code of ['PROMETHEUS_UNREACHABLE', 'PROMETHEUS_REFUSED', 'PROMETHEUS_MALFORMED']) {
    assert.ok(moorage.errorClasses[code].prototype instanceof PrometheusError, code)
  }
})

test('an error is an Error with a name, a code, the core\'s message and a stack', () => {
  const e = thrown(() => new Tenant({ name: 'Acme!' }))
  assert.ok(e instanceof Error)
  assert.equal(e.name, 'ValidationError')
  assert.equal(e.code, 'VALIDATION')
  assert.match(e.message, /^1 problem in the spec:\n {2}tenant\.name: /)
  assert.equal(typeof e.stack, 'string')
})

test('CONFIG for a missing kubeconfig', async () => {
  const missing = path.join(os.tmpdir(), `moorage-nope-${process.pid}.yaml`)
  const e = await rejection(Cluster.fromKubeconfig({ path: missing }))
  assert.equal(e.code, 'CONFIG')
  assert.ok(e instanceof moorage.ConfigError)
  assert.ok(e.detail.includes(missing))
})

test('CONFIG for inCluster outside a pod', () => {
  // As Python's test_in_cluster_outside_a_pod_is_a_config_error; node:test runs each file in its own process.
  delete process.env.KUBERNETES_SERVICE_HOST
  const e = thrown(() => Cluster.inCluster())
  assert.equal(e.code, 'CONFIG')
  assert.ok(e instanceof moorage.ConfigError)
})

test('NOTHING_TO_PROMOTE, NO_SUCH_REVISION, NOTHING_TO_ABORT and NOTHING_TO_RETRY carry the app', async () => {
  const t = new Tenant({ name: 'acme', quota: new Quota({ limitsCpu: '2', limitsMemory: '2Gi', pods: 10 }) })
  const c = Cluster.simulated()
  await c.applyTenant(t)
  const promote = await rejection(c.promote(t, 'web'))
  assert.deepEqual([promote.code, promote.app], ['NOTHING_TO_PROMOTE', 'web'])
  const back = await rejection(c.rollback(t, 'web', { to: 7 }))
  assert.deepEqual([back.code, back.app, back.revision], ['NO_SUCH_REVISION', 'web', 7])
  const abort = await rejection(c.abort(t, 'web'))
  assert.deepEqual([abort.code, abort.app], ['NOTHING_TO_ABORT', 'web'])
  const retry = await rejection(c.retry(t, 'web'))
  assert.deepEqual([retry.code, retry.app], ['NOTHING_TO_RETRY', 'web'])
})

test('NOT_FOUND from the backend: a rollout into a tenant never applied', async () => {
  const t = new Tenant({ name: 'ghost', quota: new Quota({ limitsCpu: '2', limitsMemory: '2Gi', pods: 10 }) })
  const r = new Release({ tenant: t, app: 'web', version: 'v1', image: 'nginx:1.27' })
  const e = await rejection(Cluster.simulated().rollout(t, r))
  assert.ok(e instanceof BackendError, `${e.code}: ${e.message}`)
  assert.equal(e.code, 'NOT_FOUND')
  assert.match(e.object, /ghost/)
})

test('a bad timeout is refused before anything runs', () => {
  const t = new Tenant({ name: 'acme' })
  assert.throws(() => Cluster.simulated().rollout(t, new Release({ tenant: t, app: 'web', version: 'v1', image: 'nginx:1.27' }), { timeout: -1 }), (e) => {
    assert.deepEqual([e.code, e.errors], ['VALIDATION', [{ path: 'timeout', message: '-1 is negative; give a number of seconds, 0 or more' }]])
    return true
  })
})
