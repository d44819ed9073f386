"""In-memory object store with a monotonic resourceVersion and an event history for watches.

Single event loop, no locks. Stored objects are never mutated in place: every write stores a
fresh dict, so references handed out (to watchers, to the JSON encoder) stay valid.
"""

from __future__ import annotations

import copy
import json
import random
import re
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .resources import NAMESPACES, Resource

_GEN_CHARS = "bcdfghjklmnpqrstvwxz2456789"
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z")
_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z")
_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or"
    " '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used"
    " for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and"
    " must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex"
    " used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
HISTORY = 100_000


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def jcopy(obj: Any) -> Any:
    """Deep copy of JSON-shaped data (much faster than copy.deepcopy)."""
    t = type(obj)
    if t is dict:
        return {k: jcopy(v) for k, v in obj.items()}
    if t is list:
        return [jcopy(v) for v in obj]
    return obj


def encode(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def random_suffix(n: int = 5) -> str:
    return "".join(random.choice(_GEN_CHARS) for _ in range(n))


class ApiError(Exception):
    """An error answered as a `Status` body."""

    def __init__(
        self, code: int, reason: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        }
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code
        return body


def _details(res: Resource, name: str) -> dict[str, Any]:
    d: dict[str, Any] = {"name": name}
    if res.group:
        d["group"] = res.group
    d["kind"] = res.plural
    return d


def not_found(res: Resource, name: str) -> ApiError:
    return ApiError(
        404, "NotFound", f'{res.group_resource} "{name}" not found', _details(res, name)
    )


def already_exists(res: Resource, name: str) -> ApiError:
    return ApiError(
        409, "AlreadyExists", f'{res.group_resource} "{name}" already exists', _details(res, name)
    )


def conflict(res: Resource, name: str) -> ApiError:
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {res.group_resource} "{name}": the object has been'
        " modified; please apply your changes to the latest version and try again",
        _details(res, name),
    )


def invalid(res: Resource, name: str, causes: list[tuple[str, str]]) -> ApiError:
    """422 Invalid; causes = [(field, message)]."""
    text = ", ".join(f"{f}: {m}" for f, m in causes)
    if len(causes) > 1:
        text = "[" + text + "]"
    d = _details(res, name)
    d["kind"] = res.kind
    d["causes"] = [{"reason": "FieldValueInvalid", "message": m, "field": f} for f, m in causes]
    qualified = f"{res.kind}.{res.group}" if res.group else res.kind
    return ApiError(422, "Invalid", f'{qualified} "{name}" is invalid: {text}', d)


def namespace_not_found(ns: str) -> ApiError:
    return not_found(NAMESPACES, ns)


def validate_name(res: Resource, name: str) -> None:
    """apimachinery's IsDNS1123Label/Subdomain: the length error first, then the pattern."""
    if res is NAMESPACES or res.plural in ("services",):
        limit, pattern, pattern_msg = 63, _LABEL, _LABEL_MSG
    else:
        limit, pattern, pattern_msg = 253, _SUBDOMAIN, _SUBDOMAIN_MSG
    msgs = [f"must be no more than {limit} characters"] if len(name) > limit else []
    if not pattern.match(name):
        msgs.append(pattern_msg)
    if msgs:
        raise invalid(res, name, [("metadata.name", f'Invalid value: "{name}": {m}') for m in msgs])


def validate_metadata(res: Resource, meta: dict[str, Any]) -> None:
    """Label keys/values and annotation keys, as the apiserver validates them."""
    from .selectors import go_quote, is_qualified_name, is_valid_label_value

    causes: list[tuple[str, str]] = []
    labels = meta.get("labels") or {}
    if not isinstance(labels, dict):
        raise ApiError(400, "BadRequest", "metadata.labels must be a map of strings")
    for key, value in labels.items():
        if not isinstance(value, str):
            raise ApiError(400, "BadRequest", f"metadata.labels.{key}: value must be a string")
        for msg in is_qualified_name(key):
            causes.append(("metadata.labels", f"Invalid value: {go_quote(key)}: {msg}"))
        for msg in is_valid_label_value(value):
            causes.append(("metadata.labels", f"Invalid value: {go_quote(value)}: {msg}"))
    annotations = meta.get("annotations") or {}
    for key in annotations:
        for msg in is_qualified_name(key.lower()):
            causes.append(("metadata.annotations", f"Invalid value: {go_quote(key)}: {msg}"))
    size = sum(len(k.encode()) + len(str(v).encode()) for k, v in annotations.items())
    if size > 262144:
        causes.append(("metadata.annotations", "Too long: must have at most 262144 bytes"))
    if causes:
        raise invalid(res, str(meta.get("name", "")), causes)


