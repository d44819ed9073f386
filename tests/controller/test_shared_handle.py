"""Two contents that hold one snapshot handle (a clone, or a rebind whose last step
failed): the controller deletes the objects of one without letting the driver delete
the data the other still stands for; the last holder goes as always. On kubesim, whose
driver keeps each snapshot's data in a directory named by its handle."""

# ruff: noqa: E501  (the tests assert whole output lines, which are long)
from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from kubesim.fixture import KubeSim
from tests import ctlsim
from tests.ctlsim import Controller, checksum, history, ok

NS = "shop-prod"
START = datetime(2026, 11, 1, 1, 0, tzinfo=timezone.utc)
NOW = "2026-11-20T03:00:00Z"
PAST = {"backup-ns.sh/delete-after": "2026-11-10", "backup-ns.sh/delete-reason": "expired"}


@pytest.fixture
def sim(kubesim: KubeSim) -> Iterator[KubeSim]:
    ctlsim.clear(kubesim)
    kubesim.clear_faults()
    kubesim.seed([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "backup-ns"}}])
    yield kubesim


def data_dir(sim: KubeSim, handle: str) -> Path:
    return Path(sim.state_dir) / "snapshots" / handle


def shared_history(sim: KubeSim, expire: tuple[int, ...]) -> tuple[list[dict[str, Any]], str]:
    """Five nightly snapshots; the contents of days 1 and 2 hold one handle (with data in
    the driver's store); the snapshots of the days in EXPIRE are past their delete-after."""
    objs = history(
        NS, START, 5, content_labels={"backup-ns.sh/type": "cronjob", "backup-ns.sh/pvc": "data"}
    )
    handle = objs[1]["status"]["snapshotHandle"]
    objs[3]["status"]["snapshotHandle"] = handle
    for d in expire:
        objs[2 * (d - 1)]["metadata"]["labels"].update(PAST)
    store = data_dir(sim, handle)
    store.mkdir(parents=True)
    (store / "dump.sql.gz").write_bytes(b"the rows of day 1\n" * 100)
    ctlsim.seed(sim, objs)
    return objs, handle


def content(objs: list[dict[str, Any]], day: int) -> str:
    return str(objs[2 * (day - 1) + 1]["metadata"]["name"])


def vs(objs: list[dict[str, Any]], day: int) -> str:
    return str(objs[2 * (day - 1)]["metadata"]["name"])


def test_sweeping_one_holder_keeps_the_data_then_the_last_deletes_it(
    sim: KubeSim,
) -> None:
    objs, handle = shared_history(sim, (1,))
    store = data_dir(sim, handle)
    before = checksum(store)
    ctl = Controller(sim)
    want = [
        f"delete {NS}/{vs(objs, 1)} : delete-after 2026-11-10 is before today 2026-11-20;"
        f" kept data: handle shared with content {content(objs, 2)}; content {content(objs, 1)} deleted too"
    ]
    plan = ok(ctl.run("plan", now=NOW))
    assert [c for c in plan.changes() if c.startswith("delete ")] == want
    run = ok(ctl.run("run", now=NOW))
    assert [c for c in run.changes() if c.startswith("delete ")] == want  # plan and run agree
    sim.wait_for(lambda: content(objs, 1) not in ctlsim.state(sim)[1])
    vss, vscs = ctlsim.state(sim)
    assert (NS, vs(objs, 1)) not in vss and content(objs, 1) not in vscs
    assert vscs[content(objs, 2)]["spec"]["deletionPolicy"] == "Retain"
    assert checksum(store) == before  # day 2's data is still there

    # day 2, now the last holder, goes as any snapshot: Delete first, the data with it
    sim.kubectl(
        "label",
        "volumesnapshot",
        "-n",
        NS,
        vs(objs, 2),
        *(f"{k}={v}" for k, v in PAST.items()),
        check=True,
    )
    last = ok(ctl.run("run", now=NOW))
    assert [c for c in last.changes() if c.startswith("delete ")] == [
        f"delete {NS}/{vs(objs, 2)} : delete-after 2026-11-10 is before today 2026-11-20;"
        f" content {content(objs, 2)} deletionPolicy Retain -> Delete first"
    ]
    sim.wait_for(lambda: not store.exists())


def test_two_holders_swept_in_one_run_delete_the_data_once(sim: KubeSim) -> None:
    """Both holders expire together: the one swept first keeps the data for the other
    (Retain, even when its policy was Delete), the last lets the driver delete it."""
    objs, handle = shared_history(sim, (1, 2))
    sim.kubectl(
        "patch", "volumesnapshotcontent", content(objs, 2), "--type", "merge",
        "-p", '{"spec":{"deletionPolicy":"Delete"}}', check=True,
    )  # fmt: skip
    run = ok(Controller(sim).run("run", now=NOW))
    deletes = sorted(c for c in run.changes() if c.startswith("delete "))
    assert len(deletes) == 2
    kept = [c for c in deletes if "kept data" in c]
    assert len(kept) == 1, deletes
    sim.wait_for(lambda: not data_dir(sim, handle).exists())
    _, vscs = ctlsim.state(sim)
    assert content(objs, 1) not in vscs and content(objs, 2) not in vscs


def test_an_orphan_sharing_a_handle_is_deleted_without_its_data(sim: KubeSim) -> None:
    """An orphaned content past its grace period whose handle a live snapshot's content
    holds (a rebind whose final delete failed): its object goes, the data stays."""
    objs, handle = shared_history(sim, ())
    orphan = copy.deepcopy(objs[3])
    orphan["metadata"]["name"] = "left-behind"
    orphan["metadata"]["labels"] = {
        "backup-ns.sh/type": "cronjob", "backup-ns.sh/pvc": "data",
        "backup-ns.sh/orphaned-since": "2026-10-01",
    }  # fmt: skip
    orphan["spec"]["deletionPolicy"] = "Delete"
    orphan["spec"]["volumeSnapshotRef"] = {
        **orphan["spec"]["volumeSnapshotRef"],
        "name": "gone",
        "uid": "x",
    }
    ctlsim.seed(sim, [orphan])
    before = checksum(data_dir(sim, handle))
    run = ok(Controller(sim).run("orphans", now=NOW))
    holder = min(content(objs, 1), content(objs, 2))  # the first that stays, in name order
    assert run.changes() == [
        "delete vsc/left-behind : snapshot shop-prod/gone is gone, orphaned since 2026-10-01 (50 days, keep 30);"
        f" kept data: handle shared with content {holder}; deletionPolicy Delete -> Retain first"
    ]
    sim.wait_for(lambda: "left-behind" not in ctlsim.state(sim)[1])
    assert checksum(data_dir(sim, handle)) == before
