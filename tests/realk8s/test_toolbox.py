"""The restore toolbox against the real control plane tier: restore-pvc, delete and
the controller script's list-contents / rebind with the real snapshot-controller,
csi-snapshotter, csi-provisioner and our CSI driver; the helper pods of verify and
dump-download admitted by real Pod Security admission (`restricted`).

Who runs what, as the generated RBAC says: the toolbox runs "with the operator's own
kubectl context" (_toolbox.sh.j2, _contents.sh.j2: "cluster-admin-like"); the
namespace's ServiceAccount may create snapshots but no PVC, pod or delete
(namespace-role.yaml: "Not granted: ... delete of anything"), unless verify.afterBackup
binds ClusterRole backup-ns-verify (scratch PVC and helper pod). So the operator here is
a client certificate in kubeadm's admin group kubeadm:cluster-admins, bound to
cluster-admin (audited, unlike the tier's system:masters certificate: the audit log
shows every call and its Pod Security verdict; a platform group of the admission
policies, which stay applied once another test applied out/); the
namespace ServiceAccount is shown to be refused restore-pvc and to run the verify drill
of verify.afterBackup. The controller's `sync` (as the controller's ServiceAccount)
labels the contents that rebind relies on. No kubelet: pods stay Pending, so the helper
pod commands are run until they give up waiting for the pod (BAK_TOOLBOX_TIMEOUT).
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.realk8s.fixture import RealCluster
from tests.realk8s.render import render
from tests.realk8s.servers import remove_contents

pytestmark = pytest.mark.realk8s

VS_API = "/apis/snapshot.storage.k8s.io/v1"
PSA = "pod-security.kubernetes.io"
SUFFIX = secrets.token_hex(3)
SRC, DST, GONE, PSA_NS, VAB = (f"tb{k}-{SUFFIX}" for k in ("src", "dst", "gone", "psa", "vab"))
OPS_NS = f"tbops-{SUFFIX}"
RESTRICTED = {f"{PSA}/{mode}": "restricted" for mode in ("enforce", "warn", "audit")}


@dataclass
class World:
    cluster: RealCluster
    out: Path
    tmp: Path
    op_env: dict[str, str]
    operator: str  # the audit log's username of the operator
    snapshots: dict[str, str] = field(default_factory=dict)  # namespace -> a ready snapshot

    def script(self, ns: str) -> Path:
        return self.out / "namespaces" / ns / "backup-ns.sh"

    def run(
        self, ns: str | None, *args: str, env: dict[str, str] | None = None, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        """A namespace's backup-ns.sh (ns) or the controller script (None), stdin not a
        terminal, as the operator unless env says otherwise."""
        path = self.script(ns) if ns else self.out / "controller" / "backup-ns-controller.sh"
        return subprocess.run(
            ["bash", str(path), *args],
            env={**(env or self.op_env), "TMPDIR": str(self.tmp), "NO_COLOR": "1", **extra},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )


def _config() -> str:
    return f"""\
defaults:
  flock: {{enabled: false}}
  waitUntilReady: {{enabled: true, timeout: 2m}}
namespaces:
  {SRC}: {{pvcs: [data], database: none}}
  {DST}: {{pvcs: [data], database: none}}
  {GONE}: {{pvcs: [data], database: none}}
  {PSA_NS}:
    pvcs: [data]
    database:
      postgres:
        exec: deployment/db
        container: postgres
        dumpFile: /var/lib/postgresql/data/dump.sql.gz
  {VAB}: {{pvcs: [data], database: none, verify: {{afterBackup: true, timeout: 5s}}}}
controller: {{namespace: backup-ns}}
"""


def _pvc(ns: str, name: str, size: str = "1Gi") -> str:
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": ns},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": size}},
            },
        }
    )


def _bound(cluster: RealCluster, ns: str, pvc: str) -> bool:
    obj = cluster.api(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/{pvc}")
    return bool(obj and obj.get("status", {}).get("phase") == "Bound")


def _vs(cluster: RealCluster, ns: str, name: str) -> Any:
    return cluster.api(f"{VS_API}/namespaces/{ns}/volumesnapshots/{name}")


def _content(cluster: RealCluster, name: str) -> Any:
    return cluster.api(f"{VS_API}/volumesnapshotcontents/{name}")


def _pvc_obj(cluster: RealCluster, ns: str, name: str) -> Any:
    return cluster.api(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/{name}")


def _volume_meta(cluster: RealCluster, ns: str, pvc: str) -> dict[str, Any]:
    """What our CSI driver recorded for the volume behind a bound PVC (its meta.json:
    capacityBytes, sourceSnapshot = the CSI snapshot id it was created from)."""
    meta = cluster.volume_dir(ns, pvc).parent / "meta.json"
    return dict(json.loads(meta.read_text()))


def _one_error_line(cp: subprocess.CompletedProcess[str], needle: str) -> None:
    assert cp.returncode != 0, cp.stdout + cp.stderr
    errors = [ln for ln in cp.stderr.splitlines() if ln.startswith("ERROR:")]
    assert len(errors) == 1 and needle in errors[0], cp.stderr


def _snapshot(world: World, ns: str, rand: str, text: str | None) -> str:
    """`backup-ns.sh create` of PVC data in ns as the namespace's ServiceAccount (what the
    CronJob does); text: a file written into the volume first. The new snapshot's name."""
    cluster = world.cluster
    if text is not None:
        (cluster.volume_dir(ns, "data") / "index.html").write_text(text)
    kc = cluster.sa_kubeconfig(ns, "backup-ns", world.tmp / f"sa-{ns}.kubeconfig")
    cp = world.run(ns, "create", env=cluster.env(world.tmp, kubeconfig=kc), BAK_VS_RAND=rand)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    m = re.search(r"result: VolumeSnapshot (\S+) of PVC data: readyToUse=true", cp.stdout)
    assert m, cp.stdout
    return m.group(1)


