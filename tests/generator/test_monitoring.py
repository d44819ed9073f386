"""The monitoring plan and files: per-namespace thresholds from each namespace's own
schedule, the switch, the rules' shape, the runbook and the custom-resource-state config."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from backupns_gen.monitoring import dst_shift_seconds
from backupns_gen.render import render
from backupns_gen.schedule import expand
from tests.genhelpers import EXAMPLE, REPO, plan_of

ALERTS = (
    "BackupMissing",
    "BackupFailed",
    "BackupSuspended",
    "BackupNotDeployed",
    "RetentionNotRunning",
    "SnapshotNotReady",
    "DeletePolicyAtRisk",
    "RetentionDrift",
)
CONFIG = """
namespaces:
  hourly: {pvcs: [data], schedule: "7 * * * *"}
  daily: {pvcs: [data], schedule: "30 2 * * *", retention: {keep: {daily: 3}}}
  weekly: {pvcs: [data], schedule: "0 4 * * 1", timeZone: Europe/Vienna}
  hashed: {pvcs: [data], schedule: "H H(1-3) * * *", retention: {mode: days, days: 9}}
  paused: {pvcs: [data], job: {suspend: true, name: nightly}}
controller: {schedules: {prune: "15 3 * * *", sync: "*/20 * * * *"}}
monitoring: {enabled: true, grace: 30m, runbookUrl: "https://x.example/alerts.md"}
"""


def files(text: str = CONFIG) -> dict[str, str]:
    return {p: f.text for p, f in render(plan_of(text)).items()}


def groups(text: str = CONFIG) -> dict[str, list[dict[str, Any]]]:
    doc = yaml.safe_load(files(text)["monitoring/backup-ns.rules"])
    return {g["name"]: g["rules"] for g in doc["groups"]}


def expected(text: str = CONFIG) -> dict[tuple[str, str], tuple[str, dict[str, str]]]:
    return {
        (r["record"], r["labels"]["namespace"] + "/" + r["labels"].get("period", ""))
        if r["record"] != "backupns:controller_max_age_seconds"
        else (r["record"], r["labels"]["cronjob"]): (
            r["expr"],
            r["labels"],
        )
        for r in groups(text)["backup-ns-expected"]
    }


def test_off_by_default_and_on_with_the_switch() -> None:
    off = files(CONFIG.replace("enabled: true", "enabled: false"))
    assert not [p for p in off if p.startswith("monitoring/")]
    assert "monitoring" not in off["Kustomization"]
    on = files()
    assert sorted(p for p in on if p.startswith("monitoring/")) == [
        "monitoring/backup-ns.rules",
        "monitoring/grafana-dashboard.yaml",
        "monitoring/kube-state-metrics.yaml",
        "monitoring/prometheus-rule.yaml",
    ]
    resources = yaml.safe_load(on["Kustomization"])["resources"]
    assert "monitoring/prometheus-rule.yaml" in resources
    assert "monitoring/kube-state-metrics.yaml" in resources
    assert "monitoring/grafana-dashboard.yaml" in resources
    assert "monitoring/backup-ns.rules" not in resources  # not a manifest


def test_max_age_is_the_namespace_schedule_period_plus_grace() -> None:
    found = expected()
    ages = {
        key[1].rstrip("/"): int(re.fullmatch(r"vector\((\d+)\)", expr).group(1))  # type: ignore[union-attr]
        for key, (expr, _) in found.items()
        if key[0] == "backupns:backup_max_age_seconds"
    }
    grace = 1800
    assert ages == {
        "hourly": 3600 + grace,
        "daily": 86400 + grace,
        # Vienna has daylight saving time: one period can be an hour longer
        "weekly": 7 * 86400 + 3600 + grace,
        "hashed": 86400 + grace,
    }


def test_labels_name_the_cronjob_and_the_expanded_schedule() -> None:
    found = expected()
    _, hashed = found[("backupns:backup_max_age_seconds", "hashed/")]
    assert hashed == {
        "namespace": "hashed",
        "cronjob": "backup-ns",
        "schedule": expand("H H(1-3) * * *", "hashed"),
        "time_zone": "UTC",
    }
    assert "H" not in hashed["schedule"]
    assert found[("backupns:backup_max_age_seconds", "weekly/")][1]["time_zone"] == "Europe/Vienna"


def test_a_suspended_namespace_has_no_expectation() -> None:
    assert not [k for k in expected() if k[1].startswith("paused/")]
    assert "# paused: job.suspend is true in the config" in files()["monitoring/backup-ns.rules"]


def test_keep_counts_per_namespace_only_for_period_retention() -> None:
    keep = {k[1]: e for k, (e, _) in expected().items() if k[0] == "backupns:keep_count"}
    assert keep["daily/daily"] == "vector(3)"  # the namespace's own count
    assert keep["daily/weekly"] == "vector(4)"  # controller.keep's
    assert keep["hourly/monthly"] == "vector(12)"
    assert not [k for k in keep if k.startswith("hashed/")]  # mode days


def test_controller_cronjobs_get_two_periods() -> None:
    found = {
        labels["cronjob"]: expr
        for (record, _), (expr, labels) in expected().items()
        if record == "backupns:controller_max_age_seconds"
    }
    assert found == {
        "backup-ns-controller-run": f"vector({2 * 86400})",
        "backup-ns-controller-sync": f"vector({2 * 1200})",
    }


@pytest.mark.parametrize(
    ("zone", "shift"), [("UTC", 0), ("Europe/Vienna", 3600), ("Asia/Tokyo", 0)]
)
def test_dst_shift(zone: str, shift: int) -> None:
    assert dst_shift_seconds(zone) == shift


def test_every_alert_has_severity_summary_and_its_runbook_section() -> None:
    alerts = {r["alert"]: r for r in groups()["backup-ns-alerts"]}
    assert tuple(alerts) == ALERTS
    docs = (REPO / "docs" / "alerts.md").read_text()
    for name, rule in alerts.items():
        assert rule["labels"]["severity"] in ("critical", "warning", "info")
        summary = rule["annotations"]["summary"]
        assert "{{ $labels.namespace }}" in summary, name
        assert "\n" not in summary
        assert rule["annotations"]["runbook_url"] == f"https://x.example/alerts.md#{name.lower()}"
        section = docs.split(f"\n### {name}\n", 1)[1].split("\n### ", 1)[0]
        assert "**What it means.**" in section, name
        assert len(re.findall(r"^kubectl |^bash ", section.split("```bash", 1)[1], re.M)) >= 3


def test_drill_alerts_have_their_runbook_sections_and_overdue_needs_a_schedule() -> None:
    """BackupDrillFailed always (any drill records its result); BackupDrillOverdue only
    with scheduled drills, its limit interval + the drill schedule's period + grace."""
    docs = (REPO / "docs" / "alerts.md").read_text()
    assert [r.get("alert") for r in groups()["backup-ns-drills"] if "alert" in r] == [
        "BackupDrillFailed"
    ]
    drills = CONFIG.replace(
        "controller: {", 'controller: {verify: {schedule: "0 4 * * *", interval: 48h}, ', 1
    )
    alerts = {r["alert"]: r for r in groups(drills)["backup-ns-drills"] if "alert" in r}
    assert tuple(alerts) == ("BackupDrillFailed", "BackupDrillOverdue")
    assert "> 261000)" in alerts["BackupDrillOverdue"]["expr"]  # 48h + 24h + grace 30m
    for name, rule in alerts.items():
        assert rule["annotations"]["runbook_url"] == f"https://x.example/alerts.md#{name.lower()}"
        section = docs.split(f"\n### {name}\n", 1)[1].split("\n### ", 1)[0]
        assert "**What it means.**" in section, name
        assert len(re.findall(r"^kubectl |^bash ", section.split("```bash", 1)[1], re.M)) >= 3


