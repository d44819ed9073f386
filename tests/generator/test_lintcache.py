"""The persistent lint cache: keyed by content, atomic writes, never wrong, optional."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from backupns_gen.cache import key_of
from backupns_gen.lintcache import LintCache


def test_round_trip_across_instances(tmp_path: Path) -> None:
    LintCache(tmp_path).put("k" * 64, {"a": [1]})
    fresh = LintCache(tmp_path)
    assert fresh.get("k" * 64) == {"a": [1]}
    assert (fresh.hits, fresh.misses) == (1, 0)
    assert fresh.get("j" * 64) is None and fresh.misses == 1


def test_a_corrupt_or_foreign_entry_is_a_miss(tmp_path: Path) -> None:
    key = key_of("x")
    cache = LintCache(tmp_path)
    cache.put(key, 1)
    path = tmp_path / "lint-v1" / key[:2] / f"{key}.json"
    path.write_text("{not json")
    assert LintCache(tmp_path).get(key) is None
    path.write_text(json.dumps({"key": key_of("other"), "value": 2}))
    assert LintCache(tmp_path).get(key) is None


def test_concurrent_writers_leave_whole_entries(tmp_path: Path) -> None:
    def write(i: int) -> None:
        LintCache(tmp_path).put(key_of(str(i % 5)), {"n": i % 5, "pad": "x" * 10000})

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(write, range(200)))
    for i in range(5):
        assert LintCache(tmp_path).get(key_of(str(i)))["n"] == i
    assert not [p for p in (tmp_path / "lint-v1").rglob(".tmp-*")]


def test_an_unwritable_directory_costs_only_speed(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("")
    cache = LintCache(blocked)  # its lint-v1 cannot be created below a file
    cache.put("k", 1)
    assert cache.get("k") == 1  # still kept in memory
