//! Domain ownership between tenants: the labels that index each tenant's domains, and the check that refuses a domain another tenant holds.
//!
//! A tenant's domains are recorded on its Namespace twice: in full in the
//! [`DOMAINS_ANNOTATION`](super::DOMAINS_ANNOTATION) annotation, and as labels whose keys end with
//! a hash of each domain ([`DOMAIN_LABEL_PREFIX`]) and of its parent ([`PARENT_LABEL_PREFIX`]:
//! `acme.test` for `shop.acme.test`). [`check_domains`] asks the cluster only for the Namespaces
//! that carry one of the labels a clash would need (the same domain, the wildcard that covers a
//! host, the hosts a wildcard covers), so applying a tenant costs the same with ten tenants or ten
//! thousand; the annotation then decides, so a hash collision can never refuse a domain.
//! Namespaces applied before the labels existed (without [`DOMAINS_INDEXED`]) are read in full.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::backend::{Backend, Selector};
use crate::labels;
use crate::model::tenant::Tenant;

use super::{namespace_kind, text, TenantError, DOMAINS_ANNOTATION};

/// Prefix of the label a tenant's Namespace carries for each of its domains; the key ends with 16
/// hex digits of the domain's SHA-256 (`domain.moorage.dev/3f2a…`).
pub const DOMAIN_LABEL_PREFIX: &str = "domain.moorage.dev/";
/// Prefix of the label a tenant's Namespace carries for the parent of each of its domains (what
/// follows the first label: `acme.test` for `shop.acme.test` and for `*.acme.test`), which finds
/// the hosts a wildcard covers.
pub const PARENT_LABEL_PREFIX: &str = "parent.domain.moorage.dev/";
/// Label on every tenant Namespace whose domains are indexed by the labels above (value `v1`).
pub const DOMAINS_INDEXED: &str = "moorage.dev/domains-indexed";

