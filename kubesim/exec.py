"""Exec into real local processes over the Kubernetes WebSocket v5 protocol.

``serve(request, exec_request)`` is called by routing.py for
``GET /api/v1/namespaces/{ns}/pods/{pod}/exec`` once the pod and container are
known. It owns everything from there: the upgrade (only ``v5.channel.k8s.io``),
the process, the streams, the channel-3 Status, the close frame and cleanup.

The process is a "container" made of the host: it runs in a private mount
namespace, chrooted into a tmpfs that mirrors the host's ``/`` (one bind mount
per top-level entry) with the pod's volumes bind-mounted at their mount paths.
Nothing is created on the host except an empty temporary directory (the
chroot's mount point), removed when the exec ends. A mount path below a host
directory that lacks a component (``/var/lib/postgresql/data`` on a host
without ``/var/lib/postgresql``) is made by "shadowing" the deepest existing
directory inside the namespace with a tmpfs that mirrors its entries.
A disk fault (Mount.disk_*) mounts a sized tmpfs instead of the volume: a
copy of the volume's files plus a hidden ballast file, so ``df`` shows the
configured use and writes fail with ENOSPC (they do not reach the volume).

Wire protocol: kube-api-notes.md §4.9/§4.10. Messages are binary frames whose
first byte is the channel: 0 stdin, 1 stdout, 2 stderr, 3 status, 4 resize,
255 close-channel (``[255, 0]`` = stdin EOF).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import ctypes
import errno
import fcntl
import json
import os
import secrets
import select
import shutil
import signal
import stat
import struct
import subprocess
import tempfile
import termios
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from . import freeze
from .exectypes import ExecRequest, Mount

PROTOCOL = "v5.channel.k8s.io"
CHUNK = 32 * 1024

CH_STDIN = 0
CH_STDOUT = 1
CH_STDERR = 2
CH_STATUS = 3
CH_RESIZE = 4
CH_CLOSE = 255

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
"""The image PATH when the pod spec sets none. Like the official postgres image,
PostgreSQL's versioned bin directories are appended when the host has them."""

KILL_GRACE_SECONDS = 5.0
"""SIGTERM, then SIGKILL after this long. A real kubelet does not end a dropped exec at
all; kubesim does, and the grace lets the command's TERM/EXIT traps finish (2 s once cut
off the dump body's cleanup of its temporary file on a loaded machine)."""
TTY_SIZE_WAIT_SECONDS = 1.0
"""tty=true: how long to wait for the client's first resize message before starting."""
OUTPUT_GRACE_SECONDS = 2.0
"""After the process exited, how long to wait for stdout/stderr EOF (a
background child may hold the pipes open) before sending the status."""

_WORK_DIR = os.path.join(tempfile.gettempdir(), "kubesim-exec")
_SUCCESS: dict[str, Any] = {"metadata": {}, "status": "Success"}


# --------------------------------------------------------------------------- status bodies


def exit_status(command: list[str], code: int) -> dict[str, Any]:
    """The Status a kubelet + containerd send for a non-zero exit code."""
    inner = f"error executing command [{' '.join(command)}], exit code {code}"
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"command terminated with non-zero exit code: {inner}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }


def internal_error_status(detail: str) -> dict[str, Any]:
    """The Status for an exec that could not start (kubectl prints ``error: <message>``, exit 1)."""
    cause = f"error executing command in container: {detail}"
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"Internal error occurred: {cause}",
        "reason": "InternalError",
        "details": {"causes": [{"message": cause}]},
        "code": 500,
    }


def start_failure_status(runtime_message: str) -> dict[str, Any]:
    """containerd + runc wording for a process that could not be started."""
    exec_id = secrets.token_hex(32)
    return internal_error_status(
        f'failed to exec in container: failed to start exec "{exec_id}": '
        f"OCI runtime exec failed: exec failed: unable to start container process: "
        f"{runtime_message}: unknown"
    )


