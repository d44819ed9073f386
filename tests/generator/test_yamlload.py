"""YAML loading: alias bombs and cycles refused with one line (exit 2), legitimate
aliases kept, oversized files refused, duplicate keys and syntax errors located."""

from __future__ import annotations

import pytest

from backupns_gen.errors import ConfigError
from backupns_gen.yamlload import MAX_ALIAS_EXPANSION, MAX_BYTES, check_aliases, load_yaml
from tests.generator.test_cli import run


def bomb(levels: int = 9, width: int = 9, indent: int = 2) -> str:
    """``- &a0 [x, x, ...]``, ``- &a1 [*a0, *a0, ...]``, ...: width**levels values."""
    pad = " " * indent
    lines = [f"{pad}- &a0 [{', '.join(['x'] * width)}]"]
    for i in range(1, levels):
        lines.append(f"{pad}- &a{i} [{', '.join([f'*a{i - 1}'] * width)}]")
    return "\n".join(lines)


def error_line(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_yaml(text, "backupns.yaml")
    assert info.value.exit_code == 2
    (line,) = info.value.lines()
    return line


BOMB_LINE = (
    "YAML aliases of this anchor expand the document by more than 100000 values "
    "(an alias bomb?); write the values out, or share settings through defaults:"
)


@pytest.mark.parametrize(
    "where",
    [
        ("namespaces:\n  shop:\n    pvcs:\n{bomb}\n", 4),
        ("defaults:\n  job:\n    tolerations:\n{bomb}\n", 4),
        ("defaults:\n  job:\n    podLabels:\n      bomb:\n{bomb}\n", 8),
        ("namespaces:\n  shop:\n    database:\n      postgres:\n        dumpFile:\n{bomb}\n", 10),
    ],
    ids=["pvcs", "tolerations", "pod-labels", "dump-file"],
)
def test_alias_bomb_is_refused_with_one_line(where: tuple[str, int]) -> None:
    line = error_line(where[0].format(bomb=bomb(indent=where[1])))
    assert line.startswith("backupns.yaml: line ")
    assert line.endswith(BOMB_LINE)


def test_alias_bomb_points_at_the_anchor_that_crossed_the_limit() -> None:
    text = "pvcs:\n" + bomb(levels=7, width=9)
    # aliases of a0..a3 add 82,098 values; a4 (line 6) has 7,381: its 4th alias crosses
    assert error_line(text) == f"backupns.yaml: line 6, column 5: {BOMB_LINE}"


def test_alias_cycle_is_refused() -> None:
    assert error_line("a: &a [1, *a]\n") == (
        "backupns.yaml: line 1, column 4: an alias refers to the anchor it is inside of (a cycle)"
    )


def test_ordinary_aliases_are_kept() -> None:
    text = "t: &t [{key: a}]\nns:\n" + "".join(f"  n{i}: {{tolerations: *t}}\n" for i in range(50))
    data = load_yaml(text, "backupns.yaml")
    assert data["ns"]["n49"]["tolerations"] == [{"key": "a"}]


def test_expansion_at_the_limit_passes_and_one_more_fails() -> None:
    import yaml

    def node(aliases: int) -> yaml.Node:
        return yaml.compose(
            "a: &a [" + ", ".join(["x"] * 99) + "]\nb: [" + ", ".join(["*a"] * aliases) + "]\n"
        )

    check_aliases(node(MAX_ALIAS_EXPANSION // 100))  # each alias adds 100 values
    with pytest.raises(Exception, match="alias bomb"):
        check_aliases(node(MAX_ALIAS_EXPANSION // 100 + 1))


def test_oversized_file_is_refused_before_parsing() -> None:
    assert error_line("#" * (MAX_BYTES + 1)) == (
        "backupns.yaml: is larger than 16 MiB; refusing to parse it"
    )


def test_duplicate_key_and_syntax_error_are_located() -> None:
    assert error_line("a: 1\na: 2\n") == (
        'backupns.yaml: line 2, column 1: duplicate key "a" (first defined on line 1)'
    )
    assert error_line("a: [1\n") == (
        "backupns.yaml: line 1, column 4: the [ here is not closed: did not find expected "
        "',' or ']' (noticed at line 2, column 1)"
    )


def test_cli_refuses_a_bomb_with_exit_2_and_one_line(tmp_path: object) -> None:
    from pathlib import Path

    config = Path(str(tmp_path)) / "backupns.yaml"
    config.write_text("namespaces:\n  shop:\n    pvcs:\n" + bomb(indent=4) + "\n")
    result = run("validate", "-c", str(config))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.rstrip().endswith(BOMB_LINE)


@pytest.mark.parametrize(
    ("length", "shown"),
    [(300, '"' + "z" * 300 + '"'), (5000, '"' + "z" * 240 + '..." (5000 characters)')],
)
def test_cli_refuses_an_oversized_time_zone_with_exit_2(
    tmp_path: object, length: int, shown: str
) -> None:
    from pathlib import Path

    config = Path(str(tmp_path)) / "backupns.yaml"
    config.write_text(f"namespaces:\n  shop:\n    pvcs: [data]\n    timeZone: {'z' * length}\n")
    result = run("validate", "-c", "backupns.yaml", cwd=config.parent)
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        f"backupns.yaml: namespaces.shop.timeZone: {shown} "
        "is not a valid IANA time zone (like UTC or Europe/Vienna)\n"
    )
