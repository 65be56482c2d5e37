//! S6 secrets: planted secret values (S3 keys, database passwords, kubeconfig tokens and client
//! keys, credentials in URLs, a real CI token) never appear in the tracing output (every level,
//! TRACE included, captured by a subscriber installed for this test binary), in error messages
//! (`Display` and `Debug` of every error produced along the way), or in the `Debug` output of specs,
//! builders, reports and backends.
//!
//! The simulated-cluster and kubeconfig cases always run; the real control plane case runs with
//! `MOORAGE_TEST_KUBECONFIG` (required in CI) and adds the real CI token and the admin
//! kubeconfig's client key to the planted values.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use moorage::backend::cluster::{ClusterBackend, ClusterOptions, RetryPolicy};
use moorage::backend::sim::SimulatedCluster;
use moorage::backend::{ApplyOptions, Backend, Kind, Selector};
use moorage::tenant::{self, ApplyTenantOptions, DeleteOptions};
use moorage::{BackupPolicy, Database, Quota, Release, Role, S3Target, Tenant};
use serde_json::{json, Value};

const S3_ACCESS_KEY: &str = "AKIAPLANTEDS3ACCESS0";
const S3_SECRET_KEY: &str = "planted+S3/secret+wJalrXUtnFEMIK7MDENG";
const DB_PASSWORD: &str = "planted-db-password-7f2c";
const KUBE_TOKEN: &str = "planted-kubeconfig-token-0b5e9d";
const CLIENT_KEY_MATERIAL: &str = "plantedclientkeymaterialQ29udGVudA";
const URL_PASSWORD: &str = "planted-url-password-3k9";

/// Everything the tracing subscriber wrote, at every level, for this test binary.
fn trace_log() -> Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let log = Arc::new(Mutex::new(Vec::new()));
        let writer = log.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
            .with_writer(move || Capture(writer.clone()))
            .try_init()
            .expect("the only subscriber of this test binary");
        log
    })
    .clone()
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Texts moorage produced (errors, Debug output), each with where it came from, and the secrets
/// planted along the way.
#[derive(Default)]
struct Witness {
    texts: Vec<(String, String)>,
    secrets: Vec<String>,
}

impl Witness {
    fn plant(&mut self, secret: impl Into<String>) {
        let secret = secret.into();
        assert!(secret.len() >= 12, "a planted secret must be long enough not to match by chance");
        self.secrets.push(secret);
    }
    /// Records an error's `Display` and `Debug`.
    fn error(&mut self, what: &str, e: &(impl std::fmt::Display + std::fmt::Debug)) {
        self.texts.push((format!("{what} (Display)"), e.to_string()));
        self.texts.push((format!("{what} (Debug)"), format!("{e:?}")));
    }
    fn debug(&mut self, what: &str, v: &impl std::fmt::Debug) {
        self.texts.push((format!("{what} (Debug)"), format!("{v:#?}")));
    }
    fn text(&mut self, what: &str, text: String) {
        self.texts.push((what.to_string(), text));
    }
    /// Every place a planted secret shows up, the trace log included.
    fn leaks(&self) -> Vec<String> {
        let log = String::from_utf8_lossy(&trace_log().lock().unwrap()).into_owned();
        let mut leaks = Vec::new();
        for secret in &self.secrets {
            for (what, text) in self.texts.iter().chain(std::iter::once(&("tracing output".to_string(), log.clone()))) {
                if let Some(at) = text.find(secret.as_str()) {
                    // Show where, with the secret itself masked.
                    let start = text.floor_char_boundary(at.saturating_sub(100));
                    let end = text.ceil_char_boundary((at + secret.len() + 60).min(text.len()));
                    let context = text[start..end].replace(secret.as_str(), "<PLANTED>");
                    leaks.push(format!("{what} contains a planted secret: …{context}…"));
                }
            }
        }
        leaks
    }
    fn assert_no_leak(&self, min_texts: usize) {
        assert!(self.texts.len() >= min_texts, "only {} texts looked at", self.texts.len());
        let log_len = trace_log().lock().unwrap().len();
        assert!(log_len > 0, "the subscriber captured nothing: the trace check would be empty");
        let leaks = self.leaks();
        println!(
            "secrets: {} planted values, {} texts and {log_len} bytes of TRACE output checked, {} leaks",
            self.secrets.len(),
            self.texts.len(),
            leaks.len()
        );
        assert!(leaks.is_empty(), "secrets leaked:\n{}", leaks.join("\n"));
    }
}

