//! Validators for Kubernetes names, labels, Ingress host names, image references, cron schedules and durations.

// Every checker returns `Err(message)` where the message quotes the offending value, says what is wrong and what
// to do, and never names a field: the caller prefixes the field path (`tenant.name: <message>`).

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// Longest DNS-1123 label.
const DNS1123_LABEL_MAX: usize = 63;
/// Longest DNS-1123 subdomain.
const DNS1123_SUBDOMAIN_MAX: usize = 253;
/// Longest label value, and longest name part of a label key.
const LABEL_NAME_MAX: usize = 63;
/// Longest image name (registry and repository path, without tag or digest).
const IMAGE_NAME_MAX: usize = 255;
/// Longest image tag.
const IMAGE_TAG_MAX: usize = 128;

// ---------------------------------------------------------------------------------------------------------------
// DNS-1123 names
// ---------------------------------------------------------------------------------------------------------------

fn is_dns_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
}

fn is_dns_edge(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// Whether `s` is a DNS-1123 label of at most `max` characters.
fn is_dns1123_label(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.chars().all(is_dns_char) && s.chars().next().is_some_and(is_dns_edge) && s.chars().last().is_some_and(is_dns_edge)
}

/// Lowercases, turns '_', '.' and ' ' into '-', trims '-' and truncates to `max`.
fn fix_label(s: &str, max: usize) -> String {
    let mapped: String = s.chars().map(|c| if matches!(c, '_' | '.' | ' ') { '-' } else { c.to_ascii_lowercase() }).collect();
    let trimmed = mapped.trim_matches('-');
    let truncated: String = trimmed.chars().take(max).collect();
    truncated.trim_end_matches('-').to_string()
}

fn label_rules(max: usize) -> String {
    format!("lowercase letters, digits and '-', starting and ending with a letter or digit, at most {max} characters")
}

/// Checks a Kubernetes DNS-1123 label (namespace, service or container name): 1 to 63 lowercase letters, digits
/// and '-', starting and ending with a letter or digit. Suggests a fixed-up name when one exists.
pub fn check_dns1123_label(value: &str) -> Result<(), String> {
    check_dns1123_label_max(value, DNS1123_LABEL_MAX)
}

/// Same as [`check_dns1123_label`] with a custom maximum length, for names that get a suffix appended.
pub fn check_dns1123_label_max(value: &str, max_len: usize) -> Result<(), String> {
    if is_dns1123_label(value, max_len) {
        return Ok(());
    }
    let rules = label_rules(max_len);
    if value.is_empty() {
        return Err(format!("\"\" is not a DNS-1123 label ({rules}); it is empty, give a name such as \"my-app\""));
    }
    let fixed = fix_label(value, max_len);
    if fixed != value && is_dns1123_label(&fixed, max_len) {
        return Err(format!("{value:?} is not a DNS-1123 label ({rules}); did you mean {fixed:?}?"));
    }
    let count = value.chars().count();
    if count > max_len {
        return Err(format!("{value:?} is not a DNS-1123 label ({rules}); it has {count} characters, shorten it"));
    }
    Err(format!("{value:?} is not a DNS-1123 label ({rules}); rename it using only those characters"))
}

/// Whether `s` is a DNS-1123 subdomain: 1 to 253 characters, dot-separated DNS-1123 labels.
fn is_dns1123_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= DNS1123_SUBDOMAIN_MAX && s.split('.').all(|l| is_dns1123_label(l, DNS1123_LABEL_MAX))
}

fn fix_subdomain(s: &str) -> String {
    let labels: Vec<String> = s.split('.').map(|l| fix_label(l, DNS1123_LABEL_MAX)).filter(|l| !l.is_empty()).collect();
    let joined = labels.join(".");
    let truncated: String = joined.chars().take(DNS1123_SUBDOMAIN_MAX).collect();
    truncated.trim_end_matches(['-', '.']).to_string()
}

/// Checks a Kubernetes DNS-1123 subdomain (most object names): at most 253 characters, dot-separated labels of
/// lowercase letters, digits and '-' (each starting and ending with a letter or digit, at most 63 characters).
pub fn check_dns1123_subdomain(value: &str) -> Result<(), String> {
    if is_dns1123_subdomain(value) {
        return Ok(());
    }
    let rules = "dot-separated labels of lowercase letters, digits and '-', each starting and ending with a letter \
                 or digit and at most 63 characters, at most 253 characters in all";
    if value.is_empty() {
        return Err(format!("\"\" is not a DNS-1123 subdomain ({rules}); it is empty, give a name such as \"my-app\""));
    }
    let fixed = fix_subdomain(value);
    if fixed != value && is_dns1123_subdomain(&fixed) {
        return Err(format!("{value:?} is not a DNS-1123 subdomain ({rules}); did you mean {fixed:?}?"));
    }
    Err(format!("{value:?} is not a DNS-1123 subdomain ({rules}); rename it using only those characters"))
}

