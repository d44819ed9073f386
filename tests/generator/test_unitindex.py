"""The unit index: a re-render skips the namespaces the last render left as they are."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from backupns_gen import rendercache
from backupns_gen.cli import main
from backupns_gen.unitindex import UnitIndex
from tests.genhelpers import EXAMPLE


def render(
    capsys: pytest.CaptureFixture[str], out: Path, *extra: str, code: int = 0
) -> tuple[int | None, str]:
    """backupns-gen render of the example into OUT (in this process): the number of
    namespaces skipped (None when up to date with --check) and what it printed."""
    with pytest.raises(SystemExit) as exit_:
        main(["render", "-c", str(EXAMPLE), "-o", str(out), "--no-lint", *extra])
    assert exit_.value.code == code
    printed = capsys.readouterr()
    found = re.search(r"(\d+) namespaces unchanged since the last render", printed.out)
    return (int(found.group(1)) if found else None), printed.out + printed.err


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BACKUPNS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("BACKUPNS_NO_CACHE", raising=False)
    return tmp_path / "cache"


def tree(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}


def test_a_re_render_skips_every_namespace_and_leaves_out_as_it_was(
    cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert render(capsys, out)[0] == 0
    before = tree(out)
    skipped, printed = render(capsys, out)
    assert skipped == 3, printed
    assert "0 written, 0 removed, 15 unchanged (15 files" in printed
    assert tree(out) == before
    assert not [p for p in out.rglob("*") if "index" in p.name]  # the index is not in out/
    assert list((cache / "index-v1").glob("*.json"))


def test_a_file_edited_by_hand_is_rendered_again_and_check_shows_it(
    cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    render(capsys, out)
    before = tree(out)
    manifests = out / "namespaces" / "blog" / "manifests.yaml"
    manifests.write_text(manifests.read_text() + "# edited\n")
    _, printed = render(capsys, out, "--check", code=1)
    assert "-# edited" in printed and "namespaces/blog/manifests.yaml" in printed
    skipped, printed = render(capsys, out)
    assert skipped == 2, printed
    assert "1 written" in printed
    assert tree(out) == before


def test_a_changed_template_or_generator_renders_every_namespace_again(
    cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The render key holds the fingerprint of every source and template file of the
    generator (its version included): a change there misses every index entry."""
    out = tmp_path / "out"
    render(capsys, out)
    fingerprint = rendercache.code_fingerprint
    monkeypatch.setattr(rendercache, "code_fingerprint", lambda root=None: fingerprint(root) + "x")
    assert render(capsys, out)[0] == 0
    assert render(capsys, out)[0] == 3


def test_a_render_with_lint_does_not_trust_an_index_made_without(
    cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    render(capsys, out)
    index = UnitIndex(out, "shellcheck 0.11 + schemas 1.32")
    assert index.entries == {}  # made with --no-lint: another salt
    assert UnitIndex(out, "no-lint").entries.keys() == {"blog", "shop-prod", "static-site"}


def test_a_namespace_left_out_of_the_config_leaves_the_index(
    cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    render(capsys, out)
    config = tmp_path / "backupns.yaml"
    config.write_text(EXAMPLE.read_text().replace("  static-site:", "  static-site-2:"))
    with pytest.raises(SystemExit):
        main(["render", "-c", str(config), "-o", str(out), "--no-lint"])
    printed = capsys.readouterr().out
    assert "2 removed" in printed and "2 namespaces unchanged" in printed
    assert UnitIndex(out, "no-lint").entries.keys() == {"blog", "shop-prod", "static-site-2"}
