"""Where the persistent caches live and how their keys are made (shared by the render
cache, the compiled templates and the lint cache).

The directory is ``$BACKUPNS_CACHE_DIR``, else ``$XDG_CACHE_HOME/backupns-gen`` (default
``~/.cache/backupns-gen``); ``BACKUPNS_NO_CACHE=1`` turns every cache off. A key is the
sha256 of everything a cached result depends on, so an entry can be stale only by being
unused; it is never wrong.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def default_dir() -> Path | None:
    """Where the cache lives, or None when it is turned off."""
    if os.environ.get("BACKUPNS_NO_CACHE"):
        return None
    explicit = os.environ.get("BACKUPNS_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base, "backupns-gen")


def key_of(*parts: str | bytes) -> str:
    """sha256 over the parts, each length-prefixed (no two part lists collide)."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(f"{len(data)}:".encode())
        h.update(data)
    return h.hexdigest()


def module_fingerprint(*files: str) -> str:
    """sha256 of source files (the modules that compute and interpret cached results)."""
    return key_of(*(Path(f).read_bytes() for f in files))
