"""Python values to specs (bindings-python/src/convert.rs), tried with generated values.

The bad-input corpus (tests/bad-input) reads specs as text; these properties feed the bindings'
own conversion instead: valid specs with some of their values replaced by generated ones (any
JSON-like value, floats that are not finite, ints beyond 64 bits, nesting) must give a tenant or
release, or the core's SpecError or ValidationError naming a field of the spec; never another
exception, never a crash. And a spec read from a dict must be read as the same spec written as
text is: the same tenant, or a problem at the same path.

The examples are derandomized (the same in every run, so CI cannot fail on a draw of the day);
MOORAGE_HYPOTHESIS_EXAMPLES=5000 runs more of them, with random draws.
"""

import copy
import json
import math
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import moorage

from conftest import SPECS

EXAMPLES = int(os.environ.get("MOORAGE_HYPOTHESIS_EXAMPLES", "300"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize="MOORAGE_HYPOTHESIS_EXAMPLES" not in os.environ,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

TENANT = moorage.Tenant.from_yaml(SPECS / "acme.tenant.yaml").to_dict()
RELEASE = moorage.Release.from_yaml(SPECS / "erp-verified.release.yaml").to_dict()
CANARY = moorage.Release.from_dict(
    {**RELEASE, "strategy": {"type": "canary", "steps": [{"setWeight": 20}, {"pause": {"duration": "1m"}}, {"analysis": {"name": "error-rate"}}, {"setWeight": 100}]}}
).to_dict()

# Field names of the specs, so that generated objects look like the ones they replace.
KEYS = sorted(
    {
        k
        for spec in (TENANT, RELEASE, CANARY)
        for k in json.dumps(spec).split('"')[1::2]
        if k.isidentifier()
    }
)

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["2Gi", "2g", "500m", "1.5", "-1", "25%", "0", "acme", "web", "admin", "canary", "blueGreen", "10m", "* * * *"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=6)), inner, max_size=4),
    ),
    max_leaves=16,
)


def places(spec, at=()):
    """Every place in a spec: the paths of its members and items."""
    yield at
    if isinstance(spec, dict):
        for k, v in spec.items():
            yield from places(v, at + (k,))
    elif isinstance(spec, list):
        for i, v in enumerate(spec):
            yield from places(v, at + (i,))


def changed(spec, changes):
    """The spec with each change (container, key, value) made, and the places changed: the
    container (a dict or list at a path of the spec) replaced by the value when the key is None,
    or else the dict's member of that key set (added or replaced), or one of the list's items
    replaced."""
    spec = copy.deepcopy(spec)
    made = []
    for (at, key), value in changes:
        if key is None:
            if not at:
                spec = value
                made.append(())
                continue
            parent, at, key = _at(spec, at[:-1]), at[:-1], at[-1]
        else:
            parent = _at(spec, at)
        if isinstance(parent, dict) and isinstance(key, str):
            parent[key] = value
            made.append(at + (key,))
        elif isinstance(parent, list) and parent:
            index = (key if isinstance(key, int) else len(key)) % len(parent)
            parent[index] = value
            made.append(at + (index,))
    return spec, made


def changes_of(spec):
    """Up to three changes of a spec (see `changed`), each at one of its containers, with a
    generated value."""
    containers = [at for at in places(spec) if isinstance(_at(spec, at), (dict, list))]
    key = st.one_of(st.none(), st.sampled_from(KEYS), st.text(max_size=6))
    return st.lists(st.tuples(st.tuples(st.sampled_from(containers), key), VALUES), min_size=1, max_size=3)


def _at(spec, at):
    """The part of a spec at a path; None when an earlier change replaced what led there."""
    for step in at:
        try:
            spec = spec[step]
        except (KeyError, IndexError, TypeError):
            return None
    return spec


