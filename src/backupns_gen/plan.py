"""Plan: the validated config → render units (what each template gets).

A NamespaceUnit carries ``name``, ``caps`` and ``env`` exactly as the script
templates expect them (``ns.env``: the baked BAK_* defaults in the order of
the settings table, ``settings.py``, values already strings), the table rows
themselves for the generated checks and help, plus what the manifest
templates need. The ClusterUnit is the cluster templates' input, the
ControllerUnit (controller.py) the controller script's. The plan is the
templates' only input: no template sees the raw config. Nothing here touches
files or Jinja.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from . import schedule, settings, zonerules
from .config import (
    DEFAULT_RUN_AS_USER,
    Config,
    ControllerConfig,
    Hook,
    Job,
    NamespaceConfig,
)
from .controller import ControllerUnit, plan_controller
from .fields import duration_seconds
from .monitoring import DRILL_CRONJOB_NAME, MonitoringUnit, plan_monitoring
from .settings import Checks, Setting
from .zonerules import ZoneRule

CAPS = ("lease", "flock", "postgres", "mysql", "hooks", "group")
LEASE_PREFIX = "backup-ns-slot"
"""Slot Leases are named ``<LEASE_PREFIX>-<node>-<i>`` in the controller namespace."""


@dataclass(frozen=True)
class PlannedHook:
    """One hook as the script template bakes it (values still to be shquoted)."""

    phase: str
    """``pre`` or ``post``."""
    label: str
    """How logs name it: ``pre hook 1/2``."""
    exec: str
    container: str
    """"" = the pod's default container."""
    command: tuple[str, ...]
    timeout_seconds: int
    on_error: str
    pvcs: str
    """Space-separated PVC names; "" = every PVC."""


def plan_hooks(ns: NamespaceConfig) -> tuple[PlannedHook, ...]:
    def one(phase: str, i: int, of: int, hook: Hook) -> PlannedHook:
        return PlannedHook(
            phase=phase,
            label=f"{phase} hook {i}/{of}",
            exec=hook.exec,
            container=hook.container or "",
            command=tuple(hook.command),
            timeout_seconds=duration_seconds(hook.timeout),
            on_error=hook.on_error,
            pvcs=" ".join(hook.pvcs or ()),
        )

    pre, post = ns.hooks.pre, ns.hooks.post
    return tuple(one("pre", i, len(pre), h) for i, h in enumerate(pre, 1)) + tuple(
        one("post", i, len(post), h) for i, h in enumerate(post, 1)
    )


@dataclass(frozen=True)
class NamespaceUnit:
    """Everything rendered for one namespace."""

    name: str
    caps: frozenset[str]
    env: tuple[tuple[str, str], ...]
    schedule: str
    """The CronJob schedule with H expanded."""
    schedule_source: str
    """The schedule as written in the config (H not expanded)."""
    dump_pvc: str
    active_deadline_seconds: int | None
    time_zone: str
    image: str
    snapshot_type: str
    """The backup-ns.sh/type label of the CronJob's snapshots."""
    flock_dir: str
    flock_host_path: str
    lease_namespace: str
    """The controller namespace: where the slot Leases live (lock.mode lease)."""
    run_as_user: int
    """The container's user: job.runAsUser, else 0 with flock, else DEFAULT_RUN_AS_USER."""
    job: Job
    """The CronJob and pod settings, as configured."""
    hooks: tuple[PlannedHook, ...]
    """Pre hooks, then post hooks, each in config order (empty without the hooks cap)."""
    verify_after_backup: bool
    drill: bool = False
    """Scheduled drills are on (controller.verify.schedule): the suspended drill CronJob,
    the verify command in the job script and the verify rights."""
    verify_checks: tuple[str, ...] = ()
    """verify.checks: SQL statements the drill runs in its scratch database."""
    verify_command: tuple[str, ...] = ()
    """verify.command: the argv verify runs in the helper pod (no database)."""
    tenant_groups: tuple[str, ...] = ()
    """Groups bound to the namespace's Role backup-ns-restore (restore.tenantGroups)."""
    """The CronJob verifies each new snapshot (and binds ClusterRole backup-ns-verify)."""
    zones: tuple[ZoneRule, ...] = ()
    """The rules of every zone of the config (BAK_TIME_ZONE may name another of them);
    ``plan_namespace`` alone: of the namespace's own zone."""

    @property
    def flock(self) -> bool:
        return "flock" in self.caps

    @property
    def settings(self) -> tuple[Setting, ...]:
        """The rows of the settings table this script has (by its caps), in order."""
        return settings.for_caps(self.caps)

    @property
    def check_groups(self) -> list[tuple[str, list[Setting]]]:
        """Settings with a generated check, grouped by the bash condition they need."""
        checked = tuple(s for s in self.settings if s.kind != "custom")
        return settings.groups(checked, "check_condition")

    @property
    def checks(self) -> Checks:
        """What the generated settings checks of the script come from."""
        return Checks(self.check_groups, secrets=True)

    @property
    def shown_groups(self) -> list[tuple[str, list[Setting]]]:
        """What ``config`` prints, grouped by the bash condition under which it applies."""
        shown = tuple(
            s for s in self.settings if s.shown and (s.when not in CAPS or s.when in self.caps)
        )
        return settings.groups(shown, "condition")

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s.name for s in settings.SETTINGS if s.secret)

    @property
    def lease(self) -> bool:
        return "lease" in self.caps


