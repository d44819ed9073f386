"""A persistent cache of rendered namespaces, so a re-render renders only what changed.

Rendering a namespace is a pure function of its plan unit, the header, the templates
and the generator's code. The key is the sha256 of all of them: the unit serialized
field by field (pydantic models as JSON, sets sorted), the header, and the sha256 of
every file of this package (its ``.py`` modules and its templates), so a template or
code change misses every entry. The rendered files are stored as they are, under
``<cache dir>/render-v1/<aa>/<key>/<n>`` plus an index, written to a temporary
directory and renamed into place (atomic; safe under concurrent runs). A unit that
cannot be serialized is simply rendered each time. ``BACKUPNS_NO_CACHE=1`` turns the
cache off, as for lint results (``cache.py``).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from .cache import default_dir, key_of

PACKAGE = Path(__file__).resolve().parent


def code_fingerprint(root: str | None = None) -> str:
    """sha256 over every source and template file the render can read."""
    parts: list[str | bytes] = []
    for base in (PACKAGE, Path(root) if root else None):
        if base is None:
            continue
        for path in sorted(base.rglob("*")):
            if "__pycache__" in path.parts or not path.is_file():
                continue
            if path.suffix in (".py", ".j2") or "templates" in path.parts:
                parts += [str(path.relative_to(base)), path.read_bytes()]
    return key_of(*parts)


def _plain(value: Any) -> Any:
    """json.dumps' fallback for plan values it does not know (TypeError when there is no
    stable form): pydantic models as their JSON, dataclasses field by field, sets sorted."""
    if isinstance(value, BaseModel):
        return value.model_dump_json()  # fields in declaration order: stable
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, (frozenset, set)):
        return sorted(json.dumps(v, default=_plain, sort_keys=True) for v in value)
    raise TypeError(f"cannot fingerprint {type(value).__name__}")


def serialize(inputs: Any) -> str:
    """The stable JSON text of a render's inputs."""
    return json.dumps(inputs, default=_plain, sort_keys=True)


Files = dict[str, tuple[str, int, str]]
"""path -> (text, mode, kind)"""


class RenderCache:
    """Rendered namespaces by fingerprint: on disk, or in memory when that is turned off."""

    def __init__(self, directory: Path | None = None, *, persistent: bool = True) -> None:
        base = (directory or default_dir()) if persistent else None
        self.dir = None if base is None else base / "render-v1"
        self._code: dict[str | None, str] = {}
        self._memory: dict[str, Files] = {}
        self.hits = 0
        self.misses = 0

    def key(self, inputs: Any, root: str | None) -> str | None:
        if root not in self._code:
            self._code[root] = code_fingerprint(root)
        try:
            text = serialize(inputs)
        except (TypeError, ValueError):
            return None
        return key_of(self._code[root], text)

    def has(self, key: str | None) -> bool:
        """Whether an entry for KEY is kept (in memory or on disk)."""
        if key is None:
            return False
        if key in self._memory:
            return True
        return self.dir is not None and (self.dir / key[:2] / key / "index.json").is_file()

    def get_or_render(self, key: str | None, render: Callable[[], Files]) -> Files:
        if key is None:
            return render()
        found = self._memory.get(key) or self._load(key)
        if found is not None:
            self.hits += 1
            return found
        self.misses += 1
        files = render()
        if self.dir is None:  # on disk otherwise: memory stays bounded by one namespace
            self._memory[key] = files
        self._store(key, files)
        return files

    def _load(self, key: str) -> Files | None:
        if self.dir is None:
            return None
        entry = self.dir / key[:2] / key
        try:
            index = json.loads((entry / "index.json").read_text(encoding="utf-8"))
            if index.get("key") != key:
                return None
            return {
                path: ((entry / str(i)).read_text(encoding="utf-8"), mode, kind)
                for i, (path, mode, kind) in enumerate(index["files"])
            }
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _store(self, key: str, files: Files) -> None:
        if self.dir is None:
            return
        entry = self.dir / key[:2] / key
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(dir=entry.parent, prefix=".tmp-"))
            try:
                for i, (_path, (text, _mode, _kind)) in enumerate(files.items()):
                    (tmp / str(i)).write_text(text, encoding="utf-8")
                index = {"key": key, "files": [[p, m, k] for p, (_t, m, k) in files.items()]}
                (tmp / "index.json").write_text(json.dumps(index), encoding="utf-8")
                os.rename(tmp, entry)  # atomic; fails if another run stored it first
            except OSError:
                shutil.rmtree(tmp, ignore_errors=True)
        except OSError:
            pass  # a cache that cannot be written only costs time
