"""Which namespaces a drill run picks and which snapshot each drills: the drill awk
program (after the shared library, as the script runs it) on hand-made K and V lines."""

from __future__ import annotations

import subprocess

from tests.genhelpers import TEMPLATES

AWK = TEMPLATES / "controller" / "awk"
NOW = 1_800_000_000
DAY = 86400
LABELS = "backup-ns.sh/pvc=data,backup-ns.sh/type=cronjob,"


def stamp(epoch: int) -> str:
    return subprocess.run(
        ["date", "-u", "-d", f"@{epoch}", "+%Y-%m-%dT%H:%M:%SZ"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip


def vs(ns: str, name: str, age_days: float, ready: bool = True, drilled: float | None = None,
       ok: bool = True, dump: bool = False, labels: str = LABELS) -> str:  # fmt: skip
    notes = ""
    if dump:
        notes += 'backup-ns.sh/dump-sha256="abc"\x1f'
    if drilled is not None:
        notes += f'backup-ns.sh/verified-at="{stamp(NOW - int(drilled * DAY))}"\x1f'
        notes += f'backup-ns.sh/verified-ok="{"true" if ok else "false"}"\x1f'
    created = stamp(NOW - int(age_days * DAY))
    fields = ["V", ns, name, "uid-" + name, created, "", "true" if ready else "", "", "c", "1Gi",
              "", labels, notes, "$"]  # fmt: skip
    return "\t".join(fields)


def pick(*lines: str, configured: tuple[str, ...], limit: int = 10, only: str = "") -> list[str]:
    text = "".join(f"K\t{ns}\tdata\t7\t4\t12\tdaily_weekly_monthly\t999999\n" for ns in configured)
    text += "".join(line + "\n" for line in lines)
    cp = subprocess.run(
        ["awk", "-v", f"now={NOW}", "-v", f"interval={7 * DAY}", "-v", f"max={limit}",
         "-v", f"only={only}", "-v", f"failed_after={DAY}",
         "-f", str(AWK / "lib.awk"), "-f", str(AWK / "drill.awk")],
        input=text, capture_output=True, text=True, check=True, env={"LC_ALL": "C"},
    )  # fmt: skip
    return [line.split("\t")[0] + " " + line.split("\t")[1] for line in cp.stdout.splitlines()]


def test_never_drilled_first_then_oldest_and_the_limit() -> None:
    got = pick(
        vs("a", "a-1", 1, drilled=10), vs("b", "b-1", 1), vs("c", "c-1", 1, drilled=8),
        vs("d", "d-1", 1, drilled=2), configured=("a", "b", "c", "d"), limit=2,
    )  # fmt: skip
    assert got == ["b b-1", "a a-1"]


def test_a_failed_drill_is_due_again_a_recent_passing_one_is_not() -> None:
    got = pick(vs("a", "a-1", 1, drilled=1, ok=False), vs("d", "d-1", 1, drilled=1),
               configured=("a", "d"))  # fmt: skip
    assert got == ["a a-1"]


def test_newest_ready_snapshot_holding_a_dump_first() -> None:
    got = pick(
        vs("a", "a-old-dump", 3, dump=True), vs("a", "a-new-dump", 2, dump=True),
        vs("a", "a-newest-no-dump", 1), vs("a", "a-not-ready", 0.5, ready=False, dump=True),
        configured=("a",),
    )  # fmt: skip
    assert got == ["a a-new-dump"]


def test_unconfigured_unmanaged_and_unready_only_are_not_drilled() -> None:
    got = pick(
        vs("x", "x-1", 1), vs("a", "a-clone", 1, labels=""), vs("b", "b-1", 1, ready=False),
        configured=("a", "b"),
    )  # fmt: skip
    assert got == []


def test_only_drills_that_namespace_due_or_not() -> None:
    got = pick(vs("a", "a-1", 1, drilled=1), vs("b", "b-1", 1), configured=("a", "b"), only="a")
    assert got == ["a a-1"]
