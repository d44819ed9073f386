"""The admission policies (out/cluster/admission-policies.yaml) enforced by the real
kube-apiserver: backups a tenant cannot destroy.

A control plane of this module's own runs kube-controller-manager with
--use-service-account-credentials (as kubeadm does), so deleting a namespace deletes
its snapshots as system:serviceaccount:kube-system:namespace-controller. A tenant is a
client certificate in a group bound to the built-in `admin` ClusterRole in its
namespace; `admin` gets the snapshot rights through an aggregated ClusterRole, as
distributions add them (the real clusterrole-aggregation controller merges it).

- the tenant: deleting a managed snapshot, removing `daily` or `keep`, setting
  `delete-after` are refused with the policy's message; its own unmanaged snapshots
  are its own; a user allowed by RBAC to patch contents cannot change a managed
  content's deletionPolicy or its labels;
- the namespace's backup-ns ServiceAccount: exactly the script's three rights;
- the controller (its ServiceAccount): the real `run`, `sync` and orphan expiry
  scenarios of test_controller.py pass unchanged with the policies on (every request
  answered below 400, audit log);
- `kubectl delete namespace` completes; the Retain contents stay and
  `list-contents --orphaned` shows them.
"""

from __future__ import annotations

import json
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.realk8s import test_controller as tc
from tests.realk8s.fixture import RealCluster
from tests.realk8s.render import render
from tests.realk8s.servers import bound, pvc, remove_contents

pytestmark = pytest.mark.realk8s

OUT = Path(__file__).resolve().parents[2] / "out"
POLICIES = OUT / "cluster" / "admission-policies.yaml"
TENANT_GROUP = "tenant-team"
AGGREGATE = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: snapshots-aggregate-to-admin
  labels:
    rbac.authorization.k8s.io/aggregate-to-admin: "true"
    rbac.authorization.k8s.io/aggregate-to-edit: "true"
rules:
  - apiGroups: ["snapshot.storage.k8s.io"]
    resources: ["volumesnapshots"]
    verbs: ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: storage-ops
rules:
  - apiGroups: ["snapshot.storage.k8s.io"]
    resources: ["volumesnapshotcontents"]
    verbs: ["get", "list", "patch", "update"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: storage-ops
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: storage-ops}
subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: Group, name: storage-ops}
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealCluster]:
    c = RealCluster(tmp_path_factory.mktemp("vap"), controller_credentials=True).start()
    try:
        c.kubectl("apply", "-f", str(POLICIES), check=True)
        c.apply(AGGREGATE)
        c.wait_for(
            lambda: any(
                "volumesnapshots" in r.get("resources", [])
                for r in (c.api("/apis/rbac.authorization.k8s.io/v1/clusterroles/admin") or {}).get(
                    "rules", []
                )
            ),
            timeout=60,
        )
        yield c
    finally:
        c.stop()


@pytest.fixture(scope="module")
def ctl(cluster: RealCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tc.Ctl]:
    cp = cluster.kubectl("apply", "-f", str(OUT / "cluster" / "controller.yaml"))
    assert cp.returncode == 0, cp.stdout + cp.stderr
    cluster.wait_for(
        lambda: cluster.api(f"/api/v1/namespaces/{tc.CTL_NS}/serviceaccounts/{tc.CTL_SA}"),
        timeout=60,
    )
    got = tc.Ctl(cluster, tmp_path_factory.mktemp("ctl"))
    yield got
    remove_contents(cluster, got.tenants)


@pytest.fixture
def tenant(ctl: tc.Ctl) -> Iterator[str]:
    ns = "vap-" + secrets.token_hex(3)
    ctl.tenants.append(ns)
    ctl.cluster.kubectl("create", "namespace", ns, check=True)
    ctl.cluster.apply(pvc(ns, "data"))
    ctl.cluster.wait_for(lambda: bound(ctl.cluster, ns, "data"), timeout=60)
    yield ns
    # gone before the next test: a controller run must not see it vanish half-way
    ctl.cluster.kubectl("delete", "namespace", ns, "--ignore-not-found", timeout=300)


def as_user(cluster: RealCluster, tmp: Path, user: str, group: str, ns: str) -> dict[str, str]:
    kc = cluster.user_kubeconfig(user, group, tmp / f"{user}.kubeconfig", ns)
    (tmp / user).mkdir(exist_ok=True)
    return cluster.env(tmp / user, kubeconfig=kc)


