"""kubesim authentication and RBAC: request attributes, the authorizer, TLS, the middleware."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import os
import re
import ssl
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp import ClientSession, web
from cryptography import x509

from kubesim import auth
from kubesim.fixture import KubeSim
from kubesim.rbac import (
    Attributes,
    Authorizer,
    UserInfo,
    as_create,
    connect_create_check_required,
    forbidden_status,
    request_attributes,
    service_account_user,
)
from kubesim.rbac_escalation import (
    compact_rules,
    compact_string,
    escalation_error,
    rule_covers,
    uncovered_rules,
)

RBAC = "rbac.authorization.k8s.io/v1"
SA = service_account_user("ns1", "backup")
ADMIN = UserInfo("kubesim-admin", ("system:masters", "system:authenticated"))
ANON = UserInfo("system:anonymous", ("system:unauthenticated",))


# --------------------------------------------------------------------------- fakes


class FakeStore:
    """Just enough of Store for the authorizer and the token routes: objects by plural."""

    def __init__(self, objs: list[dict[str, Any]] | None = None) -> None:
        self.objs: list[dict[str, Any]] = list(objs or [])

    @staticmethod
    def _plural(res: Any) -> str:
        return res if isinstance(res, str) else str(res.plural)

    def list(self, res: Any, namespace: str | None = None) -> list[dict[str, Any]]:
        plural = self._plural(res)
        return [
            o
            for o in self.objs
            if o["_plural"] == plural
            and (namespace is None or o["metadata"].get("namespace") == namespace)
        ]

    def get(self, res: Any, namespace: str | None, name: str) -> dict[str, Any] | None:
        for obj in self.list(res, namespace):
            if obj["metadata"]["name"] == name:
                return obj
        return None


def role(ns: str, name: str, *rules: dict[str, Any]) -> dict[str, Any]:
    meta = {"name": name, "namespace": ns}
    return {"_plural": "roles", "kind": "Role", "metadata": meta, "rules": list(rules)}


def cluster_role(name: str, *rules: dict[str, Any], **extra: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "_plural": "clusterroles",
        "kind": "ClusterRole",
        "metadata": {"name": name},
        "rules": list(rules),
    }
    obj.update(extra)
    return obj


def role_binding(
    ns: str, name: str, ref_kind: str, ref: str, *subjects: dict[str, Any]
) -> dict[str, Any]:
    return {
        "_plural": "rolebindings",
        "kind": "RoleBinding",
        "metadata": {"name": name, "namespace": ns},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": ref_kind, "name": ref},
        "subjects": list(subjects),
    }


def cluster_role_binding(name: str, ref: str, *subjects: dict[str, Any]) -> dict[str, Any]:
    return {
        "_plural": "clusterrolebindings",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": ref},
        "subjects": list(subjects),
    }


def sa_subject(name: str = "backup", namespace: str | None = "ns1") -> dict[str, Any]:
    subject = {"kind": "ServiceAccount", "name": name}
    if namespace is not None:
        subject["namespace"] = namespace
    return subject


def rule(groups: list[str], resources: list[str], verbs: list[str], **extra: Any) -> dict[str, Any]:
    return {"apiGroups": groups, "resources": resources, "verbs": verbs, **extra}


def authorizer(*objs: dict[str, Any]) -> Authorizer:
    return Authorizer(FakeStore(list(objs)), resolve=lambda group, plural: plural)


def attrs(method: str, path: str, **query: str) -> Attributes:
    return request_attributes(method, path, query)


# --------------------------------------------------------------------------- request_attributes

PODS = "/api/v1/namespaces/ns1/pods"


@pytest.mark.parametrize(
    ("method", "path", "query", "expected"),
    [
        ("GET", "/api/v1/namespaces/ns1/pods/p1", {}, ("get", "", "ns1", "pods", "", "p1")),
        ("GET", "/api/v1/namespaces/ns1/pods", {}, ("list", "", "ns1", "pods", "", "")),
        ("HEAD", "/api/v1/namespaces/ns1/pods", {}, ("list", "", "ns1", "pods", "", "")),
        ("GET", "/api/v1/pods", {}, ("list", "", "", "pods", "", "")),
        ("GET", PODS, {"watch": "true"}, ("watch", "", "ns1", "pods", "", "")),
        ("GET", PODS, {"watch": "1"}, ("watch", "", "ns1", "pods", "", "")),
        ("GET", PODS, {"watch": "false"}, ("list", "", "ns1", "pods", "", "")),
        # an unparsable watch value: the apiserver reports it as a watch anyway
        ("GET", PODS, {"watch": "yes"}, ("watch", "", "ns1", "pods", "", "")),
        ("GET", "/api/v1/watch/namespaces/ns1/pods", {}, ("watch", "", "ns1", "pods", "", "")),
        ("GET", "/api/v1/watch/namespaces/ns1/pods/p1", {}, ("watch", "", "ns1", "pods", "", "p1")),
        # kubectl wait: list+watch with fieldSelector metadata.name=NAME carries the name
        ("GET", "/apis/snapshot.storage.k8s.io/v1/namespaces/ns1/volumesnapshots",
         {"fieldSelector": "metadata.name=snap-a", "watch": "true"},
         ("watch", "snapshot.storage.k8s.io", "ns1", "volumesnapshots", "", "snap-a")),
        ("GET", "/api/v1/namespaces/ns1/pods", {"fieldSelector": "metadata.name==p1"},
         ("list", "", "ns1", "pods", "", "p1")),
        ("GET", "/api/v1/namespaces/ns1/pods", {"fieldSelector": "metadata.name!=p1"},
         ("list", "", "ns1", "pods", "", "")),
        ("GET", "/api/v1/namespaces/ns1/pods",
         {"fieldSelector": "metadata.namespace=ns1,metadata.name=p1"},
         ("list", "", "ns1", "pods", "", "p1")),
        ("GET", "/api/v1/namespaces/ns1/pods", {"fieldSelector": "garbage"},
         ("list", "", "ns1", "pods", "", "")),
        ("POST", "/api/v1/namespaces/ns1/pods", {}, ("create", "", "ns1", "pods", "", "")),
        ("PUT", "/api/v1/namespaces/ns1/pods/p1", {}, ("update", "", "ns1", "pods", "", "p1")),
        ("PATCH", "/api/v1/namespaces/ns1/pods/p1", {}, ("patch", "", "ns1", "pods", "", "p1")),
        ("DELETE", "/api/v1/namespaces/ns1/pods/p1", {}, ("delete", "", "ns1", "pods", "", "p1")),
        ("DELETE", "/api/v1/namespaces/ns1/pods", {},
         ("deletecollection", "", "ns1", "pods", "", "")),
        # exec over WebSocket is a GET (verb get); the SPDY fallback is a POST (create)
        ("GET", "/api/v1/namespaces/ns1/pods/p1/exec", {"command": "sh"},
         ("get", "", "ns1", "pods", "exec", "p1")),
        ("POST", "/api/v1/namespaces/ns1/pods/p1/exec", {},
         ("create", "", "ns1", "pods", "exec", "p1")),
        ("PATCH", "/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents/c1/status", {},
         ("patch", "snapshot.storage.k8s.io", "", "volumesnapshotcontents", "status", "c1")),
        ("GET", "/apis/apps/v1/namespaces/ns1/deployments/app/scale", {},
         ("get", "apps", "ns1", "deployments", "scale", "app")),
        ("POST", "/apis/batch/v1/namespaces/ns1/jobs", {},
         ("create", "batch", "ns1", "jobs", "", "")),
        # the namespace object itself is authorized inside its namespace
        ("GET", "/api/v1/namespaces/ns1", {}, ("get", "", "ns1", "namespaces", "", "ns1")),
        ("GET", "/api/v1/namespaces", {}, ("list", "", "", "namespaces", "", "")),
        ("PUT", "/api/v1/namespaces/ns1/finalize", {},
         ("update", "", "ns1", "namespaces", "finalize", "ns1")),
        ("GET", "/api/v1/namespaces/ns1/status", {},
         ("get", "", "ns1", "namespaces", "status", "ns1")),
        ("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {},
         ("create", "authorization.k8s.io", "", "selfsubjectaccessreviews", "", "")),
        ("POST", "/api/v1/namespaces/ns1/serviceaccounts/backup/token", {},
         ("create", "", "ns1", "serviceaccounts", "token", "backup")),
    ],
)  # fmt: skip
def test_resource_request_attributes(
    method: str, path: str, query: dict[str, str], expected: tuple[str, ...]
) -> None:
    got = request_attributes(method, path, query)
    assert got.resource_request
    assert (got.verb, got.api_group, got.namespace, got.resource, got.subresource, got.name) == (
        expected
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/version"),
        ("GET", "/api"),
        ("GET", "/api/v1"),
        ("GET", "/apis"),
        ("GET", "/apis/apps"),
        ("GET", "/apis/apps/v1"),
        ("GET", "/openapi/v3"),
        ("GET", "/openapi/v3/apis/apps/v1"),
        ("GET", "/healthz"),
        ("POST", "/metrics"),
    ],
)
def test_non_resource_request_attributes(method: str, path: str) -> None:
    got = request_attributes(method, path, {})
    assert got == Attributes(verb=method.lower(), path=path, resource_request=False)


def test_api_version_is_recorded() -> None:
    got = attrs("GET", "/apis/snapshot.storage.k8s.io/v1/namespaces/ns1/volumesnapshots/s")
    assert (got.api_prefix, got.api_version) == ("apis", "v1")


# --------------------------------------------------------------------------- authorizer

PVC_GET = role("ns1", "pvc-reader", rule([""], ["persistentvolumeclaims"], ["get"]))
PVC_GET_BINDING = role_binding("ns1", "backup-pvc", "Role", "pvc-reader", sa_subject())


def test_system_masters_may_do_anything() -> None:
    authz = authorizer()
    assert authz.authorize(ADMIN, attrs("DELETE", "/api/v1/namespaces/x/secrets"))
    assert authz.authorize(ADMIN, attrs("GET", "/metrics"))


def test_role_allows_only_its_verbs_and_resources() -> None:
    authz = authorizer(PVC_GET, PVC_GET_BINDING)
    assert authz.authorize(SA, attrs("GET", "/api/v1/namespaces/ns1/persistentvolumeclaims/data"))
    assert not authz.authorize(
        SA, attrs("DELETE", "/api/v1/namespaces/ns1/persistentvolumeclaims/data")
    )
    assert not authz.authorize(SA, attrs("GET", "/api/v1/namespaces/ns1/persistentvolumeclaims"))
    assert not authz.authorize(SA, attrs("GET", "/api/v1/namespaces/ns1/secrets/data"))
    # same plural, other group
    assert not authz.authorize(
        SA, attrs("GET", "/apis/other.example.com/v1/namespaces/ns1/persistentvolumeclaims/data")
    )
    # other namespace, other user
    assert not authz.authorize(SA, attrs("GET", "/api/v1/namespaces/ns2/persistentvolumeclaims/d"))
    other = service_account_user("ns1", "other")
    assert not authz.authorize(
        other, attrs("GET", "/api/v1/namespaces/ns1/persistentvolumeclaims/data")
    )


def test_service_account_subject_defaults_to_the_binding_namespace() -> None:
    binding = role_binding("ns1", "b", "Role", "pvc-reader", sa_subject(namespace=None))
    authz = authorizer(PVC_GET, binding)
    assert authz.authorize(SA, attrs("GET", "/api/v1/namespaces/ns1/persistentvolumeclaims/data"))
    # ... but a subject in another namespace is that namespace's ServiceAccount
    binding = role_binding("ns1", "b", "Role", "pvc-reader", sa_subject(namespace="ns2"))
    assert not authorizer(PVC_GET, binding).authorize(
        SA, attrs("GET", "/api/v1/namespaces/ns1/persistentvolumeclaims/data")
    )


def test_group_and_user_subjects() -> None:
    by_group = role_binding(
        "ns1", "g", "Role", "pvc-reader", {"kind": "Group", "name": "system:serviceaccounts:ns1"}
    )
    by_user = role_binding("ns1", "u", "Role", "pvc-reader", {"kind": "User", "name": "alice"})
    get = attrs("GET", "/api/v1/namespaces/ns1/persistentvolumeclaims/data")
    assert authorizer(PVC_GET, by_group).authorize(SA, get)
    assert not authorizer(PVC_GET, by_group).authorize(service_account_user("ns2", "x"), get)
    assert authorizer(PVC_GET, by_user).authorize(UserInfo("alice"), get)
    assert not authorizer(PVC_GET, by_user).authorize(SA, get)


def test_resource_names_restrict_named_requests_only() -> None:
    limited = role(
        "ns1",
        "one-pvc",
        rule([""], ["persistentvolumeclaims"], ["get", "list", "watch", "create"],
             resourceNames=["data"]),
    )  # fmt: skip
    authz = authorizer(limited, role_binding("ns1", "b", "Role", "one-pvc", sa_subject()))
    base = "/api/v1/namespaces/ns1/persistentvolumeclaims"
    assert authz.authorize(SA, attrs("GET", f"{base}/data"))
    assert not authz.authorize(SA, attrs("GET", f"{base}/other"))
    assert not authz.authorize(SA, attrs("GET", base))  # list has no name
    assert not authz.authorize(SA, attrs("POST", base))  # create has no name
    assert authz.authorize(SA, attrs("GET", base, fieldSelector="metadata.name=data"))
    assert authz.authorize(SA, attrs("GET", base, fieldSelector="metadata.name=data", watch="true"))
    assert not authz.authorize(SA, attrs("GET", base, fieldSelector="metadata.name=other"))


@pytest.mark.parametrize(
    ("resources", "path", "allowed"),
    [
        (["pods/exec"], "/api/v1/namespaces/ns1/pods/p/exec", True),
        (["pods/exec"], "/api/v1/namespaces/ns1/pods/p", False),
        (["pods"], "/api/v1/namespaces/ns1/pods/p/exec", False),
        (["pods"], "/api/v1/namespaces/ns1/pods/p", True),
        (["*/exec"], "/api/v1/namespaces/ns1/pods/p/exec", True),
        (["*/exec"], "/api/v1/namespaces/ns1/pods/p/log", False),
        (["*/exec"], "/api/v1/namespaces/ns1/pods/p", False),
        (["*"], "/api/v1/namespaces/ns1/pods/p/exec", True),
        (["pods/*"], "/api/v1/namespaces/ns1/pods/p/exec", False),  # no such wildcard in RBAC
    ],
)
def test_subresources(resources: list[str], path: str, allowed: bool) -> None:
    authz = authorizer(
        role("ns1", "r", rule([""], resources, ["get"])),
        role_binding("ns1", "b", "Role", "r", sa_subject()),
    )
    assert authz.authorize(SA, attrs("GET", path)) is allowed


def test_wildcards_in_groups_and_verbs() -> None:
    authz = authorizer(
        role("ns1", "r", rule(["*"], ["volumesnapshots"], ["*"])),
        role_binding("ns1", "b", "Role", "r", sa_subject()),
    )
    path = "/apis/snapshot.storage.k8s.io/v1/namespaces/ns1/volumesnapshots"
    assert authz.authorize(SA, attrs("DELETE", path))
    assert authz.authorize(SA, attrs("PATCH", f"{path}/s1"))
    assert not authz.authorize(SA, attrs("GET", f"{path}/s1/status"))


def test_cluster_role_through_role_binding_is_limited_to_that_namespace() -> None:
    snapshotter = cluster_role(
        "snapshotter", rule(["snapshot.storage.k8s.io"], ["volumesnapshots"], ["get", "create"])
    )
    binding = role_binding("ns1", "b", "ClusterRole", "snapshotter", sa_subject())
    authz = authorizer(snapshotter, binding)
    group = "/apis/snapshot.storage.k8s.io/v1"
    assert authz.authorize(SA, attrs("POST", f"{group}/namespaces/ns1/volumesnapshots"))
    assert not authz.authorize(SA, attrs("POST", f"{group}/namespaces/ns2/volumesnapshots"))
    assert not authz.authorize(SA, attrs("GET", f"{group}/volumesnapshots"))  # -A


def test_cluster_role_binding_applies_everywhere() -> None:
    reader = cluster_role(
        "content-reader",
        rule(["snapshot.storage.k8s.io"], ["volumesnapshotcontents", "volumesnapshots"], ["list"]),
    )
    authz = authorizer(reader, cluster_role_binding("c", "content-reader", sa_subject()))
    group = "/apis/snapshot.storage.k8s.io/v1"
    assert authz.authorize(SA, attrs("GET", f"{group}/volumesnapshotcontents"))
    assert authz.authorize(SA, attrs("GET", f"{group}/namespaces/ns7/volumesnapshots"))
    assert authz.authorize(SA, attrs("GET", f"{group}/volumesnapshots"))
    assert not authz.authorize(SA, attrs("DELETE", f"{group}/volumesnapshotcontents/c1"))


def test_cluster_role_binding_ignores_service_account_subject_without_namespace() -> None:
    reader = cluster_role("r", rule([""], ["pods"], ["list"]))
    authz = authorizer(reader, cluster_role_binding("c", "r", sa_subject(namespace=None)))
    assert not authz.authorize(SA, attrs("GET", "/api/v1/namespaces/ns1/pods"))


def test_non_resource_urls_follow_the_bootstrap_policy() -> None:
    authz = authorizer()
    for path in ("/version", "/api", "/api/v1", "/apis", "/apis/apps/v1", "/openapi/v3"):
        assert authz.authorize(SA, attrs("GET", path)), path
    assert not authz.authorize(SA, attrs("POST", "/api"))
    assert not authz.authorize(SA, attrs("GET", "/metrics"))
    assert authz.authorize(ANON, attrs("GET", "/version"))
    assert authz.authorize(ANON, attrs("GET", "/healthz"))
    assert not authz.authorize(ANON, attrs("GET", "/api"))
    assert not authz.authorize(ANON, attrs("GET", "/api/v1/namespaces/ns1/pods"))


def test_every_authenticated_user_may_review_itself() -> None:
    ssar = attrs("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews")
    assert authorizer().authorize(SA, ssar)
    assert not authorizer().authorize(ANON, ssar)


def test_non_resource_url_rules() -> None:
    metrics = cluster_role(
        "metrics", {"nonResourceURLs": ["/metrics", "/logs/*"], "verbs": ["get"]}
    )
    authz = authorizer(metrics, cluster_role_binding("m", "metrics", sa_subject()))
    assert authz.authorize(SA, attrs("GET", "/metrics"))
    assert authz.authorize(SA, attrs("GET", "/logs/kube"))
    assert not authz.authorize(SA, attrs("GET", "/metricsx"))
    # nonResourceURLs never match resource requests
    assert not authz.authorize(SA, attrs("GET", "/api/v1/namespaces/ns1/pods"))


def test_aggregated_cluster_role() -> None:
    part = cluster_role("part", rule([""], ["pods"], ["get"]))
    part["metadata"]["labels"] = {"example.com/aggregate-to-backup": "true"}
    agg = cluster_role(
        "backup",
        aggregationRule={
            "clusterRoleSelectors": [{"matchLabels": {"example.com/aggregate-to-backup": "true"}}]
        },
    )
    authz = authorizer(part, agg, role_binding("ns1", "b", "ClusterRole", "backup", sa_subject()))
    assert authz.authorize(SA, attrs("GET", "/api/v1/namespaces/ns1/pods/p"))
    assert not authz.authorize(SA, attrs("DELETE", "/api/v1/namespaces/ns1/pods/p"))


def test_missing_role_is_denied_with_the_rbac_reason() -> None:
    authz = authorizer(role_binding("ns1", "b", "Role", "nope", sa_subject()))
    decision = authz.decide(SA, attrs("GET", "/api/v1/namespaces/ns1/pods/p"))
    assert not decision.allowed
    assert decision.reason == 'RBAC: role.rbac.authorization.k8s.io "nope" not found'
    status = forbidden_status(SA, attrs("GET", "/api/v1/namespaces/ns1/pods/p"), decision.reason)
    assert status["message"].endswith(
        'in the namespace "ns1": RBAC: role.rbac.authorization.k8s.io "nope" not found'
    )


def test_rules_for_lists_cluster_and_namespace_rules() -> None:
    reader = cluster_role("r", rule([""], ["pods"], ["list"]))
    authz = authorizer(
        reader,
        cluster_role_binding("c", "r", sa_subject()),
        PVC_GET,
        PVC_GET_BINDING,
        role_binding("ns1", "broken", "Role", "nope", sa_subject()),
    )
    rules, incomplete = authz.rules_for(SA, "ns1")
    assert rule([""], ["pods"], ["list"]) in rules
    assert rule([""], ["persistentvolumeclaims"], ["get"]) in rules
    assert incomplete
    rules, incomplete = authz.rules_for(SA, "ns2")
    assert rule([""], ["persistentvolumeclaims"], ["get"]) not in rules
    assert not incomplete


def test_allowed_decisions_name_the_binding() -> None:
    decision = authorizer(PVC_GET, PVC_GET_BINDING).decide(
        SA, attrs("GET", "/api/v1/namespaces/ns1/persistentvolumeclaims/data")
    )
    assert decision.reason == (
        'RBAC: allowed by RoleBinding "backup-pvc/ns1" of Role "pvc-reader" to '
        'ServiceAccount "backup/ns1"'
    )


def test_store_objects_override_bootstrap_objects() -> None:
    # A cluster that removed system:discovery's binding denies discovery.
    empty = cluster_role_binding("system:discovery", "system:discovery")
    assert not authorizer(empty).authorize(SA, attrs("GET", "/api"))


def test_exec_over_websocket_needs_create_only_from_1_35() -> None:
    exec_get = attrs("GET", "/api/v1/namespaces/ns1/pods/p/exec", command="sh")
    assert not connect_create_check_required(exec_get, 32)
    assert connect_create_check_required(exec_get, 35)
    assert as_create(exec_get).verb == "create"
    assert not connect_create_check_required(attrs("GET", "/api/v1/namespaces/ns1/pods/p"), 35)
    get_only = authorizer(
        role("ns1", "r", rule([""], ["pods/exec"], ["get"])),
        role_binding("ns1", "b", "Role", "r", sa_subject()),
    )
    assert get_only.authorize(SA, exec_get)
    assert not get_only.authorize(SA, as_create(exec_get))


# --------------------------------------------------------------------------- escalation


@pytest.mark.parametrize(
    ("owner", "sub", "covered"),
    [
        (rule(["*"], ["*"], ["*"]), rule(["apps"], ["deployments/scale"], ["patch"]), True),
        (rule([""], ["pods"], ["get", "list"]), rule([""], ["pods"], ["get"]), True),
        (rule([""], ["pods"], ["get"]), rule([""], ["pods"], ["list"]), False),
        (rule([""], ["pods"], ["get"]), rule([""], ["pods/exec"], ["get"]), False),
        (rule([""], ["*/exec"], ["get"]), rule([""], ["pods/exec"], ["get"]), True),
        (rule([""], ["pods"], ["get"]), rule(["apps"], ["pods"], ["get"]), False),
        (rule([""], ["pods"], ["get"]), rule([""], ["pods"], ["get"], resourceNames=["a"]), True),
        (rule([""], ["pods"], ["get"], resourceNames=["a"]), rule([""], ["pods"], ["get"]), False),
        (
            rule([""], ["pods"], ["get"], resourceNames=["a"]),
            rule([""], ["pods"], ["get"], resourceNames=["a"]),
            True,
        ),
        ({"nonResourceURLs": ["/logs/*"], "verbs": ["get"]},
         {"nonResourceURLs": ["/logs/x"], "verbs": ["get"]}, True),
        ({"nonResourceURLs": ["/logs"], "verbs": ["get"]},
         {"nonResourceURLs": ["/logs/x"], "verbs": ["get"]}, False),
    ],
)  # fmt: skip
def test_rule_covers(owner: dict[str, Any], sub: dict[str, Any], covered: bool) -> None:
    assert rule_covers(owner, sub) is covered
    assert (uncovered_rules([owner], [sub]) == []) is covered


def test_uncovered_rules_are_reported_compactly() -> None:
    wanted = rule([""], ["pods", "configmaps"], ["get", "list"])
    missing = uncovered_rules([rule([""], ["configmaps"], ["get"])], [wanted])
    assert sorted(compact_string(r) for r in compact_rules(missing)) == [
        '{APIGroups:[""], Resources:["configmaps"], Verbs:["list"]}',
        '{APIGroups:[""], Resources:["pods"], Verbs:["get" "list"]}',
    ]
    named = rule(["apps"], ["deployments"], ["get"], resourceNames=["a"])
    assert compact_string(named) == (
        '{APIGroups:["apps"], Resources:["deployments"], ResourceNames:["a"], Verbs:["get"]}'
    )


RBAC_WRITER = role(
    "ns1",
    "rbac-writer",
    rule(["rbac.authorization.k8s.io"], ["roles", "rolebindings"], ["create", "update"]),
    rule([""], ["configmaps"], ["get"]),
)
RBAC_WRITER_BINDING = role_binding("ns1", "w", "Role", "rbac-writer", sa_subject())
PODS_CLUSTER_ROLE = cluster_role("pods", rule([""], ["pods"], ["get"]))


def new_role(name: str, *rules: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "ns1"}, "rules": list(rules)}


def new_binding(ref_kind: str, ref: str) -> dict[str, Any]:
    return {
        "metadata": {"name": "b", "namespace": "ns1"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": ref_kind, "name": ref},
        "subjects": [sa_subject("other")],
    }


def test_escalation_writing_roles() -> None:
    authz = authorizer(RBAC_WRITER, RBAC_WRITER_BINDING)
    held = new_role("r", rule([""], ["configmaps"], ["get"]))
    assert escalation_error(authz, SA, "roles", held, None) is None
    more = new_role("r", rule([""], ["configmaps", "secrets"], ["get"]))
    assert escalation_error(authz, SA, "roles", more, None) == (
        'user "system:serviceaccount:ns1:backup" (groups=["system:serviceaccounts" '
        '"system:serviceaccounts:ns1" "system:authenticated"]) is attempting to grant RBAC '
        'permissions not currently held:\n{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}'
    )
    # an update that keeps the rules (labels, annotations) is no escalation
    assert escalation_error(authz, SA, "roles", more, more) is None
    assert escalation_error(authz, ADMIN, "roles", more, None) is None
    escalator = role("ns1", "esc", rule(["rbac.authorization.k8s.io"], ["roles"], ["escalate"]))
    authz = authorizer(
        RBAC_WRITER,
        RBAC_WRITER_BINDING,
        escalator,
        role_binding("ns1", "e", "Role", "esc", sa_subject()),
    )
    assert escalation_error(authz, SA, "roles", more, None) is None
    # ... but escalate on roles does not cover binding
    assert escalation_error(authz, SA, "rolebindings", new_binding("ClusterRole", "pods"), None)


def test_escalation_writing_bindings() -> None:
    authz = authorizer(RBAC_WRITER, RBAC_WRITER_BINDING, PODS_CLUSTER_ROLE)
    assert escalation_error(
        authz, SA, "rolebindings", new_binding("Role", "rbac-writer"), None
    ) is (None)
    message = escalation_error(authz, SA, "rolebindings", new_binding("ClusterRole", "pods"), None)
    assert message is not None
    assert message.endswith('\n{APIGroups:[""], Resources:["pods"], Verbs:["get"]}')
    assert escalation_error(authz, SA, "rolebindings", new_binding("Role", "nope"), None) == (
        'roles.rbac.authorization.k8s.io "nope" not found'
    )
    binder = role(
        "ns1",
        "binder",
        rule(["rbac.authorization.k8s.io"], ["clusterroles"], ["bind"], resourceNames=["pods"]),
    )
    authz = authorizer(
        RBAC_WRITER,
        RBAC_WRITER_BINDING,
        PODS_CLUSTER_ROLE,
        binder,
        role_binding("ns1", "bb", "Role", "binder", sa_subject()),
    )
    assert escalation_error(
        authz, SA, "rolebindings", new_binding("ClusterRole", "pods"), None
    ) is (None)


def test_escalation_aggregation_rule_needs_cluster_admin() -> None:
    authz = authorizer(
        cluster_role("rw", rule(["rbac.authorization.k8s.io"], ["clusterroles"], ["create"])),
        cluster_role_binding("rw", "rw", sa_subject()),
    )
    aggregated = {
        "metadata": {"name": "agg"},
        "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"a": "b"}}]},
    }
    assert escalation_error(authz, SA, "clusterroles", aggregated, None) == (
        "must have cluster-admin privileges to use the aggregationRule"
    )


# --------------------------------------------------------------------------- messages


@pytest.mark.parametrize(
    ("user", "method", "path", "message", "details"),
    [
        (SA, "DELETE", "/api/v1/namespaces/ns1/persistentvolumeclaims/data",
         'persistentvolumeclaims "data" is forbidden: User "system:serviceaccount:ns1:backup" '
         'cannot delete resource "persistentvolumeclaims" in API group "" in the namespace "ns1"',
         {"name": "data", "kind": "persistentvolumeclaims"}),
        (SA, "GET", "/apis/snapshot.storage.k8s.io/v1/namespaces/ns1/volumesnapshots",
         'volumesnapshots.snapshot.storage.k8s.io is forbidden: User '
         '"system:serviceaccount:ns1:backup" cannot list resource "volumesnapshots" in API group '
         '"snapshot.storage.k8s.io" in the namespace "ns1"',
         {"group": "snapshot.storage.k8s.io", "kind": "volumesnapshots"}),
        (SA, "GET", "/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents/c1",
         'volumesnapshotcontents.snapshot.storage.k8s.io "c1" is forbidden: User '
         '"system:serviceaccount:ns1:backup" cannot get resource "volumesnapshotcontents" in API '
         'group "snapshot.storage.k8s.io" at the cluster scope',
         {"name": "c1", "group": "snapshot.storage.k8s.io", "kind": "volumesnapshotcontents"}),
        (SA, "POST", "/api/v1/namespaces/ns1/pods/p/exec",
         'pods "p" is forbidden: User "system:serviceaccount:ns1:backup" cannot create resource '
         '"pods/exec" in API group "" in the namespace "ns1"',
         {"name": "p", "kind": "pods"}),
        (ANON, "GET", "/api",
         'forbidden: User "system:anonymous" cannot get path "/api"', {}),
    ],
)  # fmt: skip
def test_forbidden_status(
    user: UserInfo, method: str, path: str, message: str, details: dict[str, str]
) -> None:
    assert forbidden_status(user, attrs(method, path)) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": "Forbidden",
        "details": details,
        "code": 403,
    }


# --------------------------------------------------------------------------- TLS


def test_generated_certificates(tmp_path: Path) -> None:
    files = auth.generate_tls(tmp_path / "tls")
    ca = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    server = x509.load_pem_x509_certificate(files.server_cert.read_bytes())
    server.verify_directly_issued_by(ca)
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert server.not_valid_after_utc > dt.datetime.now(dt.timezone.utc)
    assert files.ca_key.stat().st_mode & 0o777 == 0o600
    # a second call keeps the CA (a restarted server stays trusted)
    again = auth.generate_tls(tmp_path / "tls")
    assert again.ca_cert.read_bytes() == files.ca_cert.read_bytes()


# --------------------------------------------------------------------------- middleware over HTTPS


class Server:
    """install_tls on a tiny app (every API path answers 200 "ok") served over HTTPS."""

    def __init__(self, tmp_path: Path, store: FakeStore) -> None:
        self.sim = SimpleNamespace(store=store, state_dir=str(tmp_path), url="", version="1.32")
        self.app = web.Application()
        self.app.router.add_route("*", "/{tail:.*}", self._ok)
        self.ssl = auth.install_tls(self.app, self.sim)
        self.auth: auth.Auth = self.app[auth.AUTH_KEY]
        self.client_ssl = ssl.create_default_context(cafile=str(self.auth.files.ca_cert))

    @staticmethod
    async def _ok(request: web.Request) -> web.Response:
        user = request.get(auth.USER_KEY)
        return web.json_response({"user": user.name if user else None})

    async def call(
        self,
        method: str,
        path: str,
        token: str | None = None,
        extra_headers: list[tuple[str, str]] | None = None,
        **kwargs: Any,
    ) -> tuple[int, Any]:
        headers = [("Authorization", f"Bearer {token}")] if token else []
        headers.extend(extra_headers or [])
        async with (
            ClientSession() as session,
            session.request(
                method, self.sim.url + path, headers=headers, ssl=self.client_ssl, **kwargs
            ) as resp,
        ):
            body = await resp.read()
            if resp.content_type == "application/json":
                return resp.status, await resp.json()
            return resp.status, body.decode()


def sa_object(ns: str, name: str, uid: str) -> dict[str, Any]:
    return {"_plural": "serviceaccounts", "metadata": {"name": name, "namespace": ns, "uid": uid}}


@pytest.fixture
def https(tmp_path: Path) -> Iterator[tuple[Server, asyncio.AbstractEventLoop]]:
    store = FakeStore([sa_object("ns1", "backup", "u1"), PVC_GET, PVC_GET_BINDING])
    server = Server(tmp_path, store)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(server.app)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server.ssl)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    server.sim.url = f"https://127.0.0.1:{port}"
    yield server, loop
    loop.run_until_complete(runner.cleanup())
    loop.close()


def test_https_authn_and_authz(https: tuple[Server, asyncio.AbstractEventLoop]) -> None:
    server, loop = https
    run = loop.run_until_complete
    pvc = "/api/v1/namespaces/ns1/persistentvolumeclaims/data"

    assert run(server.call("GET", "/api/v1/pods", server.auth.admin_token)) == (
        200,
        {"user": "kubesim-admin"},
    )
    assert run(server.call("GET", "/api/v1/pods", "bogus")) == (401, rbac_unauthorized())
    # no credentials: system:anonymous, like a kube-apiserver with --anonymous-auth
    assert run(server.call("GET", "/version")) == (200, {"user": "system:anonymous"})
    status, body = run(server.call("GET", "/api"))
    assert (status, body["message"]) == (
        403,
        'forbidden: User "system:anonymous" cannot get path "/api"',
    )

    status, issued = run(
        server.call(
            "POST", "/_kubesim/tokens", json={"namespace": "ns1", "serviceAccount": "backup"}
        )
    )
    assert status == 200
    assert issued["user"] == "system:serviceaccount:ns1:backup"
    token = issued["token"]
    assert run(server.call("GET", pvc, token)) == (200, {"user": issued["user"]})
    status, body = run(server.call("DELETE", pvc, token))
    assert status == 403
    assert body["reason"] == "Forbidden"
    assert body["message"] == (
        'persistentvolumeclaims "data" is forbidden: User "system:serviceaccount:ns1:backup" '
        'cannot delete resource "persistentvolumeclaims" in API group "" in the namespace "ns1"'
    )

    # a token dies with its ServiceAccount (and a new SA with the same name has a new uid)
    server.sim.store.objs[0] = sa_object("ns1", "backup", "u2")
    assert run(server.call("GET", pvc, token))[0] == 401


def rbac_unauthorized() -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Unauthorized",
        "reason": "Unauthorized",
        "code": 401,
    }


def test_https_control_routes(https: tuple[Server, asyncio.AbstractEventLoop]) -> None:
    server, loop = https
    run = loop.run_until_complete
    status, body = run(
        server.call("POST", "/_kubesim/tokens", json={"namespace": "ns1", "serviceAccount": "nope"})
    )
    assert (status, body["reason"], body["message"]) == (
        404,
        "NotFound",
        'serviceaccounts "nope" not found',
    )
    status, _ = run(server.call("POST", "/_kubesim/tokens", data=b"not json"))
    assert status == 400
    status, _ = run(server.call("GET", "/_kubesim/kubeconfig?namespace=ns1&serviceAccount=nope"))
    assert status == 404

    status, text = run(
        server.call("GET", "/_kubesim/kubeconfig?namespace=ns1&serviceAccount=backup")
    )
    assert status == 200
    import yaml

    config = yaml.safe_load(text)
    cluster = config["clusters"][0]["cluster"]
    assert cluster == {"server": server.sim.url, "certificate-authority-data": server.auth.ca_data}
    assert config["contexts"][0]["context"]["namespace"] == "ns1"
    token = config["users"][0]["user"]["token"]
    pvc = "/api/v1/namespaces/ns1/persistentvolumeclaims/data"
    assert run(server.call("GET", pvc, token))[0] == 200


def test_https_self_subject_access_review(
    https: tuple[Server, asyncio.AbstractEventLoop],
) -> None:
    server, loop = https
    run = loop.run_until_complete
    token, _ = server.auth.issue_service_account_token("ns1", "backup")
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {
            "resourceAttributes": {
                "namespace": "ns1",
                "verb": "get",
                "resource": "persistentvolumeclaims",
            }
        },
    }
    status, body = run(server.call("POST", auth.SSAR_PATH, token, json=review))
    assert (status, body["status"]["allowed"]) == (201, True)
    review["spec"]["resourceAttributes"]["verb"] = "delete"  # type: ignore[index]
    status, body = run(server.call("POST", auth.SSAR_PATH, token, json=review))
    assert (status, body["status"]["allowed"]) == (201, False)
    non_resource = {"spec": {"nonResourceAttributes": {"path": "/version", "verb": "get"}}}
    status, body = run(server.call("POST", auth.SSAR_PATH, token, json=non_resource))
    assert (status, body["status"]["allowed"]) == (201, True)


# --------------------------------------------------------------------------- the real kubectl

SETUP = """
apiVersion: v1
kind: Namespace
metadata: {name: rbac1}
---
apiVersion: v1
kind: Namespace
metadata: {name: rbac2}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: backup, namespace: rbac1}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: limited, namespace: rbac1}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: lister, namespace: rbac1}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: shortlived, namespace: rbac1}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: rbac1}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: other, namespace: rbac1}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: rbac2}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: app, namespace: rbac1}
spec:
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers: [{name: main, image: busybox}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pvc-getter, namespace: rbac1}
rules:
- {apiGroups: [""], resources: [persistentvolumeclaims], verbs: [get]}
- {apiGroups: [""], resources: [pods], verbs: [get, list]}
- {apiGroups: [apps], resources: [deployments], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: backup-pvc-getter, namespace: rbac1}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pvc-getter}
subjects:
- {kind: ServiceAccount, name: backup, namespace: rbac1}
- {kind: ServiceAccount, name: shortlived}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: only-data, namespace: rbac1}
rules:
- apiGroups: [""]
  resources: [persistentvolumeclaims]
  resourceNames: [data]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: limited-only-data, namespace: rbac1}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: only-data}
