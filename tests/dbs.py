"""Real PostgreSQL 15, MariaDB and Redis servers for tests, on loopback, in temp dirs.

pytest: the session-scoped fixtures ``postgres_server`` and ``mariadb_server``
yield a :class:`DbServer` (host, port, superuser, password, ``sql()``). Import them
into the test module (``from tests.dbs import postgres_server``); for one server shared
by several modules, list ``"tests.dbs"`` in ``pytest_plugins`` of tests/conftest.py
instead of importing.

bash (BATS, via ``bats/helpers/db.bash``)::

    python3 -m tests.dbs start postgres|mariadb [WATCH_PID]  # KEY=value lines; server keeps running
    python3 -m tests.dbs start redis WATCH_PID [DATA_DIR]     # Redis saving into DATA_DIR
    python3 -m tests.dbs stop DIR                             # stop the server kept in DIR

A watchdog stops a server once WATCH_PID (the BATS file runner, the pytest process)
has exited, so a killed test run leaves no database server behind.

Both servers run from a private directory under /tmp (pytest's and BATS's temp
dirs are mode 0700, which the ``postgres`` system user cannot traverse), listen
on 127.0.0.1 on a free port and on a unix socket inside that directory, and
require a password: PostgreSQL with scram-sha-256 for every connection,
MariaDB's ``root`` with mysql_native_password on every host entry. Passwords
are random, never passed in argv (initdb reads a file, SQL goes on stdin, the
clients get the password from PGPASSWORD / MYSQL_PWD), so a test may scan
/proc/*/cmdline for them.

Durability is switched off (fsync, full-page writes, binlog): these servers
hold test data for seconds.

Redis (Debian ``redis-server``) saves only when told to (``save ""``, no AOF)
into its data directory, which a test may put inside a PVC's directory; its
password is in a config file (mode 0600) and reaches ``redis-cli`` through
REDISCLI_AUTH, never argv. Stopping it never saves and never removes the data
directory when the test gave one.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

PG_BIN = Path(os.environ.get("BACKUPNS_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_SYSTEM_USER = "postgres"
STATE_FILE = "server.json"
START_TIMEOUT = 30.0


class DbError(RuntimeError):
    """A server failed to start, stop or answer; the message names the log file."""


@dataclass
class DbServer:
    """One running database server."""

    kind: str  # "postgres" | "mariadb"
    host: str
    port: int
    user: str
    password: str
    base_dir: str
    socket: str  # postgres: the socket directory; mariadb: the socket file
    log: str
    pid: int = 0
    extra: dict[str, str] = field(default_factory=dict)

    # -- clients ----------------------------------------------------------
    def client_env(self) -> dict[str, str]:
        """Environment for the command-line clients: the password travels here."""
        env = dict(os.environ)
        if self.kind == "postgres":
            env.update(PGPASSWORD=self.password, PGHOST=self.host, PGPORT=str(self.port),
                       PGUSER=self.user, PGCONNECT_TIMEOUT="5")
        elif self.kind == "redis":
            env["REDISCLI_AUTH"] = self.password
        else:
            env["MYSQL_PWD"] = self.password
        return env

    def client_argv(self, database: str | None = None) -> list[str]:
        """argv of the interactive client (psql / mariadb / redis-cli), no password in it."""
        if self.kind == "redis":
            return ["redis-cli", "-h", self.host, "-p", str(self.port)]
        if self.kind == "postgres":
            return ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-F", "\t",
                    "-h", self.host, "-p", str(self.port), "-U", self.user,
                    "-d", database or "postgres"]
        argv = ["mariadb", "--no-defaults", "--batch", "--skip-column-names",
                "-h", self.host, "-P", str(self.port), "-u", self.user]
        if database:
            argv.append(database)
        return argv

    def sql(self, sql: str, database: str | None = None, *, check: bool = True,
            timeout: float = 60.0) -> str:
        """Run SQL (on stdin) as the superuser; return stdout (tab-separated rows).
        Redis: commands, one a line."""
        proc = subprocess.run(self.client_argv(database), input=sql, text=True,
                              capture_output=True, env=self.client_env(), timeout=timeout,
                              check=False)
        if check and proc.returncode != 0:
            raise DbError(f"{self.kind} SQL failed (exit {proc.returncode}): "
                          f"{proc.stderr.strip()}\nSQL: {sql[:500]}")
        return proc.stdout

    def popen_sql(self, sql: str, database: str | None = None) -> subprocess.Popen[str]:
        """Start SQL in the background (e.g. hold a lock while a dump runs)."""
        proc = subprocess.Popen(self.client_argv(database), stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=self.client_env())
        assert proc.stdin is not None
        proc.stdin.write(sql)
        proc.stdin.close()
        return proc

    def create_database(self, name: str) -> None:
        """(Re)create an empty database."""
        if self.kind == "postgres":
            self.sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE);')
            self.sql(f'CREATE DATABASE "{name}";')
        else:
            self.sql(f"DROP DATABASE IF EXISTS `{name}`; CREATE DATABASE `{name}`;")

    def shell_env(self) -> dict[str, str]:
        """The KEY=value set that db.bash exports (prefix PG_ or MY_)."""
        p = {"postgres": "PG", "redis": "REDIS"}.get(self.kind, "MY")
        env = {
            f"{p}_HOST": self.host, f"{p}_PORT": str(self.port), f"{p}_USER": self.user,
            f"{p}_PASSWORD": self.password, f"{p}_DIR": self.base_dir,
            f"{p}_SOCKET": self.socket, f"{p}_LOG": self.log,
        }
        if self.kind == "redis":
            env["REDIS_DATA"] = self.extra["data_dir"]
        return env

    def stop(self) -> None:
        """Shut down cleanly (fast shutdown), then remove the directory."""
        try:
            if self.kind == "postgres":
                _stop_postgres(self)
            elif self.kind == "redis":
                _stop_pid(self, "redis-server")
            else:
                _stop_mariadb(self)
        finally:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def save(self) -> None:
        (Path(self.base_dir) / STATE_FILE).write_text(json.dumps(asdict(self)))

    @classmethod
    def load(cls, base_dir: str | os.PathLike[str]) -> DbServer:
        return cls(**json.loads((Path(base_dir) / STATE_FILE).read_text()))


# -- helpers ---------------------------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def new_password(kind: str) -> str:
    """Random, distinctive (greppable) password without shell or SQL metacharacters."""
    return f"{kind}-pw-{secrets.token_hex(12)}"


def missing_binaries(kind: str) -> str | None:
    """Why the server cannot run here, or None."""
    if kind == "postgres":
        need = [str(PG_BIN / "initdb"), str(PG_BIN / "pg_ctl"), "psql", "runuser"]
    elif kind == "redis":
        need = ["redis-server", "redis-cli"]
    else:
        need = ["mariadbd", "mariadb-install-db", "mariadb"]
    missing = [n for n in need if shutil.which(n) is None]
    if missing:
        return f"{kind} binaries not installed: {', '.join(missing)}"
    if kind == "postgres" and os.geteuid() != 0:
        return "starting PostgreSQL needs root (to run it as the postgres system user)"
    return None


def _tail(path: str, n: int = 15) -> str:
    try:
        return "".join(Path(path).read_text(errors="replace").splitlines(True)[-n:])
    except OSError:
        return "(no log)"


def _run(argv: Sequence[str], what: str, log: str, **kw: object) -> None:
    proc = subprocess.run(list(argv), capture_output=True, text=True, check=False, **kw)  # type: ignore[call-overload]
    if proc.returncode != 0:
        raise DbError(f"{what} failed (exit {proc.returncode}): {proc.stderr.strip()} "
                      f"{proc.stdout.strip()}\nlog {log}:\n{_tail(log)}")


def _wait_until(ok: object, what: str, log: str, proc: subprocess.Popen[bytes] | None = None,
                timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.02
    while time.monotonic() < deadline:
        if ok():  # type: ignore[operator]
            return
        if proc is not None and proc.poll() is not None:
            raise DbError(f"{what}: server exited with {proc.returncode}\nlog {log}:\n{_tail(log)}")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.2)
    raise DbError(f"{what}: not ready after {timeout:.0f}s\nlog {log}:\n{_tail(log)}")


# -- PostgreSQL ----------------------------------------------------------------

def _as_postgres(argv: list[str]) -> list[str]:
    return ["runuser", "-u", PG_SYSTEM_USER, "--", *argv]


def start_postgres(port: int | None = None) -> DbServer:
    why = missing_binaries("postgres")
    if why:
        raise DbError(why)
    base = tempfile.mkdtemp(prefix="backupns-pg-")
    os.chmod(base, 0o755)
    try:
        return _start_postgres_in(base, port)
    except BaseException:
        subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", f"{base}/data", "-m",
                                     "immediate", "-w", "stop"]), capture_output=True, check=False)
        shutil.rmtree(base, ignore_errors=True)
        raise


def _start_postgres_in(base: str, port: int | None) -> DbServer:
    data, run = f"{base}/data", f"{base}/run"
    for d in (data, run):
        os.mkdir(d, 0o700)
        shutil.chown(d, PG_SYSTEM_USER, PG_SYSTEM_USER)
    password = new_password("postgres")
    pwfile = f"{run}/pwfile"
    with open(pwfile, "w") as f:
        f.write(password + "\n")
    shutil.chown(pwfile, PG_SYSTEM_USER, PG_SYSTEM_USER)
    log = f"{run}/postgres.log"
    _run(_as_postgres([str(PG_BIN / "initdb"), "-D", data, "-U", "postgres", f"--pwfile={pwfile}",
                       "--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
                       "--no-instructions"]), "initdb", log)
    os.unlink(pwfile)
    last: DbError | None = None
    for _attempt in range(3):  # the free port may be taken between probe and bind
        p = port or free_port()
        opts = (f"-c listen_addresses=127.0.0.1 -p {p} -k {run} -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50 "
                "-c shared_buffers=16MB -c log_min_messages=warning")
        try:
            _run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", data, "-l", log, "-w", "-t",
                               str(int(START_TIMEOUT)), "-o", opts, "start"]),
                 "pg_ctl start", log)
        except DbError as e:
            last = e
            if port:
                break
            continue
        pid = int(Path(data, "postmaster.pid").read_text().split("\n", 1)[0])
        server = DbServer(kind="postgres", host="127.0.0.1", port=p, user="postgres",
                          password=password, base_dir=base, socket=run, log=log, pid=pid)
        server.sql("SELECT 1")
        return server
    assert last is not None
    raise last


def _stop_postgres(server: DbServer) -> None:
    data = f"{server.base_dir}/data"
    if not Path(data, "postmaster.pid").exists():
        return
    _run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", data, "-m", "fast", "-w", "-t", "30",
                       "stop"]), "pg_ctl stop", server.log)


# -- MariaDB ---------------------------------------------------------------------

def start_mariadb(port: int | None = None) -> DbServer:
    why = missing_binaries("mariadb")
    if why:
        raise DbError(why)
    base = tempfile.mkdtemp(prefix="backupns-my-")
    os.chmod(base, 0o755)
    try:
        return _start_mariadb_in(base, port)
    except BaseException:
        with contextlib.suppress(Exception):
            pid = int(Path(base, "mariadbd.pid").read_text())
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(base, ignore_errors=True)
        raise


def _mariadbd_argv(base: str, port: int, user: str) -> list[str]:
    return ["mariadbd", "--no-defaults", f"--datadir={base}/data", f"--socket={base}/mysqld.sock",
            f"--port={port}", "--bind-address=127.0.0.1", f"--user={user}",
            f"--pid-file={base}/mariadbd.pid", f"--log-error={base}/mariadbd.log",
            "--skip-name-resolve", "--skip-log-bin", "--innodb-flush-log-at-trx-commit=0",
            "--innodb-buffer-pool-size=32M", "--innodb-log-file-size=16M",
            "--innodb-doublewrite=0", "--max-connections=50", "--performance-schema=OFF",
            "--innodb-buffer-pool-dump-at-shutdown=0", "--innodb-buffer-pool-load-at-startup=0",
            f"--tmpdir={base}/tmp"]


def _start_mariadb_in(base: str, port: int | None) -> DbServer:
    user = "root" if os.geteuid() == 0 else os.environ.get("USER", "root")
    log = f"{base}/mariadbd.log"
    os.mkdir(f"{base}/tmp")
    _run(["mariadb-install-db", "--no-defaults", f"--datadir={base}/data", f"--user={user}",
          "--auth-root-authentication-method=normal", "--skip-test-db",
          "--skip-name-resolve"], "mariadb-install-db", f"{base}/install.log")
    password = new_password("mariadb")
    sock = f"{base}/mysqld.sock"
    last: DbError | None = None
    for _attempt in range(3):
        p = port or free_port()
        with open(f"{base}/mariadbd.out", "ab") as out:
            proc = subprocess.Popen(_mariadbd_argv(base, p, user), stdout=out,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)

        def up() -> bool:
            r = subprocess.run(["mariadb", "--no-defaults", "-S", sock, "-uroot", "-e", "SELECT 1"],
                               capture_output=True, check=False)
            return r.returncode == 0

        try:
            _wait_until(up, "mariadbd start", log, proc)
        except DbError as e:
            last = e
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait()
            if port:
                break
            continue
        # Password for every root account; via stdin, never argv.
        setpw = (
            "DROP USER IF EXISTS 'root'@'::1';\n"
            + "".join(f"ALTER USER 'root'@'{h}' IDENTIFIED BY '{password}';\n"
                      for h in ("localhost", "127.0.0.1"))
            + "FLUSH PRIVILEGES;\n"
        )
        hosts = subprocess.run(["mariadb", "--no-defaults", "-S", sock, "-uroot", "-N", "-e",
                                "SELECT host FROM mysql.user WHERE user='root'"],
                               capture_output=True, text=True, check=True).stdout.split()
        setpw += "".join(f"DROP USER IF EXISTS 'root'@'{h}';\n" for h in hosts
                         if h not in ("localhost", "127.0.0.1", "::1"))
        r = subprocess.run(["mariadb", "--no-defaults", "-S", sock, "-uroot"], input=setpw,
                           capture_output=True, text=True, check=False)
        if r.returncode != 0:
            proc.kill()
            raise DbError(f"mariadb: setting the root password failed: {r.stderr.strip()}")
        server = DbServer(kind="mariadb", host="127.0.0.1", port=p, user="root",
                          password=password, base_dir=base, socket=sock, log=log, pid=proc.pid)
        server.sql("SELECT 1")
        return server
    assert last is not None
    raise last


def pid_alive(pid: int) -> bool:
    """True while the process runs; a zombie (exited, not yet reaped) counts as gone."""
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)  # reap it if it is our child
        if done == pid:
            return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _stop_mariadb(server: DbServer) -> None:
    _stop_pid(server, "mariadbd")


def _stop_pid(server: DbServer, name: str) -> None:
    if not server.pid or not pid_alive(server.pid):
        return
    os.kill(server.pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if not pid_alive(server.pid):
            return
        time.sleep(0.05)
    os.kill(server.pid, signal.SIGKILL)
    raise DbError(f"{name} (pid {server.pid}) did not stop within 30s; killed. "
                  f"log {server.log}:\n{_tail(server.log)}")


# -- Redis -----------------------------------------------------------------------

def start_redis(data_dir: str | None = None, port: int | None = None) -> DbServer:
    """A redis-server saving into data_dir (default: a ``data`` dir of its own)."""
    why = missing_binaries("redis")
    if why:
        raise DbError(why)
    base = tempfile.mkdtemp(prefix="backupns-redis-")
    data = data_dir or f"{base}/data"
    os.makedirs(data, exist_ok=True)
    password = new_password("redis")
    log = f"{base}/redis.log"
    last: DbError | None = None
    for _attempt in range(3):
        p = port or free_port()
        conf = f"{base}/redis.conf"
        # Quoted for redis.conf's own parser (the test's data dir may hold spaces).
        with open(os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write(f"bind 127.0.0.1\nport {p}\nrequirepass {password}\n"
                    f'dir "{data}"\ndbfilename dump.rdb\nsave ""\nappendonly no\n'
                    f'daemonize no\nlogfile "{log}"\nprotected-mode yes\n')
        proc = subprocess.Popen(["redis-server", conf], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        server = DbServer(kind="redis", host="127.0.0.1", port=p, user="default",
                          password=password, base_dir=base, socket="", log=log, pid=proc.pid,
                          extra={"data_dir": data})

        def up(server: DbServer = server) -> bool:
            return server.sql("PING", check=False).strip() == "PONG"

        try:
            _wait_until(up, "redis-server start", log, proc)
        except DbError as e:
            last = e
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait()
            if port:
                break
            continue
        return server
    shutil.rmtree(base, ignore_errors=True)
    assert last is not None
    raise last


def start(kind: str, watch_pid: int | None = None, data_dir: str | None = None) -> DbServer:
    """Start a server; with watch_pid, a watchdog stops it once that process is gone
    (a test run that is killed must not leave database servers behind)."""
    if kind == "postgres":
        server = start_postgres()
    elif kind in ("mariadb", "mysql"):
        server = start_mariadb()
    elif kind == "redis":
        server = start_redis(data_dir)
    else:
        raise DbError(f"unknown database kind {kind!r} (postgres, mariadb or redis)")
    server.save()
    if watch_pid:
        subprocess.Popen([sys.executable, "-m", "tests.dbs", "watchdog", server.base_dir,
                          str(watch_pid)], cwd=Path(__file__).resolve().parent.parent,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    return server


def watchdog(base_dir: str, pid: int) -> None:
    """Stop the server in base_dir once pid has exited; return when base_dir is gone."""
    while Path(base_dir, STATE_FILE).exists():
        if not pid_alive(pid):
            with contextlib.suppress(Exception):
                DbServer.load(base_dir).stop()
            return
        time.sleep(0.5)


# -- pytest fixtures -------------------------------------------------------------

try:
    import pytest
except ImportError:  # the CLI below works without pytest
    pytest = None  # type: ignore[assignment]

if pytest is not None:

    def _server(kind: str) -> Iterator[DbServer]:
        why = missing_binaries(kind)
        if why:
            pytest.skip(why)
        server = start(kind, watch_pid=os.getpid())
        try:
            yield server
        finally:
            server.stop()

    @pytest.fixture(scope="session")
    def postgres_server() -> Iterator[DbServer]:
        """A PostgreSQL 15 server for the whole session (superuser ``postgres``)."""
        yield from _server("postgres")

    @pytest.fixture(scope="session")
    def mariadb_server() -> Iterator[DbServer]:
        """A MariaDB server for the whole session (superuser ``root``)."""
        yield from _server("mariadb")


# -- CLI (used by bats/helpers/db.bash) ------------------------------------------

def main(argv: Sequence[str]) -> int:
    usage = ("usage: python3 -m tests.dbs start postgres|mariadb [WATCH_PID]\n"
             "       python3 -m tests.dbs start redis WATCH_PID [DATA_DIR]\n"
             "       python3 -m tests.dbs stop DIR\n"
             "       python3 -m tests.dbs check postgres|mariadb  (prints why it cannot run)\n"
             "WATCH_PID: stop the server when that process has exited (e.g. the test runner)")
    data_dir = None
    if len(argv) == 4 and argv[:2] == ["start", "redis"] and argv[2].isdigit():
        argv, watch, data_dir = argv[:2], int(argv[2]), argv[3]
    elif len(argv) == 3 and argv[0] in ("start", "watchdog") and argv[2].isdigit():
        argv, watch = argv[:2], int(argv[2])
    elif len(argv) == 2:
        watch = 0
    else:
        print(usage, file=sys.stderr)
        return 2
    cmd, arg = argv
    try:
        if cmd == "watchdog":
            watchdog(arg, watch)
            return 0
        if cmd == "start":
            server = start(arg, watch_pid=watch or None, data_dir=data_dir)
            for k, v in server.shell_env().items():
                print(f"{k}={v}")
            return 0
        if cmd == "stop":
            if not Path(arg, STATE_FILE).exists():
                shutil.rmtree(arg, ignore_errors=True)
                return 0
            DbServer.load(arg).stop()
            return 0
        if cmd == "check":
            why = missing_binaries(arg)
            if why:
                print(why)
                return 1
            return 0
    except DbError as e:
        print(f"ERROR: {e}", file=sys.stderr)
        return 1
    print(usage, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
