"""What the hot paths cost the API server, counted in kubesim's request log with a cold
kubectl cache (a fresh HOME and KUBECACHEDIR, as every Job pod has): a database-less
``create``, an idle controller ``run`` and a ``run`` with one retention change. The
counts are deterministic; the time they take is measured in bench/cost.py."""

from __future__ import annotations

import re
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from kubesim.fixture import KubeSim
from tests import ctlsim

OUT = Path(__file__).resolve().parents[2] / "out"
NS = "static-site"  # the example's database-less namespace, PVC www
START = datetime(2026, 11, 1, 1, 0, tzinfo=timezone.utc)
DISCOVERY = re.compile(r"/api|/apis|/version|/openapi/.*|/api/v1|/apis/[^/]+/[^/]+")
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def request_key(r: dict[str, Any]) -> str:
    """'VERB RESOURCE' as the audit log names a request, 'discovery' for the rest."""
    path, query = r["path"], r["query"]
    if DISCOVERY.fullmatch(path):
        return "discovery"
    parts = path.strip("/").split("/")
    rest = parts[2:] if parts[0] == "api" else parts[3:]
    if rest[0] == "namespaces" and len(rest) > 2:
        rest = rest[2:]
    named = len(rest) > 1
    verb = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(
        r["method"]
    )
    if verb is None:
        verb = "watch" if "watch=true" in query else ("get" if named else "list")
    return f"{verb} {rest[0]}"


def counted(sim: KubeSim) -> Counter[str]:
    """The requests by key; not this machine's kubectl dispatcher's own GET /version
    (it picks its kubectl build by the server's version; a Job pod's kubectl has no
    dispatcher)."""
    return Counter(
        request_key(r) for r in sim.requests() if r["path"].startswith(("/api", "/openapi"))
    )


@pytest.fixture
def sim(kubesim: KubeSim) -> Iterator[KubeSim]:
    ctlsim.clear(kubesim)
    kubesim.seed(
        [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "backup-ns"}},
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}},
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": "www", "namespace": NS},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "1Gi"}},
                },
            },
        ]
    )
    kubesim.reset_requests()
    yield kubesim


def test_a_database_less_create_makes_five_requests_and_no_discovery(sim: KubeSim) -> None:
    env = {
        **sim.env(),  # a cold cache
        "BAK_NOW": "2026-11-20T03:00:00Z",
        "BAK_VS_RAND": "count1",
        "BAK_LABEL_VS_RETAIN": "daily_weekly_monthly",  # with the period list
        "BAK_LOCK": "none",
        "NO_COLOR": "1",
    }
    run = subprocess.run(
        ["bash", str(OUT / "namespaces" / NS / "backup-ns.sh"), "create"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert run.returncode == 0, run.stderr
    for _ in range(100):  # the stopped watch is logged once its connection is closed
        if counted(sim)["watch volumesnapshots"]:
            break
        time.sleep(0.1)
    assert counted(sim) == Counter(
        {
            "get persistentvolumeclaims": 1,
            "list volumesnapshots": 1,  # the periods already taken
            "create volumesnapshots": 1,  # labels and annotations set at creation
            "watch volumesnapshots": 1,  # its first events are the current state
            "create events": 1,
        }
    )


def test_an_idle_run_reads_four_times_and_writes_nothing(sim: KubeSim) -> None:
    ctlsim.seed(sim, ctlsim.history(NS, START, 5, pvc="www"))
    ctl = ctlsim.Controller(sim)
    ctlsim.ok(ctl.run("run", now="2026-11-05T06:00:00Z"))  # syncs the contents
    sim.reset_requests()
    ctl = ctlsim.Controller(sim)  # a cold cache again
    idle = ctlsim.ok(ctl.run("run", now="2026-11-05T06:00:00Z"))
    assert idle.lines[-1] == "[backup-ns-controller] run: 0 change(s) made"
    assert counted(sim) == Counter(
        {
            "get leases": 1,
            "list volumesnapshots": 1,
            "list volumesnapshotcontents": 1,
            "list persistentvolumeclaims": 1,
        }
    )


def test_a_retention_change_costs_its_two_writes_beyond_the_lease(sim: KubeSim) -> None:
    # static-site keeps snapshots by days in the example; these carry period labels,
    # and the controller's default keeps 7 dailies: the 8th day unlabels the first
    ctlsim.seed(sim, ctlsim.history(NS, START, 7, pvc="www"))
    ctl = ctlsim.Controller(sim)
    ctlsim.ok(ctl.run("run", now="2026-11-08T06:00:00Z"))
    day = START + timedelta(days=7)
    ctlsim.seed(
        sim,
        ctlsim.snapshot(NS, f"www-{day:%Y-%m-%d-%H%M%S}", day, pvc="www",
                        labels={"backup-ns.sh/daily": f"{day:%Y-%m-%d}"}),
    )
    plan = ctlsim.ok(ctlsim.Controller(sim).run("plan", now="2026-11-08T06:00:00Z"))
    sim.reset_requests()
    run = ctlsim.ok(ctlsim.Controller(sim).run("run", now="2026-11-08T06:00:00Z"))
    changes = [c.split(" ", 1)[0] for c in plan.changes()]
    assert Counter(changes) == Counter({"unlabel": 1, "sync": 2}), plan.changes()
    assert run.lines[-1] == "[backup-ns-controller] run: 3 change(s) made"
    got = counted(sim)
    assert got == Counter(
        {
            "get leases": 1,
            "list volumesnapshots": 1,
            "list volumesnapshotcontents": 1,
            "list persistentvolumeclaims": 1,
            "update leases": 2,  # taken for the plan, released
            "discovery": got["discovery"],  # kubectl patch maps kinds: once a run
            "patch volumesnapshots": 1,  # the unlabel
            "patch volumesnapshotcontents": 2,  # its content's and the new one's sync
        }
    )
    assert got["discovery"] <= 2
