"""Unit tests for kubesim/selectors.py (label and field selectors like kube-apiserver)."""

# ruff: noqa: E501  (the expected messages are the apiserver's, kept verbatim on one line)

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubesim.selectors import (
    LabelSelector,
    Requirement,
    SelectorError,
    format_label_selector,
    format_labels,
    go_quote,
    is_qualified_name,
    label_selector_from_object,
    label_selector_object_to_string,
    parse_field_selector,
    parse_label_selector,
)

NAME_REGEX_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "
    "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex "
    "used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)


# ---------------------------------------------------------------- label selector: syntax


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("", ""),
        ("a=b", "a=b"),
        ("a==b", "a==b"),
        ("a!=b", "a!=b"),
        ("a", "a"),
        ("!a", "!a"),
        ("a in (x,y)", "a in (x,y)"),
        ("a notin (y,x)", "a notin (x,y)"),
        ("a in (x)", "a in (x)"),
        ("  a  =  b  ,  c  ", "a=b,c"),
        ("a\tin\t(x ,  y)", "a in (x,y)"),
        ("z=1,a=2", "a=2,z=1"),  # requirements sorted by key
        ("a=", "a="),  # empty value
        ("a=,b", "a=,b"),
        ("a in ()", "a in ()"),
        ("x in (foo,,baz),y,z notin ()", "x in (,baz,foo),y,z notin ()"),
        ("a in (,)", "a in ()"),
        ("a in (x,)", "a in (,x)"),
        ("a in (in, notin)", "a in (in,notin)"),  # keywords are values inside a set
        (
            "backup-ns.sh/type   in   (daily, weekly),!nokey",
            "backup-ns.sh/type in (daily,weekly),!nokey",
        ),
        ("example.com/My_Name.x-1=V.al_ue-2", "example.com/My_Name.x-1=V.al_ue-2"),
        ("a>5,b<7", "a>5,b<7"),
    ],
)
def test_parse_valid(text: str, normalised: str) -> None:
    assert str(parse_label_selector(text)) == normalised


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "app:monolith",
            f'unable to parse requirement: <nil>: Invalid value: "app:monolith": {NAME_REGEX_MSG}',
        ),
        ("*bar", f'unable to parse requirement: <nil>: Invalid value: "*bar": {NAME_REGEX_MSG}'),
        (
            "app.kubernetes_io/name=x",
            'unable to parse requirement: <nil>: Invalid value: "app.kubernetes_io/name": prefix part '
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
            "'-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
            "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        ),
        (
            "a/b/c ?=? def",
            'unable to parse requirement: <nil>: Invalid value: "a/b/c": a qualified name must consist '
            "of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
            "character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
            "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' "
            "(e.g. 'example.com/MyName')",
        ),
        (
            "/a",
            'unable to parse requirement: <nil>: Invalid value: "/a": prefix part must be non-empty',
        ),
        (
            "a" * 64,
            f'unable to parse requirement: <nil>: Invalid value: "{"a" * 64}": name part must be no more than 63 characters',
        ),
        (
            "bad key!!",
            "unable to parse requirement: found 'key', expected: in, notin, =, ==, !=, gt, lt",
        ),
        ("a=b c", "found 'c', expected: ',' or 'end of string'"),
        ("a,", "found '', expected: identifier after ','"),
        (",a", "found ',', expected: !, identifier, or 'end of string'"),
        ("a in (b", "unable to parse requirement: found '', expected: ',' or ')'"),
        ("a in b", "unable to parse requirement: found 'b' expected: '('"),
        ("a=(", "unable to parse requirement: found '(', expected: identifier"),
        ("!a=b", "found '=', expected: ',' or 'end of string'"),
        ("!", "unable to parse requirement: found '', expected: identifier"),
        ("a in (b c)", "unable to parse requirement: found 'c', expected: ',' or ')'"),
        (
            "k=x/y",
            'unable to parse requirement: values[0][k]: Invalid value: "x/y": a valid label must be an '
            "empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and "
            "end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex "
            "used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
        ),
        (
            "a>x",
            "unable to parse requirement: values[0]: Invalid value: \"x\": for 'Gt', 'Lt' operators, "
            "the value must be an integer",
        ),
    ],
)
def test_parse_errors_match_apiserver(text: str, message: str) -> None:
    with pytest.raises(SelectorError) as exc:
        parse_label_selector(text)
    assert str(exc.value) == message


