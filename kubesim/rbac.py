"""Request attributes and RBAC authorization, as the kube-apiserver does them.

Pure code (no I/O besides reading the store):

* ``request_attributes`` mirrors the apiserver's ``RequestInfoFactory``
  (k8s.io/apiserver/pkg/endpoints/request/requestinfo.go): the verb comes from
  the HTTP method (``get``/``list``/``watch``/``create``/``update``/``patch``/
  ``delete``/``deletecollection``), ``/api/v1/...`` is the core group,
  ``/apis/G/V/...`` a named group, anything else (``/version``, ``/api``,
  ``/apis/G/V``, ``/openapi/*``) a non-resource request whose verb is the
  lower-cased HTTP method.
* ``Authorizer`` evaluates ClusterRoleBindings and the request namespace's
  RoleBindings like the RBAC authorizer (plugin/pkg/auth/authorizer/rbac), plus
  the privileged group ``system:masters`` and the bootstrap policy every
  cluster has (``system:discovery``, ``system:public-info-viewer``,
  ``system:basic-user``, ``cluster-admin``).
* ``forbidden_status`` builds the 403 Status with the apiserver's message
  (responsewriters.forbiddenMessage + apierrors.NewForbidden).

Exec over WebSocket is a ``GET`` on ``pods/exec`` and therefore authorized as
verb ``get`` in Kubernetes 1.32. From 1.35 on the apiserver additionally
requires ``create`` on the subresource (feature gate
``AuthorizePodWebsocketUpgradeCreatePermission``, beta and on by default in
1.35, KEP-4006). ``connect_create_check_required`` tells the caller when to
add that second check.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

RBAC_GROUP = "rbac.authorization.k8s.io"

SYSTEM_MASTERS = "system:masters"
AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"
ANONYMOUS_USER = "system:anonymous"

_API_PREFIXES = ("api", "apis")
_GROUPLESS_PREFIXES = ("api",)
_SPECIAL_VERBS = ("proxy", "watch")
_SPECIAL_VERBS_NO_SUBRESOURCES = ("proxy",)
_NAMESPACE_SUBRESOURCES = ("status", "finalize")
_METHOD_VERBS = {
    "POST": "create",
    "GET": "get",
    "HEAD": "get",
    "PUT": "update",
    "PATCH": "patch",
    "DELETE": "delete",
}
# Subresources that the apiserver "connects" to (pod registry ConnectResource).
CONNECT_SUBRESOURCES = ("exec", "attach", "portforward")


@dataclass(frozen=True)
class UserInfo:
    """An authenticated (or anonymous) user, as the authenticator returns it."""

    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""


def service_account_user(namespace: str, name: str) -> UserInfo:
    """The user a ServiceAccount token authenticates as."""
    return UserInfo(
        name=f"system:serviceaccount:{namespace}:{name}",
        groups=("system:serviceaccounts", f"system:serviceaccounts:{namespace}", AUTHENTICATED),
    )


@dataclass(frozen=True)
class Attributes:
    """authorizer.Attributes for one request (without the user)."""

    verb: str
    path: str
    resource_request: bool
    api_prefix: str = ""
    api_group: str = ""
    api_version: str = ""
    namespace: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    parts: tuple[str, ...] = field(default=(), compare=False)


def _split_path(path: str) -> list[str]:
    trimmed = path.strip("/")
    return trimmed.split("/") if trimmed else []


def _parse_bool(text: str) -> bool:
    """Go's strconv.ParseBool; ValueError on anything else."""
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise ValueError(text)


def _field_selector_exact_name(selector: str) -> str | None:
    """fields.ParseSelector(s).RequiresExactMatch("metadata.name").

    Raises ValueError for a selector the apiserver cannot parse.
    """
    if not selector.strip():
        return None
    found: str | None = None
    for term in _split_unescaped(selector, ","):
        term = term.strip()
        if not term:
            continue
        match = re.fullmatch(r"([^=!]+?)\s*(==|=|!=)\s*(.*)", term)
        if match is None:
            raise ValueError(f"invalid selector: '{selector}'; can't understand '{term}'")
        key, op, value = match.group(1).strip(), match.group(2), match.group(3).strip()
        if key == "metadata.name" and op in ("=", "==") and found is None:
            found = _unescape_field_value(value)
    return found


