"""Exceptions: one class per core error variant under moorage.MoorageError, fields as attributes."""

import moorage

CLASSES = [
    "ValidationError", "SpecError", "QuotaInsufficient", "RolloutStuck", "VersionSelected", "NoSuchRevision",
    "NothingToPromote", "BackendError", "QuotaExceeded", "Forbidden", "Conflict", "Modified", "InvalidObject", "NotFound",
    "MissingKind", "Timeout", "Unavailable", "ConfigError", "ManifestError", "TenantError", "DomainTaken", "DomainContended",
]


def test_every_class_derives_from_moorage_error():
    for name in CLASSES:
        cls = getattr(moorage, name)
        assert issubclass(cls, moorage.MoorageError), name
        assert cls.__module__ == "moorage"
    for name in ["QuotaExceeded", "Forbidden", "Conflict", "Modified", "InvalidObject", "NotFound", "MissingKind", "Timeout", "Unavailable"]:
        assert issubclass(getattr(moorage, name), moorage.BackendError)
    for name in ["DomainTaken", "DomainContended"]:
        assert issubclass(getattr(moorage, name), moorage.TenantError)


def test_config_error_for_a_missing_kubeconfig(tmp_path):
    try:
        moorage.Cluster.from_kubeconfig(tmp_path / "nope.yaml")
    except moorage.ConfigError as e:
        assert "nope.yaml" in e.message
    else:
        raise AssertionError("expected ConfigError")


def test_nothing_to_promote_and_no_such_revision():
    t = moorage.Tenant("acme", quota=moorage.Quota(limits_cpu="2", limits_memory="2Gi", pods=10))
    c = moorage.Cluster.simulated()
    c.apply_tenant(t)
    try:
        c.promote(t, "web")
    except moorage.NothingToPromote as e:
        assert e.app == "web"
    else:
        raise AssertionError("expected NothingToPromote")
    try:
        c.rollback(t, "web", to=7)
    except moorage.NoSuchRevision as e:
        assert (e.app, e.revision) == ("web", 7)
    else:
        raise AssertionError("expected NoSuchRevision")
