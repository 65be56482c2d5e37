// The types of the spec files (the keys of tenant and release YAML files), generated from the
// core's JSON Schemas (docs/schema/*.json) by scripts/spec-types.mjs: do not edit by hand.
// bindings-node/test.sh checks that this file is what the script writes.
/* eslint-disable */

/**
 * A named analysis of a release: a provider, and how many measurements decide.
 *
 * Every `interval`, one measurement is taken, `count` times. More than `failureLimit` failed
 * measurements fail the analysis (the rollout aborts and rolls back). A measurement that cannot
 * decide (no data, Prometheus unreachable) makes the analysis inconclusive: the rollout pauses,
 * it never passes silently.
 */
export interface AnalysisSpec {
  /**
   * How many measurements.
   *
   * @default 1
   */
  count?: number
  /**
   * How many measurements may fail before the analysis fails.
   *
   * @default 0
   */
  failureLimit?: number
  /** An HTTP request to the new version. */
  http?: HttpAnalysisSpec | null
  /**
   * Time between measurements (`"30s"`).
   *
   * @default "30s"
   */
  interval?: string
  /** A verification Job run against the new version. */
  job?: JobAnalysisSpec | null
  /** The analysis' name (a DNS-1123 label), referred to by strategies. */
  name: string
  /** A PromQL query and its success condition. */
  prometheus?: PrometheusAnalysisSpec | null
}

/** An analysis step. */
export interface AnalysisStepSpec {
  /** The name of the analysis to run. */
  name: string
}

/** Bounds and target of the release's HorizontalPodAutoscaler (`autoscaling/v2`, CPU utilization). */
export interface AutoscalingSpec {
  /** Most pods (at least `minReplicas`, at most 1000). */
  maxReplicas: number
  /** Fewest pods (at least 1). */
  minReplicas: number
  /** Average CPU use the autoscaler aims at, in percent of the pods' CPU request (1 to 100). */
  targetCpuUtilization: number
}

/** A scheduled backup of one database to an S3-compatible bucket. */
export interface BackupPolicySpec {
  /** How to dump the database. */
  database: DatabaseSpec
  /** The policy's name (a DNS-1123 label); the CronJob is named `backup-<name>`. */
  name: string
  /** How many backups to keep in the bucket (1 to 1000). */
  retention: number
  /** When to run, in cron syntax (`"0 3 * * *"`). */
  schedule: string
  /** Where backups go. */
  target: S3TargetSpec
  /** The tenant volume holding the database; the backup's resources are sized from it. */
  volume: string
}

/** One business metric, e.g. `erp_orders_total` (a counter, shown as a rate). */
export interface BusinessMetricSpec {
  /**
   * A counter (shown as a per-second rate) or a gauge (shown as is).
   *
   * @default "counter"
   */
  kind?: MetricKindSpec
  /** The Prometheus metric name. */
  name: string
  /** The panel's title (default: the name). */
  title?: string | null
  /**
   * The Grafana unit of the panel (`short`, `percent`, `bytes`, `currencyEUR`, ...).
   *
   * @default "short"
   */
  unit?: string
}

/**
 * One canary step. In spec files: `- setWeight: 25`, `- pause: {duration: 5m}`, `- pause: {}`,
 * `- analysis: {name: error-rate}`.
 */
export interface CanaryStepSpec {
  /** Run an analysis. */
  analysis?: AnalysisStepSpec | null
  /** Wait. */
  pause?: PauseSpec | null
  /** Send this percentage of traffic to the canary. */
  setWeight?: number | null
}

/** A pair of CPU and memory amounts, as Kubernetes quantity strings (`"500m"`, `"2Gi"`). */
export interface ComputeResourcesSpec {
  /** CPU, e.g. `"2"` (cores) or `"500m"` (millicores). */
  cpu?: string | null
  /** Memory, e.g. `"512Mi"` or `"2Gi"`. */
  memory?: string | null
}