def _split_unescaped(text: str, sep: str) -> list[str]:
    out: list[str] = []
    current: list[str] = []
    escaped = False
    for char in text:
        if escaped:
            current.append("\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == sep:
            out.append("".join(current))
            current = []
        else:
            current.append(char)
    out.append("".join(current))
    return out


def _unescape_field_value(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


def _is_valid_path_segment_name(name: str) -> bool:
    """path.IsValidPathSegmentName: not '.'/'..', no '/' or '%'."""
    return name not in (".", "..") and "/" not in name and "%" not in name


def request_attributes(method: str, path: str, query: Mapping[str, str]) -> Attributes:
    """The apiserver's RequestInfoFactory.NewRequestInfo for one request.

    ``query`` maps each parameter to its first value (aiohttp's request.query works).
    """
    method = method.upper()
    parts = _split_path(path)
    non_resource = Attributes(verb=method.lower(), path=path, resource_request=False)
    if len(parts) < 3 or parts[0] not in _API_PREFIXES:
        return non_resource
    api_prefix = parts[0]
    parts = parts[1:]
    api_group = ""
    if api_prefix not in _GROUPLESS_PREFIXES:
        if len(parts) < 3:
            return non_resource
        api_group = parts[0]
        parts = parts[1:]
    api_version = parts[0]
    parts = parts[1:]

    if parts[0] in _SPECIAL_VERBS:
        if len(parts) < 2:
            # The apiserver answers this with an error; treat as a non-resource request.
            return non_resource
        verb = parts[0]
        parts = parts[1:]
    else:
        verb = _METHOD_VERBS.get(method, "")

    namespace = ""
    if parts[0] == "namespaces" and len(parts) > 1:
        namespace = parts[1]
        if len(parts) > 2 and parts[2] not in _NAMESPACE_SUBRESOURCES:
            parts = parts[2:]

    resource = name = subresource = ""
    if len(parts) >= 3 and verb not in _SPECIAL_VERBS_NO_SUBRESOURCES:
        subresource = parts[2]
    if len(parts) >= 2:
        name = parts[1]
    if len(parts) >= 1:
        resource = parts[0]

    if not name and verb == "get":
        watch = False
        field_name: str | None = None
        try:
            if "watch" in query:
                watch = _parse_bool(query["watch"])
            field_name = _field_selector_exact_name(query.get("fieldSelector", ""))
        except ValueError:
            # Like the apiserver: a bad query still authorizes as list (or watch).
            field_name = None
            raw_watch = query.get("watch")
            watch = raw_watch is not None and raw_watch.lower() not in ("false", "0")
        verb = "watch" if watch else "list"
        if field_name is not None and _is_valid_path_segment_name(field_name):
            name = field_name

    if not name and verb == "delete":
        verb = "deletecollection"

    return Attributes(
        verb=verb,
        path=path,
        resource_request=True,
        api_prefix=api_prefix,
        api_group=api_group,
        api_version=api_version,
        namespace=namespace,
        resource=resource,
        subresource=subresource,
        name=name,
        parts=tuple(parts),
    )


def connect_create_check_required(attrs: Attributes, minor_version: int) -> bool:
    """Whether the apiserver of this minor version also checks ``create`` for this request.

    True for a WebSocket (GET) connect to pods/exec|attach|portforward from 1.35 on.
    """
    return (
        minor_version >= 35
        and attrs.resource_request
        and attrs.verb == "get"
        and attrs.api_group == ""
        and attrs.resource == "pods"
        and attrs.subresource in CONNECT_SUBRESOURCES
    )


def as_create(attrs: Attributes) -> Attributes:
    """The same request with verb ``create`` (the 1.35+ compound connect check)."""
    return Attributes(
        verb="create",
        path=attrs.path,
        resource_request=attrs.resource_request,
        api_prefix=attrs.api_prefix,
        api_group=attrs.api_group,
        api_version=attrs.api_version,
        namespace=attrs.namespace,
        resource=attrs.resource,
        subresource=attrs.subresource,
        name=attrs.name,
        parts=attrs.parts,
    )


# --------------------------------------------------------------------------- rules


def _verb_matches(rule: Mapping[str, Any], verb: str) -> bool:
    return any(v in ("*", verb) for v in rule.get("verbs") or ())


def _api_group_matches(rule: Mapping[str, Any], group: str) -> bool:
    return any(g in ("*", group) for g in rule.get("apiGroups") or ())


def _resource_matches(rule: Mapping[str, Any], combined: str, subresource: str) -> bool:
    for res in rule.get("resources") or ():
        if res in ("*", combined):
            return True
        if (
            subresource
            and len(res) == len(subresource) + 2
            and res.startswith("*/")
            and res.endswith(subresource)
        ):
            return True
    return False


def _resource_name_matches(rule: Mapping[str, Any], name: str) -> bool:
    names = rule.get("resourceNames") or ()
    return not names or name in names


def _non_resource_url_matches(rule: Mapping[str, Any], path: str) -> bool:
    for url in rule.get("nonResourceURLs") or ():
        if url in ("*", path):
            return True
        if url.endswith("*") and path.startswith(url[:-1]):
            return True
    return False


def rule_allows(attrs: Attributes, rule: Mapping[str, Any]) -> bool:
    """rbac.RuleAllows."""
    if attrs.resource_request:
        combined = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
        return (
            _verb_matches(rule, attrs.verb)
            and _api_group_matches(rule, attrs.api_group)
            and _resource_matches(rule, combined, attrs.subresource)
            and _resource_name_matches(rule, attrs.name)
        )
    return _verb_matches(rule, attrs.verb) and _non_resource_url_matches(rule, attrs.path)


def subject_matches(subject: Mapping[str, Any], user: UserInfo, binding_namespace: str) -> bool:
    """rbac appliesToUser for one subject."""
    kind = subject.get("kind")
    name = subject.get("name", "")
    if kind == "User":
        return bool(name == user.name)
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        sa_namespace = subject.get("namespace") or binding_namespace
        if not sa_namespace:
            return False
        return user.name == f"system:serviceaccount:{sa_namespace}:{name}"
    return False


# --------------------------------------------------------------------------- bootstrap policy

_DISCOVERY_URLS = [
    "/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez",
    "/openapi", "/openapi/*", "/readyz", "/version", "/version/",
]  # fmt: skip
_PUBLIC_INFO_URLS = ["/healthz", "/livez", "/readyz", "/version", "/version/"]


def _bootstrap_label() -> dict[str, str]:
    return {"kubernetes.io/bootstrapping": "rbac-defaults"}


def _cluster_role(name: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": f"{RBAC_GROUP}/v1",
        "kind": "ClusterRole",
        "metadata": {
            "name": name,
            "labels": _bootstrap_label(),
            "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"},
        },
        "rules": rules,
    }


def _cluster_role_binding(name: str, role: str, groups: Sequence[str]) -> dict[str, Any]:
    return {
        "apiVersion": f"{RBAC_GROUP}/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {
            "name": name,
            "labels": _bootstrap_label(),
            "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"},
        },
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": role},
        "subjects": [{"apiGroup": RBAC_GROUP, "kind": "Group", "name": g} for g in groups],
    }


