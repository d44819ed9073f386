"""``python -m backupns_gen`` is the console script, and renders the templates of the
copy of the code that runs (not an installed copy's)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.genhelpers import EXAMPLE, REPO


def _run(
    args: list[str], cwd: Path, pythonpath: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
    return subprocess.run(
        [sys.executable, "-m", "backupns_gen", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        check=False,
    )


def test_python_m_is_the_console_script(tmp_path: Path) -> None:
    result = _run(["--help"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: backupns-gen ")
    result = _run(["render", "-c", str(EXAMPLE), "-o", str(REPO / "out"), "--check"], tmp_path)
    assert result.returncode == 0, result.stderr


def test_a_template_edit_renders_without_reinstalling(tmp_path: Path) -> None:
    """A second copy of the package (as a checkout would be) renders its own templates,
    edited after installation, in the same interpreter that has this checkout installed."""
    copy = tmp_path / "copy" / "backupns_gen"
    package = REPO / "src" / "backupns_gen"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    fragment = copy / "templates" / "script" / "_util.sh.j2"
    fragment.write_text("# edited-in-the-copy\n" + fragment.read_text())
    out = tmp_path / "out"
    # --no-lint: the edit changes every script's text, so linting would be a cold
    # ShellCheck of every shape, which this test is not about.
    result = _run(
        ["render", "--no-lint", "-c", str(EXAMPLE), "-o", str(out)], tmp_path, str(copy.parent)
    )
    assert result.returncode == 0, result.stderr
    script = (out / "namespaces" / "blog" / "backup-ns.sh").read_text()
    assert "# edited-in-the-copy" in script
    original = REPO / "out" / "namespaces" / "blog" / "backup-ns.sh"
    assert "# edited-in-the-copy" not in original.read_text()
