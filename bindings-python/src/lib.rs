//! Python bindings of moorage: the native module `moorage._moorage`, re-exported by the
//! `moorage` package. Bindings translate and never decide: every check and every default is the
//! core's.

mod cluster;
mod convert;
mod errors;
mod fleet;
mod lifecycle;
mod quota;
mod release;
mod rollout;
mod strategy;
mod tenant;

use pyo3::prelude::*;

/// The native module.
#[pymodule]
fn _moorage(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<tenant::Tenant>()?;
    m.add_class::<quota::Quota>()?;
    m.add_class::<release::Release>()?;
    m.add_class::<strategy::BlueGreen>()?;
    m.add_class::<strategy::Rolling>()?;
    m.add_class::<strategy::Canary>()?;
    m.add_class::<cluster::Cluster>()?;
    m.add_class::<fleet::Fleet>()?;
    m.add_class::<rollout::RolloutReport>()?;
    m.add_class::<rollout::ReleaseStatus>()?;
    m.add_class::<rollout::VersionStatus>()?;
    m.add_class::<rollout::Revision>()?;
    m.add_function(wrap_pyfunction!(release::compile, m)?)?;
    m.add_function(wrap_pyfunction!(release::compile_tenants, m)?)?;
    m.add_function(wrap_pyfunction!(release::compile_many, m)?)?;
    errors::register(m)?;
    Ok(())
}
