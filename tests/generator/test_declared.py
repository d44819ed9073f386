"""What a config field declares: found by its camelCase path, read by both settings tables."""

from __future__ import annotations

import re
from pathlib import Path

from backupns_gen import controller, settings
from backupns_gen.config import KEEP_MAX, ControllerConfig, NamespaceConfig
from backupns_gen.declared import choices, declared, field_at


def test_a_path_finds_the_field_through_nested_and_optional_models() -> None:
    info = field_at(NamespaceConfig, "database.postgres.dumpFile")
    assert info.default == "/var/lib/postgresql/data/dump.sql.gz"
    assert field_at(ControllerConfig, "keep.weekly").default == 4


def test_declared_reads_default_bounds_pattern_and_literal_choices() -> None:
    assert declared(field_at(NamespaceConfig, "lock.slots")) == {"default": 2, "lo": 1, "hi": 1000}
    assert (
        declared(field_at(NamespaceConfig, "database.mysql.defaultCharacterSet"))["pattern"]
        == r"^[A-Za-z0-9_]{1,32}$"
    )
    assert choices(field_at(NamespaceConfig, "lock.mode")) == ("lease", "flock", "none")
    assert choices(field_at(NamespaceConfig, "lock.slots")) == ()


def test_choice_settings_take_the_config_literal() -> None:
    assert settings.BY_NAME["BAK_LOCK"].choices == ("lease", "flock", "none")
    assert settings.BY_NAME["BAK_LABEL_VS_RETAIN"].choices == ("daily_weekly_monthly", "days")


def test_keep_bounds_are_declared_once_and_the_controller_reads_them() -> None:
    rows = {s.name: s for s in controller.CTL_SETTINGS}
    for period, top in KEEP_MAX.items():
        assert (rows[f"CTL_KEEP_{period.upper()}"].lo, rows[f"CTL_KEEP_{period.upper()}"].hi) == (
            0,
            top,
        )
    source = Path(controller.__file__).read_text()
    assert not re.search(r"\b(3650|520|1200)\b", source)


def test_every_setting_name_is_written_out_in_its_table() -> None:
    """grep finds each setting where it is declared (no name built from pieces)."""
    source = Path(settings.__file__).read_text()
    for s in settings.SETTINGS:
        assert f'"{s.name}"' in source, s.name
