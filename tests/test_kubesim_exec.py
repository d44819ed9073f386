"""kubesim exec engine (tests/kubesim/exec.py) driven by the real kubectl.

A small private aiohttp app stands in for the API server: /version, legacy
discovery, one namespace, pods from ``Harness.pods`` and the exec route that
builds an ExecRequest and calls ``exec.serve``. Every kubectl run gets a
fresh KUBECONFIG, KUBECACHEDIR and HOME.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.kubesim import exec as kexec
from tests.kubesim.exectypes import ExecRequest, Mount

KUBECTL = "/usr/bin/kubectl"
VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0",
    "gitCommit": "0",
    "gitTreeState": "clean",
    "buildDate": "2025-01-01T00:00:00Z",
    "goVersion": "go1.23",
    "compiler": "gc",
    "platform": "linux/amd64",
}

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not os.path.exists(KUBECTL), reason="needs root and /usr/bin/kubectl"
)


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, text=json.dumps(body), content_type="application/json")


def _not_found(kind: str, name: str) -> web.Response:
    return _json(
        {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": f'{kind} "{name}" not found',
            "reason": "NotFound",
            "details": {"name": name, "kind": kind},
            "code": 404,
        },
        404,
    )


class Harness:
    """A minimal API server on 127.0.0.1 in a background thread."""

    def __init__(self) -> None:
        self.pods: dict[str, dict[str, Any]] = {}
        self.requests: list[ExecRequest] = []
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._runner: web.AppRunner | None = None
        started = threading.Event()
        self.thread = threading.Thread(target=self._main, args=(started,), daemon=True)
        self.thread.start()
        started.wait(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _main(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start())
        started.set()
        self.loop.run_forever()

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/version", self._version)
        app.router.add_get("/api", self._api)
        app.router.add_get("/apis", self._apis)
        app.router.add_get("/api/v1", self._api_v1)
        app.router.add_get("/api/v1/namespaces/{ns}", self._namespace)
        app.router.add_get("/api/v1/namespaces/{ns}/pods/{pod}", self._pod)
        app.router.add_get("/api/v1/namespaces/{ns}/pods/{pod}/exec", self._exec)
        app.router.add_post("/api/v1/namespaces/{ns}/pods/{pod}/exec", self._spdy)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.base_events.Server)
        self.port = server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        async def _stop() -> None:
            assert self._runner is not None
            await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(_stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    async def _version(self, request: web.Request) -> web.Response:
        return _json(VERSION)

    async def _apis(self, request: web.Request) -> web.Response:
        return _json({"kind": "APIGroupList", "apiVersion": "v1", "groups": []})

    async def _api(self, request: web.Request) -> web.Response:
        return _json(
            {
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}
                ],
            }
        )

    async def _api_v1(self, request: web.Request) -> web.Response:
        verbs = ["get", "list"]
        return _json(
            {
                "kind": "APIResourceList",
                "apiVersion": "v1",
                "groupVersion": "v1",
                "resources": [
                    {
                        "name": "pods",
                        "singularName": "pod",
                        "namespaced": True,
                        "kind": "Pod",
                        "verbs": verbs,
                        "shortNames": ["po"],
                    },
                    {
                        "name": "namespaces",
                        "singularName": "namespace",
                        "namespaced": False,
                        "kind": "Namespace",
                        "verbs": verbs,
                        "shortNames": ["ns"],
                    },
                ],
            }
        )

    async def _namespace(self, request: web.Request) -> web.Response:
        ns = request.match_info["ns"]
        if ns != "ns1":
            return _not_found("namespaces", ns)
        return _json(
            {
                "kind": "Namespace",
                "apiVersion": "v1",
                "metadata": {
                    "name": ns,
                    "uid": "ns-uid",
                    "resourceVersion": "1",
                    "creationTimestamp": "2026-01-01T00:00:00Z",
                },
                "status": {"phase": "Active"},
            }
        )

    async def _pod(self, request: web.Request) -> web.Response:
        name = request.match_info["pod"]
        if request.match_info["ns"] != "ns1" or name not in self.pods:
            return _not_found("pods", name)
        return _json(
            {
                "kind": "Pod",
                "apiVersion": "v1",
                "metadata": {
                    "name": name,
                    "namespace": "ns1",
                    "uid": f"uid-{name}",
                    "resourceVersion": "2",
                    "creationTimestamp": "2026-01-01T00:00:00Z",
                },
                "spec": {"containers": [{"name": "c1", "image": "debian"}]},
                "status": {
                    "phase": "Running",
                    "containerStatuses": [{"name": "c1", "ready": True, "restartCount": 0}],
                },
            }
        )

    async def _exec(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["pod"]
        if name not in self.pods:
            return _not_found("pods", name)
        q = request.query
        req = ExecRequest(
            namespace="ns1",
            pod=name,
            container=q.get("container", "c1"),
            command=q.getall("command", []),
            stdin=q.get("stdin") == "true",
            stdout=q.get("stdout") == "true",
            stderr=q.get("stderr") == "true",
            tty=q.get("tty") == "true",
            **self.pods[name],
        )
        self.requests.append(req)
        return await kexec.serve(request, req)

    async def _spdy(self, request: web.Request) -> web.Response:
        return _json(
            {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
                "message": "kubesim speaks only WebSocket v5",
                "reason": "BadRequest",
                "code": 400,
            },
            400,
        )


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    h = Harness()
    yield h
    h.stop()


class Kubectl:
    def __init__(self, harness: Harness, tmp: Path) -> None:
        self.harness = harness
        self.tmp = tmp
        self.n = 0

    def env(self) -> dict[str, str]:
        self.n += 1
        d = self.tmp / f"kubectl-{self.n}"
        (d / "home").mkdir(parents=True)
        kubeconfig = d / "kubeconfig"
        kubeconfig.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "h", "cluster": {"server": self.harness.url}}],
                    "users": [{"name": "admin", "user": {}}],
                    "contexts": [
                        {
                            "name": "h",
                            "context": {"cluster": "h", "user": "admin", "namespace": "ns1"},
                        }
                    ],
                    "current-context": "h",
                }
            )
        )
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(d / "home"),
            "KUBECONFIG": str(kubeconfig),
            "KUBECACHEDIR": str(d / "cache"),
        }

    def run(
        self, *args: str, input: bytes | None = None, timeout: float = 30, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [KUBECTL, *args],
            input=input,
            capture_output=True,
            env=self.env(),
            timeout=timeout,
            cwd=cwd,
            check=False,
        )

    def exec(
        self, pod: str, *cmd: str, stdin: bytes | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        flags = ["-i"] if stdin is not None else []
        return self.run("exec", *flags, pod, "-n", "ns1", "--", *cmd, input=stdin)


@pytest.fixture
def kubectl(harness: Harness, tmp_path: Path) -> Kubectl:
    return Kubectl(harness, tmp_path)


@pytest.fixture
def pod(harness: Harness, request: pytest.FixtureRequest) -> Iterator[str]:
    """A pod name unique to the test; set harness.pods[name] to configure it."""
    name = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:50]
    harness.pods[name] = {}
    yield name
    del harness.pods[name]


def _pids_with_cmdline(argv: list[str]) -> list[int]:
    want = ("\0".join(argv) + "\0").encode()
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if Path(f"/proc/{entry}/cmdline").read_bytes() == want:
                    found.append(int(entry))
            except OSError:
                pass
    return found


def _wait_for(pred: Any, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return bool(pred())


# --------------------------------------------------------------------------- exit codes and streams


@pytest.mark.parametrize("code", [0, 3, 42])
def test_exit_code_and_separate_streams(kubectl: Kubectl, pod: str, code: int) -> None:
    r = kubectl.exec(pod, "sh", "-c", f"echo out; echo err >&2; exit {code}")
    assert r.returncode == code
    assert r.stdout == b"out\n"
    if code == 0:
        assert r.stderr == b"err\n"
    else:
        assert r.stderr == f"err\ncommand terminated with exit code {code}\n".encode()


def test_killed_by_signal_reports_128_plus_signal(kubectl: Kubectl, pod: str) -> None:
    r = kubectl.exec(pod, "sh", "-c", "kill -9 $$")
    assert r.returncode == 137
    assert r.stderr == b"command terminated with exit code 137\n"


def test_stdin_binary_round_trip_1mb(kubectl: Kubectl, pod: str) -> None:
    data = os.urandom(1 << 20)
    r = kubectl.exec(pod, "cat", stdin=data)
    assert r.returncode == 0, r.stderr
    assert r.stdout == data


def test_large_stdout_is_streamed_intact(kubectl: Kubectl, pod: str) -> None:
    r = kubectl.exec(pod, "sh", "-c", "head -c 20000000 /dev/urandom | tee /dev/stderr | sha256sum")
    assert r.returncode == 0
    digest = r.stdout.split()[0].decode()
    assert len(r.stderr) == 20_000_000
    assert hashlib.sha256(r.stderr).hexdigest() == digest


def test_stdin_eof_reaches_the_process(kubectl: Kubectl, pod: str) -> None:
    r = kubectl.exec(pod, "wc", "-c", stdin=b"hello")
    assert (r.returncode, r.stdout.strip()) == (0, b"5")
    # The script-on-stdin pattern the backup scripts use.
    r = kubectl.exec(pod, "bash", stdin=b"echo from-script\nexit 7\n")
    assert (r.returncode, r.stdout) == (7, b"from-script\n")


def test_without_stdin_flag_the_process_reads_eof(kubectl: Kubectl, pod: str) -> None:
    r = kubectl.exec(pod, "cat")
    assert (r.returncode, r.stdout) == (0, b"")


def test_remote_exits_before_reading_stdin(kubectl: Kubectl, pod: str) -> None:
    r = kubectl.exec(pod, "sh", "-c", "exit 5", stdin=os.urandom(4 << 20))
    assert r.returncode == 5


# --------------------------------------------------------------------------- environment


def test_container_env_not_server_env(
    kubectl: Kubectl, harness: Harness, pod: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBESIM_SERVER_ONLY", "leak")
    harness.pods[pod] = {"env": {"PGDATABASE": "shop db", "EMPTY": ""}}
    r = kubectl.exec(
        pod,
        "sh",
        "-c",
        'echo "$PGDATABASE|${EMPTY-unset}|$HOSTNAME|$HOME|'
        '${KUBESIM_SERVER_ONLY-unset}|$PWD"; echo "$PATH"',
    )
    assert r.returncode == 0, r.stderr
    first, path = r.stdout.decode().splitlines()
    assert first == f"shop db||{pod}|/root|unset|/"
    assert path.startswith("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")


def test_pod_env_path_wins(kubectl: Kubectl, harness: Harness, pod: str) -> None:
    harness.pods[pod] = {"env": {"PATH": "/bin"}}
    r = kubectl.exec(pod, "printenv", "PATH")
    assert r.stdout == b"/bin\n"


# --------------------------------------------------------------------------- volumes


def test_volumes_appear_at_mount_paths_without_touching_the_host(
    kubectl: Kubectl, harness: Harness, pod: str, tmp_path: Path
) -> None:
    data = tmp_path / "pvc-data"
    data.mkdir()
    (data / "hello.txt").write_text("from the pvc\n")
    deep = tmp_path / "pvc-deep"
    deep.mkdir()
    assert not os.path.exists("/data") and not os.path.exists("/var/lib/kubesim-test")
    harness.pods[pod] = {
        "mounts": [
            Mount(host_dir=str(data), mount_path="/data"),
            Mount(host_dir=str(deep), mount_path="/var/lib/kubesim-test/pgdata"),
        ],
        "workdir": "/data",
    }
    script = (
        "set -e; pwd; cat hello.txt; echo written > /data/new.txt; "
        "echo deep > /var/lib/kubesim-test/pgdata/x; ls /var/lib | grep -c . >/dev/null; "
        "test -d /var/lib/dpkg && echo host-var-visible"
    )
    r = kubectl.exec(pod, "sh", "-c", script)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"/data\nfrom the pvc\nhost-var-visible\n"
    assert (data / "new.txt").read_text() == "written\n"
    assert (deep / "x").read_text() == "deep\n"
    assert not os.path.exists("/data") and not os.path.exists("/var/lib/kubesim-test")


def test_read_only_volume_refuses_writes(
    kubectl: Kubectl, harness: Harness, pod: str, tmp_path: Path
) -> None:
    vol = tmp_path / "ro"
    vol.mkdir()
    (vol / "f").write_text("x")
    harness.pods[pod] = {"mounts": [Mount(host_dir=str(vol), mount_path="/ro", read_only=True)]}
    r = kubectl.exec(pod, "sh", "-c", "cat /ro/f; touch /ro/new")
    assert r.returncode == 1
    assert r.stdout == b"x"
    assert b"Read-only file system" in r.stderr
    assert sorted(os.listdir(vol)) == ["f"]


def test_disk_fault_shows_use_and_fails_writes_with_enospc(
    kubectl: Kubectl, harness: Harness, pod: str, tmp_path: Path
) -> None:
    vol = tmp_path / "full"
    vol.mkdir()
    (vol / "keep.txt").write_text("kept\n")
    harness.pods[pod] = {
        "mounts": [
            Mount(
                host_dir=str(vol),
                mount_path="/backup",
                disk_size_bytes=4 << 20,
                disk_used_percent=90,
            )
        ]
    }
    r = kubectl.exec(
        pod,
        "sh",
        "-c",
        "cat /backup/keep.txt; ls -A /backup; df -P /backup | tail -1; "
        "head -c 2000000 /dev/zero > /backup/dump.sql",
    )
    assert r.returncode == 1
    lines = r.stdout.decode().splitlines()
    assert lines[:2] == ["kept", "keep.txt"]
    use = int(lines[2].split()[4].rstrip("%"))
    assert 88 <= use <= 92, lines[2]
    assert b"No space left on device" in r.stderr
    assert sorted(os.listdir(vol)) == ["keep.txt"]


def test_disk_fault_percent_only(
    kubectl: Kubectl, harness: Harness, pod: str, tmp_path: Path
) -> None:
    vol = tmp_path / "pct"
    vol.mkdir()
    harness.pods[pod] = {
        "mounts": [Mount(host_dir=str(vol), mount_path="/d", disk_used_percent=97)]
    }
    r = kubectl.exec(pod, "sh", "-c", "df -P /d | tail -1")
    assert r.returncode == 0, r.stderr
    use = int(r.stdout.split()[4].rstrip(b"%"))
    assert 95 <= use <= 99


# --------------------------------------------------------------------------- failures


def test_unknown_executable_is_an_oci_runtime_error(kubectl: Kubectl, pod: str) -> None:
    r = kubectl.exec(pod, "nope", "arg")
    assert r.returncode == 1
    assert r.stdout == b""
    assert re.fullmatch(
        rb"error: Internal error occurred: error executing command in container: failed to exec "
        rb'in container: failed to start exec "[0-9a-f]{64}": OCI runtime exec failed: exec '
        rb"failed: unable to start container process: exec: \"nope\": executable file not found "
        rb"in \$PATH: unknown\n",
        r.stderr,
    ), r.stderr


def test_missing_absolute_executable(kubectl: Kubectl, pod: str) -> None:
    r = kubectl.exec(pod, "/no/such/bin")
    assert r.returncode == 1
    assert (
        b'exec: "/no/such/bin": stat /no/such/bin: no such file or directory: unknown' in r.stderr
    )


def test_cut_after_bytes_drops_the_connection(kubectl: Kubectl, harness: Harness, pod: str) -> None:
    marker = f"{1000 + os.getpid() % 1000}.{time.time_ns() % 997}"
    harness.pods[pod] = {"cut_after_bytes": 1000}
    r = kubectl.exec(pod, "sh", "-c", f"head -c 200000 /dev/zero; exec sleep {marker}")
    assert r.returncode == 1
    assert len(r.stdout) <= 1000
    assert b"command terminated" not in r.stderr
    assert _wait_for(lambda: not _pids_with_cmdline(["sleep", marker]))


def test_killed_kubectl_kills_the_process_group(kubectl: Kubectl, pod: str) -> None:
    marker = f"{300 + os.getpid() % 1000}.{time.time_ns() % 997}"
    proc = subprocess.Popen(
        [KUBECTL, "exec", pod, "-n", "ns1", "--", "sh", "-c", f"sleep {marker}; echo done"],
        env=kubectl.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert _wait_for(lambda: bool(_pids_with_cmdline(["sleep", marker]))), "sleep never started"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert _wait_for(lambda: not _pids_with_cmdline(["sleep", marker])), "sleep survived"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def test_websocket_v4_only_is_refused(harness: Harness, pod: str) -> None:
    async def attempt() -> int:
        async with aiohttp.ClientSession() as s:
            url = f"{harness.url}/api/v1/namespaces/ns1/pods/{pod}/exec?command=true&stdout=true"
            try:
                async with s.ws_connect(url, protocols=("v4.channel.k8s.io",)):
                    return 101
            except aiohttp.WSServerHandshakeError as exc:
                return exc.status

    assert asyncio.run(attempt()) == 400


# --------------------------------------------------------------------------- kubectl cp


def test_cp_binary_file_is_byte_exact(
    kubectl: Kubectl, harness: Harness, pod: str, tmp_path: Path
) -> None:
    vol = tmp_path / "cpvol"
    vol.mkdir()
    blob = os.urandom(3 << 20) + b"\0\xff" * 1000
    (vol / "dump.bin").write_bytes(blob)
    harness.pods[pod] = {"mounts": [Mount(host_dir=str(vol), mount_path="/backup")]}
    out = tmp_path / "local"
    out.mkdir()
    r = kubectl.run("cp", f"ns1/{pod}:/backup/dump.bin", "got.bin", cwd=out)
    assert r.returncode == 0, r.stderr
    assert (out / "got.bin").read_bytes() == blob
    assert harness.requests[-1].command == ["tar", "cf", "-", "/backup/dump.bin"]


def test_cp_missing_remote_file_writes_nothing(
    kubectl: Kubectl, harness: Harness, pod: str, tmp_path: Path
) -> None:
    out = tmp_path / "local"
    out.mkdir()
    r = kubectl.run("cp", f"ns1/{pod}:/nonexistent/file", "got", cwd=out)
    assert r.returncode in (0, 1), r.stderr  # 0 on real clusters too (see kube-api-notes §4.10)
    assert os.listdir(out) == []


def test_no_leftovers_in_work_dir(kubectl: Kubectl, pod: str) -> None:
    work = Path(kexec._WORK_DIR)
    before = set(work.iterdir()) if work.exists() else set()
    r = kubectl.exec(pod, "sh", "-c", "sleep 0.2")
    assert r.returncode == 0
    assert _wait_for(lambda: not (set(work.iterdir()) - before))
