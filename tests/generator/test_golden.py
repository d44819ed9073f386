"""Golden files: the rendered tree for a config, under tests/data/expected/<test name>/.

The example config's golden is the committed out/ itself (the README's render
command writes exactly that tree), so it is not kept twice.

On a mismatch the test prints a diff and the command that updates the goldens:
    UPDATE_GOLDENS=1 python -m pytest tests/generator/test_golden.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from backupns_gen.loader import load_config
from backupns_gen.plan import plan
from backupns_gen.render import render
from backupns_gen.write import compare, diff, write
from tests.genhelpers import EXAMPLE, FULL

EXPECTED = Path(__file__).resolve().parents[1] / "data" / "expected"
OUT = Path(__file__).resolve().parents[2] / "out"
UPDATE = "UPDATE_GOLDENS=1 python -m pytest tests/generator/test_golden.py"


def check_golden(
    request: pytest.FixtureRequest, config: Path, expected: Path | None = None
) -> None:
    expected = expected or EXPECTED / request.node.name
    files = render(plan(load_config(config)))
    if os.environ.get("UPDATE_GOLDENS") == "1":
        write(expected, files)
        return
    changes = compare(expected, files)
    if changes.stale:
        pytest.fail(
            f"rendered output differs from {expected}:\n"
            f"{diff(expected, files, changes)[:20000]}\n"
            f"If the change is intended, update the goldens with:\n    {UPDATE}",
            pytrace=False,
        )


def test_golden_example(request: pytest.FixtureRequest) -> None:
    check_golden(request, EXAMPLE, OUT)


def test_golden_full(request: pytest.FixtureRequest) -> None:
    check_golden(request, FULL)
