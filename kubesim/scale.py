"""The scale subresource (`kubectl scale`): GET, PUT and PATCH of autoscaling/v1 Scale."""

from __future__ import annotations

import copy
import json
from typing import Any

from aiohttp import web

from .resources import Resource
from .responses import error, json_response
from .sim import Sim
from .store import not_found
from .writes import is_dry_run


async def scale(
    sim: Sim, request: web.Request, res: Resource, namespace: str | None, name: str
) -> web.Response:
    from . import patch as patchlib

    obj = sim.store.get(res, namespace, name)
    if obj is None:
        raise not_found(res, name)

    def scale_of(o: dict[str, Any]) -> dict[str, Any]:
        m = o["metadata"]
        sel = (o.get("spec", {}).get("selector") or {}).get("matchLabels") or {}
        return {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {
                k: m[k]
                for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                if k in m
            },
            "spec": {"replicas": o.get("spec", {}).get("replicas", 1)},
            "status": {
                "replicas": (o.get("status") or {}).get("replicas", 0),
                "selector": ",".join(f"{k}={v}" for k, v in sorted(sel.items())),
            },
        }

    cur = scale_of(obj)
    if request.method == "GET":
        return json_response(cur)
    body = await request.read()
    try:
        doc = json.loads(body) if body.strip() else {}
    except ValueError as exc:
        raise error(400, f"error decoding patch: {exc}") from exc
    if request.method == "PUT":
        new_scale = doc
    elif request.method == "PATCH":
        ct = request.headers.get("Content-Type", "")
        try:
            new_scale = patchlib.apply_patch(ct, cur, body, kind="Scale", crd=False)
        except patchlib.PatchError as exc:
            raise error(exc.code, exc.message, exc.reason) from exc
    else:
        raise error(405, "the server does not allow this method on the requested resource")
    replicas = (new_scale.get("spec") or {}).get("replicas")
    if not isinstance(replicas, int) or replicas < 0:
        raise error(422, f'Scale "{name}" is invalid: spec.replicas: Invalid value', "Invalid")
    new = copy.deepcopy(obj)
    new.setdefault("spec", {})["replicas"] = replicas
    new["metadata"].pop("resourceVersion", None)
    updated = sim.store.update(res, new, dry_run=is_dry_run(request))
    return json_response(scale_of(updated))
