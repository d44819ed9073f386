"""Write rendered files into the output directory, deterministically.

Only files whose bytes or mode differ are written (atomically, via a temporary
file and rename). A file in the output directory that is not rendered any more
is removed only when it carries the generated header; anything else is left
alone. ``diff`` gives the unified diff ``render --check`` prints.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from .render import RenderedFile, is_generated


@dataclass
class Changes:
    """What writing would do, by relative path."""

    write: list[str] = field(default_factory=list)
    """Missing or different (content or mode)."""
    remove: list[str] = field(default_factory=list)
    """Generated earlier, not rendered any more."""
    unchanged: int = 0

    @property
    def stale(self) -> list[str]:
        return sorted(self.write + self.remove)


def _read_head(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            return fh.read(4096).decode("utf-8", "replace")
    except OSError:
        return ""


def existing_generated(out_dir: Path, known: set[str] | frozenset[str] = frozenset()) -> set[str]:
    """Relative paths of files under out_dir that carry the generated header (those in
    KNOWN are not read: they are rendered, so never removed)."""
    found: set[str] = set()
    if not out_dir.is_dir():
        return found
    root = os.fspath(out_dir)
    for dirpath, _dirs, filenames in os.walk(root):
        sub = dirpath[len(root) :].strip(os.sep).replace(os.sep, "/")
        for name in filenames:
            rel = f"{sub}/{name}" if sub else name
            if rel in known:
                continue
            path = Path(dirpath, name)
            if not path.is_symlink() and is_generated(_read_head(path)):
                found.add(rel)
    return found


# What this process wrote or read, by absolute path: (sha256 of the text, mode, size,
# mtime_ns, inode). A file whose stat still matches holds that text, so a re-render in
# the same process does not read it back. The digest, not the text: memory stays small
# whatever the number of files. Never persisted.
_KNOWN: dict[str, tuple[bytes, int, int, int, int]] = {}


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


def _remember(path: Path, text: str, mode: int) -> None:
    st = path.lstat()
    _KNOWN[str(path.absolute())] = (_digest(text), mode, st.st_size, st.st_mtime_ns, st.st_ino)


def _differs(path: Path, rendered: RenderedFile) -> bool:
    try:
        st = path.lstat()
    except FileNotFoundError:
        return True
    if not stat.S_ISREG(st.st_mode) or stat.S_IMODE(st.st_mode) != rendered.mode:
        return True
    known = _KNOWN.get(str(path.absolute()))
    if known is not None and known[1:] == (rendered.mode, st.st_size, st.st_mtime_ns, st.st_ino):
        return known[0] != _digest(rendered.text)
    data = rendered.text.encode("utf-8")
    if st.st_size != len(data) or path.read_bytes() != data:
        return True
    _remember(path, rendered.text, rendered.mode)
    return False


class Comparison:
    """``compare`` one unit at a time: what differs is kept by path, not the texts."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.changes = Changes()
        self.rendered: set[str] = set()

    def add(self, files: dict[str, RenderedFile]) -> None:
        for rel, rendered in files.items():
            self.rendered.add(rel)
            if _differs(self.out_dir / rel, rendered):
                self.changes.write.append(rel)
            else:
                self.changes.unchanged += 1

    def skip(self, paths: list[str]) -> None:
        """PATHS are rendered and known to be up to date (not compared again)."""
        self.rendered.update(paths)
        self.changes.unchanged += len(paths)

    def finish(self) -> Changes:
        self.changes.write.sort()
        self.changes.remove = sorted(existing_generated(self.out_dir, self.rendered))
        return self.changes


def compare(out_dir: Path, files: dict[str, RenderedFile]) -> Changes:
    comparison = Comparison(out_dir)
    comparison.add(files)
    return comparison.finish()


def write(out_dir: Path, files: dict[str, RenderedFile], changes: Changes | None = None) -> Changes:
    """Bring out_dir in line with files; returns what was done."""
    changes = changes or compare(out_dir, files)
    write_files(out_dir, files, set(changes.write))
    remove(out_dir, changes.remove)
    return changes


def write_files(out_dir: Path, files: dict[str, RenderedFile], paths: set[str]) -> None:
    """Write those of FILES whose path is in PATHS (atomically, each)."""
    for rel, rendered in files.items():
        if rel not in paths:
            continue
        target = out_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_bytes(rendered.text.encode("utf-8"))
        tmp.chmod(rendered.mode)
        os.replace(tmp, target)
        _remember(target, rendered.text, rendered.mode)


def remove(out_dir: Path, paths: list[str]) -> None:
    """Remove generated files that are not rendered any more (and emptied directories)."""
    for rel in paths:
        path = out_dir / rel
        path.unlink()
        _prune_empty_dirs(path.parent, out_dir)


def _prune_empty_dirs(directory: Path, stop: Path) -> None:
    while directory != stop and directory.is_relative_to(stop):
        try:
            directory.rmdir()
        except OSError:
            return
        directory = directory.parent


def diff(
    out_dir: Path, files: dict[str, RenderedFile], changes: Changes, paths: set[str] | None = None
) -> str:
    """Unified diff from what is in out_dir to what would be written (of PATHS only)."""
    return "".join(diffs(out_dir, files, changes, paths).values())


def diffs(
    out_dir: Path, files: dict[str, RenderedFile], changes: Changes, paths: set[str] | None = None
) -> dict[str, str]:
    """The unified diff of each stale path (of PATHS only), by path."""
    chunks: dict[str, str] = {}
    for rel in changes.stale:
        if paths is not None and rel not in paths:
            continue
        path = out_dir / rel
        old = path.read_text("utf-8", "replace") if path.is_file() else ""
        new = files[rel].text if rel in files else ""
        a = f"a/{rel}" if path.exists() else "/dev/null"
        b = f"b/{rel}" if rel in files else "/dev/null"
        body = "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True), a, b))
        if not body and rel in files:
            mode = stat.S_IMODE(path.lstat().st_mode) if path.exists() else 0
            body = f"--- {a}\n+++ {b}\n# mode {mode:o} -> {files[rel].mode:o}\n"
        chunks[rel] = body if body.endswith("\n") else body + "\n"
    return chunks
