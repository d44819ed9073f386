"""src/backupns_gen/controller.py: the CTL_* settings table, the per-namespace keep table and the
schedule period that `status` uses."""

from __future__ import annotations

from typing import Any

from annotated_types import Ge, Le

from backupns_gen.config import ControllerConfig, Keep
from backupns_gen.controller import CTL_SETTINGS, controller_env
from backupns_gen.schedule import _stepped_period, period_seconds
from tests.genhelpers import plan_of


def _bounds(model: Any, attr: str) -> tuple[int, int]:
    meta = model.model_fields[attr].metadata
    lo = next(m.ge for m in meta if isinstance(m, Ge))
    hi = next(m.le for m in meta if isinstance(m, Le))
    return int(lo), int(hi)


def test_int_settings_have_the_config_models_bounds() -> None:
    table = {s.name: (s.lo, s.hi) for s in CTL_SETTINGS if s.kind == "int"}
    assert table["CTL_KEEP_DAILY"] == _bounds(Keep, "daily")
    assert table["CTL_KEEP_WEEKLY"] == _bounds(Keep, "weekly")
    assert table["CTL_KEEP_MONTHLY"] == _bounds(Keep, "monthly")
    for name, attr in (
        ("CTL_MIN_READY", "min_ready"),
        ("CTL_MAX_DELETIONS_PER_RUN", "max_deletions_per_run"),
        ("CTL_ORPHAN_RETENTION_DAYS", "orphan_retention_days"),
        ("CTL_MAX_CLOCK_SKEW_DAYS", "max_clock_skew_days"),
    ):
        assert table[name] == _bounds(ControllerConfig, attr), name


def test_every_setting_is_baked_in_order() -> None:
    env = controller_env(ControllerConfig())
    assert [n for n, _ in env] == [s.name for s in CTL_SETTINGS]
    assert dict(env)["CTL_FAILED_AFTER_SEC"] == "86400"
    assert len({s.name for s in CTL_SETTINGS}) == len(CTL_SETTINGS)


def test_keep_table_per_namespace_and_pvc() -> None:
    unit = plan_of(
        """
defaults: {retention: {keep: {weekly: 2}}}
namespaces:
  a: {pvcs: [data, logs], retention: {keep: {daily: 3}}}
  b: {pvcs: [www], schedule: "0 */6 * * *"}
controller: {keep: {daily: 10, weekly: 5, monthly: 6}, staleAfterFactor: 3}
"""
    ).controller
    assert [r.line() for r in unit.table] == [
        "a data 3 2 6 daily_weekly_monthly 259200",
        "a logs 3 2 6 daily_weekly_monthly 259200",
        "b www 10 2 6 daily_weekly_monthly 64800",
    ]


def test_period_is_the_longest_gap() -> None:
    assert period_seconds("5 1 * * *") == 86400
    assert period_seconds("0 */6 * * *") == 6 * 3600
    assert period_seconds("0 1 * * 1,4") == 4 * 86400
    assert period_seconds("@hourly") == 3600


def test_a_daily_schedule_is_a_day_without_stepping_through_its_runs() -> None:
    """The shortcut for once a day at a fixed time agrees with stepping through the runs
    (every minute and hour), and leaves anything else to the stepping."""
    for minute in range(60):
        for hour in range(24):
            expr = f"{minute} {hour} * * *"
            assert period_seconds(expr) == _stepped_period(expr, 16) == 86400
    assert period_seconds("@daily") == 86400
    assert period_seconds("5 1 * * 1") == 7 * 86400
    assert period_seconds("5 1 1 * *") == 31 * 86400