subjects: [{kind: ServiceAccount, name: limited, namespace: rbac1}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: delegate, namespace: rbac1}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: rbac-writer, namespace: rbac1}
rules:
- apiGroups: [rbac.authorization.k8s.io]
  resources: [roles, rolebindings]
  verbs: [get, list, create, update, patch, delete]
- {apiGroups: [""], resources: [configmaps], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: delegate-rbac-writer, namespace: rbac1}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: rbac-writer}
subjects: [{kind: ServiceAccount, name: delegate, namespace: rbac1}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: kubesim-test-pvc-lister}
rules:
- {apiGroups: [""], resources: [persistentvolumeclaims], verbs: [get, list]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: lister, namespace: rbac1}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: kubesim-test-pvc-lister}
subjects: [{kind: ServiceAccount, name: lister, namespace: rbac1}]
"""

EXEC_ROLE = """
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: exec-get, namespace: rbac1}
rules:
- {apiGroups: [""], resources: [pods/exec], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: backup-exec-get, namespace: rbac1}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: exec-get}
subjects: [{kind: ServiceAccount, name: backup, namespace: rbac1}]
"""

KUBECTL_BIN = Path("/usr/bin/kubectl")
needs_kubectl = pytest.mark.skipif(not KUBECTL_BIN.exists(), reason="needs /usr/bin/kubectl")


def forbidden(who: str, verb: str, resource: str, where: str, name: str = "") -> str:
    """kubectl's line for a 403 on a core-group resource (``pods/exec``: subresource)."""
    plural = resource.split("/")[0]
    subject = f'{plural} "{name}"' if name else plural
    scope = f'in the namespace "{where}"' if where else "at the cluster scope"
    return (
        f"Error from server (Forbidden): {subject} is forbidden: User "
        f'"system:serviceaccount:rbac1:{who}" cannot {verb} resource "{resource}" '
        f'in API group "" {scope}\n'
    )


