"""Benchmark: what a backup costs the cluster, in API requests and tool CPU, with a cold
kubectl cache (a fresh HOME and KUBECACHEDIR per run, as every Job pod has).

    python bench/cost.py [--server kubesim|real|both] [--repeat 5] [--namespaces 10]
    python bench/cost.py --smoke        # kubesim only, small: under a minute (CI)

Measured per run, each figure the median of ``--repeat`` runs with min and max:

- create: ``backup-ns.sh create`` of a database-less namespace (one PVC), run as the
  namespace's ServiceAccount with the rendered RBAC; on kubesim also with a PostgreSQL
  database (a real server from tests/dbs.py behind kubesim's ``kubectl exec``; the real
  tier has no container runtime, so no exec there);
- retention change: the controller's ``run`` over ``--namespaces`` namespaces, each with a
  synced history and one pending change of a kind (unlabel: a new daily snapshot pushes
  the oldest daily out; mark: a snapshot with no period label left; expire: both in one
  run, the oldest daily had no other label; delete: one past its delete-after), requests
  and CPU divided by the changes ``plan`` listed beforehand (unlabel, unmark, mark,
  delete; the contents' sync requests count with them): the
  whole run's figures per change, "beyond idle": the run's requests (writes) minus
  those of the idle run right after it, per change, and "per change": the same without
  the run's fixed part (the Lease taken and released, kubectl's discovery), which a run
  pays once whatever the number of changes ("fixed/run"); the goal is printed for both;
- idle run: the controller's ``run`` with nothing to change: requests and writes.

Requests come from kubesim's request log and from the real kube-apiserver's audit log
(tests/realk8s: on the real tier create runs on the CSI stack, the controller as its own
ServiceAccount on a second control plane without it, so no controller touches the seeded
snapshots), counted by verb and resource; discovery (``/api``, ``/apis``, a group
version's root, ``/version``, ``/openapi/*``) is counted apart. Tool CPU: user + system
time of the script and every process it waited for (bash, kubectl, awk:
``getrusage(RUSAGE_CHILDREN)`` around it; a database dump runs inside kubesim's exec and
is not in it), printed beside wall time and the load average (the machine is shared).
``--show`` prints each path's requests in order, with the kubectl command that made them.

Goals: database-less create <= 6 requests, 0 discovery, <= 0.2 s tool CPU; <= 2 requests
per retention change; an idle run <= 5 requests and 0 writes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlparse

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kubesim.fixture import KubeSim  # noqa: E402
from tests import ctlsim  # noqa: E402

sys.path.insert(0, str(REPO / "bench"))
import manifests  # noqa: E402

CTL_NS, CTL_SA = "backup-ns", "backup-ns-controller"
NS_SA = "backup-ns"
PLAIN, WITH_DB = "cost-plain", "cost-db"
# The seeded history ends today: a real server stamps the objects' creation itself, and
# the controller stops when the clock is behind the newest snapshot's creation day.
START = datetime.now(timezone.utc).replace(hour=1, minute=0, second=0, microsecond=0) - timedelta(
    days=3
)
HISTORY = 3  # synced daily snapshots per namespace before a change is added
PG_MOUNT = manifests.PG_MOUNT

GOAL_CREATE_REQUESTS = 6
GOAL_CREATE_CPU = 0.2
GOAL_PER_CHANGE = 2
GOAL_IDLE_REQUESTS = 5
WRITES = ("create", "update", "patch", "delete", "deletecollection")
CHANGE_VERBS = ("unlabel", "unmark", "mark", "delete", "odelete")


# --- requests: one shape for both logs ----------------------------------------------------
class Req(NamedTuple):
    verb: str  # get list watch create update patch delete ...
    resource: str  # "volumesnapshots", "volumesnapshots/status", or the path of a discovery
    discovery: bool
    command: str  # the kubectl command (kubesim: Kubectl-Command header; real: user agent)

    def key(self) -> str:
        return f"{self.verb} {self.resource}"


DISCOVERY = re.compile(r"/api|/apis|/version|/openapi/.*|/api/v1|/apis/[^/]+(/[^/]+)?")


def from_path(method: str, path: str, query: str, command: str) -> Req:
    """A request of kubesim's log as the audit log names it."""
    if DISCOVERY.fullmatch(path):
        return Req("get", path, True, command)
    parts = path.strip("/").split("/")
    rest = parts[2:] if parts[0] == "api" else parts[3:]
    if rest[0] == "namespaces" and len(rest) > 2:
        rest = rest[2:]
    name = rest[1] if len(rest) > 1 else ""
    res = rest[0] + ("/" + rest[2] if len(rest) > 2 else "")
    verb = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(method)
    if verb is None:
        watch = re.search(r"(^|&)watch=(1|true)", query) is not None
        verb = "watch" if watch else ("get" if name else "list")
    elif verb == "delete" and not name:
        verb = "deletecollection"
    return Req(verb, res, False, command)


