//! The release's container: ports, resources, environment, config files and health probes.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::Problems;
use crate::model::quota::ComputeResources;

/// A container port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Port {
    /// The port's name (an IANA service name: at most 15 lowercase letters, digits and '-').
    pub name: String,
    /// The container port number; the Services expose the same number.
    pub port: u16,
    /// TCP (default) or UDP.
    #[serde(default)]
    pub protocol: Protocol,
}

/// A transport protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Protocol {
    /// TCP.
    #[default]
    Tcp,
    /// UDP.
    Udp,
}

/// Requests and limits of the release's container.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Resources {
    /// What the scheduler reserves.
    #[serde(default, skip_serializing_if = "ComputeResources::is_empty")]
    pub requests: ComputeResources,
    /// The most the container may use.
    #[serde(default, skip_serializing_if = "ComputeResources::is_empty")]
    pub limits: ComputeResources,
}

/// An environment variable: a plain value, or a reference to a Secret key (never the secret itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvVar {
    /// The variable's name.
    pub name: String,
    /// A plain value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// A key of a Secret in the tenant's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretKeyRef>,
}

/// A key of a Secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretKeyRef {
    /// The Secret's name.
    pub name: String,
    /// The key.
    pub key: String,
}

/// Configuration files of a release, compiled to a ConfigMap whose name carries their content hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigFiles {
    /// Where the files are mounted (an absolute path).
    #[serde(default = "default_mount_path")]
    pub mount_path: String,
    /// File name to content.
    pub files: BTreeMap<String, String>,
}

pub(crate) fn default_mount_path() -> String {
    "/config".into()
}

/// A health probe: exactly one of `http`, `tcp` or `exec`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Probe {
    /// An HTTP GET on a path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpProbe>,
    /// A TCP connection to a port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpProbe>,
    /// A command run in the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<Vec<String>>,
    /// Seconds before the first probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_delay_seconds: Option<u32>,
    /// Seconds between probes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_seconds: Option<u32>,
    /// Consecutive failures before the probe counts as failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_threshold: Option<u32>,
}

/// An HTTP GET probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpProbe {
    /// The path, starting with '/'.
    pub path: String,
    /// The port number; the release's first port when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

/// A TCP probe.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TcpProbe {
    /// The port number; the release's first port when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

impl Probe {
    /// An HTTP GET probe on `path` at the release's first port.
    pub fn http(path: impl Into<String>) -> Self {
        Self { http: Some(HttpProbe { path: path.into(), port: None }), ..Self::default() }
    }
    /// A TCP probe on the release's first port.
    pub fn tcp() -> Self {
        Self { tcp: Some(TcpProbe::default()), ..Self::default() }
    }

    pub(crate) fn validate(&self, p: &mut Problems, path: &str, ports: &[Port]) {
        let actions = usize::from(self.http.is_some()) + usize::from(self.tcp.is_some()) + usize::from(self.exec.is_some());
        if actions != 1 {
            p.add(path, format!("a probe needs exactly one of http, tcp or exec ({actions} given)"));
        }
        if let Some(h) = &self.http {
            if !h.path.starts_with('/') || h.path.chars().any(|c| c.is_whitespace() || c.is_control()) {
                p.add(format!("{path}.http.path"), format!("{:?} is not an absolute URL path such as \"/healthz\"", h.path));
            }
        }
        let port = self.http.as_ref().and_then(|h| h.port).or(self.tcp.as_ref().and_then(|t| t.port));
        let field = if self.http.is_some() { "http" } else { "tcp" };
        if let Some(port) = port {
            if port == 0 {
                p.add(format!("{path}.{field}.port"), "0 is not a port; use 1 to 65535");
            }
        } else if (self.http.is_some() || self.tcp.is_some()) && ports.is_empty() {
            p.add(format!("{path}.{field}.port"), "no port given and the release declares no ports; set port or add one under ports");
        }
        if let Some(cmd) = &self.exec {
            if cmd.is_empty() {
                p.add(format!("{path}.exec"), "an exec probe needs a command");
            }
        }
        if self.period_seconds == Some(0) {
            p.add(format!("{path}.periodSeconds"), "must be at least 1");
        }
        if self.failure_threshold == Some(0) {
            p.add(format!("{path}.failureThreshold"), "must be at least 1");
        }
    }
}
