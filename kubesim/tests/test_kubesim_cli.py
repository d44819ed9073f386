"""kubesim CLI: start/stop, kubeconfig, seeds, --version, --tls, the bats helper, a big list."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from kubesim.fixture import REPO_ROOT, KubeSim

SEED = """apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: seeded}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
status: {phase: Bound, capacity: {storage: 1Gi}}
---
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata: {name: old, namespace: seeded, labels: {backup-ns.sh/daily: "2026-11-01"}}
spec: {source: {persistentVolumeClaimName: data}}
status: {boundVolumeSnapshotContentName: snapcontent-old, readyToUse: true, restoreSize: 1Gi,
         creationTime: "2026-11-01T03:00:00Z"}
"""


def test_start_kubeconfig_seed_and_stop(tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text(SEED)
    t0 = time.monotonic()
    sim = KubeSim(tmp_path / "state", args=["--seed", str(seed)]).start()
    print(f"kubesim startup: {time.monotonic() - t0:.3f}s")  # measured, see bench/ for speed
    try:
        assert sim.url.startswith("http://127.0.0.1:")
        kc = yaml.safe_load(sim.kubeconfig.read_text())
        assert kc["current-context"] == "kubesim"
        assert kc["clusters"][0] == {"name": "kubesim", "cluster": {"server": sim.url}}
        assert kc["contexts"][0]["context"] == {
            "cluster": "kubesim",
            "user": "admin",
            "namespace": "default",
        }
        cp = sim.kubectl("config", "view", "--minify", "-o", "jsonpath={..namespace}")
        assert cp.stdout == "default"
        vs = sim.get_json("vs", "old", "-n", "seeded")
        assert vs["status"]["readyToUse"] is True  # seeds keep their status
        assert vs["status"]["creationTime"] == "2026-11-01T03:00:00Z"
        assert sim.kubectl("get", "ns", "seeded", "-o", "name").stdout == "namespace/seeded\n"
        assert sim.proc is not None
        proc = sim.proc
        proc.terminate()
        assert proc.wait(5) == 0
    finally:
        sim.stop()


def test_bad_seed_fails_loudly(tmp_path: Path) -> None:
    seed = tmp_path / "bad.yaml"
    seed.write_text("apiVersion: example.com/v1\nkind: Gizmo\nmetadata: {name: g}\n")
    cp = subprocess.run(
        [
            sys.executable,
            "-m",
            "kubesim",
            "--state-dir",
            str(tmp_path / "s"),
            "--seed",
            str(seed),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert cp.returncode != 0
    assert 'no kind "Gizmo" is registered for version "example.com/v1"' in cp.stderr


@pytest.mark.parametrize("minor", ["27", "31"])
def test_version_flag_picks_kubectl_minor(tmp_path: Path, minor: str) -> None:
    if not Path(f"/usr/lib/google-cloud-sdk/bin/kubectl.1.{minor}").exists():
        pytest.skip(f"no kubectl 1.{minor} next to the gcloud dispatcher")
    sim = KubeSim(tmp_path / "state", args=["--version", f"1.{minor}"]).start()
    try:
        cp = sim.kubectl("version", "-o", "json")
        got = json.loads(cp.stdout)
        assert got["serverVersion"]["gitVersion"] == f"v1.{minor}.0"
        assert got["clientVersion"]["minor"] == minor
        # default validation works (1.27: empty protobuf OpenAPI v2; 1.31: minimal v3)
        cp = sim.kubectl("apply", "-f", "-", input=SEED.replace("seeded", "default"))
        assert cp.returncode == 0, cp.stderr
        assert cp.stdout.splitlines()[-1] == "volumesnapshot.snapshot.storage.k8s.io/old created"
    finally:
        sim.stop()


def test_tls_admin(kubesim_tls: KubeSim) -> None:
    kc = yaml.safe_load(kubesim_tls.kubeconfig.read_text())
    assert kubesim_tls.url.startswith("https://127.0.0.1:")
    assert kc["clusters"][0]["cluster"]["certificate-authority-data"]
    assert kc["users"][0]["user"]["token"]
    cp = kubesim_tls.kubectl("get", "ns", "default", "-o", "name")
    assert cp.stdout == "namespace/default\n", cp.stderr
    users = {r["user"] for r in kubesim_tls.requests() if r["command"] == "kubectl get"}
    assert users == {"kubesim-admin"}
    bad = kubesim_tls.env()
    Path(bad["KUBECONFIG"]).write_text(
        Path(bad["KUBECONFIG"]).read_text().replace(kc["users"][0]["user"]["token"], "wrong")
    )
    cp = kubesim_tls.kubectl("get", "ns", env=bad)
    assert cp.returncode == 1
    assert "You must be logged in to the server" in cp.stderr


def _bats() -> str:
    """bats-core as the project installs it (npm ci: node_modules/), else from PATH;
    missing is a failure, never a skip (CI has it only under node_modules)."""
    local = REPO_ROOT / "node_modules" / "bats" / "bin" / "bats"
    found = str(local) if local.is_file() else shutil.which("bats")
    assert found, f"bats-core is missing: run npm ci (expected {local})"
    return found


def test_bats_helper(tmp_path: Path) -> None:
    bats = _bats()
    helper = REPO_ROOT / "bats" / "helpers" / "kubesim"
    test = tmp_path / "helper.bats"
    test.write_text(f"""
