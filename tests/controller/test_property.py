"""Property test: random histories of daily (and some hourly) backups with failed,
never-ready, late (ready after the failed limit) and keep=true snapshots, per-namespace
keep counts, minReady, the deletion cap and the controller's clock (run hour, skipped
days, a clock off by up to the skew limit). After every simulated day the controller's
result must equal the independent model in tests/gfs_model.py, the safety rules must
hold, and no period loses its copy while a ready snapshot of it existed.

The model alone runs many histories of up to two years; the real script runs on kubesim
for a bounded number of histories (a seeded backlog, then a few days with one real run a
day), state seeded through kubesim's API."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backupns_gen.loader import parse_config
from backupns_gen.plan import plan
from backupns_gen.render import render
from kubesim.fixture import KubeSim
from tests import ctlsim
from tests.gfs_model import KINDS, Model, Snap

UTC = timezone.utc
STARTS = [  # year ends with ISO week 53 (2026) and without (2027), a leap day, mid-year
    datetime(2026, 12, 1, tzinfo=UTC),
    datetime(2027, 12, 10, tzinfo=UTC),
    datetime(2028, 2, 20, tzinfo=UTC),
    datetime(2026, 6, 1, tzinfo=UTC),
]


@dataclass(frozen=True)
class Params:
    start: datetime
    groups: tuple[tuple[str, str], ...]
    keep: dict[str, tuple[int, int, int]]
    min_ready: int
    max_deletions: int
    unready: float
    """The share of snapshots not ready at first (most get ready later)."""
    seed: int


@st.composite
def params(draw: Any) -> Params:
    start = draw(st.sampled_from(STARTS)) + timedelta(days=draw(st.integers(0, 40)))
    namespaces = draw(
        st.lists(st.sampled_from(["a", "b", "shop"]), min_size=1, max_size=3, unique=True)
    )
    groups: list[tuple[str, str]] = []
    keep: dict[str, tuple[int, int, int]] = {}
    for ns in namespaces:
        pvcs = draw(
            st.lists(st.sampled_from(["data", "logs"]), min_size=1, max_size=2, unique=True)
        )
        groups += [(ns, pvc) for pvc in sorted(pvcs)]
        keep[ns] = (draw(st.integers(0, 9)), draw(st.integers(0, 5)), draw(st.integers(0, 13)))
    return Params(
        start=start,
        groups=tuple(groups),
        keep=keep,
        min_ready=draw(st.integers(1, 3)),
        max_deletions=draw(st.sampled_from([2, 15, 100000])),
        unready=draw(st.sampled_from([0.04, 0.3])),
        seed=draw(st.integers(0, 2**32)),
    )


Late = dict[tuple[str, str], datetime]
"""(namespace, name) of a snapshot not ready yet -> when its driver finishes."""


def day_backups(
    p: Params, rng: random.Random, day: datetime, late: Late | None = None
) -> list[Snap]:
    """One day's backups: most PVCs once at 01:00, some also hourly, some fail. With
    ``late``, some never-ready ones (and some of those whose run labelled them failed)
    get ready 1 to 72 hours later."""
    snaps = []
    for ns, pvc in p.groups:
        if rng.random() < 0.08:
            continue  # missed
        hours = [1] + ([2, 3, 4][: rng.randint(1, 3)] if rng.random() < 0.15 else [])
        for hour in hours:
            when = day.replace(hour=hour, minute=rng.randint(0, 9))
            s = Snap(ns, pvc, f"{pvc}-{when:%Y%m%d-%H%M}", when)
            r = rng.random()
            if r < 0.04:
                s.ready, s.error = False, True
            elif (r := r - 0.04) < p.unready:
                s.ready = False  # not ready: failed after 24 h (and ready later, maybe)
            elif (r := r - p.unready) < 0.03:
                s.ready, s.failed_label = False, True
            elif r < 0.06:
                s.keep = True
            elif r < 0.07:
                s.ready, s.error, s.keep = False, True, True  # kept (forced) although failed
            if late is not None and not s.ready and not s.error and rng.random() < 0.6:
                late[(ns, s.name)] = when + timedelta(hours=rng.randint(1, 72))
            snaps.append(s)
    return snaps


def get_ready(model: Model, late: Late, until: datetime) -> list[Snap]:
    """The late snapshots whose driver finished by ``until`` become ready."""
    done = []
    for key, when in sorted(late.items(), key=lambda kv: kv[1]):
        if when > until:
            continue
        del late[key]
        if key in model.snaps:
            model.snaps[key].ready = True
            done.append(model.snaps[key])
    return done


def skewed(rng: random.Random, now: datetime) -> datetime:
    """The controller's clock: mostly right, sometimes hours or days fast (up to past the
    skew limit, when the run stops), sometimes hours slow."""
    r = rng.random()
    if r < 0.6:
        return now
    if r < 0.8:
        return now + timedelta(hours=rng.randint(1, 48))
    if r < 0.9:
        return now - timedelta(hours=rng.randint(1, 6))
    return now + timedelta(days=rng.randint(2, 31))


def run_time(rng: random.Random, day: datetime) -> datetime | None:
    if rng.random() < 0.1:
        return None  # the controller did not run that day
    return day.replace(hour=rng.randint(5, 23), minute=rng.randint(0, 59))


def model_of(p: Params) -> Model:
    return Model(keep=dict(p.keep), min_ready=p.min_ready, max_deletions=p.max_deletions)


# --- the safety rules, checked on every day ---------------------------------------------


def check_safety(before: dict[tuple[str, str], Snap], after: Model, now: datetime) -> None:
    groups: dict[str, list[Snap]] = {}
    for s in before.values():
        groups.setdefault(s.group, []).append(s)
    for g, members in groups.items():
        ready = sorted((s for s in members if after.countable(s, now)), key=Snap.order)
        if ready:  # rule 2: the newest ready one stays, and minReady
            assert (ready[-1].ns, ready[-1].name) in after.snaps, g
            left = [s for s in ready if (s.ns, s.name) in after.snaps]
            assert len(left) >= min(after.min_ready, len(ready)), g
    for key, s in before.items():  # rule 3: keep=true is never touched
        if s.keep:
            assert key in after.snaps and after.snaps[key].labels == s.labels


Held = dict[tuple[str, str], set[str]]
"""(group, kind) -> every period value a ready, unfailed snapshot of the group held."""


def note_held(model: Model, held: Held) -> None:
    for s in model.snaps.values():
        if model.holds(s):
            for kind in KINDS:
                if kind in s.labels:
                    held.setdefault((s.group, kind), set()).add(s.labels[kind])


def check_periods(model: Model, held: Held, keep: dict[str, tuple[int, int, int]]) -> None:
    """No period loses its copy while a ready snapshot of it existed: of the periods a
    ready, unfailed snapshot ever held, the newest N of each kind (N the keep count; the
    older ones retention retires on purpose) each still have a ready, unfailed holder."""
    for (g, kind), values in held.items():
        n = dict(zip(KINDS, keep[g.split("/")[0]], strict=True))[kind]
        for value in sorted(values, reverse=True)[:n]:
            assert any(
                s.group == g and s.labels.get(kind) == value and model.holds(s)
                for s in model.snaps.values()
            ), f"{g}: {kind} {value} lost its copy"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(params(), st.integers(60, 730))
def test_model_histories_keep_the_safety_rules(p: Params, days: int) -> None:
    rng = random.Random(p.seed)
    model = model_of(p)
    late: Late = {}
    held: Held = {}
    for d in range(days):
        day = p.start + timedelta(days=d)
        get_ready(model, late, day.replace(hour=1))
        for s in day_backups(p, rng, day, late):
            model.backup(s)
        now = run_time(rng, day)
        if now is None:
            continue
        get_ready(model, late, now)
        note_held(model, held)
        now = skewed(rng, now)
        before = {
            k: Snap(**{**s.__dict__, "labels": dict(s.labels)}) for k, s in model.snaps.items()
        }
        model.run(now)
        check_safety(before, model, now)
        check_periods(model, held, p.keep)
    # without a binding cap retention converges: per PVC the kept ones, minReady, the
    # marked-but-not-yet-swept ones of the last days and keep=true ones are left
    for ns, pvc in p.groups if p.max_deletions > 1000 else ():
        left = [s for s in model.snaps.values() if (s.ns, s.pvc) == (ns, pvc)]
        bound = sum(model.keep[ns]) + model.min_ready + 40  # marked, not yet swept, keep=true
        assert len(left) <= bound + sum(1 for s in left if s.keep)


# --- the real script on kubesim --------------------------------------------------------------


def controller_script(p: Params, dest: Path) -> Path:
    cfg = {
        "namespaces": {
            ns: {
                "pvcs": sorted(pvc for n, pvc in p.groups if n == ns),
                "retention": {"keep": dict(zip(KINDS, p.keep[ns], strict=True))},
            }
            for ns in sorted(p.keep)
        },
        "controller": {"minReady": p.min_ready, "maxDeletionsPerRun": p.max_deletions},
    }
    files = render(plan(parse_config(cfg, "backupns.yaml")))
    dest.write_text(files["controller/backup-ns-controller.sh"].text)
    return dest


def objects(s: Snap) -> list[dict[str, Any]]:
    labels = {f"backup-ns.sh/{k}": v for k, v in s.labels.items()}
    if s.keep:
        labels["backup-ns.sh/keep"] = "true"
    if s.failed_label:
        labels["backup-ns.sh/failed"] = "true"
    return ctlsim.snapshot(
        s.ns,
        s.name,
        s.created,
        pvc=s.pvc,
        labels=labels,
        ready=s.ready,
        error="the CSI driver failed" if s.error else None,
    )


def observed(sim: KubeSim) -> dict[tuple[str, str], dict[str, str]]:
    vs, _ = ctlsim.state(sim)
    out = {}
    for key, obj in vs.items():
        labels = obj["metadata"].get("labels") or {}
        if "backup-ns.sh/type" not in labels:
            continue
        out[key] = {
            k.removeprefix("backup-ns.sh/"): v
            for k, v in labels.items()
            if k.removeprefix("backup-ns.sh/") in (*KINDS, "delete-after", "delete-reason")
        }
    return out


@pytest.fixture
def sim(kubesim: KubeSim) -> Iterator[KubeSim]:
    kubesim.seed([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "backup-ns"}}])
    yield kubesim


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(params(), st.integers(0, 90), st.integers(2, 4))
def test_real_script_equals_the_model(
    sim: KubeSim, tmp_path_factory: Any, p: Params, backlog: int, days: int
) -> None:
    ctlsim.clear(sim)
    script = controller_script(p, tmp_path_factory.mktemp("ctl") / "backup-ns-controller.sh")
    ctl = ctlsim.Controller(sim, script=script)
    rng = random.Random(p.seed)
    model = model_of(p)
    late: Late = {}
    seed: list[dict[str, Any]] = []
    for d in range(backlog):  # backups made while no controller ran
        for s in day_backups(p, rng, p.start + timedelta(days=d), late):
            model.backup(s)
    get_ready(model, late, p.start + timedelta(days=backlog))
    for s in model.snaps.values():
        seed += objects(s)
    ctlsim.seed(sim, seed)
    for d in range(backlog, backlog + days):
        day = p.start + timedelta(days=d)
        make_ready(sim, get_ready(model, late, day.replace(hour=1)))
        ctlsim.seed(
            sim, [o for s in day_backups(p, rng, day, late) for o in objects(model.backup(s))]
        )
        now = day.replace(hour=6, minute=rng.randint(0, 59))
        make_ready(sim, get_ready(model, late, now))
        now = skewed(rng, now)
        before = {
            k: Snap(**{**s.__dict__, "labels": dict(s.labels)}) for k, s in model.snaps.items()
        }
        clock_ok = model.clock_ok(now)
        capped = model.run(now)
        run = ctl.run("run", now=now.strftime("%Y-%m-%dT%H:%M:%SZ"))
        want_status = 3 if not clock_ok else 1 if capped else 0
        assert run.status == want_status, f"{run.stdout}\n{run.stderr}"
        got = observed(sim)
        want = model.view()
        assert got == want, _diff(got, want)
        check_safety(before, model, now)


def make_ready(sim: KubeSim, snaps: list[Snap]) -> None:
    """The driver finished: status.readyToUse true (as the snapshot controller sets it)."""
    env = sim.env()
    for s in snaps:
        patch = ("--subresource=status", "--type=merge", "-p", '{"status":{"readyToUse":true}}')
        vs = "volumesnapshots.v1.snapshot.storage.k8s.io"
        sim.kubectl("-n", s.ns, "patch", vs, s.name, *patch, env=env, check=True)


def _diff(got: dict[Any, Any], want: dict[Any, Any]) -> str:
    lines = []
    for key in sorted(set(got) | set(want)):
        if got.get(key) != want.get(key):
            lines.append(f"{key}: script {got.get(key)} model {want.get(key)}")
    return "\n".join(lines[:30])
