"""The retention controller (out/controller/backup-ns-controller.sh) on kubesim, with the
real kubectl: every command, the Lease, and each safety rule in its own test. Exit codes,
exact lines and the request log (list calls per run, no writes in plan / --dry-run)."""

# ruff: noqa: E501  (the tests assert whole output lines, which are long)
from __future__ import annotations

import json
import re
import shlex
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from kubesim.fixture import KubeSim
from tests import ctlsim
from tests.ctlsim import Controller, Run, history, snapshot

NS = "shop-prod"  # in the example config: keep 7 daily, 4 weekly, 12 monthly
START = datetime(2026, 11, 1, 1, 0, tzinfo=timezone.utc)  # a Sunday (ISO 2026-w44)
NOW = "2026-11-20T03:00:00Z"
LIST_PATH = re.compile(
    r"^/apis?/(.+/)?(volumesnapshots|volumesnapshotcontents|persistentvolumeclaims)$"
)


@pytest.fixture
def sim(kubesim: KubeSim) -> Iterator[KubeSim]:
    ctlsim.clear(kubesim)
    kubesim.clear_faults()
    kubesim.seed([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "backup-ns"}}])
    kubesim.reset_requests()
    yield kubesim
    kubesim.clear_faults()


@pytest.fixture
def ctl(sim: KubeSim) -> Controller:
    return Controller(sim)


def resource_requests(sim: KubeSim) -> list[dict[str, Any]]:
    """Requests for objects (no discovery, no openapi)."""
    return [
        r
        for r in sim.requests()
        if (r["path"].startswith("/apis/") and r["path"].count("/") >= 4)
        or (r["path"].startswith("/api/v1/") and r["path"] != "/api/v1")
    ]


def lists(sim: KubeSim) -> list[str]:
    return [
        r["path"]
        for r in resource_requests(sim)
        if r["method"] == "GET" and LIST_PATH.match(r["path"])
    ]


def writes(sim: KubeSim, lease: bool = False) -> list[str]:
    return [
        f"{r['method']} {r['path']}"
        for r in resource_requests(sim)
        if r["method"] != "GET" and (lease or "/leases" not in r["path"])
    ]


def names(sim: KubeSim, ns: str = NS) -> list[str]:
    vs, _ = ctlsim.state(sim)
    return sorted(n for (s, n) in vs if s == ns)


def labels_of(sim: KubeSim, name: str, ns: str = NS) -> dict[str, str]:
    vs, _ = ctlsim.state(sim)
    return {
        k.removeprefix("backup-ns.sh/"): v
        for k, v in vs[(ns, name)]["metadata"].get("labels", {}).items()
        if k.startswith("backup-ns.sh/")
    }


def day(n: int) -> str:
    return f"data-{(START + timedelta(days=n - 1)):%Y-%m-%d}-010000"


def ok(run: Run, status: int = 0) -> Run:
    assert run.status == status, f"exit {run.status}\n{run.stdout}\n{run.stderr}"
    return run


# --- plan, run, the request log --------------------------------------------------------


def test_plan_says_what_and_why_and_writes_nothing(sim: KubeSim, ctl: Controller) -> None:
    ctlsim.seed(sim, history(NS, START, 20))
    sim.reset_requests()
    run = ok(ctl.run("plan", now=NOW))
    changes = run.changes()
    unlabels = [c for c in changes if c.startswith("unlabel ")]
    assert (
        unlabels[0] == f"unlabel daily {NS}/{day(13)} : 8th newest ready daily of {NS}/data, keep 7"
    )
    assert (
        unlabels[-1]
        == f"unlabel daily {NS}/{day(1)} : 20th newest ready daily of {NS}/data, keep 7"
    )
    assert len(unlabels) == 13  # weekly: 4 of 4 kept, monthly: 1 of 12
    marks = [c.split(" : ")[0] for c in changes if c.startswith("mark ")]
    # without a label left: all but the newest 7 dailies, the 4 weeklies and the monthly
    assert marks == [f"mark {NS}/{day(d)}" for d in (13, 12, 11, 10, 8, 7, 6, 5, 4, 3)]
    assert (
        f"mark {NS}/{day(13)} : delete-after=2026-11-20 (expired), its last period label was removed (daily 2026-11-13)"
        in changes
    )
    assert not [
        c for c in changes if c.startswith(("delete ", "keep "))
    ]  # marked today: swept tomorrow
    assert len([c for c in changes if c.startswith("sync ")]) == 20
    assert run.lines[-1] == "[backup-ns-controller] plan: 43 change(s) planned, nothing changed"
    assert writes(sim, lease=True) == []
    assert all(r["method"] == "GET" for r in sim.requests())
    assert len(lists(sim)) == 3


def test_run_makes_one_request_per_change_then_nothing(sim: KubeSim, ctl: Controller) -> None:
    ctlsim.seed(sim, history(NS, START, 20))
    sim.reset_requests()
    run = ok(ctl.run("run", now=NOW))
    assert run.lines[-1] == "[backup-ns-controller] run: 43 change(s) made"
    assert len(lists(sim)) == 3
    changed = writes(sim)
    # one PATCH per object: 13 snapshots unlabelled (10 of them marked in the same
    # patch), 20 contents synced
    assert len(changed) == 13 + 20
    assert all(w.startswith("PATCH ") for w in changed)
    assert writes(sim, lease=True)[:1] == [
        "POST /apis/coordination.k8s.io/v1/namespaces/backup-ns/leases"
    ]
    assert labels_of(sim, day(13)) == {
        "pvc": "data",
        "type": "cronjob",
        "retain": "daily_weekly_monthly",
        "delete-after": "2026-11-20",
        "delete-reason": "expired",
    }
    assert labels_of(sim, day(14))["daily"] == "2026-11-14"
    # the content carries the same labels
    vs, vsc = ctlsim.state(sim)
    content = vsc[vs[(NS, day(13))]["status"]["boundVolumeSnapshotContentName"]]
    assert content["metadata"]["labels"]["backup-ns.sh/delete-after"] == "2026-11-20"

    sim.reset_requests()
    again = ok(ctl.run("run", now=NOW))
    assert again.lines[-1] == "[backup-ns-controller] run: 0 change(s) made"
    assert writes(sim) == [] and len(lists(sim)) == 3

    # the next day: the marked ones go, content deletionPolicy patched to Delete first
    sim.reset_requests()
    nxt = ok(ctl.run("run", now="2026-11-21T03:00:00Z"))
    deletes = [c for c in nxt.changes() if c.startswith("delete ")]
    assert deletes[0] == (
        f"delete {NS}/{day(3)} : delete-after 2026-11-20 is before today 2026-11-21;"
        f" content {vs[(NS, day(3))]['status']['boundVolumeSnapshotContentName']}"
        " deletionPolicy Retain -> Delete first"
    )
    assert len(deletes) == 10
    assert sorted(w.split()[0] for w in writes(sim)).count("DELETE") == 10
    assert names(sim) == sorted(
        {day(d) for d in range(1, 21)} - {day(d) for d in (3, 4, 5, 6, 7, 8, 10, 11, 12, 13)}
    )
    _, vsc = ctlsim.state(sim)
    assert len(vsc) == 10  # kubesim's snapshot controller deleted the Delete contents


