"""Plan the retention controller: its baked settings and per-namespace table.

The controller script (``templates/controller/``) gets ``ctl.env`` (the baked
``CTL_*`` defaults, in order, values already strings) and ``ctl.table``: one
row per configured namespace and PVC with its keep counts and the age after
which ``status`` calls it stale. Namespaces not in the config use the
``CTL_KEEP_*`` defaults. Nothing here touches files or Jinja.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import schedule
from .config import Config, ControllerConfig
from .fields import duration_seconds

LEASE_NAME = "backup-ns-controller"


@dataclass(frozen=True)
class TableRow:
    """One configured (namespace, PVC): keep counts, retention mode, stale limit (s)."""

    namespace: str
    pvc: str
    daily: int
    weekly: int
    monthly: int
    mode: str
    stale_seconds: int

    def line(self) -> str:
        return " ".join(
            (
                self.namespace,
                self.pvc,
                str(self.daily),
                str(self.weekly),
                str(self.monthly),
                self.mode,
                str(self.stale_seconds),
            )
        )


@dataclass(frozen=True)
class ControllerUnit:
    config: ControllerConfig
    env: tuple[tuple[str, str], ...]
    table: tuple[TableRow, ...]
    run_schedule: str
    sync_schedule: str
    status_schedule: str


def controller_env(ctl: ControllerConfig) -> list[tuple[str, str]]:
    """The baked CTL_* defaults (each overridable by the environment)."""
    return [
        ("CTL_NAMESPACE", ctl.namespace),
        ("CTL_TIME_ZONE", ctl.time_zone),
        ("CTL_KEEP_DAILY", str(ctl.keep.daily)),
        ("CTL_KEEP_WEEKLY", str(ctl.keep.weekly)),
        ("CTL_KEEP_MONTHLY", str(ctl.keep.monthly)),
        ("CTL_MIN_READY", str(ctl.min_ready)),
        ("CTL_MAX_DELETIONS_PER_RUN", str(ctl.max_deletions_per_run)),
        ("CTL_ORPHAN_RETENTION_DAYS", str(ctl.orphan_retention_days)),
        ("CTL_FAILED_AFTER_SEC", str(duration_seconds(ctl.failed_after))),
        ("CTL_MAX_CLOCK_SKEW_DAYS", str(ctl.max_clock_skew_days)),
        ("CTL_LEASE_NAME", LEASE_NAME),
        ("CTL_LEASE_DURATION_SEC", str(duration_seconds(ctl.lease_duration))),
        ("CTL_CHUNK_SIZE", "500"),
        ("CTL_DRY_RUN", "false"),
        ("CTL_DEBUG", "false"),
    ]


def plan_controller(config: Config) -> ControllerUnit:
    ctl = config.controller
    rows: list[TableRow] = []
    for name in sorted(config.namespaces):
        ns = config.namespaces[name]
        keep = ns.retention.keep
        period = schedule.period_seconds(schedule.expand(ns.schedule, name))
        for pvc in ns.pvcs:
            rows.append(
                TableRow(
                    namespace=name,
                    pvc=pvc,
                    daily=ctl.keep.daily if keep.daily is None else keep.daily,
                    weekly=ctl.keep.weekly if keep.weekly is None else keep.weekly,
                    monthly=ctl.keep.monthly if keep.monthly is None else keep.monthly,
                    mode=ns.retention.mode,
                    stale_seconds=period * ctl.stale_after_factor,
                )
            )
    return ControllerUnit(
        config=ctl,
        env=tuple(controller_env(ctl)),
        table=tuple(rows),
        run_schedule=schedule.expand(ctl.schedules.prune, f"{ctl.namespace}/prune"),
        sync_schedule=schedule.expand(ctl.schedules.sync, f"{ctl.namespace}/sync"),
        status_schedule=schedule.expand(ctl.schedules.status, f"{ctl.namespace}/status"),
    )
