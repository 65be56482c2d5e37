//! `moorage.Tenant`: a customer's project (the core's `Tenant`), built from keyword arguments,
//! a dict or a YAML/JSON file, always through the core's spec reader and validation.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyType};
use serde_json::{Map, Value};

use crate::convert::{put_spec_members, spec_json, text_or_file, to_py};
use crate::errors;

/// Reads and validates a tenant from its spec as JSON (the core decides everything).
pub(crate) fn from_json(py: Python<'_>, spec: &Value) -> PyResult<moorage::Tenant> {
    moorage::spec::tenant_from_value(spec).map_err(|e| errors::spec(py, &e))
}

/// A customer's project: namespace, quota, members, domains, storage, backups.
#[pyclass(module = "moorage", frozen)]
#[derive(Clone)]
pub struct Tenant {
    pub(crate) inner: moorage::Tenant,
}

#[pymethods]
impl Tenant {
    #[new]
    #[pyo3(signature = (name, *, display_name=None, labels=None, quota=None, members=None, domains=None, allow_wildcard_domains=None, cert_issuer=None, storage=None, backups=None, network=None, pod_security=None, protected=None, gateway=None))]
    fn new(
        py: Python<'_>,
        name: String,
        display_name: Option<String>,
        labels: Option<&Bound<'_, PyAny>>,
        quota: Option<&Bound<'_, PyAny>>,
        members: Option<&Bound<'_, PyAny>>,
        domains: Option<&Bound<'_, PyAny>>,
        allow_wildcard_domains: Option<bool>,
        cert_issuer: Option<String>,
        storage: Option<&Bound<'_, PyAny>>,
        backups: Option<&Bound<'_, PyAny>>,
        network: Option<&Bound<'_, PyAny>>,
        pod_security: Option<String>,
        protected: Option<bool>,
        gateway: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let mut m = Map::new();
        m.insert("name".into(), Value::String(name));
        let typed = [
            ("displayName", display_name.map(Value::String)),
            ("allowWildcardDomains", allow_wildcard_domains.map(Value::Bool)),
            ("certIssuer", cert_issuer.map(Value::String)),
            ("podSecurity", pod_security.map(Value::String)),
            ("protected", protected.map(Value::Bool)),
        ];
        m.extend(typed.into_iter().filter_map(|(k, v)| Some((k.to_string(), v?))));
        // `members` may be a mapping of name to role: the spec's list of {name, role}.
        match members {
            Some(d) if d.is_instance_of::<PyDict>() => {
                let members = match spec_json(d, "tenant.members")? {
                    Value::Object(map) => Value::Array(map.into_iter().map(|(name, role)| serde_json::json!({"name": name, "role": role})).collect()),
                    other => other,
                };
                m.insert("members".into(), members);
            }
            other => put_spec_members(&mut m, "tenant", &[("members", other)])?,
        }
        let given = [
            ("labels", labels),
            ("quota", quota),
            ("domains", domains),
            ("storage", storage),
            ("backups", backups),
            ("network", network),
            ("gateway", gateway),
        ];
        put_spec_members(&mut m, "tenant", &given)?;
        Ok(Tenant { inner: from_json(py, &Value::Object(m))? })
    }

    /// A tenant from its spec as a dict (the keys of a tenant YAML file: `displayName`, ...).
    #[classmethod]
    fn from_dict(_cls: &Bound<'_, PyType>, py: Python<'_>, spec: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(Tenant { inner: from_json(py, &spec_json(spec, "tenant")?)? })
    }

    /// A tenant from YAML or JSON text, or from the path of a file holding it.
    #[classmethod]
    fn from_yaml(_cls: &Bound<'_, PyType>, py: Python<'_>, text_or_path: &Bound<'_, PyAny>) -> PyResult<Self> {
        let text = text_or_file(text_or_path)?;
        let inner = py.detach(|| moorage::spec::tenant_from_yaml(&text)).map_err(|e| errors::spec(py, &e))?;
        Ok(Tenant { inner })
    }

    /// The same tenant with another quota (validated again by the core).
    fn with_quota(&self, py: Python<'_>, quota: &crate::quota::Quota) -> PyResult<Self> {
        let mut spec = self.inner.clone().into_spec();
        spec.quota = quota.inner.clone();
        let inner = moorage::Tenant::from_spec(spec).map_err(|e| errors::validation(py, &e))?;
        Ok(Tenant { inner })
    }

    /// The tenant's name.
    #[getter]
    fn name(&self) -> String {
        self.inner.name().to_string()
    }
    /// Its namespace.
    #[getter]
    fn namespace(&self) -> String {
        self.inner.namespace().to_string()
    }
    /// Its display name.
    #[getter]
    fn display_name(&self) -> Option<String> {
        self.inner.spec().display_name.clone()
    }
    /// Its domains.
    #[getter]
    fn domains(&self) -> Vec<String> {
        self.inner.spec().domains.clone()
    }
    /// Its quota.
    #[getter]
    fn quota(&self) -> crate::quota::Quota {
        crate::quota::Quota { inner: self.inner.spec().quota.clone() }
    }

    /// The spec as a dict (the keys of a tenant YAML file).
    fn to_dict(&self, py: Python<'_>) -> Py<PyAny> {
        to_py(py, self.inner.spec())
    }

    /// The spec as YAML.
    fn to_yaml(&self) -> PyResult<String> {
        moorage::spec::tenant_to_yaml(&self.inner).map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))
    }

    /// The tenant's Kubernetes objects, as a multi-document YAML stream.
    fn compile(&self, py: Python<'_>) -> PyResult<String> {
        let objects = py.detach(|| moorage::compile_tenant(&self.inner).objects);
        moorage::manifest::to_yaml_stream(&objects).map_err(|e| errors::message(py, true, &e))
    }

    fn __eq__(&self, other: &Self) -> bool {
        self.inner.spec() == other.inner.spec()
    }

    fn __repr__(&self) -> String {
        let s = self.inner.spec();
        let mut parts = vec![format!("'{}'", s.name)];
        if let Some(d) = &s.display_name {
            parts.push(format!("display_name={d:?}"));
        }
        parts.push(format!("quota={}", crate::quota::repr(&s.quota)));
        if !s.members.is_empty() {
            parts.push(format!("members={}", s.members.len()));
        }
        if !s.domains.is_empty() {
            parts.push(format!("domains={:?}", s.domains));
        }
        if !s.storage.is_empty() {
            parts.push(format!("storage={:?}", s.storage.iter().map(|v| v.name.as_str()).collect::<Vec<_>>()));
        }
        if !s.backups.is_empty() {
            parts.push(format!("backups={:?}", s.backups.iter().map(|b| b.name.as_str()).collect::<Vec<_>>()));
        }
        format!("Tenant({})", parts.join(", ").replace('"', "'"))
    }
}