/// Checks the name of a Secret that holds credentials (S3 keys, database passwords): a DNS-1123 subdomain. Unlike
/// the other checkers, the message never quotes the value: a value that is not a name may be the key itself,
/// pasted where the Secret's name belongs, and must not end up in logs.
pub fn check_secret_name(value: &str) -> Result<(), String> {
    if is_dns1123_subdomain(value) {
        return Ok(());
    }
    let what = if value.is_empty() { "it is empty" } else { "the value is not shown, as it may be a credential" };
    Err(format!(
        "is not the name of a Secret (a DNS-1123 subdomain such as \"s3-keys\"); {what}: give the name of the Secret \
         holding the credentials, never the credentials themselves"
    ))
}

/// `value` with the user information of a URL (`https://user:password@host`) replaced by `***`, so that messages
/// quoting a URL never show credentials.
pub fn redact_userinfo(value: &str) -> std::borrow::Cow<'_, str> {
    let Some((scheme, rest)) = value.split_once("://") else {
        return std::borrow::Cow::Borrowed(value);
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest.get(..authority_end).and_then(|authority| authority.rfind('@')) {
        Some(at) => std::borrow::Cow::Owned(format!("{scheme}://***{}", rest.get(at..).unwrap_or_default())),
        None => std::borrow::Cow::Borrowed(value),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Labels
// ---------------------------------------------------------------------------------------------------------------

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
    let hint =
        if fixed != value && is_label_name(&fixed, false) { format!("did you mean {fixed:?}?") } else { "change it to use only those characters".to_string() };
    Err(format!("{value:?} is not a valid label value (empty, or {LABEL_NAME_RULES}); {hint}"))
}

// ---------------------------------------------------------------------------------------------------------------
// Host names
// ---------------------------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------------------------
// Image references
// ---------------------------------------------------------------------------------------------------------------

/// The parts of a syntactically valid image reference.
struct ImageRef<'a> {
    tag: Option<&'a str>,
    digest: Option<&'a str>,
}

/// Checks an OCI/Docker image reference (`nginx`, `nginx:1.27`, `registry.example.com:5000/team/app@sha256:…`):
/// an optional registry host[:port], lowercase repository path components, an optional `:tag` and an optional
/// `@digest`, with a name of at most 255 characters.
pub fn check_image_reference(value: &str) -> Result<(), String> {
    parse_image_reference(value).map(|_| ())
}

/// Whether the image reference is valid and pinned: it has a digest, or a tag other than `latest`.
pub fn image_has_pinned_version(value: &str) -> bool {
    match parse_image_reference(value) {
        Ok(r) => r.digest.is_some() || r.tag.is_some_and(|t| t != "latest"),
        Err(_) => false,
    }
}

fn parse_image_reference(value: &str) -> Result<ImageRef<'_>, String> {
    const EXAMPLES: &str = "e.g. \"nginx:1.27\" or \"registry.example.com/team/app:1.0\"";
    if value.is_empty() {
        return Err(format!("\"\" is not an image reference: it is empty; give one, {EXAMPLES}"));
    }
    let valid = |candidate: &str| parse_image_reference(candidate).is_ok();
    if value.chars().any(char::is_whitespace) {
        let trimmed = value.trim();
        let hint = if trimmed != value && valid(trimmed) { format!("; did you mean {trimmed:?}?") } else { String::new() };
        return Err(format!("{value:?} is not an image reference: it contains whitespace, remove it{hint}"));
    }
    if let Some((_, rest)) = value.split_once("://") {
        let hint = if !rest.contains("://") && valid(rest) { format!(": did you mean {rest:?}?") } else { String::new() };
        let shown = redact_userinfo(value);
        let hint = if shown == value { hint } else { String::new() };
        return Err(format!(
            "{shown:?} is not an image reference: it has a URL scheme; image references have none, write \
             registry/repository:tag{hint}"
        ));
    }
    let (name_tag, digest) = match value.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (value, None),
    };
    if let Some(digest) = digest {
        check_digest(value, digest)?;
    }
    let last_slash = name_tag.rfind('/').map_or(0, |i| i.saturating_add(1));
    let last_component = name_tag.get(last_slash..).unwrap_or("");
    let (name, tag) = match last_component.rfind(':') {
        Some(i) => {
            let cut = last_slash.saturating_add(i);
            (name_tag.get(..cut).unwrap_or(""), name_tag.get(cut.saturating_add(1)..))
        }
        None => (name_tag, None),
    };
    if let Some(tag) = tag {
        check_tag(value, name, tag)?;
    }
    if name.is_empty() {
        return Err(format!("{value:?} is not an image reference: the repository name is missing; {EXAMPLES}"));
    }
    if name.len() > IMAGE_NAME_MAX {
        return Err(format!(
            "{value:?} is not an image reference: the name is {} characters long, more than the 255 allowed; use a \
             shorter repository path",
            name.len()
        ));
    }
    let (domain, path) = match name.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => (Some(first), rest),
        _ => (None, name),
    };
    if let Some(domain) = domain {
        check_registry(value, domain)?;
    }
    if path.is_empty() {
        return Err(format!("{value:?} is not an image reference: the repository path after the registry is empty; {EXAMPLES}"));
    }
    for component in path.split('/') {
        if is_path_component(component) {
            continue;
        }
        let lower = component.to_ascii_lowercase();
        if component.chars().any(|c| c.is_ascii_uppercase()) && is_path_component(&lower) {
            let fixed = match domain {
                Some(d) => format!("{d}/{}", path.to_ascii_lowercase()),
                None => path.to_ascii_lowercase(),
            };
            let rest = value.get(name.len()..).unwrap_or("");
            let suggestion = format!("{fixed}{rest}");
            let hint = if valid(&suggestion) { format!("; did you mean {suggestion:?}?") } else { String::new() };
            return Err(format!(
                "{value:?} is not an image reference: repository names must be lowercase, {component:?} has \
                 uppercase letters{hint}"
            ));
        }
        let what = if component.is_empty() {
            "an empty path component (a leading, trailing or doubled '/')".to_string()
        } else {
            format!("the invalid path component {component:?}")
        };
        return Err(format!(
            "{value:?} is not an image reference: it has {what}; path components are lowercase letters and \
             digits, separated by '.', '_', '__' or dashes"
        ));
    }
    Ok(ImageRef { tag, digest })
}

