// Tenant and Quota (the core's model::tenant and model::quota) and the tenant lifecycle (the
// core's tenant module) on the simulated cluster and, with MOORAGE_TEST_KUBECONFIG, the real one.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import util from 'node:util'
import { moorage, realCluster, rejection, spec, thrown, unique } from './helpers.mjs'

const { Cluster, Quota, Tenant } = moorage

test('an option object builds a valid tenant', () => {
  const t = new Tenant({
    name: 'acme',
    displayName: 'ACME Corp',
    quota: new Quota({ limitsCpu: '2', limitsMemory: '1Gi', pods: 10 }),
    members: { 'alice@acme.test': 'admin' },
    domains: ['shop.acme.test'],
  })
  assert.equal(t.name, 'acme')
  assert.equal(t.namespace, 'acme')
  assert.equal(t.displayName, 'ACME Corp')
  assert.equal(t.quota.limitsMemory, '1Gi')
  assert.equal(t.quota.pods, 10)
  assert.deepEqual(t.toSpec().members, [{ name: 'alice@acme.test', kind: 'user', role: 'admin' }])
  assert.deepEqual(t.toSpec().quota.limits, { cpu: '2', memory: '1Gi' })
})

test('a plain quota object in the spec form is the same as a Quota', () => {
  const a = new Tenant({ name: 'acme', quota: { limits: { cpu: '2', memory: '1Gi' }, pods: 10 } })
  const b = new Tenant({ name: 'acme', quota: new Quota({ limitsCpu: '2', limitsMemory: '1Gi', pods: 10 }) })
  assert.ok(a.equals(b))
})

test('fromYaml of a file, of its text and a spec object agree', () => {
  const fromFile = Tenant.fromYaml(spec('acme.tenant.yaml'))
  const fromText = Tenant.fromYaml(fs.readFileSync(spec('acme.tenant.yaml'), 'utf8'))
  assert.ok(fromFile.equals(fromText))
  assert.ok(new Tenant(fromFile.toSpec()).equals(fromFile))
  assert.ok(new Tenant(JSON.parse(JSON.stringify(fromFile))).equals(fromFile))
  assert.deepEqual(fromFile.domains, ['shop.acme.test', 'preview.acme.test'])
  assert.match(fromFile.toYaml(), /^name: acme/)
})

test('a validation error lists every path', () => {
  const e = thrown(() => new Tenant({ name: 'Acme!', quota: new Quota({ limitsCpu: '1', limitsMemory: '2g' }), domains: ['bad domain'] }))
  assert.ok(e instanceof moorage.MoorageError)
  assert.ok(e instanceof moorage.ValidationError)
  assert.equal(e.code, 'VALIDATION')
  const paths = e.errors.map((x) => x.path)
  assert.deepEqual(paths, ['tenant.name', 'tenant.quota.limits.memory', 'tenant.domains[0]'])
  const memory = e.errors.find((x) => x.path === 'tenant.quota.limits.memory')
  assert.match(memory.message, /2Gi/)
})

test('a malformed spec is a SPEC error with its path and line', () => {
  const e = thrown(() => Tenant.fromYaml('name: acme\nquota:\n  pods: many\n'))
  assert.equal(e.code, 'SPEC')
  assert.ok(e instanceof moorage.SpecError)
  assert.equal(e.path, 'tenant.quota.pods')
  assert.equal(e.line, 3)
})

test('an unknown field in a spec object is refused', () => {
  const e = thrown(() => new Tenant({ name: 'acme', quotas: {} }))
  assert.equal(e.code, 'SPEC')
  assert.match(e.path, /^tenant/)
})

test('a spec object nested too deeply or containing itself is a SPEC error, not a crash', () => {
  let deep = {}
  for (let i = 0; i < 100000; i++) deep = { a: deep }
  const itself = { name: 'acme' }
  itself.labels = itself
  const listed = []
  listed.push(listed)
  for (const spec of [{ name: 'acme', labels: deep }, itself, { name: 'acme', domains: listed }]) {
    for (const e of [thrown(() => new Tenant(spec)), thrown(() => new moorage.CompileBatch().push(spec, []))]) {
      assert.equal(e.code, 'SPEC', e.message)
      assert.ok(e instanceof moorage.SpecError)
      assert.equal(e.path, 'tenant')
      assert.match(e.detail, /^nests deeper than 128 levels/)
    }
  }
  // Deep enough for the core's reader of JSON text (200 levels), not for JSON.stringify.
  let lists = 'x'
  for (let i = 0; i < 200; i++) lists = [lists]
  const e = thrown(() => new Tenant({ name: 'acme', domains: lists }))
  assert.equal(e.code, 'SPEC', e.message)
  assert.equal(e.path, 'tenant')
  assert.match(e.detail, /^nests deeper than 128 levels/)
  // A value that cannot be written as JSON for another reason is JavaScript's own error.
  assert.ok(thrown(() => new Tenant({ name: 'acme', labels: { big: 1n } })) instanceof TypeError)
})

