//! Spec files: YAML round trips, parse errors with paths and lines, and the JSON Schemas in docs/schema/.

use moorage::spec::{release_from_yaml, release_to_yaml, tenant_from_yaml, tenant_to_yaml, SpecError};

fn read(name: &str) -> String {
    std::fs::read_to_string(format!("{}/../examples/specs/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn tenant_and_release_specs_round_trip() {
    let tenant = tenant_from_yaml(&read("acme.tenant.yaml")).unwrap();
    let again = tenant_from_yaml(&tenant_to_yaml(&tenant).unwrap()).unwrap();
    assert_eq!(tenant, again);
    for file in ["webserver-blue.release.yaml", "webserver-green.release.yaml", "erp-verified.release.yaml"] {
        let release = release_from_yaml(&read(file)).unwrap();
        assert_eq!(release, release_from_yaml(&release_to_yaml(&release).unwrap()).unwrap());
    }
    // JSON is YAML too.
    let json = serde_json::to_string(tenant.spec()).unwrap();
    assert_eq!(tenant, tenant_from_yaml(&json).unwrap());
}

fn parse_error(result: Result<impl std::fmt::Debug, SpecError>) -> (String, Option<usize>, String) {
    match result.unwrap_err() {
        SpecError::Parse { path, line, message } => (path, line, message),
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn unknown_fields_are_refused_with_their_path_and_line() {
    let (path, line, message) = parse_error(release_from_yaml("tenant: acme\napp: web\nversion: v1\nimage: nginx:1.27\nreplica: 3\n"));
    assert_eq!(path, "release.replica");
    assert_eq!(line, Some(5));
    assert!(message.contains("unknown field `replica`"), "{message}");

    let (path, _, message) = parse_error(tenant_from_yaml("name: acme\nquota:\n  limits:\n    memroy: 1Gi\n"));
    assert_eq!(path, "tenant.quota.limits.memroy");
    assert!(message.contains("unknown field `memroy`, expected `cpu` or `memory`"), "{message}");
}

#[test]
fn wrong_types_name_the_field() {
    let (path, line, message) = parse_error(release_from_yaml("tenant: acme\napp: web\nversion: v1\nimage: nginx:1.27\nreplicas: -1\n"));
    assert_eq!(path, "release.replicas");
    assert_eq!(line, Some(5));
    assert!(message.contains("-1"), "{message}");
    let (path, line, message) = parse_error(release_from_yaml(
        "tenant: acme\napp: web\nversion: v1\nimage: nginx:1.27\nstrategy:\n  type: canary\n  steps:\n    - setWeight: 10\n    - setWieght: 20\n",
    ));
    assert_eq!(path, "release.strategy.steps[1].setWieght");
    assert_eq!(line, Some(9));
    assert!(message.contains("unknown field `setWieght`, expected one of `setWeight`, `pause`, `analysis`"), "{message}");
    let (path, _, message) =
        parse_error(release_from_yaml("tenant: acme\napp: web\nversion: v1\nimage: nginx:1.27\nstrategy:\n  type: blueGreen\n  steps: []\n"));
    assert_eq!(path, "release.strategy");
    assert!(message.contains("steps is not a field of a blueGreen strategy"), "{message}");
}

#[test]
fn canary_steps_and_databases_read_as_plain_maps() {
    let r = release_from_yaml(
        "tenant: acme\napp: web\nversion: v1\nimage: nginx:1.27\nstrategy:\n  type: canary\n  traffic: ingressNginx\n  steps:\n    - setWeight: 25\n    - pause: {duration: 5m}\n    - analysis: {name: errors}\n    - pause: {}\n    - setWeight: 100\nanalyses:\n  - name: errors\n    http: {url: \"http://web.acme.svc:8080/healthz\"}\n",
    )
    .unwrap();
    let yaml = release_to_yaml(&r).unwrap();
    assert!(yaml.contains("- setWeight: 25") && !yaml.contains('!'), "no YAML tags in output:\n{yaml}");
    assert_eq!(r, release_from_yaml(&yaml).unwrap());
    let (path, _, message) = parse_error(release_from_yaml(
        "tenant: acme\napp: web\nversion: v1\nimage: nginx:1.27\nstrategy:\n  type: canary\n  steps:\n    - setWeight: 25\n      pause: {}\n",
    ));
    assert_eq!(path, "release.strategy.steps[0]");
    assert!(message.contains("exactly one of setWeight, pause or analysis"), "{message}");
    let tenant = read("acme.tenant.yaml").replace("      host: db\n", "");
    let (path, _, message) = parse_error(tenant_from_yaml(&tenant));
    assert_eq!(path, "tenant.backups[0].database");
    assert!(message.contains("missing field `host` (required for engine postgres)"), "{message}");
}

#[test]
fn well_formed_but_invalid_specs_list_every_problem() {
    let err = tenant_from_yaml("name: Acme\nquota:\n  limits:\n    memory: 2g\n    cpu: -1\n").unwrap_err();
    let SpecError::Invalid(v) = err else { panic!("expected validation errors") };
    let paths: Vec<&str> = v.errors().iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["tenant.name", "tenant.quota.limits.cpu", "tenant.quota.limits.memory"]);
}

#[test]
fn published_schemas_are_up_to_date() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/schema");
    let update = std::env::var_os("MOORAGE_UPDATE_SCHEMA").is_some();
    for (file, schema) in moorage::schema::all_schemas() {
        let text = moorage::schema::schema_text(&schema);
        let path = dir.join(file);
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &text).unwrap();
        }
        let published = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(published == text, "docs/schema/{file} is out of date; regenerate with `MOORAGE_UPDATE_SCHEMA=1 cargo test -p moorage --test spec_files`");
    }
    // The schema knows the fields users write.
    let tenant = moorage::schema::tenant_schema().to_string();
    assert!(tenant.contains("containerDefaults") && tenant.contains("podSecurity"));
}

