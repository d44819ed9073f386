"""Our CSI driver (tests/realk8s/csidriver) against the upstream CSI conformance
suite, csi-sanity (github.com/kubernetes-csi/csi-test/v5).

Nothing is focused out: every spec runs. csi-sanity skips the specs of
capabilities a driver does not advertise; each skip must carry one of the
reasons below (a capability the driver deliberately lacks), so a new or
unexpected skip fails the test instead of passing silently.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.realk8s.fixture import binaries

pytestmark = pytest.mark.realk8s

# Skip reasons csi-sanity prints for capabilities the driver does not have, and why.
EXPECTED_SKIPS = {
    # Controller: no attach step (a directory needs none), no listing of volumes, no
    # capacity tracking, no resize, no VolumeAttributesClass, no health, no GetSnapshot
    # (ListSnapshots covers the snapshotter), no topology. (Group snapshots: served.)
    "ControllerPublishVolume not supported",
    "ControllerUnpublishVolume not supported",
    "Controller Publish, UnpublishVolume not supported",
    "ListVolumes not supported",
    "GetCapacity not supported",
    "ControllerExpandVolume not supported",
    "ControllerModifyVolume not supported",
    "Modify volume not supported",
    "Modify Volume not supported",
    "ControllerGetVolumeHealth not supported",
    "ControllerListVolumeHealth not supported",
    "GetSnapshot not supported",
    "SNAPSHOT_ACCESSIBILITY_CONSTRAINTS not supported",
    # Node: publish is a bind mount, with no staging step, stats, expansion or health.
    "NodeStageVolume not supported",
    "NodeUnstageVolume not supported",
    "NodeGetVolume not supported",
    "NodeExpandVolume not supported",
    "NodeGetVolumeHealth not supported",
    "NodeGetStorageHealth not supported",
    "Service does not have single node multi writer capability",
}


def test_csi_sanity_passes_with_only_documented_skips(tmp_path: Path) -> None:
    bins = binaries("csi-sanity", "backupns-csi")
    sock = tmp_path / "csi.sock"
    with open(tmp_path / "driver.log", "wb") as log:
        driver = subprocess.Popen(
            [
                str(bins["backupns-csi"]),
                f"--endpoint=unix://{sock}",
                f"--state-dir={tmp_path / 'state'}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 30
        while not sock.exists():
            assert driver.poll() is None, (tmp_path / "driver.log").read_text()
            assert time.monotonic() < deadline, "the driver did not create its socket"
            time.sleep(0.05)
        report = tmp_path / "report.json"
        # A private mount namespace: the Node specs bind-mount volumes under tmp_path.
        cp = subprocess.run(
            [
                "unshare",
                "--mount",
                "--propagation",
                "private",
                str(bins["csi-sanity"]),
                f"--csi.endpoint={sock}",
                f"--csi.mountdir={tmp_path / 'mnt'}",
                f"--csi.stagingdir={tmp_path / 'staging'}",
                f"--ginkgo.json-report={report}",
                "--ginkgo.no-color",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    finally:
        driver.terminate()
        driver.wait(10)
    assert cp.returncode == 0, cp.stdout[-6000:] + cp.stderr[-3000:]
    specs = json.loads(report.read_text())[0]["SpecReports"]
    states = Counter(s["State"] for s in specs)
    skips = {s.get("Failure", {}).get("Message", "") for s in specs if s["State"] == "skipped"}
    print(f"csi-sanity: {dict(states)}")
    assert states["failed"] == 0
    assert states["passed"] >= 53, states
    assert set(states) <= {"passed", "skipped", "pending"}, states
    assert skips <= EXPECTED_SKIPS, f"unexpected skips: {sorted(skips - EXPECTED_SKIPS)}"
    # The snapshot specs the tier relies on really ran.
    ran = {
        " ".join([*s["ContainerHierarchyTexts"], s["LeafNodeText"]])
        for s in specs
        if s["State"] == "passed"
    }
    for needed in (
        "CreateVolume should create volume from an existing source snapshot",
        "CreateSnapshot [Controller Server] should succeed when requesting to create "
        "a snapshot with already existing name and same source volume ID",
        "ListSnapshots [Controller Server] should return next token when a limited "
        "number of entries are requested",
        "NodeUnpublishVolume should remove target path",
        "GroupControllerGetCapabilities should return appropriate capabilities",
        "CreateVolumeGroupSnapshot should fail when no name is provided",
        "GetVolumeGroupSnapshot should fail when an invalid volume id is used",
        "DeleteVolumeGroupSnapshot should succeed when an invalid volume id is used",
    ):
        assert any(needed in r for r in ran), needed
