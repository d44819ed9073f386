"""The zone rules baked into the scripts (backupns_gen.zonerules), checked with GNU date.

The property: for every zone of tests/data/full.yaml plus common zones of both
hemispheres, half- and quarter-hour offsets, zones without DST and zones whose rules
changed lately or follow no rule, every hour from 2024 to 2037 gives the same date
stamp and day / ISO week / month labels with the baked data (no zone files) as with
the zone file of the same tzdata release. One `date -f` per zone and TZ value.
"""

from __future__ import annotations

import os
import subprocess
from importlib import resources
from pathlib import Path

import pytest
import yaml

from backupns_gen.loader import load_config, parse_config
from backupns_gen.plan import config_zones, plan
from backupns_gen.render import Renderer
from backupns_gen.zonerules import SINCE, ZoneRule, ZoneRuleError, fixed_tz, zone_rule
from tests.genhelpers import FULL

COMMON = (
    "Europe/London", "Europe/Berlin", "America/New_York", "America/Los_Angeles",
    "America/St_Johns", "America/Sao_Paulo", "America/Santiago", "America/Asuncion",
    "America/Nuuk", "Australia/Sydney", "Australia/Adelaide", "Australia/Lord_Howe",
    "Pacific/Auckland", "Pacific/Chatham", "Pacific/Kiritimati", "Pacific/Pago_Pago",
    "Asia/Tokyo", "Asia/Kolkata", "Asia/Kathmandu", "Asia/Shanghai", "Asia/Jerusalem",
    "Asia/Almaty", "Asia/Gaza", "Africa/Johannesburg", "Africa/Cairo", "Africa/Casablanca",
)  # fmt: skip
"""Both hemispheres; :30 and :45 offsets (St_Johns, Adelaide, Lord_Howe's 30-minute
DST, Chatham, Kolkata, Kathmandu); no DST (Tokyo, Kolkata, Sao_Paulo since 2019);
rules beyond plain POSIX (Nuuk's negative, Jerusalem's and Gaza's 26 h and 50 h
transition times); rules that changed after 2024 (Almaty, Asuncion); changes that
follow no rule (Gaza's, around Ramadan, until 2086)."""

FORMAT = "+%Y-%m-%d-%H%M%S %Y-%m-%d %G-w%V %Y-%m"
END = 2145916800  # 2038-01-01T00:00:00Z
HOURS = range(SINCE, END, 3600)
ZONEINFO = str(resources.files("tzdata.zoneinfo"))


