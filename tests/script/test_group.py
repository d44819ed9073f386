"""groupSnapshot (templates/script/_group.sh.j2) on kubesim with the real kubectl: auto
cuts a namespace's PVCs in one VolumeGroupSnapshot when the cluster has a class for
their driver and otherwise snapshots them one by one, saying so in one line; always
refuses without a class before anything is created; never (and BAK_GROUP_SNAPSHOT=never)
snapshots one by one; a foreign PVC that carries the group label is refused."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubesim.fixture import KubeSim
from tests.realk8s.render import render
from tests.realk8s.servers import bound, pvc

KUBESIM_ARGS = ["--snapshot-ready-delay", "0"]
NEVER_WHY = "groupSnapshot: never, or one PVC configured"
NS = "grp"
CLASS = {
    "apiVersion": "groupsnapshot.storage.k8s.io/v1",
    "kind": "VolumeGroupSnapshotClass",
    "metadata": {
        "name": "group-class",
        "annotations": {"groupsnapshot.storage.kubernetes.io/is-default-class": "true"},
    },
    "driver": "hostpath.csi.k8s.io",
    "deletionPolicy": "Delete",
}


@pytest.fixture
def sim(kubesim: KubeSim) -> Iterator[KubeSim]:
    kubesim.kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=true")
    kubesim.kubectl("delete", "volumegroupsnapshotclass", "--all")
    kubesim.kubectl("create", "namespace", NS, check=True)
    for name in ("data", "wal", "other"):
        kubesim.apply(pvc(NS, name))
    for name in ("data", "wal", "other"):
        kubesim.wait_for(lambda n=name: bound(kubesim, NS, n))  # type: ignore[misc]
    yield kubesim


def script(tmp_path: Path, mode: str, pvcs: str = "[data, wal]") -> Path:
    config = f"""\
defaults:
  lock: {{mode: none}}
  groupSnapshot: {mode}
namespaces:
  {NS}: {{pvcs: {pvcs}, database: none}}