def tenant_env(cluster: RealCluster, tmp: Path, ns: str) -> dict[str, str]:
    cluster.kubectl(
        "-n",
        ns,
        "create",
        "rolebinding",
        "tenant-admin",
        "--clusterrole=admin",
        f"--group={TENANT_GROUP}",
        check=True,
    )
    return as_user(cluster, tmp, "alice", TENANT_GROUP, ns)


def denied(cp: subprocess.CompletedProcess[str], policy: str, message: str) -> None:
    """Refused by the named policy with exactly this message (kubectl's wording around it)."""
    assert cp.returncode != 0, cp.stdout
    assert (
        f"ValidatingAdmissionPolicy '{policy}' with binding '{policy}' denied request: {message}"
        in cp.stderr
    ), cp.stderr


def snapshot_message(user: str, ns: str, name: str, keys: str) -> str:
    return (
        f"backup-ns: {user} may not change {keys} on VolumeSnapshot {ns}/{name}: the "
        "backup-ns.sh/ labels and annotations decide how long a backup is kept. Only the "
        "retention controller and the platform team (system:masters, kubeadm:cluster-admins) "
        "may change them (backup-ns.sh keep, delete)"
    )


def test_a_tenant_cannot_delete_or_relabel_a_backup_but_owns_its_own_snapshots(
    cluster: RealCluster, tenant: str, tmp_path: Path
) -> None:
    ns = tenant
    s1 = tc.make_snapshot(
        cluster, ns, "s1", tc.managed(**tc.periods(tc.day(0)), **{"backup-ns.sh/keep": "true"})
    )
    env = tenant_env(cluster, tmp_path, ns)

    def k(*args: str) -> subprocess.CompletedProcess[str]:
        return cluster.kubectl("-n", ns, *args, env=env)

    assert k("auth", "can-i", "delete", "volumesnapshots").stdout.strip() == "yes"
    denied(
        k("delete", "volumesnapshot", "s1"),
        "backup-ns-snapshots",
        f"backup-ns: alice may not delete VolumeSnapshot {ns}/s1: it is a backup (label "
        "backup-ns.sh/type) and only the retention controller deletes backups (when they "
        "expire). Ask the platform team (system:masters, kubeadm:cluster-admins) to run "
        "backup-ns.sh delete",
    )
    denied(k("delete", "volumesnapshots", "--all"), "backup-ns-snapshots", "backup-ns: alice")
    for change, keys in (
        (("backup-ns.sh/daily-",), "backup-ns.sh/daily"),
        (("backup-ns.sh/delete-after=2000-01-01",), "backup-ns.sh/delete-after"),
        (("backup-ns.sh/keep-",), "backup-ns.sh/keep"),
        (("--overwrite", "backup-ns.sh/type=adhoc"), "backup-ns.sh/type"),
    ):
        denied(
            k("label", "volumesnapshot", "s1", *change),
            "backup-ns-snapshots",
            snapshot_message("alice", ns, "s1", keys),
        )
    denied(
        k("annotate", "volumesnapshot", "s1", "--overwrite", "backup-ns.sh/dump-sha256=0"),
        "backup-ns-snapshots",
        snapshot_message("alice", ns, "s1", "backup-ns.sh/dump-sha256"),
    )
    # labels that are not ours stay the tenant's
    assert k("label", "volumesnapshot", "s1", "team=a").returncode == 0
    after = tc.vs_get(cluster, ns, "s1")
    assert tc.labels_of(after) == tc.labels_of(s1)

    # a snapshot of its own (no backup-ns.sh/ keys): create, label, delete
    own = {
        "apiVersion": "snapshot.storage.k8s.io/v1",
        "kind": "VolumeSnapshot",
        "metadata": {"name": "mine", "namespace": ns},
        "spec": {"source": {"persistentVolumeClaimName": "data"}},
    }
    cp = cluster.kubectl("-n", ns, "create", "-f", "-", input=json.dumps(own), env=env)
    assert cp.returncode == 0, cp.stderr
    assert k("label", "volumesnapshot", "mine", "purpose=test").returncode == 0
    # ... but it cannot make it a backup of the namespace (it would displace real ones)
    denied(
        k("label", "volumesnapshot", "mine", "backup-ns.sh/type=cronjob"),
        "backup-ns-snapshots",
        snapshot_message("alice", ns, "mine", "backup-ns.sh/type"),
    )
    forged = {
        **own,
        "metadata": {
            **own["metadata"],
            "name": "forged",
            "labels": {"backup-ns.sh/daily": "2099-01-01"},
        },
    }
    cp = cluster.kubectl("-n", ns, "create", "-f", "-", input=json.dumps(forged), env=env)
    denied(
        cp,
        "backup-ns-snapshots",
        f"backup-ns: alice may not create VolumeSnapshot {ns}/forged with backup-ns.sh/ labels "
        "or annotations (backup-ns.sh/daily): only the namespace's backup-ns ServiceAccount "
        "(its CronJob) and the platform team (system:masters, kubeadm:cluster-admins) make "
        "backups. Create it without those keys, or run the CronJob (kubectl create job "
        "--from=cronjob/backup-ns)",
    )
    assert k("delete", "volumesnapshot", "mine", "--wait=false").returncode == 0

    # contents: RBAC keeps the tenant out; a user RBAC lets in meets the policy
    content = tc.content_of(s1)
    cp = cluster.kubectl(
        "patch",
        "vsc",
        content,
        "--type=merge",
        "-p",
        '{"spec":{"deletionPolicy":"Delete"}}',
        env=env,
    )
    assert cp.returncode != 0 and "Forbidden" in cp.stderr, cp.stderr
    ctl_sync = tc.Ctl(cluster, tmp_path)  # the labels reach the content as the controller
    tc.ok(ctl_sync.run("sync", now=tc.day(0)))
    ops = as_user(cluster, tmp_path, "bob", "storage-ops", ns)
    cp = cluster.kubectl(
        "patch",
        "vsc",
        content,
        "--type=merge",
        "-p",
        '{"spec":{"deletionPolicy":"Delete"}}',
        env=ops,
    )
    denied(
        cp,
        "backup-ns-snapshot-contents",
        f"backup-ns: bob may not change the deletionPolicy of VolumeSnapshotContent {content} "
        "(Retain to Delete): it holds a backup's data (label backup-ns.sh/type). Only the "
        "retention controller (before it deletes an expired backup) and the platform team "
        "(system:masters, kubeadm:cluster-admins) may",
    )
    cp = cluster.kubectl("label", "vsc", content, "backup-ns.sh/keep-", env=ops)
    denied(
        cp,
        "backup-ns-snapshot-contents",
        "backup-ns: bob may not set or change backup-ns.sh/keep on VolumeSnapshotContent",
    )
    got = tc.content_get(cluster, content)
    assert got["spec"]["deletionPolicy"] == "Retain"
    assert tc.labels_of(got)["backup-ns.sh/keep"] == "true"
    # the platform team may (system:masters: the tier's admin certificate)
    assert (
        cluster.kubectl("-n", ns, "label", "volumesnapshot", "s1", "backup-ns.sh/keep-").returncode
        == 0
    )


