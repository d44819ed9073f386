"""Value kinds: one corpus per kind, the same verdict from Python and from the rendered bash."""

from __future__ import annotations

import functools
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import pytest
from pydantic import TypeAdapter, ValidationError

from backupns_gen import fields, names, settings
from backupns_gen.kinds import ALL, KINDS, SETTING_KINDS, Kind
from backupns_gen.render import render
from backupns_gen.settings import Setting
from tests.genhelpers import plan_of

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
    "host": (
        [
            "",
            "db",
            "db.shop.svc.cluster.local",
            "db.shop.svc.cluster.local.",
            "my_db",
            "DB-1.example",
            "127.0.0.1",
            "::1",
            "fe80::1",
            "2001:db8::ff00:42:8329",
            "::ffff:192.0.2.1",
            "a" * 253,
        ],
        [
            "-h",
            "--host=evil",
            ".db",
            "db..x",
            "db-",
            "db:5432",
            "[::1]",
            "/var/run/postgresql",
            "db/x",
            "a b",
            "db;id",
            "$(id)",
            "a" * 254,
            "db\n",
            "\u00e9",
            ARABIC_ONE,
        ],
    ),
    "pg_host": (
        [
            "",
            "db.shop.svc.cluster.local.",
            "my_db",
            "10.0.0.1",
            "::1",
            "/var/run/postgresql",
            "/tmp",
            "/run/pg_sock.d/x@y",
        ],
        [
            "-h",
            "db:5432",
            "/var//run",
            "/var/run/",
            "/a/../b",
            "/a,/b",
            "db,/tmp",
            "relative/dir",
            "/a b",
            "/a\nb",
            "/" + "a" * 253,
            "host=evil",
        ],
    ),
    "exec_resource": (
        [
            "deployment/app-base",
            "deployments/app",
            "deploy/app",
            "statefulset/db",
            "statefulsets/db",
            "sts/db",
            "daemonset/x",
            "daemonsets/x",
            "ds/x",
            "replicaset/x",
            "replicasets/x",
            "rs/x",
            "pod/db-0",
            "pods/db-0",
            "po/db-0",
            "job/x",
            "jobs/x",
            "deploy/a.b-c",
            "deploy/" + "a" * 253,
        ],
        [
            "",
            "app",
            "deploy/",
            "/app",
            "service/db",
            "svc/db",
            "cronjob/x",
            "jobss/x",
            "Deployment/app",
            "deployment.apps/app",
            "deploy/App",
            "deploy/a_b",
            "deploy/a/b",
            "deploy/-x",
            "deploy/" + "a" * 254,
            "-it/x",
            "--namespace=kube-system",
            "deploy/x\n",
        ],
    ),
    "db_value": (
        ["root", "${POSTGRES_USER}", "${_X1}", "app_db", "a.b@c-d", "0", "x" * 63, "_x", "@x"],
        [
            "",
            "-U",
            "--all-databases",
            "$(id)",
            "${1X}",
            "${X",
            "$X",
            "${X}y",
            "a b",
            "dbname=x host=evil",
            "postgresql://evil/x",
            "x" * 64,
            "a;b",
            "a'b",
            "\u00e9",
            "a\n",
        ],
    ),
}


CONFIG = """
namespaces:
  pg: {pvcs: [data], lock: {mode: flock}, database: {postgres: {}},
       verify: {countIn: deployment/web}}
  my: {pvcs: [data], database: {mysql: {}}}
"""
"""Scripts with every setting of a value kind: PostgreSQL, flock and the volume count;
MySQL."""