def outcome(read, spec, root):
    """What reading a spec gives: ("ok", the value) or (the error class, its paths), after checking
    that a refusal is the core's, naming fields of the spec."""
    try:
        return ("ok", read(spec))
    except moorage.SpecError as e:
        assert e.path == root or e.path.startswith((root + ".", root + "[")), (e.path, e.message)
        assert e.message, e.path
        return ("SpecError", [e.path])
    except moorage.ValidationError as e:
        assert e.errors, "a ValidationError with no problem"
        for path, message in e.errors:
            assert path == root or path.startswith((root + ".", root + "[")), (path, message)
            assert message, path
        return ("ValidationError", sorted(path for path, _ in e.errors))


def as_text(spec):
    """The spec as JSON text (which YAML reads), or None when JSON cannot write it as the dict
    path reads it: a float that is not finite, an int beyond 64 bits (the dict path reads it as a
    float), `None` (absent for a program, null in a file), or a key that is not text. Characters
    are written as they are (JSON's `\\ud800\\udc00` for one character is two to YAML), but
    those YAML does not allow in a document or reads as line breaks, which are escaped."""

    def plain(v):
        if v is None:
            return False
        if isinstance(v, float):
            return math.isfinite(v)
        if isinstance(v, int) and not isinstance(v, bool):
            return -(2**63) <= v < 2**64
        if isinstance(v, dict):
            return all(isinstance(k, str) and plain(x) for k, x in v.items())
        if isinstance(v, (list, tuple)):
            return all(plain(x) for x in v)
        return True

    if not plain(spec):
        return None
    not_for_yaml = lambda c: "\x7f" <= c <= "\x9f" or c in "\u2028\u2029\ufffe\uffff"
    return "".join(f"\\u{ord(c):04x}" if not_for_yaml(c) else c for c in json.dumps(spec, ensure_ascii=False))


def place_path(root, at):
    """A place in a spec as the core names it: `release.analyses[2].http`."""
    return root + "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in at)


def agree(from_dict, from_text, made, root):
    """The dict and the text of one spec are read alike: the same value, the same rules broken,
    or a malformed spec both ways, each naming a place that was changed (or one that holds it:
    a member replaced by None is absent). Which malformed place is named first may differ: the
    dict path meets members in sorted order, the text in written order."""
    assert from_dict[0] == from_text[0], (from_dict, from_text)
    if from_dict[0] == "SpecError":
        places = [place_path(root, at) for at in made]
        for path in from_dict[1] + from_text[1]:
            assert any(path.startswith(p) or p.startswith(path) for p in places), (path, places)
    else:
        assert from_dict == from_text


def read_alike(base, changes, from_dict, from_text, root):
    """The changed spec read from a dict is a value or the core's error at a field, and is read as
    the same spec written as text is."""
    spec, made = changed(base, changes)
    result = outcome(from_dict, spec, root)
    text = as_text(spec)
    if text is not None:
        agree(result, outcome(from_text, text, root), made, root)


@SETTINGS
@given(changes_of(TENANT))
def test_a_changed_tenant_is_a_tenant_or_the_cores_error_at_a_field(changes):
    read_alike(TENANT, changes, moorage.Tenant.from_dict, moorage.Tenant.from_yaml, "tenant")


@SETTINGS
@given(st.sampled_from([RELEASE, CANARY]).flatmap(lambda base: st.tuples(st.just(base), changes_of(base))))
def test_a_changed_release_is_a_release_or_the_cores_error_at_a_field(base_and_changes):
    base, changes = base_and_changes
    read_alike(base, changes, moorage.Release.from_dict, moorage.Release.from_yaml, "release")


@SETTINGS
@given(st.lists(VALUES, max_size=5), VALUES)
def test_canary_steps_and_container_defaults_are_read_by_the_core(steps, defaults):
    outcome(lambda s: moorage.Canary(s), steps, "strategy")
    outcome(lambda d: moorage.Quota(container_defaults=d), defaults, "quota")


