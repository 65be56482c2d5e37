//! Compiles a release: versioned ConfigMap and Deployment, stable and preview Services, Ingress or HTTPRoute, PDB, HPA.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment};
use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, MetricSpec, MetricTarget, ResourceMetricSource,
};
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMap, ConfigMapVolumeSource, Container, ContainerPort, EnvVar as K8sEnvVar, EnvVarSource, ExecAction, HTTPGetAction, PodSecurityContext,
    PodSpec, PodTemplateSpec, Probe as K8sProbe, ResourceRequirements, SeccompProfile, SecretKeySelector, SecurityContext, Service, ServicePort, ServiceSpec,
    TCPSocketAction, Volume, VolumeMount,
};
use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule, IngressServiceBackend, IngressSpec, IngressTLS, ServiceBackendPort,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use sha2::{Digest, Sha256};

use super::tenant::{meta, WORKLOAD_SERVICE_ACCOUNT};
use super::{Compiled, Note, Object};
use crate::error::{Problems, ValidationErrors};
use crate::labels;
use crate::model::release::{Autoscaling, Probe, Protocol, Release, ReleaseSpec};
use crate::model::strategy::{CountOrPercent, Strategy, TrafficRouting};
use crate::model::tenant::{PodSecurityLevel, Tenant};

/// The role of a Service of an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceRole {
    /// The Service users reach: `<app>`.
    Stable,
    /// The blue/green preview Service: `<app>-preview`.
    Preview,
    /// The canary Service: `<app>-canary`.
    Canary,
}

impl ServiceRole {
    /// The role's name, as in the `moorage.dev/service-role` annotation.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceRole::Stable => "stable",
            ServiceRole::Preview => "preview",
            ServiceRole::Canary => "canary",
        }
    }

    /// The name of this Service for application `app`.
    pub fn service_name(self, app: &str) -> String {
        match self {
            ServiceRole::Stable => app.to_string(),
            ServiceRole::Preview => format!("{app}-preview"),
            ServiceRole::Canary => format!("{app}-canary"),
        }
    }
}

