"""The toolbox's interactive paths, driven through a pseudo-terminal (pexpect): the
delete, dump-restore and dump confirmations (a "no" refuses and changes nothing, "yes"
deletes) and db-shell (real psql, and the real mariadb client, in the database
container via kubectl exec; the password in no process's argv). Real kubectl,
kubesim, a real PostgreSQL and a real MariaDB."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from kubesim.fixture import KubeSim
from tests.dbs import DbServer, mariadb_server, postgres_server

__all__ = ["mariadb_server", "postgres_server"]  # fixtures used below

NS = "tty-pg"
MY_NS = "tty-my"
VS = "data-2026-05-04-100000-tty001"
KUBESIM_ARGS = ["--snapshot-ready-delay", "0"]


@pytest.fixture(scope="module")
def shop(kubesim: KubeSim, postgres_server: DbServer, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[tuple[Path, dict[str, str]]]:
    """The rendered script of NS, a backup of database ttyshop, and its environment."""
    pg = postgres_server
    pg.sql("DROP DATABASE IF EXISTS ttyshop WITH (FORCE); CREATE DATABASE ttyshop;")
    pg.sql("CREATE TABLE items (id int PRIMARY KEY); INSERT INTO items VALUES (1), (2);",
           "ttyshop")
    base = tmp_path_factory.mktemp("tty")
    (base / "backupns.yaml").write_text(
        "defaults: {timeZone: UTC, flock: {enabled: false}}\n"
        f"namespaces:\n  {NS}:\n    pvcs: [data]\n    database:\n      postgres:\n"
        f"        exec: deployment/app-base\n        container: postgres\n"
        f"        host: 127.0.0.1\n        port: {pg.port}\n"
        "        dumpFile: /var/lib/postgresql/data/dump.sql.gz\n"
    )
    subprocess.run(["backupns-gen", "render", "--no-lint", "-c", str(base / "backupns.yaml"),
                    "-o", str(base / "out")], check=True, capture_output=True)
    env = pg.client_env()
    env = {k: v for k, v in env.items() if not k.startswith("PG") and k != "MYSQL_PWD"}
    env.update(kubesim.env(base), TMPDIR=str(base), NO_COLOR="1", BAK_VS_RAND="tty001",
               BAK_NOW="2026-05-04T10:00:00Z")
    kubesim.apply(f"""apiVersion: v1
