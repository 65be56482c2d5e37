// Per-call costs of the Node bindings (one thread, N calls each), and a 1,000-unit batch through
// compileMany + writeFileSync vs compileManyToFile, for docs/benchmarks-node.md.
//   node bench/node_call_costs.mjs
import moorage from '../bindings-node/moorage.js'
const { BlueGreen, Quota, Release, Tenant, compile } = moorage
const N = 2000
function time(label, f) { const s = process.hrtime.bigint(); let x; for (let i = 0; i < N; i++) x = f(i); console.log(label, (Number(process.hrtime.bigint() - s) / 1e3 / N).toFixed(1), 'us'); return x }
const q = time('Quota', () => new Quota({ limitsCpu: '4', limitsMemory: '8Gi', requestsCpu: '2', requestsMemory: '4Gi', pods: 20 }))
time('BlueGreen', () => new BlueGreen())
const t = time('Tenant', (i) => new Tenant({ name: 'customer-0001', displayName: 'Customer 1', labels: { plan: 'standard' }, quota: q, members: { 'admin@customer-0001.test': 'admin' }, domains: ['customer-0001.shop.test'] }))
const tp = time('Tenant plain quota', (i) => new Tenant({ name: 'customer-0001', displayName: 'Customer 1', labels: { plan: 'standard' }, quota: { limits: { cpu: '4', memory: '8Gi' }, requests: { cpu: '2', memory: '4Gi' }, pods: 20 }, members: { 'admin@customer-0001.test': 'admin' }, domains: ['customer-0001.shop.test'] }))
const bg = new BlueGreen()
const r = time('Release', () => new Release({ tenant: t, app: 'webserver', version: 'v1', image: 'nginxinc/nginx-unprivileged:1.27', replicas: 3, ports: [{ name: 'http', port: 8080 }], resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '200m', memory: '128Mi' } }, config: { files: { 'index.html': '<h1>x</h1>' } }, hosts: ['customer-0001.shop.test'], strategy: bg }))
time('compile', () => compile(t, [r]))
time('tenant.compile', () => t.compile())
time('Release plain (tenant name, strategy spec)', () => new Release({ tenant: 'customer-0001', app: 'webserver', version: 'v1', image: 'nginxinc/nginx-unprivileged:1.27', replicas: 3, ports: [{ name: 'http', port: 8080 }], resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '200m', memory: '128Mi' } }, config: { files: { 'index.html': '<h1>x</h1>' } }, hosts: ['customer-0001.shop.test'], strategy: { type: 'blueGreen' } }))

// A batch of 1,000 units: compileMany (the stream as a JavaScript string) + writeFileSync, against
// compileManyToFile (the core writes the file; the text stays in Rust). Alternated, medians of 15.
{
  const fs = await import('node:fs')
  const os = await import('node:os')
  const path = await import('node:path')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'moorage-costs-'))
  const units = []
  for (let i = 0; i < 1000; i++) {
    const name = `customer-${String(i).padStart(4, '0')}`
    const tenant = new Tenant({ name, displayName: `Customer ${i}`, labels: { plan: 'standard' }, quota: { limits: { cpu: '4', memory: '8Gi' }, requests: { cpu: '2', memory: '4Gi' }, pods: 20 }, members: { [`admin@${name}.test`]: 'admin' }, domains: [`${name}.shop.test`] })
    units.push([tenant, [new Release({ tenant: name, app: 'webserver', version: 'v1', image: 'nginxinc/nginx-unprivileged:1.27', replicas: 3, ports: [{ name: 'http', port: 8080 }], resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '200m', memory: '128Mi' } }, config: { files: { 'index.html': `<h1>${name}</h1>` } }, hosts: [`${name}.shop.test`], strategy: { type: 'blueGreen' } })]])
  }
  const ms = (start) => Number(process.hrtime.bigint() - start) / 1e6
  const viaString = [], viaFile = []
  for (let k = 0; k < 15; k++) {
    let s = process.hrtime.bigint()
    fs.writeFileSync(path.join(dir, 'a.yaml'), await moorage.compileMany(units))
    viaString.push(ms(s))
    s = process.hrtime.bigint()
    await moorage.compileManyToFile(units, path.join(dir, 'b.yaml'))
    viaFile.push(ms(s))
  }
  const median = (x) => x.sort((a, b) => a - b)[Math.floor(x.length / 2)].toFixed(1)
  console.log('1,000 units: compileMany + writeFileSync', median(viaString), 'ms; compileManyToFile', median(viaFile), 'ms')
  fs.rmSync(dir, { recursive: true, force: true })
}
