"""The package's import graph: every module belongs to a stage of the pipeline, imports
only from its own stage or an earlier one, and no imports go round in a circle."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "backupns_gen"

STAGES: tuple[tuple[str, frozenset[str]], ...] = (
    (
        "shared",
        frozenset(
            {
                "__init__", "cache", "commands", "dashboard", "declared", "errors", "kinds",
                "migrate", "names", "schedule", "unknown", "yamlload", "zonerules",
            }
        ),
    ),
    ("load", frozenset({"fields", "config", "checks", "loader", "schema"})),
    ("plan", frozenset({"settings", "controller", "monitoring", "plan"})),
    ("render", frozenset({"render", "renderpool", "rendercache", "jobscript", "refdocs"})),
    ("lint", frozenset({"lint", "lintcache", "shellcheck", "schemacheck"})),
    ("write", frozenset({"write", "unitindex"})),
    ("cli", frozenset({"cli", "__main__"})),
)  # fmt: skip
"""The pipeline's stages in order (load, plan, render, lint, write, the CLI), after the
modules that every stage may use."""

STAGE = {module: i for i, (_, modules) in enumerate(STAGES) for module in modules}


def imports(module: str) -> set[str]:
    """The package's modules that ``module`` imports (anywhere in it, also inside
    functions and ``TYPE_CHECKING``)."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found |= {alias.name for alias in node.names if alias.name in STAGE}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("backupns_gen."):
            found.add((node.module or "").split(".")[1])
    return found - {"__init__", module}


def graph() -> dict[str, set[str]]:
    return {path.stem: imports(path.stem) for path in sorted(PACKAGE.glob("*.py"))}


def test_every_module_has_a_stage() -> None:
    assert set(graph()) == set(STAGE)


def test_no_module_imports_from_a_later_stage() -> None:
    late = [
        f"{module} ({STAGES[STAGE[module]][0]}) imports {name} ({STAGES[STAGE[name]][0]})"
        for module, names in graph().items()
        for name in sorted(names)
        if STAGE[name] > STAGE[module]
    ]
    assert late == []


def test_no_import_circle() -> None:
    edges = graph()
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> list[str]:
        if module in path:
            return [" -> ".join((*path[path.index(module) :], module))]
        if module in done:
            return []
        found = [c for name in sorted(edges[module]) for c in visit(name, (*path, module))]
        done.add(module)
        return found

    assert [circle for module in sorted(edges) for circle in visit(module, ())] == []


def test_the_checks_see_an_import() -> None:
    """What the checks read: a module-level, a function-level and a package import."""
    assert {"plan", "render", "lint", "unitindex", "write"} <= imports("cli")
    assert "kinds" in imports("render")  # from . import __version__, commands, jobscript, kinds
    assert imports("kinds") == set()
