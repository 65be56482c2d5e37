// Compiled by the tests with `tsc -p tsconfig.json` (strict, no emit): the spec types generated
// from the core's JSON Schemas (spec-types.d.ts) accept every spec field, analyses, metrics and
// autoscaling included, and reject what the core rejects (each `@ts-expect-error` fails the
// compilation if the line it marks compiles).
import { BlueGreen, Canary, Cluster, CompileBatch, Release, Tenant, compileManyToFile, compileMonitoring } from './moorage'
import type { AnalysisSpec, AutoscalingSpec, CompiledFile, MetricsSpec, Monitoring, ReleaseSpec, StrategySpec, TenantSpec } from './moorage'

declare function log(...values: unknown[]): void

const errorRate: AnalysisSpec = {
  name: 'error-rate',
  interval: '1m',
  count: 3,
  failureLimit: 1,
  prometheus: { address: 'http://prometheus.monitoring:9090', query: 'sum(rate(errors{app="{{app}}"}[1m]))', successCondition: 'result < 0.05' },
}
const smoke: AnalysisSpec = { name: 'smoke', job: { image: 'curlimages/curl:8.10.1', command: ['curl', '-f', '$(PREVIEW_URL)'], timeout: '2m' } }
const health: AnalysisSpec = { name: 'health', http: { path: '/healthz', expectedStatus: 200, bodyContains: 'ok' } }
const autoscaling: AutoscalingSpec = { minReplicas: 2, maxReplicas: 10, targetCpuUtilization: 70 }
const metrics: MetricsSpec = { port: 'http', business: [{ name: 'erp_orders_total', kind: 'counter', unit: 'short' }] }

const tenantSpec: TenantSpec = {
  name: 'initech',
  quota: { limits: { cpu: '4', memory: '8Gi' }, containerDefaults: { default: { cpu: '200m' }, defaultRequest: { cpu: '100m' } } },
  members: [{ name: 'ops', role: 'admin', kind: 'group' }],
  domains: ['shop.initech.test'],
  gateway: { name: 'public', namespace: 'gateways', sectionName: 'https' },
  network: { isolated: true },
  podSecurity: 'baseline',
}

const spec: ReleaseSpec = {
  tenant: 'initech',
  app: 'shop',
  version: '2.0',
  image: 'registry.test/shop:2.0',
  ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  resources: { requests: { cpu: '100m', memory: '64Mi' } },
  hosts: ['shop.initech.test'],
  analyses: [errorRate, smoke, health],
  metrics,
  autoscaling,
  strategy: { type: 'canary', steps: [{ setWeight: 20 }, { analysis: { name: 'error-rate' } }, { pause: { duration: '5m' } }], traffic: 'gatewayApi' },
}

async function specs(cluster: Cluster): Promise<void> {
  const tenant = new Tenant(tenantSpec)
  const canary = new Release(spec)
  const blueGreen = new Release({
    ...spec,
    tenant,
    version: '2.1',
    strategy: new BlueGreen({ autoPromote: false }),
  })
  const fromSpec: StrategySpec = { type: 'blueGreen', prePromotionAnalysis: ['smoke'], postPromotionAnalysis: ['error-rate'] }
  const gated = new Release({ ...spec, version: '2.2', strategy: fromSpec })
  const steps = new Canary([{ setWeight: 50 }, { analysis: { name: 'error-rate' } }], { traffic: 'ingressNginx' })
  const back: ReleaseSpec = canary.toSpec()
  const scaled: number | undefined = back.autoscaling?.maxReplicas
  const analyses: string[] = (back.analyses ?? []).map((a) => a.name)
  const written: CompiledFile = await compileManyToFile([[tenant, [canary, blueGreen, gated]]], 'out/manifests.yaml')
  log(steps, scaled, analyses, written.objects, written.bytes, await cluster.rollout(tenant, gated))
  // A batch takes instances and plain spec objects alike.
  const batch = new CompileBatch()
  batch.push(tenant, [canary])
  batch.push({ name: 'beta', domains: ['beta.test'] }, [{ ...spec, tenant: 'beta', strategy: fromSpec }, gated])
  // @ts-expect-error a release spec is not a tenant spec
  batch.push(spec)
  const streamed: CompiledFile = await batch.finishToFile('out/batch.yaml')
  log(streamed.objects)
  const monitoring: Monitoring = compileMonitoring(tenant, [canary], { prometheusOperator: await cluster.prometheusOperatorInstalled() })
  const files: string[] = monitoring.writeFiles('out/monitoring')
  log(monitoring.objects.map((o) => o.kind), monitoring.rules.groups.length, monitoring.dashboard, files)

  // @ts-expect-error minReplicas is required
  const noMin: AutoscalingSpec = { maxReplicas: 10, targetCpuUtilization: 70 }
  // @ts-expect-error maxSurge is a string ("25%" or "1"), as the core reads it
  const surge: StrategySpec = { type: 'rolling', maxSurge: 1 }
  // @ts-expect-error unknown keys are rejected, as the core rejects them
  const typo: ReleaseSpec = { ...spec, replica: 3 }
  // @ts-expect-error not a strategy type
  const kind: StrategySpec = { type: 'recreate' }
  // @ts-expect-error not a role
  new Tenant({ name: 'globex', members: { hank: 'owner' } })
  log(noMin, surge, typo, kind)
}

void specs
