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

use crate::backend::{Applied, ApplyOptions, Backend, Change, Propagation, Selector};
use crate::labels;
use crate::model::tenant::Tenant;

use super::{namespace_kind, tenant_label, text, TenantError, DOMAINS_ANNOTATION, SPEC_ANNOTATION};

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
    refuse_clashes(backend, tenant, &wanted, None).await
}

/// [`check_domains`] for the domains `wanted` (lowercase) only, reading Namespaces at least as
/// recent as the resourceVersion `not_older_than` (`None`: the most recent).
async fn refuse_clashes(backend: &dyn Backend, tenant: &Tenant, wanted: &BTreeSet<String>, not_older_than: Option<&str>) -> Result<(), TenantError> {
    if wanted.is_empty() {
        return Ok(());
    }
    let kind = namespace_kind();
    let lists = candidate_selectors(wanted).into_iter().map(|labels| {
        let kind = &kind;
        let selector = match not_older_than {
            Some(version) => Selector::labels(labels).not_older_than(version),
            None => Selector::labels(labels),
        };
        async move { backend.list(kind, None, &selector).await }
    });
    // By name, as one list of every tenant would give them: the first clash reported is the same.
    let mut candidates = BTreeMap::new();
    for ns in futures_util::future::try_join_all(lists).await?.into_iter().flatten() {
        candidates.insert(text(&ns, "/metadata/name").to_string(), ns);
    }
    for (name, ns) in &candidates {
        let holder = tenant_label(ns).unwrap_or(name);
        // A tenant being deleted (its Namespace terminating) no longer holds its domains.
        if name == tenant.namespace() || holder == tenant.name() || crate::backend::being_deleted(ns) {
            continue;
        }
        for domain in held_domains(ns) {
            if let Some(claimed) = wanted.iter().find(|w| domains_overlap(w, &domain)) {
                return Err(TenantError::DomainTaken { domain: claimed.clone(), holder: holder.to_string() });
            }
        }
    }
    Ok(())
}

/// The domains a tenant Namespace holds (its [`DOMAINS_ANNOTATION`]), lowercase.
fn held_domains(ns: &Value) -> BTreeSet<String> {
    let held = ns.pointer("/metadata/annotations").and_then(|a| a.get(DOMAINS_ANNOTATION)).and_then(Value::as_str).unwrap_or_default();
    held.split(',').map(|d| d.trim().to_ascii_lowercase()).filter(|d| !d.is_empty()).collect()
}

/// Claims the domains of `tenant` that its live Namespace (`live`, read before the apply) does not
/// hold yet, so that two tenants applying the same domain at the same instant, from two processes,
/// never both get it.
///
/// The checks before the apply ([`check_domains`]) and the writes are two steps; this closes the gap
/// by writing first and checking again: the tenant's Namespace (`namespace`, which carries the
/// domains' labels) is applied alone, then every backend of `scope` is asked again for the new
/// domains: the cluster written at least as recent as the claim's resourceVersion, the others at
/// their most recent state. Of two racing claims on one cluster, the later write (in the cluster's
/// revision order) is listed after the earlier one and backs off; on two clusters, the second
/// check of the later writer runs after the earlier write (both may back off, never neither).
/// Backing off puts the Namespace back as it was (a Namespace this call created is deleted; one
/// that existed gets its previous spec's domains again) and returns
/// [`TenantError::DomainContended`], so nothing of the refused claim stays. Returns the
/// Namespace's apply when there was something to claim.
pub(crate) async fn claim_new_domains(
    backend: &dyn Backend,
    scope: &[&dyn Backend],
    tenant: &Tenant,
    live: Option<&Value>,
    namespace: &Value,
    options: &ApplyOptions,
) -> Result<Option<Applied>, TenantError> {
    let held = live.filter(|ns| tenant_label(ns) == Some(tenant.name())).map(held_domains).unwrap_or_default();
    let new: BTreeSet<String> = tenant.spec().domains.iter().map(|d| d.to_ascii_lowercase()).filter(|d| !held.contains(d)).collect();
    if new.is_empty() {
        return Ok(None);
    }
    let claimed = backend.apply(std::slice::from_ref(namespace), options).await?.into_iter().next();
    // On the cluster written, a list at least as recent as the claim suffices (and the API server
    // serves it from its cache: a list read through to etcd right after a write took ~60 ms there
    // against ~3 ms); other clusters are read at their most recent state.
    let written = claimed.as_ref().map(|a| text(&a.result, "/metadata/resourceVersion")).filter(|v| !v.is_empty());
    for other in scope {
        let not_older_than = if std::ptr::addr_eq(*other, backend) { written } else { None };
        if let Err(refused) = refuse_clashes(*other, tenant, &new, not_older_than).await {
            tracing::warn!(tenant = tenant.name(), error = %refused, "domain claim backed off: putting the tenant's Namespace back as it was");
            let created = claimed.as_ref().is_some_and(|a| a.change == Change::Created);
            release_claim(backend, tenant, live, created, namespace, options).await?;
            return Err(match refused {
                TenantError::DomainTaken { domain, holder } => TenantError::DomainContended { domain, rival: holder },
                other => other,
            });
        }
    }
    Ok(claimed)
}