def test_every_command_has_help(ctl: Controller) -> None:
    verbs = ("run", "plan", "retain", "mark", "sweep", "sync", "orphans", "status", "list", "drill")
    for verb in verbs:
        run = ok(ctl.run(verb, "--help"))
        assert run.lines[0].startswith(f"Usage: backup-ns-controller.sh {verb}"), verb
    top = ok(ctl.run("help", "settings"))
    assert "  CTL_MAX_DELETIONS_PER_RUN=50 deletions per run, then exit 1" in top.lines
    bad = ctl.run("prune")
    assert (bad.status, bad.stderr) == (
        2,
        'ERROR: unknown command "prune". Run "backup-ns-controller.sh --help" for usage.\n',
    )


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (("--namespace",), "drill: --namespace needs a namespace"),
        (("--namespace", "Bad_Name"), 'drill: "Bad_Name" is not a namespace name'),
        (("--now",), 'drill: unknown argument "--now"'),
    ],
)
def test_drill_usage_errors(ctl: Controller, args: tuple[str, ...], why: str) -> None:
    bad = ctl.run("drill", *args)
    assert (bad.status, bad.stderr) == (
        2,
        f'ERROR: {why}. Run "backup-ns-controller.sh drill --help" for usage.\n',
    )


@pytest.mark.parametrize("verb", ["run", "retain", "mark", "sweep", "sync", "orphans"])
def test_dry_run_writes_nothing(sim: KubeSim, ctl: Controller, verb: str) -> None:
    ctlsim.seed(sim, history(NS, START, 20))  # retain, mark, sync
    old = START - timedelta(days=3)
    ctlsim.seed(sim, snapshot(NS, "old", old, labels={"backup-ns.sh/delete-after": "2026-11-01"}))
    ctlsim.seed(sim, snapshot(NS, "second-of-a-day", old))  # no period label
    orphan = snapshot("gone", "x", old, content_labels={"backup-ns.sh/type": "cronjob"})
    ctlsim.seed(sim, orphan[1:])  # its content only: the snapshot is gone
    sim.reset_requests()
    run = ok(ctl.run(verb, "--dry-run", now=NOW))
    assert run.changes(), run.stdout
    assert all(r["method"] == "GET" for r in sim.requests())


# --- the commands one by one ------------------------------------------------------------


def test_retain_counts_only_ready_snapshots(sim: KubeSim, ctl: Controller) -> None:
    """A not-ready snapshot never pushes a ready one out."""
    objs = history(NS, START, 8)  # days 1..8
    ctlsim.seed(sim, objs)
    pending = START + timedelta(days=8)  # day 9: not ready (yet)
    ctlsim.seed(sim, snapshot(NS, day(9), pending, ready=False, labels=ctlsim.periods(pending)))
    run = ok(ctl.run("retain", now="2026-11-09T03:00:00Z"))
    assert run.changes() == [
        f"unlabel daily {NS}/{day(1)} : 8th newest ready daily of {NS}/data, keep 7"
    ]
    assert "daily" in labels_of(sim, day(2)) and "daily" in labels_of(sim, day(9))


def test_retain_uses_the_namespace_keep_counts(sim: KubeSim, ctl: Controller) -> None:
    ctlsim.seed(sim, history("other", START, 5))
    run = ok(ctl.run("retain", "--dry-run", now="2026-11-05T03:00:00Z", CTL_KEEP_DAILY="3"))
    assert [c.split(" : ")[0] for c in run.changes()] == [
        f"unlabel daily other/{day(2)}",
        f"unlabel daily other/{day(1)}",
    ]
    # shop-prod's count is baked in (the example config): 7, whatever CTL_KEEP_DAILY says
    ctlsim.seed(sim, history(NS, START, 5))
    run = ok(ctl.run("retain", "--dry-run", now="2026-11-05T03:00:00Z", CTL_KEEP_DAILY="3"))
    assert not [c for c in run.changes() if f" {NS}/" in c]


def test_mark_failed_snapshots_with_their_reason(sim: KubeSim, ctl: Controller) -> None:
    ctlsim.seed(sim, history(NS, START, 3))
    t = START + timedelta(days=3)
    ctlsim.seed(sim, snapshot(NS, "err", t, error="no space left"))
    ctlsim.seed(sim, snapshot(NS, "labelled", t, labels={"backup-ns.sh/failed": "true"}))
    ctlsim.seed(sim, snapshot(NS, "stuck", t - timedelta(days=2), ready=False))
    ctlsim.seed(sim, snapshot(NS, "young", t, ready=False))  # still being cut: waits
    run = ok(ctl.run("mark", now="2026-11-04T03:00:00Z"))
    assert sorted(run.changes()) == [
        f"mark {NS}/err : delete-after=2026-11-04 (failed), failed: snapshot error: no space left",
        f"mark {NS}/labelled : delete-after=2026-11-04 (failed), failed: labelled backup-ns.sh/failed=true",
        f"mark {NS}/stuck : delete-after=2026-11-04 (failed), failed: not ready after 2d (limit 24h)",
    ]
    assert labels_of(sim, "err")["delete-reason"] == "failed"
    assert "delete-after" not in labels_of(sim, "young")


