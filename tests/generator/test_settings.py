"""The settings table is the one source of every BAK_* setting: the config model's
bounds and defaults, the script's checks and BAK_BAKED agree with it, and every
BAK_* variable a rendered script reads is a row of it."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from backupns_gen.config import NamespaceConfig
from backupns_gen.errors import ConfigError
from backupns_gen.loader import load_config, parse_config
from backupns_gen.plan import plan
from backupns_gen.render import render
from backupns_gen.settings import BY_NAME, INTERNAL, KINDS, SETTINGS, Setting
from tests.genhelpers import EXAMPLE, FULL

KEYED_INTS = [s for s in SETTINGS if s.kind == "int" and s.key]

LEGACY = {"BAK_FLOCK", "BAK_FLOCK_COUNT", "BAK_FLOCK_TIMEOUT_SEC"}
"""The original backup-ns's lock settings, read under their old names by the script
(templates/script/_defaults.sh.j2, warned about in _config.sh.j2); not rows of the table."""


@pytest.fixture(scope="module")
def scripts() -> dict[str, str]:
    out: dict[str, str] = {}
    for source in (EXAMPLE, FULL):
        for path, f in render(plan(load_config(source))).items():
            if f.kind == "script":
                out[f"{source.name}:{path}"] = f.text
    return out


def _entry(key: str, value: Any) -> dict[str, Any]:
    """A namespace entry that sets the dotted camelCase ``key`` to ``value``."""
    entry: dict[str, Any] = {"pvcs": ["data"]}
    if key == "retention.days":
        entry["retention"] = {"mode": "days"}
    node = entry
    *parents, leaf = key.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
    return entry


def _accepts(key: str, value: Any) -> bool:
    try:
        parse_config({"namespaces": {"ns": _entry(key, value)}})
    except ConfigError:
        return False
    return True


@pytest.mark.parametrize("s", KEYED_INTS, ids=lambda s: s.name)
def test_python_bounds_are_the_table_bounds(s: Setting) -> None:
    assert s.lo is not None and s.hi is not None
    assert _accepts(s.key, s.lo) and _accepts(s.key, s.hi)
    assert not _accepts(s.key, s.lo - 1) and not _accepts(s.key, s.hi + 1)


def test_bash_checks_are_the_table_checks(scripts: dict[str, str]) -> None:
    """Every generated check in every rendered script carries the table's bounds and
    patterns, so a bash bound and a Python bound cannot differ."""
    seen: set[str] = set()
    for text in scripts.values():
        for m in re.finditer(r"^\s+verify_int (BAK_\w+) (\d+) (\d+)$", text, re.M):
            s = BY_NAME[m[1]]
            assert (int(m[2]), int(m[3])) == (s.lo, s.hi), m[0]
            seen.add(m[1])
        for m in re.finditer(r"^\s+verify_pattern (BAK_\w+) '([^']*)' ", text, re.M):
            assert m[2] == BY_NAME[m[1]].pattern
            seen.add(m[1])
    assert {s.name for s in KEYED_INTS} <= seen
    assert "BAK_DB_MYSQL_DEFAULT_CHARACTER_SET" in seen


def test_python_pattern_is_the_table_pattern() -> None:
    s = BY_NAME["BAK_DB_MYSQL_DEFAULT_CHARACTER_SET"]
    assert _accepts(s.key, "a" * 32) and not _accepts(s.key, "a" * 33)
    assert not _accepts(s.key, "utf8-mb4")


def _get(model: Any, key: str) -> Any:
    for part in key.split("."):
        attr = re.sub(r"[A-Z]", lambda m: "_" + m[0].lower(), part)
        model = getattr(model, attr)
    return model


def test_config_defaults_are_the_table_defaults() -> None:
    ns = NamespaceConfig.model_validate(
        {"pvcs": ["data"], "database": {"postgres": {}, "mysql": {}}}
    )
    keyed = [s for s in SETTINGS if s.key and s.key != "pvcs"]
    assert len(keyed) > 20
    for s in keyed:
        assert _get(ns, s.key) == s.default, s.name


def test_every_bak_variable_a_script_reads_is_a_setting(scripts: dict[str, str]) -> None:
    read: set[str] = set()
    for text in scripts.values():
        code = "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("#"))
        read |= set(re.findall(r"\bBAK_[A-Z0-9_]*[A-Z0-9]\b", code))
    unknown = read - INTERNAL - set(LEGACY) - set(BY_NAME)
    assert not unknown, f"BAK_* variables missing from backupns_gen/settings.py: {sorted(unknown)}"
    # and no row is dead: every setting appears in some rendered script
    assert set(BY_NAME) <= read


def test_baked_is_the_table_order() -> None:
    order = [s.name for s in SETTINGS]
    for unit in plan(load_config(FULL)).namespaces:
        names = [var for var, _ in unit.env]
        assert names == sorted(names, key=order.index)
        assert set(names) == {s.name for s in unit.settings if s.baked}


def test_help_text_and_secrets_come_from_the_table(scripts: dict[str, str]) -> None:
    text = scripts["backupns.yaml:namespaces/shop-prod/backup-ns.sh"]
    for s in SETTINGS:
        if not s.cap or s.cap in ("postgres", "lease", "lease|flock"):
            assert f"    {s.name}) printf '%s\\n' " in text, s.name
    secrets = " | ".join(s.name for s in SETTINGS if s.secret)
    assert f"    {secrets}) return 0 ;;" in text
    assert "_PASSWORD ]]" not in text  # no name glob stands in for the secret flag


def test_no_template_lists_the_settings_by_hand() -> None:
    """Only the settings the fragments use by logic are named in templates; the lists
    (BAK_BAKED, describe, active_config_vars, the fallbacks) are generated."""
    root = Path(__file__).resolve().parents[2] / "src" / "backupns_gen" / "templates" / "script"
    for name in ("_defaults.sh.j2", "_config.sh.j2"):
        text = (root / name).read_text()
        assert "bak_default BAK_" not in text
        assert not re.search(r"^\s+BAK_\w+\) echo", text, re.M)
        assert not re.search(r"printf '%s\\n' BAK_", text)


def _functions(text: str) -> set[str]:
    return set(re.findall(r"^(\w+)\(\) \{", text, re.M))


def test_each_program_has_the_checks_of_its_kinds_of_setting(scripts: dict[str, str]) -> None:
    """templates/core/_verify.sh.j2 renders verify_<kind> for each kind of setting the
    program has, and each one that verify_settings calls."""
    for name, text in scripts.items():
        body = text.split("\nverify_settings() {\n", 1)[1].split("\n}\n", 1)[0]
        called = {f"verify_{k}" for k in re.findall(r"^\s+verify_(\w+) [A-Z]", body, re.M)}
        defined = {f"verify_{k}" for k in KINDS} & _functions(text)
        assert defined == called, name
    controller = scripts["backupns.yaml:controller/backup-ns-controller.sh"]
    assert {f for f in _functions(controller) if f.startswith(("verify_", "is_"))} >= {
        "verify_int",
        "verify_bool",
        "verify_dns_label",
        "verify_subdomain",
        "verify_time_zone",
    }
    assert "is_db_value" not in _functions(controller)
    files_only = scripts["full.yaml:namespaces/files-only/backup-ns.sh"]
    assert not {"verify_host", "is_host", "verify_exec_resource"} & _functions(files_only)


@pytest.mark.parametrize(
    ("var", "value", "why"),
    [
        ("CTL_KEEP_DAILY", "many", "is not a whole number from 0 to 3650"),
        ("CTL_NAMESPACE", "Bad_NS", "is not a valid Kubernetes name (DNS label)"),
        ("CTL_LEASE_NAME", "-x", "is not a valid Kubernetes name (DNS subdomain)"),
        ("CTL_DRY_RUN", "yes", "is not true or false"),
        (
            "CTL_TIME_ZONE",
            "Mars/Base",
            "is not a known time zone here (no /usr/share/zoneinfo/"
            "Mars/Base; no rule for it in this script, which carries those of the zones of "
            "backupns.yaml; an image with tzdata knows every zone)",
        ),
        ("CTL_CHUNK_SIZE", "1\x1b[2J", "is not a whole number from 1 to 100000"),
    ],
)
def test_the_controller_refuses_a_bad_setting_in_one_line(
    scripts: dict[str, str], tmp_path: Path, var: str, value: str, why: str
) -> None:
    """The controller's settings are checked by the shared checks before any request: exit
    2 and the one line the namespace scripts print (control characters shown as '?')."""
    script = tmp_path / "backup-ns-controller.sh"
    script.write_text(scripts["backupns.yaml:controller/backup-ns-controller.sh"])
    run = subprocess.run(
        ["bash", str(script), "plan"],
        env={
            "PATH": os.environ["PATH"],
            "HOME": str(tmp_path),
            "TZDIR": "/usr/share/zoneinfo",
            "KUBECONFIG": str(tmp_path / "none"),
            var: value,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    shown = value.replace("\x1b", "?")
    assert (run.returncode, run.stdout, run.stderr) == (
        2,
        "",
        f'ERROR: invalid setting: {var}="{shown}" {why}. Fix the environment variable or '
        'backupns.yaml (then render again); see "help settings"\n',
    )
