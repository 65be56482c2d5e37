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
