"""What the tests that run on both servers share: the real control plane tier and
kubesim over TLS (the parametrization), and a few steps both answer alike."""

from __future__ import annotations

import contextlib
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from kubesim.fixture import KubeSim
from tests.realk8s.fixture import RealCluster, RealK8sError

Cluster = RealCluster | KubeSim

SERVERS = [
    pytest.param("realk8s", marks=pytest.mark.realk8s, id="realk8s"),
    pytest.param("kubesim_tls", id="kubesim"),
]


def pvc(ns: str, name: str, source: str | None = None) -> str:
    """A 1Gi ReadWriteOnce PVC (restored from VolumeSnapshot `source` if given), as JSON."""
    doc: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    if source:
        doc["spec"]["dataSource"] = {
            "apiGroup": "snapshot.storage.k8s.io",
            "kind": "VolumeSnapshot",
            "name": source,
        }
    return json.dumps(doc)


def bound(cluster: Cluster, ns: str, name: str) -> bool:
    obj = cluster.api(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/{name}")
    return bool(obj and obj.get("status", {}).get("phase") == "Bound")


def sa_env(cluster: Cluster, ns: str, tmp_path: Path) -> dict[str, str]:
    """A fresh kubectl environment authenticated as namespace ns's backup-ns ServiceAccount."""
    kc = cluster.sa_kubeconfig(ns, "backup-ns", tmp_path / f"sa-{ns}.kubeconfig")
    return cluster.env(tmp_path, kubeconfig=kc)


def create_as(env: dict[str, str], out: Path, ns: str, **extra: str) -> str:
    """`backup-ns.sh create` of namespace ns from out/, in env (+ extra): it must exit 0
    with nothing on stderr; its stdout."""
    cp = subprocess.run(
        ["bash", str(out / "namespaces" / ns / "backup-ns.sh"), "create"],
        env={**env, **extra},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert cp.stderr == "", cp.stderr
    return cp.stdout


def remove_contents(cluster: RealCluster, namespaces: tuple[str, ...] | list[str]) -> None:
    """Retain: the contents outlive the namespaces; remove the objects (the data stays in
    the driver's state directory), so later tests of the session see no orphans of ours."""
    with contextlib.suppress(RealK8sError):
        cluster.wait_for(
            lambda: all(cluster.api(f"/api/v1/namespaces/{ns}") is None for ns in namespaces),
            timeout=180,
        )
    contents = [
        c["metadata"]["name"]
        for c in cluster.get_json("volumesnapshotcontent")["items"]
        if c["spec"].get("volumeSnapshotRef", {}).get("namespace") in namespaces
    ]
    if contents:
        cluster.kubectl(
            "delete", "volumesnapshotcontent", *contents, "--ignore-not-found", "--wait=false"
        )
