"""kubesim against the real kube-apiserver v1.33: the same
kubectl commands, the same answers. Each case runs on both servers and checks
one expectation written down from the real server, so kubesim cannot drift:

- strict field validation (kubectl's default `--validate=strict`): an unknown
  field is refused; `--validate=false` drops it; `--validate=warn` warns;
- names over 253 characters: `must be no more than 253 characters`;
- defaulting of pod templates (the rendered CronJob and workloads read back
  identically: compared between the two servers directly);
- Pod Security admission: `enforce` refuses a Pod with the real message,
  `warn` warns for a workload, the toolbox's helper pod passes `restricted`.
"""

from __future__ import annotations

import json
import secrets
import subprocess
from pathlib import Path
from typing import Any

import pytest

from kubesim.fixture import KubeSim
from tests.realk8s.fixture import RealCluster

Cluster = RealCluster | KubeSim
ROOT = Path(__file__).resolve().parents[2]

SERVERS = [
    pytest.param("realk8s", marks=pytest.mark.realk8s, id="realk8s"),
    pytest.param("kubesim", id="kubesim"),
]


@pytest.fixture(params=SERVERS)
def server(request: pytest.FixtureRequest) -> Cluster:
    cluster: Cluster = request.getfixturevalue(request.param)
    return cluster


def _ns(cluster: Cluster, labels: dict[str, str] | None = None) -> str:
    name = "par-" + secrets.token_hex(3)
    doc: dict[str, Any] = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    if labels:
        doc["metadata"]["labels"] = labels
    cluster.apply(json.dumps(doc))
    if isinstance(cluster, RealCluster):  # pods need the ServiceAccount admission's "default"
        cluster.wait_for(
            lambda: cluster.api(f"/api/v1/namespaces/{name}/serviceaccounts/default"), timeout=60
        )
    return name


def _deployment(ns: str, name: str = "web", extra_spec: dict[str, Any] | None = None) -> str:
    doc = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]},
            },
            **(extra_spec or {}),
        },
    }
    return json.dumps(doc)


def _vs(ns: str, name: str = "snap", extra_spec: dict[str, Any] | None = None) -> str:
    return json.dumps(
        {
            "apiVersion": "snapshot.storage.k8s.io/v1",
            "kind": "VolumeSnapshot",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"source": {"persistentVolumeClaimName": "data"}, **(extra_spec or {})},
        }
    )


# -- strict field validation ----------------------------------------------------------------
def test_unknown_field_is_refused_by_default(server: Cluster) -> None:
    ns = _ns(server)
    cp = server.kubectl("apply", "-f", "-", input=_deployment(ns, extra_spec={"foo": 1}))
    assert cp.returncode == 1
    assert cp.stderr == (
        'Error from server (BadRequest): error when creating "STDIN": Deployment in version '
        '"v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.foo"\n'
    )
    cp = server.kubectl("create", "-f", "-", input=_vs(ns, extra_spec={"foo": 1, "bar": 2}))
    assert cp.returncode == 1
    assert cp.stderr == (
        'Error from server (BadRequest): error when creating "STDIN": VolumeSnapshot in version '
        '"v1" cannot be handled as a VolumeSnapshot: strict decoding error: unknown field '
        '"spec.bar", unknown field "spec.foo"\n'
    )


def test_raw_create_with_strict_validation(server: Cluster) -> None:
    """`kubectl create --raw PATH?fieldValidation=Strict -f -` (no discovery, no OpenAPI
    download): the server refuses an unknown field with the typed form's message
    (without its 'error when creating "STDIN": '), and creates a valid object."""
    ns = _ns(server)
    path = (
        f"/apis/snapshot.storage.k8s.io/v1/namespaces/{ns}/volumesnapshots"
        "?fieldValidation=Strict"
    )
    cp = server.kubectl("create", "--raw", path, "-f", "-", input=_vs(ns, extra_spec={"foo": 1}))
    assert cp.returncode == 1
    assert cp.stderr == (
        'Error from server (BadRequest): VolumeSnapshot in version "v1" cannot be handled as '
        'a VolumeSnapshot: strict decoding error: unknown field "spec.foo"\n'
    )
    cp = server.kubectl("create", "--raw", path, "-f", "-", input=_vs(ns))
    assert cp.returncode == 0, cp.stderr
    assert json.loads(cp.stdout)["metadata"]["name"] == "snap"


