//! Small helpers of the simulated cluster: JSON paths, RFC 3339 time, names, hashes, quantities.

use serde_json::{Map, Value};

use crate::backend::Kind;
use crate::quantity::Quantity;

/// The kinds the simulated cluster serves (built once).
pub(crate) fn served_kinds() -> &'static [Kind] {
    static KINDS: std::sync::OnceLock<Vec<Kind>> = std::sync::OnceLock::new();
    KINDS.get_or_init(crate::backend::kind::known_kinds)
}

/// The served kind with this apiVersion and kind.
pub(crate) fn served(api_version: &str, kind: &str) -> Option<&'static Kind> {
    served_kinds().iter().find(|k| k.api_version == api_version && k.kind == kind)
}

/// The kind with this apiVersion and kind that `state` serves: a built-in one, or a custom kind
/// whose CRDs it has installed ([`super::SimOptions::gateway_api`]).
pub(crate) fn served_in(state: &super::state::State, api_version: &str, kind: &str) -> Option<Kind> {
    if let Some(k) = served(api_version, kind) {
        return Some(k.clone());
    }
    let installed = state.options.gateway_api && api_version.starts_with(crate::compile::GATEWAY_GROUP);
    installed.then(|| crate::backend::kind::custom_kinds().into_iter().find(|k| k.api_version == api_version && k.kind == kind)).flatten()
}

/// Whether the API server keeps `metadata.generation` for objects of this kind: sets it to 1 at
/// creation and bumps it with each change outside `metadata` and `status`. Among the kinds served
/// here, the registry strategies of k8s.io/kubernetes (`pkg/registry/*/*/strategy.go`) do it for
/// Deployments, ReplicaSets, Pods, Jobs, CronJobs, Ingresses, NetworkPolicies,
/// PodDisruptionBudgets and EndpointSlices, and apiextensions' for every custom resource; the
/// others (Namespaces, ConfigMaps, Secrets, Services, quotas, RBAC, ...) have no `generation`.
pub(crate) fn tracks_generation(api_version: &str, kind: &str) -> bool {
    let built_in = served(api_version, kind).is_some();
    !built_in || matches!(kind, "Deployment" | "ReplicaSet" | "Pod" | "Job" | "CronJob" | "Ingress" | "NetworkPolicy" | "PodDisruptionBudget" | "EndpointSlice")
}

/// The served kind of a JSON object.
pub(crate) fn kind_of(object: &Value) -> Option<&'static Kind> {
    served(text(object, "/apiVersion"), text(object, "/kind"))
}

/// A path of map keys into a JSON object (`["spec", "selector", "app"]`).
pub(crate) type Path = Vec<String>;

/// The start of virtual time: 2026-01-01T00:00:00Z, in milliseconds since the Unix epoch.
pub(crate) const EPOCH_MS: u64 = 1_767_225_600_000;
/// The end of virtual time: 9999-12-31T23:59:59.999Z (RFC 3339 has four-digit years).
pub(crate) const MAX_CLOCK_MS: u64 = 253_402_300_799_999;

/// The value at `path`, if every step is a map key that exists.
pub(crate) fn get<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut cur = v;
    for seg in path {
        cur = cur.as_object()?.get(seg)?;
    }
    Some(cur)
}

/// Sets the value at `path`, creating maps on the way (replacing non-map values).
pub(crate) fn set(v: &mut Value, path: &[String], value: Value) {
    let Some((first, rest)) = path.split_first() else {
        *v = value;
        return;
    };
    if !v.is_object() {
        *v = Value::Object(Map::new());
    }
    if let Some(map) = v.as_object_mut() {
        let entry = map.entry(first.clone()).or_insert(Value::Null);
        set(entry, rest, value);
    }
}

/// Removes the value at `path`; returns whether something was removed.
pub(crate) fn remove(v: &mut Value, path: &[String]) -> bool {
    let Some((last, parent)) = path.split_last() else { return false };
    let mut cur = v;
    for seg in parent {
        match cur.as_object_mut().and_then(|m| m.get_mut(seg)) {
            Some(next) => cur = next,
            None => return false,
        }
    }
    cur.as_object_mut().and_then(|m| m.remove(last)).is_some()
}

