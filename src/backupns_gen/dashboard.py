"""The Grafana dashboard of out/monitoring/ (a ConfigMap Grafana's dashboard sidecar picks
up): last backup age per namespace against its threshold, failures, dump sizes and
durations over time, ready snapshots per PVC. Built as data and written as sorted JSON, so
it is valid JSON and byte-stable; its queries read the series the rules and
kube-state-metrics' config make.
"""

from __future__ import annotations

import json
from typing import Any

NS = 'namespace=~"$namespace"'
PANELS: tuple[tuple[str, str, str, str, tuple[tuple[str, str], ...]], ...] = (
    (
        "Last successful backup age",
        "timeseries",
        "s",
        "Time since each namespace's last successful backup, and its threshold: BackupMissing "
        "fires above it.",
        (
            (
                "time() - max by (namespace, cronjob) ("
                f"kube_cronjob_status_last_successful_time{{{NS}}} "
                f"or kube_cronjob_created{{{NS}}}) "
                f"and on (namespace, cronjob) backupns:backup_max_age_seconds{{{NS}}}",
                "{{namespace}}",
            ),
            (
                f"max by (namespace) (backupns:backup_max_age_seconds{{{NS}}})",
                "{{namespace}} threshold",
            ),
        ),
    ),
    (
        "Backup alerts firing",
        "timeseries",
        "none",
        "The backup-ns alerts firing, per alert.",
        (
            (
                'count by (alertname) (ALERTS{alertstate="firing", alertname=~"Backup.*|'
                'Retention.*|SnapshotNotReady|DeletePolicyAtRisk"})',
                "{{alertname}}",
            ),
        ),
    ),
    (
        "Dump size",
        "timeseries",
        "bytes",
        "Size of the database dump in each namespace's newest snapshot holding one.",
        (
            (
                f"max by (namespace, pvc) (backupns_volumesnapshot_dump_size_bytes{{{NS}}} "
                "and on (namespace, volumesnapshot) topk by (namespace, pvc) (1, "
                f"backupns_volumesnapshot_created_time_seconds{{{NS}}} and on (namespace, "
                "volumesnapshot) backupns_volumesnapshot_dump_size_bytes))",
                "{{namespace}}/{{pvc}}",
            ),
        ),
    ),
    (
        "Dump duration",
        "timeseries",
        "s",
        "How long the database dump of each namespace's newest snapshot holding one took.",
        (
            (
                f"max by (namespace, pvc) (backupns_volumesnapshot_dump_duration_seconds{{{NS}}} "
                "and on (namespace, volumesnapshot) topk by (namespace, pvc) (1, "
                f"backupns_volumesnapshot_created_time_seconds{{{NS}}} and on (namespace, "
                "volumesnapshot) backupns_volumesnapshot_dump_duration_seconds))",
                "{{namespace}}/{{pvc}}",
            ),
        ),
    ),
    (
        "Ready snapshots per PVC",
        "timeseries",
        "none",
        "Ready managed snapshots per PVC (retained copies).",
        ((f"backupns:snapshots_ready:count{{{NS}}}", "{{namespace}}/{{pvc}}"),),
    ),
    (
        "Not ready snapshots",
        "timeseries",
        "none",
        "Managed snapshots not readyToUse (being cut, or failed).",
        (
            (
                f'count by (namespace, pvc) (backupns_volumesnapshot_ready{{{NS}, type!=""}} == 0)',
                "{{namespace}}/{{pvc}}",
            ),
        ),
    ),
)


def queries() -> list[str]:
    """Every PromQL expression of the dashboard (with $namespace as a regex)."""
    return [expr for *_, targets in PANELS for expr, _ in targets]


def dashboard() -> dict[str, Any]:
    panels = []
    for i, (title, kind, unit, description, targets) in enumerate(PANELS):
        panels.append(
            {
                "id": i + 1,
                "type": kind,
                "title": title,
                "description": description,
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "gridPos": {"h": 8, "w": 12, "x": 12 * (i % 2), "y": 8 * (i // 2)},
                "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                "targets": [
                    {"refId": chr(ord("A") + j), "expr": expr, "legendFormat": legend}
                    for j, (expr, legend) in enumerate(targets)
                ],
            }
        )
    return {
        "title": "backup-ns",
        "uid": "backup-ns",
        "description": "Namespace backups: last success, failures, dumps, snapshots.",
        "editable": True,
        "schemaVersion": 39,
        "tags": ["backup-ns"],
        "time": {"from": "now-7d", "to": "now"},
        "refresh": "5m",
        "templating": {
            "list": [
                {"name": "datasource", "type": "datasource", "query": "prometheus"},
                {
                    "name": "namespace",
                    "type": "query",
                    "datasource": {"type": "prometheus", "uid": "${datasource}"},
                    "query": "label_values(backupns:backup_max_age_seconds, namespace)",
                    "multi": True,
                    "includeAll": True,
                    "allValue": ".*",
                    "refresh": 2,
                },
            ]
        },
        "panels": panels,
    }


def dashboard_json() -> str:
    """The dashboard as JSON: sorted keys, two-space indent, a final newline."""
    return json.dumps(dashboard(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