def test_prometheus_rule_holds_the_same_groups_and_the_rule_labels() -> None:
    text = CONFIG.replace("enabled: true,", "enabled: true, ruleLabels: {release: kps},")
    out = files(text)
    rule = yaml.safe_load(out["monitoring/prometheus-rule.yaml"])
    assert (rule["apiVersion"], rule["kind"]) == ("monitoring.coreos.com/v1", "PrometheusRule")
    assert rule["metadata"]["namespace"] == "backup-ns"
    assert rule["metadata"]["labels"]["release"] == "kps"
    assert rule["spec"] == yaml.safe_load(out["monitoring/backup-ns.rules"])


def test_kube_state_metrics_rbac_and_config() -> None:
    text = CONFIG.replace(
        "enabled: true,", "enabled: true, kubeStateMetrics: {namespace: mon, serviceAccount: ksm},"
    )
    docs = list(yaml.safe_load_all(files(text)["monitoring/kube-state-metrics.yaml"]))
    role, binding, cm = docs
    assert role["kind"] == "ClusterRole"
    assert role["rules"] == [
        {
            "apiGroups": ["snapshot.storage.k8s.io"],
            "resources": ["volumesnapshots", "volumesnapshotcontents"],
            "verbs": ["list", "watch"],
        },
        {
            "apiGroups": ["apiextensions.k8s.io"],
            "resources": ["customresourcedefinitions"],
            "verbs": ["list", "watch"],
        },
    ]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "ksm", "namespace": "mon"}]
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert cm["metadata"]["namespace"] == "mon"
    crs = yaml.safe_load(cm["data"]["backup-ns.yaml"])
    kinds = {r["groupVersionKind"]["kind"]: r for r in crs["spec"]["resources"]}
    vs = kinds["VolumeSnapshot"]
    assert vs["labelsFromPath"]["pvc"] == ["metadata", "labels", "backup-ns.sh/pvc"]
    assert [m["name"] for m in vs["metrics"]] == [
        "info",
        "ready",
        "failed",
        "created_time_seconds",
        "dump_size_bytes",
        "dump_duration_seconds",
        "verified_time_seconds",
        "verified_ok",
    ]
    assert [m["name"] for m in kinds["VolumeSnapshotContent"]["metrics"]] == ["info"]


def test_the_rules_read_only_series_the_config_exports() -> None:
    """Every backupns_* series a rule reads is one the custom-resource-state config makes."""
    out = files()
    cm = list(yaml.safe_load_all(out["monitoring/kube-state-metrics.yaml"]))[2]
    crs = yaml.safe_load(cm["data"]["backup-ns.yaml"])
    resources = crs["spec"]["resources"]
    made = {f"{r['metricNamePrefix']}_{m['name']}" for r in resources for m in r["metrics"]}
    read = set(re.findall(r"\bbackupns_[a-z_]+", out["monitoring/backup-ns.rules"]))
    assert read and read <= made, read - made


def test_example_renders_monitoring() -> None:
    assert "monitoring/prometheus-rule.yaml" in files(EXAMPLE.read_text())
