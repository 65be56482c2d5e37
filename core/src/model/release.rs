//! Release: one version of one application of a tenant (image, replicas, resources, config, probes, hosts).

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::checks;
use crate::error::{Problems, ValidationErrors};
use crate::model::analysis::Analysis;
use crate::model::container::default_mount_path;
pub use crate::model::container::{ConfigFiles, EnvVar, HttpProbe, Port, Probe, Protocol, Resources, SecretKeyRef, TcpProbe};
use crate::model::metrics::Metrics;
use crate::model::quota::{check_not_above, ComputeResources};
use crate::model::strategy::Strategy;
use crate::model::tenant::MAX_TENANT_NAME;

/// Longest application name: `<tenant>-<app>` must fit a 63-character label value.
pub const MAX_APP_NAME: usize = 63 - 1 - MAX_TENANT_NAME;
/// Longest version: it is part of Deployment and ConfigMap names.
pub const MAX_VERSION: usize = 20;
/// Most replicas a release may ask for.
pub const MAX_REPLICAS: u32 = 1000;
/// Largest total size of a release's config files (a ConfigMap holds at most 1 MiB).
pub const MAX_CONFIG_BYTES: usize = 1024 * 1024 - 4096;

/// The specification of a release, as written in a spec file. Build a [`Release`] from it to validate it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReleaseSpec {
    /// The tenant this release belongs to.
    pub tenant: String,
    /// The application's name (a DNS-1035 label of at most 32 characters); the stable Service carries it.
    pub app: String,
    /// The version (`"blue"`, `"1.4.2"`): the `app.kubernetes.io/version` label and part of object names.
    pub version: String,
    /// The container image, e.g. `"nginxinc/nginx-unprivileged:1.27"`.
    pub image: String,
    /// How many pods.
    #[serde(default = "default_replicas")]
    pub replicas: u32,
    /// Container ports; the first one is the one hosts route to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<Port>,
    /// Requests and limits per pod; when absent the tenant's container defaults apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    /// Environment variables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    /// Configuration files, mounted read-only and versioned by their content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ConfigFiles>,
    /// Liveness probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness: Option<Probe>,
    /// Readiness probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness: Option<Probe>,
    /// Host names served (each must be one of the tenant's domains).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    /// How this version replaces the previous one.
    #[serde(default)]
    pub strategy: Strategy,
    /// Analyses that gate the rollout, referred to by name from the strategy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub analyses: Vec<Analysis>,
    /// The application's metrics endpoint and business metrics (scraped, and shown on the tenant's dashboard).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Metrics>,
    /// A HorizontalPodAutoscaler on the serving version: it owns the replica count once the version
    /// exists (`replicas` is then only the first release's starting count), and a new version starts
    /// at the count of the version it replaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<Autoscaling>,
}

/// Bounds and target of the release's HorizontalPodAutoscaler (`autoscaling/v2`, CPU utilization).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Autoscaling {
    /// Fewest pods (at least 1).
    pub min_replicas: u32,
    /// Most pods (at least `minReplicas`, at most 1000).
    pub max_replicas: u32,
    /// Average CPU use the autoscaler aims at, in percent of the pods' CPU request (1 to 100).
    pub target_cpu_utilization: u32,
}

impl Autoscaling {
    /// Autoscaling between `min` and `max` pods aiming at `target_cpu_percent` of the CPU request.
    pub fn new(min: u32, max: u32, target_cpu_percent: u32) -> Self {
        Autoscaling { min_replicas: min, max_replicas: max, target_cpu_utilization: target_cpu_percent }
    }

    /// `replicas` brought within `[minReplicas, maxReplicas]`.
    pub fn clamp(&self, replicas: u32) -> u32 {
        replicas.max(self.min_replicas).min(self.max_replicas.max(self.min_replicas))
    }

