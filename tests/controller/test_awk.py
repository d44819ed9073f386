"""The controller's awk programs: each is its own file under templates/controller/awk/,
included verbatim in the rendered script (a quoted heredoc: no shell quoting inside),
and passes gawk --lint. The lint is parse-time only (the programs need their input and
-v variables to run): every warning fails the test except the two that the programs'
idioms always raise, a function's extra parameters used as its locals ("shadows global
variable") and library functions that one program does not call."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.genhelpers import REPO, TEMPLATES

AWK_DIR = TEMPLATES / "controller" / "awk"
SCRIPT = REPO / "out" / "controller" / "backup-ns-controller.sh"
# What the script runs: each program after the shared library where it uses one.
PROGRAMS = {
    "json": [],
    "decide": ["lib"],
    "keys": ["lib"],
    "orphans": ["lib"],
    "holders": [],
    "groups": [],
    "status": ["lib"],
    "list": ["lib"],
    "drill": ["lib"],
    "describe": [],
    "objects": [],
    "patches": [],
    "synclist": [],
}
IDIOMS = re.compile(
    r"parameter `\w+' shadows global variable|function `\w+' defined but never called"
)


def test_every_awk_file_is_a_program_or_the_library() -> None:
    assert sorted(p.stem for p in AWK_DIR.glob("*.awk")) == sorted([*PROGRAMS, "lib"])


@pytest.mark.skipif(shutil.which("gawk") is None, reason="gawk is not installed")
@pytest.mark.parametrize("program", sorted(PROGRAMS))
def test_gawk_lint(program: str) -> None:
    files = [AWK_DIR / f"{name}.awk" for name in [*PROGRAMS[program], program]]
    run = subprocess.run(
        # parse only: the first BEGIN and END rules end the run before the programs' own
        ["gawk", "--lint", "-e", "BEGIN { exit } END { exit }"]
        + [arg for f in files for arg in ("-f", str(f))]
        + ["/dev/null"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    found = [line for line in run.stderr.splitlines() if not IDIOMS.search(line)]
    assert found == []


def test_lint_finds_a_portability_problem(tmp_path: Path) -> None:
    """The filter above lets real findings through (a test that cannot fail is a defect)."""
    if shutil.which("gawk") is None:
        pytest.skip("gawk is not installed")
    bad = tmp_path / "bad.awk"
    bad.write_text("function f(x) { return length }\n")
    run = subprocess.run(
        ["gawk", "--lint", "-e", "BEGIN { exit } END { exit }", "-f", str(bad), "/dev/null"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert [line for line in run.stderr.splitlines() if not IDIOMS.search(line)]


@pytest.mark.parametrize("name", sorted([*PROGRAMS, "lib"]))
def test_included_verbatim_in_a_quoted_heredoc(name: str) -> None:
    text = (AWK_DIR / f"{name}.awk").read_text()
    assert "\nAWK\n" not in "\n" + text  # the heredoc's end marker
    var = f"AWK_{name.upper()}"
    block = f"IFS= read -r -d '' {var} <<'AWK' || true\n{text}AWK\n"
    assert block in SCRIPT.read_text()


def test_no_awk_program_left_in_a_bash_string() -> None:
    for template in (TEMPLATES / "controller").glob("*.j2"):
        assert not re.search(r"^AWK_\w+='", template.read_text(), re.M), template.name
        assert "'\"'\"'" not in template.read_text(), template.name


INLINE = re.compile(r"""\bawk(?: -F '[^']*')?(?: -v \w+="[^"]*")* '([^']*)'""")


def test_inline_awk_is_a_filter_of_at_most_two_lines() -> None:
    """A short filter (`awk -F '\\t' '$1 == "x" { print $2 }'`) reads best where it is
    used; a longer program is a file under awk/, linted by gawk."""
    found = 0
    for template in (TEMPLATES / "controller").glob("*.j2"):
        for match in INLINE.finditer(template.read_text()):
            found += 1
            assert match.group(1).count("\n") <= 1, f"{template.name}: {match.group(0)[:70]}..."
    assert found  # the pattern still finds the inline filters