def test_unknown_field_nested_in_a_list(server: Cluster) -> None:
    ns = _ns(server)
    doc = json.loads(_deployment(ns))
    doc["spec"]["template"]["spec"]["containers"][0]["imagePullSecret"] = "x"
    cp = server.kubectl("create", "-f", "-", input=json.dumps(doc))
    assert cp.returncode == 1
    assert cp.stderr.endswith(
        'strict decoding error: unknown field "spec.template.spec.containers[0].imagePullSecret"\n'
    ), cp.stderr


def test_validate_false_drops_and_warn_warns(server: Cluster) -> None:
    ns = _ns(server)
    cp = server.kubectl(
        "apply", "--validate=false", "-f", "-", input=_deployment(ns, "quiet", {"foo": 1})
    )
    assert (cp.returncode, cp.stderr) == (0, ""), cp.stderr
    assert "foo" not in server.get_json("deployment", "quiet", "-n", ns)["spec"]
    cp = server.kubectl(
        "apply", "--validate=warn", "-f", "-", input=_deployment(ns, "loud", {"foo": 1})
    )
    assert cp.returncode == 0, cp.stderr
    assert cp.stderr == 'Warning: unknown field "spec.foo"\n'
    assert "foo" not in server.get_json("deployment", "loud", "-n", ns)["spec"]


# -- names --------------------------------------------------------------------------------
def test_name_longer_than_253_characters(server: Cluster) -> None:
    ns = _ns(server)
    name = "a" * 254
    doc = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}}
    cp = server.kubectl("create", "-f", "-", input=json.dumps(doc))
    assert cp.returncode == 1
    assert cp.stderr == (
        f'The ConfigMap "{name}" is invalid: metadata.name: Invalid value: "{name}": '
        "must be no more than 253 characters\n"
    )


# -- defaulting ---------------------------------------------------------------------------
def _rendered_cronjob(ns: str) -> str:
    manifests = (ROOT / "out" / "namespaces" / "static-site" / "manifests.yaml").read_text()
    doc = next(d for d in manifests.split("\n---\n") if "\nkind: CronJob" in "\n" + d)
    return doc.replace('namespace: "static-site"', f'namespace: "{ns}"')


WORKLOADS = {
    "statefulset": {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db"},
        "spec": {
            "selector": {"matchLabels": {"app": "db"}},
            "template": {
                "metadata": {"labels": {"app": "db"}},
                "spec": {
                    "containers": [
                        {
                            "name": "db",
                            "image": "postgres:16",
                            "ports": [{"containerPort": 5432}],
                            "env": [
                                {
                                    "name": "POD",
                                    "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}},
                                }
                            ],
                            "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                        }
                    ]
                },
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data"},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": "1Gi"}},
                    },
                }
            ],
        },
    },
    "deployment": json.loads(_deployment("NS")),
}


@pytest.mark.realk8s
def test_defaulting_matches_the_real_server(realk8s: RealCluster, kubesim: KubeSim) -> None:
    """The rendered CronJob and typical workloads read back with the same spec."""
    specs: dict[str, list[Any]] = {}
    for cluster in (realk8s, kubesim):
        ns = _ns(cluster)
        cluster.kubectl("apply", "-f", "-", input=_rendered_cronjob(ns), check=True)
        got = [cluster.get_json("cronjob", "backup-ns", "-n", ns)["spec"]]
        for name, doc in WORKLOADS.items():
            doc = json.loads(json.dumps(doc).replace('"NS"', json.dumps(ns)))
            doc["metadata"]["namespace"] = ns
            cluster.kubectl("create", "-f", "-", input=json.dumps(doc), check=True)
            spec = cluster.get_json(name, doc["metadata"]["name"], "-n", ns)["spec"]
            for claim in spec.get("volumeClaimTemplates", []):
                claim.pop("status", None)  # Pending on the real server: a status, not a default
            got.append(spec)
        specs[type(cluster).__name__] = got
    assert specs["KubeSim"] == specs["RealCluster"]


