"""Benchmark: `backup-ns.sh create` with a PostgreSQL dump against its floor.

    python bench/dump.py [--size-mb 1024] [--repeat 2]
    python bench/dump.py --size-mb 20 --repeat 1       # smoke run (seconds)

A real PostgreSQL server (tests/dbs.py) holds a database of ``--size-mb`` (rows from
generate_series: ids, timestamps, md5 text); kubesim (kubesim) runs the
Deployment whose container ``postgres`` the rendered script execs into, with the
dump file on its PVC. Each round measures, in the same run and on the same files:

- floor: the bare ``pg_dump | gzip -c > file`` of the same database (same options as
  the script: ``--format=p --clean --if-exists``), run directly on this host;
- create: the script's whole ``create`` (checks, dump, sha256, verification, rename,
  fsync, snapshot, readiness wait) against kubesim (``--snapshot-ready-delay 0``);
  its stdout lines are timestamped to split it into before / dump / snapshot;
- reference: the previous script's dump steps, run bare (dump | gzip into a file,
  then ``gzip -t``, ``gzip -dc | head -c 1``, ``sha256sum`` of the file, a rename,
  ``sync``), to show what the single pipeline saves.

The best of ``--repeat`` rounds is printed beside the goal (create <= 1.2 x floor),
as a ratio against the floor, with the API requests of one create
(kubesim's request log).

Snapshot mode (``--mode snapshot`` or ``both``, the default): PostgreSQL runs as the
pod's container with its data directory on the PVC (tests/poddbs.py), filled to each
size; ``create`` in ``database.postgres.mode: snapshot`` runs ``--repeat`` times and
its log lines are timestamped: the layout check, the CHECKPOINT, the snapshots created
(ours, measured to here), and the storage's cut (kubesim copies the directory while the
volume's processes stand still: the copy grows with the size, a CSI driver's
copy-on-write cut does not; it is printed, not counted). Median, min and max beside
the goal: at most 3 s from the end of the CHECKPOINT to the snapshots created, at any
size, and flat (the largest size's median at most 1.2 x the smallest's). With
``--mysql``, MariaDB in snapshot mode at the smallest size: the write pause (FLUSH
TABLES WITH READ LOCK to UNLOCK, recorded by the script) minus the storage's cut,
beside the goal of 1 s.

    python bench/dump.py --mode snapshot --size-mb 1024 --size-mb 4096 --repeat 5 --mysql
    python bench/dump.py --smoke          # both modes at 20 MB, one round
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kubesim.fixture import KubeSim  # noqa: E402
from tests import dbs, poddbs  # noqa: E402

sys.path.insert(0, str(REPO / "bench"))
import manifests  # noqa: E402
import pgfill  # noqa: E402

NS = "bench"
MOUNT = manifests.PG_MOUNT
GOAL = 1.2
SNAP_GOAL_S = 3.0
"""Snapshot mode: at most this long from the end of the CHECKPOINT to the snapshots."""
SNAP_FLAT = 1.2
"""Snapshot mode: the largest size's median at most this times the smallest's."""
PAUSE_GOAL_S = 1.0
"""MySQL snapshot mode: writes wait at most this long."""


def fill(server: dbs.DbServer, size_mb: int) -> tuple[int, float]:
    """Create database bench of at least size_mb; return (bytes, seconds)."""
    t0 = time.monotonic()
    size = pgfill.fill(server, NS, size_mb)
    return size, time.monotonic() - t0


def seed(kubesim: KubeSim, server: dbs.DbServer) -> None:
    """Namespace, PVC data and Deployment app-base (container postgres) on kubesim."""
    docs = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}},
        manifests.pvc(NS, "50Gi"),
        manifests.app_base(NS, server.user, server.password, NS),
    ]
    # The password travels on kubectl's stdin, never in argv.
    kubesim.apply(yaml.safe_dump_all(docs))


def render(tmp: Path, port: int) -> Path:
    config = {
        "defaults": {
            "timeZone": "UTC",
            "flock": {"enabled": False},
            "waitUntilReady": {"enabled": True, "timeout": "30m"},
        },
        "namespaces": {
            NS: {
                "pvcs": ["data"],
                "database": {
                    "postgres": {
                        "exec": "deployment/app-base",
                        "container": "postgres",
                        "host": "127.0.0.1",
                        "port": port,
                        "dumpFile": f"{MOUNT}/dump.sql.gz",
                    }
                },
            }
        },
        "controller": {"namespace": "backup-ns"},
    }
    cfg = tmp / "backupns.yaml"
    cfg.write_text(yaml.safe_dump(config))
    out = tmp / "out"
    return render_script(cfg, out)


def render_script(cfg: Path, out: Path) -> Path:
    """Render CFG into OUT (no lint: not what is measured); the namespace's script."""
    subprocess.run(
        [sys.executable, "-m", "backupns_gen", "render", "--no-lint",
         "-c", str(cfg), "-o", str(out)],
        check=True,
        capture_output=True,
        cwd=REPO,
    )
    return out / "namespaces" / NS / "backup-ns.sh"


