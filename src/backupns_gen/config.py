"""The config model: what ``backupns.yaml`` may say.

Top level: ``defaults`` (a partial namespace entry), ``namespaces`` (name →
entry) and ``controller``. ``defaults`` is merged into each namespace entry
before validation: mappings are merged key by key (recursively), anything else
(scalars, lists, ``database: none``) in the entry replaces the default.
Keys are camelCase; unknown keys are errors. Loading and error reporting live
in ``loader.py``; the cross-field checks live in ``checks.py``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidatorFunctionWrapHandler, model_validator
from pydantic.alias_generators import to_camel

from .fields import (
    PERCENT_RANGE,
    PORT_RANGE,
    AbsPath,
    Command,
    Duration,
    EnvName,
    ExecResource,
    GroupName,
    Host,
    Image,
    LabelKey,
    LabelName,
    LabelValue,
    LiteralOrEnv,
    OptionalLabelKey,
    OptionalSubdomain,
    Percent,
    PgHost,
    Port,
    PvcName,
    Quantity,
    RunbookUrl,
    SnapshotTemplate,
    TimeZone,
    VerifyCheck,
    fail,
)
from .unknown import allowed_keys, validate_known_keys

DEFAULT_IMAGE = "registry.k8s.io/kubectl:v1.33.1"
"""The Kubernetes project's kubectl image (Debian bookworm's debian-base plus bash, grep,
sed, gawk, coreutils, jq and diffutils; util-linux's flock is in the base). Its
entrypoint is kubectl, so every pod sets ``command``; it declares no user, so every pod
sets ``runAsUser``. It has no zone files: the scripts carry each zone's rule."""

DEFAULT_RUN_AS_USER = 65532
"""The job's user unless ``job.runAsUser`` says otherwise (``lock.mode: flock``: 0)."""