/// Undoes a claim: deletes the Namespace when the claim `created` it, else applies it again as the
/// previous apply wrote it (its domains, their labels, the spec it recorded; without a readable
/// spec, the new Namespace with the previous claims, or with none when `live` was read absent).
async fn release_claim(
    backend: &dyn Backend,
    tenant: &Tenant,
    live: Option<&Value>,
    created: bool,
    namespace: &Value,
    options: &ApplyOptions,
) -> Result<(), TenantError> {
    if created {
        backend.delete(&namespace_kind(), None, tenant.namespace(), Propagation::Background).await?;
        return Ok(());
    }
    let unclaimed = Value::Object(Default::default());
    let before = live.unwrap_or(&unclaimed);
    let rebuilt = super::recorded_tenant(before, tenant.name())
        .and_then(|previous| super::tenant_objects(&previous))
        .ok()
        .and_then(|objects| super::keep_placement(live, objects).into_iter().find(|o| text(o, "/kind") == "Namespace"));
    backend.apply(&[rebuilt.unwrap_or_else(|| with_claims_of(namespace, before))], options).await?;
    Ok(())
}

/// `namespace` with the domain labels and the annotations of domains and spec that `live` carries
/// (none of them when `live` has none).
fn with_claims_of(namespace: &Value, live: &Value) -> Value {
    let mut out = namespace.clone();
    let held: Vec<String> = held_domains(live).into_iter().collect();
    if let Some(meta) = out.get_mut("metadata").and_then(Value::as_object_mut) {
        if let Some(l) = meta.entry("labels").or_insert_with(|| Value::Object(Default::default())).as_object_mut() {
            l.retain(|key, _| !key.starts_with(DOMAIN_LABEL_PREFIX) && !key.starts_with(PARENT_LABEL_PREFIX));
            l.extend(domain_labels(&held).into_iter().map(|(k, v)| (k, Value::from(v))));
        }
        if let Some(a) = meta.entry("annotations").or_insert_with(|| Value::Object(Default::default())).as_object_mut() {
            for key in [DOMAINS_ANNOTATION, SPEC_ANNOTATION] {
                match live.pointer("/metadata/annotations").and_then(|l| l.get(key)) {
                    Some(before) => a.insert(key.to_string(), before.clone()),
                    None => a.remove(key),
                };
            }
        }
    }
    out
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
    fn a_claim_without_a_recorded_spec_is_put_back_to_the_live_claims() {
        let namespace = |domains: &[&str], annotations: Value| {
            let domains: Vec<String> = domains.iter().map(|d| d.to_string()).collect();
            let mut labels = serde_json::Map::from_iter([("team".to_string(), Value::from("blue"))]);
            labels.extend(domain_labels(&domains).into_iter().map(|(k, v)| (k, Value::from(v))));
            serde_json::json!({"kind": "Namespace", "metadata": {"name": "acme", "labels": labels, "annotations": annotations}})
        };
        let claimed = namespace(
            &["old.acme.test", "new.acme.test"],
            serde_json::json!({DOMAINS_ANNOTATION: "old.acme.test,new.acme.test", SPEC_ANNOTATION: "{}", "note": "kept"}),
        );
        let live = namespace(&["old.acme.test"], serde_json::json!({DOMAINS_ANNOTATION: "old.acme.test"}));
        let put_back = with_claims_of(&claimed, &live);
        assert_eq!(put_back["metadata"]["labels"], live["metadata"]["labels"]);
        assert_eq!(put_back["metadata"]["annotations"], serde_json::json!({DOMAINS_ANNOTATION: "old.acme.test", "note": "kept"}));
        // Read absent: no claim at all is left.
        let none = with_claims_of(&claimed, &Value::Object(Default::default()));
        assert_eq!(none["metadata"]["labels"], serde_json::json!({"team": "blue", DOMAINS_INDEXED: "v1"}));
        assert_eq!(none["metadata"]["annotations"], serde_json::json!({"note": "kept"}));
    }

    #[test]
    fn label_keys_are_valid_kubernetes_label_keys() {
        for key in domain_labels(&["shop.acme.test".into(), "*.acme.test".into()]).keys() {
            let (prefix, name) = key.split_once('/').expect("a prefixed key");
            assert!(prefix.len() <= 253 && name.len() <= 63 && crate::checks::check_label_key(key).is_ok(), "{key}");
        }
    }
}
