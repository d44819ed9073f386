"""The monitoring tier's real components (tests/monitoring/build.sh): promtool,
kube-state-metrics and prometheus-operator's PrometheusRule CRD, built or fetched from the
Go module proxy into ~/.cache/backupns/monitoring. When one is missing, asking for it is
an error telling how to build it: these tests never skip."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import yaml

HERE = Path(__file__).resolve().parent
BUILD_SH = HERE / "build.sh"
REPO_ROOT = HERE.parent.parent


class MonitoringToolsError(RuntimeError):
    pass


def tools(*need: str) -> dict[str, Path]:
    """Paths from `build.sh --print` (all, or the ``need``ed ones); an error naming the
    missing ones and how to build them."""
    cp = subprocess.run(
        ["bash", str(BUILD_SH), "--print"], capture_output=True, text=True, check=False
    )
    paths = {
        n: Path(p) for n, p in (ln.split("=", 1) for ln in cp.stdout.splitlines() if "=" in ln)
    }
    wanted = set(need or paths)
    missing = sorted(n for n in wanted if n not in paths or not paths[n].exists())
    if missing or not paths:
        raise MonitoringToolsError(
            f"monitoring tools missing ({', '.join(missing) or cp.stderr.strip()}): build them "
            f"with `bash {BUILD_SH.relative_to(REPO_ROOT)}` "
            "(cached in ~/.cache/backupns/monitoring)"
        )
    return paths


def _strict(node: Any) -> Any:
    """An OpenAPI v3 schema of a CRD as JSON Schema, strict like the API server's field
    validation: an object with properties and nothing saying otherwise takes no other keys."""
    if isinstance(node, list):
        return [_strict(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _strict(v) for k, v in node.items()}
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    if out.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if out.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    return out


def crd_validator(crd_path: Path, version: str) -> jsonschema.Draft202012Validator:
    """A validator for one served version of a CRD (the same jsonschema machinery the
    generator's manifest check uses)."""
    crd = yaml.safe_load(crd_path.read_text())
    (served,) = [v for v in crd["spec"]["versions"] if v["name"] == version]
    schema = _strict(served["schema"]["openAPIV3Schema"])
    # apiVersion, kind and metadata are checked by the API server itself, not the CRD.
    schema["properties"]["metadata"] = {"type": "object"}
    return jsonschema.Draft202012Validator(schema)


def problems(validator: jsonschema.Draft202012Validator, doc: Any) -> list[str]:
    return sorted(
        f"{'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
        for e in validator.iter_errors(doc)
    )
