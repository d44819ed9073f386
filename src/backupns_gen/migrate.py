"""Keys of earlier releases that are still read, turned into today's keys (with a warning).

``flock: {enabled, slots, dir, hostPath, timeout}`` became ``lock: {mode, slots, timeout,
leaseDuration, dir, hostPath}`` when the default lock moved from a node's hostPath to
``coordination.k8s.io`` Leases (so that the job passes Pod Security "restricted").
"""

from __future__ import annotations

from typing import Any

from .errors import Problem


def _flow(mapping: dict[str, Any]) -> str:
    """A YAML flow mapping of simple scalars (for a message the user can paste)."""
    parts = []
    for key, value in mapping.items():
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        parts.append(f"{key}: {text}")
    return "{" + ", ".join(parts) + "}"


def migrate_flock(
    entry: dict[str, Any], path: str
) -> tuple[dict[str, Any], list[Problem], list[str]]:
    """``entry`` with a ``flock`` block rewritten as ``lock`` (problems, warnings)."""
    if "flock" not in entry:
        return entry, [], []
    flock = entry["flock"]
    where = f"{path}.flock" if path else "flock"
    if "lock" in entry:
        return entry, [Problem(where, "is the old name of lock: keep only lock")], []
    if not isinstance(flock, dict):
        return entry, [Problem(where, "is not a mapping (and is the old name of lock)")], []
    enabled = flock.get("enabled", True)
    if not isinstance(enabled, bool):
        return entry, [Problem(f"{where}.enabled", f'"{enabled}" is not true or false')], []
    lock: dict[str, Any] = {"mode": "flock" if enabled else "none"}
    for key, value in flock.items():
        if key != "enabled":
            lock[key] = value
    migrated = {
        ("lock" if k == "flock" else k): (lock if k == "flock" else v) for k, v in entry.items()
    }
    if enabled:
        lease = {"mode": "lease", **{k: v for k, v in lock.items() if k in ("slots", "timeout")}}
        hint = (
            f"write lock: {_flow(lock)} to keep the node's hostPath flock (root, Pod Security "
            f'"privileged"), or lock: {_flow(lease)} for Lease slots that pass "restricted"'
        )
    else:
        hint = "write lock: {mode: none}"
    return migrated, [], [f"{where}: is deprecated (renamed to lock): {hint}"]