test('withQuota validates again', () => {
  const t = Tenant.fromYaml(spec('acme.tenant.yaml'))
  const raised = t.withQuota(new Quota({ limitsCpu: '2', limitsMemory: '1Gi', pods: 6 }))
  assert.equal(raised.quota.limitsCpu, '2')
  assert.equal(thrown(() => t.withQuota(new Quota({ limitsMemory: 'lots' }))).code, 'VALIDATION')
})

test('compile is a YAML stream', () => {
  const text = Tenant.fromYaml(spec('acme.tenant.yaml')).compile()
  for (const kind of ['Namespace', 'ResourceQuota', 'CronJob']) {
    assert.match(text, new RegExp(`kind: ${kind}`))
  }
  assert.match(text, /^---$/m)
})

function customer(name) {
  return new Tenant({
    name,
    protected: false,
    quota: new Quota({ limitsCpu: '2', limitsMemory: '2Gi', requestsStorage: '20Gi', pods: 10 }),
    members: { [`hank@${name}.test`]: 'admin' },
    domains: [`shop.${name}.test`],
    storage: [{ name: 'db', storageClass: 'openebs-replicated', size: '10Gi' }],
    backups: [
      {
        name: 'nightly',
        volume: 'db',
        schedule: '0 3 * * *',
        retention: 7,
        target: { endpoint: 'https://minio.backup.svc:9000', bucket: name, credentialsSecret: `${name}-s3` },
        database: { engine: 'postgres', host: 'db', database: 'shop', credentialsSecret: `${name}-db` },
      },
    ],
  })
}

/** Onboards a customer with a custom domain and a backup, then the whole lifecycle. */
async function onboarding(cluster, name) {
  const t = customer(name)
  const first = await cluster.applyTenant(t, { timeout: 60 })
  assert.ok(first.created > 0)
  assert.equal(first.objects[0].object, `Namespace ${name}`)
  const again = await cluster.applyTenant(t)
  assert.equal(again.changes, 0, 'a second apply changes nothing')
  assert.equal((await cluster.planTenant(t)).empty, true)

  const status = await cluster.tenantStatus(t)
  assert.deepEqual(status.domains.map((d) => d.domain), [`shop.${name}.test`])
  assert.ok(status.quota.some((q) => q.resource === 'pods' && q.hard === '10'))
  assert.deepEqual(status.backups.map((b) => b.name), ['backup-nightly'])

  // The domain is the tenant's: another tenant asking for it is refused before any write.
  const rival = new Tenant({ name: `${name}-rival`, domains: [`shop.${name}.test`] })
  const taken = await rejection(cluster.applyTenant(rival))
  assert.equal(taken.code, 'DOMAIN_TAKEN')
  assert.deepEqual([taken.domain, taken.holder], [`shop.${name}.test`, name])

  const raised = t.withQuota(new Quota({ limitsCpu: '4', limitsMemory: '2Gi', requestsStorage: '20Gi', pods: 10 }))
  const plan = await cluster.planTenant(raised)
  assert.equal(plan.empty, false)
  assert.ok(plan.objects.some((o) => o.action === 'update' && o.changes.some((c) => c.path === 'spec.hard.limits.cpu')))

  assert.deepEqual(await cluster.suspendTenant(t), [])
  const deleted = await cluster.deleteTenant(t, { purge: true })
  assert.ok(deleted.deleted.includes(`Namespace ${name}`))
}

test('onboarding with a custom domain and backups on the simulated cluster', async () => {
  await onboarding(Cluster.simulated(), 'globex')
})

test('onboarding with a custom domain and backups on the real control plane', async (t) => {
  const cluster = await realCluster(t)
  if (!cluster) return
  await onboarding(cluster, unique('jsglobex'))
})

test('a protected tenant is deleted only with confirm', async () => {
  const c = Cluster.simulated()
  const t = new Tenant({ name: 'initech', protected: true })
  await c.applyTenant(t)
  const e = await rejection(c.deleteTenant(t))
  assert.equal(e.code, 'TENANT_PROTECTED')
  assert.ok(e instanceof moorage.TenantError)
  assert.equal(e.tenant, 'initech')
  assert.ok((await c.deleteTenant(t, { confirm: true })).deleted.length > 0)
  const missing = await rejection(c.tenantStatus(new Tenant({ name: 'nobody' })))
  assert.deepEqual([missing.code, missing.tenant], ['TENANT_NOT_FOUND', 'nobody'])
})

test('the provider\'s allowed storage classes: another class is a VALIDATION error naming them', async () => {
  const cluster = Cluster.simulated()
  const t = new Tenant({ name: 'vault', quota: { limits: { cpu: '2', memory: '2Gi' }, requests: { storage: '10Gi' } }, storage: [{ name: 'data', size: '1Gi', storageClass: 'slow-hdd' }] })
  const e = await rejection(cluster.applyTenant(t, { storageClasses: ['openebs-replicated'] }))
  assert.ok(e instanceof moorage.ValidationError, String(e))
  assert.equal(e.code, 'VALIDATION')
  assert.equal(e.errors[0].path, 'tenant.storage[0].storageClass')
  assert.match(e.errors[0].message, /openebs-replicated/)
  assert.equal((await rejection(cluster.liveTenant('vault'))).code, 'TENANT_NOT_FOUND', 'nothing applied')
  const applied = await cluster.applyTenant(t, { storageClasses: ['slow-hdd', 'openebs-replicated'] })
  assert.ok(applied.changes > 0, 'allowed: applied')
})