/// `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`
fn is_path_component(s: &str) -> bool {
    let b = s.as_bytes();
    let alnum = |i: usize| b.get(i).is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    let mut i = 0usize;
    loop {
        let start = i;
        while alnum(i) {
            i = i.saturating_add(1);
        }
        if i == start {
            return false;
        }
        if i >= b.len() {
            return true;
        }
        if at(i, b'.') {
            i = i.saturating_add(1);
        } else if at(i, b'_') {
            i = i.saturating_add(1);
            if at(i, b'_') {
                i = i.saturating_add(1);
            }
        } else if at(i, b'-') {
            while at(i, b'-') {
                i = i.saturating_add(1);
            }
        } else {
            return false;
        }
    }
}

fn check_tag(value: &str, name: &str, tag: &str) -> Result<(), String> {
    if tag.is_empty() {
        return Err(format!(
            "{value:?} is not an image reference: the tag after ':' is empty; add a tag such as {:?} or remove \
             the ':'",
            format!("{name}:1.0")
        ));
    }
    let first_ok = tag.chars().next().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    let rest_ok = tag.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !first_ok || !rest_ok || tag.len() > IMAGE_TAG_MAX {
        return Err(format!(
            "{value:?} is not an image reference: the tag {tag:?} is invalid; a tag is 1 to 128 letters, digits, \
             '_', '.' and '-', not starting with '.' or '-'"
        ));
    }
    Ok(())
}

fn check_digest(value: &str, digest: &str) -> Result<(), String> {
    let err = |why: &str| {
        Err(format!(
            "{value:?} is not an image reference: the digest {digest:?} {why}; write it as \"sha256:\" followed by \
             64 lowercase hex characters"
        ))
    };
    let Some((algo, hex)) = digest.split_once(':') else {
        return err("has no algorithm");
    };
    let algo_ok = !algo.is_empty()
        && algo.split(['+', '.', '-', '_']).all(|c| c.chars().next().is_some_and(|f| f.is_ascii_alphabetic()) && c.chars().all(|x| x.is_ascii_alphanumeric()));
    if !algo_ok {
        return err("has an invalid algorithm");
    }
    let lower_hex = |n: usize| hex.len() == n && hex.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
    let ok = match algo {
        "sha256" => lower_hex(64),
        "sha512" => lower_hex(128),
        _ => hex.len() >= 32 && hex.chars().all(|c| c.is_ascii_hexdigit()),
    };
    if !ok {
        return err("has an invalid hex part");
    }
    Ok(())
}

