"""The retention controller (out/controller/backup-ns-controller.sh) against the real
control plane tier: the real kube-apiserver (RBAC, audit log), the real
snapshot-controller and csi-snapshotter around our CSI driver.

The rendered out/cluster/controller.yaml is applied as is, and every controller
run authenticates with a token of ITS ServiceAccount (backup-ns/backup-ns-controller),
so the ClusterRole/Role are proven sufficient on the real RBAC authorizer; the audit
log shows each request it made and that all were allowed.

- `run` (retain, mark, sweep): a period label beyond the keep count is removed, the
  snapshot marked, and on the next day swept: its content's deletionPolicy patched to
  Delete, the VolumeSnapshot deleted; the real snapshot controller then deletes the
  content and the driver's snapshot is gone. A failed snapshot (status.error from the
  real controller) is marked and swept too; keep=true is untouched. `plan` before the
  sweep makes no write request at all (audit log).
- `sync`: labels and annotations copied to the bound content by server-side apply,
  stale ones removed, labels applied earlier survive a later sync of other keys (real
  managedFields semantics), and an unchanged content gets no request.
- orphans: a deleted namespace leaves its Retain contents; the controller labels them
  orphaned-since on first sight and, orphanRetentionDays later (CTL_ORPHAN_RETENTION_DAYS
  and the CTL_NOW clock override), deletes them itself (the snapshot controller never
  deletes a content whose snapshot is gone): never the newest content of the
  (namespace, PVC), never keep=true.

Keep counts and the orphan grace period come from the CTL_* environment (the example
config's table does not list these random namespaces, so the defaults apply).
"""

# ruff: noqa: E501  (the tests assert whole output lines, which are long)
from __future__ import annotations

import json
import re
import secrets
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.ctlsim import periods
from tests.realk8s.fixture import RealCluster
from tests.realk8s.render import render
from tests.realk8s.servers import (
    SERVERS,
    Cluster,
    bound,
    create_as,
    pvc,
    remove_contents,
    sa_env,
)
from tests.realk8s.test_create import _config as create_config
from tests.realk8s.test_create import _use_retain_default as use_retain_default

OUT = Path(__file__).resolve().parents[2] / "out"
SCRIPT = OUT / "controller" / "backup-ns-controller.sh"
CTL_NS = "backup-ns"
CTL_SA = "backup-ns-controller"
CTL_USER = f"system:serviceaccount:{CTL_NS}:{CTL_SA}"
VS_API = "/apis/snapshot.storage.k8s.io/v1"
PRE = "[backup-ns-controller] "
READS = {"get", "list", "watch"}
# Settings for these tests (each overrides the baked value).
SETTINGS = {
    "CTL_KEEP_DAILY": "2",
    "CTL_KEEP_WEEKLY": "1",
    "CTL_KEEP_MONTHLY": "1",
    "CTL_ORPHAN_RETENTION_DAYS": "2",
}


def day(offset: int = 0) -> datetime:
    return datetime.now(timezone.utc) + timedelta(days=offset)


def managed(pvc: str = "data", **extra: str) -> dict[str, str]:
    """The labels the namespace script puts on a snapshot it makes."""
    return {
        "backup-ns.sh/pvc": pvc,
        "backup-ns.sh/type": "cronjob",
        "backup-ns.sh/retain": "daily_weekly_monthly",
        **extra,
    }


@dataclass
class Run:
    status: int
    stdout: str
    stderr: str
    calls: list[dict[str, Any]]

    def lines(self) -> list[str]:
        return [ln.removeprefix(PRE) for ln in self.stdout.splitlines()]

    def writes(self) -> list[tuple[str, str, str, str]]:
        return [
            (c["verb"], c["resource"], c["namespace"], c["name"])
            for c in self.calls
            if c["verb"] not in READS
        ]


