// A SaaS vendor's Node tool: onboards one customer (project, quota, users, custom domain, backups),
// rolls its shop out, then upgrades it blue/green, printing progress.
//   node examples/node/onboard.mjs [--cluster]   (simulated cluster by default; --cluster: $KUBECONFIG)
import moorage from '../../bindings-node/moorage.js'

const { BlueGreen, Cluster, Quota, Release, Tenant, watch } = moorage
const cluster = process.argv.includes('--cluster') ? await Cluster.fromKubeconfig() : Cluster.simulated()

const customer = new Tenant({
  name: 'initech',
  displayName: 'Initech',
  quota: new Quota({ limitsCpu: '2', limitsMemory: '2Gi', requestsStorage: '20Gi', pods: 10 }),
  members: { 'peter@initech.test': 'admin' },
  domains: ['shop.initech.test'],
  storage: [{ name: 'db', storageClass: 'openebs-replicated', size: '10Gi' }],
  backups: [{ name: 'nightly', volume: 'db', schedule: '0 3 * * *', retention: 14,
    target: { endpoint: 'https://minio.backup.svc:9000', bucket: 'initech', credentialsSecret: 'initech-s3' },
    database: { engine: 'postgres', host: 'db', database: 'shop', credentialsSecret: 'initech-db' } }],
})
const shop = (version) => new Release({ tenant: customer, app: 'shop', version, image: `nginxinc/nginx-unprivileged:${version}`,
  replicas: 2, ports: [{ name: 'http', port: 8080 }], hosts: ['shop.initech.test'], strategy: new BlueGreen({ scaleDownDelay: '0s' }) })

const applied = await cluster.applyTenant(customer)
console.log(`${customer.name}: ${applied.created} objects created on ${cluster.describe()}`)
console.log(`shop 1.27 live: revision ${(await cluster.rollout(customer, shop('1.27'))).revision}`)

const upgrade = watch((onProgress) => cluster.rollout(customer, shop('1.28'), { onProgress }))
for await (const e of upgrade) console.log(`  ${e.event}${e.version ? ` ${e.version}` : ''}${e.to ? ` -> ${e.to}` : ''}`)
const report = await upgrade.result
const status = await cluster.status(customer, 'shop')
console.log(`shop upgraded ${report.previous} -> ${report.version} (revision ${report.revision}); serving ${status.active}`)
