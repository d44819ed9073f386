"""A clone (``clone``: a pre-provisioned content holding a backup's snapshot handle,
labelled backup-ns.sh/clone-of, and a snapshot bound to it in another namespace) is no
backup of the namespace it lands in: retention never counts, marks or deletes it, even
when someone labelled it with a backup-ns.sh/type; its content holds the source's data
against the sweep. On kubesim, whose driver keeps each snapshot's data in a directory
named by its handle."""

# ruff: noqa: E501  (the tests assert whole output lines, which are long)
from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from kubesim.fixture import KubeSim
from tests import ctlsim
from tests.ctlsim import Controller, checksum, ok

SRC, DST = "shop-prod", "shop-staging"
START = datetime(2026, 11, 1, 1, 0, tzinfo=timezone.utc)
NOW = "2026-11-20T03:00:00Z"
PAST = {"backup-ns.sh/delete-after": "2026-11-10", "backup-ns.sh/delete-reason": "expired"}


@pytest.fixture
def sim(kubesim: KubeSim) -> Iterator[KubeSim]:
    ctlsim.clear(kubesim)
    kubesim.clear_faults()
    kubesim.seed([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "backup-ns"}}])
    yield kubesim


def clone_of(
    source: list[dict[str, Any]], when: datetime, labels: dict[str, str]
) -> list[dict[str, Any]]:
    """What clone leaves in DST for the source snapshot+content: a snapshot named copy bound
    to a Retain content backup-ns-clone-x with the source's handle, both with LABELS."""
    vs, content = copy.deepcopy(source)
    vs["metadata"].update(
        name="copy", namespace=DST, uid="clone-uid", creationTimestamp=ctlsim.iso(when),
        labels=dict(labels),
        annotations={"backup-ns.sh/cloned-from": f"{SRC}/{source[0]['metadata']['name']}"},
    )  # fmt: skip
    vs["spec"] = {"source": {"volumeSnapshotContentName": "backup-ns-clone-x"}}
    vs["status"].update(
        boundVolumeSnapshotContentName="backup-ns-clone-x", creationTime=ctlsim.iso(when)
    )
    content["metadata"].update(
        name="backup-ns-clone-x", labels=dict(labels), creationTimestamp=ctlsim.iso(when)
    )
    content["spec"]["source"] = {"snapshotHandle": content["status"]["snapshotHandle"]}
    content["spec"]["volumeSnapshotRef"] = {"name": "copy", "namespace": DST, "uid": "clone-uid"}
    content["status"]["creationTime"] = int(when.timestamp() * 1e9)
    return [vs, content]


@pytest.mark.parametrize(
    "labels",
    [
        {"backup-ns.sh/clone-of": SRC},
        # labelled like a backup by hand: still a clone
        {"backup-ns.sh/clone-of": SRC, "backup-ns.sh/type": "adhoc", "backup-ns.sh/pvc": "data"},
    ],
    ids=["as-made", "hand-labelled-type"],
)
def test_a_clone_is_no_backup_of_its_namespace(sim: KubeSim, labels: dict[str, str]) -> None:
    """DST's only backup has expired; a newer ready clone in DST must not count as DST's
    newest ready snapshot (which would let the sweep delete the real last backup); it is
    never marked, synced or deleted itself."""
    src = ctlsim.snapshot(
        SRC,
        "data-2026-11-02-010000",
        START + timedelta(days=1),
        content_labels={"backup-ns.sh/type": "cronjob", "backup-ns.sh/pvc": "data"},
    )
    own = ctlsim.snapshot(
        DST,
        "data-2026-11-01-010000",
        START,
        labels=PAST,
        content_labels={"backup-ns.sh/type": "cronjob", "backup-ns.sh/pvc": "data"},
    )
    clone = clone_of(src, START + timedelta(days=2), labels)
    ctlsim.seed(sim, src + own + clone)
    ctl = Controller(sim)
    for command in ("plan", "run"):
        run = ok(ctl.run(command, now=NOW))
        mine = [
            c
            for c in run.changes()
            if (f" {DST}/" in c or "clone" in c) and not c.startswith("sync ")
        ]
        assert not [c for c in run.changes() if "copy" in c or "clone" in c], run.stdout
        assert mine == [
            f"keep {DST}/data-2026-11-01-010000 : newest ready snapshot of {DST}/data (not deleted)"
        ], run.stdout
        assert "copy" not in run.stdout and "backup-ns-clone-x" not in run.stdout, run.stdout
    vss, vscs = ctlsim.state(sim)
    assert vss[(DST, "copy")]["metadata"]["labels"] == labels
    assert vscs["backup-ns-clone-x"]["metadata"]["labels"] == labels
    # The clone's snapshot gone: its content is no orphan of ours (the orphan sweep
    # never labels or deletes it).
    sim.kubectl("delete", "volumesnapshot", "copy", "-n", DST, "--wait=true", check=True)
    run = ok(ctl.run("orphans", now=NOW))
    assert run.changes() == [], run.stdout
    assert ctlsim.state(sim)[1]["backup-ns-clone-x"]["metadata"]["labels"] == labels


def test_sweeping_the_source_keeps_the_data_for_the_clone(sim: KubeSim) -> None:
    """The source backup expires while its clone lives: the sweep deletes the source's
    snapshot and content object, not the data (the clone's content holds the handle)."""
    objs = ctlsim.history(
        SRC, START, 3, content_labels={"backup-ns.sh/type": "cronjob", "backup-ns.sh/pvc": "data"}
    )
    objs[0]["metadata"]["labels"].update(PAST)
    clone = clone_of(objs[0:2], START + timedelta(days=5), {"backup-ns.sh/clone-of": SRC})
    handle = objs[1]["status"]["snapshotHandle"]
    store = Path(sim.state_dir) / "snapshots" / handle
    store.mkdir(parents=True)
    (store / "index.html").write_bytes(b"prod rows\n")
    objs[1]["spec"]["deletionPolicy"] = "Delete"
    ctlsim.seed(sim, objs + clone)
    before = checksum(store)
    want = [
        f"delete {SRC}/{objs[0]['metadata']['name']} : delete-after 2026-11-10 is before today 2026-11-20;"
        f" kept data: handle shared with content backup-ns-clone-x; content {objs[1]['metadata']['name']} deletionPolicy Delete -> Retain first, deleted too"
    ]
    run = ok(Controller(sim).run("run", now=NOW))
    assert [c for c in run.changes() if c.startswith("delete ")] == want, run.stdout
    sim.wait_for(lambda: objs[1]["metadata"]["name"] not in ctlsim.state(sim)[1])
    vss, vscs = ctlsim.state(sim)
    assert (DST, "copy") in vss and vscs["backup-ns-clone-x"]["spec"]["deletionPolicy"] == "Retain"
    assert checksum(store) == before
