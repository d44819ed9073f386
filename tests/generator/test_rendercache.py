"""The render cache: a cached render is the render; any input or template change misses."""

from __future__ import annotations

from pathlib import Path

from backupns_gen.render import render
from backupns_gen.rendercache import RenderCache
from tests.genhelpers import plan_of, stub_root

TWO = "namespaces: {a: {pvcs: [x]}, b: {pvcs: [y]}}"
CHANGED = "namespaces: {a: {pvcs: [x]}, b: {pvcs: [y], dryRun: true}}"


def test_a_cached_render_equals_a_fresh_one_and_only_changes_render(tmp_path: Path) -> None:
    root = stub_root(tmp_path)
    first_cache = RenderCache(tmp_path / "cache")
    first = render(plan_of(TWO), root, first_cache)
    assert (first_cache.hits, first_cache.misses) == (0, 2)
    cache = RenderCache(tmp_path / "cache")  # a new process: from disk
    cached = render(plan_of(CHANGED), root, cache)
    assert (cache.hits, cache.misses) == (1, 1)
    assert cached == render(plan_of(CHANGED), root)
    assert cached["namespaces/a/backup-ns.sh"] == first["namespaces/a/backup-ns.sh"]
    assert cached["namespaces/b/backup-ns.sh"] != first["namespaces/b/backup-ns.sh"]


def test_a_template_edit_misses_every_entry(tmp_path: Path) -> None:
    render(plan_of(TWO), stub_root(tmp_path / "one"), RenderCache(tmp_path / "cache"))
    cache = RenderCache(tmp_path / "cache")
    same = render(plan_of(TWO), stub_root(tmp_path / "two"), cache)  # same templates elsewhere
    assert (cache.hits, cache.misses) == (2, 0) and "stub script" in same[
        "namespaces/a/backup-ns.sh"
    ].text
    root = stub_root(tmp_path / "three")
    script = Path(root, "script", "backup-ns.sh.j2")
    script.write_text(script.read_text().replace("stub script", "edited stub script"))
    cache = RenderCache(tmp_path / "cache")
    files = render(plan_of(TWO), root, cache)
    assert (cache.hits, cache.misses) == (0, 2)
    assert "edited stub script" in files["namespaces/a/backup-ns.sh"].text


def test_a_header_change_misses(tmp_path: Path) -> None:
    root = stub_root(tmp_path)
    render(plan_of(TWO), root, RenderCache(tmp_path / "cache"))
    cache = RenderCache(tmp_path / "cache")
    files = render(plan_of(TWO, "other.yaml"), root, cache)
    assert cache.misses == 2 and "from other.yaml." in files["namespaces/a/backup-ns.sh"].text


def test_a_damaged_entry_is_rendered_again(tmp_path: Path) -> None:
    root = stub_root(tmp_path)
    render(plan_of(TWO), root, RenderCache(tmp_path / "cache"))
    for index in (tmp_path / "cache").rglob("index.json"):
        index.write_text("{broken")
    cache = RenderCache(tmp_path / "cache")
    assert render(plan_of(TWO), root, cache) == render(plan_of(TWO), root)
    assert cache.misses == 2


def test_off_means_memory_only(tmp_path: Path) -> None:
    cache = RenderCache(tmp_path / "cache", persistent=False)
    render(plan_of(TWO), stub_root(tmp_path), cache)
    assert cache.dir is None and not (tmp_path / "cache").exists()