@pytest.fixture(scope="module")
def cluster(kubesim_tls: Any) -> Any:
    kubesim_tls.apply(SETUP)
    return kubesim_tls


class As:
    """kubectl as one ServiceAccount (its own kubeconfig from /_kubesim/kubeconfig)."""

    def __init__(self, sim: Any, tmp_path: Path, sa: str, namespace: str = "rbac1") -> None:
        self.sim = sim
        self.kubeconfig = sim.sa_kubeconfig(namespace, sa, tmp_path / f"{sa}.kubeconfig")
        self.env = sim.env(tmp_path, kubeconfig=self.kubeconfig)  # one per test: fresh caches

    def __call__(self, *args: str, timeout: float = 60.0) -> Any:
        return self.sim.kubectl(*args, env=self.env, timeout=timeout)


@needs_kubectl
def test_kubectl_admin_is_system_masters(cluster: Any) -> None:
    whoami = cluster.kubectl("auth", "whoami", check=True)
    assert whoami.stdout.split("\n")[1:3] == [
        "Username    kubesim-admin",
        "Groups      [system:masters system:authenticated]",
    ]
    got = cluster.kubectl("get", "pvc", "-A", "-o", "name", check=True)
    assert "persistentvolumeclaim/data" in got.stdout.split("\n")
    assert cluster.kubectl("auth", "can-i", "*", "*").stdout == "yes\n"


