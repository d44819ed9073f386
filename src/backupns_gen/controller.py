"""Plan the retention controller: its baked settings and per-namespace table.

The controller script (``templates/controller/``) gets ``ctl.env`` (the baked
``CTL_*`` defaults, in order, values already strings) and ``ctl.table``: one
row per configured namespace and PVC with its keep counts and the age after
which ``status`` calls it stale. Namespaces not in the config use the
``CTL_KEEP_*`` defaults. Nothing here touches files or Jinja.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import schedule
from .config import Config, ControllerConfig
from .declared import declared, field_at
from .fields import duration_seconds
from .settings import Checks
from .zonerules import ZoneRule, rules_for

LEASE_NAME = "backup-ns-controller"
DRILL_CRONJOB = "backup-ns-drill"
"""The suspended CronJob of each namespace that the controller's drill Jobs come from."""


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
    """The controller script's input (its CronJobs and RBAC are the plan's ClusterUnit)."""

    env: tuple[tuple[str, str], ...]
    settings: tuple[CtlSetting, ...]
    table: tuple[TableRow, ...]
    zones: tuple[ZoneRule, ...] = ()
    """The rules of the config's time zones (CTL_TIME_ZONE may name any of them)."""

    @property
    def checks(self) -> Checks:
        """What the generated settings checks of the controller come from."""
        return Checks((("", self.settings),))


@dataclass(frozen=True)
class CtlSetting:
    """One ``CTL_*`` setting of the controller script: its check, help and baked value.

    ``kind`` picks the bash check, ``verify_<kind>`` of ``templates/core/_verify.sh.j2``
    as for the ``BAK_*`` settings: ``int`` (``lo``..``hi``), ``bool``, ``dns_label`` or
    ``subdomain`` (``what`` names it in the error line) or ``time_zone``. ``value`` computes the
    baked value from ``controller``; the environment overrides it at run time. A row
    with a ``key`` (its camelCase path under ``controller`` in backupns.yaml) takes its
    bounds from that config field and, without ``value``, bakes the field's value.
    """

    name: str
    kind: str
    help: str
    value: Callable[[ControllerConfig], str] = None  # type: ignore[assignment] # set from key
    lo: int = 0
    hi: int = 0
    key: str = ""
    what: str = ""
    """For names: what the name is, in the error line ("is not a valid WHAT")."""

    def __post_init__(self) -> None:
        if self.key:
            found = declared(field_at(ControllerConfig, self.key))
            object.__setattr__(self, "lo", found.get("lo", self.lo))
            object.__setattr__(self, "hi", found.get("hi", self.hi))
            if self.value is None:
                object.__setattr__(self, "value", _at(self.key))
        assert self.value is not None, self.name
        assert (self.kind == "int") == (self.lo < self.hi), self.name
        assert bool(self.what) == (self.kind in ("dns_label", "subdomain")), self.name

    @property
    def check_args(self) -> tuple[str, ...]:
        """The arguments after the name of its bash check, ``verify_<kind> NAME ARGS``."""
        if self.kind == "int":
            return (str(self.lo), str(self.hi))
        return (self.what,) if self.what else ()


def _at(key: str) -> Callable[[ControllerConfig], str]:
    """The baked value of the field at ``key``: its value as text."""

    def value(ctl: ControllerConfig) -> str:
        found: object = ctl
        for part in key.split("."):
            found = getattr(found, "".join("_" + c.lower() if c.isupper() else c for c in part))
        return str(found)

    return value


_NAME_LABEL = "Kubernetes name (DNS label)"

