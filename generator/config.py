"""The config model: what ``backupns.yaml`` may say.

Top level: ``defaults`` (a partial namespace entry), ``namespaces`` (name →
entry) and ``controller``. ``defaults`` is merged into each namespace entry
before validation: mappings are merged key by key (recursively), anything else
(scalars, lists, ``database: none``) in the entry replaces the default.
Keys are camelCase; unknown keys are errors. Loading and error reporting live
in ``loader.py``; the cross-field checks live in ``checks.py``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from .fields import (
    AbsPath,
    Duration,
    EnvName,
    ExecResource,
    Host,
    Image,
    LabelKey,
    LabelName,
    LabelValue,
    LiteralOrEnv,
    OptionalLabelKey,
    OptionalSubdomain,
    Percent,
    Port,
    PvcName,
    Quantity,
    SnapshotTemplate,
    TimeZone,
    fail,
)
from .settings import field
from .unknown import reject_unknown_keys

DEFAULT_IMAGE = "docker.io/bitnami/kubectl:1.32"
"""Debian (minideb) based: bash 5, GNU coreutils, util-linux flock, kubectl 1.32.
Pin it by digest (``…@sha256:…``) in production, or use your own image with
bash ≥ 4.4, kubectl, flock (when locking) and GNU coreutils."""


class Model(BaseModel):
    """Base: camelCase keys, no unknown keys ("did you mean"), no coercion, immutable."""

    model_config = ConfigDict(
        extra="forbid", strict=True, frozen=True, alias_generator=to_camel, validate_default=False
    )

    @model_validator(mode="before")
    @classmethod
    def _unknown_keys(cls, data: Any) -> Any:
        return reject_unknown_keys(cls, data)


class WaitUntilReady(Model):
    """Wait for the VolumeSnapshot to become ``readyToUse``.

    - ``enabled``: wait at all (default true); BAK_VS_WAIT_UNTIL_READY.
    - ``timeout``: give up (and fail the run) after this long, default ``15m``.
    """

    enabled: bool = field("BAK_VS_WAIT_UNTIL_READY")
    timeout: Duration = field("BAK_VS_WAIT_UNTIL_READY_TIMEOUT")


class Postgres(Model):
    """Dump a PostgreSQL database (``pg_dump`` in the database container, via kubectl exec).

    - ``exec``: the resource kubectl execs into, ``kind/name`` (default ``deployment/app-base``).
    - ``container``: the container in that pod (default ``postgres``).
    - ``dumpFile``: absolute path in the container, on the volume being snapshotted
      (default ``/var/lib/postgresql/data/dump.sql.gz``).
    - ``pvc``: the PVC (one of ``pvcs``) that holds ``dumpFile``; default: the first PVC.
    - ``host``: "" = the unix socket (default), else a host name or IP.
    - ``port``: default 5432.
    - ``user``: literal or ``${ENV_VAR}`` expanded in the container (default ``${POSTGRES_USER}``).
    - ``passwordEnv``: NAME of the container's env var holding the password (default
      ``POSTGRES_PASSWORD``; "" = no password). The password itself is never in the config.
    - ``database``: literal or ``${ENV_VAR}`` (default ``${POSTGRES_DB}``).
    """

    exec: ExecResource = field("BAK_DB_POSTGRES_EXEC_RESOURCE")
    container: LabelName = field("BAK_DB_POSTGRES_EXEC_CONTAINER")
    dump_file: AbsPath = field("BAK_DB_POSTGRES_DUMP_FILE")
    pvc: PvcName | None = None
    host: Host = field("BAK_DB_POSTGRES_HOST")
    port: Port = field("BAK_DB_POSTGRES_PORT")
    user: LiteralOrEnv = field("BAK_DB_POSTGRES_USER")
    password_env: EnvName = field("BAK_DB_POSTGRES_PASSWORD")
    database: LiteralOrEnv = field("BAK_DB_POSTGRES_DB")


class Mysql(Model):
    """Dump a MySQL / MariaDB database (``mysqldump`` in the database container).

    - ``exec``: ``kind/name`` to exec into (default ``statefulset/mysql``).
    - ``container``: default ``mysql``.
    - ``dumpFile``: absolute path in the container (default ``/var/lib/mysql/dump.sql.gz``).
    - ``pvc``: the PVC that holds ``dumpFile``; default: the first PVC.
    - ``host``: default ``127.0.0.1``; ``port``: default 3306.
    - ``user``: literal or ``${ENV_VAR}`` (default ``root``).
    - ``passwordEnv``: NAME of the container's env var with the password
      (default ``MYSQL_ROOT_PASSWORD``; "" = none).
    - ``database``: literal or ``${ENV_VAR}`` (default ``${MYSQL_DATABASE}``).
    - ``defaultCharacterSet``: ``--default-character-set`` (default ``utf8mb4``).
    """

    exec: ExecResource = field("BAK_DB_MYSQL_EXEC_RESOURCE")
    container: LabelName = field("BAK_DB_MYSQL_EXEC_CONTAINER")
    dump_file: AbsPath = field("BAK_DB_MYSQL_DUMP_FILE")
    pvc: PvcName | None = None
    host: Host = field("BAK_DB_MYSQL_HOST")
    port: Port = field("BAK_DB_MYSQL_PORT")
    user: LiteralOrEnv = field("BAK_DB_MYSQL_USER")
    password_env: EnvName = field("BAK_DB_MYSQL_PASSWORD")
    database: LiteralOrEnv = field("BAK_DB_MYSQL_DB")
    default_character_set: str = field("BAK_DB_MYSQL_DEFAULT_CHARACTER_SET")


class Database(Model):
    """Which databases to dump before the snapshot: ``none`` (the default), or a mapping
    with ``postgres`` and/or ``mysql``. Both dumps must go to the same PVC.
    """

    postgres: Postgres | None = None
    mysql: Mysql | None = None

    @model_validator(mode="before")
    @classmethod
    def _none(cls, data: Any) -> Any:
        if data == "none":
            return {}
        if not isinstance(data, dict):
            raise fail(data, "is not valid: use none or a mapping with postgres and/or mysql")
        return data


class Flock(Model):
    """Node-level concurrency limit: at most ``slots`` backups per node at once.

    - ``enabled``: default true (BAK_FLOCK).
    - ``slots``: number of lock files, 1..1000 (default 2); a run takes any free one.
    - ``dir``: lock directory inside the job's container (default ``/mnt/host-backup-locks``).
    - ``hostPath``: node directory mounted at ``dir`` (hostPath, DirectoryOrCreate;
      default ``/mnt/host-backup-locks``).
    - ``timeout``: how long to wait for a slot (default ``1h``; baked as seconds).
    """

    enabled: bool = field("BAK_FLOCK")
    slots: int = field("BAK_FLOCK_COUNT")
    dir: AbsPath = field("BAK_FLOCK_DIR")
    host_path: AbsPath = "/mnt/host-backup-locks"
    timeout: Duration = field("BAK_FLOCK_TIMEOUT_SEC")


class KeepOverride(Model):
    """Per-namespace keep counts; a count left out is ``controller.keep``'s."""

    daily: int | None = Field(default=None, ge=0, le=3650)
    weekly: int | None = Field(default=None, ge=0, le=520)
    monthly: int | None = Field(default=None, ge=0, le=1200)