/** Configuration files of a release, compiled to a ConfigMap whose name carries their content hash. */
export interface ConfigFilesSpec {
  /** File name to content. */
  files: Record<string, string>
  /**
   * Where the files are mounted (an absolute path).
   *
   * @default "/config"
   */
  mountPath?: string
}

/** Defaults for containers that declare no resources, and the most one container may ask (a LimitRange). */
export interface ContainerDefaultsSpec {
  /** Limits given to a container that sets none. */
  default: ComputeResourcesSpec
  /** Requests given to a container that sets none. */
  defaultRequest: ComputeResourcesSpec
  /** The most a single container may set as its limits. */
  max?: ComputeResourcesSpec
}

/**
 * The database engine and how to reach it. In spec files: one map with an `engine`
 * (`postgres`, `mysql`, `custom`) and that engine's fields.
 */
export interface DatabaseSpec {
  /** Custom: the command. */
  command?: string[] | null
  /** Postgres, MySQL: the Secret with the credentials. */
  credentialsSecret?: string | null
  /** Postgres, MySQL: the database name. */
  database?: string | null
  /** The engine. */
  engine: EngineSpec
  /** Postgres, MySQL: the host. */
  host?: string | null
  /** Custom: the image. */
  image?: string | null
}

/** Database engines. */
export type EngineSpec =
  /** PostgreSQL. */
  | "postgres"
  /** MySQL or MariaDB. */
  | "mysql"
  /** A custom image and command. */
  | "custom"

/** An environment variable: a plain value, or a reference to a Secret key (never the secret itself). */
export interface EnvVarSpec {
  /** The variable's name. */
  name: string
  /** A key of a Secret in the tenant's namespace. */
  secret?: SecretKeyRefSpec | null
  /** A plain value. */
  value?: string | null
}

/** A Gateway API Gateway, usually shared by the provider's tenants and run in its own namespace. */
export interface GatewayRefSpec {
  /** The Gateway's name. */
  name: string
  /** The Gateway's namespace (its listeners must allow routes from the tenant's namespace). */
  namespace: string
  /** One listener of the Gateway (all of them when absent). */
  sectionName?: string | null
}

/** An HTTP GET on the new version and what it must answer. */
export interface HttpAnalysisSpec {
  /** Text the body must contain. */
  bodyContains?: string | null
  /**
   * The status the answer must have.
   *
   * @default 200
   */
  expectedStatus?: number
  /**
   * A path on the new version's Service (preview for blue/green, canary for a canary),
   * e.g. `"/healthz"`; reachable from inside the cluster only.
   */
  path?: string | null
  /**
   * How long the request may take (`"10s"`).
   *
   * @default "10s"
   */
  timeout?: string
  /** A full `http://` URL instead of `path` (variables are replaced). */
  url?: string | null
}

/** An HTTP GET probe. */
export interface HttpProbeSpec {
  /** The path, starting with '/'. */
  path: string
  /** The port number; the release's first port when absent. */
  port?: number | null
}

/** A verification Job: its pod gets `PREVIEW_URL`, the new version's Service. */
export interface JobAnalysisSpec {
  /** The command (and its arguments). */
  command: string[]
  /** More environment variables. */
  env?: EnvVarSpec[]
  /** The image. */
  image: string
  /**
   * The most the Job may run (`"10m"`); beyond it the Job fails.
   *
   * @default "10m"
   */
  timeout?: string
}

/** Whether a member is a user or a group. */
export type MemberKindSpec =
  /** A user. */
  | "user"
  /** A group of users. */
  | "group"

/** A person or group with a role in a tenant. */
export interface MemberSpec {
  /**
   * Whether `name` is a user or a group.
   *
   * @default "user"
   */
  kind?: MemberKindSpec
  /** The user or group name as the cluster's authentication knows it (e.g. an e-mail address). */
  name: string
  /** What the member may do. */
  role: RoleSpec
}

/** The type of a Prometheus metric. */
export type MetricKindSpec =
  /** Only goes up; shown as a per-second rate. */
  | "counter"
  /** Goes up and down; shown as is. */
  | "gauge"

