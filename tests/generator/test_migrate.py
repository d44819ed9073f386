"""migrate: the ``flock`` block of earlier releases is read as ``lock``, with a warning
that says what to write instead."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from backupns_gen.errors import Problem
from backupns_gen.loader import parse_config
from backupns_gen.migrate import migrate_flock

IMAGE = "defaults:\n  image: registry.example.com/backup-ns-runtime:1.33.5-1\n"


def test_old_flock_block_is_read_as_lock_with_a_warning() -> None:
    config = parse_config(
        yaml.safe_load(
            IMAGE + "  flock: {enabled: true, slots: 3, dir: /locks, hostPath: /var/locks, "
            "timeout: 45m}\n"
            "namespaces:\n  a: {pvcs: [d]}\n  b: {pvcs: [d], flock: {enabled: false}}\n"
            "controller: {image: registry.example.com/backup-ns-runtime:1.33.5-1}\n"
        )
    )
    a, b = config.namespaces["a"].lock, config.namespaces["b"].lock
    assert (a.mode, a.slots, a.dir, a.host_path, a.timeout) == (
        "flock",
        3,
        "/locks",
        "/var/locks",
        "45m",
    )
    assert b.mode == "none"
    assert config.warnings == (
        "defaults.flock: is deprecated (renamed to lock): write lock: {mode: flock, slots: 3, "
        "dir: /locks, hostPath: /var/locks, timeout: 45m} to keep the node's hostPath flock "
        '(root, Pod Security "privileged"), or lock: {mode: lease, slots: 3, timeout: 45m} '
        'for Lease slots that pass "restricted"',
        "namespaces.b.flock: is deprecated (renamed to lock): write lock: {mode: none}",
    )


def test_an_entry_without_flock_is_returned_unchanged() -> None:
    entry = {"pvcs": ["data"], "lock": {"mode": "lease"}}
    assert migrate_flock(entry, "namespaces.a") == (entry, [], [])


def test_flock_keys_keep_their_order_and_the_block_its_place() -> None:
    entry = {"pvcs": ["d"], "flock": {"slots": 4, "enabled": True}, "schedule": "H 3 * * *"}
    migrated, problems, warnings = migrate_flock(entry, "")
    assert list(migrated) == ["pvcs", "lock", "schedule"]
    assert migrated["lock"] == {"mode": "flock", "slots": 4}
    assert problems == []
    assert warnings == [
        "flock: is deprecated (renamed to lock): write lock: {mode: flock, slots: 4} to keep "
        'the node\'s hostPath flock (root, Pod Security "privileged"), or lock: '
        '{mode: lease, slots: 4} for Lease slots that pass "restricted"'
    ]


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        (
            {"flock": {"slots": 1}, "lock": {"slots": 1}},
            Problem("defaults.flock", "is the old name of lock: keep only lock"),
        ),
        (
            {"flock": "yes"},
            Problem("defaults.flock", "is not a mapping (and is the old name of lock)"),
        ),
        (
            {"flock": {"enabled": "yes"}},
            Problem("defaults.flock.enabled", '"yes" is not true or false'),
        ),
    ],
)
def test_a_flock_block_that_cannot_be_migrated_is_a_problem(
    entry: dict[str, Any], problem: Problem
) -> None:
    assert migrate_flock(entry, "defaults") == (entry, [problem], [])