def test_a_failed_mark_is_withdrawn_once_ready(sim: KubeSim, ctl: Controller) -> None:
    """Marked failed (not ready in time), then ready: the snapshot keeps its periods and is
    not swept; one without a period label is marked expired instead; a days snapshot gets
    its own date back; keep=true is not touched; one still not ready is swept."""
    ctlsim.seed(sim, history(NS, START, 3))
    t = START + timedelta(days=3)  # 2026-11-04T01:00Z
    mark = {"backup-ns.sh/delete-after": "2026-11-05", "backup-ns.sh/delete-reason": "failed"}
    days = {"backup-ns.sh/retain": "days", "backup-ns.sh/retain-days": "30"}
    ctlsim.seed(sim, snapshot(NS, "late", t, labels={**mark, "backup-ns.sh/daily": "2026-11-04"}))
    ctlsim.seed(sim, snapshot(NS, "late-bare", t, labels=mark))
    ctlsim.seed(sim, snapshot(NS, "late-days", t, labels={**mark, **days}))
    ctlsim.seed(sim, snapshot(NS, "late-kept", t, labels={**mark, "backup-ns.sh/keep": "true"}))
    ctlsim.seed(sim, snapshot(NS, "stuck", t, ready=False, labels=mark))
    run = ok(ctl.run("run", now="2026-11-06T03:00:00Z"))
    assert [c.split("; content ")[0] for c in run.changes() if not c.startswith("sync ")] == [
        f"unmark {NS}/late-days : ready since its failed mark, delete-after=2026-11-05 back to 2026-12-05 (cut 2026-11-04, retain-days 30)",
        f"mark {NS}/late-bare : delete-after=2026-11-06 (expired), ready since its failed mark of 2026-11-05, but no daily, weekly or monthly label",
        f"unmark {NS}/late : ready since its failed mark, delete-after=2026-11-05 removed",
        f"delete {NS}/stuck : delete-after 2026-11-05 is before today 2026-11-06 (failed: not ready after 2d (limit 24h))",
    ]
    assert labels_of(sim, "late") == {
        "pvc": "data",
        "type": "cronjob",
        "retain": "daily_weekly_monthly",
        "daily": "2026-11-04",
    }
    assert labels_of(sim, "late-days")["delete-after"] == "2026-12-05"
    assert "delete-reason" not in labels_of(sim, "late-days")
    assert labels_of(sim, "late-kept")["delete-after"] == "2026-11-05"
    assert "stuck" not in names(sim)
    # the content loses the mark too
    vs, vsc = ctlsim.state(sim)
    content = vsc[vs[(NS, "late")]["status"]["boundVolumeSnapshotContentName"]]
    assert "backup-ns.sh/delete-after" not in content["metadata"]["labels"]
    assert content["metadata"]["labels"]["backup-ns.sh/daily"] == "2026-11-04"


def test_sweep_alone_keeps_a_snapshot_ready_since_its_failed_mark(
    sim: KubeSim, ctl: Controller
) -> None:
    ctlsim.seed(sim, history(NS, START, 5))
    labels = {
        "backup-ns.sh/delete-after": "2026-11-04",
        "backup-ns.sh/delete-reason": "failed",
        "backup-ns.sh/daily": "2026-11-04",
    }
    ctlsim.seed(sim, snapshot(NS, "late", START + timedelta(days=3, hours=2), labels=labels))
    run = ok(ctl.run("sweep", now="2026-11-06T03:00:00Z"))
    assert run.changes() == [
        f"keep {NS}/late : ready since its failed mark (mark withdraws it) (not deleted)"
    ]
    assert "late" in names(sim)


def test_retain_counts_a_period_once(sim: KubeSim, ctl: Controller) -> None:
    """Two ready copies of one day (a late snapshot and the rerun's) are one of the 7."""
    ctlsim.seed(sim, history(NS, START, 8))  # days 1..8
    copy = START + timedelta(days=7, hours=8)
    ctlsim.seed(sim, snapshot(NS, "copy", copy, labels={"backup-ns.sh/daily": "2026-11-08"}))
    run = ok(ctl.run("retain", "--dry-run", now="2026-11-09T03:00:00Z"))
    assert run.changes() == [
        f"unlabel daily {NS}/{day(1)} : 8th newest ready daily of {NS}/data, keep 7"
    ]


def test_failed_snapshots_are_not_kept_copies(sim: KubeSim, ctl: Controller) -> None:
    """An errored snapshot with a daily label does not count towards the 7 kept."""
    objs = history(NS, START, 8)
    ctlsim.seed(sim, objs)
    t = START + timedelta(days=8, hours=1)
    ctlsim.seed(
        sim, snapshot(NS, "err", t, error="boom", labels={"backup-ns.sh/daily": "2026-11-09"})
    )
    run = ok(ctl.run("retain", "--dry-run", now="2026-11-09T03:00:00Z"))
    assert run.changes() == [
        f"unlabel daily {NS}/{day(1)} : 8th newest ready daily of {NS}/data, keep 7"
    ]


def test_sweep_deletes_after_the_window_only(sim: KubeSim, ctl: Controller) -> None:
    ctlsim.seed(sim, history(NS, START, 3))
    old = START - timedelta(days=5)
    ctlsim.seed(
        sim,
        snapshot(
            NS, "due", old, labels={"backup-ns.sh/delete-after": "2026-11-02"}, policy="Delete"
        ),
    )
    ctlsim.seed(sim, snapshot(NS, "today", old, labels={"backup-ns.sh/delete-after": "2026-11-03"}))
    ctlsim.seed(sim, snapshot(NS, "later", old, labels={"backup-ns.sh/delete-after": "2026-12-01"}))
    sim.reset_requests()
    run = ok(ctl.run("sweep", now="2026-11-03T03:00:00Z"))
    assert run.changes() == [
        f"delete {NS}/due : delete-after 2026-11-02 is before today 2026-11-03"
    ]
    assert writes(sim) == [
        f"DELETE /apis/snapshot.storage.k8s.io/v1/namespaces/{NS}/volumesnapshots/due"
    ]
    assert "due" not in names(sim) and {"today", "later"} <= set(names(sim))


