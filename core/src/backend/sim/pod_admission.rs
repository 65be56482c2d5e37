//! The admission plugins that complete a Pod: ServiceAccount, Priority and DefaultTolerationSeconds.

use serde_json::{json, Value};

use super::admission::{forbidden, Denied};
use super::state::{self, State};
use super::util::{self, text};
use crate::backend::Kind;

/// Where the ServiceAccount plugin mounts the API token in every container.
const TOKEN_MOUNT_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
/// The prefix of the token volume's name (then 5 generated characters).
const TOKEN_VOLUME_PREFIX: &str = "kube-api-access-";
/// How long a projected token lives (the API server's `WarnOnlyBoundTokenExpirationSeconds`).
const TOKEN_EXPIRATION_SECONDS: i64 = 3607;
/// The taints a pod tolerates for a while by default (DefaultTolerationSeconds), and how long.
const DEFAULT_TOLERATED: [&str; 2] = ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"];
const DEFAULT_TOLERATION_SECONDS: i64 = 300;

/// What the Priority and DefaultTolerationSeconds plugins add to a Pod, on every write (an apply
/// that updates a pod keeps them): priority 0 and `PreemptLowerPriority` when it names no priority
/// class (there is no global default class here), and a 300 s toleration of a node that is not
/// ready or unreachable, unless it already tolerates that taint.
pub(super) fn priority_and_tolerations(pod: &mut Value) {
    if text(pod, "/spec/priorityClassName").is_empty() {
        if pod.pointer("/spec/priority").is_none_or(Value::is_null) {
            util::set(pod, &["spec".into(), "priority".into()], Value::from(0));
        }
        if pod.pointer("/spec/preemptionPolicy").is_none_or(Value::is_null) {
            util::set(pod, &["spec".into(), "preemptionPolicy".into()], Value::from("PreemptLowerPriority"));
        }
    }
    let mut tolerations = pod.pointer("/spec/tolerations").and_then(Value::as_array).cloned().unwrap_or_default();
    let before = tolerations.len();
    for taint in DEFAULT_TOLERATED {
        let tolerated = tolerations.iter().any(|t| {
            let (key, effect) = (text(t, "/key"), text(t, "/effect"));
            (key == taint || key.is_empty()) && (effect == "NoExecute" || effect.is_empty())
        });
        if !tolerated {
            tolerations.push(json!({"key": taint, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": DEFAULT_TOLERATION_SECONDS}));
        }
    }
    if tolerations.len() != before {
        util::set(pod, &["spec".into(), "tolerations".into()], Value::from(tolerations));
    }
}

/// The ServiceAccount plugin, on a pod's creation: its account (`default` unless it names one)
/// must exist in its namespace, or the pod is `Forbidden` (`error looking up service account
/// acme/web: serviceaccount "web" not found`); unless the pod or the account sets
/// `automountServiceAccountToken: false`, every container mounts the API token volume; a pod
/// without image pull secrets gets the account's.
pub(super) fn service_account(state: &State, kind: &Kind, namespace: &str, pod: &mut Value) -> Result<(), Denied> {
    let name = match text(pod, "/spec/serviceAccountName") {
        "" => "default".to_string(),
        named => named.to_string(),
    };
    util::set(pod, &["spec".into(), "serviceAccountName".into()], Value::from(name.as_str()));
    util::set(pod, &["spec".into(), "serviceAccount".into()], Value::from(name.as_str()));
    let Some(account) = state.get_key(&state::key("v1", "ServiceAccount", namespace, &name)) else {
        return Err(forbidden(kind, pod, &format!("error looking up service account {namespace}/{name}: serviceaccount {name:?} not found")));
    };
    let automount = [pod.pointer("/spec/automountServiceAccountToken"), account.get("automountServiceAccountToken")]
        .into_iter()
        .find_map(|v| v.and_then(Value::as_bool))
        .unwrap_or(true);
    if automount {
        mount_token(state, pod);
    }
    let has_pull_secrets = pod.pointer("/spec/imagePullSecrets").and_then(Value::as_array).is_some_and(|s| !s.is_empty());
    let account_secrets: Vec<Value> =
        account.get("imagePullSecrets").and_then(Value::as_array).into_iter().flatten().map(|s| json!({"name": text(s, "/name")})).collect();
    if !has_pull_secrets && !account_secrets.is_empty() {
        util::set(pod, &["spec".into(), "imagePullSecrets".into()], Value::from(account_secrets));
    }
    Ok(())
}

/// Mounts the API token volume in every container that has nothing at its path, adding the volume
/// (`kube-api-access-<5 chars>`) unless the pod has one.
fn mount_token(state: &State, pod: &mut Value) {
    let existing = pod
        .pointer("/spec/volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|v| text(v, "/name"))
        .find(|n| n.starts_with(TOKEN_VOLUME_PREFIX))
        .map(str::to_string);
    // The API server generates the 5 characters at random; here they come from the uid the pod
    // is about to get, so that the cluster's other generated names do not change.
    let hash = u64::from(util::fnv32(&state.peek_uid()));
    let volume = existing.clone().unwrap_or_else(|| {
        let suffix: String = (0..5).map(|i| util::alphanum(hash >> (i * 6))).collect();
        format!("{TOKEN_VOLUME_PREFIX}{suffix}")
    });
    let mut mounted = false;
    for list in ["initContainers", "containers"] {
        let Some(containers) = pod.pointer_mut(&format!("/spec/{list}")).and_then(Value::as_array_mut) else { continue };
        for container in containers.iter_mut().filter(|c| c.is_object()) {
            let has_mount =
                container.get("volumeMounts").and_then(Value::as_array).is_some_and(|ms| ms.iter().any(|m| text(m, "/mountPath") == TOKEN_MOUNT_PATH));
            if has_mount {
                continue;
            }
            util::push(container, &["volumeMounts"], json!({"name": volume, "readOnly": true, "mountPath": TOKEN_MOUNT_PATH}));
            mounted = true;
        }
    }
    if existing.is_none() && mounted {
        let source = json!({
            "name": volume,
            "projected": {
                "defaultMode": 420,
                "sources": [
                    {"serviceAccountToken": {"expirationSeconds": TOKEN_EXPIRATION_SECONDS, "path": "token"}},
                    {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                    {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
                ],
            },
        });
        util::push(pod, &["spec", "volumes"], source);
    }
}
