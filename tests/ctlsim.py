"""Seeding kubesim with snapshot histories and running the controller script (tests, bench).

``snapshot(...)`` builds a VolumeSnapshot and its bound VolumeSnapshotContent as
the snapshot controller leaves them; ``seed`` sends them in one request
(``POST /_kubesim/objects``: uids and times are kept). ``Controller`` runs the
rendered ``backup-ns-controller.sh`` with the real kubectl against a kubesim.
"""

from __future__ import annotations

import hashlib
import subprocess
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from kubesim.fixture import KubeSim

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "out" / "controller" / "backup-ns-controller.sh"
GROUP = "snapshot.storage.k8s.io/v1"
VS_API = "/apis/snapshot.storage.k8s.io/v1/volumesnapshots"
VSC_API = "/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents"


def iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def periods(when: datetime) -> dict[str, str]:
    """The daily/weekly/monthly label values of a time (UTC), as the namespace script."""
    year, week, _ = when.isocalendar()
    return {
        "backup-ns.sh/daily": when.strftime("%Y-%m-%d"),
        "backup-ns.sh/weekly": f"{year:04d}-w{week:02d}",
        "backup-ns.sh/monthly": when.strftime("%Y-%m"),
    }


def snapshot(
    ns: str,
    name: str,
    when: datetime,
    *,
    pvc: str = "data",
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    ready: bool = True,
    error: str | None = None,
    policy: str = "Retain",
    managed: bool = True,
    content: bool = True,
    content_labels: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """A VolumeSnapshot (and its content unless ``content=False``) created at ``when``."""
    uid = str(uuid.uuid4())
    cname = f"snapcontent-{uid}"
    meta_labels: dict[str, str] = {}
    if managed:
        meta_labels = {
            "backup-ns.sh/pvc": pvc,
            "backup-ns.sh/type": "cronjob",
            "backup-ns.sh/retain": "daily_weekly_monthly",
        }
    meta_labels.update(labels or {})
    status: dict[str, Any] = {"readyToUse": ready}
    if content:
        status["boundVolumeSnapshotContentName"] = cname
        status["creationTime"] = iso(when)
        status["restoreSize"] = "1Gi"
    if error is not None:  # bound to a failed content, as the snapshot controller leaves it
        status = {
            "boundVolumeSnapshotContentName": cname,
            "readyToUse": False,
            "error": {"message": error, "time": iso(when)},
        }
    vs: dict[str, Any] = {
        "apiVersion": GROUP,
        "kind": "VolumeSnapshot",
        "metadata": {
            "name": name,
            "namespace": ns,
            "uid": uid,
            "creationTimestamp": iso(when),
            "labels": meta_labels,
            "annotations": dict(annotations or {}),
        },
        "spec": {
            "source": {"persistentVolumeClaimName": pvc},
            "volumeSnapshotClassName": "csi-hostpath-snapclass",
        },
        "status": status,
    }
    out = [vs]
    if content or error is not None:
        cstatus: dict[str, Any] = {
            "creationTime": int(when.timestamp() * 1e9),
            "readyToUse": ready,
            "restoreSize": 1073741824,
            "snapshotHandle": f"handle-{uid}",
        }
        if error is not None:
            cstatus = {"readyToUse": False, "error": {"message": error, "time": iso(when)}}
        out.append(
            {
                "apiVersion": GROUP,
                "kind": "VolumeSnapshotContent",
                "metadata": {
                    "name": cname,
                    "creationTimestamp": iso(when),
                    "labels": dict(content_labels or {}),
                },
                "spec": {
                    "deletionPolicy": policy,
                    "driver": "hostpath.csi.k8s.io",
                    "source": {"volumeHandle": f"pvc-{ns}-{pvc}"},
                    "volumeSnapshotClassName": "csi-hostpath-snapclass",
                    "volumeSnapshotRef": {
                        "apiVersion": GROUP,
                        "kind": "VolumeSnapshot",
                        "name": name,
                        "namespace": ns,
                        "uid": uid,
                    },
                },
                "status": cstatus,
            }
        )
    return out


def history(
    ns: str,
    start: datetime,
    days: int,
    *,
    pvc: str = "data",
    existing: dict[str, set[str]] | None = None,
    labels: dict[str, str] | None = None,
    **kwargs: Any,
) -> list[dict[str, Any]]:
    """One snapshot a day from ``start``, labelled like the namespace script does: the
    first snapshot of each day, ISO week and month gets that period's label (plus
    ``labels`` on every one)."""
    seen = existing if existing is not None else {}
    objs: list[dict[str, Any]] = []
    for d in range(days):
        when = start + timedelta(days=d)
        labels_ = dict(labels or {})
        for key, value in periods(when).items():
            if value not in seen.setdefault(key, set()):
                seen[key].add(value)
                labels_[key] = value
        name = f"{pvc}-{when:%Y-%m-%d-%H%M%S}"
        objs += snapshot(ns, name, when, pvc=pvc, labels=labels_, **kwargs)
    return objs


@dataclass
class Run:
    status: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines()

    def changes(self) -> list[str]:
        """The plan/change lines (without the log prefix)."""
        pre = "[backup-ns-controller] "
        verbs = ("unlabel ", "unmark ", "mark ", "delete ", "keep ", "sync ", "orphan ")
        out = []
        for line in self.lines:
            line = line.removeprefix(pre)
            if line.startswith(verbs):
                out.append(line)
        return out


@dataclass
class Controller:
    sim: KubeSim
    script: Path = SCRIPT
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._env = self.sim.env()

    def run(self, *args: str, now: str | None = None, **settings: str) -> Run:
        env = dict(self._env)
        env.pop("NO_COLOR", None)
        env.update({"NO_COLOR": "1"})
        env.update(self.env)
        if now is not None:
            env["CTL_NOW"] = now
        env.update(settings)
        cp = subprocess.run(
            ["bash", str(self.script), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            check=False,
        )
        return Run(cp.returncode, cp.stdout, cp.stderr)


def seed(sim: KubeSim, objects: list[dict[str, Any]]) -> int:
    return sim.seed(objects) if objects else 0


def clear(sim: KubeSim) -> None:
    """Remove every VolumeSnapshot, content, PVC and Lease (through kubectl: a few calls)."""
    env = sim.env()
    for args in (
        ("delete", "volumesnapshots.v1.snapshot.storage.k8s.io", "--all", "-A", "--wait=false"),
        ("delete", "volumesnapshotcontents.v1.snapshot.storage.k8s.io", "--all", "--wait=false"),
        ("delete", "persistentvolumeclaims", "--all", "-A", "--wait=false"),
        ("delete", "leases.v1.coordination.k8s.io", "--all", "-A", "--wait=false"),
    ):
        sim.kubectl(*args, env=env, check=True)


def state(sim: KubeSim) -> tuple[dict[tuple[str, str], dict[str, Any]], dict[str, dict[str, Any]]]:
    """(VolumeSnapshots by (namespace, name), contents by name) through the API."""
    vs = {(o["metadata"]["namespace"], o["metadata"]["name"]): o for o in sim.api(VS_API)["items"]}
    vsc = {o["metadata"]["name"]: o for o in sim.api(VSC_API)["items"]}
    return vs, vsc


def ok(run: Run) -> Run:
    """RUN, asserted to have exited 0 (its output in the message otherwise)."""
    assert run.status == 0, f"exit {run.status}\n{run.stdout}\n{run.stderr}"
    return run


def checksum(path: Path) -> str:
    """One sha256 over every file below PATH (names and bytes): a snapshot's stored data."""
    h = hashlib.sha256()
    for f in sorted(path.rglob("*")):
        if f.is_file():
            h.update(str(f.relative_to(path)).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()