def dates(tz: str, epochs: list[int], tzdir: str = "/nonexistent") -> list[str]:
    """GNU date of each epoch under TZ=tz, in one `date -f` run."""
    env = {"PATH": os.environ["PATH"], "TZ": tz, "TZDIR": tzdir, "LC_ALL": "C"}
    out = subprocess.run(
        ["date", "-f", "-", FORMAT],
        input="".join(f"@{e}\n" for e in epochs),
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert len(out) == len(epochs)
    return out


def baked_dates(rule: ZoneRule, epochs: list[int]) -> list[str]:
    """The dates from the baked data alone (no zone files): one date run per TZ value."""
    groups: dict[str, list[int]] = {}
    for e in epochs:
        tz = rule.tz_at(e)
        assert tz is not None, (rule.name, e)
        groups.setdefault(tz, []).append(e)
    found: dict[int, str] = {}
    for tz, group in groups.items():
        found.update(zip(group, dates(tz, group), strict=True))
    return [found[e] for e in epochs]


def test_gnu_date_reads_an_unknown_zone_name_as_utc_silently() -> None:
    """Why the rules are baked: no zone file, no error, UTC."""
    assert dates("Europe/Vienna", [1782865800]) == dates("UTC0", [1782865800])
    assert dates("CET-1CEST,M3.5.0,M10.5.0/3", [1782865800]) == [
        "2026-07-01-023000 2026-07-01 2026-w27 2026-07"
    ]


def full_zones() -> list[str]:
    return sorted({r.name for r in config_zones(load_config(FULL))} | {"UTC"})


@pytest.mark.parametrize("zone", sorted(set(full_zones()) | set(COMMON)))
def test_every_hour_2024_to_2037_baked_equals_the_zone_file(zone: str) -> None:
    epochs = list(HOURS)
    want = dates(f":{zone}", epochs, ZONEINFO)
    got = dates("UTC0", epochs) if zone == "UTC" else baked_dates(zone_rule(zone), epochs)
    diff = [(e, w, g) for e, w, g in zip(epochs, want, got, strict=True) if w != g]
    assert not diff, f"{zone}: {len(diff)} hours differ, first {diff[:3]}"


def test_the_hours_cover_dst_changes_and_iso_week_53() -> None:
    """The property above sees what it must: a 53-week ISO year end and both DST
    changes of a northern and a southern zone."""
    vienna = dates(":Europe/Vienna", list(HOURS), ZONEINFO)
    assert "2026-12-31-230000 2026-12-31 2026-w53 2026-12" in vienna
    assert "2027-01-03-230000 2027-01-03 2026-w53 2027-01" in vienna
    assert "2027-01-04-000000 2027-01-04 2027-w01 2027-01" in vienna
    assert {line[11:13] for line in vienna[::24]} == {"01", "02"}  # at 00:00 UTC: CET, CEST
    sydney = dates(":Australia/Sydney", list(HOURS), ZONEINFO)
    assert {line[11:13] for line in sydney[::24]} == {"10", "11"}  # AEST, AEDT


def test_a_zone_that_changed_in_2024_carries_its_periods() -> None:
    almaty = zone_rule("Asia/Almaty")
    assert almaty.rule == "<+05>-5"
    assert almaty.periods == ((SINCE, "<+06>-6"),)
    assert almaty.valid_from == SINCE
    assert almaty.tz_at(SINCE - 1) is None
    vienna = zone_rule("Europe/Vienna")
    assert (vienna.rule, vienna.periods) == ("CET-1CEST,M3.5.0,M10.5.0/3", ())
    assert vienna.valid_from == vienna.rule_from == 828234000  # 1996-03-31T01:00Z


def test_fixed_offsets_are_posix_tz_values() -> None:
    assert fixed_tz(3600, "CET") == "CET-1"
    assert fixed_tz(-10800, "-03") == "<-03>+3"
    assert fixed_tz(20700, "+0545") == "<+0545>-5:45"
    assert fixed_tz(0, "") == "<ZZZ>-0"


def test_a_zone_the_tzdata_package_lacks_is_refused() -> None:
    with pytest.raises(ZoneRuleError, match="not in the tzdata package"):
        zone_rule("Mars/Olympus_Mons")


def test_every_zone_of_the_config_is_baked_into_every_script() -> None:
    config = parse_config(
        yaml.safe_load(
            "defaults: {timeZone: Europe/Vienna}\n"
            "namespaces: {a: {pvcs: [d]}, b: {pvcs: [d], timeZone: Asia/Almaty}}\n"
            "controller: {timeZone: America/Sao_Paulo}\n"
        ),
        "backupns.yaml",
    )
    zones = ("America/Sao_Paulo", "Asia/Almaty", "Europe/Vienna")
    p = plan(config)
    assert [tuple(z.name for z in u.zones) for u in p.namespaces] == [zones, zones]
    assert tuple(z.name for z in p.controller.zones) == zones


# The bash side: zone_tz of a rendered script makes the same choice as ZoneRule.tz_at.
ZONE_CONFIG = (
    "defaults: {timeZone: Europe/Vienna}\n"
    "namespaces:\n  a: {pvcs: [d]}\n  b: {pvcs: [d], timeZone: Africa/Casablanca}\n"
    "  c: {pvcs: [d], timeZone: Asia/Almaty}\n"
    "controller: {timeZone: America/Sao_Paulo}\n"
)


@pytest.fixture(scope="module")
def scripts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    config = parse_config(yaml.safe_load(ZONE_CONFIG), "backupns.yaml")
    files = Renderer().render(plan(config))
    out = tmp_path_factory.mktemp("zones")
    found = {}
    for name in ("namespaces/a/backup-ns.sh", "controller/backup-ns-controller.sh"):
        (out / name.replace("/", "_")).write_text(files[name].text)
        found[name.split("/")[0]] = out / name.replace("/", "_")
    return found


def bash_zone_tz(script: Path, zone: str, epochs: list[int]) -> list[str]:
    """zone_tz ZONE EPOCH of the script, without zone files: "TZ status" per epoch."""
    loop = 'for e in "${@:3}"; do s=0; tz=$(zone_tz "$2" "$e") || s=$?; echo "$tz $s"; done'
    env = {"PATH": os.environ["PATH"], "TZDIR": "/nonexistent"}
    out = subprocess.run(
        ["bash", "-c", f'source "$1"; set +e; {loop}', "_", str(script), zone,
         *map(str, epochs)],
        env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return out.splitlines()


@pytest.mark.parametrize("which", ["namespaces", "controller"])
@pytest.mark.parametrize("zone", ["Africa/Casablanca", "Asia/Almaty", "Europe/Vienna"])
def test_the_scripts_zone_tz_picks_what_tz_at_picks(
    scripts: dict[str, Path], which: str, zone: str
) -> None:
    rule = zone_rule(zone)
    edges = [s for s, _ in rule.periods] + ([rule.rule_from] if rule.rule_from else [])
    epochs = sorted({SINCE - 3600, 1600000000, 1782865800, *edges, *(e - 1 for e in edges)})
    want = []
    for e in epochs:
        tz = rule.tz_at(e)
        first = rule.periods[0][1] if rule.periods else rule.rule
        want.append(f"{tz} 0" if tz is not None else f"{first} 2")
    assert bash_zone_tz(scripts[which], zone, epochs) == want


def test_the_scripts_know_utc_and_no_other_zone(scripts: dict[str, Path]) -> None:
    for script in scripts.values():
        assert bash_zone_tz(script, "UTC", [0]) == ["UTC0 0"]
        assert bash_zone_tz(script, "Asia/Tokyo", [0]) == [" 1"]