def test_sync_copies_labels_and_annotations_and_removes_stale_ones(
    sim: KubeSim, ctl: Controller
) -> None:
    objs = snapshot(
        NS,
        "a",
        START,
        labels={"backup-ns.sh/daily": "2026-11-01"},
        annotations={"backup-ns.sh/env-config": "BAK_X=1\nBAK_Y='two words'\n", "other": "x"},
        content_labels={"backup-ns.sh/weekly": "2026-w44", "unrelated": "y"},
    )
    objs += snapshot(NS, "b", START + timedelta(hours=1))
    ctlsim.seed(sim, objs)
    ok(ctl.run("sync", now=NOW))
    sim.reset_requests()
    _, vsc = ctlsim.state(sim)
    content = vsc[objs[1]["metadata"]["name"]]["metadata"]
    assert {k: v for k, v in content["labels"].items()} == {
        "backup-ns.sh/daily": "2026-11-01",
        "backup-ns.sh/pvc": "data",
        "backup-ns.sh/retain": "daily_weekly_monthly",
        "backup-ns.sh/type": "cronjob",
        "unrelated": "y",
    }
    assert content["annotations"]["backup-ns.sh/env-config"] == "BAK_X=1\nBAK_Y='two words'\n"
    assert "other" not in content["annotations"]
    # only contents that differ are touched
    sim.kubectl(
        "label",
        "volumesnapshots.v1.snapshot.storage.k8s.io",
        "b",
        "-n",
        NS,
        "backup-ns.sh/keep=true",
        check=True,
    )
    sim.reset_requests()
    run = ok(ctl.run("sync", now=NOW))
    assert [c.split(" : ")[1] for c in run.changes()] == [f"from {NS}/b: +backup-ns.sh/keep=true"]
    assert len(writes(sim)) == 1 and len(lists(sim)) == 2
    # the apply carried all of b's labels: a server-side apply of only the new one would
    # have removed the ones the same field manager applied before (as the real server does)
    _, vsc = ctlsim.state(sim)
    assert vsc[objs[3]["metadata"]["name"]]["metadata"]["labels"] == {
        "backup-ns.sh/keep": "true",
        "backup-ns.sh/pvc": "data",
        "backup-ns.sh/retain": "daily_weekly_monthly",
        "backup-ns.sh/type": "cronjob",
    }


def test_orphans_expire_after_their_grace_period(sim: KubeSim, ctl: Controller) -> None:
    """Contents of a deleted namespace: labelled on first sight, deleted N days later,
    never the newest of a (namespace, PVC), never keep=true."""
    objs = history("gone", START, 4)
    objs[2 * 1]["metadata"]["labels"]["backup-ns.sh/keep"] = "true"  # day 2 (sync copies it)
    ctlsim.seed(sim, objs)
    ok(ctl.run("sync", now="2026-11-05T03:00:00Z"))
    sim.kubectl("delete", "namespace", "gone", check=True)
    sim.wait_for(lambda: not [k for k in ctlsim.state(sim)[0] if k[0] == "gone"])
    _, vsc = ctlsim.state(sim)
    assert len(vsc) == 4  # Retain: the contents stay
    first = ok(ctl.run("run", now="2026-11-05T03:00:00Z"))
    orphan_lines = [c for c in first.changes() if c.startswith("orphan ")]
    assert len(orphan_lines) == 4 and orphan_lines[0].endswith(
        "is gone, first seen today (labelled orphaned-since=2026-11-05)"
    )
    early = ok(ctl.run("run", now="2026-12-04T03:00:00Z"))  # 29 days
    assert early.changes() == []
    names_by_day = {
        c["metadata"]["labels"]["backup-ns.sh/daily"]: n for n, c in ctlsim.state(sim)[1].items()
    }
    late = ok(ctl.run("run", now="2026-12-05T03:00:00Z"))  # 30 days
    assert sorted(late.changes()) == sorted(
        [
            f"delete vsc/{names_by_day['2026-11-01']} : snapshot gone/{day(1)} is gone, orphaned since 2026-11-05 (30 days, keep 30); deletionPolicy Retain -> Delete first",
            f"keep vsc/{names_by_day['2026-11-02']} : labelled backup-ns.sh/keep=true (not deleted)",
            f"delete vsc/{names_by_day['2026-11-03']} : snapshot gone/{day(3)} is gone, orphaned since 2026-11-05 (30 days, keep 30); deletionPolicy Retain -> Delete first",
            f"keep vsc/{names_by_day['2026-11-04']} : newest content of gone/data (not deleted)",
        ]
    )
    assert sorted(ctlsim.state(sim)[1]) == sorted(
        [names_by_day["2026-11-02"], names_by_day["2026-11-04"]]
    )


def test_the_newest_orphan_is_found_to_the_nanosecond(sim: KubeSim, ctl: Controller) -> None:
    """Two contents cut in the same second: the later one (status.creationTime in ns) is the
    newest, whatever their (random) names say."""
    labels = {"backup-ns.sh/type": "cronjob", "backup-ns.sh/pvc": "data"}
    since = {**labels, "backup-ns.sh/orphaned-since": "2026-10-01"}
    older = snapshot("gone", "a", START, content_labels=since)[1]
    newer = snapshot("gone", "b", START + timedelta(microseconds=500), content_labels=since)[1]
    older["metadata"]["name"], newer["metadata"]["name"] = "snapcontent-zzz", "snapcontent-aaa"
    ctlsim.seed(sim, [older, newer])
    run = ok(ctl.run("orphans", "--dry-run", now=NOW))
    assert sorted(run.changes()) == [
        "delete vsc/snapcontent-zzz : snapshot gone/a is gone, orphaned since 2026-10-01 (50 days, keep 30); deletionPolicy Retain -> Delete first",
        "keep vsc/snapcontent-aaa : newest content of gone/data (not deleted)",
    ]


