"""errors: every error a user can cause prints as lines on stderr with its exit status;
a config problem is one line ``file: path: why``."""

from __future__ import annotations

from backupns_gen.errors import (
    BackupNsError,
    ConfigError,
    LintError,
    Problem,
    StaleOutputError,
    format_path,
)


def test_format_path_dots_keys_and_brackets_indexes() -> None:
    assert format_path(("namespaces", "shop", "pvcs", 0)) == "namespaces.shop.pvcs[0]"
    assert format_path(("hooks", "pre", 1, "command", 0)) == "hooks.pre[1].command[0]"
    assert format_path(()) == ""


def test_a_problem_is_one_line_even_with_a_newline_in_a_key() -> None:
    assert Problem("namespaces.a\nb", "is wrong").render("backupns.yaml") == (
        "backupns.yaml: namespaces.a\\u000ab: is wrong"
    )
    assert Problem("", "is empty").render("sub/backupns.yaml") == "sub/backupns.yaml: is empty"


def test_exit_status_2_for_an_invalid_config_1_for_anything_else() -> None:
    config = ConfigError("backupns.yaml", [Problem("a", "x"), Problem("b", "y")])
    assert (config.exit_code, config.lines()) == (2, ["backupns.yaml: a: x", "backupns.yaml: b: y"])
    assert BackupNsError("error: boom").lines() == ["error: boom"]
    assert [e.exit_code for e in (BackupNsError(), LintError(["f"]))] == [1, 1]


def test_stale_output_is_one_line_with_what_to_do() -> None:
    error = StaleOutputError("diff", ["out/a.sh", "out/b.yaml"])
    assert error.lines() == [
        "error: 2 file(s) are stale: out/a.sh, out/b.yaml; run `backupns-gen render` and commit "
        "the result"
    ]
