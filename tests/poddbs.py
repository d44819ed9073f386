"""Real PostgreSQL and MariaDB servers running as a kubesim pod's container, their data
directory on a PVC, as a database runs in a cluster.

tests/dbs.py starts servers on this machine with their data in a temp dir: right for
dumps, which reach the server over TCP. Snapshot mode needs the server's own files on
the snapshotted PVC and the server among the processes that use it (kubesim stops
those for the cut, kubesim/freeze.py), so here the server IS the container of a
Deployment whose pod kubesim's kubelet runs (annotation kubesim.io/run), with the PVC
mounted where the official images keep their data. The server listens on 127.0.0.1
(a free port), so the test reaches it from outside the pod too.

:func:`start_recovered` starts a server of the same kind on a copy of a snapshot's
files on this machine: crash recovery runs as it would in a new pod.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kubesim.fixture import KubeSim
from tests.dbs import (
    PG_BIN,
    PG_SYSTEM_USER,
    DbError,
    DbServer,
    _as_postgres,
    _wait_until,
    free_port,
    new_password,
    pid_alive,
)

PG_MOUNT = "/var/lib/postgresql/data"
PG_DATA = f"{PG_MOUNT}/pgdata"
MY_MOUNT = "/var/lib/mysql"

# The official images' start, reduced: initdb on an empty volume, then the server in
# the foreground (production durability: fsync and full-page writes on).
PG_COMMAND = f"""set -e
if [ ! -s {PG_DATA}/PG_VERSION ]; then
  {PG_BIN}/initdb -D {PG_DATA} -U "$POSTGRES_USER" \\
    --pwfile=<(printf '%s\\n' "$POSTGRES_PASSWORD") --auth=scram-sha-256 -E UTF8 \\
    --locale=C.UTF-8 --no-instructions ${{WALDIR:+--waldir="$WALDIR"}} >/dev/null
fi
exec {PG_BIN}/postgres -D {PG_DATA} -c listen_addresses=127.0.0.1 -p "$PORT" \\
  -c unix_socket_directories= -c max_connections=30 -c shared_buffers=16MB \\
  -c log_min_messages=warning
"""

MY_COMMAND = f"""set -e
if [ ! -d {MY_MOUNT}/mysql ]; then
  mariadb-install-db --no-defaults --datadir={MY_MOUNT} --user=root \\
    --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve >/dev/null
fi
exec mariadbd --no-defaults --datadir={MY_MOUNT} --user=root --port="$PORT" \\
  --bind-address=127.0.0.1 --socket="$SOCKET" --pid-file="$SOCKET.pid" --skip-name-resolve \\
  --skip-log-bin --innodb-flush-log-at-trx-commit=1 --innodb-buffer-pool-size=32M \\
  --innodb-log-file-size=16M --max-connections=30 --performance-schema=OFF \\
  --innodb-buffer-pool-dump-at-shutdown=0 --innodb-buffer-pool-load-at-startup=0
