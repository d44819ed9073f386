"""The cache directory and cache keys shared by the render, template and lint caches."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from backupns_gen.cache import default_dir, key_of, module_fingerprint
from backupns_gen.lintcache import LintCache


def test_keys_do_not_collide_across_part_boundaries() -> None:
    assert key_of("ab", "c") != key_of("a", "bc")
    assert key_of("x") == key_of(b"x")


def test_where_it_lives(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("BACKUPNS_NO_CACHE", "BACKUPNS_CACHE_DIR", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_dir() == tmp_path / ".cache" / "backupns-gen"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_dir() == tmp_path / "xdg" / "backupns-gen"
    monkeypatch.setenv("BACKUPNS_CACHE_DIR", str(tmp_path / "own"))
    assert default_dir() == tmp_path / "own"
    monkeypatch.setenv("BACKUPNS_NO_CACHE", "1")
    assert default_dir() is None
    assert LintCache().dir is None
    assert os.environ["BACKUPNS_NO_CACHE"] == "1"


def test_a_module_fingerprint_follows_the_files_content(tmp_path: Path) -> None:
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("x = 1\n")
    b.write_text("y = 2\n")
    before = module_fingerprint(str(a), str(b))
    assert before == key_of(b"x = 1\n", b"y = 2\n")
    b.write_text("y = 3\n")
    assert module_fingerprint(str(a), str(b)) != before