def world_manifests(out: Path, ns: str) -> Path:
    return out / "namespaces" / ns / "manifests.yaml"


@pytest.fixture(scope="module")
def world(realk8s: RealCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    cluster = realk8s
    tmp = tmp_path_factory.mktemp("toolbox")
    out = render(tmp / "backupns.yaml", tmp / "out", text=_config())
    for ns in (SRC, DST, VAB):
        cluster.create_namespace(ns)
    cluster.create_namespace(PSA_NS, labels=RESTRICTED)
    cluster.create_namespace(OPS_NS)
    cluster.kubectl("create", "namespace", "backup-ns")  # the controller's home (may exist)
    # The controller's ServiceAccount and RBAC, not its CronJobs (no pods wanted here).
    docs = [d for d in yaml.safe_load_all((out / "cluster" / "controller.yaml").read_text()) if d]
    rbac = [d for d in docs if d["kind"] not in ("CronJob", "ConfigMap", "Namespace")]
    cluster.apply(yaml.safe_dump_all(rbac))
    cluster.kubectl(
        "apply",
        "-f",
        str(out / "cluster" / "namespace-role.yaml"),
        *[a for ns in (SRC, DST, PSA_NS, VAB) for a in ("-f", str(world_manifests(out, ns)))],
        check=True,
    )
    # The operator: an audited identity with a cluster-admin binding, in a platform group
    # of the admission policies (kubeadm's admin.conf group), as a platform team is.
    cluster.kubectl(
        "create",
        "clusterrolebinding",
        f"backupns-operator-{SUFFIX}",
        "--clusterrole=cluster-admin",
        "--group=kubeadm:cluster-admins",
        check=True,
    )
    op_kc = cluster.user_kubeconfig(
        f"operator-{SUFFIX}", "kubeadm:cluster-admins", tmp / "operator.kubeconfig", "default"
    )
    world = World(cluster, out, tmp, cluster.env(tmp, kubeconfig=op_kc), f"operator-{SUFFIX}")
    for ns in (SRC, PSA_NS, VAB):
        cluster.apply(_pvc(ns, "data"))
    for ns in (SRC, PSA_NS, VAB):
        cluster.wait_for(lambda ns=ns: _bound(cluster, ns, "data"), timeout=60)
    world.snapshots[SRC] = _snapshot(world, SRC, "tb0001", "<h1>restore me</h1>\n")
    yield world
    cluster.kubectl(
        "delete", "clusterrolebinding", f"backupns-operator-{SUFFIX}", "--ignore-not-found"
    )
    mine = (SRC, DST, GONE, PSA_NS, VAB, OPS_NS)
    for ns in mine:
        cluster.kubectl("delete", "namespace", ns, "--wait=false", "--ignore-not-found")
    remove_contents(cluster, mine)


# -- restore-pvc ----------------------------------------------------------------------


def test_restore_pvc_is_provisioned_from_the_snapshot(world: World) -> None:
    """Default size: restoreSize, or the source PVC's request when larger (our driver
    reports the bytes held, as a CSI size_bytes "MUST NOT be less than" guidance)."""
    cluster, vs = world.cluster, world.snapshots[SRC]
    snap = _vs(cluster, SRC, vs)
    content = _content(cluster, snap["status"]["boundVolumeSnapshotContentName"])
    handle = content["status"]["snapshotHandle"]
    assert snap["status"]["restoreSize"] == str(len("<h1>restore me</h1>\n"))

    cp = world.run(SRC, "restore-pvc", vs, "--to", "restored", "--wait")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert cp.stderr == "", cp.stderr
    assert (
        f"created PVC restored from VolumeSnapshot {vs} (1Gi = the request of source PVC "
        f"data; restoreSize {snap['status']['restoreSize']}, StorageClass backupns-csi, "
        "ReadWriteOnce)"
    ) in cp.stdout
    assert "PVC restored is Bound" in cp.stdout
    pvc = _pvc_obj(cluster, SRC, "restored")
    assert pvc["spec"]["dataSource"] == {
        "apiGroup": "snapshot.storage.k8s.io",
        "kind": "VolumeSnapshot",
        "name": vs,
    }
    assert pvc["spec"]["resources"]["requests"]["storage"] == "1Gi"
    assert pvc["metadata"]["annotations"]["backup-ns.sh/restored-from"] == vs
    pv = cluster.get_json("pv", pvc["spec"]["volumeName"])
    assert pv["spec"]["claimRef"]["name"] == "restored" and pv["spec"]["capacity"] == {
        "storage": "1Gi"
    }
    # The driver created the volume from exactly that snapshot, with the data in it.
    assert _volume_meta(cluster, SRC, "restored") == {
        "name": pv["metadata"]["name"],
        "capacityBytes": 1024**3,
        "sourceSnapshot": handle,
    }
    assert (cluster.volume_dir(SRC, "restored") / "index.html").read_text() == (
        "<h1>restore me</h1>\n"
    )


def test_restore_pvc_sizes_restore_size_and_a_larger_size(world: World) -> None:
    cluster, vs = world.cluster, world.snapshots[SRC]
    restore_size = _vs(cluster, SRC, vs)["status"]["restoreSize"]
    # A source PVC that is gone: the size it had when the snapshot was cut (recorded by
    # create as backup-ns.sh/pvc-size), which is larger than the driver's restoreSize.
    cluster.kubectl("delete", "pvc", "data", "-n", SRC, "--wait=true", check=True)
    try:
        cp = world.run(SRC, "restore-pvc", vs, "--to", "exact", "--wait")
        assert cp.returncode == 0, cp.stdout + cp.stderr
        assert (
            f"created PVC exact from VolumeSnapshot {vs} (1Gi = the size of PVC data when the"
            f" snapshot was taken (backup-ns.sh/pvc-size); restoreSize {restore_size},"
            " ReadWriteOnce)"
        ) in cp.stdout
        assert _volume_meta(cluster, SRC, "exact")["capacityBytes"] == 1024**3
    finally:
        cluster.apply(_pvc(SRC, "data"))
        cluster.wait_for(lambda: _bound(cluster, SRC, "data"), timeout=60)

    cp = world.run(SRC, "restore-pvc", vs, "--to", "bigger", "--size", "3Gi", "--wait")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert f"created PVC bigger from VolumeSnapshot {vs} (3Gi, StorageClass" in cp.stdout
    assert _pvc_obj(cluster, SRC, "bigger")["status"]["capacity"] == {"storage": "3Gi"}
    meta = _volume_meta(cluster, SRC, "bigger")
    assert meta["capacityBytes"] == 3 * 1024**3 and meta["sourceSnapshot"].startswith("snap-")
    assert (cluster.volume_dir(SRC, "bigger") / "index.html").exists()

    cp = world.run(SRC, "restore-pvc", vs, "--to", "smaller", "--size", "1")
    _one_error_line(cp, f"--size 1 is too small in namespace {SRC}: snapshot {vs} needs at least")
    assert _pvc_obj(cluster, SRC, "smaller") is None


def test_restore_pvc_without_restore_size(world: World) -> None:
    """A driver may report no size (CSI size_bytes 0: ours for an empty volume), so the
    real snapshot has no status.restoreSize: the source PVC's request is used; once that
    PVC is gone, restore-pvc asks for --size in one line."""
    cluster = world.cluster
    cluster.apply(_pvc(SRC, "empty", "2Gi"))
    cluster.wait_for(lambda: _bound(cluster, SRC, "empty"), timeout=60)
    cluster.apply(
        json.dumps(
            {
                "apiVersion": "snapshot.storage.k8s.io/v1",
                "kind": "VolumeSnapshot",
                "metadata": {"name": "of-empty", "namespace": SRC},
                "spec": {"source": {"persistentVolumeClaimName": "empty"}},
            }
        )
    )
    snap = cluster.wait_for(
        lambda: (
            (_vs(cluster, SRC, "of-empty") or {}).get("status", {}).get("readyToUse")
            and _vs(cluster, SRC, "of-empty")
        )
    )
    assert "restoreSize" not in snap["status"], snap["status"]
    cp = world.run(SRC, "restore-pvc", "of-empty", "--to", "from-empty", "-o", "json")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert json.loads(cp.stdout)["spec"]["resources"] == {"requests": {"storage": "2Gi"}}
    cp = world.run(SRC, "restore-pvc", "of-empty", "--to", "from-empty", "--wait")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert (
        "created PVC from-empty from VolumeSnapshot of-empty (2Gi = the request of source "
        "PVC empty; restoreSize unset, StorageClass backupns-csi, ReadWriteOnce)"
    ) in cp.stdout
    assert _volume_meta(cluster, SRC, "from-empty")["capacityBytes"] == 2 * 1024**3

    cluster.kubectl("delete", "pvc", "empty", "-n", SRC, "--wait=true", check=True)
    cp = world.run(SRC, "restore-pvc", "of-empty", "--to", "from-empty-2")
    _one_error_line(
        cp,
        f"snapshot of-empty has no restoreSize in namespace {SRC}: status.restoreSize is empty "
        "(the CSI driver did not report one) and its source PVC empty is gone. Pass --size",
    )
    assert _pvc_obj(cluster, SRC, "from-empty-2") is None
    cp = world.run(SRC, "restore-pvc", "of-empty", "--to", "from-empty-2", "--size", "1Gi")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    cluster.wait_for(lambda: _bound(cluster, SRC, "from-empty-2"), timeout=60)


def test_restore_pvc_refuses_an_existing_pvc_and_a_snapshot_not_ready(world: World) -> None:
    cluster, vs = world.cluster, world.snapshots[SRC]
    before = _pvc_obj(cluster, SRC, "data")
    cp = world.run(SRC, "restore-pvc", vs, "--to", "data")
    _one_error_line(cp, f"PVC data already exists in namespace {SRC}: restore-pvc never overwrites")
    after = _pvc_obj(cluster, SRC, "data")
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]

    # A snapshot of a PVC that does not exist: the real controller gives it only
    # status.error, never readyToUse.
    cluster.apply(
        json.dumps(
            {
                "apiVersion": "snapshot.storage.k8s.io/v1",
                "kind": "VolumeSnapshot",
                "metadata": {"name": "never-ready", "namespace": SRC},
                "spec": {"source": {"persistentVolumeClaimName": "no-such-pvc"}},
            }
        )
    )
    cluster.wait_for(
        lambda: (_vs(cluster, SRC, "never-ready") or {}).get("status", {}).get("error")
    )
    cp = world.run(SRC, "restore-pvc", "never-ready", "--to", "from-never-ready")
    _one_error_line(
        cp, f'VolumeSnapshot never-ready is not ready in namespace {SRC}: readyToUse is "unset"'
    )
    assert _pvc_obj(cluster, SRC, "from-never-ready") is None
    cp = world.run(SRC, "restore-pvc", "no-such-snapshot", "--to", "x")
    _one_error_line(cp, "cannot read VolumeSnapshot no-such-snapshot")
    # The real apiserver accepts a PVC of a class that does not exist (it stays Pending):
    # restore-pvc refuses it first.
    cp = world.run(SRC, "restore-pvc", vs, "--to", "typo", "--storage-class", "backupns-cis")
    _one_error_line(cp, f"StorageClass backupns-cis not found in namespace {SRC}")
    assert _pvc_obj(cluster, SRC, "typo") is None
    cp = world.run(SRC, "restore-pvc", vs, "--to", "classed", "--storage-class", "backupns-csi")
    assert cp.returncode == 0 and cp.stderr == "", cp.stdout + cp.stderr
    cluster.wait_for(lambda: _bound(cluster, SRC, "classed"), timeout=60)


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_restore_pvc_output_creates_nothing_and_applies_server_side(world: World, fmt: str) -> None:
    cluster, vs = world.cluster, world.snapshots[SRC]
    offset = cluster.audit_offset()
    cp = world.run(SRC, "restore-pvc", vs, "--to", f"printed-{fmt}", "--size", "2Gi", "-o", fmt)
    assert cp.returncode == 0 and cp.stderr == "", cp.stdout + cp.stderr
    doc = yaml.safe_load(cp.stdout) if fmt == "yaml" else json.loads(cp.stdout)
    assert doc["metadata"] == {
        "name": f"printed-{fmt}",
        "namespace": SRC,
        "annotations": {"backup-ns.sh/restored-from": vs},
    }
    assert doc["spec"]["resources"] == {"requests": {"storage": "2Gi"}}
    assert doc["spec"]["storageClassName"] == "backupns-csi"
    # Nothing was written: the operator only read (audit log).
    writes = [
        e
        for e in cluster.audit_events(offset)
        if e["user"]["username"] == world.operator and e["verb"] not in ("get", "list", "watch")
    ]
    assert writes == [], writes
    assert _pvc_obj(cluster, SRC, f"printed-{fmt}") is None
    # The printed manifest is what the real apiserver accepts (admission, validation).
    applied = cluster.kubectl(
        "apply", "--dry-run=server", "-f", "-", input=cp.stdout, env=world.op_env
    )
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.strip() == (
        f"persistentvolumeclaim/printed-{fmt} created (server dry run)"
    ), applied.stdout
    assert applied.stderr == "", applied.stderr
    assert _pvc_obj(cluster, SRC, f"printed-{fmt}") is None


