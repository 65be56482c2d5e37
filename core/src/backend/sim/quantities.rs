//! Quantities as the API server stores them: each applied quantity decoded and written back in apimachinery's canonical form.
//!
//! The API server decodes every quantity of an object (`resource.Quantity`) and encodes it again,
//! so `"0.5"` is stored as `"500m"`, `"2048Mi"` as `"2Gi"` and the number `2.5` as `"2500m"`. A
//! string already in a canonical form is kept as written (`"+5"`, `"1e3"`, `"1023Ki"`), as
//! `ParseQuantity` keeps it.

use serde_json::Value;

use super::defaults::pod_spec_pointer;
use crate::quantity::{Quantity, BINARY_SUFFIXES, DECIMAL_SUFFIXES};

/// How a quantity was written, which decides how it is written back (apimachinery's `Format`).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Format {
    /// No suffix or a decimal one (`m`, `k`, `M`, ... `E`).
    DecimalSi(i32),
    /// A binary suffix (`Ki` ... `Ei`).
    BinarySi,
    /// An exponent (`1e3`, `7E-3`).
    DecimalExponent(i32),
}

fn format_of(suffix: &str) -> Option<Format> {
    if suffix.is_empty() {
        return Some(Format::DecimalSi(0));
    }
    if let Some((_, power)) = DECIMAL_SUFFIXES.iter().find(|(s, _)| *s == suffix) {
        return Some(Format::DecimalSi(i32::try_from(*power).ok()?));
    }
    if BINARY_SUFFIXES.iter().any(|(s, _)| *s == suffix) {
        return Some(Format::BinarySi);
    }
    let exponent = suffix.strip_prefix(['e', 'E'])?;
    exponent.parse::<i32>().ok().map(Format::DecimalExponent)
}

/// The string the API server stores for the quantity `written`, or `None` when this simulation
/// cannot tell (not a quantity it parses, or finer than a thousandth): it is then kept as written.
pub(crate) fn canonical(written: &str) -> Option<String> {
    let millis = Quantity::parse(written).ok()?.millis();
    let body = written.strip_prefix('+').unwrap_or(written);
    let split = body.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(body.len());
    let (number, suffix) = body.split_at(split);
    let format = format_of(suffix)?;
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits = format!("{}{fraction}", whole.trim_start_matches('0'));
    // `ParseQuantity` keeps the string it was given when that is already canonical.
    let kept = match format {
        Format::BinarySi => fraction.is_empty() && digits.parse::<u64>().is_ok_and(|n| n & 0x07 != 0),
        Format::DecimalSi(power) | Format::DecimalExponent(power) => {
            let scale = power - fraction.len() as i32;
            scale % 3 == 0 && !digits.is_empty() && !digits.ends_with("000") && !digits.starts_with('0')
        }
    };
    if kept {
        return Some(written.to_string());
    }
    Some(write(millis, format))
}

/// apimachinery's `CanonicalizeBytes` for a value of `millis` thousandths.
fn write(millis: i128, format: Format) -> String {
    if millis == 0 {
        return "0".into();
    }
    if format == Format::BinarySi && millis >= 1024 * 1000 && millis % 1000 == 0 {
        // Whole bytes with the largest exact binary suffix, as moorage writes them.
        if let Some(quantity) = Quantity::from_millis(millis) {
            return quantity.to_canonical_bytes();
        }
    }
    // The largest exponent, a multiple of 3, that leaves a whole mantissa.
    let mut exponent = -3;
    let mut mantissa = millis;
    while exponent < 18 && mantissa % 1000 == 0 {
        mantissa /= 1000;
        exponent += 3;
    }
    match format {
        Format::DecimalExponent(_) if exponent != 0 => format!("{mantissa}e{exponent}"),
        Format::DecimalExponent(_) => mantissa.to_string(),
        _ => {
            let suffix = DECIMAL_SUFFIXES.iter().find(|(_, p)| i64::from(exponent) == *p).map_or("", |(s, _)| s);
            format!("{mantissa}{suffix}")
        }
    }
}

