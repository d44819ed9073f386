"""The `create` path of a `database: none` namespace, run as that namespace's
ServiceAccount against the real snapshot stack (snapshot-controller,
csi-snapshotter, csi-provisioner, our CSI driver) -- and the SAME scenario
against kubesim, whose snapshot controller must show the same fields and
states (the real server is the reference; EXPECTED below was read off it).

Scenario: render, apply the generated RBAC + manifests, a PVC with a file,
`backup-ns.sh create` as the ServiceAccount (exit 0, snapshot readyToUse,
labels/annotations accepted by the CRD schema), restore a PVC from the
snapshot (Bound, same data), delete a snapshot whose content is Retain, then
delete the namespace. On the real tier the audit log proves every call the
script made was allowed by RBAC.
"""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path
from typing import Any

import pytest

from tests.realk8s.fixture import RealCluster
from tests.realk8s.render import render
from tests.realk8s.servers import SERVERS, Cluster, bound, create_as, pvc, sa_env

RETAIN_CLASS = "backupns-retain"
BEING_DELETED = "snapshot.storage.kubernetes.io/volumesnapshot-being-deleted"
# (the controller adds volumesnapshot-bound-protection too, at a moment of its choosing:
# not compared)
VS_FINALIZERS = ["snapshot.storage.kubernetes.io/volumesnapshot-as-source-protection"]
BOUND_PROTECTION = "snapshot.storage.kubernetes.io/volumesnapshot-bound-protection"
CONTENT_FINALIZERS = ["snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection"]

# What the real snapshot-controller v8.7.0 shows at each step (kubesim must match).
EXPECTED: dict[str, Any] = {
    "ready": {
        "vs_status": [
            "boundVolumeSnapshotContentName",
            "creationTime",
            "readyToUse",
            "restoreSize",
        ],
        "vs_finalizers": VS_FINALIZERS,
        "vs_class_defaulted": True,
        "content_name_is_snapcontent_uid": True,
        "content_spec": [
            "deletionPolicy",
            "driver",
            "source",
            "sourceVolumeMode",
            "volumeSnapshotClassName",
            "volumeSnapshotRef",
        ],
        "content_ref": ["apiVersion", "kind", "name", "namespace", "resourceVersion", "uid"],
        "content_status": ["creationTime", "readyToUse", "restoreSize", "snapshotHandle"],
        "content_creation_time_is_int": True,
        "content_labels": [],
        "content_finalizers": CONTENT_FINALIZERS,
        "deletion_policy": "Retain",
    },
    "after_vs_delete": {
        "content_exists": True,
        "content_ready": True,
        "ref_uid_kept": True,
        "being_deleted": "yes",
        "finalizers": CONTENT_FINALIZERS,
    },
    "after_namespace_delete": {
        "content_exists": True,
        "content_ready": True,
        "ref_uid_kept": True,
        "being_deleted": "yes",
        "finalizers": CONTENT_FINALIZERS,
    },
}


def _config(ns: str) -> str:
    return f"""\
defaults:
  flock: {{enabled: false}}
  waitUntilReady: {{enabled: true, timeout: 2m}}
namespaces:
  {ns}: {{pvcs: [data], database: none}}
controller: {{namespace: backup-ns}}
"""


def _vs(cluster: Cluster, ns: str, name: str) -> Any:
    return cluster.api(f"/apis/snapshot.storage.k8s.io/v1/namespaces/{ns}/volumesnapshots/{name}")


def _content(cluster: Cluster, name: str) -> Any:
    return cluster.api(f"/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents/{name}")