def test_restore_pvc_as_the_namespace_service_account_is_refused(world: World) -> None:
    """The generated RBAC grants the CronJob's ServiceAccount no PVC create: the toolbox
    is the operator's. The refusal is one clear line, and nothing is created."""
    cluster, vs = world.cluster, world.snapshots[SRC]
    kc = cluster.sa_kubeconfig(SRC, "backup-ns", world.tmp / "sa-refused.kubeconfig")
    cp = world.run(
        SRC,
        "restore-pvc",
        vs,
        "--to",
        "by-sa",
        env=cluster.env(world.tmp, kubeconfig=kc),
    )
    _one_error_line(cp, f"cannot create PVC by-sa from {vs}")
    assert "forbidden" in cp.stderr, cp.stderr
    assert _pvc_obj(cluster, SRC, "by-sa") is None


# -- delete ---------------------------------------------------------------------------


def test_delete_removes_the_snapshot_its_content_and_the_data(world: World) -> None:
    cluster = world.cluster
    vs = _snapshot(world, SRC, "tbdel1", "<h1>delete me</h1>\n")
    cname = _vs(cluster, SRC, vs)["status"]["boundVolumeSnapshotContentName"]
    content = _content(cluster, cname)
    assert content["spec"]["deletionPolicy"] == "Retain"  # the tier's default class
    handle = content["status"]["snapshotHandle"]
    snap_dir = cluster.csi_state / "snapshots" / handle
    assert snap_dir.is_dir()

    cp = world.run(SRC, "delete", vs)  # no terminal, no --yes
    _one_error_line(cp, "delete refused in namespace")
    assert "stdin is not a terminal" in cp.stderr
    cluster.kubectl("label", "volumesnapshot", vs, "-n", SRC, "backup-ns.sh/keep=true", check=True)
    cp = world.run(SRC, "delete", vs, "--yes")
    _one_error_line(cp, f"VolumeSnapshot {vs} is labelled backup-ns.sh/keep=true")
    assert _vs(cluster, SRC, vs) is not None and _content(cluster, cname) is not None

    taken = _vs(cluster, SRC, vs)["metadata"]["annotations"]["backup-ns.sh/cut-at"]
    cp = world.run(SRC, "delete", vs, "--yes", "--force")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert f"will delete: VolumeSnapshot {SRC}/{vs} (PVC data, taken {taken}, " in cp.stdout
    assert f"{cname}, deletionPolicy Retain, keep=true)" in cp.stdout
    assert f"VolumeSnapshotContent {cname}: deletionPolicy Delete" in cp.stdout
    assert f"deleted VolumeSnapshot {vs} and its content {cname}" in cp.stdout
    # delete waited until all was gone: the snapshot, the content and, through
    # csi-snapshotter, the driver's snapshot: the data is gone for good, as it says.
    assert _vs(cluster, SRC, vs) is None
    assert _content(cluster, cname) is None
    assert not snap_dir.exists()
    # The other snapshot of the namespace is untouched.
    assert _vs(cluster, SRC, world.snapshots[SRC])["status"]["readyToUse"] is True


