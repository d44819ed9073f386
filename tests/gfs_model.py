"""An independent Python model of the controller's GFS retention, for the property test.

Written from the rules in the README, not from the awk program: per (namespace, PVC)
the *ready* snapshots of the newest N periods keep each period label (two ready copies
of one period count once); a daily_weekly_monthly snapshot left without one (or a
failed one) is marked ``delete-after=<today>``; a failed mark on a snapshot that is
ready and not failed any more is withdrawn (its labels stay; one without a period label
is marked expired instead); a marked snapshot is deleted once that day is past, except
the newest ready one of its PVC, below ``minReady`` ready ones, one with ``keep=true``,
and beyond the per-run deletion cap (oldest first, PVCs by name).

Failed, for the namespace script and the controller alike: ``status.error``, labelled
``failed=true``, or not ready after ``failed_after``. A snapshot holds its period (for
the script's labels and the controller's counts) only while it is ready and not failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

KINDS = ("daily", "weekly", "monthly")


@dataclass
class Snap:
    ns: str
    pvc: str
    name: str
    created: datetime
    ready: bool = True
    error: bool = False
    failed_label: bool = False
    keep: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    """The period labels (daily/weekly/monthly) and delete-after / delete-reason."""

    @property
    def group(self) -> str:
        return f"{self.ns}/{self.pvc}"

    def order(self) -> tuple[datetime, str]:
        return (self.created, self.name)


def period_values(when: datetime) -> dict[str, str]:
    year, week, _ = when.isocalendar()
    return {
        "daily": when.strftime("%Y-%m-%d"),
        "weekly": f"{year:04d}-w{week:02d}",
        "monthly": when.strftime("%Y-%m"),
    }


@dataclass
class Model:
    keep: dict[str, tuple[int, int, int]]
    """Per namespace: (daily, weekly, monthly); others use ``default``."""
    default: tuple[int, int, int] = (7, 4, 12)
    min_ready: int = 1
    max_deletions: int = 50
    failed_after: timedelta = timedelta(hours=24)
    max_skew_days: int = 30
    snaps: dict[tuple[str, str], Snap] = field(default_factory=dict)

    # -- the namespace script's side ----------------------------------------------------
    def holds(self, s: Snap) -> bool:
        """The namespace script's view (periods_load): ready, no error, not labelled
        failed. The controller's failed mark is no part of it."""
        return s.ready and not s.error and not s.failed_label

    def backup(self, snap: Snap) -> Snap:
        """Add a snapshot, labelled with each period no ready, unfailed snapshot of its
        PVC holds yet (as the namespace script does)."""
        taken = {
            (kind, s.labels[kind])
            for s in self.snaps.values()
            if s.group == snap.group and self.holds(s)
            for kind in KINDS
            if kind in s.labels
        }
        if not snap.failed_label:  # a failed run gives its period labels up
            for kind, value in period_values(snap.created).items():
                if (kind, value) not in taken:
                    snap.labels[kind] = value
        self.snaps[(snap.ns, snap.name)] = snap
        return snap

    # -- the controller --------------------------------------------------------------------
    def failed(self, s: Snap, now: datetime) -> bool:
        return s.error or s.failed_label or (not s.ready and now - s.created > self.failed_after)

    def countable(self, s: Snap, now: datetime) -> bool:
        return s.ready and not self.failed(s, now)

    def clock_ok(self, now: datetime) -> bool:
        if not self.snaps:
            return True
        newest = max(s.created for s in self.snaps.values()).date()
        gap = (now.date() - newest).days
        return 0 <= gap <= self.max_skew_days

    def run(self, now: datetime, restoring: frozenset[tuple[str, str]] = frozenset()) -> int:
        """One controller run at ``now`` (UTC). Returns the number of deletions held back
        by the cap (the run then fails after deleting up to it)."""
        if not self.clock_ok(now):
            return 0
        today = now.date().isoformat()
        groups: dict[str, list[Snap]] = {}
        for s in self.snaps.values():
            groups.setdefault(s.group, []).append(s)
        for members in groups.values():
            members.sort(key=Snap.order, reverse=True)  # newest first
        # retain
        for members in groups.values():
            ns = members[0].ns
            counts = dict(zip(KINDS, self.keep.get(ns, self.default), strict=True))
            for kind in KINDS:
                holders = [
                    s for s in members if kind in s.labels and self.countable(s, now) and not s.keep
                ]
                kept = sorted({s.labels[kind] for s in holders}, reverse=True)[: counts[kind]]
                for s in holders:
                    if s.labels[kind] not in kept:
                        del s.labels[kind]
        # mark
        for s in self.snaps.values():
            if s.keep:
                continue
            da = s.labels.get("delete-after")
            reason = s.labels.get("delete-reason")
            if da is not None and reason == "failed" and s.ready and not self.failed(s, now):
                del s.labels["delete-after"], s.labels["delete-reason"]  # ready since: withdrawn
                da = None
            if self.failed(s, now):
                if da is None or da > today:
                    s.labels["delete-after"], s.labels["delete-reason"] = today, "failed"
            elif da is None and s.ready and not any(kind in s.labels for kind in KINDS):
                s.labels["delete-after"], s.labels["delete-reason"] = today, "expired"
        # sweep
        deleted = capped = 0
        for g in sorted(groups):
            members = groups[g]
            ready = [s for s in members if self.countable(s, now)]
            left = len(ready)
            top = ready[0] if ready else None
            for s in reversed(members):  # oldest first
                da = s.labels.get("delete-after")
                if s.keep or da is None or not da < today:
                    continue
                if (s.ns, s.name) in restoring or s is top:
                    continue
                if self.countable(s, now) and left - 1 < self.min_ready:
                    continue
                if deleted >= self.max_deletions:
                    capped += 1
                    continue
                deleted += 1
                if self.countable(s, now):
                    left -= 1
                del self.snaps[(s.ns, s.name)]
        return capped

    def view(self) -> dict[tuple[str, str], dict[str, str]]:
        """What the comparison looks at: every snapshot and its retention labels."""
        return {key: dict(s.labels) for key, s in self.snaps.items()}
