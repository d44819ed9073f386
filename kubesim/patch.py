"""PATCH bodies applied the way kube-apiserver applies them. Pure functions, no I/O.

* ``merge_patch``: RFC 7386 JSON merge patch (``application/merge-patch+json``).
* ``json_patch``: RFC 6902 JSON patch (``application/json-patch+json``) with the
  semantics and error texts of gopkg.in/evanphx/json-patch.v4, which the server uses
  (``-`` appends, negative indices count from the end, ``test`` of a missing member
  against ``null`` passes).
* ``strategic_merge_patch``: k8s.io/apimachinery/pkg/util/strategicpatch for the
  built-in kinds: lists merged by their patchMergeKey, ``$patch: replace|delete|merge``,
  ``$retainKeys``, ``$setElementOrder/<list>``, ``$deleteFromPrimitiveList/<list>``,
  including its element ordering rules (items named in the patch first, in patch order,
  server-only items interleaved by their live position).
* ``apply_patch``: dispatch on the request Content-Type, with the status codes the
  server uses (415 for a strategic merge patch on a CRD kind, 400 for a bad body,
  422 when a JSON patch does not apply).

Every failure is a ``PatchError`` whose ``str()`` is the message for the Status body and
whose ``code``/``reason`` are its HTTP code and StatusReason.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CONTENT_TYPE_APPLY",
    "CONTENT_TYPE_JSON_PATCH",
    "CONTENT_TYPE_MERGE_PATCH",
    "CONTENT_TYPE_STRATEGIC",
    "JSON_PATCH_REJECTED",
    "PatchError",
    "accepted_patch_types",
    "apply_patch",
    "json_patch",
    "merge_patch",
    "strategic_merge_patch",
]

CONTENT_TYPE_JSON_PATCH = "application/json-patch+json"
CONTENT_TYPE_MERGE_PATCH = "application/merge-patch+json"
CONTENT_TYPE_STRATEGIC = "application/strategic-merge-patch+json"
CONTENT_TYPE_APPLY = "application/apply-patch+yaml"

_REASONS = {
    400: "BadRequest",
    409: "Conflict",
    415: "UnsupportedMediaType",
    422: "Invalid",
    500: "",  # an error that is not a StatusError: ErrorToAPIStatus gives reason Unknown ("")
}

JSON_PATCH_REJECTED = "the server rejected our request due to an error in our request"


class PatchError(ValueError):
    """A patch the server refuses.

    ``str(e)``/``message`` is the Status message, ``code`` its HTTP code, ``reason`` its
    StatusReason and ``detail`` the underlying library message where the real server
    hides it (a JSON patch that does not apply is answered with the generic 422 text).
    """

    def __init__(self, message: str, code: int = 422, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.detail = detail or message

    @property
    def reason(self) -> str:
        return _REASONS.get(self.code, "")

    def status(self) -> dict[str, Any]:
        """The ``Status`` body kube-apiserver sends for this error."""
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
        }
        if self.reason:
            body["reason"] = self.reason
        if self.message == JSON_PATCH_REJECTED:
            body["details"] = {}  # NewGenericServerResponse always sets (empty) details
        body["code"] = self.code
        return body


# --------------------------------------------------------------------------------------
# Go value helpers
# --------------------------------------------------------------------------------------


def _go_kind(v: Any) -> str:
    if v is None:
        return "nil"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "float64"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "slice"
    if isinstance(v, dict):
        return "map"
    return type(v).__name__


def _go_eq(a: Any, b: Any) -> bool:
    """Go ``==`` on decoded JSON scalars (a bool is never equal to a number)."""
    return _go_kind(a) == _go_kind(b) and a == b


def _json_equal(a: Any, b: Any) -> bool:
    """Deep JSON equality with JSON types (True != 1, 1 == 1.0)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    return _go_eq(a, b)


