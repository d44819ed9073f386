"""Namespaces rendered by worker processes: the same files, in the same order, and
stored in the render cache; a small plan starts no workers."""

from __future__ import annotations

from pathlib import Path

import pytest

from backupns_gen import renderpool
from backupns_gen.render import Renderer
from backupns_gen.rendercache import RenderCache
from tests.genhelpers import plan_of, stub_root

MANY = "namespaces:\n" + "".join(f"  ns-{i:02d}: {{pvcs: [d{i}]}}\n" for i in range(12))


def test_workers_render_what_the_main_process_renders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(renderpool, "MIN_NAMESPACES", 10)
    monkeypatch.setattr(renderpool, "FIRST_IN_MAIN", 2)
    root = stub_root(tmp_path)
    the_plan = plan_of(MANY)
    alone = list(Renderer(root).units(the_plan))
    cache = RenderCache(tmp_path / "cache")
    pooled = list(Renderer(root, cache, workers=2).units(the_plan))
    assert pooled == alone
    # the workers rendered and stored every namespace but the first two: those were
    # rendered here, and a render from the cache now finds them all
    assert (cache.hits, cache.misses) == (0, 2)
    again = RenderCache(tmp_path / "cache")
    assert list(Renderer(root, again, workers=2).units(the_plan)) == alone
    assert (again.hits, again.misses) == (12, 0)


def test_a_small_plan_or_a_few_changed_render_in_the_main_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = RenderCache(tmp_path / "cache")
    list(Renderer(stub_root(tmp_path), cache, workers=2).units(plan_of(MANY)))
    assert (cache.hits, cache.misses) == (0, 12)
    monkeypatch.setattr(renderpool, "MIN_NAMESPACES", 10)
    changed = MANY.replace("[d1]", "[d1, e1]")
    again = RenderCache(tmp_path / "cache")
    list(Renderer(stub_root(tmp_path / "same"), again, workers=2).units(plan_of(changed)))
    assert (again.hits, again.misses) == (11, 1)