    /// Checks the bounds; `release` is the release's path (the CPU request lives outside autoscaling).
    fn validate(&self, p: &mut Problems, release: &str, resources: Option<&Resources>) {
        let path = format!("{release}.autoscaling");
        if self.min_replicas < 1 {
            p.add(format!("{path}.minReplicas"), "must be at least 1 (an autoscaler never scales to zero); remove autoscaling to set replicas by hand");
        }
        if self.max_replicas < self.min_replicas {
            p.add(
                format!("{path}.maxReplicas"),
                format!("{} is less than minReplicas ({}); raise it to at least {}", self.max_replicas, self.min_replicas, self.min_replicas),
            );
        } else if self.max_replicas > MAX_REPLICAS {
            p.add(format!("{path}.maxReplicas"), format!("{} is more than {MAX_REPLICAS}", self.max_replicas));
        }
        if !(1..=100).contains(&self.target_cpu_utilization) {
            p.add(
                format!("{path}.targetCpuUtilization"),
                format!("{} is not a percentage of the CPU request from 1 to 100 (70 is usual)", self.target_cpu_utilization),
            );
        }
        if resources.is_none_or(|r| r.requests.cpu.is_none()) {
            p.add(
                format!("{release}.resources.requests.cpu"),
                "is required with autoscaling: the autoscaler measures CPU use as a percentage of it; set it, e.g. \"100m\"",
            );
        }
    }
}

fn default_replicas() -> u32 {
    1
}

/// A validated release. The only way to get one is through [`Release::builder`] or [`Release::from_spec`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Release {
    spec: ReleaseSpec,
}

impl Release {
    /// Starts building version `version` of application `app` of tenant `tenant`.
    pub fn builder(tenant: impl Into<String>, app: impl Into<String>, version: impl Into<String>) -> ReleaseBuilder {
        ReleaseBuilder {
            spec: ReleaseSpec {
                tenant: tenant.into(),
                app: app.into(),
                version: version.into(),
                image: String::new(),
                replicas: 1,
                ports: Vec::new(),
                resources: None,
                env: Vec::new(),
                config: None,
                liveness: None,
                readiness: None,
                hosts: Vec::new(),
                strategy: Strategy::default(),
                analyses: Vec::new(),
                metrics: None,
                autoscaling: None,
            },
        }
    }

    /// Validates a spec and returns the release, or every problem found.
    pub fn from_spec(spec: ReleaseSpec) -> Result<Self, ValidationErrors> {
        let mut p = Problems::default();
        spec.validate(&mut p, "release");
        p.finish(Release { spec })
    }

    /// The validated spec.
    pub fn spec(&self) -> &ReleaseSpec {
        &self.spec
    }

    /// Turns the release back into its spec.
    pub fn into_spec(self) -> ReleaseSpec {
        self.spec
    }

    /// The tenant's name.
    pub fn tenant(&self) -> &str {
        &self.spec.tenant
    }

    /// The application's name.
    pub fn app(&self) -> &str {
        &self.spec.app
    }

    /// The version.
    pub fn version(&self) -> &str {
        &self.spec.version
    }

    /// The analysis named `name`, if the release declares it.
    pub fn analysis(&self, name: &str) -> Option<&Analysis> {
        self.spec.analyses.iter().find(|a| a.name == name)
    }

    /// The name of this version's Deployment: `<app>-<version>` for blue/green and canary, where
    /// versions run side by side; `<app>` for a rolling update, where one Deployment rolls its pods.
    pub fn deployment_name(&self) -> String {
        match self.spec.strategy {
            Strategy::Rolling(_) => self.spec.app.clone(),
            _ => format!("{}-{}", self.spec.app, self.spec.version),
        }
    }

    /// The labels that select this release's pods: name, instance and version for blue/green and
    /// canary (so versions never mix behind a Service); name and instance for a rolling update,
    /// whose single Deployment replaces its pods gradually.
    pub fn pod_selector(&self) -> BTreeMap<String, String> {
        let s = &self.spec;
        match s.strategy {
            Strategy::Rolling(_) => {
                let mut m = crate::labels::version_selector(&s.tenant, &s.app, &s.version);
                m.remove(crate::labels::VERSION);
                m
            }
            _ => crate::labels::version_selector(&s.tenant, &s.app, &s.version),
        }
    }

    /// [`Self::pod_selector`] as a label selector (`key=value,...`).
    pub(crate) fn pod_label_selector(&self) -> String {
        self.pod_selector().iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
    }
}

