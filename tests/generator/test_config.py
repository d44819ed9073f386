"""Config validation: every rejected value gives one exact line (file: path: why)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from backupns_gen.errors import ConfigError
from backupns_gen.loader import load_config, parse_config


def errors(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(yaml.safe_load(text), "backupns.yaml")
    assert info.value.exit_code == 2
    return info.value.lines()


def one_ns(**entry: Any) -> str:
    return yaml.safe_dump({"namespaces": {"shop": {"pvcs": ["data"], **entry}}})


CASES: list[tuple[str, str, str]] = [
    # (id, yaml, the exact error line)
    (
        "container-name",
        one_ns(database={"postgres": {"container": "Data_1"}}),
        'backupns.yaml: namespaces.shop.database.postgres.container: "Data_1" is not a valid '
        "Kubernetes name (lowercase letters, digits and '-', at most 63 characters)",
    ),
    (
        "pvc-name",
        one_ns(pvcs=["Data_1"]),
        'backupns.yaml: namespaces.shop.pvcs[0]: "Data_1" is not a valid Kubernetes name '
        "(lowercase letters, digits, '-' and '.', at most 63 characters)",
    ),
    (
        "pvc-name-too-long",
        one_ns(pvcs=["a" * 64]),
        f'backupns.yaml: namespaces.shop.pvcs[0]: "{"a" * 64}" is not a valid Kubernetes name '
        "(lowercase letters, digits, '-' and '.', at most 63 characters)",
    ),
    (
        "namespace-name",
        "namespaces: {Shop: {pvcs: [data]}}",
        'backupns.yaml: namespaces: "Shop" is not a valid Kubernetes name '
        "(lowercase letters, digits and '-', at most 63 characters)",
    ),
    (
        "namespace-name-dot",
        "namespaces: {shop.prod: {pvcs: [data]}}",
        'backupns.yaml: namespaces: "shop.prod" is not a valid Kubernetes name '
        "(lowercase letters, digits and '-', at most 63 characters)",
    ),
    (
        "snapshot-class",
        one_ns(snapshotClass="Fast_SSD"),
        'backupns.yaml: namespaces.shop.snapshotClass: "Fast_SSD" is not a valid Kubernetes name '
        "(lowercase letters, digits, '-' and '.', at most 253 characters)",
    ),
    (
        "unknown-key-did-you-mean",
        one_ns(schedul="H 1 * * *"),
        'backupns.yaml: namespaces.shop: unknown key "schedul" (did you mean "schedule"?)',
    ),
    (
        "unknown-key-nested",
        one_ns(lock={"slot": 3}),
        'backupns.yaml: namespaces.shop.lock: unknown key "slot" (did you mean "slots"?)',
    ),
    (
        "unknown-key-no-match",
        one_ns(waitUntilReady={"xyz": 1}),
        'backupns.yaml: namespaces.shop.waitUntilReady: unknown key "xyz" '
        "(allowed: enabled, timeout)",
    ),
    (
        "unknown-top-level",
        "namespaces: {shop: {pvcs: [data]}}\ncontrolle: {}",
        'backupns.yaml: unknown key "controlle" (did you mean "controller"?)',
    ),
    (
        "monitoring-unknown-key",
        "namespaces: {shop: {pvcs: [data]}}\nmonitoring: {enable: true}",
        'backupns.yaml: monitoring: unknown key "enable" (did you mean "enabled"?)',
    ),
    (
        "monitoring-runbook-url",
        "namespaces: {shop: {pvcs: [data]}}\nmonitoring: {runbookUrl: 'docs/alerts.md#x'}",
        'backupns.yaml: monitoring.runbookUrl: "docs/alerts.md#x" is not a valid runbook address '
        "(a URL or path without spaces, quotes or #, like "
        "https://git.example.com/ops/backups/docs/alerts.md)",
    ),
    (
        "monitoring-ksm-namespace",
        "namespaces: {shop: {pvcs: [data]}}\nmonitoring: {kubeStateMetrics: {namespace: Kube}}",
        'backupns.yaml: monitoring.kubeStateMetrics.namespace: "Kube" is not a valid Kubernetes '
        "name (lowercase letters, digits and '-', at most 63 characters)",
    ),
    (
        "cron-bad-minute",
        one_ns(schedule="61 1 * * *"),
        'backupns.yaml: namespaces.shop.schedule: "61 1 * * *" is not a valid schedule: bad minute',
    ),
    (
        "cron-field-count",
        one_ns(schedule="1 * * *"),
        'backupns.yaml: namespaces.shop.schedule: "1 * * *" is not a valid schedule: expected 5 '
        "fields (minute hour day-of-month month day-of-week), got 4",
    ),
    (
        "cron-h-elsewhere",
        one_ns(schedule="H 1 H * *"),
        'backupns.yaml: namespaces.shop.schedule: "H 1 H * *" is not a valid schedule: H is only '
        "supported in the minute and hour fields, not in the day-of-month field",
    ),
    (
        "cron-h-range",
        one_ns(schedule="H H(3-30) * * *"),
        'backupns.yaml: namespaces.shop.schedule: "H H(3-30) * * *" is not a valid schedule: '
        "H(3-30) in the hour field must satisfy 0 <= a <= b <= 23",
    ),
    (
        "cron-tz",
        one_ns(schedule="TZ=UTC 0 1 * * *"),
        'backupns.yaml: namespaces.shop.schedule: "TZ=UTC 0 1 * * *" is not a valid schedule: '
        "set timeZone instead of TZ= in the schedule",
    ),
    (
        "time-zone",
        one_ns(timeZone="Europe/Vienn"),
        'backupns.yaml: namespaces.shop.timeZone: "Europe/Vienn" is not a valid IANA time zone '
        "(like UTC or Europe/Vienna)",
    ),
    (
        "duration",
        one_ns(waitUntilReady={"timeout": "15 minutes"}),
        'backupns.yaml: namespaces.shop.waitUntilReady.timeout: "15 minutes" is not a valid '
        "duration (like 90s, 15m, 1h30m, or whole seconds)",
    ),
    (
        "duration-order",
        one_ns(lock={"timeout": "30m1h"}),
        'backupns.yaml: namespaces.shop.lock.timeout: "30m1h" is not a valid duration '
        "(like 90s, 15m, 1h30m, or whole seconds)",
    ),
    (
        "duration-zero",
        one_ns(lock={"timeout": "0s"}),
        'backupns.yaml: namespaces.shop.lock.timeout: "0s" is not a valid duration: must be '
        "longer than 0s",
    ),
    (
        "percentage",
        one_ns(thresholdSpaceUsedPercent=150),
        "backupns.yaml: namespaces.shop.thresholdSpaceUsedPercent: 150 is not a valid percentage "
        "(a whole number from 1 to 100)",
    ),
    (
        "percentage-string",
        one_ns(thresholdSpaceUsedPercent="ninety"),
        'backupns.yaml: namespaces.shop.thresholdSpaceUsedPercent: "ninety" is not a valid '
        "percentage (a whole number from 1 to 100)",
    ),
    (
        "exec-resource-kind",
        one_ns(database={"postgres": {"exec": "service/app-base"}}),
        'backupns.yaml: namespaces.shop.database.postgres.exec: "service/app-base" '
        "is not <type>/<name> with type deployment, statefulset, daemonset, replicaset, pod or job "
        "(also plural, or short: deploy, sts, ds, rs, po) and a Kubernetes name",
    ),
    (
        "exec-resource-name",
        one_ns(database={"mysql": {"exec": "statefulset/DB"}}),
        'backupns.yaml: namespaces.shop.database.mysql.exec: "statefulset/DB" '
        "is not <type>/<name> with type deployment, statefulset, daemonset, replicaset, pod or job "
        "(also plural, or short: deploy, sts, ds, rs, po) and a Kubernetes name",
    ),
    (
        "dump-path-relative",
        one_ns(database={"postgres": {"dumpFile": "dump.sql.gz"}}),
        'backupns.yaml: namespaces.shop.database.postgres.dumpFile: "dump.sql.gz" is not an '
        "absolute path (it must start with '/')",
    ),
    (
        "dump-path-dotdot",
        one_ns(database={"postgres": {"dumpFile": "/var/../etc/dump.gz"}}),
        'backupns.yaml: namespaces.shop.database.postgres.dumpFile: "/var/../etc/dump.gz" is not '
        "a valid absolute path (segments of letters, digits and ._@+=,- ; no '.' or '..' "
        "segments, no trailing '/')",
    ),
    (
        "lock-dir",
        one_ns(lock={"dir": "locks"}),
        'backupns.yaml: namespaces.shop.lock.dir: "locks" is not an absolute path '
        "(it must start with '/')",
    ),
    (
        "job-name-too-long-after-suffixes",
        one_ns(job={"name": "a" * 47}),
        f'backupns.yaml: namespaces.shop.job.name: "{"a" * 47}" is too long (at most 46 '
        "characters): its pods are named <name>-<up to 10 digits>-<5 characters> and the pod "
        "name becomes the backup-ns.sh/pod label value (at most 63 characters)",
    ),
    (
        "snapshot-name-after-expansion",
        one_ns(snapshotName="{pvc}_{date}"),
        'backupns.yaml: namespaces.shop.snapshotName: "{pvc}_{date}" gives '
        '"data_2026-01-01-000000" for PVC "data", which is not a valid VolumeSnapshot name '
        "(lowercase letters, digits, '-' and '.', at most 253 characters)",
    ),
    (
        "snapshot-name-too-long",
        yaml.safe_dump(
            {
                "namespaces": {
                    "n" * 63: {
                        "pvcs": ["p" * 63],
                        "snapshotName": "{namespace}-{pvc}-{namespace}-{pvc}-{date}-{rand}",
                    }
                }
            }
        ),
        f'backupns.yaml: namespaces.{"n" * 63}.snapshotName: "{{namespace}}-{{pvc}}-{{namespace}}'
        f'-{{pvc}}-{{date}}-{{rand}}" gives "{"n" * 63}-{"p" * 63}-{"n" * 63}-{"p" * 63}-'
        f'2026-01-01-000000-a1b2c3" for PVC "{"p" * 63}", which is not a valid VolumeSnapshot '
        "name (lowercase letters, digits, '-' and '.', at most 253 characters)",
    ),
    (
        "snapshot-name-placeholder",
        one_ns(snapshotName="{pvc}-{time}"),
        'backupns.yaml: namespaces.shop.snapshotName: "{pvc}-{time}" is not a valid snapshot name '
        "template: unknown placeholder {time} (use {namespace}, {pvc}, {date}, {rand}, {type})",
    ),
    (
        "snapshot-name-unique",
        one_ns(snapshotName="{pvc}-backup"),
        'backupns.yaml: namespaces.shop.snapshotName: "{pvc}-backup" is not a valid snapshot name '
        "template: it needs {date} or {rand} so that two runs do not produce the same name",
    ),
    (
        "type-label-value",
        one_ns(type="night ly"),
        'backupns.yaml: namespaces.shop.type: "night ly" is not a valid label value (letters, '
        "digits, '-', '_' and '.', starting and ending with a letter or digit, "
        "at most 63 characters)",
    ),
    (
        "pod-label-key",
        one_ns(job={"podLabels": {"bad key": "x"}}),
        'backupns.yaml: namespaces.shop.job.podLabels: "bad key" is not a valid label or '
        "annotation key ([prefix/]name; the name: letters, digits, '-', '_' and '.', "
        "at most 63 characters; the prefix: a DNS subdomain)",
    ),
    (
        "toleration-key",
        one_ns(job={"tolerations": [{"key": "bad key", "operator": "Exists"}]}),
        'backupns.yaml: namespaces.shop.job.tolerations[0].key: "bad key" is not a valid label or '
        "annotation key ([prefix/]name; the name: letters, digits, '-', '_' and '.', "
        "at most 63 characters; the prefix: a DNS subdomain)",
    ),
    (
        "lock-mode",
        one_ns(lock={"mode": "hostpath"}),
        'backupns.yaml: namespaces.shop.lock.mode: "hostpath" is not one of "lease", "flock" '
        'or "none"',
    ),
    (
        "lease-duration-range",
        one_ns(lock={"leaseDuration": "2s"}),
        'backupns.yaml: namespaces.shop.lock.leaseDuration: "2s" is out of range (5s to 60m): '
        "the holder renews its slot every third of it",
    ),
    (
        "flock-and-lock",
        one_ns(lock={"mode": "none"}, flock={"enabled": False}),
        "backupns.yaml: namespaces.shop.flock: is the old name of lock: keep only lock",
    ),
    (
        "flock-unknown-key-reported-under-lock",
        one_ns(flock={"enabled": True, "slot": 3}),
        'backupns.yaml: namespaces.shop.lock: unknown key "slot" (did you mean "slots"?)',
    ),
    (
        "lock-dir-overlaps-a-mount",
        one_ns(lock={"mode": "flock", "dir": "/tmp/locks"}),
        'backupns.yaml: namespaces.shop.lock.dir: "/tmp/locks" overlaps a mount the job '
        "already has (/opt/backup-ns, /tmp); pick another directory",
    ),
    (
        "deadline-shorter-than-waits",
        one_ns(job={"activeDeadlineSeconds": "1h"}, lock={"timeout": "50m"}),
        'backupns.yaml: namespaces.shop.job.activeDeadlineSeconds: "1h" is not longer than '
        "lock.timeout + waitUntilReady.timeout (3900s): Kubernetes would kill the job before "
        "the script can report a timeout",
    ),
    (
        "bool",
        one_ns(dryRun="yes"),
        'backupns.yaml: namespaces.shop.dryRun: "yes" is not true or false',
    ),
    (
        "int-not-coerced",
        one_ns(lock={"slots": "3"}),
        'backupns.yaml: namespaces.shop.lock.slots: "3" is not a whole number',
    ),
    (
        "int-range",
        one_ns(lock={"slots": 0}),
        "backupns.yaml: namespaces.shop.lock.slots: 0 is too small (at least 1)",
    ),
    (
        "enum",
        one_ns(retention={"mode": "weekly"}),
        'backupns.yaml: namespaces.shop.retention.mode: "weekly" is not one of '
        '"daily_weekly_monthly" or "days"',
    ),
    (
        "retention-days-required",
        one_ns(retention={"mode": "days"}),
        'backupns.yaml: namespaces.shop.retention.days: is required when mode is "days"',
    ),
    (
        "retention-days-not-allowed",
        one_ns(retention={"days": 3}),
        'backupns.yaml: namespaces.shop.retention.days: 3 is only allowed with mode "days"',
    ),
    (
        "pvcs-required",
        "namespaces: {shop: {}}",
        "backupns.yaml: namespaces.shop.pvcs: is required",
    ),
    (
        "pvcs-empty",
        one_ns(pvcs=[]),
        "backupns.yaml: namespaces.shop.pvcs: must have at least 1 item(s)",
    ),
    (
        "pvcs-twice",
        one_ns(pvcs=["data", "data"]),
        'backupns.yaml: namespaces.shop.pvcs[1]: "data" is listed twice',
    ),
    (
        "dump-pvc-not-listed",
        one_ns(database={"postgres": {"pvc": "other"}}),
        'backupns.yaml: namespaces.shop.database.postgres.pvc: "other" is not one of this '
        "namespace's pvcs (data)",
    ),
    (
        "two-databases",
        one_ns(database={"postgres": {}, "mysql": {}}),
        "backupns.yaml: namespaces.shop.database: has both postgres and mysql: a namespace's "
        "script dumps one database (keep the one whose data lives on these PVCs)",
    ),
    (
        "database-word",
        one_ns(database="postgres"),
        'backupns.yaml: namespaces.shop.database: "postgres" is not valid: use none or a mapping '
        "with postgres and/or mysql",
    ),
    (
        "password-is-a-name",
        one_ns(database={"postgres": {"passwordEnv": "${PGPASSWORD}"}}),
        'backupns.yaml: namespaces.shop.database.postgres.passwordEnv: "${PGPASSWORD}" is not '
        "valid: give the variable name only, like POSTGRES_PASSWORD",
    ),
    (
        "db-user-shell",
        one_ns(database={"postgres": {"user": "$(id)"}}),
        'backupns.yaml: namespaces.shop.database.postgres.user: "$(id)" is not a literal '
        "(letters, digits and _.@-, at most 63 characters, not starting with '-') or ${ENVVAR} "
        "expanded inside the database container",
    ),
    (
        "port",
        one_ns(database={"mysql": {"port": 70000}}),
        "backupns.yaml: namespaces.shop.database.mysql.port: 70000 is not a valid port "
        "(1 to 65535)",
    ),
    (
        "quantity",
        one_ns(job={"resources": {"requests": {"cpu": "lots"}}}),
        'backupns.yaml: namespaces.shop.job.resources.requests.cpu: "lots" is not a valid '
        "Kubernetes quantity (like 100m, 0.5, 64Mi, 1Gi)",
    ),
    (
        "image",
        one_ns(image="my image"),
        'backupns.yaml: namespaces.shop.image: "my image" is not a valid image reference '
        "(like registry/name:tag or name@sha256:...)",
    ),
    (
        "defaults-reported-at-defaults",
        "defaults: {lock: {slots: 0}, schedule: 'H 25 * * *'}\nnamespaces: {shop: {pvcs: [data]}}",
        "backupns.yaml: defaults.lock.slots: 0 is too small (at least 1)",
    ),
    (
        "controller-schedule",
        "namespaces: {shop: {pvcs: [data]}}\ncontroller: {schedules: {prune: 'H 3 * *'}}",
        'backupns.yaml: controller.schedules.prune: "H 3 * *" is not a valid schedule: expected 5 '
        "fields (minute hour day-of-month month day-of-week), got 4",
    ),
    (
        "controller-namespace",
        "namespaces: {shop: {pvcs: [data]}}\ncontroller: {namespace: Backup}",
        'backupns.yaml: controller.namespace: "Backup" is not a valid Kubernetes name '
        "(lowercase letters, digits and '-', at most 63 characters)",
    ),
    (
        "hook-command-string",
        one_ns(hooks={"pre": [{"exec": "deployment/redis", "command": "redis-cli BGSAVE"}]}),
        'backupns.yaml: namespaces.shop.hooks.pre[0].command: "redis-cli BGSAVE" is not a list '
        "of arguments: write the command as a list, like [redis-cli, BGSAVE] (for a shell, "
        'write [sh, -c, "..."] yourself)',
    ),
    (
        "hook-command-empty",
        one_ns(hooks={"post": [{"exec": "deployment/redis", "command": []}]}),
        "backupns.yaml: namespaces.shop.hooks.post[0].command: [] is empty: give at least the "
        "program to run, like [redis-cli, BGSAVE]",
    ),
    (
        "hook-command-empty-program",
        one_ns(hooks={"pre": [{"exec": "deployment/redis", "command": ["", "x"]}]}),
        'backupns.yaml: namespaces.shop.hooks.pre[0].command: "" is not a program: the first '
        "item of a command names the program",
    ),
    (
        "hook-command-item",
        one_ns(hooks={"pre": [{"exec": "deployment/redis", "command": ["sleep", True]}]}),
        "backupns.yaml: namespaces.shop.hooks.pre[0].command[1]: true is not a string "
        '(quote it: "...")',
    ),
    (
        "hook-command-nul",
        one_ns(hooks={"pre": [{"exec": "deployment/redis", "command": ["echo", "a\0b"]}]}),
        'backupns.yaml: namespaces.shop.hooks.pre[0].command[1]: "a\\u0000b" contains a NUL '
        "character, which no command argument can hold",
    ),
    (
        "hook-exec",
        one_ns(hooks={"pre": [{"exec": "redis", "command": ["true"]}]}),
        'backupns.yaml: namespaces.shop.hooks.pre[0].exec: "redis" '
        "is not <type>/<name> with type deployment, statefulset, daemonset, replicaset, pod or job "
        "(also plural, or short: deploy, sts, ds, rs, po) and a Kubernetes name",
    ),
    (
        "hook-exec-missing",
        one_ns(hooks={"pre": [{"command": ["true"]}]}),
        "backupns.yaml: namespaces.shop.hooks.pre[0].exec: is required",
    ),
    (
        "hook-on-error",
        one_ns(hooks={"post": [{"exec": "pod/x", "command": ["true"], "onError": "ignore"}]}),
        'backupns.yaml: namespaces.shop.hooks.post[0].onError: "ignore" is not one of "fail" '
        'or "continue"',
    ),
    (
        "hook-timeout",
        one_ns(hooks={"pre": [{"exec": "pod/x", "command": ["true"], "timeout": "soon"}]}),
        'backupns.yaml: namespaces.shop.hooks.pre[0].timeout: "soon" is not a valid duration '
        "(like 90s, 15m, 1h30m, or whole seconds)",
    ),
    (
        "hook-unknown-key",
        one_ns(hooks={"pre": [{"exec": "pod/x", "cmd": ["true"]}]}),
        'backupns.yaml: namespaces.shop.hooks.pre[0]: unknown key "cmd" (did you mean "command"?)',
    ),
    (
        "hook-phase",
        one_ns(hooks={"during": []}),
        'backupns.yaml: namespaces.shop.hooks: unknown key "during" (allowed: pre, post)',
    ),
    (
        "hook-pvc-unknown",
        one_ns(hooks={"pre": [{"exec": "pod/x", "command": ["true"], "pvcs": ["logs"]}]}),
        'backupns.yaml: namespaces.shop.hooks.pre[0].pvcs[0]: "logs" is not one of this '
        "namespace's pvcs (data)",
    ),
    (
        "hook-pvc-twice",
        one_ns(hooks={"pre": [{"exec": "pod/x", "command": ["true"], "pvcs": ["data", "data"]}]}),
        'backupns.yaml: namespaces.shop.hooks.pre[0].pvcs[1]: "data" is listed twice',
    ),
    (
        "hook-timeouts-deadline",
        one_ns(
            flock={"enabled": False},
            job={"activeDeadlineSeconds": "20m"},
            hooks={"pre": [{"exec": "pod/x", "command": ["true"], "timeout": "10m"}]},
        ),
        'backupns.yaml: namespaces.shop.job.activeDeadlineSeconds: "20m" is not longer than '
        "lock.timeout + waitUntilReady.timeout + the hooks' timeouts (1500s): Kubernetes "
        "would kill the job before the script can report a timeout",
    ),
    (
        "namespaces-missing",
        "defaults: {}",
        "backupns.yaml: namespaces: is required (a mapping of namespace name to settings)",
    ),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_error_text(text: str, expected: str) -> None:
    assert errors(text) == [expected]


def test_every_problem_is_reported_one_line_each() -> None:
    lines = errors("namespaces:\n  a: {pvcs: [X]}\n  b: {pvcs: [data], timeZone: Nowhere}\n")
    assert lines == [
        'backupns.yaml: namespaces.a.pvcs[0]: "X" is not a valid Kubernetes name '
        "(lowercase letters, digits, '-' and '.', at most 63 characters)",
        'backupns.yaml: namespaces.b.timeZone: "Nowhere" is not a valid IANA time zone '
        "(like UTC or Europe/Vienna)",
    ]


SIX_PROBLEMS = """\
defaults:
  schedul: "H 1 * * *"
  thresholdSpaceUsedPercent: 120