def test_value_too_long_has_both_messages() -> None:
    with pytest.raises(SelectorError) as exc:
        parse_label_selector("k=" + "v" * 64)
    assert str(exc.value) == (
        f'unable to parse requirement: values[0][k]: Invalid value: "{"v" * 64}": '
        "must be no more than 63 characters"
    )


# ---------------------------------------------------------------- label selector: matching


LABELS = {"app": "db", "tier": "backend", "backup-ns.sh/daily": "2026-11-26", "empty": ""}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", True),
        ("app=db", True),
        ("app==db", True),
        ("app=web", False),
        ("app!=web", True),
        ("app!=db", False),
        ("missing!=x", True),  # != matches objects lacking the key
        ("missing notin (x)", True),  # so does notin
        ("missing in (x)", False),
        ("missing=x", False),
        ("app", True),
        ("missing", False),
        ("!missing", True),
        ("!app", False),
        ("app in (db,web)", True),
        ("app notin (db,web)", False),
        ("app in (web)", False),
        ("empty=", True),
        ("empty", True),
        ("empty in ()", True),
        ("app in ()", False),
        ("backup-ns.sh/daily=2026-11-26,tier=backend", True),
        ("backup-ns.sh/daily=2026-11-26,tier=frontend", False),
        ("app in (in)", False),
    ],
)
def test_matches(text: str, expected: bool) -> None:
    assert parse_label_selector(text).matches(LABELS) is expected


def test_gt_lt() -> None:
    sel = parse_label_selector("n>5,m<3")
    assert sel.matches({"n": "6", "m": "2"})
    assert not sel.matches({"n": "5", "m": "2"})
    assert not sel.matches({"n": "x", "m": "2"})
    assert not sel.matches({"m": "2"})


def test_empty_and_none_labels() -> None:
    assert parse_label_selector("").empty
    assert parse_label_selector(" ").empty
    assert not parse_label_selector("a").empty
    assert parse_label_selector("!a").matches(None)
    assert not parse_label_selector("a").matches(None)


# ---------------------------------------------------------------- selector objects


def test_from_object_match_labels_and_expressions() -> None:
    obj = {
        "matchLabels": {"app": "db"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["backend", "cache"]},
            {"key": "legacy", "operator": "DoesNotExist"},
            {"key": "zone", "operator": "NotIn", "values": ["b"]},
            {"key": "track", "operator": "Exists"},
        ],
    }
    sel = label_selector_from_object(obj)
    assert str(sel) == "app=db,!legacy,tier in (backend,cache),track,zone notin (b)"
    assert sel.matches({"app": "db", "tier": "cache", "track": "x"})
    assert not sel.matches({"app": "db", "tier": "cache", "track": "x", "legacy": "1"})
    assert not sel.matches({"app": "db", "tier": "cache", "track": "x", "zone": "b"})
    # round trip through the query string form
    assert str(parse_label_selector(label_selector_object_to_string(obj))) == str(sel)


def test_from_object_nil_and_empty() -> None:
    assert not label_selector_from_object(None).matches({})
    assert label_selector_from_object({}).matches({"x": "y"})
    assert label_selector_from_object({}).empty
    assert format_label_selector({}) == "<none>"
    assert format_label_selector({"matchLabels": {"b": "2", "a": "1"}}) == "a=1,b=2"
    assert (
        format_label_selector({"matchExpressions": [{"key": "a", "operator": "Bad"}]}) == "<error>"
    )


def test_from_object_errors() -> None:
    with pytest.raises(SelectorError, match=r'^"Foo" is not a valid label selector operator$'):
        label_selector_from_object({"matchExpressions": [{"key": "a", "operator": "Foo"}]})
    with pytest.raises(SelectorError) as exc:
        label_selector_from_object({"matchExpressions": [{"key": "a", "operator": "In"}]})
    assert str(exc.value) == (
        "values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty"
    )
    with pytest.raises(SelectorError) as exc:
        label_selector_from_object({"matchLabels": {"bad key": "x"}})
    assert str(exc.value) == f'key: Invalid value: "bad key": {NAME_REGEX_MSG}'