def test_the_namespace_service_account_has_exactly_the_scripts_rights(
    cluster: RealCluster, tenant: str, tmp_path: Path
) -> None:
    ns = tenant
    cluster.kubectl("-n", ns, "create", "serviceaccount", "backup-ns", check=True)
    cluster.kubectl(
        "-n",
        ns,
        "create",
        "rolebinding",
        "sa-admin",
        "--clusterrole=admin",
        f"--serviceaccount={ns}:backup-ns",
        check=True,
    )
    env = cluster.env(tmp_path, kubeconfig=cluster.sa_kubeconfig(ns, "backup-ns", tmp_path / "sa"))
    user = f"system:serviceaccount:{ns}:backup-ns"
    labels = tc.managed(**tc.periods(tc.day(0)))
    doc = {
        "apiVersion": "snapshot.storage.k8s.io/v1",
        "kind": "VolumeSnapshot",
        "metadata": {"name": "b1", "namespace": ns, "labels": labels},
        "spec": {"source": {"persistentVolumeClaimName": "data"}},
    }
    # the backup itself
    cp = cluster.kubectl("-n", ns, "create", "-f", "-", input=json.dumps(doc), env=env)
    assert cp.returncode == 0, cp.stderr
    cluster.wait_for(lambda: (tc.vs_get(cluster, ns, "b1").get("status") or {}).get("readyToUse"))
    # the verify result
    cp = cluster.kubectl(
        "-n",
        ns,
        "annotate",
        "volumesnapshot",
        "b1",
        "backup-ns.sh/verified-result=ok",
        "backup-ns.sh/verified-at=x",
        "backup-ns.sh/verified-ok=true",
        env=env,
    )
    assert cp.returncode == 0, cp.stderr
    # ... and nothing else with it
    cp = cluster.kubectl(
        "-n", ns, "annotate", "--overwrite", "volumesnapshot", "b1",
        "backup-ns.sh/verified-ok=false", "backup-ns.sh/dump-size=1", env=env,
    )  # fmt: skip
    assert cp.returncode != 0 and f"backup-ns: {user} may not change " in cp.stderr, cp.stderr
    # a ready snapshot is not "failed": its period labels stay
    mark = (
        "--overwrite",
        "backup-ns.sh/failed=true",
        "backup-ns.sh/daily-",
        "backup-ns.sh/weekly-",
        "backup-ns.sh/monthly-",
    )
    cp = cluster.kubectl("-n", ns, "label", "volumesnapshot", "b1", *mark, env=env)
    assert cp.returncode != 0 and f"backup-ns: {user} may not change " in cp.stderr, cp.stderr
    # a snapshot that never became ready may be marked failed
    doc["metadata"]["name"] = "b2"
    doc["spec"]["source"]["persistentVolumeClaimName"] = "gone"
    cp = cluster.kubectl("-n", ns, "create", "-f", "-", input=json.dumps(doc), env=env)
    assert cp.returncode == 0, cp.stderr
    cp = cluster.kubectl("-n", ns, "label", "volumesnapshot", "b2", *mark, env=env)
    assert cp.returncode == 0, cp.stderr
    # and nothing else
    for args in (
        ("label", "volumesnapshot", "b1", "backup-ns.sh/keep=true"),
        ("label", "volumesnapshot", "b1", "backup-ns.sh/daily-"),
        ("delete", "volumesnapshot", "b1"),
    ):
        cp = cluster.kubectl("-n", ns, *args, env=env)
        assert cp.returncode != 0 and f"denied request: backup-ns: {user} may not" in cp.stderr, (
            args,
            cp.stderr,
        )


