// The Node twin of bench/src/compile_tenants.rs: N tenants with one release each, built with the
// Node API, compiled and written as one YAML stream file (CompileBatch: the core's streaming
// batch, each unit compiled on worker threads while the next is built, written by the core off
// the event loop). Prints one line of JSON like the Rust binary.
//   node bench/compile_tenants.mjs [N] [OUT_DIR]
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import moorage from '../bindings-node/moorage.js'

const { CompileBatch } = moorage

// The specs are plain objects in the spec files' form (the quota, the tenant's name, the strategy),
// the JavaScript way of writing them, pushed as they are: the batch's workers read and validate
// them (what `new Tenant(spec)` and `new Release(spec)` do on the JavaScript thread) and compile
// them, on the other cores, while this thread writes the next.
function tenantAndRelease(i) {
  const name = `customer-${String(i).padStart(4, '0')}`
  const tenant = {
    name,
    displayName: `Customer ${i}`,
    labels: { plan: i % 3 === 0 ? 'business' : 'standard' },
    quota: { limits: { cpu: '4', memory: '8Gi' }, requests: { cpu: '2', memory: '4Gi' }, pods: 20 },
    members: { [`admin@${name}.test`]: 'admin' },
    domains: [`${name}.shop.test`],
  }
  const release = {
    tenant: name,
    app: 'webserver',
    version: 'v1',
    image: 'nginxinc/nginx-unprivileged:1.27',
    replicas: 3,
    ports: [{ name: 'http', port: 8080 }],
    resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '200m', memory: '128Mi' } },
    config: { files: { 'index.html': `<h1>${name}</h1>` } },
    hosts: [`${name}.shop.test`],
    strategy: { type: 'blueGreen' },
  }
  return [tenant, release]
}

const n = Number(process.argv[2] ?? 1000)
const out = process.argv[3] ?? path.join(os.tmpdir(), `moorage-bench-node-${process.pid}`)
fs.mkdirSync(out, { recursive: true })
const start = process.hrtime.bigint()
// Tenant and release specs are written on the JavaScript thread and pushed one by one: the core's
// workers read, validate and compile each while the next is written (as the Rust twin's threads
// build and compile);
// finishToFile waits for the last ones and writes the YAML stream atomically in push order:
// the 9 MB text never crosses into JavaScript.
const batch = new CompileBatch()
for (let i = 0; i < n; i++) {
  const [tenant, release] = tenantAndRelease(i)
  batch.push(tenant, [release])
}
const built = process.hrtime.bigint()
const written = await batch.finishToFile(path.join(out, 'manifests.yaml'))
const end = process.hrtime.bigint()
const secs = (a, b) => Number((Number(b - a) / 1e9).toFixed(4))
console.log(
  JSON.stringify({
    tenants: n,
    objects: written.objects,
    bytes: written.bytes,
    threads: os.availableParallelism(),
    in_process_seconds: secs(start, end),
    build_seconds: secs(start, built),
    finish_seconds: secs(built, end),
  }),
)
