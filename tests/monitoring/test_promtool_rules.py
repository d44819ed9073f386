"""The rendered rules, run by the real promtool (tests/monitoring/build.sh): `promtool check
rules` on the rule files, and `promtool test rules` unit tests for every alert.

Each scenario feeds the series kube-state-metrics would export (one sample a minute;
promtool's clock starts at 0 = 1970-01-01 00:00 UTC) and asserts the alert at the minute it
must fire and the minute before, and silence while backups succeed, while a run is in
progress, and while a namespace's first run is still ahead. The thresholds below are
written out by hand from the schedules, not taken from the generator.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from cronsim import CronSim

from backupns_gen.dashboard import queries
from backupns_gen.render import render
from backupns_gen.schedule import expand
from tests.genhelpers import FULL, REPO, plan_of
from tests.monitoring.tools import tools

M, H, D = 60, 3600, 86400
GRACE = 30 * M
CONFIG = """
namespaces:
  hourly: {pvcs: [data], schedule: "7 * * * *"}
  daily: {pvcs: [data], schedule: "30 2 * * *", retention: {keep: {daily: 3}}}
  weekly: {pvcs: [data], schedule: "0 4 * * 1"}
  hashed: {pvcs: [data], schedule: "H H(1-3) * * *"}
controller:
  schedules: {prune: "15 3 * * *", sync: "*/20 * * * *"}
  verify: {schedule: "0 5 * * *", interval: 48h}
monitoring: {enabled: true, grace: 30m, notReadyAfter: 45m, runbookUrl: "https://rb.example/a.md"}
"""
HASHED = expand("H H(1-3) * * *", "hashed")
SCHEDULE = {"hourly": "7 * * * *", "daily": "30 2 * * *", "weekly": "0 4 * * 1", "hashed": HASHED}
PERIOD = {"hourly": H, "daily": D, "weekly": 7 * D, "hashed": D}
MAX_AGE = {ns: PERIOD[ns] + GRACE for ns in PERIOD}
CRONJOB = "backup-ns"


def promtool() -> Path:
    return tools("promtool")["promtool"]


def humanize_duration(v: float) -> str:
    """Prometheus' humanizeDuration for values >= 1 s (template/template.go)."""
    d = int(v)
    s, m, h, days = d % 60, d // 60 % 60, d // 3600 % 24, d // 86400
    if days:
        return f"{days}d {h}h {m}m {s}s"
    if h:
        return f"{h}h {m}m {s}s"
    if m:
        return f"{m}m {s}s"
    return f"{v:.4g}s"


def fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(v)


def encode(samples: list[float | None]) -> str:
    """promtool's expanding notation: ``v`` once, ``vxN`` N+1 times, ``_xN`` N gaps."""
    out: list[str] = []
    i = 0
    while i < len(samples):
        j = i
        while j < len(samples) and samples[j] == samples[i]:
            j += 1
        v, n = samples[i], j - i
        if v is None:
            out.append(f"_x{n}")
        else:
            out.append(fmt(v) if n == 1 else f"{fmt(v)}x{n - 1}")
        i = j
    return " ".join(out)


def selector(name: str, labels: dict[str, str]) -> str:
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


@dataclass
class Scenario:
    """Input series (a value per minute from 0 to ``minutes``) and expected alerts."""

    minutes: int
    series: list[dict[str, str]] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)

    def add(self, name: str, labels: dict[str, str], value: Callable[[int], float | None]) -> None:
        samples = [value(t * M) for t in range(self.minutes + 1)]
        self.series.append({"series": selector(name, labels), "values": encode(samples)})

    def expect(self, at: int, alert: str, *fired: dict[str, Any]) -> None:
        self.checks.append({"eval_time": f"{at}s", "alertname": alert, "exp_alerts": list(fired)})

    def test(self) -> dict[str, Any]:
        return {"interval": "1m", "input_series": self.series, "alert_rule_test": self.checks}


