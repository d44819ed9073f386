"""The generated reference pages (docs/config.md, docs/settings.md): complete, fresh,
deterministic; the `docs` command and shell completion of backupns-gen.

A stale page fails with the command that updates it:
    backupns-gen docs -o docs
(or UPDATE_GOLDENS=1 python -m pytest tests/generator/test_refdocs.py)
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import types
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from backupns_gen import refdocs
from backupns_gen.config import Config, NamespaceConfig
from backupns_gen.controller import CTL_SETTINGS
from backupns_gen.settings import SETTINGS

DOCS = Path(__file__).resolve().parents[2] / "docs"
UPDATE = "backupns-gen docs -o docs"


def run(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from backupns_gen.cli import main; main()", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )


@pytest.mark.parametrize("name", sorted(refdocs.PAGES))
def test_committed_page_is_fresh(name: str) -> None:
    text = refdocs.PAGES[name]()
    if os.environ.get("UPDATE_GOLDENS") == "1":
        (DOCS / name).write_text(text, encoding="utf-8")
        return
    committed = (DOCS / name).read_text(encoding="utf-8")
    assert committed == text, f"docs/{name} is stale: run `{UPDATE}` and commit it"


def test_pages_are_deterministic() -> None:
    assert refdocs.render_pages() == refdocs.render_pages()


def _keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    out = []
    for name, info in model.model_fields.items():
        if info.exclude:
            continue
        key = prefix + (info.alias or name)
        out.append(key)
        union = typing.get_origin(info.annotation) in (typing.Union, types.UnionType)
        for arg in typing.get_args(info.annotation) if union else (info.annotation,):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                out += _keys(arg, key + ".")
            elif typing.get_origin(arg) is list:
                (inner,) = typing.get_args(arg)
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    out += _keys(inner, key + "[].")
    return out


def test_config_page_lists_every_key_with_its_default() -> None:
    page = refdocs.config_reference()
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `([^`]+)` \|.*$", page, re.M)}
    keys = _keys(NamespaceConfig) + [
        key for key in _keys(Config) if not key.startswith("namespaces")
    ]
    missing = [k for k in keys if k not in rows]
    assert not missing, missing
    assert "| `2` | 1..1000 |" in rows["lock.slots"]
    assert "| `7` | 0..3650 |" in rows["controller.keep.daily"]
    assert "| required |" in rows["pvcs"]


def test_settings_page_lists_every_setting() -> None:
    page = refdocs.settings_reference()
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `([A-Z_]+)` \|.*$", page, re.M)}
    assert set(rows) == {s.name for s in SETTINGS} | {s.name for s in CTL_SETTINGS}
    for s in SETTINGS:
        assert rows[s.name].endswith("| no |") != s.secret, s.name
    assert (
        "`90`, from `thresholdSpaceUsedPercent` | 1..100 |"
        in rows["BAK_THRESHOLD_SPACE_USED_PERCENTAGE"]
    )
    assert "| `86400` | 1..999999999 |" in rows["CTL_FAILED_AFTER_SEC"]


def test_docs_command_writes_then_checks(tmp_path: Path) -> None:
    cp = run("docs", "--check", "-o", str(tmp_path))
    assert cp.returncode == 1
    assert f"run: backupns-gen docs -o {tmp_path}" in cp.stderr
    cp = run("docs", "-o", str(tmp_path))
    assert cp.returncode == 0, cp.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(refdocs.PAGES)
    cp = run("docs", "--check", "-o", str(tmp_path))
    assert cp.returncode == 0 and "up to date" in cp.stdout


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_shell_completion_script_generates(shell: str) -> None:
    cp = run(env={"_BACKUPNS_GEN_COMPLETE": f"{shell}_source"})
    assert cp.returncode == 0, cp.stderr
    assert "_BACKUPNS_GEN_COMPLETE" in cp.stdout


def test_bash_completion_completes_commands(tmp_path: Path) -> None:
    env = {
        "_BACKUPNS_GEN_COMPLETE": "bash_complete",
        "COMP_WORDS": "backupns-gen re",
        "COMP_CWORD": "1",
    }
    cp = run(env=env)
    assert cp.returncode == 0, cp.stderr
    assert "plain,render" in cp.stdout.splitlines()