def from_audit(e: dict[str, Any]) -> Req:
    ref = e.get("objectRef")
    agent = str(e.get("userAgent", ""))
    if not ref:
        return from_path("GET", urlparse(e.get("requestURI", "")).path, "", agent)
    res = ref.get("resource", "") + ("/" + ref["subresource"] if ref.get("subresource") else "")
    return Req(str(e.get("verb", "")), res, False, agent)


# --- the servers ----------------------------------------------------------------------
class Server:
    name = ""
    minor = ""  # the server's /version minor: the kubectl build a Job pod would match

    def admin(self, *args: str, input: str | None = None) -> None:
        raise NotImplementedError

    def sa_env(self, ns: str, sa: str, tmp: Path) -> dict[str, str]:
        """A cold kubectl environment (new HOME, KUBECACHEDIR) as ServiceAccount ns/sa."""
        raise NotImplementedError

    def mark(self) -> None:
        raise NotImplementedError

    def requests(self, user: str) -> list[Req]:
        raise NotImplementedError

    def seed(self, objs: list[dict[str, Any]]) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError


class Kubesim(Server):
    name = "kubesim"
    minor = "32"

    def __init__(self, tmp: Path) -> None:
        self.sim = KubeSim(tmp, tls=True, args=["--snapshot-ready-delay", "0"]).start(timeout=60)
        self.tmp = tmp

    def admin(self, *args: str, input: str | None = None) -> None:
        cp = self.sim.kubectl(*args, input=input)
        if cp.returncode != 0:
            raise SystemExit(f"kubectl {' '.join(args)}: {cp.stdout}{cp.stderr}")

    def sa_env(self, ns: str, sa: str, tmp: Path) -> dict[str, str]:
        kc = self.sim.sa_kubeconfig(ns, sa, tmp / f"{ns}-{sa}.kubeconfig")
        return with_kubectl(self.sim.env(tmp, kubeconfig=kc), self.minor, tmp)

    def mark(self) -> None:
        self.sim.reset_requests()

    def requests(self, user: str) -> list[Req]:
        return [
            from_path(r["method"], r["path"], r["query"], r.get("command", ""))
            for r in self.sim.requests()
            if r.get("user") == user and not r["path"].startswith("/_kubesim/")
        ]

    def seed(self, objs: list[dict[str, Any]]) -> None:
        self.sim.seed(objs)

    def stop(self) -> None:
        self.sim.stop()


