"""Plan: the validated config → render units (what each template gets).

A NamespaceUnit carries ``name``, ``caps`` and ``env`` exactly as the script
templates expect them (see GENERATOR.md: ``ns.env`` lists the baked BAK_*
defaults in a fixed order, values already strings), plus what the manifest
templates need. Nothing here touches files or Jinja.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import schedule
from .config import Config, ControllerConfig, Mysql, NamespaceConfig, Postgres
from .fields import duration_seconds

CAPS = ("flock", "postgres", "mysql")


def _bool(value: bool) -> str:
    return "true" if value else "false"


@dataclass(frozen=True)
class NamespaceUnit:
    """Everything rendered for one namespace."""

    name: str
    caps: frozenset[str]
    env: tuple[tuple[str, str], ...]
    config: NamespaceConfig
    schedule: str
    """The CronJob schedule with H expanded."""
    dump_pvc: str
    active_deadline_seconds: int | None

    @property
    def flock(self) -> bool:
        return "flock" in self.caps


@dataclass(frozen=True)
class ClusterUnit:
    """The cluster-wide pieces: ClusterRoles and the controller's namespace and RBAC."""

    controller: ControllerConfig
    namespaces: tuple[str, ...]
    prune_schedule: str
    sync_schedule: str


@dataclass(frozen=True)
class Plan:
    source_name: str
    namespaces: tuple[NamespaceUnit, ...]
    cluster: ClusterUnit


def _db_env(prefix: str, db: Postgres | Mysql) -> list[tuple[str, str]]:
    env = [
        (prefix, "true"),
        (f"{prefix}_EXEC_RESOURCE", db.exec),
        (f"{prefix}_EXEC_CONTAINER", db.container),
        (f"{prefix}_DUMP_FILE", db.dump_file),
        (f"{prefix}_HOST", db.host),
        (f"{prefix}_PORT", str(db.port)),
        (f"{prefix}_USER", db.user),
        (f"{prefix}_PASSWORD", f"${{{db.password_env}}}" if db.password_env else ""),
        (f"{prefix}_DB", db.database),
    ]
    if isinstance(db, Mysql):
        env.append((f"{prefix}_DEFAULT_CHARACTER_SET", db.default_character_set))
    return env


def namespace_env(
    name: str, ns: NamespaceConfig, caps: frozenset[str], dump_pvc: str
) -> list[tuple[str, str]]:
    """The baked BAK_* defaults, in the order of GENERATOR.md's table."""
    pg, my = ns.database.postgres, ns.database.mysql
    env = [
        ("BAK_NAMESPACE", name),
        ("BAK_DRY_RUN", _bool(ns.dry_run)),
        ("BAK_DEBUG", _bool(ns.debug)),
        ("BAK_PVC_NAMES", " ".join(ns.pvcs)),
        ("BAK_DUMP_PVC", dump_pvc),
        ("BAK_VS_NAME_TEMPLATE", ns.snapshot_name),
        ("BAK_VS_CLASS_NAME", ns.snapshot_class),
        ("BAK_VS_WAIT_UNTIL_READY", _bool(ns.wait_until_ready.enabled)),
        ("BAK_VS_WAIT_UNTIL_READY_TIMEOUT", ns.wait_until_ready.timeout),
        ("BAK_THRESHOLD_SPACE_USED_PERCENTAGE", str(ns.threshold_space_used_percent)),
        ("BAK_DB_SKIP", _bool(pg is None and my is None)),
    ]
    env += _db_env("BAK_DB_POSTGRES", pg) if pg else [("BAK_DB_POSTGRES", "false")]
    env += _db_env("BAK_DB_MYSQL", my) if my else [("BAK_DB_MYSQL", "false")]
    env.append(("BAK_FLOCK", _bool("flock" in caps)))
    if "flock" in caps:
        env += [
            ("BAK_FLOCK_COUNT", str(ns.flock.slots)),
            ("BAK_FLOCK_DIR", ns.flock.dir),
            ("BAK_FLOCK_TIMEOUT_SEC", str(duration_seconds(ns.flock.timeout))),
        ]
    env += [
        ("BAK_LABEL_VS_TYPE", "adhoc"),
        ("BAK_LABEL_VS_POD", ""),
        ("BAK_LABEL_VS_RETAIN", ns.retention.mode),
        ("BAK_LABEL_VS_RETAIN_DAYS", str(ns.retention.days or 0)),
        ("BAK_TIME_ZONE", ns.time_zone),
    ]
    return env


def plan_namespace(name: str, ns: NamespaceConfig) -> NamespaceUnit:
    pg, my = ns.database.postgres, ns.database.mysql
    caps = frozenset(
        cap for cap, on in (("flock", ns.flock.enabled), ("postgres", pg), ("mysql", my)) if on
    )
    db = pg or my
    dump_pvc = (db.pvc or ns.pvcs[0]) if db else ""
    deadline = ns.job.active_deadline_seconds
    return NamespaceUnit(
        name=name,
        caps=caps,
        env=tuple(namespace_env(name, ns, caps, dump_pvc)),
        config=ns,
        schedule=schedule.expand(ns.schedule, name),
        dump_pvc=dump_pvc,
        active_deadline_seconds=duration_seconds(deadline) if deadline else None,
    )


def plan(config: Config) -> Plan:
    units = tuple(
        plan_namespace(name, config.namespaces[name]) for name in sorted(config.namespaces)
    )
    ctl = config.controller
    cluster = ClusterUnit(
        controller=ctl,
        namespaces=tuple(u.name for u in units),
        prune_schedule=schedule.expand(ctl.schedules.prune, f"{ctl.namespace}/prune"),
        sync_schedule=schedule.expand(ctl.schedules.sync, f"{ctl.namespace}/sync"),
    )
    return Plan(source_name=config.source_name, namespaces=units, cluster=cluster)