impl ReleaseSpec {
    fn validate(&self, p: &mut Problems, path: &str) {
        p.check(|| format!("{path}.tenant"), checks::check_dns1123_label_max(&self.tenant, MAX_TENANT_NAME));
        if p.check(|| format!("{path}.app"), checks::check_dns1123_label_max(&self.app, MAX_APP_NAME))
            && !self.app.starts_with(|c: char| c.is_ascii_lowercase())
        {
            p.add(format!("{path}.app"), format!("{:?} must start with a letter: it names Services, which Kubernetes requires to", self.app));
        }
        p.check(|| format!("{path}.version"), check_version(&self.version));
        if self.image.is_empty() {
            p.add(format!("{path}.image"), "is required, e.g. \"nginxinc/nginx-unprivileged:1.27\"");
        } else {
            p.check(|| format!("{path}.image"), checks::check_image_reference(&self.image));
        }
        if self.replicas > MAX_REPLICAS {
            p.add(format!("{path}.replicas"), format!("{} is more than {MAX_REPLICAS}; use a HorizontalPodAutoscaler for large fleets of pods", self.replicas));
        }
        let mut names = BTreeSet::new();
        let mut numbers = BTreeSet::new();
        for (i, port) in self.ports.iter().enumerate() {
            let ppath = format!("{path}.ports[{i}]");
            p.check(|| format!("{ppath}.name"), check_port_name(&port.name));
            if !names.insert(port.name.as_str()) {
                p.add(format!("{ppath}.name"), format!("{:?} is used by two ports", port.name));
            }
            if port.port == 0 {
                p.add(format!("{ppath}.port"), "0 is not a port; use 1 to 65535");
            } else if !numbers.insert((port.port, port.protocol)) {
                p.add(format!("{ppath}.port"), format!("{} is declared twice", port.port));
            }
        }
        if let Some(r) = &self.resources {
            let requests = r.requests.validate(p, &format!("{path}.resources.requests"));
            let limits = r.limits.validate(p, &format!("{path}.resources.limits"));
            check_not_above(p, &format!("{path}.resources.requests.cpu"), &requests.cpu, "limits.cpu", &limits.cpu);
            check_not_above(p, &format!("{path}.resources.requests.memory"), &requests.memory, "limits.memory", &limits.memory);
        }
        let mut env_names = BTreeSet::new();
        for (i, e) in self.env.iter().enumerate() {
            let epath = format!("{path}.env[{i}]");
            p.check(|| format!("{epath}.name"), check_env_name(&e.name));
            if !env_names.insert(e.name.as_str()) {
                p.add(format!("{epath}.name"), format!("{:?} is set twice", e.name));
            }
            match (&e.value, &e.secret) {
                (Some(_), Some(_)) | (None, None) => p.add(epath.clone(), "set exactly one of value or secret"),
                (None, Some(s)) => {
                    p.check(|| format!("{epath}.secret.name"), checks::check_secret_name(&s.name));
                    p.check(|| format!("{epath}.secret.key"), check_config_key(&s.key));
                }
                (Some(_), None) => {}
            }
        }
        if let Some(c) = &self.config {
            if !c.mount_path.starts_with('/') || c.mount_path.contains("..") || c.mount_path.contains(':') {
                p.add(format!("{path}.config.mountPath"), format!("{:?} is not an absolute path such as \"/config\"", c.mount_path));
            }
            if c.files.is_empty() {
                p.add(format!("{path}.config.files"), "is empty; remove config or add a file");
            }
            let mut total = 0usize;
            for (name, content) in &c.files {
                p.check(|| format!("{path}.config.files[{name:?}]"), check_config_key(name));
                total = total.saturating_add(name.len()).saturating_add(content.len());
            }
            if total > MAX_CONFIG_BYTES {
                p.add(
                    format!("{path}.config.files"),
                    format!("{total} bytes is more than a ConfigMap holds ({MAX_CONFIG_BYTES}); mount large files from a volume"),
                );
            }
        }
        for (field, probe) in [("liveness", &self.liveness), ("readiness", &self.readiness)] {
            if let Some(probe) = probe {
                probe.validate(p, &format!("{path}.{field}"), &self.ports);
            }
        }
        let mut hosts = BTreeSet::new();
        for (i, h) in self.hosts.iter().enumerate() {
            if p.check(|| format!("{path}.hosts[{i}]"), checks::check_hostname(h, true)) && !hosts.insert(h.as_str()) {
                p.add(format!("{path}.hosts[{i}]"), format!("{h:?} is listed twice"));
            }
        }
        if !self.hosts.is_empty() && self.ports.is_empty() {
            p.add(format!("{path}.hosts"), "hosts route to the release's first port, but it declares none; add one under ports");
        }
        self.strategy.validate(p, &format!("{path}.strategy"), self.replicas);
        if let Some(m) = &self.metrics {
            m.validate(p, &format!("{path}.metrics"), &self.ports);
        }
        if let Some(a) = &self.autoscaling {
            a.validate(p, path, self.resources.as_ref());
        }
        let mut analysis_names = BTreeSet::new();
        for (i, a) in self.analyses.iter().enumerate() {
            a.validate(p, &format!("{path}.analyses[{i}]"));
            if !analysis_names.insert(a.name.as_str()) {
                p.add(format!("{path}.analyses[{i}].name"), format!("{:?} is used by two analyses", a.name));
            }
        }
        for (rpath, name) in self.strategy.analysis_references(&format!("{path}.strategy")) {
            if !analysis_names.contains(name) {
                let known = if analysis_names.is_empty() {
                    "the release declares none under analyses".to_string()
                } else {
                    format!("declared: {}", analysis_names.iter().copied().collect::<Vec<_>>().join(", "))
                };
                p.add(rpath, format!("{name:?} is not an analysis of this release ({known})"));
            }
        }
        if let Strategy::BlueGreen(b) = &self.strategy {
            if b.preview_host.is_some() && self.ports.is_empty() {
                p.add(format!("{path}.strategy.previewHost"), "the preview host routes to the release's first port, but it declares none");
            }
        }
    }
}

