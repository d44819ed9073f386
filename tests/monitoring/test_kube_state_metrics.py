"""The real kube-state-metrics (tests/monitoring/build.sh) against the real control plane,
with the generated custom-resource-state config and RBAC: it runs as a ServiceAccount that
only the generated ClusterRoleBinding (plus the CronJob/Job rights of kube-state-metrics'
own ClusterRole) lets read anything, so the RBAC is proven. Snapshots come from the rendered
script: one good, one failed (a class that does not exist: never ready, labelled failed),
one verified and the failed one drilled and failed (the annotations verify records; the tier
has no kubelet for its helper pod).
Its /metrics (on loopback) must show the series the rules read, with their values.
"""

from __future__ import annotations

import re
import secrets
import subprocess
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.monitoring.tools import tools
from tests.realk8s.fixture import RealCluster, free_port
from tests.realk8s.render import render
from tests.realk8s.servers import bound, create_as, pvc, remove_contents, sa_env

pytestmark = pytest.mark.realk8s

KSM_SA = "ksm"
STOCK_ROLE = "test-ksm-stock"
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text: str) -> list[tuple[str, dict[str, str], float]]:
    """Samples of the Prometheus text format: (name, labels, value)."""
    out = []
    for line in text.splitlines():
        m = SAMPLE.match(line)
        if m and not line.startswith("#"):
            out.append((m.group(1), dict(LABEL.findall(m.group(2) or "")), float(m.group(3))))
    return out


def find(
    samples: list[tuple[str, dict[str, str], float]], name: str, **labels: str
) -> list[tuple[dict[str, str], float]]:
    return [
        (lab, v)
        for n, lab, v in samples
        if n == name and all(lab.get(k, "") == want for k, want in labels.items())
    ]


def epoch(rfc3339: str) -> float:
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


def can_i(cluster: RealCluster, ns: str, verb: str, resource: str) -> str:
    cp = cluster.kubectl(
        "auth", "can-i", verb, resource, f"--as=system:serviceaccount:{ns}:{KSM_SA}"
    )
    return cp.stdout.strip()


@pytest.fixture
def ksm_ns(realk8s: RealCluster) -> Iterator[str]:
    """kube-state-metrics' namespace and ServiceAccount (made by its own install)."""
    name = "ksm-" + secrets.token_hex(3)
    realk8s.create_namespace(name)
    realk8s.kubectl("create", "serviceaccount", KSM_SA, "-n", name, check=True)
    yield name
    realk8s.kubectl("delete", "namespace", name, "--wait=false")
    realk8s.kubectl(
        "delete", "clusterrolebinding", STOCK_ROLE, "backup-ns-kube-state-metrics",
        "--ignore-not-found",
    )  # fmt: skip
    realk8s.kubectl("delete", "clusterrole", STOCK_ROLE, "--ignore-not-found")


def stock_rights(cluster: RealCluster, ns: str) -> None:
    """What kube-state-metrics' own ClusterRole grants for the stock metrics the backup
    alerts read (CronJobs, Jobs); nothing about snapshots."""
    cluster.kubectl(
        "create", "clusterrole", STOCK_ROLE, "--verb=list,watch", "--resource=cronjobs,jobs",
        check=True,
    )  # fmt: skip
    cluster.kubectl(
        "create", "clusterrolebinding", STOCK_ROLE, f"--clusterrole={STOCK_ROLE}",
        f"--serviceaccount={ns}:{KSM_SA}", check=True,
    )  # fmt: skip


def scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return str(resp.read().decode())


