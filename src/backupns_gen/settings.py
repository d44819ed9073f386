"""The settings table: every ``BAK_*`` setting of the rendered script, once.

Each row says what the setting is called, what kind of value it holds (and so
how bash verifies it), its one-line help, whether it is a secret, which capability
(script fragment) needs it, when it applies, and where its baked value comes from in
the config. A row with a ``key`` takes its default, bounds and pattern from that
config field (``config.py``, declared once beside the field's docstring); a row
without one declares them itself. Everything else is generated from this table:

- ``BAK_BAKED`` (the plan's ``ns.env``, in table order),
- the per-setting checks (``verify_settings`` and the ``verify_<kind>`` functions
  of the kinds the script has, ``templates/core/_verify.sh.j2``, which the
  controller's ``CTL_*`` table uses too: ``Checks``),
- ``describe`` (``--help``), ``active_config_vars`` (``config`` and the
  ``backup-ns.sh/env-config`` annotation) and ``secret_setting`` (in
  ``templates/script/_config.sh.j2``).

Adding a setting
----------------
1. Add one ``Setting(...)`` row below, where it belongs in the order (the order
   is the order of ``BAK_BAKED``, ``--help`` and ``config``). Give it ``key``
   (its camelCase path in backupns.yaml) and ``value`` (how the plan computes
   the baked value) when the config sets it; ``baked=False`` when it is only
   read from the environment. Pick a ``kind`` from ``KINDS`` (the bash check is
   generated from it); ``custom`` means the fragment checks it by hand. A kind in
   ``VALUE_KINDS`` is one ``kinds.Kind``: the config field's validator and the
   script's ``is_<name>`` come from its one regex.
2. If the config sets it: add the field to the model in ``config.py`` with its
   default and bounds (``name: int = Field(default=2, ge=1, le=1000)``) or its
   choices (``Literal[...]``); the row reads them from there (``declared.py``).
3. Read ``$BAK_X`` in the one fragment that uses it. Re-render, update the
   goldens. ``tests/generator/test_settings.py`` fails when a rendered script reads a
   ``BAK_*`` variable that is not in this table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from pydantic.fields import FieldInfo

from . import kinds
from .config import Mysql, NamespaceConfig, Postgres
from .declared import declared, field_at
from .fields import duration_seconds


class KindDoc(NamedTuple):
    """How the reference pages name a kind of setting."""

    short: str
    """The type column (``choice``: its choices instead)."""
    text: str
    """The rule in words ("what names it" becomes the setting's ``what``)."""


KINDS = {
    "bool": KindDoc("bool", "true or false"),
    "int": KindDoc("integer", "a whole number from lo to hi"),
    "duration": KindDoc(
        "duration", "a duration such as 15m, 1h30m, 90s or 900 (seconds), longer than 0"
    ),
    "abs_path": KindDoc("path", "an absolute path without . or .. parts"),
    "dns_label": KindDoc("name", "a Kubernetes name (DNS label, what names it)"),
    "subdomain": KindDoc("name", "a Kubernetes name (DNS subdomain, what names it)"),
    "label_value": KindDoc("label value", "a Kubernetes label value"),
    "host": KindDoc(
        "host", "a host name or IP address; empty = the client's default (the local socket)"
    ),
    "pg_host": KindDoc(
        "host or socket directory",
        "a host name, IP address or socket directory; empty = the default socket",
    ),
    "db_value": KindDoc(
        "string or `${VAR}`",
        "a literal (letters, digits and _.@-) or a ${ENVVAR} reference expanded in the "
        "database container",
    ),
    "password": KindDoc("`${VAR}` or empty", "a ${ENVVAR} reference or empty, never a password"),
    "exec_resource": KindDoc(
        "type/name",
        "<type>/<name> to kubectl exec into (deployment, statefulset, daemonset, replicaset, "
        "pod or job; plural and short names too)",
    ),
    "pattern": KindDoc(
        "string", "a string matching pattern (an ERE that means the same in Python)"
    ),
    "choice": KindDoc("one of choices", "one of choices"),
    "time_zone": KindDoc("time zone", "an IANA time zone name"),
    "date": KindDoc("date", "any date -d input"),
    "printable": KindDoc("string", "any string without control characters"),
    "custom": KindDoc("string", "checked by hand in the fragment that uses it"),
}
"""The kinds of setting, each with a generated bash check (``custom``: none) and the
words the reference pages (``refdocs.py``) use for it."""

VALUE_KINDS = {
    "abs_path": kinds.ABS_PATH,
    "dns_label": kinds.DNS_LABEL,
    "subdomain": kinds.DNS_SUBDOMAIN,
    "label_value": kinds.LABEL_VALUE,
    "time_zone": kinds.ZONE_NAME,
    "host": kinds.HOST,
    "pg_host": kinds.PG_HOST,
    "exec_resource": kinds.EXEC_RESOURCE,
    "db_value": kinds.DB_VALUE,
}
"""The setting kinds whose check is a value kind of ``kinds.py`` (``verify_<kind>``
calls its ``is_<name>``; the config field validates with the same ``Kind``)."""

WHY = {
    "abs_path": f"is not an absolute path ({kinds.ABS_PATH.rule})",
    "host": f"is not {kinds.HOST.rule}",
    "pg_host": f"is not {kinds.PG_HOST.rule}",
    "exec_resource": f"is not {kinds.EXEC_RESOURCE.rule}",
    "db_value": f"is not {kinds.DB_VALUE.rule}",
}
"""The error text of the value kinds whose ``verify_<kind>`` is their ``is_<name>`` alone
(``templates/core/_verify.sh.j2``); the other kinds' checks are written there by hand."""

WHEN = {
    "": "",
    "set": "[[ -n ${{{name}:-}} ]]",
    "postgres": "[[ $kind == postgres ]]",
    "mysql": "[[ $kind == mysql ]]",
    "lock": "[[ $BAK_LOCK != none ]]",
    "lease": "[[ $BAK_LOCK == lease ]]",
    "flock": "[[ $BAK_LOCK == flock ]]",
    "days": "[[ $BAK_LABEL_VS_RETAIN == days ]]",
}
"""When a setting applies (is checked, and shown by ``config``): a bash test,
inside functions that set ``kind=$(db_kind)``."""

INTERNAL = frozenset({"BAK_BAKED", "BAK_CAPS", "BAK_GENERATOR_VERSION", "BAK_SCRIPT_NAMESPACE"})
"""``BAK_*`` variables of the script that are not settings (never read from outside)."""


@dataclass(frozen=True)
class Source:
    """What a baked value is computed from."""

    name: str
    ns: NamespaceConfig
    caps: frozenset[str]
    dump_pvc: str
    lease_namespace: str = ""
    """The controller namespace (where the slot Leases live)."""


@dataclass(frozen=True)
class Setting:
    name: str
    kind: str
    help: str
    """One line for ``describe`` and ``--help``."""
    value: Callable[[Source], object] | None = None
    """The baked value (bool → true/false, int → digits); None: ``default``."""
    key: str = ""
    """Its camelCase path in a namespace entry of backupns.yaml ("" = not a config key)."""
    default: Any = None
    """The config default (with ``key``), else the baked value."""
    lo: int | None = None
    hi: int | None = None
    pattern: str = ""
    choices: tuple[str, ...] = ()
    what: str = ""
    """For names: what the name names ("PVC name")."""
    why: str = ""
    """For ``pattern``: the error text ("is not ...")."""
    optional: bool = False
    """Empty is allowed (names, label values)."""
    cap: str = ""
    """The capability whose fragments need it ("" = every script; "a|b": either)."""
    when: str = ""
    """A key of WHEN: when it applies."""
    check_always: bool = False
    """Checked even when it does not apply (a switch that decides ``kind``)."""
    secret: bool = False
    """Only ever a ${ENVVAR} reference; a value that is not one is never shown."""
    baked: bool = True
    """In BAK_BAKED; False: only read from the environment when set."""
    shown: bool = True
    """Listed by ``config`` and the env-config annotation when it applies."""

    def __post_init__(self) -> None:
        if self.key:  # default, bounds and pattern are the config field's
            info = config_field(self.key)
            for attr, value in declared(info).items():
                object.__setattr__(self, attr, value)
        assert self.name.startswith("BAK_") and self.name not in INTERNAL, self.name
        assert self.kind in KINDS and self.when in WHEN, self.name
        assert (self.lo is not None and self.hi is not None) == (self.kind == "int"), self.name
        assert bool(self.pattern and self.why) == (self.kind == "pattern"), self.name
        assert bool(self.choices) == (self.kind == "choice"), self.name
        assert "\n" not in self.help and self.help, self.name

    @property
    def value_kind(self) -> kinds.Kind | None:
        """The shared definition its bash check and Python validator come from, if any."""
        return VALUE_KINDS.get(self.kind)

    @property
    def condition(self) -> str:
        """The bash test for when it applies ("" = always)."""
        return WHEN[self.when].format(name=self.name)

    @property
    def check_condition(self) -> str:
        return "" if self.check_always else self.condition

    @property
    def check_args(self) -> tuple[str, ...]:
        """The arguments after the name of its bash check, ``verify_<kind> NAME ARGS``."""
        if self.kind == "int":
            return (str(self.lo), str(self.hi))
        if self.kind == "pattern":
            return (self.pattern, self.why)
        if self.kind == "choice":
            *rest, last = self.choices
            return (f"is not {', '.join(rest)} or {last}", *self.choices)
        if self.kind in ("dns_label", "subdomain", "label_value"):
            return (self.what, "optional") if self.optional else (self.what,)
        return ()

    def baked_value(self, src: Source) -> str:
        value = self.value(src) if self.value else self.default
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)


