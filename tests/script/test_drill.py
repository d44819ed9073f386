"""verify's restore drill with real PostgreSQL 15 and MariaDB behind kubesim: create
records the tables and row counts beside the dump; verify loads the dump into a scratch
server started from the database container's image (kubesim's kubelet runs it as a
local process as the pod's uid), compares, runs verify.checks and records the figures
on the snapshot, in an Event and in list; the drill pod and the scratch PVC are gone
after every ending (success, failure, timeout, SIGTERM)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubesim.fixture import KubeSim
from tests.dbs import DbServer, mariadb_server, postgres_server
from tests.script import drillkit as dk

__all__ = ["mariadb_server", "postgres_server"]
KUBESIM_ARGS = ["--snapshot-ready-delay", "0"]
FILES_COMMAND = [
    "bash",
    "-c",
    "test -s /backup-ns/restore/robots.txt || { echo no robots.txt; exit 1; }",
]
CHECKS = {
    dk.PG_NS: ["SELECT count(*) = 40 FROM shop.orders", "SELECT max(id) = 3 FROM public.items"],
    dk.MY_NS: ["SELECT count(*) > 0 FROM posts"],
}


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory, postgres_server: DbServer,
        mariadb_server: DbServer) -> Path:  # fmt: skip
    cfg = dk.config(postgres_server, mariadb_server, CHECKS, files_command=FILES_COMMAND)
    return dk.render(tmp_path_factory.mktemp("drill"), cfg)


@pytest.fixture(scope="module")
def seeded(
    kubesim: KubeSim, postgres_server: DbServer, mariadb_server: DbServer
) -> Iterator[KubeSim]:
    pg, my = postgres_server, mariadb_server
    pg.sql("DROP DATABASE IF EXISTS drillshop WITH (FORCE)")
    pg.sql("CREATE DATABASE drillshop")
    pg.sql("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'drill_owner') "
           "THEN CREATE ROLE drill_owner NOLOGIN; END IF; END $$;")  # fmt: skip
    pg.sql(
        "CREATE SCHEMA shop AUTHORIZATION drill_owner;"
        "CREATE TABLE shop.orders (id int PRIMARY KEY, item text NOT NULL);"
        "INSERT INTO shop.orders SELECT g, 'order ' || g FROM generate_series(1, 40) g;"
        "ALTER TABLE shop.orders OWNER TO drill_owner;"
        "CREATE TABLE public.items (id int, name text);"
        "INSERT INTO public.items VALUES (1, 'a'), (2, 'b'), (3, 'c');"
        'CREATE TABLE public."Odd Name" (x int);',
        "drillshop",
    )
    my.sql("DROP DATABASE IF EXISTS drillblog; CREATE DATABASE drillblog;")
    my.sql("CREATE TABLE posts (id int PRIMARY KEY, title text);"
           "INSERT INTO posts VALUES (1, 'hello'), (2, 'world');"
           "CREATE TABLE tags (id int);", "drillblog")  # fmt: skip
    dk.seed(kubesim, pg, my, "drillshop", "drillblog")
    www = kubesim.volume_dir(dk.FILES_NS, "www")
    (www / "site").mkdir(parents=True, exist_ok=True)
    (www / "site" / "index.html").write_text("hello\n")
    (www / "robots.txt").write_text("x" * 100)
    yield kubesim


def test_a_postgres_drill_passes_on_a_good_backup_and_records_the_figures(
    seeded: KubeSim, out: Path, tmp_path: Path
) -> None:
    sim = seeded
    got = dk.script(out, dk.PG_NS, "create", sim=sim, tmp=tmp_path)
    assert got.code == 0, got.err
    name = re.search(rf"created ({dk.VS_RE})", got.out).group(1)  # type: ignore[union-attr]
    record = (sim.volume_dir(dk.PG_NS, "data") / "dump.sql.gz.tables").read_text()
    assert record.splitlines()[:2] == ["backup-ns-record 1", f"namespace {dk.PG_NS}"]
    assert "table 40 40 shop.orders" in record.splitlines()
    assert 'table 0 0 public."Odd Name"' in record.splitlines()
    assert "role drill_owner" in record.splitlines()
    dk.own_snapshot(sim, dk.PG_NS, name, dk.PG_UID)
    got = dk.script(out, dk.PG_NS, "verify", name, sim=sim, tmp=tmp_path)
    assert got.code == 0, got.out + got.err
    ann = dk.annotations(sim, dk.PG_NS, name)
    result = ann["backup-ns.sh/verified-result"]
    assert re.fullmatch(
        r"ok: tables=3 rows=43 checks=2 bytes=\d+ load=\d+s restore=\d+s", result
    ), result
    assert ann["backup-ns.sh/verified-ok"] == "true"
    assert dk.leftovers(sim, dk.PG_NS) == []
    jsonpath = "jsonpath={range .items[*]}{.reason} {.message}{'\\n'}{end}"
    events = sim.kubectl("-n", dk.PG_NS, "get", "events", "--field-selector",
                         f"involvedObject.name={name}", "-o", jsonpath).stdout  # fmt: skip
    assert f"DrillPassed VolumeSnapshot {name}: {result}" in events.splitlines()
    listed = dk.script(out, dk.PG_NS, "list", sim=sim, tmp=tmp_path)
    assert re.search(rf"{name} .* ok tables=3 rows=43", listed.out), listed.out


def test_a_mariadb_drill_passes_on_a_good_backup(
    seeded: KubeSim, out: Path, tmp_path: Path
) -> None:
    sim = seeded
    got = dk.script(out, dk.MY_NS, "create", sim=sim, tmp=tmp_path)
    assert got.code == 0, got.err
    name = re.search(rf"created ({dk.VS_RE})", got.out).group(1)  # type: ignore[union-attr]
    record = (sim.volume_dir(dk.MY_NS, "data") / "dump.sql.gz.tables").read_text().splitlines()
    assert {"table 2 2 posts", "table 0 0 tags"} <= set(record)
    dk.own_snapshot(sim, dk.MY_NS, name, dk.MY_UID)
    got = dk.script(out, dk.MY_NS, "verify", name, sim=sim, tmp=tmp_path)
    assert got.code == 0, got.out + got.err
    result = dk.annotations(sim, dk.MY_NS, name)["backup-ns.sh/verified-result"]
    assert re.fullmatch(r"ok: tables=2 rows=2 checks=1 bytes=\d+ load=\d+s restore=\d+s", result), (
        result
    )
    assert dk.leftovers(sim, dk.MY_NS) == []
    sim.wait_for(lambda: dk.drill_pids(sim) == [], 30)


def test_a_volume_drill_counts_files_and_bytes_and_runs_verify_command(
    seeded: KubeSim, out: Path, tmp_path: Path
) -> None:
    sim = seeded
    got = dk.script(out, dk.FILES_NS, "create", sim=sim, tmp=tmp_path)
    assert got.code == 0, got.err
    name = re.search(r"created (www-\S+)", got.out).group(1)  # type: ignore[union-attr]
    got = dk.script(out, dk.FILES_NS, "verify", name, sim=sim, tmp=tmp_path)
    assert got.code == 0, got.out + got.err
    result = dk.annotations(sim, dk.FILES_NS, name)["backup-ns.sh/verified-result"]
    assert re.fullmatch(r"ok: files=2 bytes=106 command=passed restore=\d+s", result), result
    assert dk.leftovers(sim, dk.FILES_NS) == []
    # verify.command fails on a snapshot without the file it looks for
    (sim.volume_dir(dk.FILES_NS, "www") / "robots.txt").unlink()
    got = dk.script(out, dk.FILES_NS, "create", sim=sim, tmp=tmp_path, BAK_VS_RAND="nor001")
    assert got.code == 0, got.err
    name = re.search(r"created (www-\S+)", got.out).group(1)  # type: ignore[union-attr]
    got = dk.script(out, dk.FILES_NS, "verify", name, sim=sim, tmp=tmp_path)
    assert got.code == 1, got.out + got.err
    result = dk.annotations(sim, dk.FILES_NS, name)["backup-ns.sh/verified-result"]
    assert result == "failed: verify.command: no robots.txt", result
    assert dk.leftovers(sim, dk.FILES_NS) == []


def _pg_snapshot(sim: KubeSim, out: Path, tmp: Path, rand: str) -> str:
    got = dk.script(out, dk.PG_NS, "create", sim=sim, tmp=tmp, BAK_VS_RAND=rand)
    assert got.code == 0, got.err
    name = re.search(rf"created ({dk.VS_RE})", got.out).group(1)  # type: ignore[union-attr]
    dk.own_snapshot(sim, dk.PG_NS, name, dk.PG_UID)
    return name


def _nothing_left(sim: KubeSim, tmp: Path) -> None:
    sim.wait_for(lambda: dk.leftovers(sim, dk.PG_NS) == [], 30)
    sim.wait_for(lambda: dk.drill_pids(sim) == [], 30)
    assert list((tmp / "work").iterdir()) == []


def test_a_drill_that_times_out_fails_and_leaves_nothing(
    seeded: KubeSim, out: Path, tmp_path: Path
) -> None:
    name = _pg_snapshot(seeded, out, tmp_path, "tmo001")
    # the drill pod cannot finish within 1s: its containers start only after 30s
    hold = {"namespace": dk.PG_NS, "pod": "backup-ns-drill-.*"}
    seeded.fault({"type": "pod-start", "match": hold, "seconds": 30, "times": 1})
    got = dk.script(
        out, dk.PG_NS, "verify", name, sim=seeded, tmp=tmp_path, BAK_TOOLBOX_TIMEOUT="1s"
    )
    assert got.code == 1, got.out + got.err
    assert "did not finish within 1s" in got.err, got.err
    result = dk.annotations(seeded, dk.PG_NS, name)["backup-ns.sh/verified-result"]
    assert result.startswith("failed: drill: drill pod backup-ns-drill-"), result
    _nothing_left(seeded, tmp_path)


def test_sigterm_during_a_drill_leaves_nothing(seeded: KubeSim, out: Path, tmp_path: Path) -> None:
    name = _pg_snapshot(seeded, out, tmp_path, "sig001")
    proc = dk.start(out, dk.PG_NS, "verify", name, sim=seeded, tmp=tmp_path)
    code, err = dk.terminate_while_drilling(seeded, proc)
    assert code == 143, err
    _nothing_left(seeded, tmp_path)
