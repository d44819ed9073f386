"""The JSON Schema of backupns.yaml (``backupns-gen schema``)."""

from __future__ import annotations

import copy
import re
from typing import Any

from .config import ControllerConfig, NamespaceConfig
from .names import LABEL_MAX


def config_schema() -> dict[str, Any]:
    ns = NamespaceConfig.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")
    defs: dict[str, Any] = ns.pop("$defs", {})
    ctl = ControllerConfig.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")
    defs.update(ctl.pop("$defs", {}))
    defs["NamespaceConfig"] = ns
    defs["ControllerConfig"] = ctl
    ns["properties"]["database"] = {
        "description": "none, or a mapping with postgres or mysql",
        "anyOf": [{"const": "none"}, {"$ref": "#/$defs/Database"}],
        "default": "none",
    }
    for model in defs.values():
        _describe_properties(model)
    defaults = copy.deepcopy(ns)
    defaults.pop("required", None)
    defaults["title"] = "Defaults"
    defaults["description"] = "Merged into every namespace entry (mappings key by key)."
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "backupns.yaml",
        "description": "backup-ns config: compiled by backupns-gen into scripts and manifests.",
        "type": "object",
        "additionalProperties": False,
        "required": ["namespaces"],
        "properties": {
            "defaults": defaults,
            "namespaces": {
                "type": "object",
                "minProperties": 1,
                "propertyNames": {
                    "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
                    "maxLength": LABEL_MAX,
                },
                "additionalProperties": {"$ref": "#/$defs/NamespaceConfig"},
            },
            "controller": {"$ref": "#/$defs/ControllerConfig"},
        },
        "$defs": defs,
    }


_BULLET = re.compile(r"^\s*- (.*)$")


def _bullets(docstring: str) -> list[str]:
    """The ``- ...`` items of a model docstring, continuation lines joined."""
    items: list[str] = []
    current: str | None = None
    for line in docstring.splitlines():
        match = _BULLET.match(line)
        if match:
            if current is not None:
                items.append(current)
            current = match.group(1).strip()
        elif current is not None and line.strip():
            current += " " + line.strip()
        elif current is not None:
            items.append(current)
            current = None
    if current is not None:
        items.append(current)
    return items


def _describe_properties(model: dict[str, Any]) -> None:
    """Give each property the docstring item that names it (``key``), for editor hovers.

    The model docstrings are the one place the fields are documented; this copies
    each item onto the properties it names instead of repeating the text per field.
    """
    items = _bullets(model.get("description", ""))
    for key, prop in model.get("properties", {}).items():
        if prop.get("description"):
            continue
        for item in items:
            if f"``{key}``" in item:
                prop["description"] = item.replace("``", "`")
                break
