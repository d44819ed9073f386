"""The hooks fragment (templates/script/_hooks.sh.j2) without a cluster: any command
from the config reaches the program as exactly its argv, through shquote into the
rendered bash, then the in-container script that `sh -s` (dash) runs; the watchdog
of that script ends a command at its timeout."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from backupns_gen.loader import parse_config
from backupns_gen.plan import plan
from backupns_gen.render import render_script

ECHO_ARGV = [sys.executable, "-c", "import json, sys; print(json.dumps(sys.argv[1:]))"]

HOSTILE = [
    "$(touch /tmp/backupns-pwned)",
    "`touch /tmp/backupns-pwned`",
    "'; touch /tmp/backupns-pwned; '",
    "${HOME}",
    '"$@"',
    "two\nlines",
    "",
    "-n",
    "*",
    "\\",
    "a\tb\r\x1b[31m",
    "ü ☃",
]


def _script(tmp: Path, command: list[str], timeout: str = "5m") -> Path:
    config = parse_config(
        {
            "namespaces": {
                "ns": {
                    "pvcs": ["data"],
                    "flock": {"enabled": False},
                    "hooks": {"pre": [{"exec": "pod/x", "command": command, "timeout": timeout}]},
                }
            }
        }
    )
    path = tmp / "backup-ns.sh"
    path.write_text(render_script(plan(config).namespaces[0], "# test"))
    return path


def _remote(script: Path) -> bytes:
    """The in-container script of hook 1, as the rendered bash builds it (bytes: a text
    mode pipe would turn a \r in an argument into \n)."""
    return subprocess.run(
        [
            "bash",
            "-c",
            'source "$1" && hook_define 1 &&'
            ' hook_remote_script "$HOOK_TIMEOUT" "${HOOK_COMMAND[@]}"',
            "_",
            str(script),
        ],
        capture_output=True,
        check=True,
    ).stdout


def _run_remote(remote: bytes, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(["sh", "-s"], input=remote, capture_output=True, timeout=timeout)
    return subprocess.CompletedProcess(
        out.args, out.returncode, out.stdout.decode(), out.stderr.decode()
    )


def test_hostile_arguments_arrive_exactly(tmp_path: Path) -> None:
    marker = Path("/tmp/backupns-pwned")
    marker.unlink(missing_ok=True)
    out = _run_remote(_remote(_script(tmp_path, [*ECHO_ARGV, *HOSTILE])))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == HOSTILE
    assert not marker.exists()


@settings(max_examples=25, deadline=None)
@given(st.lists(st.text(st.characters(exclude_characters="\0", exclude_categories=["Cs"]))))
def test_any_arguments_arrive_exactly(args: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = _run_remote(_remote(_script(Path(tmp), [*ECHO_ARGV, *args])))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == args


def test_exit_status_and_missing_program(tmp_path: Path) -> None:
    out = _run_remote(_remote(_script(tmp_path, ["sh", "-c", "echo oops >&2; exit 7"])))
    assert (out.returncode, out.stderr) == (7, "oops\n")
    out = _run_remote(_remote(_script(tmp_path, ["no-such-program-here", "x"])))
    assert out.returncode == 3
    assert out.stderr == (
        "backup-ns-error: no-such-program-here is not installed in the container "
        "(not on its PATH)\n"
    )


def test_watchdog_kills_the_whole_tree_at_the_timeout(tmp_path: Path) -> None:
    # A child that ignores SIGTERM, and a grandchild: both gone after TERM + 2 s KILL.
    command = ["sh", "-c", "trap '' TERM; sleep 671 & sh -c 'sleep 672' & wait"]
    start = time.monotonic()
    out = _run_remote(_remote(_script(tmp_path, command, timeout="1s")))
    took = time.monotonic() - start
    assert out.returncode == 124
    assert out.stderr.endswith(
        "backup-ns-error: timed out after 1s; the command and its processes were killed\n"
    )
    # Ended by the watchdog, not by the 671 s sleep (a loose bound, no timing claim).
    assert 1 <= took < 300
    left = subprocess.run(["pgrep", "-f", "^sleep 67[12]$"], capture_output=True, text=True)
    assert left.stdout == ""
