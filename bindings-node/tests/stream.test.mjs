// CompileBatch: the core's streaming batch (compile::stream, YamlBatch), units compiled on worker
// threads as they are pushed; the same output and errors as compileMany.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import os from 'node:os'
import path from 'node:path'
import { assertWritesTheStream, moorage, shopSpecs, shopUnit, thrown } from './helpers.mjs'

const { CompileBatch, Release, Tenant } = moorage

const unit = shopUnit
const specs = shopSpecs

const batchOf = (units) => {
  const batch = new CompileBatch()
  for (const [t, rs] of units) batch.push(t, rs)
  return batch
}

const rejection = (promise) => promise.then(() => null, (err) => err)

test('finish gives compileMany\'s stream of the same units, in push order', async () => {
  const units = Array.from({ length: 40 }, (_, i) => unit(i))
  const batch = batchOf(units)
  assert.equal(batch.length, 40)
  assert.equal(batch.finished, false)
  const yaml = await batch.finish()
  assert.equal(batch.finished, true)
  assert.equal(yaml, await moorage.compileMany(units))
  assert.ok(yaml.includes('name: shop-39'))
  // A tenant alone (releases omitted) is compileMany's unit with no releases.
  const alone = new CompileBatch()
  alone.push(units[0][0])
  assert.equal(await alone.finish(), await moorage.compileMany([[units[0][0], []]]))
  assert.equal(await new CompileBatch().finish(), '')
})

test('plain spec objects pushed give the stream of the instances built from them', async () => {
  const batch = new CompileBatch()
  // Every third unit as plain specs, every third with a plain release under a Tenant, the rest built.
  const units = Array.from({ length: 12 }, (_, i) => unit(i))
  units.forEach(([t, rs], i) => {
    const [tenantSpec, releaseSpecs] = specs(i)
    if (i % 3 === 0) batch.push(tenantSpec, releaseSpecs)
    else if (i % 3 === 1) batch.push(t, releaseSpecs)
    else batch.push(t, rs)
  })
  assert.equal(batch.length, 12)
  assert.equal(await batch.finish(), await moorage.compileMany(units))
  // A plain spec may hold class instances and members as a map, as the constructors allow.
  const [t] = unit(0)
  const withInstances = new CompileBatch()
  withInstances.push({ name: 'shop-0', domains: ['shop-0.test'], members: { 'alice@shop-0.test': 'admin' }, quota: new moorage.Quota({ limitsCpu: '2', limitsMemory: '4Gi' }) }, [{ ...specs(0)[1][0], tenant: t, strategy: new moorage.BlueGreen() }])
  const built = new Tenant({ name: 'shop-0', domains: ['shop-0.test'], members: [{ name: 'alice@shop-0.test', role: 'admin' }], quota: new moorage.Quota({ limitsCpu: '2', limitsMemory: '4Gi' }) })
  assert.equal(await withInstances.finish(), await moorage.compileMany([[built, [new Release({ ...specs(0)[1][0], tenant: t, strategy: new moorage.BlueGreen() })]]]))
})

test('problems of plain specs come back from finish with the batch\'s others, tenants[i] paths', async () => {
  const batch = new CompileBatch()
  batch.push(...specs(0))
  // Unit 1: a malformed release field and an invalid tenant name; unit 2: a host outside the domains.
  batch.push({ name: 'Not A Name' }, [{ ...specs(1)[1][0], replicas: 'three' }])
  batch.push(...specs(2, 'elsewhere.test'))
  const e = await rejection(batch.finish())
  assert.ok(e instanceof moorage.ValidationError, String(e))
  const paths = e.errors.map((x) => x.path)
  assert.ok(paths.some((p) => p.startsWith('tenants[1].tenant.name')), paths.join(', '))
  assert.ok(paths.includes('tenants[1].releases[0].replicas'), paths.join(', '))
  assert.ok(paths.includes('tenants[2].releases[0].hosts[0]'), paths.join(', '))
  assert.ok(!paths.some((p) => p.startsWith('tenants[0]')), paths.join(', '))
  // The constructors report the same problems, at once, with the spec's own paths.
  assert.equal(thrown(() => new Release({ ...specs(1)[1][0], replicas: 'three' })).path, 'release.replicas')
})

test('every problem of every unit is one VALIDATION error with tenants[i] paths', async () => {
  const e = await rejection(batchOf([unit(0), unit(1, 'elsewhere.test'), unit(2), unit(3, 'other.test')]).finish())
  assert.ok(e instanceof moorage.ValidationError, String(e))
  assert.equal(e.code, 'VALIDATION')
  assert.deepEqual(e.errors.map((x) => x.path), ['tenants[1].releases[0].hosts[0]', 'tenants[3].releases[0].hosts[0]'])
  const many = await rejection(moorage.compileMany([unit(0), unit(1, 'elsewhere.test'), unit(2), unit(3, 'other.test')]))
  assert.deepEqual(e.errors, many.errors)
  assert.equal(e.message, many.message)
})

test('finishToFile writes the stream atomically, and nothing when a unit does not fit', async () => {
  await assertWritesTheStream((units, file) => batchOf(units).finishToFile(file))
})

test('a finished batch takes no more units and cannot be finished again (BATCH_FINISHED)', async () => {
  const [t, rs] = unit(0)
  const batch = batchOf([[t, rs]])
  await batch.finish()
  const pushed = thrown(() => batch.push(t, rs))
  assert.ok(pushed instanceof moorage.BatchFinishedError, String(pushed))
  assert.equal(pushed.code, 'BATCH_FINISHED')
  assert.equal(batch.length, 1)
  // finish throws synchronously (nothing to wait for), like push.
  assert.equal(thrown(() => batch.finish()).code, 'BATCH_FINISHED')
  assert.equal(thrown(() => batch.finishToFile(path.join(os.tmpdir(), `moorage-nope-${process.pid}.yaml`))).code, 'BATCH_FINISHED')
  // Finished by a failing finish too: the batch was consumed.
  const failed = batchOf([unit(1, 'elsewhere.test')])
  assert.equal((await rejection(failed.finish())).code, 'VALIDATION')
  assert.equal(thrown(() => failed.push(t, rs)).code, 'BATCH_FINISHED')
})
