// The Node twin of bench/src/compile_tenants.rs: N tenants with one release each, built with the
// Node API, compiled (compileAsync: on napi-rs's tokio threads) and written as one YAML stream. Prints one line of JSON like the Rust binary.
//   node bench/compile_tenants.mjs [N] [OUT_DIR]
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import moorage from '../bindings-node/moorage.js'

const { BlueGreen, Quota, Release, Tenant, compileAsync } = moorage

function tenantAndRelease(i) {
  const name = `customer-${String(i).padStart(4, '0')}`
  const tenant = new Tenant({
    name,
    displayName: `Customer ${i}`,
    labels: { plan: i % 3 === 0 ? 'business' : 'standard' },
    quota: new Quota({ limitsCpu: '4', limitsMemory: '8Gi', requestsCpu: '2', requestsMemory: '4Gi', pods: 20 }),
    members: { [`admin@${name}.test`]: 'admin' },
    domains: [`${name}.shop.test`],
  })
  const release = new Release({
    tenant,
    app: 'webserver',
    version: 'v1',
    image: 'nginxinc/nginx-unprivileged:1.27',
    replicas: 3,
    ports: [{ name: 'http', port: 8080 }],
    resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '200m', memory: '128Mi' } },
    config: { files: { 'index.html': `<h1>${name}</h1>` } },
    hosts: [`${name}.shop.test`],
    strategy: new BlueGreen(),
  })
  return [tenant, release]
}

const n = Number(process.argv[2] ?? 1000)
const out = process.argv[3] ?? path.join(os.tmpdir(), `moorage-bench-node-${process.pid}`)
fs.mkdirSync(out, { recursive: true })
const start = process.hrtime.bigint()
// The Rust binary's order: worker t compiles tenants t, t + threads, ...; streams joined by worker.
// Tenants are built on the JavaScript thread; each compiles on the tokio runtime's threads.
const threads = Number(process.env.THREADS ?? os.availableParallelism())
const order = []
for (let t = 0; t < threads; t++) for (let i = t; i < n; i += threads) order.push(i)
const parts = await Promise.all(order.map((i) => compileAsync(...(([tenant, release]) => [tenant, [release]])(tenantAndRelease(i)))))
const stream = parts.join('')
fs.writeFileSync(path.join(out, 'manifests.yaml.tmp'), stream)
fs.renameSync(path.join(out, 'manifests.yaml.tmp'), path.join(out, 'manifests.yaml'))
const secs = Number(process.hrtime.bigint() - start) / 1e9
const objects = (stream.match(/^kind: /gm) ?? []).length
console.log(JSON.stringify({ tenants: n, objects, bytes: Buffer.byteLength(stream), threads, in_process_seconds: Number(secs.toFixed(4)) }))
