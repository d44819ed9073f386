"""Cron schedules: Jenkins-style ``H`` expansion and validation.

``H`` in the minute or hour field becomes a value derived from a SHA-256 hash
of a seed (the namespace name), so hundreds of namespaces do not start in the
same minute, and the value never changes between renders. ``H(a-b)`` limits
the value to the range a..b. The result is checked the way Kubernetes parses
CronJob schedules (five fields or a macro such as ``@daily``; no ``TZ=``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from cronsim import CronSim, CronSimError

_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_H_RANGE = re.compile(r"H\((\d+)-(\d+)\)")
_FIELD_BOUNDS = ((0, 59), (0, 23))  # minute, hour
_FIELD_NAMES = ("minute", "hour", "day-of-month", "month", "day-of-week")


class ScheduleError(ValueError):
    """The schedule is invalid; the message follows the quoted schedule in an error line."""


def stable_value(seed: str, field_index: int, low: int, high: int) -> int:
    """A value in low..high that depends only on seed and field (SHA-256, not hash())."""
    digest = hashlib.sha256(f"{seed}\0{field_index}".encode()).digest()
    return low + int.from_bytes(digest[:8], "big") % (high - low + 1)


def _slot(field: str, index: int) -> tuple[int, int] | None:
    """The (low, high) range of an H field, None for a plain field."""
    if "H" not in field:
        return None
    if index >= len(_FIELD_BOUNDS):
        raise ScheduleError(
            f"is not a valid schedule: H is only supported in the minute and hour fields, "
            f"not in the {_FIELD_NAMES[index]} field"
        )
    low, high = _FIELD_BOUNDS[index]
    if field == "H":
        return low, high
    match = _H_RANGE.fullmatch(field)
    if not match:
        raise ScheduleError(
            f"is not a valid schedule: the {_FIELD_NAMES[index]} field {field!r} "
            "must be H or H(a-b) when it uses H"
        )
    a, b = int(match.group(1)), int(match.group(2))
    if not low <= a <= b <= high:
        raise ScheduleError(
            f"is not a valid schedule: H({a}-{b}) in the {_FIELD_NAMES[index]} field "
            f"must satisfy {low} <= a <= b <= {high}"
        )
    return a, b


@dataclass(frozen=True)
class Template:
    """A checked schedule whose H fields are filled in per seed (``fill``)."""

    fields: tuple[str, ...]
    slots: tuple[tuple[int, int] | None, ...]

    def fill(self, seed: str) -> str:
        return " ".join(
            field if slot is None else str(stable_value(seed, i, *slot))
            for i, (field, slot) in enumerate(zip(self.fields, self.slots, strict=True))
        )


def compile_schedule(schedule: str) -> Template:
    """Parse and check a schedule once; an H field is valid for every seed when its
    range is, so the check runs on the lowest value of each range."""
    text = schedule.strip()
    if text.startswith(("TZ=", "CRON_TZ=")):
        raise ScheduleError("is not a valid schedule: set timeZone instead of TZ= in the schedule")
    if text.startswith("@"):
        if text not in _MACROS:
            raise ScheduleError(
                f"is not a valid schedule: unknown macro (use one of {', '.join(_MACROS)})"
            )
        return Template((text,), (None,))
    fields = text.split()
    if len(fields) != 5:
        raise ScheduleError(
            "is not a valid schedule: expected 5 fields (minute hour day-of-month month "
            f"day-of-week), got {len(fields)}"
        )
    slots = tuple(_slot(f, i) for i, f in enumerate(fields))
    dom, dow = fields[2].upper(), fields[4].upper()
    if re.search(r"[LW]", dom) or "#" in dow or re.search(r"(^|[^A-Z])L", dow):
        raise ScheduleError("is not a valid schedule: L, W and # are not supported by Kubernetes")
    check(" ".join(f if s is None else str(s[0]) for f, s in zip(fields, slots, strict=True)))
    return Template(tuple(fields), slots)


class Schedules:
    """Compiled schedules of one config (most namespaces share the default one)."""

    def __init__(self) -> None:
        self._compiled: dict[str, Template | ScheduleError] = {}

    def expand(self, schedule: str, seed: str) -> str:
        found = self._compiled.get(schedule)
        if found is None:
            try:
                found = compile_schedule(schedule)
            except ScheduleError as exc:
                found = exc
            self._compiled[schedule] = found
        if isinstance(found, ScheduleError):
            raise found
        return found.fill(seed)


def expand(schedule: str, seed: str) -> str:
    """Replace H / H(a-b) and check the result; returns the schedule Kubernetes gets."""
    return compile_schedule(schedule).fill(seed)


def check(expr: str) -> None:
    """Raise ScheduleError when cronsim rejects the (H-free) expression."""
    try:
        CronSim(_MACROS.get(expr, expr), datetime(2026, 1, 1))
    except CronSimError as exc:
        raise ScheduleError(f"is not a valid schedule: {str(exc).lower()}") from exc


_DAILY = re.compile(r"([0-9]{1,2}) ([0-9]{1,2}) \* \* \*")


def period_seconds(expr: str, fires: int = 16) -> int:
    """The longest gap between two consecutive runs of ``expr`` (an expanded schedule),
    over its first ``fires`` runs after 2026-01-01 UTC: the schedule's period, used by
    the controller's ``status`` to call a namespace stale. Once a day at a fixed minute
    and hour (what ``H H(a-b) * * *`` expands to) is a day, without stepping through
    the runs (a config of thousands of namespaces has hundreds of such schedules)."""
    text = _MACROS.get(expr, expr)
    daily = _DAILY.fullmatch(text)
    if daily and int(daily.group(1)) <= 59 and int(daily.group(2)) <= 23:
        return 86_400
    return _stepped_period(text, fires)


def _stepped_period(text: str, fires: int) -> int:
    """``period_seconds`` by stepping through the first FIRES runs (CronSim)."""
    it = CronSim(text, datetime(2026, 1, 1))
    previous = next(it)
    longest = 0
    for _ in range(fires):
        current = next(it)
        longest = max(longest, int((current - previous).total_seconds()))
        previous = current
    return longest
