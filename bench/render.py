"""Benchmark: the generator as CI and a pre-commit hook run it (the real CLI, one process each).

    python bench/render.py [--sizes 10000] [--validate 10000] [--repeat 5]

Each figure is the median of ``--repeat`` runs with the min and max beside it, wall
time and CPU time (user + sys of the process and its children, from wait4) and the
peak RSS, printed beside its goal and as a ratio against a floor measured in the same
run where one exists:

- floor ``import``: ``python -c "import backupns_gen.cli"``, the least any invocation
  costs (interpreter start + imports); re-render and validate are compared with it;
- floor ``shellcheck``: ShellCheck alone on the distinct script shapes of the config
  (what a cold lint cannot avoid), one process per core; the cold figure is compared
  with it.

Goals (for 10,000 namespaces; at other sizes the goal is printed for reference): cold
render (empty caches) <= 60 s wall and <= 1 GB peak RSS; re-render with one namespace
changed <= 5 s; validate <= 5 s; bytes per tenant namespace (its objects as JSON, the
gzipped script as base64; bench/tenant.py reads what a real etcd keeps) <= 40 KB. The
example: warm re-render <= 0.3 s; an alias bomb refused in well under a second. Configs
are generated here (a mix of postgres / mysql / no database, one to three PVCs). The
machine these figures come from is usually shared: quote the median and the spread, and
the load average printed first.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "backupns.yaml"
GOAL_SIZE = 10_000


def make_config(n: int, changed: bool = False) -> dict[str, Any]:
    namespaces: dict[str, Any] = {}
    for i in range(n):
        entry: dict[str, Any] = {"pvcs": [f"data-{i}", "uploads", "cache"][: 1 + i % 3]}
        kind = i % 3
        if kind == 0:
            entry["database"] = {
                "postgres": {"exec": f"deployment/app-{i}", "container": "postgres"}
            }
        elif kind == 1:
            entry["database"] = {"mysql": {"exec": f"statefulset/db-{i}", "container": "mariadb"}}
        if i % 7 == 0:
            entry["retention"] = {"mode": "days", "days": 7 + i % 30}
        namespaces[f"tenant-{i:04d}"] = entry
    if changed and n:
        namespaces["tenant-0000"]["schedule"] = "H 2 * * *"
    return {
        "defaults": {"schedule": "H H(0-4) * * *", "timeZone": "Europe/Vienna"},
        "namespaces": namespaces,
    }


def bomb() -> str:
    lines = ["namespaces:", "  shop:", "    pvcs:", "    - &a0 [" + ", ".join(["x"] * 9) + "]"]
    lines += [f"    - &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Sample:
    wall: float
    cpu: float
    rss_mb: float


@dataclass(frozen=True)
class Figure:
    samples: tuple[Sample, ...]

    def stat(self, attr: str) -> tuple[float, float, float]:
        values = [getattr(s, attr) for s in self.samples]
        return statistics.median(values), min(values), max(values)


def measure(cmd: Sequence[str], env: dict[str, str], ok: int = 0) -> Sample:
    """One run of CMD: wall time, CPU time and peak RSS (its own and its children's)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        list(cmd), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != ok:
        err = proc.stderr.read() if proc.stderr else ""
        raise SystemExit(f"{' '.join(cmd)}: exit {code}: {err}")
    return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


class Bench:
    def __init__(self, tmp: Path, repeat: int) -> None:
        self.tmp = tmp
        self.repeat = repeat
        self.env = {**os.environ, "BACKUPNS_CACHE_DIR": str(tmp / "cache")}

    def cli(self, args: Sequence[str], env: dict[str, str] | None = None, ok: int = 0) -> Sample:
        return measure([sys.executable, "-m", "backupns_gen", *args], env or self.env, ok)

    def figure(self, args: Sequence[str], ok: int = 0) -> Figure:
        return Figure(tuple(self.cli(args, ok=ok) for _ in range(self.repeat)))

    def import_floor(self) -> Figure:
        cmd = [sys.executable, "-c", "import backupns_gen.cli"]
        return Figure(tuple(measure(cmd, self.env) for _ in range(self.repeat)))

    def shellcheck_floor(self, config: Path) -> Figure:
        """ShellCheck alone on the distinct script shapes this config renders to."""
        from backupns_gen import shellcheck
        from backupns_gen.lintcache import LintCache
        from backupns_gen.loader import load_config
        from backupns_gen.plan import plan
        from backupns_gen.render import Renderer

        shapes: set[str] = set()
        for unit in Renderer().units(plan(load_config(config))):
            shapes |= {shellcheck.canonical(f.text) for f in unit.values() if f.kind == "script"}
        samples = []
        for _ in range(self.repeat):
            start = time.perf_counter()
            before = os.times()
            shellcheck.Run(shapes, LintCache(persistent=False)).wait()
            after = os.times()
            cpu = (after.children_user - before.children_user) + (
                after.children_system - before.children_system
            )
            samples.append(Sample(time.perf_counter() - start, cpu, 0.0))
        return Figure(tuple(samples))

    def write_config(self, name: str, doc: dict[str, Any]) -> Path:
        path = self.tmp / name
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return path


def row(
    label: str,
    fig: Figure,
    goal: float,
    floor: Figure | None = None,
    floor_name: str = "",
    rss_goal: float | None = None,
) -> None:
    wall, lo, hi = fig.stat("wall")
    cpu, cpu_lo, cpu_hi = fig.stat("cpu")
    rss = fig.stat("rss_mb")[0]
    verdict = "ok" if wall <= goal else "OVER"
    line = (
        f"  {label:<44}{wall:8.3f} s (min {lo:.3f}, max {hi:.3f}; "
        f"cpu {cpu:.3f} s, min {cpu_lo:.3f}, max {cpu_hi:.3f})  goal <= {goal:g} s {verdict}"
    )
    if floor is not None:
        f = floor.stat("wall")[0]
        line += f"; {wall / f:.2f} x floor ({floor_name} {f:.3f} s)"
    line += f"; peak RSS {rss:.0f} MB"
    if rss_goal is not None:
        line += f" (goal <= {rss_goal:g} MB {'ok' if rss <= rss_goal else 'OVER'})"
    print(line)


def tenant_bytes(out: Path) -> list[tuple[str, int, int]]:
    """(namespace, objects, bytes) per namespace: its manifests' objects as compact JSON
    (the gzipped script as base64; etcd keeps the bytes, and what the API server adds:
    bench/tenant.py measures that in a real etcd)."""
    found = []
    for manifests in sorted(out.glob("namespaces/*/manifests.yaml")):
        docs = [d for d in yaml.safe_load_all(manifests.read_text()) if d]
        size = sum(len(json.dumps(d, separators=(",", ":"))) for d in docs)
        found.append((manifests.parent.name, len(docs), size))
    return found


def bytes_row(label: str, found: list[tuple[str, int, int]], goal_kb: float) -> None:
    sizes = [b for _, _, b in found]
    objects = sorted({o for _, o, _ in found})
    med, lo, hi = statistics.median(sizes) / 1000, min(sizes) / 1000, max(sizes) / 1000
    verdict = "ok" if hi <= goal_kb else "OVER"
    print(
        f"  {label:<44}{med:8.1f} KB (min {lo:.1f}, max {hi:.1f}; "
        f"objects {'/'.join(map(str, objects))})  goal <= {goal_kb:g} KB {verdict}"
    )


def goal_note(n: int) -> str:
    return "" if n == GOAL_SIZE else f" (goals are for {GOAL_SIZE:,})"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[GOAL_SIZE])
    parser.add_argument("--validate", type=int, default=GOAL_SIZE)
    parser.add_argument("--repeat", type=int, default=5)
    opts = parser.parse_args(argv)
    print(
        f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f} "
        f"(a shared machine: read the spread); median of {opts.repeat} runs"
    )
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        b = Bench(tmp, opts.repeat)
        floor = b.import_floor()
        print(f"floor: python -c 'import backupns_gen.cli' {floor.stat('wall')[0]:.3f} s")

        out = tmp / "out-example"
        b.cli(["render", "-c", str(EXAMPLE), "-o", str(out)])  # fills the cache
        print("== the example")
        row(
            "warm re-render (cached lint)",
            b.figure(["render", "-c", str(EXAMPLE), "-o", str(out)]),
            0.3,
            floor,
            "import",
        )
        bytes_row("bytes per tenant namespace (JSON)", tenant_bytes(out), 40)
        bomb_path = tmp / "bomb.yaml"
        bomb_path.write_text(bomb())
        row(
            "validate: alias bomb refused (exit 2)",
            b.figure(["validate", "-c", str(bomb_path)], 2),
            0.5,
            floor,
            "import",
        )

        for n in opts.sizes:
            print(f"== {n:,} namespaces{goal_note(n)}")
            config = b.write_config(f"ns{n}.yaml", make_config(n))
            sc_floor = b.shellcheck_floor(config)
            cold = []
            for i in range(opts.repeat):
                env = {**b.env, "BACKUPNS_CACHE_DIR": str(tmp / f"cold-{n}-{i}")}
                cold.append(b.cli(["render", "-c", str(config), "-o", str(tmp / f"c{i}")], env))
            row(
                "cold render + lint + write (empty caches)",
                Figure(tuple(cold)),
                60.0,
                sc_floor,
                "shellcheck",
                rss_goal=1000,
            )
            bytes_row("bytes per tenant namespace (JSON)", tenant_bytes(tmp / "c0"), 40)
            out = tmp / f"out-{n}"
            b.cli(["render", "-c", str(config), "-o", str(out)])
            warm = []
            for i in range(opts.repeat):  # the same file, one namespace changed back and forth
                b.write_config(f"ns{n}.yaml", make_config(n, changed=i % 2 == 0))
                warm.append(b.cli(["render", "-c", str(config), "-o", str(out)]))
            row("re-render, one namespace changed", Figure(tuple(warm)), 5.0, floor, "import")

        config = b.write_config("validate.yaml", make_config(opts.validate))
        print(f"== validate {opts.validate:,} namespaces{goal_note(opts.validate)}")
        row("validate", b.figure(["validate", "-c", str(config)]), 5.0, floor, "import")


if __name__ == "__main__":
    main(sys.argv[1:])