@needs_kubectl
def test_kubectl_service_account_may_get_but_not_delete(cluster: Any, tmp_path: Path) -> None:
    backup = As(cluster, tmp_path, "backup")
    got = backup("get", "pvc", "data", "-o", "name")
    assert (got.returncode, got.stdout, got.stderr) == (0, "persistentvolumeclaim/data\n", "")
    deleted = backup("delete", "pvc", "data")
    assert deleted.returncode == 1
    assert deleted.stderr == forbidden(
        "backup", "delete", "persistentvolumeclaims", "rbac1", "data"
    )
    listed = backup("get", "pvc")
    assert listed.returncode == 1
    assert listed.stderr == forbidden("backup", "list", "persistentvolumeclaims", "rbac1")
    other_ns = backup("get", "pvc", "data", "-n", "rbac2")
    assert other_ns.returncode == 1
    assert other_ns.stderr.startswith(
        forbidden("backup", "get", "persistentvolumeclaims", "rbac2", "data")
    )
    # the object is still there
    cluster.kubectl("get", "pvc", "data", "-n", "rbac1", check=True)
    # the request log records who asked
    users = {r["user"] for r in cluster.requests() if r["command"] == "kubectl delete"}
    assert "system:serviceaccount:rbac1:backup" in users


@needs_kubectl
def test_kubectl_resource_names(cluster: Any, tmp_path: Path) -> None:
    limited = As(cluster, tmp_path, "limited")
    assert limited("get", "pvc", "data", "-o", "name").stdout == "persistentvolumeclaim/data\n"
    other = limited("get", "pvc", "other")
    assert other.returncode == 1
    assert other.stderr.startswith(
        forbidden("limited", "get", "persistentvolumeclaims", "rbac1", "other")
    )
    listed = limited("get", "pvc")
    assert listed.returncode == 1
    assert listed.stderr == forbidden("limited", "list", "persistentvolumeclaims", "rbac1")
    # kubectl wait lists and watches with fieldSelector=metadata.name=data: that names the
    # object, so resourceNames allow it (as in a real cluster)
    waited = limited(
        "wait", "--for=jsonpath={.metadata.name}=data", "--timeout=10s", "pvc/data", timeout=30
    )
    assert (waited.returncode, waited.stdout) == (
        0,
        "persistentvolumeclaim/data condition met\n",
    )


