"""Scheduled restore drills on kubesim --tls: the controller's drill CronJob picks the
namespaces whose last drill is oldest, creates each drill Job from the namespace's
suspended CronJob, and kubesim's kubelet runs backup-ns.sh verify in it as the
namespace's ServiceAccount. Every request goes through the generated RBAC.

Three volume-only namespaces, maxPerRun 2, concurrency 1: a drilled 10 days ago, b
never, c 8 days ago. The first run drills b then a (one after the other), not c; the
second run drills c only, whose snapshot data was removed: the drill fails, the run
exits non-zero with one line naming c.
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubesim.fixture import KubeSim
from tests import deployed

KUBESIM_ARGS = ["--snapshot-ready-delay", "0"]
TENANTS = ("drill-a", "drill-b", "drill-c")
CONTROLLER = "system:serviceaccount:backup-ns:backup-ns-controller"
DRILL_TIMEOUT = 300.0

CONFIG: dict[str, Any] = {
    "controller": {
        "verify": {"schedule": "H 3 * * *", "maxPerRun": 2, "concurrency": 1, "timeout": "5m"}
    },
    "namespaces": {ns: {"pvcs": ["data"], "lock": {"mode": "none"}} for ns in TENANTS},
}
# a's own Job deadline is shorter than the drill timeout plus the margin: its drill Job keeps it
CONFIG["namespaces"]["drill-a"].update(
    {"job": {"activeDeadlineSeconds": "330s"}, "waitUntilReady": {"timeout": "1m"}}
)


def _stamp(ago: timedelta) -> str:
    return (datetime.now(timezone.utc) - ago).strftime("%Y-%m-%dT%H:%M:%SZ")


def _snapshot(sim: KubeSim, ns: str) -> dict[str, Any]:
    """The namespace's newest snapshot."""
    return max(deployed.snapshots(sim, ns), key=lambda v: v["metadata"]["creationTimestamp"])


def _drill_jobs(sim: KubeSim, ns: str) -> list[dict[str, Any]]:
    got = sim.api(f"/apis/batch/v1/namespaces/{ns}/jobs")
    jobs = [j for j in (got or {}).get("items") or [] if j["metadata"]["name"] != "now"]
    return sorted(jobs, key=lambda j: j["metadata"]["creationTimestamp"])


def _run_drill(sim: KubeSim, name: str) -> tuple[str, str]:
    deployed.run_now(sim, "backup-ns", name, "backup-ns-controller-drill")
    job = deployed.wait_job(sim, "backup-ns", name, DRILL_TIMEOUT)
    return deployed.job_state(job), deployed.logs(sim, "backup-ns", f"job/{name}")


@pytest.fixture(scope="module")
def drills(kubesim_tls: KubeSim, tmp_path_factory: pytest.TempPathFactory) -> KubeSim:
    sim = kubesim_tls
    dest = tmp_path_factory.mktemp("drills")
    (dest / "backupns.yaml").write_text(yaml.safe_dump(CONFIG))
    out = dest / "out"
    subprocess.run(
        [deployed.GEN, "render", "--no-lint", "-c", str(dest / "backupns.yaml"), "-o", str(out)],
        check=True, capture_output=True,
    )  # fmt: skip
    deployed.apply_objects(sim, deployed.volumes({ns: ["data"] for ns in TENANTS}))
    for ns in TENANTS:
        vol = Path(sim.volume_dir(ns, "data"))
        vol.mkdir(parents=True, exist_ok=True)
        (vol / "index.html").write_text(f"<p>{ns}</p>\n")
    deployed.apply_out(sim, out)
    for ns in TENANTS:
        deployed.run_now(sim, ns)
    for ns in TENANTS:
        assert deployed.job_state(deployed.wait_job(sim, ns, "now")) == "Complete", ns
    for ns, ago in (("drill-a", timedelta(days=10)), ("drill-c", timedelta(days=8))):
        name = _snapshot(sim, ns)["metadata"]["name"]
        sim.kubectl(
            "-n", ns, "annotate", "volumesnapshot", name,
            f"backup-ns.sh/verified-at={_stamp(ago)}", "backup-ns.sh/verified-ok=true",
            check=True,
        )  # fmt: skip
    return sim