class Model(BaseModel):
    """Base: camelCase keys, no unknown keys ("did you mean"), no coercion, immutable.

    Every field is documented by the docstring right below it; that text is also its
    description in the JSON Schema (``backupns-gen schema``, editor hovers).
    """

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        frozen=True,
        alias_generator=to_camel,
        validate_default=False,
        use_attribute_docstrings=True,
    )

    keys: ClassVar[list[str]] = []
    """The camelCase keys of the model, set when the class is created."""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls.keys = allowed_keys(cls)

    @model_validator(mode="wrap")
    @classmethod
    def _unknown_keys(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        return validate_known_keys(cls.__name__, cls.keys, data, handler)


class WaitUntilReady(Model):
    """Wait for the VolumeSnapshot to become ``readyToUse``."""

    enabled: bool = True
    """Wait until each snapshot is readyToUse (default true)."""
    timeout: Duration = "15m"
    """Give up, and fail the run, after this long (default 15m)."""


class Postgres(Model):
    """Dump a PostgreSQL database (``pg_dump`` in the database container, via kubectl exec)."""

    exec: ExecResource = "deployment/app-base"
    """The resource kubectl execs into, type/name: type deployment, statefulset, daemonset,
    replicaset, pod or job, or its plural or short name (deploy, sts, ds, rs, po) (default
    deployment/app-base)."""
    container: LabelName = "postgres"
    """The container in that pod that runs pg_dump (default postgres)."""
    dump_file: AbsPath = "/var/lib/postgresql/data/dump.sql.gz"
    """Absolute path of the gzip dump in the container, on the volume being snapshotted
    (default /var/lib/postgresql/data/dump.sql.gz)."""
    pvc: PvcName | None = None
    """The PVC (one of pvcs) that holds dumpFile; default: the first PVC."""
    host: PgHost = ""
    """Database host seen from the container: a host name, an IP address, or the directory
    of the server's unix socket (like /var/run/postgresql); "" = the client's default
    socket (default)."""
    port: Port = Field(default=5432, ge=PORT_RANGE[0], le=PORT_RANGE[1])
    """Database port (default 5432)."""
    user: LiteralOrEnv = "${POSTGRES_USER}"
    """Database user: a literal or ${ENV_VAR} expanded in the container
    (default ${POSTGRES_USER})."""
    password_env: EnvName = "POSTGRES_PASSWORD"
    """NAME of the container's environment variable that holds the password (default
    POSTGRES_PASSWORD; "" = no password). The password itself is never in the config."""
    database: LiteralOrEnv = "${POSTGRES_DB}"
    """Database to dump: a literal or ${ENV_VAR} expanded in the container
    (default ${POSTGRES_DB})."""
    mode: Literal["dump", "snapshot"] = "dump"
    """dump (default): pg_dump into dumpFile, then the snapshots; its time and the
    room it needs on the volume grow with the database. snapshot: no dump; CHECKPOINT,
    then the snapshots hold the database's own files, cut at one instant, which
    PostgreSQL's crash recovery brings back. The data directory, its WAL and every
    tablespace must lie on one PVC of this namespace's pvcs (checked before anything
    else; the run refuses otherwise)."""


class Mysql(Model):
    """Dump a MySQL / MariaDB database (``mysqldump`` in the database container)."""

    exec: ExecResource = "statefulset/mysql"
    """The resource kubectl execs into, type/name as for postgres (default
    statefulset/mysql)."""
    container: LabelName = "mysql"
    """The container in that pod that runs mysqldump (default mysql)."""
    dump_file: AbsPath = "/var/lib/mysql/dump.sql.gz"
    """Absolute path of the gzip dump in the container, on the volume being snapshotted
    (default /var/lib/mysql/dump.sql.gz)."""
    pvc: PvcName | None = None
    """The PVC (one of pvcs) that holds dumpFile; default: the first PVC."""
    host: Host = "127.0.0.1"
    """Database host seen from the container (default 127.0.0.1)."""
    port: Port = Field(default=3306, ge=PORT_RANGE[0], le=PORT_RANGE[1])
    """Database port (default 3306)."""
    user: LiteralOrEnv = "root"
    """Database user: a literal or ${ENV_VAR} expanded in the container (default root)."""
    password_env: EnvName = "MYSQL_ROOT_PASSWORD"
    """NAME of the container's environment variable that holds the password (default
    MYSQL_ROOT_PASSWORD; "" = no password). The password itself is never in the config."""
    database: LiteralOrEnv = "${MYSQL_DATABASE}"
    """Database to dump: a literal or ${ENV_VAR} expanded in the container
    (default ${MYSQL_DATABASE})."""
    default_character_set: str = Field(default="utf8mb4", pattern=r"^[A-Za-z0-9_]{1,32}$")
    """The client's --default-character-set (default utf8mb4)."""
    mode: Literal["dump", "snapshot"] = "dump"
    """dump (default): mysqldump into dumpFile, then the snapshots. snapshot: no dump;
    FLUSH TABLES WITH READ LOCK held in one session while the snapshots are cut (writes
    wait meanwhile; the pause is logged and recorded), so they hold the server's own
    files at one instant, which InnoDB's crash recovery brings back. The data
    directory, redo and undo logs and binary logs must lie on one PVC of this
    namespace's pvcs (checked before anything else; the run refuses otherwise)."""
    lock_timeout: Duration = "30s"
    """mode snapshot: the read lock waits at most this long for running statements and
    is released after at most this long in any case (a watchdog in the container);
    a run whose snapshots were not cut by then fails (default 30s)."""


class Database(Model):
    """Which databases to dump before the snapshot: ``none`` (the default), or a mapping
    with ``postgres`` and/or ``mysql``. Both dumps must go to the same PVC.
    """

    postgres: Postgres | None = None
    """Dump PostgreSQL (see Postgres); absent = no PostgreSQL dump."""
    mysql: Mysql | None = None
    """Dump MySQL/MariaDB (see Mysql); absent = no MySQL dump."""

    @model_validator(mode="before")
    @classmethod
    def _none(cls, data: Any) -> Any:
        if data == "none":
            return {}
        if not isinstance(data, dict):
            raise fail(data, "is not valid: use none or a mapping with postgres and/or mysql")
        return data


class Hook(Model):
    """One command run inside an application container around the snapshots. It reaches
    the container on kubectl exec's stdin (the container needs /bin/sh), never in an argv."""

    exec: ExecResource
    """The resource kubectl execs into, type/name as for a database (like deployment/redis
    or sts/redis); required."""
    container: LabelName | None = None
    """The container in that pod (default: the pod's default container)."""
    command: Command
    """The argv, a list of strings ([redis-cli, BGSAVE]); no shell reads it: write
    [sh, -c, "..."] for one ($VAR then expands inside the container); required."""
    timeout: Duration = "5m"
    """After this long the command and every process it started are killed in the
    container and the hook counts as failed (default 5m)."""
    on_error: Literal["fail", "continue"] = "fail"
    """fail: stop the run (a failed pre hook: no snapshot) and exit non-zero; continue: a
    warning. Default fail for pre hooks, continue for post hooks."""
    pvcs: list[PvcName] | None = Field(default=None, min_length=1)
    """The PVCs whose snapshots the hook brackets (default: all); it runs only in a run
    that snapshots one of them."""


class PostHook(Hook):
    """A post hook: as Hook, but onError defaults to continue."""

    on_error: Literal["fail", "continue"] = "continue"
    """fail: the run exits non-zero (after every post hook ran); continue (default): a
    warning."""


class Hooks(Model):
    """Commands run inside application containers around the snapshots. A namespace
    entry's pre / post list replaces the one in defaults."""

    pre: list[Hook] = Field(default_factory=list)
    """Run in order after the database dump, before the first snapshot; a failed one with
    onError fail runs the post hooks and stops the run before any snapshot."""
    post: list[PostHook] = Field(default_factory=list)
    """Run in order as soon as every snapshot is cut (status.creationTime, before
    readiness), and, once the pre hooks have started, also when the run fails or is
    interrupted (SIGTERM, SIGINT): an application is never left frozen."""


class Lock(Model):
    """At most ``slots`` backups at once per node (the node the job's pod runs on).

    ``lease`` (the default) keeps the slots as ``coordination.k8s.io`` Leases
    ``backup-ns-slot-<node>-<i>`` in the controller namespace: no hostPath, no root, so the
    job passes Pod Security "restricted". ``flock`` is the original backup-ns lock: files
    in a hostPath directory of the node (root, and a namespace at Pod Security
    "privileged"). The former ``flock: {enabled, slots, dir, hostPath, timeout}`` block is
    still read with a warning (``enabled: false`` means ``mode: none``)."""

    mode: Literal["lease", "flock", "none"] = "lease"
    """lease (Lease slots, the default), flock (hostPath lock files, needs root) or none."""
    slots: int = Field(default=2, ge=1, le=1000)
    """Backups per node at once, 1..1000 (default 2); a run takes any free slot."""
    timeout: Duration = "1h"
    """How long to wait for a free slot (default 1h; baked as seconds)."""
    lease_duration: Duration = "1m"
    """lease: how long a slot stays held without renewal, 5s..1h (default 1m); the holder
    renews it every third of that, and a killed job's slot is free after it."""
    dir: AbsPath = "/mnt/host-backup-locks"
    """flock: lock directory inside the job's container (default /mnt/host-backup-locks)."""
    host_path: AbsPath = "/mnt/host-backup-locks"
    """flock: node directory mounted at dir (hostPath, DirectoryOrCreate; default
    /mnt/host-backup-locks)."""


KEEP_MAX = {"daily": 3650, "weekly": 520, "monthly": 1200}
"""The most period snapshots of each kind a PVC may keep (controller.keep and a
namespace's retention.keep)."""


class KeepOverride(Model):
    """Per-namespace keep counts; a count left out is ``controller.keep``'s."""

    daily: int | None = Field(default=None, ge=0, le=KEEP_MAX["daily"])
    """Newest daily snapshots kept in this namespace (default: controller.keep.daily)."""
    weekly: int | None = Field(default=None, ge=0, le=KEEP_MAX["weekly"])
    """Newest weekly snapshots kept in this namespace (default: controller.keep.weekly)."""
    monthly: int | None = Field(default=None, ge=0, le=KEEP_MAX["monthly"])
    """Newest monthly snapshots kept in this namespace (default: controller.keep.monthly)."""


class Retention(Model):
    """How the controller ages snapshots out (labels written by the script)."""

    mode: Literal["daily_weekly_monthly", "days"] = "daily_weekly_monthly"
    """daily_weekly_monthly (keep the newest N per period, see controller.keep) or days
    (delete after days days)."""
    days: int | None = Field(default=None, ge=1, le=3650)
    """Days to keep a snapshot: required with mode days, 1..3650; not allowed otherwise."""
    keep: KeepOverride = Field(default_factory=KeepOverride)
    """Keep counts for this namespace; a count left out is controller.keep's."""


ResourceName = Literal["cpu", "memory", "ephemeral-storage"]


def _default_requests() -> dict[ResourceName, str]:
    return {"cpu": "50m", "memory": "64Mi"}


def _default_limits() -> dict[ResourceName, str]:
    return {"memory": "256Mi"}


class Resources(Model):
    """Container resources, each a mapping of ``cpu``, ``memory``, ``ephemeral-storage``
    to a quantity (``100m``, ``64Mi``)."""

    requests: dict[ResourceName, Quantity] = Field(default_factory=_default_requests)
    """What the scheduler reserves (default cpu 50m, memory 64Mi)."""
    limits: dict[ResourceName, Quantity] = Field(default_factory=_default_limits)
    """The most the container may use (default memory 256Mi)."""


class Toleration(Model):
    """A pod toleration, as in the Kubernetes API."""

    key: OptionalLabelKey = ""
    """The taint key it matches; "" with operator Exists = every taint."""
    operator: Literal["Exists", "Equal"] = "Equal"
    """Equal (key and value match, the default) or Exists (key matches)."""
    value: LabelValue = ""
    """The taint value it matches (with operator Equal)."""
    effect: Literal["", "NoSchedule", "PreferNoSchedule", "NoExecute"] = ""
    """The taint effect it matches; "" = every effect."""
    toleration_seconds: int | None = None
    """With effect NoExecute: how long the pod stays bound after the taint appears."""


class Affinity(Model):
    """Run the job on the node of the database pod, so the per-node lock slots count
    the backups that really load that node's disks (the slots are per node: the job's
    own node, from the downward API ``spec.nodeName``)."""

    database_pod_labels: dict[LabelKey, LabelValue] = Field(default_factory=dict)
    """Labels of the database pod (e.g. {app: postgres}); when set, the CronJob gets a pod
    affinity on kubernetes.io/hostname to pods with these labels in the same namespace.
    Empty (default): no affinity."""
    required: bool = True
    """true (default): requiredDuringScheduling (the job waits for that node); false:
    preferred (weight 100)."""


class Verify(Model):
    """The restore drill (backup-ns.sh verify) and the toolbox's helper pods."""

    after_backup: bool = False
    """true: the CronJob verifies each snapshot it made, right after the backup (default
    false). Only then its ServiceAccount is also bound to ClusterRole backup-ns-verify
    (create/delete PVCs and pods in the namespace)."""
    run_as_user: int = Field(default=999, ge=1, le=999999999)
    """Non-root uid of the helper pods (Pod Security restricted). The dump file is
    readable only by its owner, so use the database container's uid (default 999, as in
    the official postgres and mariadb images)."""
    timeout: Duration = "10m"
    """How long to wait for a scratch PVC and its helper pod (default 10m); with a
    database, also how long the drill's scratch server may take to load the dump and
    run the checks."""
    count_limit: int = Field(default=10_000_000, ge=0, le=1_000_000_000_000)
    """Row counts recorded with each dump (and compared by the drill) stop at this many
    rows per table plus one: a bigger table is recorded as "more than countLimit rows",
    so counting never reads more than that from one table (default 10000000; 0: every
    table is only checked to exist)."""
    command: Command | None = None
    """A namespace without a database: a command run by verify in the helper pod (the
    job image; ``["bash", "-c", "test -s /backup-ns/restore/index.html"]``) after the
    restored volume was counted; it sees the volume read-only at /backup-ns/restore and
    passes with exit status 0. Not run through a shell unless you call one. Default none."""
    count_in: ExecResource | None = None
    """A workload whose pod mounts the namespace's PVCs (deployment/web, type/name as for a
    hook's exec): create counts each PVC's regular files and their bytes there (kubectl
    exec; the container needs sh, find and stat) after the pre hooks, right before the
    cut, and records them on the snapshot (backup-ns.sh/volume-count). verify of a
    snapshot without a dump compares the restored volume with them, exactly, when pre
    hooks quiesced that PVC (every pre hook that brackets it passed); a count on a live
    volume is recorded and shown, not compared. Default none: nothing is counted."""
    checks: list[VerifyCheck] = Field(default_factory=list)
    """SQL statements the drill runs in the scratch database after loading the dump;
    each must return one row with true (``SELECT count(*) > 0 FROM orders``). They run
    only in the drill's scratch server, never in the application's database."""


class Restore(Model):
    """Self-service restore: who in this namespace may get data back without the platform
    team."""

    tenant_groups: list[GroupName] = Field(default_factory=list)
    """Groups bound (RoleBinding backup-ns-restore) to the namespace's Role
    backup-ns-restore: list, restore-pvc, verify, dump-download and dump-restore in this
    namespace, nothing else (no delete, no keep, nothing cluster-wide). Default none."""


class Job(Model):
    """The CronJob and its pods (Kubernetes field names).

    The pod runs as user and group 65532 (``runAsUser``/``runAsGroup``, unless set) with
    ``runAsNonRoot``, ``seccompProfile: RuntimeDefault``, no privilege escalation, all
    capabilities dropped and a read-only root filesystem: Pod Security "restricted"
    admits it whatever user the image declares. Exception: ``lock.mode: flock`` runs as
    root unless ``runAsUser`` says otherwise, because the node's lock directory is a
    ``DirectoryOrCreate`` hostPath created root-owned (0755); its pod needs a namespace
    that allows hostPath (Pod Security "privileged"; "baseline" forbids hostPath).
    """

    name: LabelName = "backup-ns"
    """The CronJob name (default backup-ns), at most 46 characters: pods are named
    <name>-<up to 10 digits>-<5 chars> and the pod name becomes a label value."""
    suspend: bool = False
    """Suspend the CronJob: no scheduled runs (default false)."""
    concurrency_policy: Literal["Allow", "Forbid", "Replace"] = "Forbid"
    """What a schedule does while the previous run is still going (default Forbid)."""
    starting_deadline_seconds: int | None = Field(default=600, ge=1)
    """A run that could not start within this many seconds of its time is skipped
    (default 600)."""
    backoff_limit: int = Field(default=0, ge=0, le=100)
    """Retries of a failed run (default 0: a failed backup is not retried blindly)."""
    active_deadline_seconds: Duration | None = "3h"
    """A run is stopped after this long, a duration (default 3h)."""
    ttl_seconds_after_finished: int | None = Field(default=None, ge=0)
    """Delete a finished Job after this many seconds (default: keep; see the limits)."""
    successful_jobs_history_limit: int = Field(default=3, ge=0, le=100)
    """Successful Jobs the CronJob keeps (default 3)."""
    failed_jobs_history_limit: int = Field(default=3, ge=0, le=100)
    """Failed Jobs the CronJob keeps (default 3)."""
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = "IfNotPresent"
    """When the kubelet pulls the image (default IfNotPresent)."""
    run_as_user: int | None = Field(default=None, ge=0)
    """The container's user ID; unset: 65532, or 0 with lock.mode flock. 0 drops
    runAsNonRoot, and Pod Security "restricted" then rejects the pod."""
    run_as_group: int | None = Field(default=None, ge=0)
    """The container's group ID (default: 65532 when runAsUser is not set either, else the
    image's)."""
    resources: Resources = Field(default_factory=Resources)
    """The container's resource requests and limits (see Resources)."""
    node_selector: dict[LabelKey, LabelValue] = Field(default_factory=dict)
    """Node labels the pod must run on (default: any node)."""
    tolerations: list[Toleration] = Field(default_factory=list)
    """Taints the pod tolerates (default none)."""
    pod_labels: dict[LabelKey, LabelValue] = Field(default_factory=dict)
    """Extra labels of the pods (the standard labels cannot be overridden)."""
    pod_annotations: dict[LabelKey, str] = Field(default_factory=dict)
    """Extra annotations of the pods."""
    affinity: Affinity = Field(default_factory=Affinity)
    """Run next to the database pod (see Affinity)."""


class NamespaceConfig(Model):
    """One namespace's backup (``defaults`` merged in)."""

    pvcs: list[PvcName] = Field(min_length=1)
    """The PVCs to snapshot, at least one."""
    database: Database = Field(default_factory=Database)
    """none, or a mapping with postgres and/or mysql (see Database)."""
    hooks: Hooks = Field(default_factory=Hooks)
    """Commands run in application containers around the snapshots (see Hooks)."""
    dry_run: bool = False
    """Check everything, dump nothing, create nothing (default false)."""
    debug: bool = False
    """Trace every command of the script (set -x; default false)."""
    snapshot_name: SnapshotTemplate = "{pvc}-{date}-{rand}"
    """VolumeSnapshot name template with {namespace} {pvc} {date} {rand} {type}
    (default {pvc}-{date}-{rand})."""
    snapshot_class: OptionalSubdomain = ""
    """VolumeSnapshotClass; "" = the default class of the cluster."""
    wait_until_ready: WaitUntilReady = Field(default_factory=WaitUntilReady)
    """Wait for readyToUse (see WaitUntilReady)."""
    group_snapshot: Literal["auto", "always", "never"] = "auto"
    """Cut several PVCs in one VolumeGroupSnapshot, at one instant, so they are mutually
    consistent (data and WAL, database and uploads). auto (default): when the namespace
    snapshots two or more PVCs of one CSI driver and the cluster has a
    VolumeGroupSnapshotClass for it (groupsnapshot.storage.k8s.io/v1), else one
    VolumeSnapshot per PVC with a line saying they are not cut at one instant; always:
    refuse to run without one; never: one VolumeSnapshot per PVC. The group selects its
    PVCs by the label backup-ns.sh/snapshot-group, which the script sets on them (and
    logs) when it is missing."""
    threshold_space_used_percent: Percent = Field(
        default=90, ge=PERCENT_RANGE[0], le=PERCENT_RANGE[1]
    )
    """Refuse to dump when the dump volume is fuller than this percentage (default 90)."""
    lock: Lock = Field(default_factory=Lock)
    """Backups per node at once: Lease slots, flock or none (see Lock)."""
    type: LabelValue = "cronjob"
    """backup-ns.sh/type label of the CronJob's snapshots (default cronjob); a run by
    hand is labelled adhoc."""
    retention: Retention = Field(default_factory=Retention)
    """How the controller ages the snapshots out (see Retention)."""
    schedule: str = "H 1 * * *"
    """Cron schedule; H or H(a-b) allowed in minute and hour (default H 1 * * *)."""
    time_zone: TimeZone = "UTC"
    """IANA time zone of the schedule and the period labels (default UTC)."""
    image: Image = DEFAULT_IMAGE
    """Job image with bash >= 4.4, kubectl, GNU coreutils (and flock for lock.mode flock);
    default: registry.k8s.io/kubectl:v1.33.1. :latest or no tag is a warning."""
    job: Job = Field(default_factory=Job)
    """CronJob and pod settings (see Job)."""
    verify: Verify = Field(default_factory=Verify)
    """The restore drill and the toolbox's helper pods (see Verify)."""
    restore: Restore = Field(default_factory=Restore)
    """Self-service restore for the namespace's own people (see Restore)."""


class Keep(Model):
    """How many period snapshots the controller keeps per namespace and PVC."""

    daily: int = Field(default=7, ge=0, le=KEEP_MAX["daily"])
    """Newest daily snapshots kept (default 7)."""
    weekly: int = Field(default=4, ge=0, le=KEEP_MAX["weekly"])
    """Newest weekly snapshots kept (default 4)."""
    monthly: int = Field(default=12, ge=0, le=KEEP_MAX["monthly"])
    """Newest monthly snapshots kept (default 12)."""


class ControllerSchedules(Model):
    """Controller CronJob schedules (``H`` allowed, seeded with the controller namespace)."""

    prune: str = "H 3 * * *"
    """The full run: retain, mark, sweep, sync, orphans (default H 3 * * *)."""
    sync: str = "H * * * *"
    """Copy labels to the VolumeSnapshotContents (default H * * * *: hourly)."""
    status: str = "H 7 * * *"
    """Fail (a failed Job) when a namespace has no recent ready snapshot (default H 7 * * *)."""


class ScheduledDrills(Model):
    """Scheduled restore drills, run from the controller namespace: each run drills the
    newest ready snapshot (one holding a dump first) of the namespaces whose last drill is
    older than ``interval``, the oldest first (backup-ns-controller.sh drill)."""

    schedule: str = ""
    """Cron schedule of the drill CronJob; H allowed in minute and hour. "" (default):
    no scheduled drills, and none of their CronJobs or rights are rendered."""
    max_per_run: int = Field(default=10, ge=1, le=1000)
    """Namespaces drilled per run at most (default 10); the rest wait for the next run."""
    concurrency: int = Field(default=2, ge=1, le=100)
    """Drills running at once (default 2): each is a Job in its namespace with a scratch
    PVC and database pod."""
    interval: Duration = "168h"
    """A namespace whose last drill is older than this is due (default 168h: a week)."""
    timeout: Duration = "1h"
    """How long the controller waits for one drill's Job before it counts as failed
    (default 1h). The Job gets activeDeadlineSeconds of this plus 60s (or the namespace's
    job.activeDeadlineSeconds when that is shorter), so Kubernetes stops a drill that
    runs longer."""


class ControllerConfig(Model):
    """The cluster-wide retention controller (``out/controller/backup-ns-controller.sh``)."""

    namespace: LabelName = "backup-ns"
    """Where it runs (default backup-ns), created by out/cluster."""
    image: Image = DEFAULT_IMAGE
    """Controller image (default: registry.k8s.io/kubectl:v1.33.1)."""
    time_zone: TimeZone = "UTC"
    """IANA time zone of its schedules and period dates (default UTC)."""
    schedules: ControllerSchedules = Field(default_factory=ControllerSchedules)
    """When the controller's CronJobs run (see ControllerSchedules)."""
    verify: ScheduledDrills = Field(default_factory=ScheduledDrills)
    """Scheduled restore drills across the namespaces (see ScheduledDrills; off by
    default)."""
    keep: Keep = Field(default_factory=Keep)
    """Daily, weekly and monthly counts to keep (see Keep); a namespace may override
    them (retention.keep)."""
    min_ready: int = Field(default=1, ge=1, le=1000)
    """Never let a PVC's ready snapshots drop below this (default 1)."""
    max_deletions_per_run: int = Field(default=50, ge=0, le=1_000_000)
    """Delete at most this many objects per run, then fail (default 50)."""
    orphan_retention_days: int = Field(default=30, ge=0, le=36500)
    """Keep a content whose snapshot or namespace is gone this many days after the
    controller first saw it orphaned (default 30)."""
    failed_after: Duration = "24h"
    """A snapshot not ready after this long counts as failed (default 24h)."""
    max_clock_skew_days: int = Field(default=30, ge=1, le=3650)
    """Refuse to run when today is more than this many days after the newest
    snapshot's day, or before it (default 30)."""
    lease_duration: Duration = "1h"
    """How long a run's Lease blocks other runs if the run dies without releasing it
    (default 1h)."""
    stale_after_factor: int = Field(default=2, ge=1, le=100)
    """status fails when a PVC's newest ready snapshot is older than this many schedule
    periods (default 2)."""
    resources: Resources = Field(default_factory=Resources)
    """The controller pods' resource requests and limits (default: requests cpu 50m, memory
    64Mi; limits memory 256Mi). A run decides one namespace/PVC at a time: its memory does
    not grow with the number of snapshots, its temporary files do (about 2 KB per snapshot,
    in the pods' emptyDir)."""
    admission_policies: bool = True
    """true (default): render ValidatingAdmissionPolicies (cluster/admission-policies.yaml,
    enforced by the kube-apiserver itself, Kubernetes >= 1.30) that keep anyone but the
    controller, the namespace-deletion machinery and adminGroups from deleting a managed
    VolumeSnapshot, changing its backup-ns.sh/* labels and annotations (or a content's)
    or a managed content's deletionPolicy. false: no policies (RBAC alone protects the
    backups)."""
    admin_groups: list[GroupName] = Field(
        default_factory=lambda: ["system:masters", "kubeadm:cluster-admins"], min_length=1
    )
    """The platform team's groups: besides the controller, only their members may delete
    a managed snapshot or change its labels (keep, delete, rebind, clone). Default
    system:masters and kubeadm:cluster-admins (the group of kubeadm's admin.conf since
    Kubernetes 1.29)."""


class KubeStateMetrics(Model):
    """The kube-state-metrics that exports the per-snapshot metrics. Its ServiceAccount is
    bound to ClusterRole ``backup-ns-kube-state-metrics`` (list and watch VolumeSnapshots,
    VolumeSnapshotContents and their CRDs); its custom-resource-state config is the
    ConfigMap ``backup-ns-kube-state-metrics`` in its namespace."""

    namespace: LabelName = "kube-system"
    """Namespace of kube-state-metrics (and of the ConfigMap; default kube-system)."""
    service_account: LabelName = "kube-state-metrics"
    """Its ServiceAccount (default kube-state-metrics)."""


class Monitoring(Model):
    """Alerts and metrics for Prometheus, through kube-state-metrics (no daemon of ours):
    ``out/monitoring/`` holds a PrometheusRule (prometheus-operator), the same rules as a
    plain Prometheus rule file, and kube-state-metrics' RBAC and custom-resource-state
    config. See docs/alerts.md."""

    enabled: bool = False
    """Render out/monitoring/ (default false: the PrometheusRule needs prometheus-operator's
    CRDs in the cluster)."""
    grace: Duration = "1h"
    """How late a backup may finish before BackupMissing fires: the threshold per
    namespace is its schedule's period plus this (default 1h)."""
    not_ready_after: Duration = "1h"
    """SnapshotNotReady fires for a snapshot not readyToUse this long after it was created
    (default 1h)."""
    runbook_url: RunbookUrl = "docs/alerts.md"
    """Where the runbook is published (your copy of docs/alerts.md); each alert's
    runbook_url is this plus #<alert name in lower case> (default docs/alerts.md)."""
    rule_labels: dict[LabelKey, LabelValue] = Field(default_factory=dict)
    """Labels of the PrometheusRule, for your Prometheus' ruleSelector (e.g.
    {release: kube-prometheus-stack}; default none)."""
    kube_state_metrics: KubeStateMetrics = Field(default_factory=KubeStateMetrics)
    """Where kube-state-metrics runs (see KubeStateMetrics)."""


class Config(Model):
    """A validated ``backupns.yaml``: namespaces sorted by name, defaults merged in."""

    namespaces: dict[str, NamespaceConfig]
    """Each namespace to back up (its name) and how (defaults merged in)."""
    controller: ControllerConfig = Field(default_factory=ControllerConfig)
    """The cluster-wide controller: retention and label sync."""
    monitoring: Monitoring = Field(default_factory=Monitoring)
    """Prometheus alerts and kube-state-metrics config in out/monitoring/ (see Monitoring)."""
    source_name: str = Field(default="backupns.yaml", exclude=True)
    """File name shown in errors and in the generated header (not a config key)."""
    warnings: tuple[str, ...] = Field(default=(), exclude=True)
    """``<path>: <why>`` lines for a valid but doubtful config (not a config key)."""