@needs_kubectl
def test_kubectl_cluster_role_through_role_binding(cluster: Any, tmp_path: Path) -> None:
    lister = As(cluster, tmp_path, "lister")
    got = lister("get", "pvc", "-o", "name")
    assert got.stdout == "persistentvolumeclaim/data\npersistentvolumeclaim/other\n"
    other_ns = lister("get", "pvc", "-n", "rbac2")
    assert other_ns.returncode == 1
    assert other_ns.stderr == forbidden("lister", "list", "persistentvolumeclaims", "rbac2")
    everywhere = lister("get", "pvc", "-A")
    assert everywhere.returncode == 1
    assert everywhere.stderr == forbidden("lister", "list", "persistentvolumeclaims", "")


@needs_kubectl
def test_kubectl_auth_can_i(cluster: Any, tmp_path: Path) -> None:
    backup = As(cluster, tmp_path, "backup")
    yes = backup("auth", "can-i", "get", "pvc")
    assert (yes.returncode, yes.stdout) == (0, "yes\n")
    no = backup("auth", "can-i", "delete", "pvc")
    assert (no.returncode, no.stdout) == (1, "no\n")
    assert backup("auth", "can-i", "get", "pvc", "-n", "rbac2").stdout == "no\n"
    limited = As(cluster, tmp_path, "limited")
    assert limited("auth", "can-i", "get", "pvc/data").stdout == "yes\n"
    assert limited("auth", "can-i", "get", "pvc/other").stdout == "no\n"
    # --list: SelfSubjectRulesReview; the bootstrap policy shows up as in a real cluster
    listed = limited("auth", "can-i", "--list").stdout.splitlines()
    assert re.split(r"\s{2,}", listed[0]) == [
        "Resources",
        "Non-Resource URLs",
        "Resource Names",
        "Verbs",
    ]
    rows = [re.split(r"\s{2,}", line.strip()) for line in listed[1:]]
    assert ["persistentvolumeclaims", "[]", "[data]", "[get list watch]"] in rows
    assert ["selfsubjectaccessreviews.authorization.k8s.io", "[]", "[]", "[create]"] in rows
    assert ["[/version]", "[]", "[get]"] in rows
    # the admin asks on behalf of a ServiceAccount (impersonation)
    as_backup = cluster.kubectl("auth", "can-i", "get", "pvc", "-n", "rbac1",
                                "--as=system:serviceaccount:rbac1:backup")  # fmt: skip
    assert as_backup.stdout == "yes\n"