/// Compiles one release of `tenant`. Cross-checks the release against the tenant (same tenant, hosts among
/// its domains, resources within its container maximum) and returns every problem at once.
pub fn compile_release(tenant: &Tenant, release: &Release) -> Result<Compiled, ValidationErrors> {
    let spec = release.spec();
    check_against_tenant(tenant, spec)?;
    let ns = tenant.namespace();
    let mut notes = Vec::new();
    let mut objects: Vec<Object> = Vec::new();

    let config = spec.config.as_ref().map(|c| {
        let hash = config_hash(&c.files);
        let name = format!("{}-{}", release.deployment_name(), hash);
        objects.push(
            ConfigMap {
                metadata: meta(&name, ns, labels::version_labels(ns, &spec.app, &spec.version)),
                data: Some(c.files.clone()),
                immutable: Some(true),
                ..Default::default()
            }
            .into(),
        );
        (name, hash, c.mount_path.clone())
    });

    let resources = match &spec.resources {
        Some(r) if !r.limits.is_empty() => r.clone(),
        given => {
            let d = tenant.spec().quota.effective_container_defaults();
            notes.push(Note {
                path: "release.resources.limits".into(),
                message: format!(
                    "not set; the tenant's container defaults apply (limits {} CPU / {})",
                    d.default.cpu.as_deref().unwrap_or("none"),
                    d.default.memory.as_deref().unwrap_or("none")
                ),
            });
            let requests = given.as_ref().map(|r| r.requests.clone()).filter(|r| !r.is_empty()).unwrap_or(d.default_request);
            crate::model::release::Resources { requests, limits: d.default }
        }
    };
    if !crate::checks::image_has_pinned_version(&spec.image) {
        notes.push(Note {
            path: "release.image".into(),
            message: format!("{:?} has no version tag or digest; a rollback cannot restore an earlier image", spec.image),
        });
    }

    let selector = release.pod_selector();
    let version_labels = labels::version_labels(ns, &spec.app, &spec.version);
    let mut template_annotations = BTreeMap::new();
    // Scrape annotations: what a Prometheus without the operator discovers pods by (the operator
    // ignores them; it gets a ServiceMonitor from `compile_monitoring`).
    if let Some(m) = &spec.metrics {
        if let Some(port) = spec.ports.iter().find(|p| p.name == m.port) {
            template_annotations.insert("prometheus.io/scrape".to_string(), "true".to_string());
            template_annotations.insert("prometheus.io/port".to_string(), port.port.to_string());
            template_annotations.insert("prometheus.io/path".to_string(), m.path.clone());
        }
    }
    let mut volumes = Vec::new();
    let mut mounts = Vec::new();
    if let Some((name, hash, mount_path)) = &config {
        template_annotations.insert(labels::CONFIG_HASH.to_string(), hash.clone());
        volumes.push(Volume {
            name: "config".into(),
            config_map: Some(ConfigMapVolumeSource { name: name.clone(), ..Default::default() }),
            ..Default::default()
        });
        mounts.push(VolumeMount { name: "config".into(), mount_path: mount_path.clone(), read_only: Some(true), ..Default::default() });
    }
    let restricted = tenant.spec().pod_security == PodSecurityLevel::Restricted;
    let container = Container {
        name: spec.app.clone(),
        image: Some(spec.image.clone()),
        ports: non_empty(
            spec.ports
                .iter()
                .map(|p| ContainerPort {
                    name: Some(p.name.clone()),
                    container_port: i32::from(p.port),
                    protocol: Some(protocol(p.protocol)),
                    ..Default::default()
                })
                .collect(),
        ),
        env: non_empty(spec.env.iter().map(compile_env).collect()),
        resources: Some(ResourceRequirements {
            requests: non_empty_map(resources.requests.to_resource_list("")),
            limits: non_empty_map(resources.limits.to_resource_list("")),
            ..Default::default()
        }),
        liveness_probe: spec.liveness.as_ref().map(|p| compile_probe(p, spec)),
        readiness_probe: spec.readiness.as_ref().map(|p| compile_probe(p, spec)),
        volume_mounts: non_empty(mounts),
        security_context: restricted.then(restricted_container_security),
        ..Default::default()
    };
    let strategy = match &spec.strategy {
        Strategy::Rolling(r) => DeploymentStrategy {
            type_: Some("RollingUpdate".into()),
            rolling_update: Some(RollingUpdateDeployment {
                max_surge: Some(int_or_percent(&r.max_surge)),
                max_unavailable: Some(int_or_percent(&r.max_unavailable)),
            }),
        },
        // Blue/green and canary run each version in its own Deployment; within one, scaling never drops below the desired count.
        Strategy::BlueGreen(_) | Strategy::Canary(_) => DeploymentStrategy {
            type_: Some("RollingUpdate".into()),
            rolling_update: Some(RollingUpdateDeployment { max_surge: Some(IntOrString::String("25%".into())), max_unavailable: Some(IntOrString::Int(0)) }),
        },
    };
    objects.push(
        Deployment {
            metadata: meta(&release.deployment_name(), ns, version_labels.clone()),
            spec: Some(DeploymentSpec {
                replicas: Some(i32::try_from(spec.replicas).unwrap_or(i32::MAX)),
                selector: LabelSelector { match_labels: Some(selector.clone()), match_expressions: None },
                strategy: Some(strategy),
                revision_history_limit: Some(3),
                progress_deadline_seconds: Some(600),
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta { labels: Some(version_labels.clone()), annotations: non_empty_map(template_annotations), ..Default::default() }),
                    spec: Some(PodSpec {
                        service_account_name: Some(WORKLOAD_SERVICE_ACCOUNT.into()),
                        automount_service_account_token: Some(false),
                        security_context: restricted.then(restricted_pod_security),
                        containers: vec![container],
                        volumes: non_empty(volumes),
                        ..Default::default()
                    }),
                },
                ..Default::default()
            }),
            status: None,
        }
        .into(),
    );

    if !spec.ports.is_empty() {
        objects.push(compile_service(release, ServiceRole::Stable).into());
        match &spec.strategy {
            Strategy::BlueGreen(_) => objects.push(compile_service(release, ServiceRole::Preview).into()),
            Strategy::Canary(_) => objects.push(compile_service(release, ServiceRole::Canary).into()),
            Strategy::Rolling(_) => {}
        }
    }
    if !spec.hosts.is_empty() {
        objects.push(compile_host_route(tenant, spec, &ServiceRole::Stable.service_name(&spec.app), &spec.app, &spec.hosts));
    }
    if let Strategy::BlueGreen(b) = &spec.strategy {
        if let Some(host) = &b.preview_host {
            let name = ServiceRole::Preview.service_name(&spec.app);
            objects.push(compile_host_route(tenant, spec, &name, &name, std::slice::from_ref(host)));
        }
    }
    if spec.replicas > 1 {
        objects.push(
            PodDisruptionBudget {
                metadata: meta(&release.deployment_name(), ns, version_labels),
                spec: Some(PodDisruptionBudgetSpec {
                    max_unavailable: Some(IntOrString::Int(1)),
                    selector: Some(LabelSelector { match_labels: Some(selector), match_expressions: None }),
                    ..Default::default()
                }),
                status: None,
            }
            .into(),
        );
    }
    if let Some(a) = &spec.autoscaling {
        objects.push(compile_autoscaler(release, a).into());
    }
    super::sort_for_apply(&mut objects);
    Ok(Compiled { objects, notes })
}