def _go_fmt(v: Any) -> str:
    """Go's %v for decoded JSON (used inside a few strategic merge patch errors)."""
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, dict):
        return "map[" + " ".join(f"{k}:{_go_fmt(v[k])}" for k in sorted(v)) + "]"
    if isinstance(v, list):
        return "[" + " ".join(_go_fmt(x) for x in v) + "]"
    return str(v)


# --------------------------------------------------------------------------------------
# RFC 7386 merge patch
# --------------------------------------------------------------------------------------


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: returns a new document; neither argument is modified."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result: dict[str, Any] = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# --------------------------------------------------------------------------------------
# RFC 6902 JSON patch
# --------------------------------------------------------------------------------------

_MISSING = object()


def _split_pointer(path: str) -> list[str] | None:
    # evanphx/json-patch v4 splits on "/" and needs at least one token after a leading
    # "/": "" (the whole document) and paths without a leading "/" are "missing".
    if not path.startswith("/"):
        return None
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _array_index(op: str, path: str, token: str, length: int, *, allow_end: bool) -> int:
    if token == "-" and allow_end:
        return length
    try:
        idx = int(token)
    except ValueError:
        raise PatchError(
            f"error in {op} for path: '{path}': value was not a proper array index: '{token}'"
        ) from None
    shown = idx
    if idx < 0:  # evanphx/json-patch v4 supports negative indices
        idx += length
    limit = length if allow_end else length - 1
    if idx < 0 or idx > limit:
        raise PatchError(
            f"error in {op} for path: '{path}': Unable to access invalid index: {shown}: "
            "invalid index referenced"
        )
    return idx


def _parent(doc: Any, tokens: list[str] | None) -> Any:
    """The container holding the last token, or _MISSING."""
    if not tokens:
        return _MISSING
    cur = doc
    for tok in tokens[:-1]:
        if isinstance(cur, dict):
            if tok not in cur:
                return _MISSING
            cur = cur[tok]
        elif isinstance(cur, list):
            try:
                i = int(tok)
            except ValueError:
                return _MISSING
            if i < 0:
                i += len(cur)
            if not 0 <= i < len(cur):
                return _MISSING
            cur = cur[i]
        else:
            return _MISSING
    return cur if isinstance(cur, (dict, list)) else _MISSING


def _get_value(doc: Any, path: str) -> Any:
    tokens = _split_pointer(path)
    con = _parent(doc, tokens)
    if con is _MISSING or tokens is None:
        return _MISSING
    key = tokens[-1]
    if isinstance(con, dict):
        return con.get(key, _MISSING)
    try:
        i = int(key)
    except ValueError:
        return _MISSING
    if i < 0:
        i += len(con)
    return con[i] if 0 <= i < len(con) else _MISSING


def _op_add(doc: Any, path: str, value: Any, op: str = "add") -> Any:
    tokens = _split_pointer(path)
    con = _parent(doc, tokens)
    if con is _MISSING or tokens is None:
        raise PatchError(
            f'{op} operation does not apply: doc is missing path: "{path}": missing value'
        )
    key = tokens[-1]
    if isinstance(con, dict):
        con[key] = value
    else:
        con.insert(_array_index(op, path, key, len(con), allow_end=True), value)
    return doc


def _op_remove(doc: Any, path: str, op: str = "remove") -> Any:
    tokens = _split_pointer(path)
    con = _parent(doc, tokens)
    if con is _MISSING or tokens is None:
        raise PatchError(
            f'{op} operation does not apply: doc is missing path: "{path}": missing value'
        )
    key = tokens[-1]
    if isinstance(con, dict):
        if key not in con:
            raise PatchError(
                f"error in {op} for path: '{path}': Unable to remove nonexistent key: {key}: "
                "missing value"
            )
        del con[key]
    else:
        del con[_array_index(op, path, key, len(con), allow_end=False)]
    return doc


def _op_replace(doc: Any, path: str, value: Any) -> Any:
    tokens = _split_pointer(path)
    con = _parent(doc, tokens)
    if con is _MISSING or tokens is None:
        raise PatchError(
            f"replace operation does not apply: doc is missing path: {path}: missing value"
        )
    key = tokens[-1]
    if isinstance(con, dict):
        if key not in con:
            raise PatchError(
                f"replace operation does not apply: doc is missing key: {path}: missing value"
            )
        con[key] = value
    else:
        con[_array_index("replace", path, key, len(con), allow_end=False)] = value
    return doc


