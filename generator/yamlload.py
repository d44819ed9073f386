"""YAML loading: safe, duplicate keys are errors, syntax errors carry line and column."""

from __future__ import annotations

from typing import Any

import yaml

from .errors import ConfigError, Problem

_BASE: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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


def load_yaml(text: str, filename: str) -> Any:
    """Parse one YAML document; raise ConfigError with ``line L, column C`` on errors."""
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = exc.problem or "invalid YAML"
        context = f" ({exc.context})" if exc.context and "duplicate" not in problem else ""
        raise ConfigError(filename, [Problem("", f"{where}{problem}{context}")]) from None
    except yaml.YAMLError as exc:
        raise ConfigError(filename, [Problem("", f"invalid YAML: {exc}")]) from None
