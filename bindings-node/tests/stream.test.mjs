// CompileBatch: the core's streaming batch (compile::stream, YamlBatch), units compiled on worker
// threads as they are pushed; the same output and errors as compileMany.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { moorage, thrown } from './helpers.mjs'

const { CompileBatch, Release, Tenant } = moorage

const unit = (i, host) => {
  const t = new Tenant({ name: `shop-${i}`, domains: [`shop-${i}.test`] })
  return [t, [new Release({ tenant: t, app: 'web', version: 'v1', image: 'nginx:1.27', ports: [{ name: 'http', port: 8080 }], hosts: [host ?? `shop-${i}.test`] })]]
}

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
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'moorage-node-stream-'))
  try {
    const units = [0, 1, 2].map((i) => unit(i))
    const file = path.join(dir, 'manifests.yaml')
    const written = await batchOf(units).finishToFile(file)
    const text = fs.readFileSync(file, 'utf8')
    assert.equal(text, await moorage.compileMany(units))
    assert.equal(written.bytes, Buffer.byteLength(text))
    assert.equal(written.objects, (text.match(/^kind: /gm) ?? []).length)
    assert.deepEqual(fs.readdirSync(dir), ['manifests.yaml'])
    const bad = path.join(dir, 'bad.yaml')
    const e = await rejection(batchOf([unit(0), unit(1, 'elsewhere.test')]).finishToFile(bad))
    assert.ok(e instanceof moorage.ValidationError, String(e))
    assert.deepEqual(e.errors.map((x) => x.path), ['tenants[1].releases[0].hosts[0]'])
    assert.deepEqual(fs.readdirSync(dir), ['manifests.yaml'])
    const io = await rejection(batchOf(units).finishToFile(path.join(dir, 'missing', 'manifests.yaml')))
    assert.equal(io?.code, 'MANIFEST', String(io))
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
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
