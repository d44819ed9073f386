"""Start kubesim as a subprocess and drive it with the real kubectl (pytest side).

`kubesim/pytest_fixtures.py` holds the fixtures `kubesim` and `kubesim_tls` (module-scoped).
Every `KubeSim.kubectl(...)` call runs with a fresh KUBECONFIG copy, KUBECACHEDIR and HOME.
"""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from kubesim.kubectl_env import KUBECTL, fresh_kubectl_env

REPO_ROOT = Path(__file__).resolve().parents[1]


class KubeSimError(RuntimeError):
    pass


class KubeSim:
    """One running simulator."""

    def __init__(self, state_dir: Path, *, tls: bool = False, args: Sequence[str] = ()) -> None:
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.kubeconfig = self.state_dir / "kubeconfig"
        self.tls = tls
        self.args = list(args)
        self.url = ""
        self.proc: subprocess.Popen[str] | None = None
        self._envs = Path(tempfile.mkdtemp(prefix="env-", dir=self.state_dir))

    # -- lifecycle ------------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> KubeSim:
        cmd = [
            sys.executable,
            "-m",
            "kubesim",
            "--state-dir",
            str(self.state_dir),
            "--kubeconfig",
            str(self.kubeconfig),
            *self.args,
        ]
        if self.tls:
            cmd.append("--tls")
        env = dict(os.environ)
        env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        with open(self.state_dir / "kubesim.stderr", "w") as errf:
            self.proc = subprocess.Popen(
                cmd,
                cwd=REPO_ROOT,
                stdout=subprocess.PIPE,
                stderr=errf,
                text=True,
                env=env,
                start_new_session=True,
            )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        line = ""
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if line.startswith("kubesim ready "):
                self.url = line.split()[2]
                return self
            if not line and self.proc.poll() is not None:
                break
        err = (self.state_dir / "kubesim.stderr").read_text()
        self.stop()
        raise KubeSimError(f"kubesim did not start: {line!r}\n{err}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc = None

    # -- kubectl --------------------------------------------------------------------------
    def env(
        self, tmp_path: Path | None = None, kubeconfig: Path | str | None = None
    ) -> dict[str, str]:
        """A fresh environment for kubectl: KUBECONFIG copy, KUBECACHEDIR, HOME."""
        return fresh_kubectl_env(kubeconfig or self.kubeconfig, tmp_path or self._envs)

    def kubectl(
        self,
        *args: str,
        input: str | bytes | None = None,
        env: dict[str, str] | None = None,
        check: bool = False,
        timeout: float = 60.0,
    ) -> subprocess.CompletedProcess[str]:
        text = not isinstance(input, bytes)
        cp = subprocess.run(
            [KUBECTL, *args],
            input=input,
            capture_output=True,
            text=text,
            env=env or self.env(),
            timeout=timeout,
            check=False,
        )
        if not text:  # bytes in -> decode outputs for a uniform CompletedProcess[str]
            cp = subprocess.CompletedProcess(
                cp.args,
                cp.returncode,
                cp.stdout.decode(errors="replace"),
                cp.stderr.decode(errors="replace"),
            )
        if check and cp.returncode != 0:
            raise KubeSimError(
                f"kubectl {' '.join(args)} failed ({cp.returncode}):\n{cp.stdout}{cp.stderr}"
            )
        return cp

    def apply(self, manifest: str) -> None:
        self.kubectl("apply", "-f", "-", input=manifest, check=True)

    # -- control API ----------------------------------------------------------------------
    def control(self, method: str, path: str, body: Any = None, timeout: float = 10) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        ctx = None
        if self.url.startswith("https"):
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        with urllib.request.urlopen(req, timeout=timeout, context=ctx) as resp:
            raw = resp.read()
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode()

    def api(self, path: str) -> Any:
        """GET an API path directly (as admin), parsed; None on 404. For cheap polling."""
        headers = {"Accept": "application/json"}
        if self.tls:
            import yaml

            kc = yaml.safe_load(self.kubeconfig.read_text())
            headers["Authorization"] = "Bearer " + kc["users"][0]["user"]["token"]
        req = urllib.request.Request(self.url + path, headers=headers)
        ctx = None
        if self.url.startswith("https"):
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        try:
            with urllib.request.urlopen(req, timeout=10, context=ctx) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise

    def fault(self, spec: dict[str, Any]) -> str:
        return str(self.control("POST", "/_kubesim/faults", spec)["id"])

    def clear_faults(self) -> None:
        self.control("DELETE", "/_kubesim/faults")

    def requests(self) -> list[dict[str, Any]]:
        path = self.state_dir / "requests.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def watches(self) -> list[dict[str, str]]:
        """Open watch streams: [{"path", "query", "command"}]."""
        return list(self.control("GET", "/_kubesim/watches"))

    def wait_for_watch(self, command: str, timeout: float = 10.0) -> None:
        """Block until a client with this Kubectl-Command (e.g. "kubectl wait") is watching."""
        self.wait_for(lambda: any(w["command"] == command for w in self.watches()), timeout)

    def reset_requests(self) -> None:
        self.control("DELETE", "/_kubesim/requests")

    def seed(self, objects: list[dict[str, Any]]) -> int:
        """Bulk-create objects as given (status kept, namespaces created). A big seed on
        a busy machine takes its time: up to a minute a request."""
        return int(self.control("POST", "/_kubesim/objects", objects, timeout=60)["created"])

    def clock(self, *, advance: float | str | None = None, to: str | None = None) -> dict[str, Any]:
        """kubesim's clock (the CronJob controller's now): read it, advance it or set it.

        The answer: {"now": RFC 3339, "jobs": ["ns/name", ...]} (Jobs the move created)."""
        if advance is None and to is None:
            return dict(self.control("GET", "/_kubesim/clock"))
        body: dict[str, Any] = {"advance": advance} if to is None else {"set": to}
        return dict(self.control("POST", "/_kubesim/clock", body))

    def token(self, namespace: str, service_account: str) -> str:
        """(--tls) a bearer token for a ServiceAccount."""
        out = self.control(
            "POST", "/_kubesim/tokens", {"namespace": namespace, "serviceAccount": service_account}
        )
        return str(out["token"])

    def sa_kubeconfig(self, namespace: str, service_account: str, dest: Path) -> Path:
        """(--tls) write a kubeconfig for a ServiceAccount to dest."""
        text = self.control(
            "GET", f"/_kubesim/kubeconfig?namespace={namespace}&serviceAccount={service_account}"
        )
        dest.write_text(text if isinstance(text, str) else json.dumps(text))
        return dest

    def volume_dir(self, namespace: str, pvc: str) -> Path:
        return self.state_dir / "volumes" / namespace / pvc

    def wait_for(self, fn: Any, timeout: float = 10.0, interval: float = 0.05) -> Any:
        """Poll fn() until it returns something truthy (for controller effects)."""
        deadline = time.monotonic() + timeout
        while True:
            got = fn()
            if got:
                return got
            if time.monotonic() > deadline:
                raise KubeSimError(f"condition not met within {timeout}s")
            time.sleep(interval)

    def get_json(self, *args: str) -> Any:
        cp = self.kubectl("get", *args, "-o", "json", check=True)
        return json.loads(cp.stdout)


def kubesim_session(
    state_dir: Path, *, tls: bool = False, args: Sequence[str] = ()
) -> Iterator[KubeSim]:
    sim = KubeSim(state_dir, tls=tls, args=args).start()
    try:
        yield sim
    finally:
        sim.stop()