@needs_kubectl
def test_kubectl_impersonation(cluster: Any, tmp_path: Path) -> None:
    denied = cluster.kubectl(
        "delete", "pvc", "data", "-n", "rbac1", "--as=system:serviceaccount:rbac1:backup"
    )
    assert denied.returncode == 1
    assert denied.stderr == forbidden("backup", "delete", "persistentvolumeclaims", "rbac1", "data")
    backup = As(cluster, tmp_path, "backup")
    backup("get", "pvc", "data")  # discovery (cached) as itself: alice may not even discover
    escalate = backup("get", "pvc", "--as=alice")
    assert escalate.returncode == 1
    assert escalate.stderr.endswith(
        'users "alice" is forbidden: User "system:serviceaccount:rbac1:backup" cannot '
        'impersonate resource "users" in API group "" at the cluster scope\n'
    )


@needs_kubectl
def test_kubectl_rbac_escalation_is_refused(cluster: Any, tmp_path: Path) -> None:
    delegate = As(cluster, tmp_path, "delegate")
    held = delegate("create", "role", "cm-reader", "--verb=get", "--resource=configmaps")
    assert (held.returncode, held.stdout) == (
        0,
        "role.rbac.authorization.k8s.io/cm-reader created\n",
    )
    groups = (
        '(groups=["system:serviceaccounts" "system:serviceaccounts:rbac1" "system:authenticated"])'
    )
    more = delegate("create", "role", "too-much", "--verb=get,list", "--resource=pods,configmaps")
    assert (more.returncode, more.stderr) == (
        1,
        'Error from server (Forbidden): roles.rbac.authorization.k8s.io "too-much" is forbidden: '
        f'user "system:serviceaccount:rbac1:delegate" {groups} is attempting to grant RBAC '
        "permissions not currently held:\n"
        '{APIGroups:[""], Resources:["configmaps"], Verbs:["list"]}\n'
        '{APIGroups:[""], Resources:["pods"], Verbs:["get" "list"]}\n',
    )
    bind = delegate(
        "create", "rolebinding", "lister2", "--clusterrole=kubesim-test-pvc-lister",
        "--serviceaccount=rbac1:delegate",
    )  # fmt: skip
    assert (bind.returncode, bind.stderr) == (
        1,
        'error: failed to create rolebinding: rolebindings.rbac.authorization.k8s.io "lister2" '
        f'is forbidden: user "system:serviceaccount:rbac1:delegate" {groups} is attempting to '
        "grant RBAC permissions not currently held:\n"
        '{APIGroups:[""], Resources:["persistentvolumeclaims"], Verbs:["get" "list"]}\n',
    )
    ok = delegate(
        "create", "rolebinding", "cm", "--role=cm-reader", "--serviceaccount=rbac1:backup"
    )
    assert ok.returncode == 0, ok.stderr