class Ctl:
    """Runs the rendered controller script with the real kubectl as its ServiceAccount,
    and tells which requests it made: the audit log of the real server, kubesim's
    request log."""

    def __init__(self, cluster: Cluster, tmp: Path) -> None:
        self.cluster = cluster
        self.real = isinstance(cluster, RealCluster)
        self.tenants: list[str] = []  # namespaces the tests made (their contents outlive them)
        kc = cluster.sa_kubeconfig(CTL_NS, CTL_SA, tmp / "controller.kubeconfig")
        self.env = cluster.env(tmp, kubeconfig=kc)  # one fresh cache per server

    def _offset(self) -> int:
        if isinstance(self.cluster, RealCluster):
            return self.cluster.audit_offset()
        return len(self.cluster.requests())

    def _calls(self, offset: int) -> list[dict[str, Any]]:
        if isinstance(self.cluster, RealCluster):
            return audit_calls(self.cluster, offset)
        return [kubesim_call(r) for r in self.cluster.requests()[offset:] if r["user"] == CTL_USER]

    def run(self, *args: str, now: datetime, **settings: str) -> Run:
        env = {**self.env, "NO_COLOR": "1", "CTL_NOW": now.strftime("%Y-%m-%dT%H:%M:%SZ")}
        env.update(SETTINGS)
        env.update(settings)
        offset = self._offset()
        cp = subprocess.run(
            ["bash", str(SCRIPT), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        return Run(cp.returncode, cp.stdout, cp.stderr, self._calls(offset))


VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


def kubesim_call(r: dict[str, Any]) -> dict[str, Any]:
    """A kubesim request-log line in the audit log's terms (verb, resource, name...)."""
    parts = r["path"].strip("/").split("/")
    rest = parts[2:] if parts[0] == "api" else parts[3:] if parts[0] == "apis" else []
    ns = ""
    if len(rest) >= 3 and rest[0] == "namespaces":
        ns, rest = rest[1], rest[2:]
    resource = rest[0] if rest else "nonResourceURL"
    name = rest[1] if len(rest) > 1 else ""
    if r["method"] == "GET":
        verb = "get" if name else "watch" if "watch=" in r["query"] else "list"
    else:
        verb = VERBS.get(r["method"], r["method"].lower())
    return {
        "verb": verb,
        "resource": resource,
        "subresource": rest[2] if len(rest) > 2 else "",
        "namespace": ns,
        "name": name,
        "code": r["status"],
        "decision": "forbid" if r["status"] == 403 else "allow",
        "uri": r["path"] + ("?" + r["query"] if r["query"] else ""),
    }


def audit_calls(cluster: RealCluster, offset: int) -> list[dict[str, Any]]:
    """The controller ServiceAccount's requests after byte `offset` of the audit log."""
    calls = []
    for e in cluster.audit_events(offset):
        if e["user"]["username"] != CTL_USER:
            continue
        ref = e.get("objectRef") or {}
        calls.append(
            {
                "verb": e["verb"],
                "resource": ref.get("resource", "nonResourceURL"),
                "subresource": ref.get("subresource", ""),
                "namespace": ref.get("namespace", ""),
                "name": ref.get("name", ""),
                "code": e.get("responseStatus", {}).get("code"),
                "decision": e.get("annotations", {}).get("authorization.k8s.io/decision"),
                "uri": e["requestURI"],
            }
        )
    return calls


def reads_of(run: Run) -> list[tuple[str, str]]:
    """The run's reads of objects (not the Lease, not discovery, not kubectl's look at
    the Lease's namespace after a 404), sorted."""
    return sorted(
        (c["verb"], c["resource"])
        for c in run.calls
        if c["verb"] in READS and c["resource"] not in ("nonResourceURL", "leases", "namespaces")
    )


def ok(run: Run) -> Run:
    assert run.status == 0, run.stdout + run.stderr
    assert run.stderr == "", run.stderr
    # least privilege that really runs: every request was allowed by the real RBAC,
    # except kubectl's own follow-up GET of the Lease's namespace after a 404
    denied = [
        c
        for c in run.calls
        if c["decision"] != "allow"
        and not (c["verb"] == "get" and c["resource"] == "namespaces" and c["name"] == CTL_NS)
    ]
    assert not denied, denied
    return run


# -- the cluster: the controller's manifests and real snapshots -------------------------------
@pytest.fixture(scope="module")
def ctls() -> Iterator[dict[int, Ctl]]:
    got: dict[int, Ctl] = {}
    yield got
    for ctl in got.values():
        if isinstance(ctl.cluster, RealCluster):  # kubesim: gone with its module
            # A test that made its own tenant namespace may leave it: delete them all, or
            # remove_contents waits its whole timeout for a namespace nobody deletes.
            ctl.cluster.kubectl(
                "delete", "namespace", *ctl.tenants, "--ignore-not-found", "--wait=false"
            )
            remove_contents(ctl.cluster, ctl.tenants)


@pytest.fixture(params=SERVERS)
def ctl(
    request: pytest.FixtureRequest, ctls: dict[int, Ctl], tmp_path_factory: pytest.TempPathFactory
) -> Ctl:
    """The controller's manifests applied (once per server) and a runner for it."""
    cluster: Cluster = request.getfixturevalue(request.param)
    if id(cluster) not in ctls:
        use_retain_default(cluster)  # kubesim's built-in default class is Delete
        cp = cluster.kubectl("apply", "-f", str(OUT / "cluster" / "controller.yaml"))
        assert cp.returncode == 0, cp.stdout + cp.stderr
        cluster.wait_for(
            lambda: cluster.api(f"/api/v1/namespaces/{CTL_NS}/serviceaccounts/{CTL_SA}"),
            timeout=60,
        )
        ctls[id(cluster)] = Ctl(cluster, tmp_path_factory.mktemp("ctl"))
    return ctls[id(cluster)]


@pytest.fixture
def tenant(ctl: Ctl) -> Iterator[str]:
    """A namespace with a bound PVC "data" (deleted, without waiting, afterwards)."""
    ns = "ctl-" + secrets.token_hex(3)
    ctl.tenants.append(ns)
    ctl.cluster.kubectl("create", "namespace", ns, check=True)
    add_pvc(ctl.cluster, ns, "data")
    yield ns
    ctl.cluster.kubectl("delete", "namespace", ns, "--wait=false", "--ignore-not-found")


def add_pvc(cluster: Cluster, ns: str, name: str) -> None:
    cluster.apply(pvc(ns, name))
    cluster.wait_for(lambda: bound(cluster, ns, name), timeout=60)


def vs_get(cluster: Cluster, ns: str, name: str) -> Any:
    return cluster.api(f"{VS_API}/namespaces/{ns}/volumesnapshots/{name}")


def content_get(cluster: Cluster, name: str) -> Any:
    return cluster.api(f"{VS_API}/volumesnapshotcontents/{name}")


def make_snapshot(
    cluster: Cluster,
    ns: str,
    name: str,
    labels: dict[str, str],
    *,
    pvc: str = "data",
    annotations: dict[str, str] | None = None,
    failed: bool = False,
) -> dict[str, Any]:
    """A real VolumeSnapshot with the namespace script's labels, once ready (or, with
    failed=True, once the real snapshot controller has set status.error on it)."""
    meta: dict[str, Any] = {"name": name, "namespace": ns, "labels": labels}
    if annotations:
        meta["annotations"] = annotations
    cluster.apply(
        json.dumps(
            {
                "apiVersion": "snapshot.storage.k8s.io/v1",
                "kind": "VolumeSnapshot",
                "metadata": meta,
                "spec": {"source": {"persistentVolumeClaimName": pvc}},
            }
        )
    )

    def settled() -> Any:
        vs = vs_get(cluster, ns, name)
        st = (vs or {}).get("status") or {}
        if failed:
            return vs if st.get("error") else None
        if not st.get("readyToUse"):
            return None
        c = content_get(cluster, st["boundVolumeSnapshotContentName"])
        return vs if (c or {}).get("status", {}).get("readyToUse") else None

    got: dict[str, Any] = cluster.wait_for(settled, timeout=60)
    return got


def labels_of(obj: dict[str, Any]) -> dict[str, str]:
    return {
        k: v for k, v in obj["metadata"].get("labels", {}).items() if k.startswith("backup-ns.sh/")
    }


def handle_of(cluster: Cluster, content: str) -> str:
    return str(content_get(cluster, content)["status"]["snapshotHandle"])


def driver_has(cluster: Cluster, handle: str) -> bool:
    """The CSI driver still holds the snapshot (the real tier only)."""
    assert isinstance(cluster, RealCluster)
    return (cluster.csi_state / "snapshots" / handle).exists()


def content_of(vs: dict[str, Any]) -> str:
    return str(vs["status"]["boundVolumeSnapshotContentName"])


# -- retain, mark, sweep (and plan) -------------------------------------------------------------
def test_run_retains_marks_and_sweeps_through_the_real_snapshot_controller(
    ctl: Ctl, tenant: str
) -> None:
    cluster, ns = ctl.cluster, tenant
    d = [day(k) for k in (-4, -3, -2, -1, 0)]
    keep = make_snapshot(
        cluster, ns, "s0-keep", managed(**periods(d[0]), **{"backup-ns.sh/keep": "true"})
    )
    s1 = make_snapshot(cluster, ns, "s1", managed(**periods(d[1])))
    s2 = make_snapshot(
        cluster, ns, "s2", managed(**{"backup-ns.sh/daily": periods(d[2])["backup-ns.sh/daily"]})
    )
    make_snapshot(
        cluster, ns, "s3", managed(**{"backup-ns.sh/daily": periods(d[3])["backup-ns.sh/daily"]})
    )
    make_snapshot(
        cluster, ns, "s4", managed(**{"backup-ns.sh/daily": periods(d[4])["backup-ns.sh/daily"]})
    )
    # a snapshot of a PVC that does not exist: the real controller sets status.error only
    failed = make_snapshot(cluster, ns, "f1", managed("gone"), pvc="gone", failed=True)
    assert "boundVolumeSnapshotContentName" not in failed["status"], failed["status"]

    today = d[4].strftime("%Y-%m-%d")
    first = ok(ctl.run("run", now=d[4]))
    lines = first.lines()
    # the whole state in one list call per kind; no per-object reads; writes by name
    assert reads_of(first) == [
        ("list", "persistentvolumeclaims"),
        ("list", "volumesnapshotcontents"),
        ("list", "volumesnapshots"),
    ], first.calls
    # keep 2 daily: s4 and s3 (the keep=true one does not count); s1 keeps its
    # weekly and monthly labels, so only s2 is expired
    assert f"unlabel daily {ns}/s2 : 3rd newest ready daily of {ns}/data, keep 2" in lines
    assert f"unlabel daily {ns}/s1 : 4th newest ready daily of {ns}/data, keep 2" in lines
    assert (
        f"mark {ns}/s2 : delete-after={today} (expired), its last period label was removed "
        f"(daily {periods(d[2])['backup-ns.sh/daily']})"
    ) in lines
    assert any(
        ln.startswith(f"mark {ns}/f1 : delete-after={today} (failed), failed: snapshot error: ")
        for ln in lines
    ), lines
    assert not [ln for ln in lines if ln.startswith("delete ")], lines

    assert labels_of(vs_get(cluster, ns, "s1")) == managed(
        **{k: v for k, v in periods(d[1]).items() if not k.endswith("/daily")}
    )
    assert labels_of(vs_get(cluster, ns, "s2")) == managed(
        **{"backup-ns.sh/delete-after": today, "backup-ns.sh/delete-reason": "expired"}
    )
    assert labels_of(vs_get(cluster, ns, "s0-keep")) == labels_of(keep)
    assert labels_of(vs_get(cluster, ns, "f1"))["backup-ns.sh/delete-reason"] == "failed"

    # plan on the next day: the sweep is shown, and not one write request is made
    tomorrow = day(1)
    plan = ok(ctl.run("plan", now=tomorrow))
    c2 = content_of(s2)
    assert (
        f"delete {ns}/s2 : delete-after {today} is before today {tomorrow:%Y-%m-%d}; "
        f"content {c2} deletionPolicy Retain -> Delete first"
    ) in plan.lines(), plan.stdout
    assert plan.calls and plan.writes() == [], plan.writes()
    assert len(reads_of(plan)) == 3, plan.calls
    dry = ok(ctl.run("run", "--dry-run", now=tomorrow))
    assert dry.calls and dry.writes() == [], dry.writes()
    assert vs_get(cluster, ns, "s2") is not None

    # the sweep: content to Delete, then the snapshot; the real controller does the rest
    handle2 = handle_of(cluster, c2)
    assert not ctl.real or driver_has(cluster, handle2)
    second = ok(ctl.run("run", now=tomorrow))
    assert sorted(w for w in second.writes() if w[1] == "volumesnapshots") == [
        ("delete", "volumesnapshots", ns, "f1"),
        ("delete", "volumesnapshots", ns, "s2"),
    ], second.writes()
    assert ("patch", "volumesnapshotcontents", "", c2) in second.writes()
    cluster.wait_for(
        lambda: vs_get(cluster, ns, "s2") is None and vs_get(cluster, ns, "f1") is None, timeout=60
    )
    cluster.wait_for(lambda: content_get(cluster, c2) is None, timeout=60)
    if ctl.real:  # the CSI driver's snapshot is gone
        cluster.wait_for(lambda: not driver_has(cluster, handle2), timeout=30)
    # everything else is still there, with its data
    for name, vs in (("s0-keep", keep), ("s1", s1)):
        assert vs_get(cluster, ns, name) is not None
        assert not ctl.real or driver_has(cluster, handle_of(cluster, content_of(vs)))
    assert sorted(
        o["metadata"]["name"]
        for o in cluster.api(f"{VS_API}/namespaces/{ns}/volumesnapshots")["items"]
    ) == ["s0-keep", "s1", "s3", "s4"]


# -- sync ------------------------------------------------------------------------------------
ENV_CONFIG = "BAK_NAMESPACE=x\nBAK_NOTE='two \"words\"'\n"


def content_meta(cluster: Cluster, name: str) -> tuple[dict[str, str], dict[str, str], str]:
    meta = content_get(cluster, name)["metadata"]
    return meta.get("labels", {}), meta.get("annotations", {}), meta["resourceVersion"]


def script_snapshot(cluster: Cluster, ns: str, tmp: Path) -> str:
    """`backup-ns.sh create` of the rendered namespace script, as its ServiceAccount (the
    helpers of tests/realk8s/test_create.py): the labels and annotations it really writes."""
    out = render(tmp / "backupns.yaml", tmp / "out", text=create_config(ns))
    cluster.kubectl(
        "apply",
        "-f",
        str(out / "cluster" / "namespace-role.yaml"),
        "-f",
        str(out / "namespaces" / ns / "manifests.yaml"),
        check=True,
    )
    cluster.wait_for(
        lambda: cluster.api(f"/api/v1/namespaces/{ns}/serviceaccounts/backup-ns"), timeout=60
    )
    stdout = create_as(sa_env(cluster, ns, tmp), out, ns, BAK_VS_RAND="ctl001")
    m = re.search(r"result: VolumeSnapshot (\S+) of PVC data: readyToUse=true", stdout)
    assert m, stdout
    return m.group(1)


def test_sync_applies_labels_server_side_and_touches_only_what_differs(
    ctl: Ctl, tenant: str, tmp_path: Path
) -> None:
    cluster, ns = ctl.cluster, tenant
    now = day(0)
    made = script_snapshot(cluster, ns, tmp_path)
    real = vs_get(cluster, ns, made)
    assert labels_of(real)["backup-ns.sh/pvc"] == "data", real["metadata"]
    la = managed(**periods(now))
    a = make_snapshot(
        cluster, ns, "a", la, annotations={"backup-ns.sh/env-config": ENV_CONFIG, "other": "x"}
    )
    lb = managed(**{"backup-ns.sh/daily": periods(now)["backup-ns.sh/daily"]})
    b = make_snapshot(cluster, ns, "b", lb)
    ca, cb = content_of(a), content_of(b)
    # the real snapshot controller copies no label to the content
    assert labels_of(content_get(cluster, ca)) == {}

    first = ok(ctl.run("sync", now=now))
    assert sorted(w for w in first.writes() if w[3] in (ca, cb)) == sorted(
        [("patch", "volumesnapshotcontents", "", ca), ("patch", "volumesnapshotcontents", "", cb)]
    )
    labels, annotations, _ = content_meta(cluster, ca)
    assert labels == la
    assert {k: v for k, v in annotations.items() if k.startswith("backup-ns.sh/")} == {
        "backup-ns.sh/env-config": ENV_CONFIG
    }
    assert "other" not in annotations
    assert content_meta(cluster, cb)[0] == lb
    # what the namespace script wrote, labels and annotations, is on its content
    labels, annotations, _ = content_meta(cluster, content_of(real))
    assert labels == labels_of(real)
    assert {k: v for k, v in annotations.items() if k.startswith("backup-ns.sh/")} == {
        k: v for k, v in real["metadata"]["annotations"].items() if k.startswith("backup-ns.sh/")
    }
    assert "BAK_NAMESPACE=" in annotations["backup-ns.sh/env-config"]

    # a changes (keep added, monthly removed); its content gains a stale label of ours
    # and one of someone else's; b does not change
    cluster.kubectl(
        "label",
        "volumesnapshot",
        "a",
        "-n",
        ns,
        "backup-ns.sh/keep=true",
        "backup-ns.sh/monthly-",
        check=True,
    )
    cluster.kubectl(
        "label", "volumesnapshotcontent", ca, "backup-ns.sh/stale=x", "unrelated=y", check=True
    )
    rv_b = content_meta(cluster, cb)[2]
    second = ok(ctl.run("sync", now=now))
    mine = [ln for ln in second.lines() if ln.startswith("sync ") and f" from {ns}/" in ln]
    assert mine == [
        f"sync vsc/{ca} : from {ns}/a: +backup-ns.sh/keep=true -backup-ns.sh/monthly -backup-ns.sh/stale"
    ], second.stdout
    want = {k: v for k, v in la.items() if k != "backup-ns.sh/monthly"}
    want["backup-ns.sh/keep"] = "true"
    labels, annotations, _ = content_meta(cluster, ca)
    assert {k: v for k, v in labels.items() if k.startswith("backup-ns.sh/")} == want
    assert labels["unrelated"] == "y"
    assert annotations["backup-ns.sh/env-config"] == ENV_CONFIG
    assert not [w for w in second.writes() if w[3] == cb]
    assert content_meta(cluster, cb)[2] == rv_b

    # in sync: no request for either content, nothing changes
    rv_a = content_meta(cluster, ca)[2]
    third = ok(ctl.run("sync", now=now))
    assert not [w for w in third.writes() if w[3] in (ca, cb)], third.writes()
    assert (content_meta(cluster, ca)[2], content_meta(cluster, cb)[2]) == (rv_a, rv_b)


# -- orphans ----------------------------------------------------------------------------------
def test_orphans_of_a_deleted_namespace_expire_but_never_the_newest_or_keep(
    ctl: Ctl, tenant: str
) -> None:
    cluster, ns = ctl.cluster, tenant
    now = day(0)
    daily = {"backup-ns.sh/daily": periods(now)["backup-ns.sh/daily"]}
    made = [
        make_snapshot(cluster, ns, "o1", managed(**daily, **{"backup-ns.sh/keep": "true"})),
        make_snapshot(cluster, ns, "o2", managed(**daily)),
        make_snapshot(cluster, ns, "o3", managed(**daily)),
    ]
    c1, c2, c3 = (content_of(vs) for vs in made)
    handles = {c: handle_of(cluster, c) for c in (c1, c2, c3)}
    try:
        ok(ctl.run("sync", now=now))  # the contents describe themselves
        cluster.kubectl("delete", "namespace", ns, "--wait=true", check=True, timeout=300)
        for c in (c1, c2, c3):  # Retain: the real snapshot controller keeps every content
            got = content_get(cluster, c)
            assert got["spec"]["deletionPolicy"] == "Retain" and got["status"]["readyToUse"]
            assert labels_of(got)["backup-ns.sh/pvc"] == "data"

        first = ok(ctl.run("run", now=now))
        today = now.strftime("%Y-%m-%d")
        for c, vs in ((c1, "o1"), (c2, "o2"), (c3, "o3")):
            assert (
                f"orphan vsc/{c} : snapshot {ns}/{vs} is gone, first seen today "
                f"(labelled orphaned-since={today})"
            ) in first.lines(), first.stdout
            assert labels_of(content_get(cluster, c))["backup-ns.sh/orphaned-since"] == today
        assert not [w for w in first.writes() if w[0] == "delete"], first.writes()

        # two days later: the expired one is deleted by the controller itself
        last = ok(ctl.run("run", now=day(2)))
        lines = last.lines()
        assert (
            f"delete vsc/{c2} : snapshot {ns}/o2 is gone, orphaned since {today} (2 days, keep 2); "
            "deletionPolicy Retain -> Delete first"
        ) in lines, last.stdout
        assert f"keep vsc/{c1} : labelled backup-ns.sh/keep=true (not deleted)" in lines
        assert f"keep vsc/{c3} : newest content of {ns}/data (not deleted)" in lines
        assert [w for w in last.writes() if w[3] in (c1, c2, c3)] == [
            ("patch", "volumesnapshotcontents", "", c2),
            ("delete", "volumesnapshotcontents", "", c2),
        ], last.writes()
        cluster.wait_for(lambda: content_get(cluster, c2) is None, timeout=60)
        if ctl.real:
            cluster.wait_for(lambda: not driver_has(cluster, handles[c2]), timeout=30)
        for c in (c1, c3):
            assert content_get(cluster, c) is not None
            assert not ctl.real or driver_has(cluster, handles[c])
    finally:  # Retain: only the objects go, so later tests see no orphans of ours
        cluster.kubectl(
            "delete", "volumesnapshotcontent", c1, c2, c3, "--ignore-not-found", "--wait=false"
        )


# -- least privilege: what the controller's token may do (real RBAC, and kubesim alike) -------
VS_RES = "volumesnapshots.snapshot.storage.k8s.io"
VSC_RES = "volumesnapshotcontents.snapshot.storage.k8s.io"
# (verb, resource, subresource, namespace or "" for all namespaces / cluster scope)
CTL_MAY = [
    ("list", VS_RES, "", ""),
    ("patch", VS_RES, "", ""),
    ("delete", VS_RES, "", ""),
    ("list", VSC_RES, "", ""),
    ("patch", VSC_RES, "", ""),
    ("delete", VSC_RES, "", ""),
    ("list", "persistentvolumeclaims", "", ""),
    ("create", "leases.coordination.k8s.io", "", CTL_NS),
    ("get", f"leases.coordination.k8s.io/{CTL_SA}", "", CTL_NS),
    ("update", f"leases.coordination.k8s.io/{CTL_SA}", "", CTL_NS),
]
CTL_MUST_NOT = [
    ("get", "secrets", "", ""),
    ("list", "secrets", "", ""),
    ("get", "secrets", "", CTL_NS),
    ("create", "pods", "exec", ""),
    ("get", "pods", "exec", ""),
    ("get", "pods", "", ""),
    ("create", VS_RES, "", ""),
    ("update", VS_RES, "", ""),
    ("create", VSC_RES, "", ""),
    ("update", VSC_RES, "status", ""),
    ("delete", "persistentvolumeclaims", "", ""),
    ("list", "namespaces", "", ""),
    ("get", "leases.coordination.k8s.io/other", "", CTL_NS),
    ("update", "leases.coordination.k8s.io/other", "", CTL_NS),
    ("delete", f"leases.coordination.k8s.io/{CTL_SA}", "", CTL_NS),
    ("create", "leases.coordination.k8s.io", "", "default"),
    ("create", "serviceaccounts", "token", CTL_NS),
    ("bind", "clusterroles.rbac.authorization.k8s.io", "", ""),
]


def test_controller_token_may_do_exactly_its_job(ctl: Ctl) -> None:
    cluster, env = ctl.cluster, ctl.env
    rows = [(r, True) for r in CTL_MAY] + [(r, False) for r in CTL_MUST_NOT]

    def answer(row: tuple[str, str, str, str]) -> str:
        verb, res, sub, ns = row
        args = ["auth", "can-i", verb, res]
        if sub:
            args.append(f"--subresource={sub}")
        args += ["-n", ns] if ns else ["--all-namespaces"]
        cp = cluster.kubectl(*args, env=env)
        assert cp.stdout.strip() in ("yes", "no"), (args, cp.stdout, cp.stderr)
        return cp.stdout.strip()

    answer(rows[0][0])  # fills the discovery cache the others share
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(answer, [r for r, _ in rows]))
    wrong = [(*r, want) for (r, want), a in zip(rows, got, strict=True) if (a == "yes") != want]
    assert not wrong, f"{type(cluster).__name__}: (row, expected): {wrong}"


# -- the Lease: held, expired -------------------------------------------------------------------
def set_lease(cluster: Cluster, holder: str, renewed: datetime, duration: int) -> str:
    stamp = renewed.strftime("%Y-%m-%dT%H:%M:%S.000000Z")
    doc = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": CTL_SA, "namespace": CTL_NS},
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": duration,
            "acquireTime": stamp,
            "renewTime": stamp,
        },
    }
    cluster.kubectl(
        "apply",
        "--server-side",
        "--force-conflicts",
        "--field-manager=laptop",
        "-f",
        "-",
        input=json.dumps(doc),
        check=True,
    )
    return stamp


