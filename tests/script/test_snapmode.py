"""Snapshot mode (database.<kind>.mode: snapshot): the snapshots hold the database's
own files, cut at one instant, and a server started on them recovers.

Real PostgreSQL and MariaDB run as a kubesim pod's container with their data on the
PVC (tests/poddbs.py); kubesim cuts a snapshot while every process using the volume
stands still (kubesim/freeze.py), as a block device's snapshot is one instant. The
recovery tests run a write load (committed inserts whose ids the client logs once
COMMIT returned) through RECOVERY_RUNS backups, then start the real server on each
snapshot's files: it must recover, amcheck / CHECK TABLE must find nothing, and every
insert that was committed before the cut (the content's creationTime in ns, taken
before the copy starts) must be there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kubesim.fixture import KubeSim
from tests.dbs import DbServer, missing_binaries
from tests.poddbs import PodDb, start_mariadb_pod, start_postgres_pod, start_recovered

KUBESIM_ARGS = ["--snapshot-ready-delay", "0"]
RECOVERY_RUNS = int(os.environ.get("BACKUPNS_RECOVERY_RUNS", "20"))

pytestmark = pytest.mark.skipif(
    bool(missing_binaries("postgres") or missing_binaries("mariadb")),
    reason=str(missing_binaries("postgres") or missing_binaries("mariadb")),
)


@dataclass
class Tenant:
    ns: str
    db: PodDb
    script: Path
    env: dict[str, str]
    runs: int = 0

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(self.script), *args],
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def create(self) -> tuple[str, dict[str, Any]]:
        """One backup; the snapshot's name and its VolumeSnapshot."""
        self.runs += 1
        cp = self.run("create", BAK_VS_RAND=f"r{self.runs:04d}")
        assert cp.returncode == 0, cp.stdout + cp.stderr
        name = cp.stdout.rsplit("done: created ", 1)[1].split()[0]
        return name, {"log": cp.stdout + cp.stderr}


def render(base: Path, ns: str, database: str, pvcs: str = "[data]") -> Path:
    (base / "backupns.yaml").write_text(
        "defaults: {timeZone: UTC, lock: {mode: none}}\n"
        f"namespaces:\n  {ns}:\n    pvcs: {pvcs}\n    database:\n{database}"
    )
    subprocess.run(
        [
            "backupns-gen",
            "render",
            "--no-lint",
            "-c",
            str(base / "backupns.yaml"),
            "-o",
            str(base / "out"),
        ],
        check=True,
        capture_output=True,
    )
    return base / "out" / "namespaces" / ns / "backup-ns.sh"


def tenant(
    sim: KubeSim, base: Path, ns: str, db: PodDb, database: str, pvcs: str = "[data]"
) -> Tenant:
    script = render(base, ns, database, pvcs)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "MYSQL"))}
    env.update(sim.env(base), TMPDIR=str(base), NO_COLOR="1")
    return Tenant(ns, db, script, env)


def pg_config(db: PodDb) -> str:
    return (
        f"      postgres: {{exec: deployment/{db.deployment}, container: postgres,\n"
        f"                 mode: snapshot, host: 127.0.0.1, port: {db.server.port},\n"
        "                 database: shop}\n"
    )


def my_config(db: PodDb) -> str:
    return (
        f"      mysql: {{exec: deployment/{db.deployment}, container: mariadb, mode: snapshot,\n"
        f"              port: {db.server.port}, database: shop}}\n"
    )


def namespace(sim: KubeSim, ns: str) -> None:
    sim.kubectl("create", "namespace", ns, check=True)


@pytest.fixture(scope="module")
def pg(kubesim: KubeSim, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tenant]:
    namespace(kubesim, "snap-pg")
    db = start_postgres_pod(kubesim, "snap-pg")
    try:
        yield tenant(kubesim, tmp_path_factory.mktemp("pg"), "snap-pg", db, pg_config(db))
    finally:
        db.stop(kubesim)


