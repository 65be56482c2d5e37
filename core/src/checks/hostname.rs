//! Checks of Ingress host names.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::names::{is_dns1123_label, redact_userinfo, DNS1123_LABEL_MAX, DNS1123_SUBDOMAIN_MAX};

/// Checks an Ingress host name: a lowercase RFC 1123 name with at least two labels (`"app.example.com"`), at most
/// 253 characters, each label at most 63; no scheme, port, path, trailing dot or IP address. A wildcard is
/// accepted only when `allow_wildcard`, and only as the entire first label over a domain of at least two labels
/// (`"*.example.com"`).
pub fn check_hostname(value: &str, allow_wildcard: bool) -> Result<(), String> {
    let suggest = |candidate: &str| -> String {
        // Also fix the case and a trailing dot, so one suggestion repairs every mistake at once.
        let lower = candidate.to_ascii_lowercase();
        let candidate = lower.strip_suffix('.').unwrap_or(&lower);
        if candidate != value && check_hostname(candidate, allow_wildcard).is_ok() {
            format!(": did you mean {candidate:?}?")
        } else {
            String::new()
        }
    };
    if value.is_empty() {
        return Err("\"\" is not a host name: it is empty; give a name such as \"app.example.com\"".to_string());
    }
    if let Some((_, after)) = value.split_once("://") {
        let host = after.split(['/', '?', '#']).next().unwrap_or("");
        let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
        let host = strip_port(host);
        return Err(format!("{:?} is a URL, not a host name; give the host name only, without scheme or path{}", redact_userinfo(value), suggest(host)));
    }
    if value.chars().any(char::is_whitespace) {
        let compact: String = value.chars().filter(|c| !c.is_whitespace()).collect();
        return Err(format!("{value:?} contains whitespace; remove it{}", suggest(&compact)));
    }
    if let Some((host, _)) = value.split_once('/') {
        return Err(format!("{value:?} includes a path; an Ingress host is a name only (paths belong in the route's paths){}", suggest(host)));
    }
    let bracketed = value.strip_prefix('[').and_then(|v| v.split_once(']')).map(|(ip, _)| ip);
    if bracketed.is_some_and(|ip| ip.parse::<Ipv6Addr>().is_ok()) || value.parse::<Ipv6Addr>().is_ok() {
        return Err(format!("{value:?} is an IP address; Ingress hosts must be DNS names such as \"app.example.com\""));
    }
    if value.contains(':') {
        let host = strip_port(value);
        if host == value {
            return Err(format!(
                "{value:?} contains ':'; host names use only lowercase letters, digits, '-' and '.', e.g. \
                 \"app.example.com\""
            ));
        }
        return Err(format!("{value:?} includes a port; Ingress hosts cannot carry a port, remove it{}", suggest(host)));
    }
    if value.parse::<Ipv4Addr>().is_ok() {
        return Err(format!("{value:?} is an IP address; Ingress hosts must be DNS names such as \"app.example.com\""));
    }
    if let Some(stripped) = value.strip_suffix('.') {
        return Err(format!("{value:?} ends with a dot; write the name without the trailing dot{}", suggest(stripped)));
    }
    if value.chars().any(|c| c.is_ascii_uppercase()) {
        let lower = value.to_ascii_lowercase();
        return Err(format!("{value:?} contains uppercase letters; host names must be lowercase{}", suggest(&lower)));
    }
    let mut name = value;
    if value.contains('*') {
        if !allow_wildcard {
            return Err(format!(
                "{value:?} is a wildcard host, and wildcards are not allowed here; use a specific host name such as \
                 \"app.example.com\""
            ));
        }
        let rest = match value.strip_prefix("*.") {
            Some(rest) if !rest.contains('*') => rest,
            _ => {
                return Err(format!(
                    "{value:?} has a misplaced '*'; a wildcard must be the entire first label, as in \
                     \"*.example.com\""
                ))
            }
        };
        if !rest.contains('.') {
            return Err(format!(
                "{value:?} is too broad: a wildcard must cover a domain of at least two labels, e.g. \
                 \"*.example.com\", not a top-level domain"
            ));
        }
        name = rest;
    }
    if value.len() > DNS1123_SUBDOMAIN_MAX {
        return Err(format!("{value:?} is {} characters long; host names are at most 253 characters, shorten it", value.len()));
    }
    let labels: Vec<&str> = name.split('.').collect();
    if labels.iter().any(|l| l.is_empty()) {
        return Err(format!("{value:?} has an empty label (a leading dot or two dots in a row); remove the extra dot"));
    }
    if labels.len() < 2 {
        return Err(format!(
            "{value:?} is a single-label name; an Ingress host needs a domain with at least two labels, e.g. \
             \"{value}.example.com\""
        ));
    }
    for label in &labels {
        if label.len() > DNS1123_LABEL_MAX {
            return Err(format!("{value:?} has the label {label:?} of {} characters; each label is at most 63 characters, shorten it", label.len()));
        }
        if !is_dns1123_label(label, DNS1123_LABEL_MAX) {
            return Err(format!(
                "{value:?} has the invalid label {label:?}; labels use lowercase letters, digits and '-', starting \
                 and ending with a letter or digit"
            ));
        }
    }
    if labels.last().is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit())) {
        return Err(format!(
            "{value:?} looks like an IP address (its last label is all digits); Ingress hosts must be DNS names such \
             as \"app.example.com\""
        ));
    }
    Ok(())
}