def bootstrap_cluster_roles() -> list[dict[str, Any]]:
    """The default ClusterRoles of a cluster that matter for kubectl users."""
    return [
        _cluster_role(
            "cluster-admin",
            [
                {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                {"nonResourceURLs": ["*"], "verbs": ["*"]},
            ],
        ),
        _cluster_role(
            "system:basic-user",
            [
                {
                    "apiGroups": ["authorization.k8s.io"],
                    "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                    "verbs": ["create"],
                },
                {
                    "apiGroups": ["authentication.k8s.io"],
                    "resources": ["selfsubjectreviews"],
                    "verbs": ["create"],
                },
            ],
        ),
        _cluster_role(
            "system:discovery", [{"nonResourceURLs": list(_DISCOVERY_URLS), "verbs": ["get"]}]
        ),
        _cluster_role(
            "system:public-info-viewer",
            [{"nonResourceURLs": list(_PUBLIC_INFO_URLS), "verbs": ["get"]}],
        ),
    ]


def bootstrap_cluster_role_bindings() -> list[dict[str, Any]]:
    """The default ClusterRoleBindings for the roles above."""
    return [
        _cluster_role_binding("cluster-admin", "cluster-admin", [SYSTEM_MASTERS]),
        _cluster_role_binding("system:basic-user", "system:basic-user", [AUTHENTICATED]),
        _cluster_role_binding("system:discovery", "system:discovery", [AUTHENTICATED]),
        _cluster_role_binding(
            "system:public-info-viewer",
            "system:public-info-viewer",
            [AUTHENTICATED, UNAUTHENTICATED],
        ),
    ]


# --------------------------------------------------------------------------- authorizer


class _Lister(Protocol):
    def list(self, res: Any, namespace: str | None = None) -> list[dict[str, Any]]: ...


def _default_resolver(group: str, plural: str) -> Any:
    from kubesim import resources  # imported late to keep this module pure

    res = resources.find(group, plural)
    if res is None:
        raise LookupError(f"kubesim resources has no {plural}.{group}")
    return res


def _selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """metav1.LabelSelector semantics (matchLabels + matchExpressions); empty matches all."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or ():
        key, op, values = expr.get("key", ""), expr.get("operator", ""), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""
    """Why it was allowed (the rule's source), or the RBAC errors when denied."""


class Authorizer:
    """system:masters, then RBAC (ClusterRoleBindings, then the namespace's RoleBindings).

    ``store`` needs ``list(res, namespace)``; ``resolve(group, plural)`` turns a
    plural into the store's Resource (default: kubesim.resources.find).
    The bootstrap policy is consulted in addition to the store (a store object
    with the same name wins).
    """

    def __init__(
        self,
        store: _Lister,
        *,
        resolve: Callable[[str, str], Any] | None = None,
        bootstrap: bool = True,
    ) -> None:
        self._store = store
        self._resolve = resolve or _default_resolver
        self._bootstrap = bootstrap
        self._res: dict[str, Any] = {}
        self._bootstrap_roles = {r["metadata"]["name"]: r for r in bootstrap_cluster_roles()}
        self._bootstrap_bindings = {
            b["metadata"]["name"]: b for b in bootstrap_cluster_role_bindings()
        }

    def authorize(self, user: UserInfo, attrs: Attributes) -> bool:
        return self.decide(user, attrs).allowed

    # -- store access
    def _list(self, plural: str, namespace: str | None) -> list[dict[str, Any]]:
        res = self._res.get(plural)
        if res is None:
            res = self._res[plural] = self._resolve(RBAC_GROUP, plural)
        return self._store.list(res, namespace)

    def _cluster_roles(self) -> dict[str, dict[str, Any]]:
        roles: dict[str, dict[str, Any]] = {}
        if self._bootstrap:
            roles.update(self._bootstrap_roles)
        roles.update({r["metadata"]["name"]: r for r in self._list("clusterroles", None)})
        return roles

    def _cluster_role_bindings(self) -> list[dict[str, Any]]:
        bindings: dict[str, dict[str, Any]] = {}
        if self._bootstrap:
            bindings.update(self._bootstrap_bindings)
        bindings.update({b["metadata"]["name"]: b for b in self._list("clusterrolebindings", None)})
        return list(bindings.values())

    def _cluster_role_rules(
        self, roles: Mapping[str, Mapping[str, Any]], name: str
    ) -> list[dict[str, Any]] | None:
        role = roles.get(name)
        if role is None:
            return None
        aggregation = role.get("aggregationRule")
        if aggregation and aggregation.get("clusterRoleSelectors"):
            # What the clusterrole-aggregation controller would have written.
            rules: list[dict[str, Any]] = []
            for other_name in sorted(roles):
                if other_name == name:
                    continue
                labels = roles[other_name].get("metadata", {}).get("labels") or {}
                if any(
                    _selector_matches(sel, labels) for sel in aggregation["clusterRoleSelectors"]
                ):
                    for rule in roles[other_name].get("rules") or ():
                        if rule not in rules:
                            rules.append(rule)
            return rules
        return list(role.get("rules") or ())

    def _role_rules(self, namespace: str, name: str) -> list[dict[str, Any]] | None:
        for role in self._list("roles", namespace):
            if role.get("metadata", {}).get("name") == name:
                return list(role.get("rules") or ())
        return None

    # -- evaluation
    def _visit(
        self, user: UserInfo, namespace: str
    ) -> Iterator[tuple[str, list[dict[str, Any]] | None, str]]:
        """(who granted it, rules or None, error if None) per applicable binding.

        ClusterRoleBindings first, then the namespace's RoleBindings (rbac VisitRulesFor).
        """
        roles = self._cluster_roles()
        for binding in self._cluster_role_bindings():
            subject = self._matching_subject(binding, user, "")
            if subject is None:
                continue
            ref = binding.get("roleRef") or {}
            role_name = ref.get("name", "")
            source = (
                f'ClusterRoleBinding "{binding["metadata"]["name"]}" of ClusterRole '
                f'"{role_name}" to {_describe(subject, "")}'
            )
            rules = self._cluster_role_rules(roles, role_name)
            yield source, rules, f'clusterrole.{RBAC_GROUP} "{role_name}" not found'
        if not namespace:
            return
        for binding in self._list("rolebindings", namespace):
            subject = self._matching_subject(binding, user, namespace)
            if subject is None:
                continue
            ref = binding.get("roleRef") or {}
            kind, role_name = ref.get("kind"), ref.get("name", "")
            source = (
                f'RoleBinding "{binding["metadata"]["name"]}/{namespace}" of {kind} '
                f'"{role_name}" to {_describe(subject, namespace)}'
            )
            if kind == "ClusterRole":
                rules = self._cluster_role_rules(roles, role_name)
                yield source, rules, f'clusterrole.{RBAC_GROUP} "{role_name}" not found'
            elif kind == "Role":
                rules = self._role_rules(namespace, role_name)
                yield source, rules, f'role.{RBAC_GROUP} "{role_name}" not found'
            else:
                yield source, None, f'unsupported role reference kind: "{kind}"'

    def decide(self, user: UserInfo, attrs: Attributes) -> Decision:
        if SYSTEM_MASTERS in user.groups:
            return Decision(True, "")  # the privileged-group authorizer gives no reason
        errors: list[str] = []
        for source, rules, error in self._visit(user, attrs.namespace):
            if rules is None:
                errors.append(error)
            elif any(rule_allows(attrs, r) for r in rules):
                return Decision(True, f"RBAC: allowed by {source}")
        if not errors:
            return Decision(False, "")
        if len(errors) == 1:
            return Decision(False, f"RBAC: {errors[0]}")
        return Decision(False, f"RBAC: [{', '.join(errors)}]")

    def rules_for(self, user: UserInfo, namespace: str) -> tuple[list[dict[str, Any]], bool]:
        """All rules that apply to the user in the namespace, and whether some are missing.

        (SelfSubjectRulesReview: ``kubectl auth can-i --list``.)
        """
        out: list[dict[str, Any]] = []
        incomplete = False
        for _, rules, _ in self._visit(user, namespace):
            if rules is None:
                incomplete = True
            else:
                out.extend(rules)
        return out, incomplete

    def role_ref_rules(
        self, ref: Mapping[str, Any], namespace: str
    ) -> tuple[list[dict[str, Any]] | None, str]:
        """The rules a roleRef points at, or (None, the registry's NotFound message)."""
        kind, name = ref.get("kind"), ref.get("name", "")
        if kind == "ClusterRole":
            rules = self._cluster_role_rules(self._cluster_roles(), name)
            return rules, f'clusterroles.{RBAC_GROUP} "{name}" not found'
        if kind == "Role":
            return self._role_rules(namespace, name), f'roles.{RBAC_GROUP} "{name}" not found'
        return None, f'unsupported role reference kind: "{kind}"'

    @staticmethod
    def _matching_subject(
        binding: Mapping[str, Any], user: UserInfo, namespace: str
    ) -> Mapping[str, Any] | None:
        subjects: Iterable[Mapping[str, Any]] = binding.get("subjects") or ()
        for subject in subjects:
            if subject_matches(subject, user, namespace):
                return subject
        return None


def _describe(subject: Mapping[str, Any], namespace: str) -> str:
    kind, name = subject.get("kind", ""), subject.get("name", "")
    if kind == "ServiceAccount":
        return f'ServiceAccount "{name}/{subject.get("namespace") or namespace}"'
    return f'{kind} "{name}"'


# --------------------------------------------------------------------------- status bodies

_SANITIZE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def go_quote(text: str) -> str:
    """Go's %q for ordinary strings."""
    return json.dumps(text, ensure_ascii=False)


def forbidden_message(user: UserInfo, attrs: Attributes) -> str:
    """responsewriters.forbiddenMessage."""
    if not attrs.resource_request:
        return f"User {go_quote(user.name)} cannot {attrs.verb} path {go_quote(attrs.path)}"
    resource = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    head = (
        f"User {go_quote(user.name)} cannot {attrs.verb} resource {go_quote(resource)} "
        f"in API group {go_quote(attrs.api_group)}"
    )
    if attrs.namespace:
        return f"{head} in the namespace {go_quote(attrs.namespace)}"
    return f"{head} at the cluster scope"


def forbidden_status(user: UserInfo, attrs: Attributes, reason: str = "") -> dict[str, Any]:
    """The 403 Status body (responsewriters.Forbidden -> apierrors.NewForbidden)."""
    msg = forbidden_message(user, attrs).translate(_SANITIZE)
    err = f"{msg}: {reason}" if reason else msg
    group = attrs.api_group if attrs.resource_request else ""
    resource = attrs.resource if attrs.resource_request else ""
    name = attrs.name if attrs.resource_request else ""
    qualified = f"{resource}.{group}" if group else resource
    if not qualified:
        message = f"forbidden: {err}"
    elif not name:
        message = f"{qualified} is forbidden: {err}"
    else:
        message = f"{qualified} {go_quote(name)} is forbidden: {err}"
    details: dict[str, str] = {}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    if resource:
        details["kind"] = resource
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": "Forbidden",
        "details": details,
        "code": 403,
    }


def unauthorized_status() -> dict[str, Any]:
    """The 401 Status body for a missing or invalid bearer token."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Unauthorized",
        "reason": "Unauthorized",
        "code": 401,
    }