fn check_version(version: &str) -> Result<(), String> {
    let ok = !version.is_empty()
        && version.len() <= MAX_VERSION
        && version.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && version.starts_with(|c: char| c.is_ascii_alphanumeric())
        && version.ends_with(|c: char| c.is_ascii_alphanumeric())
        && !version.contains("..");
    if ok {
        Ok(())
    } else {
        let hint = version.to_ascii_lowercase().replace(['_', '+', ' ', '/'], "-");
        let mut msg = format!(
            "{version:?} is not a version moorage can put in object names: 1 to {MAX_VERSION} lowercase letters, digits, '.' and '-', starting and ending with a letter or digit"
        );
        if hint != version && check_version_plain(&hint) {
            msg.push_str(&format!("; did you mean {hint:?}?"));
        }
        Err(msg)
    }
}

fn check_version_plain(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= MAX_VERSION
        && v.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && v.starts_with(|c: char| c.is_ascii_alphanumeric())
        && v.ends_with(|c: char| c.is_ascii_alphanumeric())
}

fn check_port_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 15
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && name.chars().any(|c| c.is_ascii_lowercase())
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--");
    if ok {
        Ok(())
    } else {
        Err(format!("{name:?} is not a port name: 1 to 15 lowercase letters, digits and '-', with at least one letter (e.g. \"http\")"))
    }
}

fn check_env_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 256
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(format!("{name:?} is not an environment variable name (letters, digits, '_', '-' and '.', not starting with a digit)"))
    }
}

fn check_config_key(key: &str) -> Result<(), String> {
    let ok = !key.is_empty()
        && key.len() <= 253
        && key != "."
        && key != ".."
        && !key.starts_with("..")
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
    if ok {
        Ok(())
    } else {
        Err(format!("{key:?} is not a valid file name or key (letters, digits, '_', '-' and '.', at most 253)"))
    }
}