def test_drill_oldest_first_one_at_a_time_then_the_third_fails(drills: KubeSim) -> None:
    sim = drills
    sim.reset_requests()
    state, log = _run_drill(sim, "drill1")
    assert state == "Complete", log
    drilled = [line.split()[2] for line in log.splitlines() if " drilling " in line]
    assert [d.split("/")[0] for d in drilled] == ["drill-b", "drill-a"], log
    assert "drill passed: drill-b/" in log and "drill passed: drill-a/" in log, log
    assert _drill_jobs(sim, "drill-c") == []
    (job_b,) = _drill_jobs(sim, "drill-b")
    (job_a,) = _drill_jobs(sim, "drill-a")
    # Kubernetes stops a drill Job the controller no longer waits for: timeout 5m + 60s, or
    # the namespace's shorter job.activeDeadlineSeconds
    assert job_b["spec"]["activeDeadlineSeconds"] == 360
    assert job_a["spec"]["activeDeadlineSeconds"] == 330
    # concurrency 1: a's Job was created only after b's had finished
    assert job_a["metadata"]["creationTimestamp"] >= job_b["status"]["completionTime"]
    for ns in ("drill-a", "drill-b"):
        annotations = _snapshot(sim, ns)["metadata"]["annotations"]
        assert annotations["backup-ns.sh/verified-ok"] == "true", annotations
    # the controller's requests were all allowed (its own RBAC)
    mine = [r for r in sim.requests() if r["user"] == CONTROLLER]
    assert mine and all(r["status"] < 400 for r in mine), [r for r in mine if r["status"] >= 400]

    # c's snapshot loses its data: its drill must fail, and only c is due
    vs = _snapshot(sim, "drill-c")
    content = sim.api(
        "/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents/"
        + vs["status"]["boundVolumeSnapshotContentName"]
    )
    data = sim.state_dir / "snapshots" / content["status"]["snapshotHandle"]
    for entry in data.iterdir():
        shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    state, log = _run_drill(sim, "drill2")
    assert state == "Failed", log
    assert [line.split()[2].split("/")[0] for line in log.splitlines() if " drilling " in line] == [
        "drill-c"
    ], log
    errors = [line for line in log.splitlines() if "ERROR" in line]
    assert len(errors) == 1 and "ERROR: restore drill failed" in errors[0], log
    assert "in namespace drill-c: snapshot " + vs["metadata"]["name"] in errors[0], errors
    annotations = _snapshot(sim, "drill-c")["metadata"]["annotations"]
    assert annotations["backup-ns.sh/verified-ok"] == "false", annotations


def test_drill_dry_run_names_the_due_namespace_and_creates_nothing(drills: KubeSim) -> None:
    """After the runs above only c is due (its drill failed); --dry-run says so."""
    sim = drills
    before = {ns: len(_drill_jobs(sim, ns)) for ns in TENANTS}
    script = sim.state_dir / "controller.sh"
    cm = sim.get_json("-n", "backup-ns", "configmap", "backup-ns-controller-script")
    script.write_text(cm["data"]["backup-ns-controller.sh"])
    cp = subprocess.run(
        ["bash", str(script), "drill", "--dry-run"],
        env={**sim.env(), "CTL_NAMESPACE": "backup-ns"}, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert cp.returncode == 0, cp.stderr
    assert "would drill drill-c/" in cp.stdout and "drill-a/" not in cp.stdout, cp.stdout
    assert {ns: len(_drill_jobs(sim, ns)) for ns in TENANTS} == before


def test_drill_concurrency_two_never_runs_a_third_at_once(drills: KubeSim) -> None:
    """All three due (a and b last drilled 30 days ago, c's newest drill failed, c backed up
    again), maxPerRun 3, concurrency 2 (the environment overrides the baked values): all
    three pass, and no Job was created while two others were still running."""
    sim = drills
    deployed.run_now(sim, "drill-c", "now2")
    assert deployed.job_state(deployed.wait_job(sim, "drill-c", "now2")) == "Complete"
    for ns in ("drill-a", "drill-b"):
        sim.kubectl(
            "-n", ns, "annotate", "--overwrite", "volumesnapshot",
            _snapshot(sim, ns)["metadata"]["name"],
            f"backup-ns.sh/verified-at={_stamp(timedelta(days=30))}", check=True,
        )  # fmt: skip
    before = {ns: {j["metadata"]["name"] for j in _drill_jobs(sim, ns)} for ns in TENANTS}
    made = sim.kubectl("-n", "backup-ns", "create", "job", "drill3",
                       "--from=cronjob/backup-ns-controller-drill", "--dry-run=client", "-o",
                       "yaml", check=True).stdout  # fmt: skip
    settings = ("CTL_DRILL_CONCURRENCY=2", "CTL_DRILL_MAX_PER_RUN=3")
    job = sim.kubectl("set", "env", "--local", "-f", "-", *settings, "-o", "yaml",
                      input=made, check=True).stdout  # fmt: skip
    sim.kubectl("create", "-f", "-", input=job, check=True)
    done = deployed.wait_job(sim, "backup-ns", "drill3", DRILL_TIMEOUT)
    log = deployed.logs(sim, "backup-ns", "job/drill3")
    assert deployed.job_state(done) == "Complete", log
    assert sorted(line.split()[3].split("/")[0] for line in log.splitlines()
                  if "drill passed:" in line) == list(TENANTS), log  # fmt: skip
    new = [j for ns in TENANTS for j in _drill_jobs(sim, ns)
           if j["metadata"]["name"] not in before[ns]]  # fmt: skip
    assert len(new) == 3
    for j in new:
        at = j["metadata"]["creationTimestamp"]
        running = [
            k["metadata"]["name"] for k in new
            if k is not j
            and k["metadata"]["creationTimestamp"] <= at < k["status"]["completionTime"]
        ]  # fmt: skip
        assert len(running) <= 1, (j["metadata"]["name"], running)
