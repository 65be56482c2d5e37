// Release, the strategies and compile (the core's model::release, model::strategy and compile).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { assertWritesTheStream, moorage, shopUnit, spec, thrown } from './helpers.mjs'

const { BlueGreen, Canary, Quota, Release, Rolling, Tenant } = moorage

const tenant = () => new Tenant({ name: 'acme', quota: new Quota({ limitsCpu: '2', limitsMemory: '2Gi', pods: 10 }), domains: ['shop.acme.test'] })

test('defaults are the core\'s', () => {
  const r = new Release({ tenant: tenant(), app: 'web', version: 'v1', image: 'nginx:1.27', ports: [{ name: 'http', port: 8080 }], hosts: ['shop.acme.test'] })
  assert.equal(r.replicas, 1)
  assert.ok(r.strategy instanceof Rolling)
  assert.equal(r.tenant, 'acme')
  assert.deepEqual(r.hosts, ['shop.acme.test'])
})

test('strategies: spec form and round trip', () => {
  const bg = new BlueGreen({ previewHost: 'preview.acme.test' })
  assert.deepEqual(bg.toSpec(), { type: 'blueGreen', autoPromote: true, keepPrevious: 1, previewHost: 'preview.acme.test', scaleDownDelay: '30s' })
  const canary = new Canary([{ setWeight: 20 }, { pause: {} }, { setWeight: 100 }])
  const r = new Release({ tenant: 'acme', app: 'web', version: 'v2', image: 'nginx:1.27', strategy: canary })
  assert.ok(r.strategy instanceof Canary)
  assert.deepEqual(r.strategy.toSpec().steps[0], { setWeight: 20 })
  assert.ok(new Release(r.toSpec()).equals(r))
  assert.ok(new Release(JSON.parse(JSON.stringify(r))).equals(r))
  assert.deepEqual(new Rolling({ maxSurge: '50%' }).toSpec().maxSurge, '50%')
})

test('a malformed strategy is a SPEC error', () => {
  const e = thrown(() => new Canary([{ setWeight: 'lots' }]))
  assert.equal(e.code, 'SPEC')
  assert.equal(e.path, 'strategy.steps[0].setWeight')
})

test('a release validation error lists several paths', () => {
  const e = thrown(() => new Release({ tenant: 'acme', app: 'Web_App', version: 'v1', image: '', resources: { limits: { memory: '128mb' } } }))
  assert.equal(e.code, 'VALIDATION')
  const paths = e.errors.map((x) => x.path)
  assert.ok(paths.length >= 3, paths.join(', '))
  assert.ok(paths.includes('release.app'))
  assert.ok(paths.includes('release.image'))
  assert.ok(paths.includes('release.resources.limits.memory'))
})

test('compile refuses a host outside the tenant\'s domains', () => {
  const r = new Release({ tenant: 'acme', app: 'web', version: 'v1', image: 'nginx:1.27', ports: [{ name: 'http', port: 8080 }], hosts: ['shop.other.test'] })
  const e = thrown(() => moorage.compile(tenant(), [r]))
  assert.equal(e.code, 'VALIDATION')
  assert.ok(e.errors.some((x) => x.path.includes('hosts')))
})

test('compile a tenant and its release', () => {
  const t = Tenant.fromYaml(spec('acme.tenant.yaml'))
  const green = Release.fromYaml(spec('webserver-green.release.yaml'))
  const text = moorage.compile(t, [green])
  assert.match(text, /kind: Deployment/)
  assert.match(text, /webserver-green/)
  assert.match(green.toYaml(), /^tenant: acme/)
  assert.equal(moorage.compileTenants([t, t]), t.compile() + t.compile())
})

test('compileMany is each compile in input order, and names the tenant of a problem', async () => {
  const unit = shopUnit
  const units = [0, 1, 2, 3, 4].map((i) => unit(i))
  assert.equal(await moorage.compileMany(units), units.map(([t, rs]) => moorage.compile(t, rs)).join(''))
  assert.equal(await moorage.compileMany([]), '')
  const e = await moorage.compileMany([unit(0), unit(1, 'elsewhere.test'), unit(2, 'elsewhere.test')]).then(() => null, (err) => err)
  assert.ok(e instanceof moorage.ValidationError, String(e))
  assert.equal(e.code, 'VALIDATION')
  assert.deepEqual(e.errors.map((x) => x.path), ['tenants[1].releases[0].hosts[0]', 'tenants[2].releases[0].hosts[0]'])
})

test('compileManyToFile writes compileMany\'s stream atomically, and nothing for a batch that does not fit', async () => {
  await assertWritesTheStream((units, file) => moorage.compileManyToFile(units, file))
})