/// The key end of a domain's labels: 16 hex digits of the SHA-256 of its lowercase form.
fn digest(domain: &str) -> String {
    Sha256::digest(domain.to_ascii_lowercase().as_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// What follows a domain's first label (`acme.test` for `shop.acme.test` and `*.acme.test`).
fn parent(domain: &str) -> Option<&str> {
    domain.split_once('.').map(|(_, rest)| rest).filter(|rest| !rest.is_empty())
}

/// The labels that index `domains` on a tenant's Namespace (always [`DOMAINS_INDEXED`], also for
/// a tenant without domains, so that only Namespaces applied before the index are read in full).
pub fn domain_labels(domains: &[String]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::from([(DOMAINS_INDEXED.to_string(), "v1".to_string())]);
    for domain in domains {
        out.insert(format!("{DOMAIN_LABEL_PREFIX}{}", digest(domain)), "true".into());
        if let Some(parent) = parent(domain) {
            out.insert(format!("{PARENT_LABEL_PREFIX}{}", digest(parent)), "true".into());
        }
    }
    out
}

/// The label selectors of the Namespaces that may hold a domain clashing with one of `wanted`:
/// the same domain; for a host, the wildcard over it; for a wildcard, the hosts under it. And the
/// Namespaces applied before the index.
fn candidate_selectors(wanted: &BTreeSet<String>) -> BTreeSet<String> {
    let managed = format!("{}={}", labels::MANAGED_BY, labels::MANAGER);
    let mut out = BTreeSet::from([format!("{managed},!{DOMAINS_INDEXED}")]);
    for domain in wanted {
        out.insert(format!("{managed},{DOMAIN_LABEL_PREFIX}{}", digest(domain)));
        match (domain.strip_prefix("*."), parent(domain)) {
            (Some(suffix), _) => {
                out.insert(format!("{managed},{PARENT_LABEL_PREFIX}{}", digest(suffix)));
            }
            (None, Some(parent)) => {
                out.insert(format!("{managed},{DOMAIN_LABEL_PREFIX}{}", digest(&format!("*.{parent}"))));
            }
            (None, None) => {}
        }
    }
    out
}

/// Refuses a domain of `tenant` that another moorage tenant of the cluster holds, or that overlaps
/// one through a wildcard ([`domains_overlap`]). Reads only: a few lists by label, each returning
/// only the Namespaces that may clash.
pub async fn check_domains(backend: &dyn Backend, tenant: &Tenant) -> Result<(), TenantError> {
    let wanted: BTreeSet<String> = tenant.spec().domains.iter().map(|d| d.to_ascii_lowercase()).collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let kind = namespace_kind();
    let lists = candidate_selectors(&wanted).into_iter().map(|labels| {
        let kind = &kind;
        async move { backend.list(kind, None, &Selector::labels(labels)).await }
    });
    // By name, as one list of every tenant would give them: the first clash reported is the same.
    let mut candidates = BTreeMap::new();
    for ns in futures_util::future::try_join_all(lists).await?.into_iter().flatten() {
        candidates.insert(text(&ns, "/metadata/name").to_string(), ns);
    }
    for (name, ns) in &candidates {
        let holder = ns.pointer("/metadata/labels").and_then(|l| l.get(labels::TENANT)).and_then(Value::as_str).unwrap_or(name);
        if name == tenant.namespace() || holder == tenant.name() {
            continue;
        }
        let held = ns.pointer("/metadata/annotations").and_then(|a| a.get(DOMAINS_ANNOTATION)).and_then(Value::as_str).unwrap_or_default();
        for domain in held.split(',').map(|d| d.trim().to_ascii_lowercase()).filter(|d| !d.is_empty()) {
            if let Some(claimed) = wanted.iter().find(|w| domains_overlap(w, &domain)) {
                return Err(TenantError::DomainTaken { domain: claimed.clone(), holder: holder.to_string() });
            }
        }
    }
    Ok(())
}

/// Whether two domains can serve the same host: equal, or one a wildcard (`*.example.com`) that
/// covers the other (`shop.example.com`). A tenant holding `*.example.com` keeps every host directly
/// under it; a tenant holding `shop.example.com` keeps it from another's wildcard.
pub fn domains_overlap(a: &str, b: &str) -> bool {
    let covers = |wildcard: &str, host: &str| {
        wildcard.strip_prefix("*.").is_some_and(|suffix| {
            host.strip_suffix(suffix).and_then(|head| head.strip_suffix('.')).is_some_and(|label| !label.is_empty() && !label.contains('.'))
        })
    };
    a == b || covers(a, b) || covers(b, a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_overlap_the_hosts_directly_under_them() {
        assert!(domains_overlap("shop.acme.test", "shop.acme.test"));
        assert!(domains_overlap("*.acme.test", "shop.acme.test"));
        assert!(domains_overlap("shop.acme.test", "*.acme.test"));
        assert!(domains_overlap("*.acme.test", "*.acme.test"));
        assert!(!domains_overlap("*.acme.test", "acme.test"), "a wildcard does not cover its apex");
        assert!(!domains_overlap("*.acme.test", "a.shop.acme.test"), "nor hosts two levels down");
        assert!(!domains_overlap("*.acme.test", "shopacme.test"));
        assert!(!domains_overlap("*.shop.acme.test", "*.acme.test"));
        assert!(!domains_overlap("shop.acme.test", "shop.globex.test"));
    }

    /// Whether a Namespace labelled for `held` is returned by one of the selectors for `wanted`
    /// (the label part of each selector: every key it requires is present).
    fn found(held: &[&str], wanted: &str) -> bool {
        let labels = domain_labels(&held.iter().map(|d| d.to_string()).collect::<Vec<_>>());
        let wanted = BTreeSet::from([wanted.to_string()]);
        candidate_selectors(&wanted).iter().any(|s| {
            s.split(',').skip(1).all(|req| match req.strip_prefix('!') {
                Some(key) => !labels.contains_key(key),
                None => labels.contains_key(req),
            })
        })
    }

    #[test]
    fn every_overlap_is_found_by_a_label_selector() {
        let domains = ["shop.acme.test", "*.acme.test", "acme.test", "a.shop.acme.test", "*.shop.acme.test", "shop.globex.test", "*.test", "SHOP.Acme.test"];
        for held in domains {
            for wanted in domains {
                let (held_lc, wanted_lc) = (held.to_ascii_lowercase(), wanted.to_ascii_lowercase());
                if domains_overlap(&held_lc, &wanted_lc) {
                    assert!(found(&[held], &wanted_lc), "{wanted} clashes with {held} but no selector finds it");
                }
            }
        }
        // Unrelated domains are not candidates (the lists stay small).
        assert!(!found(&["shop.globex.test"], "shop.acme.test"));
        assert!(!found(&["a.shop.acme.test"], "*.acme.test"));
    }

    #[test]
    fn namespaces_before_the_index_are_always_candidates() {
        let selectors = candidate_selectors(&BTreeSet::from(["shop.acme.test".to_string()]));
        assert!(selectors.contains(&format!("{}={},!{DOMAINS_INDEXED}", labels::MANAGED_BY, labels::MANAGER)), "{selectors:?}");
        assert_eq!(domain_labels(&[]), BTreeMap::from([(DOMAINS_INDEXED.to_string(), "v1".to_string())]));
    }

    #[test]
    fn label_keys_are_valid_kubernetes_label_keys() {
        for key in domain_labels(&["shop.acme.test".into(), "*.acme.test".into()]).keys() {
            let (prefix, name) = key.split_once('/').expect("a prefixed key");
            assert!(prefix.len() <= 253 && name.len() <= 63 && crate::checks::check_label_key(key).is_ok(), "{key}");
        }
    }
}
