"""Label and field selectors, parsed and matched the way kube-apiserver does.

Pure functions, no I/O. The label selector lexer/parser follows
k8s.io/apimachinery/pkg/labels/selector.go token for token, so that the
messages of a ``SelectorError`` are the ones the real server puts into its
400 BadRequest Status (``unable to parse requirement: <nil>: Invalid value:
...``). Field selectors follow k8s.io/apimachinery/pkg/fields/selector.go
(splitting, ``\\`` escapes) plus the per-kind field label conversion of the
API server (``field label not supported: X`` for kinds with a registered
conversion, ``"X" is not a known field selector: only "metadata.name",
"metadata.namespace"`` for the others).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FieldRequirement",
    "FieldSelector",
    "LabelSelector",
    "Requirement",
    "SelectorError",
    "format_label_selector",
    "format_labels",
    "go_quote",
    "is_qualified_name",
    "is_valid_label_value",
    "label_selector_from_object",
    "label_selector_object_to_string",
    "parse_field_selector",
    "parse_label_selector",
]


class SelectorError(ValueError):
    """A selector the API server would reject (400 BadRequest); str() is its message."""


# --------------------------------------------------------------------------------------
# validation (k8s.io/apimachinery/pkg/util/validation)
# --------------------------------------------------------------------------------------

_QNAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QNAME_RE = re.compile(f"^{_QNAME_FMT}$")
_QNAME_ERR = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
    "an alphanumeric character"
)
_LABEL_VALUE_FMT = f"({_QNAME_FMT})?"
_LABEL_VALUE_RE = re.compile(f"^{_LABEL_VALUE_FMT}$")
_LABEL_VALUE_ERR = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
    "or '.', and must start and end with an alphanumeric character"
)
_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + "(\\." + _DNS1123_LABEL_FMT + ")*"
_DNS1123_SUBDOMAIN_RE = re.compile(f"^{_DNS1123_SUBDOMAIN_FMT}$")
_DNS1123_SUBDOMAIN_ERR = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
    "'-' or '.', and must start and end with an alphanumeric character"
)


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    out = msg + " (e.g. "
    for i, example in enumerate(examples):
        if i > 0:
            out += " or "
        out += f"'{example}', "
    return out + f"regex used for validation is '{fmt}')"


def _max_len_error(length: int) -> str:
    return f"must be no more than {length} characters"


def _blen(s: str) -> int:
    return len(s.encode("utf-8"))


def _go_match(regex: re.Pattern[str], value: str) -> bool:
    # Go's '$' matches only at the very end; Python's also before a final '\n'.
    return "\n" not in value and regex.match(value) is not None


def is_dns1123_subdomain(value: str) -> list[str]:
    errs: list[str] = []
    if _blen(value) > 253:
        errs.append(_max_len_error(253))
    if not _go_match(_DNS1123_SUBDOMAIN_RE, value):
        errs.append(_regex_error(_DNS1123_SUBDOMAIN_ERR, _DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errs


def is_qualified_name(value: str) -> list[str]:
    """validation.IsQualifiedName: the messages for a bad label key ([] when valid)."""
    errs: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs.extend("prefix part " + m for m in is_dns1123_subdomain(prefix))
    else:
        return [
            "a qualified name "
            + _regex_error(_QNAME_ERR, _QNAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errs.append("name part must be non-empty")
    elif _blen(name) > 63:
        errs.append("name part " + _max_len_error(63))
    if not _go_match(_QNAME_RE, name):
        errs.append(
            "name part " + _regex_error(_QNAME_ERR, _QNAME_FMT, "MyName", "my.name", "123-abc")
        )
    return errs


def is_valid_label_value(value: str) -> list[str]:
    """validation.IsValidLabelValue ([] when valid)."""
    errs: list[str] = []
    if _blen(value) > 63:
        errs.append(_max_len_error(63))
    if not _go_match(_LABEL_VALUE_RE, value):
        errs.append(
            _regex_error(_LABEL_VALUE_ERR, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345")
        )
    return errs


def go_quote(s: str) -> str:
    """Go's %q / strconv.Quote for the strings that appear in messages."""
    out = ['"']
    for ch in s:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\a":
            out.append("\\a")
        elif ch == "\b":
            out.append("\\b")
        elif ch == "\f":
            out.append("\\f")
        elif ch == "\v":
            out.append("\\v")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif not ch.isprintable():
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _field_invalid(path: str, value: str, detail: str) -> str:
    return f"{path}: Invalid value: {go_quote(value)}: {detail}"