def _use_retain_default(cluster: Cluster) -> None:
    """kubesim's built-in default class is Delete; the tier's is Retain: make them alike."""
    if isinstance(cluster, RealCluster):
        return
    cluster.kubectl(
        "annotate",
        "vsclass",
        "--all",
        "--overwrite",
        "snapshot.storage.kubernetes.io/is-default-class=false",
        check=True,
    )
    cluster.apply(
        json.dumps(
            {
                "apiVersion": "snapshot.storage.k8s.io/v1",
                "kind": "VolumeSnapshotClass",
                "metadata": {
                    "name": RETAIN_CLASS,
                    "annotations": {"snapshot.storage.kubernetes.io/is-default-class": "true"},
                },
                "driver": "hostpath.csi.k8s.io",
                "deletionPolicy": "Retain",
            }
        )
    )


def _default_class(cluster: Cluster) -> str:
    classes = cluster.get_json("volumesnapshotclass")["items"]
    names = [
        c["metadata"]["name"]
        for c in classes
        if c["metadata"]
        .get("annotations", {})
        .get("snapshot.storage.kubernetes.io/is-default-class")
        == "true"
    ]
    assert len(names) == 1, names
    return str(names[0])


def _ready_shape(cluster: Cluster, vs: dict[str, Any], content: dict[str, Any]) -> dict[str, Any]:
    return {
        "vs_status": sorted(vs["status"]),
        "vs_finalizers": sorted(
            f for f in vs["metadata"].get("finalizers", []) if f != BOUND_PROTECTION
        ),
        "vs_class_defaulted": vs["spec"].get("volumeSnapshotClassName") == _default_class(cluster),
        "content_name_is_snapcontent_uid": vs["status"]["boundVolumeSnapshotContentName"]
        == "snapcontent-" + vs["metadata"]["uid"],
        "content_spec": sorted(content["spec"]),
        "content_ref": sorted(content["spec"]["volumeSnapshotRef"]),
        "content_status": sorted(content["status"]),
        "content_creation_time_is_int": isinstance(content["status"]["creationTime"], int),
        "content_labels": sorted(content["metadata"].get("labels", {})),
        "content_finalizers": sorted(content["metadata"].get("finalizers", [])),
        "deletion_policy": content["spec"]["deletionPolicy"],
    }


def _orphan_shape(content: dict[str, Any] | None, uid: str) -> dict[str, Any]:
    if content is None:
        return {"content_exists": False}
    return {
        "content_exists": True,
        "content_ready": content.get("status", {}).get("readyToUse"),
        "ref_uid_kept": content["spec"]["volumeSnapshotRef"].get("uid") == uid,
        "being_deleted": content["metadata"].get("annotations", {}).get(BEING_DELETED),
        "finalizers": sorted(content["metadata"].get("finalizers", [])),
    }


def _wait_annotated(cluster: Cluster, name: str) -> dict[str, Any] | None:
    def seen() -> Any:
        c = _content(cluster, name)
        if c is None or c["metadata"].get("annotations", {}).get(BEING_DELETED):
            return c or {"gone": True}
        return None

    got = cluster.wait_for(seen, timeout=60)
    return None if got.get("gone") else got


