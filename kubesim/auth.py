"""TLS, bearer tokens and the authn/authz middleware of kubesim (``--tls``).

Over plain http kubectl sends no ``Authorization`` header, so users can only be
told apart over TLS (kube-api-notes §0). ``install_tls`` therefore:

* generates a CA and a server certificate for 127.0.0.1/localhost under
  ``<state>/tls`` and returns the ``ssl.SSLContext`` to serve with;
* registers the admin token (user ``kubesim-admin``, group ``system:masters``);
* adds a middleware that authenticates the bearer token and authorizes the
  request with RBAC (rbac.py). Like a real kube-apiserver (``--anonymous-auth``
  is on by default) a request *without* credentials is user
  ``system:anonymous`` (group ``system:unauthenticated``), which the bootstrap
  policy allows ``/version``, ``/healthz``, ``/livez``, ``/readyz`` and nothing
  else (403). An unknown token, or the token of a deleted ServiceAccount, is
  401 Unauthorized;
* honours impersonation (``kubectl --as/--as-group``) after checking verb
  ``impersonate`` on users/serviceaccounts/groups, like the apiserver;
* refuses Role/RoleBinding writes that would grant permissions the writer does
  not hold (RBAC privilege-escalation prevention, verbs ``escalate``/``bind``);
* serves the control routes (unauthenticated, like all of ``/_kubesim/*``)
  ``POST /_kubesim/tokens`` and ``GET /_kubesim/kubeconfig``, and the API
  endpoints ``POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews``
  (``kubectl auth can-i``), ``.../selfsubjectrulesreviews`` (``kubectl auth can-i
  --list``), ``POST /apis/authentication.k8s.io/v1/selfsubjectreviews``
  (``kubectl auth whoami``) and ``POST .../serviceaccounts/NAME/token``
  (``kubectl create token``).
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import datetime as dt
import ipaddress
import json
import os
import re
import secrets
import ssl
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kubesim.rbac import (
    ANONYMOUS_USER,
    UNAUTHENTICATED,
    Attributes,
    Authorizer,
    UserInfo,
    as_create,
    connect_create_check_required,
    forbidden_status,
    go_quote,
    request_attributes,
    service_account_user,
    unauthorized_status,
)
from kubesim.rbac_escalation import escalation_error

from .protobuf import iter_fields

ADMIN_USER = "kubesim-admin"
USER_KEY = "user"
"""request[USER_KEY] is the authenticated UserInfo (server.py's request log reads its name)."""
AUTH_KEY: web.AppKey[Auth] = web.AppKey("kubesim.auth")
SSAR_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
SSR_PATH = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
SSRR_PATH = "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews"
_TOKEN_REQUEST_PATH = re.compile(r"/api/v1/namespaces/([^/]+)/serviceaccounts/([^/]+)/token")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_CURRENT_USER: contextvars.ContextVar[UserInfo | None] = contextvars.ContextVar(
    "kubesim_current_user", default=None
)
"""The user of the API request being handled (unset for controllers, seeds, control routes)."""


# --------------------------------------------------------------------------- TLS


@dataclass(frozen=True)
class TLSFiles:
    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path

    @property
    def ca_data(self) -> str:
        """base64 of the CA PEM: kubeconfig ``certificate-authority-data``."""
        return base64.b64encode(self.ca_cert.read_bytes()).decode("ascii")


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def generate_tls(directory: str | os.PathLike[str]) -> TLSFiles:
    """A CA and a server certificate (SANs IP 127.0.0.1, DNS localhost) in ``directory``.

    Files that already exist are reused, so a restarted server keeps its CA.
    """
    tls_dir = Path(directory)
    files = TLSFiles(
        tls_dir / "ca.crt", tls_dir / "ca.key", tls_dir / "server.crt", tls_dir / "server.key"
    )
    if all(p.exists() for p in (files.ca_cert, files.server_cert, files.server_key)):
        return files
    tls_dir.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.timezone.utc)
    not_before, not_after = now - dt.timedelta(hours=1), now + dt.timedelta(days=365)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubesim-ca")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )

    _write_private(files.ca_key, _key_pem(ca_key))
    _write_private(files.server_key, _key_pem(server_key))
    files.server_cert.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    files.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    return files