def test_the_properties_reach_the_cores_readers():
    # The generated values are not all refused at the root: the properties above see both sides.
    assert outcome(moorage.Tenant.from_dict, changed(TENANT, [((("quota",), "pods"), 7)])[0], "tenant")[0] == "ok"
    assert outcome(moorage.Tenant.from_dict, changed(TENANT, [((("quota",), "pods"), math.nan)])[0], "tenant") == ("SpecError", ["tenant.quota.pods"])
    assert outcome(moorage.Release.from_dict, changed(CANARY, [((("strategy", "steps", 0), "setWeight"), 2**70)])[0], "release")[0] == "SpecError"
    assert outcome(lambda s: moorage.Canary(s), [{"setWeight": math.inf}], "strategy") == ("SpecError", ["strategy.steps[0].setWeight"])


def test_options_given_wrongly_are_the_core_s_spec_errors_as_in_node() -> None:
    """The cases of tests/bad-input/options.json, which Node's convert.test.mjs runs too: each
    constructor option is read by the core as the same field of a spec file, so both bindings give
    the same path and message (the keys are camelCase there, keywords here)."""
    cases = json.loads((SPECS.parents[1] / "tests" / "bad-input" / "options.json").read_text())["cases"]
    assert len(cases) >= 10
    snake = lambda key: "".join(f"_{c.lower()}" if c.isupper() else c for c in key)  # noqa: E731
    for case in cases:
        keywords = {snake(k): v for k, v in case["options"].items()}
        cls = getattr(moorage, case["class"])
        with pytest.raises(moorage.SpecError) as info:
            cls(case["steps"], **keywords) if "steps" in case else cls(**keywords)
        assert (info.value.path, info.value.message) == (case["path"], case["message"]), case


def test_call_options_given_wrongly_are_the_core_s_validation_errors_as_in_node() -> None:
    """The cases of tests/bad-input/call-options.json, which Node's convert.test.mjs runs too: the
    core reads every timeout and usage period, so both bindings give the same path and message,
    before anything runs (the period's keys are camelCase there, keywords here)."""
    data = json.loads((SPECS.parents[1] / "tests" / "bad-input" / "call-options.json").read_text())
    number = lambda v: float(v) if v in ("NaN", "Infinity", "-Infinity") else v  # noqa: E731
    snake = lambda key: "".join(f"_{c.lower()}" if c.isupper() else c for c in key)  # noqa: E731
    cluster = moorage.Cluster.simulated()
    tenant = moorage.Tenant("acme")
    release = moorage.Release(tenant, "web", "v1", image="nginx:1.27")
    calls = {
        "apply_tenant": lambda t: cluster.apply_tenant(tenant, timeout=t),
        "rollout": lambda t: cluster.rollout(tenant, release, timeout=t),
        "Prometheus": lambda t: moorage.Prometheus("http://127.0.0.1:1", timeout=t),
    }
    assert len(data["timeouts"]) >= 4
    for case in data["timeouts"]:
        for name, call in calls.items():
            with pytest.raises(moorage.ValidationError) as info:
                call(number(case["timeout"]))
            assert info.value.errors == [("timeout", case["message"])], (name, case)
    # Nothing listens on port 1: a period that got through would raise PrometheusUnreachable.
    prometheus = moorage.Prometheus("http://127.0.0.1:1", attempts=1)
    assert len(data["periods"]) >= 10
    for case in data["periods"]:
        keywords = {snake(k): number(v) for k, v in case["period"].items()}
        for call in (lambda: prometheus.tenant_usage("acme", **keywords), lambda: prometheus.fleet_usage(["acme"], **keywords)):
            with pytest.raises(moorage.ValidationError) as info:
                call()
            assert info.value.errors == [(case["path"], case["message"])], case
    # Infinity is no limit (the core's Duration::MAX), not an error.
    assert cluster.apply_tenant(tenant, timeout=math.inf) > 0
    assert cluster.rollout(tenant, release, timeout=math.inf).phase == "done"
