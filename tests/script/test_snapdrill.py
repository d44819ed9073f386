"""verify of a snapshot-mode backup (the database's own files, no dump): the drill pod
starts the database container's image on the restored PVC, crash recovery runs, then
amcheck (PostgreSQL), the tables and row counts (figures only: nothing is recorded at
the backup to compare with) and verify.checks; the result lands where a dump drill's
does. Real PostgreSQL 15 and MariaDB run as kubesim pods with their data on the PVC
(tests/poddbs.py); the drill pod runs them as the pod's uid, on a copy whose owners
kubesim kept (the MariaDB pod runs as root, so its stored snapshot is given to the
mysql uid first, as a real MariaDB container's files would be)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kubesim.fixture import KubeSim
from tests.dbs import missing_binaries
from tests.poddbs import PodDb, start_mariadb_pod, start_postgres_pod
from tests.script import drillkit as dk
from tests.script.test_snapmode import Tenant, my_config, pg_config, tenant

KUBESIM_ARGS = ["--snapshot-ready-delay", "0"]

pytestmark = pytest.mark.skipif(
    bool(missing_binaries("postgres") or missing_binaries("mariadb")),
    reason=str(missing_binaries("postgres") or missing_binaries("mariadb")),
)

PG_RESULT = (
    r"ok: mode=snapshot recovered in \d+s tables=2 rows=43"
    r" \(not compared: no count is recorded at a snapshot-mode backup\)"
    r" amcheck=\d+ checks=2 restore=\d+s"
)
PG_SEED = (
    "CREATE TABLE orders (id int PRIMARY KEY, item text NOT NULL);"
    "INSERT INTO orders SELECT g, 'order ' || g FROM generate_series(1, 40) g;"
    "CREATE TABLE items (id int, name text);"
    "INSERT INTO items VALUES (1, 'a'), (2, 'b'), (3, 'c');"
)
MY_SEED = (
    "CREATE TABLE posts (id int PRIMARY KEY, title text) ENGINE=InnoDB;"
    "INSERT INTO posts VALUES (1, 'hello'), (2, 'world');"
    "CREATE TABLE tags (id int) ENGINE=MyISAM;"
)


def serve(sim: KubeSim, base: Path, ns: str, start: Callable[[KubeSim, str], PodDb],
          seed: str, config: Callable[[PodDb], str], uid: int,
          checks: list[str]) -> Iterator[Tenant]:  # fmt: skip
    """A snapshot-mode tenant whose database (started by START, SEED run in it) has
    verify.checks CHECKS and drills as UID."""
    sim.kubectl("create", "namespace", ns, check=True)
    db = start(sim, ns)
    db.server.sql(seed, "shop")
    listed = "".join(f"\n        - {c!r}" for c in checks)
    verify = f"    verify:\n      runAsUser: {uid}\n      timeout: 3m\n      checks:{listed}\n"
    try:
        yield tenant(sim, base, ns, db, config(db) + verify)
    finally:
        db.stop(sim)


@pytest.fixture(scope="module")
def pg(kubesim: KubeSim, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tenant]:
    checks = ["SELECT count(*) = 40 FROM orders", "SELECT max(id) = 3 FROM items"]
    yield from serve(kubesim, tmp_path_factory.mktemp("pg"), "snapdrill-pg", start_postgres_pod,
                     PG_SEED, pg_config, dk.PG_UID, checks)  # fmt: skip


@pytest.fixture(scope="module")
def my(kubesim: KubeSim, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tenant]:
    yield from serve(kubesim, tmp_path_factory.mktemp("my"), "snapdrill-my", start_mariadb_pod,
                     MY_SEED, my_config, dk.MY_UID, ["SELECT count(*) > 0 FROM posts"])  # fmt: skip


def events(sim: KubeSim, ns: str, name: str) -> list[str]:
    jsonpath = "jsonpath={range .items[*]}{.reason} {.message}{'\\n'}{end}"
    selector = f"involvedObject.name={name}"
    got = sim.kubectl("-n", ns, "get", "events", "--field-selector", selector, "-o", jsonpath)
    return got.stdout.splitlines()


def test_a_postgres_snapshot_drill_recovers_and_records_the_figures(
    pg: Tenant, kubesim: KubeSim
) -> None:
    name = pg.create()[0]
    ann = dk.annotations(kubesim, pg.ns, name)
    assert ann["backup-ns.sh/db-data-mount"] == "/var/lib/postgresql/data"
    cp = pg.run("verify", name)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert "on the restored data directory pgdata: crash recovery" in cp.stdout, cp.stdout
    ann = dk.annotations(kubesim, pg.ns, name)
    result = ann["backup-ns.sh/verified-result"]
    assert re.fullmatch(PG_RESULT, result), result
    assert int(re.search(r"amcheck=(\d+)", result).group(1)) > 0  # type: ignore[union-attr]
    assert ann["backup-ns.sh/verified-ok"] == "true"
    assert f"DrillPassed VolumeSnapshot {name}: {result}" in events(kubesim, pg.ns, name)
    listed = pg.run("list")
    assert re.search(rf"{name} .* ok mode=snapshot recovered", listed.stdout), listed.stdout
    assert dk.leftovers(kubesim, pg.ns) == []
    kubesim.wait_for(lambda: dk.drill_pids(kubesim) == [], 30)


def test_a_postgres_snapshot_without_pg_control_fails_in_one_line(
    pg: Tenant, kubesim: KubeSim
) -> None:
    name = pg.create()[0]
    (dk.snapshot_dir(kubesim, pg.ns, name) / "pgdata" / "global" / "pg_control").unlink()
    cp = pg.run("verify", name)
    assert cp.returncode == 1, cp.stdout + cp.stderr
    last = cp.stderr.splitlines()[-1]
    assert last.startswith(
        f"ERROR: verify of {name} failed: drill in namespace {pg.ns}: the server did not start"
        " on the restored data directory (crash recovery failed): "
    ), cp.stderr
    assert "pg_control" in last, last
    assert last.endswith("see docs/runbook.md (reading a drill result)"), last
    ann = dk.annotations(kubesim, pg.ns, name)
    assert ann["backup-ns.sh/verified-ok"] == "false"
    assert ann["backup-ns.sh/verified-result"].startswith("failed: drill: the server did not")
    assert dk.leftovers(kubesim, pg.ns) == []
    kubesim.wait_for(lambda: dk.drill_pids(kubesim) == [], 30)


def test_a_postgres_snapshot_drill_fails_on_a_false_check(pg: Tenant, kubesim: KubeSim) -> None:
    pg.db.server.sql("INSERT INTO items VALUES (4, 'd')", "shop")
    try:
        name = pg.create()[0]
        cp = pg.run("verify", name)
    finally:
        pg.db.server.sql("DELETE FROM items WHERE id = 4", "shop")
    assert cp.returncode == 1, cp.stdout + cp.stderr
    assert cp.stderr.splitlines()[-1].startswith(
        f'ERROR: verify of {name} failed: drill in namespace {pg.ns}: check 2 returned "f",'
        " not true: SELECT max(id) = 3 FROM items."
    ), cp.stderr
    assert dk.annotations(kubesim, pg.ns, name)["backup-ns.sh/verified-ok"] == "false"
    assert dk.leftovers(kubesim, pg.ns) == []


def test_a_mariadb_snapshot_drill_recovers_and_records_the_figures(
    my: Tenant, kubesim: KubeSim
) -> None:
    name = my.create()[0]
    dk.own_snapshot(kubesim, my.ns, name, dk.MY_UID)
    cp = my.run("verify", name)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    result = dk.annotations(kubesim, my.ns, name)["backup-ns.sh/verified-result"]
    assert re.fullmatch(
        r"ok: mode=snapshot recovered in \d+s tables=2 rows=2"
        r" \(not compared: no count is recorded at a snapshot-mode backup\)"
        r" checks=1 restore=\d+s",
        result,
    ), result
    assert dk.leftovers(kubesim, my.ns) == []
    kubesim.wait_for(lambda: dk.drill_pids(kubesim) == [], 30)


@pytest.fixture(scope="module")
def slow(kubesim: KubeSim, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tenant]:
    """A PostgreSQL tenant whose check takes 60 s: the drill is caught while it runs."""
    yield from serve(kubesim, tmp_path_factory.mktemp("slow"), "snapdrill-sig", start_postgres_pod,
                     PG_SEED, pg_config, dk.PG_UID,
                     ["SELECT (SELECT 1 FROM pg_sleep(60)) = 1"])  # fmt: skip


def test_sigterm_during_a_snapshot_drill_leaves_nothing(slow: Tenant, kubesim: KubeSim) -> None:
    name = slow.create()[0]
    proc = subprocess.Popen(["bash", str(slow.script), "verify", name], env=slow.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    code, err = dk.terminate_while_drilling(kubesim, proc)
    assert code == 143, err
    kubesim.wait_for(lambda: dk.leftovers(kubesim, slow.ns) == [], 30)
    kubesim.wait_for(lambda: dk.drill_pids(kubesim) == [], 30)
