"""Plan: BAK_* defaults in the agreed order, only the variables of a namespace's caps."""

from __future__ import annotations

from backupns_gen.config import DEFAULT_IMAGE
from backupns_gen.loader import load_config
from backupns_gen.plan import plan
from backupns_gen.render import Renderer, header
from tests.genhelpers import EXAMPLE, FULL, plan_of


def test_example_env_postgres_lease() -> None:
    unit = {u.name: u for u in plan(load_config(EXAMPLE)).namespaces}["shop-prod"]
    assert unit.caps == frozenset({"db", "lease", "postgres"})
    assert list(unit.env) == [
        ("BAK_NAMESPACE", "shop-prod"),
        ("BAK_DRY_RUN", "false"),
        ("BAK_DEBUG", "false"),
        ("BAK_PVC_NAMES", "data"),
        ("BAK_DUMP_PVC", "data"),
        ("BAK_VS_NAME_TEMPLATE", "{pvc}-{date}-{rand}"),
        ("BAK_VS_CLASS_NAME", ""),
        ("BAK_VS_WAIT_UNTIL_READY", "true"),
        ("BAK_VS_WAIT_UNTIL_READY_TIMEOUT", "15m"),
        ("BAK_THRESHOLD_SPACE_USED_PERCENTAGE", "90"),
        ("BAK_DB_SKIP", "false"),
        ("BAK_DB_POSTGRES", "true"),
        ("BAK_DB_POSTGRES_EXEC_RESOURCE", "deployment/app-base"),
        ("BAK_DB_POSTGRES_EXEC_CONTAINER", "postgres"),
        ("BAK_DB_POSTGRES_DUMP_FILE", "/var/lib/postgresql/data/dump.sql.gz"),
        ("BAK_DB_POSTGRES_HOST", ""),
        ("BAK_DB_POSTGRES_PORT", "5432"),
        ("BAK_DB_POSTGRES_USER", "${POSTGRES_USER}"),
        ("BAK_DB_POSTGRES_PASSWORD", "${POSTGRES_PASSWORD}"),
        ("BAK_DB_POSTGRES_DB", "${POSTGRES_DB}"),
        ("BAK_DB_MYSQL", "false"),
        ("BAK_LOCK", "lease"),
        ("BAK_LOCK_SLOTS", "2"),
        ("BAK_LOCK_TIMEOUT_SEC", "3600"),
        ("BAK_LOCK_NODE", ""),
        ("BAK_LOCK_LEASE_NAMESPACE", "backup-ns"),
        ("BAK_LOCK_LEASE_DURATION_SEC", "60"),
        ("BAK_LABEL_VS_TYPE", "adhoc"),
        ("BAK_LABEL_VS_POD", ""),
        ("BAK_LABEL_VS_RETAIN", "daily_weekly_monthly"),
        ("BAK_LABEL_VS_RETAIN_DAYS", "0"),
        ("BAK_TIME_ZONE", "Europe/Vienna"),
        ("BAK_VERIFY_AFTER_BACKUP", "false"),
        ("BAK_TOOLBOX_IMAGE", DEFAULT_IMAGE),
        ("BAK_TOOLBOX_RUN_AS_USER", "999"),
        ("BAK_TOOLBOX_TIMEOUT", "10m"),
        ("BAK_VERIFY_COUNT_LIMIT", "10000000"),
        ("BAK_EVENTS", "true"),
    ]


def test_mysql_without_lock_bakes_only_its_variables() -> None:
    unit = {u.name: u for u in plan(load_config(FULL)).namespaces}["mysql-preferred"]
    env = dict(unit.env)
    assert unit.caps == frozenset({"db", "mysql"})
    assert not [v for v in env if v.startswith(("BAK_DB_POSTGRES_", "BAK_LOCK_", "BAK_FLOCK"))]
    assert env["BAK_DB_POSTGRES"] == "false"
    assert env["BAK_LOCK"] == "none"
    assert env["BAK_DB_MYSQL_PASSWORD"] == ""  # passwordEnv: "" = no password
    assert env["BAK_DB_MYSQL_DEFAULT_CHARACTER_SET"] == "latin1"
    assert (env["BAK_LABEL_VS_RETAIN"], env["BAK_LABEL_VS_RETAIN_DAYS"]) == ("days", "14")


