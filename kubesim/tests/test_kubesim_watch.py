"""kubesim watch: `kubectl get -w`, `kubectl wait` (kube-api-notes §4.8), raw watch streams."""

from __future__ import annotations

import json
import subprocess
import threading
import urllib.request
from typing import Any

import pytest

from kubesim.fixture import KUBECTL, KubeSim

KUBESIM_ARGS = ["--snapshot-ready-delay", "0.3"]


def vs_yaml(name: str, labels: str = "{app: w}") -> str:
    return f"""apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata: {{name: {name}, namespace: w, labels: {labels}}}
spec: {{source: {{persistentVolumeClaimName: data}}}}
"""


@pytest.fixture(scope="module", autouse=True)
def ns(kubesim: KubeSim) -> str:
    kubesim.kubectl("create", "namespace", "w", check=True)
    kubesim.apply("""apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: w}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
""")
    return "w"


def read_lines_until(proc: subprocess.Popen[str], want: int, timeout: float = 10.0) -> list[str]:
    lines: list[str] = []

    def reader() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if len(lines) >= want:
                return

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    t.join(timeout)
    proc.terminate()
    proc.wait(5)
    return lines


def test_wait_for_ready_snapshot(kubesim: KubeSim) -> None:
    kubesim.apply(vs_yaml("wready"))
    cp = kubesim.kubectl(
        "wait",
        "--for=jsonpath={.status.readyToUse}=true",
        "--timeout=20s",
        "volumesnapshot/wready",
        "-n",
        "w",
    )
    assert (cp.returncode, cp.stdout) == (
        0,
        "volumesnapshot.snapshot.storage.k8s.io/wready condition met\n",
    ), cp.stderr
    watches = kubesim.wait_for(
        lambda: [
            r
            for r in kubesim.requests()
            if r["command"] == "kubectl wait" and "watch=true" in r["query"]
        ]
    )
    assert all("fieldSelector=metadata.name%3Dwready" in r["query"] for r in watches)
    assert all(r["status"] == 200 for r in watches)


def test_wait_honours_field_selector(kubesim: KubeSim) -> None:
    """Another ready snapshot must not satisfy the wait (kube-api-notes §4.8)."""
    kubesim.fault(
        {"type": "snapshot", "match": {"namespace": "w", "name": "never"}, "mode": "never-ready"}
    )
    kubesim.apply(vs_yaml("never"))
    kubesim.apply(vs_yaml("other"))
    kubesim.kubectl(
        "wait",
        "--for=jsonpath={.status.readyToUse}=true",
        "--timeout=20s",
        "vs/other",
        "-n",
        "w",
        check=True,
    )
    cp = kubesim.kubectl(
        "wait",
        "--for=jsonpath={.status.readyToUse}=true",
        "--timeout=1s",
        "volumesnapshot/never",
        "-n",
        "w",
    )
    assert (cp.returncode, cp.stderr) == (
        1,
        "error: timed out waiting for the condition on volumesnapshots/never\n",
    )
    kubesim.clear_faults()


def test_wait_missing_object_and_namespace(kubesim: KubeSim) -> None:
    cp = kubesim.kubectl(
        "wait", "--for=jsonpath={.status.readyToUse}=true", "--timeout=2s", "vs/ghost", "-n", "w"
    )
    assert cp.returncode == 1
    assert cp.stderr == (
        'Error from server (NotFound): volumesnapshots.snapshot.storage.k8s.io "ghost" not found\n'
    )
    cp = kubesim.kubectl(
        "wait", "--for=jsonpath={.status.readyToUse}=true", "--timeout=2s", "vs/ghost", "-n", "nons"
    )
    assert cp.stderr == 'Error from server (NotFound): namespaces "nons" not found\n'