_OPS = ("add", "remove", "replace", "move", "copy", "test")


def json_patch(target: Any, ops: list[Any]) -> Any:
    """RFC 6902 as evanphx/json-patch v4 applies it; returns a new document.

    Neither argument is modified. A missing ``value`` means ``null`` (v4 behaviour).
    """
    if not isinstance(ops, list):
        raise PatchError(
            f"json: cannot unmarshal {_json_type_name(ops)} into Go value of type jsonpatch.Patch",
            400,
        )
    doc = copy.deepcopy(target)
    for raw in ops:
        if not isinstance(raw, dict):
            raise PatchError(
                f"json: cannot unmarshal {_json_type_name(raw)} into Go value of type "
                "jsonpatch.Operation",
                400,
            )
        kind = raw.get("op")
        kind = kind if isinstance(kind, str) else "unknown"
        if kind not in _OPS:
            raise PatchError(f"Unexpected kind: {kind}")
        path = raw.get("path")
        if not isinstance(path, str):
            raise PatchError(
                f"{kind} operation failed to decode path: operation missing path field: "
                "missing value"
            )
        value = copy.deepcopy(raw.get("value"))
        if kind == "add":
            doc = _op_add(doc, path, value)
        elif kind == "remove":
            doc = _op_remove(doc, path)
        elif kind == "replace":
            doc = _op_replace(doc, path, value)
        elif kind in ("move", "copy"):
            frm = raw.get("from")
            if not isinstance(frm, str):
                raise PatchError(
                    f"{kind} operation failed to decode from: operation missing from field: "
                    "missing value"
                )
            moved = _get_value(doc, frm)
            if moved is _MISSING:
                raise PatchError(
                    f"{kind} operation does not apply: doc is missing from path: {frm}: "
                    "missing value"
                )
            if kind == "move":
                if path.startswith(frm + "/"):
                    raise PatchError(f"Unable to move {frm} into its own child {path}")
                doc = _op_remove(doc, frm, "move")
            doc = _op_add(doc, path, copy.deepcopy(moved), kind)
        else:  # test
            tokens = _split_pointer(path)
            if _parent(doc, tokens) is _MISSING:
                raise PatchError(
                    f"test operation does not apply: is missing path: {path}: missing value"
                )
            have = _get_value(doc, path)
            have = None if have is _MISSING else have
            if not _json_equal(have, raw.get("value")):
                raise PatchError(f"testing value {path} failed: test failed")
    return doc


# --------------------------------------------------------------------------------------
# strategic merge patch: schema of the built-in kinds
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Field:
    strategy: str = ""  # "merge", "replace" or "" (lists replaced, maps merged)
    merge_key: str = ""
    sub: Mapping[str, _Field] = field(default_factory=dict)


def _merge(key: str, sub: Mapping[str, _Field] | None = None) -> _Field:
    return _Field("merge", key, sub or {})


def _struct(sub: Mapping[str, _Field]) -> _Field:
    return _Field("", "", sub)


