"""The job script against the full namespace script: the proof that they agree.

The ConfigMap carries the job script: the commands the CronJob runs and the fragments
they need (``commands.script_program(caps, job=True)``); ``backup-ns.sh`` in out/ keeps
every command for runs by hand. Both come from one template, and ``check`` proves it on
every render (so ``render --check`` proves it too): each function of the job script is
byte for byte the function of the same name in the full script (but the ones generated
from the command list), every other line of it is a line of the full script, and every
function of the full script that the job script can reach from its top level
(a word of its code, comments left out; a name built at run time, ``"${kind}_vars"``,
reaches every function it can match) is defined in it.

``job_script`` makes the job script what it is: ``prune`` leaves out each function the
top level cannot reach, with the comment lines right above it (like a linker leaving
out what nothing calls), and ``compact`` the comment lines between functions (the
reader's copy, with every comment, is backup-ns.sh). The ConfigMap holds it gzipped
(``payload``): 25-32 KB a tenant in etcd instead of 115-160 KB; the CronJob gunzips it
into /tmp and runs it. A namespace's values reach its scripts only in the baked values
(``BAK_BAKED=(`` ... ``)``), so what comes after them is the same for every namespace of
one shape: ``Memo`` keeps what was learnt about it (its functions, its job script, a
check passed) for the next namespace of that shape.
"""

from __future__ import annotations

import base64
import bisect
import gzip
import re
from collections.abc import Mapping

from .errors import TemplateError

GENERATED = frozenset({"usage", "help_command", "main"})
"""Generated from the command list: they list only the job's commands there."""

