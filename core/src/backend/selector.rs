//! Label and field selectors: Kubernetes' text syntax for list and watch, and `LabelSelector` objects.

use serde_json::{Map, Value};

/// One requirement of a label selector.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    /// `key=value` or `key==value`.
    Equals(String, String),
    /// `key!=value` (also true when the label is absent).
    NotEquals(String, String),
    /// `key in (a,b)`.
    In(String, Vec<String>),
    /// `key notin (a,b)` (also true when the label is absent).
    NotIn(String, Vec<String>),
    /// `key`.
    Exists(String),
    /// `!key`.
    DoesNotExist(String),
}

/// A parsed label selector (all requirements must hold).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LabelSelector(Vec<Requirement>);

fn split_top_level(s: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut current = String::new();
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    parts.push(current);
    parts.into_iter().map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect()
}

fn set_values(rest: &str) -> Option<Vec<String>> {
    let inner = rest.trim().strip_prefix('(')?.strip_suffix(')')?;
    Some(inner.split(',').map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect())
}

impl LabelSelector {
    /// Parses Kubernetes' label selector syntax: `a=b,c!=d,e in (x,y),f notin (z),g,!h`.
    pub(crate) fn parse(s: &str) -> Result<Self, String> {
        let mut reqs = Vec::new();
        for part in split_top_level(s) {
            let bad = || format!("unable to parse requirement: {part:?}: found unexpected syntax in label selector {s:?}");
            let req = if let Some(k) = part.strip_prefix('!') {
                Requirement::DoesNotExist(k.trim().to_string())
            } else if let Some((k, v)) = part.split_once("!=") {
                Requirement::NotEquals(k.trim().to_string(), v.trim().to_string())
            } else if let Some((k, v)) = part.split_once("==") {
                Requirement::Equals(k.trim().to_string(), v.trim().to_string())
            } else if let Some((k, v)) = part.split_once('=') {
                Requirement::Equals(k.trim().to_string(), v.trim().to_string())
            } else if let Some((k, rest)) = part.split_once(" notin ") {
                Requirement::NotIn(k.trim().to_string(), set_values(rest).ok_or_else(bad)?)
            } else if let Some((k, rest)) = part.split_once(" in ") {
                Requirement::In(k.trim().to_string(), set_values(rest).ok_or_else(bad)?)
            } else {
                Requirement::Exists(part.clone())
            };
            let (key, values) = match &req {
                Requirement::Equals(k, v) | Requirement::NotEquals(k, v) => (k, std::slice::from_ref(v)),
                Requirement::In(k, vs) | Requirement::NotIn(k, vs) => (k, vs.as_slice()),
                Requirement::Exists(k) | Requirement::DoesNotExist(k) => (k, &[][..]),
            };
            // Keys and values as on labels (`a=b=c` has the value `b=c`, which no label can have).
            if crate::checks::check_label_key(key).is_err() || values.iter().any(|v| crate::checks::check_label_value(v).is_err()) {
                return Err(bad());
            }
            reqs.push(req);
        }
        Ok(LabelSelector(reqs))
    }

    /// Whether a set of labels satisfies every requirement.
    pub(crate) fn matches(&self, labels: &Map<String, Value>) -> bool {
        let get = |k: &str| labels.get(k).and_then(Value::as_str);
        self.0.iter().all(|r| match r {
            Requirement::Equals(k, v) => get(k) == Some(v.as_str()),
            Requirement::NotEquals(k, v) => get(k) != Some(v.as_str()),
            Requirement::In(k, vs) => get(k).is_some_and(|l| vs.iter().any(|v| v == l)),
            Requirement::NotIn(k, vs) => get(k).is_none_or(|l| vs.iter().all(|v| v != l)),
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::DoesNotExist(k) => !labels.contains_key(k),
        })
    }
}

/// One requirement of a field selector: a dotted field, `=`/`==` or `!=`, a value.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FieldRequirement {
    pointer: String,
    equal: bool,
    value: String,
}

/// A parsed field selector.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FieldSelector(Vec<FieldRequirement>);

/// The fields a kind supports beside `metadata.name` and `metadata.namespace` (like the real API
/// server).
fn extra_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "Event" => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "type",
            "source",
            "reportingComponent",
        ],
        "Pod" => &["spec.nodeName", "status.phase", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName", "status.podIP"],
        "Namespace" => &["status.phase"],
        "Secret" => &["type"],
        "Job" => &["status.successful"],
        "ReplicaSet" => &["status.replicas"],
        "Node" => &["spec.unschedulable"],
        _ => &[],
    }
}

/// Why `field` is not a field selector of `kind`, in the API server's words: kinds with fields of
/// their own have one message, the others another; `None` when it is one.
fn unsupported(kind: &str, field: &str) -> Option<String> {
    let extra = extra_fields(kind);
    if matches!(field, "metadata.name" | "metadata.namespace") || extra.contains(&field) {
        None
    } else if extra.is_empty() {
        Some(format!("{field:?} is not a known field selector: only \"metadata.name\", \"metadata.namespace\""))
    } else {
        Some(format!("field label not supported: {field}"))
    }
}