def policy_refusals(cluster: RealCluster, offset: int) -> list[dict[str, object]]:
    return [
        e
        for e in cluster.audit_events(offset)
        if e.get("responseStatus", {}).get("code", 200) >= 400
        and (e.get("objectRef") or {}).get("resource", "").startswith("volumesnapshot")
    ]


def test_the_controller_runs_retention_with_the_policies_on(ctl: tc.Ctl, tenant: str) -> None:
    offset = ctl.cluster.audit_offset()
    tc.test_run_retains_marks_and_sweeps_through_the_real_snapshot_controller(ctl, tenant)
    assert policy_refusals(ctl.cluster, offset) == []


def test_the_controller_syncs_with_the_policies_on(
    ctl: tc.Ctl, tenant: str, tmp_path: Path
) -> None:
    offset = ctl.cluster.audit_offset()
    tc.test_sync_applies_labels_server_side_and_touches_only_what_differs(ctl, tenant, tmp_path)
    assert policy_refusals(ctl.cluster, offset) == []


def test_deleting_a_namespace_completes_and_leaves_its_retain_contents(
    ctl: tc.Ctl, tenant: str
) -> None:
    cluster, ns = ctl.cluster, tenant
    offset = cluster.audit_offset()
    # the real orphan scenario: the namespace is deleted by an admin and its contents stay
    tc.test_orphans_of_a_deleted_namespace_expire_but_never_the_newest_or_keep(ctl, ns)
    # the namespace controller's own identity removed the snapshots (one deletecollection;
    # a policy refusal would have left the namespace Terminating)
    deletes = {
        (e["user"]["username"], e["verb"], e["responseStatus"]["code"])
        for e in cluster.audit_events(offset)
        if e["verb"] in ("delete", "deletecollection")
        and (e.get("objectRef") or {}).get("resource") == "volumesnapshots"
        and (e.get("objectRef") or {}).get("namespace") == ns
    }
    machinery = "system:serviceaccount:kube-system:namespace-controller"
    assert (machinery, "deletecollection", 200) in deletes, deletes
    assert policy_refusals(cluster, offset) == []


