"""Server-side apply field ownership, the part of it that changes an object's content.

The real kube-apiserver (structured-merge-diff) remembers, per field manager, which
fields that manager's last apply set. When the same manager applies again and leaves
a field out, the server REMOVES that field, unless another manager owns it too. A
field that someone else changed since (an update by another manager) has moved to that
manager and is not removed. Seen on kube-apiserver v1.33.13: a manager that applies
labels {a, b} and then only {c} leaves the object with the label c alone.

kubesim models this for fields reached through maps (leaves are scalars and lists, a
list is one atomic field); ownership lives beside the store (no ``managedFields`` in
objects) and is keyed by uid, so a recreated object starts afresh. Not modelled:
conflicts (409 without ``--force-conflicts``), associative lists merged by key,
ownership by non-apply updates (approximated: a field whose value differs from what the
manager applied was changed by someone else, so it is left alone).
"""

from __future__ import annotations

import copy
from typing import Any

Path = tuple[str, ...]
# Fields that identify the object: never owned, never removed.
_IDENTITY = {("apiVersion",), ("kind",), ("metadata", "name"), ("metadata", "namespace")}
_MISSING = object()


def leaves(doc: Any, prefix: Path = ()) -> dict[Path, Any]:
    """Every field path an applied configuration sets (scalars and lists are leaves;
    ``status`` and the identity fields are left out), with its value."""
    out: dict[Path, Any] = {}
    if not isinstance(doc, dict):
        return out
    for key, value in doc.items():
        path = (*prefix, str(key))
        if path in _IDENTITY or path == ("status",) or value is None:
            continue
        if isinstance(value, dict):
            out.update(leaves(value, path))
        else:
            out[path] = value
    return out


def _get(obj: Any, path: Path) -> Any:
    for key in path:
        if not isinstance(obj, dict) or key not in obj:
            return _MISSING
        obj = obj[key]
    return obj


def _remove(obj: dict[str, Any], path: Path) -> None:
    parents: list[tuple[dict[str, Any], str]] = []
    cur: Any = obj
    for key in path[:-1]:
        if not isinstance(cur, dict) or not isinstance(cur.get(key), dict):
            return
        parents.append((cur, key))
        cur = cur[key]
    cur.pop(path[-1], None)
    # an emptied labels/annotations map disappears (ObjectMeta's maps are omitempty)
    if path[0] == "metadata":
        for parent, key in reversed(parents[1:]):
            if parent[key] == {}:
                del parent[key]


class FieldOwners:
    """What each field manager's last server-side apply set, per object."""

    def __init__(self) -> None:
        self._by_object: dict[tuple[str, str, str], tuple[str, dict[str, dict[Path, Any]]]] = {}

    def _managers(self, key: tuple[str, str, str], uid: str) -> dict[str, dict[Path, Any]]:
        got = self._by_object.get(key)
        if got is None or got[0] != uid:
            got = (uid, {})
            self._by_object[key] = got
        return got[1]

    def merge(
        self,
        key: tuple[str, str, str],
        manager: str,
        old: dict[str, Any],
        merged: dict[str, Any],
        applied: dict[str, Any],
    ) -> dict[str, Any]:
        """``merged`` (old + applied) without the fields ``manager`` applied last time,
        left out now, unchanged since and owned by no other apply manager."""
        managers = self._managers(key, str(old.get("metadata", {}).get("uid", "")))
        now = leaves(applied)
        before = managers.get(manager, {})
        result = copy.deepcopy(merged)
        for path, value in before.items():
            if path in now or _get(old, path) != value:
                continue
            if any(
                path in owned and owned[path] == value
                for other, owned in managers.items()
                if other != manager
            ):
                continue
            _remove(result, path)
        return result

    def record(
        self, key: tuple[str, str, str], manager: str, obj: dict[str, Any], applied: dict[str, Any]
    ) -> None:
        """After a (non dry-run) apply: ``manager`` owns what it applied; another apply
        manager whose value was overwritten no longer owns that field."""
        managers = self._managers(key, str(obj.get("metadata", {}).get("uid", "")))
        now = {p: _get(obj, p) for p in leaves(applied) if _get(obj, p) is not _MISSING}
        managers[manager] = now
        for other, owned in managers.items():
            if other == manager:
                continue
            for path in [p for p in owned if p in now and owned[p] != now[p]]:
                del owned[path]