kind: Namespace
metadata: {{name: {NS}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {{name: data, namespace: {NS}}}
spec: {{accessModes: [ReadWriteOnce], resources: {{requests: {{storage: 1Gi}}}}}}
""")
    # The password reaches the pod spec on stdin only (kubectl apply -f -).
    kubesim.apply(f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: app-base, namespace: {NS}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: db}}}}
  template:
    metadata: {{labels: {{app: db}}}}
    spec:
      containers:
      - name: postgres
        image: postgres:15
        env:
        - {{name: POSTGRES_USER, value: "{pg.user}"}}
        - {{name: POSTGRES_PASSWORD, value: "{pg.password}"}}
        - {{name: POSTGRES_DB, value: ttyshop}}
        volumeMounts: [{{name: data, mountPath: /var/lib/postgresql/data}}]
      volumes: [{{name: data, persistentVolumeClaim: {{claimName: data}}}}]
""")
    script = base / "out" / "namespaces" / NS / "backup-ns.sh"
    cp = subprocess.run(["bash", str(script), "create"], env=env, capture_output=True,
                        text=True, timeout=300)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    yield script, env


def spawn(script: Path, env: dict[str, str], *args: str) -> pexpect.spawn:
    return pexpect.spawn("bash", [str(script), *args], env=env, encoding="utf-8", timeout=120)


def vs_exists(kubesim: KubeSim) -> bool:
    return kubesim.kubectl("get", "volumesnapshot", VS, "-n", NS).returncode == 0


def test_delete_asks_and_no_refuses(kubesim: KubeSim, shop: tuple[Path, dict[str, str]]) -> None:
    script, env = shop
    child = spawn(script, env, "delete", VS)
    child.expect_exact(f"will delete: VolumeSnapshot {NS}/{VS} (PVC data")
    child.expect_exact("deleted for good")
    child.expect_exact(f'Delete 1 snapshot(s) in namespace {NS}? Type "yes" to delete:')
    child.sendline("no")
    child.expect_exact(f'ERROR: delete refused in namespace {NS}: the answer was not "yes". '
                       "Nothing was deleted")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1
    assert vs_exists(kubesim)


def test_dump_restore_asks_naming_namespace_and_database_and_no_refuses(
    kubesim: KubeSim, postgres_server: DbServer, shop: tuple[Path, dict[str, str]]
) -> None:
    script, env = shop
    postgres_server.sql("INSERT INTO items VALUES (3);", "ttyshop")
    child = spawn(script, env, "dump-restore", VS)
    child.expect_exact('This will REPLACE PostgreSQL database "ttyshop" with the dump of snapshot '
                       f"{VS} (taken ")
    child.expect_exact("): everything in it now (tables created after the backup too) is gone.")
    child.expect_exact(f"Namespace {NS}, deployment/app-base, container postgres.")
    child.expect_exact(f"Type the namespace name ({NS}) to restore:")
    child.sendline("yes")  # not the namespace name
    child.expect_exact(f'ERROR: dump-restore refused in namespace {NS}: the answer was not "{NS}". '
                       "Nothing was restored")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1
    assert postgres_server.sql("SELECT count(*) FROM items", "ttyshop").strip() == "3"
    # The helper pod and the scratch PVC are gone after the refusal too.
    left = kubesim.kubectl("get", "pods,pvc", "-n", NS, "-l",
                           "app.kubernetes.io/component=toolbox", "-o", "name").stdout
    assert left == ""
    # Side by side: the prompt names the new database and says the live one stays.
    child = spawn(script, env, "dump-restore", VS, "--into", "ttycopy")
    child.expect_exact(f"This will restore the dump of snapshot {VS} (taken ")
    child.expect_exact(') into a NEW PostgreSQL database "ttycopy" beside database "ttyshop", '
                       "which is not changed.")
    child.expect_exact(f"Type the namespace name ({NS}) to restore:")
    child.sendline("no")
    child.expect_exact("Nothing was restored")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1
    assert postgres_server.sql("SELECT count(*) FROM pg_database WHERE datname = 'ttycopy'"
                               ).strip() == "0"
    # The namespace name goes on: the backup's rows are back.
    child = spawn(script, env, "dump-restore", VS)
    child.expect_exact(f"Type the namespace name ({NS}) to restore:")
    child.sendline(NS)
    child.expect("dump-restore: done: PostgreSQL database ttyshop replaced by the dump of snapshot")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert postgres_server.sql("SELECT count(*) FROM items", "ttyshop").strip() == "2"


SLOW_VS = "data-2026-05-04-100000-slow01"


@pytest.fixture(scope="module")
def slow_vs(postgres_server: DbServer, shop: tuple[Path, dict[str, str]]) -> str:
    """A snapshot whose dump loads slowly: a CHECK constraint makes each row of table
    slow take 50 ms in any database but ttyshop (the load takes 20 s); ttyshop then
    gets a table after the backup and loses rows of slow."""
    script, env = shop
    pg = postgres_server
    pg.sql("""
CREATE FUNCTION slow_ok(i int) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  IF current_database() <> 'ttyshop' THEN PERFORM pg_sleep(0.05); END IF;
  RETURN true;
END $$;
CREATE TABLE slow (id int CHECK (slow_ok(id)));
INSERT INTO slow SELECT generate_series(1, 400);
""", "ttyshop")
    cp = subprocess.run(["bash", str(script), "create"], env={**env, "BAK_VS_RAND": "slow01"},
                        capture_output=True, text=True, timeout=300)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    pg.sql("CREATE TABLE after_backup (x int); DELETE FROM slow WHERE id > 10;", "ttyshop")
    return SLOW_VS


def _unchanged(pg: DbServer) -> None:
    assert pg.sql("SELECT count(*) FROM slow", "ttyshop").strip() == "10"
    assert pg.sql("SELECT count(*) FROM pg_tables WHERE tablename = 'after_backup'",
                  "ttyshop").strip() == "1"
    assert pg.sql("SELECT count(*) FROM pg_database WHERE datname LIKE 'ttyshop_%'").strip() == "0"


def _rest(child: pexpect.spawn) -> str:
    """Everything after the last match, up to the end of the output."""
    rest = str(child.buffer)
    try:
        while True:
            rest += child.read_nonblocking(4096, timeout=60)
    except pexpect.EOF:
        pass
    child.close()
    return rest


def test_dump_restore_interrupted_mid_load_leaves_the_database_unchanged_and_says_so(
    postgres_server: DbServer, shop: tuple[Path, dict[str, str]], slow_vs: str
) -> None:
    """Ctrl-C while the dump loads: one line, the last, says the database is unchanged;
    exit 130; no temporary database left."""
    script, env = shop
    child = spawn(script, env, "dump-restore", slow_vs, "--force")
    child.expect_exact("into the temporary database beside PostgreSQL database ttyshop "
                       "(an interrupt leaves ttyshop unchanged)")
    child.sendintr()
    child.expect_exact(f"ERROR: dump-restore interrupted in namespace {NS}: PostgreSQL database "
                       "ttyshop is unchanged (the load into a temporary database was rolled back "
                       "and that database dropped)")
    rest = _rest(child)
    assert child.exitstatus == 130, (child.exitstatus, child.signalstatus)
    assert rest.strip() == "", rest  # the state line is the last line
    _unchanged(postgres_server)


def test_dump_restore_interrupted_at_the_question_says_nothing_was_restored(
    postgres_server: DbServer, shop: tuple[Path, dict[str, str]], slow_vs: str
) -> None:
    script, env = shop
    child = spawn(script, env, "dump-restore", slow_vs)
    child.expect_exact(f"Type the namespace name ({NS}) to restore:")
    child.sendintr()
    child.expect_exact(f"ERROR: dump-restore interrupted in namespace {NS}: nothing was "
                       "restored; PostgreSQL database ttyshop is unchanged")
    rest = _rest(child)
    assert child.exitstatus == 130, (child.exitstatus, child.signalstatus)
    assert rest.strip() == "", rest
    _unchanged(postgres_server)


def test_dump_restore_cut_mid_load_drops_the_partial_copy_and_says_the_database_is_unchanged(
    kubesim: KubeSim, postgres_server: DbServer, shop: tuple[Path, dict[str, str]],
    slow_vs: str
) -> None:
    """The connection to the database container is cut during the load (so nothing in
    the container can clean up): the error line says the database is unchanged and the
    temporary database is gone."""
    script, env = shop
    child = spawn(script, env, "dump-restore", slow_vs)
    child.expect_exact(f"Type the namespace name ({NS}) to restore:")
    # The next exec into the database container is the load: cut it after its first line.
    kubesim.fault({"type": "exec-cut", "match": {"namespace": NS, "pod": ".*",
                                                  "container": "postgres"}, "afterBytes": 5,
                   "times": 1})
    child.sendline(NS)
    child.expect_exact(f"ERROR: PostgreSQL restore failed in deployment/app-base container "
                       f"postgres in namespace {NS}: ")
    child.expect_exact("PostgreSQL database ttyshop is unchanged (the load into a temporary "
                       "database was rolled back and that database dropped)")
    _rest(child)
    assert child.exitstatus == 1
    _unchanged(postgres_server)


def _argv_with(needle: str) -> list[str]:
    hits = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if needle in argv:
            hits.append(argv)
    return hits


def test_db_shell_is_psql_in_the_container_without_the_password_in_argv(
    postgres_server: DbServer, shop: tuple[Path, dict[str, str]]
) -> None:
    script, env = shop
    child = spawn(script, env, "db-shell")
    child.expect(r"ttyshop=[#>] ")
    assert not _argv_with(postgres_server.password)
    assert any("psql" in a and "--dbname=ttyshop" in a for a in _argv_with("--dbname=ttyshop"))
    child.sendline("SELECT 'tty' || 'ok' AS probe;")
    child.expect_exact("ttyok")
    child.sendline("\\q")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


@pytest.fixture(scope="module")
def my_shop(kubesim: KubeSim, mariadb_server: DbServer, tmp_path_factory: pytest.TempPathFactory
            ) -> tuple[Path, dict[str, str]]:
    """The rendered script of MY_NS (MySQL: StatefulSet wordpress-db, container mariadb,
    MYSQL_ROOT_PASSWORD in its env), database ttymy with one row, and its environment."""
    my = mariadb_server
    my.sql("DROP DATABASE IF EXISTS ttymy; CREATE DATABASE ttymy;")
    my.sql("CREATE TABLE items (id int PRIMARY KEY, name text);"
           " INSERT INTO items VALUES (42, 'row forty-two');", "ttymy")
    base = tmp_path_factory.mktemp("tty-my")
    (base / "backupns.yaml").write_text(
        "defaults: {timeZone: UTC, flock: {enabled: false}}\n"
        f"namespaces:\n  {MY_NS}:\n    pvcs: [data]\n    database:\n      mysql:\n"
        "        exec: statefulset/wordpress-db\n        container: mariadb\n"
        f"        host: 127.0.0.1\n        port: {my.port}\n"
        "        dumpFile: /var/lib/mysql/dump.sql.gz\n"
    )
    subprocess.run(["backupns-gen", "render", "--no-lint", "-c", str(base / "backupns.yaml"),
                    "-o", str(base / "out")], check=True, capture_output=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "MYSQL"))}
    env.update(kubesim.env(base), TMPDIR=str(base), NO_COLOR="1")
    kubesim.apply(f"""apiVersion: v1
kind: Namespace
metadata: {{name: {MY_NS}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {{name: data, namespace: {MY_NS}}}
spec: {{accessModes: [ReadWriteOnce], resources: {{requests: {{storage: 1Gi}}}}}}
""")
    # The password reaches the pod spec on stdin only (kubectl apply -f -).
    kubesim.apply(f"""apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: wordpress-db, namespace: {MY_NS}}}
spec:
  serviceName: wordpress-db
  replicas: 1
  selector: {{matchLabels: {{app: wordpress-db}}}}
  template:
    metadata: {{labels: {{app: wordpress-db}}}}
    spec:
      containers:
      - name: mariadb
        image: mariadb:11
        env:
        - {{name: MYSQL_ROOT_PASSWORD, value: "{my.password}"}}
        - {{name: MYSQL_DATABASE, value: ttymy}}
        volumeMounts: [{{name: data, mountPath: /var/lib/mysql}}]
      volumes: [{{name: data, persistentVolumeClaim: {{claimName: data}}}}]
""")
    return base / "out" / "namespaces" / MY_NS / "backup-ns.sh", env


