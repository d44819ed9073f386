"""H expansion: stable, hash-based (sha256), within range; cron checked like Kubernetes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from backupns_gen.schedule import ScheduleError, expand, stable_value


def test_h_is_stable_and_depends_on_the_seed() -> None:
    assert expand("H 1 * * *", "shop-prod") == expand("H 1 * * *", "shop-prod")
    minutes = {expand("H 1 * * *", f"ns-{i}").split()[0] for i in range(200)}
    assert len(minutes) > 40  # spread over the hour, not one minute for everyone


def test_h_does_not_use_python_hash() -> None:
    """The value is the same in another interpreter (hash() is salted per process)."""
    code = "from backupns_gen.schedule import expand; print(expand('H H * * *', 'blog'))"
    other = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345", "PATH": ""},
    ).stdout.strip()
    assert other == expand("H H * * *", "blog")


def test_known_values() -> None:
    # Pinned: changing the hash would move every CronJob in every cluster.
    assert expand("H 1 * * *", "shop-prod") == "1 1 * * *"
    assert expand("H H(2-4) * * *", "blog") == "34 2 * * *"


def test_h_range_stays_in_range() -> None:
    for i in range(300):
        minute, hour = expand("H(10-12) H(2-4) * * *", f"n{i}").split()[:2]
        assert 10 <= int(minute) <= 12
        assert 2 <= int(hour) <= 4


def test_stable_value_bounds() -> None:
    assert {stable_value(str(i), 0, 5, 5) for i in range(20)} == {5}


@pytest.mark.parametrize(
    "expr", ["@daily", "@hourly", "*/15 * * * *", "0 1 * * MON-FRI", "0 0 1 JAN *"]
)
def test_valid_schedules_pass_unchanged(expr: str) -> None:
    assert expand(expr, "x") == expr


@pytest.mark.parametrize(
    ("expr", "reason"),
    [
        ("@every 5m", "unknown macro"),
        ("0 1 L * *", "L, W and # are not supported"),
        ("0 1 * * 5#2", "L, W and # are not supported"),
        ("H/5 * * * *", r"must be H or H\(a-b\)"),
        ("0 24 * * *", "bad hour"),
    ],
)
def test_invalid_schedules(expr: str, reason: str) -> None:
    with pytest.raises(ScheduleError, match=reason):
        expand(expr, "x")
