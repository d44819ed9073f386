"""Cross-field checks that need more than one value (run after the model validated)."""

from __future__ import annotations

from . import names, schedule
from .config import ControllerConfig, NamespaceConfig
from .errors import Problem, format_path
from .fields import duration_seconds, expand_snapshot_template
from .names import quote

SAMPLE_DATE = "2026-01-01-000000"  # the {date} format the script uses: YYYY-MM-DD-HHMMSS
SAMPLE_RAND = "a1b2c3"  # {rand}: 6 characters [a-z0-9]
JOB_SUFFIX = 11  # CronJob controller: "<cronjob>-<scheduled time, up to 10 digits>"
POD_SUFFIX = 6  # Job controller: "<job>-<5 random chars>"
MAX_JOB_NAME = names.LABEL_MAX - JOB_SUFFIX - POD_SUFFIX  # 46
RESERVED_MOUNTS = ("/opt/backup-ns", "/tmp")  # the script volume and the emptyDir
LEASE_MIN, LEASE_MAX = 5, 3600  # lock.leaseDuration bounds (seconds)


def _path(prefix: tuple[str | int, ...], *rest: str | int) -> str:
    return format_path((*prefix, *rest))


def check_schedule(
    expr: str,
    seed: str,
    prefix: tuple[str | int, ...],
    key: str = "schedule",
    schedules: schedule.Schedules | None = None,
) -> list[Problem]:
    try:
        (schedules or schedule.Schedules()).expand(expr, seed)
    except schedule.ScheduleError as exc:
        return [Problem(_path(prefix, key), f"{quote(expr)} {exc}")]
    return []


def check_namespace(
    name: str, ns: NamespaceConfig, schedules: schedule.Schedules | None = None
) -> list[Problem]:
    prefix: tuple[str | int, ...] = ("namespaces", name)
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, pvc in enumerate(ns.pvcs):
        if pvc in seen:
            problems.append(Problem(_path(prefix, "pvcs", i), f"{quote(pvc)} is listed twice"))
        seen.add(pvc)

    dbs = [
        (kind, db)
        for kind, db in (("postgres", ns.database.postgres), ("mysql", ns.database.mysql))
        if db
    ]
    for kind, db in dbs:
        if db.pvc is not None and db.pvc not in ns.pvcs:
            problems.append(
                Problem(
                    _path(prefix, "database", kind, "pvc"),
                    f"{quote(db.pvc)} is not one of this namespace's pvcs ({', '.join(ns.pvcs)})",
                )
            )
    if len(dbs) == 2:
        problems.append(
            Problem(
                _path(prefix, "database"),
                "has both postgres and mysql: a namespace's script dumps one database "
                "(keep the one whose data lives on these PVCs)",
            )
        )

    problems += check_hooks(ns, prefix)

    if ns.retention.mode == "days" and ns.retention.days is None:
        problems.append(
            Problem(_path(prefix, "retention", "days"), 'is required when mode is "days"')
        )
    if ns.retention.mode != "days" and ns.retention.days is not None:
        problems.append(
            Problem(
                _path(prefix, "retention", "days"),
                f'{ns.retention.days} is only allowed with mode "days"',
            )
        )

    problems += check_schedule(ns.schedule, name, prefix, schedules=schedules)

    for pvc in ns.pvcs:
        for snap_type in sorted({ns.type, "adhoc"}):
            example = expand_snapshot_template(
                ns.snapshot_name,
                namespace=name,
                pvc=pvc,
                date=SAMPLE_DATE,
                rand=SAMPLE_RAND,
                type=snap_type,
            )
            reason = names.dns1123_subdomain(example)
            if reason:
                problems.append(
                    Problem(
                        _path(prefix, "snapshotName"),
                        f"{quote(ns.snapshot_name)} gives {quote(example)} "
                        f"for PVC {quote(pvc)}, which "
                        + reason.replace(
                            "is not a valid Kubernetes name", "is not a valid VolumeSnapshot name"
                        ),
                    )
                )
                break
        else:
            continue
        break

    lock = ns.lock
    if lock.mode == "flock" and any(
        lock.dir == p or lock.dir.startswith(p + "/") or p.startswith(lock.dir + "/")
        for p in RESERVED_MOUNTS
    ):
        problems.append(
            Problem(
                _path(prefix, "lock", "dir"),
                f"{quote(lock.dir)} overlaps a mount the job already has "
                f"({', '.join(RESERVED_MOUNTS)}); pick another directory",
            )
        )
    lease_seconds = duration_seconds(lock.lease_duration)
    if not LEASE_MIN <= lease_seconds <= LEASE_MAX:
        problems.append(
            Problem(
                _path(prefix, "lock", "leaseDuration"),
                f"{quote(lock.lease_duration)} is out of range ({LEASE_MIN}s to "
                f"{LEASE_MAX // 60}m): the holder renews its slot every third of it",
            )
        )

    deadline = ns.job.active_deadline_seconds
    if deadline is not None:
        needed = (duration_seconds(lock.timeout) if lock.mode != "none" else 0) + (
            duration_seconds(ns.wait_until_ready.timeout) if ns.wait_until_ready.enabled else 0
        )
        hooks = sum(duration_seconds(h.timeout) for h in (*ns.hooks.pre, *ns.hooks.post))
        if duration_seconds(deadline) <= needed + hooks:
            what = "lock.timeout + waitUntilReady.timeout"
            what += " + the hooks' timeouts" if hooks else ""
            problems.append(
                Problem(
                    _path(prefix, "job", "activeDeadlineSeconds"),
                    f"{quote(deadline)} is not longer than {what} ({needed + hooks}s): "
                    "Kubernetes would kill the job before the script can report a timeout",
                )
            )

    if len(ns.job.name) > MAX_JOB_NAME:
        problems.append(
            Problem(
                _path(prefix, "job", "name"),
                f"{quote(ns.job.name)} is too long (at most {MAX_JOB_NAME} characters): "
                "its pods are "
                f"named <name>-<up to 10 digits>-<5 characters> and the pod name becomes the "
                f"backup-ns.sh/pod label value (at most 63 characters)",
            )
        )
    return problems


def check_hooks(ns: NamespaceConfig, prefix: tuple[str | int, ...]) -> list[Problem]:
    """A hook's ``pvcs`` name PVCs of the namespace, each once."""
    problems: list[Problem] = []
    for phase, hooks in (("pre", ns.hooks.pre), ("post", ns.hooks.post)):
        for i, hook in enumerate(hooks):
            seen: set[str] = set()
            for j, pvc in enumerate(hook.pvcs or ()):
                where = _path(prefix, "hooks", phase, i, "pvcs", j)
                if pvc not in ns.pvcs:
                    problems.append(
                        Problem(
                            where,
                            f"{quote(pvc)} is not one of this namespace's pvcs "
                            f"({', '.join(ns.pvcs)})",
                        )
                    )
                elif pvc in seen:
                    problems.append(Problem(where, f"{quote(pvc)} is listed twice"))
                seen.add(pvc)
    return problems


def check_controller(controller: ControllerConfig) -> list[Problem]:
    prefix: tuple[str | int, ...] = ("controller", "schedules")
    problems: list[Problem] = []
    for job in ("prune", "sync", "status"):
        problems += check_schedule(
            getattr(controller.schedules, job), f"{controller.namespace}/{job}", prefix, job
        )
    if controller.verify.schedule:
        problems += check_schedule(
            controller.verify.schedule,
            f"{controller.namespace}/drill",
            ("controller", "verify"),
        )
    return problems
