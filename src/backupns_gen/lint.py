"""Lint rendered output: ShellCheck for scripts, Kubernetes schemas for manifests.

``lint(files)`` checks exactly the files it is given (what ``render`` returned, or
what is on disk): every ``script`` with ShellCheck (``shellcheck.py``: each distinct
shape once), every ``manifest`` against the schemas (``schemacheck.py``: each distinct
shape once). Results are kept in a ``LintCache`` (``lintcache.py``), persistent by
default, so a re-render lints only what changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import shellcheck
from .lintcache import LintCache
from .render import RenderedFile
from .schemacheck import DEFAULT_KUBERNETES_VERSION, SchemaError, Schemas, check_file

LintToolError = shellcheck.LintToolError
__all__ = ["DEFAULT_KUBERNETES_VERSION", "LintReport", "LintToolError", "SchemaError", "lint"]


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


def start_scripts(
    files: dict[str, RenderedFile], cache: LintCache
) -> tuple[dict[str, str], shellcheck.Run]:
    """Start ShellCheck (in the background) on the shapes of every script in files."""
    shapes = {path: shellcheck.canonical(f.text) for path, f in files.items() if f.kind == "script"}
    return shapes, shellcheck.Run(shapes.values(), cache)


def finish_scripts(shapes: dict[str, str], run: shellcheck.Run) -> LintReport:
    report = LintReport()
    results = run.wait()
    report.scripts, report.scripts_linted = len(shapes), run.count
    for path, text in sorted(shapes.items()):
        report.findings += [shellcheck.format_comment(path, c) for c in results[text]]
    return report


def lint_manifests(
    files: dict[str, RenderedFile], kubernetes_version: str, cache: LintCache
) -> LintReport:
    report = LintReport()
    schemas = Schemas(kubernetes_version, cache)
    schemas.version  # noqa: B018 - an unknown version is an error even when all is cached
    skipped: set[str] = set()
    for path, f in sorted(files.items()):
        if f.kind != "manifest" or not path.endswith(".yaml"):
            continue
        result = check_file(path, f.text, schemas, cache)
        report.findings += result.findings
        report.manifests += result.docs
        report.manifests_validated += result.validated
        skipped.update(result.skipped)
    report.notes = [
        f"note: no schema for {item} in kubernetes-validate; not checked"
        for item in sorted(skipped)
    ]
    return report


def lint(
    files: dict[str, RenderedFile],
    kubernetes_version: str = DEFAULT_KUBERNETES_VERSION,
    cache: LintCache | None = None,
) -> LintReport:
    """Lint every script and manifest in ``files`` (a persistent cache unless given one)."""
    cache = cache if cache is not None else LintCache()
    shapes, run = start_scripts(files, cache)
    try:
        manifests = lint_manifests(files, kubernetes_version, cache)
    finally:  # collect ShellCheck (and clean up) even when the schema check fails
        scripts = finish_scripts(shapes, run)
    return LintReport(
        findings=scripts.findings + manifests.findings,
        notes=manifests.notes,
        scripts=scripts.scripts,
        scripts_linted=scripts.scripts_linted,
        manifests=manifests.manifests,
        manifests_validated=manifests.manifests_validated,
    )