def server_ssl_context(files: TLSFiles) -> ssl.SSLContext:
    """The SSLContext to serve HTTPS (HTTP/1.1 only) with."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(files.server_cert), str(files.server_key))
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


# --------------------------------------------------------------------------- tokens


@dataclass(frozen=True)
class TokenOwner:
    user: UserInfo
    namespace: str = ""
    service_account: str = ""
    sa_uid: str = ""
    """uid of the ServiceAccount when the token was issued: a token dies with its SA."""


class TokenRegistry:
    """Opaque random bearer tokens mapped to users."""

    def __init__(self) -> None:
        self._tokens: dict[str, TokenOwner] = {}

    def issue(self, owner: TokenOwner) -> str:
        token = secrets.token_urlsafe(32)
        self._tokens[token] = owner
        return token

    def add(self, token: str, owner: TokenOwner) -> None:
        self._tokens[token] = owner

    def lookup(self, token: str) -> TokenOwner | None:
        return self._tokens.get(token)


def kubeconfig(
    server: str, ca_data: str, user: str, token: str, namespace: str = "default"
) -> dict[str, Any]:
    """A kubeconfig with one cluster ``kubesim``, one context ``kubesim`` and a token user."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "kubesim",
                "cluster": {"server": server, "certificate-authority-data": ca_data},
            }
        ],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [
            {
                "name": "kubesim",
                "context": {"cluster": "kubesim", "user": user, "namespace": namespace},
            }
        ],
        "current-context": "kubesim",
        "preferences": {},
    }


def kubeconfig_yaml(
    server: str, ca_data: str, user: str, token: str, namespace: str = "default"
) -> str:
    return yaml.safe_dump(
        kubeconfig(server, ca_data, user, token, namespace),
        default_flow_style=False,
        sort_keys=False,
    )


# --------------------------------------------------------------------------- protobuf (tiny)


def _pb_fields(data: bytes) -> dict[int, bytes]:
    """Length-delimited fields of one protobuf message (last one wins); others skipped."""
    return {number: value for number, wire, value in iter_fields(data) if isinstance(value, bytes)}


def _ssar_spec_from_protobuf(body: bytes) -> dict[str, Any]:
    """spec of a protobuf SelfSubjectAccessReview (k8s\\x00 + runtime.Unknown envelope)."""
    if not body.startswith(b"k8s\x00"):
        raise ValueError("missing protobuf envelope")
    raw = _pb_fields(body[4:]).get(2, b"")
    spec = _pb_fields(_pb_fields(raw).get(2, b""))
    out: dict[str, Any] = {}
    if 1 in spec:
        f = _pb_fields(spec[1])
        names = {1: "namespace", 2: "verb", 3: "group", 4: "version", 5: "resource",
                 6: "subresource", 7: "name"}  # fmt: skip
        out["resourceAttributes"] = {n: f[i].decode() for i, n in names.items() if i in f}
    if 2 in spec:
        f = _pb_fields(spec[2])
        out["nonResourceAttributes"] = {
            n: f[i].decode() for i, n in {1: "path", 2: "verb"}.items() if i in f
        }
    return out


# --------------------------------------------------------------------------- the auth layer


def _json(body: dict[str, Any], status: int) -> web.Response:
    return web.Response(
        body=json.dumps(body).encode(), status=status, content_type="application/json"
    )


def _minor(version: Any) -> int:
    """32 from "32", "1.32" or "v1.32.0"."""
    match = re.fullmatch(r"v?(?:1\.)?(\d+)(?:\.\d+)?", str(version or "32").strip())
    return int(match.group(1)) if match else 32