/// A string at a JSON pointer, or "".
pub(crate) fn text<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// An object's `metadata.finalizers`.
pub(crate) fn finalizers(object: &Value) -> Vec<&str> {
    object.pointer("/metadata/finalizers").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect()
}

/// An integer at a JSON pointer, or `default`.
pub(crate) fn int(v: &Value, pointer: &str, default: i64) -> i64 {
    v.pointer(pointer).and_then(Value::as_i64).unwrap_or(default)
}

/// A mutable map at a path of keys, created (with its parents) when missing or not a map.
pub(crate) fn map_at<'a>(v: &'a mut Value, path: &[&str]) -> &'a mut Map<String, Value> {
    let mut map = as_map(v);
    for seg in path {
        let next = map.entry(seg.to_string()).or_insert_with(|| Value::Object(Map::new()));
        map = as_map(next);
    }
    map
}

/// Appends `item` to the list at `path`, creating the list (and maps on the way) when missing.
pub(crate) fn push(v: &mut Value, path: &[&str], item: Value) {
    let Some((last, parent)) = path.split_last() else { return };
    let list = map_at(v, parent).entry(last.to_string()).or_insert_with(|| Value::Array(Vec::new()));
    if !list.is_array() {
        *list = Value::Array(Vec::new());
    }
    if let Some(items) = list.as_array_mut() {
        items.push(item);
    }
}

fn as_map(v: &mut Value) -> &mut Map<String, Value> {
    if !v.is_object() {
        *v = Value::Object(Map::new());
    }
    match v {
        Value::Object(m) => m,
        // Never reached: the value was just made a map. A leaked empty map keeps this panic-free.
        _ => Box::leak(Box::new(Map::new())),
    }
}

/// The labels of an object (empty map when none).
pub(crate) fn labels(v: &Value) -> Map<String, Value> {
    v.pointer("/metadata/labels").and_then(Value::as_object).cloned().unwrap_or_default()
}

/// Formats milliseconds since the Unix epoch as RFC 3339 with second precision (`2026-01-01T00:00:02Z`).
pub(crate) fn rfc3339(ms: u64) -> String {
    let secs = (ms / 1000) as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, (rem % 3600) / 60, rem % 60)
}

/// Parses what [`rfc3339`] writes (and fractional seconds), to milliseconds since the Unix epoch.
pub(crate) fn parse_rfc3339(s: &str) -> Option<u64> {
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut dp = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, d) = (dp.next()??, dp.next()??, dp.next()??);
    let mut tp = time.split(':');
    let h = tp.next()?.parse::<i64>().ok()?;
    let mi = tp.next()?.parse::<i64>().ok()?;
    let sec_text = tp.next()?;
    let (sec_whole, frac) = sec_text.split_once('.').unwrap_or((sec_text, ""));
    let sec = sec_whole.parse::<i64>().ok()?;
    if !(0..=9999).contains(&y)
        || !(1..=12).contains(&m)
        || !(1..=31).contains(&d)
        || !(0..24).contains(&h)
        || !(0..60).contains(&mi)
        || !(0..=60).contains(&sec)
    {
        return None;
    }
    let millis = frac.chars().chain("000".chars()).take(3).collect::<String>().parse::<i64>().ok()?;
    let total = (days_from_civil(y, m, d) * 86_400 + h * 3600 + mi * 60 + sec) * 1000 + millis;
    u64::try_from(total).ok()
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

fn is_label(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') && !s.starts_with('-') && !s.ends_with('-')
}

/// Checks an object name the way the API server does for `kind`; returns the problem.
pub(crate) fn name_problem(kind: &str, name: &str) -> Option<String> {
    let invalid = |msg: &str| Some(format!("Invalid value: {name:?}: {msg}"));
    match kind {
        "Namespace" => {
            if name.len() > 63 {
                return invalid("must be no more than 63 characters");
            }
            if !is_label(name) {
                return invalid(LABEL_MSG);
            }
        }
        "Service" => {
            if name.len() > 63 {
                return invalid("must be no more than 63 characters");
            }
            if !is_label(name) || !name.starts_with(|c: char| c.is_ascii_lowercase()) {
                return invalid(DNS1035_MSG);
            }
        }
        _ => {
            if name.len() > 253 {
                return invalid("must be no more than 253 characters");
            }
            if !name.split('.').all(is_label) {
                return invalid(SUBDOMAIN_MSG);
            }
        }
    }
    None
}

