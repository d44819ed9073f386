"""Load ``backupns.yaml``: parse, merge ``defaults`` into each namespace, validate,
and report every problem as ``<file>: <path>: <why>`` (one line each).
"""

from __future__ import annotations

from pathlib import Path, PurePath
from typing import Any

from pydantic import BaseModel, ValidationError

from . import checks, names, schedule
from .config import Config, ControllerConfig, Monitoring, NamespaceConfig
from .errors import BackupNsError, ConfigError, Problem, format_path
from .migrate import migrate_flock
from .names import quote
from .unknown import unknown_key_message
from .yamlload import load_yaml

TOP_LEVEL_KEYS = ["defaults", "namespaces", "controller", "monitoring"]


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


def _top_level(raw: dict[Any, Any]) -> list[Problem]:
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


def image_warning(image: object, path: str) -> list[str]:
    """A warning for an image without a version tag (``:latest`` or none, no digest)."""
    if not isinstance(image, str) or "@" in image:
        return []
    last = image.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else ""
    if tag and tag != "latest":
        return []
    what = "has the tag latest" if tag else "has no tag (so: latest)"
    return [
        f"{path}: {quote(image)} {what}: every node pulls whatever it is that day; "
        "pin a version tag (or a digest)"
    ]


def _image_warnings(raw: dict[str, Any]) -> list[str]:
    found = image_warning((raw.get("defaults") or {}).get("image"), "defaults.image")
    for name in sorted(raw["namespaces"], key=str):
        entry = raw["namespaces"][name]
        if isinstance(entry, dict):
            found += image_warning(entry.get("image"), f"namespaces.{name}.image")
    found += image_warning((raw.get("controller") or {}).get("image"), "controller.image")
    return found


Inherited = set[tuple[str, str]]
"""The defaults' problems as (path below ``defaults``, message): a namespace that merges
the same value in gets the same problem, reported once (at ``defaults``)."""


def _defaults(raw: dict[Any, Any]) -> tuple[dict[str, Any], list[Problem], list[str]]:
    """The defaults to merge into each namespace, their problems and warnings."""
    defaults = raw.get("defaults") or {}
    if not isinstance(defaults, dict):
        return {}, [], []  # reported by _top_level
    migrated, problems, warnings = migrate_flock(defaults, "defaults")
    if problems:  # flock beside lock: merge neither's old name into the namespaces
        migrated = {k: v for k, v in defaults.items() if k != "flock"}
    # defaults alone: a partial entry (pvcs may be absent), reported at defaults.*
    probe = {"pvcs": ["placeholder"], **migrated}
    checked, found = _validate(NamespaceConfig, probe, ("defaults",))
    if checked is not None:
        found += checks.check_schedule(checked.schedule, "defaults", ("defaults",))
    return migrated, problems + found, warnings


def _namespace(
    name: Any, entry: Any, defaults: dict[str, Any], schedules: schedule.Schedules
) -> tuple[NamespaceConfig | None, list[Problem], list[str]]:
    """One entry of ``namespaces``, defaults merged in: the model, problems, warnings."""
    if not isinstance(name, str) or names.dns1123_label(name):
        return None, [Problem("namespaces", f"{quote(name)} {names.dns1123_label(str(name))}")], []
    if entry is not None and not isinstance(entry, dict):
        return None, [Problem(f"namespaces.{name}", f"{quote(entry)} is not a mapping")], []
    entry, found, warnings = migrate_flock(entry or {}, f"namespaces.{name}")
    if found:
        return None, found, warnings
    ns, found = _validate(NamespaceConfig, deep_merge(defaults, entry), ("namespaces", name))
    if ns is not None:
        found = checks.check_namespace(name, ns, schedules)
    return (ns if not found else None), found, warnings


def _below(path: str, prefix: str) -> str:
    return path[len(prefix) :] if path.startswith(prefix) else path


def parse_config(raw: Any, filename: str = "backupns.yaml") -> Config:
    """Validate parsed YAML; raise ConfigError listing every problem it finds (one
    run shows them all: unknown keys beside wrong values, defaults beside namespaces).
    Warnings (the config is valid, but probably not what was meant) come back in
    ``Config.warnings``. ``filename`` is how errors name the file; the generated
    files' header names its base name."""
    if not isinstance(raw, dict):
        raise ConfigError(
            filename,
            [Problem("", "the file must be a mapping with namespaces (and defaults, controller)")],
        )
    problems = _top_level(raw)
    defaults, found, warnings = _defaults(raw)
    problems += found
    inherited: Inherited = {(_below(p.path, "defaults"), p.message) for p in found}

    namespaces: dict[str, NamespaceConfig] = {}
    entries = raw["namespaces"] if isinstance(raw.get("namespaces"), dict) else {}
    schedules = schedule.Schedules()  # most namespaces share one schedule: parse it once
    for name in sorted(entries, key=str):
        ns, found, warned = _namespace(name, entries[name], defaults, schedules)
        warnings += warned
        problems += [
            p for p in found if (_below(p.path, f"namespaces.{name}"), p.message) not in inherited
        ]
        if ns is not None:
            namespaces[name] = ns

    controller, found = _validate(ControllerConfig, raw.get("controller") or {}, ("controller",))
    if controller is not None:
        found = checks.check_controller(controller)
    problems += found
    monitoring, found = _validate(Monitoring, raw.get("monitoring") or {}, ("monitoring",))
    problems += found
    if problems:
        raise ConfigError(filename, problems)
    config = Config.model_validate(
        {"namespaces": namespaces, "controller": controller, "monitoring": monitoring}
    )
    warnings += _image_warnings(raw)
    return config.model_copy(
        update={"source_name": PurePath(filename).name, "warnings": tuple(warnings)}
    )


def load_config(path: Path) -> Config:
    """Read and validate a config file (errors name it by the path as given)."""
    filename = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BackupNsError(f"error: cannot read config {path}: {exc.strerror}") from None
    return parse_config(load_yaml(text, filename), filename)
