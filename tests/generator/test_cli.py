"""The CLI: exit codes, one-line errors, --check, schema, validate, help."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.genhelpers import EXAMPLE, FULL


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from backupns_gen.cli import main; main()", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )


def test_help() -> None:
    for flag in ("-h", "--help"):
        result = run(flag)
        assert result.returncode == 0
        assert "render" in result.stdout and "schema" in result.stdout
    result = run("render", "-h")
    assert "--check" in result.stdout and "--kubernetes-version" in result.stdout


def test_invalid_config_exit_2_one_line(tmp_path: Path) -> None:
    cfg = tmp_path / "backupns.yaml"
    cfg.write_text("namespaces: {shop: {pvcs: [Data_1]}}\n")
    result = run("render", "-c", "backupns.yaml", "-o", "out", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        'backupns.yaml: namespaces.shop.pvcs[0]: "Data_1" is not a valid Kubernetes name '
        "(lowercase letters, digits, '-' and '.', at most 63 characters)\n"
    )
    assert not (tmp_path / "out").exists()


def test_validate_prints_every_problem_naming_the_file_as_given(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub/backupns.yaml").write_text(
        "namespaces:\n  shop:\n    pvcs: [Data]\n    schedul: x\n"
        "    lock: {mode: lease, slot: 2}\ncontroller: {kep: {}}\n"
    )
    result = run("validate", "-c", "sub/backupns.yaml", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        'sub/backupns.yaml: namespaces.shop: unknown key "schedul" (did you mean "schedule"?)\n'
        'sub/backupns.yaml: namespaces.shop.pvcs[0]: "Data" is not a valid Kubernetes name '
        "(lowercase letters, digits, '-' and '.', at most 63 characters)\n"
        'sub/backupns.yaml: namespaces.shop.lock: unknown key "slot" (did you mean "slots"?)\n'
        'sub/backupns.yaml: controller: unknown key "kep" (did you mean "keep"?)\n'
    )


def test_validate_points_a_syntax_error_at_the_line_of_the_mistake(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub/backupns.yaml").write_text(
        "namespaces:\n  shop:\n    pvcs: [data\n    schedule: x\n"
    )
    result = run("validate", "-c", "sub/backupns.yaml", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (
        2,
        "sub/backupns.yaml: line 3, column 11: the [ here is not closed: did not find expected "
        "',' or ']' (noticed at line 4, column 13)\n",
    )


def test_missing_config_exit_1(tmp_path: Path) -> None:
    result = run("validate", "-c", str(tmp_path / "nope.yaml"))
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot read config ")
    assert "Traceback" not in result.stderr


def test_validate_ok() -> None:
    result = run("validate", "-c", str(EXAMPLE))
    assert (result.returncode, result.stdout) == (0, f"{EXAMPLE}: ok (3 namespaces)\n")


def test_default_config_and_out_in_cwd(tmp_path: Path) -> None:
    shutil.copy(EXAMPLE, tmp_path / "backupns.yaml")
    result = run("render", "--no-lint", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out/namespaces/blog/backup-ns.sh").exists()


def test_check_clean_then_stale(tmp_path: Path) -> None:
    out = tmp_path / "out"
    cfg = tmp_path / "backupns.yaml"
    shutil.copy(EXAMPLE, cfg)
    assert run("render", "-c", str(cfg), "-o", str(out), "--no-lint").returncode == 0
    cfg = Path("backupns.yaml")  # as given, relative to the working directory
    ok = run("render", "-c", str(cfg), "-o", str(out), "--no-lint", "--check", cwd=tmp_path)
    assert (ok.returncode, ok.stdout) == (0, f"{out}: up to date (15 files)\n")

    manifest = out / "namespaces/blog/manifests.yaml"
    manifest.write_text(
        manifest.read_text().replace('timeZone: "Europe/Vienna"', 'timeZone: "UTC"')
    )
    stale = run("render", "-c", str(cfg), "-o", str(out), "--no-lint", "--check", cwd=tmp_path)
    assert stale.returncode == 1
    assert stale.stdout.startswith(
        "--- a/namespaces/blog/manifests.yaml\n+++ b/namespaces/blog/manifests.yaml\n"
    )
    assert '-  timeZone: "UTC"\n+  timeZone: "Europe/Vienna"\n' in stale.stdout
    assert stale.stderr == (
        "error: 1 file(s) are stale: namespaces/blog/manifests.yaml; "
        "run `backupns-gen render` and commit the result\n"
    )
    assert 'timeZone: "UTC"' in manifest.read_text()  # --check writes nothing


def test_committed_out_matches_the_example() -> None:
    """out/ in the repository is the example rendered (re-render and commit when this fails)."""
    repo = EXAMPLE.parent.parent
    result = run("render", "-c", str(EXAMPLE), "-o", str(repo / "out"), "--no-lint", "--check")
    assert result.returncode == 0, result.stdout[:3000] + result.stderr


def test_schema_is_valid_json_schema_and_accepts_the_configs() -> None:
    result = run("schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    for path in (EXAMPLE, FULL):
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"namespaces": {"a": {"pvcs": ["x"], "schedul": "x"}}}, schema)


def test_lint_command_clean() -> None:
    result = run("lint", "-c", str(FULL))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("lint: ok (7 scripts")  # 6 namespaces + the controller


def test_internal_error_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from backupns_gen import cli

    def boom(_path: Path) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(cli, "load_config", boom)
    monkeypatch.delenv("BACKUPNS_DEBUG", raising=False)
    with pytest.raises(SystemExit) as info:
        cli.main(["validate", "-c", str(EXAMPLE)])
    assert info.value.code == 1
    assert capsys.readouterr().err == (
        "internal error: RuntimeError: boom (set BACKUPNS_DEBUG=1 for the traceback)\n"
    )


def test_pre_commit_hooks_call_real_commands(tmp_path: Path) -> None:
    hooks = yaml.safe_load((EXAMPLE.parent.parent / ".pre-commit-hooks.yaml").read_text())
    assert {h["id"] for h in hooks} == {"backupns-validate", "backupns-render-check"}
    shutil.copy(EXAMPLE, tmp_path / "backupns.yaml")
    assert run("render", "--no-lint", cwd=tmp_path).returncode == 0
    for hook in hooks:
        program, *args = hook["entry"].split()
        assert program == "backupns-gen" and hook["pass_filenames"] is False
        extra = ["--no-lint"] if args[0] == "render" else []  # lint has its own tests
        result = run(*args, *extra, cwd=tmp_path)
        assert result.returncode == 0, (hook["id"], result.stderr)


def test_schema_describes_every_property_with_its_own_text() -> None:
    """Every property of every model has a description of its own (for editor hovers):
    none missing, none shared with another property of the same model."""
    schema = json.loads(run("schema").stdout)
    models = {"(top)": schema, "Defaults": schema["properties"]["defaults"], **schema["$defs"]}
    checked = 0
    for name, model in models.items():
        props = model.get("properties", {})
        texts = [prop.get("description", "") for prop in props.values()]
        missing = sorted(key for key, prop in props.items() if not prop.get("description"))
        assert missing == [], f"{name}: {missing}"
        shared = sorted({t for t in texts if texts.count(t) > 1})
        assert shared == [], f"{name}: {shared}"
        checked += len(props)
    assert checked > 60
    retention = schema["$defs"]["Retention"]["properties"]
    days = retention["days"]["description"]
    assert days.startswith("Days to keep") and "daily_weekly_monthly" not in days


_DEFAULT_IN_TEXT = re.compile(r"\(default ([^);:,]+)[);:,]")


def test_schema_descriptions_name_the_real_defaults() -> None:
    """A "(default X)" in a field's text is the field's real default (no drift)."""
    schema = json.loads(run("schema").stdout)
    checked = 0
    for model in schema["$defs"].values():
        for key, prop in model.get("properties", {}).items():
            match = _DEFAULT_IN_TEXT.search(prop.get("description", ""))
            value = prop.get("default")
            if match is None or isinstance(value, (dict, list)) or "default" not in prop:
                continue
            shown = json.dumps(value) if isinstance(value, bool) else str(value)
            assert match[1] == shown, (key, match[1], value)
            checked += 1
    assert checked > 30


def _tenants_config(path: Path, prefix: str, n: int) -> Path:
    """N namespaces of one shape (a PVC, no database): the same script shape for all."""
    namespaces = {f"{prefix}-{i:04d}": {"pvcs": [f"data-{i}"]} for i in range(n)}
    path.write_text(yaml.safe_dump({"namespaces": namespaces}))
    return path


def _render_peak_rss(tmp: Path, config: Path, lint_cache: Path) -> int:
    """Peak RSS (KiB) of one `render` in a child process (its own wait4 figures), with a
    fresh render cache and the given lint cache."""
    cache = tmp / "cache"
    cache.mkdir()
    (cache / "lint-v1").symlink_to(lint_cache)
    proc = subprocess.Popen(
        [sys.executable, "-m", "backupns_gen", "render", "-c", str(config), "-o", str(tmp / "out")],
        env={**os.environ, "BACKUPNS_CACHE_DIR": str(cache)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _pid, status, usage = os.wait4(proc.pid, 0)
    assert status == 0, proc.stderr.read() if proc.stderr else status
    return usage.ru_maxrss


def test_render_memory_does_not_grow_with_the_namespaces(tmp_path: Path) -> None:
    """Render streams unit by unit: 2,000 namespaces take little more memory than 200
    (beyond the parsed config itself). The lint cache is warmed once, by namespaces of
    other names, so that both runs lint alike (the script's shape is cached, the
    manifests are validated) and the test stays quick; the render caches are cold."""
    lint_cache = tmp_path / "lint-v1"
    lint_cache.mkdir()
    warm = tmp_path / "warm"
    warm.mkdir()
    _render_peak_rss(warm, _tenants_config(tmp_path / "warm.yaml", "warm", 2), lint_cache)
    peaks = {}
    for n in (200, 2000):
        run_dir = tmp_path / f"n{n}"
        run_dir.mkdir()
        config = _tenants_config(tmp_path / f"{n}.yaml", "tenant", n)
        peaks[n] = _render_peak_rss(run_dir, config, lint_cache)
        assert len(list((run_dir / "out" / "namespaces").iterdir())) == n
    # Before streaming, each namespace's files stayed in memory (~0.3 MB each here):
    # 2,000 took several times the memory of 200.
    assert peaks[2000] < 1.5 * peaks[200], peaks
