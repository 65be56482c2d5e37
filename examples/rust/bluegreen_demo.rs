//! The demo of shared/mission.md: a blue/green update of a tenant's web server, compiled and printed.
//!
//! Run it with `cargo run -p moorage-examples --example bluegreen_demo`. It reads the spec files in
//! `examples/specs/`, shows the mistakes of the original demo being refused (a quota typo, a canary
//! weight over 100, a host the tenant does not own), compiles blue and green, and writes the manifests
//! of both versions to `target/moorage-demo/` for a GitOps tool.

use std::path::PathBuf;

use moorage::manifest::{self, Layout};
use moorage::spec::{release_from_yaml, tenant_from_yaml};
use moorage::{compile, CanaryStep, Object, Quota, Release, Strategy, Tenant};

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let specs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("specs");
    let tenant = tenant_from_yaml(&std::fs::read_to_string(specs.join("acme.tenant.yaml"))?)?;
    let blue = release_from_yaml(&std::fs::read_to_string(specs.join("webserver-blue.release.yaml"))?)?;
    let green = release_from_yaml(&std::fs::read_to_string(specs.join("webserver-green.release.yaml"))?)?;

    heading("1. Bad input is refused before anything is created");
    let typo = Tenant::builder("acme").quota(Quota::new().limits("1", "2g")).build().err().ok_or("expected an error")?;
    println!("{typo}");
    let canary = Release::builder("acme", "webserver", "green")
        .image("nginxinc/nginx-unprivileged:1.27")
        .strategy(Strategy::canary([CanaryStep::set_weight(25), CanaryStep::pause_for("5m"), CanaryStep::set_weight(120)]))
        .build()
        .err()
        .ok_or("expected an error")?;
    println!("{canary}");
    let foreign = Release::builder("acme", "webserver", "green")
        .image("nginxinc/nginx-unprivileged:1.27")
        .port("http", 8080)
        .host("shop.other-customer.test")
        .build()?;
    let refused = compile(&tenant, &[foreign]).err().ok_or("expected an error")?;
    println!("{refused}");

    heading("2. Tenant acme with blue: what would be applied");
    let with_blue = compile(&tenant, &[blue.clone()])?;
    print_objects(&with_blue.objects);
    for note in &with_blue.notes {
        println!("  note: {note}");
    }

    heading("3. Green, blue/green: its own Deployment and ConfigMap, labelled with its version");
    let with_green = compile(&tenant, &[green.clone()])?;
    let new_objects: Vec<Object> =
        with_green.objects.iter().filter(|o| !with_blue.objects.iter().any(|b| b.reference() == o.reference())).cloned().collect();
    print_objects(&new_objects);
    for (label, compiled) in [("blue", &with_blue), ("green", &with_green)] {
        if let Some(Object::Service(s)) = compiled.objects.iter().find(|o| o.kind() == "Service" && o.name() == "webserver") {
            let selector = s.spec.as_ref().and_then(|s| s.selector.clone()).unwrap_or_default();
            let shown: Vec<String> = selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
            println!("  Service webserver with {label} active selects: {}", shown.join(", "));
        }
    }
    println!("  (name, instance and version: pods of blue and green never mix behind one Service)");

    heading("4. Manifests for GitOps");
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/moorage-demo");
    let mut all = with_blue.objects.clone();
    all.extend(new_objects);
    moorage::compile::sort_for_apply(&mut all);
    let files = manifest::write_dir(&out, &all, Layout::PerObject)?;
    println!("  wrote {} files under {}", files.len(), out.display());
    println!("\nThe simulated cluster and the release engine (switch, rollback, quota preflight) run this demo live once they land.");
    Ok(())
}

fn heading(title: &str) {
    println!("\n== {title}");
}

fn print_objects(objects: &[Object]) {
    for o in objects {
        println!("  {:<22} {}", o.kind(), o.namespace().map(|ns| format!("{ns}/{}", o.name())).unwrap_or_else(|| o.name().to_string()));
    }
}
