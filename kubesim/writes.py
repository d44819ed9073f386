"""Writing: body decoding and checks, create, update, patch, server-side apply, delete."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

from aiohttp import web

from . import admission, defaults
from .protobuf_bodies import PB_SCHEMAS, decode_protobuf_object
from .reads import make_filter
from .resources import CONFIGMAPS, CRONJOBS, JOBS, NAMESPACES, PVCS, SECRETS, Resource
from .responses import error, json_response
from .sim import Sim
from .store import not_found
from .validation import validate_crd


def is_dry_run(request: web.Request) -> bool:
    return "All" in request.query.getall("dryRun", [])


async def read_json(request: web.Request) -> Any:
    raw = await request.read()
    if not raw.strip():
        raise error(400, "the body of the request was empty")
    ct = request.headers.get("Content-Type", "")
    try:
        if "yaml" in ct:
            import yaml

            return yaml.safe_load(raw)
        return json.loads(raw)
    except (ValueError, Exception) as exc:
        raise error(400, f"the object provided is unrecognized: {exc}") from exc


def check_body(res: Resource, obj: Any, namespace: str | None) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise error(400, "the object provided is unrecognized (must be a JSON object)")
    kind = obj.get("kind")
    if kind and kind != res.kind:
        raise error(
            400,
            f"the server rejected our request due to an error in our request: "
            f"kind {kind} does not match {res.kind}",
        )
    av = obj.get("apiVersion")
    if av and av != res.api_version:
        raise error(
            400,
            f"the API version in the data ({av}) does not match the expected"
            f" API version ({res.api_version})",
        )
    meta = obj.setdefault("metadata", {})
    if not isinstance(meta, dict):
        raise error(400, "metadata must be an object")
    if res.namespaced and namespace is not None:
        if meta.get("namespace") and meta["namespace"] != namespace:
            raise error(
                400,
                "the namespace of the provided object does not match the"
                " namespace sent on the request",
            )
        meta["namespace"] = namespace
    normalize(res, obj)
    return obj


async def create(
    sim: Sim, request: web.Request, res: Resource, namespace: str | None
) -> web.Response:
    ct = request.headers.get("Content-Type", "")
    if "protobuf" in ct:
        obj = await _protobuf_body(sim, request, res, namespace)
    else:
        obj = check_body(res, await read_json(request), namespace)
    obj = admission.check_fields(request, res, obj)
    if "status" in res.subresources:
        obj.pop("status", None)
    validate_crd(res, obj, None)
    admission.pod_security(request, sim.store, res, obj)
    if res is PVCS:  # the StorageObjectInUseProtection admission plugin
        fins = obj["metadata"].setdefault("finalizers", [])
        if "kubernetes.io/pvc-protection" not in fins:
            fins.append("kubernetes.io/pvc-protection")
        obj["status"] = {"phase": "Pending"}  # the status defaults of a new claim
    created = sim.store.create(res, obj, dry_run=is_dry_run(request))
    return json_response(created, 201)


async def _protobuf_body(
    sim: Sim, request: web.Request, res: Resource, namespace: str | None
) -> dict[str, Any]:
    raw = await request.read()
    if res.kind not in PB_SCHEMAS:
        raise error(
            415,
            "the body of the request was in an unknown format - accepted media"
            " types include: application/json, application/yaml",
            "UnsupportedMediaType",
        )
    try:
        obj = decode_protobuf_object(res, raw)
    except ValueError as exc:
        raise error(400, f"the object provided is unrecognized: {exc}") from exc
    if res is JOBS:
        spec: dict[str, Any] = obj.get("spec") or {}
        for ref in obj["metadata"].get("ownerReferences") or []:
            if ref.get("kind") == "CronJob":
                cj = sim.store.get(CRONJOBS, namespace, ref.get("name", ""))
                if cj is not None:
                    spec = copy.deepcopy(cj.get("spec", {}).get("jobTemplate", {}).get("spec", {}))
        obj["spec"] = spec
    return check_body(res, obj, namespace)


def merge_sub(
    res: Resource, old: dict[str, Any], new: dict[str, Any], sub: str | None
) -> dict[str, Any]:
    """Apply subresource rules: /status changes only status; main changes all but status."""
    if sub == "status":
        out = copy.deepcopy(old)
        if "status" in new:
            out["status"] = new["status"]
        else:
            out.pop("status", None)
        out["metadata"]["resourceVersion"] = new.get("metadata", {}).get(
            "resourceVersion", old["metadata"]["resourceVersion"]
        )
        return out
    if "status" in res.subresources:
        if "status" in old:
            new["status"] = old["status"]
        else:
            new.pop("status", None)
    return new


async def update(
    sim: Sim,
    request: web.Request,
    res: Resource,
    namespace: str | None,
    name: str,
    sub: str | None,
) -> web.Response:
    obj = check_body(res, await read_json(request), namespace)
    if obj["metadata"].get("name") and obj["metadata"]["name"] != name:
        raise error(
            400,
            f"the name of the object ({obj['metadata']['name']}) does not match the name"
            f" on the URL ({name})",
        )
    obj["metadata"]["name"] = name
    old = sim.store.get(res, namespace, name)
    if old is None:
        raise not_found(res, name)
    obj = admission.check_fields(request, res, obj, old)
    obj = merge_sub(res, old, obj, sub)
    if sub != "status":
        validate_crd(res, obj, old)
    return json_response(sim.store.update(res, obj, dry_run=is_dry_run(request)))


async def patch(
    sim: Sim,
    request: web.Request,
    res: Resource,
    namespace: str | None,
    name: str,
    sub: str | None,
) -> web.Response:
    from . import patch as patchlib

    ct = request.headers.get("Content-Type", "").split(";")[0].strip()
    old = sim.store.get(res, namespace, name)
    if ct == "application/apply-patch+yaml":
        return await _apply_patch(sim, request, res, namespace, name, old)
    body = await request.read()
    try:
        if old is None:
            if ct not in patchlib.accepted_patch_types(res.crd):
                patchlib.apply_patch(ct, {}, body, kind=res.kind, crd=res.crd)  # the 415
            raise not_found(res, name)
        new = patchlib.apply_patch(ct, old, body, kind=res.kind, crd=res.crd)
    except patchlib.PatchError as exc:
        raise error(exc.code, exc.message, exc.reason) from exc
    if not isinstance(new, dict):
        raise error(422, "the patch produced something that is not an object", "Invalid")
    new = check_body(res, new, namespace)
    if new["metadata"].get("name") != name:
        raise error(400, "metadata.name: Invalid value: the name of a patched object cannot change")
    assert old is not None
    new = admission.check_fields(request, res, new, old)
    new = merge_sub(res, old, new, sub)
    if sub != "status":
        validate_crd(res, new, old)
    return json_response(sim.store.update(res, new, dry_run=is_dry_run(request)))


async def _apply_patch(
    sim: Sim,
    request: web.Request,
    res: Resource,
    namespace: str | None,
    name: str,
    old: dict[str, Any] | None,
) -> web.Response:
    """Server-side apply: create when missing, else merge the applied fields, minus
    those the same field manager applied before and leaves out now (ssa.py)."""
    from . import patch as patchlib

    doc = check_body(res, await read_json(request), namespace)
    doc["metadata"]["name"] = name
    doc = admission.check_fields(request, res, doc, server_side_apply=True)
    key, manager = (res.plural, namespace or "", name), request.query.get("fieldManager", "")
    dry = is_dry_run(request)
    if old is None:
        doc.pop("status", None)
        validate_crd(res, doc, None)
        admission.pod_security(request, sim.store, res, doc)
        created = sim.store.create(res, doc, dry_run=dry)
        if not dry:
            sim.field_owners.record(key, manager, created, doc)
        return json_response(created, 201)
    merged = sim.field_owners.merge(key, manager, old, patchlib.merge_patch(old, doc), doc)
    new = merge_sub(res, old, merged, None)
    validate_crd(res, new, old)
    updated = sim.store.update(res, new, dry_run=dry)
    if not dry:
        sim.field_owners.record(key, manager, updated, doc)
    return json_response(updated)


async def delete(
    sim: Sim, request: web.Request, res: Resource, namespace: str | None, name: str
) -> web.Response:
    dry = is_dry_run(request)
    raw = await request.read()
    if raw.strip():
        try:
            opts = json.loads(raw)
            if isinstance(opts, dict) and "All" in (opts.get("dryRun") or []):
                dry = True
        except ValueError:
            pass
    obj = sim.store.delete(res, namespace, name, dry_run=dry)
    if res is NAMESPACES:
        obj = copy.deepcopy(obj)
        obj["status"] = {"phase": "Terminating"}
        obj["metadata"]["deletionTimestamp"] = obj["metadata"].get("creationTimestamp")
    return json_response(obj)


def delete_collection(
    sim: Sim, request: web.Request, res: Resource, namespace: str | None
) -> web.Response:
    pred = make_filter(request.query, None, res.kind)
    dry = is_dry_run(request)
    items = [
        sim.store.delete(res, namespace, o["metadata"]["name"], dry_run=dry)
        for o in sim.store.list(res, namespace)
        if pred(o)
    ]
    return json_response(
        {
            "kind": res.list_kind,
            "apiVersion": res.api_version,
            "metadata": {"resourceVersion": str(sim.store.resource_version)},
            "items": items,
        }
    )


def normalize(res: Resource, obj: dict[str, Any]) -> None:
    """Server-side defaulting the real apiserver does on write."""
    if res is SECRETS:
        sd = obj.pop("stringData", None)
        if isinstance(sd, dict):
            data = obj.setdefault("data", {}) or {}
            for k, v in sd.items():
                data[k] = base64.b64encode(str(v).encode()).decode()
            obj["data"] = data
        obj.setdefault("type", "Opaque")
    if res is CONFIGMAPS:
        pass
    if not res.crd:
        defaults.apply(res.kind, obj)
