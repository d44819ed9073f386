"""The toolbox's delete when another VolumeSnapshotContent holds the same snapshot handle
(a clone in another namespace, a rebind whose last step failed): the snapshot and its
content go, the data stays for the other holder; the last holder deletes the data. When
the contents cannot be listed, nothing is deleted. The rendered script (a namespace
without a database) with the real kubectl on kubesim, whose driver keeps each
snapshot's data in a directory named by its handle."""

# ruff: noqa: E501  (the tests assert whole output lines)
from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from kubesim.fixture import KubeSim
from tests import ctlsim
from tests.ctlsim import snapshot

REPO = Path(__file__).resolve().parents[2]
NS = "static-site"  # the example's namespace without a database
SCRIPT = REPO / "out" / "namespaces" / NS / "backup-ns.sh"
WHEN = datetime(2026, 11, 1, 1, 0, tzinfo=timezone.utc)
CLONE = {"backup-ns.sh/type": "clone", "backup-ns.sh/pvc": "www"}


@pytest.fixture
def sim(kubesim: KubeSim) -> Iterator[KubeSim]:
    ctlsim.clear(kubesim)
    kubesim.clear_faults()
    kubesim.seed([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}])
    yield kubesim
    kubesim.clear_faults()


def run(sim: KubeSim, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = sim.env(tmp_path)
    env.update(NO_COLOR="1", TMPDIR=str(tmp_path))
    return subprocess.run(["bash", str(SCRIPT), *args], env=env, capture_output=True,
                          text=True, timeout=300, stdin=subprocess.DEVNULL, check=False)  # fmt: skip


def checksum(path: Path) -> str:
    return hashlib.sha256(
        b"".join(f.read_bytes() for f in sorted(path.rglob("*")) if f.is_file())
    ).hexdigest()


def two_holders(sim: KubeSim, policy_b: str = "Retain") -> tuple[list[dict[str, Any]], Path]:
    """Snapshots www-a and www-b whose contents hold one handle (www-b's content
    labelled a clone), the data in the driver's store."""
    a = snapshot(NS, "www-a", WHEN, pvc="www", policy="Delete")
    b = snapshot(NS, "www-b", WHEN, pvc="www", policy=policy_b, content_labels=CLONE)
    handle = a[1]["status"]["snapshotHandle"]
    b[1]["status"]["snapshotHandle"] = handle
    store = Path(sim.state_dir) / "snapshots" / handle
    store.mkdir(parents=True)
    (store / "index.html").write_text("the site of day 1\n" * 50)
    ctlsim.seed(sim, a + b)
    return a + b, store


def test_delete_keeps_the_data_another_content_holds(sim: KubeSim, tmp_path: Path) -> None:
    objs, store = two_holders(sim)
    ca, cb = objs[1]["metadata"]["name"], objs[3]["metadata"]["name"]
    before = checksum(store)
    cp = run(sim, tmp_path, "delete", "www-a", "--yes")
    assert cp.returncode == 0, cp.stderr
    lines = cp.stdout.splitlines()
    assert (
        lines[0]
        == f"will delete: VolumeSnapshot {NS}/www-a (PVC www, taken 2026-11-01T01:00:00Z, {ca}, deletionPolicy Delete); kept data: handle shared with content {cb}"
    )
    assert lines[1] == "The data stays: another VolumeSnapshotContent holds it."
    assert (
        lines[-1]
        == f"[backup-ns] {NS}: deleted VolumeSnapshot www-a and its content {ca}; the data stays with content {cb}"
    )
    vss, vscs = ctlsim.state(sim)
    assert (NS, "www-a") not in vss and ca not in vscs and cb in vscs
    assert checksum(store) == before

    # the last holder (a clone, too): its data goes as with any snapshot
    cp = run(sim, tmp_path, "delete", "www-b", "--yes")
    assert cp.returncode == 0, cp.stderr
    assert (
        cp.stdout.splitlines()[1]
        == "The snapshot data is deleted for good; it cannot be restored afterwards."
    )
    sim.wait_for(lambda: not store.exists())


def test_two_holders_in_one_delete_remove_the_data_once(sim: KubeSim, tmp_path: Path) -> None:
    objs, store = two_holders(sim, policy_b="Delete")
    ca, cb = objs[1]["metadata"]["name"], objs[3]["metadata"]["name"]
    cp = run(sim, tmp_path, "delete", "www-a", "www-b", "--yes")
    assert cp.returncode == 0, cp.stderr
    assert f"; kept data: handle shared with content {cb}" in cp.stdout.splitlines()[0]
    assert "kept data" not in cp.stdout.splitlines()[1]
    assert (
        f"VolumeSnapshotContent {ca}: deletionPolicy Retain (content {cb} holds the same data)"
        in cp.stdout
    )
    sim.wait_for(lambda: not store.exists())
    assert ctlsim.state(sim) == ({}, {})


def test_contents_that_cannot_be_listed_delete_nothing(sim: KubeSim, tmp_path: Path) -> None:
    _objs, store = two_holders(sim)
    sim.fault({"type": "http", "status": 403, "message": "forbidden: cannot list",
               "match": {"method": "GET", "path": "^/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents$"}})  # fmt: skip
    sim.reset_requests()
    cp = run(sim, tmp_path, "delete", "www-a", "--yes")
    assert cp.returncode == 1
    err = cp.stderr.strip().splitlines()
    # delete is a platform command: the refused content list (which must prove that no
    # other content holds the handle before anything is deleted) says so, with the
    # server's line; nothing was written (below)
    assert len(err) == 1 and err[0].startswith(
        "ERROR: delete needs the platform team in namespace static-site:"
        " Error from server (Forbidden): forbidden: cannot list."
    ), cp.stderr
    assert [r for r in sim.requests() if r["method"] not in ("GET",)] == []
    sim.clear_faults()
    assert len(ctlsim.state(sim)[1]) == 2 and store.exists()
