"""Benchmark: the retention controller over a large cluster on kubesim (issue 6).

    python bench/controller.py [--namespaces 1000] [--snapshots 10] [--changes 1000]

Seeds kubesim (through its API, one request per 2,000 objects) with N namespaces x M
snapshots, each with its content, already retained and synced (steady state), then runs
``plan`` and ``run`` of out/controller/backup-ns-controller.sh with the real kubectl and
prints, for each: list calls (kubectl get invocations, counted as the first page
requests), list page requests (--chunk-size=500), total requests (kubesim's request
log) and wall seconds, beside the goals. A second scenario adds about ``--changes`` pending changes
(expired snapshots to sweep, a new snapshot per namespace that pushes the oldest daily
out: unlabel, mark, sync) and runs ``plan`` and ``run`` again.

Floor, measured in the same run: one ``kubectl get volumesnapshots -A --chunk-size=500
-o name`` over the same state (reading the snapshots once, what any tool must do);
each wall figure is also printed as a ratio against it.

Goals: steady state <= 3 list requests and <= 5 s; ~1,000 changes <= 60 s. (The
original backup-ns scripts: ~11 min steady state and ~35 min for 3,000 changes here.)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests import ctlsim  # noqa: E402
from tests.kubesim.fixture import KubeSim  # noqa: E402

START = datetime(2026, 11, 1, 1, 0, tzinfo=timezone.utc)
LIST = ("/volumesnapshots", "/volumesnapshotcontents", "/persistentvolumeclaims")


def synced(objs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give each content its snapshot's labels (as a previous sync left them)."""
    labels = {
        o["status"]["boundVolumeSnapshotContentName"]: o["metadata"]["labels"]
        for o in objs
        if o["kind"] == "VolumeSnapshot"
    }
    for o in objs:
        if o["kind"] == "VolumeSnapshotContent":
            o["metadata"]["labels"] = dict(labels[o["metadata"]["name"]])
    return objs


def seed_in_batches(sim: KubeSim, objs: list[dict[str, Any]], batch: int = 2000) -> None:
    for i in range(0, len(objs), batch):
        sim.seed(objs[i : i + batch])


def measure(sim: KubeSim, ctl: ctlsim.Controller, verb: str, now: str) -> dict[str, Any]:
    sim.reset_requests()
    t0 = time.perf_counter()
    run = ctl.run(verb, now=now, CTL_MAX_DELETIONS_PER_RUN="1000000", CTL_KEEP_DAILY="10")
    wall = time.perf_counter() - t0
    if run.status != 0:
        raise SystemExit(f"{verb} failed ({run.status}): {run.stderr}")
    reqs = [r for r in sim.requests() if r["path"].startswith(("/api/", "/apis/"))]
    pages = [r for r in reqs if r["method"] == "GET" and r["path"].endswith(LIST)]
    lists = [r for r in pages if "continue=" not in r["query"]]  # a call's first page
    writes = [r for r in reqs if r["method"] != "GET"]
    return {
        "wall": wall,
        "lists": len(lists),
        "pages": len(pages),
        "total": len(reqs),
        "writes": len(writes),
        "summary": run.lines[-1].removeprefix("[backup-ns-controller] "),
    }


def floor(sim: KubeSim, env: dict[str, str]) -> float:
    best = float("inf")
    for _ in range(2):
        t0 = time.perf_counter()
        subprocess.run(
            [
                "kubectl",
                "get",
                "volumesnapshots.v1.snapshot.storage.k8s.io",
                "-A",
                "--chunk-size=500",
                "-o",
                "name",
            ],
            env=env,
            check=True,
            capture_output=True,
        )
        best = min(best, time.perf_counter() - t0)
    return best


def report(
    name: str, m: dict[str, Any], base: float, goal_s: float, goal_lists: int | None
) -> None:
    lists = f"{m['lists']}" + (f" (goal <= {goal_lists})" if goal_lists is not None else "")
    print(
        f"{name:24s} list calls {lists:14s} list pages {m['pages']:3d}"
        f"  requests {m['total']:5d} (writes {m['writes']:5d})"
        f"  wall {m['wall']:6.2f} s (goal <= {goal_s:g} s, {m['wall'] / base:5.1f} x floor)"
        f"  [{m['summary']}]"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--namespaces", type=int, default=1000)
    ap.add_argument("--snapshots", type=int, default=10)
    ap.add_argument("--changes", type=int, default=1000)
    args = ap.parse_args()
    n, m = args.namespaces, args.snapshots
    with tempfile.TemporaryDirectory(prefix="bench-controller-") as tmp:
        sim = KubeSim(Path(tmp) / "kubesim").start(timeout=60)
        try:
            sim.seed([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "backup-ns"}}])
            objs: list[dict[str, Any]] = []
            for i in range(n):
                objs += ctlsim.history(f"tenant-{i:04d}", START, m)
            seed_in_batches(sim, synced(objs))
            ctl = ctlsim.Controller(sim)
            env = ctl._env
            last = START + timedelta(days=m - 1)
            now = f"{last:%Y-%m-%d}T06:00:00Z"
            ctl.run("list", "-A", now=now)  # warm kubectl's discovery cache
            base = floor(sim, env)
            print(
                f"{n} namespaces x {m} snapshots (+ contents); floor (one kubectl list of the"
                f" snapshots) {base:.2f} s"
            )
            report("steady state: plan", measure(sim, ctl, "plan", now), base, 5, 3)
            report("steady state: run", measure(sim, ctl, "run", now), base, 5, 3)

            # ~changes pending: per namespace either an expired snapshot to sweep (2
            # requests: content to Delete, delete) or one new day (the oldest daily is
            # unlabelled, two contents synced: 3 requests).
            extra: list[dict[str, Any]] = []
            k = max(1, args.changes // 5)
            for i in range(k):
                ns = f"tenant-{i:04d}"
                extra += ctlsim.snapshot(
                    ns,
                    "expired",
                    START - timedelta(days=3),
                    labels={"backup-ns.sh/delete-after": "2026-11-01"},
                )
            nxt = last + timedelta(days=1)
            for i in range(k, 2 * k):
                extra += ctlsim.snapshot(
                    f"tenant-{i:04d}",
                    f"data-{nxt:%Y-%m-%d-%H%M%S}",
                    nxt,
                    labels={"backup-ns.sh/daily": f"{nxt:%Y-%m-%d}"},
                )
            seed_in_batches(sim, extra)
            now2 = f"{nxt:%Y-%m-%d}T06:00:00Z"
            report("~changes: plan", measure(sim, ctl, "plan", now2), base, 60, 3)
            report("~changes: run", measure(sim, ctl, "run", now2), base, 60, 3)
            report("after it: run (steady)", measure(sim, ctl, "run", now2), base, 5, 3)
        finally:
            sim.stop()


if __name__ == "__main__":
    main()
