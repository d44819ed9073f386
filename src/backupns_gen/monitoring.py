"""Plan the monitoring files (``out/monitoring/``): what the rule and kube-state-metrics
templates get.

The alerts compare what kube-state-metrics exports with what each namespace expects,
and only the generator knows the expectation: the namespace's own schedule with ``H``
expanded. So every namespace gets constant recording rules (its longest allowed backup
age, its keep counts) and the alerts themselves are the same few expressions for all
namespaces. Nothing here touches files or Jinja.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime

from . import schedule
from .config import Config, Monitoring, NamespaceConfig
from .fields import duration_seconds

CONTROLLER_CRONJOBS = ("backup-ns-controller-run", "backup-ns-controller-sync")
"""The controller CronJobs RetentionNotRunning watches (retention, label sync)."""
CONTROLLER_PERIODS = 2
"""RetentionNotRunning: no success in this many of the CronJob's periods."""
KSM_NAME = "backup-ns-kube-state-metrics"
"""The ClusterRole, ClusterRoleBinding and ConfigMap for kube-state-metrics."""
KSM_CONFIG_KEY = "backup-ns.yaml"
"""The ConfigMap key holding the custom-resource-state config."""
RULES_FILE = "monitoring/backup-ns.rules"
"""The plain Prometheus rule file (not .yaml: ``kubectl apply -R -f out/`` skips it)."""
PERIODS = ("daily", "weekly", "monthly")


def dst_shift_seconds(zone: str) -> int:
    """How much a daylight saving change can stretch one period in ``zone`` (0 or the
    difference between its January and July offsets)."""
    tz = zoneinfo.ZoneInfo(zone)
    jan = datetime(2026, 1, 15, tzinfo=tz).utcoffset()
    jul = datetime(2026, 7, 15, tzinfo=tz).utcoffset()
    assert jan is not None and jul is not None
    return abs(int((jul - jan).total_seconds()))


@dataclass(frozen=True)
class Expectation:
    """One namespace's backup CronJob and the age its newest success may reach."""

    namespace: str
    cronjob: str
    schedule: str
    """The CronJob schedule with H expanded."""
    schedule_source: str
    time_zone: str
    period_seconds: int
    """Longest gap between two runs of the schedule (plus a DST change in its zone)."""
    max_age_seconds: int
    """period_seconds plus monitoring.grace: BackupMissing's threshold."""
    keep: tuple[tuple[str, int], ...]
    """(period, count) for daily_weekly_monthly retention; empty for days."""


@dataclass(frozen=True)
class ControllerJob:
    """A controller CronJob and the age its newest success may reach."""

    cronjob: str
    schedule: str
    period_seconds: int
    max_age_seconds: int


@dataclass(frozen=True)
class MonitoringUnit:
    """What ``templates/monitoring/`` get (as ``mon``)."""

    namespace: str
    """The controller namespace: where the PrometheusRule lives."""
    expectations: tuple[Expectation, ...]
    suspended: tuple[str, ...]
    """Namespaces whose CronJob is suspended in the config (no backup alerts)."""
    controller_jobs: tuple[ControllerJob, ...]
    grace_seconds: int
    not_ready_after_seconds: int
    runbook_url: str
    rule_labels: tuple[tuple[str, str], ...]
    ksm_namespace: str
    ksm_service_account: str
    drill_max_age_seconds: int = 0
    """Scheduled drills: the longest a namespace may go without a passing drill (the
    interval, plus one period of the drill schedule, plus grace); 0 = no scheduled drills
    (no BackupDrillOverdue)."""

    def runbook(self, alert: str) -> str:
        """The runbook_url of one alert: its section of the runbook."""
        return f"{self.runbook_url}#{alert.lower()}"


DRILL_CRONJOB_NAME = "backup-ns-controller-drill"
"""The controller's drill CronJob (in ``controller_schedules`` when drills are scheduled)."""


def _period(expr: str, zone: str) -> int:
    return schedule.period_seconds(expr) + dst_shift_seconds(zone)


def _keep(config: Config, ns: NamespaceConfig) -> tuple[tuple[str, int], ...]:
    if ns.retention.mode != "daily_weekly_monthly":
        return ()
    default, own = config.controller.keep, ns.retention.keep
    return tuple(
        (p, own_count if (own_count := getattr(own, p)) is not None else getattr(default, p))
        for p in PERIODS
    )


def plan_monitoring(
    config: Config, expanded: dict[str, str], controller_schedules: dict[str, str]
) -> MonitoringUnit:
    """The monitoring unit. ``expanded`` maps each namespace to its expanded schedule,
    ``controller_schedules`` each of CONTROLLER_CRONJOBS to its own (the plan's, so the
    rules and the CronJobs cannot disagree)."""
    mon: Monitoring = config.monitoring
    ctl = config.controller
    grace = duration_seconds(mon.grace)
    expectations = []
    for name in sorted(config.namespaces):
        ns = config.namespaces[name]
        if ns.job.suspend:
            continue
        period = _period(expanded[name], ns.time_zone)
        expectations.append(
            Expectation(
                namespace=name,
                cronjob=ns.job.name,
                schedule=expanded[name],
                schedule_source=ns.schedule,
                time_zone=ns.time_zone,
                period_seconds=period,
                max_age_seconds=period + grace,
                keep=_keep(config, ns),
            )
        )
    jobs = []
    for job in CONTROLLER_CRONJOBS:
        expr = controller_schedules[job]
        period = _period(expr, ctl.time_zone)
        jobs.append(
            ControllerJob(
                cronjob=job,
                schedule=expr,
                period_seconds=period,
                max_age_seconds=CONTROLLER_PERIODS * period,
            )
        )
    drill = controller_schedules.get(DRILL_CRONJOB_NAME, "")
    drill_max_age = 0
    if drill:
        interval = duration_seconds(ctl.verify.interval)
        drill_max_age = interval + _period(drill, ctl.time_zone) + grace
    return MonitoringUnit(
        drill_max_age_seconds=drill_max_age,
        namespace=ctl.namespace,
        expectations=tuple(expectations),
        suspended=tuple(n for n in sorted(config.namespaces) if config.namespaces[n].job.suspend),
        controller_jobs=tuple(jobs),
        grace_seconds=grace,
        not_ready_after_seconds=duration_seconds(mon.not_ready_after),
        runbook_url=mon.runbook_url,
        rule_labels=tuple(sorted(mon.rule_labels.items())),
        ksm_namespace=mon.kube_state_metrics.namespace,
        ksm_service_account=mon.kube_state_metrics.service_account,
    )
