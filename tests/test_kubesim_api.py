"""kubesim API behaviour, driven by the real kubectl (kube-api-notes §1-4)."""

from __future__ import annotations

import json

from tests.kubesim.fixture import KubeSim

KUBESIM_ARGS = ["--snapshot-ready-delay", "0.2"]

VS = """apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata:
  name: {name}
  namespace: {ns}
  labels: {{app: x}}
spec:
  source:
    persistentVolumeClaimName: data
"""


def test_namespaces_and_version(kubesim: KubeSim) -> None:
    cp = kubesim.kubectl("get", "ns", "-o", "name")
    assert cp.returncode == 0, cp.stderr
    assert "namespace/default" in cp.stdout.split()
    cp = kubesim.kubectl("version", "-o", "json")
    assert json.loads(cp.stdout)["serverVersion"]["minor"] == "32"
