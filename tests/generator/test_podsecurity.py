"""Pod Security: the CronJob pod template of the default config passes "restricted";
the documented exceptions (lock.mode flock, runAsUser 0) fail exactly where expected.
The checker is kubesim's admission (kubesim/podsecurity.py, the real messages);
it is tested here too: each check fires on its violation, and only that check."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from backupns_gen.loader import load_config
from backupns_gen.plan import plan
from backupns_gen.render import render
from kubesim import podsecurity
from tests.genhelpers import EXAMPLE, FULL, plan_of, stub_root


def pod_templates(files: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Namespace → the pod spec of its backup CronJob (the first; a drill CronJob follows)."""
    out = {}
    for path, f in files.items():
        if path.startswith("namespaces/") and path.endswith("/manifests.yaml"):
            for doc in yaml.safe_load_all(f.text):
                if doc["kind"] == "CronJob" and path.split("/")[1] not in out:
                    out[path.split("/")[1]] = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return out


def test_example_cronjobs_pass_restricted() -> None:
    pods = pod_templates(render(plan(load_config(EXAMPLE))))
    assert sorted(pods) == ["blog", "shop-prod", "static-site"]
    assert {ns: podsecurity.forbidden("restricted", pod) for ns, pod in pods.items()} == {
        "blog": [],
        "shop-prod": [],
        "static-site": [],
    }


def test_default_config_pod_security_context(tmp_path: Path) -> None:
    pod = pod_templates(render(plan_of("namespaces: {a: {pvcs: [x]}}"), stub_root(tmp_path)))["a"]
    assert podsecurity.forbidden("restricted", pod) == []
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
    root = 'pod or container "backup-ns" must set securityContext.runAsNonRoot=true'
    assert {ns: podsecurity.forbidden("restricted", pod) for ns, pod in pods.items()} == {
        # lock.mode flock: the hostPath lock directory, and root to write into it
        "files-only": [
            'restricted volume types (volume "locks" uses restricted volume type "hostPath")',
            f"runAsNonRoot != true ({root})",
            'runAsUser=0 (container "backup-ns" must not set runAsUser=0)',
        ],
        "mysql-preferred": [],
        "redis-hooks": [],
        "pg-snapshot-hooks": [],
        "mysql-snapshot": [],
        # job.runAsUser: 0, set on purpose in the config
        "pg-all-options": [
            f"runAsNonRoot != true ({root})",
            'runAsUser=0 (container "backup-ns" must not set runAsUser=0)',
        ],
    }
    assert podsecurity.forbidden("baseline", pods["files-only"]) == [
        'hostPath volumes (volume "locks")'
    ]


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
    ("path", "value", "level", "check"),
    [
        ("hostNetwork", True, "baseline", "hostNamespaces"),
        ("containers.0.securityContext.privileged", True, "baseline", "privileged"),
        (
            "containers.0.securityContext.capabilities.add",
            ["SYS_ADMIN"],
            "baseline",
            "capabilities_baseline",
        ),
        ("volumes", [{"name": "h", "hostPath": {"path": "/"}}], "baseline", "hostPathVolumes"),
        ("containers.0.ports", [{"containerPort": 80, "hostPort": 80}], "baseline", "hostPorts"),
        ("securityContext.appArmorProfile", {"type": "Unconfined"}, "baseline", "appArmorProfile"),
        ("securityContext.seLinuxOptions", {"type": "spc_t"}, "baseline", "seLinuxOptions"),
        ("containers.0.securityContext.procMount", "Unmasked", "baseline", "procMount"),
        (
            "securityContext.seccompProfile",
            {"type": "Unconfined"},
            "baseline",
            "seccompProfile_baseline",
        ),
        (
            "securityContext.sysctls",
            [{"name": "kernel.msgmax", "value": "1"}],
            "baseline",
            "sysctls",
        ),
        (
            "containers.0.securityContext.windowsOptions",
            {"hostProcess": True},
            "baseline",
            "windowsHostProcess",
        ),
        ("volumes", [{"name": "n", "nfs": {}}], "restricted", "restrictedVolumes"),
        (
            "volumes",
            [{"name": "h", "hostPath": {"path": "/"}}],
            "restricted",
            "restrictedVolumes",
        ),
        (
            "containers.0.securityContext.allowPrivilegeEscalation",
            True,
            "restricted",
            "allowPrivilegeEscalation",
        ),
        ("securityContext.runAsNonRoot", False, "restricted", "runAsNonRoot"),
        ("containers.0.securityContext.runAsUser", 0, "restricted", "runAsUser"),
        ("securityContext.seccompProfile", None, "restricted", "seccompProfile_restricted"),
        (
            "containers.0.securityContext.capabilities.drop",
            [],
            "restricted",
            "capabilities_restricted",
        ),
    ],
)
def test_each_check_fires_on_its_violation(path: str, value: Any, level: str, check: str) -> None:
    assert podsecurity.results("restricted", GOOD) == []
    pod = _bad(path, value)
    if value is None:
        del pod["securityContext"]["seccompProfile"]
    assert [r[0] for r in podsecurity.results(level, pod)] == [check]