/**
 * The metrics endpoint of a release and the business metrics it exposes; each metric gets a
 * panel on the tenant's dashboard.
 */
export interface MetricsSpec {
  /** The business metrics worth a dashboard panel. */
  business?: BusinessMetricSpec[]
  /**
   * How often Prometheus scrapes it (`"30s"`).
   *
   * @default "30s"
   */
  interval?: string
  /**
   * The path of the metrics endpoint.
   *
   * @default "/metrics"
   */
  path?: string
  /** The name of the release port serving the metrics (one of `ports`). */
  port: string
}

/** Network isolation of a tenant. */
export interface NetworkIsolationSpec {
  /**
   * The ingress controller's namespace, always allowed in.
   *
   * @default "ingress-nginx"
   */
  ingressNamespace?: string
  /**
   * Deny ingress from other namespaces (on by default).
   *
   * @default true
   */
  isolated?: boolean
  /**
   * The monitoring namespace, always allowed in (for scraping).
   *
   * @default "monitoring"
   */
  monitoringNamespace?: string
}

/** Counts of objects a tenant may create. */
export interface ObjectCountsSpec {
  /**
   * ConfigMaps (`configmaps`). Kubernetes puts a `kube-root-ca.crt` ConfigMap in every
   * namespace, and it counts: allow one more than the tenant's own.
   */
  configmaps?: number | null
  /** PersistentVolumeClaims (`persistentvolumeclaims`). */
  persistentvolumeclaims?: number | null
  /** Secrets (`secrets`). */
  secrets?: number | null
  /** Services (`services`). */
  services?: number | null
}

/** A pause step. */
export interface PauseSpec {
  /** How long to wait (`"5m"`); absent means until promoted. */
  duration?: string | null
}

/** Pod Security Standard levels. */
export type PodSecurityLevelSpec =
  /** The most restrictive standard (default). */
  | "restricted"
  /** Prevents known privilege escalations. */
  | "baseline"
  /** Unrestricted. */
  | "privileged"

/** A container port. */
export interface PortSpec {
  /** The port's name (an IANA service name: at most 15 lowercase letters, digits and '-'). */
  name: string
  /** The container port number; the Services expose the same number. */
  port: number
  /**
   * TCP (default) or UDP.
   *
   * @default "TCP"
   */
  protocol?: ProtocolSpec
}

/** A health probe: exactly one of `http`, `tcp` or `exec`. */
export interface ProbeSpec {
  /** A command run in the container. */
  exec?: string[] | null
  /** Consecutive failures before the probe counts as failed. */
  failureThreshold?: number | null
  /** An HTTP GET on a path. */
  http?: HttpProbeSpec | null
  /** Seconds before the first probe. */
  initialDelaySeconds?: number | null
  /** Seconds between probes. */
  periodSeconds?: number | null
  /** A TCP connection to a port. */
  tcp?: TcpProbeSpec | null
}

/** A Prometheus query and the condition its result must meet. */
export interface PrometheusAnalysisSpec {
  /** The Prometheus server, e.g. `"http://prometheus.monitoring:9090"` (plain HTTP). */
  address: string
  /** A PromQL instant query; `{{tenant}}`, `{{app}}`, `{{version}}` and `{{namespace}}` are replaced. */
  query: string
  /** Threshold comparisons every returned value must meet, joined by `&&`: `"result < 0.05"`. */
  successCondition: string
  /**
   * How long one query may take (`"10s"`).
   *
   * @default "10s"
   */
  timeout?: string
}

/** A transport protocol. */
export type ProtocolSpec =
  /** TCP. */
  | "TCP"
  /** UDP. */
  | "UDP"

/** The capacity a tenant may use (a ResourceQuota) and its container defaults (a LimitRange). */
export interface QuotaSpec {
  /** Container defaults; when absent, `ContainerDefaults::default` applies. */
  containerDefaults?: ContainerDefaultsSpec | null
  /** Total limits (`limits.cpu`, `limits.memory`). */
  limits?: ComputeResourcesSpec
  /**
   * Object counts.
   *
   * @default {}
   */
  objects?: ObjectCountsSpec
  /** Number of pods (`pods`). */
  pods?: number | null
  /**
   * Total requests (`requests.cpu`, `requests.memory`, `requests.storage`).
   *
   * @default {}
   */
  requests?: RequestQuotaSpec
}