class Retention(Model):
    """How the controller ages snapshots out (labels written by the script).

    - ``mode``: ``daily_weekly_monthly`` (keep the newest N per period, see
      ``controller.keep``) or ``days`` (delete after ``days`` days).
    - ``days``: required with ``mode: days``, 1..3650; not allowed otherwise.
    - ``keep``: ``{daily, weekly, monthly}`` for this namespace (default: ``controller.keep``).
    """

    mode: Literal["daily_weekly_monthly", "days"] = field("BAK_LABEL_VS_RETAIN")
    days: int | None = field("BAK_LABEL_VS_RETAIN_DAYS")
    keep: KeepOverride = Field(default_factory=KeepOverride)


ResourceName = Literal["cpu", "memory", "ephemeral-storage"]


def _default_requests() -> dict[ResourceName, str]:
    return {"cpu": "50m", "memory": "64Mi"}


def _default_limits() -> dict[ResourceName, str]:
    return {"memory": "256Mi"}


class Resources(Model):
    """Container resources: ``requests`` and ``limits``, each a mapping of ``cpu``,
    ``memory``, ``ephemeral-storage`` to a quantity (``100m``, ``64Mi``)."""

    requests: dict[ResourceName, Quantity] = Field(default_factory=_default_requests)
    limits: dict[ResourceName, Quantity] = Field(default_factory=_default_limits)


class Toleration(Model):
    """A pod toleration, as in the Kubernetes API (``key``, ``operator``, ``value``,
    ``effect``, ``tolerationSeconds``)."""

    key: OptionalLabelKey = ""
    operator: Literal["Exists", "Equal"] = "Equal"
    value: LabelValue = ""
    effect: Literal["", "NoSchedule", "PreferNoSchedule", "NoExecute"] = ""
    toleration_seconds: int | None = None


