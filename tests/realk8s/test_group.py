"""Group snapshots: a namespace with two PVCs cut in one VolumeGroupSnapshot by the
rendered script, as its ServiceAccount, on the real snapshot stack (snapshot-controller
and csi-snapshotter with CSIVolumeGroupSnapshot on, our driver's GroupController
service) and on kubesim; the members carry the script's labels, both PVCs restore from
them, and the controller's plan and run treat them as any other snapshot.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.realk8s.fixture import RealCluster
from tests.realk8s.render import render
from tests.realk8s.servers import SERVERS, Cluster, bound, create_as, pvc, sa_env
from tests.realk8s.test_controller import Ctl, ctl, ctls, day, ok  # noqa: F401 (fixtures)
from tests.realk8s.test_create import script_calls

GROUP_API = "/apis/groupsnapshot.storage.k8s.io/v1"
GROUP_CLASS = "backupns-group"
DRIVER = "hostpath.csi.k8s.io"


# What the real snapshot-controller v8.7.0 shows for a ready group and its members
# (kubesim must match; the volumesnapshot-bound-protection finalizer, added at a moment
# of the controller's choosing, is not compared).
EXPECTED_GROUP: dict[str, Any] = {
    "vgs_status": ["boundVolumeGroupSnapshotContentName", "creationTime", "readyToUse"],
    "vgs_finalizers": ["groupsnapshot.storage.kubernetes.io/volumegroupsnapshot-bound-protection"],
    "vgs_class_set": True,
    "gcontent_name_is_uid": True,
    "gcontent_spec": [
        "deletionPolicy",
        "driver",
        "source",
        "volumeGroupSnapshotClassName",
        "volumeGroupSnapshotRef",
    ],
    "gcontent_source": ["volumeHandles"],
    "gcontent_status": [
        "creationTime",
        "readyToUse",
        "volumeGroupSnapshotHandle",
        "volumeSnapshotInfoList",
    ],
    "gcontent_info": [
        "creationTime",
        "readyToUse",
        "restoreSize",
        "snapshotHandle",
        "volumeHandle",
    ],
    "gcontent_finalizers": [
        "groupsnapshot.storage.kubernetes.io/volumegroupsnapshotcontent-bound-protection"
    ],
    "member_status": [
        "boundVolumeSnapshotContentName",
        "creationTime",
        "readyToUse",
        "restoreSize",
        "volumeGroupSnapshotName",
    ],
    "member_finalizers": [
        "snapshot.storage.kubernetes.io/volumesnapshot-as-source-protection",
        "snapshot.storage.kubernetes.io/volumesnapshot-in-group-protection",
    ],
    "member_owner": ["apiVersion", "kind", "name", "uid"],
    "content_name": True,
    "content_annotations": ["groupsnapshot.storage.k8s.io/volumeGroupSnapshotHandle"],
    "content_spec": ["deletionPolicy", "driver", "source", "sourceVolumeMode", "volumeSnapshotRef"],
    "content_ref": ["kind", "name", "namespace", "uid"],
    "content_status": [
        "creationTime",
        "readyToUse",
        "restoreSize",
        "snapshotHandle",
        "volumeGroupSnapshotHandle",
    ],
    "content_finalizers": ["snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection"],
}


def _group_shape(cluster: Cluster, ns: str, vgs: dict[str, Any], member: str) -> dict[str, Any]:
    vs = _vs(cluster, ns, member)
    content = cluster.api(
        "/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents/"
        + vs["status"]["boundVolumeSnapshotContentName"]
    )
    gcontent = cluster.api(
        f"{GROUP_API}/volumegroupsnapshotcontents/"
        + vgs["status"]["boundVolumeGroupSnapshotContentName"]
    )
    digest = member.removeprefix("snapshot-")
    return {
        "vgs_status": sorted(vgs["status"]),
        "vgs_finalizers": sorted(vgs["metadata"].get("finalizers", [])),
        "vgs_class_set": bool(vgs["spec"].get("volumeGroupSnapshotClassName")),
        "gcontent_name_is_uid": gcontent["metadata"]["name"]
        == "groupsnapcontent-" + vgs["metadata"]["uid"],
        "gcontent_spec": sorted(gcontent["spec"]),
        "gcontent_source": sorted(gcontent["spec"]["source"]),
        "gcontent_status": sorted(gcontent["status"]),
        "gcontent_info": sorted(gcontent["status"]["volumeSnapshotInfoList"][0]),
        "gcontent_finalizers": sorted(gcontent["metadata"].get("finalizers", [])),
        "member_status": sorted(vs["status"]),
        "member_finalizers": sorted(
            f
            for f in vs["metadata"].get("finalizers", [])
            if f != "snapshot.storage.kubernetes.io/volumesnapshot-bound-protection"
        ),
        "member_owner": sorted(vs["metadata"]["ownerReferences"][0]),
        "member_spec": vs["spec"],
        "content_name": content["metadata"]["name"] == "snapcontent-" + digest,
        "content_annotations": sorted(content["metadata"].get("annotations", {})),
        "content_spec": sorted(content["spec"]),
        "content_ref": sorted(content["spec"]["volumeSnapshotRef"]),
        "content_status": sorted(content["status"]),
        "content_finalizers": sorted(content["metadata"].get("finalizers", [])),
    }


def _config(ns: str, mode: str = "always") -> str:
    return f"""\
