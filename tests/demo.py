"""The deployed path in one command, no cluster needed: ``python -m tests.demo``.

Starts kubesim (``--tls``: tokens and RBAC) and a PostgreSQL server, seeds namespace
``shop-prod`` with a PVC, a ``deployment/app-base`` whose ``postgres`` container
reaches that server, and a table with rows; renders examples/backupns.yaml (the
database address set to the demo server), applies the cluster role and shop-prod's
manifests with kubectl, runs the CronJob's Job (``kubectl create job --from``), shows
``kubectl get volumesnapshots`` and the Job's log, then restores the snapshot into a
new PVC and reads the rows back from the dump in it (a Job that mounts the PVC);
stops everything it started. Exit status 0 only if every step worked.

The default VolumeSnapshotClass retains a deleted snapshot's data (``deletionPolicy:
Retain``), as a cluster needs for the deleted-namespace runbook (docs/runbook.md).

``--keep`` leaves kubesim and PostgreSQL running at the end and prints how to use them:
where the rendered scripts are, the kubectl environment, the ``psql`` command that
reaches the database (its password in a 0600 file, not on the screen), how to stop them.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from kubesim.fixture import KubeSim
from tests import deployed
from tests.dbs import DbServer, start

NS = "shop-prod"
ROWS = 5
SNAPSHOT_CLASS = "csi-hostpath-snapclass"
"""kubesim's default VolumeSnapshotClass."""


def say(text: str) -> None:
    print(f"\n==> {text}", flush=True)


def kubectl(sim: KubeSim, *args: str, input: str | None = None, show: bool = True) -> str:
    if show:
        print(f"$ kubectl {shlex.join(args)}", flush=True)
    cp = sim.kubectl(*args, input=input)
    if cp.returncode != 0:
        raise SystemExit(f"demo: kubectl {' '.join(args)} failed:\n{cp.stdout}{cp.stderr}")
    if show and cp.stdout:
        print(cp.stdout, end="" if cp.stdout.endswith("\n") else "\n", flush=True)
    return cp.stdout


def wait(sim: KubeSim, job: str) -> None:
    kubectl(sim, "-n", NS, "wait", "--for=condition=complete", job, "--timeout=120s")


def restore_objects(snapshot: str) -> list[dict[str, Any]]:
    """A PVC from the snapshot and a Job that prints the rows of the dump in it."""
    pvc = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "restored", "namespace": NS},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}},
            "dataSource": {
                "apiGroup": "snapshot.storage.k8s.io",
                "kind": "VolumeSnapshot",
                "name": snapshot,
            },
        },
    }
    script = "gunzip -c /restored/dump.sql.gz | sed -n '/^COPY public.orders /,/^\\\\\\.$/p'"
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "show-rows", "namespace": NS},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": "show",
                            "image": "docker.io/library/busybox:1.36",
                            "command": ["/bin/sh", "-c", script],
                            "volumeMounts": [{"name": "data", "mountPath": "/restored"}],
                        }
                    ],
                    "volumes": [
                        {"name": "data", "persistentVolumeClaim": {"claimName": "restored"}}
                    ],
                }
            },
        },
    }
    return [pvc, job]


def print_keep(sim: KubeSim, pg: DbServer, tmp: Path, out: Path) -> None:
    """Where everything is, for --keep: scripts, kubectl, the database, how to stop."""
    pid = sim.proc.pid if sim.proc else 0
    pgpass = tmp / "pgpass"
    pgpass.touch(mode=0o600)
    pgpass.write_text(f"{pg.host}:{pg.port}:*:{pg.user}:{pg.password}\n")
    print(f"kubesim (pid {pid}) and PostgreSQL keep running.")
    print(f"  the rendered scripts and manifests: {out}/")
    print("  kubectl and the scripts (the admin context):")
    print(f"    export KUBECONFIG={sim.kubeconfig} KUBECACHEDIR={tmp / 'cache'}")
    print(f"    {out}/namespaces/{NS}/backup-ns.sh list")
    print(f"  the database (the password is in {pgpass}):")
    print(f"    PGPASSFILE={pgpass} psql -h {pg.host} -p {pg.port} -U {pg.user} shop")
    print(f"  stop them: kill {pid}; python -m tests.dbs stop {pg.base_dir}; rm -rf {tmp}")


