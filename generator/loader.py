"""Load ``backupns.yaml``: parse, merge ``defaults`` into each namespace, validate,
and report every problem as ``<file>: <path>: <why>`` (one line each).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from . import checks, names, schedule
from .config import Config, ControllerConfig, NamespaceConfig
from .errors import BackupNsError, ConfigError, Problem, format_path
from .names import quote
from .unknown import unknown_key_message
from .yamlload import load_yaml

TOP_LEVEL_KEYS = ["defaults", "namespaces", "controller"]


def deep_merge(base: Any, override: Any) -> Any:
    """Mappings merge key by key (recursively); anything else in override replaces base."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = deep_merge(base[key], value) if key in base else value
        return merged
    return override


def _message(err: Any) -> str:
    kind = err["type"]
    value = err.get("input")
    ctx = err.get("ctx") or {}
    if kind == "backupns":
        return str(ctx["text"])
    if kind == "missing":
        return "is required"
    simple = {
        "bool_type": "is not true or false",
        "int_type": "is not a whole number",
        "string_type": "is not a string",
        "list_type": "is not a list",
        "dict_type": "is not a mapping",
        "model_type": "is not a mapping",
        "model_attributes_type": "is not a mapping",
        "none_required": "must be empty",
    }
    if kind in simple:
        return f"{quote(value)} {simple[kind]}"
    if kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace("'", '"')
        return f"{quote(value)} is not one of {expected}"
    if kind in ("greater_than_equal", "greater_than"):
        return f"{quote(value)} is too small (at least {ctx.get('ge', ctx.get('gt'))})"
    if kind in ("less_than_equal", "less_than"):
        return f"{quote(value)} is too large (at most {ctx.get('le', ctx.get('lt'))})"
    if kind == "too_short":
        return f"must have at least {ctx.get('min_length')} item(s)"
    if kind == "string_pattern_mismatch":
        return f"{quote(value)} is not valid (must match {ctx.get('pattern')})"
    return f"{quote(value)}: {err['msg']}"


def problems_from(exc: ValidationError, prefix: tuple[str | int, ...]) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        loc = [p for p in err["loc"] if p != "[key]"]
        if "[key]" in err["loc"]:
            loc = loc[:-1]  # a bad mapping key: the path is the mapping, the key is quoted
        problems.append(Problem(format_path((*prefix, *loc)), _message(err)))
    return problems


def _validate(
    model: type[BaseModel], data: Any, prefix: tuple[str | int, ...]
) -> tuple[Any, list[Problem]]:
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, problems_from(exc, prefix)


def _top_level(raw: Any) -> list[Problem]:
    if not isinstance(raw, dict):
        return [
            Problem("", "the file must be a mapping with namespaces (and defaults, controller)")
        ]
    problems = [
        Problem("", unknown_key_message(key, TOP_LEVEL_KEYS))
        for key in raw
        if key not in TOP_LEVEL_KEYS
    ]
    if not raw.get("namespaces"):
        problems.append(
            Problem("namespaces", "is required (a mapping of namespace name to settings)")
        )
    elif not isinstance(raw["namespaces"], dict):
        problems.append(Problem("namespaces", f"{quote(raw['namespaces'])} is not a mapping"))
    if raw.get("defaults") is not None and not isinstance(raw["defaults"], dict):
        problems.append(Problem("defaults", f"{quote(raw['defaults'])} is not a mapping"))
    return problems


def parse_config(raw: Any, filename: str = "backupns.yaml") -> Config:
    """Validate parsed YAML; raise ConfigError listing every problem."""
    problems = _top_level(raw)
    if problems:
        raise ConfigError(filename, problems)
    defaults: dict[str, Any] = raw.get("defaults") or {}
    # defaults alone: a partial entry (pvcs may be absent), reported at defaults.*
    probe = {"pvcs": ["placeholder"], **defaults}
    checked, problems = _validate(NamespaceConfig, probe, ("defaults",))
    if checked is not None:
        problems += checks.check_schedule(checked.schedule, "defaults", ("defaults",))
    if problems:
        raise ConfigError(filename, problems)

    namespaces: dict[str, NamespaceConfig] = {}
    schedules = schedule.Schedules()  # most namespaces share one schedule: parse it once
    for name in sorted(raw["namespaces"], key=str):
        entry = raw["namespaces"][name]
        if not isinstance(name, str) or names.dns1123_label(name):
            problems.append(
                Problem("namespaces", f"{quote(name)} {names.dns1123_label(str(name))}")
            )
            continue
        if entry is not None and not isinstance(entry, dict):
            problems.append(Problem(f"namespaces.{name}", f"{quote(entry)} is not a mapping"))
            continue
        merged = deep_merge(defaults, entry or {})
        ns, found = _validate(NamespaceConfig, merged, ("namespaces", name))
        if ns is not None:
            found = checks.check_namespace(name, ns, schedules)
        problems += found
        if ns is not None and not found:
            namespaces[name] = ns

    controller, found = _validate(ControllerConfig, raw.get("controller") or {}, ("controller",))
    if controller is not None:
        found = checks.check_controller(controller)
    problems += found
    if problems:
        raise ConfigError(filename, problems)
    return Config.model_validate({"namespaces": namespaces, "controller": controller}).model_copy(
        update={"source_name": filename}
    )


def load_config(path: Path) -> Config:
    """Read and validate a config file (errors name the file by its base name)."""
    filename = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BackupNsError(f"error: cannot read config {path}: {exc.strerror}") from None
    return parse_config(load_yaml(text, filename), filename)