def test_format_labels() -> None:
    assert format_labels({}) == "<none>"
    assert format_labels({"b": "2", "a": "1"}) == "a=1,b=2"


def test_helpers() -> None:
    assert is_qualified_name("example.com/x") == []
    assert go_quote('a"b\\c\n\x01é') == '"a\\"b\\\\c\\n\\x01é"'
    assert str(Requirement("k", "in", ("b", "a"))) == "k in (a,b)"


# ---------------------------------------------------------------- property tests

_name = st.from_regex(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,10}[A-Za-z0-9])?", fullmatch=True)
_prefix = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,5}[a-z0-9])?(\.[a-z0-9]{1,5}){0,2}", fullmatch=True)
_key = st.one_of(_name, st.tuples(_prefix, _name).map(lambda t: f"{t[0]}/{t[1]}"))
_value = st.one_of(st.just(""), _name)


@st.composite
def _requirements(draw: st.DrawFn) -> Requirement:
    key = draw(_key)
    op = draw(st.sampled_from(["=", "==", "!=", "in", "notin", "exists", "!"]))
    if op in ("exists", "!"):
        return Requirement(key, op, ())
    if op in ("in", "notin"):
        vals = draw(st.lists(_value, min_size=1, max_size=4, unique=True))
        return Requirement(key, op, tuple(sorted(vals)))
    return Requirement(key, op, (draw(_value),))


@settings(max_examples=60, deadline=None, database=None)
@given(st.lists(_requirements(), max_size=5))
def test_roundtrip_string_parse(reqs: list[Requirement]) -> None:
    sel = LabelSelector(tuple(sorted(reqs, key=lambda r: r.key)))
    parsed = parse_label_selector(str(sel))
    assert str(parsed) == str(sel)
    # and parsing is a fixpoint
    assert str(parse_label_selector(str(parsed))) == str(parsed)


@settings(max_examples=60, deadline=None, database=None)
@given(
    st.lists(_requirements(), max_size=4),
    st.dictionaries(st.sampled_from(["a", "b", "x.io/c", "d"]), _value, max_size=4),
)
def test_parsed_selector_matches_like_its_requirements(
    reqs: list[Requirement], labels: dict[str, str]
) -> None:
    sel = LabelSelector(tuple(reqs))
    parsed = parse_label_selector(str(sel)) if reqs else parse_label_selector("")
    assert parsed.matches(labels) == all(r.matches(labels) for r in reqs)


@settings(max_examples=60, deadline=None, database=None)
@given(st.text(alphabet="ab=!(),in tox ", max_size=20))
def test_parser_never_crashes(text: str) -> None:
    with contextlib.suppress(SelectorError):
        parse_label_selector(text)


@settings(max_examples=60, deadline=None, database=None)
@given(st.dictionaries(_key, _value, max_size=4))
def test_match_labels_object_matches_its_own_labels(labels: dict[str, str]) -> None:
    sel = label_selector_from_object({"matchLabels": labels})
    assert sel.matches(labels)
    assert parse_label_selector(label_selector_object_to_string({"matchLabels": labels})).matches(
        labels
    )


# ---------------------------------------------------------------- field selectors