test('quota counts are read by the core: -1, 1.5 and NaN are refused at their path, not wrapped or cut', () => {
  // napi-rs alone would have made -1 pods 4294967295, 1.5 pods 1 and NaN pods 0.
  for (const [pods, detail] of [[-1, /integer `-1`, expected a whole number from 0 to 4294967295/], [1.5, /floating point `1.5`, expected a whole number/], [NaN, /^NaN is not a finite number/]]) {
    const e = thrown(() => new Quota({ limitsCpu: '1', limitsMemory: '1Gi', pods }))
    assert.equal(e.code, 'SPEC', e.message)
    assert.equal(e.path, 'quota.pods')
    assert.match(e.detail, detail)
  }
  assert.equal(thrown(() => new Quota({ services: -2 })).path, 'quota.objects.services')
  assert.match(thrown(() => new Quota({ containerDefaults: { max: { cpu: '1' } } })).path, /^quota\.containerDefaults/)
  const containerDefaults = { default: { cpu: '200m', memory: '128Mi' }, defaultRequest: { cpu: '100m', memory: '64Mi' }, max: { cpu: '1', memory: '1Gi' } }
  const q = new Quota({ limitsCpu: '1', limitsMemory: '1Gi', pods: 7, secrets: 3, containerDefaults })
  assert.deepEqual([q.pods, q.toSpec().objects.secrets, q.toSpec().containerDefaults.max.cpu], [7, 3, '1'])
})

test('listTenants lists every tenant, sorted by name', async () => {
  // As Python's test_list_tenants.
  const cluster = Cluster.simulated()
  for (const name of ['beta', 'alpha']) {
    await cluster.applyTenant(new Tenant({ name, displayName: name[0].toUpperCase() + name.slice(1), domains: [`shop.${name}.test`] }))
  }
  const listed = await cluster.listTenants()
  assert.deepEqual(listed.map((t) => [t.name, t.displayName, t.domains, t.suspended, t.deployments]), [
    ['alpha', 'Alpha', ['shop.alpha.test'], false, 0],
    ['beta', 'Beta', ['shop.beta.test'], false, 0],
  ])
})

test('ciCredentials reach the tenant and nothing else, on the real control plane', async (t) => {
  // As Python's test_ci_credentials_reach_the_tenant_and_nothing_else.
  const cluster = await realCluster(t)
  if (!cluster) return
  const admin = fs.readFileSync(process.env.MOORAGE_TEST_KUBECONFIG, 'utf8')
  const server = admin.match(/server:\s*(\S+)/)[1]
  const ca = admin.match(/certificate-authority-data:\s*(\S+)/)
  const mine = new Tenant({ name: unique('jsci'), protected: false })
  const other = new Tenant({ name: unique('jsother'), protected: false })
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'moorage-ci-'))
  try {
    for (const x of [mine, other]) await cluster.applyTenant(x, { timeout: 120 })
    assert.match(thrown(() => Cluster.simulated().ciCredentials(mine, { server })).message, /is not a real cluster/)
    assert.deepEqual(thrown(() => cluster.ciCredentials(mine, { ttl: -1 })).errors.map((x) => x.path), ['ttl'])
    // Without server, the kubeconfig's server and CA (the core's CiOptions::given).
    const creds = await cluster.ciCredentials(mine, { ttl: 600 })
    assert.deepEqual([creds.namespace, creds.serviceAccount], [mine.name, 'ci'])
    assert.ok(creds.token && !JSON.stringify(creds).includes(creds.token) && !util.inspect(creds).includes(creds.token), 'the token is shown')
    assert.equal(JSON.parse(JSON.stringify(creds)).token, '***')
    assert.ok(creds.kubeconfig.includes(creds.token) && creds.kubeconfig.includes(`server: ${server.replace(/\/$/, '')}`))
    if (ca) assert.ok(creds.kubeconfig.includes(`certificate-authority-data: ${ca[1]}`))
    // Given, the pipeline's own server (it may reach the API server another way), without a CA.
    const otherWay = await cluster.ciCredentials(mine, { server: 'https://ci-gateway.example.test:6443', ttl: 600 })
    assert.ok(otherWay.kubeconfig.includes('server: https://ci-gateway.example.test:6443'))
    assert.ok(!otherWay.kubeconfig.includes('certificate-authority-data'))
    fs.writeFileSync(path.join(dir, 'ci.kubeconfig'), creds.kubeconfig)
    const ci = await Cluster.fromKubeconfig({ path: path.join(dir, 'ci.kubeconfig') })
    assert.deepEqual((await ci.status(mine, 'web')).versions, [], 'the pipeline reads its own tenant')
    assert.equal((await rejection(ci.status(other, 'web'))).code, 'FORBIDDEN')
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
    for (const x of [mine, other]) await cluster.deleteTenant(x, { confirm: true, purge: true })
  }
})
