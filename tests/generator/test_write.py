"""Writing out/: only changed files, stale generated files removed, others kept, diff."""

from __future__ import annotations

import os
from pathlib import Path

from backupns_gen.render import RenderedFile, header, render
from backupns_gen.write import compare, diff, write
from tests.genhelpers import plan_of, stub_root

HDR = header("backupns.yaml")


def files_for(tmp: Path, names: str) -> dict[str, RenderedFile]:
    entries = ", ".join(f"{n}: {{pvcs: [data]}}" for n in names.split())
    return render(plan_of(f"namespaces: {{{entries}}}"), stub_root(tmp))


def tree(out: Path) -> dict[str, bytes]:
    return {
        p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()
    }


def test_write_then_nothing_to_do(tmp_path: Path) -> None:
    out = tmp_path / "out"
    files = files_for(tmp_path, "a b")
    first = write(out, files)
    assert sorted(first.write) == sorted(files) and not first.remove
    assert tree(out) == {p: f.text.encode() for p, f in files.items()}
    assert (out / "namespaces/a/backup-ns.sh").stat().st_mode & 0o777 == 0o755
    assert (out / "namespaces/a/manifests.yaml").stat().st_mode & 0o777 == 0o644
    again = compare(out, files)
    assert (again.write, again.remove, again.unchanged) == ([], [], len(files))


def test_unchanged_files_are_not_rewritten(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write(out, files_for(tmp_path / "1", "a b"))
    before = os.stat(out / "namespaces/a/manifests.yaml").st_mtime_ns
    os.utime(out / "namespaces/a/manifests.yaml", ns=(1, 1))
    changes = write(out, files_for(tmp_path / "2", "a b c"))
    assert sorted(changes.write) == [
        "Kustomization",
        "cluster/controller.yaml",  # the controller's per-namespace keep table
        "controller/backup-ns-controller.sh",
        "namespaces/c/backup-ns.sh",
        "namespaces/c/manifests.yaml",
    ]
    assert os.stat(out / "namespaces/a/manifests.yaml").st_mtime_ns == 1 != before


def test_stale_generated_files_removed_others_kept(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write(out, files_for(tmp_path / "1", "a b"))
    (out / "namespaces/b/NOTES.md").write_text("mine, not generated\n")
    (out / "README.md").write_text(f"# notes\n{HDR}\n")  # header not on top: not ours
    (out / "cluster/old.yaml").write_text(f"{HDR}\nkind: Old\n")
    changes = write(out, files_for(tmp_path / "2", "a"))
    assert changes.remove == [
        "cluster/old.yaml",
        "namespaces/b/backup-ns.sh",
        "namespaces/b/manifests.yaml",
    ]
    assert (out / "namespaces/b/NOTES.md").read_text() == "mine, not generated\n"
    assert (out / "README.md").exists()
    assert not (out / "cluster/old.yaml").exists()


def test_empty_directories_of_removed_namespaces_go(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write(out, files_for(tmp_path / "1", "a b"))
    write(out, files_for(tmp_path / "2", "a"))
    assert not (out / "namespaces/b").exists()
    assert (out / "namespaces/a").is_dir()


def test_mode_change_is_a_change(tmp_path: Path) -> None:
    out = tmp_path / "out"
    files = files_for(tmp_path, "a")
    write(out, files)
    (out / "namespaces/a/backup-ns.sh").chmod(0o644)
    changes = compare(out, files)
    assert changes.write == ["namespaces/a/backup-ns.sh"]
    assert "# mode 644 -> 755" in diff(out, files, changes)


def test_diff_is_unified(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write(out, files_for(tmp_path / "1", "a"))
    files = files_for(tmp_path / "2", "a b")
    text = diff(out, files, compare(out, files))
    assert "--- /dev/null\n+++ b/namespaces/b/manifests.yaml\n" in text
    assert "--- a/Kustomization\n+++ b/Kustomization\n" in text
    assert '+  - "namespaces/b/manifests.yaml"\n' in text


def test_a_file_edited_after_writing_is_seen(tmp_path: Path) -> None:
    """The in-process record of written files never hides an edit made meanwhile."""
    out = tmp_path / "out"
    files = files_for(tmp_path, "a")
    write(out, files)
    target = out / "namespaces/a/manifests.yaml"
    text = target.read_text()
    target.write_text(text.replace("ServiceAccount", "ServiceAccounT"))
    os.utime(target, ns=(target.stat().st_atime_ns, target.stat().st_mtime_ns + 1_000_000))
    assert compare(out, files).write == ["namespaces/a/manifests.yaml"]
