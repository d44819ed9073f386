"""Every shell block the docs mark runnable runs as written, against kubesim.

A block is runnable when the line before its ```bash fence is ``<!-- runnable -->``.
The blocks of one page run in order in one bash (``set -eo pipefail``), so a variable
set in one block is there in the next, as in a reader's terminal; the pages run in
PAGES order in one work directory (a copy of examples/) against one kubesim, with a
fresh KUBECONFIG, KUBECACHEDIR and HOME: the quick start renders out/ and applies it,
the runbook reads what it left.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubesim.fixture import KubeSim

ROOT = Path(__file__).resolve().parents[2]
PAGES = ("README.md", "docs/operations.md", "docs/runbook.md")
"""The pages with runnable blocks, in the order they run (the quick start first)."""
MARK = "<!-- runnable -->"
_BLOCK = re.compile(r"^" + re.escape(MARK) + r"\n```bash\n(.*?)^```$", re.M | re.S)


def runnable_blocks(text: str) -> list[str]:
    return _BLOCK.findall(text)


def test_marker_is_only_used_before_bash_blocks() -> None:
    for page in sorted({*PAGES, *(str(p.relative_to(ROOT)) for p in ROOT.glob("docs/*.md"))}):
        text = (ROOT / page).read_text(encoding="utf-8")
        assert text.count(MARK) == len(runnable_blocks(text)), page
        if page not in PAGES:
            assert MARK not in text, f"{page} has runnable blocks: add it to PAGES"


def test_the_pages_have_runnable_blocks() -> None:
    for page in PAGES:
        assert runnable_blocks((ROOT / page).read_text(encoding="utf-8")), page


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeSim]:
    sim = KubeSim(tmp_path_factory.mktemp("kubesim")).start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("work")
    shutil.copytree(ROOT / "examples", work / "examples")
    return work


def test_blocks_run_as_written(sim: KubeSim, workdir: Path) -> None:
    env = sim.env(workdir)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env["PATH"]
    for page in PAGES:  # in order: the runbook reads what the quick start applied
        blocks = runnable_blocks((ROOT / page).read_text(encoding="utf-8"))
        script = ["set -eo pipefail"]
        for i, block in enumerate(blocks, 1):
            script.append(f"printf '### {page} block {i}\\n' >&2")
            script.append(block)
        cp = subprocess.run(
            ["bash", "-c", "\n".join(script)],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert cp.returncode == 0, (
            f"{page}: exit {cp.returncode}\n{cp.stdout[-6000:]}\n{cp.stderr[-6000:]}"
        )
