//! Checks of OCI image references.

use std::net::Ipv6Addr;

use super::names::redact_userinfo;

/// Longest image name (registry and repository path, without tag or digest).
const IMAGE_NAME_MAX: usize = 255;
/// Longest image tag.
const IMAGE_TAG_MAX: usize = 128;

/// The parts of a syntactically valid image reference.
struct ImageRef<'a> {
    tag: Option<&'a str>,
    digest: Option<&'a str>,
}

/// Checks an OCI/Docker image reference (`nginx`, `nginx:1.27`, `registry.example.com:5000/team/app@sha256:…`):
/// an optional registry host (with an optional `:port`), lowercase repository path components, an optional `:tag` and an optional
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::err;

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
}
