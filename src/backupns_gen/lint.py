"""Lint rendered output: ShellCheck for scripts, Kubernetes schemas for manifests.

``lint(files)`` checks exactly the files it is given (what ``render`` returned, or
what is on disk): every ``script`` with ShellCheck (``shellcheck.py``: each distinct
shape once), every ``manifest`` against the schemas (``schemacheck.py``: each distinct
shape once). Results are kept in a ``LintCache`` (``lintcache.py``), persistent by
default, so a re-render lints only what changed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from . import shellcheck
from .cache import key_of
from .lintcache import LintCache
from .render import RenderedFile
from .schemacheck import DEFAULT_KUBERNETES_VERSION, SchemaError, Schemas, check_file

LintToolError = shellcheck.LintToolError
__all__ = [
    "DEFAULT_KUBERNETES_VERSION",
    "LintReport",
    "LintToolError",
    "Linter",
    "SchemaError",
    "lint",
]


@dataclass
class LintReport:
    findings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    scripts: int = 0
    scripts_linted: int = 0
    """Distinct script shapes ShellCheck actually ran on (not cached)."""
    manifests: int = 0
    manifests_validated: int = 0
    """Distinct manifest shapes validated (not cached)."""

    @property
    def ok(self) -> bool:
        return not self.findings


class Linter:
    """Lint as the files come, one unit at a time: each manifest file is checked when
    added (its result kept, not its text), each script reduced to its shape, and each
    new shape (a handful, whatever the number of namespaces) goes to ShellCheck at once,
    in the background, while the next units render: up to one ShellCheck per core, the
    rest in ``finish``. Memory stays bounded by one unit plus the distinct shapes."""

    def __init__(
        self, kubernetes_version: str = DEFAULT_KUBERNETES_VERSION, cache: LintCache | None = None
    ) -> None:
        self.cache = cache if cache is not None else LintCache()
        self.schemas = Schemas(kubernetes_version, self.cache)
        self.schemas.version  # noqa: B018 - an unknown version is an error even when all is cached
        self.shapes: dict[str, list[str]] = {}
        """Script shape -> the paths of the scripts with that shape."""
        self.scripts = 0
        self.manifest_findings: list[tuple[str, list[str]]] = []
        self.manifests = 0
        self.manifests_validated = 0
        self.skipped: set[str] = set()
        self.runs: list[shellcheck.Run] = []
        self.running: list[shellcheck.Run] = []
        self.queued: list[str] = []
        """New shapes not handed to ShellCheck yet."""
        self.jobs = os.cpu_count() or 2

    def add(self, files: dict[str, RenderedFile]) -> None:
        for path, f in sorted(files.items()):
            if f.kind == "script":
                text = shellcheck.canonical(f.text)
                paths = self.shapes.get(text)
                if paths is None:
                    paths = self.shapes[text] = []
                    self.queued.append(text)
                paths.append(path)
                self.scripts += 1
            elif f.kind == "manifest" and path.endswith(".yaml"):
                result = check_file(path, f.text, self.schemas, self.cache)
                if result.findings:
                    self.manifest_findings.append((path, result.findings))
                self.manifests += result.docs
                self.manifests_validated += result.validated
                self.skipped.update(result.skipped)
        self._start()

    def _start(self) -> None:
        """Hand the queued shapes to ShellCheck, one run each, while fewer than one per
        core are running (a shape whose result is cached starts none)."""
        if not self.queued:
            return
        self.running = [run for run in self.running if not run.done()]
        while self.queued and len(self.running) < self.jobs:
            run = shellcheck.Run([self.queued.pop(0)], self.cache, jobs=1)
            self.runs.append(run)
            if not run.done():
                self.running.append(run)

    def tools(self) -> str:
        """What a lint verdict depends on besides the texts: ShellCheck (its version) and
        the schema check (kubernetes-validate, the Kubernetes version)."""
        return key_of(
            shellcheck.tool_key(self.cache, shellcheck.binary()), self.schemas.tool_key()
        )

    def finish(self) -> LintReport:
        """Run ShellCheck on the shapes not cached and report, findings in path order."""
        if self.queued:
            self.runs.append(shellcheck.Run(self.queued, self.cache))
            self.queued = []
        results: dict[str, shellcheck.Comments] = {}
        try:
            for run in self.runs:
                results.update(run.wait())
        finally:
            for run in self.runs:
                run.stop()
        scripts = sorted((path, text) for text, paths in self.shapes.items() for path in paths)
        findings = [
            shellcheck.format_comment(path, c) for path, text in scripts for c in results[text]
        ]
        for _path, found in sorted(self.manifest_findings, key=lambda item: item[0]):
            findings += found
        return LintReport(
            findings=findings,
            notes=[
                f"note: no schema for {item} in kubernetes-validate; not checked"
                for item in sorted(self.skipped)
            ],
            scripts=self.scripts,
            scripts_linted=sum(run.count for run in self.runs),
            manifests=self.manifests,
            manifests_validated=self.manifests_validated,
        )


def lint(
    files: dict[str, RenderedFile],
    kubernetes_version: str = DEFAULT_KUBERNETES_VERSION,
    cache: LintCache | None = None,
) -> LintReport:
    """Lint every script and manifest in ``files`` (a persistent cache unless given one)."""
    linter = Linter(kubernetes_version, cache)
    linter.add(files)
    return linter.finish()


def lint_manifests(
    files: dict[str, RenderedFile], kubernetes_version: str, cache: LintCache
) -> LintReport:
    """The schema check of the manifests in ``files`` alone."""
    linter = Linter(kubernetes_version, cache)
    linter.add({p: f for p, f in files.items() if f.kind == "manifest"})
    return linter.finish()
