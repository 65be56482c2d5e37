//! moorage: deploy tenants and releases on hybrid-cloud Kubernetes.
//!
//! The model ([`Tenant`], [`Release`], [`Quota`], [`Strategy`]) is built with typed builders that
//! validate everything up front and return every problem at once ([`ValidationErrors`]). A valid model
//! compiles ([`compile()`]) to Kubernetes objects (k8s-openapi types) in apply order, which the
//! [`manifest`] writer emits as deterministic YAML for GitOps.
//!
//! ```
//! use moorage::{compile, Quota, Release, Role, Strategy, Tenant};
//!
//! let tenant = Tenant::builder("acme")
//!     .quota(Quota::new().limits("4", "8Gi").requests("2", "4Gi").pods(20))
//!     .member("alice@acme.test", Role::Admin)
//!     .domain("shop.acme.test")
//!     .build()?;
//! let release = Release::builder("acme", "webserver", "blue")
//!     .image("nginxinc/nginx-unprivileged:1.27")
//!     .replicas(3)
//!     .port("http", 8080)
//!     .resources(("100m", "64Mi"), ("200m", "128Mi"))
//!     .host("shop.acme.test")
//!     .strategy(Strategy::blue_green())
//!     .build()?;
//! let compiled = compile(&tenant, &[release])?;
//! assert_eq!(compiled.objects[0].kind(), "Namespace");
//! # Ok::<(), moorage::ValidationErrors>(())
//! ```
//!
//! This crate picks no Kubernetes version feature of `k8s-openapi`: the final artifact does
//! (e.g. `k8s-openapi = { version = "0.29", features = ["v1_36"] }`).

#![deny(missing_docs)]

pub mod analysis;
pub mod backend;
pub mod checks;
pub mod compile;
pub mod error;
pub mod labels;
pub mod manifest;
pub mod model;
pub mod monitoring;
pub mod quantity;
pub mod rollout;
pub mod schema;
pub mod secret;
pub mod spec;
mod spec_value;
pub mod tenant;
pub mod usage;
pub mod waves;

pub use compile::{compile, compile_many, compile_many_to_file, compile_many_to_yaml, compile_release, compile_tenant, Compiled, Note, Object};
pub use error::{FieldError, ValidationErrors};
pub use model::analysis::{Analysis, HttpAnalysis, JobAnalysis, PrometheusAnalysis};
pub use model::backup::{BackupPolicy, Database, S3Target};
pub use model::metrics::{BusinessMetric, MetricKind, Metrics};
pub use model::quota::{ComputeResources, ContainerDefaults, ObjectCounts, Quota, RequestQuota};
pub use model::release::{Autoscaling, ConfigFiles, EnvVar, Port, Probe, Protocol, Release, ReleaseBuilder, ReleaseSpec, Resources};
pub use model::strategy::{BlueGreen, Canary, CanaryStep, Rolling, Strategy, TrafficRouting};
pub use model::tenant::{GatewayRef, Member, MemberKind, NetworkIsolation, PodSecurityLevel, Role, Tenant, TenantBuilder, TenantSpec, Volume};
pub use quantity::Quantity;

/// The README's Rust example, compiled and run as a doc test so that it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