/** The specification of a release, as written in a spec file. Build a `Release` from it to validate it. */
export interface ReleaseSpec {
  /** Analyses that gate the rollout, referred to by name from the strategy. */
  analyses?: AnalysisSpec[]
  /** The application's name (a DNS-1035 label of at most 32 characters); the stable Service carries it. */
  app: string
  /**
   * A HorizontalPodAutoscaler on the serving version: it owns the replica count once the version
   * exists (`replicas` is then only the first release's starting count), and a new version starts
   * at the count of the version it replaces.
   */
  autoscaling?: AutoscalingSpec | null
  /** Configuration files, mounted read-only and versioned by their content. */
  config?: ConfigFilesSpec | null
  /** Environment variables. */
  env?: EnvVarSpec[]
  /** Host names served (each must be one of the tenant's domains). */
  hosts?: string[]
  /** The container image, e.g. `"nginxinc/nginx-unprivileged:1.27"`. */
  image: string
  /** Liveness probe. */
  liveness?: ProbeSpec | null
  /** The application's metrics endpoint and business metrics (scraped, and shown on the tenant's dashboard). */
  metrics?: MetricsSpec | null
  /** Container ports; the first one is the one hosts route to. */
  ports?: PortSpec[]
  /** Readiness probe. */
  readiness?: ProbeSpec | null
  /**
   * How many pods.
   *
   * @default 1
   */
  replicas?: number
  /** Requests and limits per pod; when absent the tenant's container defaults apply. */
  resources?: ResourcesSpec | null
  /**
   * How this version replaces the previous one.
   *
   * @default {"maxSurge":"25%","maxUnavailable":"0","type":"rolling"}
   */
  strategy?: StrategySpec
  /** The tenant this release belongs to. */
  tenant: string
  /** The version (`"blue"`, `"1.4.2"`): the `app.kubernetes.io/version` label and part of object names. */
  version: string
}

/** Requests a tenant may make in total: CPU, memory and persistent storage. */
export interface RequestQuotaSpec {
  /** Total CPU requests (`requests.cpu`). */
  cpu?: string | null
  /** Total memory requests (`requests.memory`). */
  memory?: string | null
  /** Total storage requested by persistent volume claims (`requests.storage`). */
  storage?: string | null
}

/** Requests and limits of the release's container. */
export interface ResourcesSpec {
  /** The most the container may use. */
  limits?: ComputeResourcesSpec
  /** What the scheduler reserves. */
  requests?: ComputeResourcesSpec
}

/** What a member may do in the tenant's namespace. */
export type RoleSpec =
  /** Everything in the namespace except quota, limits, RBAC and network policies. */
  | "admin"
  /** Deploy applications and read logs; no RBAC, quota or secrets changes beyond their apps. */
  | "developer"
  /** Read only, without secrets. */
  | "viewer"

/** An S3-compatible bucket (MinIO, S3). */
export interface S3TargetSpec {
  /** The bucket name. */
  bucket: string
  /** The name of the Secret holding `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`. Keys never appear in specs. */
  credentialsSecret: string
  /** The endpoint URL, e.g. `https://minio.backup.svc:9000`. */
  endpoint: string
  /** A key prefix inside the bucket. */
  prefix?: string | null
}

/** A key of a Secret. */
export interface SecretKeyRefSpec {
  /** The key. */
  key: string
  /** The Secret's name. */
  name: string
}

/**
 * How a release replaces the previous version of its application.
 *
 * In spec files it is one map with a `type` (`rolling`, `blueGreen`, `canary`) and that type's fields.
 */