def _role(name: str, content_verbs: list[str]) -> str:
    return json.dumps(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": name},
            "rules": [
                {
                    "apiGroups": ["snapshot.storage.k8s.io"],
                    "resources": ["volumesnapshots"],
                    "verbs": ["get", "list", "watch", "delete"],
                },
                {
                    "apiGroups": ["snapshot.storage.k8s.io"],
                    "resources": ["volumesnapshotcontents"],
                    "verbs": content_verbs,
                },
            ],
        }
    )


def test_delete_keeps_the_data_another_content_holds_with_least_privilege(world: World) -> None:
    """A second content holds the snapshot's handle (as a clone does). An operator who may
    get, patch and delete contents but not list them is refused before any change (the
    audit log: only that list was denied, no write). With list as well (the one right
    added), delete removes the snapshot and its content with deletionPolicy Retain, every
    request allowed, and the driver's snapshot stays for the other content."""
    cluster = world.cluster
    vs = _snapshot(world, SRC, "tbshr1", "<h1>shared</h1>\n")
    cname = _vs(cluster, SRC, vs)["status"]["boundVolumeSnapshotContentName"]
    content = _content(cluster, cname)
    handle = content["status"]["snapshotHandle"]
    snap_dir = cluster.csi_state / "snapshots" / handle
    other, role = f"shared-{SUFFIX}", f"backupns-deleter-{SUFFIX}"
    cluster.apply(
        json.dumps(
            {
                "apiVersion": "snapshot.storage.k8s.io/v1",
                "kind": "VolumeSnapshotContent",
                "metadata": {"name": other},
                "spec": {
                    "deletionPolicy": "Retain",
                    "driver": content["spec"]["driver"],
                    "source": {"snapshotHandle": handle},
                    "volumeSnapshotRef": {"name": "clone", "namespace": DST},
                },
            }
        )
    )
    user = f"system:serviceaccount:{OPS_NS}:deleter"
    cluster.apply(_role(role, ["get", "watch", "patch", "delete"]))
    cluster.kubectl("create", "serviceaccount", "deleter", "-n", OPS_NS, check=True)
    cluster.kubectl(
        "create", "clusterrolebinding", role, f"--clusterrole={role}",
        f"--serviceaccount={OPS_NS}:deleter", check=True,
    )  # fmt: skip
    env = cluster.env(
        world.tmp, kubeconfig=cluster.sa_kubeconfig(OPS_NS, "deleter", world.tmp / "deleter.kc")
    )

    def calls(offset: int) -> list[tuple[str, str, str, str]]:
        return [
            (
                e["verb"],
                (e.get("objectRef") or {}).get("resource", ""),
                (e.get("objectRef") or {}).get("name", ""),
                e.get("annotations", {}).get("authorization.k8s.io/decision", ""),
            )
            for e in cluster.audit_events(offset)
            if e["user"]["username"] == user
        ]

    try:
        offset = cluster.audit_offset()
        cp = world.run(SRC, "delete", vs, "--yes", env=env)
        # delete is a platform command: a refusal of its content list (it must prove no
        # other content holds the handle before anything is deleted) is reported as such,
        # with the server's own line naming the list
        _one_error_line(
            cp,
            f"delete needs the platform team in namespace {SRC}: Error from server (Forbidden):"
            " volumesnapshotcontents.snapshot.storage.k8s.io is forbidden",
        )
        assert 'cannot list resource "volumesnapshotcontents"' in cp.stderr, cp.stderr
        made = calls(offset)
        assert [c[:2] for c in made if c[3] != "allow"] == [("list", "volumesnapshotcontents")]
        assert [c for c in made if c[0] not in ("get", "list", "watch")] == [], made
        assert _vs(cluster, SRC, vs) is not None and snap_dir.is_dir()

        cluster.apply(_role(role, ["get", "list", "watch", "patch", "delete"]))
        cluster.wait_for(
            lambda: cluster.kubectl(
                "auth", "can-i", "list", "volumesnapshotcontents.snapshot.storage.k8s.io",
                f"--as={user}",
            ).stdout.strip() == "yes",
            timeout=60,
        )  # fmt: skip
        offset = cluster.audit_offset()
        cp = world.run(SRC, "delete", vs, "--yes", env=env)
        assert cp.returncode == 0, cp.stdout + cp.stderr
        assert f"; kept data: handle shared with content {other}" in cp.stdout
        assert "The data stays: another VolumeSnapshotContent holds it." in cp.stdout
        assert (
            f"deleted VolumeSnapshot {vs} and its content {cname}; "
            f"the data stays with content {other}" in cp.stdout
        )
        made = calls(offset)
        assert [c for c in made if c[3] != "allow"] == [], made
        assert ("patch", "volumesnapshotcontents", cname, "allow") not in made, made
        assert ("delete", "volumesnapshotcontents", cname, "allow") in made, made
        assert _vs(cluster, SRC, vs) is None and _content(cluster, cname) is None
        assert snap_dir.is_dir()  # the driver's snapshot, for the other content
    finally:
        # (the unbound content's data is left to the tier's teardown)
        cluster.kubectl("delete", "vsc", other, "--wait=true", "--ignore-not-found", timeout=120)
        cluster.kubectl("delete", "clusterrolebinding,clusterrole", role, "--ignore-not-found")


