"""Kubernetes objects the benchmarks seed: the database workload the rendered script
execs into (``deployment/app-base``, container ``postgres``) and its PVC."""

from __future__ import annotations

from typing import Any

PG_MOUNT = "/var/lib/postgresql/data"


def pvc(ns: str, size: str = "1Gi") -> dict[str, Any]:
    """PersistentVolumeClaim ``data`` of ``ns``."""
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "namespace": ns},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}},
    }


def app_base(ns: str, user: str, password: str, database: str) -> dict[str, Any]:
    """Deployment ``app-base`` of ``ns``: one container ``postgres`` whose environment
    holds the database credentials (as the application's own would), PVC ``data``
    mounted at PG_MOUNT (where the dump file goes)."""
    env = [
        {"name": "POSTGRES_USER", "value": user},
        {"name": "POSTGRES_PASSWORD", "value": password},
        {"name": "POSTGRES_DB", "value": database},
    ]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "app-base", "namespace": ns},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "app-base"}},
            "template": {
                "metadata": {"labels": {"app": "app-base"}},
                "spec": {
                    "containers": [
                        {
                            "name": "postgres",
                            "image": "docker.io/library/postgres:15",
                            "env": env,
                            "volumeMounts": [{"name": "data", "mountPath": PG_MOUNT}],
                        }
                    ],
                    "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}],
                },
            },
        },
    }