def config_field(key: str) -> FieldInfo:
    """The field of a namespace entry at the dotted camelCase ``key``
    (``database.postgres.dumpFile``)."""
    return field_at(NamespaceConfig, key)


def _pg(src: Source) -> Postgres:
    db = src.ns.database.postgres
    assert db is not None
    return db


def _my(src: Source) -> Mysql:
    db = src.ns.database.mysql
    assert db is not None
    return db


def _password(env: str) -> str:
    return f"${{{env}}}" if env else ""


@dataclass(frozen=True)
class DbNames:
    """The setting names of one database client, written out so that grep finds them."""

    exec_resource: str
    exec_container: str
    dump_file: str
    host: str
    port: str
    user: str
    password: str
    db: str


def _database(
    cap: str,
    get: Callable[[Source], Postgres | Mysql],
    model: type[Postgres] | type[Mysql],
    names: DbNames,
    host_kind: str,
) -> list[Setting]:
    """The settings of one database client (PostgreSQL and MySQL share their shape; a
    PostgreSQL host may also be a socket directory: ``host_kind``)."""
    key = f"database.{cap}."
    return [
        Setting(
            names.exec_resource,
            "exec_resource",
            f"what to exec into: <type>/<name>, e.g. {model.model_fields['exec'].default}",
            lambda s: get(s).exec,
            key + "exec",
            cap=cap,
            when=cap,
        ),
        Setting(
            names.exec_container,
            "dns_label",
            "container that runs the database client",
            lambda s: get(s).container,
            key + "container",
            what="container name",
            cap=cap,
            when=cap,
        ),
        Setting(
            names.dump_file,
            "abs_path",
            "gzip dump file inside the container (on BAK_DUMP_PVC)",
            lambda s: get(s).dump_file,
            key + "dumpFile",
            cap=cap,
            when=cap,
        ),
        Setting(
            names.host,
            host_kind,
            "database host seen from the container; empty = local socket",
            lambda s: get(s).host,
            key + "host",
            cap=cap,
            when=cap,
        ),
        Setting(
            names.port,
            "int",
            "database port",
            lambda s: get(s).port,
            key + "port",
            cap=cap,
            when=cap,
        ),
        Setting(
            names.user,
            "db_value",
            "database user: a value or ${ENVVAR} expanded in the container",
            lambda s: get(s).user,
            key + "user",
            cap=cap,
            when=cap,
        ),
        Setting(
            names.password,
            "password",
            "${ENVVAR} of the container holding the password, or empty",
            lambda s: _password(get(s).password_env),
            key + "passwordEnv",
            secret=True,
            cap=cap,
            when=cap,
        ),
        Setting(
            names.db,
            "db_value",
            "database: a value or ${ENVVAR} expanded in the container",
            lambda s: get(s).database,
            key + "database",
            cap=cap,
            when=cap,
        ),
    ]


