"""Value kinds: one corpus per kind, the same verdict from Python and from the rendered bash."""

from __future__ import annotations

import subprocess

import pytest

from backupns_gen import fields, names, settings
from backupns_gen.kinds import KINDS, Kind
from backupns_gen.render import environment
from tests.genhelpers import TEMPLATES

SHA = "0123456789abcdef" * 4
ARABIC_ONE = "\u0661"
"""A digit to Python's \\d, not to [0-9]."""

CORPUS: dict[str, tuple[list[str], list[str]]] = {
    # kind: (valid, invalid)
    "dns_label": (
        ["a", "shop-prod", "0", "a" * 63, "x1-2y"],
        ["", "-a", "a-", "A", "a.b", "a_b", "a" * 64, "é", "a\n", " a", "a b", ARABIC_ONE],
    ),
    "dns_subdomain": (
        ["a", "a.b", "data-0.x-y", ("a" * 63 + ".") * 3 + "a" * 61],
        ["", ".a", "a.", "a..b", "A.b", "a_b", ("a" * 63 + ".") * 3 + "a" * 62, "a\n", "ü"],
    ),
    "abs_path": (
        [
            "/var/lib/postgresql/data/dump.sql.gz",
            "/a/b.c/d..e/x@y+z=1,3",
            "/a/.hidden",
            "/a/..b",
            "/a/...",
            "/-x/_y",
        ],
        [
            "",
            "/",
            "relative/dump.gz",
            "/var/lib:x/dump.gz",
            "/var//dump.gz",
            "/var/dump/",
            "/x/../../tmp/evil.sql.gz",
            "/a/..",
            "/a/./b",
            "/..",
            "/.",
            "/a b",
            "/a|b",
            "/a\nb",
            "/a$(id)",
            "/a/b\\c",
            "/a/é",
            "/a\n",
        ],
    ),
    "byte_count": (
        ["0", "47", "9" * 18],
        ["", "1" + "0" * 18, "12a", "-1", " 1", "1.5", ARABIC_ONE * 2, "1\n"],
    ),
    "sha256": ([SHA], ["", SHA.upper(), SHA + "0", SHA[1:], SHA[1:] + "g", SHA + "\n"]),
    "quantity": (
        ["1Gi", "1073741824", "500M", "1.5Gi", "1e9", "100m", "8Ei", "+1", ".5", "5.", "3n"],
        ["", "1GiB", "1.2.3", "Gi", "-1", "1 Gi", ARABIC_ONE, "1" * 65, "1Gi\n", "0x10"],
    ),
    "utc_time": (
        ["2026-12-07T18:44:53Z", "1999-01-31T00:00:00Z", "2000-02-29T23:59:59Z"],
        [
            "",
            "2026-12-07T18:44:53",
            "2026-12-07 18:44:53Z",
            "2026-13-01T00:00:00Z",
            "2026-12-32T00:00:00Z",
            "2026-12-07T24:00:00Z",
            "2026-12-07T18:44:53.5Z",
            "2026-12-07T18:44:53+00:00",
            "2026-12-07T18:44:53Z\n",
        ],
    ),
    "label_value": (
        ["", "a", "A_b.c-D", "0", "x" * 63],
        ["-a", "a-", "_a", "a b", "x" * 64, "a/b", "é", "a\n"],
    ),
    "duration": (
        ["90", "0", "90s", "15m", "1h30m", "2h5m10s", "999999999h", "1h1s"],
        ["", "1d", "1h 30m", "h", "1m30h", "1234567890", ARABIC_ONE + "h", " 90", "90\n", "-5"],
    ),
    "zone_name": (
        ["UTC", "Europe/Vienna", "America/Argentina/Buenos_Aires", "Etc/GMT+5", "z" * 64],
        ["", "Europe/", "/UTC", "Europe//Vienna", "../etc/passwd", "z" * 65, "UTC\n", "A B", "é"],
    ),
}


def bash_verdicts(kind: Kind, values: list[str]) -> list[bool]:
    """Each value's verdict from the rendered ``is_<kind>`` (the script's own fragment),
    one bash for all values."""
    util = environment().get_template("script/_util.sh.j2").render()
    program = util + (
        f"\nwhile IFS= read -r -d '' v; do\n"
        f'  if is_{kind.name} "$v"; then echo yes; else echo no; fi\n'
        "done\n"
    )
    out = subprocess.run(
        ["bash", "-c", program],
        input="".join(v + "\0" for v in values),
        capture_output=True,
        text=True,
        check=True,
        env={"LC_ALL": "C.UTF-8", "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    return [line == "yes" for line in out.stdout.splitlines()]


def test_every_kind_has_a_corpus() -> None:
    assert sorted(CORPUS) == sorted(k.name for k in KINDS)


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_python_and_bash_give_every_value_the_same_verdict(kind: Kind) -> None:
    valid, invalid = CORPUS[kind.name]
    values = valid + invalid
    want = [True] * len(valid) + [False] * len(invalid)
    python = [kind.check(v) for v in values]
    bash = bash_verdicts(kind, values)
    wrong = [
        f"{v!r}: want {w}, python {p}, bash {b}"
        for v, w, p, b in zip(values, want, python, bash, strict=True)
        if not w == p == b
    ]
    assert wrong == []


def test_the_config_fields_use_the_kinds() -> None:
    """The pydantic validators give a kind's verdict (a path field, names, quantities)."""
    for value in CORPUS["abs_path"][1][1:]:
        with pytest.raises(ValueError):
            fields._abs_path(value)
    for value in CORPUS["dns_label"][1]:
        assert names.dns1123_label(value) is not None
    for value in CORPUS["quantity"][0]:
        assert fields._quantity(value) == value


def test_setting_rows_of_a_value_kind_check_with_it() -> None:
    """verify_<kind> of the script calls the kind's is_<name>; a row's default passes it."""
    config = (TEMPLATES / "script" / "_config.sh.j2").read_text()
    rows = [s for s in settings.SETTINGS if s.value_kind is not None]
    assert {s.kind for s in rows} == set(settings.VALUE_KINDS)
    for s in rows:
        kind = s.value_kind
        assert kind is not None
        body = config.split(f"\nverify_{s.kind}() {{", 1)[1].split("\n}\n", 1)[0]
        assert f"is_{kind.name} " in body, s.name
        if isinstance(s.default, str) and (s.default or not s.optional):
            assert kind.check(s.default), s.name
