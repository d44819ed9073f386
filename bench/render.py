"""Benchmark: render + lint 1, 100 and 1,000 namespaces; seconds per phase.

    python bench/render.py [N ...]

Goal on a 2-core machine: 1,000 namespaces render + full lint <= 10 s, and a
re-render with one namespace changed <= 1 s. Configs are generated here (a mix
of postgres / mysql / no database, flock on/off, one to three PVCs); the output
goes to a temporary directory. The lint caches are per process, as in the CLI.
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from backupns_gen import lint as lint_mod
from backupns_gen import render as render_mod
from backupns_gen import write as write_mod
from backupns_gen.lint import LintRun
from backupns_gen.loader import parse_config
from backupns_gen.plan import plan
from backupns_gen.render import render
from backupns_gen.write import write

T = TypeVar("T")


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
        if i % 5 == 0:
            entry["flock"] = {"enabled": False}
        if i % 7 == 0:
            entry["retention"] = {"mode": "days", "days": 7 + i % 30}
        namespaces[f"tenant-{i:04d}"] = entry
    if changed and n:
        namespaces["tenant-0000"]["schedule"] = "H 2 * * *"
    return {
        "defaults": {
            "schedule": "H H(0-4) * * *",
            "timeZone": "Europe/Vienna",
            "flock": {"enabled": True, "slots": 2, "timeout": "1h"},
        },
        "namespaces": namespaces,
    }


def cpu() -> float:
    """CPU seconds of this process and its finished children (ShellCheck)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed(label: str, fn: Callable[[], T], row: dict[str, float]) -> T:
    start = time.perf_counter()
    result = fn()
    row[label] = time.perf_counter() - start
    return result


def bench(n: int) -> dict[str, float]:
    for cache in (
        lint_mod._SHELLCHECK_CACHE,
        lint_mod._SCHEMA_CACHE,
        lint_mod._FILE_CACHE,
        render_mod._NAMESPACE_CACHE,
        write_mod._KNOWN,
    ):
        cache.clear()  # type: ignore[attr-defined]
    row: dict[str, float] = {}
    raw = make_config(n)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        cpu_start = cpu()
        config = timed("validate", lambda: parse_config(raw, "bench.yaml"), row)
        the_plan = timed("plan", lambda: plan(config), row)
        run = timed("lint: canonical scripts, start ShellCheck", lambda: LintRun(the_plan), row)
        files = timed("render (ShellCheck running meanwhile)", lambda: render(the_plan), row)
        report = timed("lint: manifests, match scripts, wait", lambda: run.finish(files), row)
        assert report.ok, report.findings
        timed("write", lambda: write(out, files), row)
        row["TOTAL render+lint+write"] = sum(row.values())
        row["  CPU seconds (this process + ShellCheck)"] = cpu() - cpu_start
        row["distinct scripts linted"] = report.scripts_linted
        row["distinct manifests validated"] = report.manifests_validated

        # One namespace changed: everything is re-rendered, only changed files are
        # written, the lint caches of this process make linting incremental.
        raw2 = make_config(n, changed=True)
        start = time.perf_counter()
        plan2 = plan(parse_config(raw2, "bench.yaml"))
        files2 = render(plan2)
        changes = write(out, files2)
        row["re-render 1 changed (validate+render+write)"] = time.perf_counter() - start
        start = time.perf_counter()
        LintRun(plan2).finish(files2)
        row["re-lint (warm in-process cache)"] = time.perf_counter() - start
        row["files rewritten"] = len(changes.write)
    return row


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv] or [1, 100, 1000]
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
    for n in sizes:
        row = bench(n)
        print(f"== {n} namespaces")
        for label, value in row.items():
            shown = f"{value:8.2f} s" if isinstance(value, float) else f"{value:8d}"
            print(f"  {label:<45}{shown}")
        sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