fn check_registry(value: &str, domain: &str) -> Result<(), String> {
    let bad = |why: String| {
        Err(format!(
            "{value:?} is not an image reference: the registry {domain:?} {why}; write it as host or host:port, e.g. \
             \"registry.example.com:5000\""
        ))
    };
    let (host, port) = if let Some(rest) = domain.strip_prefix('[') {
        let Some((ip, after)) = rest.split_once(']') else {
            return bad("has an unclosed '['".to_string());
        };
        if ip.parse::<Ipv6Addr>().is_err() {
            return bad(format!("has the invalid IPv6 address {ip:?}"));
        }
        match after {
            "" => (None, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (None, Some(port)),
                None => return bad("has text after ']'".to_string()),
            },
        }
    } else {
        match domain.split_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(domain), None),
        }
    };
    if let Some(port) = port {
        if port.is_empty() || !port.chars().all(|c| c.is_ascii_digit()) {
            return bad(format!("has the invalid port {port:?}"));
        }
    }
    if let Some(host) = host {
        let component_ok = |c: &str| {
            !c.is_empty()
                && c.chars().all(|x| x.is_ascii_alphanumeric() || x == '-')
                && c.chars().next().is_some_and(|x| x.is_ascii_alphanumeric())
                && c.chars().last().is_some_and(|x| x.is_ascii_alphanumeric())
        };
        if !host.split('.').all(component_ok) {
            return bad("is not a valid host name".to_string());
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// Cron schedules
// ---------------------------------------------------------------------------------------------------------------

const CRON_MACROS: [&str; 7] = ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"];
const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// One field of a 5-field cron schedule.
struct CronField {
    name: &'static str,
    min: u32,
    max: u32,
    /// Names for values starting at `min`, matched case-insensitively.
    names: &'static [&'static str],
    question: bool,
}

const CRON_FIELDS: [CronField; 5] = [
    CronField { name: "minute", min: 0, max: 59, names: &[], question: false },
    CronField { name: "hour", min: 0, max: 23, names: &[], question: false },
    CronField { name: "day-of-month", min: 1, max: 31, names: &[], question: true },
    CronField { name: "month", min: 1, max: 12, names: &MONTHS, question: false },
    CronField { name: "day-of-week", min: 0, max: 6, names: &WEEKDAYS, question: true },
];

/// Checks a CronJob schedule as Kubernetes accepts it: five whitespace-separated fields (minute 0-59, hour 0-23,
/// day-of-month 1-31, month 1-12 or JAN-DEC, day-of-week 0-6 or SUN-SAT), each a comma list of `*`, `?`
/// (day-of-month and day-of-week only), `n` or `a-b`, optionally with `/step`; or one of the macros `@yearly`,
/// `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly`. Time zones (`TZ=`, `CRON_TZ=`) are
/// rejected: Kubernetes wants them in the CronJob `timeZone` field.
pub fn check_cron_schedule(value: &str) -> Result<(), String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(format!(
            "{value:?} is not a cron schedule: it is empty; give five fields (minute hour day-of-month month \
             day-of-week), e.g. \"0 3 * * *\" for 03:00 every day"
        ));
    }
    if value.contains("TZ") {
        return Err(format!(
            "{value:?}: a time zone cannot be set inside the schedule; remove the TZ=/CRON_TZ= prefix and set the \
             CronJob timeZone field instead"
        ));
    }
    if trimmed.starts_with('@') {
        if CRON_MACROS.contains(&trimmed) {
            return Ok(());
        }
        return Err(format!("{value:?} is not a supported schedule macro; use one of {} or five fields such as \"*/15 * * * *\"", CRON_MACROS.join(", ")));
    }
    let fields: Vec<&str> = trimmed.split_whitespace().collect();
    if fields.len() != 5 {
        let seconds = if fields.len() == 6 { " (seconds are not supported)" } else { "" };
        return Err(format!(
            "{value:?} has {} fields{seconds}; a schedule needs exactly 5: minute hour day-of-month month \
             day-of-week, e.g. \"*/15 * * * *\"",
            fields.len()
        ));
    }
    for (spec, field) in CRON_FIELDS.iter().zip(fields) {
        check_cron_field(spec, field).map_err(|why| format!("{value:?}: {} field {field:?} {why}", spec.name))?;
    }
    Ok(())
}