test('a spec object crosses whole: analyses, metrics, autoscaling and a gated strategy round trip', () => {
  const spec = {
    tenant: 'acme',
    app: 'web',
    version: 'v3',
    image: 'nginx:1.27',
    ports: [{ name: 'http', port: 8080 }],
    resources: { requests: { cpu: '100m', memory: '64Mi' } },
    analyses: [
      { name: 'error-rate', interval: '1m', count: 3, failureLimit: 1, prometheus: { address: 'http://prometheus.monitoring:9090', query: 'sum(rate(errors[1m]))', successCondition: 'result < 0.05' } },
      { name: 'smoke', http: { path: '/healthz', bodyContains: 'ok' } },
    ],
    metrics: { port: 'http', business: [{ name: 'erp_orders_total' }] },
    autoscaling: { minReplicas: 2, maxReplicas: 6, targetCpuUtilization: 70 },
    strategy: { type: 'blueGreen', prePromotionAnalysis: ['smoke'], postPromotionAnalysis: ['error-rate'] },
  }
  const r = new Release(spec)
  const back = r.toSpec()
  assert.deepEqual(back.autoscaling, spec.autoscaling)
  assert.deepEqual(back.analyses.map((a) => a.name), ['error-rate', 'smoke'])
  assert.equal(back.analyses[1].http.timeout, '10s', 'the core\'s default')
  assert.deepEqual(back.metrics.business[0], { name: 'erp_orders_total', kind: 'counter', unit: 'short' })
  assert.deepEqual(back.strategy.prePromotionAnalysis, ['smoke'])
  assert.ok(new Release(back).equals(r))
  // null and undefined members are absent fields; a Tenant and a strategy instance are read as such.
  const same = new Release({ ...spec, tenant: tenant(), config: null, liveness: undefined, strategy: new BlueGreen(), autoscaling: { ...spec.autoscaling } })
  assert.equal(same.tenant, 'acme')
  assert.ok(same.strategy instanceof BlueGreen)
  assert.deepEqual(same.toSpec().autoscaling, spec.autoscaling)
  // The core decides: an analysis the strategy names must exist, with the field's path.
  const e = thrown(() => new Release({ ...spec, strategy: { type: 'blueGreen', prePromotionAnalysis: ['missing'] } }))
  assert.equal(e.code, 'VALIDATION')
  assert.ok(e.errors.some((x) => x.path.startsWith('release.strategy.prePromotionAnalysis')), JSON.stringify(e.errors))
  // A misspelt key is a SPEC error naming it.
  const typo = thrown(() => new Release({ ...spec, autoscaling: { minReplicas: 2, maxReplicas: 6, targetCPU: 70 } }))
  assert.equal(typo.code, 'SPEC')
  assert.match(typo.path, /autoscaling/)
})

test('a number that is not finite is a SPEC error at its path, not "absent"', () => {
  const base = { tenant: 'acme', app: 'web', version: 'v1', image: 'nginx' }
  // parseInt of an unset variable: JSON.stringify would write null, and replicas would default to 1.
  for (const [value, shown] of [[Number.parseInt(undefined), 'NaN'], [Infinity, 'Infinity'], [-Infinity, '-Infinity']]) {
    const e = thrown(() => new Release({ ...base, replicas: value }))
    assert.equal(e.code, 'SPEC', e.message)
    assert.equal(e.path, 'release.replicas')
    assert.ok(e.detail.startsWith(`${shown} is not a finite number`), e.detail)
  }
  const inList = thrown(() => new Release({ ...base, ports: [{ name: 'http', port: 8080 }, { name: 'm', port: NaN }] }))
  assert.equal(inList.path, 'release.ports[1].port')
  const inBatch = thrown(() => new moorage.CompileBatch().push({ name: 'acme', labels: { a: 'null' } }, [{ ...base, replicas: NaN }]))
  assert.equal(inBatch.path, 'release.replicas')
  // An explicit null is still "absent", and a string that reads "null" is a string.
  assert.equal(new Release({ ...base, replicas: null, image: 'nullable/nginx' }).replicas, 1)
})

test('whole-number options are not wrapped or cut: keepPrevious is read by the core, the others refused', () => {
  const keep = thrown(() => new BlueGreen({ keepPrevious: -1 }))
  assert.equal(keep.code, 'SPEC', keep.message)
  assert.equal(keep.path, 'strategy.keepPrevious')
  assert.equal(new BlueGreen({ keepPrevious: 2 }).toSpec().keepPrevious, 2)
  for (const make of [() => new moorage.Prometheus('http://127.0.0.1:1', { attempts: -1 }), () => new moorage.Fleet([{ name: 'a', cluster: moorage.Cluster.simulated(), capacity: 1.5 }])]) {
    const e = thrown(make)
    assert.equal(e.code, 'InvalidArg', e.message)
    assert.match(e.message, /is not a whole number from 0 to 4294967295/)
  }
})