_LABEL_VALUE = "a label value (letters, digits, -_. ; at most 63)"

SETTINGS: tuple[Setting, ...] = (
    Setting(
        "BAK_NAMESPACE",
        "dns_label",
        "namespace to back up",
        lambda s: s.name,
        what="namespace name",
    ),
    Setting(
        "BAK_DRY_RUN",
        "bool",
        "true: check everything, dump nothing, create nothing (client-side dry run)",
        lambda s: s.ns.dry_run,
        "dryRun",
    ),
    Setting(
        "BAK_DEBUG",
        "bool",
        "true: trace every command of this script (set -x)",
        lambda s: s.ns.debug,
        "debug",
    ),
    Setting(
        "BAK_PVC_NAMES",
        "custom",
        "PVCs to snapshot, separated by spaces",
        lambda s: " ".join(s.ns.pvcs),
        "pvcs",
    ),
    Setting(
        "BAK_PVC_NAME",
        "custom",
        "snapshot only this PVC",
        when="set",
        baked=False,
    ),
    Setting(
        "BAK_DUMP_PVC",
        "subdomain",
        "PVC that holds the dump file (gets the dump-* annotations)",
        lambda s: s.dump_pvc,
        what="PVC name",
        optional=True,
    ),
    Setting(
        "BAK_VS_NAME_TEMPLATE",
        "custom",
        "snapshot name; placeholders {namespace} {pvc} {date} {rand} {type}",
        lambda s: s.ns.snapshot_name,
        "snapshotName",
    ),
    Setting(
        "BAK_VS_CLASS_NAME",
        "subdomain",
        "VolumeSnapshotClass; empty = the default class of the cluster",
        lambda s: s.ns.snapshot_class,
        "snapshotClass",
        what="VolumeSnapshotClass name",
        optional=True,
    ),
    Setting(
        "BAK_GROUP_SNAPSHOT",
        "choice",
        "auto: one VolumeGroupSnapshot of all PVCs when the cluster has a class; always; never",
        lambda s: s.ns.group_snapshot,
        "groupSnapshot",
        cap="group",
    ),
    Setting(
        "BAK_VS_WAIT_UNTIL_READY",
        "bool",
        "true: wait until each snapshot is readyToUse",
        lambda s: s.ns.wait_until_ready.enabled,
        "waitUntilReady.enabled",
    ),
    Setting(
        "BAK_VS_WAIT_UNTIL_READY_TIMEOUT",
        "duration",
        "how long to wait (15m, 1h30m, 90s or seconds)",
        lambda s: s.ns.wait_until_ready.timeout,
        "waitUntilReady.timeout",
    ),
    Setting(
        "BAK_THRESHOLD_SPACE_USED_PERCENTAGE",
        "int",
        "fail before dumping when the disk of the dump directory is this % full",
        lambda s: s.ns.threshold_space_used_percent,
        "thresholdSpaceUsedPercent",
    ),
    Setting(
        "BAK_DB_SKIP",
        "custom",
        "true: no database dump",
        lambda s: s.ns.database.postgres is None and s.ns.database.mysql is None,
    ),
    Setting(
        "BAK_DB_POSTGRES",
        "bool",
        "true: dump PostgreSQL before the snapshot",
        lambda s: "postgres" in s.caps,
        when="postgres",
        check_always=True,
    ),
    *_database(
        "postgres",
        _pg,
        Postgres,
        DbNames(
            "BAK_DB_POSTGRES_EXEC_RESOURCE",
            "BAK_DB_POSTGRES_EXEC_CONTAINER",
            "BAK_DB_POSTGRES_DUMP_FILE",
            "BAK_DB_POSTGRES_HOST",
            "BAK_DB_POSTGRES_PORT",
            "BAK_DB_POSTGRES_USER",
            "BAK_DB_POSTGRES_PASSWORD",
            "BAK_DB_POSTGRES_DB",
        ),
        "pg_host",
    ),
    Setting(
        "BAK_DB_MYSQL",
        "bool",
        "true: dump MySQL/MariaDB before the snapshot",
        lambda s: "mysql" in s.caps,
        when="mysql",
        check_always=True,
    ),
    *_database(
        "mysql",
        _my,
        Mysql,
        DbNames(
            "BAK_DB_MYSQL_EXEC_RESOURCE",
            "BAK_DB_MYSQL_EXEC_CONTAINER",
            "BAK_DB_MYSQL_DUMP_FILE",
            "BAK_DB_MYSQL_HOST",
            "BAK_DB_MYSQL_PORT",
            "BAK_DB_MYSQL_USER",
            "BAK_DB_MYSQL_PASSWORD",
            "BAK_DB_MYSQL_DB",
        ),
        "host",
    ),
    Setting(
        "BAK_DB_MYSQL_DEFAULT_CHARACTER_SET",
        "pattern",
        "client character set (--default-character-set)",
        lambda s: _my(s).default_character_set,
        "database.mysql.defaultCharacterSet",
        why="is not a character set name such as utf8mb4",
        cap="mysql",
        when="mysql",
    ),
    Setting(
        "BAK_DB_POSTGRES_MODE",
        "choice",
        "dump: pg_dump before the snapshots; snapshot: CHECKPOINT, then snapshots of its files",
        lambda s: s.ns.database.postgres.mode if s.ns.database.postgres else "dump",
        "database.postgres.mode",
        cap="dbsnap",
        when="postgres",
    ),
    Setting(
        "BAK_DB_MYSQL_MODE",
        "choice",
        "dump: mysqldump before the snapshots; snapshot: its files' snapshots under a read lock",
        lambda s: s.ns.database.mysql.mode if s.ns.database.mysql else "dump",
        "database.mysql.mode",
        cap="dbsnap",
        when="mysql",
    ),
    Setting(
        "BAK_DB_MYSQL_LOCK_TIMEOUT",
        "duration",
        "snapshot mode: longest wait for, and hold of, the read lock (15m, 90s or seconds)",
        lambda s: s.ns.database.mysql.lock_timeout if s.ns.database.mysql else "30s",
        "database.mysql.lockTimeout",
        cap="dbsnap",
        when="mysql",
    ),
    Setting(
        "BAK_HOOKS",
        "bool",
        "true: run the pre/post hooks of backupns.yaml around the snapshots",
        default=True,
        cap="hooks",
    ),
    Setting(
        "BAK_LOCK",
        "choice",
        "backups per node at once: lease (Lease slots), flock (hostPath lock files) or none",
        lambda s: s.ns.lock.mode,
        "lock.mode",
    ),
    Setting(
        "BAK_LOCK_SLOTS",
        "int",
        "number of slots per node (concurrent backups on one node)",
        lambda s: s.ns.lock.slots,
        "lock.slots",
        cap="lease|flock",
        when="lock",
    ),
    Setting(
        "BAK_LOCK_TIMEOUT_SEC",
        "duration",
        "how long to wait for a free slot (seconds, or 15m, 1h30m, 90s)",
        lambda s: duration_seconds(s.ns.lock.timeout),
        "lock.timeout",
        cap="lease|flock",
        when="lock",
    ),
    Setting(
        "BAK_LOCK_NODE",
        "subdomain",
        "node whose slots to take (the CronJob sets it from spec.nodeName)",
        default="",
        what="node name",
        optional=True,
        cap="lease",
        when="lease",
    ),
    Setting(
        "BAK_LOCK_LEASE_NAMESPACE",
        "dns_label",
        "namespace of the slot Leases (the controller namespace)",
        lambda s: s.lease_namespace,
        what="namespace name",
        cap="lease",
        when="lease",
    ),
    Setting(
        "BAK_LOCK_LEASE_DURATION_SEC",
        "int",
        "seconds a slot stays held without renewal (renewed every third of it)",
        lambda s: duration_seconds(s.ns.lock.lease_duration),
        lo=3,
        hi=86400,
        cap="lease",
        when="lease",
    ),
    Setting(
        "BAK_FLOCK_DIR",
        "abs_path",
        "directory of the lock files (a hostPath on the node)",
        lambda s: s.ns.lock.dir,
        "lock.dir",
        cap="flock",
        when="flock",
    ),
    Setting(
        "BAK_LABEL_VS_TYPE",
        "label_value",
        "backup-ns.sh/type label (adhoc, cronjob, ...)",
        default="adhoc",
        what=_LABEL_VALUE,
    ),
    Setting(
        "BAK_LABEL_VS_POD",
        "label_value",
        "backup-ns.sh/pod label (the pod of the job), empty = none",
        default="",
        what=_LABEL_VALUE,
        optional=True,
    ),
    Setting(
        "BAK_LABEL_VS_RETAIN",
        "choice",
        "retention: daily_weekly_monthly or days",
        lambda s: s.ns.retention.mode,
        "retention.mode",
    ),
    Setting(
        "BAK_LABEL_VS_RETAIN_DAYS",
        "int",
        "days to keep a snapshot with retention days",
        lambda s: s.ns.retention.days or 0,
        "retention.days",
        when="days",
    ),
    Setting(
        "BAK_TIME_ZONE",
        "time_zone",
        "IANA time zone of the dates in names and labels",
        lambda s: s.ns.time_zone,
        "timeZone",
    ),
    Setting(
        "BAK_VERIFY_AFTER_BACKUP",
        "bool",
        "true: create runs verify on each snapshot it made",
        lambda s: s.ns.verify.after_backup,
        "verify.afterBackup",
        shown=False,
    ),
    Setting(
        "BAK_TOOLBOX_IMAGE",
        "pattern",
        "image of the helper pods (verify, dump-restore, dump-download)",
        lambda s: s.ns.image,
        pattern=r"^[A-Za-z0-9][-A-Za-z0-9._/:@]*$",
        why="is not an image reference",
        shown=False,
    ),
    Setting(
        "BAK_TOOLBOX_RUN_AS_USER",
        "int",
        "non-root uid of the helper pods (the dump file's owner)",
        lambda s: s.ns.verify.run_as_user,
        "verify.runAsUser",
        shown=False,
    ),
    Setting(
        "BAK_TOOLBOX_TIMEOUT",
        "duration",
        "how long to wait for a scratch PVC and its helper pod",
        lambda s: s.ns.verify.timeout,
        "verify.timeout",
        shown=False,
    ),
    Setting(
        "BAK_VERIFY_COUNT_LIMIT",
        "int",
        "rows counted per table at most (plus one) for the dump record and the drill",
        lambda s: s.ns.verify.count_limit,
        "verify.countLimit",
        cap="db",
    ),
    Setting(
        "BAK_VERIFY_COUNT_IN",
        "exec_resource",
        "workload whose pod mounts the PVCs: create counts their files and bytes there",
        lambda s: s.ns.verify.count_in or "",
        "verify.countIn",
        cap="volcount",
        when="set",
    ),
    Setting(
        "BAK_EVENTS",
        "bool",
        "true: record one Kubernetes Event per run (BackupCreated or BackupFailed)",
        default=True,
    ),
    Setting(
        "BAK_VS_RAND",
        "pattern",
        "fixed value for {rand} in the snapshot name",
        pattern=r"^[a-z0-9]{1,16}$",
        why="is not 1 to 16 of [a-z0-9]",
        when="set",
        baked=False,
        shown=False,
    ),
    Setting(
        "BAK_NOW",
        "date",
        "clock override (any date -d input, read in BAK_TIME_ZONE)",
        when="set",
        baked=False,
        shown=False,
    ),
    Setting(
        "BAK_KUBECTL",
        "printable",
        "kubectl binary to run (default: kubectl)",
        when="set",
        baked=False,
        shown=False,
    ),
)

