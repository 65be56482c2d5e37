//! The cluster backend's error variants against a real API server: conflict with another field
//! manager (and force), quota refusal, unknown fields and invalid objects, missing CRDs (apply
//! and watch), not found, forbidden; plus Created / Updated / Unchanged and dry run.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams};
use moorage::backend::cluster::ClusterBackend;
use moorage::backend::{ApplyOptions, Backend, BackendError, Change, Kind, Propagation, Selector};
use serde_json::json;

fn configmap(ns: &str, name: &str, value: &str) -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": {"k": value}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_and_changes_on_a_real_api_server() -> anyhow::Result<()> {
    let Some(config) = moorage_tests::real_cluster_config().await else { return Ok(()) };
    let backend = ClusterBackend::from_config(config.clone())?;
    let ns = format!("errors-{}", moorage_tests::random_suffix());
    let namespace = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
    let configmaps = Kind::custom("v1", "ConfigMap", "configmaps", true);

    // Created, Unchanged, Updated; dry run changes nothing
    let created = backend.apply(&[namespace.clone(), configmap(&ns, "cm", "a")], &ApplyOptions::default()).await?;
    assert_eq!(created.iter().map(|a| a.change).collect::<Vec<_>>(), [Change::Created, Change::Created]);
    let again = backend.apply(&[namespace.clone(), configmap(&ns, "cm", "a")], &ApplyOptions::default()).await?;
    assert_eq!(again.iter().map(|a| a.change).collect::<Vec<_>>(), [Change::Unchanged, Change::Unchanged]);
    let dry = backend.apply(&[configmap(&ns, "cm", "b")], &ApplyOptions::dry_run()).await?;
    assert_eq!(dry[0].change, Change::Updated);
    let dry_new = backend.apply(&[configmap(&ns, "other", "b")], &ApplyOptions::dry_run()).await?;
    assert_eq!(dry_new[0].change, Change::Created);
    assert!(backend.get(&configmaps, Some(&ns), "other").await?.is_none(), "a dry run creates nothing");
    let got = backend.get(&configmaps, Some(&ns), "cm").await?.expect("cm exists");
    assert_eq!(got["data"]["k"], "a", "a dry run changes nothing");
    assert_eq!(got["kind"], "ConfigMap");
    let updated = backend.apply(&[configmap(&ns, "cm", "b")], &ApplyOptions::default()).await?;
    assert_eq!(updated[0].change, Change::Updated);

    // Conflict: someone edits a field moorage owns; apply fails, force takes it back
    let client = kube::Client::try_from(config.clone())?;
    let edit = PatchParams { field_manager: Some("kubectl-edit".into()), ..PatchParams::default() };
    Api::<ConfigMap>::namespaced(client, &ns).patch("cm", &edit, &Patch::Merge(json!({"data": {"k": "edited"}}))).await?;
    match backend.apply(&[configmap(&ns, "cm", "b")], &ApplyOptions::default()).await {
        Err(BackendError::Conflict { field, manager, object }) => {
            assert_eq!((field.as_str(), manager.as_str()), (".data.k", "kubectl-edit"));
            assert_eq!(object.name, "cm");
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    let forced = backend.apply(&[configmap(&ns, "cm", "b")], &ApplyOptions::force()).await?;
    assert_eq!(forced[0].change, Change::Updated);
    assert_eq!(forced[0].result["data"]["k"], "b");

    // Unknown fields and invalid objects. moorage applies with fieldValidation=Ignore
    // (APPLY_FIELD_VALIDATION): a server-side apply still refuses a field the schema lacks.
    let mut unknown_field = configmap(&ns, "strict", "a");
    unknown_field["spec"] = json!({"bogus": 1});
    let e = backend.apply(&[unknown_field], &ApplyOptions::default()).await.expect_err("unknown field");
    assert!(matches!(e, BackendError::Invalid { .. }), "{e:?}");
    let bad_port = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "bad", "namespace": ns}, "spec": {"ports": [{"port": 0}]}});
    match backend.apply(&[bad_port], &ApplyOptions::default()).await {
        Err(BackendError::Invalid { causes, .. }) => assert!(causes.iter().any(|c| c.field.contains("port")), "{causes:?}"),
        other => panic!("expected invalid, got {other:?}"),
    }

    // Quota: the second pod is refused with the quota's figures
    let quota = json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q", "namespace": ns}, "spec": {"hard": {"pods": "1"}}});
    let pod = |name: &str| json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}});
    backend.apply(&[quota], &ApplyOptions::default()).await?;
    // the quota controller fills in the usage before admission counts pods
    moorage_tests::wait_for("quota status", moorage_tests::WAIT, || async {
        let q = backend.get(&Kind::custom("v1", "ResourceQuota", "resourcequotas", true), Some(&ns), "q").await?;
        Ok(q.filter(|q| q.pointer("/status/hard/pods").is_some()).map(|_| ()))
    })
    .await?;
    backend.apply(&[pod("p1")], &ApplyOptions::default()).await?;
    match backend.apply(&[pod("p2")], &ApplyOptions::default()).await {
        Err(BackendError::QuotaExceeded { quota, resource, requested, used, limit, object }) => {
            assert_eq!((quota.as_str(), resource.as_str(), requested.as_str(), used.as_str(), limit.as_str()), ("q", "pods", "1", "1", "1"));
            assert_eq!(object.name, "p2");
        }
        other => panic!("expected quota exceeded, got {other:?}"),
    }

    // Missing CRDs: apply resolves kinds by discovery; list and watch report the same. The test
    // control plane installs prometheus-operator's ServiceMonitor, PodMonitor and PrometheusRule,
    // not its Probe.
    let monitor = json!({"apiVersion": "monitoring.coreos.com/v1", "kind": "Probe", "metadata": {"name": "m", "namespace": ns}, "spec": {}});
    match backend.apply(&[monitor], &ApplyOptions::default()).await {
        Err(BackendError::MissingKind { kind, hint, .. }) => {
            assert_eq!(kind, "Probe");
            assert!(hint.contains("Prometheus Operator"), "{hint}");
        }
        other => panic!("expected a missing kind, got {other:?}"),
    }
    let monitors = Kind::custom("monitoring.coreos.com/v1", "Probe", "probes", true);
    assert!(matches!(backend.list(&monitors, Some(&ns), &Selector::all()).await, Err(BackendError::MissingKind { .. })));
    // The watch lists first, so it is refused at once (as on the simulated cluster).
    let watch = backend.watch(&monitors, Some(&ns), &Selector::all()).await;
    assert!(matches!(watch, Err(BackendError::MissingKind { .. })), "{:?}", watch.err());

    // Not found
    assert!(backend.get(&configmaps, Some(&ns), "nope").await?.is_none());
    assert!(!backend.delete(&configmaps, Some(&ns), "nope", Propagation::Background).await?);
    let e = backend.apply(&[configmap("no-such-namespace-x", "cm", "a")], &ApplyOptions::default()).await.expect_err("no namespace");
    assert!(matches!(e, BackendError::NotFound { .. }), "{e:?}");

    // Forbidden: a user with no rights
    let nobody = ClusterBackend::from_client(moorage_tests::impersonating_client(&config, "nobody@example.test", &[])?);
    let e = nobody.get(&configmaps, Some(&ns), "cm").await.expect_err("forbidden");
    assert!(matches!(e, BackendError::Forbidden { ref message, .. } if message.contains("nobody")), "{e:?}");

    // Selectors
    let labelled = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "labelled", "namespace": ns, "labels": {"tier": "x"}}, "data": {}});
    backend.apply(&[labelled], &ApplyOptions::default()).await?;
    assert_eq!(backend.list(&configmaps, Some(&ns), &Selector::labels("tier=x")).await?.len(), 1);
    assert_eq!(backend.list(&configmaps, Some(&ns), &Selector::name("cm")).await?.len(), 1);

    let namespaces = Kind::custom("v1", "Namespace", "namespaces", false);
    assert!(backend.delete(&namespaces, None, &ns, Propagation::Foreground).await?);
    Ok(())
}