@needs_kubectl
def test_kubectl_create_token(cluster: Any) -> None:
    token = cluster.kubectl("create", "token", "backup", "-n", "rbac1", check=True).stdout.strip()
    assert token
    as_backup = ("-n", "rbac1", f"--token={token}")
    assert cluster.kubectl("get", "pvc", "data", "-o", "name", *as_backup).returncode == 0
    denied = cluster.kubectl("delete", "pvc", "data", *as_backup)
    assert denied.stderr == forbidden("backup", "delete", "persistentvolumeclaims", "rbac1", "data")
    missing = cluster.kubectl("create", "token", "nope", "-n", "rbac1")
    assert (missing.returncode, missing.stderr) == (
        1,
        'error: failed to create token: serviceaccounts "nope" not found\n',
    )


@needs_kubectl
def test_kubectl_bad_token_is_unauthorized(cluster: Any, tmp_path: Path) -> None:
    short = As(cluster, tmp_path, "shortlived")
    assert short("get", "pvc", "data", "-o", "name").returncode == 0
    cluster.kubectl("delete", "serviceaccount", "shortlived", "-n", "rbac1", check=True)
    gone = short("get", "pvc", "data")
    assert gone.returncode == 1
    # (with a cold discovery cache kubectl words it "... (the server has asked for the
    # client to provide credentials)")
    assert gone.stderr == "error: You must be logged in to the server (Unauthorized)\n"


