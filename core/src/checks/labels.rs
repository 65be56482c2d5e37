//! Checks of label keys and values.

use super::names::{fix_subdomain, is_dns1123_subdomain};

/// Longest label value, and longest name part of a label key.
const LABEL_NAME_MAX: usize = 63;

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// Whether `s` matches `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?` (possibly empty when `allow_empty`), at most 63.
fn is_label_name(s: &str, allow_empty: bool) -> bool {
    if s.is_empty() {
        return allow_empty;
    }
    s.len() <= LABEL_NAME_MAX
        && s.chars().all(is_name_char)
        && s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && s.chars().last().is_some_and(|c| c.is_ascii_alphanumeric())
}

/// Replaces characters outside the label charset with '-', trims non-alphanumeric ends and truncates to 63.
fn fix_label_name(s: &str) -> String {
    let mapped: String = s.chars().map(|c| if is_name_char(c) { c } else { '-' }).collect();
    let trim = |t: &str| t.trim_matches(|c: char| !c.is_ascii_alphanumeric()).to_string();
    let trimmed = trim(&mapped);
    let truncated: String = trimmed.chars().take(LABEL_NAME_MAX).collect();
    trim(&truncated)
}

const LABEL_NAME_RULES: &str = "letters, digits, '-', '_' and '.', starting and ending with a letter or digit, at most 63 characters";

/// Checks a Kubernetes label (or annotation) key: an optional DNS-1123 subdomain prefix and '/', then a name of
/// 1 to 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit.
pub fn check_label_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err(format!(
            "\"\" is not a label key: it is empty; use a name ({LABEL_NAME_RULES}) with an optional DNS prefix, \
             e.g. \"tier\" or \"example.com/tier\""
        ));
    }
    let parts: Vec<&str> = key.split('/').collect();
    let (prefix, name) = match parts.as_slice() {
        [name] => (None, *name),
        [prefix, name] => (Some(*prefix), *name),
        _ => {
            return Err(format!(
                "{key:?} is not a label key: it has more than one '/'; use at most one, between a DNS prefix and \
                 the name, e.g. \"example.com/tier\""
            ))
        }
    };
    if let Some(prefix) = prefix {
        if !is_dns1123_subdomain(prefix) {
            let hint = if prefix.is_empty() {
                "it is empty; remove the leading '/' or add a prefix such as \"example.com\"".to_string()
            } else {
                let fixed = fix_subdomain(prefix);
                if is_dns1123_subdomain(&fixed) {
                    format!("did you mean {:?}?", format!("{fixed}/{name}"))
                } else {
                    "use a lowercase DNS name such as \"example.com\"".to_string()
                }
            };
            return Err(format!(
                "{key:?} is not a label key: the prefix {prefix:?} must be a DNS-1123 subdomain (lowercase \
                 letters, digits, '-' and '.', at most 253 characters); {hint}"
            ));
        }
    }
    if !is_label_name(name, false) {
        let fixed = fix_label_name(name);
        let hint = if name.is_empty() {
            "it is empty; add a name after the '/'".to_string()
        } else if fixed != name && is_label_name(&fixed, false) {
            let whole = match prefix {
                Some(p) => format!("{p}/{fixed}"),
                None => fixed,
            };
            format!("did you mean {whole:?}?")
        } else {
            "rename it using only those characters".to_string()
        };
        return Err(format!("{key:?} is not a label key: the name {name:?} must be {LABEL_NAME_RULES}; {hint}"));
    }
    Ok(())
}

/// Checks a Kubernetes label value: empty, or 1 to 63 letters, digits, '-', '_' and '.', starting and ending with
/// a letter or digit.
pub fn check_label_value(value: &str) -> Result<(), String> {
    if is_label_name(value, true) {
        return Ok(());
    }
    let fixed = fix_label_name(value);
    // A number (`1e+21`, `+3`) with its sign replaced would be another number: no suggestion.
    let number = value.parse::<f64>().is_ok();
    let hint = if fixed != value && !number && is_label_name(&fixed, false) {
        format!("did you mean {fixed:?}?")
    } else {
        "change it to use only those characters".to_string()
    };
    Err(format!("{value:?} is not a valid label value (empty, or {LABEL_NAME_RULES}); {hint}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::err;

    #[test]
    fn label_keys_and_values() {
        for ok in ["app", "app.kubernetes.io/name", "example.com/Tier_1", "a", "A.b-c_d"] {
            assert_eq!(check_label_key(ok), Ok(()), "{ok}");
        }
        for bad in ["", "/a", "a/", "a/b/c", "Example.com/a", "-a", "a b", "x/-a", &"a".repeat(64)] {
            assert!(check_label_key(bad).is_err(), "{bad}");
        }
        assert!(err(check_label_key("Example.com/app")).contains("did you mean \"example.com/app\"?"));
        assert!(err(check_label_key("team name")).contains("did you mean \"team-name\"?"));
        assert!(err(check_label_key("a/b/c")).contains("more than one '/'"));
        for ok in ["", "v1", "Prod_Blue.2", &"x".repeat(63)] {
            assert_eq!(check_label_value(ok), Ok(()), "{ok}");
        }
        for bad in ["-a", "a-", "a b", "é", &"x".repeat(64)] {
            assert!(check_label_value(bad).is_err(), "{bad}");
        }
        assert!(err(check_label_value("hello world")).contains("did you mean \"hello-world\"?"));
        // A number's sign is not replaced: 1e-21 is not what 1e+21 meant.
        for number in ["1e+21", "+3", "-2.5"] {
            let message = err(check_label_value(number));
            assert!(!message.contains("did you mean") && message.ends_with("change it to use only those characters"), "{message}");
        }
    }
}
