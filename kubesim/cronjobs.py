"""The CronJob controller (like kube-controller-manager's cronjob_controllerv2), on kubesim's clock.

Each CronJob is synced when it or one of its Jobs changes, once a second, and at
once when the clock is moved (clock.py, ``POST /_kubesim/clock``):

* ``status.active`` lists its unfinished Jobs (those it controls, including
  ``kubectl create job --from=cronjob/X``); a finished one gets a
  ``SawCompletedJob`` Event and ``lastSuccessfulTime``;
* finished Jobs beyond ``successfulJobsHistoryLimit`` (default 3) and
  ``failedJobsHistoryLimit`` (default 1) are deleted, oldest first
  (``SuccessfulDelete``), even while suspended;
* ``suspend: true`` starts nothing;
* otherwise the most recent schedule time ``t`` of ``schedule`` in ``timeZone``
  (default UTC) with ``last < t <= now`` is due, where ``last`` is
  ``status.lastScheduleTime`` or the clock's time when the controller first saw
  the CronJob, and not earlier than ``now - startingDeadlineSeconds``; more than
  100 missed times is a ``TooManyMissedTimes`` warning (the latest still runs);
* ``concurrencyPolicy``: ``Allow`` starts it, ``Forbid`` does not while a Job is
  active (``JobAlreadyActive``; it starts later if the active Job ends within the
  starting deadline), ``Replace`` deletes the active Jobs first;
* the Job is ``<cronjob>-<t in minutes since the epoch>`` with the template's
  labels and annotations, ``batch.kubernetes.io/cronjob-scheduled-timestamp``,
  a controller reference to the CronJob; Event ``SuccessfulCreate``;
  ``status.lastScheduleTime = t``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import sys
import traceback
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from .clock import Clock, parse_time, rfc3339
from .jobs import finished
from .resources import CRONJOBS, JOBS
from .store import ApiError

if TYPE_CHECKING:
    from .sim import Sim

TICK_SECONDS = 1.0
MAX_MISSED = 100
MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
SCHEDULED_ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp"


def _controlled_by(obj: dict[str, Any], uid: str) -> bool:
    refs = obj["metadata"].get("ownerReferences") or []
    return any(r.get("uid") == uid and r.get("controller") for r in refs)


def _ref(job: dict[str, Any]) -> dict[str, Any]:
    m = job["metadata"]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "name": m["name"],
        "namespace": m["namespace"],
        "uid": m["uid"],
        "resourceVersion": m.get("resourceVersion", ""),
    }


class CronJobController:
    def __init__(self, sim: Sim, clock: Clock) -> None:
        self.sim = sim
        self.store = sim.store
        self.clock = clock
        self._first_seen: dict[str, datetime] = {}
        self._saw: set[str] = set()
        self._warned: set[tuple[str, str]] = set()
        self.created: list[str] = []
        """ns/name of every Job this controller created (the clock endpoint reports new ones)."""
        self._pending: set[tuple[str, str]] = set()
        sim.store.subscribe(self.on_event)
        clock.on_change(self.sync_all)
        sim.controllers._spawn(self._tick())

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            self.sync_all()

    def on_event(self, typ: str, res: Any, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        if res is CRONJOBS and typ != "DELETED":
            self._schedule(meta.get("namespace", ""), meta["name"])
        elif res is JOBS:
            for ref in meta.get("ownerReferences") or []:
                if ref.get("kind") == "CronJob" and ref.get("controller"):
                    self._schedule(meta.get("namespace", ""), ref.get("name", ""))

    def _schedule(self, ns: str, name: str) -> None:
        key = (ns, name)
        if key not in self._pending:
            self._pending.add(key)
            asyncio.get_event_loop().call_soon(self._run, key)

    def _run(self, key: tuple[str, str]) -> None:
        self._pending.discard(key)
        self.sync(*key)

    def sync_all(self) -> None:
        for cj in list(self.store.list(CRONJOBS)):
            self.sync(cj["metadata"]["namespace"], cj["metadata"]["name"])

    def sync(self, ns: str, name: str) -> None:
        try:
            self._sync(ns, name)
        except ApiError:
            pass  # a racing write: the next pass syncs again
        except Exception:
            traceback.print_exc(file=sys.stderr)

    def event(self, cj: dict[str, Any], typ: str, reason: str, message: str) -> None:
        self.sim.controllers.event(cj, typ, reason, message, component="cronjob-controller")

    # -- one CronJob ------------------------------------------------------------------------
    def _sync(self, ns: str, name: str) -> None:
        cj = self.store.get(CRONJOBS, ns, name)
        if cj is None or cj["metadata"].get("deletionTimestamp"):
            return
        uid = cj["metadata"]["uid"]
        spec = cj.get("spec") or {}
        now = self.clock.now()
        self._first_seen.setdefault(uid, now)
        jobs = [j for j in self.store.list(JOBS, ns) if _controlled_by(j, uid)]
        status = copy.deepcopy(cj.get("status") or {})
        active = [j for j in jobs if not finished(j)]
        for j in jobs:
            state = finished(j)
            if state and j["metadata"]["uid"] not in self._saw:
                self._saw.add(j["metadata"]["uid"])
                jname = j["metadata"]["name"]
                self.event(cj, "Normal", "SawCompletedJob",
                           f"Saw completed job: {jname}, condition: {state}")  # fmt: skip
                done_at = (j.get("status") or {}).get("completionTime")
                if (
                    state == "Complete"
                    and done_at
                    and done_at > status.get("lastSuccessfulTime", "")
                ):
                    status["lastSuccessfulTime"] = done_at
        self._cleanup(cj, jobs)
        if not spec.get("suspend"):
            created = self._maybe_start(cj, spec, status, active, now)
            if created is not None:
                active.append(created)
        if active:
            status["active"] = [_ref(j) for j in active]
        else:
            status.pop("active", None)
        self._write_status(cj, status)

    def _cleanup(self, cj: dict[str, Any], jobs: list[dict[str, Any]]) -> None:
        spec = cj.get("spec") or {}
        for state, key, default in (
            ("Complete", "successfulJobsHistoryLimit", 3),
            ("Failed", "failedJobsHistoryLimit", 1),
        ):
            limit = int(spec.get(key, default))
            done = sorted(
                (j for j in jobs if finished(j) == state),
                key=lambda j: (
                    (j.get("status") or {}).get("startTime") or j["metadata"]["creationTimestamp"],
                    j["metadata"]["name"],
                ),
            )
            for j in done[: max(len(done) - limit, 0)]:
                with contextlib.suppress(ApiError):
                    self.store.delete(JOBS, j["metadata"]["namespace"], j["metadata"]["name"])
                    self.event(
                        cj, "Normal", "SuccessfulDelete", f"Deleted job {j['metadata']['name']}"
                    )

    def _due(self, cj: dict[str, Any], spec: dict[str, Any], status: dict[str, Any],
             now: datetime) -> datetime | None:  # fmt: skip
        """The most recent unprocessed schedule time, or None."""
        key = (cj["metadata"]["uid"], "schedule")
        try:
            tz = ZoneInfo(spec.get("timeZone") or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            if key not in self._warned:
                self._warned.add(key)
                self.event(cj, "Warning", "UnknownTimeZone",
                           f"invalid timeZone: {spec.get('timeZone')!r}")  # fmt: skip
            return None
        last = status.get("lastScheduleTime")
        earliest = parse_time(last) if last else self._first_seen[cj["metadata"]["uid"]]
        sds = spec.get("startingDeadlineSeconds")
        if sds is not None:
            earliest = max(earliest, now - timedelta(seconds=int(sds)))
        expr = str(spec.get("schedule", "")).strip()
        try:
            times = CronSim(MACROS.get(expr, expr), earliest.astimezone(tz).replace(microsecond=0))
        except CronSimError as exc:
            if key not in self._warned:
                self._warned.add(key)
                self.event(cj, "Warning", "UnparseableSchedule",
                           f"unparseable schedule: {expr!r} : {exc}")  # fmt: skip
            return None
        due: datetime | None = None
        missed = 0
        for t in times:
            if t.astimezone(timezone.utc) > now:
                break
            if t.astimezone(timezone.utc) <= earliest:
                continue
            due = t
            missed += 1
            if missed > 100_000:
                break
        if missed > MAX_MISSED and due is not None and self._once(cj, "missed", due):
            self.event(cj, "Warning", "TooManyMissedTimes",
                       f"too many missed start times: {missed}. Set or decrease"
                       " .spec.startingDeadlineSeconds or check clock skew")  # fmt: skip
        return due

    def _once(self, cj: dict[str, Any], what: str, due: datetime) -> bool:
        """True the first time for this CronJob, event kind and schedule time."""
        key = (cj["metadata"]["uid"], f"{what} {rfc3339(due)}")
        if key in self._warned:
            return False
        self._warned.add(key)
        return True

    def _maybe_start(
        self,
        cj: dict[str, Any],
        spec: dict[str, Any],
        status: dict[str, Any],
        active: list[dict[str, Any]],
        now: datetime,
    ) -> dict[str, Any] | None:
        due = self._due(cj, spec, status, now)
        if due is None:
            return None
        policy = spec.get("concurrencyPolicy", "Allow")
        if policy == "Forbid" and active:
            if self._once(cj, "active", due):
                self.event(cj, "Normal", "JobAlreadyActive",
                           "Not starting job because prior execution is running and"
                           " concurrency policy is Forbid")  # fmt: skip
            return None  # lastScheduleTime stays: it starts later within the deadline
        if policy == "Replace":
            for j in list(active):
                with contextlib.suppress(ApiError):
                    self.store.delete(JOBS, j["metadata"]["namespace"], j["metadata"]["name"])
                    self.event(
                        cj, "Normal", "SuccessfulDelete", f"Deleted job {j['metadata']['name']}"
                    )
                active.remove(j)
        job = self._create_job(cj, due)
        status["lastScheduleTime"] = rfc3339(due)
        return job

    def _create_job(self, cj: dict[str, Any], due: datetime) -> dict[str, Any] | None:
        from .controllers import owner_ref

        meta = cj["metadata"]
        ns = meta["namespace"]
        template = (cj.get("spec") or {}).get("jobTemplate") or {}
        tmeta = template.get("metadata") or {}
        name = f"{meta['name']}-{int(due.timestamp()) // 60}"
        if self.store.get(JOBS, ns, name) is not None:
            return None  # created for this time already
        annotations = dict(tmeta.get("annotations") or {})
        annotations[SCHEDULED_ANNOTATION] = due.isoformat()
        job = {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {
                "name": name,
                "namespace": ns,
                "labels": dict(tmeta.get("labels") or {}),
                "annotations": annotations,
                "ownerReferences": [owner_ref(cj)],
            },
            "spec": copy.deepcopy(template.get("spec") or {}),
        }
        created = self.store.create(JOBS, job)
        self.created.append(f"{ns}/{name}")
        self.event(cj, "Normal", "SuccessfulCreate", f"Created job {name}")
        return created

    def _write_status(self, cj: dict[str, Any], status: dict[str, Any]) -> None:
        cur = self.store.get(CRONJOBS, cj["metadata"]["namespace"], cj["metadata"]["name"])
        if cur is None or cur["metadata"]["uid"] != cj["metadata"]["uid"]:
            return
        if (cur.get("status") or {}) == status:
            return
        new = copy.deepcopy(cur)
        new["metadata"].pop("resourceVersion", None)
        new["status"] = status
        self.store.update(CRONJOBS, new)


__all__ = ["CronJobController"]