def test_status_lists_pvcs_and_fails_when_stale(sim: KubeSim, ctl: Controller) -> None:
    ctlsim.seed(sim, history(NS, START, 3))
    ctlsim.seed(sim, history("blog", START, 3, policy="Delete"))
    ctlsim.seed(sim, history("blog", START, 1, pvc="uploads"))
    ctlsim.seed(sim, history("static-site", START, 3, pvc="www"))
    ctlsim.seed(sim, snapshot(NS, "err", START, error="x"))
    ok(ctl.run("sync", now="2026-11-03T03:00:00Z"))
    run = ctl.run("status", now="2026-11-03T03:00:00Z")
    assert run.status == 1
    assert run.lines == [
        "NAMESPACE/PVC    NEWEST-READY               AGE  DAILY  WEEKLY  MONTHLY  FAILED  DELETE-POLICY  DRILL  STATE",
        "blog/data        data-2026-11-03-010000     2h   3      2       1        0       3              -      ok, 3 content(s) deletionPolicy Delete",
        "blog/uploads     uploads-2026-11-01-010000  2d   1      1       1        0       0              -      STALE (older than 2d)",
        "shop-prod/data   data-2026-11-03-010000     2h   3      2       1        1       0              -      ok",
        "static-site/www  www-2026-11-03-010000      2h   3      2       1        0       0              -      ok",
    ]
    assert run.stderr.splitlines()[-1].startswith("ERROR: stale backups: ")
    assert "WARNING: 3 content(s) have deletionPolicy Delete" in run.stderr
    fresh = ok(ctl.run("status", now="2026-11-01T03:00:00Z"))
    assert "STALE" not in fresh.stdout


def test_status_json_has_the_documented_fields(sim: KubeSim, ctl: Controller) -> None:
    ctlsim.seed(sim, history("blog", START, 3, policy="Delete"))
    ctlsim.seed(sim, history("blog", START, 1, pvc="uploads"))
    ctlsim.seed(sim, snapshot(NS, "err", START, error="x"))
    ok(ctl.run("sync", now="2026-11-03T03:00:00Z"))
    run = ctl.run("status", "-o", "json", now="2026-11-03T03:00:00Z")
    assert run.status == 1  # stale, as the table
    assert run.stderr.splitlines()[-1].startswith("ERROR: stale backups: ")
    doc = json.loads(run.stdout)
    assert doc["stale"] == 2  # blog/uploads, shop-prod/data (only a failed one)
    rows = {(r["namespace"], r["pvc"]): r for r in doc["pvcs"]}
    assert rows[("blog", "data")] == {
        "namespace": "blog",
        "pvc": "data",
        "newestReady": "data-2026-11-03-010000",
        "newestReadyAgeSeconds": 7200,
        "daily": 3,
        "weekly": 2,
        "monthly": 1,
        "failed": 0,
        "deletePolicyContents": 3,
        "configured": True,
        "stale": False,
        "state": "ok, 3 content(s) deletionPolicy Delete",
        "lastDrill": None,
    }
    assert rows[("shop-prod", "data")]["newestReady"] is None
    assert rows[("shop-prod", "data")]["newestReadyAgeSeconds"] is None
    assert rows[("shop-prod", "data")]["failed"] == 1
    assert rows[("blog", "uploads")]["stale"] is True
    assert (rows[("static-site", "www")]["stale"], rows[("static-site", "www")]["state"]) == (
        False,
        "not deployed (no snapshot yet)",
    )
    bad = ctl.run("status", "-o", "yaml")
    assert (bad.status, bad.stderr) == (
        2,
        "ERROR: status: -o takes json (the table is the default). "
        'Run "backup-ns-controller.sh status --help" for usage.\n',
    )


def test_status_shows_the_last_drill_of_each_pvc(sim: KubeSim, ctl: Controller) -> None:
    """The newest verified-at of a PVC's snapshots: its result and age (whichever
    snapshot was drilled), in the table and in JSON."""
    ok_result = "ok: tables=3 rows=43 checks=2 bytes=887 load=1s restore=6s"
    drilled = {"backup-ns.sh/verified-at": "2026-11-02T01:00:00Z", "backup-ns.sh/verified-ok": "true",
               "backup-ns.sh/verified-result": ok_result}  # fmt: skip
    failed = {"backup-ns.sh/verified-at": "2026-11-03T02:00:00Z", "backup-ns.sh/verified-ok": "false",
              "backup-ns.sh/verified-result": 'failed: drill: check 1 returned "f"'}  # fmt: skip
    ctlsim.seed(sim, snapshot(NS, "data-a", START, annotations=drilled))
    ctlsim.seed(sim, snapshot(NS, "data-b", START + timedelta(days=1)))
    ctlsim.seed(sim, snapshot("blog", "data-a", START, annotations=drilled))
    ctlsim.seed(sim, snapshot("blog", "data-b", START + timedelta(days=1), annotations=failed))
    run = ctl.run("status", now="2026-11-03T03:00:00Z")
    drill = {line.split()[0]: line.split()[8:10] for line in run.lines[1:]}
    assert drill["shop-prod/data"] == ["ok", "26h"]
    assert drill["blog/data"] == ["FAILED", "60m"]
    doc = json.loads(ctl.run("status", "-o", "json", now="2026-11-03T03:00:00Z").stdout)
    rows = {(r["namespace"], r["pvc"]): r for r in doc["pvcs"]}
    assert rows[(NS, "data")]["lastDrill"] == {
        "snapshot": "data-a", "at": "2026-11-02T01:00:00Z", "ok": True, "result": ok_result,
    }  # fmt: skip
    assert rows[("blog", "data")]["lastDrill"]["ok"] is False
    assert rows[("blog", "data")]["lastDrill"]["result"] == 'failed: drill: check 1 returned "f"'


def test_list_contents_json_has_the_documented_fields(sim: KubeSim, ctl: Controller) -> None:
    ctlsim.seed(sim, history(NS, START, 2))
    ctlsim.seed(sim, history("gone", START, 1))
    ok(ctl.run("sync", now="2026-11-03T03:00:00Z"))
    sim.kubectl("delete", "namespace", "gone", check=True)
    sim.wait_for(lambda: not [k for k in ctlsim.state(sim)[0] if k[0] == "gone"])
    doc = json.loads(ok(ctl.run("list-contents", "-o", "json")).stdout)
    rows = {(c["namespace"], c["snapshot"]): c for c in doc["contents"]}
    assert set(rows) == {(NS, day(1)), (NS, day(2)), ("gone", day(1))}
    live, gone = rows[(NS, day(2))], rows[("gone", day(1))]
    assert set(live) == {
        "name",
        "namespace",
        "snapshot",
        "pvc",
        "day",
        "ready",
        "deletionPolicy",
        "created",
        "snapshotExists",
        "namespaceExists",
    }
    assert live["name"].startswith("snapcontent-")
    assert (live["pvc"], live["day"], live["ready"], live["deletionPolicy"]) == (
        "data",
        "2026-11-02",
        True,
        "Retain",
    )
    assert (live["snapshotExists"], live["namespaceExists"]) == (True, True)
    assert (gone["snapshotExists"], gone["namespaceExists"]) == (False, False)
    orphaned = json.loads(ok(ctl.run("list-contents", "--orphaned", "-o", "json")).stdout)
    assert [c["namespace"] for c in orphaned["contents"]] == ["gone"]
    ctlsim.clear(sim)
    assert ok(ctl.run("list-contents", "-o", "json")).stdout == '{"contents": []}\n'