class Affinity(Model):
    """Run the job on the node of the database pod, so the per-node flock slots count
    the backups that really load that node's disks.

    - ``databasePodLabels``: labels of the database pod (e.g. ``{app: postgres}``); when set,
      the CronJob gets a pod affinity on ``kubernetes.io/hostname`` to pods with these labels
      in the same namespace. Empty (default): no affinity.
    - ``required``: true (default) = requiredDuringScheduling (the job waits for that node);
      false = preferred (weight 100).
    """

    database_pod_labels: dict[LabelKey, LabelValue] = Field(default_factory=dict)
    required: bool = True


class Job(Model):
    """The CronJob and its pods (Kubernetes field names).

    - ``name``: the CronJob name (default ``backup-ns``), at most 46 characters: pods are
      named ``<name>-<up to 10 digits>-<5 chars>`` and the pod name becomes a label value.
    - ``suspend`` (false), ``concurrencyPolicy`` (``Forbid``), ``startingDeadlineSeconds``
      (600), ``backoffLimit`` (0: a failed backup is not retried blindly),
      ``activeDeadlineSeconds`` (a duration, default ``3h``), ``ttlSecondsAfterFinished``
      (none), ``successfulJobsHistoryLimit`` (3), ``failedJobsHistoryLimit`` (3).
    - ``imagePullPolicy`` (``IfNotPresent``), ``resources``, ``nodeSelector``,
      ``tolerations``, ``podLabels``, ``podAnnotations``, ``affinity``.
    - ``runAsUser`` / ``runAsGroup``: the container's user and group (default: the
      image's). With flock on, that user must be able to create files in the node's
      lock directory: a ``DirectoryOrCreate`` hostPath is created root-owned (0755),
      so either prepare the directory on the nodes or run as root (``runAsUser: 0``).
      hostPath volumes also need a namespace that allows them (Pod Security
      "privileged"; "baseline" forbids hostPath) - or turn flock off.
    """

    name: LabelName = "backup-ns"
    suspend: bool = False
    concurrency_policy: Literal["Allow", "Forbid", "Replace"] = "Forbid"
    starting_deadline_seconds: int | None = Field(default=600, ge=1)
    backoff_limit: int = Field(default=0, ge=0, le=100)
    active_deadline_seconds: Duration | None = "3h"
    ttl_seconds_after_finished: int | None = Field(default=None, ge=0)
    successful_jobs_history_limit: int = Field(default=3, ge=0, le=100)
    failed_jobs_history_limit: int = Field(default=3, ge=0, le=100)
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = "IfNotPresent"
    run_as_user: int | None = Field(default=None, ge=0)
    run_as_group: int | None = Field(default=None, ge=0)
    resources: Resources = Field(default_factory=Resources)
    node_selector: dict[LabelKey, LabelValue] = Field(default_factory=dict)
    tolerations: list[Toleration] = Field(default_factory=list)
    pod_labels: dict[LabelKey, LabelValue] = Field(default_factory=dict)
    pod_annotations: dict[LabelKey, str] = Field(default_factory=dict)
    affinity: Affinity = Field(default_factory=Affinity)


class NamespaceConfig(Model):
    """One namespace's backup (``defaults`` merged in). BAK_* names in brackets.

    - ``pvcs``: the PVCs to snapshot, at least one [BAK_PVC_NAMES].
    - ``database``: ``none`` or ``{postgres: …, mysql: …}`` [BAK_DB_*].
    - ``dryRun`` [BAK_DRY_RUN], ``debug`` [BAK_DEBUG]: default false.
    - ``snapshotName``: template with ``{namespace}`` ``{pvc}`` ``{date}`` ``{rand}``
      ``{type}`` (default ``{pvc}-{date}-{rand}``) [BAK_VS_NAME_TEMPLATE].
    - ``snapshotClass``: VolumeSnapshotClass, "" = the cluster default [BAK_VS_CLASS_NAME].
    - ``waitUntilReady``: ``{enabled, timeout}`` [BAK_VS_WAIT_UNTIL_READY*].
    - ``thresholdSpaceUsedPercent``: refuse to dump when the dump volume is fuller (90)
      [BAK_THRESHOLD_SPACE_USED_PERCENTAGE].
    - ``flock``: node-level slots [BAK_FLOCK*].
    - ``type``: ``backup-ns.sh/type`` label of the CronJob's snapshots (``cronjob``);
      a hand run is ``adhoc`` [BAK_LABEL_VS_TYPE].
    - ``retention``: ``{mode, days}`` [BAK_LABEL_VS_RETAIN*].
    - ``schedule``: cron, ``H``/``H(a-b)`` allowed in minute and hour (``H 1 * * *``).
    - ``timeZone``: IANA zone for the schedule and the period labels (``UTC``) [BAK_TIME_ZONE].
    - ``image``: must contain bash, kubectl, flock, GNU coreutils (see DEFAULT_IMAGE).
    - ``job``: CronJob / pod knobs (see Job).
    """

    pvcs: list[PvcName] = Field(min_length=1)
    database: Database = Field(default_factory=Database)
    dry_run: bool = field("BAK_DRY_RUN")
    debug: bool = field("BAK_DEBUG")
    snapshot_name: SnapshotTemplate = field("BAK_VS_NAME_TEMPLATE")
    snapshot_class: OptionalSubdomain = field("BAK_VS_CLASS_NAME")
    wait_until_ready: WaitUntilReady = Field(default_factory=WaitUntilReady)
    threshold_space_used_percent: Percent = field("BAK_THRESHOLD_SPACE_USED_PERCENTAGE")
    flock: Flock = Field(default_factory=Flock)
    type: LabelValue = "cronjob"
    retention: Retention = Field(default_factory=Retention)
    schedule: str = "H 1 * * *"
    time_zone: TimeZone = field("BAK_TIME_ZONE")
    image: Image = DEFAULT_IMAGE
    job: Job = Field(default_factory=Job)