def bash(script: str, env: dict[str, str]) -> float:
    # A session of its own, as kubesim gives each exec: with the kernel's autogroup
    # scheduling, a session is the unit of CPU fairness; sharing the benchmark's
    # session would slow the floor on a loaded machine.
    t0 = time.monotonic()
    subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + script],
        check=True,
        env=env,
        start_new_session=True,
    )
    return time.monotonic() - t0


def pg_dump_cmd(server: dbs.DbServer) -> str:
    return (
        f"pg_dump --username={server.user} --port={server.port} --host={server.host} "
        f"--no-password --format=p --clean --if-exists --dbname={NS}"
    )


def run_create(script: Path, env: dict[str, str]) -> tuple[float, dict[str, float], str]:
    """Run `create`; return (seconds, phase seconds, stdout). Phases from line times."""
    t0 = time.monotonic()
    proc = subprocess.Popen(
        ["bash", str(script), "create"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    marks: dict[str, float] = {}
    lines = []
    for line in proc.stdout:
        now = time.monotonic() - t0
        lines.append(line)
        if "database: dumping" in line:
            marks["dump_start"] = now
        elif "database: dump verified" in line:
            marks["dump_end"] = now
    err = proc.stderr.read() if proc.stderr else ""
    rc = proc.wait()
    total = time.monotonic() - t0
    if rc != 0:
        raise SystemExit(f"create failed (exit {rc}):\n{''.join(lines)}{err}")
    phases = {
        "before": marks.get("dump_start", 0.0),
        "dump": marks.get("dump_end", 0.0) - marks.get("dump_start", 0.0),
        "after": total - marks.get("dump_end", total),
    }
    return total, phases, "".join(lines)


def run_marked(script: Path, env: dict[str, str], marks: dict[str, str]) -> dict[str, float]:
    """Run `create`; the seconds at which a line containing each marks value appeared
    (key -> s), and "total"."""
    t0 = time.monotonic()
    proc = subprocess.Popen(
        ["bash", str(script), "create"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    seen: dict[str, float] = {}
    lines = []
    for line in proc.stdout:
        lines.append(line)
        for key, text in marks.items():
            if text in line and key not in seen:
                seen[key] = time.monotonic() - t0
    err = proc.stderr.read() if proc.stderr else ""
    if proc.wait() != 0:
        raise SystemExit(f"create failed:\n{''.join(lines)}{err}")
    seen["total"] = time.monotonic() - t0
    missing = set(marks) - set(seen)
    if missing:
        raise SystemExit(f"create printed no {sorted(missing)}:\n{''.join(lines)}")
    return seen


def stats(values: list[float]) -> str:
    return (
        f"median {statistics.median(values):6.2f} s (min {min(values):.2f}, "
        f"max {max(values):.2f}, n={len(values)})"
    )


SNAP_MARKS = {
    "checked": "snapshot mode: the data",
    "checkpoint": "CHECKPOINT done",
    "created": "snapshot: created VolumeSnapshot",
    "cut": "snapshot: cut by the storage",
}


def render_snapshot(tmp: Path, kind: str, port: int) -> Path:
    key = "postgres" if kind == "postgres" else "mysql"
    container = "postgres" if kind == "postgres" else "mariadb"
    deployment = "pg" if kind == "postgres" else "my"
    config = {
        "defaults": {
            "timeZone": "UTC",
            "lock": {"mode": "none"},
            "waitUntilReady": {"enabled": True, "timeout": "30m"},
        },
        "namespaces": {
            NS: {
                "pvcs": ["data"],
                "database": {
                    key: {
                        "exec": f"deployment/{deployment}",
                        "container": container,
                        "mode": "snapshot",
                        "host": "127.0.0.1",
                        "port": port,
                        "database": NS,
                    }
                },
            }
        },
    }
    cfg = tmp / f"snap-{kind}.yaml"
    cfg.write_text(yaml.safe_dump(config))
    out = tmp / f"out-{kind}"
    return render_script(cfg, out)


def snapshot_round(
    kubesim: KubeSim, script: Path, env: dict[str, str], marks: dict[str, str]
) -> tuple[dict[str, float], dict[str, str]]:
    """One snapshot-mode create; its marks and the snapshot's annotations (then it goes)."""
    seen = run_marked(script, env, marks)
    vs = kubesim.get_json("vs", "-n", NS)["items"][0]
    kubesim.kubectl("delete", "volumesnapshots", "--all", "-n", NS, env=env, check=True)
    return seen, dict(vs["metadata"].get("annotations") or {})


def bench_snapshot(tmp: Path, sizes: list[int], repeat: int, mysql: bool) -> None:
    """PostgreSQL (and MariaDB) in snapshot mode at each size; prints the figures."""
    medians: dict[int, float] = {}
    for size_mb in sizes:
        kubesim = KubeSim(tmp / f"kubesim-snap-{size_mb}", args=["--snapshot-ready-delay", "0"])
        kubesim.start()
        db = None
        try:
            kubesim.kubectl("create", "namespace", NS, check=True)
            db = poddbs.start_postgres_pod(kubesim, NS)
            size, secs = fill(db.server, size_mb)
            print(
                f"snapshot mode, PostgreSQL in the pod, database {size / 1e6:.0f} MB "
                f"(filled in {secs:.0f} s)"
            )
            script = render_snapshot(tmp, "postgres", db.server.port)
            env = kubesim.env()
            kubesim.kubectl("get", "namespaces", env=env, check=True)
            rows = [snapshot_round(kubesim, script, env, SNAP_MARKS)[0] for _ in range(repeat)]
        finally:
            if db is not None:
                db.stop(kubesim)
            kubesim.stop()
            shutil.rmtree(tmp / f"kubesim-snap-{size_mb}", ignore_errors=True)
        ours = [r["created"] - r["checkpoint"] for r in rows]
        medians[size_mb] = statistics.median(ours)
        print(
            f"  CHECKPOINT                               "
            f"{stats([r['checkpoint'] - r['checked'] for r in rows])}"
        )
        print(
            f"  CHECKPOINT done -> snapshots created     {stats(ours)}   goal <= "
            f"{SNAP_GOAL_S:.0f} s{'  OK' if max(ours) <= SNAP_GOAL_S else '  MISSED'}"
        )
        print(f"  start -> snapshots created               {stats([r['created'] for r in rows])}")
        print(
            f"  storage cut (kubesim's directory copy)   "
            f"{stats([r['cut'] - r['created'] for r in rows])}   not ours"
        )
    if len(medians) > 1:
        lo, hi = min(medians), max(medians)
        growth = medians[hi] / medians[lo] if medians[lo] else float("inf")
        print(
            f"  growth {lo} MB -> {hi} MB: {growth:.2f} x   goal <= {SNAP_FLAT} x"
            f"{'  OK' if growth <= SNAP_FLAT else '  MISSED'}"
        )
    if mysql:
        bench_mysql_pause(tmp, min(sizes), repeat)


def bench_mysql_pause(tmp: Path, size_mb: int, repeat: int) -> None:
    kubesim = KubeSim(tmp / "kubesim-snap-my", args=["--snapshot-ready-delay", "0"])
    kubesim.start()
    db = None
    try:
        kubesim.kubectl("create", "namespace", NS, check=True)
        db = poddbs.start_mariadb_pod(kubesim, NS)
        db.server.sql(f"CREATE DATABASE IF NOT EXISTS {NS}")
        db.server.sql(
            "CREATE TABLE events (id bigint PRIMARY KEY, payload varchar(200)) ENGINE=InnoDB", NS
        )
        rows = size_mb * 4000
        db.server.sql(
            f"INSERT INTO events SELECT seq, REPEAT(MD5(seq), 6) FROM seq_1_to_{rows}",
            NS,
            timeout=1800,
        )
        script = render_snapshot(tmp, "mysql", db.server.port)
        env = kubesim.env()
        marks = {
            "locked": "READ LOCK held",
            "created": "snapshot: created VolumeSnapshot",
            "cut": "snapshot: cut by the storage",
        }
        pauses, storage = [], []
        for _ in range(repeat):
            seen, ann = snapshot_round(kubesim, script, env, marks)
            pauses.append(float(ann["backup-ns.sh/db-write-pause"].rstrip("s")))
            storage.append(seen["cut"] - seen["created"])
    finally:
        if db is not None:
            db.stop(kubesim)
        kubesim.stop()
        shutil.rmtree(tmp / "kubesim-snap-my", ignore_errors=True)
    ours = [p - s for p, s in zip(pauses, storage, strict=True)]
    print(f"snapshot mode, MariaDB in the pod, about {size_mb} MB of InnoDB rows")
    print(f"  write pause (recorded)                   {stats(pauses)}")
    print(f"  storage cut inside it (kubesim's copy)   {stats(storage)}   not ours")
    print(
        f"  write pause without the storage's cut    {stats(ours)}   goal <= "
        f"{PAUSE_GOAL_S:.0f} s{'  OK' if max(ours) <= PAUSE_GOAL_S else '  MISSED'}"
    )


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--size-mb",
        type=int,
        action="append",
        help="database size, repeatable (default 1024; dump mode: the first)",
    )
    ap.add_argument("--repeat", type=int, default=2, help="rounds (default 2)")
    ap.add_argument("--mode", choices=("dump", "snapshot", "both"), default="both")
    ap.add_argument("--mysql", action="store_true", help="snapshot mode: MariaDB's write pause")
    ap.add_argument("--smoke", action="store_true", help="both modes and MariaDB at 20 MB, once")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    opts = ap.parse_args(argv)
    if opts.smoke:
        opts.size_mb, opts.repeat, opts.mysql = [20], 1, True
    sizes = opts.size_mb or [1024]
    opts.size_mb = sizes[0]

    tmp = Path(tempfile.mkdtemp(prefix="bench-dump-"))
    if opts.mode in ("snapshot", "both"):
        try:
            bench_snapshot(tmp, sizes, opts.repeat, opts.mysql)
        finally:
            if opts.mode == "snapshot" and not opts.keep:
                shutil.rmtree(tmp, ignore_errors=True)
        if opts.mode == "snapshot":
            return
    server = dbs.start("postgres", watch_pid=os.getpid())
    kubesim = KubeSim(tmp / "kubesim", args=["--snapshot-ready-delay", "0"])
    try:
        print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
        size, secs = fill(server, opts.size_mb)
        print(f"database: {size / 1e6:.0f} MB (pg_database_size), filled in {secs:.0f} s")
        kubesim.start()
        seed(kubesim, server)
        script = render(tmp, server.port)
        env = kubesim.env()
        kubesim.kubectl("get", "namespaces", env=env, check=True)  # warm the kubectl cache
        vol = kubesim.volume_dir(NS, "data")
        host_env = server.client_env()
        floor_file = tmp / "floor.sql.gz"
        floors, creates, refs, phases_best = [], [], [], {}
        requests = 0
        gz_size = 0
        for r in range(opts.repeat):
            floors.append(bash(f"{pg_dump_cmd(server)} | gzip -c >{floor_file}", host_env))
            gz_size = floor_file.stat().st_size
            floor_file.unlink()
            kubesim.reset_requests()
            total, phases, _ = run_create(script, env)
            requests = len(kubesim.requests())
            if not creates or total < min(creates):
                phases_best = phases
            creates.append(total)
            kubesim.kubectl("delete", "volumesnapshots", "--all", "-n", NS, env=env, check=True)
            (vol / "dump.sql.gz").unlink()
            ref = tmp / "ref.sql.gz"
            refs.append(
                bash(
                    f"{pg_dump_cmd(server)} | gzip -c >{ref}.tmp; gzip -t {ref}.tmp; "
                    f"{{ gzip -dc {ref}.tmp | head -c 1 | wc -c >/dev/null; }} || true; "
                    f"sha256sum <{ref}.tmp >/dev/null; mv {ref}.tmp {ref}; sync -- {ref} || sync",
                    host_env,
                )
            )
            ref.unlink()
            print(
                f"round {r + 1}: floor {floors[-1]:.2f} s, create {creates[-1]:.2f} s, "
                f"reference {refs[-1]:.2f} s"
            )
        floor, create, ref_best = min(floors), min(creates), min(refs)
        print(f"dump: {gz_size / 1e6:.0f} MB gzipped")
        print(f"floor     pg_dump | gzip -c > file               {floor:8.2f} s")
        print(
            f"create    whole create against kubesim           {create:8.2f} s   "
            f"ratio {create / floor:.2f} x floor (goal <= {GOAL} x)"
            f"{'  OK' if create / floor <= GOAL else '  MISSED'}"
        )
        print(
            f"          (before the dump {phases_best['before']:.2f} s, dump step "
            f"{phases_best['dump']:.2f} s = {phases_best['dump'] / floor:.2f} x floor, "
            f"snapshot and wait {phases_best['after']:.2f} s)"
        )
        print(f"          API requests of one create (warm kubectl cache): {requests}")
        print(
            f"reference the previous dump steps, run bare       {ref_best:8.2f} s   "
            f"ratio {ref_best / floor:.2f} x floor"
        )
    finally:
        kubesim.stop()
        server.stop()
        if not opts.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp}")


if __name__ == "__main__":
    main(sys.argv[1:])