def lease_spec(cluster: Cluster) -> dict[str, Any]:
    got = cluster.api(f"/apis/coordination.k8s.io/v1/namespaces/{CTL_NS}/leases/{CTL_SA}")
    return dict(got["spec"])


def test_a_held_lease_stops_a_run_and_an_expired_one_is_taken_over(ctl: Ctl, tenant: str) -> None:
    cluster, now = ctl.cluster, datetime.now(timezone.utc)
    ok(ctl.run("sync", now=now))  # the Lease exists (released)
    stamp = set_lease(cluster, "laptop-42", now, 3600)
    held = ctl.run("run", now=now)
    assert held.status == 1, held.stdout + held.stderr
    assert held.stderr.startswith(
        f"ERROR: another run holds the lease: Lease {CTL_NS}/{CTL_SA} is held by laptop-42 "
        f"since {stamp} (expires "
    ), held.stderr
    assert held.writes() == [] and reads_of(held) == [], held.calls
    assert lease_spec(cluster)["holderIdentity"] == "laptop-42"
    ok(ctl.run("plan", now=now))  # plan takes no lease

    set_lease(cluster, "crashed", now - timedelta(hours=2), 60)
    # nothing to change: the Lease is only read, not taken over
    idle = ok(ctl.run("run", now=now))
    assert [w for w in idle.writes() if w[1] == "leases"] == [], idle.calls
    assert lease_spec(cluster)["holderIdentity"] == "crashed"
    # a change to make (an expired snapshot beside a newer one): the run takes it over
    yesterday = day(-1).strftime("%Y-%m-%d")
    make_snapshot(cluster, tenant, "l1", managed(**{"backup-ns.sh/delete-after": yesterday}))
    make_snapshot(cluster, tenant, "l2", managed(**{"backup-ns.sh/daily": f"{now:%Y-%m-%d}"}))
    taken = ctl.run("run", now=now)
    assert taken.status == 0, taken.stdout + taken.stderr
    assert taken.stderr.startswith(
        "[backup-ns-controller] WARNING: taking over the expired lease of crashed"
    ), taken.stderr
    # take (guarded by the resourceVersion read), release
    assert [w for w in taken.writes() if w[1] == "leases"] == [
        ("update", "leases", CTL_NS, CTL_SA),
        ("update", "leases", CTL_NS, CTL_SA),
    ]
    assert "holderIdentity" not in lease_spec(cluster)


