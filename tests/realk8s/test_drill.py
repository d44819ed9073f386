"""Scheduled drills on the real control plane: the controller's `drill` picks the due
namespace and creates its drill Job from the namespace's suspended CronJob, as the
controller's ServiceAccount with only the rendered RBAC (ClusterRole backup-ns-controller
and ClusterRole backup-ns-drill bound in each namespace): the audit log shows every
request allowed. The tier has no kubelet: the Job's pod is created (Pod Security
`restricted` admits it, the namespace enforces it) but never runs, so the drill is
reported as not finished within its timeout: one ERROR line, exit 1; the Job carries
activeDeadlineSeconds (the drill timeout plus its margin), and the real Job controller
stops it: DeadlineExceeded, its pod deleted. The full drill runs on kubesim
(tests/controller/test_drill.py).
"""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.realk8s.fixture import RealCluster
from tests.realk8s.render import render
from tests.realk8s.servers import bound, create_as, pvc, remove_contents, sa_env

pytestmark = pytest.mark.realk8s

CTL_NS = "backup-ns"
CTL_USER = f"system:serviceaccount:{CTL_NS}:backup-ns-controller"
READS = {"get", "list", "watch"}


@pytest.fixture
def tenants(realk8s: RealCluster) -> Iterator[tuple[str, str]]:
    pair = ("drl-a-" + secrets.token_hex(3), "drl-b-" + secrets.token_hex(3))
    for ns in pair:
        realk8s.kubectl("create", "namespace", ns, check=True)
        realk8s.kubectl(
            "label", "namespace", ns, "pod-security.kubernetes.io/enforce=restricted", check=True
        )
    yield pair
    for ns in pair:
        realk8s.kubectl("delete", "namespace", ns, "--wait=false", "--ignore-not-found")
    remove_contents(realk8s, list(pair))


def _calls(cluster: RealCluster, offset: int) -> list[dict[str, Any]]:
    calls = []
    for e in cluster.audit_events(offset):
        if e["user"]["username"] != CTL_USER:
            continue
        ref = e.get("objectRef") or {}
        calls.append({
            "verb": e["verb"], "resource": ref.get("resource", ""),
            "namespace": ref.get("namespace", ""), "name": ref.get("name", ""),
            "decision": e.get("annotations", {}).get("authorization.k8s.io/decision"),
        })  # fmt: skip
    return calls


def test_drill_creates_the_due_namespaces_job_with_its_own_rbac(
    realk8s: RealCluster, tenants: tuple[str, str], tmp_path: Path
) -> None:
    a, b = tenants
    entry = "{pvcs: [data], database: none, lock: {mode: none}, waitUntilReady: {timeout: 2m}}"
    config = f"""\
controller: {{verify: {{schedule: "H 3 * * *", maxPerRun: 1, timeout: 5s}}}}
namespaces:
  {a}: {entry}
  {b}: {entry}
"""
    out = render(tmp_path / "backupns.yaml", tmp_path / "out", text=config)
    realk8s.kubectl(
        "apply",
        "-f", str(out / "cluster" / "namespace-role.yaml"),
        "-f", str(out / "cluster" / "controller.yaml"),
        "-f", str(out / "namespaces" / a / "manifests.yaml"),
        "-f", str(out / "namespaces" / b / "manifests.yaml"),
        check=True,
    )  # fmt: skip
    made = {}
    for ns in tenants:
        realk8s.apply(pvc(ns, "data"))
        realk8s.wait_for(lambda ns=ns: bound(realk8s, ns, "data"), timeout=60)
        (realk8s.volume_dir(ns, "data") / "f").write_text("x\n")
        create_as(sa_env(realk8s, ns, tmp_path), out, ns)
        (vs,) = realk8s.get_json("vs", "-n", ns)["items"]
        made[ns] = vs["metadata"]["name"]
    # a was drilled 10 days ago, b never: b is due first, and maxPerRun 1 drills b alone
    ago = (datetime.now(timezone.utc) - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    realk8s.kubectl(
        "annotate", "vs", made[a], "-n", a,
        f"backup-ns.sh/verified-at={ago}", "backup-ns.sh/verified-ok=true", check=True,
    )  # fmt: skip

    kc = realk8s.sa_kubeconfig(CTL_NS, "backup-ns-controller", tmp_path / "ctl.kubeconfig")
    env = {**realk8s.env(tmp_path, kubeconfig=kc), "NO_COLOR": "1"}
    script = str(out / "controller" / "backup-ns-controller.sh")

    offset = realk8s.audit_offset()
    dry = subprocess.run(["bash", script, "drill", "--dry-run"], env=env, capture_output=True,
                         text=True, timeout=300, check=False)  # fmt: skip
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert f"would drill {b}/{made[b]} (last drill: never)" in dry.stdout, dry.stdout
    assert a not in dry.stdout
    calls = _calls(realk8s, offset)
    assert calls and all(c["verb"] in READS for c in calls), calls

    offset = realk8s.audit_offset()
    run = subprocess.run(["bash", script, "drill"], env=env, capture_output=True, text=True,
                         timeout=300, check=False)  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    errors = [line for line in run.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1, run.stderr
    assert f"restore drill failed in namespace {b}: snapshot {made[b]}: not finished after 5s" in (
        errors[0]
    )
    calls = _calls(realk8s, offset)
    denied = [c for c in calls if c["decision"] != "allow"]
    assert not denied, denied
    writes = {(c["verb"], c["resource"], c["namespace"]) for c in calls if c["verb"] not in READS}
    assert writes == {("create", "jobs", b)}, writes
    assert ("get", "cronjobs", b, "backup-ns-drill") in {
        (c["verb"], c["resource"], c["namespace"], c["name"]) for c in calls
    }

    assert realk8s.get_json("jobs", "-n", a)["items"] == []
    (job,) = realk8s.get_json("jobs", "-n", b)["items"]
    (owner,) = job["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"]) == ("CronJob", "backup-ns-drill")
    pod = job["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "backup-ns"
    (container,) = pod["containers"]
    assert {"name": "DRILL_SNAPSHOT", "value": made[b]} in container["env"]
    assert container["command"][-1].endswith('backup-ns.sh verify "$DRILL_SNAPSHOT"')

    # the real Job controller creates its pod: Pod Security restricted admits it
    name = job["metadata"]["name"]

    def pods() -> Any:
        got = realk8s.api(f"/api/v1/namespaces/{b}/pods?labelSelector=job-name%3D{name}")
        return (got or {}).get("items")

    assert realk8s.wait_for(pods, timeout=60)
    events = realk8s.api(f"/api/v1/namespaces/{b}/events") or {"items": []}
    assert [e for e in events["items"] if e.get("reason") == "FailedCreate"] == []

    # the controller gave up after 5s; Kubernetes stops the Job at its deadline (5s plus the
    # margin of 60s, shorter than the namespace's job.activeDeadlineSeconds of 3h) and
    # deletes its pod
    assert job["spec"]["activeDeadlineSeconds"] == 65

    def failed() -> Any:
        got = realk8s.api(f"/apis/batch/v1/namespaces/{b}/jobs/{name}") or {}
        return [c for c in got.get("status", {}).get("conditions") or []
                if c["type"] == "Failed" and c["status"] == "True"]  # fmt: skip

    (condition,) = realk8s.wait_for(failed, timeout=300)
    assert condition["reason"] == "DeadlineExceeded", condition
    assert realk8s.wait_for(lambda: pods() == [], timeout=60) is not None