@pytest.mark.parametrize("server", SERVERS)
def test_create_path_as_service_account(
    server: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    cluster: Cluster = request.getfixturevalue(server)
    ns = "rk-" + secrets.token_hex(3)
    out = render(tmp_path / "backupns.yaml", tmp_path / "out", text=_config(ns))
    _use_retain_default(cluster)
    cluster.kubectl("create", "namespace", ns, check=True)
    cluster.kubectl(
        "apply",
        "-f",
        str(out / "cluster" / "namespace-role.yaml"),
        "-f",
        str(out / "namespaces" / ns / "manifests.yaml"),
        check=True,
    )
    cluster.apply(pvc(ns, "data"))
    cluster.wait_for(lambda: bound(cluster, ns, "data"), timeout=60)
    (cluster.volume_dir(ns, "data") / "index.html").write_text("<h1>hello</h1>\n")

    offset = cluster.audit_offset() if isinstance(cluster, RealCluster) else 0
    stdout = create_as(sa_env(cluster, ns, tmp_path), out, ns, BAK_VS_RAND="rk0001")
    m = re.search(r"result: VolumeSnapshot (\S+) of PVC data: readyToUse=true", stdout)
    assert m, stdout
    name = m.group(1)

    if isinstance(cluster, RealCluster):
        _assert_audit_all_allowed(cluster, offset, ns)

    vs = _vs(cluster, ns, name)
    assert vs["status"]["readyToUse"] is True
    labels = vs["metadata"]["labels"]
    assert labels["backup-ns.sh/pvc"] == "data" and "backup-ns.sh/retain" in labels, labels
    assert "backup-ns.sh/env-config" in vs["metadata"]["annotations"]
    content_name = vs["status"]["boundVolumeSnapshotContentName"]
    content = cluster.wait_for(lambda: (_content(cluster, content_name) or {}).get("status"))
    content = _content(cluster, content_name)
    assert _ready_shape(cluster, vs, content) == EXPECTED["ready"]

    # A PVC restored from the snapshot is Bound and holds the data.
    cluster.apply(pvc(ns, "restored", source=name))
    cluster.wait_for(lambda: bound(cluster, ns, "restored"), timeout=60)
    assert (cluster.volume_dir(ns, "restored") / "index.html").read_text() == "<h1>hello</h1>\n"

    # Deleting a snapshot whose content is Retain: the content stays, marked.
    uid = vs["metadata"]["uid"]
    cluster.kubectl("delete", "volumesnapshot", name, "-n", ns, "--wait=true", check=True)
    assert _orphan_shape(_wait_annotated(cluster, content_name), uid) == EXPECTED["after_vs_delete"]

    # Deleting the namespace does the same for the snapshots in it.
    second = "second-" + secrets.token_hex(2)
    cluster.apply(
        json.dumps(
            {
                "apiVersion": "snapshot.storage.k8s.io/v1",
                "kind": "VolumeSnapshot",
                "metadata": {"name": second, "namespace": ns},
                "spec": {"source": {"persistentVolumeClaimName": "data"}},
            }
        )
    )
    vs2 = cluster.wait_for(
        lambda: (
            (_vs(cluster, ns, second) or {}).get("status", {}).get("readyToUse")
            and _vs(cluster, ns, second)
        )
    )
    content2 = vs2["status"]["boundVolumeSnapshotContentName"]
    cluster.kubectl("delete", "namespace", ns, "--wait=true", check=True, timeout=300)
    assert (
        _orphan_shape(_wait_annotated(cluster, content2), vs2["metadata"]["uid"])
        == (EXPECTED["after_namespace_delete"])
    )


def _assert_audit_all_allowed(cluster: RealCluster, offset: int, ns: str) -> None:
    """Every request the script made as the ServiceAccount was allowed (audit log)."""
    calls = script_calls(cluster, offset, ns)
    assert ("create", "volumesnapshots", "", ns) in calls, calls
    assert ("get", "persistentvolumeclaims", "", ns) in calls, calls
    assert all(c[3] == ns for c in calls if not c[1].startswith("nonResourceURL")), calls


def script_calls(cluster: RealCluster, offset: int, ns: str) -> set[tuple[str, str, str, str]]:
    """(verb, resource, subresource, namespace) of every request namespace ns's
    ServiceAccount made after `offset` (audit log); each one allowed."""
    user = f"system:serviceaccount:{ns}:backup-ns"
    events = [e for e in cluster.audit_events(offset) if e["user"]["username"] == user]
    calls: set[tuple[str, str, str, str]] = set()
    for e in events:
        ref = e.get("objectRef")
        if ref is None:  # discovery, /version: non-resource URLs
            call = (e["verb"], "nonResourceURL " + e["requestURI"].split("?")[0], "", "")
        else:
            call = (
                e["verb"],
                ref["resource"],
                ref.get("subresource", ""),
                ref.get("namespace", ""),
            )
        calls.add(call)
        decision = e.get("annotations", {}).get("authorization.k8s.io/decision")
        assert decision == "allow", (call, e.get("annotations"), e.get("responseStatus"))
    print("calls made by the script:", sorted(calls))
    return calls
