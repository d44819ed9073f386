"""Render configs for the real-tier tests (the backupns-gen CLI, as a user runs it)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml


def render(config: Path | str, out: Path, *, text: str | None = None) -> Path:
    """Render `config` (or `text`, written to config first) into out/; fail loudly."""
    config = Path(config)
    if text is not None:
        config.write_text(text)
    cp = subprocess.run(
        ["backupns-gen", "render", "--no-lint", "-c", str(config), "-o", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert cp.returncode == 0, f"backupns-gen render {config} failed:\n{cp.stdout}{cp.stderr}"
    return out


def tenants(out: Path) -> list[str]:
    """The tenant namespaces of a rendered out/ (they must exist before apply)."""
    return sorted(p.name for p in (out / "namespaces").iterdir() if p.is_dir())


def monitoring_namespaces(out: Path) -> list[str]:
    """Namespaces out/monitoring/ puts objects in besides the controller's (kube-state-metrics'
    ConfigMap: they must exist before apply, as in a cluster that runs it)."""
    path = out / "monitoring" / "kube-state-metrics.yaml"
    if not path.exists():
        return []
    docs = yaml.safe_load_all(path.read_text())
    return sorted({d["metadata"]["namespace"] for d in docs if "namespace" in d["metadata"]})


def controller_namespace(config: Path) -> str:
    doc = yaml.safe_load(config.read_text())
    return str((doc.get("controller") or {}).get("namespace", "backup-ns"))