# -- rebind (the controller script) -----------------------------------------------------


def _backup_ns_meta(obj: dict[str, Any], kind: str) -> dict[str, str]:
    return {k: v for k, v in obj["metadata"].get(kind, {}).items() if k.startswith("backup-ns.sh/")}


def _holders(cluster: RealCluster, handle: str) -> list[str]:
    """The contents whose snapshotHandle (status or spec.source) is handle."""
    items = cluster.api(f"{VS_API}/volumesnapshotcontents")["items"]
    return sorted(
        c["metadata"]["name"]
        for c in items
        if handle
        in (
            (c.get("status") or {}).get("snapshotHandle"),
            c["spec"]["source"].get("snapshotHandle"),
        )
    )


def _live_state(world: World, ns: str, vs: str) -> tuple[Any, ...]:
    """What no rebind may change about a live snapshot: it and its content (whole
    objects, resourceVersion included) and the driver's copy of the data."""
    cluster = world.cluster
    snap = _vs(cluster, ns, vs)
    content = _content(cluster, snap["status"]["boundVolumeSnapshotContentName"])
    data = cluster.csi_state / "snapshots" / content["status"]["snapshotHandle"]
    files = sorted(
        (str(f.relative_to(data)), f.read_bytes()) for f in data.rglob("*") if f.is_file()
    )
    return snap, content, files


