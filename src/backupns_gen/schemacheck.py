"""Manifests checked against the strict Kubernetes JSON schemas of kubernetes-validate.

Schemas constrain strings only through ``enum`` (``format`` is not asserted), so a
document is validated once per *shape*: string values outside every enum are replaced
by one placeholder before hashing. The bulk of a namespace's manifest is the script in
its ConfigMap: a block scalar, a string, so its shape is ``"s"`` whatever it says, and
it is cut out before parsing. Kinds without a schema (CRDs such as VolumeSnapshot, and
Kustomization) are skipped with a note. Results are cached per file (``LintCache``).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from .cache import key_of, module_fingerprint
from .errors import BackupNsError
from .lintcache import LintCache

DEFAULT_KUBERNETES_VERSION = "1.32"


class SchemaError(BackupNsError):
    """No schemas for the requested Kubernetes version."""


_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SCRIPT_KEY = re.compile(r"  ([A-Za-z0-9._-]+\.sh): \|[-+0-9]*")
_GZIP_KEY = re.compile(r'  ([A-Za-z0-9._-]+\.sh\.gz): "[A-Za-z0-9+/=]*"')


def without_scripts(text: str) -> str:
    """The manifest text with every ``  <name>.sh: |`` block scalar (a ConfigMap's
    script; its lines are indented deeper than the key) and every ``  <name>.sh.gz:
    "BASE64"`` line (a gzipped one) replaced by ``"s"``."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        m = _SCRIPT_KEY.fullmatch(lines[i])
        gz = None if m else _GZIP_KEY.fullmatch(lines[i])
        if gz:
            out.append(f'  {gz.group(1)}: "s"')
            i += 1
            continue
        out.append(f'  {m.group(1)}: "s"' if m else lines[i])
        i += 1
        if m:
            while i < len(lines) and (lines[i] == "" or lines[i].startswith("   ")):
                i += 1
    return "\n".join(out)


def shape(node: Any, enums: frozenset[str]) -> Any:
    if isinstance(node, dict):
        return {k: shape(v, enums) for k, v in node.items()}
    if isinstance(node, list):
        return [shape(v, enums) for v in node]
    if isinstance(node, str) and node not in enums:
        return "s"
    return node


@dataclass
class FileResult:
    findings: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    docs: int = 0
    validated: int = 0