class Real(Server):
    name = "real kube-apiserver"
    minor = "33"

    def __init__(self, tmp: Path, *, csi: bool) -> None:
        from tests.realk8s.fixture import RealCluster

        self.seeder: Any = None
        if csi:
            self.cluster = RealCluster(tmp, csi=True).start(timeout=300)
        else:  # bench/controller.py's tier: CRDs only, controller.yaml applied, its seeding
            sys.path.insert(0, str(REPO / "bench"))
            import controller as ctlbench

            self.seeder = ctlbench.Real(tmp)
            self.cluster = self.seeder.cluster
        self.offset = 0

    def admin(self, *args: str, input: str | None = None) -> None:
        self.cluster.kubectl(*args, input=input, check=True)

    def sa_env(self, ns: str, sa: str, tmp: Path) -> dict[str, str]:
        kc = self.cluster.sa_kubeconfig(ns, sa, tmp / f"{ns}-{sa}.kubeconfig")
        return with_kubectl(self.cluster.env(tmp, kubeconfig=kc), self.minor, tmp)

    def mark(self) -> None:
        self.offset = self.cluster.audit_offset()

    def requests(self, user: str) -> list[Req]:
        time.sleep(0.3)  # the audit log is written as each response completes
        return [
            from_audit(e)
            for e in self.cluster.audit_events(self.offset)
            if e.get("user", {}).get("username") == user
        ]

    def seed(self, objs: list[dict[str, Any]]) -> None:
        self.seeder.seed(objs)

    def stop(self) -> None:
        self.cluster.stop()


DISPATCHER = False  # --kubectl dispatcher: the machine's kubectl as it is


def with_kubectl(env: dict[str, str], minor: str, tmp: Path) -> dict[str, str]:
    """env with `kubectl` on PATH the plain build for the server's minor version, as an
    image such as registry.k8s.io/kubectl has it. This machine's `kubectl` is the gcloud
    dispatcher: before every command it asks the server for /version and then runs one
    of its builds (kubectl.1.NN beside it): requests and CPU no Job pod pays."""
    if DISPATCHER:
        return env
    found = shutil.which("kubectl")
    plain = Path(os.path.realpath(found)).parent / f"kubectl.1.{minor}" if found else None
    if plain is None or not plain.exists():
        return env
    bindir = tmp / f"kubectl-1.{minor}"
    if not bindir.exists():
        bindir.mkdir()
        (bindir / "kubectl").symlink_to(plain)
    return {**env, "PATH": f"{bindir}{os.pathsep}{env.get('PATH', '')}"}


def kubectl_line(server: Server, tmp: Path) -> str:
    path = with_kubectl({"PATH": os.environ.get("PATH", "")}, server.minor, tmp)["PATH"]
    found = shutil.which("kubectl", path=path) or "kubectl"
    cp = subprocess.run([found, "version", "--client"], capture_output=True, text=True,
                        check=False, env={**os.environ, "PATH": path})
    version = cp.stdout.splitlines()[0] if cp.stdout else "?"
    return f"  kubectl: {os.path.realpath(found)} ({version})"


def user(ns: str, sa: str) -> str:
    return f"system:serviceaccount:{ns}:{sa}"


# --- measuring ----------------------------------------------------------------------------
def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


@dataclass
class Sample:
    requests: list[Req]
    cpu: float
    wall: float
    stdout: str


def run_script(argv: list[str], env: dict[str, str]) -> Sample:
    c0, t0 = cpu(), time.perf_counter()
    cp = subprocess.run(argv, env=env, capture_output=True, text=True, check=False, timeout=600)
    wall, used = time.perf_counter() - t0, cpu() - c0
    if cp.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({cp.returncode}):\n{cp.stdout}{cp.stderr}")
    return Sample([], used, wall, cp.stdout)


def measured(server: Server, who: str, argv: list[str], env: dict[str, str]) -> Sample:
    server.mark()
    s = run_script(argv, env)
    s.requests = server.requests(who)
    return s


@dataclass
class Figures:
    title: str
    samples: list[Sample] = field(default_factory=list)
    per: list[int] = field(default_factory=list)  # divisor of each sample (changes)
    base: list[Sample] = field(default_factory=list)  # the idle run after each sample

    def series(self, fn: Callable[[Sample], float]) -> list[float]:
        return [fn(s) / (self.per[i] if self.per else 1) for i, s in enumerate(self.samples)]


