// A hosting provider's Node tool: one shop upgraded across the customers of two clusters in waves
// (a canary customer first, then half, then all), printing the plan's progress and where it ends.
//   node examples/node/fleet_waves.mjs    (two simulated clusters: "onprem" and "cloud")
import moorage from '../../bindings-node/moorage.js'

const { BlueGreen, Cluster, Fleet, Quota, Release, Tenant, watch } = moorage
const fleet = new Fleet([
  { name: 'onprem', cluster: Cluster.simulated(), labels: { location: 'onprem' } },
  { name: 'cloud', cluster: Cluster.simulated(), labels: { location: 'cloud' } },
])

// Six customers, placed by a label rule (the cluster with the most free capacity), each on shop 1.27.
const customers = ['acme', 'globex', 'hooli', 'initech', 'umbrella', 'wonka']
for (const name of customers) {
  const tenant = new Tenant({ name, quota: new Quota({ limitsCpu: '2', limitsMemory: '2Gi', pods: 10 }), domains: [`shop.${name}.test`] })
  const { cluster } = await fleet.applyTenant(tenant)
  await fleet.cluster(cluster).rollout(tenant, new Release({ tenant, app: 'shop', version: '1.27', image: 'nginxinc/nginx-unprivileged:1.27',
    replicas: 2, ports: [{ name: 'http', port: 8080 }], hosts: [`shop.${name}.test`], strategy: new BlueGreen({ scaleDownDelay: '0s' }) }))
}
console.log('placed:', (await fleet.list()).map((t) => `${t.tenant}@${t.cluster}`).join(' '))

const plan = { name: 'shop-1-28', app: 'shop', version: '1.28', image: 'nginxinc/nginx-unprivileged:1.28',
  canaryTenants: ['acme'], waves: [50, 100], maxConcurrentPerCluster: 2, failureBudget: 1 }
const run = watch((onProgress) => fleet.startWaves(plan, { onProgress }))
for await (const e of run) {
  if (e.event === 'waveStarted') console.log(`wave ${e.label}: ${e.tenants} tenant(s)`)
  if (e.event === 'tenantSucceeded') console.log(`  ${e.tenant} (${e.cluster}) on 1.28`)
  if (e.event === 'tenantFailed') console.log(`  ${e.tenant} (${e.cluster}) failed, rolled back: ${e.reason}`)
}
const state = await run.result
console.log(`plan ${state.spec.name}: ${state.phase}; ${state.tenants.filter((t) => t.state === 'succeeded').length}/${state.tenants.length} upgraded`)
if (state.phase !== 'done') process.exit(1)