/// Writes every quantity of an applied object of `kind` in its canonical form: containers'
/// resources, a pod's overhead, `emptyDir` size limits, a quota's `hard`, a LimitRange's limits, a
/// claim's resources, an autoscaler's metric targets.
pub(crate) fn canonicalize(kind: &str, object: &mut Value) {
    let mut maps: Vec<String> = Vec::new();
    if let Some(spec) = pod_spec_pointer(kind) {
        for list in ["initContainers", "containers", "ephemeralContainers"] {
            let count = object.pointer(&format!("{spec}/{list}")).and_then(Value::as_array).map_or(0, Vec::len);
            for i in 0..count {
                maps.extend(["limits", "requests"].map(|which| format!("{spec}/{list}/{i}/resources/{which}")));
            }
        }
        maps.extend([format!("{spec}/overhead"), format!("{spec}/resources/limits"), format!("{spec}/resources/requests")]);
        let volumes = object.pointer(&format!("{spec}/volumes")).and_then(Value::as_array).map_or(0, Vec::len);
        for i in 0..volumes {
            canonicalize_at(object, &format!("{spec}/volumes/{i}/emptyDir/sizeLimit"));
        }
    }
    match kind {
        "ResourceQuota" => maps.push("/spec/hard".into()),
        "PersistentVolumeClaim" => maps.extend(["/spec/resources/limits".to_string(), "/spec/resources/requests".to_string()]),
        "LimitRange" => {
            let count = object.pointer("/spec/limits").and_then(Value::as_array).map_or(0, Vec::len);
            for i in 0..count {
                maps.extend(["max", "min", "default", "defaultRequest", "maxLimitRequestRatio"].map(|m| format!("/spec/limits/{i}/{m}")));
            }
        }
        "HorizontalPodAutoscaler" => {
            let count = object.pointer("/spec/metrics").and_then(Value::as_array).map_or(0, Vec::len);
            for i in 0..count {
                for source in ["resource", "containerResource", "pods", "object", "external"] {
                    for target in ["value", "averageValue"] {
                        canonicalize_at(object, &format!("/spec/metrics/{i}/{source}/target/{target}"));
                    }
                }
            }
        }
        _ => {}
    }
    for map in maps {
        let keys: Vec<String> = object.pointer(&map).and_then(Value::as_object).map(|m| m.keys().cloned().collect()).unwrap_or_default();
        for key in keys {
            canonicalize_at(object, &format!("{map}/{}", key.replace('~', "~0").replace('/', "~1")));
        }
    }
}

/// Writes the quantity at a JSON pointer in its canonical form (a number becomes a string).
fn canonicalize_at(object: &mut Value, pointer: &str) {
    let Some(value) = object.pointer_mut(pointer) else { return };
    let written = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return,
    };
    if let Some(stored) = canonical(&written) {
        *value = Value::String(stored);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each pair was applied to kube-apiserver 1.36 (a quota's `hard`) and read back.
    #[test]
    fn quantities_are_stored_as_the_api_server_stores_them() {
        let seen_on_the_api_server = [
            ("1000m", "1"),
            ("0.5", "500m"),
            ("2000", "2k"),
            ("1.5Gi", "1536Mi"),
            ("2048Mi", "2Gi"),
            ("1e3", "1e3"),
            ("1500e-3", "1500e-3"),
            ("0.5Ki", "512"),
            ("1.5Ki", "1536"),
            ("100M", "100M"),
            ("1000M", "1G"),
            ("0.1", "100m"),
            ("1234567", "1234567"),
            ("12e6", "12e6"),
            ("+5", "+5"),
            ("0Gi", "0"),
            ("1E", "1E"),
            ("1.0", "1"),
            ("10Mi", "10Mi"),
            ("1024", "1024"),
            ("1023Ki", "1023Ki"),
            ("1536Mi", "1536Mi"),
            ("2k", "2k"),
            ("1500", "1500"),
            ("2.5k", "2500"),
            ("1Ki", "1Ki"),
            ("3072", "3072"),
            ("0.001", "1m"),
            ("5m", "5m"),
            ("1000000Ki", "1000000Ki"),
            ("1e-3", "1e-3"),
            ("1.5M", "1500k"),
            ("1073741824", "1073741824"),
            ("7E-3", "7E-3"),
            ("3", "3"),
            ("2.5", "2500m"),
            ("0.5e3", "500"),
            ("1024Ki", "1Mi"),
            ("1.5e3", "1500"),
            ("1k", "1k"),
            ("01", "01"),
            ("0.50", "500m"),
        ];
        for (written, stored) in seen_on_the_api_server {
            assert_eq!(canonical(written).as_deref(), Some(stored), "{written}");
        }
        // Not parsed here: kept as written (validation names what is wrong).
        for written in ["2g", "", "-1", "100u"] {
            assert_eq!(canonical(written), None, "{written}");
        }
    }

    #[test]
    fn every_quantity_of_an_object_is_rewritten() {
        let mut pod = serde_json::json!({"spec": {
            "containers": [{"name": "a", "resources": {"limits": {"cpu": 0.5, "memory": "2048Mi"}, "requests": {"example.com/gpu": "1"}}}],
            "volumes": [{"name": "v", "emptyDir": {"sizeLimit": "1000M"}}],
        }});
        canonicalize("Pod", &mut pod);
        assert_eq!(pod["spec"]["containers"][0]["resources"]["limits"], serde_json::json!({"cpu": "500m", "memory": "2Gi"}));
        assert_eq!(pod["spec"]["containers"][0]["resources"]["requests"]["example.com/gpu"], "1");
        assert_eq!(pod["spec"]["volumes"][0]["emptyDir"]["sizeLimit"], "1G");
        let mut autoscaler =
            serde_json::json!({"spec": {"metrics": [{"type": "Pods", "pods": {"target": {"type": "AverageValue", "averageValue": "1000m"}}}]}});
        canonicalize("HorizontalPodAutoscaler", &mut autoscaler);
        assert_eq!(autoscaler["spec"]["metrics"][0]["pods"]["target"]["averageValue"], "1");
    }
}