class Keep(Model):
    """How many period snapshots the controller keeps per namespace and PVC."""

    daily: int = Field(default=7, ge=0, le=3650)
    weekly: int = Field(default=4, ge=0, le=520)
    monthly: int = Field(default=12, ge=0, le=1200)


class ControllerSchedules(Model):
    """Controller CronJob schedules (``H`` allowed, seeded with the controller namespace).

    - ``prune``: ``run``: retain → mark → sweep → sync → orphans (default ``H 3 * * *``).
    - ``sync``: copy labels to VolumeSnapshotContents (default ``H * * * *``: hourly).
    - ``status``: fail (a failed Job) when a namespace has no recent ready snapshot
      (default ``H 7 * * *``).
    """

    prune: str = "H 3 * * *"
    sync: str = "H * * * *"
    status: str = "H 7 * * *"


class ControllerConfig(Model):
    """The cluster-wide retention controller (``out/controller/backup-ns-controller.sh``).

    - ``namespace``: where it runs (default ``backup-ns``), created by out/cluster.
    - ``image``: default DEFAULT_IMAGE. ``timeZone``: for schedules and period dates (UTC).
    - ``schedules``: see ControllerSchedules. ``keep``: daily/weekly/monthly counts
      (a namespace may override them: ``retention.keep``).
    - ``minReady``: never let a PVC's ready snapshots drop below this (default 1, ≥ 1).
    - ``maxDeletionsPerRun``: delete at most this many objects per run, then fail (50).
    - ``orphanRetentionDays``: keep a content whose snapshot or namespace is gone this
      many days after the controller first saw it orphaned (30).
    - ``failedAfter``: a snapshot not ready after this long counts as failed (``24h``).
    - ``maxClockSkewDays``: refuse to run when today is more than this many days after
      the newest snapshot's day (30), or before it.
    - ``leaseDuration``: how long a run's Lease blocks other runs if the run dies
      without releasing it (``1h``).
    - ``staleAfterFactor``: ``status`` fails when a PVC's newest ready snapshot is older
      than this many schedule periods (2).
    """

    namespace: LabelName = "backup-ns"
    image: Image = DEFAULT_IMAGE
    time_zone: TimeZone = "UTC"
    schedules: ControllerSchedules = Field(default_factory=ControllerSchedules)
    keep: Keep = Field(default_factory=Keep)
    min_ready: int = Field(default=1, ge=1, le=1000)
    max_deletions_per_run: int = Field(default=50, ge=0, le=1_000_000)
    orphan_retention_days: int = Field(default=30, ge=0, le=36500)
    failed_after: Duration = "24h"
    max_clock_skew_days: int = Field(default=30, ge=1, le=3650)
    lease_duration: Duration = "1h"
    stale_after_factor: int = Field(default=2, ge=1, le=100)


class Config(Model):
    """A validated ``backupns.yaml``: namespaces sorted by name, defaults merged in."""

    namespaces: dict[str, NamespaceConfig]
    controller: ControllerConfig = Field(default_factory=ControllerConfig)
    source_name: str = Field(default="backupns.yaml", exclude=True)
    """File name shown in errors and in the generated header (not a config key)."""