@dataclass(frozen=True)
class Event:
    rv: int
    type: str  # ADDED | MODIFIED | DELETED
    res: Resource
    obj: dict[str, Any]
    old: dict[str, Any] | None


def _strip_volatile(obj: dict[str, Any]) -> dict[str, Any]:
    meta = dict(obj.get("metadata") or {})
    meta.pop("resourceVersion", None)
    meta.pop("managedFields", None)
    out = dict(obj)
    out["metadata"] = meta
    return out


class Store:
    def __init__(self) -> None:
        self._objs: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
        self._rv = 1000
        self.history: deque[Event] = deque(maxlen=HISTORY)
        self._subscribers: list[Callable[[str, Resource, dict[str, Any]], None]] = []
        self._listeners: list[Callable[[Event], None]] = []
        self._enc: dict[tuple[str, str, str], tuple[dict[str, Any], bytes]] = {}
        self._all_cache: dict[str, tuple[int, list[dict[str, Any]]]] = {}

    # -- reading -------------------------------------------------------------------------
    @property
    def resource_version(self) -> int:
        return self._rv

    def oldest_rv(self) -> int:
        return self.history[0].rv if self.history else self._rv

    def get(self, res: Resource, namespace: str | None, name: str) -> dict[str, Any] | None:
        return self._objs.get(res.key, {}).get(namespace or "", {}).get(name)

    def list(self, res: Resource, namespace: str | None = None) -> list[dict[str, Any]]:
        """Objects sorted by (namespace, name). Do not mutate the returned list."""
        by_ns = self._objs.get(res.key, {})
        if namespace is not None:
            objs = by_ns.get(namespace, {})
            return [objs[k] for k in sorted(objs)]
        cached = self._all_cache.get(res.key)
        if cached is not None and cached[0] == self._rv:
            return cached[1]
        out: list[dict[str, Any]] = []
        for ns in sorted(by_ns):
            objs = by_ns[ns]
            out.extend(objs[k] for k in sorted(objs))
        self._all_cache[res.key] = (self._rv, out)
        return out

    def encoded(self, res: Resource, obj: dict[str, Any]) -> bytes:
        """JSON bytes of a stored object, cached (stored objects are never mutated)."""
        meta = obj["metadata"]
        key = (res.key, meta.get("namespace") or "", meta["name"])
        hit = self._enc.get(key)
        if hit is not None and hit[0] is obj:
            return hit[1]
        data = encode(obj)
        if self.get(res, key[1], key[2]) is obj:
            self._enc[key] = (obj, data)
        return data

    def namespace_exists(self, ns: str) -> bool:
        return self.get(NAMESPACES, None, ns) is not None

    # -- subscriptions -------------------------------------------------------------------
    def subscribe(self, fn: Callable[[str, Resource, dict[str, Any]], None]) -> None:
        self._subscribers.append(fn)

    def add_listener(self, fn: Callable[[Event], None]) -> None:
        self._listeners.append(fn)

    def remove_listener(self, fn: Callable[[Event], None]) -> None:
        if fn in self._listeners:
            self._listeners.remove(fn)

    def _emit(
        self, typ: str, res: Resource, obj: dict[str, Any], old: dict[str, Any] | None
    ) -> None:
        ev = Event(self._rv, typ, res, obj, old)
        self.history.append(ev)
        for listener in list(self._listeners):
            listener(ev)
        for fn in list(self._subscribers):
            fn(typ, res, obj)

    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    # -- writing -------------------------------------------------------------------------
    def create(
        self, res: Resource, obj: dict[str, Any], *, dry_run: bool = False, seed: bool = False
    ) -> dict[str, Any]:
        """Create obj; ``seed`` keeps a given uid and creationTimestamp (seeded history)."""
        obj = jcopy(obj)
        obj["apiVersion"] = res.api_version
        obj["kind"] = res.kind
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise ApiError(400, "BadRequest", "metadata must be an object")
        name = meta.get("name") or ""
        if not name and meta.get("generateName"):
            name = str(meta["generateName"]) + random_suffix()
            meta["name"] = name
        if not name:
            raise invalid(
                res, "", [("metadata.name", "Required value: name or generateName is required")]
            )
        validate_name(res, name)
        validate_metadata(res, meta)
        ns = ""
        if res.namespaced:
            ns = meta.get("namespace") or ""
            if not ns:
                raise ApiError(
                    400, "BadRequest", "the server could not find the requested resource"
                )
            if not self.namespace_exists(ns):
                raise namespace_not_found(ns)
        else:
            meta.pop("namespace", None)
        if self.get(res, ns, name) is not None:
            raise already_exists(res, name)
        if not (seed and meta.get("uid")):
            meta["uid"] = str(uuid.uuid4())
        if not (seed and meta.get("creationTimestamp")):
            meta["creationTimestamp"] = now_iso()
        if res.has_generation:
            meta["generation"] = 1
        meta.pop("deletionTimestamp", None)
        if res is NAMESPACES:
            meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = name
            obj.setdefault("spec", {"finalizers": ["kubernetes"]})
            obj["status"] = {"phase": "Active"}
        if dry_run:
            meta["resourceVersion"] = str(self._rv)
            return obj
        meta["resourceVersion"] = self._next_rv()
        self._objs.setdefault(res.key, {}).setdefault(ns, {})[name] = obj
        self._emit("ADDED", res, obj, None)
        return obj

    def update(
        self, res: Resource, obj: dict[str, Any], *, dry_run: bool = False, check_rv: bool = True
    ) -> dict[str, Any]:
        obj = jcopy(obj)
        obj["apiVersion"] = res.api_version
        obj["kind"] = res.kind
        meta = obj.setdefault("metadata", {})
        name = meta.get("name") or ""
        ns = (meta.get("namespace") or "") if res.namespaced else ""
        old = self.get(res, ns, name)
        if old is None:
            raise not_found(res, name)
        old_meta = old["metadata"]
        validate_metadata(res, meta)
        if (
            check_rv
            and meta.get("resourceVersion")
            and meta["resourceVersion"] != old_meta["resourceVersion"]
        ):
            raise conflict(res, name)
        # fields the client cannot change
        for key in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"):
            if key in old_meta:
                meta[key] = old_meta[key]
            else:
                meta.pop(key, None)
        if not res.namespaced:
            meta.pop("namespace", None)
        if res.has_generation:
            meta["generation"] = old_meta.get("generation", 1)
            if _spec_changed(res, old, obj):
                meta["generation"] += 1
        else:
            meta.pop("generation", None)
        if _strip_volatile(old) == _strip_volatile(obj):
            return old  # no-op: keep the resourceVersion
        if dry_run:
            meta["resourceVersion"] = old_meta["resourceVersion"]
            return obj
        meta["resourceVersion"] = self._next_rv()
        self._objs[res.key][ns][name] = obj
        self._emit("MODIFIED", res, obj, old)
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            return self._remove(res, ns, name, obj)
        return obj

    def delete(
        self,
        res: Resource,
        namespace: str | None,
        name: str,
        *,
        dry_run: bool = False,
        force: bool = False,
    ) -> dict[str, Any]:
        """Delete, or with finalizers only mark (deletionTimestamp) until they are removed."""
        ns = (namespace or "") if res.namespaced else ""
        old = self.get(res, ns, name)
        if old is None:
            raise not_found(res, name)
        if dry_run:
            return old
        if old["metadata"].get("finalizers") and not force:
            if old["metadata"].get("deletionTimestamp"):
                return old
            marked: dict[str, Any] = jcopy(old)
            marked["metadata"]["deletionTimestamp"] = now_iso()
            marked["metadata"]["deletionGracePeriodSeconds"] = 0
            marked["metadata"]["resourceVersion"] = self._next_rv()
            self._objs[res.key][ns][name] = marked
            self._emit("MODIFIED", res, marked, old)
            return marked
        return self._remove(res, ns, name, old)

    def _remove(self, res: Resource, ns: str, name: str, old: dict[str, Any]) -> dict[str, Any]:
        if res is NAMESPACES:
            self.delete_namespace_contents(name)
        obj = copy.copy(old)
        obj["metadata"] = dict(old["metadata"])
        obj["metadata"]["resourceVersion"] = self._next_rv()
        del self._objs[res.key][ns][name]
        self._enc.pop((res.key, ns, name), None)
        if not self._objs[res.key][ns]:
            del self._objs[res.key][ns]
        self._emit("DELETED", res, obj, old)
        return obj

    def delete_namespace_contents(self, ns: str) -> None:
        from .resources import ALL

        for res in ALL:
            if not res.namespaced:
                continue
            for obj in list(self._objs.get(res.key, {}).get(ns, {}).values()):
                self.delete(res, ns, obj["metadata"]["name"], force=True)

    def load(self, res: Resource, objs: Iterable[dict[str, Any]]) -> None:
        for obj in objs:
            self.create(res, obj)


def _spec_changed(res: Resource, old: dict[str, Any], new: dict[str, Any]) -> bool:
    if res.crd:
        a = {k: v for k, v in old.items() if k not in ("metadata", "status")}
        b = {k: v for k, v in new.items() if k not in ("metadata", "status")}
        return a != b
    return old.get("spec") != new.get("spec")
