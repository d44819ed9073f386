"""The deployed path on kubesim: the example's tenants seeded, out/ applied, a Job run.

Used by tests/script/test_jobs.py and the demo (``python -m tests.demo``).

The tenants are those of examples/backupns.yaml: ``shop-prod`` (PostgreSQL behind
``deployment/app-base``, container ``postgres``), ``blog`` (MariaDB behind
``statefulset/wordpress-db``, container ``mariadb``) and ``static-site`` (no
database). ``render_example`` renders the example with one change: the databases'
``host``/``port`` are those of the test servers (on a cluster the database listens
in its own pod on the default port; here the servers share this machine's network).
Passwords go to kubectl on stdin only.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from kubesim.fixture import KubeSim, KubeSimError
from tests.dbs import DbServer

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "out"
TENANTS = {"shop-prod": ["data"], "blog": ["data", "uploads"], "static-site": ["www"]}
JOB_TIMEOUT = 120.0
GEN = shutil.which("backupns-gen") or str(Path(sys.executable).with_name("backupns-gen"))


def render_example(dest: Path, pg: DbServer, my: DbServer | None) -> Path:
    """examples/backupns.yaml with the test servers' addresses, rendered into dest/out."""
    cfg = yaml.safe_load((ROOT / "examples" / "backupns.yaml").read_text())
    for entry in cfg["namespaces"].values():
        db = entry.get("database")
        if isinstance(db, dict) and "postgres" in db:
            db["postgres"].update(host=pg.host, port=pg.port)
        if isinstance(db, dict) and "mysql" in db and my is not None:
            db["mysql"].update(host=my.host, port=my.port)
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "backupns.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    out = dest / "out"
    cp = subprocess.run(
        [GEN, "render", "--no-lint", "-c", str(dest / "backupns.yaml"), "-o", str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if cp.returncode != 0:
        raise RuntimeError(f"backupns-gen render failed: {cp.stderr}")
    return out


def _env_items(env: dict[str, str]) -> list[dict[str, str]]:
    return [{"name": k, "value": v} for k, v in env.items()]


def _workload(kind: str, name: str, ns: str, container: str, pvc: str, mount: str,
              env: dict[str, str]) -> dict[str, Any]:  # fmt: skip
    spec: dict[str, Any] = {
        "replicas": 1,
        "selector": {"matchLabels": {"app": name}},
        "template": {
            "metadata": {"labels": {"app": name}},
            "spec": {
                "containers": [
                    {
                        "name": container,
                        "image": f"docker.io/library/{container}:latest",
                        "env": _env_items(env),
                        "volumeMounts": [{"name": "data", "mountPath": mount}],
                    }
                ],
                "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": pvc}}],
            },
        },
    }
    if kind == "StatefulSet":
        spec["serviceName"] = name
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "namespace": ns},
            "spec": spec}  # fmt: skip


def apply_objects(sim: KubeSim, objects: list[dict[str, Any]]) -> None:
    text = yaml.safe_dump_all(objects, sort_keys=False)
    sim.kubectl("apply", "-f", "-", input=text, check=True)


def volumes(tenants: dict[str, list[str]]) -> list[dict[str, Any]]:
    objs: list[dict[str, Any]] = []
    for ns, pvcs in tenants.items():
        objs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        for pvc in pvcs:
            objs.append({
                "apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": {"name": pvc, "namespace": ns},
                "spec": {"accessModes": ["ReadWriteOnce"],
                         "resources": {"requests": {"storage": "1Gi"}}},
            })  # fmt: skip
    return objs


def postgres_workload(ns: str, pg: DbServer, db: str) -> dict[str, Any]:
    env = {"POSTGRES_USER": pg.user, "POSTGRES_PASSWORD": pg.password, "POSTGRES_DB": db}
    return _workload(
        "Deployment", "app-base", ns, "postgres", "data", "/var/lib/postgresql/data", env
    )


def mariadb_workload(ns: str, my: DbServer, db: str) -> dict[str, Any]:
    env = {"MYSQL_ROOT_PASSWORD": my.password, "MYSQL_DATABASE": db}
    return _workload("StatefulSet", "wordpress-db", ns, "mariadb", "data", "/var/lib/mysql", env)


def web_workload(ns: str, name: str, pvc: str, mount: str) -> dict[str, Any]:
    """A Deployment NAME whose container nginx mounts PVC at MOUNT (no database)."""
    return _workload("Deployment", name, ns, "nginx", pvc, mount, {})


def seed_databases(pg: DbServer, my: DbServer | None, rows: int = 3) -> None:
    pg.create_database("shop")
    pg.sql(
        "CREATE TABLE orders (id int PRIMARY KEY, item text NOT NULL);"
        f"INSERT INTO orders SELECT g, 'order ' || g FROM generate_series(1, {rows}) g;",
        "shop",
    )
    if my is not None:
        my.create_database("blog")
        my.sql("CREATE TABLE posts (id int PRIMARY KEY, title text);"
               "INSERT INTO posts VALUES (1, 'hello'), (2, 'world');", "blog")  # fmt: skip


def seed_example(sim: KubeSim, pg: DbServer, my: DbServer) -> None:
    """The example's three tenants: namespaces, PVCs, database workloads and rows."""
    seed_databases(pg, my)
    apply_objects(sim, volumes(TENANTS))
    apply_objects(sim, [postgres_workload("shop-prod", pg, "shop"),
                        mariadb_workload("blog", my, "blog")])  # fmt: skip


def apply_out(sim: KubeSim, out: Path = OUT) -> None:
    sim.kubectl("apply", "-R", "-f", str(out), check=True)


def job(sim: KubeSim, ns: str, name: str) -> dict[str, Any] | None:
    got: dict[str, Any] | None = sim.api(f"/apis/batch/v1/namespaces/{ns}/jobs/{name}")
    return got


def job_state(obj: dict[str, Any] | None) -> str:
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") in ("Complete", "Failed") and c.get("status") == "True":
            return str(c["type"])
    return ""


def wait_job(sim: KubeSim, ns: str, name: str, timeout: float = JOB_TIMEOUT) -> dict[str, Any]:
    """Poll until the Job is Complete or Failed; the Job."""
    deadline = time.monotonic() + timeout
    while True:
        obj = job(sim, ns, name)
        if job_state(obj):
            assert obj is not None
            return obj
        if time.monotonic() > deadline:
            raise KubeSimError(f"job {ns}/{name} not finished after {timeout}s: {obj}")
        time.sleep(0.2)


def job_pods(sim: KubeSim, ns: str, name: str) -> list[dict[str, Any]]:
    got = sim.api(
        f"/api/v1/namespaces/{ns}/pods?labelSelector=batch.kubernetes.io%2Fjob-name%3D{name}"
    )
    return sorted((got or {}).get("items") or [], key=lambda p: p["metadata"]["creationTimestamp"])


def run_now(sim: KubeSim, ns: str, name: str = "now", cronjob: str = "backup-ns") -> None:
    sim.kubectl("-n", ns, "create", "job", f"--from=cronjob/{cronjob}", name, check=True)


def logs(sim: KubeSim, ns: str, target: str, *extra: str) -> str:
    cp = sim.kubectl("-n", ns, "logs", target, *extra)
    if cp.returncode != 0:
        raise KubeSimError(f"kubectl logs {target}: {cp.stderr}")
    return cp.stdout


def snapshots(sim: KubeSim, ns: str) -> list[dict[str, Any]]:
    got = sim.api(f"/apis/snapshot.storage.k8s.io/v1/namespaces/{ns}/volumesnapshots")
    return list((got or {}).get("items") or [])
