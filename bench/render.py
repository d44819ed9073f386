"""Benchmark: the generator as a pre-commit hook runs it (the real CLI, one process each).

    python bench/render.py [--sizes 1000] [--validate 2000] [--repeat 3]

Each figure is the best of ``--repeat`` runs, printed beside its goal
and as a ratio against its floor measured in the same run:

- floor ``import``: ``python -c "import backupns_gen.cli"``, the least any invocation
  costs (interpreter start + imports); the warm figures are compared with it;
- floor ``shellcheck``: ShellCheck alone on the distinct script shapes of the config
  (what a cold lint cannot avoid), one process per core; the cold figure is compared
  with it.

Goals (2 cores, low load): warm re-render of the example <= 0.3 s, of 1,000 namespaces
(one changed) <= 1.5 s; cold render of 1,000 (empty cache) <= 4 s; validate of 2,000
namespaces <= 1 s; an alias bomb refused in well under a second. Configs are generated
here (a mix of postgres / mysql / no database, lock on/off, one to three PVCs).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "backupns.yaml"


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


class Bench:
    def __init__(self, tmp: Path, repeat: int) -> None:
        self.tmp = tmp
        self.repeat = repeat
        self.env = {**os.environ, "BACKUPNS_CACHE_DIR": str(tmp / "cache")}

    def run(self, args: Sequence[str], env: dict[str, str] | None = None, ok: int = 0) -> float:
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "backupns_gen", *args],
            env=env or self.env,
            capture_output=True,
            text=True,
        )
        took = time.perf_counter() - start
        if proc.returncode != ok:
            raise SystemExit(f"{' '.join(args)}: exit {proc.returncode}: {proc.stderr}")
        return took

    def best(self, args: Sequence[str], ok: int = 0) -> float:
        return min(self.run(args, ok=ok) for _ in range(self.repeat))

    def import_floor(self) -> float:
        def once() -> float:
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", "import backupns_gen.cli"], check=True)
            return time.perf_counter() - start

        return min(once() for _ in range(self.repeat))

    def shellcheck_floor(self, config: Path) -> float:
        """ShellCheck alone on the distinct script shapes this config renders to."""
        from backupns_gen import shellcheck
        from backupns_gen.lintcache import LintCache
        from backupns_gen.loader import load_config
        from backupns_gen.plan import plan
        from backupns_gen.render import render

        files = render(plan(load_config(config)))
        shapes = {shellcheck.canonical(f.text) for f in files.values() if f.kind == "script"}
        best = float("inf")
        for _ in range(self.repeat):
            start = time.perf_counter()
            shellcheck.Run(shapes, LintCache(persistent=False)).wait()
            best = min(best, time.perf_counter() - start)
        return best

    def write_config(self, name: str, doc: dict[str, Any]) -> Path:
        path = self.tmp / name
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return path


def row(label: str, value: float, goal: float, floor: float, floor_name: str) -> None:
    verdict = "ok" if value <= goal else "OVER"
    print(
        f"  {label:<46}{value:7.3f} s  goal <= {goal:<5} {verdict:<4}  "
        f"{value / floor:5.2f} x floor ({floor_name} {floor:.3f} s)"
    )


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000])
    parser.add_argument("--validate", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    opts = parser.parse_args(argv)
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        b = Bench(tmp, opts.repeat)
        floor = b.import_floor()
        print(f"floor: python -c 'import backupns_gen.cli' {floor:.3f} s")

        out = tmp / "out-example"
        b.run(["render", "-c", str(EXAMPLE), "-o", str(out)])  # fills the cache
        print("== the example")
        row(
            "warm re-render (cached lint)",
            b.best(["render", "-c", str(EXAMPLE), "-o", str(out)]),
            0.3,
            floor,
            "import",
        )
        bomb_path = tmp / "bomb.yaml"
        bomb_path.write_text(bomb())
        row(
            "validate: alias bomb refused (exit 2)",
            b.best(["validate", "-c", str(bomb_path)], 2),
            0.5,
            floor,
            "import",
        )

        for n in opts.sizes:
            print(f"== {n} namespaces")
            config = b.write_config(f"ns{n}.yaml", make_config(n))
            sc_floor = b.shellcheck_floor(config)
            cold = float("inf")
            for i in range(opts.repeat):
                env = {**b.env, "BACKUPNS_CACHE_DIR": str(tmp / f"cold-{n}-{i}")}
                cold = min(
                    cold, b.run(["render", "-c", str(config), "-o", str(tmp / f"c{i}")], env)
                )
            row("cold render + lint + write (empty cache)", cold, 4.0, sc_floor, "shellcheck")
            out = tmp / f"out-{n}"
            b.run(["render", "-c", str(config), "-o", str(out)])
            warm = float("inf")
            for i in range(opts.repeat):  # the same file, one namespace changed back and forth
                b.write_config(f"ns{n}.yaml", make_config(n, changed=i % 2 == 0))
                warm = min(warm, b.run(["render", "-c", str(config), "-o", str(out)]))
            row("warm re-render, one namespace changed", warm, 1.5, floor, "import")

        config = b.write_config("validate.yaml", make_config(opts.validate))
        print(f"== validate {opts.validate} namespaces")
        row("validate", b.best(["validate", "-c", str(config)]), 1.0, floor, "import")


if __name__ == "__main__":
    main(sys.argv[1:])
