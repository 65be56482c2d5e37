//! `moorage.Release`: one version of an application (the core's `Release`), and `moorage.compile`.

use pyo3::prelude::*;
use pyo3::types::{PyString, PyType};
use serde_json::{Map, Value};

use crate::convert::{put_spec_members, spec_json, text_or_file, to_py};
use crate::errors;
use crate::tenant::Tenant;

fn from_json(py: Python<'_>, spec: &Value) -> PyResult<moorage::Release> {
    moorage::spec::release_from_value(spec).map_err(|e| errors::spec(py, &e))
}

/// One version of an application of a tenant: image, replicas, ports, resources, config files,
/// hosts and the strategy that replaces the previous version.
#[pyclass(module = "moorage", frozen)]
#[derive(Clone)]
pub struct Release {
    pub(crate) inner: moorage::Release,
}

#[pymethods]
impl Release {
    #[new]
    #[pyo3(signature = (tenant, app, version, *, image, replicas=None, ports=None, resources=None, env=None, config_files=None, config_mount_path=None, liveness=None, readiness=None, hosts=None, strategy=None, analyses=None, metrics=None, autoscaling=None))]
    fn new(
        py: Python<'_>,
        tenant: &Bound<'_, PyAny>,
        app: String,
        version: String,
        image: String,
        replicas: Option<&Bound<'_, PyAny>>,
        ports: Option<&Bound<'_, PyAny>>,
        resources: Option<&Bound<'_, PyAny>>,
        env: Option<&Bound<'_, PyAny>>,
        config_files: Option<&Bound<'_, PyAny>>,
        config_mount_path: Option<String>,
        liveness: Option<&Bound<'_, PyAny>>,
        readiness: Option<&Bound<'_, PyAny>>,
        hosts: Option<&Bound<'_, PyAny>>,
        strategy: Option<&Bound<'_, PyAny>>,
        analyses: Option<&Bound<'_, PyAny>>,
        metrics: Option<&Bound<'_, PyAny>>,
        autoscaling: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        // `tenant` is a Tenant or its name.
        let tenant_name = match tenant.cast::<Tenant>() {
            Ok(t) => t.get().inner.name().to_string(),
            Err(_) => tenant.cast::<PyString>()?.to_cow()?.into_owned(),
        };
        let mut m = Map::new();
        m.insert("tenant".into(), Value::String(tenant_name));
        m.insert("app".into(), Value::String(app));
        m.insert("version".into(), Value::String(version));
        m.insert("image".into(), Value::String(image));
        if config_files.is_some() || config_mount_path.is_some() {
            let mut c = Map::new();
            put_spec_members(&mut c, "release.config", &[("files", config_files)])?;
            if let Some(p) = config_mount_path {
                c.insert("mountPath".into(), Value::String(p));
            }
            m.insert("config".into(), Value::Object(c));
        }
        let given = [
            ("replicas", replicas),
            ("ports", ports),
            ("resources", resources),
            ("env", env),
            ("liveness", liveness),
            ("readiness", readiness),
            ("hosts", hosts),
            ("strategy", strategy),
            ("analyses", analyses),
            ("metrics", metrics),
            ("autoscaling", autoscaling),
        ];
        put_spec_members(&mut m, "release", &given)?;
        Ok(Release { inner: from_json(py, &Value::Object(m))? })
    }

    /// A release from its spec as a dict (the keys of a release YAML file).
    #[classmethod]
    fn from_dict(_cls: &Bound<'_, PyType>, py: Python<'_>, spec: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(Release { inner: from_json(py, &spec_json(spec, "release")?)? })
    }

    /// A release from YAML or JSON text, or from the path of a file holding it.
    #[classmethod]
    fn from_yaml(_cls: &Bound<'_, PyType>, py: Python<'_>, text_or_path: &Bound<'_, PyAny>) -> PyResult<Self> {
        let text = text_or_file(text_or_path)?;
        let inner = moorage::spec::release_from_yaml(&text).map_err(|e| errors::spec(py, &e))?;
        Ok(Release { inner })
    }

    /// The tenant's name.
    #[getter]
    fn tenant(&self) -> String {
        self.inner.spec().tenant.clone()
    }
    /// The application.
    #[getter]
    fn app(&self) -> String {
        self.inner.spec().app.clone()
    }
    /// The version.
    #[getter]
    fn version(&self) -> String {
        self.inner.spec().version.clone()
    }
    /// The image.
    #[getter]
    fn image(&self) -> String {
        self.inner.spec().image.clone()
    }
    /// Replicas.
    #[getter]
    fn replicas(&self) -> u32 {
        self.inner.spec().replicas
    }
    /// Host names served.
    #[getter]
    fn hosts(&self) -> Vec<String> {
        self.inner.spec().hosts.clone()
    }
    /// The strategy.
    #[getter]
    fn strategy(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        crate::strategy::to_object(py, &self.inner.spec().strategy)
    }

    /// The analyses the strategy may refer to.
    #[getter]
    fn analyses(&self) -> Vec<crate::analysis::Analysis> {
        self.inner.spec().analyses.iter().map(|a| crate::analysis::Analysis { inner: a.clone() }).collect()
    }
    /// The metrics endpoint and business metrics, in spec form.
    #[getter]
    fn metrics(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.inner.spec().metrics.as_ref().map(|m| to_py(py, m))
    }

    /// The release's autoscaler, if it has one.
    #[getter]
    fn autoscaling(&self) -> Option<crate::autoscaling::Autoscaling> {
        self.inner.spec().autoscaling.map(|inner| crate::autoscaling::Autoscaling { inner })
    }

    /// The spec as a dict.
    fn to_dict(&self, py: Python<'_>) -> Py<PyAny> {
        to_py(py, self.inner.spec())
    }