/// The application's HorizontalPodAutoscaler `<app>`, targeting this version's Deployment. Like the
/// stable Service it follows the serving version: the release engine moves it at the switch.
pub fn compile_autoscaler(release: &Release, autoscaling: &Autoscaling) -> HorizontalPodAutoscaler {
    let spec = release.spec();
    let ns = spec.tenant.as_str();
    let mut m = meta(&spec.app, ns, labels::app_labels(ns, &spec.app));
    m.annotations = Some(BTreeMap::from([(labels::ACTIVE_VERSION.to_string(), spec.version.clone())]));
    let count = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
    HorizontalPodAutoscaler {
        metadata: m,
        spec: HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference { api_version: Some("apps/v1".into()), kind: "Deployment".into(), name: release.deployment_name() },
            min_replicas: Some(count(autoscaling.min_replicas)),
            max_replicas: count(autoscaling.max_replicas),
            metrics: Some(vec![MetricSpec {
                type_: "Resource".into(),
                resource: Some(ResourceMetricSource {
                    name: "cpu".into(),
                    target: MetricTarget {
                        type_: "Utilization".into(),
                        average_utilization: Some(count(autoscaling.target_cpu_utilization)),
                        ..Default::default()
                    },
                }),
                ..Default::default()
            }]),
            behavior: None,
        },
        status: None,
    }
}

