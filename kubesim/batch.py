"""Wire the pods that run (kubelet.py), the Job and CronJob controllers and the clock into a Sim."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from .sim import Sim


def install_batch(sim: Sim) -> None:
    """Call after sim.controllers is set (they share its task set and Event writer)."""
    from .clock import Clock
    from .cronjobs import CronJobController
    from .jobs import JobController
    from .kubelet import Kubelet

    sim.clock = Clock()  # type: ignore[attr-defined]
    sim.kubelet = Kubelet(sim)  # type: ignore[attr-defined]
    sim.jobs = JobController(sim)  # type: ignore[attr-defined]
    sim.cronjobs = CronJobController(sim, sim.clock)  # type: ignore[attr-defined]


def add_routes(app: web.Application, sim: Sim) -> None:
    """``GET/POST /_kubesim/clock`` (clock.py); before the API's catch-all route."""
    from .clock import parse_duration, parse_time, rfc3339

    def answer(body: object, status: int = 200) -> web.Response:
        return web.Response(status=status, text=json.dumps(body), content_type="application/json")

    async def clock_get(request: web.Request) -> web.Response:
        clock = getattr(sim, "clock", None)
        if clock is None:
            return answer({"error": "this kubesim has no clock"}, 404)
        return answer({"now": rfc3339(clock.now())})

    async def clock_post(request: web.Request) -> web.Response:
        clock = getattr(sim, "clock", None)
        if clock is None:
            return answer({"error": "this kubesim has no clock"}, 404)
        try:
            body = json.loads(await request.read() or b"{}")
            before = len(sim.cronjobs.created)  # type: ignore[attr-defined]
            if "set" in body:
                clock.set(parse_time(body["set"]))
            elif "advance" in body:
                clock.advance(parse_duration(body["advance"]))
            else:
                raise ValueError('body must be {"advance": SECONDS} or {"set": "RFC 3339 time"}')
        except (ValueError, TypeError, AttributeError) as exc:
            return answer({"error": str(exc)}, 400)
        created = sim.cronjobs.created[before:]  # type: ignore[attr-defined]
        return answer({"now": rfc3339(clock.now()), "jobs": created})

    app.router.add_get("/_kubesim/clock", clock_get)
    app.router.add_post("/_kubesim/clock", clock_post)


__all__ = ["add_routes", "install_batch"]