fn plant_all(w: &mut Witness) {
    for s in [S3_ACCESS_KEY, S3_SECRET_KEY, DB_PASSWORD, KUBE_TOKEN, CLIENT_KEY_MATERIAL, URL_PASSWORD] {
        w.plant(s);
    }
    w.plant(b64(&client_key_pem()));
}

fn b64(data: &str) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = data.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn client_key_pem() -> String {
    format!("-----BEGIN PRIVATE KEY-----\n{CLIENT_KEY_MATERIAL}\n-----END PRIVATE KEY-----\n")
}

fn tenant_with_backups(name: &str) -> Tenant {
    Tenant::builder(name)
        .protected(false)
        .quota(Quota::new().limits("4", "8Gi").requests("2", "4Gi").pods(20))
        .member(format!("alice@{name}.test"), Role::Admin)
        .volume("db", "standard", "1Gi")
        .backup(BackupPolicy {
            name: "nightly".into(),
            volume: "db".into(),
            schedule: "0 3 * * *".into(),
            retention: 7,
            target: S3Target {
                endpoint: "https://minio.example.test:9000".into(),
                bucket: "backups".into(),
                prefix: None,
                credentials_secret: "s3-keys".into(),
            },
            database: Database::Postgres { host: "db".into(), database: "app".into(), credentials_secret: "db-keys".into() },
        })
        .build()
        .expect("a valid tenant")
}

/// The Secrets the provider creates next to the tenant (moorage only references them).
fn planted_secrets(ns: &str) -> Vec<Value> {
    vec![
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s3-keys", "namespace": ns},
               "stringData": {"AWS_ACCESS_KEY_ID": S3_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": S3_SECRET_KEY}}),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db-keys", "namespace": ns},
               "data": {"PGUSER": b64("app"), "PGPASSWORD": b64(DB_PASSWORD)}}),
    ]
}

