"""The deployed path: out/ applied to kubesim --tls, the CronJobs' Jobs run as processes.

kubesim's Job controller creates the pod, its kubelet runs the container command
(``/bin/bash /opt/backup-ns/backup-ns.sh create``) with the pod's volumes (the
script ConfigMap at 0555, the emptyDir /tmp, the node's lock directory), its env
(downward API) and its ServiceAccount token, so kubectl inside talks to kubesim as
``system:serviceaccount:<ns>:backup-ns`` with the generated RBAC. Real PostgreSQL
and MariaDB play the databases (tests/deployed.py seeds the example's tenants).

``check_run`` lists everything wrong with one run; the tests at the end apply
hand-broken copies of the manifests and show that it notices each breakage.
"""

from __future__ import annotations

import base64
import copy
import gzip
import json
import re
import socket
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from cronsim import CronSim

from kubesim.fixture import KubeSim
from tests import deployed
from tests.dbs import DbServer, mariadb_server, postgres_server

__all__ = ["mariadb_server", "postgres_server"]  # fixtures used below

KUBESIM_ARGS = ["--snapshot-ready-delay", "0"]
ADMIN = "kubesim-admin"


@pytest.fixture(scope="module")
def out(
    kubesim_tls: KubeSim,
    postgres_server: DbServer,
    mariadb_server: DbServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    rendered = deployed.render_example(
        tmp_path_factory.mktemp("example"), postgres_server, mariadb_server
    )
    deployed.seed_example(kubesim_tls, postgres_server, mariadb_server)
    deployed.apply_out(kubesim_tls, rendered)
    return rendered


def sa_user(ns: str) -> str:
    return f"system:serviceaccount:{ns}:backup-ns"


def check_run(sim: KubeSim, ns: str, job_name: str) -> list[str]:
    """Everything wrong with one successful run of the backup Job job_name in ns (the
    request log should hold only this run's requests in ns)."""
    problems: list[str] = []
    job = deployed.wait_job(sim, ns, job_name)
    requests = sim.requests()
    if deployed.job_state(job) != "Complete":
        problems.append(f"job {ns}/{job_name} is {deployed.job_state(job)}, not Complete")
    pods = deployed.job_pods(sim, ns, job_name)
    if len(pods) != 1:
        problems.append(f"job {ns}/{job_name} has {len(pods)} pods, not 1")
    pod = pods[0]["metadata"]["name"] if pods else "?"
    log = deployed.logs(sim, ns, f"job/{job_name}")
    made = [
        vs for vs in deployed.snapshots(sim, ns)
        if (vs["metadata"].get("labels") or {}).get("backup-ns.sh/pod") == pod
    ]  # fmt: skip
    want = len(deployed.TENANTS[ns])
    if len(made) != want:
        problems.append(f"{len(made)} snapshots labelled backup-ns.sh/pod={pod}, not {want}")
    for vs in made:
        name = vs["metadata"]["name"]
        if not (vs.get("status") or {}).get("readyToUse"):
            problems.append(f"snapshot {name} is not ready")
        if vs["metadata"]["labels"].get("backup-ns.sh/type") != "cronjob":
            problems.append(f"snapshot {name} is not labelled backup-ns.sh/type=cronjob")
        if f"snapshot: created VolumeSnapshot {name} " not in log:
            problems.append(f"the job log does not show the creation of {name}")
    done = [
        line for line in log.splitlines() if line.startswith(f"[backup-ns] {ns}: done: created ")
    ]
    if len(done) != 1:
        problems.append(f"the job log has no 'done: created' line:\n{log}")
    mine = [r for r in requests if f"/namespaces/{ns}/" in r["path"] and r["user"] != ADMIN]
    users = {r["user"] for r in mine}
    if users - {sa_user(ns)}:
        problems.append(f"requests in {ns} by {sorted(users - {sa_user(ns)})}")
    creates = [
        r for r in requests
        if r["method"] == "POST" and r["path"].endswith(f"/namespaces/{ns}/volumesnapshots")
    ]  # fmt: skip
    if (
        not creates
        or {r["user"] for r in creates} != {sa_user(ns)}
        or any(r["status"] != 201 for r in creates)
    ):
        problems.append(f"snapshot creates in {ns}: {[(r['user'], r['status']) for r in creates]}")
    denied = [r for r in mine if r["status"] == 403]
    if denied:
        problems.append(f"forbidden requests: {[(r['method'], r['path']) for r in denied]}")
    return problems


def test_the_rendered_example_differs_from_out_only_in_database_addresses(out: Path) -> None:
    for committed in sorted(deployed.OUT.rglob("*")):
        if committed.is_dir():
            continue
        rel = committed.relative_to(deployed.OUT)
        _differ_in_addresses_only(str(rel), (out / rel).read_text(), committed.read_text())


def _unpack(line: str) -> str:
    """The script of a ConfigMap's ``backup-ns.sh.gz: "BASE64"`` line."""
    return gzip.decompress(base64.b64decode(json.loads(line.split(": ", 1)[1]))).decode()


def _differ_in_addresses_only(rel: str, mine_text: str, theirs_text: str) -> None:
    mine, theirs = mine_text.splitlines(), theirs_text.splitlines()
    assert len(mine) == len(theirs), rel
    for a, b in zip(mine, theirs, strict=True):
        if a == b:
            continue
        if a.startswith("  backup-ns.sh.gz: ") and b.startswith("  backup-ns.sh.gz: "):
            # the ConfigMap's job script (gzip, base64): compared as text
            _differ_in_addresses_only(rel + " (job script)", _unpack(a), _unpack(b))
            continue
        assert re.search(r"BAK_DB_(POSTGRES|MYSQL)_(HOST|PORT)", a), (rel, a, b)


def test_a_manual_job_in_each_namespace_backs_it_up_as_its_service_account(
    kubesim_tls: KubeSim, out: Path
) -> None:
    kubesim_tls.reset_requests()
    for ns in deployed.TENANTS:
        deployed.run_now(kubesim_tls, ns)
    for ns in deployed.TENANTS:
        deployed.wait_job(kubesim_tls, ns, "now")
    for ns in deployed.TENANTS:
        problems = check_run(kubesim_tls, ns, "now")
        assert problems == [], "\n".join(problems)
    requests = kubesim_tls.requests()
    # The in-cluster kubectl sent every request of the runs with a token: no anonymous ones.
    assert {r["user"] for r in requests} == {ADMIN, *(sa_user(ns) for ns in deployed.TENANTS)}
    execs = [r for r in requests if r["path"].endswith("/exec")]
    assert {r["user"] for r in execs} == {sa_user("shop-prod"), sa_user("blog")}


def _events(sim: KubeSim, ns: str, reason: str) -> list[dict[str, Any]]:
    got = sim.api(f"/api/v1/namespaces/{ns}/events")
    return [e for e in got["items"] if e.get("reason") == reason]


def test_each_run_records_one_event_about_its_cronjob_written_by_the_service_account(
    kubesim_tls: KubeSim, out: Path
) -> None:
    requests = kubesim_tls.requests()  # still those of the runs above
    for ns, pvcs in deployed.TENANTS.items():
        pod = deployed.job_pods(kubesim_tls, ns, "now")[0]["metadata"]["name"]
        (event,) = [
            e for e in _events(kubesim_tls, ns, "BackupCreated") if e["reportingInstance"] == pod
        ]
        cronjob = _cronjob(kubesim_tls, ns)
        assert event["type"] == "Normal"
        assert event["involvedObject"] == {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "name": "backup-ns",
            "namespace": ns,
            "uid": cronjob["metadata"]["uid"],
        }
        made = {
            vs["metadata"]["labels"]["backup-ns.sh/pvc"]: vs["metadata"]["name"]
            for vs in deployed.snapshots(kubesim_tls, ns)
            if vs["metadata"]["labels"].get("backup-ns.sh/pod") == pod
        }
        names = " ".join(made[p] for p in pvcs)
        assert event["message"] == f"created VolumeSnapshot {names} of PVC {' '.join(pvcs)}"
        posts = [
            r
            for r in requests
            if r["method"] == "POST" and r["path"] == f"/api/v1/namespaces/{ns}/events"
        ]
        assert [(r["user"], r["status"]) for r in posts] == [(sa_user(ns), 201)]
    described = kubesim_tls.kubectl(
        "-n", "blog", "describe", "cronjob", "backup-ns", check=True
    ).stdout
    assert re.search(r"Normal\s+BackupCreated\s+.*created VolumeSnapshot data-", described), (
        described
    )


def test_an_event_that_cannot_be_written_is_a_warning_not_a_failed_backup(
    kubesim_tls: KubeSim, out: Path
) -> None:
    ns = "static-site"
    match = {"method": "POST", "path": f"/api/v1/namespaces/{ns}/events"}
    kubesim_tls.fault({"type": "http", "match": match, "status": 503, "message": "etcd is away"})
    try:
        deployed.run_now(kubesim_tls, ns, "noevent")
        job = deployed.wait_job(kubesim_tls, ns, "noevent")
    finally:
        kubesim_tls.clear_faults()
    assert deployed.job_state(job) == "Complete"
    log = deployed.logs(kubesim_tls, ns, "job/noevent")
    assert (
        f"[backup-ns] {ns}: WARNING: cannot record the BackupCreated Event: Error from server"
        ' (ServiceUnavailable): error when creating "STDIN": etcd is away. The backup is not'
        " affected; check that the ServiceAccount may create events"
    ) in log.splitlines()


def test_the_job_pod_gets_the_mounts_env_and_identity_of_the_manifest(
    kubesim_tls: KubeSim, out: Path
) -> None:
    ns = "static-site"
    pod = deployed.job_pods(kubesim_tls, ns, "now")[0]
    spec = pod["spec"]
    assert spec["nodeName"] == "kubesim-node"
    mounts = {m["mountPath"]: m for m in spec["containers"][0]["volumeMounts"]}
    assert set(mounts) == {  # lock.mode lease (the default): no hostPath
        "/opt/backup-ns",
        "/tmp",
        "/var/run/secrets/kubernetes.io/serviceaccount",
    }
    status = pod["status"]["containerStatuses"][0]
    assert status["state"]["terminated"]["exitCode"] == 0
    assert status["state"]["terminated"]["reason"] == "Completed"
    assert pod["status"]["phase"] == "Succeeded"
    # the default lock is a Lease slot: no hostPath, and the pod runs as non-root
    assert not [v for v in spec["volumes"] if "hostPath" in v]
    assert spec["securityContext"]["runAsNonRoot"] is True
    # the node's backup slot (BAK_LOCK_NODE from spec.nodeName) was taken and released
    lease = kubesim_tls.api(
        "/apis/coordination.k8s.io/v1/namespaces/backup-ns/leases/backup-ns-slot-kubesim-node-1"
    )
    assert lease["spec"]["holderIdentity"] == ""


# --------------------------------------------------------------------------- the schedule


def _next_fire(cronjob: dict[str, Any], after: datetime) -> datetime:
    spec = cronjob["spec"]
    tz = ZoneInfo(spec["timeZone"])
    return next(iter(CronSim(spec["schedule"], after.astimezone(tz)))).astimezone(timezone.utc)


def _clock_now(sim: KubeSim) -> datetime:
    return datetime.fromisoformat(sim.clock()["now"].replace("Z", "+00:00"))


def _at(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _cronjob(sim: KubeSim, ns: str) -> dict[str, Any]:
    got: dict[str, Any] = sim.api(f"/apis/batch/v1/namespaces/{ns}/cronjobs/backup-ns")
    return got


def _tenant_jobs(moved: dict[str, Any]) -> list[str]:
    """The Jobs a clock move created in the tenant namespaces (not the controller's)."""
    return [j for j in moved["jobs"] if j.split("/")[0] in deployed.TENANTS]


def test_the_clock_past_each_schedule_starts_exactly_one_job_per_cronjob(
    kubesim_tls: KubeSim, out: Path
) -> None:
    now = _clock_now(kubesim_tls)
    fire = {ns: _next_fire(_cronjob(kubesim_tls, ns), now) for ns in deployed.TENANTS}
    kubesim_tls.reset_requests()
    started = {}
    for ns in sorted(fire, key=lambda n: fire[n]):
        moved = kubesim_tls.clock(to=_at(fire[ns] + timedelta(seconds=30)))
        minute = int(fire[ns].timestamp()) // 60
        assert _tenant_jobs(moved) == [f"{ns}/backup-ns-{minute}"], (ns, moved)
        started[ns] = f"backup-ns-{minute}"
    # the same slots again: nothing new
    assert _tenant_jobs(kubesim_tls.clock(advance=10)) == []
    for ns, name in started.items():
        assert check_run(kubesim_tls, ns, name) == [], ns
        annotations = deployed.job(kubesim_tls, ns, name)["metadata"]["annotations"]  # type: ignore[index]
        scheduled = annotations["batch.kubernetes.io/cronjob-scheduled-timestamp"]
        assert datetime.fromisoformat(scheduled) == fire[ns]


def test_forbid_starts_no_second_job_while_one_runs_and_suspend_none(
    kubesim_tls: KubeSim, out: Path
) -> None:
    ns = "blog"
    path = f"/apis/snapshot.storage.k8s.io/v1/namespaces/{ns}/volumesnapshots/.+"
    # The delayed read keeps "held" active while the clock moves; 15 s leaves room for the
    # test's own calls on a loaded machine (4 s once let the Job finish first under load).
    kubesim_tls.fault(
        {"type": "http", "match": {"method": "GET", "path": path}, "delay": 15, "times": 1}
    )

    def scheduled() -> list[str]:
        jobs = kubesim_tls.api(f"/apis/batch/v1/namespaces/{ns}/jobs")["items"]
        return sorted(n for j in jobs if (n := j["metadata"]["name"]).startswith("backup-ns-"))

    before = scheduled()  # Jobs the CronJob made in earlier tests of this module
    try:
        deployed.run_now(kubesim_tls, ns, "held")
        kubesim_tls.wait_for(lambda: deployed.job_pods(kubesim_tls, ns, "held"), 30)
        fire = _next_fire(_cronjob(kubesim_tls, ns), _clock_now(kubesim_tls))
        moved = kubesim_tls.clock(to=_at(fire + timedelta(seconds=30)))
        assert [j for j in moved["jobs"] if j.startswith(f"{ns}/")] == []  # Forbid: "held" runs
        reasons = kubesim_tls.kubectl(
            "-n", ns, "get", "events", "--field-selector", "involvedObject.kind=CronJob",
            "-o", "jsonpath={.items[*].reason}",
        ).stdout.split()  # fmt: skip
        assert "JobAlreadyActive" in reasons
        suspend = '{"spec": {"suspend": true}}'
        kubesim_tls.kubectl("-n", ns, "patch", "cronjob", "backup-ns", "-p", suspend, check=True)
        assert deployed.job_state(deployed.wait_job(kubesim_tls, ns, "held")) == "Complete"
        fire = _next_fire(_cronjob(kubesim_tls, ns), _clock_now(kubesim_tls))
        moved = kubesim_tls.clock(to=_at(fire + timedelta(seconds=30)))
        assert [j for j in moved["jobs"] if j.startswith(f"{ns}/")] == []  # suspended
        assert scheduled() == before  # neither move made a scheduled Job
    finally:
        kubesim_tls.clear_faults()


# --------------------------------------------------------------------------- modified manifests


def _docs(out: Path, ns: str) -> list[dict[str, Any]]:
    return [
        d for d in yaml.safe_load_all((out / "namespaces" / ns / "manifests.yaml").read_text()) if d
    ]


def _apply_docs(sim: KubeSim, docs: list[dict[str, Any]]) -> None:
    sim.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(docs), check=True)


def _kind(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return next(d for d in docs if d["kind"] == kind)


def _pod_spec(docs: list[dict[str, Any]]) -> dict[str, Any]:
    spec: dict[str, Any] = _kind(docs, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return spec


@pytest.fixture
def modified(
    kubesim_tls: KubeSim, out: Path
) -> Iterator[Callable[[str, Callable[[list[dict[str, Any]]], None]], None]]:
    """modified(ns, change): apply ns's manifests changed by change(docs) (the documents that
    changed); they are restored afterwards."""
    restore: list[dict[str, Any]] = []

    def apply(ns: str, change: Callable[[list[dict[str, Any]]], None]) -> None:
        original = _docs(out, ns)
        docs = copy.deepcopy(original)
        change(docs)
        changed = [(a, b) for a, b in zip(original, docs, strict=True) if a != b]
        restore.extend(a for a, _ in changed)
        _apply_docs(kubesim_tls, [b for _, b in changed])

    yield apply
    if restore:
        _apply_docs(kubesim_tls, restore)


def _error_line(log: str) -> str:
    """The error line, which must end the log but for its indented detail lines."""
    lines = log.splitlines()
    while lines and lines[-1].startswith("  "):
        lines.pop()
    assert lines and lines[-1].startswith("ERROR: "), log
    return lines[-1]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_failing_backup_fails_the_job_with_the_error_as_last_line_and_retries_per_backoff_limit(
    kubesim_tls: KubeSim, out: Path, modified: Callable[..., None]
) -> None:
    ns = "shop-prod"
    port = _closed_port()  # the database is down

    def down(docs: list[dict[str, Any]]) -> None:
        _kind(docs, "CronJob")["spec"]["jobTemplate"]["spec"]["backoffLimit"] = 1
        _pod_spec(docs)["containers"][0]["env"].append(
            {"name": "BAK_DB_POSTGRES_PORT", "value": str(port)}
        )

    modified(ns, down)
    deployed.run_now(kubesim_tls, ns, "down")
    job = deployed.wait_job(kubesim_tls, ns, "down")
    failed = next(c for c in job["status"]["conditions"] if c["type"] == "Failed")
    assert (failed["reason"], failed["message"]) == (
        "BackoffLimitExceeded",
        "Job has reached the specified backoff limit",
    )
    assert job["status"]["failed"] == 2  # backoffLimit 1: the first try and one retry
    pods = deployed.job_pods(kubesim_tls, ns, "down")
    assert len(pods) == 2
    for pod in pods:
        assert pod["status"]["phase"] == "Failed"
        assert pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 1
        log = deployed.logs(kubesim_tls, ns, pod["metadata"]["name"])
        last = _error_line(log)
        where = f"deployment/app-base container postgres in namespace {ns}"
        assert last.startswith(f"ERROR: PostgreSQL check failed in {where}: "), log
        assert "Connection refused" in log.splitlines()[-1] + last  # psql's own words
    names = {p["metadata"]["name"] for p in pods}
    labels = [vs["metadata"]["labels"] for vs in deployed.snapshots(kubesim_tls, ns)]
    assert not [x for x in labels if x.get("backup-ns.sh/pod") in names]
    # one BackupFailed Event per try, its message the error line
    failures = {e["reportingInstance"]: e for e in _events(kubesim_tls, ns, "BackupFailed")}
    for pod in pods:
        event = failures[pod["metadata"]["name"]]
        last = _error_line(deployed.logs(kubesim_tls, ns, pod["metadata"]["name"]))
        assert (event["type"], event["message"]) == ("Warning", last.removeprefix("ERROR: "))


def test_two_namespaces_with_one_lock_slot_on_the_node_run_one_after_the_other(
    kubesim_tls: KubeSim, out: Path, modified: Callable[..., None]
) -> None:
    names = ("static-site", "shop-prod")

    def one_slot(docs: list[dict[str, Any]]) -> None:
        _pod_spec(docs)["containers"][0]["env"].append({"name": "BAK_LOCK_SLOTS", "value": "1"})

    for ns in names:
        modified(ns, one_slot)
        # each run holds the lock for at least 1.5 s (its first snapshot poll is slow)
        path = f"/apis/snapshot.storage.k8s.io/v1/namespaces/{ns}/volumesnapshots/.+"
        match = {"method": "GET", "path": path}
        kubesim_tls.fault({"type": "http", "match": match, "delay": 1.5, "times": 1})
    try:
        for ns in names:
            deployed.run_now(kubesim_tls, ns, "locked")
        spans = []
        for ns in names:
            assert deployed.job_state(deployed.wait_job(kubesim_tls, ns, "locked")) == "Complete"
            log = deployed.logs(kubesim_tls, ns, "job/locked", "--timestamps")
            took = [
                ln.split()[0] for ln in log.splitlines() if " lock: took backup slot 1 of 1 " in ln
            ]
            done = [ln.split()[0] for ln in log.splitlines() if " done: created " in ln]
            assert len(took) == len(done) == 1, log
            spans.append((took[0], done[0]))
        (_a_took, a_done), (b_took, _b_done) = sorted(spans)
        # the second took the slot only after the first had finished its work (the
        # release itself is logged after the unlock, so its line may come later)
        assert a_done <= b_took, spans
    finally:
        kubesim_tls.clear_faults()


# --------------------------------------------------------------------------- the check can fail


def _wrong_mount_path(docs: list[dict[str, Any]]) -> None:
    _pod_spec(docs)["containers"][0]["volumeMounts"][0]["mountPath"] = "/opt/backup"


def _missing_env(docs: list[dict[str, Any]]) -> None:
    env = _pod_spec(docs)["containers"][0]["env"]
    env[:] = [e for e in env if e["name"] != "BAK_LABEL_VS_POD"]


def _wrong_subject(docs: list[dict[str, Any]]) -> None:
    _kind(docs, "RoleBinding")["subjects"][0]["name"] = "default"


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (_wrong_mount_path, "is Failed, not Complete"),
        (_missing_env, "snapshots labelled backup-ns.sh/pod="),
        (_wrong_subject, "forbidden requests"),
    ],
    ids=["wrong-mount-path", "missing-env-var", "rolebinding-to-wrong-subject"],
)
def test_the_check_fails_for_hand_broken_manifests(
    kubesim_tls: KubeSim,
    out: Path,
    modified: Callable[..., None],
    breakage: Callable[[list[dict[str, Any]]], None],
    expected: str,
) -> None:
    ns = "static-site"
    modified(ns, breakage)
    name = "broken-" + breakage.__name__.strip("_").replace("_", "-")
    kubesim_tls.reset_requests()
    deployed.run_now(kubesim_tls, ns, name)
    problems = check_run(kubesim_tls, ns, name)
    assert any(expected in p for p in problems), problems
