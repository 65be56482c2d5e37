//! Robustness of the simulated cluster: arbitrary objects never make it panic, and it stays consistent.

use std::time::Duration;

use futures_util::FutureExt;
use proptest::prelude::*;
use serde_json::{json, Map, Value};

use super::{Failure, ImageFailure, SimulatedCluster};
use crate::backend::{ApplyOptions, Backend, ConflictPolicy, Propagation, Selector};

/// Arbitrary JSON, biased towards what Kubernetes objects contain.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-3i64..10).prop_map(Value::from),
        "[a-z0-9./%:*-]{0,10}".prop_map(Value::from),
        prop_oneof![Just("100m"), Just("1Gi"), Just("25%"), Just("2"), Just("-1"), Just("1e3"), Just("9Ei")].prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("replicas".to_string()),
                    Just("selector".to_string()),
                    Just("template".to_string()),
                    Just("containers".to_string()),
                    Just("resources".to_string()),
                    Just("limits".to_string()),
                    Just("requests".to_string()),
                    Just("cpu".to_string()),
                    Just("memory".to_string()),
                    Just("hard".to_string()),
                    Just("spec".to_string()),
                    Just("metadata".to_string()),
                    Just("labels".to_string()),
                    Just("ports".to_string()),
                    Just("image".to_string()),
                    Just("strategy".to_string()),
                    "[a-zA-Z./]{1,8}",
                ],
                inner,
                0..5,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect::<Map<String, Value>>())),
        ]
    })
}

