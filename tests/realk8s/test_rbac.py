"""What a namespace's ServiceAccount may and may not do, asked with
`kubectl auth can-i` as that ServiceAccount: on the real kube-apiserver (RBAC
authorizer) and on kubesim, which must give the same answers.

The "may" rows come from the rendered ClusterRole backup-ns-namespace (every
rule, in its own namespace); the "must not" rows are fixed: other namespaces,
Secrets, attach/port-forward, writes and deletes of snapshots and contents,
RBAC escalation, token minting, cluster-scoped reads.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
import yaml

from tests.realk8s.render import render
from tests.realk8s.servers import SERVERS, Cluster

VS = "volumesnapshots.snapshot.storage.k8s.io"
VSC = "volumesnapshotcontents.snapshot.storage.k8s.io"

# (verb, resource, subresource, where): where is "own", "other" or "cluster".
MUST_NOT = [
    ("delete", VS, "", "own"),
    ("deletecollection", VS, "", "own"),
    ("update", VS, "", "own"),
    ("update", VS, "status", "own"),
    ("get", VS, "", "other"),
    ("create", VS, "", "other"),
    ("list", VS, "", "cluster"),
    ("get", VSC, "", "cluster"),
    ("delete", VSC, "", "cluster"),
    ("patch", VSC, "", "cluster"),
    ("create", "volumesnapshotclasses.snapshot.storage.k8s.io", "", "cluster"),
    ("get", "secrets", "", "own"),
    ("list", "secrets", "", "own"),
    ("watch", "secrets", "", "own"),
    ("get", "configmaps", "", "own"),
    ("create", "pods", "attach", "own"),
    ("get", "pods", "attach", "own"),
    ("create", "pods", "portforward", "own"),
    ("get", "pods", "portforward", "own"),
    ("get", "pods", "log", "own"),
    ("patch", "pods", "ephemeralcontainers", "own"),
    ("create", "pods", "", "own"),
    ("delete", "pods", "", "own"),
    ("create", "pods", "exec", "other"),
    ("get", "pods", "", "other"),
    ("get", "persistentvolumeclaims", "", "other"),
    ("delete", "persistentvolumeclaims", "", "own"),
    ("create", "persistentvolumeclaims", "", "own"),
    ("patch", "persistentvolumeclaims", "", "own"),
    ("get", "persistentvolumes", "", "cluster"),
    ("create", "serviceaccounts", "token", "own"),
    ("impersonate", "serviceaccounts", "", "own"),
    ("create", "jobs.batch", "", "own"),
    ("create", "cronjobs.batch", "", "own"),
    ("patch", "cronjobs.batch", "", "own"),
    ("create", "rolebindings.rbac.authorization.k8s.io", "", "own"),
    ("bind", "clusterroles.rbac.authorization.k8s.io", "", "cluster"),
    ("escalate", "roles.rbac.authorization.k8s.io", "", "own"),
    ("list", "namespaces", "", "cluster"),
    ("get", "nodes", "", "cluster"),
]

def _may_rows(role_file: Path) -> list[tuple[str, str, str, str]]:
    """Every verb on every resource the rendered ClusterRole grants, in its own namespace."""
    role = next(d for d in yaml.safe_load_all(role_file.read_text()) if d)
    rows = []
    for rule in role["rules"]:
        for group in rule["apiGroups"]:
            for res in rule["resources"]:
                base, _, sub = res.partition("/")
                qualified = f"{base}.{group}" if group else base
                rows.extend((verb, qualified, sub, "own") for verb in rule["verbs"])
    return rows


@pytest.mark.parametrize("server", SERVERS)
def test_service_account_can_i_table(
    server: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    cluster: Cluster = request.getfixturevalue(server)
    ns = "rbac-" + secrets.token_hex(3)
    other = "rbac-other-" + secrets.token_hex(3)
    config = (
        f"namespaces:\n  {ns}: {{pvcs: [data], database: none}}\n"
        "controller: {namespace: backup-ns}\n"
    )
    out = render(tmp_path / "backupns.yaml", tmp_path / "out", text=config)
    for n in (ns, other):
        cluster.kubectl("create", "namespace", n, check=True)
    role_file = out / "cluster" / "namespace-role.yaml"
    cluster.kubectl(
        "apply",
        "-f",
        str(role_file),
        "-f",
        str(out / "namespaces" / ns / "manifests.yaml"),
        check=True,
    )
    kc = cluster.sa_kubeconfig(ns, "backup-ns", tmp_path / "sa.kubeconfig")
    env = cluster.env(tmp_path, kubeconfig=kc)  # one fresh cache for the whole table

    may = _may_rows(role_file)
    assert ("create", VS, "", "own") in may and ("create", "pods", "exec", "own") in may
    rows = [(r, True) for r in may] + [(r, False) for r in MUST_NOT]
    got = {}
    for (verb, res, sub, where), _want in rows:
        args = ["auth", "can-i", verb, res]
        if sub:
            args.append(f"--subresource={sub}")
        if where == "own":
            args += ["-n", ns]
        elif where == "other":
            args += ["-n", other]
        else:  # cluster-wide: all namespaces (the kubeconfig's namespace is the SA's own)
            args.append("--all-namespaces")
        cp = cluster.kubectl(*args, env=env)
        assert cp.stdout.strip() in ("yes", "no"), (args, cp.stdout, cp.stderr)
        got[(verb, res, sub, where)] = cp.stdout.strip() == "yes"
    wrong = [(r, want, got[r]) for r, want in rows if got[r] != want]
    assert not wrong, f"{server}: (row, expected, answered): {wrong}"