export interface StrategySpec {
  /** Blue/green: switch as soon as the new version is ready. */
  autoPromote?: boolean | null
  /** Blue/green: previous versions kept for rollback. */
  keepPrevious?: number | null
  /** Rolling: pods above the desired count during the update. */
  maxSurge?: string | null
  /** Rolling: pods that may be unavailable during the update. */
  maxUnavailable?: string | null
  /** Blue/green: analyses (by name) run after the switch; a failure switches traffic back. */
  postPromotionAnalysis?: string[] | null
  /** Blue/green: analyses (by name) that must pass before traffic switches. */
  prePromotionAnalysis?: string[] | null
  /** Blue/green: the preview host name. */
  previewHost?: string | null
  /** Blue/green: how long the old version stays warm. */
  scaleDownDelay?: string | null
  /** Canary: the steps. */
  steps?: CanaryStepSpec[] | null
  /** Canary: how traffic is split. */
  traffic?: TrafficRoutingSpec | null
  /** `rolling`, `blueGreen` or `canary`. */
  type: StrategyTypeSpec
}

/** The kinds of strategy. */
export type StrategyTypeSpec =
  /** `Strategy::Rolling`. */
  | "rolling"
  /** `Strategy::BlueGreen`. */
  | "blueGreen"
  /** `Strategy::Canary`. */
  | "canary"

/** A TCP probe. */
export interface TcpProbeSpec {
  /** The port number; the release's first port when absent. */
  port?: number | null
}

/** The specification of a tenant, as written in a spec file. Build a `Tenant` from it to validate it. */
export interface TenantSpec {
  /**
   * Whether domains may be wildcards (`*.example.com`).
   *
   * @default false
   */
  allowWildcardDomains?: boolean
  /** Database backups. */
  backups?: BackupPolicySpec[]
  /**
   * The cert-manager ClusterIssuer that signs the certificates of the tenant's hosts.
   *
   * @default "letsencrypt"
   */
  certIssuer?: string
  /** A human-readable name (the customer's name). */
  displayName?: string | null
  /** Custom domains the tenant's releases may serve. */
  domains?: string[]
  /**
   * The Gateway API Gateway the tenant's hosts attach to. When set, the hosts of its releases
   * compile to HTTPRoutes (parented to this Gateway) instead of Ingresses, and canaries may split
   * traffic by HTTPRoute backend weights (`traffic: gatewayApi`). TLS is then the Gateway's
   * listeners' business (`certIssuer` is not used).
   */
  gateway?: GatewayRefSpec | null
  /** Labels put on the tenant's namespace (used by fleet selection). */
  labels?: Record<string, string>
  /** The people and groups who act in the tenant's namespace. */
  members?: MemberSpec[]
  /** The tenant's name: a DNS-1123 label of at most 30 characters. It names the tenant's namespace. */
  name: string
  /**
   * Network isolation from other tenants.
   *
   * @default {"ingressNamespace":"ingress-nginx","isolated":true,"monitoringNamespace":"monitoring"}
   */
  network?: NetworkIsolationSpec
  /**
   * The Pod Security Standard enforced in the tenant's namespace.
   *
   * @default "restricted"
   */
  podSecurity?: PodSecurityLevelSpec
  /**
   * Whether deleting the tenant needs an explicit confirmation.
   *
   * @default true
   */
  protected?: boolean
  /**
   * The capacity the tenant may use and its container defaults.
   *
   * @default {"objects":{},"requests":{}}
   */
  quota?: QuotaSpec
  /** Persistent volumes. */
  storage?: VolumeSpec[]
}

/** How canary traffic is split. */
export type TrafficRoutingSpec =
  /** By the ratio of ready replicas under one Service (weights are approximate with few replicas). */
  | "replicaRatio"
  /** By ingress-nginx canary annotations. */
  | "ingressNginx"
  /** By Gateway API HTTPRoute backend weights. */
  | "gatewayApi"

/** A persistent volume of the tenant. */
export interface VolumeSpec {
  /** The volume's name (a DNS-1123 label); the claim is named after it. */
  name: string
  /** The size, e.g. `"20Gi"`. */
  size: string
  /** The storage class (a replicated class such as OpenEBS or Rook/Ceph). */
  storageClass: string
}