setup_file() {{ load {helper}; kubesim_start --snapshot-ready-delay 0; }}
teardown_file() {{ load {helper}; kubesim_stop; }}
setup() {{ load {helper}; kubesim_env; }}

@test "env is fresh and kubectl works" {{
  [[ $KUBECONFIG == "$BATS_TEST_TMPDIR"/* && $HOME == "$BATS_TEST_TMPDIR"/* ]]
  run kubectl get ns default -o name
  [[ $status -eq 0 && $output == namespace/default ]]
}}

@test "faults, requests, seed" {{
  kubesim_fault '{{"type":"http","status":500,"message":"boom","times":1,'\\
'"match":{{"method":"GET","path":"/api/v1/namespaces/default"}}}}'
  run kubectl get ns default -o name
  [[ $status -eq 1 && $output == *boom* ]]
  kubesim_requests | grep -q '"status":500'
  kubesim_clear_faults
  printf 'apiVersion: v1\\nkind: ConfigMap\\n' >"$BATS_TEST_TMPDIR/s.yaml"
  printf 'metadata: {{name: c, namespace: other}}\\ndata: {{a: b}}\\n' >>"$BATS_TEST_TMPDIR/s.yaml"
  kubesim_seed "$BATS_TEST_TMPDIR/s.yaml"
  run kubectl get cm c -n other -o jsonpath='{{.data.a}}'
  [[ $status -eq 0 && $output == b ]]
  [[ -d $KUBESIM_STATE && -n $KUBESIM_PID && $KUBESIM_URL == http://127.0.0.1:* ]]
}}
""")
    tls = tmp_path / "tls.bats"
    tls.write_text(f"""
setup_file() {{ load {helper}; kubesim_start --tls; }}
teardown_file() {{ load {helper}; kubesim_stop; }}
setup() {{ load {helper}; kubesim_env; }}

@test "tls: admin kubeconfig works, a ServiceAccount's kubeconfig is held to RBAC" {{
  kubectl create namespace t1
  kubectl create serviceaccount runner -n t1
  kubesim_sa_kubeconfig t1 runner "$BATS_TEST_TMPDIR/sa.kubeconfig"
  run env KUBECONFIG="$BATS_TEST_TMPDIR/sa.kubeconfig" kubectl get pods -n t1
  [[ $status -eq 1 && $output == *Forbidden* ]]
  kubesim_fault '{{"type":"http","match":{{"method":"GET"}},"delay":0.1,"times":1}}'
}}
""")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
    cp = subprocess.run(
        [bats, str(test), str(tls)], capture_output=True, text=True, timeout=180, env=env
    )
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert cp.stdout.splitlines()[0] == "1..3"


def test_list_10k_snapshots_in_1000_namespaces(tmp_path: Path) -> None:
    """10,000 snapshots page correctly (limit=500, continue followed to the end).

    How fast kubesim lists them is a benchmark figure (bench/controller.py), not asserted here:
    server time is wall time too, and a shared machine made it 1.1 s once."""
    objs: list[dict[str, object]] = []
    for i in range(1000):
        ns = f"tenant-{i:04d}"
        objs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        for j in range(10):
            objs.append(
                {
                    "apiVersion": "snapshot.storage.k8s.io/v1",
                    "kind": "VolumeSnapshot",
                    "metadata": {
                        "name": f"snap-{j}",
                        "namespace": ns,
                        "labels": {"backup-ns.sh/daily": f"2026-11-{j + 10}"},
                    },
                    "spec": {"source": {"persistentVolumeClaimName": "data"}},
                    "status": {
                        "boundVolumeSnapshotContentName": f"snapcontent-{i}-{j}",
                        "readyToUse": True,
                        "restoreSize": "1Gi",
                        "creationTime": "2026-11-26T03:00:00Z",
                    },
                }
            )
    seed = tmp_path / "big.json"
    seed.write_text(json.dumps(objs))
    sim = KubeSim(tmp_path / "state", args=["--seed", str(seed)]).start(timeout=60)
    try:
        sim.reset_requests()
        cp = sim.kubectl("get", "vs", "-A", "-o", "name", check=True)
        lines = cp.stdout.splitlines()
        assert len(lines) == 10_000
        assert lines[0] == "volumesnapshot.snapshot.storage.k8s.io/snap-0"
        pages = [
            r
            for r in sim.requests()
            if r["path"] == "/apis/snapshot.storage.k8s.io/v1/volumesnapshots"
        ]
        # kubectl pages with limit=500 and follows metadata.continue: 20 requests
        assert len(pages) == 20
        assert all(r["status"] == 200 for r in pages)
        server_ms = sum(r["duration_ms"] for r in pages)
        print(f"server time for 10k snapshots in {len(pages)} pages: {server_ms:.1f} ms")
    finally:
        sim.stop()
