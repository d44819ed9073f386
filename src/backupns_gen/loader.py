"""Load ``backupns.yaml``: parse, merge ``defaults`` into each namespace, validate,
and report every problem as ``<file>: <path>: <why>`` (one line each).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from . import checks, names, schedule
from .config import DEFAULT_IMAGE, Config, ControllerConfig, NamespaceConfig
from .errors import BackupNsError, ConfigError, Problem, format_path
from .migrate import migrate_flock
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


def _image_warnings(raw: dict[str, Any], config: Config) -> list[str]:
    found = image_warning((raw.get("defaults") or {}).get("image"), "defaults.image")
    for name in sorted(raw["namespaces"], key=str):
        entry = raw["namespaces"][name]
        if isinstance(entry, dict):
            found += image_warning(entry.get("image"), f"namespaces.{name}.image")
    found += image_warning((raw.get("controller") or {}).get("image"), "controller.image")
    users = [f"namespaces.{n}" for n, ns in config.namespaces.items() if ns.image == DEFAULT_IMAGE]
    if config.controller.image == DEFAULT_IMAGE:
        users.append("controller")
    if users:
        shown = names.join_words(users[:3] + ([f"{len(users) - 3} more"] if len(users) > 3 else []))
        found.append(
            f"image: the default {quote(DEFAULT_IMAGE)} (used by {shown}) is built from "
            "image/Dockerfile and is on no public registry: build and push it (README, "
            '"The job image"), then set defaults.image and controller.image to its address'
        )
    return found


def parse_config(raw: Any, filename: str = "backupns.yaml") -> Config:
    """Validate parsed YAML; raise ConfigError listing every problem. Warnings (the
    config is valid, but probably not what was meant) come back in ``Config.warnings``."""
    problems = _top_level(raw)
    if problems:
        raise ConfigError(filename, problems)
    warnings: list[str] = []
    defaults: dict[str, Any] = raw.get("defaults") or {}
    if isinstance(defaults, dict):
        defaults, problems, warnings = migrate_flock(defaults, "defaults")
        if problems:
            raise ConfigError(filename, problems)
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
        entry, found, warned = migrate_flock(entry or {}, f"namespaces.{name}")
        warnings += warned
        if found:
            problems += found
            continue
        merged = deep_merge(defaults, entry)
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
    config = Config.model_validate({"namespaces": namespaces, "controller": controller})
    warnings += _image_warnings(raw, config)
    return config.model_copy(update={"source_name": filename, "warnings": tuple(warnings)})


def load_config(path: Path) -> Config:
    """Read and validate a config file (errors name the file by its base name)."""
    filename = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BackupNsError(f"error: cannot read config {path}: {exc.strerror}") from None
    return parse_config(load_yaml(text, filename), filename)
