//! Node bindings of moorage (napi-rs v3): the native module behind the npm package `moorage`.
//! Bindings translate and never decide: every check and every default is the core's.

mod batch;
mod ci;
mod cluster;
mod convert;
mod errors;
mod fleet;
mod monitoring;
mod progress;
mod quota;
mod release;
mod release_ops;
mod rollout;
mod strategy;
mod tenant;
mod usage;
mod waves;