def exec_error_message(argv0: str, exc: OSError) -> str:
    """runc's message (Go exec.LookPath wording) for a failed execve of argv0."""
    quoted = json.dumps(argv0)
    if "/" not in argv0:
        # LookPath skips entries that are missing or not executable alike.
        return f"exec: {quoted}: executable file not found in $PATH"
    if isinstance(exc, FileNotFoundError):
        return f"exec: {quoted}: stat {argv0}: no such file or directory"
    if isinstance(exc, PermissionError):
        return f"exec: {quoted}: permission denied"
    return f"exec: {quoted}: {os.strerror(exc.errno or errno.EIO).lower()}"


# --------------------------------------------------------------------------- the "container"

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_ulong,
    ctypes.c_char_p,
]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.unshare.argtypes = [ctypes.c_int]

CLONE_NEWNS = 0x00020000
MS_RDONLY = 0x1
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
MNT_DETACH = 0x2


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(src: str | None, dst: str, fstype: str | None, flags: int, data: str | None) -> None:
    rc = _libc.mount(
        src.encode() if src is not None else None,
        dst.encode(),
        fstype.encode() if fstype is not None else None,
        flags,
        data.encode() if data is not None else None,
    )
    _check(rc, f"mount {src or fstype} on {dst}")


def _bind(src: str, dst: str, *, recursive: bool = True) -> None:
    _mount(src, dst, None, MS_BIND | (MS_REC if recursive else 0), None)


def _remount_ro(dst: str) -> None:
    _mount(None, dst, None, MS_BIND | MS_REMOUNT | MS_RDONLY, None)


def _umount_detach(dst: str) -> None:
    _check(_libc.umount2(dst.encode(), MNT_DETACH), f"umount {dst}")


def _placeholder_like(src: str, dst: str) -> bool:
    """Create at dst what a bind mount of src needs. False for a symlink (copied, not bound)."""
    st = os.lstat(src)
    if stat.S_ISLNK(st.st_mode):
        os.symlink(os.readlink(src), dst)
        return False
    if stat.S_ISDIR(st.st_mode):
        os.mkdir(dst, 0o755)
    else:
        with open(dst, "wb"):
            pass
    return True


def _default_path() -> str:
    pg = "/usr/lib/postgresql"
    extra: list[str] = []
    if os.path.isdir(pg):
        for version in sorted(os.listdir(pg), reverse=True):
            if os.path.isdir(os.path.join(pg, version, "bin")):
                extra.append(os.path.join(pg, version, "bin"))
    return ":".join([DEFAULT_PATH, *extra])