def test_status_not_deployed_is_no_failure(sim: KubeSim, ctl: Controller) -> None:
    """A partial rollout: configured PVCs without any snapshot are "not deployed", exit 0;
    a configured PVC whose snapshots are all failed is still stale."""
    ctlsim.seed(sim, history(NS, START, 3))
    run = ok(ctl.run("status", now="2026-11-03T03:00:00Z"))
    assert run.lines == [
        "NAMESPACE/PVC    NEWEST-READY            AGE  DAILY  WEEKLY  MONTHLY  FAILED  DELETE-POLICY  DRILL  STATE",
        "blog/data        -                       -    0      0       0        0       0              -      not deployed (no snapshot yet)",
        "blog/uploads     -                       -    0      0       0        0       0              -      not deployed (no snapshot yet)",
        "shop-prod/data   data-2026-11-03-010000  2h   3      2       1        0       0              -      ok",
        "static-site/www  -                       -    0      0       0        0       0              -      not deployed (no snapshot yet)",
    ]
    assert run.stderr.splitlines() == [
        "NOTE: no snapshot yet of blog/data blog/uploads static-site/www: not deployed yet (apply its manifests.yaml), or its first backup has not run yet"
    ]
    ctlsim.seed(sim, snapshot("static-site", "www-x", START, pvc="www", error="x"))
    run = ctl.run("status", now="2026-11-03T03:00:00Z")
    assert run.status == 1
    assert (
        "static-site/www  -                       -    0      0       0        1       0              -      STALE (no ready snapshot)"
        in run.lines
    )


def test_status_counts_delete_contents_before_the_first_sync(sim: KubeSim, ctl: Controller) -> None:
    """The bound content's own deletionPolicy counts, synced or not, and the warning gives
    the command that keeps the existing contents (the class only changes new ones)."""
    objs = history("blog", START, 2, policy="Delete")
    ctlsim.seed(sim, objs)
    ctlsim.seed(sim, history(NS, START, 2))
    contents = sorted(o["metadata"]["name"] for o in objs if o["kind"] == "VolumeSnapshotContent")
    run = ctl.run("status", now="2026-11-02T03:00:00Z")
    assert (
        "blog/data        data-2026-11-02-010000  2h   2      2       1        0       2              -      ok, 2 content(s) deletionPolicy Delete"
        in run.lines
    )
    warning = [line for line in run.stderr.splitlines() if line.startswith("WARNING:")]
    assert len(warning) == 1
    assert warning[0].startswith(
        "WARNING: 2 content(s) have deletionPolicy Delete: deleting their snapshot or namespace destroys the data. Keep them: kubectl patch volumesnapshotcontent "
    )
    named = warning[0].split("kubectl patch volumesnapshotcontent ", 1)[1].split(" --type", 1)[0]
    assert sorted(named.split()) == contents
    assert warning[0].endswith(
        """ --type merge -p '{"spec":{"deletionPolicy":"Retain"}}', and set deletionPolicy: Retain on the VolumeSnapshotClass for new snapshots"""
    )
    # The command works as printed (kubectl patch takes several names).
    command = warning[0].split("Keep them: ", 1)[1].split(", and set", 1)[0]
    subprocess.run(shlex.split(command), env=sim.env(), check=True, capture_output=True)
    after = ctl.run("status", now="2026-11-02T03:00:00Z")
    assert "WARNING" not in after.stderr
    assert (
        "blog/data        data-2026-11-02-010000  2h   2      2       1        0       0              -      ok"
        in after.lines
    )


def test_list_newest_first_with_filters(sim: KubeSim, ctl: Controller) -> None:
    ctlsim.seed(sim, history(NS, START, 3))
    ctlsim.seed(sim, history("blog", START, 2, pvc="uploads"))
    ctlsim.seed(sim, snapshot(NS, "mine", START, managed=False))
    run = ok(ctl.run("list", "-A", now="2026-11-03T03:00:00Z"))
    assert run.lines[0].split() == ["NAMESPACE", "NAME", "PVC", "READY", "AGE", "SIZE", "LABELS"]
    assert [line.split()[1] for line in run.lines[1:]] == [
        day(3),
        "uploads-2026-11-02-010000",
        day(2),
        "uploads-2026-11-01-010000",
        day(1),
    ]
    assert run.lines[1].split()[2:] == [
        "data",
        "true",
        "2h",
        "1Gi",
        "daily=2026-11-03,retain=daily_weekly_monthly",
    ]
    only = ok(ctl.run("list", "-n", "blog", "-l", "weekly", now="2026-11-03T03:00:00Z"))
    assert [line.split()[1] for line in only.lines[1:]] == [
        "uploads-2026-11-02-010000",
        "uploads-2026-11-01-010000",
    ]
    pvc = ok(
        ctl.run("list", "-A", "--pvc", "data", "-l", "daily=2026-11-02", now="2026-11-03T03:00:00Z")
    )
    assert [line.split()[1] for line in pvc.lines[1:]] == [day(2)]
    assert ctl.run("list").status == 2
    assert len(lists(sim)) == 3  # one list call each


# --- the Lease ------------------------------------------------------------------------------


def lease(sim: KubeSim) -> dict[str, Any]:
    got = sim.api("/apis/coordination.k8s.io/v1/namespaces/backup-ns/leases/backup-ns-controller")
    assert got is not None
    return got