    /// The spec as YAML.
    fn to_yaml(&self) -> PyResult<String> {
        moorage::spec::release_to_yaml(&self.inner).map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))
    }

    fn __eq__(&self, other: &Self) -> bool {
        self.inner.spec() == other.inner.spec()
    }

    fn __repr__(&self) -> String {
        let s = self.inner.spec();
        let strategy = s.strategy.kind();
        format!(
            "Release('{}', '{}', '{}', image='{}', replicas={}, hosts={:?}, strategy='{strategy}')",
            s.tenant, s.app, s.version, s.image, s.replicas, s.hosts
        )
        .replace('"', "'")
    }
}

/// The JSON Schema of tenant spec files (`"tenant"`) or release spec files (`"release"`), as a dict.
#[pyfunction]
pub fn json_schema(py: Python<'_>, kind: &str) -> PyResult<Py<PyAny>> {
    match kind {
        "tenant" => Ok(to_py(py, &moorage::schema::tenant_schema())),
        "release" => Ok(to_py(py, &moorage::schema::release_schema())),
        other => Err(pyo3::exceptions::PyValueError::new_err(format!("{other:?} is not a spec kind; use \"tenant\" or \"release\""))),
    }
}

/// The Kubernetes objects of a tenant and its releases, as a multi-document YAML stream.
#[pyfunction]
#[pyo3(signature = (tenant, releases=Vec::new()))]
pub fn compile(py: Python<'_>, tenant: &Tenant, releases: Vec<Release>) -> PyResult<String> {
    let releases: Vec<moorage::Release> = releases.into_iter().map(|r| r.inner).collect();
    let compiled = py.detach(|| moorage::compile(&tenant.inner, &releases)).map_err(|e| errors::validation(py, &e))?;
    moorage::manifest::to_yaml_stream(&compiled.objects).map_err(|e| errors::message(py, true, &e))
}

/// Compiles many tenants (each alone, without releases) to one YAML stream, without the GIL.
#[pyfunction]
pub fn compile_tenants(py: Python<'_>, tenants: Vec<Tenant>) -> PyResult<String> {
    let units: Vec<(moorage::Tenant, Vec<moorage::Release>)> = tenants.into_iter().map(|t| (t.inner, Vec::new())).collect();
    compile_units(py, &units)
}

/// Compiles many tenants with their releases to one YAML stream, in input order, on every core
/// (the core's `YamlBatch`): `units` is any iterable of `(tenant, [releases])`, a generator
/// included, and each unit is compiled without the GIL while Python builds the next. A tenant or
/// release may be a `Tenant`/`Release` or its spec as a dict (what `from_dict` takes): a dict is
/// read and validated by the core's workers too, its problems reported with the batch's others
/// (`ValidationError`, paths `tenants[i].tenant...`, `tenants[i].releases[j]...`). Returns the
/// stream; with `path`, writes it there atomically instead (the core's writer, without the GIL)
/// and returns `(objects, bytes)`.
#[pyfunction]
#[pyo3(signature = (units, *, path=None))]
pub fn compile_many(py: Python<'_>, units: &Bound<'_, PyAny>, path: Option<std::path::PathBuf>) -> PyResult<Py<PyAny>> {
    use moorage::compile::BatchInput;
    let mut batch = moorage::compile::YamlBatch::new();
    for unit in units.try_iter()? {
        let (tenant, releases): (Bound<'_, PyAny>, Vec<Bound<'_, PyAny>>) = unit?.extract()?;
        let tenant = match tenant.extract::<PyRef<'_, Tenant>>() {
            Ok(t) => BatchInput::Built(std::sync::Arc::new(t.inner.clone())),
            Err(_) => BatchInput::Json(spec_dict_text(&tenant, "Tenant")?),
        };
        let releases = releases
            .iter()
            .map(|r| match r.extract::<PyRef<'_, Release>>() {
                Ok(r) => Ok(BatchInput::Built(std::sync::Arc::new(r.inner.clone()))),
                Err(_) => spec_dict_text(r, "Release").map(BatchInput::Json),
            })
            .collect::<PyResult<Vec<_>>>()?;
        batch.push_input(tenant, releases);
    }
    match path {
        None => {
            let stream = py.detach(|| batch.finish()).map_err(|e| batch_error(py, e))?;
            Ok(PyString::new(py, &stream.yaml).into_any().unbind())
        }
        Some(path) => {
            let file = py.detach(|| batch.finish_to_file(&path)).map_err(|e| batch_error(py, e))?;
            Ok((file.objects, file.bytes).into_pyobject(py)?.into_any().unbind())
        }
    }
}

/// A spec dict as JSON text for the core's batch (translation only: the core reads and validates
/// it); anything else is a `TypeError` naming what was expected.
fn spec_dict_text(item: &Bound<'_, PyAny>, class: &str) -> PyResult<String> {
    if !item.is_instance_of::<pyo3::types::PyDict>() {
        let found = item.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into());
        return Err(pyo3::exceptions::PyTypeError::new_err(format!("compile_many: expected a {class} or its spec as a dict, got {found}")));
    }
    Ok(spec_json(item, &class.to_ascii_lowercase())?.to_string())
}

fn batch_error(py: Python<'_>, e: moorage::compile::BatchError) -> PyErr {
    match e {
        moorage::compile::BatchError::Invalid(e) => errors::validation(py, &e),
        moorage::compile::BatchError::Manifest(e) => errors::message(py, true, &e),
    }
}

fn compile_units(py: Python<'_>, units: &[(moorage::Tenant, Vec<moorage::Release>)]) -> PyResult<String> {
    py.detach(|| moorage::compile_many_to_yaml(units)).map_err(|e| batch_error(py, e))
}
