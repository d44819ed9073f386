"""The rendered PrometheusRule matches prometheus-operator's own CRD schema (the CRD from
the Go module github.com/prometheus-operator/prometheus-operator, tests/monitoring/build.sh),
offline, strict about unknown fields like the API server."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from backupns_gen.loader import load_config
from backupns_gen.plan import plan
from backupns_gen.render import render
from tests.genhelpers import EXAMPLE, FULL
from tests.monitoring.tools import crd_validator, problems, tools


@pytest.fixture(scope="module")
def validator() -> Any:
    return crd_validator(tools("prometheusrule-crd")["prometheusrule-crd"], "v1")


def rule_of(config: Path) -> Any:
    text = render(plan(load_config(config)))["monitoring/prometheus-rule.yaml"].text
    return yaml.safe_load(text)


@pytest.mark.parametrize("config", [EXAMPLE, FULL], ids=["example", "full"])
def test_prometheus_rule_matches_the_crd_schema(validator: Any, config: Path) -> None:
    doc = rule_of(config)
    assert doc["kind"] == "PrometheusRule"
    assert problems(validator, doc) == []


def test_the_check_catches_what_the_operator_refuses(validator: Any) -> None:
    good = rule_of(FULL)
    typo = copy.deepcopy(good)
    typo["spec"]["groups"][2]["rules"][0]["fro"] = "5m"  # unknown field
    bad_for = copy.deepcopy(good)
    bad_for["spec"]["groups"][2]["rules"][2]["for"] = "15 minutes"  # not a duration
    assert problems(validator, typo) == [
        "spec.groups.2.rules.0: Additional properties are not allowed ('fro' was unexpected)"
    ]
    assert len(problems(validator, bad_for)) == 1
    assert problems(validator, bad_for)[0].startswith("spec.groups.2.rules.2.for: ")
