// Shared test helpers: the spec files of examples/specs and the real test control plane.
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

const require = createRequire(import.meta.url)
/** The package, as users load it (`require('moorage')` resolves to moorage.js). */
export const moorage = require('../moorage.js')

export const SPECS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../examples/specs')
export const spec = (name) => path.join(SPECS, name)

export function clusterRequired() {
  return Boolean(process.env.CI) || process.env.MOORAGE_REQUIRE_CLUSTER === '1'
}

/**
 * The real test control plane (MOORAGE_TEST_KUBECONFIG), or null after skipping the test when it
 * is unset; a failure instead when CI or MOORAGE_REQUIRE_CLUSTER=1 requires one.
 */
export async function realCluster(t) {
  const kubeconfig = process.env.MOORAGE_TEST_KUBECONFIG
  if (!kubeconfig) {
    if (clusterRequired()) {
      assert.fail('MOORAGE_TEST_KUBECONFIG is unset but CI or MOORAGE_REQUIRE_CLUSTER=1 requires a control plane')
    }
    t.skip('no test control plane (set MOORAGE_TEST_KUBECONFIG)')
    return null
  }
  return moorage.Cluster.fromKubeconfig({ path: kubeconfig })
}

/** A name no other run uses: the real control plane outlives a test run. */
export function unique(prefix) {
  return `${prefix}-${Date.now() % 1e8}-${process.pid % 1000}`
}

/** The rejection of `promise`, which must reject. */
export async function rejection(promise) {
  try {
    await promise
  } catch (e) {
    return e
  }
  assert.fail('expected the Promise to reject')
}

/** The exception `fn()` throws, which it must. */
export function thrown(fn) {
  try {
    fn()
  } catch (e) {
    return e
  }
  assert.fail('expected an exception')
}

/** The specs of batch unit `i`: tenant `shop-<i>` and one release serving `host` (its own domain by default). */
export function shopSpecs(i, host) {
  return [
    { name: `shop-${i}`, domains: [`shop-${i}.test`] },
    [{ tenant: `shop-${i}`, app: 'web', version: 'v1', image: 'nginx:1.27', ports: [{ name: 'http', port: 8080 }], hosts: [host ?? `shop-${i}.test`] }],
  ]
}

/** Batch unit `i` built: `[Tenant, [Release]]` from `shopSpecs(i, host)`. */
export function shopUnit(i, host) {
  const [tenant, releases] = shopSpecs(i, host)
  return [new moorage.Tenant(tenant), releases.map((r) => new moorage.Release(r))]
}

/**
 * Checks a function that compiles batch units into a file (`write(units, file)`, a Promise of
 * `{objects, bytes}`): the file holds compileMany's stream and nothing else is left in its
 * folder; a batch that does not fit writes nothing (`VALIDATION`, `tenants[i]` paths); a missing
 * folder is `MANIFEST`.
 */
export async function assertWritesTheStream(write) {
  const fs = await import('node:fs')
  const os = await import('node:os')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'moorage-node-write-'))
  try {
    const units = [0, 1, 2].map((i) => shopUnit(i))
    const file = path.join(dir, 'manifests.yaml')
    const written = await write(units, file)
    const text = fs.readFileSync(file, 'utf8')
    assert.equal(text, await moorage.compileMany(units))
    assert.equal(written.bytes, Buffer.byteLength(text))
    assert.equal(written.objects, (text.match(/^kind: /gm) ?? []).length)
    assert.deepEqual(fs.readdirSync(dir), ['manifests.yaml'])
    const e = await rejection(write([shopUnit(0), shopUnit(1, 'elsewhere.test')], path.join(dir, 'bad.yaml')))
    assert.ok(e instanceof moorage.ValidationError, String(e))
    assert.deepEqual(e.errors.map((x) => x.path), ['tenants[1].releases[0].hosts[0]'])
    assert.deepEqual(fs.readdirSync(dir), ['manifests.yaml'])
    const io = await rejection(write(units, path.join(dir, 'missing', 'manifests.yaml')))
    assert.equal(io?.code, 'MANIFEST', String(io))
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
