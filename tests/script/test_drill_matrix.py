"""The drill's catch rate: each case makes a good backup with the rendered script (real
PostgreSQL 15 or MariaDB behind kubesim), breaks it one way, and verify must fail and
record the failure; each untouched control must pass. Where a break would be caught
already by the sha256 the snapshot records (and the case is about a later line of
defence), the annotations and the record are rewritten to match the broken dump, as
someone who can write the volume and edit the snapshot could.

A namespace without a database (VOL_NS) is drilled by counting its restored volume
against the count create took in the pod of verify.countIn while a pre hook held it
still (kubesim runs that exec as a local process with the pod's volumes).

Run with ``-s`` to see each case's one-line result."""

from __future__ import annotations

import gzip
import hashlib
import re
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kubesim.fixture import KubeSim
from tests.dbs import DbServer, mariadb_server, postgres_server
from tests.script import drillkit as dk

__all__ = ["mariadb_server", "postgres_server"]
KUBESIM_ARGS = ["--snapshot-ready-delay", "0"]
PG2_NS = "drill-pg2"
VOL_NS = "drill-vol"
VOL = {
    "pvcs": ["data", "other"], "database": "none",
    "hooks": {"pre": [{"exec": "deployment/web", "container": "nginx", "command": ["sync"]}]},
    "verify": {"countIn": "deployment/web"},
}  # fmt: skip
CHECKS = {dk.PG_NS: ["SELECT count(*) = 40 FROM shop.orders"], dk.MY_NS: []}
EXT_DIR = Path("/usr/share/postgresql/15/extension")


@dataclass
class Case:
    ns: str
    db: DbServer
    sim: KubeSim
    out: Path
    tmp: Path
    name: str = ""
    """The snapshot under test (set by the backup)."""

    @property
    def dir(self) -> Path:
        return dk.snapshot_dir(self.sim, self.ns, self.name)

    def create(self, rand: str) -> None:
        got = dk.script(self.out, self.ns, "create", sim=self.sim, tmp=self.tmp, BAK_VS_RAND=rand)
        assert got.code == 0, got.out + got.err
        self.name = re.search(rf"created ({dk.VS_RE})", got.out).group(1)  # type: ignore[union-attr]

    def annotate(self, **values: str) -> None:
        pairs = [f"backup-ns.sh/{k.replace('_', '-')}={v}" for k, v in values.items()]
        vs = "volumesnapshots.snapshot.storage.k8s.io"
        self.sim.kubectl("-n", self.ns, "annotate", "--overwrite", vs, self.name, *pairs,
                         check=True)  # fmt: skip

    def replace_dump(self, data: bytes) -> None:
        """The dump becomes DATA; the annotations and the record's sha256 follow it."""
        (self.dir / "dump.sql.gz").write_bytes(data)
        sha = hashlib.sha256(data).hexdigest()
        record = self.dir / "dump.sql.gz.tables"
        text = re.sub(r"(?m)^sha256 .*$", f"sha256 {sha}", record.read_text())
        record.write_text(text)
        self.annotate(dump_size=str(len(data)), dump_sha256=sha)


def pg_dump(db: DbServer, database: str, *args: str, user: str = "") -> bytes:
    env = db.client_env()
    if user:
        env["PGPASSWORD"] = "reader"
    argv = ["pg_dump", "-h", db.host, "-p", str(db.port), "-U", user or db.user,
            "--format=p", "--clean", "--if-exists", *args, database]  # fmt: skip
    cp = subprocess.run(argv, env=env, capture_output=True, check=True)
    return gzip.compress(cp.stdout)


def reset_pg(db: DbServer, database: str, orders: int = 40) -> None:
    db.sql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    db.sql(f"CREATE DATABASE {database}")
    db.sql(
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'drill_owner') "
        "THEN CREATE ROLE drill_owner NOLOGIN; END IF; "
        "IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'drill_reader') "
        "THEN CREATE ROLE drill_reader LOGIN PASSWORD 'reader'; END IF; END $$;"
    )
    db.sql(
        "CREATE SCHEMA shop AUTHORIZATION drill_owner;"
        "CREATE TABLE shop.orders (id int PRIMARY KEY, owner text NOT NULL);"
        f"INSERT INTO shop.orders SELECT g, CASE WHEN g % 2 = 0 THEN 'drill_reader' ELSE 'x' END"
        f" FROM generate_series(1, {orders}) g;"
        "CREATE TABLE public.items (id int, name text);"
        "INSERT INTO public.items VALUES (1, 'a'), (2, 'b'), (3, 'c');"
        "GRANT SELECT ON public.items TO drill_reader;",
        database,
    )


# -- the breaks ------------------------------------------------------------------------


def truncated_gzip(c: Case) -> None:
    f = c.dir / "dump.sql.gz"
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])


def flipped_byte(c: Case) -> None:
    f = c.dir / "dump.sql.gz"
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0x01  # inside the deflate stream: its CRC no longer matches
    f.write_bytes(bytes(data))