# The one declaration of every CTL_* setting, in the order of CTL_BAKED and --help.
# Integer bounds are the config model's (tests/generator/test_controller.py checks it).
CTL_SETTINGS: tuple[CtlSetting, ...] = (
    CtlSetting(
        "CTL_NAMESPACE",
        "dns_label",
        "the controller's namespace (its Lease)",
        lambda c: c.namespace,
        what=_NAME_LABEL,
    ),
    CtlSetting(
        "CTL_TIME_ZONE", "time_zone", "zone of 'today' (delete-after, marks)", lambda c: c.time_zone
    ),
    CtlSetting(
        "CTL_KEEP_DAILY",
        "int",
        "daily labels kept per PVC (namespaces not in CTL_TABLE)",
        key="keep.daily",
    ),
    CtlSetting(
        "CTL_KEEP_WEEKLY",
        "int",
        "weekly labels kept (namespaces not in CTL_TABLE)",
        key="keep.weekly",
    ),
    CtlSetting(
        "CTL_KEEP_MONTHLY",
        "int",
        "monthly labels kept (namespaces not in CTL_TABLE)",
        key="keep.monthly",
    ),
    CtlSetting(
        "CTL_MIN_READY",
        "int",
        "ready snapshots a PVC never drops below",
        key="minReady",
    ),
    CtlSetting(
        "CTL_MAX_DELETIONS_PER_RUN",
        "int",
        "deletions per run, then exit 1",
        key="maxDeletionsPerRun",
    ),
    CtlSetting(
        "CTL_ORPHAN_RETENTION_DAYS",
        "int",
        "days an orphaned content is kept",
        key="orphanRetentionDays",
    ),
    CtlSetting(
        "CTL_FAILED_AFTER_SEC",
        "int",
        "not ready after this many seconds = failed",
        lambda c: str(duration_seconds(c.failed_after)),
        1,
        999_999_999,
    ),
    CtlSetting(
        "CTL_MAX_CLOCK_SKEW_DAYS",
        "int",
        "days after the newest snapshot the clock may be",
        key="maxClockSkewDays",
    ),
    CtlSetting(
        "CTL_LEASE_NAME",
        "subdomain",
        "the Lease that makes runs exclusive",
        lambda c: LEASE_NAME,
        what="Kubernetes name (DNS subdomain)",
    ),
    CtlSetting(
        "CTL_LEASE_DURATION_SEC",
        "int",
        "how long a dead run's Lease blocks others",
        lambda c: str(duration_seconds(c.lease_duration)),
        1,
        999_999_999,
    ),
    CtlSetting(
        "CTL_CHUNK_SIZE",
        "int",
        "objects per list page (the limit of each paged list request)",
        # kubectl pages by 500; each page costs the controller one kubectl process, and
        # the API server takes any limit (bench/controller.py: 2 pages, not 20, for
        # 10,000 snapshots). Lower it where single objects are very large.
        lambda c: "5000",
        1,
        100_000,
    ),
    CtlSetting(
        "CTL_DRILL_CRONJOB",
        "subdomain",
        "the suspended CronJob a namespace's drill Job is created from",
        lambda c: DRILL_CRONJOB,
        what="Kubernetes name (DNS subdomain)",
    ),
    CtlSetting(
        "CTL_DRILL_MAX_PER_RUN", "int", "namespaces drilled per run", key="verify.maxPerRun"
    ),
    CtlSetting(
        "CTL_DRILL_CONCURRENCY", "int", "drills running at once", key="verify.concurrency"
    ),
    CtlSetting(
        "CTL_DRILL_INTERVAL_SEC",
        "int",
        "a namespace whose last drill is older is due",
        lambda c: str(duration_seconds(c.verify.interval)),
        1,
        999_999_999,
    ),
    CtlSetting(
        "CTL_DRILL_TIMEOUT_SEC",
        "int",
        "how long one drill's Job is waited for",
        lambda c: str(duration_seconds(c.verify.timeout)),
        1,
        999_999_999,
    ),
    CtlSetting(
        "CTL_DRY_RUN", "bool", "true: every command plans only (no writes)", lambda c: "false"
    ),
    CtlSetting(
        "CTL_DEBUG", "bool", "true: bash -x trace and kubectl's full stderr", lambda c: "false"
    ),
)


def controller_env(ctl: ControllerConfig) -> list[tuple[str, str]]:
    """The baked CTL_* defaults (each overridable by the environment)."""
    return [(s.name, s.value(ctl)) for s in CTL_SETTINGS]


def plan_controller(config: Config) -> ControllerUnit:
    ctl = config.controller
    rows: list[TableRow] = []
    periods: dict[str, int] = {}  # namespaces share a few hundred expanded schedules
    for name in sorted(config.namespaces):
        ns = config.namespaces[name]
        keep = ns.retention.keep
        expanded = schedule.expand(ns.schedule, name)
        period = periods.get(expanded)
        if period is None:
            period = periods[expanded] = schedule.period_seconds(expanded)
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
        env=tuple(controller_env(ctl)),
        settings=CTL_SETTINGS,
        table=tuple(rows),
        zones=rules_for({ctl.time_zone}),
    )