impl FieldSelector {
    /// Parses a field selector (`metadata.name=web,status.phase!=Failed`) for objects of `kind`.
    pub(crate) fn parse(kind: &str, s: &str) -> Result<Self, String> {
        let mut reqs = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (field, equal, value) = if let Some((f, v)) = part.split_once("!=") {
                (f, false, v)
            } else if let Some((f, v)) = part.split_once("==") {
                (f, true, v)
            } else if let Some((f, v)) = part.split_once('=') {
                (f, true, v)
            } else {
                return Err(format!("invalid selector: {part:?}; can't understand {part:?}"));
            };
            let field = field.trim();
            if let Some(problem) = unsupported(kind, field) {
                return Err(problem);
            }
            let pointer = format!("/{}", field.replace('.', "/"));
            let pointer = if field == "source" { "/source/component".to_string() } else { pointer };
            reqs.push(FieldRequirement { pointer, equal, value: value.trim().to_string() });
        }
        Ok(FieldSelector(reqs))
    }

    /// Whether an object satisfies every requirement.
    pub(crate) fn matches(&self, object: &Value) -> bool {
        self.0.iter().all(|r| {
            let actual = match object.pointer(&r.pointer) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            (actual == r.value) == r.equal
        })
    }
}

/// A label selector and a field selector together.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ObjectSelector {
    labels: LabelSelector,
    fields: FieldSelector,
}

impl ObjectSelector {
    /// Parses the selector of a list or watch for objects of `kind`.
    pub(crate) fn parse(kind: &str, selector: &crate::backend::Selector) -> Result<Self, String> {
        Ok(ObjectSelector {
            labels: selector.labels.as_deref().map(LabelSelector::parse).transpose()?.unwrap_or_default(),
            fields: selector.fields.as_deref().map(|f| FieldSelector::parse(kind, f)).transpose()?.unwrap_or_default(),
        })
    }

    /// The name a `metadata.name=NAME` requirement asks for, if there is one (lets a store read
    /// that one object instead of every object of the kind).
    pub(crate) fn name(&self) -> Option<&str> {
        self.fields.0.iter().find(|r| r.equal && r.pointer == "/metadata/name").map(|r| r.value.as_str())
    }

    /// The label keys an object must carry to match (`key=value`, `key in (...)`, `key`): a store
    /// can skip, without reading it, an object whose text does not hold one of them.
    pub(crate) fn required_label_keys(&self) -> impl Iterator<Item = &str> + '_ {
        self.labels.0.iter().filter_map(|r| match r {
            Requirement::Equals(k, _) | Requirement::In(k, _) | Requirement::Exists(k) => Some(k.as_str()),
            Requirement::NotEquals(..) | Requirement::NotIn(..) | Requirement::DoesNotExist(_) => None,
        })
    }

    /// Whether an object matches both selectors.
    pub(crate) fn matches(&self, object: &Value) -> bool {
        let labels = object.pointer("/metadata/labels").and_then(Value::as_object).cloned().unwrap_or_default();
        self.labels.matches(&labels) && self.fields.matches(object)
    }
}

/// Whether labels match a `LabelSelector` object (`matchLabels` and `matchExpressions`). An empty
/// or missing selector matches nothing, like the controllers treat it.
pub(crate) fn match_label_selector(selector: Option<&Value>, labels: &Map<String, Value>) -> bool {
    let Some(sel) = selector.and_then(Value::as_object) else { return false };
    let match_labels = sel.get("matchLabels").and_then(Value::as_object);
    let expressions = sel.get("matchExpressions").and_then(Value::as_array);
    if match_labels.is_none_or(Map::is_empty) && expressions.is_none_or(Vec::is_empty) {
        return false;
    }
    let labels_ok = match_labels.is_none_or(|ml| ml.iter().all(|(k, v)| labels.get(k) == Some(v)));
    let exprs_ok = expressions.is_none_or(|es| {
        es.iter().all(|e| {
            let key = e.get("key").and_then(Value::as_str).unwrap_or("");
            let values: Vec<&str> = e.get("values").and_then(Value::as_array).map(|vs| vs.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
            let actual = labels.get(key).and_then(Value::as_str);
            match e.get("operator").and_then(Value::as_str).unwrap_or("") {
                "In" => actual.is_some_and(|a| values.contains(&a)),
                "NotIn" => actual.is_none_or(|a| !values.contains(&a)),
                "Exists" => actual.is_some(),
                "DoesNotExist" => actual.is_none(),
                _ => false,
            }
        })
    });
    labels_ok && exprs_ok
}

/// Whether labels match a Service-style selector (a plain map; empty matches nothing).
pub(crate) fn match_map(selector: &Map<String, Value>, labels: &Map<String, Value>) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn label_selector_syntax() {
        let l = labels(json!({"app": "web", "tier": "front", "version": "blue"}));
        let ok = |s: &str| LabelSelector::parse(s).map(|sel| sel.matches(&l));
        assert_eq!(ok("app=web"), Ok(true));
        assert_eq!(ok("app==web,tier!=db"), Ok(true));
        assert_eq!(ok("version in (blue, green)"), Ok(true));
        assert_eq!(ok("version notin (blue)"), Ok(false));
        assert_eq!(ok("tier"), Ok(true));
        assert_eq!(ok("!tier"), Ok(false));
        assert_eq!(ok("!missing,app"), Ok(true));
        assert_eq!(ok("missing!=x"), Ok(true));
        assert!(LabelSelector::parse("a in b").is_err());
        assert_eq!(ok("app="), Ok(false), "an empty value is a value");
        // Keys and values as on labels, as the API server checks them.
        for bad in ["a=b=c", "a in (b c)", "-a=b", "a!=b/c", "!!x"] {
            assert!(LabelSelector::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn field_selector_syntax() {
        let e = json!({"metadata": {"name": "x"}, "involvedObject": {"name": "web", "kind": "Pod"}});
        assert!(FieldSelector::parse("Event", "involvedObject.name=web,involvedObject.kind=Pod").is_ok_and(|f| f.matches(&e)));
        assert!(FieldSelector::parse("Event", "metadata.name!=x").is_ok_and(|f| !f.matches(&e)));
        assert!(FieldSelector::parse("ConfigMap", "involvedObject.name=web").is_err());
    }
}
