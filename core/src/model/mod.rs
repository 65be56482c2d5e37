//! The model: tenants, releases, quotas, strategies and backups, as validated types.

pub mod analysis;
pub mod backup;
pub mod container;
pub mod metrics;
pub mod quota;
pub mod release;
pub mod strategy;
pub mod tenant;