@pytest.fixture(scope="module")
def scripts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The rendered namespace scripts of CONFIG, by namespace."""
    out = tmp_path_factory.mktemp("kinds")
    found = {}
    for path, file in render(plan_of(CONFIG)).items():
        if path.endswith("/backup-ns.sh"):
            script = out / path.replace("/", "_")
            script.write_text(file.text)
            found[path.split("/")[-2]] = script
    return found


def run_sourced(script: Path, check: str, values: list[str]) -> list[bool]:
    """Source the rendered script, then run ``check`` (bash, the value in ``$v``) in a
    subshell for each value: True where it exits 0. One bash for all values."""
    program = (
        f"source {script}\n"
        "while IFS= read -r -d '' v; do\n"
        f"  if ({check}) >/dev/null 2>&1; then echo yes; else echo no; fi\n"
        "done\n"
    )
    out = subprocess.run(
        ["bash", "-c", program],
        input="".join(v + "\0" for v in values),
        capture_output=True,
        text=True,
        check=True,
        env={"LC_ALL": "C.UTF-8", "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    verdicts = [line == "yes" for line in out.stdout.splitlines()]
    assert len(verdicts) == len(values), out.stderr
    return verdicts


def disagreements(
    valid: list[str], invalid: list[str], python: Callable[[str], bool], script: Path, check: str
) -> list[str]:
    """Each value whose verdict from ``python`` or from ``check`` in the script is not the
    corpus's, with both verdicts."""
    values = valid + invalid
    want = [True] * len(valid) + [False] * len(invalid)
    bash = run_sourced(script, check, values)
    return [
        f"{v!r}: want {w}, python {p}, bash {b}"
        for v, w, p, b in zip(values, want, map(python, values), bash, strict=True)
        if not w == p == b
    ]


def test_every_kind_has_a_corpus() -> None:
    assert sorted(CORPUS) == sorted(k.name for k in ALL)
    assert set(ALL) == set(KINDS) | set(SETTING_KINDS)


@pytest.mark.parametrize("kind", ALL, ids=lambda k: k.name)
def test_python_and_bash_give_every_value_the_same_verdict(
    kind: Kind, scripts: dict[str, Path]
) -> None:
    """``Kind.check`` and the rendered script's ``is_<name>``."""
    valid, invalid = CORPUS[kind.name]
    script = next(p for p in scripts.values() if f"\nis_{kind.name}() {{" in p.read_text())
    assert disagreements(valid, invalid, kind.check, script, f'is_{kind.name} "$v"') == []


def _field_accepts(s: Setting, value: str) -> bool:
    """The verdict of the config field that sets ``s`` (its pydantic validator)."""
    info = settings.config_field(s.key)
    annotation = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
    adapter: TypeAdapter[object] = TypeAdapter(annotation)
    try:
        adapter.validate_python(value)
    except ValidationError:
        return False
    return True


CONFIG_ROWS = [
    s for s in settings.SETTINGS if s.key and s.value_kind is not None and s.kind != "time_zone"
]
"""The settings that a config field sets and a value kind checks. (A time zone's verdict
also depends on which zones each side knows: tzdata in Python, the baked rules in bash.)"""


@pytest.mark.parametrize("setting", CONFIG_ROWS, ids=lambda s: s.name)
def test_config_field_and_verify_config_give_every_value_the_same_verdict(
    setting: Setting, scripts: dict[str, Path]
) -> None:
    """The kind's corpus through the config field's validator (what ``render`` takes) and
    through the rendered script's setting checks with the value in the environment (what
    the script takes at run time)."""
    kind = setting.value_kind
    assert kind is not None
    valid, invalid = CORPUS[kind.name]
    if setting.optional:
        valid, invalid = [*valid, ""], [v for v in invalid if v]
    if setting.when == "set":  # empty is "not set" (the config leaves it out), never checked
        invalid = [v for v in invalid if v]
    script = scripts["my" if setting.cap == "mysql" else "pg"]
    check = f"{setting.name}=$v; verify_settings"
    accepts = functools.partial(_field_accepts, setting)
    assert disagreements(valid, invalid, accepts, script, check) == []


def test_every_value_kind_setting_is_compared() -> None:
    """Each setting kind backed by a value kind has a config-set row in the comparison
    (time zones aside), so a new kind cannot slip past it."""
    compared = {s.kind for s in CONFIG_ROWS} | {"time_zone", "label_value"}
    assert compared == set(settings.VALUE_KINDS)


def test_the_config_fields_use_the_kinds() -> None:
    """The pydantic validators give a kind's verdict (a path field, names, quantities)."""
    for value in CORPUS["abs_path"][1][1:]:
        with pytest.raises(ValueError):
            fields._abs_path(value)
    for value in CORPUS["dns_label"][1]:
        assert names.dns1123_label(value) is not None
    for value in CORPUS["quantity"][0]:
        assert fields._quantity(value) == value


def test_a_default_passes_its_kind() -> None:
    """A row's string default is of its kind (the baked value must pass the script's own
    check)."""
    for s in settings.SETTINGS:
        kind = s.value_kind
        if kind is not None and isinstance(s.default, str) and (s.default or not s.optional):
            assert kind.check(s.default), s.name