defaults:
  lock: {{mode: none}}
  waitUntilReady: {{enabled: true, timeout: 2m}}
  groupSnapshot: {mode}
namespaces:
  {ns}: {{pvcs: [data, wal], database: none}}
controller: {{namespace: backup-ns}}
"""


def _vs(cluster: Cluster, ns: str, name: str) -> Any:
    return cluster.api(f"/apis/snapshot.storage.k8s.io/v1/namespaces/{ns}/volumesnapshots/{name}")


def ensure_group_class(cluster: Cluster) -> None:
    """The real tier has a default VolumeGroupSnapshotClass; kubesim gets one here."""
    if isinstance(cluster, RealCluster):
        return
    cluster.apply(
        json.dumps(
            {
                "apiVersion": "groupsnapshot.storage.k8s.io/v1",
                "kind": "VolumeGroupSnapshotClass",
                "metadata": {
                    "name": GROUP_CLASS,
                    "annotations": {"groupsnapshot.storage.kubernetes.io/is-default-class": "true"},
                },
                "driver": DRIVER,
                "deletionPolicy": "Retain",
            }
        )
    )


def setup_namespace(cluster: Cluster, tmp_path: Path, mode: str = "always") -> tuple[str, Path]:
    ns = "grp-" + secrets.token_hex(3)
    out = render(tmp_path / "backupns.yaml", tmp_path / "out", text=_config(ns, mode))
    cluster.kubectl("create", "namespace", ns, check=True)
    cluster.kubectl(
        "apply",
        "-f",
        str(out / "cluster" / "namespace-role.yaml"),
        "-f",
        str(out / "namespaces" / ns / "manifests.yaml"),
        check=True,
    )
    for name in ("data", "wal"):
        cluster.apply(pvc(ns, name))
    for name in ("data", "wal"):
        cluster.wait_for(lambda n=name: bound(cluster, ns, n), timeout=60)  # type: ignore[misc]
        (cluster.volume_dir(ns, name) / f"{name}.txt").write_text(f"{name} at the cut\n")
    return ns, out


@pytest.mark.parametrize("server", SERVERS)
def test_group_create_restore(server: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    cluster: Cluster = request.getfixturevalue(server)
    ensure_group_class(cluster)
    ns, out = setup_namespace(cluster, tmp_path)
    offset = cluster.audit_offset() if isinstance(cluster, RealCluster) else 0
    stdout = create_as(sa_env(cluster, ns, tmp_path), out, ns, BAK_VS_RAND="gr0001")
    assert "labelled PVC data wal backup-ns.sh/snapshot-group=set-" in stdout, stdout
    assert "not cut at one instant" not in stdout, stdout
    group = re.search(r"created VolumeGroupSnapshot (\S+) of PVC data wal", stdout)
    assert group, stdout
    assert group.group(1).startswith("group-")
    members = dict(
        (m.group(2), m.group(1))
        for m in re.finditer(r"result: VolumeSnapshot (\S+) of PVC (\S+): readyToUse=true", stdout)
    )
    assert sorted(members) == ["data", "wal"], stdout

    if isinstance(cluster, RealCluster):  # every call allowed, and exactly these
        calls = {c for c in script_calls(cluster, offset, ns) if "nonResourceURL" not in c[1]}
        assert calls == {
            ("create", "events", "", ns),
            ("get", "persistentvolumeclaims", "", ns),
            ("patch", "persistentvolumeclaims", "", ns),  # the group label
            ("list", "volumegroupsnapshotclasses", "", ""),
            ("create", "volumegroupsnapshots", "", ns),
            ("get", "volumegroupsnapshots", "", ns),
            ("list", "volumesnapshots", "", ns),
            ("watch", "volumesnapshots", "", ns),
            ("get", "volumesnapshots", "", ns),  # kubectl patch reads first
            ("patch", "volumesnapshots", "", ns),  # the members' labels
        }, calls

    vgs = cluster.api(f"{GROUP_API}/namespaces/{ns}/volumegroupsnapshots/{group.group(1)}")
    assert vgs["status"]["readyToUse"] is True
    shape = _group_shape(cluster, ns, vgs, members["data"])
    assert shape == {**EXPECTED_GROUP, "member_spec": shape["member_spec"]}, shape
    assert shape["member_spec"]["source"] == {"persistentVolumeClaimName": "data"}
    for pvc_name, name in members.items():
        assert name.startswith("snapshot-")
        vs = _vs(cluster, ns, name)
        labels = vs["metadata"]["labels"]
        assert labels["backup-ns.sh/pvc"] == pvc_name
        assert labels["backup-ns.sh/group"] == group.group(1)
        assert labels["backup-ns.sh/type"] == "adhoc"
        assert "backup-ns.sh/daily" in labels
        annotations = vs["metadata"]["annotations"]
        assert (
            annotations["backup-ns.sh/cut-at"]
            == vgs["metadata"]["annotations"]["backup-ns.sh/cut-at"]
        )
        assert "backup-ns.sh/env-config" in annotations
        assert vs["status"]["volumeGroupSnapshotName"] == group.group(1)
        assert [r["kind"] for r in vs["metadata"]["ownerReferences"]] == ["VolumeGroupSnapshot"]

    # Both PVCs restore from their members, with the data of the cut.
    env = cluster.env(tmp_path)
    for pvc_name, name in members.items():
        cp = subprocess.run(
            [
                "bash",
                str(out / "namespaces" / ns / "backup-ns.sh"),
                "restore-pvc",
                name,
                "--to",
                f"{pvc_name}-restored",
                "--wait",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert cp.returncode == 0, cp.stdout + cp.stderr
        cluster.wait_for(lambda n=pvc_name: bound(cluster, ns, f"{n}-restored"), timeout=60)  # type: ignore[misc]
        restored = cluster.volume_dir(ns, f"{pvc_name}-restored") / f"{pvc_name}.txt"
        assert restored.read_text() == f"{pvc_name} at the cut\n"


# -- retention: a group goes whole ------------------------------------------------------------
def _members(cluster: Cluster, ns: str, group: str) -> dict[str, str]:
    """PVC -> member VolumeSnapshot of group."""
    items = cluster.get_json("volumesnapshot", "-n", ns)["items"]
    return {
        vs["metadata"]["labels"]["backup-ns.sh/pvc"]: vs["metadata"]["name"]
        for vs in items
        if vs["metadata"].get("labels", {}).get("backup-ns.sh/group") == group
    }


def _group_of(stdout: str) -> str:
    m = re.search(r"created VolumeGroupSnapshot (\S+) of PVC", stdout)
    assert m, stdout
    return m.group(1)


def test_controller_expires_a_group_whole(ctl: Ctl, tmp_path: Path) -> None:  # noqa: F811
    cluster = ctl.cluster
    ensure_group_class(cluster)
    ns, out = setup_namespace(cluster, tmp_path)
    ctl.tenants.append(ns)
    env = sa_env(cluster, ns, tmp_path)
    groups = [
        _group_of(create_as(env, out, ns, BAK_VS_RAND=f"gr000{i}", BAK_LABEL_VS_TYPE="cronjob"))
        for i in range(3)
    ]
    members = [_members(cluster, ns, g) for g in groups]
    assert all(sorted(m) == ["data", "wal"] for m in members), members
    # The oldest group expired whole; of the second, one member only.
    for name in [*members[0].values(), members[1]["data"]]:
        cluster.kubectl(
            "label", "volumesnapshot", name, "-n", ns, "backup-ns.sh/delete-after=2000-01-01",
            check=True,
        )  # fmt: skip

    plan = ok(ctl.run("plan", now=day()))
    today = f"{day():%Y-%m-%d}"
    mine = sorted(
        line for line in plan.lines() if f" {ns}/" in line and line.startswith(("delete ", "keep "))
    )
    content = {name: name.replace("snapshot-", "snapcontent-", 1) for name in members[0].values()}
    assert mine == sorted(
        [
            *(
                f"delete {ns}/{name} : delete-after 2000-01-01 is before today {today};"
                f" content {content[name]} deletionPolicy Retain -> Delete first"
                for name in members[0].values()
            ),
            f"delete volumegroupsnapshot {ns}/{groups[0]} : all 2 of its members are deleted;"
            " its content deletionPolicy -> Delete first (the members' data goes with it)",
            f"keep {ns}/{members[1]['data']} : member of VolumeGroupSnapshot {groups[1]}, whose"
            f" member {members[1]['wal']} stays (a group goes whole) (not deleted)",
        ]
    ), plan.stdout
    assert plan.writes() == [] or all(w[1] == "leases" for w in plan.writes()), plan.writes()

    run = ok(ctl.run("run", now=day()))
    assert ("delete", "volumegroupsnapshots", ns, groups[0]) in run.writes(), run.writes()
    vgs_api = f"{GROUP_API}/namespaces/{ns}/volumegroupsnapshots"
    cluster.wait_for(lambda: cluster.api(f"{vgs_api}/{groups[0]}") is None, timeout=60)
    cluster.wait_for(lambda: _members(cluster, ns, groups[0]) == {}, timeout=60)
    assert _members(cluster, ns, groups[1]) == members[1]
    assert _members(cluster, ns, groups[2]) == members[2]
    assert cluster.api(f"{vgs_api}/{groups[1]}") is not None


@pytest.mark.parametrize("server", SERVERS)
def test_a_member_goes_only_with_its_group(
    server: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Deleting one member alone leaves it being deleted while the group exists (the
    snapshot controller's in-group finalizer); deleting the group deletes the members."""
    cluster: Cluster = request.getfixturevalue(server)
    ensure_group_class(cluster)
    ns, out = setup_namespace(cluster, tmp_path)
    group = _group_of(create_as(sa_env(cluster, ns, tmp_path), out, ns, BAK_VS_RAND="gr0009"))
    members = _members(cluster, ns, group)
    cluster.kubectl(
        "delete", "volumesnapshot", members["data"], "-n", ns, "--wait=false", check=True
    )
    vs = cluster.wait_for(
        lambda: (
            (_vs(cluster, ns, members["data"]) or {}).get("metadata", {}).get("deletionTimestamp")
            and _vs(cluster, ns, members["data"])
        )
    )
    assert (
        "snapshot.storage.kubernetes.io/volumesnapshot-in-group-protection"
        in (vs["metadata"]["finalizers"])
    )
    assert _vs(cluster, ns, members["data"]) is not None  # still there: the group holds it
    cluster.kubectl("delete", "volumegroupsnapshot", group, "-n", ns, "--wait=false", check=True)
    vgs_api = f"{GROUP_API}/namespaces/{ns}/volumegroupsnapshots/{group}"
    cluster.wait_for(lambda: cluster.api(vgs_api) is None, timeout=120)
    cluster.wait_for(
        lambda: all(_vs(cluster, ns, name) is None for name in members.values()), timeout=120
    )