/// Checks one cron field; the error completes "<name> field "<field>" ...".
fn check_cron_field(spec: &CronField, field: &str) -> Result<(), String> {
    let single = !field.contains(',');
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (r, Some(s)),
            None => (item, None),
        };
        if let Some(step) = step {
            let parsed = if step.chars().all(|c| c.is_ascii_digit()) { step.parse::<u32>().ok() } else { None };
            match parsed {
                Some(0) => return Err(format!("has the step {step:?}; a step must be at least 1")),
                Some(_) => {}
                None => return Err(format!("has the invalid step {step:?}; a step is a whole number such as 5")),
            }
        }
        let syntax_hint = format!("use \"*\", a value {}-{}, a range \"a-b\", a list \"a,b\" or a step such as \"*/5\"", spec.min, spec.max);
        if item.is_empty() {
            return Err(format!("has an empty list entry; {syntax_hint}"));
        }
        if range == "*" {
            continue;
        }
        if range == "?" {
            if spec.question {
                continue;
            }
            return Err("uses '?', which is only allowed in the day-of-month and day-of-week fields; use '*'".into());
        }
        let (lo, hi) = match range.split_once('-') {
            Some((a, b)) => (a, Some(b)),
            None => (range, None),
        };
        let parse = |token: &str| -> Result<u32, String> {
            let number = if !token.is_empty() && token.chars().all(|c| c.is_ascii_digit()) {
                // Saturate very long numbers: they are out of range either way.
                Some(token.parse::<u32>().unwrap_or(u32::MAX))
            } else {
                let lower = token.to_ascii_lowercase();
                spec.names.iter().position(|n| *n == lower).and_then(|i| u32::try_from(i).ok()).map(|i| i.saturating_add(spec.min))
            };
            let Some(n) = number else {
                return Err(format!("has the invalid value {token:?}; {syntax_hint}"));
            };
            if n < spec.min || n > spec.max {
                let sunday = if spec.name == "day-of-week" && n == 7 { "; use 0 for Sunday (Kubernetes does not accept 7)" } else { "" };
                return Err(if single && token == field {
                    format!("is out of range {}-{}{sunday}", spec.min, spec.max)
                } else {
                    format!("has {token:?}, out of range {}-{}{sunday}", spec.min, spec.max)
                });
            }
            Ok(n)
        };
        let start = parse(lo)?;
        if let Some(hi) = hi {
            let end = parse(hi)?;
            if start > end {
                return Err(format!("has the descending range {range:?}; ranges must go from low to high, e.g. {:?}", format!("{hi}-{lo}")));
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// Durations
// ---------------------------------------------------------------------------------------------------------------

const NANOS_PER_MS: u128 = 1_000_000;
const NANOS_PER_S: u128 = 1_000_000_000;
const NANOS_PER_M: u128 = 60 * NANOS_PER_S;
const NANOS_PER_H: u128 = 60 * NANOS_PER_M;
const NANOS_PER_D: u128 = 24 * NANOS_PER_H;
const DURATION_UNITS: &str = "ms, s, m, h or d";

/// Parses a Go-style duration: one or more `<number><unit>` with units `ms`, `s`, `m`, `h` and (a moorage extension)
/// `d`, e.g. `"30s"`, `"5m"`, `"1h30m"`, `"1.5h"`, `"500ms"`; `"0"` alone is zero. Rejects empty, negative, missing
/// or unknown units, whitespace, values finer than a nanosecond and values that do not fit a `Duration`.
pub fn parse_duration(value: &str) -> Result<Duration, String> {
    const EXAMPLES: &str = "e.g. \"30s\", \"5m\" or \"1h30m\"";
    if value.is_empty() {
        return Err(format!("\"\" is not a duration: it is empty; give one, {EXAMPLES}"));
    }
    if value.chars().any(char::is_whitespace) {
        let compact: String = value.chars().filter(|c| !c.is_whitespace()).collect();
        let hint = match parse_duration(&compact) {
            Ok(_) if !compact.is_empty() => format!(": did you mean {compact:?}?"),
            Err(e) => e.split_once("did you mean ").map(|(_, s)| format!(": did you mean {s}")).unwrap_or_default(),
            Ok(_) => String::new(),
        };
        return Err(format!("{value:?} is not a duration: it contains whitespace, remove it{hint}"));
    }
    if value.starts_with('-') {
        return Err(format!("{value:?} is negative; durations must be zero or positive, remove the '-'"));
    }
    let body = value.strip_prefix('+').unwrap_or(value);
    if body == "0" {
        return Ok(Duration::ZERO);
    }
    if body.is_empty() {
        return Err(format!("{value:?} is not a duration; {EXAMPLES}"));
    }
    let too_large = || format!("{value:?} is too large for a duration; use a smaller value");
    let mut rest = body;
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let num_len = rest.bytes().take_while(|b| b.is_ascii_digit() || *b == b'.').count();
        let (number, after) = rest.split_at(num_len);
        let unit_len = after.chars().take_while(|c| !c.is_ascii_digit() && *c != '.').map(char::len_utf8).sum();
        let (unit, next) = after.split_at(unit_len);
        rest = next;
        let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
        if (int_part.is_empty() && frac_part.is_empty()) || frac_part.contains('.') {
            let what = if number.is_empty() { format!("{unit:?} has no number before it") } else { format!("{number:?} is not a number") };
            return Err(format!("{value:?} is not a duration: {what}; {EXAMPLES}"));
        }
        let unit_nanos = match unit {
            "ms" => NANOS_PER_MS,
            "s" => NANOS_PER_S,
            "m" => NANOS_PER_M,
            "h" => NANOS_PER_H,
            "d" => NANOS_PER_D,
            "" => {
                return Err(if number == body {
                    format!("{value:?} has no unit; did you mean {:?}? (units: {DURATION_UNITS})", format!("{value}s"))
                } else {
                    format!("{value:?} is not a duration: {number:?} has no unit; add one of {DURATION_UNITS}")
                })
            }
            other => return Err(unknown_duration_unit(value, number, other)),
        };
        let int_value = if int_part.is_empty() { 0 } else { int_part.parse::<u128>().map_err(|_| too_large())? };
        let mut nanos = int_value.checked_mul(unit_nanos).ok_or_else(too_large)?;
        let frac = frac_part.trim_end_matches('0');
        if !frac.is_empty() {
            let too_precise = || format!("{value:?} is more precise than a nanosecond; round it");
            let digits = u32::try_from(frac.len()).map_err(|_| too_precise())?;
            let scale = 10u128.checked_pow(digits).ok_or_else(too_precise)?;
            let numerator = frac.parse::<u128>().map_err(|_| too_precise())?;
            let scaled = numerator.checked_mul(unit_nanos).ok_or_else(too_precise)?;
            if scaled % scale != 0 {
                return Err(too_precise());
            }
            nanos = nanos.checked_add(scaled / scale).ok_or_else(too_large)?;
        }
        total = total.checked_add(nanos).ok_or_else(too_large)?;
    }
    let secs = u64::try_from(total / NANOS_PER_S).map_err(|_| too_large())?;
    let sub = u32::try_from(total % NANOS_PER_S).map_err(|_| too_large())?;
    Ok(Duration::new(secs, sub))
}

fn unknown_duration_unit(value: &str, number: &str, unit: &str) -> String {
    let replacement = match unit.to_ascii_lowercase().as_str() {
        "sec" | "secs" | "second" | "seconds" => Some("s"),
        "min" | "mins" | "minute" | "minutes" => Some("m"),
        "hr" | "hrs" | "hour" | "hours" => Some("h"),
        "day" | "days" => Some("d"),
        "msec" | "msecs" | "millis" | "millisecond" | "milliseconds" => Some("ms"),
        "s" | "h" | "d" | "ms" => Some(match unit.to_ascii_lowercase().as_str() {
            "s" => "s",
            "h" => "h",
            "d" => "d",
            _ => "ms",
        }),
        _ => None,
    };
    if let Some(r) = replacement {
        return format!("{value:?} has the unknown unit {unit:?}; did you mean {:?}?", format!("{number}{r}"));
    }
    let hint = match unit {
        "ns" | "us" | "µs" | "μs" => "units below a millisecond are not supported, use a fraction such as \"0.5ms\"",
        "w" | "wk" | "week" | "weeks" => "weeks are not supported, use days such as \"7d\"",
        "y" | "yr" | "year" | "years" => "years are not supported, use days such as \"365d\"",
        _ => "",
    };
    if hint.is_empty() {
        format!("{value:?} has the unknown unit {unit:?}; use {DURATION_UNITS}, e.g. \"30s\" or \"1h30m\"")
    } else {
        format!("{value:?} has the unknown unit {unit:?}; {hint}")
    }
}

/// Formats a duration canonically so that [`parse_duration`] reads it back exactly: hours, minutes, seconds and
/// milliseconds with zero parts left out (`"1h30m"`, `"30s"`, `"500ms"`, `"1s500ms"`), `"0s"` for zero, and a
/// fraction of a millisecond for sub-millisecond parts (`"0.5ms"`).
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs();
    let (hours, minutes, seconds) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    let nanos = d.subsec_nanos();
    let mut out = String::new();
    if hours > 0 {
        out.push_str(&format!("{hours}h"));
    }
    if minutes > 0 {
        out.push_str(&format!("{minutes}m"));
    }
    if seconds > 0 {
        out.push_str(&format!("{seconds}s"));
    }
    if nanos > 0 {
        let (ms, sub) = (nanos / 1_000_000, nanos % 1_000_000);
        if sub == 0 {
            out.push_str(&format!("{ms}ms"));
        } else {
            let frac = format!("{sub:06}");
            out.push_str(&format!("{ms}.{}ms", frac.trim_end_matches('0')));
        }
    }
    if out.is_empty() {
        out.push_str("0s");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn err<T: std::fmt::Debug>(r: Result<T, String>) -> String {
        match r {
            Ok(v) => panic!("expected an error, got {v:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn dns_labels() {
        for ok in ["a", "my-app", "0", "a1-b2", &"a".repeat(63)] {
            assert_eq!(check_dns1123_label(ok), Ok(()), "{ok}");
        }
        assert_eq!(
            err(check_dns1123_label("Acme_Corp")),
            "\"Acme_Corp\" is not a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a \
             letter or digit, at most 63 characters); did you mean \"acme-corp\"?"
        );
        assert!(err(check_dns1123_label("-a")).contains("did you mean \"a\"?"));
        assert!(err(check_dns1123_label("my.app")).contains("did you mean \"my-app\"?"));
        assert!(err(check_dns1123_label("")).contains("it is empty"));
        assert!(err(check_dns1123_label(&"a".repeat(64))).contains(&format!("did you mean \"{}\"", "a".repeat(63))));
        assert!(err(check_dns1123_label("café")).contains("rename it"));
        assert!(err(check_dns1123_label("---")).contains("rename it"));
        assert_eq!(check_dns1123_label_max("abcde", 5), Ok(()));
        let e = err(check_dns1123_label_max("abcdef", 5));
        assert!(e.contains("at most 5 characters") && e.contains("did you mean \"abcde\"?"), "{e}");
        assert!(err(check_dns1123_label_max("abcd-ef", 5)).contains("did you mean \"abcd\"?"));
        assert!(check_dns1123_label_max("a", 0).is_err());
    }

    #[test]
    fn dns_subdomains() {
        for ok in ["a", "a.b", "my-app.example.com", &"a".repeat(63)] {
            assert_eq!(check_dns1123_subdomain(ok), Ok(()), "{ok}");
        }
        let long = ["a".repeat(63).as_str(); 4].join(".");
        assert_eq!(long.len(), 255);
        assert!(check_dns1123_subdomain(&long).is_err());
        for bad in ["", "A.b", "a..b", ".a", "a.", "a_b", "a.-b", &"a".repeat(64)] {
            assert!(check_dns1123_subdomain(bad).is_err(), "{bad}");
        }
        assert!(err(check_dns1123_subdomain("My_App.Example")).contains("did you mean \"my-app.example\"?"));
    }

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
    }

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

    #[test]
    fn image_references() {
        let digest = format!("sha256:{}", "a".repeat(64));
        let ok = [
            "nginx".to_string(),
            "nginx:1.27".to_string(),
            "library/nginx:latest".to_string(),
            "registry.example.com/team/app:1.0".to_string(),
            "registry.example.com:5000/team/app".to_string(),
            "localhost/app:dev".to_string(),
            "localhost:5000/app".to_string(),
            "[::1]:5000/app:v1".to_string(),
            "ghcr.io/org/my_app__x.y-z---w:V_1.2-rc".to_string(),
            format!("nginx@{digest}"),
            format!("nginx:1.27@{digest}"),
            format!("nginx@sha512:{}", "0".repeat(128)),
        ];
        for r in &ok {
            assert_eq!(check_image_reference(r), Ok(()), "{r}");
        }
        let cases = [
            ("", "it is empty"),
            ("nginx:", "tag after ':' is empty"),
            ("Nginx:1.0", "did you mean \"nginx:1.0\"?"),
            ("registry.example.com/Team/App:1", "did you mean \"registry.example.com/team/app:1\"?"),
            ("https://registry.example.com/app:1", "did you mean \"registry.example.com/app:1\"?"),
            (" nginx:1.27", "did you mean \"nginx:1.27\"?"),
            ("ngi nx", "whitespace"),
            ("nginx@sha256:abc", "digest"),
            ("nginx@sha256:", "digest"),
            ("nginx@", "digest"),
            ("nginx:-tag", "tag \"-tag\" is invalid"),
            ("a//b", "empty path component"),
            ("/a", "empty path component"),
            ("a/", "empty path component"),
            ("a..b", "invalid path component"),
            ("a___b", "invalid path component"),
            ("registry.example.com:port/app", "invalid port"),
            ("-bad.example.com/app", "not a valid host name"),
            ("registry.example.com/", "empty"),
            (":tag", "repository name is missing"),
        ];
        for (input, needle) in cases {
            let e = err(check_image_reference(input));
            assert!(e.contains(needle), "{input:?}: {e}");
        }
        assert!(err(check_image_reference(&format!("nginx@sha256:{}", "A".repeat(64)))).contains("digest"));
        assert!(err(check_image_reference(&format!("nginx:{}", "t".repeat(129)))).contains("tag"));
        assert!(err(check_image_reference(&"a".repeat(256))).contains("255"));
        assert!(!image_has_pinned_version("nginx"));
        assert!(!image_has_pinned_version("nginx:latest"));
        assert!(!image_has_pinned_version("Nginx:1.0"));
        assert!(image_has_pinned_version("nginx:1.27"));
        assert!(image_has_pinned_version("localhost:5000/app:1"));
        assert!(!image_has_pinned_version("localhost:5000/app"));
        assert!(image_has_pinned_version(&format!("nginx@{digest}")));
        assert!(image_has_pinned_version(&format!("nginx:latest@{digest}")));
    }

    #[test]
    fn cron_schedules() {
        for ok in [
            "* * * * *",
            "*/15 * * * *",
            "0 3 * * *",
            "0 0 1 1 *",
            "0,30 8-18/2 ? JAN-dec MON-FRI",
            "5/10 * * * sun",
            "0 0 * * 0-6",
            "59 23 31 12 6",
            "  0   3 * * *  ",
            "@yearly",
            "@annually",
            "@monthly",
            "@weekly",
            "@daily",
            "@midnight",
            "@hourly",
        ] {
            assert_eq!(check_cron_schedule(ok), Ok(()), "{ok}");
        }
        assert_eq!(err(check_cron_schedule("61 * * * *")), "\"61 * * * *\": minute field \"61\" is out of range 0-59");
        let cases = [
            ("", "it is empty"),
            ("TZ=Europe/Paris 0 3 * * *", "timeZone field"),
            ("CRON_TZ=UTC 0 3 * * *", "timeZone field"),
            ("@every 5m", "not a supported schedule macro"),
            ("@reboot", "not a supported schedule macro"),
            ("* * * *", "has 4 fields"),
            ("0 * * * * *", "seconds are not supported"),
            ("* 24 * * *", "hour field \"24\" is out of range 0-23"),
            ("* * 0 * *", "day-of-month field \"0\" is out of range 1-31"),
            ("* * * 13 *", "month field \"13\" is out of range 1-12"),
            ("* * * * 7", "use 0 for Sunday"),
            ("1,61 * * * *", "minute field \"1,61\" has \"61\", out of range 0-59"),
            ("*/0 * * * *", "at least 1"),
            ("*/x * * * *", "invalid step"),
            ("30-10 * * * *", "descending range \"30-10\""),
            ("? * * * *", "only allowed in the day-of-month and day-of-week"),
            ("1,,2 * * * *", "empty list entry"),
            ("MON * * * *", "invalid value \"MON\""),
            ("* * * FOO *", "invalid value \"FOO\""),
            ("99999999999999 * * * *", "out of range"),
            ("- * * * *", "invalid value"),
        ];
        for (input, needle) in cases {
            let e = err(check_cron_schedule(input));
            assert!(e.contains(needle), "{input:?}: {e}");
            assert!(e.starts_with(&format!("{input:?}")), "{input:?} not quoted first: {e}");
        }
    }

    #[test]
    fn durations() {
        let cases = [
            ("30s", Duration::from_secs(30)),
            ("5m", Duration::from_secs(300)),
            ("1h30m", Duration::from_secs(5400)),
            ("1.5h", Duration::from_secs(5400)),
            ("500ms", Duration::from_millis(500)),
            ("2d", Duration::from_secs(172_800)),
            ("0", Duration::ZERO),
            ("0s", Duration::ZERO),
            ("+1s", Duration::from_secs(1)),
            (".5s", Duration::from_millis(500)),
            ("1.s", Duration::from_secs(1)),
            ("0.5ms", Duration::from_micros(500)),
            ("1h1h", Duration::from_secs(7200)),
            ("1.000000000000000000000000000000000000000000s", Duration::from_secs(1)),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_duration(input), Ok(expected), "{input}");
        }
        let errors = [
            ("", "it is empty"),
            ("30", "did you mean \"30s\"?"),
            ("1h30", "\"30\" has no unit"),
            ("-5s", "negative"),
            ("5x", "unknown unit \"x\""),
            ("5sec", "did you mean \"5s\"?"),
            ("10 minutes", "did you mean \"10m\"?"),
            ("1h 30m", "did you mean \"1h30m\"?"),
            ("5us", "below a millisecond"),
            ("2w", "\"7d\""),
            ("s", "has no number"),
            ("1.2.3s", "not a number"),
            ("0.0000000001s", "more precise than a nanosecond"),
            ("99999999999999999999999999999999999999999h", "too large"),
            ("999999999999999999999h", "too large"),
            ("+", "not a duration"),
        ];
        for (input, needle) in errors {
            let e = err(parse_duration(input));
            assert!(e.contains(needle), "{input:?}: {e}");
        }
        assert_eq!(format_duration(Duration::ZERO), "0s");
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format_duration(Duration::from_secs(30)), "30s");
        assert_eq!(format_duration(Duration::from_millis(500)), "500ms");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1s500ms");
        assert_eq!(format_duration(Duration::from_nanos(1_500_000)), "1.5ms");
        assert_eq!(format_duration(Duration::from_nanos(1)), "0.000001ms");
        assert_eq!(format_duration(Duration::from_secs(90_000)), "25h");
    }

    fn any_checker(s: &str) {
        let _ = check_dns1123_label(s);
        let _ = check_dns1123_label_max(s, 10);
        let _ = check_dns1123_subdomain(s);
        let _ = check_label_key(s);
        let _ = check_label_value(s);
        let _ = check_hostname(s, true);
        let _ = check_hostname(s, false);
        let _ = check_image_reference(s);
        let _ = image_has_pinned_version(s);
        let _ = check_cron_schedule(s);
        let _ = parse_duration(s);
    }

    #[test]
    fn long_and_nested_inputs_stay_cheap() {
        for s in [
            "https://".repeat(10_000),
            "a.".repeat(50_000),
            "A.".repeat(50_000) + ":80",
            "a/".repeat(50_000),
            "1h".repeat(50_000),
            "*/1,".repeat(25_000),
            " ".repeat(100_000),
            "ö".repeat(50_000),
        ] {
            any_checker(&s);
        }
        assert!(err(check_image_reference("https://https://nginx")).contains("URL scheme"));
    }

    proptest! {
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn checkers_never_panic(s in "\\PC*") {
            any_checker(&s);
        }

        #[test]
        fn checkers_never_panic_on_near_misses(s in "[a-zA-Z0-9._:/@*?, -]{0,40}") {
            any_checker(&s);
        }

        #[test]
        fn valid_labels_pass(s in "[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?") {
            prop_assert_eq!(check_dns1123_label(&s), Ok(()));
            prop_assert_eq!(check_dns1123_subdomain(&s), Ok(()));
            prop_assert_eq!(check_label_value(&s), Ok(()));
            prop_assert_eq!(check_label_key(&s), Ok(()));
            prop_assert_eq!(check_hostname(&format!("{s}.example.com"), false), Ok(()));
        }

        #[test]
        fn valid_label_keys_pass(
            prefix in "([a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?\\.){0,3}[a-z]{2,10}",
            name in "[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?",
        ) {
            prop_assert_eq!(check_label_key(&format!("{prefix}/{name}")), Ok(()));
            prop_assert_eq!(check_label_value(&name), Ok(()));
        }

        #[test]
        fn fixed_up_labels_are_valid(s in "\\PC{0,80}") {
            if let Err(msg) = check_dns1123_label(&s) {
                if let Some((_, suggestion)) = msg.split_once("did you mean ") {
                    let inner = suggestion.trim_end_matches('?').trim_matches('"');
                    prop_assert_eq!(check_dns1123_label(inner), Ok(()));
                }
            }
        }

        #[test]
        fn valid_images_pass(
            repo in "[a-z0-9]{1,8}((\\.|_|__|-+)[a-z0-9]{1,8}){0,2}(/[a-z0-9]{1,8}){0,2}",
            tag in "[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}",
        ) {
            let bare = format!("library/{repo}");
            prop_assert_eq!(check_image_reference(&bare), Ok(()));
            let tagged = format!("registry.example.com:5000/{repo}:{tag}");
            prop_assert_eq!(check_image_reference(&tagged), Ok(()));
            prop_assert_eq!(image_has_pinned_version(&tagged), tag != "latest");
        }

        #[test]
        fn valid_crons_pass(
            minute in 0u32..60, hour in 0u32..24, dom in 1u32..32, month in 1u32..13, dow in 0u32..7, step in 1u32..100,
        ) {
            let schedule = format!("{minute}/{step} {hour} {dom} {month} {dow}");
            prop_assert_eq!(check_cron_schedule(&schedule), Ok(()));
        }

        #[test]
        fn durations_round_trip(secs in any::<u64>(), nanos in 0u32..1_000_000_000) {
            let d = Duration::new(secs, nanos);
            prop_assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }

        #[test]
        fn small_durations_round_trip(secs in 0u64..1_000_000, millis in 0u32..1000) {
            let d = Duration::new(secs, millis * 1_000_000);
            let text = format_duration(d);
            prop_assert!(!text.contains('.'));
            prop_assert_eq!(parse_duration(&text), Ok(d));
        }
    }
}