class Rules:
    """The rendered rules: each alert's labels and annotation templates."""

    def __init__(self, text: str) -> None:
        doc = yaml.safe_load(text)
        self.alerts = {r["alert"]: r for g in doc["groups"] for r in g["rules"] if "alert" in r}

    def fired(self, alert: str, value: float, **labels: str) -> dict[str, Any]:
        """The alert as promtool reports it: labels, and the annotations with the labels and
        the value filled in the way Prometheus' templates do."""
        rule = self.alerts[alert]

        def fill(text: str) -> str:
            text = text.replace("{{ $value | humanizeDuration }}", humanize_duration(value))
            text = text.replace("{{ $value }}", fmt(value))
            return re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels.get(m.group(1), ""), text)

        return {
            "exp_labels": {**rule["labels"], **labels},
            "exp_annotations": {k: fill(v) for k, v in rule["annotations"].items()},
        }


@pytest.fixture(scope="module")
def rules_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rules") / "backup-ns.rules"
    path.write_text(render(plan_of(CONFIG))["monitoring/backup-ns.rules"].text)
    return path


@pytest.fixture(scope="module")
def rules(rules_file: Path) -> Rules:
    return Rules(rules_file.read_text())


def run_tests(rules_file: Path, *scenarios: Scenario) -> None:
    test_file = rules_file.with_name(f"test-{len(list(rules_file.parent.iterdir()))}.yaml")
    test_file.write_text(
        yaml.safe_dump(
            {
                "rule_files": [rules_file.name],
                "evaluation_interval": "1m",
                # recorded expectations first, as Prometheus' own evaluation would settle
                "group_eval_order": [
                    "backup-ns-expected",
                    "backup-ns-snapshots",
                    "backup-ns-alerts",
                    "backup-ns-drills",
                ],
                "tests": [s.test() for s in scenarios],
            },
            sort_keys=False,
        )
    )
    cp = subprocess.run(
        [str(promtool()), "test", "rules", str(test_file)],
        capture_output=True, text=True, check=False, cwd=rules_file.parent,
    )  # fmt: skip
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert "SUCCESS" in cp.stdout + cp.stderr


def cronjob(s: Scenario, ns: str, created: int, successes: list[int], suspend: int = 0) -> None:
    """A CronJob as kube-state-metrics sees it: created at ``created``, each success's
    completion time from that minute on (status.lastSuccessfulTime)."""
    labels = {"namespace": ns, "cronjob": CRONJOB}

    def last(t: int) -> float | None:
        done = [x for x in successes if x <= t]
        return max(done) if done else None

    exists = lambda t: 1.0 if t >= created else None  # noqa: E731
    s.add("kube_cronjob_created", labels, lambda t: created if t >= created else None)
    s.add("kube_cronjob_info", {**labels, "schedule": "x"}, exists)
    s.add(
        "kube_cronjob_spec_suspend",
        labels,
        lambda t: (1.0 if suspend and t >= suspend else 0.0) if t >= created else None,
    )
    s.add("kube_cronjob_status_last_successful_time", labels, last)


def job(s: Scenario, ns: str, name: str, start: int, failed_at: int | None = None) -> None:
    """A Job of the CronJob: started at ``start``; Failed=True from ``failed_at``."""
    labels = {"namespace": ns, "job_name": name}
    s.add("kube_job_status_start_time", labels, lambda t: start if t >= start else None)
    owner = {
        **labels,
        "owner_kind": "CronJob",
        "owner_name": CRONJOB,
        "owner_is_controller": "true",
    }
    s.add("kube_job_owner", owner, lambda t: 1.0 if t >= start else None)
    if failed_at is not None:
        for cond, on in (("true", 1.0), ("false", 0.0), ("unknown", 0.0)):
            s.add(
                "kube_job_failed",
                {**labels, "condition": cond},
                lambda t, on=on: on if t >= failed_at else None,
            )


