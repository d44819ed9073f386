"""Error hierarchy. Every error the user can cause is one of these; the CLI
edge turns it into one line per problem on stderr and an exit status
(2 for an invalid config, 1 for anything else). No traceback ever reaches a user.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class BackupNsError(Exception):
    """Base of every error the CLI reports as a message (exit status 1)."""

    exit_code = 1

    def lines(self) -> list[str]:
        """The lines printed to stderr, one per problem."""
        return [str(self)]


def format_path(loc: Iterable[str | int]) -> str:
    """``("namespaces", "shop", "pvcs", 0)`` → ``namespaces.shop.pvcs[0]``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


@dataclass(frozen=True)
class Problem:
    """One invalid value: where it is (a dotted path) and why it is wrong."""

    path: str
    message: str

    def render(self, filename: str) -> str:
        """``file: path: message`` as one line: any non-printable character that a
        message let through (a newline in a key) is shown escaped, never printed."""
        where = f"{filename}: {self.path}: " if self.path else f"{filename}: "
        line = where + self.message
        if line.isprintable():
            return line
        return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in line)


class ConfigError(BackupNsError):
    """The config file is unreadable or invalid (exit status 2)."""

    exit_code = 2

    def __init__(self, filename: str, problems: list[Problem]) -> None:
        self.filename = filename
        self.problems = problems
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        return [p.render(self.filename) for p in self.problems]


class TemplateError(BackupNsError):
    """A template is missing or references an undefined value (a generator bug)."""


class LintError(BackupNsError):
    """ShellCheck or the manifest schema check found problems in rendered output."""

    def __init__(self, findings: list[str]) -> None:
        self.findings = findings
        super().__init__("\n".join(findings))

    def lines(self) -> list[str]:
        return list(self.findings)


class StaleOutputError(BackupNsError):
    """`render --check` found that out/ differs from what the config renders to."""

    def __init__(self, diff: str, changed: list[str]) -> None:
        self.diff = diff
        self.changed = changed
        super().__init__(f"{len(changed)} file(s) in the output directory are stale")

    def lines(self) -> list[str]:
        return [
            f"error: {len(self.changed)} file(s) are stale: {', '.join(self.changed)};"
            " run `backupns-gen render` and commit the result"
        ]
