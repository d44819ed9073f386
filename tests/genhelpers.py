"""Helpers for the generator tests: paths, a stub template root, one-call plans."""

from __future__ import annotations

from pathlib import Path

import yaml

from backupns_gen.loader import parse_config
from backupns_gen.plan import Plan, plan

REPO = Path(__file__).resolve().parent.parent
TEMPLATES = REPO / "src" / "backupns_gen" / "templates"
EXAMPLE = REPO / "examples" / "backupns.yaml"
FULL = REPO / "tests" / "data" / "full.yaml"

STUB_SCRIPT = """#!/usr/bin/env bash
{{ header }}
# stub script for generator tests: {{ ns.name|shquote }} caps={{ ns.caps|sort|join(',') }}
set -Eeuo pipefail
{% for var, value in ns.env %}
export {{ var }}={{ value|shquote }}
{% endfor %}
main() { printf '%s\\n' "$BAK_NAMESPACE"; }
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  main "$@"
fi
"""


def stub_root(tmp: Path) -> str:
    """A templates root with the real manifest/cluster/controller templates and a stub script."""
    root = tmp / "templates"
    (root / "script").mkdir(parents=True)
    (root / "manifests").symlink_to(TEMPLATES / "manifests")
    (root / "cluster").symlink_to(TEMPLATES / "cluster")
    (root / "controller").symlink_to(TEMPLATES / "controller")  # the real controller script
    (root / "core").symlink_to(TEMPLATES / "core")  # what both programs share
    (root / "monitoring").symlink_to(TEMPLATES / "monitoring")
    (root / "script" / "_util.sh.j2").symlink_to(TEMPLATES / "script" / "_util.sh.j2")
    (root / "script" / "backup-ns.sh.j2").write_text(STUB_SCRIPT)
    return str(root)


def plan_of(text: str, filename: str = "backupns.yaml") -> Plan:
    return plan(parse_config(yaml.safe_load(text), filename))