# -- Pod Security admission ---------------------------------------------------------------
POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "p"},
    "spec": {
        "containers": [
            {
                "name": "c",
                "image": "busybox:1.36",
                "volumeMounts": [{"name": "locks", "mountPath": "/locks"}],
            }
        ],
        "volumes": [{"name": "locks", "hostPath": {"path": "/tmp"}}],
    },
}


@pytest.mark.parametrize("level", ["baseline", "restricted"])
def test_pod_security_enforce_refuses_with_the_real_message(server: Cluster, level: str) -> None:
    ns = _ns(server, {"pod-security.kubernetes.io/enforce": level})
    cp = server.kubectl("create", "-n", ns, "-f", "-", input=json.dumps(POD))
    assert cp.returncode == 1
    want = {
        "baseline": 'violates PodSecurity "baseline:latest": hostPath volumes (volume "locks")',
        "restricted": (
            'violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false '
            '(container "c" must set securityContext.allowPrivilegeEscalation=false), '
            'unrestricted capabilities (container "c" must set '
            'securityContext.capabilities.drop=["ALL"]), restricted volume types (volume '
            '"locks" uses restricted volume type "hostPath"), runAsNonRoot != true (pod or '
            'container "c" must set securityContext.runAsNonRoot=true), seccompProfile (pod or '
            'container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or '
            '"Localhost")'
        ),
    }[level]
    assert cp.stderr == (
        f'Error from server (Forbidden): error when creating "STDIN": pods "p" is forbidden: '
        f"{want}\n"
    )


def test_pod_security_warn_for_a_workload(server: Cluster) -> None:
    ns = _ns(server, {"pod-security.kubernetes.io/warn": "baseline"})
    doc = json.loads(_deployment(ns))
    doc["spec"]["template"]["spec"]["hostNetwork"] = True
    cp = server.kubectl("apply", "-f", "-", input=json.dumps(doc))
    assert cp.returncode == 0, cp.stderr
    assert cp.stderr == (
        'Warning: would violate PodSecurity "baseline:latest": host namespaces (hostNetwork=true)\n'
    )