def test_kube_state_metrics_exports_the_snapshots(
    realk8s: RealCluster, realk8s_ns: str, ksm_ns: str, tmp_path: Path
) -> None:
    ns = realk8s_ns
    config = f"""\
namespaces:
  {ns}: {{pvcs: [data], database: none, lock: {{mode: none}}, waitUntilReady: {{timeout: 2m}}}}
monitoring:
  enabled: true
  kubeStateMetrics: {{namespace: {ksm_ns}, serviceAccount: {KSM_SA}}}
"""
    out = render(tmp_path / "backupns.yaml", tmp_path / "out", text=config)
    assert can_i(realk8s, ksm_ns, "list", "volumesnapshots.snapshot.storage.k8s.io") == "no"
    realk8s.kubectl(
        "apply",
        "-f", str(out / "cluster" / "namespace-role.yaml"),
        "-f", str(out / "namespaces" / ns / "manifests.yaml"),
        "-f", str(out / "monitoring" / "kube-state-metrics.yaml"),
        check=True,
    )  # fmt: skip
    for verb in ("list", "watch"):
        for res in ("volumesnapshots", "volumesnapshotcontents"):
            assert can_i(realk8s, ksm_ns, verb, f"{res}.snapshot.storage.k8s.io") == "yes"
    stock_rights(realk8s, ksm_ns)

    # Snapshots through the rendered script, as the namespace's ServiceAccount.
    realk8s.apply(pvc(ns, "data"))
    realk8s.wait_for(lambda: bound(realk8s, ns, "data"), timeout=60)
    (realk8s.volume_dir(ns, "data") / "f").write_text("x\n")
    env = sa_env(realk8s, ns, tmp_path)
    good = re.search(
        r"VolumeSnapshot (\S+) of PVC data: readyToUse=true",
        create_as(env, out, ns, BAK_VS_RAND="ksm001"),
    )
    assert good, "no ready snapshot"
    good_vs = good.group(1)
    failed = subprocess.run(
        ["bash", str(out / "namespaces" / ns / "backup-ns.sh"), "create"],
        env={**env, "BAK_VS_RAND": "ksm002", "BAK_VS_CLASS_NAME": "no-such-class",
             "BAK_VS_WAIT_UNTIL_READY_TIMEOUT": "5s"},
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert failed.returncode != 0, failed.stdout + failed.stderr
    vss = {v["metadata"]["name"]: v for v in realk8s.get_json("vs", "-n", ns)["items"]}
    (failed_vs,) = [n for n in vss if n != good_vs]
    assert vss[failed_vs]["metadata"]["labels"]["backup-ns.sh/failed"] == "true"

    # What the dump and verify paths record on a snapshot (the tier has no kubelet).
    realk8s.kubectl(
        "annotate", "vs", good_vs, "-n", ns,
        "backup-ns.sh/dump-size=123456", "backup-ns.sh/dump-duration=7",
        "backup-ns.sh/verified-at=2026-12-01T10:00:00Z", "backup-ns.sh/verified-ok=true",
        "backup-ns.sh/verified-result=ok: volume restored and not empty (1 entries)", check=True,
    )  # fmt: skip
    # a failed drill: verified-ok=false must be a 0, not a missing series (BackupDrillFailed)
    realk8s.kubectl(
        "annotate", "vs", failed_vs, "-n", ns,
        "backup-ns.sh/verified-at=2026-12-02T11:30:00Z", "backup-ns.sh/verified-ok=false",
        "backup-ns.sh/verified-result=failed: the volume is empty", check=True,
    )  # fmt: skip
    good_obj = realk8s.get_json("vs", good_vs, "-n", ns)
    content = good_obj["status"]["boundVolumeSnapshotContentName"]
    realk8s.kubectl(
        "patch", "vsc", content, "--type", "merge", "-p", '{"spec":{"deletionPolicy":"Delete"}}',
        check=True,
    )  # fmt: skip

    # kube-state-metrics as that ServiceAccount, with the generated config.
    cm = list(yaml.safe_load_all((out / "monitoring" / "kube-state-metrics.yaml").read_text()))[2]
    crs = tmp_path / "backup-ns.yaml"
    crs.write_text(cm["data"]["backup-ns.yaml"])
    kubeconfig = realk8s.sa_kubeconfig(ksm_ns, KSM_SA, tmp_path / "ksm.kubeconfig")
    port, telemetry = free_port(), free_port()
    log = (tmp_path / "ksm.log").open("wb")
    proc = subprocess.Popen(
        [
            str(tools("kube-state-metrics")["kube-state-metrics"]),
            f"--kubeconfig={kubeconfig}",
            "--host=127.0.0.1", f"--port={port}",
            "--telemetry-host=127.0.0.1", f"--telemetry-port={telemetry}",
            "--resources=cronjobs,jobs",
            f"--custom-resource-state-config-file={crs}",
        ],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/metrics"

        def ready() -> Any:
            if proc.poll() is not None:
                raise AssertionError(f"kube-state-metrics exited {proc.returncode}")
            try:
                samples = parse(scrape(url))
            except OSError:
                return None
            have = {n for n, lab, _ in samples if lab.get("namespace") == ns}
            want = {"backupns_volumesnapshot_verified_ok", "kube_cronjob_info"}
            return samples if want <= have and find(
                samples, "backupns_volumesnapshotcontent_info", volumesnapshot=good_vs
            ) else None  # fmt: skip

        try:
            samples = realk8s.wait_for(ready, timeout=180)
        except Exception:
            log.flush()
            raise AssertionError((tmp_path / "ksm.log").read_text()[-4000:]) from None
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()

    def value(name: str, vs: str) -> float:
        (got,) = find(samples, name, namespace=ns, volumesnapshot=vs, pvc="data", type="adhoc")
        return got[1]

    created = epoch(good_obj["metadata"]["creationTimestamp"])
    assert value("backupns_volumesnapshot_ready", good_vs) == 1
    assert value("backupns_volumesnapshot_failed", good_vs) == 0
    assert value("backupns_volumesnapshot_created_time_seconds", good_vs) == created
    assert value("backupns_volumesnapshot_dump_size_bytes", good_vs) == 123456
    assert value("backupns_volumesnapshot_dump_duration_seconds", good_vs) == 7
    assert value("backupns_volumesnapshot_verified_ok", good_vs) == 1
    assert value("backupns_volumesnapshot_verified_time_seconds", good_vs) == epoch(
        "2026-12-01T10:00:00Z"
    )
    ((info, one),) = find(
        samples, "backupns_volumesnapshot_info", namespace=ns, volumesnapshot=good_vs
    )
    labels = good_obj["metadata"]["labels"]
    assert one == 1
    assert (info["content"], info["daily"], info["weekly"], info["monthly"]) == (
        content,
        labels["backup-ns.sh/daily"],
        labels["backup-ns.sh/weekly"],
        labels["backup-ns.sh/monthly"],
    )

    assert value("backupns_volumesnapshot_ready", failed_vs) == 0
    assert value("backupns_volumesnapshot_failed", failed_vs) == 1
    assert find(samples, "backupns_volumesnapshot_dump_size_bytes", volumesnapshot=failed_vs) == []
    assert value("backupns_volumesnapshot_verified_ok", failed_vs) == 0
    assert value("backupns_volumesnapshot_verified_time_seconds", failed_vs) == epoch(
        "2026-12-02T11:30:00Z"
    )

    ((cinfo, _),) = find(samples, "backupns_volumesnapshotcontent_info", volumesnapshot=good_vs)
    assert (cinfo["volumesnapshotcontent"], cinfo["namespace"], cinfo["deletion_policy"]) == (
        content,
        ns,
        "Delete",
    )

    # The stock series the backup alerts read.
    ((_, suspend),) = find(samples, "kube_cronjob_spec_suspend", namespace=ns, cronjob="backup-ns")
    assert suspend == 0
    assert find(samples, "kube_cronjob_created", namespace=ns, cronjob="backup-ns")
    realk8s.kubectl("delete", "namespace", ns, "--wait=false")
    remove_contents(realk8s, [ns])
