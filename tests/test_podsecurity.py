"""Pod Security: the CronJob pod template of the default config passes "restricted";
the documented exceptions (lock.mode flock, runAsUser 0) fail exactly where expected.
The checker (tests/podsecurity.py) is tested too: each check fires on its violation."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from backupns_gen.loader import load_config
from backupns_gen.plan import plan
from backupns_gen.render import render
from tests import podsecurity
from tests.genhelpers import EXAMPLE, FULL, plan_of, stub_root


def pod_templates(files: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Namespace → the pod spec of its CronJob."""
    out = {}
    for path, f in files.items():
        if path.startswith("namespaces/") and path.endswith("/manifests.yaml"):
            for doc in yaml.safe_load_all(f.text):
                if doc["kind"] == "CronJob":
                    out[path.split("/")[1]] = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return out


def test_example_cronjobs_pass_restricted() -> None:
    pods = pod_templates(render(plan(load_config(EXAMPLE))))
    assert sorted(pods) == ["blog", "shop-prod", "static-site"]
    assert {ns: podsecurity.violations(pod) for ns, pod in pods.items()} == {
        "blog": [],
        "shop-prod": [],
        "static-site": [],
    }


def test_default_config_pod_security_context(tmp_path: Path) -> None:
    pod = pod_templates(render(plan_of("namespaces: {a: {pvcs: [x]}}"), stub_root(tmp_path)))["a"]
    assert podsecurity.violations(pod) == []
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert pod["containers"][0]["securityContext"] == {
        "runAsUser": 65532,
        "runAsGroup": 65532,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert [v["name"] for v in pod["volumes"]] == ["script", "tmp"]


def test_full_config_exceptions_are_exactly_the_documented_ones() -> None:
    pods = pod_templates(render(plan(load_config(FULL))))
    assert {ns: podsecurity.violations(pod) for ns, pod in pods.items()} == {
        # lock.mode flock: the hostPath lock directory, and root to write into it
        "files-only": [
            "hostPath volumes: ['locks']",
            "restricted volume types: [('locks', 'hostPath')]",
            "runAsNonRoot != true: pod or containers ['backup-ns']",
            "runAsUser=0: ['backup-ns']",
        ],
        "mysql-preferred": [],
        "redis-hooks": [],
        # job.runAsUser: 0, set on purpose in the config
        "pg-all-options": [
            "runAsNonRoot != true: pod or containers ['backup-ns']",
            "runAsUser=0: ['backup-ns']",
        ],
    }
    assert podsecurity.violations(pods["files-only"], "baseline") == ["hostPath volumes: ['locks']"]


GOOD: dict[str, Any] = {
    "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
    "containers": [
        {
            "name": "c",
            "securityContext": {
                "runAsUser": 1000,
                "allowPrivilegeEscalation": False,
                "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
            },
        }
    ],
    "volumes": [{"name": "v", "emptyDir": {}}, {"name": "p", "persistentVolumeClaim": {}}],
}


def _bad(path: str, value: Any) -> dict[str, Any]:
    pod = copy.deepcopy(GOOD)
    *keys, last = path.split(".")
    obj: Any = pod
    for key in keys:
        obj = obj[int(key)] if key.isdigit() else obj.setdefault(key, {})
    obj[last] = value
    return pod


@pytest.mark.parametrize(
    ("path", "value", "check"),
    [
        ("hostNetwork", True, "host_namespaces"),
        ("containers.0.securityContext.privileged", True, "privileged"),
        ("containers.0.securityContext.capabilities.add", ["SYS_ADMIN"], "capabilities_baseline"),
        ("volumes", [{"name": "h", "hostPath": {"path": "/"}}], "host_path_volumes"),
        ("containers.0.ports", [{"containerPort": 80, "hostPort": 80}], "host_ports"),
        ("securityContext.appArmorProfile", {"type": "Unconfined"}, "app_armor"),
        ("securityContext.seLinuxOptions", {"type": "spc_t"}, "se_linux"),
        ("containers.0.securityContext.procMount", "Unmasked", "proc_mount"),
        ("securityContext.seccompProfile", {"type": "Unconfined"}, "seccomp_baseline"),
        ("securityContext.sysctls", [{"name": "kernel.msgmax", "value": "1"}], "sysctls"),
        ("volumes", [{"name": "n", "nfs": {}}], "restricted_volumes"),
        (
            "containers.0.securityContext.allowPrivilegeEscalation",
            True,
            "allow_privilege_escalation",
        ),
        ("securityContext.runAsNonRoot", False, "run_as_non_root"),
        ("containers.0.securityContext.runAsUser", 0, "run_as_user"),
        ("securityContext.seccompProfile", None, "seccomp_restricted"),
        ("containers.0.securityContext.capabilities.drop", [], "capabilities_restricted"),
        ("containers.0.securityContext.windowsOptions", {"hostProcess": True}, "host_process"),
    ],
)
def test_each_check_fires_on_its_violation(path: str, value: Any, check: str) -> None:
    assert podsecurity.violations(GOOD) == []
    pod = _bad(path, value)
    if value is None:
        del pod["securityContext"]["seccompProfile"]
    assert getattr(podsecurity, check)(pod) != []
