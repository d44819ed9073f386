"""YAML loading: safe, duplicate keys are errors, syntax errors carry line and column,
and a document cannot make the loader do more work than its size suggests.

Aliases are allowed (``&tolerations`` shared by a few namespaces is normal YAML), but
they share *nodes*: ``&a [x, x, ...]``, ``&b [*a, *a, ...]``, ... is a few hundred bytes
whose expansion (what validation and rendering would walk) has billions of values.
So the composed node graph is measured before anything is constructed: the values
that aliases add beyond the document's own may not exceed ``MAX_ALIAS_EXPANSION``,
and an alias inside its own anchor (a cycle) is refused. Measuring is linear in the
number of distinct nodes, so a bomb is refused in milliseconds.
"""

from __future__ import annotations

from typing import Any

import yaml

from .errors import ConfigError, Problem

_BASE: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_BYTES = 16 * 1024 * 1024
"""A config larger than this is refused before parsing (1,000 namespaces are ~100 KB)."""

MAX_ALIAS_EXPANSION = 100_000
"""How many values aliases may add to a document (each alias counts its anchor's size)."""


class _UniqueKeyLoader(_BASE):  # type: ignore[valid-type,misc]
    """SafeLoader that rejects a mapping key given twice."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                first = seen[key].start_mark.line + 1
                mark = key_node.start_mark
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f'duplicate key "{key}" (first defined on line {first})',
                    mark,
                )
            seen[key] = key_node
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


class _AliasError(Exception):
    def __init__(self, node: yaml.Node, message: str) -> None:
        super().__init__(message)
        self.node = node


def check_aliases(root: yaml.Node, limit: int = MAX_ALIAS_EXPANSION) -> None:
    """Raise _AliasError when aliases expand ``root`` by more than ``limit`` values or
    form a cycle. Iterative (no recursion limit), memoized by node identity."""
    size: dict[int, int] = {}
    on_path: set[int] = set()
    extra = 0
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            size[key] = 1 + sum(size[id(c)] for c in _children(node))
            continue
        if key in on_path:
            raise _AliasError(node, "an alias refers to the anchor it is inside of (a cycle)")
        if key in size:  # a second reference to a finished node: an alias
            extra += size[key]
            if extra > limit:
                raise _AliasError(
                    node,
                    f"YAML aliases of this anchor expand the document by more than {limit} "
                    "values (an alias bomb?); write the values out, or share settings "
                    "through defaults:",
                )
            continue
        on_path.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in reversed(_children(node)))


def _where(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""


UNCLOSED = {
    "while parsing a flow sequence": "the [ here is not closed",
    "while parsing a flow mapping": "the { here is not closed",
    "while scanning a quoted scalar": "the quote here is not closed",
    "while scanning a simple key": "the key here has no ':' after it",
}
"""Errors the parser notices only after the mistake (often on a later line): these
point at the mistake, where the construct opened (the context mark), and say where
the parser noticed."""


def syntax_message(exc: yaml.MarkedYAMLError) -> str:
    """``line L, column C: what``, with L the line of the mistake."""
    problem = exc.problem or "invalid YAML"
    opened = UNCLOSED.get(exc.context or "")
    if opened and exc.context_mark is not None and exc.problem_mark is not None:
        noticed = _where(exc.problem_mark).removesuffix(": ")
        return f"{_where(exc.context_mark)}{opened}: {problem} (noticed at {noticed})"
    context = f" ({exc.context})" if exc.context and "duplicate" not in problem else ""
    return f"{_where(exc.problem_mark)}{problem}{context}"


def load_yaml(text: str, filename: str) -> Any:
    """Parse one YAML document; raise ConfigError with ``line L, column C`` on errors."""
    if len(text) > MAX_BYTES:
        raise ConfigError(
            filename,
            [Problem("", f"is larger than {MAX_BYTES // (1024 * 1024)} MiB; refusing to parse it")],
        )
    loader = _UniqueKeyLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if "&" in text:  # without an anchor there is no alias to expand
            check_aliases(node)
        return loader.construct_document(node)
    except _AliasError as exc:
        raise ConfigError(filename, [Problem("", f"{_where(exc.node.start_mark)}{exc}")]) from None
    except yaml.MarkedYAMLError as exc:
        raise ConfigError(filename, [Problem("", syntax_message(exc))]) from None
    except yaml.YAMLError as exc:
        raise ConfigError(filename, [Problem("", f"invalid YAML: {exc}")]) from None
    except RecursionError:
        raise ConfigError(filename, [Problem("", "is nested too deeply to load")]) from None
    finally:
        loader.dispose()
