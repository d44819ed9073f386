"""The Lease slots' RBAC, as a platform deploys it: a tenant's manifests apply on their
own (nothing in them lives outside the tenant's namespace, so the controller namespace
need not exist yet), `kubectl apply -f out/cluster/` brings the slot Role and the one
RoleBinding `backup-ns-slots`, and the tenant's ServiceAccount then takes a slot Lease
in a real `create` run. On the real kube-apiserver (its RBAC authorizer and audit log
are the truth) and on kubesim, which must agree.

The config's neighbours: a second Lease namespace that does not exist yet (a subject may
name one), and namespaces with lock.mode flock and none, whose ServiceAccounts get no
slot rights.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from tests.realk8s.fixture import RealCluster
from tests.realk8s.render import render
from tests.realk8s.servers import SERVERS, Cluster, bound, create_as, pvc, sa_env

LEASES = "leases.coordination.k8s.io"


def _config(tag: str) -> str:
    return f"""\
defaults:
  pvcs: [data]
  database: none
  waitUntilReady: {{enabled: true, timeout: 2m}}
  lock: {{slots: 1, timeout: 2m}}
namespaces:
  slots-b-{tag}: {{}}
  slots-a-{tag}: {{}}
  slots-flock-{tag}: {{lock: {{mode: flock}}}}
  slots-none-{tag}: {{lock: {{mode: none}}}}
controller: {{namespace: slots-ctl-{tag}}}
"""


def _can_i(cluster: Cluster, env: dict[str, str], verb: str, res: str, ns: str) -> bool:
    cp = cluster.kubectl("auth", "can-i", verb, res, "-n", ns, env=env)
    assert cp.stdout.strip() in ("yes", "no"), (verb, res, ns, cp.stdout, cp.stderr)
    return cp.stdout.strip() == "yes"


@pytest.mark.parametrize("server", SERVERS)
def test_a_namespace_applied_alone_takes_a_slot_lease(
    server: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    cluster: Cluster = request.getfixturevalue(server)
    tag = secrets.token_hex(3)
    ctl, a, b = f"slots-ctl-{tag}", f"slots-a-{tag}", f"slots-b-{tag}"
    flocked, unlocked = f"slots-flock-{tag}", f"slots-none-{tag}"
    node = f"node-{tag}"
    out = render(tmp_path / "backupns.yaml", tmp_path / "out", text=_config(tag))
    made = [a, flocked, unlocked]
    try:
        for ns in made:
            cluster.kubectl("create", "namespace", ns, check=True)
        # the tenant's own manifests first: the controller namespace does not exist yet
        assert cluster.api(f"/api/v1/namespaces/{ctl}") is None
        for ns in made:
            cluster.kubectl(
                "apply", "-f", str(out / "namespaces" / ns / "manifests.yaml"), check=True
            )
        made.append(ctl)
        applied = cluster.kubectl("apply", "-f", str(out / "cluster"), check=True)
        assert "rolebinding.rbac.authorization.k8s.io/backup-ns-slots created" in applied.stdout
        binding = cluster.get_json("rolebinding", "backup-ns-slots", "-n", ctl)
        assert binding["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": "backup-ns-slots",
        }
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "backup-ns", "namespace": ns} for ns in (a, b)
        ]

        cluster.apply(pvc(a, "data"))
        cluster.wait_for(lambda: bound(cluster, a, "data"), timeout=60)
        offset = cluster.audit_offset() if isinstance(cluster, RealCluster) else 0
        env = sa_env(cluster, a, tmp_path)
        stdout = create_as(env, out, a, BAK_LOCK_NODE=node, BAK_VS_RAND="sl0001")
        slot = f"backup-ns-slot-{node}-1"
        lines = stdout.splitlines()
        assert any(
            ln.startswith(f"[backup-ns] {a}: lock: took backup slot 1 of 1 on node {node} ")
            and f"(lease {slot})" in ln
            for ln in lines
        ), stdout
        assert f"[backup-ns] {a}: lock: released backup slot {slot}" in lines, stdout
        lease = cluster.api(f"/apis/coordination.k8s.io/v1/namespaces/{ctl}/leases/{slot}")
        assert lease is not None and lease["spec"].get("holderIdentity", "") == "", lease
        if isinstance(cluster, RealCluster):
            _assert_audit(cluster, offset, a, ctl)

        # what each ServiceAccount may do with Leases in the controller namespace
        want = {
            a: {"get": True, "create": True, "update": True, "delete": False, "list": False},
            flocked: {"get": False, "create": False, "update": False},
            unlocked: {"get": False, "create": False, "update": False},
        }
        got: dict[str, dict[str, bool]] = {}
        for ns, verbs in want.items():
            env_of = sa_env(cluster, ns, tmp_path)
            got[ns] = {v: _can_i(cluster, env_of, v, LEASES, ctl) for v in verbs}
            assert not _can_i(cluster, env_of, "create", LEASES, "kube-node-lease"), ns
            assert not _can_i(cluster, env_of, "get", LEASES, ns), ns  # not in its own either
        assert got == want, server
    finally:
        for ns in made:
            cluster.kubectl("delete", "namespace", ns, "--wait=false")


def _assert_audit(cluster: RealCluster, offset: int, ns: str, ctl: str) -> None:
    """Every request of the run was allowed; its Lease calls went to the controller
    namespace only, and were get/create/update (no list, no delete)."""
    user = f"system:serviceaccount:{ns}:backup-ns"
    events = [e for e in cluster.audit_events(offset) if e["user"]["username"] == user]
    leases = set()
    for e in events:
        decision = e.get("annotations", {}).get("authorization.k8s.io/decision")
        assert decision == "allow", (e["verb"], e["requestURI"], e.get("annotations"))
        ref = e.get("objectRef") or {}
        if ref.get("resource") == "leases":
            leases.add((e["verb"], ref.get("namespace")))
    assert {ns for _, ns in leases} == {ctl}, leases
    assert {"get", "create", "update"} >= {verb for verb, _ in leases} >= {"create", "update"}
