"""The rendered controller manifests apply on kubesim (TLS + RBAC), and `run` works as
the controller's own ServiceAccount, whose token cannot read Secrets or exec into pods."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from kubesim.fixture import KubeSim
from tests import ctlsim

OUT = Path(__file__).resolve().parents[2] / "out"
START = datetime(2026, 11, 1, 1, 0, tzinfo=timezone.utc)


def test_run_as_the_controller_service_account(kubesim_tls: KubeSim, tmp_path: Path) -> None:
    sim = kubesim_tls
    applied = sim.kubectl("apply", "-f", str(OUT / "cluster" / "controller.yaml"))
    assert applied.returncode == 0, applied.stderr
    for kind in (
        "cronjob.batch/backup-ns-controller-run",
        "cronjob.batch/backup-ns-controller-sync",
        "cronjob.batch/backup-ns-controller-status",
        "role.rbac.authorization.k8s.io/backup-ns-controller",
        "configmap/backup-ns-controller-script",
        "rolebinding.rbac.authorization.k8s.io/backup-ns-slots",  # every Lease namespace's SA
    ):
        assert f"{kind} created" in applied.stdout
    ctlsim.seed(sim, ctlsim.history("shop-prod", START, 12))
    ctlsim.seed(
        sim,
        [
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "db", "namespace": "shop-prod"},
                "stringData": {"password": "hunter2"},
            }
        ],
    )

    kubeconfig = sim.sa_kubeconfig("backup-ns", "backup-ns-controller", tmp_path / "sa.kubeconfig")
    env = sim.env(kubeconfig=kubeconfig)
    sim.reset_requests()
    ctl = ctlsim.Controller(sim)
    ctl._env = env
    run = ctl.run("run", now="2026-11-12T03:00:00Z")
    assert run.status == 0, run.stderr
    assert run.lines[-1] == "[backup-ns-controller] run: 20 change(s) made"
    users = {r["user"] for r in sim.requests() if r["path"].startswith(("/api/", "/apis/"))}
    assert users == {"system:serviceaccount:backup-ns:backup-ns-controller"}
    # the only failed request: the first run finds no Lease (a raw GET: kubectl sends no
    # follow-up GET of the namespace, which is not the controller's to make)
    assert [
        (r["method"], r["path"], r["status"]) for r in sim.requests() if r["status"] >= 400
    ] == [
        (
            "GET",
            "/apis/coordination.k8s.io/v1/namespaces/backup-ns/leases/backup-ns-controller",
            404,
        ),
    ]
    # blog, static-site: no snapshot yet, "not deployed", which is no failure
    assert ctl.run("status", now="2026-11-12T03:00:00Z").status == 0
    assert ctl.run("list", "-A", now="2026-11-12T03:00:00Z").status == 0

    for args in (
        ("get", "secrets", "-n", "shop-prod"),
        ("get", "secret", "db", "-n", "shop-prod"),
        ("get", "pods", "-A"),
    ):
        denied = sim.kubectl(*args, env=env)
        assert denied.returncode == 1 and "Forbidden" in denied.stderr, args
    for args in (
        ("auth", "can-i", "get", "secrets", "-A"),
        ("auth", "can-i", "create", "pods", "--subresource=exec", "-n", "shop-prod"),
        ("auth", "can-i", "get", "pods", "--subresource=exec", "-n", "shop-prod"),
        ("auth", "can-i", "create", "volumesnapshots.snapshot.storage.k8s.io", "-n", "shop-prod"),
        ("auth", "can-i", "update", "leases.coordination.k8s.io/other", "-n", "backup-ns"),
    ):
        no = sim.kubectl(*args, env=env)
        assert no.stdout.strip() == "no", (args, no.stdout, no.stderr)
    yes = sim.kubectl(
        "auth",
        "can-i",
        "update",
        "leases.coordination.k8s.io/backup-ns-controller",
        "-n",
        "backup-ns",
        env=env,
    )
    assert yes.stdout.strip() == "yes"