# -- safety rule 4 against real PVC objects --------------------------------------------------------
def test_a_snapshot_a_pvc_is_being_restored_from_is_not_swept(ctl: Ctl, tenant: str) -> None:
    cluster, ns = ctl.cluster, tenant
    yesterday = day(-1).strftime("%Y-%m-%d")
    make_snapshot(
        cluster,
        ns,
        "r1",
        managed(
            **{"backup-ns.sh/delete-after": yesterday, "backup-ns.sh/delete-reason": "expired"}
        ),
    )
    make_snapshot(cluster, ns, "r2", managed(**{"backup-ns.sh/daily": f"{day(0):%Y-%m-%d}"}))
    # a restore that cannot finish (its StorageClass does not exist): Pending
    doc = json.loads(pvc(ns, "restoring", source="r1"))
    doc["spec"]["storageClassName"] = "no-such-class"
    cluster.apply(json.dumps(doc))
    claim = cluster.api(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/restoring")
    assert claim["status"].get("phase") == "Pending", claim["status"]

    kept = ok(ctl.run("run", now=day(0)))
    assert (
        f"keep {ns}/r1 : PVC {ns}/restoring (Pending) is being restored from it (not deleted)"
    ) in kept.lines(), kept.stdout
    assert not [w for w in kept.writes() if w[1] == "volumesnapshots" and w[3] == "r1"]

    cluster.kubectl("delete", "pvc", "restoring", "-n", ns, "--wait=true", check=True)
    swept = ok(ctl.run("run", now=day(0)))
    assert (
        f"delete {ns}/r1 : delete-after {yesterday} is before today {day(0):%Y-%m-%d}"
        in "\n".join(swept.lines())
    ), swept.stdout
    cluster.wait_for(lambda: vs_get(cluster, ns, "r1") is None, timeout=60)


# -- a snapshot handle two contents hold --------------------------------------------------------
def test_sweeping_one_of_two_holders_of_a_handle_keeps_the_driver_snapshot(
    ctl: Ctl, tenant: str
) -> None:
    """A second content (pre-provisioned, Retain, as a clone makes it) holds the handle of
    a real snapshot. Sweeping the original deletes its snapshot and content with
    deletionPolicy Retain: the driver's snapshot stays for the clone. Sweeping the clone,
    the last holder, goes the usual way (Delete first) and the driver's snapshot is gone."""
    cluster, ns = ctl.cluster, tenant
    d = [day(k) for k in (-2, -1, 0)]
    orig = make_snapshot(cluster, ns, "s-orig", managed(**periods(d[0])))
    content = content_of(orig)
    handle = handle_of(cluster, content)
    clone_content = f"{ns}-clone"
    ctl_driver = content_get(cluster, content)["spec"]["driver"]
    cluster.apply(
        json.dumps(
            {
                "apiVersion": "snapshot.storage.k8s.io/v1",
                "kind": "VolumeSnapshotContent",
                "metadata": {"name": clone_content},
                "spec": {
                    "deletionPolicy": "Retain",
                    "driver": ctl_driver,
                    "source": {"snapshotHandle": handle},
                    "volumeSnapshotRef": {"name": "s-clone", "namespace": ns},
                },
            }
        )
    )
    cluster.apply(
        json.dumps(
            {
                "apiVersion": "snapshot.storage.k8s.io/v1",
                "kind": "VolumeSnapshot",
                "metadata": {"name": "s-clone", "namespace": ns, "labels": managed()},
                "spec": {"source": {"volumeSnapshotContentName": clone_content}},
            }
        )
    )
    cluster.wait_for(
        lambda: ((vs_get(cluster, ns, "s-clone") or {}).get("status") or {}).get("readyToUse"),
        timeout=60,
    )
    # status.creationTime has whole seconds and a tie is broken by name ("s-orig" after
    # "s-new"): cut s-new in a later second than s-orig, so it is the newest ready one.
    time.sleep(1.1)
    make_snapshot(
        cluster, ns, "s-new", managed(**{"backup-ns.sh/daily": periods(d[2])["backup-ns.sh/daily"]})
    )
    past = {
        "backup-ns.sh/delete-after": f"{d[1]:%Y-%m-%d}",
        "backup-ns.sh/delete-reason": "expired",
    }
    cluster.kubectl(
        "label",
        "--overwrite",
        "volumesnapshot",
        "-n",
        ns,
        "s-orig",
        *(f"{k}={v}" for k, v in past.items()),
        check=True,
    )

    plan = ok(ctl.run("plan", now=d[2]))
    want = (
        f"delete {ns}/s-orig : delete-after {d[1]:%Y-%m-%d} is before today {d[2]:%Y-%m-%d}; "
        f"kept data: handle shared with content {clone_content}; content {content} deleted too"
    )
    assert want in plan.lines(), plan.stdout
    assert plan.writes() == []
    first = ok(ctl.run("run", now=d[2]))
    assert want in first.lines(), first.stdout
    assert ("patch", "volumesnapshotcontents", "", content) not in first.writes(), first.writes()
    assert ("delete", "volumesnapshotcontents", "", content) in first.writes(), first.writes()
    cluster.wait_for(lambda: vs_get(cluster, ns, "s-orig") is None, timeout=60)
    cluster.wait_for(lambda: content_get(cluster, content) is None, timeout=60)
    assert content_get(cluster, clone_content)["spec"]["deletionPolicy"] == "Retain"
    if ctl.real:  # the CSI driver still holds the data the clone stands for
        assert driver_has(cluster, handle)

    # the clone, now the last holder: Delete first, and the driver's snapshot goes
    cluster.kubectl(
        "label",
        "--overwrite",
        "volumesnapshot",
        "-n",
        ns,
        "s-clone",
        *(f"{k}={v}" for k, v in past.items()),
        check=True,
    )
    last = ok(ctl.run("run", now=d[2]))
    assert (
        f"delete {ns}/s-clone : delete-after {d[1]:%Y-%m-%d} is before today {d[2]:%Y-%m-%d}; "
        f"content {clone_content} deletionPolicy Retain -> Delete first"
    ) in last.lines(), last.stdout
    cluster.wait_for(lambda: content_get(cluster, clone_content) is None, timeout=60)
    if ctl.real:
        cluster.wait_for(lambda: not driver_has(cluster, handle), timeout=30)
