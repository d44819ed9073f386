"""A tenant gets data back alone: verify, dump-download and dump-restore of the example's
shop-prod, run with the tenant's own identity (user alice in group shop-team, which the
rendered RoleBinding backup-ns-restore binds to the Role backup-ns-restore), on kubesim
--tls, whose kubelet runs the helper pods and whose exec reaches the real PostgreSQL
behind the database container. The request log shows every request alice made allowed
(no 401/403), each on what the Role grants; delete stays refused in one line.

The tenant's kubeconfig acts as alice through impersonation (kubeconfig `as` and
`as-groups`, what `kubectl --as --as-group` sends): the API server authorizes every
request as alice in shop-team, exactly as for her own token.
"""

# ruff: noqa: E501  (the tests assert whole output lines)
from __future__ import annotations

import gzip
import hashlib
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubesim.fixture import KubeSim
from tests import deployed
from tests.dbs import DbServer, postgres_server
from tests.script import drillkit

__all__ = ["postgres_server"]  # the fixture used below

KUBESIM_ARGS = ["--snapshot-ready-delay", "0"]
NS = "shop-prod"
TENANT, GROUP = "alice", "shop-team"  # examples/backupns.yaml: restore.tenantGroups
ROWS = "1\torder 1\n2\torder 2\n3\torder 3\n"

# What Role backup-ns-restore grants (method, resource) in NS; anything else alice asks
# for would be a 403 in the log.
GRANTED = {
    ("GET", "volumesnapshots"),
    *((m, r) for m in ("GET", "POST", "DELETE") for r in ("persistentvolumeclaims", "pods")),
    ("GET", "pods/exec"),
    ("POST", "pods/exec"),
    ("GET", "deployments"),
    ("GET", "replicasets"),
}


@dataclass
class Tenant:
    sim: KubeSim
    out: Path
    tmp: Path
    pg: DbServer
    env: dict[str, str]
    snapshot: str

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(self.out / "namespaces" / NS / "backup-ns.sh"), *args],
            env={**self.env, "TMPDIR": str(self.tmp), "NO_COLOR": "1", **env},
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip


def tenant_kubeconfig(sim: KubeSim, dest: Path) -> Path:
    """The admin's kubeconfig acting as alice in shop-team (kubeconfig impersonation)."""
    kc = yaml.safe_load(Path(sim.kubeconfig).read_text())
    for user in kc["users"]:
        user["user"].update({"as": TENANT, "as-groups": [GROUP]})
    dest.write_text(yaml.safe_dump(kc))
    return dest