def test_list_contents_orphaned_shows_what_a_deleted_namespace_left(
    ctl: tc.Ctl, tenant: str
) -> None:
    cluster, ns = ctl.cluster, tenant
    vs = tc.make_snapshot(cluster, ns, "k1", tc.managed(**tc.periods(tc.day(0))))
    content = tc.content_of(vs)
    tc.ok(ctl.run("sync", now=tc.day(0)))
    cluster.kubectl("delete", "namespace", ns, "--wait=true", check=True, timeout=300)
    got = tc.content_get(cluster, content)
    assert got["spec"]["deletionPolicy"] == "Retain"
    # the platform team's toolbox command (the admin context)
    listed = subprocess.run(
        ["bash", str(tc.SCRIPT), "list-contents", "--orphaned"],
        env={**cluster.env(), "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert listed.returncode == 0, listed.stdout + listed.stderr
    rows = [ln for ln in listed.stdout.splitlines() if content in ln]
    assert len(rows) == 1 and ns in rows[0] and "k1" in rows[0], listed.stdout


# -- the tenant restore Role: self-service restore, nothing more ---------------------------
RESTORE_GROUP = "shop-restorers"


def run_script(
    script: Path, env: dict[str, str], tmp: Path, *args: str, **extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(script), *args],
        env={**env, "TMPDIR": str(tmp), "NO_COLOR": "1", **extra},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_a_tenant_restores_alone_and_is_told_what_needs_the_platform_team(
    cluster: RealCluster, tenant: str, tmp_path: Path
) -> None:
    ns = tenant
    out = render(
        tmp_path / "backupns.yaml",
        tmp_path / "out",
        text=(
            "defaults: {lock: {mode: none}}\n"
            f"namespaces:\n  {ns}:\n    pvcs: [data]\n    database: none\n"
            f"    restore: {{tenantGroups: [{RESTORE_GROUP}]}}\n"
        ),
    )
    cluster.kubectl("apply", "-f", str(out / "cluster" / "namespace-role.yaml"), check=True)
    cluster.kubectl("apply", "-f", str(out / "namespaces" / ns / "manifests.yaml"), check=True)
    s1 = tc.make_snapshot(cluster, ns, "s1", tc.managed(**tc.periods(tc.day(0))))
    # carol has no role but the rendered RoleBinding backup-ns-restore
    env = as_user(cluster, tmp_path, "carol", RESTORE_GROUP, ns)
    script = out / "namespaces" / ns / "backup-ns.sh"
    offset = cluster.audit_offset()

    listed = run_script(script, env, tmp_path, "list")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "s1" in listed.stdout, listed.stdout
    restored = run_script(script, env, tmp_path, "restore-pvc", "s1", "--to", "back")
    assert restored.returncode == 0, restored.stdout + restored.stderr
    cluster.wait_for(lambda: bound(cluster, ns, "back"), timeout=60)
    claim = cluster.get_json("pvc", "back", "-n", ns)
    assert claim["spec"]["dataSource"]["name"] == "s1"
    # verify: the scratch PVC and the helper pod are created and removed as carol (this
    # tier has no kubelet: the pod never runs, so the drill gives up waiting for it)
    verify = run_script(script, env, tmp_path, "verify", "s1", BAK_TOOLBOX_TIMEOUT="5s")
    assert verify.stderr.startswith("ERROR: helper pod backup-ns-verify-"), verify.stderr
    carol = [e for e in cluster.audit_events(offset) if e["user"]["username"] == "carol"]
    assert {
        (e["verb"], e["objectRef"].get("resource"))
        for e in carol
        if e["verb"] in ("create", "delete")
    } >= {
        ("create", "persistentvolumeclaims"),
        ("create", "pods"),
        ("delete", "pods"),
        ("delete", "persistentvolumeclaims"),
    }, carol
    # no refusal: verify asks (kubectl auth can-i) before recording its result, which the
    # Role does not allow (no patch of snapshots); kubectl's own look at the namespace
    # after a 404 (the drill's helper pod, gone) is not the script's
    refused = {
        (e["verb"], e["objectRef"].get("resource"))
        for e in carol
        if e["responseStatus"]["code"] == 403 and e["objectRef"].get("resource") != "namespaces"
    }
    assert refused == set(), refused
    assert ("create", "selfsubjectaccessreviews") in {
        (e["verb"], e.get("objectRef", {}).get("resource")) for e in carol
    }

    # the platform team's commands: one line saying so, nothing changed
    for args, verb in ((("delete", "s1", "--yes"), "delete"), (("keep", "s1"), "keep")):
        cp = run_script(script, env, tmp_path, *args)
        assert cp.returncode == 1, cp.stdout + cp.stderr
        lines = cp.stderr.splitlines()
        assert len(lines) == 1, cp.stderr
        assert lines[0].startswith(
            f"ERROR: {verb} needs the platform team in namespace {ns}: Error from server "
            "(Forbidden): "
        ), lines[0]
        assert lines[0].endswith(
            "Your kubectl identity may get data back (list, restore-pvc, verify, "
            "dump-download, dump-restore), not change or delete backups: ask the platform "
            f"team to run backup-ns.sh {verb}"
        ), lines[0]
    assert tc.labels_of(tc.vs_get(cluster, ns, "s1")) == tc.labels_of(s1)
    content = tc.content_get(cluster, tc.content_of(s1))
    assert content["spec"]["deletionPolicy"] == "Retain"