def _obj(name: str, ns: str | None = "ns1", **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if ns is not None:
        meta["namespace"] = ns
    return {"metadata": meta, **extra}


@pytest.mark.parametrize(
    ("text", "name", "ns", "expected"),
    [
        ("", "a", "ns1", True),
        ("metadata.name=a", "a", "ns1", True),
        ("metadata.name=a", "b", "ns1", False),
        ("metadata.name==a", "a", "ns1", True),
        ("metadata.name!=a", "a", "ns1", False),
        ("metadata.name!=a", "b", "ns1", True),
        ("metadata.namespace=ns1", "a", "ns1", True),
        ("metadata.namespace=ns2", "a", "ns1", False),
        ("metadata.namespace=", "a", None, True),  # cluster-scoped objects have ""
        ("metadata.name=a,metadata.namespace=ns1", "a", "ns1", True),
        ("metadata.name=a,metadata.namespace!=ns1", "a", "ns1", False),
        ("metadata.name=a\\,b", "a,b", "ns1", True),
        ("metadata.name=a\\=b", "a=b", "ns1", True),
        ("metadata.name=a\\\\b", "a\\b", "ns1", True),
    ],
)
def test_field_selector_matches(text: str, name: str, ns: str | None, expected: bool) -> None:
    assert parse_field_selector(text).matches(_obj(name, ns)) is expected


@pytest.mark.parametrize(
    ("text", "kind", "message"),
    [
        (
            "spec.foo=x",
            None,
            '"spec.foo" is not a known field selector: only "metadata.name", "metadata.namespace"',
        ),
        (
            "status.phase=Running",
            "VolumeSnapshot",
            '"status.phase" is not a known field selector: only "metadata.name", "metadata.namespace"',
        ),
        ("spec.foo=x", "Pod", "field label not supported: spec.foo"),
        ("metadata.namespace=x", "Namespace", "field label not supported: metadata.namespace"),
        (
            "metadata.name = x",
            None,
            '"metadata.name " is not a known field selector: only "metadata.name", "metadata.namespace"',
        ),
        ("a", None, "invalid selector: 'a'; can't understand 'a'"),
        ("metadata.name=a,b", None, "invalid selector: 'metadata.name=a,b'; can't understand 'b'"),
        ("metadata.name=a=b", None, "invalid field selector: unescaped character in value: 61"),
        ("metadata.name=a\\x", None, "invalid field selector: invalid escape sequence: \\x"),
        ("metadata.name=a\\", None, "invalid field selector: invalid escape sequence: \\"),
    ],
)
def test_field_selector_errors(text: str, kind: str | None, message: str) -> None:
    with pytest.raises(SelectorError) as exc:
        parse_field_selector(text, kind)
    assert str(exc.value) == message


def test_field_selector_per_kind_fields() -> None:
    pod = _obj("p", spec={"nodeName": "n1", "hostNetwork": True}, status={"phase": "Running"})
    assert parse_field_selector("status.phase=Running", "Pod").matches(pod)
    assert not parse_field_selector("status.phase!=Running", "Pod").matches(pod)
    assert parse_field_selector("spec.host=n1", "Pod").matches(pod)  # legacy alias
    assert parse_field_selector("spec.hostNetwork=true", "Pod").matches(pod)
    secret = _obj("s", type="Opaque")
    assert parse_field_selector("type=Opaque", "Secret").matches(secret)
    job = _obj("j", status={"succeeded": 1})
    assert parse_field_selector("status.successful=1", "Job").matches(job)
    ns = {"metadata": {"name": "ns1"}, "status": {"phase": "Active"}}
    assert parse_field_selector("status.phase=Active", "Namespace").matches(ns)


def test_field_selector_custom_resources() -> None:
    vs = _obj("snap-a", "ns1", status={"readyToUse": True})
    assert parse_field_selector("metadata.name=snap-a", "VolumeSnapshot", crd=True).matches(vs)
    assert parse_field_selector("metadata.namespace=ns1", "VolumeSnapshot", crd=True).matches(vs)
    with pytest.raises(SelectorError, match=r"^field label not supported: status.readyToUse$"):
        parse_field_selector("status.readyToUse=true", "VolumeSnapshot", crd=True)
    # cluster-scoped custom resources have no metadata.namespace field
    with pytest.raises(SelectorError, match=r"^field label not supported: metadata.namespace$"):
        parse_field_selector(
            "metadata.namespace=", "VolumeSnapshotContent", crd=True, namespaced=False
        )
    vsc = _obj("c1", None)
    assert parse_field_selector(
        "metadata.name=c1", "VolumeSnapshotContent", crd=True, namespaced=False
    ).matches(vsc)


def test_field_selector_misc() -> None:
    sel = parse_field_selector("metadata.namespace=b,metadata.name==a,")
    assert str(sel) == "metadata.name=a,metadata.namespace=b"
    assert sel.requires_exact_match("metadata.name") == "a"
    assert parse_field_selector("metadata.name!=a").requires_exact_match("metadata.name") is None
    assert parse_field_selector("").empty
