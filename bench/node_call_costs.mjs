// Per-call costs of the Node bindings (one thread, N calls each), for docs/benchmarks-node.md.
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
