"""The controller script's clone against the real control plane tier: the real
snapshot-controller binds the new pre-provisioned content, csi-provisioner makes the PVC
in the other namespace from it through our CSI driver (whose directories hold the data:
no kubelet needed to read it), the admission policies are applied.

Who runs it: a platform-team member (a client certificate in a group of
controller.adminGroups) bound to a ClusterRole of exactly the rights clone uses; the
audit log shows each of its requests allowed and nothing else asked for. The same
rights without the platform group are refused by the admission policy, with nothing
left behind.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.realk8s.fixture import RealCluster
from tests.realk8s.render import render
from tests.realk8s.servers import remove_contents
from tests.realk8s.test_toolbox import (
    World,
    _bound,
    _content,
    _live_state,
    _pvc,
    _pvc_obj,
    _snapshot,
    _volume_meta,
    _vs,
    world_manifests,
)

pytestmark = pytest.mark.realk8s

SUFFIX = secrets.token_hex(3)
SRC, DST = f"clsrc-{SUFFIX}", f"cldst-{SUFFIX}"
PLATFORM = f"backupns-platform-{SUFFIX}"
CLONER, OUTSIDER, ROLE = f"cloner-{SUFFIX}", f"outsider-{SUFFIX}", f"backupns-clone-{SUFFIX}"
DATA = "<h1>production rows</h1>\n"

# What clone calls, and nothing else: read the source snapshot, its content and PVC
# (size, class), the target namespace, PVC and snapshot (exist?); create the content,
# the snapshot and the PVC. delete: only to remove its own objects after a failure.
CLONE_RULES = [
    {
        "apiGroups": ["snapshot.storage.k8s.io"],
        "resources": ["volumesnapshots", "volumesnapshotcontents"],
        "verbs": ["get", "create", "delete"],
    },
    {"apiGroups": [""], "resources": ["persistentvolumeclaims"], "verbs": ["get", "create"]},
    {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]},
]


def _config() -> str:
    return f"""\
defaults:
  flock: {{enabled: false}}
  waitUntilReady: {{enabled: true, timeout: 2m}}
namespaces:
  {SRC}: {{pvcs: [data], database: none}}
  {DST}: {{pvcs: [data], database: none}}
controller: {{namespace: backup-ns, adminGroups: ["system:masters", {PLATFORM}]}}
"""


@pytest.fixture(scope="module")
def world(realk8s: RealCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    cluster = realk8s
    tmp = tmp_path_factory.mktemp("clone")
    out = render(tmp / "backupns.yaml", tmp / "out", text=_config())
    for ns in (SRC, DST):
        cluster.create_namespace(ns)
    cluster.kubectl("create", "namespace", "backup-ns")  # the controller's home (may exist)
    docs = [d for d in yaml.safe_load_all((out / "cluster" / "controller.yaml").read_text()) if d]
    cluster.apply(
        yaml.safe_dump_all(
            [d for d in docs if d["kind"] not in ("CronJob", "ConfigMap", "Namespace")]
        )
    )
    cluster.kubectl(
        "apply", "-f", str(out / "cluster" / "namespace-role.yaml"),
        "-f", str(out / "cluster" / "admission-policies.yaml"),
        *[a for ns in (SRC, DST) for a in ("-f", str(world_manifests(out, ns)))],
        check=True,
    )  # fmt: skip
    cluster.apply(
        json.dumps(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": ROLE},
                "rules": CLONE_RULES,
            }
        )
    )
    for user in (CLONER, OUTSIDER):
        cluster.kubectl(
            "create", "clusterrolebinding", f"{ROLE}-{user}", f"--clusterrole={ROLE}",
            f"--user={user}", check=True,
        )  # fmt: skip
    kc = cluster.user_kubeconfig(CLONER, PLATFORM, tmp / "cloner.kubeconfig", "default")
    world = World(cluster, out, tmp, cluster.env(tmp, kubeconfig=kc), CLONER)
    cluster.apply(_pvc(SRC, "data"))
    cluster.wait_for(lambda: _bound(cluster, SRC, "data"), timeout=60)
    world.snapshots[SRC] = _snapshot(world, SRC, "cl0001", DATA)
    yield world
    for user in (CLONER, OUTSIDER):
        cluster.kubectl("delete", "clusterrolebinding", f"{ROLE}-{user}", "--ignore-not-found")
    cluster.kubectl("delete", "clusterrole", ROLE, "--ignore-not-found")
    for ns in (SRC, DST):
        cluster.kubectl("delete", "namespace", ns, "--wait=false", "--ignore-not-found")
    remove_contents(cluster, (SRC, DST))


def _calls(cluster: RealCluster, offset: int, user: str) -> list[tuple[str, str, str]]:
    """(verb, resource, decision) of USER's requests on API objects since OFFSET."""
    return [
        (
            e["verb"],
            e["objectRef"]["resource"],
            e.get("annotations", {}).get("authorization.k8s.io/decision", ""),
        )
        for e in cluster.audit_events(offset)
        if e["user"]["username"] == user and e.get("objectRef", {}).get("resource")
    ]


