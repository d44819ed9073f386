"""The control API under /_kubesim/ (no auth, not logged): faults, request log, watches, seeding.

The clock lives in batch.py (it drives the CronJob controller).
"""

from __future__ import annotations

import json

from aiohttp import web

from .faults import FaultError
from .responses import json_response, status_response
from .seeding import load_objects
from .sim import Sim
from .store import ApiError


def add_routes(app: web.Application, sim: Sim) -> None:
    async def faults_get(request: web.Request) -> web.Response:
        return json_response(sim.faults.list())

    async def faults_post(request: web.Request) -> web.Response:
        try:
            spec = json.loads(await request.read())
            fid = sim.faults.add(spec)
        except (ValueError, FaultError) as exc:
            return json_response({"error": str(exc)}, 400)
        return json_response({"id": fid})

    async def faults_delete(request: web.Request) -> web.Response:
        fid = request.match_info.get("fid")
        if fid:
            return json_response({"removed": sim.faults.remove(fid)})
        sim.faults.clear()
        return json_response({"cleared": True})

    async def watches_get(request: web.Request) -> web.Response:
        return json_response(sim.watches)

    async def requests_delete(request: web.Request) -> web.Response:
        sim.reqlog.reset()
        return json_response({"cleared": True})

    async def objects_post(request: web.Request) -> web.Response:
        """Bulk seed: body = list of objects (status kept, namespaces created)."""
        docs = json.loads(await request.read())
        try:
            n = load_objects(sim, docs)
        except ApiError as err:
            return status_response(err)
        return json_response({"created": n})

    app.router.add_get("/_kubesim/faults", faults_get)
    app.router.add_post("/_kubesim/faults", faults_post)
    app.router.add_delete("/_kubesim/faults", faults_delete)
    app.router.add_delete("/_kubesim/faults/{fid}", faults_delete)
    app.router.add_delete("/_kubesim/requests", requests_delete)
    app.router.add_get("/_kubesim/watches", watches_get)
    app.router.add_post("/_kubesim/objects", objects_post)
