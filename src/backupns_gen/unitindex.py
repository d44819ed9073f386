"""Which namespaces of an output directory are as the last render left them, without
rendering them: what makes a re-render with one namespace changed cost that namespace.

For each namespace the last successful ``render`` (or up-to-date ``render --check``)
recorded its render key (``RenderCache.key``: the plan unit, the header and every
source and template file of the generator) and, for each of its files, its mode, size,
mtime and inode. A namespace whose key is the same and whose files still have that
stat is skipped: not rendered, linted or compared. Any edit of a file in out/ (by
hand, git checkout, another tool) changes its mtime or inode, so it is rendered again
and the edit shows (``--check``) or is undone (``render``); a changed config, template
or generator version changes the key.

The index lives in the cache directory (``cache.default_dir``), not in out/: out/ holds
the same bytes for the same config. One JSON file per output directory (by its absolute
path), ``index-v1/<sha256 of the path>.json``, written atomically after a run with no
finding; it also records what the entries were linted with (the Kubernetes version of
the schema check, whether lint ran at all, the ShellCheck in use), and an index made
with other lint settings is not used. Stale-file removal does not use it. A missing,
unreadable or foreign index costs time only.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from .cache import default_dir, key_of

FileStat = tuple[str, int, int, int, int]
"""(relative path, mode, size, mtime_ns, inode)"""


def _stat(out_dir: Path, rel: str) -> FileStat | None:
    try:
        st = (out_dir / rel).lstat()
    except OSError:
        return None
    return rel, st.st_mode, st.st_size, st.st_mtime_ns, st.st_ino


class UnitIndex:
    """The index of one output directory, made with one lint setting (SALT)."""

    def __init__(self, out_dir: Path, salt: str, directory: Path | None = None) -> None:
        self.out_dir = out_dir
        self.salt = salt
        base = directory or default_dir()
        self.path = (
            None
            if base is None
            else base / "index-v1" / f"{key_of(str(out_dir.absolute()))}.json"
        )
        self.entries: dict[str, tuple[str, list[FileStat]]] = {}
        self._load()
        self.recorded: dict[str, tuple[str, list[str]]] = {}
        self.skipped = 0

    def _load(self) -> None:
        if self.path is None:
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("salt") != self.salt:
                return
            self.entries = {
                name: (key, [(str(f[0]), *map(int, f[1:])) for f in files])  # type: ignore[misc]
                for name, (key, files) in data["units"].items()
            }
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            self.entries = {}

    def fresh(self, name: str, key: str | None) -> list[str] | None:
        """The paths of namespace NAME when its files are as recorded for KEY, else None."""
        entry = self.entries.get(name)
        if key is None or entry is None or entry[0] != key:
            return None
        for recorded in entry[1]:
            if _stat(self.out_dir, recorded[0]) != recorded:
                return None
        self.skipped += 1
        return [f[0] for f in entry[1]]

    def record(self, name: str, key: str | None, paths: list[str]) -> None:
        """Namespace NAME rendered with KEY to PATHS (their stat is read in ``save``)."""
        if key is not None:
            self.recorded[name] = (key, sorted(paths))

    def save(self, names: set[str]) -> None:
        """Write the index: the namespaces in NAMES (those of this render), each as
        recorded in this run or, when skipped, as it was."""
        if self.path is None:
            return
        units: dict[str, tuple[str, list[FileStat]]] = {}
        for name in sorted(names):
            if name in self.recorded:
                key, paths = self.recorded[name]
                stats = [_stat(self.out_dir, rel) for rel in paths]
                if all(s is not None for s in stats):
                    units[name] = (key, [s for s in stats if s is not None])
            elif name in self.entries:
                units[name] = self.entries[name]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    json.dump({"salt": self.salt, "units": units}, out, separators=(",", ":"))
                os.replace(tmp, self.path)
            except BaseException:
                os.unlink(tmp)
                raise
        except OSError:
            pass  # an index that cannot be written only costs time