def _clone_contents(cluster: RealCluster) -> dict[str, Any]:
    items = cluster.get_json("volumesnapshotcontent")["items"]
    return {
        c["metadata"]["name"]: c
        for c in items
        if c["metadata"]["name"].startswith("backup-ns-clone-")
    }


def test_clone_is_a_bound_pvc_with_the_data_and_the_source_unchanged(world: World) -> None:
    cluster, vs = world.cluster, world.snapshots[SRC]
    before = _live_state(world, SRC, vs)
    handle = before[1]["status"]["snapshotHandle"]
    offset = cluster.audit_offset()
    cp = world.run(None, "clone", f"{SRC}/{vs}", "--to-namespace", DST, "--pvc", "copy", "--wait")
    assert cp.returncode == 0 and cp.stderr == "", cp.stdout + cp.stderr
    assert (
        f"clone: created PVC {DST}/copy from the clone of {SRC}/{vs} (1Gi = the size of PVC "
        f"{SRC}/data when the backup was taken, StorageClass backupns-csi, ReadWriteOnce)"
    ) in cp.stdout
    assert f"clone: PVC {DST}/copy is Bound" in cp.stdout

    # The PVC in DST was provisioned by the real csi-provisioner from the backup's handle,
    # with the same data.
    assert _bound(cluster, DST, "copy")
    assert _volume_meta(cluster, DST, "copy")["sourceSnapshot"] == handle
    assert (cluster.volume_dir(DST, "copy") / "index.html").read_text() == DATA
    pvc = _pvc_obj(cluster, DST, "copy")
    assert pvc["metadata"]["labels"] == {"backup-ns.sh/clone-of": SRC}
    assert pvc["spec"]["dataSource"] == {
        "apiGroup": "snapshot.storage.k8s.io",
        "kind": "VolumeSnapshot",
        "name": "copy",
    }
    # The clone: a snapshot in DST bound by the real snapshot-controller to a Retain
    # content with the same handle, labelled clone-of and never backup-ns.sh/type.
    snap = _vs(cluster, DST, "copy")
    assert snap["status"]["readyToUse"] is True
    content = _content(cluster, snap["status"]["boundVolumeSnapshotContentName"])
    assert content["metadata"]["name"].startswith("backup-ns-clone-")
    assert content["spec"]["source"] == {"snapshotHandle": handle}
    assert content["spec"]["deletionPolicy"] == "Retain"
    assert content["spec"]["volumeSnapshotRef"]["uid"] == snap["metadata"]["uid"]
    for obj in (snap, content):
        assert obj["metadata"]["labels"] == {"backup-ns.sh/clone-of": SRC}
        assert obj["metadata"]["annotations"]["backup-ns.sh/cloned-from"] == f"{SRC}/{vs}"
    # The source snapshot, its content (resourceVersion included) and its data: unchanged.
    assert _live_state(world, SRC, vs) == before

    # Least privilege: every request allowed, and exactly the rights of CLONE_RULES but
    # delete (used only to remove its own objects after a failure).
    made = _calls(cluster, offset, CLONER)
    assert [c for c in made if c[2] != "allow"] == [], made
    assert sorted({c[:2] for c in made}) == [
        ("create", "persistentvolumeclaims"),
        ("create", "volumesnapshotcontents"),
        ("create", "volumesnapshots"),
        ("get", "namespaces"),
        ("get", "persistentvolumeclaims"),
        ("get", "volumesnapshotcontents"),
        ("get", "volumesnapshots"),
    ], made