def runs(ns: str, until: int) -> list[int]:
    """The scheduled run times of ``ns`` (UTC) in [0, until]."""
    out = []
    for when in CronSim(SCHEDULE[ns], datetime(1970, 1, 1, tzinfo=timezone.utc)):
        t = int(when.timestamp())
        if t > until:
            return out
        out.append(t)
    return out


def test_check_rules_on_the_rendered_files(tmp_path: Path) -> None:
    full = tmp_path / "full.rules"
    full.write_text(
        render(plan_of(FULL.read_text(), "full.yaml"))["monitoring/backup-ns.rules"].text
    )
    for path in (REPO / "out" / "monitoring" / "backup-ns.rules", full):
        cp = subprocess.run(
            [str(promtool()), "check", "rules", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert cp.returncode == 0, cp.stdout + cp.stderr
        assert re.search(r"SUCCESS: \d+ rules found", cp.stdout), cp.stdout


@pytest.mark.parametrize("ns", ["hourly", "daily", "weekly", "hashed"])
def test_backup_missing_fires_at_the_right_minute(rules_file: Path, rules: Rules, ns: str) -> None:
    """Runs succeed 2 minutes after their schedule, until one is missed: the alert fires
    the first minute the newest success is older than the period plus the grace."""
    period = PERIOD[ns]
    scheduled = runs(ns, 3 * period + 2 * D)
    good = [t + 2 * M for t in scheduled[:2]]  # the third run is missed
    last = good[-1]
    fire = last + MAX_AGE[ns] + M  # age must be above the threshold: the next minute
    s = Scenario(minutes=(fire + 2 * M) // M)
    cronjob(s, ns, 0, good)
    labels = {"namespace": ns, "cronjob": CRONJOB, "schedule": SCHEDULE[ns], "time_zone": "UTC"}
    s.expect(fire - M, "BackupMissing")
    s.expect(fire, "BackupMissing", rules.fired("BackupMissing", MAX_AGE[ns] + M, **labels))
    # silent while backups succeed: just before each success, the age is about one period
    for t in good[1:]:
        s.expect(t - M, "BackupMissing")
    run_tests(rules_file, s)


def test_backup_missing_summary_reads_well(rules: Rules) -> None:
    fired = rules.fired(
        "BackupMissing", 5460, namespace="hourly", cronjob="backup-ns", schedule="7 * * * *",
        time_zone="UTC",
    )  # fmt: skip
    assert fired["exp_annotations"] == {
        "summary": "Namespace hourly: no successful backup for 1h 31m 0s (CronJob backup-ns, "
        'schedule "7 * * * *" UTC)',
        "runbook_url": "https://rb.example/a.md#backupmissing",
    }


def test_backup_missing_silent_while_a_run_is_in_progress(rules_file: Path) -> None:
    """An hourly run that takes 25 minutes (inside the grace): never an alert, though the
    Job is active for a while each hour; nor BackupFailed."""
    scheduled = runs("hourly", 6 * H)
    done = [t + 25 * M for t in scheduled]
    s = Scenario(minutes=6 * H // M)
    cronjob(s, "hourly", 0, done)
    for i, t in enumerate(scheduled):
        job(s, "hourly", f"backup-ns-{i}", t)
    for t in range(0, 6 * H, 5 * M):
        s.expect(t, "BackupMissing")
        s.expect(t, "BackupFailed")
    run_tests(rules_file, s)


def test_backup_missing_first_run_still_ahead(rules_file: Path, rules: Rules) -> None:
    """A daily namespace deployed at 10:00: silent while its first run (02:30) is ahead;
    when that run never succeeds, it fires one period plus grace after the creation."""
    created = 10 * H
    s = Scenario(minutes=(created + MAX_AGE["daily"] + 2 * M) // M)
    cronjob(s, "daily", created, [])
    labels = {
        "namespace": "daily",
        "cronjob": CRONJOB,
        "schedule": "30 2 * * *",
        "time_zone": "UTC",
    }
    s.expect(created + 16 * H, "BackupMissing")  # 02:00 the next day: the first run is ahead
    s.expect(created + MAX_AGE["daily"], "BackupMissing")
    s.expect(
        created + MAX_AGE["daily"] + M,
        "BackupMissing",
        rules.fired("BackupMissing", MAX_AGE["daily"] + M, **labels),
    )
    run_tests(rules_file, s)


def test_backup_failed_fires_when_the_run_fails_and_clears_with_a_success(
    rules_file: Path, rules: Rules
) -> None:
    run1, run2, run3 = runs("daily", 3 * D)[:3]
    success1, failed2, success3 = run1 + 3 * M, run2 + 4 * M, run3 + 3 * M
    s = Scenario(minutes=(success3 + 5 * M) // M)
    cronjob(s, "daily", 0, [success1, success3])
    job(s, "daily", "backup-ns-1", run1)
    job(s, "daily", "backup-ns-2", run2, failed_at=failed2)
    job(s, "daily", "backup-ns-3", run3)
    s.expect(run2 + 2 * M, "BackupFailed")  # running
    s.expect(failed2 - M, "BackupFailed")
    s.expect(
        failed2, "BackupFailed", rules.fired("BackupFailed", 1, namespace="daily", cronjob=CRONJOB)
    )
    s.expect(
        run3 + M, "BackupFailed", rules.fired("BackupFailed", 1, namespace="daily", cronjob=CRONJOB)
    )
    s.expect(success3, "BackupFailed")  # the next run succeeded
    run_tests(rules_file, s)


def test_backup_suspended_fires_after_15_minutes(rules_file: Path, rules: Rules) -> None:
    suspended = 5 * H
    s = Scenario(minutes=(suspended + 20 * M) // M)
    cronjob(s, "hourly", 0, [t + 2 * M for t in runs("hourly", 6 * H)], suspend=suspended)
    s.expect(suspended - M, "BackupSuspended")
    s.expect(suspended + 14 * M, "BackupSuspended")
    s.expect(
        suspended + 15 * M,
        "BackupSuspended",
        rules.fired("BackupSuspended", 1, namespace="hourly", cronjob=CRONJOB),
    )
    run_tests(rules_file, s)


def test_backup_not_deployed_names_every_namespace_without_a_cronjob(
    rules_file: Path, rules: Rules
) -> None:
    s = Scenario(minutes=20)
    cronjob(s, "hourly", 0, [])
    cronjob(s, "weekly", 0, [])
    s.expect(14 * M, "BackupNotDeployed")
    s.expect(
        15 * M,
        "BackupNotDeployed",
        *(
            rules.fired("BackupNotDeployed", MAX_AGE[ns], namespace=ns, cronjob=CRONJOB)
            for ns in ("daily", "hashed")
        ),
    )
    run_tests(rules_file, s)


def test_retention_not_running(rules_file: Path, rules: Rules) -> None:
    """The controller's run CronJob (daily 03:15) last succeeded on day 0: it fires two
    periods later; its sync CronJob is missing: it fires at once."""
    ctl = {"namespace": "backup-ns", "cronjob": "backup-ns-controller-run"}
    success = 3 * H + 16 * M
    fire = success + 2 * D + M
    s = Scenario(minutes=(fire + M) // M)
    s.add("kube_cronjob_created", ctl, lambda t: 0.0)
    s.add("kube_cronjob_info", {**ctl, "schedule": "15 3 * * *"}, lambda t: 1.0)
    s.add(
        "kube_cronjob_status_last_successful_time", ctl, lambda t: success if t >= success else None
    )
    sync = {"namespace": "backup-ns", "cronjob": "backup-ns-controller-sync"}
    s.expect(M, "RetentionNotRunning", rules.fired("RetentionNotRunning", 2400, **sync))
    s.expect(fire - M, "RetentionNotRunning", rules.fired("RetentionNotRunning", 2400, **sync))
    s.expect(
        fire,
        "RetentionNotRunning",
        rules.fired("RetentionNotRunning", 2 * D + M, **ctl),
        rules.fired("RetentionNotRunning", 2400, **sync),
    )
    run_tests(rules_file, s)


def snapshot(
    s: Scenario, ns: str, name: str, created: int, ready_at: int | None, type_: str = "cronjob",
    **labels: str,
) -> None:  # fmt: skip
    base = {"namespace": ns, "volumesnapshot": name, "pvc": "data", "type": type_}
    on = lambda t: t >= created  # noqa: E731
    s.add(
        "backupns_volumesnapshot_created_time_seconds", base, lambda t: created if on(t) else None
    )
    s.add(
        "backupns_volumesnapshot_ready",
        base,
        lambda t: (1.0 if ready_at is not None and t >= ready_at else 0.0) if on(t) else None,
    )
    s.add("backupns_volumesnapshot_info", {**base, **labels}, lambda t: 1.0 if on(t) else None)


def test_snapshot_not_ready(rules_file: Path, rules: Rules) -> None:
    """notReadyAfter 45m: a snapshot stuck since 01:00 fires at 01:46; one ready after 10
    minutes and an unmanaged one (no backup-ns.sh/type) stay silent."""
    created = H
    s = Scenario(minutes=3 * H // M)
    snapshot(s, "daily", "data-stuck", created, None)
    snapshot(s, "daily", "data-ok", created, created + 10 * M)
    snapshot(s, "other", "foreign", created, None, type_="")
    s.expect(created + 45 * M, "SnapshotNotReady")
    fired = rules.fired(
        "SnapshotNotReady", 46 * M, namespace="daily", volumesnapshot="data-stuck", pvc="data"
    )
    s.expect(created + 46 * M, "SnapshotNotReady", fired)
    s.expect(created + 2 * H, "SnapshotNotReady", rules.fired(
        "SnapshotNotReady", 2 * H, namespace="daily", volumesnapshot="data-stuck", pvc="data"
    ))  # fmt: skip
    run_tests(rules_file, s)


def test_delete_policy_at_risk(rules_file: Path, rules: Rules) -> None:
    """A managed snapshot's content switched to Delete at 02:00 fires at 02:30; a Retain
    one, a Delete one of an unmanaged snapshot, stay silent."""
    switched = 2 * H
    s = Scenario(minutes=3 * H // M)
    for name, type_ in (("data-1", "cronjob"), ("data-2", "cronjob"), ("foreign", "")):
        snapshot(s, "daily", name, 0, 0, type_=type_)
        policy = "Retain" if name == "data-2" else "Delete"
        s.add(
            "backupns_volumesnapshotcontent_info",
            {"volumesnapshotcontent": f"snapcontent-{name}", "namespace": "daily",
             "volumesnapshot": name, "deletion_policy": policy},
            lambda t, policy=policy: 1.0 if policy == "Retain" or t >= switched else None,
        )  # fmt: skip
    s.expect(switched + 29 * M, "DeletePolicyAtRisk")
    s.expect(switched + 30 * M, "DeletePolicyAtRisk", rules.fired(
        "DeletePolicyAtRisk", 1, namespace="daily", volumesnapshot="data-1",
        volumesnapshotcontent="snapcontent-data-1", pvc="data",
    ))  # fmt: skip
    run_tests(rules_file, s)


def test_retention_drift(rules_file: Path, rules: Rules) -> None:
    """Namespace daily keeps 3 daily copies: a fourth ready one from 06:00 fires a day
    later; hourly holds 7 (its keep count) and a kept one more: silent."""
    extra = 6 * H
    s = Scenario(minutes=(extra + D + 2 * M) // M)
    for i in range(4):
        snapshot(s, "daily", f"data-{i}", extra if i == 3 else 0, extra if i == 3 else 0,
                 daily=f"1970-01-0{i + 1}", weekly="", monthly="", keep="")  # fmt: skip
    for i in range(8):
        snapshot(s, "hourly", f"data-{i}", 0, 0, daily=f"1970-01-0{i + 1}", weekly="",
                 monthly="", keep="true" if i == 7 else "")  # fmt: skip
    s.expect(extra + D - M, "RetentionDrift")
    s.expect(extra + D, "RetentionDrift", rules.fired(
        "RetentionDrift", 4, namespace="daily", pvc="data", period="daily"
    ))  # fmt: skip
    run_tests(rules_file, s)


def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    """promtool parses every dashboard query (as recording rules; $namespace as Grafana
    substitutes it for "All")."""
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query{i}", "expr": q.replace("$namespace", ".*")}
                    for i, q in enumerate(queries())
                ],
            }
        ]
    }
    path = tmp_path / "dashboard.rules"
    path.write_text(yaml.safe_dump(rules))
    cp = subprocess.run(
        [str(promtool()), "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert f"SUCCESS: {len(queries())} rules found" in cp.stdout


def drill(s: Scenario, ns: str, name: str, drills: list[tuple[int, bool]]) -> None:
    """The verified_* series of a snapshot (created at 0): each (time, passed) a drill that
    ended then, its annotations from that minute on."""
    base = {"namespace": ns, "volumesnapshot": name, "pvc": "data", "type": "cronjob"}

    def newest(t: int) -> tuple[int, bool] | None:
        done = [d for d in drills if d[0] <= t]
        return done[-1] if done else None

    s.add("backupns_volumesnapshot_verified_time_seconds", base,
          lambda t: (got[0] if (got := newest(t)) else None))  # fmt: skip
    s.add("backupns_volumesnapshot_verified_ok", base,
          lambda t: (float(got[1]) if (got := newest(t)) else None))  # fmt: skip


def test_backup_drill_failed_follows_the_newest_drill(rules_file: Path, rules: Rules) -> None:
    """daily: data-1's drill passed at 01:00; data-2's failed at 02:00 (fires then, though an
    older drill passed); data-2 drilled again at 03:00 and passed: silent. A failed drill
    of an older snapshot than the newest drilled one stays silent (hourly)."""
    s = Scenario(minutes=4 * H // M)
    for ns, name in (("daily", "data-1"), ("daily", "data-2"), ("hourly", "a"), ("hourly", "b")):
        snapshot(s, ns, name, 0, 0)
    drill(s, "daily", "data-1", [(H, True)])
    drill(s, "daily", "data-2", [(2 * H, False), (3 * H, True)])
    drill(s, "hourly", "a", [(H, False)])
    drill(s, "hourly", "b", [(2 * H, True)])
    failed = {ns: rules.fired("BackupDrillFailed", 0, namespace=ns) for ns in ("daily", "hourly")}
    s.expect(2 * H - M, "BackupDrillFailed", failed["hourly"])
    s.expect(2 * H, "BackupDrillFailed", failed["daily"])
    s.expect(3 * H - M, "BackupDrillFailed", failed["daily"])
    s.expect(3 * H, "BackupDrillFailed")
    run_tests(rules_file, s)


def test_backup_drill_overdue(rules_file: Path, rules: Rules) -> None:
    """interval 48h, drills daily at 05:00, grace 30m: 48h + 24h + 30m without a drill. daily
    was drilled at 00:00 and fires a minute past that; weekly was never drilled and counts
    from its oldest snapshot (00:00); hourly, drilled at 12:00, stays silent."""
    limit = 2 * D + D + GRACE
    s = Scenario(minutes=limit // M + 2)
    for ns in ("daily", "weekly", "hourly"):
        snapshot(s, ns, "data-1", 0, 0)
    drill(s, "daily", "data-1", [(0, True)])
    drill(s, "hourly", "data-1", [(12 * H, True)])
    s.expect(limit, "BackupDrillOverdue")
    s.expect(limit + M, "BackupDrillOverdue",
             rules.fired("BackupDrillOverdue", limit + M, namespace="daily"),
             rules.fired("BackupDrillOverdue", limit + M, namespace="weekly"))  # fmt: skip
    run_tests(rules_file, s)