def stat(xs: list[float], fmt: str) -> str:
    med = statistics.median(xs)
    return f"median {med:{fmt}} [min {min(xs):{fmt}}, max {max(xs):{fmt}}]"


def verdict(value: float, goal: float) -> str:
    return "OK" if value <= goal else "MISSED"


def fixed_part(requests: list[Req]) -> int:
    """What a run with changes pays once, beyond an idle run, whatever the number of
    changes: the Lease write that takes it and the one that releases it, and the
    discovery requests of kubectl's typed patch and delete."""
    return sum(r.discovery or (r.resource == "leases" and r.verb in WRITES) for r in requests)


def report(f: Figures, goals: dict[str, float], show: bool) -> None:
    n = len(f.samples)
    per = f" per change ({sum(f.per)} changes in {n} runs)" if f.per else f" ({n} runs)"
    print(f"  {f.title}{per}; load average {os.getloadavg()[0]:.1f}")
    nf = ".1f" if f.per else ".0f"
    rows = [
        ("requests", lambda s: float(len(s.requests)), nf),
        ("discovery", lambda s: float(sum(r.discovery for r in s.requests)), nf),
        ("writes", lambda s: float(sum(r.verb in WRITES for r in s.requests)), nf),
        ("tool CPU s", lambda s: s.cpu, ".3f"),
        ("wall s", lambda s: s.wall, ".3f"),
    ]
    if f.base:
        n_of = [len(s.requests) for s in f.base]
        w_of = [sum(r.verb in WRITES for r in s.requests) for s in f.base]
        rows[1:1] = [
            ("beyond idle", lambda s: float(len(s.requests) - n_of[f.samples.index(s)]), ".1f"),
            ("per change", lambda s: float(len(s.requests) - n_of[f.samples.index(s)]
                                           - fixed_part(s.requests)), ".1f"),
            ("writes b.i.", lambda s: float(sum(r.verb in WRITES for r in s.requests)
                                            - w_of[f.samples.index(s)]), ".1f"),
        ]
    for label, fn, fmt in rows:
        xs = f.series(fn)
        goal = goals.get(label)
        tail = ""
        if goal is not None:
            tail = f"  (goal <= {goal:g}: {verdict(statistics.median(xs), goal)})"
        print(f"    {label:11s} {stat(xs, fmt)}{tail}")
    if f.base:
        fixed = [float(fixed_part(s.requests)) for s in f.samples]
        print(f"    {'fixed/run':11s} {stat(fixed, '.0f')}  (the Lease taken and released,"
              " kubectl's discovery: once per run, whatever the number of changes)")
    last = f.samples[-1]
    counts = Counter(r.key() for r in last.requests)
    print("    one run: " + ", ".join(f"{k} x{v}" for k, v in counts.items()))
    if show:
        for r in last.requests:
            print(f"      {r.verb:8s} {r.resource:48s} {'discovery ' if r.discovery else ''}"
                  f"[{r.command[:60]}]")


# --- create --------------------------------------------------------------------------------
def render(tmp: Path, db_port: int | None) -> Path:
    namespaces: dict[str, Any] = {PLAIN: {"pvcs": ["data"], "database": "none"}}
    if db_port is not None:
        namespaces[WITH_DB] = {
            "pvcs": ["data"],
            "database": {
                "postgres": {
                    "exec": "deployment/app-base",
                    "container": "postgres",
                    "host": "127.0.0.1",
                    "port": db_port,
                    "dumpFile": f"{PG_MOUNT}/dump.sql.gz",
                }
            },
        }
    config = {
        "defaults": {
            "timeZone": "UTC",
            "flock": {"enabled": False},
            "waitUntilReady": {"enabled": True, "timeout": "5m"},
        },
        "namespaces": namespaces,
        "controller": {"namespace": CTL_NS},
    }
    cfg = tmp / "backupns.yaml"
    cfg.write_text(yaml.safe_dump(config))
    out = tmp / "out"
    subprocess.run(
        [sys.executable, "-m", "backupns_gen", "render", "--no-lint", "-c", str(cfg),
         "-o", str(out)],
        check=True, capture_output=True, cwd=REPO,
    )
    return out