def test_retention_ignores_the_clone(world: World) -> None:
    """The controller's plan, as its ServiceAccount: nothing about the clone (no period
    labels to count, no mark, no sync, no orphan), DST has no backup."""
    cluster = world.cluster
    if _vs(cluster, DST, "copy") is None:
        test_clone_is_a_bound_pvc_with_the_data_and_the_source_unchanged(world)
    clones = _clone_contents(cluster)
    assert clones
    kc = cluster.sa_kubeconfig("backup-ns", "backup-ns-controller", world.tmp / "ctl.kubeconfig")
    ctl_env = cluster.env(world.tmp, kubeconfig=kc)
    cp = world.run(None, "plan", env=ctl_env)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    for needle in (DST, "copy", *clones):
        assert needle not in cp.stdout, (needle, cp.stdout)
    # status: DST has no backup yet; the clone is no "newest ready" of it
    cp = world.run(None, "status", env=ctl_env)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    (row,) = [ln for ln in cp.stdout.splitlines() if ln.startswith(f"{DST}/")]
    assert row.split()[:2] == [f"{DST}/data", "-"] and row.endswith(
        "not deployed (no snapshot yet)"
    ), row
    assert "copy" not in cp.stdout, cp.stdout
    cp = world.run(DST, "list", env=cluster.env(world.tmp))
    assert cp.returncode == 0 and "copy" not in cp.stdout, cp.stdout + cp.stderr


def test_deleting_the_clone_keeps_the_source_data(world: World) -> None:
    """Deleting the clone's snapshot with kubectl (the content is Retain: it stays, the
    data too), or with the namespace script's delete (the content goes, the data stays:
    the source's content holds the handle): the source and its data are as they were."""
    cluster, vs = world.cluster, world.snapshots[SRC]
    if _vs(cluster, DST, "copy") is None:
        test_clone_is_a_bound_pvc_with_the_data_and_the_source_unchanged(world)
    before = _live_state(world, SRC, vs)
    first = _vs(cluster, DST, "copy")["status"]["boundVolumeSnapshotContentName"]
    cluster.kubectl(
        "delete", "volumesnapshot", "copy", "-n", DST, "--wait=true", check=True, timeout=120
    )
    assert _content(cluster, first)["spec"]["deletionPolicy"] == "Retain"
    assert _live_state(world, SRC, vs) == before

    cp = world.run(
        None, "clone", f"{SRC}/{vs}", "--to-namespace", DST, "--pvc", "copy2", env=world.op_env
    )
    assert cp.returncode == 0, cp.stdout + cp.stderr
    second = _vs(cluster, DST, "copy2")["status"]["boundVolumeSnapshotContentName"]
    admin = cluster.env(world.tmp)  # the platform team (system:masters) runs delete
    cp = world.run(DST, "delete", "copy2", "--yes", env=admin)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert "The data stays: another VolumeSnapshotContent holds it." in cp.stdout
    assert _vs(cluster, DST, "copy2") is None and _content(cluster, second) is None
    # The leftover of the kubectl delete goes as an object only (Retain).
    cluster.kubectl("delete", "vsc", first, "--wait=true", check=True, timeout=120)
    assert _live_state(world, SRC, vs) == before
    # The backup still restores, with its data.
    cp = world.run(SRC, "restore-pvc", vs, "--to", "after-clones", "--wait", env=admin)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert (cluster.volume_dir(SRC, "after-clones") / "index.html").read_text() == DATA


def test_clone_outside_the_platform_team_is_refused_by_the_admission_policy(
    world: World, tmp_path: Path
) -> None:
    """The same RBAC rights without a platform group: the content carrying backup-ns.sh/
    keys is refused by the kube-apiserver; one line, nothing left behind."""
    cluster, vs = world.cluster, world.snapshots[SRC]
    kc = cluster.user_kubeconfig(OUTSIDER, "tenants", tmp_path / "outsider.kubeconfig", "default")
    before = sorted(
        c["metadata"]["name"] for c in cluster.get_json("volumesnapshotcontent")["items"]
    )
    cp = world.run(
        None, "clone", f"{SRC}/{vs}", "--to-namespace", DST, "--pvc", "by-outsider",
        env=cluster.env(tmp_path, kubeconfig=kc),
    )  # fmt: skip
    assert cp.returncode == 1 and cp.stdout.count("\n") == 0, cp.stdout + cp.stderr
    (line,) = cp.stderr.splitlines()
    assert line.startswith("ERROR: cannot create VolumeSnapshotContent backup-ns-clone-"), line
    assert f"denied request: backup-ns: {OUTSIDER} may not set or change backup-ns.sh/" in line, (
        line
    )
    assert line.endswith(f"Nothing else was changed; {SRC}/{vs} is unchanged"), line
    after = sorted(
        c["metadata"]["name"] for c in cluster.get_json("volumesnapshotcontent")["items"]
    )
    assert after == before
    assert (
        _vs(cluster, DST, "by-outsider") is None and _pvc_obj(cluster, DST, "by-outsider") is None
    )