def test_app_armor_beta_annotations() -> None:
    key = "container.apparmor.security.beta.kubernetes.io/c"
    assert podsecurity.results("baseline", GOOD, {key: "runtime/default"}) == []
    assert podsecurity.results("baseline", GOOD, {key: "localhost/prof"}) == []
    assert podsecurity.forbidden("baseline", GOOD, {key: "unconfined"}) == [
        # joinQuote does not escape: the annotation's own quotes stand inside the quotes
        f'forbidden AppArmor profile (annotation must not set AppArmor profile type to "{key}='
        '"unconfined"")'
    ]


def test_the_newer_baseline_checks_word_their_details_like_the_admission() -> None:
    """Messages of checks no generated pod trips, from policy/check_*.go (v0.33.13); the
    parity test against the real server is tests/realk8s/test_podsecurity_checks.py."""
    pod = _bad("containers.0.securityContext.procMount", "Unmasked")
    pod["securityContext"].update(
        seLinuxOptions={"type": "spc_t", "user": "u"},
        sysctls=[{"name": "kernel.msgmax", "value": "1"}, {"name": "net.ipv4.tcp_rmem"}],
        windowsOptions={"hostProcess": True},
        appArmorProfile={"type": "Unconfined"},
    )
    assert podsecurity.forbidden("baseline", pod) == [
        'forbidden AppArmor profile (pod must not set AppArmor profile type to "Unconfined")',
        'procMount (container "c" must not set securityContext.procMount to "Unmasked")',
        'seLinuxOptions (pod set forbidden securityContext.seLinuxOptions: type "spc_t"; '
        "user may not be set)",
        "forbidden sysctls (kernel.msgmax)",
        "hostProcess (pod must not set securityContext.windowsOptions.hostProcess=true)",
    ]


def test_every_pod_runs_as_65532_with_a_command_because_the_image_declares_neither() -> None:
    """The default image (registry.k8s.io/kubectl) has no USER and kubectl as its
    entrypoint: with runAsNonRoot alone the kubelet would refuse to start it, and
    without command: it would run kubectl. So every pod template names both."""
    files = render(plan(load_config(EXAMPLE)))
    pods = list(pod_templates(files).values())
    for doc in yaml.safe_load_all(files["cluster/controller.yaml"].text):
        if doc["kind"] == "CronJob":
            pods.append(doc["spec"]["jobTemplate"]["spec"]["template"]["spec"])
    assert len(pods) == 6  # three namespaces, the controller's run, sync and status
    for pod in pods:
        container = pod["containers"][0]
        context = {**pod["securityContext"], **container.get("securityContext", {})}
        assert (context["runAsUser"], context["runAsGroup"]) == (65532, 65532)
        assert container["command"][0] == "/bin/bash"
        # the controller's script, or the namespace's gzipped job script, from its ConfigMap
        assert container["command"][1] == "-c" or container["command"][1].startswith(
            "/opt/backup-ns/"
        )
        assert "/opt/backup-ns/" in " ".join(container["command"])
        assert podsecurity.forbidden("restricted", pod) == []


def test_scheduled_drill_pods_pass_restricted() -> None:
    """The namespace's suspended drill CronJob is its backup pod but for the command; the
    controller's drill CronJob is like its other CronJobs: both pass restricted."""
    config = 'controller: {verify: {schedule: "H 2 * * *"}}\nnamespaces:\n  shop: {pvcs: [data]}\n'
    files = render(plan_of(config))
    jobs = {
        d["metadata"]["name"]: d
        for d in yaml.safe_load_all(files["namespaces/shop/manifests.yaml"].text)
        if d["kind"] == "CronJob"
    }
    assert sorted(jobs) == ["backup-ns", "backup-ns-drill"]
    assert jobs["backup-ns-drill"]["spec"]["suspend"] is True
    backup, drill = (jobs[n]["spec"]["jobTemplate"]["spec"]["template"]["spec"] for n in jobs)
    assert podsecurity.forbidden("restricted", drill) == []
    assert drill["containers"][0].pop("command")[-1].endswith('verify "$DRILL_SNAPSHOT"')
    backup["containers"][0].pop("command")
    assert drill == backup
    (ctl,) = [
        d["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        for d in yaml.safe_load_all(files["cluster/controller.yaml"].text)
        if d["kind"] == "CronJob" and d["metadata"]["name"] == "backup-ns-controller-drill"
    ]
    assert podsecurity.forbidden("restricted", ctl) == []