@dataclass(frozen=True)
class ClusterUnit:
    """The cluster-wide pieces: ClusterRoles and the controller's namespace, RBAC, CronJobs.

    What ``templates/cluster/`` get (as ``cluster``): no cluster template sees the config.
    """

    namespace: str
    """The controller namespace: its Namespace, RBAC, CronJobs and the slot Leases."""
    image: str
    """The controller CronJobs' image."""
    requests: tuple[tuple[str, str], ...]
    """The controller pods' resource requests, (name, quantity) pairs (controller.resources)."""
    limits: tuple[tuple[str, str], ...]
    """The controller pods' resource limits, (name, quantity) pairs."""
    time_zone: str
    """The controller CronJobs' timeZone."""
    run_schedule: str
    """The ``run`` CronJob's schedule with H expanded (from ``schedules.prune``)."""
    run_schedule_source: str
    """``schedules.prune`` as written in the config (H not expanded)."""
    sync_schedule: str
    sync_schedule_source: str
    status_schedule: str
    status_schedule_source: str
    namespaces: tuple[str, ...]
    verify_namespaces: tuple[str, ...]
    """Namespaces whose CronJob verifies after each backup (they get the extra role)."""
    lease_namespaces: tuple[str, ...]
    """Namespaces whose jobs take Lease slots (they get the slot Role's binding)."""
    group_namespaces: tuple[str, ...] = ()
    """Namespaces whose scripts may cut a VolumeGroupSnapshot (they get the group roles)."""
    admission_policies: bool = True
    """Render cluster/admission-policies.yaml (controller.admissionPolicies)."""
    admin_groups: tuple[str, ...] = ("system:masters",)
    """The platform team's groups (controller.adminGroups)."""
    drill_schedule: str = ""
    """The drill CronJob's schedule with H expanded ("" = no scheduled drills)."""
    drill_schedule_source: str = ""
    drill_deadline_seconds: int = 0
    """The drill run's activeDeadlineSeconds: every batch of drills waited for in full."""

    @property
    def controller_user(self) -> str:
        """The controller's ServiceAccount as the API server names the requester."""
        return f"system:serviceaccount:{self.namespace}:backup-ns-controller"


@dataclass(frozen=True)
class Plan:
    source_name: str
    namespaces: tuple[NamespaceUnit, ...]
    cluster: ClusterUnit
    controller: ControllerUnit
    monitoring: MonitoringUnit | None = None
    """The monitoring files' input; None when monitoring.enabled is false."""


def namespace_env(
    name: str, ns: NamespaceConfig, caps: frozenset[str], dump_pvc: str, lease_namespace: str
) -> list[tuple[str, str]]:
    """The baked BAK_* defaults: the table's baked settings for these caps, in its order."""
    src = settings.Source(name, ns, caps, dump_pvc, lease_namespace)
    return [(s.name, s.baked_value(src)) for s in settings.for_caps(caps) if s.baked]


