"""The Job controller: a Job's pods (run by kubelet.py), its status, retries and deadline.

Non-indexed Jobs (``completions``/``parallelism``, default 1/1):

* on the first pass the Job gets what the apiserver defaults at create:
  ``spec.selector`` on ``batch.kubernetes.io/controller-uid`` (unless
  ``manualSelector``), the four ``controller-uid``/``job-name`` labels on the pod
  template (and on the Job when it has none), ``backoffLimit: 6``,
  ``completionMode: NonIndexed``, ``suspend: false``, ``podReplacementPolicy``;
* pods ``<job>-<5 chars>`` are created from the template (owner: the Job), at
  most ``parallelism`` at once; a missing ServiceAccount is a ``FailedCreate``
  Event and a retry, like the admission error on a cluster;
* each failed pod (or container restart with ``restartPolicy: OnFailure``)
  counts against ``backoffLimit``; the next pod starts after a back-off of
  BACKOFF_SECONDS * 2^(failures-1) (the controller's is 10 s * 2^n, at most 6 min);
* ``status``: ``active``, ``ready``, ``succeeded``, ``failed``, ``terminating``,
  ``startTime``, ``completionTime``, ``uncountedTerminatedPods``; conditions
  ``SuccessCriteriaMet`` + ``Complete`` (reason ``CompletionsReached``) or
  ``FailureTarget`` + ``Failed`` (``BackoffLimitExceeded``, ``DeadlineExceeded``),
  as the 1.31+ controller writes them; Events ``SuccessfulCreate``,
  ``SuccessfulDelete``, ``Completed``, ``BackoffLimitExceeded``, ``DeadlineExceeded``;
* ``activeDeadlineSeconds`` (from startTime, real time): the Job fails and its
  running pods are deleted (the kubelet kills their process groups);
* ``ttlSecondsAfterFinished`` deletes the finished Job (and so its pods);
* ``suspend: true`` creates no pods and deletes running ones.

Deleting a Job deletes its pods (controllers._gc), which stops their processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import sys
import time
import traceback
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from .resources import JOBS, PODS, SERVICEACCOUNTS
from .store import ApiError, now_iso, random_suffix

if TYPE_CHECKING:
    from .sim import Sim

BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 360.0
UID_LABELS = ("batch.kubernetes.io/controller-uid", "controller-uid")
NAME_LABELS = ("batch.kubernetes.io/job-name", "job-name")
REACHED = "Reached expected number of succeeded pods"


def _parse(ts: str) -> float:
    try:
        return datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
    except (TypeError, ValueError):
        return time.time()


def finished(job: dict[str, Any]) -> str:
    """ "Complete", "Failed" or "" (still running)."""
    for c in (job.get("status") or {}).get("conditions") or []:
        if c.get("type") in ("Complete", "Failed") and c.get("status") == "True":
            return str(c["type"])
    return ""


def _owned_by(obj: dict[str, Any], uid: str) -> bool:
    return any(
        r.get("uid") == uid and r.get("controller")
        for r in obj["metadata"].get("ownerReferences") or []
    )


class JobController:
    def __init__(self, sim: Sim) -> None:
        self.sim = sim
        self.store = sim.store
        self._pending: set[tuple[str, str]] = set()
        self._counted: dict[str, dict[str, str]] = {}
        """job uid -> {pod uid: "Succeeded"|"Failed"}: pods already counted (even once deleted)."""
        self._restarts: dict[str, dict[str, int]] = {}
        self._last_failure: dict[str, float] = {}
        self._timers: dict[tuple[str, str, str], asyncio.TimerHandle] = {}
        sim.store.subscribe(self.on_event)

    # -- plumbing -----------------------------------------------------------------------------
    def on_event(self, typ: str, res: Any, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        ns = meta.get("namespace", "")
        if res is JOBS:
            if typ == "DELETED":
                uid = meta.get("uid", "")
                self._counted.pop(uid, None)
                self._restarts.pop(uid, None)
                self._last_failure.pop(uid, None)
            else:
                self.schedule(ns, meta["name"])
        elif res is PODS:
            for ref in meta.get("ownerReferences") or []:
                if ref.get("kind") == "Job" and ref.get("controller"):
                    self.schedule(ns, ref.get("name", ""))

    def schedule(self, ns: str, name: str) -> None:
        key = (ns, name)
        if key in self._pending:
            return
        self._pending.add(key)
        asyncio.get_event_loop().call_soon(self._run, key)

    def schedule_later(self, ns: str, name: str, why: str, delay: float) -> None:
        key = (ns, name, why)
        old = self._timers.pop(key, None)
        if old is not None:
            old.cancel()

        def fire() -> None:
            self._timers.pop(key, None)
            self.schedule(ns, name)

        self._timers[key] = asyncio.get_event_loop().call_later(max(delay, 0.0), fire)

    def _run(self, key: tuple[str, str]) -> None:
        self._pending.discard(key)
        try:
            self.reconcile(*key)
        except ApiError:
            pass  # a racing write: the next event reconciles again
        except Exception:
            traceback.print_exc(file=sys.stderr)

    def event(self, job: dict[str, Any], typ: str, reason: str, message: str) -> None:
        self.sim.controllers.event(job, typ, reason, message, component="job-controller")

    # -- defaulting (what the apiserver does at create) -------------------------------------------
    @staticmethod
    def defaulted(job: dict[str, Any]) -> dict[str, Any] | None:
        """The Job with the create-time defaults, or None when it has them already."""
        spec = job.get("spec") or {}
        if spec.get("selector") and "backoffLimit" in spec:
            return None
        new = copy.deepcopy(job)
        new["metadata"].pop("resourceVersion", None)
        meta, spec = new["metadata"], new.setdefault("spec", {})
        uid, name = meta["uid"], meta["name"]
        tmeta = spec.setdefault("template", {}).setdefault("metadata", {})
        if not spec.get("manualSelector"):
            labels = tmeta.setdefault("labels", {})
            for key in UID_LABELS:
                labels[key] = uid
            for key in NAME_LABELS:
                labels[key] = name
            spec["selector"] = {"matchLabels": {UID_LABELS[0]: uid}}
        if not meta.get("labels"):
            meta["labels"] = dict(tmeta.get("labels") or {})
        if "completions" not in spec and "parallelism" not in spec:
            spec["completions"] = 1
        spec.setdefault("parallelism", 1)
        spec.setdefault("backoffLimit", 6)
        spec.setdefault("completionMode", "NonIndexed")
        spec.setdefault("suspend", False)
        spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
        spec["template"].setdefault("spec", {}).setdefault("terminationGracePeriodSeconds", 30)
        return new

    # -- reconcile ----------------------------------------------------------------------------
    def reconcile(self, ns: str, name: str) -> None:
        job = self.store.get(JOBS, ns, name)
        if job is None or job["metadata"].get("deletionTimestamp"):
            return
        new = self.defaulted(job)
        if new is not None:
            self.store.update(JOBS, new)
            return  # the MODIFIED event reconciles again
        uid = job["metadata"]["uid"]
        spec = job["spec"]
        done = finished(job)
        if done:
            self._ttl(job)
            return
        pods = [p for p in self.store.list(PODS, ns) if _owned_by(p, uid)]
        counted = self._counted.setdefault(uid, {})
        restarts = self._restarts.setdefault(uid, {})
        active: list[dict[str, Any]] = []
        new_failure = False
        for p in pods:
            puid = p["metadata"]["uid"]
            phase = (p.get("status") or {}).get("phase", "")
            r = sum(
                int(cs.get("restartCount") or 0)
                for cs in (p.get("status") or {}).get("containerStatuses") or []
            )
            if r > restarts.get(puid, 0):
                restarts[puid] = r
                new_failure = True
            if phase in ("Succeeded", "Failed"):
                if puid not in counted:
                    counted[puid] = phase
                    new_failure = new_failure or phase == "Failed"
            elif not p["metadata"].get("deletionTimestamp"):
                active.append(p)
        if new_failure:
            self._last_failure[uid] = time.monotonic()
        succeeded = sum(1 for v in counted.values() if v == "Succeeded")
        failed = sum(1 for v in counted.values() if v == "Failed") + sum(restarts.values())
        status = copy.deepcopy(job.get("status") or {})
        completions = int(spec.get("completions") or 1)
        parallelism = int(spec.get("parallelism", 1))
        if spec.get("suspend"):
            for p in active:
                self._delete_pod(job, p)
            status.update(active=0, ready=0)
            status.pop("startTime", None)
            self._write_status(job, status)
            return
        now = now_iso()
        status.setdefault("startTime", now)
        ads = spec.get("activeDeadlineSeconds")
        fail: tuple[str, str] | None = None
        if failed > int(spec.get("backoffLimit", 6)):
            fail = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
        elif ads is not None:
            left = _parse(status["startTime"]) + float(ads) - time.time()
            if left <= 0:
                fail = ("DeadlineExceeded", "Job was active longer than specified deadline")
            else:
                self.schedule_later(ns, name, "deadline", left)
        if fail is None and succeeded >= completions:
            for p in active:
                self._delete_pod(job, p)
            status.update(active=0, ready=0, succeeded=succeeded, failed=failed, terminating=0)
            status["completionTime"] = now
            status["conditions"] = [
                *(status.get("conditions") or []),
                _cond("SuccessCriteriaMet", "CompletionsReached", REACHED, now),
                _cond("Complete", "CompletionsReached", REACHED, now),
            ]  # fmt: skip
            status["uncountedTerminatedPods"] = {}
            self._write_status(job, status)
            self.event(job, "Normal", "Completed", "Job completed")
            return
        if fail is not None:
            for p in active:
                self._delete_pod(job, p)
            status.update(active=0, ready=0, succeeded=succeeded, failed=failed, terminating=0)
            status["conditions"] = [
                *(status.get("conditions") or []),
                _cond("FailureTarget", fail[0], fail[1], now),
                _cond("Failed", fail[0], fail[1], now),
            ]
            status["uncountedTerminatedPods"] = {}
            self._write_status(job, status)
            self.event(job, "Warning", fail[0], fail[1])
            return
        want = min(parallelism, completions - succeeded) - len(active)
        if want > 0:
            wait = 0.0
            if failed and uid in self._last_failure:
                delay = min(BACKOFF_SECONDS * 2 ** (failed - 1), MAX_BACKOFF_SECONDS)
                wait = self._last_failure[uid] + delay - time.monotonic()
            if wait > 0:
                self.schedule_later(ns, name, "backoff", wait)
            else:
                for _ in range(want):
                    pod = self._create_pod(job)
                    if pod is None:
                        break
                    active.append(pod)
        ready = sum(
            1
            for p in active
            if any(
                c.get("type") == "Ready" and c.get("status") == "True"
                for c in (p.get("status") or {}).get("conditions") or []
            )
        )
        status.update(
            active=len(active), ready=ready, succeeded=succeeded, failed=failed, terminating=0
        )
        status["uncountedTerminatedPods"] = {}
        for key in ("succeeded", "failed"):
            if not status[key]:
                status.pop(key)
        self._write_status(job, status)

    def _write_status(self, job: dict[str, Any], status: dict[str, Any]) -> None:
        cur = self.store.get(JOBS, job["metadata"]["namespace"], job["metadata"]["name"])
        if cur is None or cur["metadata"]["uid"] != job["metadata"]["uid"]:
            return
        new = copy.deepcopy(cur)
        new["metadata"].pop("resourceVersion", None)
        new["status"] = status
        self.store.update(JOBS, new)

    def _create_pod(self, job: dict[str, Any]) -> dict[str, Any] | None:
        from .controllers import owner_ref

        meta = job["metadata"]
        ns, name = meta["namespace"], meta["name"]
        template = job["spec"].get("template") or {}
        tmeta = template.get("metadata") or {}
        spec = copy.deepcopy(template.get("spec") or {})
        sa = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
        if self.store.get(SERVICEACCOUNTS, ns, sa) is None:
            why = f'error looking up service account {ns}/{sa}: serviceaccount "{sa}" not found'
            self.event(
                job,
                "Warning",
                "FailedCreate",
                f'Error creating: pods "{name}-" is forbidden: {why}',
            )
            self.schedule_later(ns, name, "create", 1.0)
            return None
        pmeta: dict[str, Any] = {
            "name": f"{name}-{random_suffix()}",
            "generateName": f"{name}-",
            "namespace": ns,
            "labels": dict(tmeta.get("labels") or {}),
            "ownerReferences": [owner_ref(job)],
        }
        if tmeta.get("annotations"):
            pmeta["annotations"] = dict(tmeta["annotations"])
        pod = self.store.create(
            PODS, {"apiVersion": "v1", "kind": "Pod", "metadata": pmeta, "spec": spec}
        )
        self.event(job, "Normal", "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}")
        return pod

    def _delete_pod(self, job: dict[str, Any], pod: dict[str, Any]) -> None:
        with contextlib.suppress(ApiError):
            self.store.delete(PODS, pod["metadata"]["namespace"], pod["metadata"]["name"])
            self.event(job, "Normal", "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}")

    def _ttl(self, job: dict[str, Any]) -> None:
        ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
        if ttl is None:
            return
        meta = job["metadata"]
        st = job.get("status") or {}
        end = st.get("completionTime") or next(
            (
                c.get("lastTransitionTime")
                for c in st.get("conditions") or []
                if c.get("type") == "Failed"
            ),
            now_iso(),
        )
        left = _parse(str(end)) + float(ttl) - time.time()
        if left > 0:
            self.schedule_later(meta["namespace"], meta["name"], "ttl", left)
            return
        with contextlib.suppress(ApiError):
            self.store.delete(JOBS, meta["namespace"], meta["name"])


def _cond(typ: str, reason: str, message: str, ts: str) -> dict[str, Any]:
    return {
        "type": typ,
        "status": "True",
        "lastProbeTime": ts,
        "lastTransitionTime": ts,
        "reason": reason,
        "message": message,
    }


__all__ = ["JobController", "finished"]