def pod_of_app(sim: Any) -> str:
    """The name of the Pod the controller made for deployment rbac1/app."""
    out = sim.wait_for(
        lambda: (
            sim.kubectl(
                "get",
                "pods",
                "-n",
                "rbac1",
                "-l",
                "app=app",
                "-o",
                "jsonpath={.items[0].metadata.name}",
            ).stdout
        )
    )
    return str(out)


@needs_kubectl
@pytest.mark.skipif(os.geteuid() != 0, reason="exec needs root (mount namespace)")
def test_kubectl_exec_over_websocket_is_authorized_as_get(cluster: Any, tmp_path: Path) -> None:
    backup = As(cluster, tmp_path, "backup")
    pod = pod_of_app(cluster)
    # Without pods/exec: the WebSocket GET is refused, kubectl falls back to the SPDY POST,
    # and reports that refusal (verb create).
    refused = backup("exec", "deploy/app", "--", "true", timeout=30)
    assert refused.returncode == 1, refused.stderr
    assert refused.stderr.endswith(forbidden("backup", "create", "pods/exec", "rbac1", pod))
    methods = [
        (r["method"], r["status"])
        for r in cluster.requests()
        if r["path"].endswith(f"/pods/{pod}/exec")
    ]
    assert methods[-2:] == [("GET", 403), ("POST", 403)]
    # Kubernetes 1.32: `get` on pods/exec is enough for exec over WebSocket.
    cluster.apply(EXEC_ROLE)
    ran = backup("exec", "deploy/app", "--", "sh", "-c", "echo hi; exit 3", timeout=30)
    assert (ran.returncode, ran.stdout) == (3, "hi\n"), ran.stderr


def test_https_impersonation(https: tuple[Server, asyncio.AbstractEventLoop]) -> None:
    server, loop = https
    run = loop.run_until_complete
    server.sim.store.objs += [
        cluster_role(
            "impersonator", rule([""], ["users"], ["impersonate"], resourceNames=["alice"])
        ),
        cluster_role_binding("impersonator", "impersonator", sa_subject()),
    ]
    admin = server.auth.admin_token
    as_alice = [("Impersonate-User", "alice"), ("Impersonate-Group", "devs")]
    assert run(server.call("GET", "/version", admin, as_alice)) == (200, {"user": "alice"})
    pvc = "/api/v1/namespaces/ns1/persistentvolumeclaims/data"
    as_sa = [("Impersonate-User", "system:serviceaccount:ns1:backup")]
    assert run(server.call("GET", pvc, admin, as_sa))[0] == 200
    assert run(server.call("DELETE", pvc, admin, as_sa))[0] == 403

    token, _ = server.auth.issue_service_account_token("ns1", "backup")
    assert run(server.call("GET", "/version", token, [("Impersonate-User", "alice")])) == (
        200,
        {"user": "alice"},
    )
    status, body = run(server.call("GET", "/version", token, as_alice))
    assert (status, body["message"]) == (
        403,
        'groups "devs" is forbidden: User "system:serviceaccount:ns1:backup" cannot '
        'impersonate resource "groups" in API group "" at the cluster scope',
    )
    status, body = run(server.call("GET", "/version", token, [("Impersonate-User", "bob")]))
    assert (status, body["message"]) == (
        403,
        'users "bob" is forbidden: User "system:serviceaccount:ns1:backup" cannot '
        'impersonate resource "users" in API group "" at the cluster scope',
    )
    as_other_sa = [("Impersonate-User", "system:serviceaccount:ns2:x")]
    status, body = run(server.call("GET", "/version", token, as_other_sa))
    assert (status, body["message"]) == (
        403,
        'serviceaccounts "x" is forbidden: User "system:serviceaccount:ns1:backup" cannot '
        'impersonate resource "serviceaccounts" in API group "" in the namespace "ns2"',
    )


EXEC_APP = """
apiVersion: v1
kind: Namespace
metadata: {name: rbac1}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: backup, namespace: rbac1}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: app, namespace: rbac1}
spec:
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers: [{name: main, image: busybox}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: exec, namespace: rbac1}
rules:
- {apiGroups: [""], resources: [pods], verbs: [get, list]}
- {apiGroups: [apps], resources: [deployments], verbs: [get]}
- {apiGroups: [""], resources: [pods/exec], verbs: [%s]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: exec, namespace: rbac1}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: exec}
subjects: [{kind: ServiceAccount, name: backup, namespace: rbac1}]
"""


@needs_kubectl
@pytest.mark.skipif(os.geteuid() != 0, reason="exec needs root (mount namespace)")
def test_kubectl_exec_from_1_35_also_needs_create(tmp_path: Path) -> None:
    """AuthorizePodWebsocketUpgradeCreatePermission (on by default from 1.35): the WebSocket
    GET on pods/exec also needs ``create``. (The dispatcher runs its own 1.32 kubectl.)"""
    sim = KubeSim(tmp_path / "sim", tls=True, args=["--version", "1.35"]).start()
    try:
        sim.apply(EXEC_APP % "get")
        backup = As(sim, tmp_path, "backup")
        pod = pod_of_app(sim)
        refused = backup("exec", "deploy/app", "--", "true", timeout=30)
        assert refused.returncode == 1, refused.stderr
        assert refused.stderr.endswith(forbidden("backup", "create", "pods/exec", "rbac1", pod))
        methods = [
            (r["method"], r["status"]) for r in sim.requests() if r["path"].endswith(f"/{pod}/exec")
        ]
        assert methods == [("GET", 403), ("POST", 403)]
        sim.apply(EXEC_APP % "get, create")
        ran = backup("exec", "deploy/app", "--", "sh", "-c", "echo hi; exit 4", timeout=30)
        assert (ran.returncode, ran.stdout) == (4, "hi\n"), ran.stderr
    finally:
        sim.stop()