@dataclass
class ContainerFS:
    """Builds the container's view of the filesystem; ``enter()`` runs in the forked child."""

    root: str
    mounts: list[Mount]
    workdir: str
    err_fd: int
    controlling_tty: bool = False
    """tty=true: fd 0 is a terminal slave; make it the controlling terminal."""
    read_only_root: bool = False
    """securityContext.readOnlyRootFilesystem: everything but the volumes (and /dev,
    /proc, /sys) is remounted read-only once the volumes are in place."""
    uid: int | None = None
    """securityContext.runAsUser: switch to it (and gid, groups) after the mounts."""
    gid: int = 0
    groups: tuple[int, ...] = ()
    host_fds: list[int] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)
    """Mount points we made: "/" and shadows are "ours" (mkdir is private), host
    binds are "host" (mkdir would touch the host), volumes are "volume"."""

    def enter(self) -> None:
        try:
            self._enter()
        except BaseException as exc:
            if isinstance(exc, OSError):
                msg = exc.strerror or str(exc)
                if exc.errno == errno.ENOSPC:
                    msg = f"{msg}: no space left on device"
            else:
                msg = traceback.format_exc()
            with contextlib.suppress(OSError):
                os.write(self.err_fd, msg.encode()[:4000])
            raise
        os.close(self.err_fd)

    def _enter(self) -> None:
        if self.controlling_tty:
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)
        _check(_libc.unshare(CLONE_NEWNS), "unshare mount namespace")
        _mount(None, "/", None, MS_REC | MS_PRIVATE, None)
        for m in self.mounts:
            try:
                self.host_fds.append(os.open(m.host_dir, os.O_PATH))
            except OSError as exc:
                raise OSError(exc.errno, f"volume source {m.host_dir}: {exc.strerror}") from exc
        self._mirror_root()
        os.chroot(self.root)
        os.chdir("/")
        order = sorted(range(len(self.mounts)), key=lambda i: self.mounts[i].mount_path.count("/"))
        for i in order:
            self._mount_volume(self.mounts[i], f"/proc/self/fd/{self.host_fds[i]}")
        for fd in self.host_fds:
            os.close(fd)
        if self.read_only_root:
            for path, kind in sorted(self.kinds.items()):
                if kind != "volume" and path.split("/")[1] not in ("dev", "proc", "sys"):
                    _remount_ro(path)
        if self.uid is not None:
            os.setgroups(list(self.groups))
            os.setgid(self.gid)
            os.setuid(self.uid)
        try:
            os.chdir(self.workdir)
        except OSError as exc:
            raise OSError(
                exc.errno,
                f"chdir to cwd ({json.dumps(self.workdir)}) set in config.json failed: "
                f"{os.strerror(exc.errno or errno.EIO).lower()}",
            ) from exc

    def _mirror_root(self) -> None:
        _mount("tmpfs", self.root, "tmpfs", 0, "mode=755")
        self.kinds["/"] = "ours"
        for name in sorted(os.listdir("/")):
            src = "/" + name
            dst = os.path.join(self.root, name)
            if _placeholder_like(src, dst):
                _bind(src, dst)
                self.kinds[src] = "host"
                if self.root.startswith(src + "/"):
                    # The recursive bind copied the half-built root into itself: drop the copy.
                    _umount_detach(self.root + self.root)

    def _owner(self, path: str) -> str:
        best = "/"
        for p in self.kinds:
            if (path == p or path.startswith(p.rstrip("/") + "/")) and len(p) > len(best):
                best = p
        return self.kinds[best]

    def _shadow(self, d: str) -> None:
        """Replace host directory d (inside the namespace) by a tmpfs mirroring its entries."""
        stage = "/.kubesim-stage"
        os.mkdir(stage, 0o700)
        _bind(d, stage)
        mode = stat.S_IMODE(os.stat(stage).st_mode)
        _mount("tmpfs", d, "tmpfs", 0, f"mode={mode:o}")
        self.kinds[d] = "ours"
        for name in os.listdir(stage):
            if _placeholder_like(os.path.join(stage, name), os.path.join(d, name)):
                _bind(os.path.join(stage, name), os.path.join(d, name))
                self.kinds[os.path.join(d, name)] = "host"
        _umount_detach(stage)
        os.rmdir(stage)

    def _ensure_dir(self, path: str) -> str:
        cur = "/"
        for comp in [c for c in path.split("/") if c]:
            nxt = os.path.join(cur, comp)
            if os.path.islink(nxt):
                nxt = os.path.realpath(nxt)
            if os.path.isdir(nxt):
                cur = nxt
                continue
            if os.path.lexists(nxt):
                raise NotADirectoryError(errno.ENOTDIR, f"mount point {path}: not a directory")
            if self._owner(cur) == "host":
                self._shadow(cur)
            os.mkdir(nxt, 0o755)
            cur = nxt
        return cur

    def _mount_volume(self, m: Mount, src: str) -> None:
        if not os.path.isdir(src):  # a single file (subPath of a file)
            parent = self._ensure_dir(os.path.dirname(m.mount_path.rstrip("/")) or "/")
            dst = os.path.join(parent, os.path.basename(m.mount_path.rstrip("/")))
            if not os.path.lexists(dst):
                if self._owner(parent) == "host":
                    self._shadow(parent)
                with open(dst, "wb"):
                    pass
            _bind(src, dst)
            if m.read_only:
                _remount_ro(dst)
            return
        dst = self._ensure_dir(m.mount_path)
        if m.disk_size_bytes is not None or m.disk_used_percent is not None:
            self._mount_full_disk(m, src, dst)
        else:
            _bind(src, dst)
        if m.read_only:
            _remount_ro(dst)
        self.kinds[dst] = "volume"

    def _mount_full_disk(self, m: Mount, src: str, dst: str) -> None:
        content = _tree_bytes(src)
        pct = m.disk_used_percent
        size = m.disk_size_bytes
        if size is None:
            wanted = content * 100 // max(pct or 50, 1)
            size = max(16 << 20, wanted + (1 << 20))
        stage = "/.kubesim-disk"
        os.mkdir(stage, 0o700)
        _mount("tmpfs", stage, "tmpfs", 0, f"size={size},mode=700")
        data = os.path.join(stage, "data")
        os.mkdir(data)
        shutil.copystat(src, data)
        with contextlib.suppress(OSError):  # a copy that does not fit is a full disk too
            shutil.copytree(src, data, symlinks=True, dirs_exist_ok=True)
        _copy_owners(src, data)
        if pct is not None:
            sv = os.statvfs(stage)
            total = sv.f_blocks * sv.f_frsize
            used = (sv.f_blocks - sv.f_bfree) * sv.f_frsize
            ballast = total * pct // 100 - used
            if ballast > 0:
                fd = os.open(os.path.join(stage, "ballast"), os.O_CREAT | os.O_WRONLY, 0o600)
                try:
                    with contextlib.suppress(OSError):
                        os.posix_fallocate(fd, 0, ballast)
                finally:
                    os.close(fd)
        _bind(data, dst)
        _umount_detach(stage)
        os.rmdir(stage)


