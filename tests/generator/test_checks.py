"""checks: the cross-field checks run after the model validated, each giving a Problem
at the path of the value to change."""

from __future__ import annotations

from typing import Any

from backupns_gen import checks
from backupns_gen.config import ControllerConfig, NamespaceConfig
from backupns_gen.errors import Problem


def namespace_problems(**entry: Any) -> list[Problem]:
    ns = NamespaceConfig.model_validate({"pvcs": ["data"], **entry})
    return checks.check_namespace("shop", ns)


def test_a_valid_namespace_has_no_problem() -> None:
    assert namespace_problems() == []


def test_the_longest_job_name_leaves_room_for_the_pod_suffixes() -> None:
    """<job>-<10 digits>-<5 characters> must fit a label value (63 characters)."""
    assert checks.MAX_JOB_NAME == 46
    assert namespace_problems(job={"name": "j" * 46}) == []
    (problem,) = namespace_problems(job={"name": "j" * 47})
    assert problem.path == "namespaces.shop.job.name"
    assert problem.message.startswith('"' + "j" * 47 + '" is too long (at most 46 characters)')


def test_a_pvc_listed_twice() -> None:
    assert namespace_problems(pvcs=["data", "www", "data"]) == [
        Problem("namespaces.shop.pvcs[2]", '"data" is listed twice')
    ]


def test_a_database_pvc_must_be_one_of_the_namespace_s() -> None:
    assert namespace_problems(database={"postgres": {"pvc": "www"}}) == [
        Problem(
            "namespaces.shop.database.postgres.pvc",
            '"www" is not one of this namespace\'s pvcs (data)',
        )
    ]


def test_a_hook_pvc_must_be_one_of_the_namespace_s_and_listed_once() -> None:
    hook = {"exec": "deployment/redis", "command": ["true"], "pvcs": ["data", "data", "www"]}
    assert namespace_problems(hooks={"pre": [hook]}) == [
        Problem("namespaces.shop.hooks.pre[0].pvcs[1]", '"data" is listed twice'),
        Problem(
            "namespaces.shop.hooks.pre[0].pvcs[2]",
            '"www" is not one of this namespace\'s pvcs (data)',
        ),
    ]


def test_a_flock_dir_may_not_overlap_the_job_s_own_mounts() -> None:
    (problem,) = namespace_problems(lock={"mode": "flock", "dir": "/tmp/locks"})
    assert problem == Problem(
        "namespaces.shop.lock.dir",
        '"/tmp/locks" overlaps a mount the job already has (/opt/backup-ns, /tmp); '
        "pick another directory",
    )


def test_a_controller_schedule_is_checked_under_its_own_key() -> None:
    controller = ControllerConfig.model_validate({"schedules": {"sync": "61 * * * *"}})
    assert checks.check_controller(controller) == [
        Problem("controller.schedules.sync", '"61 * * * *" is not a valid schedule: bad minute')
    ]