def sha_rewritten(c: Case) -> None:
    data = bytearray((c.dir / "dump.sql.gz").read_bytes())
    data[len(data) // 2] ^= 0x01
    c.replace_dump(bytes(data))  # same size, annotations and record match the bad file


def missing_table(c: Case) -> None:
    # a role that cannot use schema shop: its dump (only what it may read) lacks shop.orders
    c.replace_dump(pg_dump(c.db, "drillshop", "--schema=public", user="drill_reader"))


def rls_hidden(c: Case) -> None:
    # a policy shows the dumping role only its own rows; pg_dump --enable-row-security
    c.db.sql(
        "GRANT USAGE ON SCHEMA shop TO drill_reader; GRANT SELECT ON shop.orders TO drill_reader;"
        "ALTER TABLE shop.orders ENABLE ROW LEVEL SECURITY;"
        "CREATE POLICY mine ON shop.orders FOR SELECT USING (owner = current_user);",
        "drillshop",
    )
    c.replace_dump(pg_dump(c.db, "drillshop", "--enable-row-security", user="drill_reader"))


def wrong_pvc(c: Case) -> None:
    other = c.name.replace("data-", "other-", 1)
    ann = dk.annotations(c.sim, c.ns, c.name)
    c.name = other  # the snapshot of PVC other, labelled as holding the dump
    c.annotate(**{k.split("/", 1)[1].replace("-", "_"): v for k, v in ann.items()
                  if k.startswith("backup-ns.sh/dump-")})  # fmt: skip


def empty_volume(c: Case) -> None:
    for p in c.dir.iterdir():
        shutil.rmtree(p) if p.is_dir() else p.unlink()


def other_namespace(c: Case) -> None:
    other = Case(PG2_NS, c.db, c.sim, c.out, c.tmp)
    other.create("oth001")
    for f in ("dump.sql.gz", "dump.sql.gz.tables", "dump.sql.gz.info"):
        shutil.copy2(other.dir / f, c.dir / f)
    data = (c.dir / "dump.sql.gz").read_bytes()
    c.annotate(dump_size=str(len(data)), dump_sha256=hashlib.sha256(data).hexdigest())


def check_false(c: Case) -> None:
    pass  # the database had 39 orders when backed up (see BEFORE): the check wants 40


def vol_wrong_pvc(c: Case) -> None:
    other = c.name.replace("data-", "other-", 1)
    count = dk.annotations(c.sim, c.ns, c.name)["backup-ns.sh/volume-count"]
    c.name = other  # the snapshot of PVC other, carrying data's count
    c.annotate(volume_count=count)


def vol_file_removed(c: Case) -> None:
    (c.dir / "site" / "index.html").unlink()


def my_rows_changed(c: Case) -> None:
    c.db.sql("DELETE FROM posts WHERE id = 2", "drillblog")
    cp = subprocess.run(["mariadb-dump", "--no-defaults", "-h", c.db.host, "-P", str(c.db.port),
                         "-u", c.db.user, "--compact", "--add-drop-table", "drillblog"],
                        env=c.db.client_env(), capture_output=True, check=True)  # fmt: skip
    c.replace_dump(gzip.compress(cp.stdout))


def my_truncated(c: Case) -> None:
    truncated_gzip(c)


def untouched(c: Case) -> None:
    pass


Break = Callable[[Case], None]
# name: (namespace, break, the drill passes)
MATRIX: dict[str, tuple[str, Break, bool]] = {
    "truncated-gzip": (dk.PG_NS, truncated_gzip, False),
    "flipped-byte-crc": (dk.PG_NS, flipped_byte, False),
    "sha256-rewritten-to-match": (dk.PG_NS, sha_rewritten, False),
    "missing-table-role-without-access": (dk.PG_NS, missing_table, False),
    "rows-hidden-by-rls": (dk.PG_NS, rls_hidden, False),
    "fails-to-load-missing-extension": (dk.PG_NS, untouched, False),
    "snapshot-of-the-wrong-pvc": (dk.PG_NS, wrong_pvc, False),
    "empty-volume": (dk.PG_NS, empty_volume, False),
    "dump-of-another-namespace": (dk.PG_NS, other_namespace, False),
    "user-check-false": (dk.PG_NS, check_false, False),
    "mariadb-rows-changed": (dk.MY_NS, my_rows_changed, False),
    "mariadb-truncated-gzip": (dk.MY_NS, my_truncated, False),
    "volume-snapshot-of-the-wrong-pvc": (VOL_NS, vol_wrong_pvc, False),
    "volume-file-removed": (VOL_NS, vol_file_removed, False),
    "volume-emptied": (VOL_NS, empty_volume, False),
    "control-postgres": (dk.PG_NS, untouched, True),
    "control-mariadb": (dk.MY_NS, untouched, True),
    "control-volume": (VOL_NS, untouched, True),
}


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory, postgres_server: DbServer,
        mariadb_server: DbServer) -> Path:  # fmt: skip
    cfg = dk.config(postgres_server, mariadb_server, CHECKS)
    pg2 = dict(cfg["namespaces"][dk.PG_NS])
    pg2["verify"] = {**pg2["verify"], "checks": []}
    cfg["namespaces"][PG2_NS] = pg2
    cfg["namespaces"][VOL_NS] = VOL
    return dk.render(tmp_path_factory.mktemp("matrix"), cfg)