def test_lease_is_taken_and_released(sim: KubeSim, ctl: Controller) -> None:
    ctlsim.seed(sim, history(NS, START, 20))
    ok(ctl.run("run", now=NOW))
    assert "holderIdentity" not in lease(sim)["spec"]
    ctlsim.seed(sim, history("other", START, 20))
    again = ok(ctl.run("run", now=NOW))  # a released lease is taken again, silently
    assert again.stderr == "", again.stderr
    assert "holderIdentity" not in lease(sim)["spec"]


def test_a_run_with_nothing_to_change_writes_nothing(sim: KubeSim, ctl: Controller) -> None:
    ctlsim.seed(sim, history(NS, START, 20))
    ok(ctl.run("run", now=NOW))
    taken = lease(sim)["metadata"]["resourceVersion"]
    sim.reset_requests()
    idle = ok(ctl.run("run", now=NOW))
    assert idle.lines[-1] == "[backup-ns-controller] run: 0 change(s) made"
    assert writes(sim, lease=True) == []  # the Lease is read, not taken
    assert lease(sim)["metadata"]["resourceVersion"] == taken


def test_a_held_lease_stops_the_run(sim: KubeSim, ctl: Controller) -> None:
    ctlsim.seed(sim, history(NS, START, 20))
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000000Z")
    sim.seed(
        [
            {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": "backup-ns-controller", "namespace": "backup-ns"},
                "spec": {
                    "holderIdentity": "laptop-42",
                    "leaseDurationSeconds": 3600,
                    "acquireTime": stamp,
                    "renewTime": stamp,
                },
            }
        ]
    )
    sim.reset_requests()
    run = ctl.run("run", now=NOW)
    assert run.status == 1
    assert run.stderr.startswith(
        f"ERROR: another run holds the lease: Lease backup-ns/backup-ns-controller is held by laptop-42 since {stamp} (expires "
    )
    assert writes(sim, lease=True) == [] and lists(sim) == []
    assert lease(sim)["spec"]["holderIdentity"] == "laptop-42"
    ok(ctl.run("plan", now=NOW))  # plan takes no lease


def test_an_expired_lease_is_taken_over(sim: KubeSim, ctl: Controller) -> None:
    ctlsim.seed(sim, history(NS, START, 20))
    sim.seed(
        [
            {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": "backup-ns-controller", "namespace": "backup-ns"},
                "spec": {
                    "holderIdentity": "crashed",
                    "leaseDurationSeconds": 60,
                    "acquireTime": "2026-01-01T00:00:00.000000Z",
                    "renewTime": "2026-01-01T00:00:00.000000Z",
                },
            }
        ]
    )
    sim.reset_requests()
    run = ok(ctl.run("run", now=NOW))
    assert "WARNING: taking over the expired lease of crashed" in run.stderr
    taken = [w.split()[0] for w in writes(sim, lease=True) if "/leases" in w]
    assert taken == ["PUT", "PUT"]  # take, release
    assert "holderIdentity" not in lease(sim)["spec"]


# --- safety rules, one test each ------------------------------------------------------------


@pytest.mark.parametrize(
    "target", ["volumesnapshots", "volumesnapshotcontents", "persistentvolumeclaims"]
)
def test_rule1_a_failed_page_changes_nothing(sim: KubeSim, ctl: Controller, target: str) -> None:
    ctlsim.seed(sim, history(NS, START, 20, labels={"backup-ns.sh/delete-after": "2026-11-01"}))
    ctlsim.seed(
        sim,
        [
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": f"p{i}", "namespace": NS},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "1Gi"}},
                },
            }
            for i in range(3)
        ],
    )
    sim.fault(
        {
            "type": "http",
            "match": {"method": "GET", "path": f".*/{target}", "query": ".*continue=.*"},
            "status": 500,
            "message": "etcd is sad",
            "times": 1,
        }
    )
    sim.reset_requests()
    run = ctl.run("run", now=NOW, CTL_CHUNK_SIZE="2")
    assert run.status == 1, run.stdout
    what = {
        "volumesnapshots": "VolumeSnapshots",
        "volumesnapshotcontents": "VolumeSnapshotContents",
        "persistentvolumeclaims": "PersistentVolumeClaims",
    }[target]
    assert run.stderr.startswith(f"ERROR: cannot list {what}: ")
    assert "Nothing was changed." in run.stderr
    assert writes(sim) == []
    # pages really were followed: more than one request for the first list
    assert len([p for p in lists(sim) if p.endswith("/volumesnapshots")]) >= 2


def test_rule1_paging_reads_everything(sim: KubeSim, ctl: Controller) -> None:
    ctlsim.seed(sim, history(NS, START, 20))
    sim.reset_requests()
    small = ok(ctl.run("plan", now=NOW, CTL_CHUNK_SIZE="3"))
    whole = ok(ctl.run("plan", now=NOW))
    assert small.changes() == whole.changes()
    assert len([p for p in lists(sim) if p.endswith("/volumesnapshots")]) == 7 + 1  # 20/3 pages + 1


def test_rule2_never_the_newest_ready_nor_below_min_ready(sim: KubeSim, ctl: Controller) -> None:
    expired = {"backup-ns.sh/delete-after": "2026-11-01"}
    ctlsim.seed(sim, history(NS, START, 4, labels=expired))
    ctlsim.seed(sim, snapshot(NS, "newer-not-ready", START + timedelta(days=5), ready=False))
    run = ok(ctl.run("sweep", now="2026-11-06T03:00:00Z"))
    assert f"keep {NS}/{day(4)} : newest ready snapshot of {NS}/data (not deleted)" in run.changes()
    assert names(sim) == sorted([day(4), "newer-not-ready"])
    ctlsim.clear(sim)
    ctlsim.seed(sim, history(NS, START, 4, labels=expired))
    run = ok(ctl.run("sweep", now="2026-11-06T03:00:00Z", CTL_MIN_READY="3"))
    assert sorted(c.split(" : ")[0] for c in run.changes()) == sorted(
        [
            f"delete {NS}/{day(1)}",
            f"keep {NS}/{day(2)}",
            f"keep {NS}/{day(3)}",
            f"keep {NS}/{day(4)}",
        ]
    )
    assert (
        f"keep {NS}/{day(2)} : only 3 ready snapshots of {NS}/data left, minReady 3 (not deleted)"
        in run.changes()
    )
    assert len(names(sim)) == 3