fn object() -> impl Strategy<Value = Value> {
    let kinds = prop_oneof![
        Just(("v1", "Pod")),
        Just(("apps/v1", "Deployment")),
        Just(("apps/v1", "ReplicaSet")),
        Just(("v1", "Service")),
        Just(("batch/v1", "Job")),
        Just(("v1", "ResourceQuota")),
        Just(("v1", "LimitRange")),
        Just(("v1", "Namespace")),
        Just(("v1", "ConfigMap")),
        Just(("discovery.k8s.io/v1", "EndpointSlice")),
        Just(("v1", "Node")),
        Just(("example.test/v1", "Widget")),
    ];
    (kinds, "[a-z]{1,4}", prop_oneof![Just("default"), Just("fz"), Just("")], json_value(), json_value(), any::<bool>()).prop_map(|((api, kind), name, ns, spec, labels, shaped)| {
        let spec = if shaped {
            json!({
                "replicas": spec.get("replicas").cloned().unwrap_or(json!(2)),
                "selector": {"matchLabels": {"app": "x"}},
                "template": {"metadata": {"labels": {"app": "x"}}, "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "img:1", "resources": spec.clone()}]}},
                "containers": [{"name": "c", "image": "crash:1", "resources": spec}],
                "hard": {"pods": "3", "limits.cpu": "1"},
                "limits": [{"type": "Container", "default": labels.clone(), "max": labels.clone()}],
                "ports": [{"port": 80, "targetPort": labels.clone()}],
            })
        } else {
            spec
        };
        json!({"apiVersion": api, "kind": kind, "metadata": {"name": name, "namespace": ns, "labels": labels}, "spec": spec})
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn arbitrary_objects_never_panic(objects in prop::collection::vec(object(), 1..8), force in any::<bool>(), seconds in 0u64..120) {
        let c = SimulatedCluster::new();
        c.inject(ImageFailure::new("crash:*", Failure::CrashLoop));
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fz"}});
        let options = ApplyOptions { conflicts: if force { ConflictPolicy::Force } else { ConflictPolicy::Fail }, ..ApplyOptions::default() };
        prop_assert!(c.apply(&[ns], &options).now_or_never().is_some());
        for object in &objects {
            let _ = c.apply(std::slice::from_ref(object), &ApplyOptions::dry_run()).now_or_never();
            let _ = c.apply(std::slice::from_ref(object), &options).now_or_never();
            let other = ApplyOptions { field_manager: "other".into(), ..options.clone() };
            let _ = c.apply(std::slice::from_ref(object), &other).now_or_never();
        }
        c.advance(Duration::from_secs(seconds));
        for kind in crate::backend::kind::known_kinds() {
            let listed = c.list(&kind, None, &Selector::all()).now_or_never();
            prop_assert!(matches!(listed, Some(Ok(_))));
        }
        for object in &objects {
            let kind = crate::backend::Kind::of_object(object);
            if let Some(kind) = kind {
                let name = object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
                let _ = c.delete(&kind, Some("default"), name, Propagation::Foreground).now_or_never();
            }
        }
        let _ = c.delete(&crate::backend::Kind::of::<k8s_openapi::api::core::v1::Namespace>(), None, "fz", Propagation::Background).now_or_never();
        c.advance(Duration::from_secs(5));
        // What was saved loads back identically.
        let saved = c.to_json();
        let loaded = SimulatedCluster::from_json(saved.clone());
        prop_assert!(loaded.is_ok_and(|l| l.to_json() == saved));
    }

    #[test]
    fn arbitrary_selectors_never_panic(labels in "[a-z!=(), ]{0,24}", fields in "[a-zA-Z.!=,]{0,24}") {
        let c = SimulatedCluster::new();
        let selector = Selector { labels: Some(labels), fields: Some(fields), ..Selector::default() };
        for kind in crate::backend::kind::known_kinds() {
            prop_assert!(c.list(&kind, None, &selector).now_or_never().is_some());
            prop_assert!(c.watch(&kind, None, &selector).now_or_never().is_some());
        }
    }
}

/// One step of a random scenario.
#[derive(Debug, Clone)]
enum Step {
    Deploy { name: u8, replicas: i64, image: u8 },
    Scale { name: u8, replicas: i64 },
    Delete { name: u8, propagation: u8 },
    Quota { pods: u8 },
    Sleep { millis: u64 },
    Inject { image: u8, failure: u8 },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0u8..3, 0i64..5, 0u8..4).prop_map(|(name, replicas, image)| Step::Deploy { name, replicas, image }),
        (0u8..3, 0i64..6).prop_map(|(name, replicas)| Step::Scale { name, replicas }),
        (0u8..3, 0u8..3).prop_map(|(name, propagation)| Step::Delete { name, propagation }),
        (0u8..8).prop_map(|pods| Step::Quota { pods }),
        (0u64..20_000).prop_map(|millis| Step::Sleep { millis }),
        (0u8..4, 0u8..3).prop_map(|(image, failure)| Step::Inject { image, failure }),
    ]
}

fn run(steps: &[Step]) -> Value {
    let c = SimulatedCluster::new();
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "d"}});
    let _ = c.apply(&[ns], &ApplyOptions::default()).now_or_never();
    let deployment = |name: u8, replicas: i64, image: u8| {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": format!("app{name}"), "namespace": "d"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": format!("app{name}")}},
                "template": {"metadata": {"labels": {"app": format!("app{name}")}}, "spec": {"containers": [{"name": "c", "image": format!("img:{image}"),
                    "resources": {"limits": {"cpu": "100m", "memory": "64Mi"}}}]}}},
        })
    };
    let mut images = [0u8; 3];
    let kind = |k: &str| crate::backend::kind::known_kinds().into_iter().find(|x| x.kind == k);
    for step in steps {
        match step {
            Step::Deploy { name, replicas, image } => {
                images[usize::from(*name) % 3] = *image;
                let _ = c.apply(&[deployment(*name, *replicas, *image)], &ApplyOptions::default()).now_or_never();
            }
            Step::Scale { name, replicas } => {
                let _ = c.apply(&[deployment(*name, *replicas, images[usize::from(*name) % 3])], &ApplyOptions::default()).now_or_never();
            }
            Step::Delete { name, propagation } => {
                let p = [Propagation::Background, Propagation::Foreground, Propagation::Orphan][usize::from(*propagation) % 3];
                if let Some(k) = kind("Deployment") {
                    let _ = c.delete(&k, Some("d"), &format!("app{name}"), p).now_or_never();
                }
            }
            Step::Quota { pods } => {
                let q = json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q", "namespace": "d"}, "spec": {"hard": {"pods": pods.to_string()}}});
                let _ = c.apply(&[q], &ApplyOptions::default()).now_or_never();
            }
            Step::Sleep { millis } => c.advance(Duration::from_millis(*millis)),
            Step::Inject { image, failure } => {
                let f = [Failure::PullError, Failure::CrashLoop, Failure::NeverReady][usize::from(*failure) % 3];
                c.inject(ImageFailure::new(&format!("img:{image}"), f));
            }
        }
    }
    c.advance(Duration::from_secs(30));
    c.to_json()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Same calls, same cluster: every random scenario gives identical JSON when run twice, and the
    /// quota's `status.used.pods` is the number of pods in the namespace.
    #[test]
    fn random_scenarios_are_deterministic(steps in prop::collection::vec(step(), 1..14)) {
        let first = run(&steps);
        let second = run(&steps);
        prop_assert_eq!(&first, &second);
        let objects = first.get("objects").and_then(Value::as_object).cloned().unwrap_or_default();
        let pods = objects.keys().filter(|k| k.starts_with("v1|Pod|d|")).count();
        if let Some(q) = objects.get("v1|ResourceQuota|d|q") {
            let used = q.pointer("/status/used/pods").and_then(Value::as_str).map(str::to_string);
            prop_assert_eq!(used, Some(pods.to_string()));
        }
    }
}
