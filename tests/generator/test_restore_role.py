"""The tenant restore Role of each namespace's manifests (restore.tenantGroups binds it)
and the platform-only commands of the namespace script."""

from __future__ import annotations

from typing import Any

import yaml

from backupns_gen.render import Renderer
from tests.genhelpers import plan_of


def docs(text: str, ns: str = "a") -> list[dict[str, Any]]:
    files = Renderer().render(plan_of(text))
    return list(yaml.safe_load_all(files[f"namespaces/{ns}/manifests.yaml"].text))


def named(items: list[dict[str, Any]], kind: str, name: str) -> list[dict[str, Any]]:
    return [d for d in items if d["kind"] == kind and d["metadata"]["name"] == name]


def test_the_role_grants_the_restore_commands_and_nothing_that_changes_a_backup() -> None:
    (role,) = named(docs("namespaces: {a: {pvcs: [x]}}"), "Role", "backup-ns-restore")
    assert role["metadata"]["namespace"] == "a"
    rules = {
        (g, r): tuple(x["verbs"])
        for x in role["rules"]
        for g in x["apiGroups"]
        for r in x["resources"]
    }
    assert rules == {
        ("snapshot.storage.k8s.io", "volumesnapshots"): ("get", "list", "watch"),
        ("", "persistentvolumeclaims"): ("get", "list", "watch", "create", "delete"),
        ("", "pods"): ("get", "list", "watch", "create", "delete"),
        ("", "pods/exec"): ("create", "get"),
        ("apps", "deployments"): ("get",),
        ("apps", "statefulsets"): ("get",),
        ("apps", "daemonsets"): ("get",),
        ("apps", "replicasets"): ("get",),
        ("batch", "jobs"): ("get",),
    }


def test_the_binding_names_the_configured_groups_only() -> None:
    assert named(docs("namespaces: {a: {pvcs: [x]}}"), "RoleBinding", "backup-ns-restore") == []
    text = (
        "defaults: {restore: {tenantGroups: [team-all]}}\n"
        "namespaces:\n"
        "  a: {pvcs: [x], restore: {tenantGroups: [oidc:shop, shop-ops]}}\n"
        "  b: {pvcs: [y]}"
    )
    (binding,) = named(docs(text), "RoleBinding", "backup-ns-restore")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": "backup-ns-restore",
    }
    assert [s["name"] for s in binding["subjects"]] == ["oidc:shop", "shop-ops"]
    assert {s["kind"] for s in binding["subjects"]} == {"Group"}
    (other,) = named(docs(text, "b"), "RoleBinding", "backup-ns-restore")
    assert [s["name"] for s in other["subjects"]] == ["team-all"]


def test_delete_keep_and_unkeep_are_the_platform_teams() -> None:
    script = Renderer().render(plan_of("namespaces: {a: {pvcs: [x]}}"))["namespaces/a/backup-ns.sh"]
    assert "\nPLATFORM_VERBS=(delete keep unkeep)\n" in script.text
    controller = Renderer().render(plan_of("namespaces: {a: {pvcs: [x]}}"))[
        "controller/backup-ns-controller.sh"
    ]
    assert "PLATFORM_VERBS" not in controller.text