def _aggregate(msgs: list[str]) -> str:
    # utilerrors.NewAggregate(...).Error(): one message as is, several as "[a, b]" (deduplicated).
    seen: list[str] = []
    for m in msgs:
        if m not in seen:
            seen.append(m)
    if len(seen) == 1:
        return seen[0]
    return "[" + ", ".join(seen) + "]"


# --------------------------------------------------------------------------------------
# label selector
# --------------------------------------------------------------------------------------

IN, NOT_IN, EQUALS, DOUBLE_EQUALS, NOT_EQUALS = "in", "notin", "=", "==", "!="
EXISTS, DOES_NOT_EXIST, GREATER_THAN, LESS_THAN = "exists", "!", "gt", "lt"
_BINARY_OPERATORS = ["in", "notin", "=", "==", "!=", "gt", "lt"]


def _go_parse_int64(s: str) -> int | None:
    if not re.fullmatch(r"[+-]?[0-9]+", s):
        return None
    n = int(s)
    if not -(2**63) <= n < 2**63:
        return None
    return n


@dataclass(frozen=True)
class Requirement:
    """One requirement of a label selector (labels.Requirement)."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        op = self.operator
        if op in (IN, EQUALS, DOUBLE_EQUALS):
            return self.key in labels and labels[self.key] in self.values
        if op in (NOT_IN, NOT_EQUALS):
            return self.key not in labels or labels[self.key] not in self.values
        if op == EXISTS:
            return self.key in labels
        if op == DOES_NOT_EXIST:
            return self.key not in labels
        if op in (GREATER_THAN, LESS_THAN):
            if self.key not in labels or len(self.values) != 1:
                return False
            have = _go_parse_int64(labels[self.key])
            want = _go_parse_int64(self.values[0])
            if have is None or want is None:
                return False
            return have > want if op == GREATER_THAN else have < want
        return False

    def __str__(self) -> str:
        op = self.operator
        out = ("!" if op == DOES_NOT_EXIST else "") + self.key
        if op in (EXISTS, DOES_NOT_EXIST):
            return out
        out += {
            EQUALS: "=",
            DOUBLE_EQUALS: "==",
            NOT_EQUALS: "!=",
            IN: " in ",
            NOT_IN: " notin ",
            GREATER_THAN: ">",
            LESS_THAN: "<",
        }[op]
        vals = self.values if len(self.values) == 1 else tuple(sorted(self.values))
        body = ",".join(vals)
        return out + (f"({body})" if op in (IN, NOT_IN) else body)


def new_requirement(
    key: str, op: str, values: Iterable[str], path: str | None = None
) -> Requirement:
    """labels.NewRequirement: validate and build (SelectorError with the real message)."""
    vals = list(values)
    errs: list[str] = []
    key_path = "key" if path is None else f"{path}.key"
    values_path = "values" if path is None else f"{path}.values"
    key_errs = is_qualified_name(key)
    if key_errs:
        errs.append(_field_invalid(key_path, key, "; ".join(key_errs)))
    if op in (IN, NOT_IN):
        if not vals:
            errs.append(
                f"{values_path}: Invalid value: null: for 'in', 'notin' operators, "
                "values set can't be empty"
            )
    elif op in (EQUALS, DOUBLE_EQUALS, NOT_EQUALS):
        if len(vals) != 1:
            errs.append(
                f"{values_path}: Invalid value: {_go_json_list(vals)}: exact-match "
                "compatibility requires one single value"
            )
    elif op in (EXISTS, DOES_NOT_EXIST):
        if vals:
            errs.append(
                f"{values_path}: Invalid value: {_go_json_list(vals)}: values set must be "
                "empty for exists and does not exist"
            )
    elif op in (GREATER_THAN, LESS_THAN):
        if len(vals) != 1:
            errs.append(
                f"{values_path}: Invalid value: {_go_json_list(vals)}: for 'Gt', 'Lt' "
                "operators, exactly one value is required"
            )
        for i, v in enumerate(vals):
            if _go_parse_int64(v) is None:
                errs.append(
                    _field_invalid(
                        f"{values_path}[{i}]",
                        v,
                        "for 'Gt', 'Lt' operators, the value must be an integer",
                    )
                )
    else:
        supported = ", ".join(go_quote(o) for o in [*_BINARY_OPERATORS, EXISTS, DOES_NOT_EXIST])
        errs.append(
            f"{'operator' if path is None else path + '.operator'}: Unsupported value: "
            f"{go_quote(op)}: supported values: {supported}"
        )
    for i, v in enumerate(vals):
        v_errs = is_valid_label_value(v)
        if v_errs:
            errs.append(_field_invalid(f"{values_path}[{i}][{key}]", v, "; ".join(v_errs)))
    if errs:
        raise SelectorError(_aggregate(errs))
    return Requirement(key, op, tuple(vals))


def _go_json_list(vals: list[str]) -> str:
    if not vals:
        return "[]"
    return "[" + ",".join(go_quote(v) for v in vals) + "]"


@dataclass(frozen=True)
class LabelSelector:
    """A parsed label selector: the AND of its requirements.

    ``nothing=True`` is labels.Nothing() (a nil LabelSelector object): it matches no object.
    """

    requirements: tuple[Requirement, ...] = ()
    nothing: bool = False

    @property
    def empty(self) -> bool:
        return not self.nothing and not self.requirements

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        if self.nothing:
            return False
        lab = labels or {}
        return all(r.matches(lab) for r in self.requirements)

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


# tokens
_ERR, _EOS, _CPAR, _COMMA, _NOT, _DEQ, _EQ, _GT, _ID, _IN, _LT, _NEQ, _NOTIN, _OPAR = range(14)
_STRING2TOKEN = {
    ")": _CPAR,
    ",": _COMMA,
    "!": _NOT,
    "==": _DEQ,
    "=": _EQ,
    ">": _GT,
    "in": _IN,
    "<": _LT,
    "!=": _NEQ,
    "notin": _NOTIN,
    "(": _OPAR,
}
_SPECIAL = set("=!(),><")
_WHITESPACE = set(" \t\r\n")


def _lex(s: str) -> list[tuple[int, str]]:
    items: list[tuple[int, str]] = []
    pos, n = 0, len(s)
    while True:
        while pos < n and s[pos] in _WHITESPACE:
            pos += 1
        if pos >= n or s[pos] == "\0":
            items.append((_EOS, ""))
            return items
        if s[pos] in _SPECIAL:
            buf = ""
            last: tuple[int, str] | None = None
            while pos < n and s[pos] in _SPECIAL:
                buf += s[pos]
                pos += 1
                if buf in _STRING2TOKEN:
                    last = (_STRING2TOKEN[buf], buf)
                elif last is not None:
                    pos -= 1
                    break
            if last is None:
                items.append((_ERR, f"error expected: keyword found '{buf}'"))
            else:
                items.append(last)
            continue
        start = pos
        while pos < n and s[pos] not in _SPECIAL and s[pos] not in _WHITESPACE and s[pos] != "\0":
            pos += 1
        word = s[start:pos]
        items.append((_STRING2TOKEN.get(word, _ID), word))


class _Parser:
    def __init__(self, text: str) -> None:
        self.items = _lex(text)
        self.pos = 0

    def lookahead(self, values: bool) -> tuple[int, str]:
        tok, lit = self.items[self.pos]
        if values and tok in (_IN, _NOTIN):
            tok = _ID
        return tok, lit

    def consume(self, values: bool) -> tuple[int, str]:
        tok, lit = self.lookahead(values)
        self.pos += 1
        return tok, lit

    def parse(self) -> list[Requirement]:
        reqs: list[Requirement] = []
        while True:
            tok, lit = self.lookahead(True)
            if tok in (_ID, _NOT):
                try:
                    reqs.append(self.parse_requirement())
                except SelectorError as e:
                    raise SelectorError(f"unable to parse requirement: {e}") from None
                t, lt = self.consume(True)
                if t == _EOS:
                    return reqs
                if t == _COMMA:
                    t2, l2 = self.lookahead(True)
                    if t2 not in (_ID, _NOT):
                        raise SelectorError(f"found '{l2}', expected: identifier after ','")
                else:
                    raise SelectorError(f"found '{lt}', expected: ',' or 'end of string'")
            elif tok == _EOS:
                return reqs
            else:
                raise SelectorError(f"found '{lit}', expected: !, identifier, or 'end of string'")

    def parse_requirement(self) -> Requirement:
        key, op = self.parse_key_and_infer_operator()
        if op in (EXISTS, DOES_NOT_EXIST):
            return new_requirement(key, op, [])
        op = self.parse_operator()
        values = self.parse_values() if op in (IN, NOT_IN) else self.parse_exact_value()
        return new_requirement(key, op, sorted(values))

    def parse_key_and_infer_operator(self) -> tuple[str, str]:
        op = ""
        tok, lit = self.consume(True)
        if tok == _NOT:
            op = DOES_NOT_EXIST
            tok, lit = self.consume(True)
        if tok != _ID:
            raise SelectorError(f"found '{lit}', expected: identifier")
        errs = is_qualified_name(lit)
        if errs:
            raise SelectorError(_field_invalid("<nil>", lit, "; ".join(errs)))
        t, _ = self.lookahead(True)
        if t in (_EOS, _COMMA) and op != DOES_NOT_EXIST:
            op = EXISTS
        return lit, op

    def parse_operator(self) -> str:
        tok, lit = self.consume(False)
        ops = {_IN: IN, _EQ: EQUALS, _DEQ: DOUBLE_EQUALS, _GT: GREATER_THAN, _LT: LESS_THAN}
        ops |= {_NOTIN: NOT_IN, _NEQ: NOT_EQUALS}
        if tok not in ops:
            raise SelectorError(f"found '{lit}', expected: {', '.join(_BINARY_OPERATORS)}")
        return ops[tok]

    def parse_values(self) -> set[str]:
        tok, lit = self.consume(True)
        if tok != _OPAR:
            raise SelectorError(f"found '{lit}' expected: '('")
        tok, lit = self.lookahead(True)
        if tok in (_ID, _COMMA):
            s = self.parse_identifiers_list()
            if self.consume(True)[0] != _CPAR:
                raise SelectorError(f"found '{lit}', expected: ')'")
            return s
        if tok == _CPAR:
            self.consume(True)
            return {""}
        raise SelectorError(f"found '{lit}', expected: ',', ')' or identifier")

    def parse_identifiers_list(self) -> set[str]:
        s: set[str] = set()
        while True:
            tok, lit = self.consume(True)
            if tok == _ID:
                s.add(lit)
                tok2, lit2 = self.lookahead(True)
                if tok2 == _COMMA:
                    continue
                if tok2 == _CPAR:
                    return s
                raise SelectorError(f"found '{lit2}', expected: ',' or ')'")
            if tok == _COMMA:
                if not s:
                    s.add("")
                tok2, _ = self.lookahead(True)
                if tok2 == _CPAR:
                    s.add("")
                    return s
                if tok2 == _COMMA:
                    self.consume(True)
                    s.add("")
                continue
            raise SelectorError(f"found '{lit}', expected: ',', or identifier")

    def parse_exact_value(self) -> set[str]:
        tok, _ = self.lookahead(True)
        if tok in (_EOS, _COMMA):
            return {""}
        tok, lit = self.consume(True)
        if tok == _ID:
            return {lit}
        raise SelectorError(f"found '{lit}', expected: identifier")


def parse_label_selector(text: str) -> LabelSelector:
    """labels.Parse: the ``labelSelector`` query parameter as the server parses it."""
    reqs = _Parser(text).parse()
    reqs.sort(key=lambda r: r.key)
    return LabelSelector(tuple(reqs))


_OBJECT_OPERATORS = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST}


def label_selector_from_object(sel: Mapping[str, Any] | None) -> LabelSelector:
    """metav1.LabelSelectorAsSelector for ``{matchLabels, matchExpressions}``.

    ``None`` selects nothing; ``{}`` selects everything.
    """
    if sel is None:
        return LabelSelector(nothing=True)
    match_labels: Mapping[str, Any] = sel.get("matchLabels") or {}
    exprs: list[Mapping[str, Any]] = list(sel.get("matchExpressions") or [])
    reqs: list[Requirement] = []
    for k, v in match_labels.items():
        reqs.append(new_requirement(str(k), EQUALS, [str(v)]))
    for expr in exprs:
        operator = str(expr.get("operator", ""))
        if operator not in _OBJECT_OPERATORS:
            raise SelectorError(f"{go_quote(operator)} is not a valid label selector operator")
        values = [str(v) for v in (expr.get("values") or [])]
        reqs.append(new_requirement(str(expr.get("key", "")), _OBJECT_OPERATORS[operator], values))
    reqs.sort(key=lambda r: r.key)
    return LabelSelector(tuple(reqs))


def label_selector_object_to_string(sel: Mapping[str, Any] | None) -> str:
    """The query-string form of a selector object (``selector.String()``; '' for everything)."""
    return str(label_selector_from_object(sel))


def format_label_selector(sel: Mapping[str, Any] | None) -> str:
    """metav1.FormatLabelSelector as the table printers use it."""
    try:
        s = label_selector_object_to_string(sel)
    except SelectorError:
        return "<error>"
    return s or "<none>"


def format_labels(labels: Mapping[str, str] | None) -> str:
    """labels.FormatLabels: ``k=v,...`` sorted by key, ``<none>`` when empty."""
    if not labels:
        return "<none>"
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels))


# --------------------------------------------------------------------------------------
# field selector
# --------------------------------------------------------------------------------------


def _get(obj: Mapping[str, Any], *path: str) -> Any:
    cur: Any = obj
    for p in path:
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(p)
    return cur


def _s(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _meta_fields(obj: Mapping[str, Any]) -> dict[str, str]:
    return {
        "metadata.name": _s(_get(obj, "metadata", "name")),
        "metadata.namespace": _s(_get(obj, "metadata", "namespace")),
    }


def _pod_fields(obj: Mapping[str, Any]) -> dict[str, str]:
    ips = _get(obj, "status", "podIPs") or []
    ip = _s(_get(obj, "status", "podIP"))
    return {
        **_meta_fields(obj),
        "spec.nodeName": _s(_get(obj, "spec", "nodeName")),
        "spec.restartPolicy": _s(_get(obj, "spec", "restartPolicy")),
        "spec.schedulerName": _s(_get(obj, "spec", "schedulerName")),
        "spec.serviceAccountName": _s(_get(obj, "spec", "serviceAccountName")),
        "spec.hostNetwork": "true" if _get(obj, "spec", "hostNetwork") else "false",
        "status.phase": _s(_get(obj, "status", "phase")),
        "status.podIP": ip,
        "status.podIPs": ",".join(_s(i.get("ip")) for i in ips if isinstance(i, Mapping)) or ip,
        "status.nominatedNodeName": _s(_get(obj, "status", "nominatedNodeName")),
    }


def _event_fields(obj: Mapping[str, Any]) -> dict[str, str]:
    inv = "involvedObject"
    source = _s(_get(obj, "reportingComponent")) or _s(_get(obj, "source", "component"))
    return {
        **_meta_fields(obj),
        "involvedObject.kind": _s(_get(obj, inv, "kind")),
        "involvedObject.namespace": _s(_get(obj, inv, "namespace")),
        "involvedObject.name": _s(_get(obj, inv, "name")),
        "involvedObject.uid": _s(_get(obj, inv, "uid")),
        "involvedObject.apiVersion": _s(_get(obj, inv, "apiVersion")),
        "involvedObject.resourceVersion": _s(_get(obj, inv, "resourceVersion")),
        "involvedObject.fieldPath": _s(_get(obj, inv, "fieldPath")),
        "reason": _s(_get(obj, "reason")),
        "reportingComponent": _s(_get(obj, "reportingComponent")),
        "source": source,
        "type": _s(_get(obj, "type")),
    }


def _int_field(obj: Mapping[str, Any], *path: str) -> str:
    v = _get(obj, *path)
    return str(int(v)) if isinstance(v, (int, float)) and not isinstance(v, bool) else "0"


# kind -> (fields of an object, supported labels, aliases). Kinds absent here use the
# default conversion (metadata.name, metadata.namespace) with its own error message.
_FIELD_KINDS: dict[str, tuple[Callable[[Mapping[str, Any]], dict[str, str]], dict[str, str]]] = {
    "Pod": (_pod_fields, {"spec.host": "spec.nodeName"}),
    "Event": (_event_fields, {}),
    "Namespace": (
        lambda o: {
            "metadata.name": _s(_get(o, "metadata", "name")),
            "status.phase": _s(_get(o, "status", "phase")),
        },
        {},
    ),
    "Secret": (lambda o: {**_meta_fields(o), "type": _s(_get(o, "type"))}, {}),
    "Node": (
        lambda o: {
            "metadata.name": _s(_get(o, "metadata", "name")),
            "spec.unschedulable": "true" if _get(o, "spec", "unschedulable") else "false",
        },
        {},
    ),
    "Service": (
        lambda o: {
            **_meta_fields(o),
            "spec.clusterIP": _s(_get(o, "spec", "clusterIP")),
            "spec.type": _s(_get(o, "spec", "type")),
        },
        {},
    ),
    "ReplicationController": (
        lambda o: {**_meta_fields(o), "status.replicas": _int_field(o, "status", "replicas")},
        {},
    ),
    "ReplicaSet": (
        lambda o: {**_meta_fields(o), "status.replicas": _int_field(o, "status", "replicas")},
        {},
    ),
    "Job": (
        lambda o: {**_meta_fields(o), "status.successful": _int_field(o, "status", "succeeded")},
        {},
    ),
}


@dataclass(frozen=True)
class FieldRequirement:
    field: str
    operator: str  # "=" or "!="
    value: str

    def __str__(self) -> str:
        esc = self.value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")
        return f"{self.field}{'=' if self.operator == '=' else '!='}{esc}"


@dataclass(frozen=True)
class FieldSelector:
    """A parsed field selector (AND of requirements) for one kind."""

    requirements: tuple[FieldRequirement, ...] = ()
    kind: str | None = None

    @property
    def empty(self) -> bool:
        return not self.requirements

    def fields_of(self, obj: Mapping[str, Any]) -> dict[str, str]:
        spec = _FIELD_KINDS.get(self.kind or "")
        return spec[0](obj) if spec else _meta_fields(obj)

    def matches(self, obj: Mapping[str, Any]) -> bool:
        if not self.requirements:
            return True
        fields = self.fields_of(obj)
        for r in self.requirements:
            have = fields.get(r.field, "")
            if (have == r.value) != (r.operator == "="):
                return False
        return True

    def requires_exact_match(self, field: str) -> str | None:
        for r in self.requirements:
            if r.field == field and r.operator == "=":
                return r.value
        return None

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


def _split_terms(text: str) -> list[str]:
    if not text:
        return []
    terms: list[str] = []
    start, in_slash = 0, False
    for i, c in enumerate(text):
        if in_slash:
            in_slash = False
        elif c == "\\":
            in_slash = True
        elif c == ",":
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return terms


def _split_term(term: str) -> tuple[str, str, str] | None:
    for i in range(len(term)):
        for op in ("!=", "==", "="):
            if term.startswith(op, i):
                return term[:i], op, term[i + len(op) :]
    return None


def _unescape(value: str) -> str:
    if not any(c in value for c in "\\,="):
        return value
    out: list[str] = []
    in_slash = False
    for c in value:
        if in_slash:
            if c not in "\\,=":
                raise SelectorError(f"invalid field selector: invalid escape sequence: \\{c}")
            out.append(c)
            in_slash = False
            continue
        if c == "\\":
            in_slash = True
        elif c in ",=":
            raise SelectorError(f"invalid field selector: unescaped character in value: {ord(c)}")
        else:
            out.append(c)
    if in_slash:
        raise SelectorError("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def _convert_label(kind: str | None, label: str, crd: bool, namespaced: bool) -> str:
    if crd:  # apiextensions crConverter.ConvertFieldLabel
        if label == "metadata.name" or (namespaced and label == "metadata.namespace"):
            return label
        raise SelectorError(f"field label not supported: {label}")
    spec = _FIELD_KINDS.get(kind or "")
    if spec is None:  # runtime.DefaultMetaV1FieldSelectorConversion
        if label in ("metadata.name", "metadata.namespace"):
            return label
        raise SelectorError(
            f'{go_quote(label)} is not a known field selector: only "metadata.name", '
            '"metadata.namespace"'
        )
    fields_fn, aliases = spec
    if label in aliases:
        return aliases[label]
    if label in fields_fn({}):
        return label
    raise SelectorError(f"field label not supported: {label}")


def parse_field_selector(
    text: str, kind: str | None = None, *, crd: bool = False, namespaced: bool = True
) -> FieldSelector:
    """fields.ParseSelector + the server's field label conversion for ``kind``.

    Built-in kinds with a registered conversion (Pod, Event, Namespace, Secret, Service,
    Node, ReplicationController, ReplicaSet, Job) accept their extra fields and reject
    others with ``field label not supported: X``; other built-in kinds (and no kind)
    accept ``metadata.name``/``metadata.namespace`` and answer ``"X" is not a known
    field selector: ...``. Custom resources (``crd=True``) accept ``metadata.name`` and,
    when namespaced, ``metadata.namespace``; anything else is ``field label not
    supported: X``.
    """
    parts = sorted(_split_terms(text))
    reqs: list[FieldRequirement] = []
    for part in parts:
        if part == "":
            continue
        split = _split_term(part)
        if split is None:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{part}'")
        lhs, op, rhs = split
        value = _unescape(rhs)
        reqs.append(FieldRequirement(lhs, "!=" if op == "!=" else "=", value))
    converted = tuple(
        FieldRequirement(_convert_label(kind, r.field, crd, namespaced), r.operator, r.value)
        for r in reqs
    )
    return FieldSelector(converted, kind)