class Schemas:
    """The schemas of one Kubernetes version, loaded on first use (a cache hit on every
    file never loads them)."""

    def __init__(self, kubernetes_version: str, cache: LintCache) -> None:
        self.requested = kubernetes_version
        self.cache = cache
        self._version: str | None = None
        self._defs: tuple[Any, frozenset[str], bool] | None = None
        self._rules: tuple[frozenset[str], bool] | None = None
        self._validators: dict[tuple[str, str], Any] = {}
        self._tool_key: str | None = None

    @property
    def version(self) -> str:
        """The newest schema version not newer than the requested one."""
        if self._version is None:
            known = self.cache.get(key_of(self.tool_key(), "version"))
            if isinstance(known, str):
                self._version = known
                return known
            from kubernetes_validate import utils

            wanted = utils.major_minor(self.requested.lstrip("v"))
            available = [v for v in utils.all_versions() if utils.major_minor(v) <= wanted]
            if not available or wanted > utils.major_minor(utils.latest_version()):
                raise SchemaError(
                    f"error: no Kubernetes schemas for version {self.requested} "
                    f"(kubernetes-validate has {utils.all_versions()[0]} to "
                    f"{utils.latest_version()})"
                )
            self._version = str(available[-1])
            self.cache.put(key_of(self.tool_key(), "version"), self._version)
        return self._version

    def definitions(self) -> tuple[Any, frozenset[str], bool]:
        """(definitions, every enum string, whether strings have no other rules)."""
        if self._defs is None:
            from kubernetes_validate import utils

            defs = utils.schema_contents(
                f"kubernetes-json-schema/v{self.version}-local-strict/_definitions.json",
                self.version,
            )
            enums: set[str] = set()
            other_rules = False
            stack = [defs]
            while stack:
                node = stack.pop()
                if isinstance(node, dict):
                    for key, value in node.items():
                        if key == "enum" and isinstance(value, list):
                            enums.update(v for v in value if isinstance(v, str))
                        elif key in ("pattern", "minLength", "maxLength", "const") and not (
                            isinstance(value, dict)
                        ):
                            other_rules = True
                        stack.append(value)
                elif isinstance(node, list):
                    stack.extend(node)
            self._defs = (defs, frozenset(enums), not other_rules)
        return self._defs

    def shape_rules(self) -> tuple[frozenset[str], bool]:
        """``definitions()`` without the definitions: every enum string and whether
        strings have no other rules, kept in the lint cache (reading the definitions
        costs more than checking the one manifest a re-render renders)."""
        if self._rules is None:
            key = key_of(self.tool_key(), "shape-rules")
            hit = self.cache.get(key)
            if isinstance(hit, dict) and isinstance(hit.get("enums"), list):
                self._rules = frozenset(map(str, hit["enums"])), bool(hit.get("shape_ok"))
            else:
                _defs, enums, shape_ok = self.definitions()
                self.cache.put(key, {"enums": sorted(enums), "shape_ok": shape_ok})
                self._rules = enums, shape_ok
        return self._rules

    def validator(self, kind: str, api_version: str) -> Any:
        """A compiled jsonschema validator, or None when there is no schema for the kind."""
        key = (kind, api_version)
        if key not in self._validators:
            import jsonschema
            from kubernetes_validate import utils
            from referencing import Registry, Resource

            group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
            try:
                schema = utils.schema_contents(
                    f"kubernetes-json-schema/v{self.version}-local-strict/"
                    f"{kind.lower()}-{group}.json",
                    self.version,
                )
            except FileNotFoundError:
                self._validators[key] = None
                return None
            registry: Registry[Any] = Resource.from_contents(self.definitions()[0]) @ (
                Resource.from_contents(schema) @ Registry()
            )
            self._validators[key] = jsonschema.Draft202012Validator(schema, registry=registry)
        return self._validators[key]

    def tool_key(self) -> str:
        """What a cached result depends on besides the text: the schemas and this module."""
        if self._tool_key is None:
            from importlib.metadata import version

            self._tool_key = key_of(
                "kubernetes-validate",
                version("kubernetes-validate"),
                self.requested,
                module_fingerprint(__file__),
            )
        return self._tool_key


def check_file(path: str, text: str, schemas: Schemas, cache: LintCache) -> FileResult:
    """Findings of one manifest file (cached by tool, path and text)."""
    key = key_of(schemas.tool_key(), path, text)
    hit = cache.get(key)
    if isinstance(hit, dict):
        return FileResult(**hit)
    enums, shape_ok = schemas.shape_rules()
    result = FileResult()
    try:
        docs = [d for d in yaml.load_all(without_scripts(text) if shape_ok else text, _LOADER)]
    except yaml.YAMLError as exc:
        result.findings.append(f"{path}: not valid YAML: {exc}")
        return result
    skipped: set[str] = set()
    for doc in docs:
        if doc is None:
            continue
        result.docs += 1
        kind, api = str(doc.get("kind", "")), str(doc.get("apiVersion", ""))
        validator = schemas.validator(kind, api)
        if validator is None:
            skipped.add(f"{kind} ({api})")
            continue
        key_doc = shape(doc, enums) if shape_ok else doc
        shape_key = key_of(
            schemas.tool_key(),
            "shape",
            hashlib.sha256(json.dumps(key_doc, sort_keys=True).encode()).hexdigest(),
        )
        problem = cache.get(shape_key)
        if not isinstance(problem, str):
            result.validated += 1
            error = next(iter(sorted(validator.iter_errors(key_doc), key=str)), None)
            problem = (
                ""
                if error is None
                else f"{'.'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
            )
            cache.put(shape_key, problem)
        if problem:
            name = (doc.get("metadata") or {}).get("name", "?")
            result.findings.append(
                f"{path}: {kind}/{name} does not match the Kubernetes {schemas.version} "
                f"schema: {problem}"
            )
    result.skipped = sorted(skipped)
    cache.put(
        key,
        {
            "findings": result.findings,
            "skipped": result.skipped,
            "docs": result.docs,
            "validated": 0,
        },
    )
    return result
