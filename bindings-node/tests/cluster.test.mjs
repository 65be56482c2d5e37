// The Cluster handle itself (src/cluster.rs): the simulated cluster's controls, and the calls it
// shares with Python's Cluster (the same names, camelCase), checked against both type files.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { moorage, rejection, SPECS, thrown } from './helpers.mjs'

const { Cluster, Quota, Release, Tenant } = moorage
const ROOT = path.join(SPECS, '..', '..')

test('the simulated cluster: injected failures, virtual time, save and load', async (t) => {
  const tenant = new Tenant({ name: 'acme', quota: new Quota({ limitsCpu: '2', limitsMemory: '2Gi', pods: 10 }) })
  const release = (image) => new Release({ tenant, app: 'web', version: image.split(':')[1], image, replicas: 1 })
  const cluster = Cluster.simulated({ failures: { 'registry.test/broken:*': 'never_ready' } })
  await cluster.applyTenant(tenant)
  const stuck = await rejection(cluster.rollout(tenant, release('registry.test/broken:v1'), { timeout: 30 }))
  assert.equal(stuck.code, 'ROLLOUT_STUCK', stuck.message)
  cluster.clearFailures()
  cluster.injectFailure('registry.test/slow:*', 'pull_error')
  const pulled = await rejection(cluster.rollout(tenant, release('registry.test/slow:v2'), { timeout: 30 }))
  assert.equal(pulled.code, 'ROLLOUT_STUCK', pulled.message)
  assert.notEqual(pulled.cause, stuck.cause)

  // The whole state, clock included, survives save and load.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'moorage-sim-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  cluster.advance(3600)
  cluster.save(path.join(dir, 'state.json'))
  const loaded = Cluster.load(path.join(dir, 'state.json'))
  assert.deepEqual((await loaded.listTenants()).map((x) => x.name), ['acme'])
  assert.deepEqual(await loaded.history(tenant, 'web'), await cluster.history(tenant, 'web'))

  // Mistakes: a failure that does not exist, a time that is not one, a cluster that is not simulated.
  const bad = thrown(() => cluster.injectFailure('x:*', 'slow'))
  assert.deepEqual([bad.code, bad.errors], ['VALIDATION', [{ path: 'failures["x:*"]', message: '"slow" is not a failure; use pull_error, crash_loop or never_ready' }]])
  assert.equal(thrown(() => Cluster.simulated({ failures: { 'x:*': 'NeverReady' } })).code, 'VALIDATION')
  assert.deepEqual(thrown(() => cluster.advance(-1)).errors, [{ path: 'seconds', message: '-1 is negative; give a number of seconds, 0 or more' }])
  const manifests = Cluster.manifests(dir)
  assert.match(thrown(() => manifests.advance(1)).message, /is not the simulated cluster/)
  assert.match(thrown(() => Cluster.load(path.join(dir, 'missing.json'))).message, /loading .*missing\.json/)
})

test('Cluster, Fleet and Prometheus have the calls Python\'s have, by the same names', () => {
  // Method names of a class in _moorage.pyi (coroutine twins `a_*` and dunders aside) and in
  // index.d.ts, camelCased; the differences listed are the known ones, each with its reason.
  const pyi = fs.readFileSync(path.join(ROOT, 'bindings-python', 'python', 'moorage', '_moorage.pyi'), 'utf8')
  const dts = fs.readFileSync(path.join(ROOT, 'bindings-node', 'index.d.ts'), 'utf8')
  const camel = (s) => s.replace(/_([a-z])/g, (_, c) => c.toUpperCase())
  const python = (cls) => {
    const body = pyi.split(new RegExp(`^class ${cls}\\b`, 'm'))[1].split(/^class /m)[0]
    return new Set([...body.matchAll(/def (\w+)\(/g)].map((m) => m[1]).filter((n) => !n.startsWith('_') && !n.startsWith('a_')).map(camel))
  }
  const node = (cls) => {
    const body = dts.split(`export declare class ${cls} {`)[1].split(/^\}/m)[0]
    return new Set([...body.matchAll(/^ {2}(?:static |get )?(\w+)[(<]/gm)].map((m) => m[1]).filter((n) => n !== 'constructor'))
  }
  const known = {
    Cluster: { python: [], node: [] },
    // Node only: the fleet's clusters as handles, and its description (Python's repr()).
    Fleet: { python: [], node: ['cluster', 'clusters', 'describe'] },
    // Python only: raw instant and range queries.
    Prometheus: { python: ['instant', 'range'], node: [] },
  }
  for (const [cls, { python: pyOnly, node: nodeOnly }] of Object.entries(known)) {
    const [py, js] = [python(cls), node(cls)]
    assert.ok(py.size > 1 && js.size > 1, cls)
    assert.deepEqual([...py].filter((n) => !js.has(n)).sort(), pyOnly, `${cls}: only in Python`)
    assert.deepEqual([...js].filter((n) => !py.has(n)).sort(), nodeOnly, `${cls}: only in Node`)
  }
})
