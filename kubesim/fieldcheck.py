"""Server-side field validation: unknown fields in a request body, as the real
apiserver finds them (built-in kinds and the snapshot CRDs).

The field trees in schemas.json come from a real v1.33 kube-apiserver's
OpenAPI v3 (regenerate: `python -m tests.realk8s.gen_kubesim_schemas`). With
`fieldValidation=Strict` (kubectl's default, `--validate=strict`) an unknown
field is a 400 `strict decoding error: unknown field "spec.foo"`; with `Warn`
(the server default) a warning; with `Ignore` (`--validate=false`) nothing.
In every mode the unknown fields are dropped, as decoding into the typed
object (or CRD pruning) drops them.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

_SCHEMAS = Path(__file__).with_name("schemas.json")


@functools.cache
def _data() -> dict[str, Any]:
    return dict(json.loads(_SCHEMAS.read_text()))


def _resolve(node: Any) -> Any:
    defs = _data()["defs"]
    seen = 0
    while isinstance(node, str) and node.startswith("#"):
        node = defs[node[1:]]
        seen += 1
        if seen > 50:  # a self-reference: treat as anything
            return "*"
    return node


def _walk(value: Any, node: Any, path: str, unknown: list[str]) -> Any:
    """The value without its unknown fields; their paths appended to unknown."""
    node = _resolve(node)
    if node in (".", "*") or value is None:
        return value
    if "l" in node and isinstance(value, list):
        return [_walk(v, node["l"], f"{path}[{i}]", unknown) for i, v in enumerate(value)]
    if "m" in node and isinstance(value, dict):
        return {
            k: _walk(v, node["m"], f"{path}.{k}" if path else k, unknown) for k, v in value.items()
        }
    if "o" in node and isinstance(value, dict):
        fields = node["o"]
        out = {}
        for k, v in value.items():
            sub = f"{path}.{k}" if path else k
            if k not in fields:
                unknown.append(sub)
                continue
            out[k] = _walk(v, fields[k], sub, unknown)
        return out
    return value  # a type mismatch: not this module's concern


def unknown_fields(
    api_version: str, kind: str, obj: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """(obj without unknown fields, their paths in document order); kinds without a
    published schema come back unchanged."""
    node = _data()["kinds"].get(f"{api_version}/{kind}")
    if node is None:
        return obj, []
    unknown: list[str] = []
    body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
    pruned = _walk(body, node, "", unknown)
    pruned.update({k: obj[k] for k in ("apiVersion", "kind") if k in obj})
    return pruned, unknown


def strict_message(unknown: list[str]) -> str:
    """The error text of a Strict request with unknown fields (after `... cannot be handled
    as a Kind: `)."""
    return "strict decoding error: " + ", ".join(f'unknown field "{p}"' for p in unknown)