def plan_namespace(
    name: str,
    ns: NamespaceConfig,
    lease_namespace: str = "backup-ns",
    schedules: schedule.Schedules | None = None,
    drill: bool = False,
    zones: tuple[zonerules.ZoneRule, ...] | None = None,
) -> NamespaceUnit:
    """The namespace's unit; ZONES: the rules it carries, when known (``plan`` gives
    every namespace the rules of every zone of the config), else its own zone's."""
    pg, my = ns.database.postgres, ns.database.mysql
    hooks = bool(ns.hooks.pre or ns.hooks.post)
    caps = frozenset(
        cap
        for cap, on in (
            ("lease", ns.lock.mode == "lease"),
            ("flock", ns.lock.mode == "flock"),
            ("postgres", pg),
            ("mysql", my),
            ("db", bool(pg or my)),
            ("dbsnap", any(d is not None and d.mode == "snapshot" for d in (pg, my))),
            ("hooks", hooks),
            ("group", ns.group_snapshot != "never" and len(ns.pvcs) > 1),
            ("volcount", ns.verify.count_in is not None),
        )
        if on
    )
    db = pg or my
    dump_pvc = (db.pvc or ns.pvcs[0]) if db else ""
    deadline = ns.job.active_deadline_seconds
    return NamespaceUnit(
        name=name,
        caps=caps,
        env=tuple(namespace_env(name, ns, caps, dump_pvc, lease_namespace)),
        schedule=(schedules or schedule.Schedules()).expand(ns.schedule, name),
        schedule_source=ns.schedule,
        dump_pvc=dump_pvc,
        active_deadline_seconds=duration_seconds(deadline) if deadline else None,
        time_zone=ns.time_zone,
        image=ns.image,
        snapshot_type=ns.type,
        flock_dir=ns.lock.dir,
        flock_host_path=ns.lock.host_path,
        job=ns.job,
        hooks=plan_hooks(ns),
        verify_after_backup=ns.verify.after_backup,
        drill=drill,
        verify_checks=tuple(ns.verify.checks),
        verify_command=tuple(ns.verify.command or ()),
        tenant_groups=tuple(ns.restore.tenant_groups),
        lease_namespace=lease_namespace,
        run_as_user=_run_as_user(ns),
        zones=zonerules.rules_for({ns.time_zone}) if zones is None else zones,
    )


def _run_as_user(ns: NamespaceConfig) -> int:
    if ns.job.run_as_user is not None:
        return ns.job.run_as_user
    return 0 if ns.lock.mode == "flock" else DEFAULT_RUN_AS_USER


def config_zones(config: Config) -> tuple[ZoneRule, ...]:
    """The rules of every time zone the config names (namespaces and controller)."""
    zones = {ns.time_zone for ns in config.namespaces.values()} | {config.controller.time_zone}
    return zonerules.rules_for(zones)


def drill_deadline(ctl: ControllerConfig) -> int:
    """How long a drill run may take: its batches (max per run / concurrency, rounded
    up) each waited for up to the timeout, plus ten minutes for reading and starting."""
    drills = ctl.verify
    batches = -(-drills.max_per_run // drills.concurrency)
    return batches * duration_seconds(drills.timeout) + 600


def plan(config: Config) -> Plan:
    schedules = schedule.Schedules()  # most namespaces share one schedule: parse it once
    ctl = config.controller
    zones = config_zones(config)
    units = tuple(
        plan_namespace(
            name,
            config.namespaces[name],
            ctl.namespace,
            schedules,
            bool(ctl.verify.schedule),
            zones,
        )
        for name in sorted(config.namespaces)
    )
    cluster = ClusterUnit(
        namespace=ctl.namespace,
        image=ctl.image,
        requests=tuple(sorted(ctl.resources.requests.items())),
        limits=tuple(sorted(ctl.resources.limits.items())),
        time_zone=ctl.time_zone,
        run_schedule=schedule.expand(ctl.schedules.prune, f"{ctl.namespace}/prune"),
        run_schedule_source=ctl.schedules.prune,
        sync_schedule=schedule.expand(ctl.schedules.sync, f"{ctl.namespace}/sync"),
        sync_schedule_source=ctl.schedules.sync,
        status_schedule=schedule.expand(ctl.schedules.status, f"{ctl.namespace}/status"),
        status_schedule_source=ctl.schedules.status,
        namespaces=tuple(u.name for u in units),
        verify_namespaces=tuple(u.name for u in units if u.verify_after_backup or u.drill),
        lease_namespaces=tuple(u.name for u in units if u.lease),
        group_namespaces=tuple(u.name for u in units if "group" in u.caps),
        admission_policies=ctl.admission_policies,
        admin_groups=tuple(ctl.admin_groups),
        drill_schedule=(
            schedule.expand(ctl.verify.schedule, f"{ctl.namespace}/drill")
            if ctl.verify.schedule
            else ""
        ),
        drill_schedule_source=ctl.verify.schedule,
        drill_deadline_seconds=drill_deadline(ctl),
    )
    monitoring = None
    if config.monitoring.enabled:
        monitoring = plan_monitoring(
            config,
            {u.name: u.schedule for u in units},
            {
                "backup-ns-controller-run": cluster.run_schedule,
                "backup-ns-controller-sync": cluster.sync_schedule,
                **({DRILL_CRONJOB_NAME: cluster.drill_schedule} if cluster.drill_schedule else {}),
            },
        )
    return Plan(
        source_name=config.source_name,
        namespaces=units,
        cluster=cluster,
        controller=replace(plan_controller(config), zones=zones),
        monitoring=monitoring,
    )