#[test]
fn analyses_are_checked_with_their_paths() {
    let r = release_from_yaml(&read("erp-verified.release.yaml")).unwrap();
    assert_eq!(r.analysis("smoke-tests").map(|a| a.provider()), Some("job"));
    assert_eq!(r.analysis("error-rate").map(|a| (a.provider(), a.count, a.failure_limit)), Some(("prometheus", 5, 1)));
    let yaml = read("erp-verified.release.yaml")
        .replace("postPromotionAnalysis: [error-rate]", "postPromotionAnalysis: [error-rates]")
        .replace("successCondition: result < 0.02", "successCondition: result ~ 0.02")
        .replace("{{version}}\"}[2m]))\n", "{{pod}}\"}[2m]))\n")
        .replace("failureLimit: 1", "failureLimit: 5")
        .replace("address: http://prometheus.monitoring:9090", "address: https://prometheus.monitoring:9090")
        .replace("      expectedStatus: 200", "      url: http://erp.acme.test/web/login\n      expectedStatus: 200")
        .replace("      timeout: 15m", "      timeout: soon");
    let SpecError::Invalid(v) = release_from_yaml(&yaml).unwrap_err() else { panic!("expected validation errors") };
    let paths: Vec<&str> = v.errors().iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "release.analyses[0].job.timeout",
            "release.analyses[1].failureLimit",
            "release.analyses[1].prometheus.address",
            "release.analyses[1].prometheus.query",
            "release.analyses[1].prometheus.successCondition",
            "release.analyses[2].http",
            "release.strategy.postPromotionAnalysis[0]",
        ],
        "{v}"
    );
    assert!(v.to_string().contains("\"error-rates\" is not an analysis of this release (declared: error-rate, login-page, smoke-tests)"), "{v}");
    assert!(v.to_string().contains("{{pod}} is not a variable"), "{v}");
    let (path, _, message) =
        parse_error(release_from_yaml(&read("erp-verified.release.yaml").replace("scaleDownDelay: 10m", "scaleDownDelay: 10m\n  steps: []")));
    assert_eq!(path, "release.strategy");
    assert!(message.contains("prePromotionAnalysis, postPromotionAnalysis"), "{message}");
}