@pytest.fixture(scope="module")
def tenant(
    kubesim_tls: KubeSim, postgres_server: DbServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Tenant]:
    sim, pg = kubesim_tls, postgres_server
    tmp = tmp_path_factory.mktemp("tenant")
    out = deployed.render_example(tmp / "example", pg, None)
    deployed.seed_databases(pg, None)
    deployed.apply_objects(sim, deployed.volumes({NS: ["data"]}))
    deployed.apply_objects(sim, [deployed.postgres_workload(NS, pg, "shop")])
    sim.kubectl("apply", "-f", str(out / "namespaces" / NS / "manifests.yaml"), check=True)
    # A backup with its dump, made as the platform team would (no Lease slots here).
    env = sim.env(tmp)
    cp = subprocess.run(
        ["bash", str(out / "namespaces" / NS / "backup-ns.sh"), "create"],
        env={**env, "TMPDIR": str(tmp), "NO_COLOR": "1", "BAK_LOCK": "none"},
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert cp.returncode == 0, cp.stdout + cp.stderr
    m = re.search(r"result: VolumeSnapshot (\S+) of PVC data: readyToUse=true", cp.stdout)
    assert m, cp.stdout
    kc = tenant_kubeconfig(sim, tmp / "alice.kubeconfig")
    yield Tenant(sim, out, tmp, pg, sim.env(tmp, kubeconfig=kc), m.group(1))


def tenant_requests(sim: KubeSim) -> list[dict[str, Any]]:
    return [r for r in sim.requests() if r.get("user") == TENANT]


def resource(path: str) -> str:
    """The resource (with subresource) of an API path in NS, "" for any other path."""
    m = re.match(
        rf"^/(?:api/v1|apis/[^/]+/v1)/namespaces/{NS}/([^/]+)(?:/[^/]+(?:/([^/]+))?)?$", path
    )
    if not m:
        return ""
    return m.group(1) + (f"/{m.group(2)}" if m.group(2) else "")


def assert_only_granted(sim: KubeSim) -> None:
    """Every request alice made: authorized (no 401/403), on what the Role grants."""
    made = tenant_requests(sim)
    assert made, "no request as the tenant"
    refused = [(r["method"], r["path"], r["status"]) for r in made if r["status"] in (401, 403)]
    assert refused == [], refused
    outside = sorted({(r["method"], resource(r["path"]), r["path"]) for r in made
                      if resource(r["path"]) and (r["method"], resource(r["path"])) not in GRANTED})  # fmt: skip
    assert outside == [], outside
    others = sorted({r["path"] for r in made if not resource(r["path"])})
    # outside NS: discovery and the OpenAPI documents only
    assert all(re.match(r"^/(api|apis|openapi|version)\b", p) for p in others), others


def test_tenant_verify(tenant: Tenant) -> None:
    # the drill pod runs as the database's uid, which owns the dump (see drillkit)
    drillkit.own_snapshot(tenant.sim, NS, tenant.snapshot, drillkit.PG_UID)
    tenant.sim.reset_requests()
    cp = tenant.run("verify", tenant.snapshot, BAK_TOOLBOX_RUN_AS_USER=str(drillkit.PG_UID))
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert re.search(
        rf"verify: VolumeSnapshot {tenant.snapshot} ok: tables=1 rows=3 checks=0 bytes=\d+ load=\d+s restore=\d+s$",
        cp.stdout, re.M,
    ), cp.stdout  # fmt: skip
    assert_only_granted(tenant.sim)
    # the result is not recorded (no patch of snapshots): said in one warning
    assert cp.stderr == (
        f"[backup-ns] {NS}: WARNING: verify: the result is not recorded on VolumeSnapshot {tenant.snapshot}"
        f" (Error from server (Forbidden): this identity may not patch volumesnapshots in {NS} (kubectl auth"
        " can-i)); only the namespace's backup-ns ServiceAccount and the platform team may annotate backups\n"
    ), cp.stderr
    vs = tenant.sim.get_json("volumesnapshot", tenant.snapshot, "-n", NS)
    assert "backup-ns.sh/verified-at" not in (vs["metadata"].get("annotations") or {})


def test_tenant_dump_download(tenant: Tenant) -> None:
    tenant.sim.reset_requests()
    dest = tenant.tmp / "shop.sql.gz"
    cp = tenant.run("dump-download", tenant.snapshot, "-o", str(dest))
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert_only_granted(tenant.sim)
    vs = tenant.sim.get_json("volumesnapshot", tenant.snapshot, "-n", NS)
    ann = vs["metadata"]["annotations"]
    data = dest.read_bytes()
    assert hashlib.sha256(data).hexdigest() == ann["backup-ns.sh/dump-sha256"]
    assert str(len(data)) == ann["backup-ns.sh/dump-size"]
    assert b"order 3" in gzip.decompress(data)


def test_tenant_dump_restore(tenant: Tenant) -> None:
    pg = tenant.pg
    pg.sql('DROP DATABASE IF EXISTS "shop_copy" WITH (FORCE);')
    tenant.sim.reset_requests()
    cp = tenant.run("dump-restore", tenant.snapshot, "--into", "shop_copy", "--force")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert_only_granted(tenant.sim)
    assert pg.sql("COPY (SELECT * FROM orders ORDER BY id) TO STDOUT", "shop_copy") == ROWS
    assert pg.sql("COPY (SELECT * FROM orders ORDER BY id) TO STDOUT", "shop") == ROWS


def test_tenant_delete_is_refused_in_one_line(tenant: Tenant) -> None:
    cp = tenant.run("delete", tenant.snapshot, "--yes")
    assert cp.returncode != 0
    (line,) = cp.stderr.splitlines()
    assert line.startswith(f"ERROR: delete needs the platform team in namespace {NS}: "), line
    assert tenant.sim.get_json("volumesnapshot", tenant.snapshot, "-n", NS)
