"""The JSON Schema of backupns.yaml (``backupns-gen schema``).

Descriptions come from the models themselves: each model's docstring, and each
field's own docstring (``use_attribute_docstrings`` in config.Model).
"""

from __future__ import annotations

import copy
from typing import Any

from .config import Config, ControllerConfig, Monitoring, NamespaceConfig
from .names import LABEL_MAX


def config_schema() -> dict[str, Any]:
    ns = NamespaceConfig.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")
    defs: dict[str, Any] = ns.pop("$defs", {})
    ctl = ControllerConfig.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")
    defs.update(ctl.pop("$defs", {}))
    mon = Monitoring.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")
    defs.update(mon.pop("$defs", {}))
    defs["Monitoring"] = mon
    defs["NamespaceConfig"] = ns
    defs["ControllerConfig"] = ctl
    ns["properties"]["database"] = {
        "description": "none, or a mapping with postgres or mysql",
        "anyOf": [{"const": "none"}, {"$ref": "#/$defs/Database"}],
        "default": "none",
    }
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
                "description": Config.model_fields["namespaces"].description,
                "type": "object",
                "minProperties": 1,
                "propertyNames": {
                    "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
                    "maxLength": LABEL_MAX,
                },
                "additionalProperties": {"$ref": "#/$defs/NamespaceConfig"},
            },
            "controller": {
                "description": Config.model_fields["controller"].description,
                "$ref": "#/$defs/ControllerConfig",
            },
            "monitoring": {
                "description": Config.model_fields["monitoring"].description,
                "$ref": "#/$defs/Monitoring",
            },
        },
        "$defs": defs,
    }