/// Secrets pasted where they do not belong are refused without being quoted back.
fn spec_errors(w: &mut Witness) {
    let yaml = |credentials: &str, extra: &str| {
        format!(
            "name: acme\nstorage: [{{name: db, storageClass: standard, size: 1Gi}}]\nbackups:\n  - name: nightly\n    volume: db\n    schedule: '@daily'\n    retention: 3\n    target: {{endpoint: 'https://minio.example.test', bucket: backups, credentialsSecret: '{credentials}'{extra}}}\n    database: {{engine: postgres, host: db, database: app, credentialsSecret: db-keys}}\n"
        )
    };
    let cases = [
        ("S3 secret key pasted as the Secret's name", yaml(S3_SECRET_KEY, "")),
        ("S3 access key pasted as the Secret's name", yaml(S3_ACCESS_KEY, "")),
        ("S3 secret key as an unknown field", yaml("s3-keys", &format!(", secretAccessKey: '{S3_SECRET_KEY}'"))),
        ("database password as an unknown field", format!("name: acme\nstorage: [{{name: db, storageClass: standard, size: 1Gi}}]\nbackups:\n  - {{name: n, volume: db, schedule: '@daily', retention: 3, target: {{endpoint: 'https://m.example.test', bucket: backups, credentialsSecret: s3}}, database: {{engine: postgres, host: db, database: app, credentialsSecret: db, password: '{DB_PASSWORD}'}}}}\n")),
        ("credentials in an https endpoint", yaml("s3-keys", "").replace("https://minio.example.test", &format!("https://{S3_ACCESS_KEY}:{URL_PASSWORD}@minio.example.test"))),
        ("credentials in an s3:// endpoint", yaml("s3-keys", "").replace("https://minio.example.test", &format!("s3://{S3_ACCESS_KEY}:{URL_PASSWORD}@minio.example.test"))),
        ("credentials in a domain URL", format!("name: acme\ndomains: ['https://admin:{URL_PASSWORD}@shop.acme.test']\n")),
        ("a token where a boolean belongs", format!("name: acme\nprotected: '{KUBE_TOKEN}'\n")),
        ("a token where a number belongs", format!("name: acme\nquota: {{pods: '{KUBE_TOKEN}'}}\n")),
    ];
    for (what, text) in cases {
        match moorage::spec::tenant_from_yaml(&text) {
            Ok(t) => panic!("{what}: accepted as {t:?}"),
            Err(e) => w.error(what, &e),
        }
    }
    let release = Release::builder("acme", "web", "v1").image(format!("https://robot:{URL_PASSWORD}@registry.example.test/web:1")).build();
    w.error("credentials in an image URL", &release.expect_err("refused"));
    let release = Release::builder("acme", "web", "v1").image("nginx:1.27").env_from_secret("KEY", S3_SECRET_KEY, "key").build();
    w.error("an S3 key pasted as an env Secret's name", &release.expect_err("refused"));
    let builder = Tenant::builder("acme").backup(BackupPolicy {
        name: "n".into(),
        volume: "db".into(),
        schedule: "@daily".into(),
        retention: 1,
        target: S3Target { endpoint: "https://m.example.test".into(), bucket: "backups".into(), prefix: None, credentials_secret: S3_SECRET_KEY.into() },
        database: Database::Custom { image: "example/dump:1".into(), command: vec!["dump".into()] },
    });
    w.error("builder with the S3 key as the Secret's name", &builder.build().expect_err("refused"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_leak_on_the_simulated_cluster() {
    let _ = trace_log();
    let mut w = Witness::default();
    plant_all(&mut w);
    spec_errors(&mut w);

    let sim = SimulatedCluster::new();
    let t = tenant_with_backups("acme");
    w.debug("tenant builder", &Tenant::builder("acme").backup(t.spec().backups[0].clone()));
    w.debug("tenant", &t);
    w.debug("compiled tenant", &moorage::compile_tenant(&t));
    let report = tenant::apply(&sim, &t, &ApplyTenantOptions::default()).await.expect("applied");
    w.debug("apply report", &report);
    let applied = sim.apply(&planted_secrets("acme"), &ApplyOptions::default()).await.expect("the provider's Secrets");
    w.debug("apply of the Secrets (references)", &applied.iter().map(|a| &a.object).collect::<Vec<_>>());
    // Another manager changes a key: the conflict names the field, never its value.
    let mut changed = planted_secrets("acme").remove(0);
    changed["stringData"]["AWS_SECRET_ACCESS_KEY"] = json!(format!("{S3_SECRET_KEY}-rotated"));
    let other = ApplyOptions { field_manager: "rotator".into(), ..ApplyOptions::default() };
    match sim.apply(&[changed.clone()], &other).await {
        Err(e) => w.error("conflict on a Secret", &e),
        Ok(_) => {
            // No conflict on the first write by another manager: force the original back (warn! logged).
            let e = sim.apply(&planted_secrets("acme")[..1], &ApplyOptions::default()).await;
            if let Err(e) = e {
                w.error("conflict on a Secret", &e);
            }
            sim.apply(&planted_secrets("acme")[..1], &ApplyOptions::force()).await.expect("forced");
        }
    }
    w.debug("plan", &tenant::plan(&sim, &t).await.expect("plan"));
    w.debug("status", &tenant::status(&sim, &t).await.expect("status"));
    w.debug("suspend", &tenant::suspend(&sim, &t).await.expect("suspend"));
    w.debug("resume", &tenant::resume(&sim, &t).await.expect("resume"));
    w.debug("simulated cluster", &sim);
    w.debug("delete report", &tenant::delete(&sim, &t, DeleteOptions { confirm: true, purge: true }).await.expect("deleted"));
    w.assert_no_leak(30);
}

fn write_kubeconfig(name: &str, server: &str, user: Value) -> PathBuf {
    let path = std::env::temp_dir().join(format!("moorage-secrets-{}-{name}.yaml", std::process::id()));
    let config = json!({
        "apiVersion": "v1", "kind": "Config", "current-context": "planted",
        "clusters": [{"name": "planted", "cluster": {"server": server, "insecure-skip-tls-verify": true}}],
        "users": [{"name": "planted", "user": user}],
        "contexts": [{"name": "planted", "context": {"cluster": "planted", "user": "planted", "namespace": "acme"}}],
    });
    std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    path
}

/// Kubeconfigs holding planted tokens, client keys and URL credentials: the backend, its errors and
/// its logs never show them. The server is a closed local port, so every request fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubeconfig_credentials_never_leak() {
    let _ = trace_log();
    let mut w = Witness::default();
    plant_all(&mut w);
    let closed = "https://127.0.0.1:9";
    let with_password = format!("https://admin:{URL_PASSWORD}@127.0.0.1:9");
    let token_file = std::env::temp_dir().join(format!("moorage-secrets-{}-token", std::process::id()));
    std::fs::write(&token_file, KUBE_TOKEN).unwrap();
    let cases = [
        ("token", closed.to_string(), json!({"token": KUBE_TOKEN})),
        ("token and credentials in the server URL", with_password.clone(), json!({"token": KUBE_TOKEN})),
        (
            "client key that is not a key",
            closed.to_string(),
            json!({"client-certificate-data": b64("not a certificate"), "client-key-data": b64(&client_key_pem())}),
        ),
        ("username and password", closed.to_string(), json!({"username": "admin", "password": URL_PASSWORD})),
        ("token file", closed.to_string(), json!({"tokenFile": token_file.to_string_lossy()})),
    ];
    let never = ClusterOptions {
        retry: RetryPolicy { max_attempts: 2, base_delay: Duration::from_millis(10), ..RetryPolicy::default() },
        request_timeout: Duration::from_secs(5),
        ..ClusterOptions::default()
    };
    let mut backends = 0;
    for (name, server, user) in cases {
        let path = write_kubeconfig(&name.replace(' ', "-"), &server, user);
        match ClusterBackend::from_kubeconfig(Some(&path), None).await {
            Err(e) => w.error(&format!("kubeconfig with {name}"), &e),
            Ok(backend) => {
                backends += 1;
                let backend = backend.with_options(never.clone());
                w.debug(&format!("backend from a kubeconfig with {name}"), &backend);
                w.text(&format!("describe() of a backend from a kubeconfig with {name}"), backend.describe());
                let ns = Kind::of::<k8s_openapi::api::core::v1::Namespace>();
                let e = backend.get(&ns, None, "acme").await.expect_err("nothing listens");
                w.error(&format!("get through a kubeconfig with {name}"), &e);
                let e = backend.apply(&planted_secrets("acme"), &ApplyOptions::default()).await.expect_err("nothing listens");
                w.error(&format!("apply of Secrets through a kubeconfig with {name}"), &e);
                let e = tenant::apply(&backend, &tenant_with_backups("acme"), &ApplyTenantOptions::default()).await.expect_err("nothing listens");
                w.error(&format!("tenant apply through a kubeconfig with {name}"), &e);
            }
        }
        let _ = std::fs::remove_file(path);
    }
    // A kubeconfig that is not YAML at all, holding a token.
    let path = std::env::temp_dir().join(format!("moorage-secrets-{}-broken.yaml", std::process::id()));
    std::fs::write(&path, format!("users:\n  - user: {{token: {KUBE_TOKEN}\n\tbroken")).unwrap();
    w.error("unreadable kubeconfig", &ClusterBackend::from_kubeconfig(Some(&path), None).await.expect_err("refused"));
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_file(&token_file);
    assert!(backends >= 2, "only {backends} kubeconfigs gave a backend: the request paths went unchecked");
    w.assert_no_leak(12);
}

/// On the real control plane: the provider's Secrets next to a tenant with backups, the tenant's
/// lifecycle, a CI token from the TokenRequest API used for an allowed and a forbidden request,
/// all traced at TRACE: neither the S3 keys, the CI token nor the admin's client key show up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_leak_on_the_real_control_plane() {
    let _ = trace_log();
    let Some(config) = moorage_tests::real_cluster_config().await else { return };
    let mut w = Witness::default();
    plant_all(&mut w);
    // The admin kubeconfig's own credentials.
    let admin_path = std::env::var(moorage_tests::KUBECONFIG_ENV).unwrap();
    let admin_yaml: Value = serde_yaml::from_str(&std::fs::read_to_string(&admin_path).unwrap()).unwrap();
    let mut admin_secrets = 0;
    for user in admin_yaml["users"].as_array().into_iter().flatten() {
        for field in ["client-key-data", "token"] {
            if let Some(v) = user["user"][field].as_str() {
                // The base64 text, and a stretch of it from the middle (a partial leak counts).
                w.plant(v);
                w.plant(&v[v.len() / 2..v.len() / 2 + 24]);
                admin_secrets += 1;
            }
        }
    }
    assert!(admin_secrets > 0, "the admin kubeconfig holds no client key or token to plant");

    let backend = ClusterBackend::from_kubeconfig(Some(std::path::Path::new(&admin_path)), None).await.expect("admin backend");
    w.debug("admin backend", &backend);
    let name = format!("sec-{}", moorage_tests::random_suffix());
    let t = tenant_with_backups(&name);
    let options = ApplyTenantOptions { timeout: Duration::from_secs(120), ..Default::default() };
    w.debug("apply report", &tenant::apply(&backend, &t, &options).await.expect("applied"));
    let applied = backend.apply(&planted_secrets(&name), &ApplyOptions::default()).await.expect("the provider's Secrets");
    w.debug("apply of the Secrets (references)", &applied.iter().map(|a| &a.object).collect::<Vec<_>>());
    // Another field manager changes a key; moorage's apply then conflicts (named field, no value).
    let mut rotated = planted_secrets(&name).remove(0);
    rotated["stringData"]["AWS_SECRET_ACCESS_KEY"] = json!(format!("{S3_SECRET_KEY}-rotated"));
    backend.apply(&[rotated], &ApplyOptions { field_manager: "rotator".into(), ..ApplyOptions::force() }).await.expect("rotated");
    let e = backend.apply(&planted_secrets(&name)[..1], &ApplyOptions::default()).await.expect_err("a conflict");
    w.error("conflict on a Secret", &e);
    backend.apply(&planted_secrets(&name)[..1], &ApplyOptions::force()).await.expect("forced back (logged at warn)");
    w.debug("plan", &tenant::plan(&backend, &t).await.expect("plan"));
    w.debug("status", &tenant::status(&backend, &t).await.expect("status"));

    let ca = admin_yaml["clusters"][0]["cluster"]["certificate-authority-data"].as_str().map(str::to_string);
    let creds = tenant::ci_credentials(
        &backend,
        &t,
        &moorage::tenant::CiOptions { ttl: Duration::from_secs(600), server: config.cluster_url.to_string(), certificate_authority_data: ca },
    )
    .await
    .expect("CI credentials");
    w.plant(creds.token.expose());
    w.debug("CI credentials", &creds);
    let ci_path = std::env::temp_dir().join(format!("moorage-secrets-{}-ci.yaml", std::process::id()));
    std::fs::write(&ci_path, creds.kubeconfig.expose()).unwrap();
    let ci = ClusterBackend::from_kubeconfig(Some(&ci_path), None).await.expect("CI backend");
    let _ = std::fs::remove_file(&ci_path);
    w.debug("CI backend", &ci);
    w.text("describe() of the CI backend", ci.describe());
    let secret = Kind::of::<k8s_openapi::api::core::v1::Secret>();
    let deployments = Kind::of::<k8s_openapi::api::apps::v1::Deployment>();
    moorage_tests::wait_for("the CI token to list deployments", Duration::from_secs(60), || {
        let ci = &ci;
        let deployments = deployments.clone();
        let ns = name.clone();
        async move { Ok(ci.list(&deployments, Some(&ns), &Selector::all()).await.ok().map(|_| ())) }
    })
    .await
    .unwrap();
    let e = ci.get(&secret, Some(&name), "s3-keys").await.expect_err("developers do not read Secrets");
    w.error("CI token reading a Secret", &e);
    let e = ci.list(&secret, None, &Selector::all()).await.expect_err("not cluster-wide");
    w.error("CI token listing Secrets everywhere", &e);
    let e = ci.apply(&planted_secrets(&name), &ApplyOptions::default()).await.expect_err("developers do not write Secrets");
    w.error("CI token writing Secrets", &e);
    w.debug("delete report", &tenant::delete(&backend, &t, DeleteOptions { confirm: true, purge: true }).await.expect("deleted"));
    w.assert_no_leak(15);
}
