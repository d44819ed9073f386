"""Snapshots cut at one instant, as a block device's: the volume's users stand still.

A real CSI snapshot is a single point in time of the whole volume. kubesim's is a
directory copy that takes as long as the data is large, so a process writing to the
volume meanwhile would leave a copy that no instant ever held (a torn copy: one file
before a change, another after it). While it copies, kubesim stops every process that
has the volume mounted (SIGSTOP, as a filesystem freeze makes writers wait) and lets
them go on afterwards (SIGCONT). A write already in a system call finishes first: a
stop takes effect on the way back to user space, and the copy starts only when every
process reports itself stopped.

Which processes: those in the mount namespace of a container (kubelet.py) or an exec
(exec.py) whose volumes include the snapshotted one; both register here while they
run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterable, Iterator

STOP_WAIT_SECONDS = 10.0
"""How long to wait for a stopped process to report itself stopped (one in
uninterruptible I/O takes until the I/O ends)."""

_USERS: dict[int, tuple[str, tuple[str, ...]]] = {}
"""leader pid -> (mount namespace, host directories of its volumes)."""


def register(pid: int, mount_ns: str | None, host_dirs: Iterable[str]) -> None:
    """A container or exec (its first process) runs with these volumes mounted."""
    if mount_ns is not None:
        _USERS[pid] = (mount_ns, tuple(os.path.realpath(d) for d in host_dirs))


def unregister(pid: int) -> None:
    _USERS.pop(pid, None)


def _overlaps(a: str, b: str) -> bool:
    return a == b or a.startswith(b + os.sep) or b.startswith(a + os.sep)


def _pids_in(namespaces: set[str]) -> set[int]:
    me = os.getpid()
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{entry}/ns/mnt") in namespaces:
                found.add(int(entry))
    return found


def _state(pid: int) -> str:
    """The process's state letter from /proc (T: stopped); "" when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


def users_of(*volume_dirs: str) -> set[str]:
    """The mount namespaces that have one of volume_dirs (or a directory inside) mounted."""
    vols = [os.path.realpath(v) for v in volume_dirs]
    return {
        ns for ns, dirs in list(_USERS.values()) if any(_overlaps(v, d) for v in vols for d in dirs)
    }


@contextlib.contextmanager
def stopped(*volume_dirs: str) -> Iterator[set[int]]:
    """Every process using one of volume_dirs is stopped inside the block (a group of
    volumes is cut at one instant too); their pids are yielded."""
    namespaces = users_of(*volume_dirs)
    held: set[int] = set()
    try:
        # A process may fork while we stop the others: look again until nothing is new.
        while namespaces:
            new = _pids_in(namespaces) - held
            if not new:
                break
            for pid in new:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGSTOP)
                    held.add(pid)
        deadline = time.monotonic() + STOP_WAIT_SECONDS
        for pid in held:
            while _state(pid) not in ("T", "t", "Z", "X", "") and time.monotonic() < deadline:
                time.sleep(0.001)
        yield held
    finally:
        for pid in held:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGCONT)
