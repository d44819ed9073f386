"""Smoke tests of the real database servers used by the end-to-end tests."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.dbs import DbError, DbServer, mariadb_server, pid_alive, postgres_server, start

__all__ = ["mariadb_server", "postgres_server"]  # fixtures used below


def _cmdlines() -> str:
    out = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            with contextlib.suppress(OSError):
                out.append(p.joinpath("cmdline").read_bytes().replace(b"\0", b" ").decode(
                    errors="replace"))
    return "\n".join(out)


def test_postgres_answers_with_password(postgres_server: DbServer) -> None:
    s = postgres_server
    assert (s.host, s.user) == ("127.0.0.1", "postgres")
    assert s.sql("SELECT 40 + 2").strip() == "42"
    assert s.sql("SHOW password_encryption").strip() == "scram-sha-256"
    assert s.sql("SELECT current_setting('server_version_num')::int / 10000").strip() == "15"


def test_postgres_rejects_a_wrong_password(postgres_server: DbServer) -> None:
    env = postgres_server.client_env() | {"PGPASSWORD": "wrong"}
    r = subprocess.run(postgres_server.client_argv(), input="SELECT 1", text=True,
                       capture_output=True, env=env, check=False)
    assert r.returncode == 2
    assert 'password authentication failed for user "postgres"' in r.stderr


def test_postgres_dump_and_restore_round_trip(postgres_server: DbServer) -> None:
    s = postgres_server
    s.create_database("smoke_src")
    s.create_database("smoke_dst")
    s.sql("CREATE TABLE t (id int PRIMARY KEY, v text);"
          "INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 100) g;", "smoke_src")
    dump = subprocess.run(["pg_dump", "-h", s.host, "-p", str(s.port), "-U", s.user,
                           "smoke_src"], capture_output=True, text=True, env=s.client_env(),
                          check=True).stdout
    s.sql(dump, "smoke_dst")
    assert s.sql("SELECT count(*), max(v) FROM t", "smoke_dst").strip() == "100\trow 99"


def test_mariadb_answers_with_password(mariadb_server: DbServer) -> None:
    s = mariadb_server
    assert (s.host, s.user) == ("127.0.0.1", "root")
    assert s.sql("SELECT 40 + 2").strip() == "42"
    assert "MariaDB" in s.sql("SELECT VERSION()")


def test_mariadb_rejects_a_wrong_or_missing_password(mariadb_server: DbServer) -> None:
    s = mariadb_server
    for env in (s.client_env() | {"MYSQL_PWD": "wrong"},
                {k: v for k, v in s.client_env().items() if k != "MYSQL_PWD"}):
        r = subprocess.run(s.client_argv(), input="SELECT 1", text=True, capture_output=True,
                           env=env, check=False)
        assert r.returncode == 1
        assert "Access denied for user 'root'@'127.0.0.1'" in r.stderr
    # The unix socket wants the password too.
    r = subprocess.run(["mariadb", "--no-defaults", "-S", s.socket, "-uroot", "-e", "SELECT 1"],
                       capture_output=True, text=True, check=False)
    assert "Access denied for user 'root'@'localhost'" in r.stderr


def test_mariadb_dump_and_restore_round_trip(mariadb_server: DbServer) -> None:
    s = mariadb_server
    s.create_database("smoke_src")
    s.create_database("smoke_dst")
    s.sql("CREATE TABLE t (id int PRIMARY KEY, v varchar(20));"
          "INSERT INTO t SELECT seq, CONCAT('row ', seq) FROM seq_1_to_100;", "smoke_src")
    dump = subprocess.run(["mariadb-dump", "--no-defaults", "-h", s.host, "-P", str(s.port),
                           "-u", s.user, "--single-transaction", "smoke_src"],
                          capture_output=True, text=True, env=s.client_env(), check=True).stdout
    s.sql(dump, "smoke_dst")
    assert s.sql("SELECT count(*), max(v) FROM t", "smoke_dst").strip() == "100\trow 99"


def test_passwords_are_in_no_argv(postgres_server: DbServer, mariadb_server: DbServer) -> None:
    held = postgres_server.popen_sql("SELECT pg_sleep(0.5)")
    scans = []
    try:
        while held.poll() is None:
            scans.append(_cmdlines())
    finally:
        held.wait(timeout=10)
    cmdlines = "\n".join(scans)
    assert "psql" in cmdlines  # the scan saw the client while it ran
    assert postgres_server.password not in cmdlines
    assert mariadb_server.password not in cmdlines


def test_cli_start_stop_is_clean() -> None:
    """The BATS path: start prints KEY=value lines; stop shuts down and removes the dir."""
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONPATH=str(root))
    for kind, prefix in (("postgres", "PG"), ("mariadb", "MY")):
        r = subprocess.run(["python3", "-m", "tests.dbs", "start", kind], capture_output=True,
                           text=True, env=env, cwd=root, check=False)
        if r.returncode != 0 and "not installed" in r.stderr:
            pytest.skip(r.stderr.strip())
        assert r.returncode == 0, r.stderr
        vals = dict(line.split("=", 1) for line in r.stdout.splitlines())
        assert sorted(vals) == sorted(f"{prefix}_{k}" for k in
                                      ("HOST", "PORT", "USER", "PASSWORD", "DIR", "SOCKET", "LOG"))
        server = DbServer.load(vals[f"{prefix}_DIR"])
        assert server.sql("SELECT 7").strip() == "7"
        r = subprocess.run(["python3", "-m", "tests.dbs", "stop", vals[f"{prefix}_DIR"]],
                           capture_output=True, text=True, env=env, cwd=root, check=False)
        assert r.returncode == 0, r.stderr
        assert not Path(vals[f"{prefix}_DIR"]).exists()
        assert not pid_alive(server.pid)


def test_watchdog_stops_the_server_when_the_runner_dies() -> None:
    """A killed test run (the watched pid) must not leave a database server behind."""
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONPATH=str(root))
    runner = subprocess.Popen(["sleep", "60"])
    try:
        r = subprocess.run(["python3", "-m", "tests.dbs", "start", "mariadb", str(runner.pid)],
                           capture_output=True, text=True, env=env, cwd=root, check=False)
        if r.returncode != 0 and "not installed" in r.stderr:
            pytest.skip(r.stderr.strip())
        assert r.returncode == 0, r.stderr
        base = dict(line.split("=", 1) for line in r.stdout.splitlines())["MY_DIR"]
        server = DbServer.load(base)
        assert pid_alive(server.pid)
    finally:
        runner.kill()
        runner.wait()
    for _ in range(200):
        if not Path(base).exists() and not pid_alive(server.pid):
            break
        time.sleep(0.05)
    assert not pid_alive(server.pid)
    assert not Path(base).exists()


def test_unknown_kind_is_a_clear_error() -> None:
    with pytest.raises(DbError, match="unknown database kind 'oracle'"):
        start("oracle")


def test_redis_saves_into_the_given_dir_password_only_in_env(tmp_path: Path) -> None:
    data = tmp_path / "pvc" / "redis"
    server = start("redis", data_dir=str(data))
    try:
        assert server.sql("SET k v\nBGSAVE\n").split() == ["OK", "Background", "saving", "started"]
        deadline = time.monotonic() + 20
        while not (data / "dump.rdb").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (data / "dump.rdb").stat().st_size > 0
        assert server.password not in _cmdlines()
        env = server.client_env() | {"REDISCLI_AUTH": "wrong"}
        r = subprocess.run([*server.client_argv(), "-e", "GET", "k"], env=env,
                           capture_output=True, text=True, check=False)
        assert r.returncode != 0
    finally:
        server.stop()
    assert not pid_alive(server.pid)
    assert (data / "dump.rdb").exists()  # the test's data dir is kept
    assert not Path(server.base_dir).exists()
