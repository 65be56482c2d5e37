"""S6 secrets from Python: planted keys, tokens and kubeconfig credentials never show in the repr or
str of the objects holding them, nor in the message, repr or attributes of the exceptions raised."""

import base64
import json

import pytest

import moorage

S3_SECRET_KEY = "planted+S3/secret+wJalrXUtnFEMIK7MDENG"
DB_PASSWORD = "planted-db-password-7f2c"
KUBE_TOKEN = "planted-kubeconfig-token-0b5e9d"
CLIENT_KEY = "-----BEGIN PRIVATE KEY-----\nplantedclientkeymaterialQ29udGVudA\n-----END PRIVATE KEY-----\n"
URL_PASSWORD = "planted-url-password-3k9"
PLANTED = [S3_SECRET_KEY, DB_PASSWORD, KUBE_TOKEN, "plantedclientkeymaterial", base64.b64encode(CLIENT_KEY.encode()).decode(), URL_PASSWORD]


def shown(value) -> list[str]:
    """Every way Python shows an object: str, repr, and for exceptions their args and attributes."""
    texts = [str(value), repr(value)]
    if isinstance(value, BaseException):
        texts += [repr(a) for a in value.args]
        texts += [repr(v) for k, v in vars(value).items() if not k.startswith("__")]
    return texts


def assert_hidden(value) -> None:
    for text in shown(value):
        for secret in PLANTED:
            assert secret not in text, f"{type(value).__name__} shows a planted secret: {text[:200]}"


def kubeconfig(tmp_path, name: str, server: str, user: dict) -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "planted",
        "clusters": [{"name": "planted", "cluster": {"server": server, "insecure-skip-tls-verify": True}}],
        "users": [{"name": "planted", "user": user}],
        "contexts": [{"name": "planted", "context": {"cluster": "planted", "user": "planted"}}],
    }))
    return str(path)


def test_clusters_from_kubeconfigs_with_credentials_never_show_them(tmp_path):
    cases = {
        "token-and-url-password": (f"https://admin:{URL_PASSWORD}@127.0.0.1:9", {"token": KUBE_TOKEN}),
        "username-password": ("https://127.0.0.1:9", {"username": "admin", "password": URL_PASSWORD}),
        "client-key": ("https://127.0.0.1:9", {"client-certificate-data": base64.b64encode(b"not a certificate").decode(),
                                              "client-key-data": base64.b64encode(CLIENT_KEY.encode()).decode()}),
    }
    clusters = 0
    for name, (server, user) in cases.items():
        try:
            cluster = moorage.Cluster.from_kubeconfig(kubeconfig(tmp_path, name, server, user))
        except moorage.MoorageError as e:
            assert_hidden(e)
            continue
        clusters += 1
        assert_hidden(cluster)
        assert_hidden(cluster.describe())
    assert clusters >= 1, "no kubeconfig gave a Cluster: repr went unchecked"
    # A request through the token kubeconfig fails (nothing listens): the exception hides it too.
    cluster = moorage.Cluster.from_kubeconfig(kubeconfig(tmp_path, "request", f"https://admin:{URL_PASSWORD}@127.0.0.1:9", {"token": KUBE_TOKEN}))
    with pytest.raises(moorage.Unavailable) as raised:
        cluster.apply_tenant(moorage.Tenant("acme"))
    assert_hidden(raised.value)


def test_an_unreadable_kubeconfig_holding_a_token_is_not_quoted(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text(f"users:\n  - user: {{token: {KUBE_TOKEN}\n\tbroken")
    with pytest.raises(moorage.ConfigError) as raised:
        moorage.Cluster.from_kubeconfig(str(path))
    assert_hidden(raised.value)


def backup(credentials_secret: str, **target) -> dict:
    return {
        "name": "nightly", "volume": "db", "schedule": "0 3 * * *", "retention": 7,
        "target": {"endpoint": "https://minio.example.test", "bucket": "backups", "credentialsSecret": credentials_secret, **target},
        "database": {"engine": "postgres", "host": "db", "database": "app", "credentialsSecret": "db-keys"},
    }


def test_specs_with_pasted_secrets_are_refused_without_quoting_them():
    storage = [{"name": "db", "storageClass": "standard", "size": "1Gi"}]
    attempts = [
        lambda: moorage.Tenant("acme", storage=storage, backups=[backup(S3_SECRET_KEY)]),
        lambda: moorage.Tenant("acme", storage=storage, backups=[backup("s3-keys", secretAccessKey=S3_SECRET_KEY)]),
        lambda: moorage.Tenant("acme", storage=storage, backups=[backup("s3-keys", endpoint=f"s3://AKIA:{URL_PASSWORD}@minio.example.test")]),
        lambda: moorage.Tenant.from_dict({"name": "acme", "protected": KUBE_TOKEN}),
        lambda: moorage.Tenant.from_yaml(f"name: acme\nstorage: [{{name: db, storageClass: standard, size: 1Gi}}]\nbackups:\n  - {{name: n, volume: db, schedule: '@daily', retention: 1, target: {{endpoint: 'https://m.example.test', bucket: bkt, credentialsSecret: s3}}, database: {{engine: postgres, host: db, database: app, credentialsSecret: db, password: '{DB_PASSWORD}'}}}}\n"),
        lambda: moorage.Tenant("acme", domains=[f"https://admin:{URL_PASSWORD}@shop.acme.test"]),
        lambda: moorage.Release("acme", "web", "v1", image=f"https://robot:{URL_PASSWORD}@registry.example.test/web:1"),
        lambda: moorage.Release("acme", "web", "v1", image="nginx:1.27", env=[{"name": "KEY", "secret": {"name": S3_SECRET_KEY, "key": "k"}}]),
    ]
    for attempt in attempts:
        with pytest.raises((moorage.ValidationError, moorage.SpecError)) as raised:
            attempt()
        assert_hidden(raised.value)


def test_tenants_reference_secrets_by_name_only():
    tenant = moorage.Tenant("acme", storage=[{"name": "db", "storageClass": "standard", "size": "1Gi"}], backups=[backup("s3-keys")])
    assert_hidden(tenant)
    assert "s3-keys" in tenant.to_yaml()