"""
    out = render(tmp_path / "backupns.yaml", tmp_path / "out", text=config)
    return out / "namespaces" / NS / "backup-ns.sh"


def create(
    sim: KubeSim, tmp_path: Path, path: Path, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(path), "create"],
        env={**sim.env(tmp_path), "NO_COLOR": "1", "BAK_VS_RAND": "abcde", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def items(sim: KubeSim, kind: str) -> list[dict[str, Any]]:
    return list(sim.get_json(kind, "-n", NS)["items"])


def test_auto_with_a_class_cuts_one_group(sim: KubeSim, tmp_path: Path) -> None:
    sim.apply(json.dumps(CLASS))
    cp = create(sim, tmp_path, script(tmp_path, "auto"))
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert (
        "group: PVCs data wal are cut at one instant in one VolumeGroupSnapshot"
        " (class group-class, driver hostpath.csi.k8s.io)"
    ) in cp.stdout
    groups = items(sim, "volumegroupsnapshot")
    assert len(groups) == 1
    assert groups[0]["metadata"]["name"].startswith("group-")
    assert groups[0]["metadata"]["name"].endswith("-abcde")
    snaps = items(sim, "volumesnapshot")
    assert sorted(s["metadata"]["labels"]["backup-ns.sh/pvc"] for s in snaps) == ["data", "wal"]
    assert {s["metadata"]["labels"]["backup-ns.sh/group"] for s in snaps} == {
        groups[0]["metadata"]["name"]
    }
    labels = {p["metadata"]["name"]: p["metadata"].get("labels", {}) for p in items(sim, "pvc")}
    key = labels["data"]["backup-ns.sh/snapshot-group"]
    assert labels["wal"]["backup-ns.sh/snapshot-group"] == key
    assert "backup-ns.sh/snapshot-group" not in labels["other"]
    assert groups[0]["spec"]["source"]["selector"] == {
        "matchLabels": {"backup-ns.sh/snapshot-group": key}
    }
    # A second run finds the labels in place: nothing to label.
    cp = create(sim, tmp_path, script(tmp_path, "auto"), BAK_VS_RAND="fghij")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert "labelled PVC" not in cp.stdout
    assert len(items(sim, "volumesnapshot")) == 4


def test_auto_without_a_class_snapshots_one_by_one(sim: KubeSim, tmp_path: Path) -> None:
    cp = create(sim, tmp_path, script(tmp_path, "auto"))
    assert cp.returncode == 0, cp.stdout + cp.stderr
    lines = [line for line in cp.stdout.splitlines() if "not cut at one instant" in line]
    assert lines == [
        f"[backup-ns] {NS}: snapshot: one VolumeSnapshot per PVC, not cut at one instant:"
        " the cluster has no VolumeGroupSnapshotClass for driver hostpath.csi.k8s.io"
    ], cp.stdout
    assert sorted(s["metadata"]["name"][:4] for s in items(sim, "volumesnapshot")) == [
        "data",
        "wal-",
    ]
    assert items(sim, "volumegroupsnapshot") == []
    assert all(
        "backup-ns.sh/snapshot-group" not in p["metadata"].get("labels", {})
        for p in items(sim, "pvc")
    )


def test_always_without_a_class_refuses_before_anything(sim: KubeSim, tmp_path: Path) -> None:
    cp = create(sim, tmp_path, script(tmp_path, "always"))
    assert cp.returncode == 1
    errors = [line for line in cp.stderr.splitlines() if line.startswith("ERROR")]
    assert errors == [
        f"ERROR: cannot cut PVCs data wal in one VolumeGroupSnapshot in namespace {NS}:"
        " the cluster has no VolumeGroupSnapshotClass for driver hostpath.csi.k8s.io."
        " Install the groupsnapshot.storage.k8s.io/v1 CRDs and a VolumeGroupSnapshotClass"
        " for the driver (snapshot controller and CSI snapshotter with"
        " --feature-gates=CSIVolumeGroupSnapshot=true), or set groupSnapshot: auto"
    ], cp.stderr
    assert items(sim, "volumesnapshot") == []


@pytest.mark.parametrize(
    ("mode", "env", "why"),
    [
        (
            "never",
            {},
            "this script has no group snapshots (groupSnapshot: never, or one PVC configured)",
        ),
        ("auto", {"BAK_GROUP_SNAPSHOT": "never"}, "BAK_GROUP_SNAPSHOT=never"),
    ],
)
def test_never_snapshots_one_by_one(
    sim: KubeSim, tmp_path: Path, mode: str, env: dict[str, str], why: str
) -> None:
    sim.apply(json.dumps(CLASS))
    cp = create(sim, tmp_path, script(tmp_path, mode), **env)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert f"snapshot: one VolumeSnapshot per PVC, not cut at one instant: {why}" in cp.stdout
    assert len(items(sim, "volumesnapshot")) == 2
    assert items(sim, "volumegroupsnapshot") == []


def test_dry_run_creates_and_labels_nothing(sim: KubeSim, tmp_path: Path) -> None:
    sim.apply(json.dumps(CLASS))
    cp = create(sim, tmp_path, script(tmp_path, "auto"), BAK_DRY_RUN="true")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert "group: dry run, would label PVC data wal backup-ns.sh/snapshot-group=set-" in cp.stdout
    assert "snapshot: dry run, would create VolumeGroupSnapshot group-" in cp.stdout
    assert items(sim, "volumegroupsnapshot") == [] and items(sim, "volumesnapshot") == []
    assert all(
        "backup-ns.sh/snapshot-group" not in p["metadata"].get("labels", {})
        for p in items(sim, "pvc")
    )


def test_a_foreign_pvc_in_the_group_is_refused(sim: KubeSim, tmp_path: Path) -> None:
    sim.apply(json.dumps(CLASS))
    path = script(tmp_path, "auto")
    assert create(sim, tmp_path, path).returncode == 0
    key = items(sim, "pvc")[0]["metadata"]["labels"]["backup-ns.sh/snapshot-group"]
    sim.kubectl("label", "pvc", "other", "-n", NS, f"backup-ns.sh/snapshot-group={key}", check=True)
    cp = create(sim, tmp_path, path, BAK_VS_RAND="fghij")
    assert cp.returncode == 1
    errors = [line for line in cp.stderr.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1 and errors[0].startswith("ERROR: VolumeGroupSnapshot group-"), cp.stderr
    assert "holds a PVC that is not this run's" in errors[0]
    assert "of PVC other carries backup-ns.sh/snapshot-group=" in errors[0]
    # No member of that group was labelled as a backup.
    labelled = [s for s in items(sim, "volumesnapshot") if s["metadata"].get("labels")]
    assert len(labelled) == 2
