"""The toolbox's delete of one member of a VolumeGroupSnapshot: the snapshot controller
keeps a deleted member (and its data) until the whole group goes, so delete refuses it in
one line naming the group and how to delete it, and changes nothing."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from kubesim.fixture import KubeSim
from tests.script.test_group import CLASS, NS, create, items, script, sim

__all__ = ["sim"]  # the fixture


def test_delete_refuses_one_member_of_a_group(sim: KubeSim, tmp_path: Path) -> None:
    sim.apply(json.dumps(CLASS))
    path = script(tmp_path, "auto")
    cp = create(sim, tmp_path, path)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    (group,) = [g["metadata"]["name"] for g in items(sim, "volumegroupsnapshot")]
    before = {s["metadata"]["name"]: s["metadata"]["resourceVersion"]
              for s in items(sim, "volumesnapshot")}
    member = sorted(before)[0]
    cp = subprocess.run(
        ["bash", str(path), "delete", member, "--yes"],
        env={**sim.env(tmp_path), "NO_COLOR": "1"},
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert cp.returncode != 0
    lines = [line for line in cp.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, cp.stderr
    assert f"VolumeSnapshot {member} is a member of VolumeGroupSnapshot {group}" in lines[0]
    assert f"kubectl -n {NS} delete volumegroupsnapshot {group}" in lines[0]
    after = {s["metadata"]["name"]: s["metadata"]["resourceVersion"]
             for s in items(sim, "volumesnapshot")}
    assert after == before
    assert [g["metadata"]["name"] for g in items(sim, "volumegroupsnapshot")] == [group]