/// Builds a [`Release`] step by step; [`ReleaseBuilder::build`] validates everything.
///
/// ```
/// use moorage::{Release, Strategy};
/// let green = Release::builder("acme", "webserver", "green")
///     .image("nginxinc/nginx-unprivileged:1.27")
///     .replicas(3)
///     .port("http", 8080)
///     .resources(("100m", "64Mi"), ("200m", "128Mi"))
///     .config_file("index.html", "<h1>green</h1>")
///     .strategy(Strategy::blue_green())
///     .build()
///     .unwrap();
/// assert_eq!(green.deployment_name(), "webserver-green");
/// ```
#[derive(Debug, Clone)]
#[must_use = "call .build() to validate and get the release"]
pub struct ReleaseBuilder {
    spec: ReleaseSpec,
}

impl ReleaseBuilder {
    /// Sets the container image.
    pub fn image(mut self, image: impl Into<String>) -> Self {
        self.spec.image = image.into();
        self
    }
    /// Sets the number of pods.
    pub fn replicas(mut self, replicas: u32) -> Self {
        self.spec.replicas = replicas;
        self
    }
    /// Adds a TCP port.
    pub fn port(mut self, name: impl Into<String>, port: u16) -> Self {
        self.spec.ports.push(Port { name: name.into(), port, protocol: Protocol::Tcp });
        self
    }
    /// Sets requests and limits as `(cpu, memory)` pairs.
    pub fn resources(mut self, requests: (&str, &str), limits: (&str, &str)) -> Self {
        self.spec.resources = Some(Resources { requests: ComputeResources::new(requests.0, requests.1), limits: ComputeResources::new(limits.0, limits.1) });
        self
    }
    /// Adds a plain environment variable.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.spec.env.push(EnvVar { name: name.into(), value: Some(value.into()), secret: None });
        self
    }
    /// Adds an environment variable read from a Secret key.
    pub fn env_from_secret(mut self, name: impl Into<String>, secret: impl Into<String>, key: impl Into<String>) -> Self {
        self.spec.env.push(EnvVar { name: name.into(), value: None, secret: Some(SecretKeyRef { name: secret.into(), key: key.into() }) });
        self
    }
    /// Adds a configuration file (mounted under `/config` unless [`Self::config_mount_path`] says otherwise).
    pub fn config_file(mut self, name: impl Into<String>, content: impl Into<String>) -> Self {
        self.spec
            .config
            .get_or_insert_with(|| ConfigFiles { mount_path: default_mount_path(), files: BTreeMap::new() })
            .files
            .insert(name.into(), content.into());
        self
    }
    /// Sets where configuration files are mounted.
    pub fn config_mount_path(mut self, path: impl Into<String>) -> Self {
        self.spec.config.get_or_insert_with(|| ConfigFiles { mount_path: default_mount_path(), files: BTreeMap::new() }).mount_path = path.into();
        self
    }
    /// Sets the liveness probe.
    pub fn liveness(mut self, probe: Probe) -> Self {
        self.spec.liveness = Some(probe);
        self
    }
    /// Sets the readiness probe.
    pub fn readiness(mut self, probe: Probe) -> Self {
        self.spec.readiness = Some(probe);
        self
    }
    /// Adds a host name.
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.spec.hosts.push(host.into());
        self
    }
    /// Declares the metrics endpoint and business metrics.
    pub fn metrics(mut self, metrics: Metrics) -> Self {
        self.spec.metrics = Some(metrics);
        self
    }
    /// Adds an analysis, which the strategy refers to by name.
    pub fn analysis(mut self, analysis: Analysis) -> Self {
        self.spec.analyses.push(analysis);
        self
    }
    /// Adds a HorizontalPodAutoscaler (see [`Autoscaling`]); requires a CPU request.
    pub fn autoscaling(mut self, autoscaling: Autoscaling) -> Self {
        self.spec.autoscaling = Some(autoscaling);
        self
    }
    /// Sets the strategy.
    pub fn strategy(mut self, strategy: impl Into<Strategy>) -> Self {
        self.spec.strategy = strategy.into();
        self
    }
    /// Validates and returns the release, or every problem found.
    pub fn build(self) -> Result<Release, ValidationErrors> {
        Release::from_spec(self.spec)
    }
}