MEMO_MAX = 5000
_DEF = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\(\) \{([^\n]*)$", re.MULTILINE)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HEREDOC = re.compile(r"<<-?(['\"]?)([A-Z][A-Z0-9_]*)\1")
_SUFFIX = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}(_[A-Za-z0-9_]+)")
_PREFIX = re.compile(r"([A-Za-z_][A-Za-z0-9_]*_)\$\{?[A-Za-z_]")
_COMMENT = re.compile(r"^[ \t]*#[^\n]*$", re.MULTILINE)


def _heredocs(text: str) -> list[tuple[int, int]]:
    """The here-document bodies of TEXT as (start, end) offsets: from the line after
    ``<<WORD`` / ``<<'WORD'`` (an upper-case word, no space: how the templates write
    them) to the line after the one that is WORD alone."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for match in _HEREDOC.finditer(text):
        if match.start() < pos:
            continue  # inside the body before
        body = text.find("\n", match.end())
        close = text.find("\n" + match.group(2) + "\n", body)
        if body < 0 or close < 0:
            raise TemplateError(f"here-document {match.group(2)} has no end line")
        pos = close + len(match.group(2)) + 2
        spans.append((body + 1, pos))
    return spans


def _functions(text: str) -> list[tuple[str, int, int]]:
    """(name, start, stop) of each function: from ``name() {`` to the ``}`` in column 0
    (or the one line of ``name() { ...; }``), STOP just past its last character. A line
    of a here-document (a remote script's own functions) is no function of TEXT."""
    spans = _heredocs(text)
    starts = [start for start, _ in spans]

    def inside(offset: int) -> int:
        """The end of the here-document holding OFFSET, or -1."""
        i = bisect.bisect_right(starts, offset) - 1
        return spans[i][1] if i >= 0 and offset < spans[i][1] else -1

    found: list[tuple[str, int, int]] = []
    end = 0
    for match in _DEF.finditer(text):
        if match.start() < end or inside(match.start()) >= 0:
            continue  # a line inside the function before, or of a here-document
        if match.group(2).endswith("}"):
            stop = match.end()
        else:
            stop = text.find("\n}\n", match.end())
            while stop >= 0 and inside(stop + 1) >= 0:
                stop = text.find("\n}\n", inside(stop + 1) - 1)
            if stop < 0:
                raise TemplateError(f"function {match.group(1)} has no closing brace in column 0")
            stop += 2
        found.append((match.group(1), match.start(), stop))
        end = stop + 1
    return found


def split(text: str, memo: Memo | None = None) -> tuple[dict[str, str], list[str]]:
    """The functions (name: text, see ``_functions``) and every other line, in order."""
    functions: dict[str, str] = {}
    rest: list[str] = []
    end = 0
    for name, start, stop in (memo.functions(text) if memo else _functions(text)):
        rest.append(text[end:start])
        functions[name] = text[start:stop]
        end = stop + 1
    rest.append(text[end:])
    return functions, "".join(rest).split("\n")


Words = tuple[frozenset[str], tuple[str, ...]]
"""The names a text's code uses, and its patterns (see ``_words``)."""
Span = tuple[str, int, int]


class Memo:
    """What one render run learnt about the texts it saw (most are the same in every
    namespace): the words of each function text, and the functions of each script's
    text after its baked values (``BAK_BAKED=(`` ... ``)``: the only place a namespace's
    values reach, so the rest is the same for every namespace of one shape). Emptied
    when it holds more than MEMO_MAX texts."""

    def __init__(self) -> None:
        self.words: dict[str, Words] = {}
        self.spans: dict[str, list[Span]] = {}
        self.jobs: dict[tuple[str, frozenset[str]], str] = {}
        """(tail, the tail's functions the head names) -> the job script's tail."""
        self.checked: dict[tuple[str, str, frozenset[str]], frozenset[str]] = {}
        """(full tail, job tail, the full tail's functions the job head names) of a check
        passed -> the lines of the full script's tail outside functions."""

    def trim(self) -> Memo:
        if len(self.words) + len(self.spans) + len(self.jobs) + len(self.checked) > MEMO_MAX:
            self.words.clear()
            self.spans.clear()
            self.jobs.clear()
            self.checked.clear()
        return self

    def functions(self, text: str) -> list[Span]:
        """``_functions(TEXT)``, the text after the baked values looked up."""
        cut = baked_end(text)
        tail = text[cut:]
        spans = self.spans.get(tail)
        if spans is None:
            spans = self.spans[tail] = _functions(tail)
        head = _functions(text[:cut]) if cut else []
        return head + [(name, a + cut, b + cut) for name, a, b in spans]

    def head_hits(self, head: str, tail: str) -> frozenset[str] | None:
        """The functions of TAIL that HEAD can call by name or pattern; None when HEAD
        has functions of its own (then nothing is looked up)."""
        if _functions(head):
            return None
        names = {name for name, _a, _b in self.functions(tail)}
        words, patterns = _words(head)
        hits = set(words & names)
        for pattern in patterns:
            hits.update(n for n in names if n.endswith(pattern[1:]) or n.startswith(pattern[:-1]))
        return frozenset(hits)


def baked_end(text: str) -> int:
    """Where the text after the baked values (``BAK_BAKED=(`` ... ``)``) starts, or 0."""
    start = text.find("\nBAK_BAKED=(\n")
    end = -1 if start < 0 else text.find("\n)\n", start)
    return 0 if end < 0 else end + 3


def _words(text: str) -> Words:
    """The words of TEXT's code (a function named in a comment is not called), and for
    each name built at run time (``"${kind}_remote_vars"``) the pattern ``*_remote_vars``
    or ``prefix_*``: it may call every function that matches."""
    code = _COMMENT.sub("", text)
    patterns = ["*" + suffix for suffix in _SUFFIX.findall(code)]
    patterns += [prefix + "*" for prefix in _PREFIX.findall(code)]
    return frozenset(_WORD.findall(code)), tuple(sorted(set(patterns)))


def _reach(texts: Mapping[str, str], named: set[str], top: str, memo: Memo) -> set[str]:
    """The functions that TOP can reach: those of NAMED it names, or that the text (from
    TEXTS) of a function reached names; a pattern matches the functions of TEXTS. A
    reached name without a text is not followed."""
    matches: dict[str, set[str]] = {}

    def callees(words: Words) -> set[str]:
        found = named & words[0]
        for pattern in words[1]:
            hit = matches.get(pattern)
            if hit is None:
                if pattern.startswith("*"):
                    hit = {name for name in texts if name.endswith(pattern[1:])}
                else:
                    hit = {name for name in texts if name.startswith(pattern[:-1])}
                matches[pattern] = hit
            found |= hit
        return found

    todo = list(callees(_words(top)))
    reached: set[str] = set()
    while todo:
        name = todo.pop()
        if name in reached:
            continue
        reached.add(name)
        text = texts.get(name)
        if text is None:
            continue
        words = memo.words.get(text)
        if words is None:
            words = memo.words[text] = _words(text)
        todo.extend(callees(words) - reached)
    return reached


def _memo(memo: Memo | None) -> Memo:
    return (memo if memo is not None else Memo()).trim()


def _prune(text: str, spans: list[Span], memo: Memo) -> tuple[str, list[Span]]:
    """``prune`` on TEXT parsed into SPANS: the text and the spans of what is left."""
    functions = {name: text[start:stop] for name, start, stop in spans}
    rest: list[str] = []
    end = 0
    for _name, start, stop in spans:
        rest.append(text[end:start])
        end = stop + 1
    rest.append(text[end:])
    keep = _reach(functions, set(functions), "".join(rest), memo)
    if len(keep) == len(functions):
        return text, spans
    pieces: list[str] = []
    kept: list[Span] = []
    size = 0
    end = 0
    for name, start, stop in spans:
        if name in keep:
            piece = text[end : stop + 1]
            kept.append((name, size + start - end, size + stop - end))
        else:
            before = text[end:start].split("\n")
            before.pop()  # the empty rest of the line before the definition
            while before and before[-1].lstrip().startswith("#"):
                before.pop()
            if before and not before[-1] and text.startswith("\n", stop + 1):
                before.pop()  # its blank line goes with it
            piece = "".join(line + "\n" for line in before)
        pieces.append(piece)
        size += len(piece)
        end = stop + 1
    pieces.append(text[end:])
    return "".join(pieces), kept


def prune(text: str, memo: Memo | None = None) -> str:
    """TEXT without the functions its top level cannot reach, each with the comment
    lines right above it (its header); blank lines are not doubled where one goes."""
    memo = _memo(memo)
    return _prune(text, memo.functions(text), memo)[0]


def _bare(segment: str) -> str:
    """Top-level lines without comment lines (but ShellCheck directives), no two blank
    lines in a row."""
    kept: list[str] = []
    for line in segment.split("\n"):
        comment = line.lstrip().startswith("#") and not line.startswith("# shellcheck ")
        if comment or (not line and kept and not kept[-1]):
            continue
        kept.append(line)
    return "\n".join(kept)


def _compact(text: str, spans: list[Span]) -> str:
    """``compact`` on TEXT parsed into SPANS."""
    head = text.find("\n", text.find("\n") + 1) + 1  # the #! line and the header
    pieces = [text[:head]]
    end = head
    for _name, start, stop in spans:
        pieces.append(_bare(text[end:start]))
        pieces.append(text[start : stop + 1])
        end = stop + 1
    pieces.append(_bare(text[end:]))
    return "".join(pieces)


def compact(text: str) -> str:
    """TEXT (a pruned job script) for the machine: the comment lines between its
    functions left out (the ``#!`` line, the generated-file header and ShellCheck
    directives stay), each function as it is. The reader's copy, with every comment, is
    backup-ns.sh."""
    return _compact(text, _functions(text))


def job_script(text: str, memo: Memo | None = None) -> str:
    """``compact(prune(TEXT))``, TEXT parsed once. The part after the baked values
    depends on that part and on what the baked values name only: it is looked up."""
    memo = _memo(memo)
    cut = baked_end(text)
    hits = memo.head_hits(text[:cut], text[cut:]) if cut else None
    key = (text[cut:], hits) if hits is not None else None
    if key is not None and key in memo.jobs:
        return _compact(text[:cut], []) + memo.jobs[key]
    pruned, spans = _prune(text, memo.functions(text), memo)
    job = _compact(pruned, spans)
    head = _compact(text[:cut], []) if key is not None else ""
    if key is not None and job.startswith(head):
        memo.jobs[key] = job[len(head) :]
    return job


def payload(job: str) -> str:
    """The ConfigMap's binaryData value of JOB: gzip (no name, no time: the same bytes
    for the same script; gzip's default level 6, as small as 9 within 0.5% here at two
    thirds of the time), base64."""
    return base64.b64encode(gzip.compress(job.encode(), compresslevel=6, mtime=0)).decode()


def check(full: str, job: str, where: str, memo: Memo | None = None) -> None:
    """Raise TemplateError unless JOB is a part of FULL (see the module's text); MEMO:
    what the run learnt about the texts (``Memo``)."""
    memo = _memo(memo)
    full_cut, job_cut = baked_end(full), baked_end(job)
    hits = memo.head_hits(job[:job_cut], full[full_cut:]) if full_cut and job_cut else None
    key = (full[full_cut:], job[job_cut:], hits) if hits is not None else None
    if key is not None and key in memo.checked and not _functions(full[:full_cut]):
        # the tails passed together before: the job's head lines are all that is new
        lines = memo.checked[key] | set(full[:full_cut].split("\n"))
        for line in job[:job_cut].split("\n"):
            if line not in lines:
                raise TemplateError(
                    f"{where}: the job script's line {line!r} is not in backup-ns.sh"
                )
        return
    _check(full, job, where, memo)
    if key is not None:
        tail_lines = frozenset(split(full[full_cut:], memo)[1])
        if tail_lines.issuperset(split(job[job_cut:], memo)[1]):
            memo.checked[key] = tail_lines


def _check(full: str, job: str, where: str, memo: Memo) -> None:
    full_functions, full_rest = split(full, memo)
    job_functions, job_rest = split(job, memo)
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
    reached = _reach(job_functions, set(full_functions), "\n".join(job_rest), memo)
    for name in sorted(reached - job_functions.keys()):
        raise TemplateError(f"{where}: the job script calls {name} but does not define it")
