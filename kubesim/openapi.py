"""Minimal OpenAPI v3: enough for kubectl's default `--validate=strict` to trust the server.

Each GV document declares, per kind, a PATCH operation taking the `fieldValidation` query
parameter (kube-api-notes §4.4), so kubectl skips client-side schema validation and lets the
server validate (`fieldValidation=Strict`).
"""

from __future__ import annotations

from typing import Any

from .resources import ALL, group_versions


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def root() -> dict[str, Any]:
    paths = {}
    for group, version in group_versions():
        p = _gv_path(group, version)
        paths[p] = {"serverRelativeURL": f"/openapi/v3/{p}"}
    return {"paths": paths}


_PARAMS = [
    {"name": "dryRun", "in": "query", "schema": {"type": "string"}},
    {"name": "fieldManager", "in": "query", "schema": {"type": "string"}},
    {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}},
]


def group_version_doc(path: str) -> dict[str, Any] | None:
    """`path` is like `apis/snapshot.storage.k8s.io/v1` or `api/v1`."""
    for group, version in group_versions():
        if _gv_path(group, version) != path:
            continue
        paths: dict[str, Any] = {}
        for r in ALL:
            if (r.group, r.version) != (group, version):
                continue
            base = "/" + path
            if r.namespaced:
                base += "/namespaces/{namespace}"
            gvk = {"group": r.group, "version": r.version, "kind": r.kind}
            op = {"x-kubernetes-group-version-kind": gvk, "parameters": _PARAMS}
            paths[f"{base}/{r.plural}/{{name}}"] = {"patch": op, "put": op}
            paths[f"{base}/{r.plural}"] = {"post": op}
        return {
            "openapi": "3.0.0",
            "info": {"title": "Kubernetes", "version": "v1.32.0"},
            "paths": paths,
        }
    return None


V2_PROTOBUF_CT = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"


def _pb_string(field: int, value: str) -> bytes:
    data = value.encode()
    return bytes([field << 3 | 2, len(data)]) + data


def v2_protobuf(minor: str) -> bytes:
    """An empty OpenAPI v2 document (gnostic protobuf: swagger, info{title, version}).

    Older kubectl (1.27-1.29) validates with v2; with no definitions it skips schema checks
    and lets the server decide, like the v3 document does for 1.30+.
    """
    info = _pb_string(1, "Kubernetes") + _pb_string(2, f"v1.{minor}.0")
    return _pb_string(1, "2.0") + bytes([2 << 3 | 2, len(info)]) + info