def test_no_database() -> None:
    unit = plan_of("namespaces: {www: {pvcs: [a, b], lock: {mode: none}}}").namespaces[0]
    env = dict(unit.env)
    assert unit.caps == frozenset({"group"})  # two PVCs, groupSnapshot auto
    assert (env["BAK_DB_SKIP"], env["BAK_DUMP_PVC"], env["BAK_PVC_NAMES"]) == ("true", "", "a b")


def test_group_cap_needs_two_pvcs_and_not_never() -> None:
    units = plan_of(
        "namespaces:\n"
        "  one: {pvcs: [a], lock: {mode: none}}\n"
        "  two: {pvcs: [a, b], lock: {mode: none}}\n"
        "  never: {pvcs: [a, b], lock: {mode: none}, groupSnapshot: never}\n"
        "  always: {pvcs: [a, b], lock: {mode: none}, groupSnapshot: always}\n"
    ).namespaces
    assert {u.name: "group" in u.caps for u in units} == {
        "always": True,
        "never": False,
        "one": False,
        "two": True,
    }
    assert dict(units[0].env)["BAK_GROUP_SNAPSHOT"] == "always"
    assert "BAK_GROUP_SNAPSHOT" not in dict(units[1].env)


def test_dump_pvc_from_config_else_first_pvc() -> None:
    units = plan_of(
        "namespaces:\n"
        "  a: {pvcs: [x, y], database: {postgres: {pvc: y}}}\n"
        "  b: {pvcs: [x, y], database: {mysql: {}}}\n"
    ).namespaces
    assert [u.dump_pvc for u in units] == ["y", "x"]


def test_durations_to_seconds() -> None:
    unit = plan_of(
        "namespaces: {a: {pvcs: [x], lock: {timeout: 1h30m, leaseDuration: 90s},"
        " job: {activeDeadlineSeconds: 7201}}}"
    ).namespaces[0]
    env = dict(unit.env)
    assert (env["BAK_LOCK_TIMEOUT_SEC"], env["BAK_LOCK_LEASE_DURATION_SEC"]) == ("5400", "90")
    assert unit.active_deadline_seconds == 7201


def test_namespaces_sorted_and_controller_schedules_expanded() -> None:
    p = plan_of("namespaces: {b: {pvcs: [x]}, a: {pvcs: [x]}}")
    assert [u.name for u in p.namespaces] == ["a", "b"]
    assert "H" not in p.cluster.run_schedule
    assert p.cluster.namespaces == ("a", "b")


def test_hooks_cap_env_and_planned_hooks() -> None:
    units = plan_of(
        "namespaces:\n"
        "  a:\n"
        "    pvcs: [data, logs]\n"
        "    flock: {enabled: false}\n"
        "    hooks:\n"
        "      pre:\n"
        "        - {exec: deployment/redis, container: redis, command: [redis-cli, BGSAVE]}\n"
        "        - {exec: pod/x, command: [sleep, 5], timeout: 1m30s, pvcs: [logs, data]}\n"
        "      post: [{exec: pod/x, command: ['true'], onError: fail}]\n"
        "  b: {pvcs: [data], flock: {enabled: false}}\n"
    ).namespaces
    a, b = units
    assert a.caps == frozenset({"hooks", "group"}) and b.caps == frozenset()
    names = [v for v, _ in a.env]
    assert names.index("BAK_HOOKS") == names.index("BAK_LOCK") - 1
    assert dict(a.env)["BAK_HOOKS"] == "true" and "BAK_HOOKS" not in dict(b.env)
    assert [
        (h.label, h.exec, h.container, h.command, h.timeout_seconds, h.on_error, h.pvcs)
        for h in a.hooks
    ] == [
        ("pre hook 1/2", "deployment/redis", "redis", ("redis-cli", "BGSAVE"), 300, "fail", ""),
        ("pre hook 2/2", "pod/x", "", ("sleep", "5"), 90, "fail", "logs data"),
        ("post hook 1/1", "pod/x", "", ("true",), 300, "fail", ""),
    ]
    assert b.hooks == ()


def test_verify_after_backup_bakes_and_names_the_namespace() -> None:
    p = plan(load_config(FULL))
    unit = {u.name: u for u in p.namespaces}["pg-all-options"]
    env = dict(unit.env)
    assert (env["BAK_VERIFY_AFTER_BACKUP"], env["BAK_TOOLBOX_RUN_AS_USER"]) == ("true", "1001")
    assert env["BAK_TOOLBOX_TIMEOUT"] == "5m"
    # the full config has scheduled drills: every namespace verifies
    assert p.cluster.verify_namespaces == tuple(u.name for u in p.namespaces)