def test_rule3_keep_true_is_never_touched(sim: KubeSim, ctl: Controller) -> None:
    keep = {"backup-ns.sh/keep": "true"}
    ctlsim.seed(sim, history(NS, START, 20))
    ctlsim.seed(
        sim,
        snapshot(
            NS,
            "saved",
            START - timedelta(days=30),
            labels={
                **keep,
                "backup-ns.sh/daily": "2026-10-02",
                "backup-ns.sh/delete-after": "2026-10-03",
            },
        ),
    )
    ctlsim.seed(sim, snapshot(NS, "saved-failed", START, error="x", labels=keep))
    run = ok(ctl.run("run", now=NOW))
    assert not [c for c in run.changes() if "/saved" in c and not c.startswith("sync ")]
    assert labels_of(sim, "saved")["daily"] == "2026-10-02"
    assert {"saved", "saved-failed"} <= set(names(sim))
    ok(ctl.run("run", now="2026-11-21T03:00:00Z"))
    assert {"saved", "saved-failed"} <= set(names(sim))


def test_rule4_a_snapshot_being_restored_is_not_deleted(sim: KubeSim, ctl: Controller) -> None:
    ctlsim.seed(sim, history(NS, START, 3, labels={"backup-ns.sh/delete-after": "2026-11-01"}))
    restoring = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "restore", "namespace": NS},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}},
            "dataSource": {
                "apiGroup": "snapshot.storage.k8s.io",
                "kind": "VolumeSnapshot",
                "name": day(1),
            },
        },
        "status": {"phase": "Pending"},
    }
    ctlsim.seed(sim, [restoring])
    content2 = ctlsim.state(sim)[0][(NS, day(2))]["status"]["boundVolumeSnapshotContentName"]
    run = ok(ctl.run("sweep", now="2026-11-04T03:00:00Z"))
    assert (
        f"keep {NS}/{day(1)} : PVC {NS}/restore (Pending) is being restored from it (not deleted)"
        in run.changes()
    )
    assert [c for c in run.changes() if c.startswith("delete ")] == [
        f"delete {NS}/{day(2)} : delete-after 2026-11-01 is before today 2026-11-04; content"
        f" {content2} deletionPolicy Retain -> Delete first"
    ]
    assert day(1) in names(sim)


def test_rule5_the_deletion_cap(sim: KubeSim, ctl: Controller) -> None:
    ctlsim.seed(sim, history(NS, START, 6, labels={"backup-ns.sh/delete-after": "2026-11-01"}))
    sim.reset_requests()
    run = ctl.run("sweep", now="2026-11-07T03:00:00Z", CTL_MAX_DELETIONS_PER_RUN="2")
    assert run.status == 1
    assert run.stderr.splitlines()[-1] == (
        "ERROR: deletion cap reached: deleted 2, held back 3 more (maxDeletionsPerRun 2). Check the plan"
        " (a wrong config or clock?); the next run deletes the next batch, or raise controller.maxDeletionsPerRun"
    )
    assert [w.split()[0] for w in writes(sim)].count("DELETE") == 2
    assert names(sim) == sorted(day(d) for d in (3, 4, 5, 6))  # oldest first


def test_rule6_snapshots_without_type_are_never_touched(sim: KubeSim, ctl: Controller) -> None:
    ctlsim.seed(sim, history(NS, START, 3))
    ctlsim.seed(
        sim,
        history(
            "foreign",
            START,
            12,
            managed=False,
            labels={"backup-ns.sh/delete-after": "2026-11-01", "backup-ns.sh/daily": "2026-11-01"},
        ),
    )
    sim.reset_requests()
    run = ok(ctl.run("run", now="2026-11-13T03:00:00Z", CTL_MAX_CLOCK_SKEW_DAYS="30"))
    assert not [c for c in run.changes() if "foreign" in c]
    assert not [w for w in writes(sim) if "foreign" in w]
    assert len(names(sim, "foreign")) == 12


@pytest.mark.parametrize(
    ("now", "why"),
    [
        (
            "2026-11-19T03:00:00Z",
            "ERROR: clock is behind the snapshots: today is 2026-11-19 (UTC) but the newest snapshot is from 2026-11-20.",
        ),
        (
            "2026-12-21T03:00:00Z",
            "ERROR: clock is far ahead of the snapshots: today is 2026-12-21 (UTC), 31 days after the newest snapshot (2026-11-20); the limit is 30 days.",
        ),
    ],
)
def test_rule7_a_clock_far_off_stops_before_any_write(
    sim: KubeSim, ctl: Controller, now: str, why: str
) -> None:
    ctlsim.seed(sim, history(NS, START, 20, labels={"backup-ns.sh/delete-after": "2026-11-01"}))
    sim.reset_requests()
    run = ctl.run("run", now=now)
    assert run.status == 3
    assert run.stderr.startswith(why)
    assert writes(sim) == []
    assert (
        ok(ctl.run("run", now="2026-12-20T03:00:00Z", CTL_MAX_DELETIONS_PER_RUN="100")).status == 0
    )


# --- ISO week-years -----------------------------------------------------------------------


def test_iso_week_years_at_the_year_end(sim: KubeSim, ctl: Controller) -> None:
    """2026 has an ISO week 53 (Mon 2026-12-28 .. Sun 2027-01-03): its label is
    2026-w53, the next week's 2027-w01; retention orders by time, not by label."""
    start = datetime(2026, 12, 20, 1, 0, tzinfo=timezone.utc)
    objs = history(NS, start, 23)  # to 2027-01-11
    weekly = [
        o["metadata"]["labels"].get("backup-ns.sh/weekly")
        for o in objs
        if o["kind"] == "VolumeSnapshot"
    ]
    assert [w for w in weekly if w] == ["2026-w51", "2026-w52", "2026-w53", "2027-w01", "2027-w02"]
    ctlsim.seed(sim, objs)
    run = ok(ctl.run("retain", "--dry-run", now="2027-01-11T03:00:00Z"))
    assert [c.split(" : ")[0] for c in run.changes() if c.startswith("unlabel weekly")] == [
        f"unlabel weekly {NS}/data-2026-12-20-010000"
    ]
    assert (
        f"unlabel weekly {NS}/data-2026-12-20-010000 : 5th newest ready weekly of {NS}/data, keep 4"
        in run.changes()
    )
