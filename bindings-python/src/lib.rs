//! Python bindings of moorage: the native module `moorage._moorage`, re-exported by the
//! `moorage` package. Bindings translate and never decide: every check and every default is the
//! core's.

mod analysis;
mod autoscaling;
mod ci;
mod cluster;
mod convert;
mod errors;
mod fleet;
mod lifecycle;
mod monitoring;
mod quota;
mod release;
mod release_ops;
mod rollout;
mod strategy;
mod tenant;
mod usage;

use pyo3::prelude::*;

/// The native module.
#[pymodule]
fn _moorage(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<tenant::Tenant>()?;
    m.add_class::<quota::Quota>()?;
    m.add_class::<release::Release>()?;
    m.add_class::<autoscaling::Autoscaling>()?;
    m.add_class::<strategy::BlueGreen>()?;
    m.add_class::<strategy::Rolling>()?;
    m.add_class::<strategy::Canary>()?;
    m.add_class::<analysis::Analysis>()?;
    m.add_class::<analysis::CanaryStep>()?;
    m.add_class::<usage::Prometheus>()?;
    m.add_class::<usage::Usage>()?;
    m.add_class::<usage::UsageReport>()?;
    m.add_class::<cluster::Cluster>()?;
    m.add_class::<ci::CiCredentials>()?;
    m.add_class::<fleet::Fleet>()?;
    m.add_class::<rollout::RolloutReport>()?;
    m.add_class::<rollout::ReleaseStatus>()?;
    m.add_class::<rollout::VersionStatus>()?;
    m.add_class::<rollout::Revision>()?;
    m.add_function(wrap_pyfunction!(release::compile, m)?)?;
    m.add_function(wrap_pyfunction!(release::compile_tenants, m)?)?;
    m.add_function(wrap_pyfunction!(release::compile_many, m)?)?;
    m.add_function(wrap_pyfunction!(release::json_schema, m)?)?;
    m.add_class::<monitoring::Monitoring>()?;
    m.add_function(wrap_pyfunction!(monitoring::compile_monitoring, m)?)?;
    errors::register(m)?;
    Ok(())
}