def test_rebind_refuses_a_content_whose_snapshot_exists(world: World) -> None:
    """Whatever --name or --namespace says: a content that a live snapshot is bound
    to, or one holding the same snapshotHandle, is never rebound (two snapshots of one
    handle lose their data when either is deleted). The live snapshot, its content and
    its data stay exactly as they were."""
    cluster, vs = world.cluster, world.snapshots[SRC]
    kc = cluster.sa_kubeconfig("backup-ns", "backup-ns-controller", world.tmp / "ctl.kubeconfig")
    cp = world.run(None, "sync", env=cluster.env(world.tmp, kubeconfig=kc))
    assert cp.returncode == 0, cp.stdout + cp.stderr
    before = _live_state(world, SRC, vs)
    content = before[1]["metadata"]["name"]
    handle = before[1]["status"]["snapshotHandle"]
    assert before[2], "the live snapshot holds data"
    cp = world.run(None, "list-contents")
    assert re.search(rf"^{content} +{SRC} +{vs} +data +\S+ +true +Retain +yes$", cp.stdout, re.M)

    refusal = (
        f"ERROR: rebind refused for {content}: it belongs to VolumeSnapshot {SRC}/{vs}, which "
        "exists; a second snapshot of the same snapshotHandle would lose its data when either "
        f"is deleted. Nothing was changed. Restore from {SRC}/{vs} itself (backup-ns.sh "
        f"restore-pvc or dump-restore in namespace {SRC}); rebind is for a content whose "
        "snapshot is gone (list-contents --orphaned)"
    )
    for args in (
        ["--namespace", SRC],
        ["--namespace", SRC, "--name", "dup-test"],
        ["--namespace", DST],
        ["--namespace", DST, "--name", "dup-test"],
    ):
        cp = world.run(None, "rebind", content, *args)
        assert (cp.returncode, cp.stdout, cp.stderr) == (1, "", refusal + "\n"), args
        assert _live_state(world, SRC, vs) == before, args
    assert _vs(cluster, SRC, "dup-test") is None and _vs(cluster, DST, "dup-test") is None
    assert _holders(cluster, handle) == [content]

    # A content made by hand with the live snapshot's handle (its own snapshot gone).
    cluster.apply(
        json.dumps(
            {
                "apiVersion": "snapshot.storage.k8s.io/v1",
                "kind": "VolumeSnapshotContent",
                "metadata": {"name": f"by-hand-{SUFFIX}"},
                "spec": {
                    "deletionPolicy": "Retain",
                    "driver": before[1]["spec"]["driver"],
                    "source": {"snapshotHandle": handle},
                    "volumeSnapshotRef": {"name": "gone", "namespace": SRC},
                },
            }
        )
    )
    try:
        cp = world.run(None, "rebind", f"by-hand-{SUFFIX}", "--namespace", SRC, "--name", "dup")
        _one_error_line(
            cp,
            f"rebind refused for by-hand-{SUFFIX}: VolumeSnapshotContent {content} holds the "
            f"same snapshotHandle {handle} and belongs to VolumeSnapshot {SRC}/{vs}, which exists",
        )
        assert _vs(cluster, SRC, "dup") is None
    finally:
        cluster.kubectl("delete", "vsc", f"by-hand-{SUFFIX}", "--wait=true", timeout=120)
    assert _live_state(world, SRC, vs) == before
    assert _holders(cluster, handle) == [content]