def test_pod_security_admits_the_toolbox_helper_pod_without_a_warning(server: Cluster) -> None:
    """The helper pod of verify / dump-download / dump-restore, as the rendered script
    builds it (sourced, main not run), under enforce and warn `restricted`."""
    ns = _ns(
        server,
        {
            "pod-security.kubernetes.io/enforce": "restricted",
            "pod-security.kubernetes.io/warn": "restricted",
        },
    )
    script = ROOT / "out" / "namespaces" / "shop-prod" / "backup-ns.sh"
    manifest = subprocess.run(
        [
            "bash",
            "-c",
            'source "$1"; BAK_NAMESPACE=$2; helper_pod_manifest helper scratch verify',
            "x",
            str(script),
            ns,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    cp = server.kubectl("create", "-f", "-", input=manifest)
    assert (cp.returncode, cp.stdout, cp.stderr) == (0, "pod/helper created\n", ""), cp.stderr


# -- snapshot-controller: a snapshot of a PVC that does not exist --------------------------
def test_snapshot_of_a_missing_pvc_gets_the_real_error_status(server: Cluster) -> None:
    """No class in the spec: the default-class lookup fails, status.error only (no
    readyToUse, so the toolbox says readyToUse is "unset"); an explicit class: the content
    cannot be made, readyToUse false."""
    ns = _ns(server)
    klass = server.get_json("volumesnapshotclass")["items"][0]["metadata"]["name"]
    server.apply(_vs(ns, "plain", {"source": {"persistentVolumeClaimName": "nope"}}))
    server.apply(
        _vs(
            ns,
            "classy",
            {"source": {"persistentVolumeClaimName": "nope"}, "volumeSnapshotClassName": klass},
        )
    )

    def status(name: str) -> Any:
        st = server.get_json("volumesnapshot", name, "-n", ns).get("status") or {}
        return st if st.get("error") else None

    plain, classy = (
        server.wait_for(lambda: status("plain")),
        server.wait_for(lambda: status("classy")),
    )
    assert sorted(plain) == ["error"], plain
    assert plain["error"]["message"] == (
        "Failed to set default snapshot class with error failed to retrieve PVC nope from the "
        'lister: "persistentvolumeclaim \\"nope\\" not found"'
    )
    assert sorted(classy) == ["error", "readyToUse"] and classy["readyToUse"] is False, classy
    assert classy["error"]["message"] == (
        "Failed to create snapshot content with error snapshot controller failed to update "
        "classy on API server: cannot get claim from snapshot"
    )


# -- server-side apply field ownership ----------------------------------------------------
def _ssa(server: Cluster, ns: str, labels: dict[str, str], manager: str = "mgr-a") -> None:
    doc = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "owned", "namespace": ns, "labels": labels},
    }
    cp = server.kubectl(
        "apply",
        "--server-side",
        "--force-conflicts",
        f"--field-manager={manager}",
        "-f",
        "-",
        input=json.dumps(doc),
    )
    assert cp.returncode == 0, cp.stderr


def test_server_side_apply_removes_what_the_same_manager_left_out(server: Cluster) -> None:
    """A manager's apply that leaves out a field it applied before removes that field,
    unless another manager owns it (one that applied it too, or changed it since).
    The retention controller's sync relies on this (backup-ns-controller.sh: sync)."""
    ns = _ns(server)
    _ssa(server, ns, {"a": "1", "b": "1", "c": "1", "d": "1"})
    _ssa(server, ns, {"c": "1"}, manager="mgr-b")  # c: also owned by mgr-b
    server.kubectl("label", "configmap", "owned", "-n", ns, "--overwrite", "d=2", check=True)
    _ssa(server, ns, {"e": "1"})
    labels = server.get_json("configmap", "owned", "-n", ns)["metadata"].get("labels", {})
    assert labels == {"c": "1", "d": "2", "e": "1"}
    _ssa(server, ns, {}, manager="mgr-b")
    _ssa(server, ns, {})
    # what kubectl label set belongs to kubectl-label: no apply removes it
    assert server.get_json("configmap", "owned", "-n", ns)["metadata"]["labels"] == {"d": "2"}


# -- a PVC whose StorageClass does not exist ----------------------------------------------
def test_a_claim_of_a_missing_storage_class_stays_pending(server: Cluster) -> None:
    """No provisioning without the class: Pending, one ProvisioningFailed event (what the
    controller's "is being restored from it" rule sees on a restore that cannot finish)."""
    ns = _ns(server)
    doc = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "p", "namespace": ns},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": "no-such-class",
            "resources": {"requests": {"storage": "1Gi"}},
        },
    }
    server.apply(json.dumps(doc))

    def events() -> list[tuple[str, str, str]]:
        items = server.get_json("events", "-n", ns)["items"]
        return [(e["type"], e["reason"], e["message"]) for e in items]

    got = server.wait_for(events, timeout=60)
    assert got == [
        ("Warning", "ProvisioningFailed", 'storageclass.storage.k8s.io "no-such-class" not found')
    ]
    claim = server.get_json("pvc", "p", "-n", ns)
    assert claim["status"] == {"phase": "Pending"}
    assert "volumeName" not in claim["spec"]
