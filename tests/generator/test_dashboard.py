"""The Grafana dashboard: valid, byte-stable JSON in a ConfigMap the sidecar finds, panels
laid out without overlap, and queries that read only series the monitoring files make."""

from __future__ import annotations

import json
import re

import yaml

from backupns_gen.dashboard import dashboard, dashboard_json, queries
from backupns_gen.render import render
from tests.genhelpers import EXAMPLE, plan_of


def test_configmap_holds_the_dashboard_json() -> None:
    files = render(plan_of(EXAMPLE.read_text()))
    cm = yaml.safe_load(files["monitoring/grafana-dashboard.yaml"].text)
    assert cm["kind"] == "ConfigMap"
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    text = cm["data"]["backup-ns.json"]
    assert text == dashboard_json()
    assert json.loads(text) == dashboard()
    # stable: sorted keys, so a re-render (or a reordered dict) gives the same bytes
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"


def test_panels_have_unique_ids_and_do_not_overlap() -> None:
    panels = dashboard()["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    cells = set()
    for p in panels:
        g = p["gridPos"]
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, p["title"]
                cells.add((x, y))
        assert g["x"] + g["w"] <= 24
        assert all(t["expr"] and t["refId"] for t in p["targets"])


def test_queries_read_series_that_exist() -> None:
    """Every backupns series a panel reads is recorded by the rules or exported by the
    custom-resource-state config."""
    files = render(plan_of(EXAMPLE.read_text()))
    rules = yaml.safe_load(files["monitoring/backup-ns.rules"].text)
    recorded = {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}
    cm = list(yaml.safe_load_all(files["monitoring/kube-state-metrics.yaml"].text))[2]
    crs = yaml.safe_load(cm["data"]["backup-ns.yaml"])["spec"]["resources"]
    exported = {f"{r['metricNamePrefix']}_{m['name']}" for r in crs for m in r["metrics"]}
    read = {n for q in queries() for n in re.findall(r"\bbackupns[_:][a-z_:]+", q)}
    assert read and read <= recorded | exported, read - recorded - exported
