"""The job script against the full namespace script: the proof that they agree.

The ConfigMap carries the job script: the commands the CronJob runs and the fragments
they need (``commands.script_program(caps, job=True)``); ``backup-ns.sh`` in out/ keeps
every command for runs by hand. Both come from one template, and ``check`` proves it on
every render (so ``render --check`` proves it too): each function of the job script is
byte for byte the function of the same name in the full script (but the ones generated
from the command list), every other line of it is a line of the full script, and every
function of the full script that the job script can reach from its top level
(a word of its code, comments left out) is defined in it.
"""

from __future__ import annotations

import re

from .errors import TemplateError

GENERATED = frozenset({"usage", "help_command", "main"})
"""Generated from the command list: they list only the job's commands there."""

_DEF = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\(\) \{")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def split(text: str) -> tuple[dict[str, str], list[str]]:
    """The functions (name: text from ``name() {`` to the ``}`` in column 0, or the
    one line of ``name() { ...; }``) and every other line, in order."""
    functions: dict[str, str] = {}
    rest: list[str] = []
    name, body = "", list[str]()
    for line in text.split("\n"):
        if name:
            body.append(line)
            if line == "}":
                functions[name] = "\n".join(body)
                name = ""
            continue
        match = _DEF.match(line)
        if match is None:
            rest.append(line)
        elif line.endswith("}"):
            functions[match.group(1)] = line
        else:
            name, body = match.group(1), [line]
    if name:
        raise TemplateError(f"function {name} has no closing brace in column 0")
    return functions, rest


def _code(text: str) -> str:
    """TEXT without its comment lines (a function named in a comment is not called)."""
    return "\n".join(line for line in text.split("\n") if not line.lstrip().startswith("#"))


def check(full: str, job: str, where: str) -> None:
    """Raise TemplateError unless JOB is a part of FULL (see the module's text)."""
    full_functions, full_rest = split(full)
    job_functions, job_rest = split(job)
    for name, text in job_functions.items():
        if name in GENERATED:
            continue
        if full_functions.get(name) != text:
            raise TemplateError(
                f"{where}: the job script's function {name} differs from backup-ns.sh's"
            )
    lines = set(full_rest)
    for line in job_rest:
        if line not in lines:
            raise TemplateError(f"{where}: the job script's line {line!r} is not in backup-ns.sh")
    defined = full_functions.keys()
    todo = [w for w in _WORD.findall(_code("\n".join(job_rest))) if w in defined]
    reached: set[str] = set()
    while todo:
        name = todo.pop()
        if name in reached:
            continue
        reached.add(name)
        if name not in job_functions:
            raise TemplateError(f"{where}: the job script calls {name} but does not define it")
        todo.extend(w for w in _WORD.findall(_code(job_functions[name])) if w in defined)