BY_NAME = {s.name: s for s in SETTINGS}
assert len(BY_NAME) == len(SETTINGS), "a setting is listed twice"


def for_caps(caps: frozenset[str]) -> tuple[Setting, ...]:
    """The settings of a script generated with these capabilities, in table order."""
    return tuple(s for s in SETTINGS if not s.cap or caps & set(s.cap.split("|")))


def groups(settings: tuple[Setting, ...], condition: str) -> list[tuple[str, list[Setting]]]:
    """Consecutive settings with the same bash condition (attribute name ``condition``
    or ``check_condition``), for ``if cond; then ...; fi`` blocks."""
    out: list[tuple[str, list[Setting]]] = []
    for s in settings:
        cond = getattr(s, condition)
        if out and out[-1][0] == cond:
            out[-1][1].append(s)
        else:
            out.append((cond, [s]))
    return out


def _dquoted(text: str) -> str:
    """A constant text of the generator as one double-quoted bash word (readable where
    ``shquote`` would splice in quotes): nothing in it expands."""
    for c in '\\"$`':
        text = text.replace(c, "\\" + c)
    return f'"{text}"'


class Checked(Protocol):
    """A setting as ``templates/core/_verify.sh.j2`` checks it: ``verify_<kind> NAME ARGS``
    (a ``Setting`` here, a ``CtlSetting`` of the controller)."""

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def check_args(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class Checks:
    """What the shared settings checks of a program (``templates/core/_verify.sh.j2``)
    are generated from: its checked settings, grouped by the bash condition under which
    each is checked ("" = always), and whether a setting is a secret."""

    groups: Sequence[tuple[str, Sequence[Checked]]]
    secrets: bool = False
    """``invalid`` hides the value of a secret setting (``secret_setting``)."""

    @property
    def kind_names(self) -> frozenset[str]:
        """The setting kinds checked."""
        return frozenset(s.kind for _, group in self.groups for s in group)

    def has(self, kind: str) -> bool:
        """A setting of this kind is checked (so its ``verify_<kind>`` is rendered)."""
        assert kind in KINDS, kind
        return kind in self.kind_names

    @property
    def plain(self) -> list[tuple[str, kinds.Kind, str]]:
        """(setting kind, value kind, error text as a double-quoted bash word) of each kind
        checked by its ``is_<name>`` alone, in the order of ``WHY``."""
        return [(k, VALUE_KINDS[k], _dquoted(why)) for k, why in WHY.items() if self.has(k)]

    @property
    def own_kinds(self) -> tuple[kinds.Kind, ...]:
        """The value kinds only settings have (their ``is_<name>`` is rendered here)."""
        return tuple(k for _, k, _ in self.plain if k in kinds.SETTING_KINDS)

    @property
    def db_kind(self) -> bool:
        """A condition reads ``$kind`` (so ``verify_settings`` sets it from ``db_kind``)."""
        return any("$kind" in cond for cond, _ in self.groups)