def bench_create(server: Server, tmp: Path, repeat: int, db: Any, show: bool) -> None:
    out = render(tmp, db.port if db is not None else None)
    names = [PLAIN] + ([WITH_DB] if db is not None else [])
    for ns in names:
        server.admin("create", "namespace", ns)
    args = ["apply", "-f", str(out / "cluster" / "namespace-role.yaml")]
    for ns in names:
        args += ["-f", str(out / "namespaces" / ns / "manifests.yaml")]
    server.admin(*args)
    docs = [manifests.pvc(ns) for ns in names]
    if db is not None:
        docs.append(manifests.app_base(WITH_DB, db.user, db.password, "bench"))
    server.admin("apply", "-f", "-", input=yaml.safe_dump_all(docs))
    for ns in names:
        title = "create, database: none" if ns == PLAIN else "create, database: postgres"
        fig = Figures(f"{title} (ServiceAccount {ns}/{NS_SA}, cold kubectl cache)")
        script = ["bash", str(out / "namespaces" / ns / "backup-ns.sh"), "create"]
        for _ in range(repeat):
            env = server.sa_env(ns, NS_SA, tmp)  # a new HOME and KUBECACHEDIR each run
            fig.samples.append(measured(server, user(ns, NS_SA), script, env))
        goals = {"requests": GOAL_CREATE_REQUESTS, "discovery": 0, "tool CPU s": GOAL_CREATE_CPU}
        report(fig, goals if ns == PLAIN else {}, show)
        if ns == PLAIN:
            n = len(fig.samples[-1].requests)
            kubectl_floor(server, tmp, ns, n, repeat, {}, "")
            lean = lean_env(out / "namespaces" / ns / "backup-ns.sh")
            kubectl_floor(server, tmp, ns, n, repeat, lean, " with the script's Go runtime")


def lean_env(script: Path) -> dict[str, str]:
    """The Go runtime settings the script gives its raw kubectl calls (KUBE_LEAN_ENV)."""
    found = re.search(r"^KUBE_LEAN_ENV=\((.*)\)$", script.read_text(), re.MULTILINE)
    if found is None:
        raise SystemExit(f"{script}: no KUBE_LEAN_ENV")
    return dict(item.split("=", 1) for item in found.group(1).split())


def kubectl_floor(server: Server, tmp: Path, ns: str, n: int, repeat: int,
                  extra: dict[str, str], what: str) -> None:
    """The floor of the create's tool CPU: N bare kubectl processes (one per request the
    create made), each a raw GET of the PVC with a cold cache, as the ServiceAccount."""
    argv = ["kubectl", "get", "--raw", f"/api/v1/namespaces/{ns}/persistentvolumeclaims/data"]
    xs: list[float] = []
    for _ in range(repeat):
        used = 0.0
        for _ in range(n):
            env = {**server.sa_env(ns, NS_SA, tmp), **extra}
            c0 = cpu()
            subprocess.run(argv, env=env, capture_output=True, check=True, timeout=60)
            used += cpu() - c0
        xs.append(used)
    print(f"    CPU floor   {stat(xs, '.3f')}  ({n} bare kubectl get --raw, cold cache{what})")


