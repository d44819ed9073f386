"""The contract between the API server (routing.py) and the exec engine (exec.py).

routing.py resolves the pod and container (podenv.py their env and mounts), then
hands an ExecRequest to ``exec.serve(request, exec_request)``, which owns everything
from the WebSocket upgrade on.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Mount:
    """One volume of the pod as the container sees it."""

    host_dir: str
    """Directory on this machine that backs the volume (PVC dir, emptyDir dir, hostPath)."""
    mount_path: str
    """Absolute path inside the 'container' where the volume appears."""
    read_only: bool = False
    disk_size_bytes: int | None = None
    """Disk fault: when set, the volume is a tmpfs of this size (so writes past it
    fail with ENOSPC), pre-filled with the host_dir's files."""
    disk_used_percent: int | None = None
    """Disk fault: when set (with or without disk_size_bytes), the tmpfs is filled
    with a ballast file so that ``df`` reports about this use."""


@dataclass(frozen=True)
class ExecRequest:
    namespace: str
    pod: str
    container: str
    command: list[str]
    stdin: bool
    stdout: bool
    stderr: bool
    tty: bool
    env: dict[str, str] = field(default_factory=dict)
    """The container's environment (pod spec env, valueFrom resolved)."""
    mounts: list[Mount] = field(default_factory=list)
    workdir: str | None = None
    cut_after_bytes: int | None = None
    """Fault: close the connection abruptly (no status, no close frame) after
    this many bytes of stdout+stderr were sent."""
