"""Regenerate kubesim/schemas.json from a real kube-apiserver's OpenAPI v3.

kubesim checks request bodies for unknown fields (strict field validation) and
fills in defaults with these trees: which fields each kind has, nested, as the
real v1.33 server publishes them (built-in kinds and the snapshot CRDs).

    python -m tests.realk8s.gen_kubesim_schemas        # starts the tier, writes the file

Format: {"kinds": {"<apiVersion>/<Kind>": NODE}, "defs": {"<name>": NODE}}, where
NODE is "." (a scalar), "*" (anything: preserve-unknown-fields, RawExtension),
"#<def>" (a reference), {"o": {field: NODE}} (an object with these fields),
{"m": NODE} (a map of NODE) or {"l": NODE} (a list of NODE); an object node may
carry "d": {field: default} (the schema's defaults, where published).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from kubesim.resources import ALL
from tests.realk8s.fixture import realk8s_session

OUT = Path(__file__).resolve().parents[2] / "kubesim" / "schemas.json"
_ANY_DEFS = {
    "io.k8s.apimachinery.pkg.runtime.RawExtension",
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON",
}


def _ref(schema: dict[str, Any]) -> str | None:
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[1]
    all_of = schema.get("allOf") or []
    if len(all_of) == 1 and "$ref" in all_of[0]:
        return str(all_of[0]["$ref"]).rsplit("/", 1)[1]
    return None


class Compactor:
    def __init__(self, schemas: dict[str, Any]) -> None:
        self.schemas = schemas
        self.defs: dict[str, Any] = {}

    def node(self, schema: dict[str, Any]) -> Any:
        ref = _ref(schema)
        if ref is not None:
            self.define(ref)
            return "#" + ref
        if schema.get("x-kubernetes-preserve-unknown-fields") or schema.get(
            "x-kubernetes-int-or-string"
        ):
            return "*" if schema.get("x-kubernetes-preserve-unknown-fields") else "."
        typ = schema.get("type")
        if typ == "array":
            return {"l": self.node(schema.get("items") or {})}
        if "properties" in schema:
            out: dict[str, Any] = {"o": {k: self.node(v) for k, v in schema["properties"].items()}}
            defaults = {
                k: v["default"]
                for k, v in schema["properties"].items()
                if "default" in v and v["default"] not in ({}, [], "")
            }
            if defaults:
                out["d"] = defaults
            return out
        if isinstance(schema.get("additionalProperties"), dict):
            return {"m": self.node(schema["additionalProperties"])}
        if typ == "object":
            return "*"
        return "."

    def define(self, name: str) -> None:
        if name in self.defs:
            return
        if name in _ANY_DEFS:
            self.defs[name] = "*"
            return
        self.defs[name] = "."  # placeholder against recursion (JSONSchemaProps)
        self.defs[name] = self.node(self.schemas[name])


def generate(cluster: Any) -> dict[str, Any]:
    index = cluster.api("/openapi/v3")["paths"]
    kinds: dict[str, Any] = {}
    compactors: dict[str, Compactor] = {}
    merged = Compactor({})
    for res in ALL:
        gv = f"apis/{res.group}/{res.version}" if res.group else f"api/{res.version}"
        if gv not in index:
            continue
        doc = cluster.api("/" + index[gv]["serverRelativeURL"].lstrip("/"))
        schemas = doc["components"]["schemas"]
        comp = compactors.setdefault(gv, Compactor(schemas))
        for name, schema in schemas.items():
            gvks = schema.get("x-kubernetes-group-version-kind") or []
            if any(
                g["group"] == res.group and g["version"] == res.version and g["kind"] == res.kind
                for g in gvks
            ):
                comp.define(name)
                kinds[f"{res.api_version}/{res.kind}"] = "#" + name
        merged.defs.update(comp.defs)
    return {"kinds": dict(sorted(kinds.items())), "defs": dict(sorted(merged.defs.items()))}


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp, realk8s_session(Path(tmp)) as cluster:
        data = generate(cluster)
    OUT.write_text(json.dumps(data, separators=(",", ":"), sort_keys=True) + "\n")
    print(
        f"wrote {OUT} ({len(data['kinds'])} kinds, {len(data['defs'])} definitions)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
