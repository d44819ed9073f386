"""Benchmark: the restore drill (`backup-ns.sh verify`) of a PostgreSQL dump against
its floor.

    python bench/drill.py                      # ~1 GB database, 5 rounds (by hand: many minutes)
    python bench/drill.py --smoke              # 20 MB, 1 round (CI)

A real PostgreSQL 15 server (tests/dbs.py) holds a database of ``--size-mb`` (rows
from generate_series: ids, timestamps, md5 text); the rendered script's ``create``
dumps it through kubesim into the PVC and records its tables. Each round measures,
in the same run and on the same dump file:

- drill: the whole ``verify SNAP`` (scratch PVC restored from the snapshot, the drill
  pod started from the database image, the dump's size / sha256 / gzip checks, a
  scratch server initialised and started, the load, the row counts compared); its
  own ``load=`` figure too;
- floor: the bare ``gunzip -c dump | psql --single-transaction -v ON_ERROR_STOP=1``
  of the same file into a fresh database of the local server.

Printed: the median of ``--repeat`` rounds with min and max, and drill / floor beside
the goal (<= 1.3 x).
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kubesim.fixture import KubeSim  # noqa: E402
from tests import dbs  # noqa: E402
from tests.script import drillkit as dk  # noqa: E402

sys.path.insert(0, str(REPO / "bench"))
import pgfill  # noqa: E402

GOAL = 1.3
DB = "drillbench"


def floor(server: dbs.DbServer, dump: Path) -> float:
    """gunzip | psql of DUMP into a fresh database; seconds."""
    server.sql("DROP DATABASE IF EXISTS drillfloor")
    server.sql("CREATE DATABASE drillfloor")
    psql = " ".join(server.client_argv("drillfloor"))
    t0 = time.monotonic()
    subprocess.run(
        f"gunzip -c {dump} | {psql} -q -v ON_ERROR_STOP=1 --single-transaction -f - >/dev/null",
        shell=True, check=True, env=server.client_env(), timeout=7200,
    )  # fmt: skip
    seconds = time.monotonic() - t0
    server.sql("DROP DATABASE drillfloor")
    return seconds


def drill(out: Path, sim: KubeSim, tmp: Path, name: str) -> tuple[float, int]:
    """One verify; (seconds, the drill's own load seconds)."""
    t0 = time.monotonic()
    got = dk.script(out, dk.PG_NS, "verify", name, sim=sim, tmp=tmp, BAK_TOOLBOX_TIMEOUT="2h")
    seconds = time.monotonic() - t0
    if got.code != 0:
        raise SystemExit(f"verify failed:\n{got.out}{got.err}")
    load = re.search(r"load=(\d+)s", got.out)
    return seconds, int(load.group(1)) if load else -1


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):7.1f}s (min {min(values):.1f}, max {max(values):.1f})"


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size-mb", type=int, default=1024, help="database size (default 1024)")
    ap.add_argument("--repeat", type=int, default=5, help="rounds (default 5)")
    ap.add_argument("--smoke", action="store_true", help="20 MB, 1 round (CI)")
    args = ap.parse_args(argv)
    if args.smoke:
        args.size_mb, args.repeat = 20, 1
    tmp = Path(tempfile.mkdtemp(prefix="bench-drill-"))
    server = dbs.start("postgres")
    sim = KubeSim(tmp / "kubesim", args=["--snapshot-ready-delay", "0"]).start()
    try:
        t0 = time.monotonic()
        size = pgfill.fill(server, DB, args.size_mb)
        print(f"database: {size / 2**20:.0f} MiB in {time.monotonic() - t0:.0f}s")
        out = dk.render(tmp / "render", dk.config(server, None))
        dk.seed(sim, server, None, DB)
        got = dk.script(out, dk.PG_NS, "create", sim=sim, tmp=tmp)
        if got.code != 0:
            raise SystemExit(f"create failed:\n{got.out}{got.err}")
        name = re.search(rf"created ({dk.VS_RE})", got.out).group(1)  # type: ignore[union-attr]
        dump = dk.own_snapshot(sim, dk.PG_NS, name, dk.PG_UID) / "dump.sql.gz"
        print(f"dump: {dump.stat().st_size / 2**20:.0f} MiB (gzip)")
        drills, loads, floors = [], [], []
        for i in range(args.repeat):
            seconds, load = drill(out, sim, tmp, name)
            drills.append(seconds)
            loads.append(float(load))
            floors.append(floor(server, dump))
            print(f"round {i + 1}: drill {seconds:.1f}s (load {load}s), floor {floors[-1]:.1f}s")
        ratio = statistics.median(drills) / statistics.median(floors)
        print(f"drill (verify, whole)  {spread(drills)}")
        print(f"  its load alone       {spread(loads)}")
        print(f"floor (gunzip | psql)  {spread(floors)}")
        verdict = "meets" if ratio <= GOAL else "MISSES"
        print(f"drill / floor: {ratio:.2f}x (goal <= {GOAL}x: {verdict})")
    finally:
        sim.stop()
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