def _copy_owners(src: str, dst: str) -> None:
    """Give the copy the owners of the original (a database user must still write there)."""
    st = os.stat(src)
    os.chown(dst, st.st_uid, st.st_gid)
    for dirpath, dirs, files in os.walk(src):
        rel = os.path.relpath(dirpath, src)
        for name in dirs + files:
            with contextlib.suppress(OSError):
                st = os.lstat(os.path.join(dirpath, name))
                os.lchown(os.path.join(dst, rel, name), st.st_uid, st.st_gid)


def _tree_bytes(top: str) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(top):
        for f in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, f)).st_size
    return total


# --------------------------------------------------------------------------- process handling


def _mnt_ns(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/mnt")
    except OSError:
        return None


def _pids_in_ns(ns: str) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and _mnt_ns(int(entry)) == ns:
            pids.append(int(entry))
    return pids


_BACKGROUND: set[asyncio.Future[None]] = set()
_ROOTS: set[str] = set()
"""Chroot mount points on the host not yet removed."""
_LIVE: dict[int, tuple[asyncio.subprocess.Process, str | None]] = {}
"""pid -> (process, mount namespace) of every exec not yet cleaned up."""


@atexit.register
def _kill_live_at_exit() -> None:
    """A server that stops mid-exec must not leave the processes (or chroot dirs) behind."""
    namespaces = [ns for _proc, ns in _LIVE.values() if ns is not None]
    for proc, ns in list(_LIVE.values()):
        _kill_all(proc, ns)
    for _ in range(50):
        if not any(_pids_in_ns(ns) for ns in namespaces):
            break
        time.sleep(0.02)
    for root in list(_ROOTS):
        _rmdir(root)


async def _terminate(proc: asyncio.subprocess.Process, ns: str | None) -> None:
    """SIGTERM the process group, SIGKILL it (and anything left in the namespace) after a grace."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(asyncio.shield(proc.wait()), KILL_GRACE_SECONDS)
    _kill_all(proc, ns)
    await proc.wait()


def _kill_all(proc: asyncio.subprocess.Process, ns: str | None) -> None:
    """SIGKILL the exec's process group and everything left in its mount namespace.

    The group is signalled only while its leader is not reaped: pids are reused
    (pid_max is 32768 here), and a freed pid may already lead another exec's group.
    What outlives the leader is found through the namespace, which the session
    holds open (``_Session.ns_fd``), so its identity cannot be reused meanwhile.
    """
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    if ns is not None and ns != _mnt_ns(os.getpid()):
        for pid in _pids_in_ns(ns):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


def _container_env(req: ExecRequest) -> dict[str, str]:
    env = {"PATH": _default_path(), "HOSTNAME": req.pod, "HOME": "/root", "LANG": "C.UTF-8"}
    env.update(req.env)
    return env


class _Cut(Exception):
    """cut_after_bytes reached: drop the connection."""


class _Gone(Exception):
    """The client went away."""


class _Pty:
    """The master side of the terminal of an exec with tty=true (stdout and stderr merged)."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        os.set_blocking(self.master, False)
        self._pending = b""
        self._closed = False

    async def read(self, n: int) -> bytes:
        loop = asyncio.get_running_loop()
        while True:
            try:
                return os.read(self.master, n)
            except BlockingIOError:
                ready = loop.create_future()
                loop.add_reader(self.master, ready.set_result, None)
                try:
                    await ready
                finally:
                    loop.remove_reader(self.master)
            except OSError as exc:  # EIO: every slave fd is closed
                if exc.errno == errno.EIO:
                    return b""
                raise

    def write(self, data: bytes) -> None:
        self._pending += data

    async def drain(self) -> None:
        loop = asyncio.get_running_loop()
        data, self._pending = self._pending, b""
        while data:
            try:
                data = data[os.write(self.master, data) :]
            except BlockingIOError:
                ready = loop.create_future()
                loop.add_writer(self.master, ready.set_result, None)
                try:
                    await ready
                finally:
                    loop.remove_writer(self.master)
            except OSError as exc:
                raise BrokenPipeError(exc.errno, exc.strerror) from exc

    def resize(self, payload: bytes) -> None:
        """Channel 4: {"Width": cols, "Height": rows}."""
        with contextlib.suppress(ValueError, TypeError, OSError):
            size = json.loads(payload)
            rows, cols = int(size["Height"]), int(size["Width"])
            fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            with contextlib.suppress(OSError):
                os.close(self.master)
            with contextlib.suppress(OSError):
                os.close(self.slave)


@dataclass
class _Session:
    request: web.Request
    req: ExecRequest
    ws: web.WebSocketResponse
    proc: asyncio.subprocess.Process | None = None
    ns: str | None = None
    ns_fd: int = -1
    """Held open from spawn to the end of cleanup: a live namespace keeps its inode
    number, so ``ns`` cannot name another exec's namespace (the kernel reuses the
    numbers of freed namespaces at once, and killing "everything in ns" would then
    kill a later exec's processes)."""
    root: str | None = None
    sent: int = 0
    finishing: bool = False
    pty: _Pty | None = None
    early: list[bytes] = field(default_factory=list)
    """Client messages read before the process started (tty: waiting for the size)."""

    async def first_resize(self, timeout: float) -> bool:
        """tty: wait briefly for kubectl's initial window size, so the process starts with it.

        Other messages are kept for feed_stdin. False if the client went away.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (left := deadline - loop.time()) > 0:
            try:
                msg = await self.ws.receive(timeout=left)
            except asyncio.TimeoutError:
                break
            if msg.type == web.WSMsgType.TEXT:
                continue
            if msg.type != web.WSMsgType.BINARY:
                return False
            payload: bytes = msg.data
            if payload[:1] == bytes([CH_RESIZE]) and self.pty is not None:
                self.pty.resize(payload[1:])
                return True
            self.early.append(payload)
        return True

    async def send(self, channel: int, data: bytes) -> None:
        limit = self.req.cut_after_bytes
        cut = False
        if limit is not None and self.sent + len(data) >= limit:
            data = data[: max(limit - self.sent, 0)]
            cut = True
        self.sent += len(data)
        if data:
            try:
                await self.ws.send_bytes(bytes([channel]) + data)
            except (ConnectionError, RuntimeError) as exc:
                raise _Gone from exc
        if cut:
            raise _Cut

    async def send_status(self, status: dict[str, Any]) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.ws.send_bytes(bytes([CH_STATUS]) + json.dumps(status).encode())

    async def pump(self, reader: asyncio.StreamReader | _Pty | None, channel: int) -> None:
        if reader is None:
            return
        while True:
            data = await reader.read(CHUNK)
            if not data:
                return
            await self.send(channel, data)

    async def feed_stdin(self) -> None:
        """Read client frames; returns only when the client disconnected."""
        stdin: asyncio.StreamWriter | _Pty | None = self.pty
        if self.pty is None and self.proc is not None:
            stdin = self.proc.stdin
        while True:
            if self.early:
                payload = self.early.pop(0)
            else:
                msg = await self.ws.receive()
                if msg.type != web.WSMsgType.BINARY:
                    if msg.type == web.WSMsgType.TEXT:
                        continue
                    if self.finishing:
                        await asyncio.Event().wait()  # our own close(): let serve() finish
                    return
                payload = msg.data
            if not payload:
                continue
            channel, data = payload[0], payload[1:]
            if channel == CH_STDIN and stdin is not None and data:
                try:
                    stdin.write(data)
                    await stdin.drain()
                except (ConnectionError, RuntimeError):
                    stdin = None  # the process closed its stdin; drop the rest
            elif channel == CH_CLOSE and data[:1] == bytes([CH_STDIN]) and stdin is not None:
                if stdin is not self.pty:  # a terminal stays open, as in a runtime
                    stdin.close()
                stdin = None
            elif channel == CH_RESIZE and self.pty is not None:
                self.pty.resize(data)

    async def watch_transport(self) -> None:
        """Return once the connection is gone, even while a stdin write is blocked.

        While stdin is blocked, aiohttp stops reading the socket (flow control), so
        the event loop never sees the peer's FIN; poll the socket for it instead.
        Also return when the server shuts down (aiohttp marks the connection
        ``_force_close`` and would otherwise wait for this handler up to a minute).
        """
        poller = select.poll()
        transport = self.request.transport
        sock = transport.get_extra_info("socket") if transport is not None else None
        if sock is not None:
            poller.register(sock.fileno(), select.POLLRDHUP)
        hangup = select.POLLRDHUP | select.POLLHUP | select.POLLERR
        while True:
            transport = self.request.transport
            if transport is None or transport.is_closing():
                return
            if getattr(self.request.protocol, "_force_close", False):
                return
            if sock is not None and any(ev & hangup for _fd, ev in poller.poll(0)):
                return
            await asyncio.sleep(0.25)

    async def abort(self) -> None:
        """Flush what was sent, then drop the TCP connection: no status, no close frame."""
        transport = self.request.transport
        if transport is None:
            return
        for _ in range(200):
            if transport.is_closing() or transport.get_write_buffer_size() == 0:
                break
            await asyncio.sleep(0.01)
        transport.abort()


async def _spawn(session: _Session) -> dict[str, Any] | None:
    """Start the process; a Status when it could not start."""
    req = session.req
    os.makedirs(_WORK_DIR, exist_ok=True)
    _sweep_stale_roots()
    root = tempfile.mkdtemp(prefix="root-", dir=_WORK_DIR)
    _ROOTS.add(root)
    rfd, wfd = os.pipe()
    cfs = ContainerFS(root=root, mounts=list(req.mounts), workdir=req.workdir or "/", err_fd=wfd)
    devnull = subprocess.DEVNULL
    pipe = subprocess.PIPE
    stdio: dict[str, Any] = {
        "stdin": pipe if req.stdin else devnull,
        "stdout": pipe if req.stdout else devnull,
        "stderr": pipe if req.stderr else devnull,
    }
    env = _container_env(req)
    if session.pty is not None:
        cfs.controlling_tty = True
        stdio = dict.fromkeys(stdio, session.pty.slave)
        env.setdefault("TERM", "xterm")
    try:
        session.proc = await asyncio.create_subprocess_exec(
            *req.command,
            **stdio,
            env=env,
            preexec_fn=cfs.enter,
            pass_fds=(wfd,),
            start_new_session=True,
            limit=2 * CHUNK,
        )
    except OSError as exc:
        return start_failure_status(exec_error_message(req.command[0], exc))
    except subprocess.SubprocessError:
        os.close(wfd)
        wfd = -1
        with os.fdopen(rfd, "rb") as f:
            rfd = -1
            detail = f.read().decode(errors="replace").strip() or "container setup failed"
        return start_failure_status(detail)
    finally:
        if wfd >= 0:
            os.close(wfd)
        if rfd >= 0:
            os.close(rfd)
        if session.proc is None:
            _rmdir(root)
            if session.pty is not None:
                session.pty.close()
        elif session.pty is not None:
            os.close(session.pty.slave)  # the master reads EIO once the process side is gone
            session.pty.slave = -1
    session.root = root
    try:
        session.ns_fd = os.open(f"/proc/{session.proc.pid}/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        session.ns = None  # already gone: only its process group is left to kill
    else:
        session.ns = _mnt_ns(session.proc.pid)
    return None


def _rmdir(root: str) -> None:
    """Remove the chroot mount point on the host (empty there; the tmpfs lives in the namespace).

    Only once the namespace is gone: removing a mount point that another
    namespace uses detaches that namespace's mount.
    """
    _ROOTS.discard(root)
    with contextlib.suppress(OSError):
        os.rmdir(root)


_last_sweep = 0.0
STALE_ROOT_SECONDS = 120.0


def _sweep_stale_roots() -> None:
    """Remove chroot dirs that a killed server left behind (no process uses them as root)."""
    global _last_sweep
    now = time.time()
    if now - _last_sweep < STALE_ROOT_SECONDS / 2:
        return
    _last_sweep = now
    in_use = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                in_use.add(os.readlink(f"/proc/{entry}/root"))
    with contextlib.suppress(OSError):
        for name in os.listdir(_WORK_DIR):
            path = os.path.join(_WORK_DIR, name)
            with contextlib.suppress(OSError):
                if (
                    name.startswith("root-")
                    and path not in in_use
                    and now - os.stat(path).st_mtime > STALE_ROOT_SECONDS
                ):
                    os.rmdir(path)


def _spawn_bg(coro: Any) -> None:
    task = asyncio.ensure_future(coro)
    _BACKGROUND.add(task)
    task.add_done_callback(_BACKGROUND.discard)


def _status_body(status: dict[str, Any]) -> bytes:
    return json.dumps({"kind": "Status", "apiVersion": "v1", **status}).encode()


async def serve(request: web.Request, req: ExecRequest) -> web.StreamResponse:
    """Upgrade to WebSocket v5 and run req.command as a local process."""
    ws = web.WebSocketResponse(protocols=(PROTOCOL,), autoping=True, compress=False)
    ready = ws.can_prepare(request)
    if not ready.ok or ready.protocol != PROTOCOL:
        # A plain GET gets the apiserver's answer; a WebSocket without v5 cannot be served.
        msg = "Upgrade request required" if not ready.ok else f"kubesim speaks only {PROTOCOL}"
        return web.Response(
            status=400,
            body=_status_body(
                {
                    "metadata": {},
                    "status": "Failure",
                    "message": msg,
                    "reason": "BadRequest",
                    "code": 400,
                }
            ),
            content_type="application/json",
        )
    await ws.prepare(request)
    session = _Session(request=request, req=req, ws=ws)
    if not req.command:
        await session.send_status(internal_error_status("command is empty"))
        await ws.close()
        return ws
    if req.tty:
        session.pty = _Pty()
        if not await session.first_resize(TTY_SIZE_WAIT_SECONDS):
            session.pty.close()
            return ws
    status = await _spawn(session)
    if status is not None:
        await session.send_status(status)
        await ws.close()
        return ws
    proc = session.proc
    assert proc is not None
    _LIVE[proc.pid] = (proc, session.ns)
    freeze.register(proc.pid, session.ns, (m.host_dir for m in req.mounts))
    try:
        await _run(session, proc)
    finally:
        if proc.returncode is None:
            # Synchronous first step: it happens even if the loop stops right after.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGTERM)
        _spawn_bg(_cleanup(session, proc))
    return ws


async def _cleanup(session: _Session, proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        await _terminate(proc, session.ns)
    _kill_all(proc, session.ns)
    _LIVE.pop(proc.pid, None)
    freeze.unregister(proc.pid)
    if session.pty is not None:
        session.pty.close()
    if session.root is not None:
        for _ in range(50):  # leftovers die asynchronously; the namespace goes with the last one
            if session.ns is None or not _pids_in_ns(session.ns):
                break
            await asyncio.sleep(0.02)
        _rmdir(session.root)
    if session.ns_fd >= 0:
        os.close(session.ns_fd)
        session.ns_fd = -1


async def _run(session: _Session, proc: asyncio.subprocess.Process) -> None:
    pumps = [
        asyncio.ensure_future(session.pump(session.pty or proc.stdout, CH_STDOUT)),
        asyncio.ensure_future(session.pump(None if session.pty else proc.stderr, CH_STDERR)),
    ]
    reader = asyncio.ensure_future(session.feed_stdin())
    gone = asyncio.ensure_future(session.watch_transport())
    exited = asyncio.ensure_future(proc.wait())
    loop = asyncio.get_running_loop()
    deadline: float | None = None
    killed_leftovers = False
    try:
        while True:
            for t in pumps:
                exc = t.exception() if t.done() and not t.cancelled() else None
                if isinstance(exc, _Cut):
                    _kill_all(proc, session.ns)
                    await session.abort()
                    return
                if exc is not None:
                    return  # the client is gone: _cleanup kills the process
            if reader.done() or gone.done():
                # The client disconnected, or the server is stopping: drop the
                # connection (no close frame, so a client still there fails).
                if session.request.transport is not None:
                    session.request.transport.abort()
                return
            pending = [t for t in pumps if not t.done()]
            if exited.done() and not pending:
                break
            timeout = None
            if exited.done():
                # A background child may hold stdout/stderr open: kill what is
                # left in the namespace after a grace, then stop waiting.
                if deadline is None:
                    deadline = loop.time() + OUTPUT_GRACE_SECONDS
                timeout = deadline - loop.time()
                if timeout <= 0:
                    if killed_leftovers:
                        break
                    _kill_all(proc, session.ns)
                    killed_leftovers = True
                    deadline = loop.time() + OUTPUT_GRACE_SECONDS
                    timeout = OUTPUT_GRACE_SECONDS
            await asyncio.wait(
                [*pending, reader, gone, exited],
                timeout=timeout,
                return_when=asyncio.FIRST_COMPLETED,
            )
        code = proc.returncode
        assert code is not None
        if code < 0:
            code = 128 - code  # killed by a signal: runc reports 128+signal
        session.finishing = True
        await session.send_status(_SUCCESS if code == 0 else exit_status(session.req.command, code))
        await session.ws.close()
    finally:
        tasks: list[asyncio.Future[Any]] = [*pumps, reader, gone, exited]
        for fut in tasks:
            if not fut.done():
                fut.cancel()
        for fut in tasks:
            with contextlib.suppress(BaseException):
                await fut


__all__ = ["PROTOCOL", "ContainerFS", "serve"]