_OBJECT_META: dict[str, _Field] = {
    "ownerReferences": _merge("uid"),
    "finalizers": _Field("merge"),
}
_CONTAINER: dict[str, _Field] = {
    "ports": _merge("containerPort"),
    "env": _merge("name"),
    "volumeMounts": _merge("mountPath"),
    "volumeDevices": _merge("devicePath"),
}
_POD_SPEC: dict[str, _Field] = {
    "volumes": _merge("name"),  # patchStrategy "merge,retainKeys"
    "initContainers": _merge("name", _CONTAINER),
    "containers": _merge("name", _CONTAINER),
    "ephemeralContainers": _merge("name", _CONTAINER),
    "imagePullSecrets": _merge("name"),
    "hostAliases": _merge("ip"),
    "topologySpreadConstraints": _merge("topologyKey"),
    "resourceClaims": _merge("name"),
    "schedulingGates": _merge("name"),
}
_POD_STATUS: dict[str, _Field] = {
    "conditions": _merge("type"),
    "podIPs": _merge("ip"),
    "hostIPs": _merge("ip"),
    "resourceClaimStatuses": _merge("name"),
}
_POD_TEMPLATE: dict[str, _Field] = {"metadata": _struct(_OBJECT_META), "spec": _struct(_POD_SPEC)}
_CONDITIONS_STATUS: dict[str, _Field] = {"conditions": _merge("type")}
_WORKLOAD_SPEC: dict[str, _Field] = {"template": _struct(_POD_TEMPLATE)}
_JOB_SPEC: dict[str, _Field] = {"template": _struct(_POD_TEMPLATE)}


def _kind(
    spec: Mapping[str, _Field] | None = None, status: Mapping[str, _Field] | None = None
) -> dict[str, _Field]:
    out: dict[str, _Field] = {"metadata": _struct(_OBJECT_META)}
    if spec is not None:
        out["spec"] = _struct(spec)
    if status is not None:
        out["status"] = _struct(status)
    return out


STRATEGIC_SCHEMAS: dict[str, dict[str, _Field]] = {
    "Pod": _kind(_POD_SPEC, _POD_STATUS),
    "PodTemplate": {"metadata": _struct(_OBJECT_META), "template": _struct(_POD_TEMPLATE)},
    "Deployment": _kind(_WORKLOAD_SPEC, _CONDITIONS_STATUS),
    "StatefulSet": _kind(_WORKLOAD_SPEC, _CONDITIONS_STATUS),
    "ReplicaSet": _kind(_WORKLOAD_SPEC, _CONDITIONS_STATUS),
    "DaemonSet": _kind(_WORKLOAD_SPEC, _CONDITIONS_STATUS),
    "ReplicationController": _kind(_WORKLOAD_SPEC, _CONDITIONS_STATUS),
    "Job": _kind(_JOB_SPEC, _CONDITIONS_STATUS),
    "CronJob": _kind(
        {"jobTemplate": _struct({"metadata": _struct(_OBJECT_META), "spec": _struct(_JOB_SPEC)})}
    ),
    "Namespace": _kind(status=_CONDITIONS_STATUS),
    "PersistentVolumeClaim": _kind(status=_CONDITIONS_STATUS),
    "Service": _kind({"ports": _merge("port")}, _CONDITIONS_STATUS),
    "ServiceAccount": {"metadata": _struct(_OBJECT_META), "secrets": _merge("name")},
    "Node": _kind(status={"conditions": _merge("type"), "addresses": _merge("type")}),
}
"""Per built-in kind: the fields with a patchStrategy (from the Go struct tags)."""


# --------------------------------------------------------------------------------------
# strategic merge patch: the algorithm (strategicpatch.mergeMap and friends)
# --------------------------------------------------------------------------------------

_DIRECTIVE = "$patch"
_RETAIN_KEYS = "$retainKeys"
_SET_ORDER = "$setElementOrder"
_DELETE_PRIMITIVE = "$deleteFromPrimitiveList"


def _bad_patch_type(directive: Any, patch: Mapping[str, Any]) -> PatchError:
    return PatchError(
        f"unknown patch type: {_go_fmt(directive)} in map: {_go_fmt(dict(patch))}", 500
    )


def _no_merge_key(m: Mapping[str, Any], key: str) -> PatchError:
    return PatchError(f"map: {_go_fmt(dict(m))} does not contain declared merge key: {key}", 500)


def _bad_arg_type(expected: str, actual: Any) -> PatchError:
    return PatchError(f"expected a {expected}, but received a {_go_kind(actual)}", 500)


def _discard_nulls(v: Any) -> None:
    if isinstance(v, dict):
        for k in [k for k, x in v.items() if x is None]:
            del v[k]
        for x in v.values():
            _discard_nulls(x)
    elif isinstance(v, list):
        for x in v:
            _discard_nulls(x)


