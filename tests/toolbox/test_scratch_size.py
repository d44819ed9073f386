"""The scratch PVC of verify (and of dump-restore and dump-download, which share it) is
sized as restore-pvc sizes a PVC: the largest of the snapshot's restoreSize, the live
source PVC's request and the size recorded at create (backup-ns.sh/pvc-size). A rebound
snapshot whose driver reports only the bytes held would otherwise get a scratch volume
too small for its data. The rendered script with the real kubectl on kubesim; the
helper pod's create is held back a moment, so the scratch PVC can be read."""

from __future__ import annotations

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
NS = "static-site"
SCRIPT = REPO / "out" / "namespaces" / NS / "backup-ns.sh"
WHEN = datetime(2026, 11, 1, 1, 0, tzinfo=timezone.utc)


@pytest.fixture
def sim(kubesim: KubeSim) -> Iterator[KubeSim]:
    ctlsim.clear(kubesim)
    kubesim.clear_faults()
    kubesim.seed([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}])
    yield kubesim
    kubesim.clear_faults()


def scratch_request(sim: KubeSim, tmp_path: Path, objs: list[dict[str, Any]]) -> str:
    """The storage request of verify's scratch PVC for the snapshot in OBJS."""
    handle = objs[1]["status"]["snapshotHandle"]
    store = Path(sim.state_dir) / "snapshots" / handle
    store.mkdir(parents=True)
    (store / "index.html").write_text("hello\n")
    ctlsim.seed(sim, objs)
    sim.fault(
        {
            "type": "http",
            "delay": 3,
            "times": 1,
            "match": {"method": "POST", "path": f"^/api/v1/namespaces/{NS}/pods$"},
        }
    )
    env = sim.env(tmp_path)
    env.update(NO_COLOR="1", TMPDIR=str(tmp_path), BAK_TOOLBOX_TIMEOUT="20s")
    name = objs[0]["metadata"]["name"]
    proc = subprocess.Popen(
        ["bash", str(SCRIPT), "verify", name],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def scratch() -> str:
            cp = sim.kubectl(
                "get", "pvc", "-n", NS, "-l", "app.kubernetes.io/component=toolbox",
                "-o", "jsonpath={.items[*].spec.resources.requests.storage}",
            )  # fmt: skip
            return cp.stdout.strip()

        return str(sim.wait_for(scratch, timeout=60))
    finally:
        out, err = proc.communicate(timeout=300)
        assert "scratch PVC" in out, (out, err)


def test_the_recorded_pvc_size_wins_over_a_small_restore_size(sim: KubeSim, tmp_path: Path) -> None:
    objs = snapshot(
        NS, "www-rebound", WHEN, pvc="www", annotations={"backup-ns.sh/pvc-size": "3Gi"}
    )
    objs[0]["status"]["restoreSize"] = "6Ki"  # the bytes held, as a rebound content says
    assert scratch_request(sim, tmp_path, objs) == "3Gi"


def test_the_live_pvc_request_wins_over_a_small_restore_size(sim: KubeSim, tmp_path: Path) -> None:
    sim.seed(
        [
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": "www", "namespace": NS},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "2Gi"}},
                },
            }
        ]
    )
    objs = snapshot(NS, "www-small", WHEN, pvc="www")
    objs[0]["status"]["restoreSize"] = "6Ki"
    assert scratch_request(sim, tmp_path, objs) == "2Gi"
