"""A fresh environment for the real kubectl, shared by kubesim/fixture.py and
tests/realk8s/fixture.py (their ``env()``): every kubectl-facing test gets its own HOME,
KUBECONFIG (a copy, so a test may edit it) and KUBECACHEDIR (kubectl caches discovery
per host:port, and a restarted server reuses the port). The bash twin is
bats/helpers/kubectl_env.bash."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

KUBECTL = os.environ.get("KUBESIM_KUBECTL", "/usr/bin/kubectl")
"""The kubectl binary every test runs (the gcloud dispatcher; KUBESIM_KUBECTL overrides)."""


def fresh_kubectl_env(kubeconfig: Path | str, parent: Path | str) -> dict[str, str]:
    """This process's environment without KUBECTL_* settings, with a new KUBECONFIG copy,
    KUBECACHEDIR and HOME in a new directory under ``parent``."""
    base = Path(tempfile.mkdtemp(prefix="kubectl-", dir=parent))
    home = base / "home"
    home.mkdir()
    kc = base / "kubeconfig"
    shutil.copyfile(kubeconfig, kc)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("KUBECTL_") and k not in ("KUBECONFIG", "KUBECACHEDIR")
    }
    env.update({"KUBECONFIG": str(kc), "KUBECACHEDIR": str(base / "cache"), "HOME": str(home)})
    return env
