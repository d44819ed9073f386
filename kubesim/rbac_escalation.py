"""RBAC privilege-escalation prevention, as the apiserver's RBAC registry does it.

pkg/registry/rbac/{role,clusterrole,rolebinding,clusterrolebinding}/policybased and
pkg/registry/rbac/validation: a Role/ClusterRole may only be written by someone who
holds every permission in it (or has verb ``escalate``); a (Cluster)RoleBinding only by
someone who holds every permission of the referenced role in the binding's namespace (or
has verb ``bind`` on that role). ``system:masters`` may do anything. The refusal is a 403
with the apiserver's message (``... is attempting to grant RBAC permissions not currently
held:`` plus the missing rules, one compact line each).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kubesim.rbac import (
    RBAC_GROUP,
    SYSTEM_MASTERS,
    Attributes,
    Authorizer,
    UserInfo,
    go_quote,
)

_RBAC_WRITES = ("roles", "clusterroles", "rolebindings", "clusterrolebindings")
_FULL_AUTHORITY: list[dict[str, Any]] = [
    {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
    {"nonResourceURLs": ["*"], "verbs": ["*"]},
]


def breakdown_rule(rule: Mapping[str, Any]) -> list[dict[str, Any]]:
    """rbac validation.BreakdownRule: one rule per group x resource x verb (x name)."""
    out: list[dict[str, Any]] = []
    verbs = list(rule.get("verbs") or ())
    names = list(rule.get("resourceNames") or ())
    for group in rule.get("apiGroups") or ():
        for resource in rule.get("resources") or ():
            for verb in verbs:
                base = {"apiGroups": [group], "resources": [resource], "verbs": [verb]}
                if names:
                    out.extend({**base, "resourceNames": [n]} for n in names)
                else:
                    out.append(base)
    for url in rule.get("nonResourceURLs") or ():
        out.extend({"nonResourceURLs": [url], "verbs": [verb]} for verb in verbs)
    return out


def _has_all(owner: Sequence[str], wanted: Sequence[str]) -> bool:
    return all(w in owner for w in wanted)


def _resources_cover(owner: Sequence[str], wanted: Sequence[str]) -> bool:
    if "*" in owner or _has_all(owner, wanted):
        return True
    for path in wanted:
        if path in owner:
            continue
        if "/" not in path or "*/" + path.split("/", 1)[1] not in owner:
            return False
    return True


def _non_resource_urls_cover(owner: Sequence[str], wanted: Sequence[str]) -> bool:
    return all(
        any(o == w or (o.endswith("*") and w.startswith(o.rstrip("*"))) for o in owner)
        for w in wanted
    )


def rule_covers(owner: Mapping[str, Any], sub: Mapping[str, Any]) -> bool:
    """rbac validation.ruleCovers."""
    owner_verbs = owner.get("verbs") or []
    owner_groups = owner.get("apiGroups") or []
    owner_names = owner.get("resourceNames") or []
    sub_names = sub.get("resourceNames") or []
    names_ok = not owner_names or (bool(sub_names) and _has_all(owner_names, sub_names))
    return (
        ("*" in owner_verbs or _has_all(owner_verbs, sub.get("verbs") or []))
        and ("*" in owner_groups or _has_all(owner_groups, sub.get("apiGroups") or []))
        and _resources_cover(owner.get("resources") or [], sub.get("resources") or [])
        and _non_resource_urls_cover(
            owner.get("nonResourceURLs") or [], sub.get("nonResourceURLs") or []
        )
        and names_ok
    )


def uncovered_rules(
    owner: Sequence[Mapping[str, Any]], rules: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """rbac validation.Covers: the broken-down rules no owner rule covers."""
    return [
        sub
        for rule in rules
        for sub in breakdown_rule(rule)
        if not any(rule_covers(o, sub) for o in owner)
    ]


def compact_rules(rules: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """rbac validation.CompactRules: merge single group/resource(/name) rules by verbs."""
    compacted: list[dict[str, Any]] = []
    simple: dict[tuple[str, str, str | None], dict[str, Any]] = {}
    for rule in rules:
        groups, resources = rule.get("apiGroups") or [], rule.get("resources") or []
        names = rule.get("resourceNames") or []
        is_simple = (
            len(names) <= 1
            and not rule.get("nonResourceURLs")
            and len(groups) == 1
            and len(resources) == 1
        )
        if not is_simple:
            compacted.append(dict(rule))
            continue
        key = (groups[0], resources[0], names[0] if names else None)
        if key in simple:
            simple[key]["verbs"] = simple[key]["verbs"] + list(rule.get("verbs") or [])
        else:
            simple[key] = {k: list(v) for k, v in rule.items()}
            simple[key].setdefault("verbs", [])
    return compacted + list(simple.values())


def compact_string(rule: Mapping[str, Any]) -> str:
    """rbacv1helpers.CompactString: ``{APIGroups:[""], Resources:["pods"], Verbs:["get"]}``."""
    parts = []
    for field_name, key in (
        ("APIGroups", "apiGroups"),
        ("Resources", "resources"),
        ("NonResourceURLs", "nonResourceURLs"),
        ("ResourceNames", "resourceNames"),
        ("Verbs", "verbs"),
    ):
        values = rule.get(key) or []
        if values:
            parts.append(f"{field_name}:[{' '.join(go_quote(v) for v in values)}]")
    return "{" + ", ".join(parts) + "}"


def escalation_error(
    authorizer: Authorizer,
    user: UserInfo,
    plural: str,
    obj: Mapping[str, Any],
    old: Mapping[str, Any] | None,
) -> str | None:
    """Why writing this RBAC object would be privilege escalation, or None.

    Like pkg/registry/rbac/*/policybased: system:masters may; writing a (Cluster)Role
    needs verb ``escalate`` or every rule held already; writing a (Cluster)RoleBinding
    needs verb ``bind`` on the referenced role or every one of its rules held already
    (in the binding's namespace). An update that keeps the rules / roleRef is fine.
    """
    if SYSTEM_MASTERS in user.groups or plural not in _RBAC_WRITES:
        return None
    meta = obj.get("metadata") or {}
    namespace = str(meta.get("namespace") or "") if plural in ("roles", "rolebindings") else ""
    name = str(meta.get("name") or "")
    if plural in ("roles", "clusterroles"):
        if old is not None and (old.get("rules"), old.get("aggregationRule")) == (
            obj.get("rules"),
            obj.get("aggregationRule"),
        ):
            return None
        escalate = Attributes(
            verb="escalate",
            path="",
            resource_request=True,
            api_group=RBAC_GROUP,
            api_version="*",
            namespace=namespace,
            resource=plural,
            name=name if old is not None else "",
        )
        if authorizer.authorize(user, escalate):
            return None
        missing = _not_held(authorizer, user, namespace, list(obj.get("rules") or ()))
        if missing:
            return missing
        aggregation = obj.get("aggregationRule") or {}
        if aggregation.get("clusterRoleSelectors") and _not_held(
            authorizer, user, "", _FULL_AUTHORITY
        ):
            return "must have cluster-admin privileges to use the aggregationRule"
        return None
    ref = obj.get("roleRef") or {}
    if old is not None and old.get("roleRef") == ref:
        return None
    bind = Attributes(
        verb="bind",
        path="",
        resource_request=True,
        api_group=RBAC_GROUP,
        api_version="*",
        namespace=namespace,
        resource="clusterroles" if ref.get("kind") == "ClusterRole" else "roles",
        name=str(ref.get("name", "")),
    )
    if authorizer.authorize(user, bind):
        return None
    rules, not_found = authorizer.role_ref_rules(ref, namespace)
    if rules is None:
        return not_found
    return _not_held(authorizer, user, namespace, rules)


def _not_held(
    authorizer: Authorizer, user: UserInfo, namespace: str, rules: list[dict[str, Any]]
) -> str | None:
    owner, _ = authorizer.rules_for(user, namespace)
    missing = uncovered_rules(owner, rules)
    if not missing:
        return None
    lines = sorted({compact_string(r) for r in compact_rules(missing)})
    groups = " ".join(go_quote(g) for g in user.groups)
    return (
        f"user {go_quote(user.name)} (groups=[{groups}]) is attempting to grant RBAC "
        "permissions not currently held:\n" + "\n".join(lines)
    )
