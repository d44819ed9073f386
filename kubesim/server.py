"""The kubesim app: the request log and fault middlewares around the routes.

Routing and verbs are routing.py, reads.py, writes.py and scale.py; the control API
control.py (+ batch.py's clock); the simulator's state sim.py; seeding seeding.py.
"""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from . import control
from .responses import Handler, error, status_response
from .routing import Api
from .sim import Sim


def _user_of(request: web.Request, sim: Sim) -> str:
    user = request.get("user")
    if user is None:
        return "" if sim.tls else "admin"
    if isinstance(user, str):
        return user
    for attr in ("name", "username"):
        if hasattr(user, attr):
            return str(getattr(user, attr))
    return str(user)


def make_app(sim: Sim) -> web.Application:
    api = Api(sim)

    @web.middleware
    async def log_mw(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/_kubesim/"):
            return await handler(request)
        start = time.perf_counter()
        status = 500
        try:
            resp = await handler(request)
            status = resp.status
            return resp
        except web.HTTPException as exc:
            status = exc.status
            raise
        except asyncio.CancelledError:
            status = 499  # the client went away (nginx's code); streams log what they sent
            raise
        finally:
            status = request.get("kubesim_status", status)
            sim.reqlog.write(
                {
                    "method": request.method,
                    "path": request.path,
                    "query": request.query_string,
                    "status": status,
                    "user": _user_of(request, sim),
                    "duration_ms": round((time.perf_counter() - start) * 1000, 3),
                    "command": request.headers.get("Kubectl-Command", ""),
                }
            )

    @web.middleware
    async def fault_mw(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/_kubesim/"):
            return await handler(request)
        fault = sim.faults.take(
            "http", method=request.method, path=request.path, query=request.query_string
        )
        if fault is not None:
            delay = float(fault.get("delay") or 0)
            if delay > 0:
                await asyncio.sleep(delay)
            if fault.get("watchEndAfter") is not None:
                request["kubesim_watch_end_after"] = float(fault["watchEndAfter"])
            code = fault.get("status")
            if code:
                code = int(code)
                msg = fault.get("message") or f"kubesim fault: injected {code}"
                return status_response(error(code, msg, fault.get("reason")))
        return await handler(request)

    app = web.Application(middlewares=[log_mw, fault_mw], client_max_size=256 * 1024 * 1024)
    app["sim"] = sim
    control.add_routes(app, sim)
    from .batch import add_routes

    add_routes(app, sim)  # /_kubesim/clock
    app.router.add_route("*", "/{tail:.*}", api.handle)
    return app
