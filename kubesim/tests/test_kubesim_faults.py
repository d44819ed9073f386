"""kubesim fault injection (http, snapshot, exec-cut, disk) and the request log."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from kubesim.fixture import KubeSim

KUBESIM_ARGS = ["--snapshot-ready-delay", "0.1"]
NS = "flt"

SETUP = """apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: flt}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: db, namespace: flt}
spec:
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
      - name: postgres
        image: postgres
        volumeMounts: [{name: data, mountPath: /data}]
      volumes: [{name: data, persistentVolumeClaim: {claimName: data}}]
"""


def snap(name: str) -> str:
    return f"""apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata: {{name: {name}, namespace: {NS}}}
spec: {{source: {{persistentVolumeClaimName: data}}}}
"""


@pytest.fixture(scope="module", autouse=True)
def setup(kubesim: KubeSim) -> None:
    kubesim.kubectl("create", "namespace", NS, check=True)
    kubesim.apply(SETUP)
    kubesim.wait_for(lambda: kubesim.api(f"/api/v1/namespaces/{NS}/pods")["items"])


@pytest.fixture(autouse=True)
def no_faults(kubesim: KubeSim) -> None:
    kubesim.clear_faults()


def test_http_status_fault_n_times(kubesim: KubeSim) -> None:
    fid = kubesim.fault(
        {
            "type": "http",
            "match": {"method": "GET", "path": "/api/v1/namespaces/flt/configmaps"},
            "status": 503,
            "message": "etcd is sad",
            "times": 2,
        }
    )
    assert kubesim.control("GET", "/_kubesim/faults")[0]["id"] == fid
    for _ in range(2):
        cp = kubesim.kubectl("get", "cm", "-n", NS, "-o", "name")
        assert cp.returncode == 1
        assert "etcd is sad" in cp.stderr
    cp = kubesim.kubectl("get", "cm", "-n", NS, "-o", "name")
    assert cp.returncode == 0, cp.stderr
    assert kubesim.control("GET", "/_kubesim/faults") == []


def test_http_fault_always_and_regex(kubesim: KubeSim) -> None:
    kubesim.fault(
        {
            "type": "http",
            "match": {"method": "PATCH", "path": "/apis/snapshot\\.storage.*"},
            "status": 500,
            "message": "boom",
        }
    )
    kubesim.apply(snap("lbl"))
    for _ in range(2):
        cp = kubesim.kubectl("label", "vs/lbl", "-n", NS, "a=b", "--overwrite")
        assert (cp.returncode, cp.stderr) == (1, "Error from server (InternalError): boom\n")
    kubesim.clear_faults()
    assert kubesim.kubectl("label", "vs/lbl", "-n", NS, "a=b").returncode == 0


def test_http_delay_fault(kubesim: KubeSim) -> None:
    kubesim.fault(
        {
            "type": "http",
            "match": {"method": "GET", "path": "/api/v1/namespaces/flt/secrets"},
            "delay": 3.0,
            "times": 1,
        }
    )
    cp = kubesim.kubectl("get", "secrets", "-n", NS, "--request-timeout=1s")
    assert cp.returncode == 1
    assert "context deadline exceeded" in cp.stderr or "Timeout" in cp.stderr, cp.stderr


def test_http_watch_end_fault(kubesim: KubeSim) -> None:
    # The watch stream ends normally (as at a server-side timeout): `kubectl get -w`
    # prints the list, then exits 0 when the stream ends; a later watch is untouched.
    kubesim.fault(
        {
            "type": "http",
            "match": {"method": "GET", "query": ".*watch=true.*"},
            "watchEndAfter": 0.3,
            "times": 1,
        }
    )
    cp = kubesim.kubectl("get", "pvc", "-n", NS, "-w", "-o", "name", timeout=20)
    assert (cp.returncode, cp.stdout) == (0, "persistentvolumeclaim/data\n"), cp.stderr
    watches = kubesim.wait_for(
        lambda: [r for r in kubesim.requests() if "watch=true" in r["query"]]
    )
    assert watches[-1]["path"] == f"/api/v1/namespaces/{NS}/persistentvolumeclaims"


def test_snapshot_error_fault(kubesim: KubeSim) -> None:
    kubesim.fault(
        {
            "type": "snapshot",
            "match": {"namespace": NS, "name": "broken"},
            "mode": "error",
            "message": "hostpath: disk I/O error",
        }
    )
    kubesim.apply(snap("broken"))
    st = kubesim.wait_for(
        lambda: (
            kubesim.api(
                f"/apis/snapshot.storage.k8s.io/v1/namespaces/{NS}/volumesnapshots/" + "broken"
            )
            .get("status", {})
            .get("error")
        )
    )
    assert st["message"] == "hostpath: disk I/O error" and st["time"]
    cp = kubesim.kubectl(
        "wait", "--for=jsonpath={.status.readyToUse}=true", "--timeout=1s", "vs/broken", "-n", NS
    )
    assert cp.returncode == 1


def test_snapshot_never_ready_fault(kubesim: KubeSim) -> None:
    kubesim.fault(
        {
            "type": "snapshot",
            "match": {"namespace": NS, "name": "stuck"},
            "mode": "never-ready",
            "times": 1,
        }
    )
    kubesim.apply(snap("stuck"))
    kubesim.apply(snap("fine"))
    kubesim.kubectl(
        "wait",
        "--for=jsonpath={.status.readyToUse}=true",
        "--timeout=20s",
        "vs/fine",
        "-n",
        NS,
        check=True,
    )
    st = kubesim.get_json("vs", "stuck", "-n", NS)["status"]
    assert st["readyToUse"] is False and st["boundVolumeSnapshotContentName"]
    # The storage cut it (CreateSnapshot returned) although it never becomes ready, as
    # the snapshot-controller reports a snapshot that is still uploading.
    assert st["creationTime"]
    content = kubesim.get_json("vsc", st["boundVolumeSnapshotContentName"])["status"]
    assert content["readyToUse"] is False and isinstance(content["creationTime"], int)


def test_exec_cut_fault(kubesim: KubeSim) -> None:
    kubesim.fault(
        {
            "type": "exec-cut",
            "match": {"namespace": NS, "pod": ".*", "container": "postgres"},
            "afterBytes": 100,
            "times": 1,
        }
    )
    cp = kubesim.kubectl(
        "exec",
        "deploy/db",
        "-c",
        "postgres",
        "-n",
        NS,
        "--",
        "sh",
        "-c",
        "head -c 5000 /dev/zero | tr '\\0' x; exit 0",
    )
    assert cp.returncode != 0
    assert len(cp.stdout) <= 100
    cp = kubesim.kubectl(
        "exec",
        "deploy/db",
        "-c",
        "postgres",
        "-n",
        NS,
        "--",
        "sh",
        "-c",
        "head -c 5000 /dev/zero | tr '\\0' x",
    )
    assert (cp.returncode, len(cp.stdout)) == (0, 5000)


def test_disk_full_fault(kubesim: KubeSim) -> None:
    kubesim.fault(
        {"type": "disk", "match": {"namespace": NS, "pvc": "data"}, "sizeBytes": 1024 * 1024}
    )
    cp = kubesim.kubectl(
        "exec",
        "deploy/db",
        "-c",
        "postgres",
        "-n",
        NS,
        "--",
        "sh",
        "-c",
        "dd if=/dev/zero of=/data/big bs=64k count=64 2>&1; echo rc=$?",
    )
    assert "No space left on device" in cp.stdout, cp.stdout + cp.stderr
    kubesim.clear_faults()
    kubesim.fault(
        {
            "type": "disk",
            "match": {"namespace": NS, "pvc": "data"},
            "sizeBytes": 8 * 1024 * 1024,
            "usedPercent": 95,
        }
    )
    cp = kubesim.kubectl("exec", "deploy/db", "-c", "postgres", "-n", NS, "--", "df", "-P", "/data")
    use = int(cp.stdout.splitlines()[1].split()[4].rstrip("%"))
    assert 90 <= use <= 100, cp.stdout


def test_bad_fault_is_refused(kubesim: KubeSim) -> None:
    req = urllib.request.Request(
        kubesim.url + "/_kubesim/faults",
        method="POST",
        data=json.dumps({"type": "meteor"}).encode(),
    )
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(req)
    assert exc.value.code == 400
    assert "fault type must be one of" in json.loads(exc.value.read())["error"]


def test_request_log(kubesim: KubeSim) -> None:
    kubesim.reset_requests()
    kubesim.kubectl("get", "vs", "-n", NS, "-l", "a=b", "-o", "name", check=True)
    kubesim.kubectl("get", "vs", "nope", "-n", NS)
    reqs = kubesim.requests()
    assert {"method", "path", "query", "status", "user", "duration_ms", "command"} <= set(reqs[0])
    lists = [
        r
        for r in reqs
        if r["path"] == "/apis/snapshot.storage.k8s.io/v1/namespaces/flt/volumesnapshots"
    ]
    assert len(lists) == 1
    assert lists[0]["query"] == "labelSelector=a%3Db&limit=500"
    assert (lists[0]["method"], lists[0]["status"], lists[0]["user"], lists[0]["command"]) == (
        "GET",
        200,
        "admin",
        "kubectl get",
    )
    misses = [r for r in reqs if r["path"].endswith("/volumesnapshots/nope")]
    assert [r["status"] for r in misses] == [404]
    assert not any(r["path"].startswith("/_kubesim") for r in reqs)