def test_wait_for_delete_and_conditions(kubesim: KubeSim) -> None:
    kubesim.apply(vs_yaml("gone"))
    proc = subprocess.Popen(
        [KUBECTL, "wait", "--for=delete", "vs/gone", "-n", "w", "--timeout=20s"],
        env=kubesim.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    kubesim.wait_for_watch("kubectl wait")
    kubesim.kubectl("delete", "vs", "gone", "-n", "w", "--wait=false", check=True)
    out, err = proc.communicate(timeout=25)
    assert (proc.returncode, out) == (
        0,
        "volumesnapshot.snapshot.storage.k8s.io/gone condition met\n",
    ), err
    kubesim.apply("""apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: w}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: nginx}]}
""")
    cp = kubesim.kubectl(
        "wait", "--for=condition=Available", "deployment/web", "-n", "w", "--timeout=10s"
    )
    assert cp.stdout == "deployment.apps/web condition met\n", cp.stderr
    cp = kubesim.kubectl("rollout", "status", "deployment/web", "-n", "w", "--timeout=10s")
    assert cp.stdout == 'deployment "web" successfully rolled out\n', cp.stderr
    cp = kubesim.kubectl(
        "wait", "--for=condition=Ready", "pod", "-l", "app=web", "-n", "w", "--timeout=10s"
    )
    assert cp.returncode == 0 and cp.stdout.endswith("condition met\n"), cp.stderr


def test_get_watch_streams_changes(kubesim: KubeSim) -> None:
    proc = subprocess.Popen(
        [KUBECTL, "get", "vs", "-n", "w", "-l", "stream=yes", "-w", "-o", "name"],
        env=kubesim.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    kubesim.wait_for_watch("kubectl get")
    kubesim.apply(vs_yaml("streamed", labels="{stream: 'yes'}"))
    lines = read_lines_until(proc, 1)
    assert lines[:1] == ["volumesnapshot.snapshot.storage.k8s.io/streamed"]


def _raw_watch(url: str, n: int) -> list[dict[str, Any]]:
    events = []
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.headers["Content-Type"] == "application/json"
        for line in resp:
            events.append(json.loads(line))
            if len(events) >= n:
                break
    return events


def test_raw_watch_from_resource_version_with_selector_transitions(kubesim: KubeSim) -> None:
    base = kubesim.url + "/apis/snapshot.storage.k8s.io/v1/namespaces/w/volumesnapshots"
    with urllib.request.urlopen(base) as resp:
        rv = json.loads(resp.read())["metadata"]["resourceVersion"]
    k = kubesim.kubectl
    k("apply", "-f", "-", input=vs_yaml("rawx", labels="{tier: a}"), check=True)
    k("label", "vs/rawx", "-n", "w", "tier=b", "--overwrite", check=True)
    k("label", "vs/rawx", "-n", "w", "tier=a", "--overwrite", check=True)
    k("delete", "vs", "rawx", "-n", "w", "--wait=false", check=True)
    url = f"{base}?watch=true&labelSelector=tier%3Da&resourceVersion={rv}&timeoutSeconds=2"
    events = [e for e in _raw_watch(url, 100) if e["type"] != "MODIFIED"]  # MODIFIED: controller
    assert [e["type"] for e in events] == ["ADDED", "DELETED", "ADDED", "DELETED"]
    for e in events:
        assert e["object"]["kind"] == "VolumeSnapshot"
        assert e["object"]["apiVersion"] == "snapshot.storage.k8s.io/v1"
        assert int(e["object"]["metadata"]["resourceVersion"]) > int(rv)
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert rvs == sorted(rvs)


def test_raw_watch_without_resource_version_lists_first(kubesim: KubeSim) -> None:
    kubesim.apply(vs_yaml("listed", labels="{first: 'yes'}"))
    base = kubesim.url + "/apis/snapshot.storage.k8s.io/v1/volumesnapshots"
    events = _raw_watch(f"{base}?watch=1&labelSelector=first&timeoutSeconds=2", 1)
    assert events[0]["type"] == "ADDED"
    assert events[0]["object"]["metadata"]["name"] == "listed"
