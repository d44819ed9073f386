"""A real Kubernetes control plane on loopback, for the `realk8s` test tier.

etcd, kube-apiserver (TLS, RBAC, Pod Security admission, an audit log) and
kube-controller-manager, then the CSI snapshot stack as plain processes: the
real snapshot-controller, csi-snapshotter and csi-provisioner around our
directory-backed CSI driver (tests/realk8s/csidriver), a default StorageClass
(Immediate binding), a default VolumeSnapshotClass (Retain) and, with group
snapshots on (CSIVolumeGroupSnapshot), a default VolumeGroupSnapshotClass (Retain). There is no
scheduler and no kubelet: pods stay Pending and exec is impossible.

Binaries come from `tests/realk8s/build.sh` (a cache outside the checkout).
When they are missing, starting fails with an error telling how to build
them: the tier never skips. Every port is a free loopback port, so two
instances can run at once; every process is stopped by its pid.

    cluster = RealCluster(tmp_dir).start()
    cluster.kubectl("get", "ns")          # admin, fresh KUBECONFIG/KUBECACHEDIR/HOME
    cluster.stop()

Or by hand: `python -m tests.realk8s --state-dir /tmp/rk` (prints the
kubeconfig path, runs until SIGTERM/Ctrl-C).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import yaml

from kubesim.kubectl_env import KUBECTL, fresh_kubectl_env
from tests.realk8s.pki import PKI

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
BUILD_SH = HERE / "build.sh"
DRIVER = "backupns.csi.test"
STORAGE_CLASS = "backupns-csi"
SNAPSHOT_CLASS = "backupns-csi-snapclass"
GROUP_SNAPSHOT_CLASS = "backupns-csi-groupclass"
SERVICE_CIDR = "10.96.0.0/24"
ISSUER = "https://kubernetes.default.svc.cluster.local"

T = TypeVar("T")

AUDIT_POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: None           # the admin client certificate: the tests, controllers, sidecars
    userGroups: ["system:masters"]
  - level: None
    users: ["system:apiserver", "system:kube-controller-manager", "system:kube-scheduler"]
  - level: None
    userGroups: ["system:nodes"]
  - level: Metadata       # everyone else: ServiceAccounts, i.e. the scripts under test
"""


class RealK8sError(RuntimeError):
    pass


def binaries(*need: str) -> dict[str, Path]:
    """The tier's binaries from `build.sh --print` (all, or the `need`ed ones); an error
    naming the missing ones and how to build them."""
    cp = subprocess.run(
        ["bash", str(BUILD_SH), "--print"], capture_output=True, text=True, check=False
    )
    paths = {
        n: Path(p) for n, p in (ln.split("=", 1) for ln in cp.stdout.splitlines() if "=" in ln)
    }
    wanted = set(need or paths)
    missing = sorted(n for n in wanted if n not in paths or not paths[n].exists())
    if missing or not paths:
        raise RealK8sError(
            f"real control plane binaries missing ({', '.join(missing) or cp.stderr.strip()}): "
            f"build them with `bash {BUILD_SH.relative_to(REPO_ROOT)}` (~20-35 min cold, "
            "cached in ~/.cache/backupns/realk8s)"
        )
    return paths


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _kubeconfig(server: str, ca: Path, user: dict[str, str], namespace: str = "default") -> str:
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "realk8s", "cluster": {"server": server, "certificate-authority": str(ca)}}
        ],
        "users": [{"name": "user", "user": user}],
        "contexts": [
            {
                "name": "realk8s",
                "context": {"cluster": "realk8s", "user": "user", "namespace": namespace},
            }
        ],
        "current-context": "realk8s",
    }
    return yaml.safe_dump(doc, sort_keys=False)


