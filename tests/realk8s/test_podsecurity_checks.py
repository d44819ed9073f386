"""Pod Security admission, baseline checks no generated pod trips: the same objects on
kubesim and the real kube-apiserver v1.33, one expectation written down from the real
server (kubesim/podsecurity.py is also the checker of the manifest tests,
tests/generator/test_podsecurity.py).

- seLinuxOptions, sysctls: a Pod is refused with the real message;
- appArmorProfile (field and beta annotation): a Deployment gets the real warning. A Pod
  is not compared: the real server first copies the field into the annotations and back
  (version skew handling of the pod strategy, with a deprecation warning), kubesim not.
- procMount, windowsHostProcess: not comparable: the real server's validation refuses
  such pods before admission (`hostUsers` must be false to use `Unmasked`; hostProcess
  containers are disallowed by cluster policy).
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest

from kubesim.fixture import KubeSim
from tests.realk8s.fixture import RealCluster

Cluster = RealCluster | KubeSim


@pytest.fixture(
    params=[pytest.param("realk8s", marks=pytest.mark.realk8s, id="realk8s"), "kubesim"]
)
def server(request: pytest.FixtureRequest) -> Cluster:
    cluster: Cluster = request.getfixturevalue(request.param)
    return cluster


def _baseline_ns(cluster: Cluster, mode: str = "enforce") -> str:
    name = "psc-" + secrets.token_hex(3)
    labels = {f"pod-security.kubernetes.io/{mode}": "baseline"}
    doc = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}
    cluster.apply(json.dumps(doc))
    if isinstance(cluster, RealCluster):  # pods need the ServiceAccount admission's "default"
        cluster.wait_for(
            lambda: cluster.api(f"/api/v1/namespaces/{name}/serviceaccounts/default"), timeout=60
        )
    return name


def _pod(pod_sc: dict[str, Any], container_sc: dict[str, Any], **meta: Any) -> str:
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p", **meta},
            "spec": {
                "securityContext": pod_sc,
                "containers": [
                    {"name": "c", "image": "busybox:1.36", "securityContext": container_sc},
                    {"name": "d", "image": "busybox:1.36", "securityContext": container_sc},
                ],
            },
        }
    )


CASES = {
    "seLinuxOptions": (
        _pod({"seLinuxOptions": {"type": "spc_t"}}, {"seLinuxOptions": {"role": "r"}}),
        'seLinuxOptions (pod and containers "c", "d" set forbidden'
        ' securityContext.seLinuxOptions: type "spc_t"; role may not be set)',
    ),
    "sysctls": (
        _pod(
            {
                "sysctls": [
                    {"name": "kernel.msgmax", "value": "65536"},
                    {"name": "net.ipv4.tcp_rmem", "value": "4096 87380 6291456"},
                    {"name": "kernel.msgmnb", "value": "65536"},
                ]
            },
            {},
        ),
        "forbidden sysctls (kernel.msgmax, kernel.msgmnb)",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_baseline_refuses_with_the_real_message(server: Cluster, case: str) -> None:
    ns = _baseline_ns(server)
    pod, want = CASES[case]
    cp = server.kubectl("create", "-n", ns, "-f", "-", input=pod)
    assert cp.returncode == 1
    assert cp.stderr == (
        'Error from server (Forbidden): error when creating "STDIN": pods "p" is forbidden: '
        f'violates PodSecurity "baseline:latest": {want}\n'
    )


APPARMOR = "container.apparmor.security.beta.kubernetes.io/c"
WORKLOAD_CASES = {
    "appArmorProfile": (
        {},
        'forbidden AppArmor profile (pod must not set AppArmor profile type to "Unconfined")',
    ),
    "appArmorProfile+annotation": (
        {APPARMOR: "unconfined"},
        "forbidden AppArmor profiles (pod and annotation must not set AppArmor profile type to "
        f'"Unconfined", "{APPARMOR}="unconfined"")',
    ),
}


@pytest.mark.parametrize("case", sorted(WORKLOAD_CASES))
def test_baseline_warns_for_a_workload_with_the_real_message(server: Cluster, case: str) -> None:
    ns = _baseline_ns(server, "warn")
    annotations, want = WORKLOAD_CASES[case]
    template: dict[str, Any] = {"labels": {"app": "w"}}
    if annotations:
        template["annotations"] = annotations
    doc = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "w", "namespace": ns},
        "spec": {
            "selector": {"matchLabels": {"app": "w"}},
            "template": {
                "metadata": template,
                "spec": {
                    "securityContext": {"appArmorProfile": {"type": "Unconfined"}},
                    "containers": [{"name": "c", "image": "busybox:1.36"}],
                },
            },
        },
    }
    cp = server.kubectl("create", "-f", "-", input=json.dumps(doc))
    assert cp.returncode == 0, cp.stderr
    assert cp.stderr == f'Warning: would violate PodSecurity "baseline:latest": {want}\n'
