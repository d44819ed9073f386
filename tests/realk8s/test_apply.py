"""The rendered output deploys on a real kube-apiserver exactly as the README says:
`kubectl apply -R -f out/` and `kubectl apply -k out/`, client-side and
`--server-side`, with strict field validation: no error, no warning, and
applying again, by the other entry point (and `kubectl diff`), changes
nothing. For the committed example and a render of tests/data/full.yaml.

Each case starts from a clean slate (the objects of out/ deleted), since a
server-side apply over a client-side one legitimately warns
(last-applied-configuration migration of RBAC objects).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.monitoring.tools import tools
from tests.realk8s.fixture import RealCluster
from tests.realk8s.render import monitoring_namespaces, render, tenants

pytestmark = pytest.mark.realk8s

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "out"
FULL = ROOT / "tests" / "data" / "full.yaml"


@pytest.fixture(scope="module")
def full_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(FULL, tmp_path_factory.mktemp("full") / "out")


def _prometheus_rule_crd(cluster: RealCluster) -> None:
    """prometheus-operator's PrometheusRule CRD (out/monitoring/ needs it, as in a cluster
    that runs the operator); from its Go module, tests/monitoring/build.sh."""
    crd = tools("prometheusrule-crd")["prometheusrule-crd"]
    cluster.kubectl("apply", "--server-side", "-f", str(crd), check=True)
    cluster.kubectl(
        "wait", "--for=condition=Established", "--timeout=60s",
        "crd/prometheusrules.monitoring.coreos.com", check=True,
    )  # fmt: skip


def _clean_slate(cluster: RealCluster, out: Path) -> None:
    """Delete what out/ applies (the tenant namespaces stay: out/ does not own them)."""
    _prometheus_rule_crd(cluster)
    for ns in monitoring_namespaces(out):
        cluster.create_namespace(ns)
    cluster.kubectl(
        "delete", "-R", "-f", str(out), "--ignore-not-found", "--wait=true", check=True, timeout=300
    )
    for ns in tenants(out):
        cluster.create_namespace(ns)


def _lines(stdout: str) -> list[str]:
    return sorted(line for line in stdout.splitlines() if line)


def _apply(cluster: RealCluster, env: dict[str, str], *args: str) -> list[str]:
    cp = cluster.kubectl("apply", *args, "--validate=strict", env=env)
    assert cp.returncode == 0, cp.stderr
    assert cp.stderr == "", cp.stderr  # not one warning
    return _lines(cp.stdout)


def _no_diff(cluster: RealCluster, env: dict[str, str], *args: str) -> None:
    diff = cluster.kubectl("diff", *args, env=env)
    assert (diff.returncode, diff.stdout, diff.stderr) == (0, "", "")


@pytest.mark.parametrize("which", ["example", "full"])
def test_client_side_apply_is_clean_and_idempotent(
    realk8s: RealCluster, full_out: Path, which: str
) -> None:
    out = OUT if which == "example" else full_out
    _clean_slate(realk8s, out)
    env = realk8s.env()
    lines = _apply(realk8s, env, "-R", "-f", str(out))
    assert lines and all(line.endswith(" created") for line in lines), lines
    # one CronJob per tenant (plus the controller's)
    assert sum("cronjob.batch/" in line for line in lines) > len(tenants(out))
    for again in (["-R", "-f", str(out)], ["-k", str(out)]):
        lines = _apply(realk8s, env, *again)
        assert lines and all(line.endswith(" unchanged") for line in lines), (again, lines)
    _no_diff(realk8s, env, "-R", "-f", str(out))


@pytest.mark.parametrize("which", ["example", "full"])
def test_server_side_apply_is_clean_and_idempotent(
    realk8s: RealCluster, full_out: Path, which: str
) -> None:
    out = OUT if which == "example" else full_out
    _clean_slate(realk8s, out)
    env = realk8s.env()
    for how in (["-k", str(out)], ["-R", "-f", str(out)]):
        lines = _apply(realk8s, env, *how, "--server-side")
        assert lines and all(line.endswith(" serverside-applied") for line in lines), lines
    _no_diff(realk8s, env, "-k", str(out), "--server-side")