def test_rebind_after_the_namespace_was_deleted(world: World) -> None:
    cluster = world.cluster
    gone = GONE
    cluster.create_namespace(gone)
    cluster.kubectl("apply", "-f", str(world_manifests(world.out, gone)), check=True)
    cluster.apply(_pvc(gone, "data"))
    cluster.wait_for(lambda: _bound(cluster, gone, "data"), timeout=60)
    vs = _snapshot(world, gone, "tbgone", "<h1>rows of a deleted namespace</h1>\n")
    snap = _vs(cluster, gone, vs)
    old = snap["status"]["boundVolumeSnapshotContentName"]
    handle = _content(cluster, old)["status"]["snapshotHandle"]

    # The controller's sync, as the controller's ServiceAccount, labels the content.
    kc = cluster.sa_kubeconfig("backup-ns", "backup-ns-controller", world.tmp / "ctl.kubeconfig")
    cp = world.run(None, "sync", env=cluster.env(world.tmp, kubeconfig=kc))
    assert cp.returncode == 0, cp.stdout + cp.stderr
    synced = _content(cluster, old)
    assert _backup_ns_meta(synced, "labels") == _backup_ns_meta(snap, "labels")
    assert _backup_ns_meta(synced, "annotations") == _backup_ns_meta(snap, "annotations")

    cluster.kubectl("delete", "namespace", gone, "--wait=true", check=True, timeout=300)
    cluster.wait_for(
        lambda: (
            (_content(cluster, old) or {})
            .get("metadata", {})
            .get("annotations", {})
            .get("snapshot.storage.kubernetes.io/volumesnapshot-being-deleted")
        ),
        timeout=60,
    )
    cp = world.run(None, "list-contents", "--orphaned")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert re.search(
        rf"^{old} +{gone} +{vs} +data +\S+ +true +Retain +no \(namespace gone\)$",
        cp.stdout,
        re.M,
    ), cp.stdout

    live = _live_state(world, SRC, world.snapshots[SRC])
    cp = world.run(None, "rebind", old, "--namespace", DST)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert _live_state(world, SRC, world.snapshots[SRC]) == live
    assert f"rebind: VolumeSnapshot {DST}/{vs} is ready (labelled backup-ns.sh/keep=true)" in (
        cp.stdout
    )
    new_vs = _vs(cluster, DST, vs)
    assert new_vs["status"]["readyToUse"] is True  # set by the real snapshot controller
    new = new_vs["status"]["boundVolumeSnapshotContentName"]
    assert new.startswith("backup-ns-rebound-") and new_vs["spec"]["source"] == {
        "volumeSnapshotContentName": new
    }
    content = _content(cluster, new)
    assert content["spec"]["source"] == {"snapshotHandle": handle}
    assert content["spec"]["deletionPolicy"] == "Retain"
    assert content["status"]["readyToUse"] is True
    assert content["spec"]["volumeSnapshotRef"]["uid"] == new_vs["metadata"]["uid"]
    want = {**_backup_ns_meta(snap, "labels"), "backup-ns.sh/keep": "true"}
    assert _backup_ns_meta(content, "labels") == want
    assert _backup_ns_meta(new_vs, "labels") == want
    assert _backup_ns_meta(new_vs, "annotations") == {
        **_backup_ns_meta(snap, "annotations"),
        "backup-ns.sh/rebound-from": old,
    }
    # The old content object is gone, the data (the driver's snapshot) is not.
    cluster.wait_for(lambda: _content(cluster, old) is None, timeout=60)
    assert (cluster.csi_state / "snapshots" / handle).is_dir()
    cp = world.run(None, "list-contents")
    assert re.search(rf"^{new} +{DST} +{vs} +data +\S+ +true +Retain +yes$", cp.stdout, re.M), (
        cp.stdout
    )

    # restore-pvc without --size: the driver's restoreSize is the bytes held, the PVC had
    # 1Gi when the snapshot was taken (recorded by create, carried by sync and rebind).
    size = new_vs["status"]["restoreSize"]
    assert int(size) < 1024, size
    cp = world.run(DST, "restore-pvc", vs, "--to", "data-auto", "--wait")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert (
        f"created PVC data-auto from VolumeSnapshot {vs} (1Gi = the size of PVC data when the "
        f"snapshot was taken (backup-ns.sh/pvc-size); restoreSize {size}, ReadWriteOnce)"
    ) in cp.stdout
    assert _volume_meta(cluster, DST, "data-auto")["capacityBytes"] == 1024**3
    # Bound, the new content is protected (kubesim does the same).
    assert content["metadata"]["finalizers"] == [
        "snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection"
    ]

    # restore-pvc from the rebound snapshot, with the new namespace's script.
    cp = world.run(DST, "restore-pvc", vs, "--to", "data", "--size", "1Gi", "--wait")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert _volume_meta(cluster, DST, "data")["sourceSnapshot"] == handle
    assert (cluster.volume_dir(DST, "data") / "index.html").read_text() == (
        "<h1>rows of a deleted namespace</h1>\n"
    )
    # The rebound content is in use: never rebound again, whatever the name.
    for args in ([], ["--name", "again"]):
        cp = world.run(None, "rebind", new, "--namespace", DST, *args)
        _one_error_line(
            cp, f"rebind refused for {new}: it belongs to VolumeSnapshot {DST}/{vs}, which exists"
        )
    assert _vs(cluster, DST, "again") is None
    assert _holders(cluster, handle) == [new]
    assert _live_state(world, SRC, world.snapshots[SRC]) == live


# -- helper pods: real Pod Security admission -----------------------------------------


def _pod_creates(cluster: RealCluster, offset: int, ns: str, user: str) -> list[dict[str, Any]]:
    return [
        e
        for e in cluster.audit_events(offset)
        if e["user"]["username"] == user
        and e["verb"] == "create"
        and (e.get("objectRef") or {}).get("resource") == "pods"
        and not (e.get("objectRef") or {}).get("subresource")
        and e["objectRef"].get("namespace") == ns
    ]


def _assert_admitted_restricted(events: list[dict[str, Any]], purpose: str) -> None:
    assert len(events) == 1, events
    (e,) = events
    ann = e.get("annotations", {})
    assert e["responseStatus"]["code"] == 201, e["responseStatus"]
    assert e["objectRef"]["name"].startswith(f"backup-ns-{purpose}-"), e["objectRef"]
    assert ann.get(f"{PSA}/enforce-policy") == "restricted:latest", ann
    # audit and warn evaluate the same level: no violation, so no warning either
    assert f"{PSA}/audit-violations" not in ann, ann


def _toolbox_leftovers(cluster: RealCluster, ns: str) -> list[str]:
    sel = "labelSelector=app.kubernetes.io%2Fcomponent%3Dtoolbox"
    pods = cluster.api(f"/api/v1/namespaces/{ns}/pods?{sel}")["items"]
    pvcs = cluster.api(f"/api/v1/namespaces/{ns}/persistentvolumeclaims?{sel}")["items"]
    return [o["metadata"]["name"] for o in pods + pvcs]


def test_the_namespace_enforces_restricted(world: World) -> None:
    """The control: a pod without the restricted fields is refused in PSA_NS."""
    cp = world.cluster.kubectl(
        "run", "plain", "-n", PSA_NS, "--image=busybox", "--restart=Never", env=world.op_env
    )
    assert cp.returncode != 0 and 'violates PodSecurity "restricted:latest"' in cp.stderr


