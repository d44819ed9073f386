"""Time zone rules baked into the scripts, for images without zone files.

GNU ``date`` finds a zone by name only in ``/usr/share/zoneinfo`` and silently computes
UTC for a name it cannot find; the default image has no tzdata. It does understand a
POSIX TZ rule (``CET-1CEST,M3.5.0,M10.5.0/3``) with no file, and the rule of a zone is
the footer of its TZif file (RFC 8536, version 2 and later), read here from the
``tzdata`` Python package.

A footer describes the zone from its last explicit transition on. Where that transition
is after ``SINCE`` (a zone that changed its rules recently, or one whose changes follow
no rule, such as Gaza's around Ramadan), the explicit transitions from ``SINCE`` on are
baked too, as fixed-offset TZ values; a moment before ``valid_from`` is refused by the
script.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from importlib import resources

SINCE = 1704067200
"""2024-01-01T00:00:00Z: the first moment the baked data is exact for in every zone."""


class ZoneRuleError(ValueError):
    """The tzdata package has no usable rule for a zone."""


@dataclass(frozen=True)
class ZoneRule:
    """What a script needs to know of one zone when the system has no file for it."""

    name: str
    rule: str
    """The POSIX TZ rule that holds from ``rule_from`` on (the TZif footer)."""
    rule_from: int | None
    """The zone's last explicit transition (seconds since the epoch); None: always."""
    periods: tuple[tuple[int, str], ...] = ()
    """(start, fixed-offset TZ value) of each period from ``SINCE`` to ``rule_from``."""

    @property
    def valid_from(self) -> int | None:
        """The first moment the baked data is exact for (None: any)."""
        return self.periods[0][0] if self.periods else self.rule_from

    def tz_at(self, epoch: int) -> str | None:
        """The TZ value giving local time at ``epoch`` (None: before ``valid_from``).
        The script's zone_tz makes the same choice."""
        if self.rule_from is None or epoch >= self.rule_from:
            return self.rule
        found = None
        for start, tz in self.periods:
            if epoch < start:
                break
            found = tz
        return found

    @property
    def bash_rule_from(self) -> str:
        """``rule_from`` as the script's ZONE_RULES holds it ("" = always)."""
        return "" if self.rule_from is None else str(self.rule_from)

    @property
    def bash_periods(self) -> str:
        """``periods`` as the script's ZONE_RULES holds them: "START=TZ START=TZ ..."."""
        return " ".join(f"{start}={tz}" for start, tz in self.periods)


def fixed_tz(offset: int, abbr: str) -> str:
    """A POSIX TZ value for a fixed UT offset (seconds east), e.g. ``<+05>-5``."""
    sign = "-" if offset >= 0 else "+"  # POSIX counts hours west of Greenwich
    h, rest = divmod(abs(offset), 3600)
    m, s = divmod(rest, 60)
    text = f"{h}" + (f":{m:02d}" if m or s else "") + (f":{s:02d}" if s else "")
    if re.fullmatch(r"[A-Za-z]{3,}", abbr):
        name = abbr
    elif re.fullmatch(r"[A-Za-z0-9+-]{3,}", abbr):
        name = f"<{abbr}>"
    else:
        name = "<ZZZ>"
    return f"{name}{sign}{text}"


@dataclass(frozen=True)
class _TZif:
    times: tuple[int, ...]
    types: tuple[tuple[int, int, str], ...]
    """(utoff, isdst, abbreviation) per local time type."""
    index: tuple[int, ...]
    footer: str


def _parse(data: bytes) -> _TZif:
    if data[:4] != b"TZif" or data[4:5] < b"2":
        raise ZoneRuleError("is not a TZif file of version 2 or later")

    def counts(at: int) -> tuple[int, ...]:
        return struct.unpack(">6l", data[at + 20 : at + 44])

    isut, isstd, leap, timecnt, typecnt, charcnt = counts(0)
    at = 44 + timecnt * 5 + typecnt * 6 + charcnt + leap * 8 + isstd + isut
    isut, isstd, leap, timecnt, typecnt, charcnt = counts(at)
    at += 44
    times = struct.unpack(f">{timecnt}q", data[at : at + 8 * timecnt])
    at += 8 * timecnt
    index = tuple(data[at : at + timecnt])
    at += timecnt
    raw = [struct.unpack(">lBB", data[at + 6 * i : at + 6 * i + 6]) for i in range(typecnt)]
    at += 6 * typecnt
    chars = data[at : at + charcnt]
    at += charcnt + leap * 12 + isstd + isut
    types = tuple(
        (off, dst, chars[ai : chars.index(b"\0", ai)].decode("ascii")) for off, dst, ai in raw
    )
    footer = data[at:].decode("ascii").strip("\n")
    return _TZif(tuple(times), types, index, footer)


def zone_rule(name: str) -> ZoneRule:
    """The rule (and recent periods) of an IANA zone from the tzdata package."""
    try:
        path = resources.files("tzdata.zoneinfo").joinpath(*name.split("/"))
        data = path.read_bytes()
    except (OSError, ValueError, ModuleNotFoundError):
        raise ZoneRuleError("is not in the tzdata package") from None
    tzif = _parse(data)
    if not tzif.footer or "\n" in tzif.footer:
        raise ZoneRuleError("has no POSIX TZ rule in the tzdata package")
    if not tzif.times:
        return ZoneRule(name, tzif.footer, None)
    last = tzif.times[-1]
    periods: list[tuple[int, str]] = []
    if last > SINCE:
        before = [i for i, t in enumerate(tzif.times) if t <= SINCE]
        first = before[-1] if before else 0
        for i in range(first, len(tzif.times) - 1):
            off, _dst, abbr = tzif.types[tzif.index[i]]
            periods.append((max(tzif.times[i], SINCE), fixed_tz(off, abbr)))
    return ZoneRule(name, tzif.footer, last, tuple(periods))


def rules_for(zones: set[str] | frozenset[str]) -> tuple[ZoneRule, ...]:
    """The rules of ``zones``, sorted by name; UTC needs none (the scripts know it)."""
    return tuple(zone_rule(z) for z in sorted(zones) if z != "UTC")
