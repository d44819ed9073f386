"""What the apiserver does to a write between decoding and storage, for the
parts kubesim simulates: server-side field validation (fieldcheck) and Pod
Security admission (podsecurity). Warnings go back as `Warning` headers.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from . import fieldcheck, podsecurity
from .resources import NAMESPACES, Resource
from .store import ApiError, Store

_MODES = ("Strict", "Warn", "Ignore")


def check_fields(
    request: web.Request,
    res: Resource,
    obj: dict[str, Any],
    old: dict[str, Any] | None = None,
    *,
    server_side_apply: bool = False,
) -> dict[str, Any]:
    """obj without unknown fields; 400 for fieldValidation=Strict, a warning for Warn (the
    server's default). On update/patch only fields the write introduced count. A
    server-side apply refuses with the structured-merge-diff message (a 500, as real)."""
    mode = request.query.get("fieldValidation") or "Warn"
    if mode not in _MODES:
        raise ApiError(
            400, "BadRequest", f"fieldValidation must be one of {list(_MODES)}, got {mode}"
        )
    pruned, unknown = fieldcheck.unknown_fields(res.api_version, res.kind, obj)
    if old is not None and unknown:
        before = set(fieldcheck.unknown_fields(res.api_version, res.kind, old)[1])
        unknown = [u for u in unknown if u not in before]
    if not unknown:
        return obj
    unknown.sort()  # the real server lists them sorted
    if mode == "Strict" and server_side_apply:
        meta = obj.get("metadata", {})
        where = f"{meta.get('namespace', '')}/{meta.get('name', '')}"
        gv = f"{res.group}/{res.version}" if res.group else res.version
        raise ApiError(
            500,
            "",
            f"failed to create typed patch object ({where}; {gv}, Kind={res.kind}): "
            f".{unknown[0]}: field not declared in schema",
        )
    if mode == "Strict":
        raise ApiError(
            400,
            "BadRequest",
            f'{res.kind} in version "{res.version}" cannot be handled as a {res.kind}: '
            + fieldcheck.strict_message(unknown),
        )
    if mode == "Warn":
        warn(request, *(f'unknown field "{u}"' for u in unknown))
    return pruned


def pod_security(request: web.Request, store: Store, res: Resource, obj: dict[str, Any]) -> None:
    """On create: 403 for a Pod violating its namespace's enforce level; warnings for the
    warn level (Pods and workloads' pod templates)."""
    spec = podsecurity.pod_spec_of(res.kind, obj)
    ns_name = obj.get("metadata", {}).get("namespace")
    if spec is None or not ns_name or res.group not in ("", "apps", "batch"):
        return
    ns = store.get(NAMESPACES, "", ns_name)
    labels = (ns or {}).get("metadata", {}).get("labels") or {}
    refused, warnings = podsecurity.evaluate(
        labels,
        spec,
        is_pod=res.kind == "Pod",
        annotations=podsecurity.pod_annotations_of(res.kind, obj),
    )
    if refused:
        name = obj.get("metadata", {}).get("name", "")
        raise ApiError(
            403,
            "Forbidden",
            f'{res.plural} "{name}" is forbidden: {refused}',
            {"name": name, "kind": res.plural},
        )
    warn(request, *warnings)


def warn(request: web.Request, *messages: str) -> None:
    request.setdefault("kubesim_warnings", []).extend(messages)


def add_warning_headers(request: web.Request, resp: web.StreamResponse) -> web.StreamResponse:
    for msg in request.get("kubesim_warnings", []):
        resp.headers.add("Warning", "299 - " + json.dumps(msg))
    return resp