def _extract_key(key: str, prefix: str) -> str:
    parts = key.split("/", 1)
    if len(parts) <= 1 or parts[0] != prefix:
        if prefix == _DELETE_PRIMITIVE:
            raise PatchError("invalid patch format of primitive list", 400)
        raise PatchError("invalid patch format of setElementOrder list", 400)
    return parts[1]


def _merge_map(
    original: dict[str, Any] | None, patch: dict[str, Any], schema: Mapping[str, _Field]
) -> dict[str, Any]:
    if _DIRECTIVE in patch:
        directive = patch[_DIRECTIVE]
        if _go_eq(directive, "replace"):
            del patch[_DIRECTIVE]
            return patch
        if _go_eq(directive, "delete"):
            return {}
        raise _bad_patch_type(directive, patch)
    if original is None:
        original = {}
    _apply_retain_keys(original, patch)
    _merge_set_element_order(original, patch, schema)

    for key in list(patch):
        patch_v = patch[key]
        is_delete_list = False
        if key.startswith(_DELETE_PRIMITIVE):
            key = _extract_key(key, _DELETE_PRIMITIVE)
            is_delete_list = True
        if patch_v is None:
            original.pop(key, None)
            continue
        if key not in original:
            if not is_delete_list:
                _discard_nulls(patch_v)
                original[key] = patch_v
            continue
        if _go_kind(original[key]) != _go_kind(patch_v):
            if not is_delete_list:
                _discard_nulls(patch_v)
                original[key] = patch_v
            continue
        meta = schema.get(key, _Field())
        if isinstance(patch_v, dict):
            if meta.strategy == "replace":
                original[key] = patch_v
            else:
                original[key] = _merge_map(original[key], patch_v, meta.sub)
        elif isinstance(patch_v, list):
            if meta.strategy == "merge":
                original[key] = _merge_slice(original[key], patch_v, meta, is_delete_list)
            else:
                original[key] = patch_v
        else:
            original[key] = patch_v
    return original


def _apply_retain_keys(original: dict[str, Any], patch: dict[str, Any]) -> None:
    if _RETAIN_KEYS not in patch:
        return
    retain = patch.pop(_RETAIN_KEYS)
    if not isinstance(retain, list):
        raise PatchError("invalid patch format of retainKeys", 400)
    keep = [k for k in retain]
    for k, v in patch.items():
        if v is None or k.startswith(_DELETE_PRIMITIVE) or k.startswith(_SET_ORDER):
            continue
        if not any(_go_eq(k, x) for x in keep):
            raise PatchError("invalid patch format of retainKeys", 400)
    for k in list(original):
        if not any(_go_eq(k, x) for x in keep):
            del original[k]


def _merge_set_element_order(
    original: dict[str, Any], patch: dict[str, Any], schema: Mapping[str, _Field]
) -> None:
    for key in [k for k in patch if k.startswith(_SET_ORDER)]:
        order = patch.pop(key)
        if not isinstance(order, list):
            raise PatchError("invalid patch format of setElementOrder list", 400)
        list_key = _extract_key(key, _SET_ORDER)
        found_original, found_patch = list_key in original, list_key in patch
        original_list: list[Any] = []
        patch_list: list[Any] = []
        if found_original:
            if not isinstance(original[list_key], list):
                raise _bad_arg_type("slice", original[list_key])
            original_list = original[list_key]
        if found_patch:
            if not isinstance(patch[list_key], list):
                raise _bad_arg_type("slice", patch[list_key])
            patch_list = patch[list_key]
        meta = schema.get(list_key, _Field())
        _validate_set_order(patch_list, order, meta.merge_key)
        if found_original and not found_patch:
            merged = original_list
        elif found_patch and not found_original:
            merged = patch_list
        elif found_original and found_patch:
            merged = (
                _merge_slice(original_list, patch_list, meta, False)
                if meta.strategy == "merge"
                else patch_list
            )
        else:
            continue
        patch_items, server_only = _partition(merged, order, meta.merge_key)
        is_map = _element_kind(original_list, patch_list) == "map"
        original[list_key] = _normalize_element_order(
            patch_items, server_only, order, original_list, meta.merge_key, is_map
        )
        patch.pop(list_key, None)


