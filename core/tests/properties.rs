//! Properties: no input panics the builders or the compiler, and whatever compiles is well-formed.

use moorage::{compile, CanaryStep, Quota, Release, Strategy as RolloutStrategy, Tenant};
use proptest::prelude::*;

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![".{0,80}", "[a-z0-9-]{1,40}", "[0-9]{1,4}(m|Mi|Gi|g|G|Ki|k)?", "[a-z]{1,10}\\.[a-z]{2,5}(\\.[a-z]{2,3})?"]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn tenants_never_panic_and_valid_ones_compile(name in any_text(), cpu in any_text(), mem in any_text(), domain in any_text(), pods in any::<u32>()) {
        let built = Tenant::builder(name).quota(Quota::new().limits(cpu, mem).pods(pods)).domain(domain).build();
        if let Ok(tenant) = built {
            let compiled = compile(&tenant, &[]).unwrap();
            prop_assert_eq!(compiled.objects[0].kind(), "Namespace");
            for o in &compiled.objects {
                prop_assert!(moorage::checks::check_dns1123_subdomain(o.name()).is_ok(), "bad name {}", o.name());
            }
        }
    }

    #[test]
    fn releases_never_panic_and_valid_ones_compile(
        app in any_text(), version in any_text(), image in any_text(), replicas in 0u32..2000,
        port in any::<u16>(), req in any_text(), lim in any_text(), host in any_text(),
        weights in proptest::collection::vec(0u32..150, 0..5),
    ) {
        let tenant = Tenant::builder("acme").domain("shop.acme.test").allow_wildcard_domains(true).domain("*.acme.test").build().unwrap();
        let steps: Vec<CanaryStep> = weights.iter().map(|w| CanaryStep::set_weight(*w)).collect();
        let built = Release::builder("acme", app, version)
            .image(image)
            .replicas(replicas)
            .port("http", port)
            .resources((&req, &req), (&lim, &lim))
            .host(host)
            .strategy(RolloutStrategy::canary(steps))
            .build();
        if let Ok(release) = built {
            prop_assert!(weights.iter().all(|w| *w <= 100));
            prop_assert!(weights.windows(2).all(|w| w[0] <= w[1]));
            if let Ok(compiled) = compile(&tenant, &[release]) {
                for o in &compiled.objects {
                    prop_assert!(o.name().len() <= 253);
                }
                let yaml = moorage::manifest::to_yaml_stream(&compiled.objects).unwrap();
                let back = moorage::manifest::from_yaml_stream(&yaml, std::path::Path::new("p.yaml")).unwrap();
                prop_assert_eq!(back, compiled.objects);
            }
        }
    }

    #[test]
    fn spec_parser_never_panics(text in ".{0,400}") {
        let _ = moorage::spec::tenant_from_yaml(&text);
        let _ = moorage::spec::release_from_yaml(&text);
    }
}