@pytest.mark.parametrize("command", ["verify", "dump-download"])
def test_helper_pods_are_admitted_by_restricted(world: World, command: str) -> None:
    cluster = world.cluster
    if PSA_NS not in world.snapshots:
        # A snapshot with the dump annotations a backup of the database sets (the
        # database itself cannot run here: no kubelet).
        cluster.apply(
            json.dumps(
                {
                    "apiVersion": "snapshot.storage.k8s.io/v1",
                    "kind": "VolumeSnapshot",
                    "metadata": {
                        "name": "with-dump",
                        "namespace": PSA_NS,
                        "annotations": {
                            "backup-ns.sh/dump-file": "/var/lib/postgresql/data/dump.sql.gz",
                            "backup-ns.sh/dump-size": "20",
                            "backup-ns.sh/dump-sha256": "0" * 64,
                        },
                    },
                    "spec": {"source": {"persistentVolumeClaimName": "data"}},
                }
            )
        )
        cluster.wait_for(
            lambda: (_vs(cluster, PSA_NS, "with-dump") or {}).get("status", {}).get("readyToUse")
        )
        world.snapshots[PSA_NS] = "with-dump"
    if command == "verify":
        # the database workload the drill takes its image from (its pod never runs)
        _database_deployment(cluster, PSA_NS)
    vs = world.snapshots[PSA_NS]
    offset = cluster.audit_offset()
    args = [command, vs] + (
        ["-o", str(world.tmp / "dump.gz")] if command == "dump-download" else []
    )
    cp = world.run(PSA_NS, *args, BAK_TOOLBOX_TIMEOUT="5s")
    # No kubelet: the pod was admitted but never runs, so the command gives up, loudly.
    _one_error_line(cp, "did not finish" if command == "verify" else "did not start")
    assert "phase Pending" in cp.stderr, cp.stderr
    purpose = "drill" if command == "verify" else command
    _assert_admitted_restricted(_pod_creates(cluster, offset, PSA_NS, world.operator), purpose)
    # The scratch PVC was provisioned from the snapshot by the real provisioner, and both
    # are removed on the way out.
    assert re.search(rf"created scratch PVC persistentvolumeclaims/backup-ns-{command}-", cp.stdout)
    assert f"cleanup: deleted pods/backup-ns-{purpose}-" in cp.stdout
    cluster.wait_for(lambda: not _toolbox_leftovers(cluster, PSA_NS), timeout=60)
    assert not (world.tmp / "dump.gz").exists() and not (world.tmp / "dump.gz.part").exists()
    result = (_vs(cluster, PSA_NS, vs)["metadata"].get("annotations") or {}).get(
        "backup-ns.sh/verified-result", ""
    )
    if command == "verify":  # a drill that could not run says so on the snapshot
        assert result.startswith("failed: drill: drill pod backup-ns-drill-"), result


def _database_deployment(cluster: RealCluster, ns: str) -> None:
    """Deployment db (container postgres), as the PSA_NS config names it."""
    labels = {"app": "db"}
    cluster.apply(
        json.dumps({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "db", "namespace": ns},
            "spec": {"replicas": 0, "selector": {"matchLabels": labels}, "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "postgres", "image": "postgres:15"}]},
            }},
        })
    )  # fmt: skip


def test_the_drill_pod_manifest_passes_server_side_dry_run(world: World) -> None:
    """The rendered script's own drill_pod_manifest (the script sourced, main not run):
    admitted by restricted, no warning."""
    manifest = subprocess.run(
        ["bash", "-c", 'source "$1"; DRILL_IMAGE=postgres:15; drill_pod_manifest dry-drill x :',
         "x", str(world.script(PSA_NS))], capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    cp = world.cluster.kubectl(
        "create", "--dry-run=server", "-f", "-", input=manifest, env=world.op_env
    )
    assert cp.returncode == 0, cp.stderr
    assert cp.stdout.strip() == "pod/dry-drill created (server dry run)"
    assert cp.stderr == "", cp.stderr  # no PodSecurity warning (warn=restricted)


def test_helper_pod_manifests_pass_server_side_dry_run(world: World) -> None:
    """Every purpose's manifest from the rendered script's own helper_pod_manifest (the
    script sourced, main not run), created with --dry-run=server: admitted, no warning."""
    script = world.script(PSA_NS)
    for purpose in ("verify", "dump-download", "dump-restore"):
        manifest = subprocess.run(
            [
                "bash",
                "-c",
                'source "$1"; helper_pod_manifest "$2" scratch "$3"',
                "x",
                str(script),
                f"dry-{purpose}",
                purpose,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        cp = world.cluster.kubectl(
            "create", "--dry-run=server", "-f", "-", input=manifest, env=world.op_env
        )
        assert cp.returncode == 0, cp.stderr
        assert cp.stdout.strip() == f"pod/dry-{purpose} created (server dry run)"
        assert cp.stderr == "", cp.stderr  # no PodSecurity warning (warn=restricted)


def test_verify_after_backup_as_the_service_account(world: World) -> None:
    """verify.afterBackup binds ClusterRole backup-ns-verify: `create` as the namespace's
    ServiceAccount makes the scratch PVC and the helper pod itself. In a restricted
    namespace its pod is admitted; the drill then times out (no kubelet) and cleans up."""
    cluster = world.cluster
    cluster.kubectl(
        "label", "namespace", VAB, *[f"{k}={v}" for k, v in RESTRICTED.items()], check=True
    )
    kc = cluster.sa_kubeconfig(VAB, "backup-ns", world.tmp / "sa-vab.kubeconfig")
    offset = cluster.audit_offset()
    cp = world.run(VAB, "create", env=cluster.env(world.tmp, kubeconfig=kc), BAK_VS_RAND="tbvab1")
    _one_error_line(cp, "did not start")
    user = f"system:serviceaccount:{VAB}:backup-ns"
    _assert_admitted_restricted(_pod_creates(cluster, offset, VAB, user), "verify")
    denied = [
        (e["verb"], e["objectRef"]["resource"])
        for e in cluster.audit_events(offset)
        if e["user"]["username"] == user
        and e.get("annotations", {}).get("authorization.k8s.io/decision") != "allow"
    ]
    assert denied == [], denied
    cluster.wait_for(lambda: not _toolbox_leftovers(cluster, VAB), timeout=60)
    vs = cluster.get_json("volumesnapshot", "-n", VAB)["items"]
    (snap,) = vs
    # The drill that could not run is recorded on the snapshot, with the error line.
    result = snap["metadata"].get("annotations", {}).get("backup-ns.sh/verified-result", "")
    assert re.match(
        rf"failed: helper pod backup-ns-verify-\S+ did not start in namespace {VAB}: "
        "phase Pending",
        result,
    ), result
