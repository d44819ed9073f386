"""kubesim's clock: real time plus an offset that tests move forward (the CronJob controller's now).

Control API (no auth, not logged)::

    GET  <url>/_kubesim/clock                          -> {"now": "2026-05-04T01:02:00Z"}
    POST <url>/_kubesim/clock  {"advance": 3600}        seconds, or "90s" "15m" "25h" "2d"
    POST <url>/_kubesim/clock  {"set": "2026-05-04T01:02:00Z"}   any RFC 3339 time
                                                        -> {"now": ..., "jobs": ["ns/name", ...]}

After a change the CronJob controller runs at once, so the answer lists the Jobs
it created and they exist when the caller looks. Only the CronJob controller reads
this clock; timestamps, Job deadlines and back-offs use real time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: object) -> float:
    """Seconds from a number or "90s"/"15m"/"25h"/"2d" (ValueError otherwise)."""
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([smhd]?)\s*", str(value))
    if not m:
        raise ValueError(f"not a duration: {value!r} (seconds, or a number with s, m, h or d)")
    return float(m.group(1)) * _UNITS[m.group(2) or "s"]


def parse_time(value: object) -> datetime:
    text = str(value).strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    when = datetime.fromisoformat(text)
    if when.tzinfo is None:
        raise ValueError(f"not an RFC 3339 time with a zone: {value!r}")
    return when.astimezone(timezone.utc)


def rfc3339(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Clock:
    def __init__(self) -> None:
        self.offset = 0.0
        self._listeners: list[Callable[[], None]] = []

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + timedelta(seconds=self.offset)

    def on_change(self, fn: Callable[[], None]) -> None:
        self._listeners.append(fn)

    def _changed(self) -> None:
        for fn in list(self._listeners):
            fn()

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self.offset += seconds
        self._changed()

    def set(self, when: datetime) -> None:
        self.offset = (when - datetime.now(timezone.utc)).total_seconds()
        self._changed()


__all__ = ["Clock", "parse_duration", "parse_time", "rfc3339"]