namespaces:
  shop:
    pvcs: [data]
    retenton: {mode: days}
    lock: {slots: 0}
  Blog:
    pvcs: [data]
controller:
  namespace: backup-ns
  kep: {daily: 7}
"""


def test_unknown_keys_are_reported_together_with_every_other_problem() -> None:
    assert errors(SIX_PROBLEMS) == [
        'backupns.yaml: defaults: unknown key "schedul" (did you mean "schedule"?)',
        "backupns.yaml: defaults.thresholdSpaceUsedPercent: 120 is not a valid percentage "
        "(a whole number from 1 to 100)",
        'backupns.yaml: namespaces: "Blog" is not a valid Kubernetes name (lowercase letters, '
        "digits and '-', at most 63 characters)",
        'backupns.yaml: namespaces.shop: unknown key "retenton" (did you mean "retention"?)',
        "backupns.yaml: namespaces.shop.lock.slots: 0 is too small (at least 1)",
        'backupns.yaml: controller: unknown key "kep" (did you mean "keep"?)',
    ]


def test_every_unknown_key_of_a_mapping_beside_its_wrong_values() -> None:
    assert errors(one_ns(lock={"mode": "lease", "slot": 2, "timout": "1h", "timeout": "x"})) == [
        'backupns.yaml: namespaces.shop.lock: unknown key "slot" (did you mean "slots"?)',
        'backupns.yaml: namespaces.shop.lock: unknown key "timout" (did you mean "timeout"?)',
        'backupns.yaml: namespaces.shop.lock.timeout: "x" is not a valid duration '
        "(like 90s, 15m, 1h30m, or whole seconds)",
    ]


def test_a_problem_in_defaults_is_reported_once_not_per_namespace() -> None:
    text = (
        "defaults: {timeZone: Nowhere, schedul: x}\n"
        "namespaces:\n  a: {pvcs: [data]}\n  b: {pvcs: [X]}\n"
    )
    assert errors(text) == [
        'backupns.yaml: defaults: unknown key "schedul" (did you mean "schedule"?)',
        'backupns.yaml: defaults.timeZone: "Nowhere" is not a valid IANA time zone '
        "(like UTC or Europe/Vienna)",
        'backupns.yaml: namespaces.b.pvcs[0]: "X" is not a valid Kubernetes name '
        "(lowercase letters, digits, '-' and '.', at most 63 characters)",
    ]


def test_unknown_top_level_keys_beside_the_rest() -> None:
    assert errors("namespace: {}\nnamespaces: {shop: {pvcs: [X]}}\n") == [
        'backupns.yaml: unknown key "namespace" (did you mean "namespaces"?)',
        'backupns.yaml: namespaces.shop.pvcs[0]: "X" is not a valid Kubernetes name '
        "(lowercase letters, digits, '-' and '.', at most 63 characters)",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "namespaces:\n  shop:\n    pvcs: [data\n    schedule: x\n",
            "line 3, column 11: the [ here is not closed: did not find expected ',' or ']' "
            "(noticed at line 4, column 13)",
        ),
        (
            'namespaces:\n  shop:\n    pvcs: [data]\n    schedule: "x\n  other: {}\n',
            "line 4, column 15: the quote here is not closed: found unexpected end of stream "
            "(noticed at line 6, column 1)",
        ),
        (
            'namespaces:\n  shop:\n    pvcs: [data]\n    schedule "x"\n    lock: {}\n',
            "line 4, column 5: the key here has no ':' after it: could not find expected ':' "
            "(noticed at line 5, column 5)",
        ),
        (
            "namespaces:\n  shop:\n    pvcs: [data]\n   schedule: x\n",
            "line 4, column 4: did not find expected key (while parsing a block mapping)",
        ),
    ],
    ids=["flow-sequence", "quote", "missing-colon", "indentation"],
)
def test_yaml_syntax_errors_point_at_the_line_of_the_mistake(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, expected: str
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("backupns.yaml").write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(Path("backupns.yaml"))
    assert info.value.lines() == [f"backupns.yaml: {expected}"]


def test_yaml_syntax_error_has_line_and_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("backupns.yaml").write_text("namespaces:\n  shop: {pvcs: [data]\n")
    with pytest.raises(ConfigError) as info:
        load_config(Path("backupns.yaml"))
    assert info.value.lines() == [
        "backupns.yaml: line 2, column 9: the { here is not closed: did not find expected "
        "',' or '}' (noticed at line 3, column 1)"
    ]


def test_duplicate_key_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("backupns.yaml").write_text(
        "namespaces:\n  shop: {pvcs: [data]}\n  shop: {pvcs: [www]}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(Path("backupns.yaml"))
    assert info.value.lines() == [
        'backupns.yaml: line 3, column 3: duplicate key "shop" (first defined on line 2)'
    ]


def test_errors_name_the_file_by_the_path_as_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("sub").mkdir()
    Path("sub/backupns.yaml").write_text("namespaces: {shop: {pvcs: [data], schedul: x}}\n")
    with pytest.raises(ConfigError) as info:
        load_config(Path("sub/backupns.yaml"))
    assert info.value.lines() == [
        'sub/backupns.yaml: namespaces.shop: unknown key "schedul" (did you mean "schedule"?)'
    ]
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "sub" / "backupns.yaml")
    assert info.value.lines()[0].startswith(f"{tmp_path}/sub/backupns.yaml: namespaces.shop: ")


def test_the_generated_header_names_the_base_name_wherever_the_file_is(
    tmp_path: Path,
) -> None:
    config = tmp_path / "sub" / "mine.yaml"
    config.parent.mkdir()
    config.write_text("namespaces: {shop: {pvcs: [data]}}\n")
    assert load_config(config).source_name == "mine.yaml"


def test_hooks_defaults_and_merge() -> None:
    """onError defaults differ per phase; a namespace's list replaces the defaults' list."""
    config = parse_config(
        yaml.safe_load(
            """
defaults:
  hooks:
    pre: [{exec: deployment/redis, command: [redis-cli, -p, 6379, BGSAVE]}]
    post: [{exec: deployment/redis, command: ["true"]}]
namespaces:
  a: {pvcs: [data]}
  b: {pvcs: [data], hooks: {pre: []}}
"""
        )
    )
    a, b = config.namespaces["a"].hooks, config.namespaces["b"].hooks
    assert [h.command for h in a.pre] == [["redis-cli", "-p", "6379", "BGSAVE"]]
    assert (a.pre[0].on_error, a.pre[0].timeout, a.pre[0].container, a.pre[0].pvcs) == (
        "fail",
        "5m",
        None,
        None,
    )
    assert a.post[0].on_error == "continue"
    assert b.pre == [] and b.post == a.post


def test_default_lock_is_lease() -> None:
    lock = parse_config(yaml.safe_load(one_ns())).namespaces["shop"].lock
    assert (lock.mode, lock.slots, lock.timeout, lock.lease_duration) == ("lease", 2, "1h", "1m")
