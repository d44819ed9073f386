"""lint(files): every script and manifest it is given, nothing else; findings per file."""

from __future__ import annotations

from pathlib import Path

import pytest

from backupns_gen.lint import Linter, lint
from backupns_gen.lintcache import LintCache
from backupns_gen.loader import load_config
from backupns_gen.plan import plan
from backupns_gen.render import RenderedFile, render
from tests.genhelpers import EXAMPLE, FULL, plan_of


def fresh() -> LintCache:
    return LintCache(persistent=False)


@pytest.mark.parametrize("config", [EXAMPLE, FULL], ids=["example", "full"])
def test_rendered_output_lints_clean(config: Path) -> None:
    files = render(plan(load_config(config)))
    report = lint(files, cache=fresh())
    assert report.findings == []
    assert report.scripts == sum(1 for f in files.values() if f.kind == "script")
    assert report.manifests > 0


def test_same_shape_namespaces_are_linted_once() -> None:
    the_plan = plan_of(
        "namespaces:\n" + "".join(f"  ns-{i}: {{pvcs: [d{i}, e]}}\n" for i in range(12))
    )
    report = lint(render(the_plan), cache=fresh())
    # 12 namespace scripts of one shape + the controller script
    assert (report.scripts, report.scripts_linted, report.findings) == (13, 2, [])


def test_lints_exactly_the_files_it_is_given() -> None:
    files = {
        "a/x.sh": RenderedFile("#!/bin/bash\necho $1\n", kind="script"),
        "b/y.sh": RenderedFile('#!/bin/bash\necho "$1"\n', kind="script"),
        "c.txt": RenderedFile("echo $1\n", kind="other"),
    }
    report = lint(files, cache=fresh())
    assert report.scripts == 2
    assert [f.split(": ")[:2] for f in report.findings] == [["a/x.sh:2:6", "info SC2086"]]


def test_findings_are_reported_for_every_script_of_a_shape() -> None:
    files = render(plan_of("namespaces: {a: {pvcs: [d]}, b: {pvcs: [d]}}"))
    for name in ("a", "b"):
        path = f"namespaces/{name}/backup-ns.sh"
        files[path] = RenderedFile(
            files[path].text.replace("\nmain() {", "\nx=$1\necho $x\nmain() {"), kind="script"
        )
    report = lint(files, cache=fresh())
    assert report.scripts_linted == 2  # one shape + the controller script
    assert [f.split(":")[0] for f in report.findings] == [
        "namespaces/a/backup-ns.sh",
        "namespaces/b/backup-ns.sh",
    ]


def test_a_value_written_outside_the_baked_block_is_linted_as_itself() -> None:
    files = render(plan_of("namespaces: {a: {pvcs: [d]}, b: {pvcs: [d]}}"))
    path = "namespaces/b/backup-ns.sh"
    files[path] = RenderedFile(
        files[path].text.replace("\nmain() {", "\necho $b\nmain() {"), kind="script"
    )
    report = lint(files, cache=fresh())
    assert report.scripts_linted == 3  # two namespace scripts + the controller script
    assert report.findings and all(f.startswith(path + ":") for f in report.findings)


def test_the_cli_reuses_results_across_processes(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "BACKUPNS_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("BACKUPNS_NO_CACHE", None)

    def run() -> str:
        proc = subprocess.run(
            [sys.executable, "-m", "backupns_gen", "lint", "-c", str(EXAMPLE)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return proc.stdout

    files = render(plan(load_config(EXAMPLE)))
    n = sum(1 for f in files.values() if f.kind == "script")
    assert f"({n} scripts, {n} distinct linted;" in run()
    assert f"({n} scripts, 0 distinct linted; " in run()
    assert "0 distinct validated" in run()


def test_shellcheck_starts_on_a_new_shape_before_the_last_unit() -> None:
    """A new script shape goes to ShellCheck when it is added, while the next units
    render; finish only collects (and runs what is left queued)."""
    files = render(plan_of("namespaces: {a: {pvcs: [x]}}"))
    linter = Linter(cache=fresh())
    linter.add({p: f for p, f in files.items() if p.startswith("namespaces/")})
    assert len(linter.runs) == 1 and not linter.runs[0].done() and not linter.queued
    report = linter.finish()
    assert (report.scripts, report.scripts_linted, report.findings) == (1, 1, [])
