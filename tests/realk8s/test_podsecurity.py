"""Pod Security admission on the real kube-apiserver: the Jobs of the DEFAULT
config run in tenant namespaces that enforce `baseline` and `restricted`.

`kubectl create job --from=cronjob/backup-ns` in such a namespace, then the
real Job controller (kube-controller-manager) must create the pod: a pod
appears, and no `FailedCreate` event (which is how a Pod Security refusal
shows for controller-made pods). No kubelet runs, so the pod stays Pending.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest

from tests.realk8s.fixture import RealCluster
from tests.realk8s.render import render

pytestmark = pytest.mark.realk8s


def _failed_create(cluster: RealCluster, ns: str) -> list[str]:
    events = cluster.api(f"/api/v1/namespaces/{ns}/events") or {"items": []}
    return [e.get("message", "") for e in events["items"] if e.get("reason") == "FailedCreate"]


def _job_pods(cluster: RealCluster, ns: str, job: str) -> list[Any]:
    pods = cluster.api(f"/api/v1/namespaces/{ns}/pods?labelSelector=job-name%3D{job}")
    return list((pods or {}).get("items", []))


@pytest.mark.parametrize("level", ["baseline", "restricted"])
def test_default_config_job_pods_are_admitted(
    realk8s: RealCluster, tmp_path: Path, level: str
) -> None:
    ns = f"psa-{level}-" + secrets.token_hex(3)
    out = render(
        tmp_path / "backupns.yaml",
        tmp_path / "out",
        text=f"namespaces:\n  {ns}: {{pvcs: [data], database: none}}\n",
    )
    realk8s.create_namespace(
        ns,
        labels={
            "pod-security.kubernetes.io/enforce": level,
            "pod-security.kubernetes.io/warn": level,
        },
    )
    env = realk8s.env(tmp_path)
    applied = realk8s.kubectl("apply", "-R", "-f", str(out), env=env)
    assert applied.returncode == 0, applied.stderr
    # no "would violate PodSecurity" warning (other tests of the session may have made the
    # cluster-wide objects without kubectl's last-applied annotation: that warning is theirs)
    assert "PodSecurity" not in applied.stderr, applied.stderr

    created = realk8s.kubectl(
        "create", "job", "--from=cronjob/backup-ns", "manual", "-n", ns, env=env
    )
    assert created.returncode == 0, created.stderr
    assert created.stderr == "", created.stderr

    def settled() -> Any:
        return _failed_create(realk8s, ns) or _job_pods(realk8s, ns, "manual")

    realk8s.wait_for(settled, timeout=60)
    assert _failed_create(realk8s, ns) == []
    pods = _job_pods(realk8s, ns, "manual")
    assert len(pods) == 1, pods