def test_db_shell_is_mysql_in_the_container_without_the_password_in_argv(
    mariadb_server: DbServer, my_shop: tuple[Path, dict[str, str]]
) -> None:
    script, env = my_shop
    assert mariadb_server.password not in "".join(f"{k}={v}" for k, v in env.items())
    child = spawn(script, env, "db-shell")
    child.expect(r"MariaDB \[ttymy\]> ")
    # The client runs (in the "container": kubesim's exec) with the password nowhere in
    # any argv: not kubectl's, not bash -c's, not the client's.
    assert not _argv_with(mariadb_server.password)
    clients = [a for a in _argv_with("--user=root") if a.split()[0] in ("mysql", "mariadb")]
    assert clients and all("-- ttymy" in a and "--host=127.0.0.1" in a for a in clients), clients
    child.sendline("SELECT name FROM items WHERE id = 42;")
    child.expect_exact("row forty-two")
    child.expect_exact("1 row in set")
    child.expect(r"MariaDB \[ttymy\]> ")
    child.sendline("exit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


MY_VS = "data-2026-05-04-100000-mycut1"


def _cut_mysql_restore(kubesim: KubeSim, script: Path, env: dict[str, str], after: int,
                       *args: str) -> str:
    """dump-restore MY_VS ARGS with the stream to the database container cut after
    AFTER bytes of its output (the fault is set while the question waits); the
    output from the error line on."""
    child = spawn(script, env, "dump-restore", MY_VS, *args)
    child.expect_exact(f"Type the namespace name ({MY_NS}) to restore:")
    kubesim.fault({"type": "exec-cut", "match": {"namespace": MY_NS, "pod": ".*",
                                                  "container": "mariadb"},
                   "afterBytes": after, "times": 1})
    child.sendline(MY_NS)
    child.expect_exact("ERROR: MySQL restore failed in statefulset/wordpress-db container "
                       f"mariadb in namespace {MY_NS}: ")
    rest = _rest(child)
    assert child.exitstatus == 1
    return rest


def test_mysql_dump_restore_cut_after_the_drop_says_the_database_holds_part_of_the_dump(
    kubesim: KubeSim, mariadb_server: DbServer, my_shop: tuple[Path, dict[str, str]]
) -> None:
    """MySQL cannot replace a database atomically: when the stream is cut after the
    DROP/CREATE (its second stage line), the error line says so, with the table count,
    and what it says is what the server shows; --into cut off drops the new database."""
    script, env = my_shop
    my = mariadb_server
    env = {**env, "BAK_VS_RAND": "mycut1", "BAK_NOW": "2026-05-04T10:00:00Z"}
    my.sql("CREATE TABLE IF NOT EXISTS big (id int PRIMARY KEY, pad text);"
           " INSERT IGNORE INTO big SELECT seq, REPEAT('x', 200) FROM seq_1_to_20000;", "ttymy")
    cp = subprocess.run(["bash", str(script), "create"], env=env, capture_output=True,
                        text=True, timeout=300)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    my.sql("CREATE TABLE later (x int);", "ttymy")
    rest = _cut_mysql_restore(kubesim, script, env, len("stage=dropping\n") + 3)
    tables = my.sql("SELECT COUNT(*) FROM information_schema.TABLES "
                    "WHERE TABLE_SCHEMA = 'ttymy'").strip()
    part = ("MySQL database ttymy was dropped and recreated and holds only PART of the dump "
            f"({tables} table(s)): run dump-restore again")
    empty = "MySQL database ttymy was dropped and recreated and is empty: run dump-restore again"
    assert (part if tables != "0" else empty) in rest, rest
    assert my.sql("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = "
                  "'ttymy' AND TABLE_NAME = 'later'").strip() == "0"

    rest = _cut_mysql_restore(kubesim, script, env, 5, "--into", "ttycut")
    assert ("MySQL database ttycut was dropped again (its load was cut off); ttymy is "
            "untouched") in rest, rest
    assert my.sql("SELECT COUNT(*) FROM information_schema.SCHEMATA "
                  "WHERE SCHEMA_NAME = 'ttycut'").strip() == "0"

    # Run again: the backup's rows are back.
    child = spawn(script, env, "dump-restore", MY_VS, "--force")
    child.expect("dump-restore: done: MySQL database ttymy replaced by the dump")
    _rest(child)
    assert child.exitstatus == 0
    assert my.sql("SELECT name FROM items WHERE id = 42", "ttymy").strip() == "row forty-two"
    assert my.sql("SELECT COUNT(*) FROM big", "ttymy").strip() == "20000"


def test_dump_asks_before_replacing_a_dump_file_no_snapshot_holds(
    kubesim: KubeSim, postgres_server: DbServer, shop: tuple[Path, dict[str, str]]
) -> None:
    script, env = shop
    dump = kubesim.volume_dir(NS, "data") / "dump.sql.gz"
    # The backup's snapshot holds the dump file: dump replaces it without a question.
    cp = subprocess.run(["bash", str(script), "dump"], env=env, capture_output=True, text=True,
                        stdin=subprocess.DEVNULL, timeout=300)
    assert cp.returncode == 0 and "held by no snapshot" not in cp.stdout, cp.stdout + cp.stderr
    # Now the file on the volume is in no snapshot: dump asks; another answer refuses.
    postgres_server.sql("INSERT INTO items VALUES (77);", "ttyshop")
    before = dump.read_bytes()
    child = spawn(script, env, "dump")
    child.expect_exact("The dump file /var/lib/postgresql/data/dump.sql.gz on PVC data (written ")
    child.expect_exact(") is held by no snapshot: replacing it with a fresh dump loses that copy.")
    child.expect_exact(f"Type the namespace name ({NS}) to replace it:")
    child.sendline("yes")
    child.expect_exact(f'ERROR: dump refused in namespace {NS}: the answer was not "{NS}". '
                       "The dump file is unchanged")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1
    assert dump.read_bytes() == before
    # The namespace name goes on: the file holds the live rows.
    child = spawn(script, env, "dump")
    child.expect_exact(f"Type the namespace name ({NS}) to replace it:")
    child.sendline(NS)
    child.expect_exact("done: /var/lib/postgresql/data/dump.sql.gz on PVC data replaced")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert dump.read_bytes() != before
    assert b"77" in subprocess.run(["gzip", "-dc"], input=dump.read_bytes(),
                                   capture_output=True, check=True).stdout


def test_delete_yes_deletes(kubesim: KubeSim, shop: tuple[Path, dict[str, str]]) -> None:
    script, env = shop
    child = spawn(script, env, "delete", VS)
    child.expect_exact('Type "yes" to delete:')
    child.sendline("yes")
    child.expect_exact(f"deleted VolumeSnapshot {VS} and its content")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert not vs_exists(kubesim)


def test_helper_pod_meets_pod_security_restricted() -> None:
    """The helper pod manifest of the rendered script (sourced, main not run): the
    restricted profile's fields, our labels, the volume read-only, no token."""
    import json

    out = Path(__file__).resolve().parents[2] / "out"
    script = out / "namespaces" / "shop-prod" / "backup-ns.sh"
    cp = subprocess.run(
        ["bash", "-c", 'source "$1"; helper_pod_manifest pod-x pvc-y verify', "x", str(script)],
        capture_output=True, text=True, check=True, env={"PATH": os.environ["PATH"]},
    )
    pod = json.loads(cp.stdout)
    spec = pod["spec"]
    (c,) = spec["containers"]
    assert spec["securityContext"] == {
        "runAsNonRoot": True, "runAsUser": 999, "runAsGroup": 999,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert c["securityContext"] == {
        "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert spec["automountServiceAccountToken"] is False
    assert spec["volumes"] == [
        {"name": "restore", "persistentVolumeClaim": {"claimName": "pvc-y", "readOnly": True}}
    ]
    assert c["volumeMounts"][0]["readOnly"] is True and c["command"][0] == "sleep"
    assert pod["metadata"]["labels"] == {
        "app.kubernetes.io/name": "backup-ns",
        "app.kubernetes.io/component": "toolbox",
        "app.kubernetes.io/part-of": "backup-ns",
        "app.kubernetes.io/managed-by": "backupns-gen",
        "app.kubernetes.io/instance": "shop-prod",
        "backup-ns.sh/toolbox": "verify",
    }