/// Removes a trailing `:port` (digits or empty) from a host.
fn strip_port(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) && !h.contains(':') => h,
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::err;

    #[test]
    fn hostnames() {
        for ok in ["example.com", "app.example.com", "a-b.c0.io", "xn--bcher-kva.example"] {
            assert_eq!(check_hostname(ok, false), Ok(()), "{ok}");
        }
        assert_eq!(check_hostname("*.example.com", true), Ok(()));
        let cases = [
            ("", false, "it is empty"),
            ("localhost", false, "single-label"),
            ("example.com.", false, "did you mean \"example.com\"?"),
            ("Example.COM", false, "did you mean \"example.com\"?"),
            ("*.example.com", false, "wildcards are not allowed here"),
            ("*.com", true, "too broad"),
            ("a.*.com", true, "entire first label"),
            ("*example.com", true, "entire first label"),
            ("*.*.example.com", true, "entire first label"),
            ("10.0.0.1", false, "IP address"),
            ("::1", false, "IP address"),
            ("[::1]:80", false, "IP address"),
            ("1.2.3", false, "IP address"),
            ("example.com:8080", false, "did you mean \"example.com\"?"),
            ("https://example.com", false, "did you mean \"example.com\"?"),
            ("https://user@example.com:443/x?y", false, "did you mean \"example.com\"?"),
            ("https://Example.com/x", false, "did you mean \"example.com\"?"),
            ("Example.com.", false, "did you mean \"example.com\"?"),
            ("example.com/api", false, "did you mean \"example.com\"?"),
            ("exa mple.com", false, "did you mean \"example.com\"?"),
            ("a..com", false, "empty label"),
            ("-a.com", false, "invalid label"),
            ("a_b.com", false, "invalid label"),
        ];
        for (input, wildcard, needle) in cases {
            let e = err(check_hostname(input, wildcard));
            assert!(e.contains(needle), "{input:?}: {e}");
            // Quoted first, user information (credentials) excepted.
            assert!(e.starts_with(&format!("{:?}", redact_userinfo(input))), "{input:?} not quoted first: {e}");
            assert!(!e.contains("user@"), "{input:?}: {e}");
        }
        let long_label = format!("{}.com", "a".repeat(64));
        assert!(err(check_hostname(&long_label, false)).contains("at most 63"));
        let long = format!("{}.com", ["a".repeat(60).as_str(); 5].join("."));
        assert!(err(check_hostname(&long, false)).contains("at most 253"));
    }
}
