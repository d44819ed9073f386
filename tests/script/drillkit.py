"""The restore drill's test setup: a rendered config whose namespaces dump a real
PostgreSQL 15 / MariaDB behind ``kubectl exec`` into kubesim, run ``create`` and
``verify``, and read back the snapshot's result.

kubesim's exec runs as root (its seeded workloads have no image user), so a dump it
writes is root's; a real database container writes it as its own uid, which the drill
pod runs as. ``own_snapshot`` gives the stored snapshot's files to that uid, as they
would be (kubesim's snapshot and restore copies keep owners).
"""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kubesim.fixture import KubeSim
from tests import deployed
from tests.dbs import DbServer

PG_NS, MY_NS, FILES_NS = "drill-pg", "drill-my", "drill-files"
PG_DUMP = "/var/lib/postgresql/data/dump.sql.gz"
MY_DUMP = "/var/lib/mysql/dump.sql.gz"
PG_UID = pwd.getpwnam("postgres").pw_uid
MY_UID = pwd.getpwnam("mysql").pw_uid
WHEN = "2026-05-04T10:00:00Z"
VS_RE = r"data-2026-05-04-100000-[a-z0-9]+"


def config(pg: DbServer, my: DbServer | None, checks: dict[str, list[str]] | None = None,
           count_limit: int | None = None,
           files_command: list[str] | None = None) -> dict[str, Any]:  # fmt: skip
    """The drills' backupns.yaml: one namespace per database kind and one of files."""
    checks = checks or {}

    def verify(ns: str, uid: int) -> dict[str, Any]:
        v: dict[str, Any] = {"runAsUser": uid, "timeout": "3m", "checks": checks.get(ns, [])}
        if count_limit is not None:
            v["countLimit"] = count_limit
        return v

    nss: dict[str, Any] = {
        PG_NS: {
            "pvcs": ["data", "other"],
            "database": {"postgres": {"exec": "deployment/app-base", "container": "postgres",
                                      "host": pg.host, "port": pg.port, "dumpFile": PG_DUMP}},
            "verify": verify(PG_NS, PG_UID),
        },
        FILES_NS: {"pvcs": ["www"], "database": "none"},
    }  # fmt: skip
    if files_command:
        nss[FILES_NS]["verify"] = {"command": files_command}
    if my is not None:
        nss[MY_NS] = {
            "pvcs": ["data"],
            "database": {"mysql": {"exec": "statefulset/wordpress-db", "container": "mariadb",
                                   "host": my.host, "port": my.port, "dumpFile": MY_DUMP}},
            "verify": verify(MY_NS, MY_UID),
        }  # fmt: skip
    return {
        "defaults": {"timeZone": "UTC", "lock": {"mode": "none"},
                     "waitUntilReady": {"enabled": True, "timeout": "1m"}},
        "namespaces": nss,
        "controller": {"namespace": "backup-ns"},
    }  # fmt: skip


def render(dest: Path, cfg: dict[str, Any]) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "backupns.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    cp = subprocess.run(
        [deployed.GEN, "render", "--no-lint", "-c", str(dest / "backupns.yaml"), "-o",
         str(dest / "out")], capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert cp.returncode == 0, cp.stderr
    return dest / "out"


def seed(sim: KubeSim, pg: DbServer, my: DbServer | None, pg_db: str, my_db: str = "") -> None:
    """The namespaces, their PVCs and the database workloads (pointing at pg_db/my_db)."""
    tenants = {PG_NS: ["data", "other"], FILES_NS: ["www"]}
    if my is not None:
        tenants[MY_NS] = ["data"]
    deployed.apply_objects(sim, deployed.volumes(tenants))
    objs = [deployed.postgres_workload(PG_NS, pg, pg_db)]
    if my is not None:
        objs.append(deployed.mariadb_workload(MY_NS, my, my_db))
    deployed.apply_objects(sim, objs)


@dataclass
class Run:
    code: int
    out: str
    err: str


def start(out: Path, ns: str, *args: str, sim: KubeSim, tmp: Path,
          **env: str) -> subprocess.Popen[str]:  # fmt: skip
    """NS's rendered script with ARGS (TMPDIR: tmp/work, BAK_NOW: WHEN, env added)."""
    full = sim.env(tmp)
    work = tmp / "work"
    work.mkdir(exist_ok=True)
    full.update({"NO_COLOR": "1", "TMPDIR": str(work), "BAK_NOW": WHEN, "BAK_VS_RAND": "e2e001"})
    full.update(env)
    return subprocess.Popen(["bash", str(out / "namespaces" / ns / "backup-ns.sh"), *args],
                            env=full, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip


def script(out: Path, ns: str, *args: str, sim: KubeSim, tmp: Path, **env: str) -> Run:
    proc = start(out, ns, *args, sim=sim, tmp=tmp, **env)
    got, err = proc.communicate(timeout=600)
    return Run(proc.returncode, got, err)


def vs(sim: KubeSim, ns: str, name: str) -> dict[str, Any]:
    got: dict[str, Any] = sim.api(
        f"/apis/snapshot.storage.k8s.io/v1/namespaces/{ns}/volumesnapshots/{name}"
    )
    return got


def annotations(sim: KubeSim, ns: str, name: str) -> dict[str, str]:
    return dict(vs(sim, ns, name)["metadata"].get("annotations") or {})


def snapshot_dir(sim: KubeSim, ns: str, name: str) -> Path:
    content = vs(sim, ns, name)["status"]["boundVolumeSnapshotContentName"]
    got = sim.api(f"/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents/{content}")
    return Path(sim.state_dir) / "snapshots" / got["status"]["snapshotHandle"]


def own_snapshot(sim: KubeSim, ns: str, name: str, uid: int) -> Path:
    """Give the stored snapshot's files to uid (see the module docstring)."""
    top = snapshot_dir(sim, ns, name)
    for dirpath, dirs, files in os.walk(top):
        for n in [*dirs, *files]:
            os.lchown(os.path.join(dirpath, n), uid, uid)
    os.chown(top, uid, uid)
    return top


def leftovers(sim: KubeSim, ns: str) -> list[str]:
    """Pods and PVCs the toolbox made that still exist in ns."""
    got = sim.kubectl("-n", ns, "get", "pods,pvc", "-l", "app.kubernetes.io/component=toolbox",
                      "-o", "name", check=True)  # fmt: skip
    return got.stdout.split()


def drill_pids(sim: KubeSim) -> list[int]:
    """Processes of scratch database servers still running in SIM's drill pods (their
    command line names the scratch directory; the pod's environment names SIM's port)."""
    port = f"KUBERNETES_SERVICE_PORT={sim.url.rsplit(':', 1)[-1]}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ")
            env = Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"/backup-ns/scratch" in cmd and port in env:
            found.append(int(entry))
    return found


def terminate_while_drilling(sim: KubeSim, proc: subprocess.Popen[str]) -> tuple[int, str]:
    """SIGTERM to PROC (a verify) once its scratch server runs; its exit code and stderr."""
    try:
        sim.wait_for(lambda: drill_pids(sim) != [], 120, 0.1)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, err
