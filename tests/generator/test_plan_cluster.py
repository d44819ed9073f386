"""The cluster templates and the controller script read the plan, never the config model."""

from __future__ import annotations

import dataclasses

import pydantic

from backupns_gen.controller import ControllerUnit
from backupns_gen.plan import ClusterUnit
from tests.genhelpers import plan_of


def _field_values(unit: object) -> list[object]:
    assert dataclasses.is_dataclass(unit)
    return [getattr(unit, f.name) for f in dataclasses.fields(unit)]


def test_cluster_and_controller_units_hold_no_config_models() -> None:
    p = plan_of(
        "controller: {namespace: ops, schedules: {prune: 'H 3 * * *'}}\n"
        "namespaces: {a: {pvcs: [x], lock: {mode: lease}}, b: {pvcs: [y], lock: {mode: none}}}"
    )
    units: list[object] = [p.cluster, p.controller]
    assert isinstance(p.cluster, ClusterUnit) and isinstance(p.controller, ControllerUnit)
    for unit in units:
        for value in _field_values(unit):
            items = value if isinstance(value, tuple) else (value,)
            assert not any(isinstance(v, pydantic.BaseModel) for v in items), (unit, value)


def test_cluster_unit_carries_what_the_cluster_templates_render() -> None:
    p = plan_of(
        "controller: {namespace: ops, timeZone: Europe/Vienna,"
        " schedules: {prune: 'H 3 * * *', sync: '*/5 * * * *'}}\n"
        "namespaces: {a: {pvcs: [x], lock: {mode: lease}}, b: {pvcs: [y], lock: {mode: none}}}"
    )
    c = p.cluster
    assert (c.namespace, c.time_zone) == ("ops", "Europe/Vienna")
    assert c.run_schedule_source == "H 3 * * *" and "H" not in c.run_schedule
    assert c.run_schedule.endswith(" 3 * * *")
    assert (c.sync_schedule, c.sync_schedule_source) == ("*/5 * * * *", "*/5 * * * *")
    assert c.lease_namespaces == ("a",) and c.namespaces == ("a", "b")
