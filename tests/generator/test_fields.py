"""fields: each value type of the config accepts its kind of value (normalised) and
refuses anything else with the final text of the error line."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from backupns_gen import fields
from backupns_gen.fields import duration_seconds, expand_snapshot_template


def accepted(kind: Any, value: object) -> object:
    return TypeAdapter(kind).validate_python(value)


def refusal(kind: Any, value: object) -> str:
    with pytest.raises(ValidationError) as info:
        TypeAdapter(kind).validate_python(value)
    (error,) = info.value.errors()
    return str(error["msg"])


@pytest.mark.parametrize(
    ("value", "text", "seconds"),
    [("1h30m", "1h30m", 5400), (90, "90", 90), (" 15m ", "15m", 900), ("2h5s", "2h5s", 7205)],
)
def test_a_duration_is_kept_as_text_and_read_as_seconds(
    value: object, text: str, seconds: int
) -> None:
    assert accepted(fields.Duration, value) == text
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1d", '"1d" is not a valid duration (like 90s, 15m, 1h30m, or whole seconds)'),
        (True, "true is not a valid duration (like 90s, 15m, 1h30m, or whole seconds)"),
        ("", '"" is not a valid duration (like 90s, 15m, 1h30m, or whole seconds)'),
        ("0s", '"0s" is not a valid duration: must be longer than 0s'),
    ],
)
def test_a_duration_that_is_not_one(value: object, message: str) -> None:
    assert refusal(fields.Duration, value) == message


def test_a_percentage_may_carry_its_sign_and_is_a_whole_number_from_1_to_100() -> None:
    assert accepted(fields.Percent, "50%") == 50
    for value in (0, 101):
        assert refusal(fields.Percent, value) == (
            f"{value} is not a valid percentage (a whole number from 1 to 100)"
        )


@pytest.mark.parametrize("value", ["Nowhere", "../etc/passwd", "Europe/"])
def test_a_time_zone_is_an_iana_name(value: str) -> None:
    assert accepted(fields.TimeZone, "Europe/Vienna") == "Europe/Vienna"
    assert refusal(fields.TimeZone, value).endswith(
        "is not a valid IANA time zone (like UTC or Europe/Vienna)"
    )


@pytest.mark.parametrize("value", ["/var//dump.gz", "/var/dump/", "/var/../etc", "/var:x/d"])
def test_an_absolute_path_has_no_empty_dot_or_odd_segments(value: str) -> None:
    assert accepted(fields.AbsPath, "/var/lib/dump.gz") == "/var/lib/dump.gz"
    assert refusal(fields.AbsPath, value) == (
        f'"{value}" is not a valid absolute path (segments of letters, digits and ._@+=,- ; '
        "no '.' or '..' segments, no trailing '/')"
    )
    assert refusal(fields.AbsPath, "var") == (
        "\"var\" is not an absolute path (it must start with '/')"
    )


def test_a_snapshot_template_needs_date_or_rand_and_knows_its_placeholders() -> None:
    assert accepted(fields.SnapshotTemplate, "{pvc}-{rand}") == "{pvc}-{rand}"
    assert refusal(fields.SnapshotTemplate, "{pvc}").endswith(
        "it needs {date} or {rand} so that two runs do not produce the same name"
    )
    assert refusal(fields.SnapshotTemplate, "{foo}-{date}") == (
        '"{foo}-{date}" is not a valid snapshot name template: unknown placeholder {foo} '
        "(use {namespace}, {pvc}, {date}, {rand}, {type})"
    )


def test_expand_snapshot_template_fills_every_placeholder() -> None:
    name = expand_snapshot_template(
        "{namespace}-{pvc}-{type}-{date}-{rand}",
        namespace="shop",
        pvc="data",
        type="adhoc",
        date="2026-01-01-000000",
        rand="a1b2c3",
    )
    assert name == "shop-data-adhoc-2026-01-01-000000-a1b2c3"


def test_a_command_is_an_argv_list_never_a_shell_string() -> None:
    assert accepted(fields.Command, ["sleep", 5]) == ["sleep", "5"]
    assert refusal(fields.Command, "ls").startswith('"ls" is not a list of arguments')
    assert refusal(fields.Command, []).startswith("[] is empty")
    assert refusal(fields.Command, [""]) == (
        '"" is not a program: the first item of a command names the program'
    )
    assert refusal(fields.Command, ["echo", "a\0b"]).endswith(
        "contains a NUL character, which no command argument can hold"
    )
