//! Checks of DNS-1123 names (labels, subdomains, Secret names), and URLs with their credentials hidden.

/// Longest DNS-1123 label.
pub(super) const DNS1123_LABEL_MAX: usize = 63;
/// Longest DNS-1123 subdomain.
pub(super) const DNS1123_SUBDOMAIN_MAX: usize = 253;

fn is_dns_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
}

fn is_dns_edge(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// Whether `s` is a DNS-1123 label of at most `max` characters.
pub(super) fn is_dns1123_label(s: &str, max: usize) -> bool {
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
pub(super) fn is_dns1123_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= DNS1123_SUBDOMAIN_MAX && s.split('.').all(|l| is_dns1123_label(l, DNS1123_LABEL_MAX))
}

pub(super) fn fix_subdomain(s: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::err;

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
}