def _validate_set_order(patch_list: list[Any], order: list[Any], merge_key: str) -> None:
    if not order or not patch_list:
        return
    if merge_key:
        non_delete = [
            v
            for v in patch_list
            if not (isinstance(v, dict) and _go_eq(v.get(_DIRECTIVE), "delete"))
        ]
    else:
        non_delete = patch_list
    pi = oi = 0
    while pi < len(non_delete) and oi < len(order):
        item = non_delete[pi]
        if isinstance(item, dict) and _DIRECTIVE in item:
            pi += 1
            continue
        if _merge_key_equal(item, order[oi], merge_key):
            pi += 1
        oi += 1
    if pi < len(non_delete) and oi >= len(order):
        raise PatchError(
            f"The order in patch list:\n{_go_fmt(patch_list)}\n doesn't match {_SET_ORDER} list:\n"
            f"{_go_fmt(order)}\n",
            500,
        )


def _merge_key_equal(left: Any, right: Any, merge_key: str) -> bool:
    if not merge_key:
        return _go_eq(left, right)
    if not isinstance(left, dict):
        raise _bad_arg_type("map", left)
    if not isinstance(right, dict):
        raise _bad_arg_type("map", right)
    if merge_key not in left:
        raise _no_merge_key(left, merge_key)
    if merge_key not in right:
        raise _no_merge_key(right, merge_key)
    return _go_eq(left[merge_key], right[merge_key])


def _element_kind(*lists: list[Any]) -> str:
    kind = ""
    for lst in lists:
        for v in lst:
            k = _go_kind(v)
            if not kind:
                if k == "slice":
                    raise PatchError("lists of lists are not supported", 422)
                kind = k
            elif k != kind:
                raise PatchError(
                    "list element types are not identical: " + _go_fmt(list(lists)), 500
                )
    if not kind:
        raise PatchError("no elements in any of the given slices", 500)
    return kind


def _find_by_key(lst: list[Any], key: str, value: Any) -> int:
    for i, v in enumerate(lst):
        if not isinstance(v, dict):
            raise PatchError(f"value for key {i} is not a map", 500)
        if key in v and _go_eq(v[key], value):
            return i
    return -1


def _merge_slice(
    original: list[Any], patch: list[Any], meta: _Field, is_delete_list: bool
) -> list[Any]:
    if not original and not patch:
        return original
    merge_key = meta.merge_key
    is_map = _element_kind(original, patch) == "map"
    if not is_map:
        if is_delete_list:
            return [v for v in original if not any(_go_eq(v, d) for d in patch)]
        merged: list[Any] = []
        for v in original + patch:
            if not any(_go_eq(v, m) for m in merged):
                merged.append(v)
    else:
        if not merge_key:
            raise PatchError("cannot merge lists without merge key", 500)
        original, patch = _merge_special_elements(original, patch, merge_key)
        # Go appends to a copy of the slice header: `original` (the live order used
        # below) does not see the appended patch items.
        merged = list(original)
        for v in patch:
            if merge_key not in v:
                raise _no_merge_key(v, merge_key)
            i = _find_by_key(merged, merge_key, v[merge_key])
            if i >= 0:
                merged[i] = _merge_map(merged[i], v, meta.sub)
            else:
                merged.append(v)
    patch_items, server_only = _partition(merged, patch, merge_key)
    return _normalize_element_order(patch_items, server_only, patch, original, merge_key, is_map)


