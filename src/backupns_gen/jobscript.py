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

MEMO_MAX = 5000
_DEF = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\(\) \{([^\n]*)$", re.MULTILINE)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_COMMENT = re.compile(r"^[ \t]*#[^\n]*$", re.MULTILINE)


def split(text: str) -> tuple[dict[str, str], list[str]]:
    """The functions (name: text from ``name() {`` to the ``}`` in column 0, or the
    one line of ``name() { ...; }``) and every other line, in order."""
    functions: dict[str, str] = {}
    rest: list[str] = []
    end = 0
    for match in _DEF.finditer(text):
        if match.start() < end:
            continue  # a line inside the function before
        if match.group(2).endswith("}"):
            stop = match.end()
        else:
            stop = text.find("\n}\n", match.end())
            if stop < 0:
                raise TemplateError(f"function {match.group(1)} has no closing brace in column 0")
            stop += 2
        rest.append(text[end : match.start()])
        functions[match.group(1)] = text[match.start() : stop]
        end = stop + 1
    rest.append(text[end:])
    return functions, "".join(rest).split("\n")


def _words(text: str) -> set[str]:
    """The words of TEXT's code (a function named in a comment is not called)."""
    return set(_WORD.findall(_COMMENT.sub("", text)))


def check(full: str, job: str, where: str, memo: dict[str, set[str]] | None = None) -> None:
    """Raise TemplateError unless JOB is a part of FULL (see the module's text). MEMO
    keeps the words of each function text seen (most are the same in every namespace);
    it is emptied when it holds more than MEMO_MAX texts."""
    memo = memo if memo is not None else {}
    if len(memo) > MEMO_MAX:
        memo.clear()
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
    todo = list(_words("\n".join(job_rest)) & defined)
    reached: set[str] = set()
    while todo:
        name = todo.pop()
        if name in reached:
            continue
        reached.add(name)
        if name not in job_functions:
            raise TemplateError(f"{where}: the job script calls {name} but does not define it")
        text = job_functions[name]
        words = memo.get(text)
        if words is None:
            words = memo[text] = _words(text) & defined
        todo.extend(words)