class Auth:
    """Tokens + RBAC for one kubesim server."""

    def __init__(self, sim: Any, files: TLSFiles, *, anonymous: bool = True) -> None:
        self.sim = sim
        self.files = files
        self.ca_data = files.ca_data
        self.tokens = TokenRegistry()
        self.authorizer = Authorizer(sim.store)
        self.anonymous = anonymous
        self.minor = _minor(getattr(sim, "minor", None) or getattr(sim, "version", None))
        admin = TokenOwner(UserInfo(ADMIN_USER, ("system:masters", "system:authenticated")))
        preset = getattr(sim, "admin_token", None)
        if preset:
            self.tokens.add(str(preset), admin)
            self.admin_token = str(preset)
        else:
            self.admin_token = self.tokens.issue(admin)

    # -- resources of the store
    @staticmethod
    def _sa_resource() -> Any:
        from kubesim import resources

        return resources.find("", "serviceaccounts")

    def _service_account(self, namespace: str, name: str) -> dict[str, Any] | None:
        obj: dict[str, Any] | None = self.sim.store.get(self._sa_resource(), namespace, name)
        return obj

    # -- tokens and kubeconfigs
    def issue_service_account_token(self, namespace: str, name: str) -> tuple[str, UserInfo]:
        """A token for an existing ServiceAccount; LookupError if there is none."""
        sa = self._service_account(namespace, name)
        if sa is None:
            raise LookupError(f'serviceaccounts "{name}" not found')
        user = service_account_user(namespace, name)
        uid = str(sa.get("metadata", {}).get("uid", ""))
        return self.tokens.issue(TokenOwner(user, namespace, name, uid)), user

    def authenticate(self, header: str | None) -> UserInfo | None:
        """The user of an ``Authorization`` header; None means 401."""
        token = ""
        if header:
            scheme, _, rest = header.strip().partition(" ")
            if scheme.lower() == "bearer":
                token = rest.strip()
        if not token:
            if self.anonymous:
                return UserInfo(ANONYMOUS_USER, (UNAUTHENTICATED,))
            return None
        owner = self.tokens.lookup(token)
        if owner is None:
            return None
        if owner.service_account:
            sa = self._service_account(owner.namespace, owner.service_account)
            if sa is None or str(sa.get("metadata", {}).get("uid", "")) != owner.sa_uid:
                return None
        return owner.user

    def impersonate(self, user: UserInfo, headers: Any) -> UserInfo | web.Response:
        """``kubectl --as/--as-group``: the impersonated user, or the 403.

        Like k8s.io/apiserver/pkg/endpoints/filters/impersonation.go.

        Each impersonated user, ServiceAccount and group needs verb ``impersonate`` on
        ``users``, ``serviceaccounts`` (in its namespace) or ``groups``.
        """
        name = headers.get("Impersonate-User", "")
        groups: list[str] = list(headers.getall("Impersonate-Group", []))
        if not name:
            return _json(
                _status(500, "InternalError", "requested impersonation of groups without a user"),
                500,
            )
        # checked in the apiserver's order: the user, then each group
        sa = re.fullmatch(r"system:serviceaccount:([^:]+):([^:]+)", name)
        if sa:
            checks = [_impersonate_attrs("serviceaccounts", sa.group(2), sa.group(1))]
        else:
            checks = [_impersonate_attrs("users", name)]
        checks.extend(_impersonate_attrs("groups", group) for group in groups)
        if sa and not groups:
            groups = list(service_account_user(sa.group(1), sa.group(2)).groups[:2])
        for attrs in checks:
            decision = self.authorizer.decide(user, attrs)
            if not decision.allowed:
                return _json(forbidden_status(user, attrs, decision.reason), 403)
        if name != ANONYMOUS_USER and "system:authenticated" not in groups:
            groups.append("system:authenticated")
        return UserInfo(name, tuple(groups))

    # -- RBAC escalation prevention on writes
    def guard_store_writes(self) -> None:
        """Check Role/ClusterRole/(Cluster)RoleBinding writes for privilege escalation.

        Wraps ``sim.store.create``/``update`` (instance attributes), so every write path
        (JSON, protobuf, all patch types, apply) is checked after decoding, as in the
        apiserver's RBAC registry. Writes outside an API request (controllers, seeds,
        the control API) are not checked.
        """
        store = self.sim.store
        if not (hasattr(store, "create") and hasattr(store, "update")):
            return  # a read-only stand-in (unit tests)
        create, update = store.create, store.update

        def checked_create(res: Any, obj: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
            self._check_escalation(res, obj, None)
            result: dict[str, Any] = create(res, obj, **kwargs)
            return result

        def checked_update(res: Any, obj: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
            meta = obj.get("metadata") or {}
            namespace = (meta.get("namespace") or "") if getattr(res, "namespaced", False) else ""
            old = store.get(res, namespace or None, str(meta.get("name") or ""))
            self._check_escalation(res, obj, old)
            result: dict[str, Any] = update(res, obj, **kwargs)
            return result

        store.create = checked_create
        store.update = checked_update

    def _check_escalation(self, res: Any, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        user = _CURRENT_USER.get()
        if user is None or getattr(res, "group", None) != "rbac.authorization.k8s.io":
            return
        message = escalation_error(self.authorizer, user, str(res.plural), obj, old)
        if message is None:
            return
        from kubesim.store import ApiError

        name = str((obj.get("metadata") or {}).get("name") or "")
        raise ApiError(
            403,
            "Forbidden",
            f"{res.plural}.rbac.authorization.k8s.io {go_quote(name)} is forbidden: {message}",
            {"name": name, "group": "rbac.authorization.k8s.io", "kind": str(res.plural)},
        )

    # -- middleware
    def middleware(self) -> Any:
        @web.middleware
        async def kubesim_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
            path = request.path
            if path.startswith("/_kubesim/"):
                if path == "/_kubesim/tokens" and request.method == "POST":
                    return await self._handle_tokens(request)
                if path == "/_kubesim/kubeconfig" and request.method == "GET":
                    return await self._handle_kubeconfig(request)
                return await handler(request)
            user = self.authenticate(request.headers.get("Authorization"))
            if user is None:
                return _json(unauthorized_status(), 401)
            if "Impersonate-User" in request.headers or "Impersonate-Group" in request.headers:
                acting = self.impersonate(user, request.headers)
                if isinstance(acting, web.Response):
                    return acting
                user = acting
            with warnings.catch_warnings():
                # server.py's request log reads the plain key "user"
                warnings.simplefilter("ignore", web.NotAppKeyWarning)
                request[USER_KEY] = user
            token = _CURRENT_USER.set(user)  # for the escalation check in the store writes
            try:
                return await self._authorized(request, handler, user)
            finally:
                _CURRENT_USER.reset(token)

        return kubesim_auth

    async def _authorized(
        self, request: web.Request, handler: Handler, user: UserInfo
    ) -> web.StreamResponse:
        path = request.path
        attrs = request_attributes(request.method, path, request.query)
        decision = self.authorizer.decide(user, attrs)
        if decision.allowed and connect_create_check_required(attrs, self.minor):
            attrs = as_create(attrs)
            decision = self.authorizer.decide(user, attrs)
        if not decision.allowed:
            return _json(forbidden_status(user, attrs, decision.reason), 403)
        if request.method == "POST" and path == SSAR_PATH:
            return await self._handle_ssar(request, user)
        if request.method == "POST" and path == SSRR_PATH:
            return await self._handle_ssrr(request, user)
        if request.method == "POST" and path == SSR_PATH:
            return await self._handle_ssr(request, user)
        match = _TOKEN_REQUEST_PATH.fullmatch(path)
        if request.method == "POST" and match:
            return await self._handle_token_request(request, match.group(1), match.group(2))
        return await handler(request)

    # -- handlers
    async def _handle_tokens(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
            namespace, name = str(body["namespace"]), str(body["serviceAccount"])
        except (ValueError, KeyError, TypeError):
            return _json(
                _bad_request('body must be {"namespace": ..., "serviceAccount": ...}'), 400
            )
        try:
            token, user = self.issue_service_account_token(namespace, name)
        except LookupError as err:
            return _json(_not_found(str(err), name), 404)
        return _json({"token": token, "user": user.name}, 200)

    async def _handle_kubeconfig(self, request: web.Request) -> web.Response:
        namespace = request.query.get("namespace", "")
        name = request.query.get("serviceAccount", "")
        if not namespace or not name:
            return _json(
                _bad_request("query parameters namespace and serviceAccount are required"), 400
            )
        try:
            token, user = self.issue_service_account_token(namespace, name)
        except LookupError as err:
            return _json(_not_found(str(err), name), 404)
        server = str(getattr(self.sim, "url", "") or f"https://{request.host}")
        text = kubeconfig_yaml(server, self.ca_data, user.name, token, namespace)
        return web.Response(text=text, content_type="application/yaml")

    async def _handle_ssar(self, request: web.Request, user: UserInfo) -> web.Response:
        body = await request.read()
        try:
            if request.content_type == "application/vnd.kubernetes.protobuf":
                spec = _ssar_spec_from_protobuf(body)
            else:
                spec = dict(json.loads(body).get("spec") or {})
        except (ValueError, AttributeError) as err:
            return _json(_bad_request(f"invalid SelfSubjectAccessReview: {err}"), 400)
        res_attrs = spec.get("resourceAttributes")
        non_res = spec.get("nonResourceAttributes")
        if res_attrs:
            attrs = Attributes(
                verb=str(res_attrs.get("verb", "")),
                path="",
                resource_request=True,
                api_group=str(res_attrs.get("group", "")),
                api_version=str(res_attrs.get("version", "")),
                namespace=str(res_attrs.get("namespace", "")),
                resource=str(res_attrs.get("resource", "")),
                subresource=str(res_attrs.get("subresource", "")),
                name=str(res_attrs.get("name", "")),
            )
        elif non_res:
            attrs = Attributes(
                verb=str(non_res.get("verb", "")),
                path=str(non_res.get("path", "")),
                resource_request=False,
            )
        else:
            return _json(
                _invalid_ssar("spec.resourceAttributes", "exactly one of nonResourceAttributes or "
                              "resourceAttributes must be specified"),
                422,
            )  # fmt: skip
        decision = self.authorizer.decide(user, attrs)
        status: dict[str, Any] = {"allowed": decision.allowed}
        if decision.reason:
            status["reason"] = decision.reason
        return _json(
            {
                "kind": "SelfSubjectAccessReview",
                "apiVersion": "authorization.k8s.io/v1",
                "metadata": {"creationTimestamp": None},
                "spec": spec,
                "status": status,
            },
            201,
        )

    async def _handle_ssrr(self, request: web.Request, user: UserInfo) -> web.Response:
        """SelfSubjectRulesReview (``kubectl auth can-i --list``)."""
        body = await request.read()
        try:
            if request.content_type == "application/vnd.kubernetes.protobuf":
                if not body.startswith(b"k8s\x00"):
                    raise ValueError("missing protobuf envelope")
                raw = _pb_fields(body[4:]).get(2, b"")
                namespace = _pb_fields(_pb_fields(raw).get(2, b"")).get(1, b"").decode()
            else:
                namespace = str((json.loads(body).get("spec") or {}).get("namespace", ""))
        except (ValueError, AttributeError) as err:
            return _json(_bad_request(f"invalid SelfSubjectRulesReview: {err}"), 400)
        rules, incomplete = self.authorizer.rules_for(user, namespace)
        resource_rules: list[dict[str, Any]] = []
        non_resource_rules: list[dict[str, Any]] = []
        for rule in rules:
            if rule.get("nonResourceURLs"):
                non_resource_rules.append(
                    {"verbs": rule.get("verbs") or [], "nonResourceURLs": rule["nonResourceURLs"]}
                )
            else:
                converted = {
                    key: rule[key]
                    for key in ("verbs", "apiGroups", "resources", "resourceNames")
                    if rule.get(key)
                }
                converted.setdefault("verbs", [])
                resource_rules.append(converted)
        status: dict[str, Any] = {
            "resourceRules": resource_rules,
            "nonResourceRules": non_resource_rules,
            "incomplete": incomplete,
        }
        return _json(
            {
                "kind": "SelfSubjectRulesReview",
                "apiVersion": "authorization.k8s.io/v1",
                "metadata": {"creationTimestamp": None},
                "spec": {"namespace": namespace} if namespace else {},
                "status": status,
            },
            201,
        )

    async def _handle_ssr(self, request: web.Request, user: UserInfo) -> web.Response:
        """SelfSubjectReview (``kubectl auth whoami``): the request body carries nothing."""
        await request.read()
        user_info: dict[str, Any] = {"username": user.name}
        if user.uid:
            user_info["uid"] = user.uid
        if user.groups:
            user_info["groups"] = list(user.groups)
        return _json(
            {
                "kind": "SelfSubjectReview",
                "apiVersion": "authentication.k8s.io/v1",
                "metadata": {"creationTimestamp": None},
                "status": {"userInfo": user_info},
            },
            201,
        )

    async def _handle_token_request(
        self, request: web.Request, namespace: str, name: str
    ) -> web.Response:
        await request.read()
        try:
            token, _ = self.issue_service_account_token(namespace, name)
        except LookupError as err:
            return _json(_not_found(str(err), name, kind="serviceaccounts"), 404)
        expiration = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
        return _json(
            {
                "kind": "TokenRequest",
                "apiVersion": "authentication.k8s.io/v1",
                "metadata": {"name": name, "namespace": namespace, "creationTimestamp": None},
                "spec": {
                    "audiences": ["https://kubernetes.default.svc"],
                    "expirationSeconds": 3600,
                },
                "status": {
                    "token": token,
                    "expirationTimestamp": expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
                },
            },
            201,
        )


def _status(
    code: int, reason: str, message: str, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details is not None:
        out["details"] = details
    return out


def _bad_request(message: str) -> dict[str, Any]:
    return _status(400, "BadRequest", message)


def _not_found(message: str, name: str, kind: str = "serviceaccounts") -> dict[str, Any]:
    return _status(404, "NotFound", message, {"name": name, "kind": kind})


def _invalid_ssar(field: str, message: str) -> dict[str, Any]:
    return _status(
        422,
        "Invalid",
        f'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: {field}: Invalid value: '
        f"null: {message}",
        {"group": "authorization.k8s.io", "kind": "SelfSubjectAccessReview",
         "causes": [{"reason": "FieldValueInvalid", "message": message, "field": field}]},
    )  # fmt: skip


def _impersonate_attrs(resource: str, name: str, namespace: str = "") -> Attributes:
    return Attributes(
        verb="impersonate",
        path="",
        resource_request=True,
        api_version="v1",
        namespace=namespace,
        resource=resource,
        name=name,
    )


def install_tls(app: web.Application, sim: Any) -> ssl.SSLContext:
    """Turn on TLS, authentication and RBAC for this app; returns the server SSLContext.

    Uses ``sim.admin_token`` as the admin token when the Sim has one and sets
    ``sim.ca_pem`` (the CA certificate, PEM). Afterwards ``app[AUTH_KEY]`` (and
    ``sim.auth`` when settable) is the Auth object: ``admin_token``, ``ca_data``,
    ``issue_service_account_token(ns, sa)``.
    """
    files = generate_tls(Path(sim.state_dir) / "tls")
    auth = Auth(sim, files)
    app[AUTH_KEY] = auth
    with contextlib.suppress(AttributeError):
        sim.auth = auth
    with contextlib.suppress(AttributeError):
        sim.ca_pem = files.ca_cert.read_bytes()
    app.middlewares.append(auth.middleware())
    auth.guard_store_writes()
    return server_ssl_context(files)