# --- the controller ----------------------------------------------------------------------
def synced(objs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each content carries its snapshot's labels, as an earlier sync left them."""
    labels = {
        o["status"]["boundVolumeSnapshotContentName"]: o["metadata"]["labels"]
        for o in objs
        if o["kind"] == "VolumeSnapshot"
    }
    for o in objs:
        if o["kind"] == "VolumeSnapshotContent":
            o["metadata"]["labels"] = dict(labels[o["metadata"]["name"]])
    return objs


DAY = START + timedelta(days=HISTORY)  # the day the changes are made
NOW = f"{DAY:%Y-%m-%d}T20:00:00Z"


def pending(kind: str, ns: str) -> list[dict[str, Any]]:
    """A synced history of HISTORY days in ns plus one pending change of this kind."""
    if kind == "expire":  # dailies only: the oldest loses its last label and is marked
        week, month = ctlsim.periods(START)["backup-ns.sh/weekly"], f"{START:%Y-%m}"
        seen = {"backup-ns.sh/weekly": {week}, "backup-ns.sh/monthly": {month}}
        objs = ctlsim.history(ns, START, HISTORY, existing=seen)
    else:
        objs = ctlsim.history(ns, START, HISTORY)
    if kind in ("unlabel", "expire"):  # a new day: the oldest daily is unlabelled (keep)
        objs += ctlsim.snapshot(ns, f"data-{DAY:%Y-%m-%d-%H%M%S}", DAY,
                                labels={"backup-ns.sh/daily": f"{DAY:%Y-%m-%d}"})
    elif kind == "mark":  # no period label: marked expired
        objs += ctlsim.snapshot(ns, "unlabelled", START - timedelta(days=1))
    elif kind == "delete":  # past its delete-after: deleted
        objs += ctlsim.snapshot(ns, "expired", START - timedelta(days=3),
                                labels={"backup-ns.sh/delete-after": f"{START:%Y-%m-%d}"})
    return synced(objs)


def controller_env(server: Server, tmp: Path) -> dict[str, str]:
    env = server.sa_env(CTL_NS, CTL_SA, tmp)
    env.update({
        "NO_COLOR": "1",
        "CTL_NOW": NOW,
        "CTL_MAX_DELETIONS_PER_RUN": "1000000",
        "CTL_KEEP_DAILY": str(HISTORY),
        "CTL_KEEP_WEEKLY": "520",
        "CTL_KEEP_MONTHLY": "120",
    })
    return env


def planned(stdout: str) -> Counter[str]:
    verbs: Counter[str] = Counter()
    for line in stdout.splitlines():
        word = line.removeprefix("[backup-ns-controller] ").split(" ", 1)[0]
        if word in (*CHANGE_VERBS, "sync", "orphan"):
            verbs[word] += 1
    return verbs


def bench_controller(server: Server, tmp: Path, repeat: int, n: int, show: bool) -> None:
    ns_doc = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": CTL_NS}}
    server.admin("apply", "-f", "-", input=json.dumps(ns_doc))
    server.admin("apply", "-f", str(REPO / "out" / "cluster" / "controller.yaml"))
    script = str(REPO / "out" / "controller" / "backup-ns-controller.sh")
    who = user(CTL_NS, CTL_SA)
    idle = Figures("idle controller run (nothing to change)")
    n_ns = 0

    def one_idle() -> None:
        for _ in range(3):
            s = measured(server, who, ["bash", script, "run"], controller_env(server, tmp))
            if "nothing changed" in s.stdout or " 0 change" in s.stdout:
                idle.samples.append(s)
                return
            # the CSI-less tier: no snapshot controller removes a deleted snapshot's
            # content (policy Delete), so the next run deletes it as an orphan
            print(f"    (a run after the changes: {s.stdout.splitlines()[-1:]}, "
                  f"{len(s.requests)} requests)")
        raise SystemExit("the controller did not settle: no idle run in 3")

    for kind in ("unlabel", "mark", "expire", "delete"):
        fig = Figures(f"retention change: {kind} (+ its sync), controller run")
        seen: Counter[str] = Counter()
        for _ in range(repeat):
            objs: list[dict[str, Any]] = []
            for _ in range(n):
                objs += pending(kind, f"cost-{n_ns:04d}")
                n_ns += 1
            server.seed(objs)
            plan = run_script(["bash", script, "plan"], controller_env(server, tmp))
            verbs = planned(plan.stdout)
            seen += verbs
            changes = sum(verbs[v] for v in CHANGE_VERBS)
            fig.samples.append(measured(server, who, ["bash", script, "run"],
                                        controller_env(server, tmp)))
            fig.per.append(max(changes, 1))
            one_idle()  # the cluster is steady again
            fig.base.append(idle.samples[-1])
        print(f"    (planned over {repeat} runs: "
              + ", ".join(f"{k} {v}" for k, v in sorted(seen.items())) + ")")
        report(fig, {"beyond idle": GOAL_PER_CHANGE, "per change": GOAL_PER_CHANGE}, show)
    report(idle, {"requests": GOAL_IDLE_REQUESTS, "writes": 0}, show)


# --- main ---------------------------------------------------------------------------------
@contextmanager
def postgres() -> Iterator[Any]:
    from tests import dbs

    db = dbs.start("postgres", watch_pid=os.getpid())
    try:
        db.create_database("bench")
        db.sql("CREATE TABLE t (id int, v text); INSERT INTO t SELECT g, md5(g::text) "
               "FROM generate_series(1, 1000) g;", "bench")
        yield db
    finally:
        db.stop()


def run_kubesim(tmp: Path, opts: argparse.Namespace) -> None:
    print(f"kubesim (TLS, snapshots ready at once), load average {os.getloadavg()[0]:.1f}")
    server = Kubesim(tmp / "kubesim-create")
    try:
        print(kubectl_line(server, tmp))
        with postgres() as db:
            bench_create(server, tmp, opts.repeat, db, opts.show)
    finally:
        server.stop()
    # a second kubesim: the creates' snapshots (of today) stay out of the seeded history
    server = Kubesim(tmp / "kubesim-controller")
    try:
        bench_controller(server, tmp, opts.repeat, opts.namespaces, opts.show)
    finally:
        server.stop()


def run_real(tmp: Path, opts: argparse.Namespace) -> None:
    print(f"real kube-apiserver (tests/realk8s), load average {os.getloadavg()[0]:.1f}")
    server: Server = Real(tmp / "realk8s-csi", csi=True)
    try:
        print(kubectl_line(server, tmp))
        print("  create on the CSI stack (no container runtime: no database exec)")
        bench_create(server, tmp, opts.repeat, None, opts.show)
    finally:
        server.stop()
    server = Real(tmp / "realk8s-ctl", csi=False)
    try:
        print("  the controller on a control plane without the CSI stack (seeded snapshots)")
        bench_controller(server, tmp, opts.repeat, opts.namespaces, opts.show)
    finally:
        server.stop()


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--server", choices=("kubesim", "real", "both"), default="kubesim")
    ap.add_argument("--repeat", type=int, default=5, help="runs per figure (default 5)")
    ap.add_argument("--namespaces", type=int, default=10,
                    help="namespaces with one pending change each, per controller run")
    ap.add_argument("--smoke", action="store_true", help="kubesim, 2 runs, 2 namespaces")
    ap.add_argument("--kubectl", choices=("plain", "dispatcher"), default="plain",
                    help="plain: the kubectl build for the server's version, as a Job pod has "
                    "(default); dispatcher: this machine's gcloud kubectl dispatcher")
    ap.add_argument("--show", action="store_true", help="list each path's requests in order")
    opts = ap.parse_args(argv)
    global DISPATCHER
    DISPATCHER = opts.kubectl == "dispatcher"
    if opts.smoke:
        opts.server, opts.repeat, opts.namespaces = "kubesim", 2, 2
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
    kinds = ["kubesim", "real"] if opts.server == "both" else [opts.server]
    for kind in kinds:
        with tempfile.TemporaryDirectory(prefix="bench-cost-") as tmp:
            (run_kubesim if kind == "kubesim" else run_real)(Path(tmp), opts)


if __name__ == "__main__":
    main(sys.argv[1:])
