// S6 secrets from Node: planted tokens, client keys and URL passwords of kubeconfigs never show in
// util.inspect, String() or JSON of the objects holding them, nor in the errors thrown (message,
// stack, fields), as the Python and Rust suites check for their own outputs.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import util from 'node:util'
import { moorage, rejection } from './helpers.mjs'

const { Cluster, Tenant, MoorageError } = moorage

const KUBE_TOKEN = 'planted-kubeconfig-token-0b5e9d'
const CLIENT_KEY = '-----BEGIN PRIVATE KEY-----\nplantedclientkeymaterialQ29udGVudA\n-----END PRIVATE KEY-----\n'
const URL_PASSWORD = 'planted-url-password-3k9'
const PLANTED = [KUBE_TOKEN, 'plantedclientkeymaterial', Buffer.from(CLIENT_KEY).toString('base64'), URL_PASSWORD]

function shown(value) {
  const texts = [util.inspect(value, { depth: 10, showHidden: true }), String(value)]
  try {
    texts.push(JSON.stringify(value) ?? '')
  } catch {
    // Some native objects cannot be serialized; inspect covers them.
  }
  if (value instanceof Error) texts.push(value.stack ?? '', JSON.stringify({ ...value }))
  return texts
}

function assertHidden(value) {
  for (const text of shown(value)) {
    for (const secret of PLANTED) {
      assert.ok(!text.includes(secret), `a planted secret shows: ${text.slice(0, 200)}`)
    }
  }
}

function kubeconfig(dir, name, server, user) {
  const file = path.join(dir, `${name}.json`)
  fs.writeFileSync(file, JSON.stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'planted',
    clusters: [{ name: 'planted', cluster: { server, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'planted', user }],
    contexts: [{ name: 'planted', context: { cluster: 'planted', user: 'planted' } }],
  }))
  return file
}

test('clusters from kubeconfigs holding credentials never show them, nor do their errors', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'moorage-secrets-'))
  const cases = {
    'token-and-url-password': [`https://admin:${URL_PASSWORD}@127.0.0.1:9`, { token: KUBE_TOKEN }],
    'username-password': ['https://127.0.0.1:9', { username: 'admin', password: URL_PASSWORD }],
    'client-key': ['https://127.0.0.1:9', { 'client-certificate-data': Buffer.from('not a certificate').toString('base64'), 'client-key-data': Buffer.from(CLIENT_KEY).toString('base64') }],
  }
  let clusters = 0
  for (const [name, [server, user]] of Object.entries(cases)) {
    try {
      const cluster = await Cluster.fromKubeconfig({ path: kubeconfig(dir, name, server, user) })
      clusters += 1
      assertHidden(cluster)
    } catch (e) {
      assert.ok(e instanceof MoorageError, String(e))
      assertHidden(e)
    }
  }
  assert.ok(clusters >= 1, 'no kubeconfig gave a Cluster: inspect went unchecked')
  // A request through the token kubeconfig fails (nothing listens there): the error hides it too.
  const cluster = await Cluster.fromKubeconfig({ path: kubeconfig(dir, 'request', `https://admin:${URL_PASSWORD}@127.0.0.1:9`, { token: KUBE_TOKEN }) })
  const e = await rejection(cluster.applyTenant(new Tenant({ name: 'acme' })))
  assert.equal(e.code, 'UNAVAILABLE')
  assertHidden(e)
})

test('an unreadable kubeconfig holding a token is not quoted in the CONFIG error', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'moorage-secrets-'))
  const file = path.join(dir, 'broken.yaml')
  fs.writeFileSync(file, `users:\n  - user: {token: ${KUBE_TOKEN}\n\tbroken`)
  const e = await rejection(Cluster.fromKubeconfig({ path: file }))
  assert.equal(e.code, 'CONFIG')
  assertHidden(e)
})
