"""Property tests: arbitrary values in every field of the config give exit 2 with one
line per problem, or a clean render; never an internal error (a 300-character timeZone
once crashed the loader with OSError).

The base is tests/data/full.yaml (every option set at least once); each example
replaces one string leaf, one mapping key or one list item with an arbitrary value.
"""

from __future__ import annotations

import copy
import os
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backupns_gen.errors import ConfigError
from backupns_gen.loader import parse_config
from backupns_gen.plan import plan
from backupns_gen.render import render
from tests.genhelpers import FULL

Path_ = tuple[Any, ...]
BASE: dict[str, Any] = yaml.safe_load(FULL.read_text())


def leaves(node: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    """Every (path, value) below node; mapping keys appear as ("key", k) steps."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*path, ("key", key)), key
            yield from leaves(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from leaves(value, (*path, i))
    else:
        yield path, node


STRING_PATHS = [p for p, v in leaves(BASE) if isinstance(v, str)]
ALL_PATHS = [p for p, _ in leaves(BASE)]


def replaced(path: Path_, value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    node: Any = doc
    for step in path[:-1]:
        node = node[step]
    last = path[-1]
    if isinstance(last, tuple):  # rename a mapping key
        old = last[1]
        if value in node and value != old:
            return doc  # would merge two entries; not this test's concern
        node[value] = node.pop(old)
    else:
        node[last] = value
    return doc


def outcome(doc: dict[str, Any]) -> str:
    """'invalid' (exit 2, one line per problem) or 'rendered' (scripts parse in bash)."""
    try:
        config = parse_config(doc, "backupns.yaml")
    except ConfigError as exc:
        lines = exc.lines()
        assert lines, "a ConfigError names at least one problem"
        for line in lines:
            assert line.startswith("backupns.yaml: ") and "\n" not in line, line
        return "invalid"
    files = render(plan(config))
    for path, f in files.items():
        if path.endswith(".sh"):
            check = subprocess.run(["bash", "-n"], input=f.text, text=True, capture_output=True)
            assert check.returncode == 0, f"{path}: {check.stderr}"
    return "rendered"


NASTY = st.sampled_from(
    [
        "",
        " ",
        "x" * 300,
        "a" * 5000,
        "$(touch /tmp/pwned)",
        "`id`",
        "'; rm -rf / #",
        '"',
        "\\",
        "\n",
        "a\nb",
        "\x00",
        "\x1b[31m",
        "${HOME}",
        "*",
        "-n",
        "--help",
        "../../etc/passwd",
        "/" * 300,
        "é",
        "\u202e",
        "😀",
        "1e309",
        "0x10",
        "-1",
        "null",
        "true",
        "H H H H H",
        "* * * * * *",
        "H(9-1) * * * *",
    ]
)
STRINGS = st.one_of(NASTY, st.text(max_size=80), st.text(min_size=200, max_size=600))
VALUES = st.one_of(
    STRINGS,
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
)
FUZZ = settings(
    max_examples=int(os.environ.get("BACKUPNS_FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@FUZZ
@given(path=st.sampled_from(STRING_PATHS), value=STRINGS)
def test_any_string_in_any_string_field_is_an_error_line_or_a_clean_render(
    path: Path_, value: str
) -> None:
    outcome(replaced(path, value))


@FUZZ
@given(path=st.sampled_from(ALL_PATHS), value=VALUES)
def test_any_value_anywhere_is_an_error_line_or_a_clean_render(path: Path_, value: Any) -> None:
    if isinstance(path[-1], tuple) and not isinstance(value, (str, int, bool)):
        value = str(value)  # mapping keys must stay hashable
    outcome(replaced(path, value))


@pytest.mark.parametrize("path", STRING_PATHS, ids=lambda p: ".".join(map(str, p)))
def test_every_string_field_rejects_300_characters_or_renders(path: Path_) -> None:
    outcome(replaced(path, "z" * 300))