class RealCluster:
    """One running control plane; state, logs and the audit log under `state_dir`."""

    def __init__(
        self, state_dir: Path, *, csi: bool = True, controller_credentials: bool = False
    ) -> None:
        self.state_dir = Path(state_dir)
        # csi=False: no CSI driver, snapshot controller or sidecars (CRDs only), for
        # seeding snapshot objects that no controller touches (bench/controller.py)
        self.csi = csi
        # controller_credentials=True: kube-controller-manager runs each controller with
        # its own ServiceAccount (--use-service-account-credentials, as kubeadm and most
        # distributions do), so the namespace controller deletes a namespace's objects
        # as system:serviceaccount:kube-system:namespace-controller; else all of them
        # act with the admin client certificate (system:masters)
        self.controller_credentials = controller_credentials
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.logs = self.state_dir / "logs"
        self.logs.mkdir(exist_ok=True)
        self.audit_log = self.state_dir / "audit.jsonl"
        self.csi_state = self.state_dir / "csi-state"
        self.kubeconfig = self.state_dir / "admin.kubeconfig"
        self.url = ""
        self.etcd_url = ""  # etcd's client URL (plain HTTP on loopback), for reading sizes
        self._procs: list[tuple[str, subprocess.Popen[bytes]]] = []
        self._envs = Path(tempfile.mkdtemp(prefix="env-", dir=self.state_dir))
        self._bin: dict[str, Path] = {}
        self.started_in = 0.0  # seconds from start() to ready

    # -- lifecycle ------------------------------------------------------------------------
    def start(self, timeout: float = 120.0) -> RealCluster:
        self._bin = binaries()
        began = time.monotonic()
        try:
            self._start(began + timeout)
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - began
        return self

    def _spawn(self, name: str, *args: str | Path) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 (the child keeps it)
        with log:
            proc = subprocess.Popen(
                [str(self._bin[name]), *map(str, args)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.state_dir,
                start_new_session=True,
                # the components get their kubeconfig by flag; a KUBECONFIG from the
                # caller (CI exports a placeholder) would win over it in client-go
                env={k: v for k, v in os.environ.items() if k != "KUBECONFIG"},
            )
        self._procs.append((name, proc))
        return proc

    def _check_alive(self) -> None:
        for name, proc in self._procs:
            if proc.poll() is not None:
                tail = (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]
                raise RealK8sError(f"{name} exited with {proc.returncode}; its log ends:\n{tail}")

    def _wait(self, what: str, fn: Callable[[], T | None], deadline: float) -> T:
        while True:
            self._check_alive()
            got = fn()
            if got:
                return got
            if time.monotonic() > deadline:
                raise RealK8sError(f"timed out waiting for {what} (logs in {self.logs})")
            time.sleep(0.2)

    def _start(self, deadline: float) -> None:
        pki = PKI(self.state_dir / "pki")
        self.pki = pki
        port = free_port()
        self.url = f"https://127.0.0.1:{port}"
        apiserver_crt, apiserver_key = pki.issue(
            "apiserver",
            "kube-apiserver",
            server=True,
            dns=("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"),
            ips=("127.0.0.1", "10.96.0.1"),
        )
        admin_crt, admin_key = pki.issue("admin", "backupns-admin", org="system:masters")
        self.kubeconfig.write_text(
            _kubeconfig(
                self.url,
                pki.ca_crt,
                {"client-certificate": str(admin_crt), "client-key": str(admin_key)},
            )
        )
        self._admin_cert = (admin_crt, admin_key)

        etcd_client, etcd_peer = free_port(), free_port()
        client_url = f"http://127.0.0.1:{etcd_client}"
        peer_url = f"http://127.0.0.1:{etcd_peer}"
        self.etcd_url = client_url
        self._spawn(
            "etcd",
            "--name=realk8s",
            f"--data-dir={self.state_dir / 'etcd'}",
            f"--listen-client-urls={client_url}",
            f"--advertise-client-urls={client_url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=realk8s={peer_url}",
            "--unsafe-no-fsync",
            "--log-level=warn",
        )
        policy = self.state_dir / "audit-policy.yaml"
        policy.write_text(AUDIT_POLICY)
        self._spawn(
            "kube-apiserver",
            f"--etcd-servers={client_url}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={port}",
            "--endpoint-reconciler-type=none",
            f"--tls-cert-file={apiserver_crt}",
            f"--tls-private-key-file={apiserver_key}",
            f"--client-ca-file={pki.ca_crt}",
            f"--service-account-issuer={ISSUER}",
            f"--service-account-key-file={pki.sa_pub}",
            f"--service-account-signing-key-file={pki.sa_key}",
            f"--api-audiences={ISSUER}",
            "--authorization-mode=RBAC",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            f"--audit-policy-file={policy}",
            f"--audit-log-path={self.audit_log}",
            "--audit-log-format=json",
            "--audit-log-mode=blocking",
            f"--cert-dir={self.state_dir / 'apiserver-certs'}",
        )
        self._wait("kube-apiserver /readyz", lambda: self._get_raw("/readyz") == b"ok", deadline)
        (self.state_dir / "url").write_text(self.url + "\n")

        kcm_port = free_port()
        self._spawn(
            "kube-controller-manager",
            f"--kubeconfig={self.kubeconfig}",
            "--leader-elect=false",
            "--bind-address=127.0.0.1",
            f"--secure-port={kcm_port}",
            f"--cert-dir={self.state_dir / 'kcm-certs'}",
            f"--service-account-private-key-file={pki.sa_key}",
            f"--root-ca-file={pki.ca_crt}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--controllers=*",
            *(["--use-service-account-credentials"] if self.controller_credentials else []),
        )
        crds = sorted(
            [*Path(self._bin["crds"]).glob("*.yaml"), *Path(self._bin["group-crds"]).glob("*.yaml")]
        )
        self.kubectl("apply", *[a for c in crds for a in ("-f", str(c))], check=True)
        self.kubectl(
            "wait",
            "--for=condition=established",
            "--timeout=60s",
            *[
                "crd/{1}.{0}".format(*c.name.removesuffix(".yaml").split("_", 1))
                for c in crds
            ],
            check=True,
        )
        if not self.csi:
            self._wait(
                "ServiceAccount default/default",
                lambda: self.api("/api/v1/namespaces/default/serviceaccounts/default"),
                deadline,
            )
            return
        sock = self.state_dir / "csi" / "csi.sock"
        self._spawn(
            "backupns-csi",
            f"--endpoint=unix://{sock}",
            f"--state-dir={self.csi_state}",
            f"--driver-name={DRIVER}",
        )
        self._wait("the CSI driver's socket", sock.exists, deadline)
        common = [f"--kubeconfig={self.kubeconfig}", "--kube-api-qps=100", "--kube-api-burst=200"]
        self._spawn(
            "snapshot-controller",
            *common,
            "--leader-election=false",
            "--feature-gates=CSIVolumeGroupSnapshot=true",
            "--retry-interval-max=10s",
        )
        sidecar = [
            *common,
            f"--csi-address={sock}",
            "--leader-election=false",
            "--extra-create-metadata",
            "--timeout=60s",
        ]
        self._spawn(
            "csi-snapshotter",
            *sidecar,
            "--feature-gates=CSIVolumeGroupSnapshot=true",
            "--retry-interval-max=10s",
        )
        self._spawn("csi-provisioner", *sidecar, "--retry-interval-max=10s")
        self.apply(
            f"""\
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: {STORAGE_CLASS}
  annotations: {{storageclass.kubernetes.io/is-default-class: "true"}}
provisioner: {DRIVER}
reclaimPolicy: Delete
volumeBindingMode: Immediate
---
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotClass
metadata:
  name: {SNAPSHOT_CLASS}
  annotations: {{snapshot.storage.kubernetes.io/is-default-class: "true"}}
driver: {DRIVER}
deletionPolicy: Retain
---
apiVersion: groupsnapshot.storage.k8s.io/v1
kind: VolumeGroupSnapshotClass
metadata:
  name: {GROUP_SNAPSHOT_CLASS}
  annotations: {{groupsnapshot.storage.kubernetes.io/is-default-class: "true"}}
driver: {DRIVER}
deletionPolicy: Retain
"""
        )
        # Ready when the namespace "default" has its ServiceAccount (controller-manager's
        # token/SA controllers run) and both sidecars have talked to the driver.
        self._wait(
            "ServiceAccount default/default",
            lambda: self.api("/api/v1/namespaces/default/serviceaccounts/default"),
            deadline,
        )
        self._wait(
            "the CSI sidecars to reach the driver",
            lambda: (self.logs / "backupns-csi.log").read_text().count("GetPluginInfo") >= 2,
            deadline,
        )

    @classmethod
    def attach(cls, state_dir: Path) -> RealCluster:
        """A handle on a control plane started elsewhere (`python -m tests.realk8s
        --state-dir DIR`): tests run against it and leave it running."""
        cluster = cls(state_dir)
        cluster.url = (cluster.state_dir / "url").read_text().strip()
        cluster.pki = PKI.load(cluster.state_dir / "pki")
        cluster._admin_cert = (cluster.pki.dir / "admin.crt", cluster.pki.dir / "admin.key")
        return cluster

    def stop(self) -> None:
        """SIGTERM every process we started (reverse order), by pid; SIGKILL after 10 s."""
        for _name, proc in reversed(self._procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for _name, proc in reversed(self._procs):
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._procs = []

    # -- direct API access (admin client certificate) -----------------------------------
    def _ssl(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.pki.ca_crt))
        ctx.load_cert_chain(*map(str, self._admin_cert))
        return ctx

    def _get_raw(self, path: str) -> bytes | None:
        try:
            with urllib.request.urlopen(self.url + path, timeout=5, context=self._ssl()) as r:
                return bytes(r.read())
        except (urllib.error.URLError, OSError):
            return None

    def api(self, path: str) -> Any:
        """GET an API path as admin, parsed; None on 404 (or not reachable). For polling."""
        raw = self._get_raw(path)
        return None if raw is None else json.loads(raw)

    # -- kubectl --------------------------------------------------------------------------
    def env(
        self, tmp_path: Path | None = None, kubeconfig: Path | str | None = None
    ) -> dict[str, str]:
        """A fresh environment for kubectl: KUBECONFIG copy, KUBECACHEDIR, HOME."""
        return fresh_kubectl_env(kubeconfig or self.kubeconfig, tmp_path or self._envs)

    def kubectl(
        self,
        *args: str,
        input: str | None = None,
        env: dict[str, str] | None = None,
        check: bool = False,
        timeout: float = 120.0,
    ) -> subprocess.CompletedProcess[str]:
        cp = subprocess.run(
            [KUBECTL, *args],
            input=input,
            capture_output=True,
            text=True,
            env=env or self.env(),
            timeout=timeout,
            check=False,
        )
        if check and cp.returncode != 0:
            raise RealK8sError(
                f"kubectl {' '.join(args)} failed ({cp.returncode}):\n{cp.stdout}{cp.stderr}"
            )
        return cp

    def apply(self, manifest: str) -> None:
        self.kubectl("apply", "-f", "-", input=manifest, check=True)

    def get_json(self, *args: str) -> Any:
        return json.loads(self.kubectl("get", *args, "-o", "json", check=True).stdout)

    def token(self, namespace: str, service_account: str) -> str:
        """A ServiceAccount token from the TokenRequest API (`kubectl create token`)."""
        cp = self.kubectl(
            "create", "token", service_account, "-n", namespace, "--duration=1h", check=True
        )
        return cp.stdout.strip()

    def sa_kubeconfig(self, namespace: str, service_account: str, dest: Path) -> Path:
        """Write a kubeconfig that authenticates as the ServiceAccount to dest."""
        dest.write_text(
            _kubeconfig(
                self.url,
                self.pki.ca_crt,
                {"token": self.token(namespace, service_account)},
                namespace,
            )
        )
        return dest

    def user_kubeconfig(self, user: str, group: str, dest: Path, namespace: str) -> Path:
        """Write a kubeconfig that authenticates as `user` in `group` (a client
        certificate of the tier's CA) to dest."""
        crt, key = self.pki.issue(dest.stem, user, org=group)
        dest.write_text(
            _kubeconfig(
                self.url,
                self.pki.ca_crt,
                {"client-certificate": str(crt), "client-key": str(key)},
                namespace,
            )
        )
        return dest

    def wait_for(self, fn: Callable[[], T | None], timeout: float = 60.0) -> T:
        deadline = time.monotonic() + timeout
        while True:
            got = fn()
            if got:
                return got
            if time.monotonic() > deadline:
                raise RealK8sError(f"condition not met within {timeout}s")
            time.sleep(0.1)

    def create_namespace(self, name: str, labels: dict[str, str] | None = None) -> None:
        doc = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        if labels:
            doc["metadata"]["labels"] = labels  # type: ignore[index]
        self.apply(json.dumps(doc))

    # -- the audit log and the driver's state ------------------------------------------
    def audit_events(self, since: int = 0) -> list[dict[str, Any]]:
        """ResponseComplete audit events (from byte offset `since` of the log)."""
        with open(self.audit_log, "rb") as f:
            f.seek(since)
            lines = f.read().splitlines()
        events = [json.loads(line) for line in lines if line.strip()]
        return [e for e in events if e.get("stage") == "ResponseComplete"]

    def audit_offset(self) -> int:
        return self.audit_log.stat().st_size if self.audit_log.exists() else 0

    def volume_dir(self, namespace: str, pvc: str) -> Path:
        """The driver's data directory behind a bound PVC."""
        claim = self.get_json("pvc", pvc, "-n", namespace)
        pv = self.get_json("pv", claim["spec"]["volumeName"])
        return self.csi_state / "volumes" / str(pv["spec"]["csi"]["volumeHandle"]) / "data"


@contextlib.contextmanager
def realk8s_session(state_dir: Path) -> Iterator[RealCluster]:
    """A control plane for a test session; BACKUPNS_REALK8S_ATTACH=DIR uses one already
    running there (started by `python -m tests.realk8s --state-dir DIR`) instead."""
    attach = os.environ.get("BACKUPNS_REALK8S_ATTACH")
    if attach:
        yield RealCluster.attach(Path(attach))
        return
    cluster = RealCluster(state_dir).start()
    try:
        yield cluster
    finally:
        cluster.stop()