@pytest.fixture(scope="module")
def my(kubesim: KubeSim, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tenant]:
    namespace(kubesim, "snap-my")
    db = start_mariadb_pod(kubesim, "snap-my")
    db.server.sql("CREATE TABLE probe (i int)", "shop")
    try:
        yield tenant(kubesim, tmp_path_factory.mktemp("my"), "snap-my", db, my_config(db))
    finally:
        db.stop(kubesim)


def snapshot_files(sim: KubeSim, ns: str, name: str) -> tuple[Path, int, dict[str, str]]:
    """The snapshot's files, its cut (ns, before the copy started) and annotations."""
    vs = sim.get_json("vs", name, "-n", ns)
    content = sim.get_json("vsc", vs["status"]["boundVolumeSnapshotContentName"])
    files = sim.state_dir / "snapshots" / str(content["status"]["snapshotHandle"])
    return files, int(content["status"]["creationTime"]), dict(vs["metadata"]["annotations"])


# -- the write load --------------------------------------------------------------------


@dataclass
class Load:
    """Committed inserts in a loop, one client session; ``done`` logs (id, the wall
    clock in ns once the COMMIT returned)."""

    server: DbServer
    statements: str
    """The statements of one insert, with {i}; the last one prints i."""
    done: list[tuple[int, int]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    error: str = ""

    def __post_init__(self) -> None:
        argv = ["stdbuf", "-oL", *self.server.client_argv("shop")]
        if self.server.kind == "mariadb":
            argv.insert(-1, "--unbuffered")
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
            env=self.server.client_env(),
        )
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        i = 0
        while not self.stop.is_set():
            i += 1
            self.proc.stdin.write(self.statements.format(i=i) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
            if line.strip() != str(i):
                self.error = f"insert {i}: {line!r}"
                return
            self.done.append((i, time.time_ns()))

    def finish(self) -> list[tuple[int, int]]:
        self.stop.set()
        self.thread.join(60)
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(30)
        assert not self.error, self.error
        return self.done


def committed_before(done: list[tuple[int, int]], cut_ns: int) -> set[int]:
    return {i for i, t in done if t < cut_ns}


# -- PostgreSQL ------------------------------------------------------------------------


def test_postgres_snapshot_mode_records_what_a_restore_needs(pg: Tenant, kubesim: KubeSim) -> None:
    name, out = pg.create()
    log = out["log"]
    assert "CHECKPOINT done" in log and "pg_dump" not in log, log
    assert "the data directory on PVC data, the WAL (pg_wal) on PVC data (pod pg-" in log, log
    _files, _cut, ann = snapshot_files(kubesim, pg.ns, name)
    assert ann["backup-ns.sh/db-mode"] == "snapshot"
    assert ann["backup-ns.sh/db-kind"] == "PostgreSQL"
    assert ann["backup-ns.sh/db-consistency"] == "crash-consistent"
    assert ann["backup-ns.sh/db-data"] == "/var/lib/postgresql/data/pgdata"
    assert ann["backup-ns.sh/db-data-pvc"] == "data"
    assert ann["backup-ns.sh/db-server-version"].startswith("15.")
    assert ann["backup-ns.sh/db-checkpoint-lsn"].count("/") == 1
    assert "backup-ns.sh/dump-file" not in ann


def test_postgres_recovers_from_every_snapshot_under_load(pg: Tenant, kubesim: KubeSim) -> None:
    pg.db.server.sql(
        "CREATE TABLE IF NOT EXISTS t (id int PRIMARY KEY, at timestamptz "
        "DEFAULT now(), pad text DEFAULT repeat('x', 200))",
        "shop",
    )
    pg.db.server.sql("CREATE INDEX IF NOT EXISTS t_at ON t (at)", "shop")
    load = Load(pg.db.server, "INSERT INTO t (id) VALUES ({i}) RETURNING id;")
    names = []
    try:
        for _ in range(RECOVERY_RUNS):
            names.append(pg.create()[0])
    finally:
        done = load.finish()
    results = []
    for name in names:
        files, cut, _ann = snapshot_files(kubesim, pg.ns, name)
        with start_recovered("postgres", files / "pgdata", pg.db.server.password) as (srv, log):
            assert "database system was not properly shut down" in log, log
            checks = srv.sql(
                "CREATE EXTENSION IF NOT EXISTS amcheck;"
                "SELECT count(bt_index_check(c.oid, true)) FROM pg_index i"
                " JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam"
                " WHERE a.amname = 'btree';",
                "shop",
            )
            ids = {int(x) for x in srv.sql("SELECT id FROM t", "shop").split()}
        missing = committed_before(done, cut) - ids
        assert not missing, (
            f"{name}: {len(missing)} committed inserts missing: {sorted(missing)[:10]}"
        )
        results.append((name, int(checks.strip()), len(committed_before(done, cut)), len(ids)))
    print(
        f"\nPostgreSQL: {len(results)} of {RECOVERY_RUNS} snapshots recovered, amcheck clean,"
        f" every committed insert present ({len(done)} inserts in all)"
    )
    for r in results:
        print("  {}: {} btree indexes checked, {} committed before the cut, {} rows".format(*r))
    assert len(results) == RECOVERY_RUNS


# -- MariaDB -----------------------------------------------------------------------------


def test_mariadb_snapshot_mode_holds_the_read_lock_only_for_the_cut(
    my: Tenant, kubesim: KubeSim
) -> None:
    name, out = my.create()
    log = out["log"]
    assert (
        "FLUSH TABLES WITH READ LOCK held" in log and "read lock released; writes waited" in log
    ), log
    _files, _cut, ann = snapshot_files(kubesim, my.ns, name)
    assert ann["backup-ns.sh/db-mode"] == "snapshot"
    assert ann["backup-ns.sh/db-kind"] == "MySQL"
    assert ann["backup-ns.sh/db-data"] == "/var/lib/mysql"
    assert ann["backup-ns.sh/db-write-pause"].endswith("s")
    assert not writes_wait(my.db.server)


def test_mariadb_recovers_from_every_snapshot_under_load(my: Tenant, kubesim: KubeSim) -> None:
    my.db.server.sql(
        "CREATE TABLE IF NOT EXISTS t (id int PRIMARY KEY, pad varchar(200)) ENGINE=InnoDB;"
        "CREATE TABLE IF NOT EXISTS m (id int PRIMARY KEY, pad varchar(200)) ENGINE=MyISAM;",
        "shop",
    )
    load = Load(
        my.db.server,
        "INSERT INTO t VALUES ({i}, REPEAT('x', 200));"
        " INSERT INTO m VALUES ({i}, REPEAT('y', 200)); SELECT {i};",
    )
    names = []
    try:
        for _ in range(RECOVERY_RUNS):
            names.append(my.create()[0])
    finally:
        done = load.finish()
    results = []
    for name in names:
        files, cut, ann = snapshot_files(kubesim, my.ns, name)
        with start_recovered("mariadb", files, my.db.server.password) as (srv, _log):
            check = srv.sql("CHECK TABLE t, m EXTENDED", "shop")
            ids_t = {int(x) for x in srv.sql("SELECT id FROM t", "shop").split()}
            ids_m = {int(x) for x in srv.sql("SELECT id FROM m", "shop").split()}
        rows = [line.split("\t") for line in check.splitlines()]
        assert [r[1:] for r in rows] == [["check", "status", "OK"]] * 2, check
        before = committed_before(done, cut)
        assert not before - ids_t and not before - ids_m, f"{name}: committed inserts missing"
        # under the read lock both tables stopped together (the InnoDB insert of a pair
        # may be in, its MyISAM insert waiting)
        assert ids_m <= ids_t and len(ids_t - ids_m) <= 1, f"{name}: {len(ids_t)}, {len(ids_m)}"
        results.append((name, len(before), len(ids_t), ann.get("backup-ns.sh/db-write-pause", "")))
    print(
        f"\nMariaDB: {len(results)} of {RECOVERY_RUNS} snapshots recovered, CHECK TABLE OK"
        f" (InnoDB and MyISAM), every committed insert present ({len(done)} inserts in all)"
    )
    for r in results:
        print("  {}: {} committed before the cut, {} rows in each table, write pause {}".format(*r))
    assert len(results) == RECOVERY_RUNS


# -- what snapshot mode refuses, and the read lock on every way out ---------------------


@pytest.fixture(scope="module")
def walpg(kubesim: KubeSim, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tenant]:
    """PostgreSQL with pg_wal on a PVC of its own (wal), the script made for both PVCs."""
    ns = "snap-wal"
    namespace(kubesim, ns)
    db = start_postgres_pod(kubesim, ns, wal_pvc="wal")
    try:
        base = tmp_path_factory.mktemp("wal")
        yield tenant(kubesim, base, ns, db, pg_config(db), pvcs="[data, wal]")
    finally:
        db.stop(kubesim)


def test_postgres_with_its_wal_on_another_pvc_is_refused(walpg: Tenant, kubesim: KubeSim) -> None:
    ns = walpg.ns
    cp = walpg.run("create", BAK_PVC_NAMES="data")
    assert cp.returncode == 1, cp.stdout + cp.stderr
    assert cp.stderr.splitlines()[-1] == (
        "ERROR: PostgreSQL snapshot mode refused in namespace snap-wal: the WAL (pg_wal)"
        " /var/lib/postgresql/wal/pg_wal lies on PVC wal, which this run does not snapshot"
        " (PVCs: data). Add PVC wal to the namespace's pvcs, or use mode dump"
    )
    # both PVCs, no VolumeGroupSnapshotClass: their snapshots would be cut at two instants
    cp = walpg.run("create")
    assert cp.returncode == 1, cp.stdout + cp.stderr
    assert cp.stderr.splitlines()[-1] == (
        "ERROR: PostgreSQL snapshot mode refused in namespace snap-wal: the WAL (pg_wal) on"
        " PVC wal, the data directory /var/lib/postgresql/data/pgdata on PVC data:"
        " snapshots of two PVCs are cut at two instants without a group snapshot (the"
        " cluster has no VolumeGroupSnapshotClass for driver hostpath.csi.k8s.io). Keep the"
        " database's files on one PVC, cut the PVCs in one group snapshot (groupSnapshot:"
        " auto or always, and a VolumeGroupSnapshotClass for their CSI driver), or use mode"
        " dump"
    )
    # groupSnapshot never: the same refusal, saying why there is no group
    cp = walpg.run("create", BAK_GROUP_SNAPSHOT="never")
    assert cp.returncode == 1, cp.stdout + cp.stderr
    why = "cut at two instants without a group snapshot (BAK_GROUP_SNAPSHOT=never)."
    assert why in cp.stderr.splitlines()[-1], cp.stderr
    assert kubesim.get_json("vs", "-n", ns)["items"] == []
    assert kubesim.get_json("volumegroupsnapshot", "-n", ns)["items"] == []


GROUP_CLASS = {
    "apiVersion": "groupsnapshot.storage.k8s.io/v1",
    "kind": "VolumeGroupSnapshotClass",
    "metadata": {"name": "snap-wal-group"},
    "driver": "hostpath.csi.k8s.io",
    "deletionPolicy": "Delete",
}


def test_postgres_with_its_wal_on_another_pvc_is_cut_in_one_group_and_restarts(
    walpg: Tenant, kubesim: KubeSim, tmp_path: Path
) -> None:
    """With a VolumeGroupSnapshotClass the two PVCs are cut at one instant: both members
    carry what a restore needs; restored side by side (pg_wal where the data directory's
    symlink points), the real server recovers with every row committed before the cut."""
    ns, server = walpg.ns, walpg.db.server
    server.sql("CREATE TABLE IF NOT EXISTS t (id int PRIMARY KEY)", "shop")
    kubesim.apply(json.dumps(GROUP_CLASS))
    load = Load(server, "INSERT INTO t (id) VALUES ({i}) RETURNING id;")
    try:
        time.sleep(0.5)
        name, out = walpg.create()
    finally:
        done = load.finish()
        kubesim.kubectl("delete", "volumegroupsnapshotclass", GROUP_CLASS["metadata"]["name"])
    log = out["log"]
    assert "CHECKPOINT done" in log, log
    assert (
        "snapshot mode: the data directory on PVC data, the WAL (pg_wal) on PVC wal, cut at"
        " one instant in one VolumeGroupSnapshot (pod pg-"
    ) in log, log
    groups = kubesim.get_json("volumegroupsnapshot", "-n", ns)["items"]
    assert len(groups) == 1
    group = groups[0]["metadata"]["name"]
    members = {}
    for vs in kubesim.get_json("vs", "-n", ns)["items"]:
        labels = vs["metadata"]["labels"]
        assert labels["backup-ns.sh/group"] == group
        members[labels["backup-ns.sh/pvc"]] = vs["metadata"]["name"]
    assert sorted(members) == ["data", "wal"] and name in members.values()
    cuts = set()
    for pvc, vs_name in members.items():
        _files, cut, ann = snapshot_files(kubesim, ns, vs_name)
        cuts.add(cut)
        assert ann["backup-ns.sh/db-mode"] == "snapshot", pvc
        assert ann["backup-ns.sh/db-kind"] == "PostgreSQL"
        assert ann["backup-ns.sh/db-consistency"] == "crash-consistent"
        assert ann["backup-ns.sh/db-data"] == "/var/lib/postgresql/data/pgdata"
        assert ann["backup-ns.sh/db-data-pvc"] == "data"
        assert ann["backup-ns.sh/db-pvcs"] == "data wal"
        assert ann["backup-ns.sh/db-checkpoint-lsn"].count("/") == 1
    # Restore both members, then lay them out as the pod had them: the data directory's
    # pg_wal is a symlink to where PVC wal was mounted.
    for pvc, vs_name in members.items():
        cp = walpg.run("restore-pvc", vs_name, "--to", f"restored-{pvc}", "--wait")
        assert cp.returncode == 0, cp.stdout + cp.stderr
        assert cp.stdout.splitlines()[-1] == (
            f"[backup-ns] {ns}: next: PVC restored-{pvc} holds PostgreSQL's files of PVC"
            f" {pvc}, crash-consistent (snapshot mode, no dump); the rest lie on the other"
            f" PVCs of data, wal, cut at the same instant in VolumeGroupSnapshot {group}:"
            " restore each of its members (backup-ns.sh list: the same time), then start"
            " PostgreSQL of the same major version with each restored PVC mounted where the"
            f" source pod mounted its PVC (PVC restored-{pvc} where it mounted PVC {pvc}) so"
            " that /var/lib/postgresql/data/pgdata is its data directory; crash recovery runs"
            " at the first start. Stop the old server first if it is to take over the data"
        )
    data = kubesim.volume_dir(ns, "restored-data") / "pgdata"
    wal = kubesim.volume_dir(ns, "restored-wal") / "pg_wal"
    assert os.readlink(data / "pg_wal") == "/var/lib/postgresql/wal/pg_wal"
    assert any(wal.iterdir())
    pair = tmp_path / "pgdata"
    shutil.copytree(data, pair, symlinks=True)
    (pair / "pg_wal").unlink()
    shutil.copytree(wal, pair / "pg_wal")
    with start_recovered("postgres", pair, server.password) as (srv, rlog):
        assert "database system was not properly shut down" in rlog, rlog
        ids = {int(x) for x in srv.sql("SELECT id FROM t", "shop").split()}
    (cut,) = cuts
    committed = committed_before(done, cut)
    assert committed, "no insert was committed before the cut"
    missing = committed - ids
    assert not missing, f"{len(missing)} committed inserts missing: {sorted(missing)[:10]}"


def writes_wait(server: DbServer) -> bool:
    """True while a write waits for the global read lock (for more than 1 s); table
    probe exists (the fixture)."""
    cp = subprocess.run(
        server.client_argv("shop"),
        input="SET SESSION lock_wait_timeout = 1; INSERT INTO probe VALUES (1);",
        text=True,
        capture_output=True,
        env=server.client_env(),
        timeout=30,
        check=False,
    )
    assert cp.returncode == 0 or "Lock wait timeout" in cp.stderr, cp.stderr
    return cp.returncode != 0


def test_mariadb_read_lock_ends_when_the_run_is_stopped(my: Tenant, kubesim: KubeSim) -> None:
    assert not writes_wait(my.db.server)
    # the snapshots' create waits 5 s: the lock is held meanwhile
    path = f"/apis/snapshot.storage.k8s.io/v1/namespaces/{my.ns}/volumesnapshots"
    kubesim.fault(
        {"type": "http", "match": {"method": "POST", "path": path}, "delay": 5.0, "times": 1}
    )
    proc = subprocess.Popen(
        ["bash", str(my.script), "create"],
        env=my.env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if "FLUSH TABLES WITH READ LOCK held" in line:
            break
    assert writes_wait(my.db.server)
    proc.terminate()
    _out, err = proc.communicate(timeout=60)
    kubesim.clear_faults()
    assert proc.returncode == 143, err
    assert not writes_wait(my.db.server)


def test_mariadb_read_lock_watchdog_ends_a_lock_nobody_releases(my: Tenant) -> None:
    """The in-container script alone, its stdin open and silent (a run that hangs, an
    exec whose far end is gone): the watchdog ends the session after the limit."""
    remote = subprocess.run(
        [
            "bash",
            "-c",
            'source "$1" && db_remote_script mysql "$(remote_literal limit 2)"'
            ' "$(mysql_remote_lock)"',
            "_",
            str(my.script),
        ],
        env={**my.env, "MYSQL_ROOT_PASSWORD": my.db.server.password},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    env = {**my.env, "MYSQL_ROOT_PASSWORD": my.db.server.password}
    # fd 3 (where the release comes from) is the script's stdin, as in the exec
    runner = subprocess.Popen(
        ["bash", "-c", '{ eval "$1"; } 3<&0', "_", remote],
        env=env,
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert runner.stdout is not None
    assert runner.stdout.readline() == "locked=1\n"
    assert writes_wait(my.db.server)
    runner.wait(30)  # its stdin stays open and silent
    assert runner.stderr is not None and runner.stdin is not None
    out, err = runner.stdout.read(), runner.stderr.read()
    runner.stdin.close()
    assert runner.returncode == 3, err
    assert "expired=1" in out
    assert err.strip().endswith(
        "the read lock was released by its watchdog after 2s, before the snapshots were cut"
    )
    assert not writes_wait(my.db.server)


# -- getting a snapshot-mode backup back -----------------------------------------------


def test_restore_pvc_says_how_to_start_the_database_and_the_dump_commands_refuse(
    pg: Tenant, kubesim: KubeSim
) -> None:
    name, _out = pg.create()
    cp = pg.run("restore-pvc", name, "--to", "restored", "--wait")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert cp.stdout.splitlines()[-1] == (
        f"[backup-ns] {pg.ns}: next: PVC restored holds PostgreSQL's own files,"
        " crash-consistent (snapshot mode, no dump): start PostgreSQL of the same major"
        " version on it, with PVC restored mounted where the source pod mounted PVC data so"
        " that /var/lib/postgresql/data/pgdata is its data directory; crash recovery runs at"
        " the first start. Stop the old server first if it is to take over the data"
    )
    restored = kubesim.volume_dir(pg.ns, "restored") / "pgdata"
    with start_recovered("postgres", restored, pg.db.server.password) as (srv, _log):
        assert srv.sql("SELECT 1", "shop").strip() == "1"
    refusal = (
        f"ERROR: VolumeSnapshot {name} holds no dump in namespace {pg.ns}: it was cut in"
        " snapshot mode: it holds PostgreSQL's own files (/var/lib/postgresql/data/pgdata),"
        f" crash-consistent, not a dump. Restore it with backup-ns.sh restore-pvc {name}"
        " --to NEW_PVC and start PostgreSQL on that PVC (restore-pvc says how); or pick a"
        " snapshot with DUMP yes in backup-ns.sh list"
    )
    for args in (("dump-download", name, "-o", "/dev/null/x"), ("dump-restore", name, "--force")):
        cp = pg.run(*args)
        assert cp.returncode == 1, cp.stdout + cp.stderr
        assert cp.stderr.splitlines()[-1] == refusal, args