/// A Service of the release's application selecting this release's pods ([`Release::pod_selector`]).
pub fn compile_service(release: &Release, role: ServiceRole) -> Service {
    let spec = release.spec();
    let ns = spec.tenant.as_str();
    let mut m = meta(&role.service_name(&spec.app), ns, labels::app_labels(ns, &spec.app));
    m.annotations =
        Some(BTreeMap::from([(labels::ACTIVE_VERSION.to_string(), spec.version.clone()), (labels::SERVICE_ROLE.to_string(), role.as_str().to_string())]));
    Service {
        metadata: m,
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(release.pod_selector()),
            ports: Some(
                spec.ports
                    .iter()
                    .map(|p| ServicePort {
                        name: Some(p.name.clone()),
                        port: i32::from(p.port),
                        target_port: Some(IntOrString::String(p.name.clone())),
                        protocol: Some(protocol(p.protocol)),
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        }),
        status: None,
    }
}

/// The route of `hosts` to the Service `service`: an HTTPRoute parented to the tenant's Gateway when
/// it names one (`tenant.gateway`), else an Ingress with cert-manager TLS. `hosts` is never empty.
fn compile_host_route(tenant: &Tenant, spec: &ReleaseSpec, service: &str, name: &str, hosts: &[String]) -> Object {
    match super::gateway::compile_route(tenant, spec, service, name, hosts) {
        Some(route) => route.into(),
        None => compile_ingress(tenant, spec, service, name, hosts).into(),
    }
}

fn compile_ingress(tenant: &Tenant, spec: &ReleaseSpec, service: &str, name: &str, hosts: &[String]) -> Ingress {
    let ns = tenant.namespace();
    let mut m = meta(name, ns, labels::app_labels(ns, &spec.app));
    m.annotations = Some(BTreeMap::from([("cert-manager.io/cluster-issuer".to_string(), tenant.spec().cert_issuer.clone())]));
    let port = spec.ports.first().map(|p| i32::from(p.port)).unwrap_or(80);
    Ingress {
        metadata: m,
        spec: Some(IngressSpec {
            tls: Some(vec![IngressTLS { hosts: Some(hosts.to_vec()), secret_name: Some(format!("{name}-tls")) }]),
            rules: Some(
                hosts
                    .iter()
                    .map(|h| IngressRule {
                        host: Some(h.clone()),
                        http: Some(HTTPIngressRuleValue {
                            paths: vec![HTTPIngressPath {
                                path: Some("/".into()),
                                path_type: "Prefix".into(),
                                backend: IngressBackend {
                                    service: Some(IngressServiceBackend {
                                        name: service.into(),
                                        port: Some(ServiceBackendPort { number: Some(port), name: None }),
                                    }),
                                    resource: None,
                                },
                            }],
                        }),
                    })
                    .collect(),
            ),
            ..Default::default()
        }),
        status: None,
    }
}

fn check_against_tenant(tenant: &Tenant, spec: &ReleaseSpec) -> Result<(), ValidationErrors> {
    let mut p = Problems::default();
    if spec.tenant != tenant.name() {
        p.add("release.tenant", format!("{:?} is not the tenant being compiled ({:?})", spec.tenant, tenant.name()));
    }
    let t = tenant.spec();
    let mut hosts: Vec<(String, &String)> = spec.hosts.iter().enumerate().map(|(i, h)| (format!("release.hosts[{i}]"), h)).collect();
    if let Strategy::BlueGreen(b) = &spec.strategy {
        if let Some(h) = &b.preview_host {
            hosts.push(("release.strategy.previewHost".into(), h));
        }
    }
    for (path, host) in hosts {
        if !t.covers_host(host) {
            let known = if t.domains.is_empty() { "the tenant has no domains".to_string() } else { format!("its domains are {}", t.domains.join(", ")) };
            p.add(path, format!("{host:?} is not one of tenant {:?}'s domains ({known}); add it to tenant.domains first", t.name));
        }
    }
    if let Strategy::Canary(c) = &spec.strategy {
        match (c.traffic, &t.gateway) {
            (TrafficRouting::GatewayApi, None) => p.add(
                "release.strategy.traffic",
                format!("gatewayApi splits traffic by HTTPRoute weights, and tenant {:?} names no Gateway; set tenant.gateway, or use replicaRatio", t.name),
            ),
            (TrafficRouting::GatewayApi, Some(_)) if spec.hosts.is_empty() => p.add(
                "release.strategy.traffic",
                "gatewayApi splits traffic on the HTTPRoute of the release's hosts, and the release has none; add hosts, or use replicaRatio",
            ),
            (TrafficRouting::IngressNginx, Some(g)) => p.add(
                "release.strategy.traffic",
                format!(
                    "ingressNginx splits traffic on Ingresses, and tenant {:?} routes its hosts through Gateway {}/{}; use gatewayApi",
                    t.name, g.namespace, g.name
                ),
            ),
            _ => {}
        }
    }
    if let Some(r) = &spec.resources {
        let max = t.quota.effective_container_defaults().max;
        let mut scratch = Problems::default();
        let limits = r.limits.validate(&mut scratch, "");
        let maxes = max.validate(&mut scratch, "");
        crate::model::quota::check_not_above(&mut p, "release.resources.limits.cpu", &limits.cpu, "the tenant's container max.cpu", &maxes.cpu);
        crate::model::quota::check_not_above(&mut p, "release.resources.limits.memory", &limits.memory, "the tenant's container max.memory", &maxes.memory);
    }
    p.finish(())
}

/// The first 10 hex digits of the SHA-256 of the config files (names and contents, length-prefixed).
pub fn config_hash(files: &BTreeMap<String, String>) -> String {
    let mut h = Sha256::new();
    for (name, content) in files {
        h.update((name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        h.update((content.len() as u64).to_le_bytes());
        h.update(content.as_bytes());
    }
    let digest = h.finalize();
    digest.iter().take(5).map(|b| format!("{b:02x}")).collect()
}

fn compile_env(e: &crate::model::release::EnvVar) -> K8sEnvVar {
    K8sEnvVar {
        name: e.name.clone(),
        value: e.value.clone(),
        value_from: e.secret.as_ref().map(|s| EnvVarSource {
            secret_key_ref: Some(SecretKeySelector { name: s.name.clone(), key: s.key.clone(), optional: Some(false) }),
            ..Default::default()
        }),
    }
}

fn compile_probe(p: &Probe, spec: &ReleaseSpec) -> K8sProbe {
    let default_port = spec.ports.first().map(|p| i32::from(p.port)).unwrap_or(80);
    K8sProbe {
        http_get: p.http.as_ref().map(|h| HTTPGetAction {
            path: Some(h.path.clone()),
            port: IntOrString::Int(h.port.map(i32::from).unwrap_or(default_port)),
            ..Default::default()
        }),
        tcp_socket: p.tcp.as_ref().map(|t| TCPSocketAction { port: IntOrString::Int(t.port.map(i32::from).unwrap_or(default_port)), host: None }),
        exec: p.exec.as_ref().map(|c| ExecAction { command: Some(c.clone()) }),
        initial_delay_seconds: p.initial_delay_seconds.map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
        period_seconds: p.period_seconds.map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
        failure_threshold: p.failure_threshold.map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
        ..Default::default()
    }
}

/// The container security context the `restricted` Pod Security Standard requires.
pub(crate) fn restricted_container_security() -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        capabilities: Some(Capabilities { drop: Some(vec!["ALL".into()]), add: None }),
        run_as_non_root: Some(true),
        seccomp_profile: Some(SeccompProfile { type_: "RuntimeDefault".into(), localhost_profile: None }),
        ..Default::default()
    }
}

/// The pod security context the `restricted` Pod Security Standard requires.
pub(crate) fn restricted_pod_security() -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        seccomp_profile: Some(SeccompProfile { type_: "RuntimeDefault".into(), localhost_profile: None }),
        ..Default::default()
    }
}

fn int_or_percent(value: &str) -> IntOrString {
    match CountOrPercent::parse(value) {
        Ok(CountOrPercent::Count(n)) => IntOrString::Int(i32::try_from(n).unwrap_or(i32::MAX)),
        _ => IntOrString::String(value.to_string()),
    }
}

fn protocol(p: Protocol) -> String {
    match p {
        Protocol::Tcp => "TCP".into(),
        Protocol::Udp => "UDP".into(),
    }
}

fn non_empty<T>(v: Vec<T>) -> Option<Vec<T>> {
    if v.is_empty() {
        None
    } else {
        Some(v)
    }
}

fn non_empty_map<K, V>(m: BTreeMap<K, V>) -> Option<BTreeMap<K, V>> {
    if m.is_empty() {
        None
    } else {
        Some(m)
    }
}