def _merge_special_elements(
    original: list[Any], patch: list[Any], merge_key: str
) -> tuple[list[Any], list[Any]]:
    plain: list[Any] = []
    replace = False
    for v in patch:
        if _DIRECTIVE not in v:
            plain.append(v)
            continue
        directive = v[_DIRECTIVE]
        if _go_eq(directive, "delete"):
            if merge_key not in v:
                raise _no_merge_key(v, merge_key)
            original = [
                o
                for o in original
                if not (
                    isinstance(o, dict) and merge_key in o and _go_eq(o[merge_key], v[merge_key])
                )
            ]
        elif _go_eq(directive, "replace"):
            replace = True
        elif _go_eq(directive, "merge"):
            raise PatchError("merging lists cannot yet be specified in the patch", 500)
        else:
            raise _bad_patch_type(directive, v)
    if replace:
        return plain, []
    return original, plain


def _partition(merged: list[Any], by: list[Any], merge_key: str) -> tuple[list[Any], list[Any]]:
    in_patch: list[Any] = []
    server_only: list[Any] = []
    for v in merged:
        if merge_key:
            if not isinstance(v, dict):
                raise _bad_arg_type("map", v)
            if merge_key not in v:
                raise _no_merge_key(v, merge_key)
            found = _find_by_key(by, merge_key, v[merge_key]) >= 0
        else:
            found = any(_go_eq(v, b) for b in by)
        (in_patch if found else server_only).append(v)
    return in_patch, server_only


def _index(lst: list[Any], item: Any, merge_key: str, is_map: bool) -> int:
    def val(x: Any) -> Any:
        if is_map:
            return x.get(merge_key) if isinstance(x, dict) else None
        return x

    want = val(item)
    for i, v in enumerate(lst):
        if _go_eq(val(v), want):
            return i
    return -1


def _normalize_slice_order(
    to_sort: list[Any], order: list[Any], merge_key: str, is_map: bool
) -> list[Any]:
    to_delete: list[Any] = []
    if is_map:
        for lst in (to_sort, order):
            for item in lst:
                if not isinstance(item, dict):
                    raise _bad_arg_type("map", item)
                if merge_key not in item:
                    raise _no_merge_key(item, merge_key)
        keep = [v for v in to_sort if not _go_eq(v.get(_DIRECTIVE), "delete")]
        to_delete = [v for v in to_sort if _go_eq(v.get(_DIRECTIVE), "delete")]
        to_sort = keep
    # sort.SliceStable with "less = both found and i before j": items not found keep
    # their place relative to each other; found items are ordered by `order`.
    indexed = [(_index(order, v, merge_key, is_map), n, v) for n, v in enumerate(to_sort)]
    found = sorted((t for t in indexed if t[0] >= 0), key=lambda t: (t[0], t[1]))
    not_found = [t for t in indexed if t[0] < 0]
    result = [t[2] for t in not_found] + [t[2] for t in found]
    return result + to_delete


def _normalize_element_order(
    patch_items: list[Any],
    server_only: list[Any],
    patch_order: list[Any],
    server_order: list[Any],
    merge_key: str,
    is_map: bool,
) -> list[Any]:
    right = _normalize_slice_order(patch_items, patch_order, merge_key, is_map)
    left = _normalize_slice_order(server_only, server_order, merge_key, is_map)
    # mergeSortedSlice: insert server-only items among the patch items by live order.
    out: list[Any] = []
    i = j = 0
    while i < len(left) or j < len(right):
        if i >= len(left):
            out.append(right[j])
            j += 1
        elif j >= len(right):
            out.append(left[i])
            i += 1
        else:
            li = _index(server_order, left[i], merge_key, is_map)
            ri = _index(server_order, right[j], merge_key, is_map)
            if li >= 0 and ri >= 0 and li < ri:
                out.append(left[i])
                i += 1
            else:
                out.append(right[j])
                j += 1
    return out


def _strip_directives(v: Any) -> Any:
    # The real server decodes the result into a Go struct, which drops these keys.
    if isinstance(v, dict):
        return {
            k: _strip_directives(x)
            for k, x in v.items()
            if not (
                k in (_DIRECTIVE, _RETAIN_KEYS)
                or k.startswith(_SET_ORDER + "/")
                or k.startswith(_DELETE_PRIMITIVE + "/")
            )
        }
    if isinstance(v, list):
        return [_strip_directives(x) for x in v]
    return v