"""


@dataclass
class PodDb:
    """A database server that runs as deployment/NAME's container in NAMESPACE."""

    server: DbServer
    namespace: str
    deployment: str
    container: str
    pvc: str
    volume: Path

    def stop(self, sim: KubeSim) -> None:
        """A clean shutdown (SIGINT: PostgreSQL's fast one; SIGTERM: MariaDB's), then
        the Deployment goes."""
        sig = signal.SIGINT if self.server.kind == "postgres" else signal.SIGTERM
        with contextlib.suppress(ProcessLookupError):
            if self.server.pid:
                os.kill(self.server.pid, sig)
        deadline = time.monotonic() + 30
        while self.server.pid and pid_alive(self.server.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        sim.kubectl("delete", "deployment", self.deployment, "-n", self.namespace, "--wait=false")


def _deployment(
    ns: str,
    name: str,
    container: str,
    mounts: dict[str, str],
    command: str,
    env: dict[str, str],
    security: str,
) -> str:
    """MOUNTS: PVC name -> mount path."""
    env_lines = "".join(f"        - {{name: {k}, value: '{v}'}}\n" for k, v in env.items())
    mount_lines = "".join(f"        - {{name: {p}, mountPath: {m}}}\n" for p, m in mounts.items())
    volume_lines = "".join(
        f"      - {{name: {p}, persistentVolumeClaim: {{claimName: {p}}}}}\n" for p in mounts
    )
    return f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {ns}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata:
      labels: {{app: {name}}}
      annotations: {{kubesim.io/run: "true"}}
    spec:
      terminationGracePeriodSeconds: 10
      {security}
      containers:
      - name: {container}
        image: db
        command: [bash, -c, {json.dumps(command)}]
        env:
{env_lines}        volumeMounts:
{mount_lines}      volumes:
{volume_lines}"""


def _pvc(sim: KubeSim, ns: str, pvc: str) -> Path:
    sim.apply(f"""apiVersion: v1
kind: PersistentVolumeClaim
metadata: {{name: {pvc}, namespace: {ns}}}
spec: {{accessModes: [ReadWriteOnce], resources: {{requests: {{storage: 1Gi}}}}}}
""")
    volume = sim.volume_dir(ns, pvc)
    sim.wait_for(volume.is_dir, timeout=20)
    return volume


def _wait_up(server: DbServer, log: Path, what: str) -> None:
    def up() -> bool:
        try:
            server.sql("SELECT 1", timeout=5)
        except (DbError, subprocess.TimeoutExpired):
            return False
        return True

    _wait_until(up, what, str(log), timeout=60)


def start_postgres_pod(
    sim: KubeSim, ns: str, name: str = "pg", pvc: str = "data", wal_pvc: str = ""
) -> PodDb:
    """wal_pvc: pg_wal on a PVC of its own (initdb --waldir), mounted at .../wal."""
    mounts = {pvc: PG_MOUNT}
    volume = _pvc(sim, ns, pvc)
    shutil.chown(volume, PG_SYSTEM_USER, PG_SYSTEM_USER)
    port, password = free_port(), new_password("postgres")
    env = {
        "POSTGRES_USER": "postgres",
        "POSTGRES_PASSWORD": password,
        "POSTGRES_DB": "shop",
        "PORT": str(port),
    }
    if wal_pvc:
        mounts[wal_pvc] = "/var/lib/postgresql/wal"
        shutil.chown(_pvc(sim, ns, wal_pvc), PG_SYSTEM_USER, PG_SYSTEM_USER)
        env["WALDIR"] = "/var/lib/postgresql/wal/pg_wal"
    uid, gid = _ids(PG_SYSTEM_USER)
    security = f"securityContext: {{runAsUser: {uid}, runAsGroup: {gid}}}"
    sim.apply(_deployment(ns, name, "postgres", mounts, PG_COMMAND, env, security))
    log = sim.state_dir / "logs" / ns
    server = DbServer(
        kind="postgres",
        host="127.0.0.1",
        port=port,
        user="postgres",
        password=password,
        base_dir=str(volume),
        socket="",
        log=str(log),
    )
    _wait_up(server, log, "postgres in a pod")
    server.pid = int((volume / "pgdata" / "postmaster.pid").read_text().split("\n", 1)[0])
    server.sql("CREATE DATABASE shop")
    return PodDb(server, ns, name, "postgres", pvc, volume)


def start_mariadb_pod(sim: KubeSim, ns: str, name: str = "my", pvc: str = "data") -> PodDb:
    volume = _pvc(sim, ns, pvc)
    port, password = free_port(), new_password("mariadb")
    sock_dir = tempfile.mkdtemp(prefix="backupns-mysock-")
    os.chmod(sock_dir, 0o755)
    sock = f"{sock_dir}/mysqld.sock"
    env = {
        "MYSQL_ROOT_PASSWORD": password,
        "MYSQL_DATABASE": "shop",
        "PORT": str(port),
        "SOCKET": sock,
    }
    sim.apply(_deployment(ns, name, "mariadb", {pvc: MY_MOUNT}, MY_COMMAND, env, ""))
    log = sim.state_dir / "logs" / ns

    def up() -> bool:
        r = subprocess.run(
            ["mariadb", "--no-defaults", "-S", sock, "-uroot", "-e", "SELECT 1"],
            capture_output=True,
            check=False,
        )
        return r.returncode == 0

    _wait_until(up, "mariadbd in a pod", str(log), timeout=60)
    setpw = (
        "DROP USER IF EXISTS 'root'@'::1';\n"
        + "".join(
            f"ALTER USER 'root'@'{h}' IDENTIFIED BY '{password}';\n"
            for h in ("localhost", "127.0.0.1")
        )
        + "FLUSH PRIVILEGES;\nCREATE DATABASE shop;\n"
    )
    subprocess.run(
        ["mariadb", "--no-defaults", "-S", sock, "-uroot"],
        input=setpw,
        text=True,
        check=True,
        capture_output=True,
    )
    server = DbServer(
        kind="mariadb",
        host="127.0.0.1",
        port=port,
        user="root",
        password=password,
        base_dir=sock_dir,
        socket=sock,
        log=str(log),
    )
    server.pid = int(Path(f"{sock}.pid").read_text().strip())
    return PodDb(server, ns, name, "mariadb", pvc, volume)


def _ids(user: str) -> tuple[int, int]:
    import pwd

    pw = pwd.getpwnam(user)
    return pw.pw_uid, pw.pw_gid


@contextlib.contextmanager
def start_recovered(kind: str, files: Path, password: str) -> Iterator[tuple[DbServer, str]]:
    """A server of KIND on a copy of FILES (a snapshot's data directory), on this
    machine: crash recovery runs at its start. Yields the server and its log."""
    base = Path(tempfile.mkdtemp(prefix="backupns-recover-"))
    os.chmod(base, 0o755)
    data = base / "data"
    shutil.copytree(files, data, symlinks=True)
    port = free_port()
    proc: subprocess.Popen[bytes] | None = None
    try:
        if kind == "postgres":
            # A new pod has other pids: the copied postmaster.pid names the source
            # server, alive on this machine, which a new pod would never see.
            (data / "postmaster.pid").unlink(missing_ok=True)
            subprocess.run(
                ["chown", "-R", f"{PG_SYSTEM_USER}:{PG_SYSTEM_USER}", str(base)], check=True
            )
            os.chmod(data, 0o700)
            log = base / "postgres.log"
            opts = (
                f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories= "
                "-c max_connections=10 -c shared_buffers=16MB"
            )
            r = subprocess.run(
                _as_postgres(
                    [
                        str(PG_BIN / "pg_ctl"),
                        "-D",
                        str(data),
                        "-l",
                        str(log),
                        "-w",
                        "-t",
                        "120",
                        "-o",
                        opts,
                        "start",
                    ]
                ),
                capture_output=True,
                text=True,
                check=False,
            )
            if r.returncode != 0:
                raise DbError(
                    f"postgres on the snapshot did not start: {r.stdout}{r.stderr}\n"
                    f"{log.read_text(errors='replace')}"
                )
            server = DbServer(
                kind="postgres",
                host="127.0.0.1",
                port=port,
                user="postgres",
                password=password,
                base_dir=str(base),
                socket="",
                log=str(log),
            )
        else:
            log = base / "mariadbd.log"
            sock = base / "mysqld.sock"
            argv = [
                "mariadbd",
                "--no-defaults",
                f"--datadir={data}",
                "--user=root",
                f"--port={port}",
                "--bind-address=127.0.0.1",
                f"--socket={sock}",
                f"--pid-file={base}/pid",
                f"--log-error={log}",
                "--skip-name-resolve",
                "--skip-log-bin",
                "--innodb-buffer-pool-size=32M",
                "--innodb-log-file-size=16M",
                "--performance-schema=OFF",
                "--innodb-buffer-pool-load-at-startup=0",
                "--innodb-buffer-pool-dump-at-shutdown=0",
            ]
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            server = DbServer(
                kind="mariadb",
                host="127.0.0.1",
                port=port,
                user="root",
                password=password,
                base_dir=str(base),
                socket=str(sock),
                log=str(log),
                pid=proc.pid,
            )
        _wait_up(server, log, f"{kind} on the snapshot")
        yield server, log.read_text(errors="replace")
    finally:
        if kind == "postgres":
            subprocess.run(
                _as_postgres(
                    [str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
                ),
                capture_output=True,
                check=False,
            )
        elif proc is not None:
            proc.kill()
            proc.wait()
        shutil.rmtree(base, ignore_errors=True)
