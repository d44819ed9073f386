"""The command line: ``backupns-gen render | lint | validate | schema | docs``.

Errors become one line each on stderr (no traceback): exit 2 for an invalid
config, 1 for anything else (stale output, lint findings, tool failures).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from . import __version__
from .config import Config
from .errors import BackupNsError, LintError, StaleOutputError
from .loader import load_config
from .schemacheck import DEFAULT_KUBERNETES_VERSION

if TYPE_CHECKING:  # imported where used: `validate` needs neither Jinja nor the linters
    from .lint import LintReport
    from .plan import Plan
    from .render import Renderer

F = TypeVar("F", bound=Callable[..., Any])
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def config_option(fn: F) -> F:
    return click.option(
        "-c",
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default="backupns.yaml",
        show_default=True,
        help="The config file to read.",
    )(fn)


def version_option(fn: F) -> F:
    return click.option(
        "--kubernetes-version",
        default=DEFAULT_KUBERNETES_VERSION,
        show_default=True,
        help="Kubernetes version whose schemas the manifests are checked against.",
    )(fn)


def _load(config_path: Path) -> Config:
    """Load and validate; print each warning on stderr (``<file>: warning: <path>: <why>``)."""
    config = load_config(config_path)
    for warning in config.warnings:
        click.echo(f"{config_path}: warning: {warning}", err=True)
    return config


def _renderer(config_path: Path) -> tuple[Plan, Renderer]:
    """Load and plan; the renderer (with the render cache) renders unit by unit."""
    from .plan import plan
    from .render import Renderer
    from .rendercache import RenderCache

    return plan(_load(config_path)), Renderer(cache=RenderCache(), workers=os.cpu_count() or 1)


def _report(report: LintReport) -> LintReport:
    for note in report.notes:
        click.echo(note, err=True)
    if not report.ok:
        raise LintError(report.findings)
    return report


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, "-V", "--version", prog_name="backupns-gen")
def cli() -> None:
    """Compile backupns.yaml into per-namespace backup scripts and Kubernetes manifests."""


@cli.command("render")
@config_option
@click.option(
    "-o",
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default="out",
    show_default=True,
    help="Output directory (files it generated earlier and no longer renders are removed).",
)
@click.option(
    "--check", is_flag=True, help="Write nothing; exit 1 and print a diff when out/ is stale."
)
@click.option("--no-lint", is_flag=True, help="Skip ShellCheck and the manifest schema check.")
@version_option
def render_cmd(
    config_path: Path, out_dir: Path, check: bool, no_lint: bool, kubernetes_version: str
) -> None:
    """Render the config into the output directory (lints the result first)."""
    from .lint import Linter
    from .plan import NamespaceUnit
    from .render import namespace_paths
    from .unitindex import UnitIndex
    from .write import Comparison, diffs, remove, write_files

    started = time.monotonic()
    the_plan, renderer = _renderer(config_path)
    # One unit (namespace) at a time: lint it and compare it with out/, keeping only
    # results and paths, so memory does not grow with the number of namespaces. Nothing
    # is written before every unit is linted; then the units with a stale file are
    # rendered again (from the render cache) and written. A namespace the index knows
    # to be as the last render left it (same render key, its files untouched) is
    # skipped: not rendered, linted or compared.
    linter = None if no_lint else Linter(kubernetes_version)
    index = UnitIndex(out_dir, "no-lint" if linter is None else linter.tools())
    comparison = Comparison(out_dir)
    keys: dict[str, str | None] = {}
    skipped: list[str] = []

    def keep(unit: NamespaceUnit, key: str | None) -> bool:
        paths = index.fresh(unit.name, key)
        if paths is None:
            keys[unit.name] = key
            return True
        comparison.skip(paths)
        skipped.extend(paths)
        return False

    files = 0
    for unit in renderer.units(the_plan, keep=keep):
        files += len(unit)
        if linter is not None:
            linter.add(unit)
        comparison.add(unit)
    files += len(skipped)
    changes = comparison.finish()
    if linter is not None:
        _report(linter.finish())
    stale = set(changes.write)
    only = frozenset(path.split("/")[1] for path in stale if path.startswith("namespaces/"))
    for name, key in keys.items():
        if name not in only:
            index.record(name, key, list(namespace_paths(name)))
    if check:
        if changes.stale:
            chunks = diffs(out_dir, {}, changes, set(changes.remove))
            for unit in renderer.units(the_plan, only):
                chunks.update(diffs(out_dir, unit, changes, stale & unit.keys()))
            click.echo("".join(chunks[path] for path in sorted(chunks)), nl=False)
            raise StaleOutputError("", changes.stale)
        index.save({u.name for u in the_plan.namespaces})
        click.echo(f"{out_dir}: up to date ({files} files)")
        return
    for unit in renderer.units(the_plan, only):
        write_files(out_dir, unit, stale)
    remove(out_dir, changes.remove)
    for name in only:
        index.record(name, keys[name], list(namespace_paths(name)))
    index.save({u.name for u in the_plan.namespaces})
    click.echo(
        f"{out_dir}: {len(changes.write)} written, {len(changes.remove)} removed, "
        f"{changes.unchanged} unchanged ({files} files, {index.skipped} namespaces "
        f"unchanged since the last render, {time.monotonic() - started:.1f}s)"
    )


@cli.command("lint")
@config_option
@version_option
def lint_cmd(config_path: Path, kubernetes_version: str) -> None:
    """Render in memory and run ShellCheck and the manifest schema check."""
    from .lint import Linter

    the_plan, renderer = _renderer(config_path)
    linter = Linter(kubernetes_version)
    for unit in renderer.units(the_plan):
        linter.add(unit)
    report = _report(linter.finish())
    click.echo(
        f"lint: ok ({report.scripts} scripts, {report.scripts_linted} distinct linted; "
        f"{report.manifests} manifests, {report.manifests_validated} distinct validated)"
    )


@cli.command("validate")
@config_option
def validate_cmd(config_path: Path) -> None:
    """Check the config only (exit 2 with one line per problem when invalid)."""
    config = _load(config_path)
    click.echo(f"{config_path}: ok ({len(config.namespaces)} namespaces)")


@cli.command("schema")
def schema_cmd() -> None:
    """Print the JSON Schema of backupns.yaml (for editor completion)."""
    from .schema import config_schema

    click.echo(json.dumps(config_schema(), indent=2, sort_keys=True))


@cli.command("docs")
@click.option(
    "-o",
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default="docs",
    show_default=True,
    help="Directory of the reference pages (config.md, settings.md).",
)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 and name the stale pages.")
def docs_cmd(out_dir: Path, check: bool) -> None:
    """Write the config and settings reference pages (docs/config.md, docs/settings.md)."""
    from .refdocs import render_pages

    stale = []
    for name, text in render_pages().items():
        path = out_dir / name
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current == text:
            continue
        stale.append(str(path))
        if not check:
            out_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if check and stale:
        raise click.ClickException(
            f"stale: {', '.join(stale)}; run: backupns-gen docs -o {out_dir}"
        )
    click.echo(f"{out_dir}: {'up to date' if not stale else ', '.join(stale) + ' written'}")


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="backupns-gen", standalone_mode=False)
    except BackupNsError as exc:
        for line in exc.lines():
            click.echo(line, err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2 if isinstance(exc, click.UsageError) else 1)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # a bug: still one line, the traceback only on request
        if os.environ.get("BACKUPNS_DEBUG"):
            raise
        click.echo(
            f"internal error: {type(exc).__name__}: {exc} (set BACKUPNS_DEBUG=1 for the traceback)",
            err=True,
        )
        sys.exit(1)
    sys.exit(0)