def strategic_merge_patch(target: Any, patch: Any, kind: str) -> Any:
    """Apply a strategic merge patch to a built-in ``kind``; returns a new object.

    Fields without a patch strategy behave like a JSON merge patch (maps merge, lists
    are replaced). Kinds without an entry in STRATEGIC_SCHEMAS get ObjectMeta's rules only.
    """
    if not isinstance(patch, dict):
        raise PatchError(
            f"json: cannot unmarshal {_json_type_name(patch)} into Go value of type "
            "map[string]interface {}",
            400,
        )
    schema = STRATEGIC_SCHEMAS.get(kind, {"metadata": _struct(_OBJECT_META)})
    original = copy.deepcopy(target) if isinstance(target, dict) else {}
    result = _merge_map(original, copy.deepcopy(patch), schema)
    return _strip_directives(result)


def _json_type_name(v: Any) -> str:
    return {
        "nil": "null",
        "bool": "bool",
        "float64": "number",
        "string": "string",
        "slice": "array",
        "map": "object",
    }.get(_go_kind(v), "value")


# --------------------------------------------------------------------------------------
# dispatch on Content-Type
# --------------------------------------------------------------------------------------


def accepted_patch_types(crd: bool) -> list[str]:
    """The patch media types the server accepts for a built-in (``crd=False``) or CRD kind."""
    return _accepted(crd)


def _accepted(crd: bool) -> list[str]:
    types = [CONTENT_TYPE_JSON_PATCH, CONTENT_TYPE_MERGE_PATCH]
    if not crd:
        types.append(CONTENT_TYPE_STRATEGIC)
    return [*types, CONTENT_TYPE_APPLY]


def _decode(body: bytes | str) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise PatchError(f"invalid JSON in the patch body: {e}", 400) from None


def apply_patch(
    content_type: str, target: dict[str, Any], body: bytes | str, *, kind: str, crd: bool
) -> dict[str, Any]:
    """Apply a PATCH request body to ``target`` as kube-apiserver would.

    ``content_type`` is the request's Content-Type (parameters ignored). Raises
    PatchError: 415 (unsupported type, strategic merge patch on a CRD kind, server-side
    apply, which kubesim does not implement), 400 (undecodable body), 422 (JSON patch
    that does not apply: message "the server rejected our request due to an error in
    our request", the jsonpatch text in ``detail``), 500 (a strategic merge patch the
    algorithm rejects, reason Unknown). The result is checked to still be an object.
    """
    media = content_type.split(";", 1)[0].strip().lower()
    if media not in _accepted(crd):
        raise PatchError(
            "the body of the request was in an unknown format - accepted media types include: "
            + ", ".join(_accepted(crd)),
            415,
        )
    if media == CONTENT_TYPE_APPLY:
        raise PatchError(
            "kubesim does not implement server-side apply (application/apply-patch+yaml); "
            "use client-side kubectl apply",
            415,
        )
    doc = _decode(body)
    if media == CONTENT_TYPE_MERGE_PATCH:
        if not isinstance(doc, dict):
            raise PatchError("Invalid JSON Patch", 400)
        result = merge_patch(target, doc)
    elif media == CONTENT_TYPE_JSON_PATCH:
        if not isinstance(doc, list):
            raise PatchError(
                f"json: cannot unmarshal {_json_type_name(doc)} into Go value of type "
                "jsonpatch.Patch",
                400,
            )
        try:
            result = json_patch(target, doc)
        except PatchError as e:
            if e.code != 422:
                raise
            # errors.NewGenericServerResponse(422, ...) drops the jsonpatch message
            raise PatchError(JSON_PATCH_REJECTED, 422, detail=e.message) from None
    else:
        result = strategic_merge_patch(target, doc, kind)
    if not isinstance(result, dict):
        raise PatchError(
            f"json: cannot unmarshal {_json_type_name(result)} into Go value of type "
            "map[string]interface {}",
            400,
        )
    return result
