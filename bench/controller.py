"""Benchmark: the retention controller over a large cluster.

    python bench/controller.py [--server kubesim|real|both] [--namespaces 1000]
                               [--snapshots 10] [--changes 1000]

Seeds the server with N namespaces x M snapshots, each with its content, already
retained and synced (steady state), then runs ``plan`` and ``run`` of
out/controller/backup-ns-controller.sh with the real kubectl and prints, for each: list
calls (first pages), list page requests, total requests and writes (kubesim's request
log; the real server's audit log), wall seconds and CPU seconds (the script, kubectl
and awk together: a figure the machine's load does not change), beside the goals. A
second scenario adds ``--changes`` pending changes (expired snapshots to sweep: one
change each; a new snapshot in other namespaces that pushes the oldest daily out:
unlabel and two contents to sync, three each) and runs ``plan`` and ``run`` again.

Servers: ``kubesim`` (kubesim, seeded in one request per 2,000 objects, uids and
times kept) and ``real`` (tests/realk8s: kube-apiserver v1.33.13 + etcd, the snapshot
CRDs and no CSI stack, so no controller touches the seeded objects; seeded through the
API: per snapshot create VolumeSnapshot, create its content with the snapshot's uid,
then both status subresources, from 8 connections). On the real server the controller
runs as its own ServiceAccount (out/cluster/controller.yaml applied: the real RBAC).

Floor, measured in the same run on the same server: reading the snapshots and the
contents once, raw, with kubectl (``kubectl get --raw`` of every page, 5,000 objects a
page as the controller): the bytes any tool must fetch. Each wall figure is printed as
a ratio against it. Also printed: ``kubectl get volumesnapshots -A -o name`` (kubectl's
own decoding; the floor of earlier versions that read through kubectl templates).

Goals: steady state <= 3 list requests and <= 5 s (10,000 snapshots); at 300,000
snapshots (``--namespaces 10000 --snapshots 30``) ``run`` <= 3 min and <= 1 GB peak RSS
of the whole process tree (bash, kubectl, awk: sampled from /proc every 50 ms), ``plan``
on the real kube-apiserver <= 2 x the floor; ~1,000 changes <= 60 s. Steady-state
figures and floors are the median of ``--repeat`` runs (min and max printed). (The
original backup-ns scripts: ~11 min steady state and ~35 min for 3,000 changes here.)
"""

from __future__ import annotations

import argparse
import copy
import http.client
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kubesim.fixture import KubeSim  # noqa: E402
from tests import ctlsim  # noqa: E402

SCRIPT = REPO / "out" / "controller" / "backup-ns-controller.sh"
START = datetime(2026, 11, 1, 1, 0, tzinfo=timezone.utc)
LISTED = ("volumesnapshots", "volumesnapshotcontents", "persistentvolumeclaims")
CTL_NS, CTL_SA = "backup-ns", "backup-ns-controller"
VS_API = "/apis/snapshot.storage.k8s.io/v1"
PAGE = 5000


# --- the servers: seed objects, give a kubectl environment, count requests -------------
class Server:
    name = ""
    env: dict[str, str]
    ctl_env: dict[str, str]  # the controller's (its ServiceAccount on the real server)

    def seed(self, objs: list[dict[str, Any]]) -> None:
        raise NotImplementedError

    def mark(self) -> None:
        """Start counting requests."""

    def requests(self) -> list[tuple[str, str, str]]:
        """(verb, resource, query) of the controller's API requests since mark()."""
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError


class Kubesim(Server):
    name = "kubesim"

    def __init__(self, tmp: Path) -> None:
        self.sim = KubeSim(tmp / "kubesim").start(timeout=60)
        self.sim.seed([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": CTL_NS}}])
        self.env = self.ctl_env = self.sim.env()

    def seed(self, objs: list[dict[str, Any]]) -> None:
        for i in range(0, len(objs), 2000):
            self.sim.seed(objs[i : i + 2000])

    def mark(self) -> None:
        self.sim.reset_requests()

    def requests(self) -> list[tuple[str, str, str]]:
        out = []
        for r in self.sim.requests():
            if not r["path"].startswith(("/api/", "/apis/")):
                continue
            res = next((x for x in LISTED if r["path"].endswith("/" + x)), "")
            verb = "list" if r["method"] == "GET" and res else r["method"].lower()
            out.append((verb, res, r["query"]))
        return out

    def stop(self) -> None:
        self.sim.stop()


class Real(Server):
    name = "real kube-apiserver"

    def __init__(self, tmp: Path) -> None:
        from tests.realk8s.fixture import RealCluster

        self.cluster = RealCluster(tmp / "realk8s", csi=False).start(timeout=300)
        self.env = self.cluster.env()
        self.cluster.kubectl("create", "namespace", CTL_NS, check=True)
        self.cluster.kubectl(
            "apply", "-f", str(REPO / "out" / "cluster" / "controller.yaml"), check=True
        )
        kc = self.cluster.sa_kubeconfig(CTL_NS, CTL_SA, tmp / "controller.kubeconfig")
        self.ctl_env = self.cluster.env(kubeconfig=kc)
        self.user = f"system:serviceaccount:{CTL_NS}:{CTL_SA}"
        self.offset = 0
        url = urlparse(self.cluster.url)
        self._host, self._port = url.hostname or "127.0.0.1", url.port or 443
        self._ssl = self.cluster._ssl()
        self._local = threading.local()
        self._namespaces: set[str] = {CTL_NS}

    def _call(self, method: str, path: str, body: Any, ctype: str = "application/json") -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPSConnection(self._host, self._port, context=self._ssl)
            self._local.conn = conn
        conn.request(method, path, json.dumps(body), {"Content-Type": ctype})
        resp = conn.getresponse()
        data = resp.read()
        if resp.status >= 300:
            raise SystemExit(f"{method} {path}: {resp.status} {data[:300]!r}")
        return json.loads(data)

    def _one(self, vs: dict[str, Any], vsc: dict[str, Any] | None) -> None:
        ns, name = vs["metadata"]["namespace"], vs["metadata"]["name"]
        base = f"{VS_API}/namespaces/{ns}/volumesnapshots"
        made = self._call("POST", base, fresh(vs))
        merge = "application/merge-patch+json"
        if vsc is not None:
            body = fresh(vsc)
            body["spec"]["volumeSnapshotRef"]["uid"] = made["metadata"]["uid"]
            self._call("POST", f"{VS_API}/volumesnapshotcontents", body)
            path = f"{VS_API}/volumesnapshotcontents/{vsc['metadata']['name']}/status"
            self._call("PATCH", path, {"status": vsc["status"]}, merge)
        self._call("PATCH", f"{base}/{name}/status", {"status": vs["status"]}, merge)

    def seed(self, objs: list[dict[str, Any]]) -> None:
        contents = {o["metadata"]["name"]: o for o in objs if o["kind"] == "VolumeSnapshotContent"}
        pairs = []
        for o in objs:
            if o["kind"] == "VolumeSnapshot":
                bound = o.get("status", {}).get("boundVolumeSnapshotContentName", "")
                pairs.append((o, contents.get(bound)))
        with ThreadPoolExecutor(8) as pool:
            new = sorted({vs["metadata"]["namespace"] for vs, _ in pairs} - self._namespaces)
            ns_doc: Callable[[str], dict[str, Any]] = lambda n: {  # noqa: E731
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": n},
            }
            list(pool.map(lambda n: self._call("POST", "/api/v1/namespaces", ns_doc(n)), new))
            self._namespaces.update(new)
            list(pool.map(lambda p: self._one(*p), pairs))

    def mark(self) -> None:
        self.offset = self.cluster.audit_offset()

    def requests(self) -> list[tuple[str, str, str]]:
        out = []
        for e in self.cluster.audit_events(self.offset):
            if e.get("user", {}).get("username") != self.user:
                continue
            ref = e.get("objectRef") or {}
            query = urlparse(e.get("requestURI", "")).query
            out.append((e.get("verb", ""), ref.get("resource", ""), query))
        return out

    def stop(self) -> None:
        self.cluster.stop()


def fresh(obj: dict[str, Any]) -> dict[str, Any]:
    """The object as a client creates it: no uid, times, resourceVersion or status."""
    o = copy.deepcopy(obj)
    for k in ("uid", "creationTimestamp", "resourceVersion", "generation"):
        o["metadata"].pop(k, None)
    o.pop("status", None)
    return o


# --- measuring ----------------------------------------------------------------------------
def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def load() -> float:
    return os.getloadavg()[0]


KEEP_DAILY = 10  # = --snapshots: the seeded history is retained as it is (steady state)


def tree_rss(root: int, by_name: dict[str, int] | None = None) -> int:
    """Bytes resident in ROOT and every process below it (from /proc); BY_NAME gets the
    largest single process of each command name seen."""
    parent: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as fh:
                    fields = fh.read().rsplit(b")", 1)[1].split()
                parent[int(entry)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, grew = {root}, True
    while grew:
        grew = False
        for pid, ppid in parent.items():
            if ppid in tree and pid not in tree:
                tree.add(pid)
                grew = True
    total = 0
    for pid in tree:
        try:
            with open(f"/proc/{pid}/statm", "rb") as fh:
                rss = int(fh.read().split()[1]) * PAGE_BYTES
            if by_name is not None:
                with open(f"/proc/{pid}/comm", encoding="utf-8") as fh:
                    name = fh.read().strip()
                by_name[name] = max(by_name.get(name, 0), rss)
        except (OSError, IndexError, ValueError):
            continue
        total += rss
    return total


PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


class Run:
    """The controller run: exit status, output and the peak RSS of its process tree
    (bash, every kubectl and awk it starts, summed; sampled every 50 ms)."""

    def __init__(self, cmd: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.peak = 0
        self.by_name: dict[str, int] = {}
        self._done = threading.Event()
        sampler = threading.Thread(target=self._sample, daemon=True)
        sampler.start()
        self.stdout, self.stderr = self.proc.communicate()
        self.returncode = self.proc.returncode
        self._done.set()
        sampler.join()

    def _sample(self) -> None:
        while not self._done.wait(0.05):
            self.peak = max(self.peak, tree_rss(self.proc.pid, self.by_name))


def run_controller(server: Server, verb: str, now: str) -> Run:
    env = dict(server.ctl_env)
    env.update(
        {
            "NO_COLOR": "1",
            "CTL_NOW": now,
            "CTL_MAX_DELETIONS_PER_RUN": "1000000",
            "CTL_KEEP_DAILY": str(KEEP_DAILY),
            "CTL_KEEP_WEEKLY": "520",
            "CTL_KEEP_MONTHLY": "120",
        }
    )
    return Run(["bash", str(SCRIPT), verb], env)


def measure(server: Server, verb: str, now: str) -> dict[str, Any]:
    server.mark()
    c0, t0 = cpu(), time.perf_counter()
    run = run_controller(server, verb, now)
    wall, used = time.perf_counter() - t0, cpu() - c0
    if run.returncode != 0:
        raise SystemExit(f"{verb} failed ({run.returncode}): {run.stderr}")
    time.sleep(0.5 if isinstance(server, Real) else 0)  # the audit log is written at the end
    reqs = server.requests()
    pages = [r for r in reqs if r[0] == "list" and r[1] in LISTED]
    return {
        "wall": wall,
        "cpu": used,
        "rss": run.peak / 2**20,
        "largest": max(run.by_name.items(), key=lambda kv: kv[1], default=("-", 0)),
        "lists": len([p for p in pages if "continue=" not in p[2]]),
        "pages": len(pages),
        "total": len(reqs),
        "writes": len([r for r in reqs if r[0] not in ("get", "list", "watch")]),
        "summary": run.stdout.splitlines()[-1].removeprefix("[backup-ns-controller] "),
        "load": load(),
    }


def raw_read(env: dict[str, str], path: str) -> None:
    token = ""
    while True:
        q = f"?limit={PAGE}" + (f"&continue={token}" if token else "")
        out = subprocess.run(
            ["kubectl", "get", "--raw", path + q], env=env, check=True, capture_output=True
        ).stdout
        token = json.loads(out).get("metadata", {}).get("continue", "")
        if not token:
            return


REPEAT = 5


def best_of(fn: Callable[[], None], n: int = 0) -> tuple[float, float]:
    """(wall, CPU) of the median run (by wall time) of n runs (REPEAT by default)."""
    runs = []
    for _ in range(n or REPEAT):
        c0, t0 = cpu(), time.perf_counter()
        fn()
        runs.append((time.perf_counter() - t0, cpu() - c0))
    return sorted(runs)[len(runs) // 2]


def floors(server: Server) -> tuple[tuple[float, float], tuple[float, float]]:
    env = server.env

    def raw() -> None:
        raw_read(env, f"{VS_API}/volumesnapshots")
        raw_read(env, f"{VS_API}/volumesnapshotcontents")

    def names() -> None:
        subprocess.run(
            ["kubectl", "get", "volumesnapshots.v1.snapshot.storage.k8s.io", "-A", "-o", "name"],
            env=env,
            check=True,
            capture_output=True,
        )

    return best_of(raw), best_of(names)


def repeated(server: Server, verb: str, now: str, n: int = 0) -> dict[str, Any]:
    """``measure`` n times (REPEAT by default): the median run (by wall time), with the
    min and max of wall time and the largest peak RSS beside it."""
    runs = sorted((measure(server, verb, now) for _ in range(n or REPEAT)), key=lambda m: m["wall"])
    median = dict(runs[len(runs) // 2])
    median.update(
        lo=runs[0]["wall"], hi=runs[-1]["wall"], n=len(runs), rss=max(r["rss"] for r in runs)
    )
    return median


def report(
    name: str,
    m: dict[str, Any],
    base: float,
    goal_s: float,
    goal_lists: int,
    goal_floor: float | None = None,
) -> None:
    spread = f" (min {m['lo']:.2f}, max {m['hi']:.2f}; n={m['n']})" if "n" in m else ""
    ratio = m["wall"] / base
    line = (
        f"  {name:22s} list calls {m['lists']} (goal <= {goal_lists})  pages {m['pages']:3d}"
        f"  requests {m['total']:5d} (writes {m['writes']:4d})"
        f"  wall {m['wall']:6.2f} s{spread} goal <= {goal_s:g} s"
        f" {'ok' if m['wall'] <= goal_s else 'OVER'}; {ratio:5.2f} x floor"
    )
    if goal_floor is not None:
        line += f" (goal <= {goal_floor:g} x {'ok' if ratio <= goal_floor else 'OVER'})"
    line += (
        f"  CPU {m['cpu']:5.2f} s  peak RSS of the process tree {m['rss']:.0f} MB"
        f" (goal <= {RSS_GOAL_MB} MB {'ok' if m['rss'] <= RSS_GOAL_MB else 'OVER'};"
        f" largest process {m['largest'][0]} {m['largest'][1] / 2**20:.0f} MB)"
        f"  load {m['load']:4.1f}  [{m['summary']}]"
    )
    print(line)


RSS_GOAL_MB = 1000


# --- the scenario ---------------------------------------------------------------------
def bench(server: Server, n: int, m: int, changes: int) -> None:
    t0 = time.perf_counter()
    objs: list[dict[str, Any]] = []
    for i in range(n):
        objs += ctlsim.history(f"tenant-{i:04d}", START, m)
    server.seed(synced(objs))
    seeded = time.perf_counter() - t0
    last = START + timedelta(days=m - 1)
    now = f"{last:%Y-%m-%d}T06:00:00Z"
    if isinstance(server, Real):
        # the real server stamps each object's creation with its own clock (kubesim keeps
        # the seeded times), and the controller's clock check measures that: run the day
        # after the seeding, by the wall clock
        now = f"{datetime.now(timezone.utc) + timedelta(days=1):%Y-%m-%d}T06:00:00Z"
    run_controller(server, "list", now)  # warm kubectl's caches
    (base, base_cpu), (names, names_cpu) = floors(server)
    print(
        f"{server.name}: {n} namespaces x {m} snapshots (+ contents), seeded in {seeded:.0f} s;"
        f" load average {load():.1f}\n"
        f"  floor: raw read of snapshots + contents {base:.2f} s (CPU {base_cpu:.2f} s);"
        f" kubectl get volumesnapshots -A -o name {names:.2f} s (CPU {names_cpu:.2f} s)"
    )
    # goals: 5 s at 10,000 snapshots; at 300,000 (10,000 namespaces x 30): run <= 3 min
    # on kubesim, plan <= 2 x the floor on the real kube-apiserver
    goal_s = 5.0 if n * m <= 10_000 else 180.0
    report("steady state: plan", repeated(server, "plan", now), base, goal_s, 3, 2.0)
    report("steady state: run", repeated(server, "run", now), base, goal_s, 3)
    if changes <= 0:
        return

    # `changes` pending: k namespaces with an expired snapshot to sweep (1 change each),
    # k others with one new day (the oldest daily unlabelled, two contents synced: 3).
    extra: list[dict[str, Any]] = []
    k = max(1, changes // 4)
    for i in range(min(k, n)):
        extra += ctlsim.snapshot(
            f"tenant-{i:04d}",
            "expired",
            START - timedelta(days=3),
            labels={"backup-ns.sh/delete-after": "2026-11-01"},
        )
    nxt = last + timedelta(days=1)
    for i in range(min(k, n), min(2 * k, n)):
        extra += ctlsim.snapshot(
            f"tenant-{i:04d}",
            f"data-{nxt:%Y-%m-%d-%H%M%S}",
            nxt,
            labels={"backup-ns.sh/daily": f"{nxt:%Y-%m-%d}"},
        )
    server.seed(extra)
    now2 = f"{nxt:%Y-%m-%d}T06:00:00Z"
    if isinstance(server, Real):
        now2 = f"{datetime.now(timezone.utc) + timedelta(days=2):%Y-%m-%d}T06:00:00Z"
    report("changes: plan", measure(server, "plan", now2), base, 60, 3)
    report("changes: run", measure(server, "run", now2), base, 60, 3)
    report("after it: run (steady)", measure(server, "run", now2), base, 5, 3)


def synced(objs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Give each content its snapshot's labels (as a previous sync left them)."""
    labels = {
        o["status"]["boundVolumeSnapshotContentName"]: o["metadata"]["labels"]
        for o in objs
        if o["kind"] == "VolumeSnapshot"
    }
    for o in objs:
        if o["kind"] == "VolumeSnapshotContent":
            o["metadata"]["labels"] = dict(labels[o["metadata"]["name"]])
    return objs


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--server", choices=("kubesim", "real", "both"), default="kubesim")
    ap.add_argument("--namespaces", type=int, default=1000)
    ap.add_argument("--snapshots", type=int, default=10)
    ap.add_argument("--changes", type=int, default=1000, help="0: the steady state only")
    ap.add_argument("--repeat", type=int, default=5, help="runs of each steady-state figure")
    args = ap.parse_args()
    global KEEP_DAILY, REPEAT
    KEEP_DAILY = args.snapshots
    REPEAT = args.repeat
    kinds = ["kubesim", "real"] if args.server == "both" else [args.server]
    for kind in kinds:
        with tempfile.TemporaryDirectory(prefix="bench-controller-") as tmp:
            server: Server = Kubesim(Path(tmp)) if kind == "kubesim" else Real(Path(tmp))
            try:
                bench(server, args.namespaces, args.snapshots, args.changes)
            finally:
                server.stop()


if __name__ == "__main__":
    main()