@pytest.fixture(scope="module")
def sim(kubesim: KubeSim, postgres_server: DbServer, mariadb_server: DbServer) -> KubeSim:
    reset_pg(postgres_server, "drillshop")
    reset_pg(postgres_server, "drillshop2", orders=7)
    mariadb_server.sql("DROP DATABASE IF EXISTS drillblog; CREATE DATABASE drillblog;")
    dk.seed(kubesim, postgres_server, mariadb_server, "drillshop", "drillblog")
    deployed = __import__("tests.deployed", fromlist=["x"])
    deployed.apply_objects(kubesim, deployed.volumes({PG2_NS: ["data", "other"]}))
    deployed.apply_objects(
        kubesim, [deployed.postgres_workload(PG2_NS, postgres_server, "drillshop2")]
    )
    deployed.apply_objects(kubesim, deployed.volumes({VOL_NS: ["data", "other"]}))
    deployed.apply_objects(kubesim, [deployed.web_workload(VOL_NS, "web", "data", "/srv/www")])
    data, other = kubesim.volume_dir(VOL_NS, "data"), kubesim.volume_dir(VOL_NS, "other")
    (data / "site").mkdir(parents=True, exist_ok=True)
    (data / "site" / "index.html").write_text("hello\n")
    (data / "robots.txt").write_text("x" * 100)
    other.mkdir(parents=True, exist_ok=True)
    (other / "app.log").write_text("another volume\n")
    return kubesim


@pytest.fixture
def extension(postgres_server: DbServer) -> Iterator[str]:
    """An extension installed only while the backup is made (as if the production
    container had files the image lacks)."""
    name = f"drillx_{uuid.uuid4().hex[:8]}"
    control, sql = EXT_DIR / f"{name}.control", EXT_DIR / f"{name}--1.0.sql"
    control.write_text("default_version = '1.0'\nrelocatable = true\n")
    sql.write_text(f"CREATE FUNCTION {name}_one() RETURNS int LANGUAGE sql AS 'SELECT 1';\n")
    try:
        yield name
    finally:
        control.unlink(missing_ok=True)
        sql.unlink(missing_ok=True)


@pytest.mark.parametrize("case", list(MATRIX))
def test_the_drill_catches_every_broken_backup(
    case: str, sim: KubeSim, out: Path, tmp_path: Path, postgres_server: DbServer,
    mariadb_server: DbServer, request: pytest.FixtureRequest,
) -> None:  # fmt: skip
    ns, breaks, passes = MATRIX[case]
    db = postgres_server if ns == dk.PG_NS else mariadb_server
    if ns == dk.PG_NS:
        reset_pg(db, "drillshop", orders=39 if breaks is check_false else 40)
    elif ns == dk.MY_NS:
        db.sql("DROP TABLE IF EXISTS posts; CREATE TABLE posts (id int PRIMARY KEY, title text);"
               "INSERT INTO posts VALUES (1, 'hello'), (2, 'world');", "drillblog")  # fmt: skip
    c = Case(ns, db, sim, out, tmp_path)
    if case == "fails-to-load-missing-extension":
        ext = request.getfixturevalue("extension")
        db.sql(f"CREATE EXTENSION {ext}", "drillshop")
        c.create("m" + uuid.uuid4().hex[:5])
        for f in EXT_DIR.glob(f"{ext}*"):
            f.unlink()
    else:
        c.create("m" + uuid.uuid4().hex[:5])
    breaks(c)
    if ns != VOL_NS:
        dk.own_snapshot(sim, c.ns, c.name, dk.PG_UID if ns == dk.PG_NS else dk.MY_UID)
    got = dk.script(out, c.ns, "verify", c.name, sim=sim, tmp=tmp_path)
    result = dk.annotations(sim, c.ns, c.name).get("backup-ns.sh/verified-result", "")
    print(f"\n{case:36} {'pass' if got.code == 0 else 'FAIL'}  {result}")
    if passes:
        assert got.code == 0, got.out + got.err
        assert result.startswith("ok: files=" if ns == VOL_NS else "ok: tables="), result
        assert ns != VOL_NS or " recorded=same " in result, result
    else:
        assert got.code == 1, got.out + got.err
        assert result.startswith("failed: "), result
        assert len(got.err.splitlines()) == 1, got.err
    assert dk.leftovers(sim, c.ns) == []
