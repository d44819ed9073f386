"""verify.countIn on kubesim with the real kubectl: create counts the PVC's regular files
and bytes in the pod of the named workload (kubectl exec; kubesim runs it as a local
process with the pod's volumes) after the pre hooks, right before the cut, and records
them on the snapshot; verify compares the restored volume with a count the pre hooks
quiesced, exactly, and shows a live count without comparing it."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubesim.fixture import KubeSim
from tests import deployed
from tests.script import drillkit as dk

KUBESIM_ARGS = ["--snapshot-ready-delay", "0"]
QUIET, LIVE, ELSEWHERE = "vc-quiet", "vc-live", "vc-elsewhere"
COUNT = "backup-ns.sh/volume-count"
SITE = "/srv/www"


def _web(ns: str, name: str, pvc: str) -> dict[str, Any]:
    """A Deployment whose second container mounts PVC at SITE (kubesim: Running at once,
    its exec a local process with the pod's volumes); its first mounts nothing."""
    web = deployed.web_workload(ns, name, pvc, SITE)
    sidecar = {"name": "sidecar", "image": "docker.io/library/busybox:latest"}
    web["spec"]["template"]["spec"]["containers"].insert(0, sidecar)
    return web


CONFIG: dict[str, Any] = {
    "defaults": {"timeZone": "UTC", "lock": {"mode": "none"},
                 "waitUntilReady": {"enabled": True, "timeout": "1m"}},
    "namespaces": {
        QUIET: {"pvcs": ["www"], "database": "none", "verify": {"countIn": "deployment/web"},
                "hooks": {"pre": [{"exec": "deployment/web", "container": "nginx",
                                   "command": ["sync"]}]}},
        LIVE: {"pvcs": ["www"], "database": "none", "verify": {"countIn": "deployment/web"}},
        ELSEWHERE: {"pvcs": ["www"], "database": "none",
                    "verify": {"countIn": "deployment/logs"}},
    },
    "controller": {"namespace": "backup-ns"},
}  # fmt: skip


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return dk.render(tmp_path_factory.mktemp("volcount"), CONFIG)


@pytest.fixture(scope="module")
def seeded(kubesim: KubeSim) -> Iterator[KubeSim]:
    deployed.apply_objects(kubesim, deployed.volumes({QUIET: ["www"], LIVE: ["www"],
                                                      ELSEWHERE: ["www", "logs"]}))  # fmt: skip
    deployed.apply_objects(kubesim, [_web(QUIET, "web", "www"), _web(LIVE, "web", "www"),
                                     _web(ELSEWHERE, "logs", "logs")])  # fmt: skip
    for ns in (QUIET, LIVE, ELSEWHERE):
        www = kubesim.volume_dir(ns, "www")
        (www / "site").mkdir(parents=True, exist_ok=True)
        (www / "site" / "index.html").write_text("hello\n")
        (www / "robots.txt").write_text("x" * 100)
        (www / "lost+found").mkdir(exist_ok=True)  # left out on both sides
        (www / "lost+found" / "orphan").write_text("y" * 50)
        (www / "link").symlink_to("robots.txt")  # not a regular file
    yield kubesim


def _create(sim: KubeSim, out: Path, ns: str, tmp: Path, rand: str) -> tuple[dk.Run, str]:
    got = dk.script(out, ns, "create", sim=sim, tmp=tmp, BAK_VS_RAND=rand)
    found = re.search(r"created (www-\S+)", got.out)
    return got, found.group(1) if found else ""


def _verify(sim: KubeSim, out: Path, ns: str, name: str, tmp: Path) -> tuple[dk.Run, str]:
    got = dk.script(out, ns, "verify", name, sim=sim, tmp=tmp)
    assert dk.leftovers(sim, ns) == []
    return got, dk.annotations(sim, ns, name).get("backup-ns.sh/verified-result", "")


def test_a_quiesced_count_is_recorded_and_a_changed_volume_fails_the_drill(
    seeded: KubeSim, out: Path, tmp_path: Path
) -> None:
    sim = seeded
    got, name = _create(sim, out, QUIET, tmp_path, "q00001")
    assert got.code == 0 and name, got.out + got.err
    assert dk.annotations(sim, QUIET, name)[COUNT] == "files=2 bytes=106 quiesced=true"
    assert re.search(r"volume count: PVC www: 2 files, 106 bytes \(pod web-\S+ container nginx;"
                     r" quiesced by the pre hooks", got.out), got.out  # fmt: skip
    # the count runs after the pre hook, before the snapshot is created
    lines = got.out.splitlines()
    steps = ("hooks: pre hook 1/1 done", "volume count: PVC www", "snapshot: created")
    at = [next(i for i, line in enumerate(lines) if step in line) for step in steps]
    assert at == sorted(at), at

    got, result = _verify(sim, out, QUIET, name, tmp_path)
    assert got.code == 0, got.out + got.err
    assert re.fullmatch(r"ok: files=2 bytes=106 recorded=same restore=\d+s", result), result

    # the snapshot loses a file: the restored volume is not what the backup counted
    (dk.snapshot_dir(sim, QUIET, name) / "robots.txt").unlink()
    got, result = _verify(sim, out, QUIET, name, tmp_path)
    assert got.code == 1, got.out + got.err
    assert result == (
        "failed: count: the restored volume holds 1 files and 6 bytes, the backup counted"
        " 2 files and 106 bytes under its pre hooks"
    ), result
    assert len(got.err.splitlines()) == 1, got.err
    assert dk.annotations(sim, QUIET, name)["backup-ns.sh/verified-ok"] == "false"


def test_a_snapshot_of_another_volume_fails_against_the_record(
    seeded: KubeSim, out: Path, tmp_path: Path
) -> None:
    """Another volume's data in the snapshot (same file count, other sizes) fails; an emptied
    one fails before any comparison."""
    sim = seeded
    got, name = _create(sim, out, QUIET, tmp_path, "q00002")
    assert got.code == 0 and name, got.out + got.err
    snap = dk.snapshot_dir(sim, QUIET, name)
    (snap / "robots.txt").write_text("z" * 99)  # as if the snapshot were of another volume
    got, result = _verify(sim, out, QUIET, name, tmp_path)
    assert got.code == 1, got.out + got.err
    assert result.startswith("failed: count: the restored volume holds 2 files and 105 bytes,"), (
        result
    )
    for entry in snap.iterdir():
        shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    got, result = _verify(sim, out, QUIET, name, tmp_path)
    assert got.code == 1, got.out + got.err
    assert result == "failed: check: the restored volume is empty", result


def test_a_live_count_is_shown_not_compared(seeded: KubeSim, out: Path, tmp_path: Path) -> None:
    """No pre hook quiesces the volume: the count is recorded as live and a volume that
    changed after it still passes (no false alarm), the record shown beside the figures."""
    sim = seeded
    got, name = _create(sim, out, LIVE, tmp_path, "l00001")
    assert got.code == 0 and name, got.out + got.err
    assert dk.annotations(sim, LIVE, name)[COUNT] == "files=2 bytes=106 quiesced=false"
    assert "live, no pre hook quiesced it: recorded, not compared" in got.out, got.out
    (dk.snapshot_dir(sim, LIVE, name) / "new.txt").write_text("1234")
    got, result = _verify(sim, out, LIVE, name, tmp_path)
    assert got.code == 0, got.out + got.err
    assert re.fullmatch(r"ok: files=3 bytes=110 recorded-live=2/106 restore=\d+s", result), result


def test_a_workload_that_mounts_none_of_the_pvcs_stops_the_run_before_any_snapshot(
    seeded: KubeSim, out: Path, tmp_path: Path
) -> None:
    sim = seeded
    got, name = _create(sim, out, ELSEWHERE, tmp_path, "e00001")
    assert got.code == 1 and not name, got.out + got.err
    (line,) = got.err.splitlines()
    want = (r"ERROR: volume count: pod logs-\S+ mounts none of PVC www whole in namespace"
            r" vc-elsewhere: PVC www is not mounted\. Name in verify\.countIn .*")  # fmt: skip
    assert re.fullmatch(want, line), line
    assert deployed.snapshots(sim, ELSEWHERE) == []
