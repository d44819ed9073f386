"""The committed out/ deploys as the README says: `kubectl apply -R -f out/` and
`kubectl apply -k out/`, with the real kubectl against kubesim."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path

from backupns_gen import jobscript
from kubesim.fixture import KubeSim

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "out"
TENANTS = ("blog", "shop-prod", "static-site")


def _tenants(kubesim: KubeSim) -> None:
    for ns in TENANTS:
        kubesim.kubectl("create", "namespace", ns)  # AlreadyExists on the second test is fine


def _applied_lines(stdout: str) -> list[str]:
    return sorted(line for line in stdout.splitlines() if line)


def test_apply_recursive_creates_everything_then_is_unchanged(kubesim: KubeSim) -> None:
    _tenants(kubesim)
    first = kubesim.kubectl("apply", "-R", "-f", str(OUT))
    assert first.returncode == 0, first.stderr
    assert first.stderr == ""
    lines = _applied_lines(first.stdout)
    assert all(line.endswith((" created", " configured", " unchanged")) for line in lines), lines
    assert lines.count("cronjob.batch/backup-ns created") == len(TENANTS)
    for ns in TENANTS:
        cm = json.loads(
            kubesim.kubectl(
                "get", "configmap", "backup-ns-script", "-n", ns, "-o", "json", check=True
            ).stdout
        )
        # the job script (gzipped): create and what it calls, each function as in backup-ns.sh
        script = (OUT / "namespaces" / ns / "backup-ns.sh").read_text()
        job = gzip.decompress(base64.b64decode(cm["binaryData"]["backup-ns.sh.gz"])).decode()
        jobscript.check(script, job, ns)
        assert "\ncommand_create() {" in job and "\ncommand_list() {" not in job
    assert "clusterrole.rbac.authorization.k8s.io/backup-ns-namespace" in first.stdout

    again = kubesim.kubectl("apply", "-R", "-f", str(OUT))
    assert again.returncode == 0, again.stderr
    assert all(line.endswith(" unchanged") for line in _applied_lines(again.stdout)), again.stdout


def test_apply_kustomize_entry_point(kubesim: KubeSim) -> None:
    _tenants(kubesim)
    built = kubesim.kubectl("kustomize", str(OUT))
    assert built.returncode == 0, built.stderr
    kinds = sorted(
        line.split(":", 1)[1].strip()
        for line in built.stdout.splitlines()
        if line.startswith("kind:")
    )
    assert kinds.count("CronJob") == len(TENANTS) + 3  # the controller's run, sync, status
    # + the controller script, kube-state-metrics' config, the Grafana dashboard
    assert kinds.count("ConfigMap") == len(TENANTS) + 3
    assert kinds.count("PrometheusRule") == 1  # monitoring.enabled in the example
    applied = kubesim.kubectl("apply", "-k", str(OUT))
    assert applied.returncode == 0, applied.stderr
    assert "cronjob.batch/backup-ns" in applied.stdout
