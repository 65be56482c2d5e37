//! The `both_backends!` macro: one test case run on the simulated cluster and on the real control plane.

/// Declares, for each case `cases::<name>(backend: &dyn Backend, namespace: &str)` of the calling
/// test file, one test on the simulated cluster (namespace `acme`) and one on the real control
/// plane (namespace `<prefix>-<random suffix>`; skipped without a control plane, a failure in CI).
///
/// `turns: Some(&MUTEX)` runs the real cases one at a time (rollouts on the shared two-core
/// control plane slow each other down); `turns: None` lets them run together.
///
/// ```ignore
/// static REAL_CASES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
/// moorage_tests::both_backends!(prefix: "hpa", turns: Some(&REAL_CASES), cases: [a_rolling_update_keeps_the_autoscaled_count]);
/// ```
#[macro_export]
macro_rules! both_backends {
    (prefix: $prefix:literal, turns: $turns:expr, cases: [$($case:ident),* $(,)?]) => {
        mod simulated {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let sim = moorage::backend::sim::SimulatedCluster::new();
                    super::cases::$case(&sim, "acme").await;
                }
            )*
        }
        mod real {
            // The parent's items (`turns: Some(&REAL_CASES)` names one of them).
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(backend) = moorage_tests::real_backend().await else { return };
                    let turns: Option<&'static tokio::sync::Mutex<()>> = $turns;
                    let _turn = match turns {
                        Some(turns) => Some(turns.lock().await),
                        None => None,
                    };
                    let name = format!("{}-{}", $prefix, moorage_tests::random_suffix());
                    super::cases::$case(&backend, &name).await;
                }
            )*
        }
    };
}
