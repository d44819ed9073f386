"""The controller orders snapshots by the time they were cut: backup-ns.sh/cut-at (what
create records and rebind keeps), else status.creationTime, else creationTimestamp, as
the namespace script does. A rebound snapshot (a young object holding an old backup) is
never treated as newer than it is; an annotation without the shape create writes, or
later than its object, is not believed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from kubesim.fixture import KubeSim
from tests import ctlsim
from tests.ctlsim import Controller, Run, history, snapshot

NS = "shop-prod"
START = datetime(2026, 11, 1, 1, 0, tzinfo=timezone.utc)
NOW = "2026-11-20T03:00:00Z"
PAST = {"backup-ns.sh/delete-after": "2026-11-10", "backup-ns.sh/delete-reason": "expired"}


@pytest.fixture
def sim(kubesim: KubeSim) -> Iterator[KubeSim]:
    ctlsim.clear(kubesim)
    kubesim.seed([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "backup-ns"}}])
    yield kubesim


def ok(run: Run) -> Run:
    assert run.status == 0, f"exit {run.status}\n{run.stdout}\n{run.stderr}"
    return run


def later(name: str, cut_at: str) -> list[dict[str, object]]:
    """A snapshot object made after the three nights (a rebind on day 3) with CUT_AT."""
    return snapshot(NS, name, START + timedelta(days=2, hours=5), labels=PAST,
                    annotations={"backup-ns.sh/cut-at": cut_at})  # fmt: skip


def test_a_rebound_snapshot_sorts_by_its_cut(sim: KubeSim) -> None:
    ctlsim.seed(sim, history(NS, START, 3))
    ctlsim.seed(sim, later("rebound", "2026-10-31T05:00:00Z"))
    ctlsim.seed(sim, later("bad-shape", "2026-10-31T05:00:00+00:00"))
    ctlsim.seed(sim, later("in-future", "2026-11-25T05:00:00Z"))
    ctl = Controller(sim)
    listed = ok(ctl.run("list", "-A", now=NOW))
    assert [line.split()[1] for line in listed.lines[1:]] == [
        "bad-shape",  # the object's time (ties in name order)
        "in-future",  # a cut-at later than its object: the object's time too
        "data-2026-11-03-010000",
        "data-2026-11-02-010000",
        "data-2026-11-01-010000",
        "rebound",  # the oldest backup, whatever its object's age
    ]
    assert listed.lines[-1].split()[4] == "19d"
    plan = ok(ctl.run("plan", now=NOW))
    assert [c for c in plan.changes() if c.startswith(("delete", "keep"))] == [  # oldest first
        "delete shop-prod/rebound : delete-after 2026-11-10 is before today 2026-11-20; content "
        + ctlsim.state(sim)[0][(NS, "rebound")]["status"]["boundVolumeSnapshotContentName"]
        + " deletionPolicy Retain -> Delete first",
        "delete shop-prod/bad-shape : delete-after 2026-11-10 is before today 2026-11-20; content "
        + ctlsim.state(sim)[0][(NS, "bad-shape")]["status"]["boundVolumeSnapshotContentName"]
        + " deletionPolicy Retain -> Delete first",
        "keep shop-prod/in-future : newest ready snapshot of shop-prod/data (not deleted)",
    ]