DRILLS = """
controller:
  verify: {schedule: "H 2 * * *", maxPerRun: 7, concurrency: 3, timeout: 20m}
namespaces:
  a: {pvcs: [data], verify: {afterBackup: true}}
  b: {pvcs: [data]}
"""


def test_scheduled_drills_plan_every_namespace_and_the_run_deadline() -> None:
    p = plan_of(DRILLS)
    assert [u.drill for u in p.namespaces] == [True, True]
    assert p.cluster.verify_namespaces == ("a", "b")
    assert p.cluster.drill_schedule_source == "H 2 * * *"
    assert p.cluster.drill_schedule.endswith(" 2 * * *")
    # 7 drills, 3 at once: 3 batches of up to 20 minutes, plus 10 minutes
    assert p.cluster.drill_deadline_seconds == 3 * 1200 + 600
    env = dict(p.controller.env)
    assert (env["CTL_DRILL_MAX_PER_RUN"], env["CTL_DRILL_CONCURRENCY"]) == ("7", "3")
    assert (env["CTL_DRILL_INTERVAL_SEC"], env["CTL_DRILL_TIMEOUT_SEC"]) == ("604800", "1200")


def test_without_a_drill_schedule_only_after_backup_verifies() -> None:
    p = plan_of(DRILLS.replace('schedule: "H 2 * * *", ', ""))
    assert [u.drill for u in p.namespaces] == [False, False]
    assert p.cluster.verify_namespaces == ("a",)
    assert p.cluster.drill_schedule == ""


def test_flock_mode_bakes_its_dir_and_runs_as_root() -> None:
    unit = {u.name: u for u in plan(load_config(FULL)).namespaces}["files-only"]
    env = dict(unit.env)
    assert unit.caps == frozenset({"flock"})
    assert [(k, v) for k, v in env.items() if "LOCK" in k] == [
        ("BAK_LOCK", "flock"),
        ("BAK_LOCK_SLOTS", "1"),
        ("BAK_LOCK_TIMEOUT_SEC", "1800"),
        ("BAK_FLOCK_DIR", "/locks"),
    ]
    assert unit.run_as_user == 0


def test_lease_slots_live_in_the_controller_namespace() -> None:
    p = plan_of(
        "namespaces: {a: {pvcs: [x]}, b: {pvcs: [x], lock: {mode: none}},"
        " c: {pvcs: [x], job: {runAsUser: 1000}}}\ncontroller: {namespace: platform-backup}"
    )
    a, b, c = p.namespaces
    assert dict(a.env)["BAK_LOCK_LEASE_NAMESPACE"] == "platform-backup"
    assert (a.run_as_user, b.run_as_user, c.run_as_user) == (65532, 65532, 1000)
    assert p.cluster.lease_namespaces == ("a", "c")


def test_snapshot_mode_on_two_pvcs_gets_the_group_and_asks_it_before_refusing() -> None:
    the_plan = plan_of(
        "namespaces:\n"
        "  two: {pvcs: [data, wal], lock: {mode: none},\n"
        "        database: {postgres: {exec: deployment/pg, mode: snapshot}}}\n"
        "  never: {pvcs: [data, wal], lock: {mode: none}, groupSnapshot: never,\n"
        "          database: {postgres: {exec: deployment/pg, mode: snapshot}}}\n"
    )
    units = {u.name: u for u in the_plan.namespaces}
    assert {"dbsnap", "group"} <= units["two"].caps
    assert "dbsnap" in units["never"].caps and "group" not in units["never"].caps
    renderer, hdr = Renderer(), header(the_plan.source_name)
    two = renderer.script(units["two"], hdr)
    # group_check decides before snapmode_check asks it; members get the annotations
    create = two[two.index("\ncommand_create() {") :]
    assert create.index("\n  group_check\n") < create.index('\n    snapmode_check "$kind"\n')
    assert "snapmode_grouped() {\n  group_in_use\n}" in two
    label_members = two[two.index("\ngroup_label_members() {") :]
    assert "\n    snapmode_annotate\n" in label_members.split("\n}\n", 1)[0]
    assert "snapmode_grouped() {\n  return 1\n}" in renderer.script(units["never"], hdr)
