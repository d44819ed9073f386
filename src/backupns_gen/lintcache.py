"""A persistent cache of lint results, so a pre-commit run lints only what changed.

Results live in the cache directory (``cache.default_dir``), one small JSON file per
entry in ``lint-v1/<aa>/<key>.json``. A key is the sha256 of everything the result
depends on: the text checked, the tool and its version (the ShellCheck binary's
``--version``, kubernetes-validate's version and the Kubernetes version of the schemas),
and the source of the module that interprets the result. So an entry can be stale only
by being unused; it is never wrong.

Safe under concurrent runs: an entry is written to a temporary file in its directory
and renamed into place (atomic on POSIX), and a reader that finds a half-missing or
unreadable entry treats it as a miss. Any failure to read or write the cache (read-only
home, full disk) costs speed only: the lint then runs as if the cache were empty.
``BACKUPNS_NO_CACHE=1`` turns it off.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .cache import default_dir


class LintCache:
    """Entries by key, kept in memory for this process and on disk when a dir is set."""

    def __init__(self, directory: Path | None = None, *, persistent: bool = True) -> None:
        self.dir = (directory or default_dir()) if persistent else None
        if self.dir is not None:
            self.dir = self.dir / "lint-v1"
        self._memory: dict[str, Any] = {}
        self.hits = 0
        self.misses = 0

    def _path(self, key: str) -> Path | None:
        return None if self.dir is None else self.dir / key[:2] / f"{key}.json"

    def get(self, key: str) -> Any | None:
        """The stored value, or None (a miss)."""
        if key in self._memory:
            self.hits += 1
            return self._memory[key]
        path = self._path(key)
        if path is not None:
            try:
                entry = json.loads(path.read_text(encoding="utf-8"))
                if entry.get("key") == key:
                    self._memory[key] = entry["value"]
                    self.hits += 1
                    return entry["value"]
            except (OSError, ValueError, KeyError, AttributeError):
                pass
        self.misses += 1
        return None

    def put(self, key: str, value: Any) -> None:
        self._memory[key] = value
        path = self._path(key)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    json.dump({"key": key, "value": value}, out)
                os.replace(tmp, path)
            except BaseException:
                os.unlink(tmp)
                raise
        except OSError:
            pass  # a cache that cannot be written only costs time

    def put_many(self, items: Iterable[tuple[str, Any]]) -> None:
        for key, value in items:
            self.put(key, value)