def run(tmp: Path, keep: bool) -> int:
    t0 = time.monotonic()
    say("starting kubesim (TLS, RBAC) and PostgreSQL")
    sim = KubeSim(tmp / "kubesim", tls=True, args=["--snapshot-ready-delay", "1"]).start()
    pg: DbServer | None = None
    try:
        pg = start("postgres", None if keep else os.getpid())
        print(f"kubesim {sim.url}, PostgreSQL {pg.host}:{pg.port}")

        say("the default VolumeSnapshotClass keeps a deleted snapshot's data (Retain)")
        kubectl(sim, "patch", "volumesnapshotclass", SNAPSHOT_CLASS, "--type=merge",
                "-p", '{"deletionPolicy":"Retain"}')  # fmt: skip

        say(f"seeding namespace {NS}: PVC data, deployment/app-base (postgres), {ROWS} orders")
        deployed.seed_databases(pg, None, rows=ROWS)
        deployed.apply_objects(sim, deployed.volumes({NS: ["data"]}))
        deployed.apply_objects(sim, [deployed.postgres_workload(NS, pg, "shop")])
        print(pg.sql("SELECT id, item FROM orders ORDER BY id;", "shop"), end="")

        say("rendering examples/backupns.yaml and applying it")
        out = deployed.render_example(tmp / "example", pg, None)
        print(f"$ backupns-gen render -c {tmp / 'example' / 'backupns.yaml'} -o {out}")
        # the cluster pieces: ClusterRoles, and the controller namespace with the backup
        # slots' Role and RoleBinding backup-ns-slots (the namespace's jobs take Leases there)
        kubectl(sim, "apply", "-f", str(out / "cluster"))
        kubectl(sim, "apply", "-f", str(out / "namespaces" / NS / "manifests.yaml"))

        say("running the CronJob's Job now (the pod runs backup-ns.sh as ServiceAccount backup-ns)")
        kubectl(sim, "-n", NS, "create", "job", "--from=cronjob/backup-ns", "backup-now")
        wait(sim, "job/backup-now")
        kubectl(sim, "-n", NS, "get", "volumesnapshots")
        say("the Job's log")
        kubectl(sim, "-n", NS, "logs", "job/backup-now")
        kubectl(sim, "-n", NS, "get", "events", "--field-selector", "reason=BackupCreated")

        say("restoring the snapshot into a new PVC and reading the rows from its dump")
        (snapshot,) = [vs["metadata"]["name"] for vs in deployed.snapshots(sim, NS)]
        pg.sql("DELETE FROM orders;", "shop")
        print("(the table is emptied first: the rows below come from the snapshot)")
        deployed.apply_objects(sim, restore_objects(snapshot))
        wait(sim, "job/show-rows")
        rows = kubectl(sim, "-n", NS, "logs", "job/show-rows")
        if len(rows.splitlines()) != ROWS + 2:  # COPY ... FROM stdin; the rows; \.
            print(f"demo: expected {ROWS} rows in the restored dump", file=sys.stderr)
            return 1
        say(f"done in {time.monotonic() - t0:.0f}s")
        if keep:
            print_keep(sim, pg, tmp, out)
        return 0
    finally:
        if not keep:
            sim.stop()
            if pg is not None:
                pg.stop()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.demo", description=__doc__.split("\n\n")[0])
    p.add_argument("--keep", action="store_true", help="leave kubesim and PostgreSQL running")
    args = p.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="backupns-demo-"))
    os.chmod(tmp, 0o755)
    try:
        return run(tmp, args.keep)
    except KeyboardInterrupt:
        return 130
    finally:
        if not args.keep:
            subprocess.run(["rm", "-rf", str(tmp)], check=False)


if __name__ == "__main__":
    sys.exit(main())