const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// Kubernetes' `SafeEncodeString`: maps each byte to a character that cannot form bad words.
pub(crate) fn safe_encode(s: &str) -> String {
    s.bytes().map(|b| char::from(ALPHANUMS[usize::from(b) % ALPHANUMS.len()])).collect()
}

/// The 32-bit FNV-1a hash of a string.
pub(crate) fn fnv32(s: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in s.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// A character of Kubernetes' random-suffix alphabet, from a random number.
pub(crate) fn alphanum(n: u64) -> char {
    char::from(ALPHANUMS[(n % ALPHANUMS.len() as u64) as usize])
}

/// Parses a quantity leniently (zero when malformed: the simulated cluster never panics on input).
pub(crate) fn qty(v: Option<&Value>) -> Quantity {
    let parsed = match v {
        Some(Value::String(s)) => Quantity::parse(s).ok(),
        Some(Value::Number(n)) => Quantity::parse(&n.to_string()).ok(),
        _ => None,
    };
    parsed.unwrap_or_else(zero)
}

/// The zero quantity.
pub(crate) fn zero() -> Quantity {
    Quantity::default()
}

/// Formats an amount of `resource` the way Kubernetes prints quota usage: CPU as `600m`/`2`,
/// memory and storage with the largest exact binary suffix (`512Mi`), counts as integers.
pub(crate) fn format_amount(resource: &str, q: &Quantity) -> String {
    if resource.contains("memory") || resource.contains("storage") {
        q.to_canonical_bytes()
    } else {
        q.to_canonical_cpu()
    }
}

/// Resolves an int-or-percent value (`2`, `"25%"`) against `total`, rounding up or down.
pub(crate) fn int_or_percent(v: Option<&Value>, total: i64, default: &str, round_up: bool) -> i64 {
    let text = match v {
        Some(Value::Number(n)) => return n.as_i64().unwrap_or(0).clamp(0, i64::from(i32::MAX)),
        Some(Value::String(s)) => s.clone(),
        _ => default.to_string(),
    };
    match text.strip_suffix('%') {
        Some(p) => {
            let p = p.parse::<i64>().unwrap_or(0).max(0);
            let scaled = total.saturating_mul(p);
            let n = if round_up { scaled.saturating_add(99) / 100 } else { scaled / 100 };
            n.min(i64::from(i32::MAX))
        }
        None => text.parse::<i64>().unwrap_or(0).clamp(0, i64::from(i32::MAX)),
    }
}

/// Whether an image matches a failure pattern: `*` matches any run of characters, otherwise exact.
pub(crate) fn glob(pattern: &str, image: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == image;
    }
    let mut rest = image;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_round_trips() {
        assert_eq!(rfc3339(EPOCH_MS), "2026-01-01T00:00:00Z");
        assert_eq!(rfc3339(EPOCH_MS + 61_000), "2026-01-01T00:01:01Z");
        assert_eq!(parse_rfc3339("2026-01-01T00:01:01Z"), Some(EPOCH_MS + 61_000));
        assert_eq!(parse_rfc3339("2024-02-29T12:00:00.5Z").map(rfc3339), Some("2024-02-29T12:00:00Z".into()));
        assert_eq!(parse_rfc3339("garbage"), None);
    }

    #[test]
    fn names_and_globs() {
        assert!(name_problem("Namespace", "acme").is_none());
        assert!(name_problem("Namespace", "a.b").is_some());
        assert!(name_problem("ConfigMap", "a.b").is_none());
        assert!(name_problem("Service", "1abc").is_some());
        assert!(name_problem("Pod", "Web").is_some());
        assert!(glob("nginx:*", "nginx:1.27"));
        assert!(glob("*broken*", "registry/broken:1"));
        assert!(!glob("nginx", "nginx:1"));
        assert_eq!(int_or_percent(Some(&Value::from("25%")), 3, "25%", true), 1);
        assert_eq!(int_or_percent(Some(&Value::from("25%")), 3, "25%", false), 0);
    }
}
