"""The HTTP side of kubesim: routing, REST semantics, watch, exec hand-off, control API."""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import os
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from . import admission, defaults, discovery, openapi
from .faults import FaultError, FaultRegistry
from .protobuf import iter_fields
from .requestlog import RequestLog
from .resources import (
    ALL,
    CONFIGMAPS,
    CRONJOBS,
    JOBS,
    NAMESPACES,
    PODS,
    PVCS,
    SECRETS,
    Resource,
    by_kind,
    find_versioned,
)
from .store import ApiError, Event, Store, not_found

JSON_CT = "application/json"
TABLE_CT = "application/json;as=Table;v=v1;g=meta.k8s.io"
REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def json_response(obj: Any, status: int = 200, ct: str = JSON_CT) -> web.Response:
    return web.Response(status=status, body=dumps(obj), headers={"Content-Type": ct})


def status_response(err: ApiError) -> web.Response:
    return json_response(err.status(), err.code)


def error(code: int, message: str, reason: str | None = None) -> ApiError:
    return ApiError(code, reason or REASONS.get(code, "InternalError"), message)


NOT_FOUND_PATH = "the server could not find the requested resource"


class Sim:
    """Everything one running simulator holds."""

    def __init__(
        self,
        state_dir: str,
        *,
        minor: str = "32",
        tls: bool = False,
        snapshot_ready_delay: float = 0.5,
        kubeconfig_path: str | None = None,
    ) -> None:
        self.state_dir = os.path.abspath(state_dir)
        os.makedirs(self.state_dir, exist_ok=True)
        self.minor = minor
        self.tls = tls
        self.snapshot_ready_delay = snapshot_ready_delay
        self.kubeconfig_path = kubeconfig_path or os.path.join(self.state_dir, "kubeconfig")
        self.store = Store()
        self.faults = FaultRegistry()
        self.reqlog = RequestLog(os.path.join(self.state_dir, "requests.jsonl"))
        self.url = ""
        self.admin_token = secrets.token_hex(16)
        self.ca_pem: bytes | None = None  # set by auth.install_tls
        self.controllers: Any = None
        self.watches: list[dict[str, str]] = []

    def volume_dir(self, namespace: str, claim: str) -> str:
        return os.path.join(self.state_dir, "volumes", namespace, claim)

    def snapshot_dir(self, handle: str) -> str:
        return os.path.join(self.state_dir, "snapshots", handle)


# ---------------------------------------------------------------------------------------------
# helpers: selectors, patches, tables (A4's pure modules; tolerant of their absence)


def _label_selector(text: str) -> Callable[[dict[str, Any]], bool]:
    from . import selectors

    try:
        sel = selectors.parse_label_selector(text)
    except selectors.SelectorError as exc:
        raise error(400, str(exc)) from exc
    return lambda obj: sel.matches((obj.get("metadata") or {}).get("labels") or {})


def _field_selector(text: str, kind: str | None = None) -> Callable[[dict[str, Any]], bool]:
    from . import selectors

    try:
        sel = selectors.parse_field_selector(text, kind)
    except selectors.SelectorError as exc:
        raise error(400, str(exc)) from exc
    return sel.matches


def make_filter(
    query: Any, namespace: str | None, kind: str | None = None
) -> Callable[[dict[str, Any]], bool]:
    preds: list[Callable[[dict[str, Any]], bool]] = []
    if namespace is not None:
        preds.append(lambda o: (o.get("metadata") or {}).get("namespace") == namespace)
    ls = query.get("labelSelector", "")
    if ls.strip():
        preds.append(_label_selector(ls))
    fs = query.get("fieldSelector", "")
    if fs.strip():
        preds.append(_field_selector(fs, kind))
    return lambda obj: all(p(obj) for p in preds)


def encode_continue(rv: int, namespace: str, name: str) -> str:
    """A continue token like the apiserver's: base64 of {"v","rv","start"}."""
    key = f"{namespace}/{name}" if namespace else name
    doc = {"v": "meta.k8s.io/v1", "rv": rv, "start": key + "\x00"}
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")


def decode_continue(token: str, objs: list[dict[str, Any]]) -> tuple[int, int]:
    """(resourceVersion, index of the first object after the token's key) in sorted objs."""
    import bisect

    try:
        doc = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        rv = int(doc["rv"])
        key = str(doc["start"]).rstrip("\x00")
    except (ValueError, KeyError, TypeError) as exc:
        raise error(400, f"continue key is not valid: {exc}") from exc
    ns, _, name = key.rpartition("/")
    idx = bisect.bisect_right(
        objs,
        (ns, name),
        key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]),
    )
    return rv, idx


def wants_table(request: web.Request) -> bool:
    return "as=Table" in request.headers.get("Accept", "")


def table_of(request: web.Request, res: Resource, objs: list[dict[str, Any]], rv: str) -> Any:
    from . import tables

    include = request.query.get("includeObject", "Metadata")
    return tables.to_table(
        res.kind,
        objs,
        include_object=include,
        now=datetime.now(timezone.utc),
        resource_version=rv,
        api_version=res.api_version,
    )


def tables_available() -> bool:
    try:
        from . import tables  # noqa: F401
    except ImportError:
        return False
    return True


def _dry_run(request: web.Request) -> bool:
    return "All" in request.query.getall("dryRun", [])


# ---------------------------------------------------------------------------------------------
# the API


class Api:
    def __init__(self, sim: Sim) -> None:
        self.sim = sim
        self.store = sim.store

    # ---- entry --------------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            resp = await self._route(request)
            if not resp.prepared:  # a stream (watch, exec) has sent its headers already
                admission.add_warning_headers(request, resp)
            return resp
        except ApiError as err:
            return admission.add_warning_headers(request, status_response(err))
        except (web.HTTPException, asyncio.CancelledError, ConnectionResetError):
            raise
        except Exception as exc:  # a kubesim bug: say so like the apiserver, keep serving
            import sys
            import traceback

            traceback.print_exc(file=sys.stderr)
            return status_response(
                error(500, f"Internal error occurred: kubesim: {type(exc).__name__}: {exc}")
            )

    async def _route(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path == "/version":
            minor = self.sim.minor
            return json_response(
                {
                    "major": "1",
                    "minor": minor,
                    "gitVersion": f"v1.{minor}.0",
                    "gitCommit": "0",
                    "gitTreeState": "clean",
                    "buildDate": "2025-01-01T00:00:00Z",
                    "goVersion": "go1.23",
                    "compiler": "gc",
                    "platform": "linux/amd64",
                }
            )
        if path in ("/healthz", "/readyz", "/livez"):
            return web.Response(text="ok", content_type="text/plain")
        if path.startswith("/openapi/"):
            return self._openapi(path)
        if path == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews" and not self.sim.tls:
            # without --tls there is no identity: the only user is the admin, who may do anything
            if "protobuf" in request.headers.get("Content-Type", ""):
                from . import protobuf

                try:
                    raw = protobuf.decode_unknown(await request.read())[2]
                except protobuf.ProtobufError as exc:
                    raise error(400, f"the object provided is unrecognized: {exc}") from exc
                review = {
                    "apiVersion": "authorization.k8s.io/v1",
                    "kind": "SelfSubjectAccessReview",
                    **_pb_decode(raw, _SSAR),
                }
            else:
                review = await self._read_json(request)
            if not isinstance(review, dict):
                raise error(400, "the object provided is unrecognized")
            review["status"] = {"allowed": True, "reason": "kubesim without --tls: admin"}
            review.setdefault("metadata", {})["creationTimestamp"] = None
            return json_response(review, 201)
        parts = [p for p in path.split("/") if p]
        if not parts or parts[0] not in ("api", "apis"):
            raise error(404, NOT_FOUND_PATH)
        accept = request.headers.get("Accept", "")
        if parts == ["api"] or parts == ["apis"]:
            agg = discovery.wants_aggregated(accept)
            if agg:
                return json_response(discovery.aggregated(parts == ["api"], agg), ct=agg)
            return json_response(
                discovery.legacy_api() if parts == ["api"] else discovery.legacy_apis()
            )
        if parts[0] == "api":
            group, version, rest = "", parts[1], parts[2:]
        else:
            if len(parts) == 2:
                doc = discovery.legacy_group(parts[1], "")
                if doc is None:
                    raise error(404, NOT_FOUND_PATH)
                return json_response(doc)
            group, version, rest = parts[1], parts[2], parts[3:]
        if not rest:
            doc = discovery.resource_list(group, version)
            if doc is None:
                raise error(404, NOT_FOUND_PATH)
            return json_response(doc)
        namespace: str | None = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            cand = find_versioned(group, version, rest[2])
            if cand is not None and cand.namespaced:
                namespace = rest[1]
                rest = rest[2:]
        res = find_versioned(group, version, rest[0])
        if res is None or len(rest) > 3:
            raise error(404, NOT_FOUND_PATH)
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if sub is not None and sub not in res.subresources:
            raise error(404, NOT_FOUND_PATH)
        if res.namespaced and name is not None and namespace is None:
            raise error(404, NOT_FOUND_PATH)
        if not res.namespaced and namespace is not None:
            raise error(404, NOT_FOUND_PATH)
        method = request.method
        if sub == "exec":
            return await self._exec(request, namespace or "", name or "")
        if sub == "log":
            return await self._log(request, namespace or "", name or "")
        if sub == "scale":
            return await self._scale(request, res, namespace, name or "")
        if name is None:
            if method == "GET":
                if request.query.get("watch") in ("true", "1"):
                    return await self._watch(request, res, namespace)
                return self._list(request, res, namespace)
            if method == "POST":
                if namespace is None and res.namespaced:
                    raise error(404, NOT_FOUND_PATH)
                return await self._create(request, res, namespace)
            if method == "DELETE":
                return self._delete_collection(request, res, namespace)
            raise error(405, "the server does not allow this method on the requested resource")
        if method == "GET":
            obj = self.store.get(res, namespace, name)
            if obj is None:
                raise not_found(res, name)
            if wants_table(request) and tables_available() and sub is None:
                rv = obj["metadata"].get("resourceVersion", "")
                return json_response(table_of(request, res, [obj], rv), ct=TABLE_CT)
            return json_response(obj)
        if method == "PUT":
            return await self._update(request, res, namespace, name, sub)
        if method == "PATCH":
            return await self._patch(request, res, namespace, name, sub)
        if method == "DELETE":
            return await self._delete(request, res, namespace, name)
        if method == "POST":
            raise error(405, "the server does not allow this method on the requested resource")
        raise error(405, "the server does not allow this method on the requested resource")

    def _openapi(self, path: str) -> web.Response:
        if path == "/openapi/v2" and self.sim.minor.isdigit() and int(self.sim.minor) < 30:
            return web.Response(
                body=openapi.v2_protobuf(self.sim.minor),
                headers={"Content-Type": openapi.V2_PROTOBUF_CT},
            )
        if path.rstrip("/") == "/openapi/v3":
            return json_response(openapi.root())
        if path.startswith("/openapi/v3/"):
            doc = openapi.group_version_doc(path[len("/openapi/v3/") :])
            if doc is not None:
                return json_response(doc)
        raise error(404, NOT_FOUND_PATH)

    # ---- reading ------------------------------------------------------------------------
    def _list(self, request: web.Request, res: Resource, namespace: str | None) -> web.Response:
        pred = make_filter(request.query, None, res.kind)
        everything = self.store.list(res, namespace)
        meta: dict[str, Any] = {"resourceVersion": str(self.store.resource_version)}
        start = 0
        token = request.query.get("continue", "")
        if token:
            rv, start = decode_continue(token, everything)
            meta["resourceVersion"] = str(rv)
        try:
            limit = int(request.query.get("limit", "0") or "0")
        except ValueError:
            limit = 0
        items: list[dict[str, Any]] = []
        more_at = -1  # index of the first matching object of the next page, if any
        for idx in range(start, len(everything)):
            obj = everything[idx]
            if not pred(obj):
                continue
            if 0 < limit == len(items):
                more_at = idx
                break
            items.append(obj)
        if more_at >= 0:
            last = items[-1]["metadata"]
            meta["continue"] = encode_continue(
                int(meta["resourceVersion"]), last.get("namespace", ""), last["name"]
            )
            meta["remainingItemCount"] = sum(1 for o in everything[more_at:] if pred(o))
        if wants_table(request) and tables_available():
            table = table_of(request, res, items, meta["resourceVersion"])
            table["metadata"] = meta
            return json_response(table, ct=TABLE_CT)
        head = dumps({"kind": res.list_kind, "apiVersion": res.api_version, "metadata": meta})
        body = b"".join(
            (
                head[:-1],
                b',"items":[',
                b",".join(self.store.encoded(res, o) for o in items),
                b"]}",
            )
        )
        return web.Response(body=body, headers={"Content-Type": JSON_CT})

    async def _watch(
        self, request: web.Request, res: Resource, namespace: str | None
    ) -> web.StreamResponse:
        pred = make_filter(request.query, namespace, res.kind)
        table = wants_table(request) and tables_available()
        try:
            timeout = float(request.query.get("timeoutSeconds", "1800"))
        except ValueError:
            timeout = 1800.0
        # An http fault's "watchEndAfter" ends the stream early (like a watch timeout).
        timeout = min(timeout, request.get("kubesim_watch_end_after", timeout))
        rv_text = request.query.get("resourceVersion", "")
        queue: asyncio.Queue[tuple[str, dict[str, Any]] | None] = asyncio.Queue()

        def translate(ev: Event) -> tuple[str, dict[str, Any]] | None:
            if ev.res is not res:
                return None
            now = pred(ev.obj)
            if ev.type == "MODIFIED" and ev.old is not None:
                before = pred(ev.old)
                if now and before:
                    return ("MODIFIED", ev.obj)
                if now:
                    return ("ADDED", ev.obj)
                if before:
                    return ("DELETED", ev.obj)
                return None
            return (ev.type, ev.obj) if now else None

        def listener(ev: Event) -> None:
            item = translate(ev)
            if item is not None:
                queue.put_nowait(item)

        initial: list[tuple[str, dict[str, Any]]] = []
        gone = False
        if rv_text in ("", "0"):
            initial = [("ADDED", o) for o in self.store.list(res, namespace) if pred(o)]
        else:
            try:
                since = int(rv_text)
            except ValueError as exc:
                raise error(400, f"invalid resource version: {rv_text}") from exc
            hist = self.store.history
            if hist and len(hist) == hist.maxlen and since < hist[0].rv - 1:
                gone = True
            else:
                for ev in hist:
                    if ev.rv > since:
                        item = translate(ev)
                        if item is not None:
                            initial.append(item)
        self.store.add_listener(listener)
        resp = web.StreamResponse(status=200, headers={"Content-Type": JSON_CT})
        resp.enable_chunked_encoding()
        watch_info = {
            "path": request.path,
            "query": request.query_string,
            "command": request.headers.get("Kubectl-Command", ""),
        }
        self.sim.watches.append(watch_info)
        try:
            await resp.prepare(request)
            request["kubesim_status"] = 200
            if gone:
                st = error(
                    410,
                    f"too old resource version: {rv_text} ({self.store.oldest_rv()})",
                    "Expired",
                ).status()
                await resp.write(dumps({"type": "ERROR", "object": st}) + b"\n")
                return resp
            for item in initial:
                queue.put_nowait(item)
            deadline = time.monotonic() + timeout
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    got = await asyncio.wait_for(queue.get(), remaining)
                except asyncio.TimeoutError:
                    break
                if got is None:
                    break
                typ, obj = got
                if table:
                    obj = table_of(request, res, [obj], obj["metadata"].get("resourceVersion", ""))
                await resp.write(dumps({"type": typ, "object": obj}) + b"\n")
            await resp.write_eof()
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.store.remove_listener(listener)
            self.sim.watches.remove(watch_info)
        return resp

    # ---- writing ------------------------------------------------------------------------
    async def _read_json(self, request: web.Request) -> Any:
        raw = await request.read()
        if not raw.strip():
            raise error(400, "the body of the request was empty")
        ct = request.headers.get("Content-Type", "")
        try:
            if "yaml" in ct:
                import yaml

                return yaml.safe_load(raw)
            return json.loads(raw)
        except (ValueError, Exception) as exc:
            raise error(400, f"the object provided is unrecognized: {exc}") from exc

    def _check_body(self, res: Resource, obj: Any, namespace: str | None) -> dict[str, Any]:
        if not isinstance(obj, dict):
            raise error(400, "the object provided is unrecognized (must be a JSON object)")
        kind = obj.get("kind")
        if kind and kind != res.kind:
            raise error(
                400,
                f"the server rejected our request due to an error in our request: "
                f"kind {kind} does not match {res.kind}",
            )
        av = obj.get("apiVersion")
        if av and av != res.api_version:
            raise error(
                400,
                f"the API version in the data ({av}) does not match the expected"
                f" API version ({res.api_version})",
            )
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise error(400, "metadata must be an object")
        if res.namespaced and namespace is not None:
            if meta.get("namespace") and meta["namespace"] != namespace:
                raise error(
                    400,
                    "the namespace of the provided object does not match the"
                    " namespace sent on the request",
                )
            meta["namespace"] = namespace
        normalize(res, obj)
        return obj

    async def _create(
        self, request: web.Request, res: Resource, namespace: str | None
    ) -> web.Response:
        ct = request.headers.get("Content-Type", "")
        if "protobuf" in ct:
            obj = await self._protobuf_body(request, res, namespace)
        else:
            obj = self._check_body(res, await self._read_json(request), namespace)
        obj = admission.check_fields(request, res, obj)
        if "status" in res.subresources:
            obj.pop("status", None)
        validate_crd(res, obj, None)
        admission.pod_security(request, self.store, res, obj)
        if res is PVCS:  # the StorageObjectInUseProtection admission plugin
            fins = obj["metadata"].setdefault("finalizers", [])
            if "kubernetes.io/pvc-protection" not in fins:
                fins.append("kubernetes.io/pvc-protection")
        created = self.store.create(res, obj, dry_run=_dry_run(request))
        return json_response(created, 201)

    async def _protobuf_body(
        self, request: web.Request, res: Resource, namespace: str | None
    ) -> dict[str, Any]:
        raw = await request.read()
        if res.kind not in _PB_SCHEMAS:
            raise error(
                415,
                "the body of the request was in an unknown format - accepted media"
                " types include: application/json, application/yaml",
                "UnsupportedMediaType",
            )
        try:
            obj = decode_protobuf_object(res, raw)
        except ValueError as exc:
            raise error(400, f"the object provided is unrecognized: {exc}") from exc
        if res is JOBS:
            spec: dict[str, Any] = obj.get("spec") or {}
            for ref in obj["metadata"].get("ownerReferences") or []:
                if ref.get("kind") == "CronJob":
                    cj = self.store.get(CRONJOBS, namespace, ref.get("name", ""))
                    if cj is not None:
                        spec = copy.deepcopy(
                            cj.get("spec", {}).get("jobTemplate", {}).get("spec", {})
                        )
            obj["spec"] = spec
        return self._check_body(res, obj, namespace)

    def _merge_sub(
        self, res: Resource, old: dict[str, Any], new: dict[str, Any], sub: str | None
    ) -> dict[str, Any]:
        """Apply subresource rules: /status changes only status; main changes all but status."""
        if sub == "status":
            out = copy.deepcopy(old)
            if "status" in new:
                out["status"] = new["status"]
            else:
                out.pop("status", None)
            out["metadata"]["resourceVersion"] = new.get("metadata", {}).get(
                "resourceVersion", old["metadata"]["resourceVersion"]
            )
            return out
        if "status" in res.subresources:
            if "status" in old:
                new["status"] = old["status"]
            else:
                new.pop("status", None)
        return new

    async def _update(
        self,
        request: web.Request,
        res: Resource,
        namespace: str | None,
        name: str,
        sub: str | None,
    ) -> web.Response:
        obj = self._check_body(res, await self._read_json(request), namespace)
        if obj["metadata"].get("name") and obj["metadata"]["name"] != name:
            raise error(
                400,
                f"the name of the object ({obj['metadata']['name']}) does not match the name"
                f" on the URL ({name})",
            )
        obj["metadata"]["name"] = name
        old = self.store.get(res, namespace, name)
        if old is None:
            raise not_found(res, name)
        obj = admission.check_fields(request, res, obj, old)
        obj = self._merge_sub(res, old, obj, sub)
        if sub != "status":
            validate_crd(res, obj, old)
        return json_response(self.store.update(res, obj, dry_run=_dry_run(request)))

    async def _patch(
        self,
        request: web.Request,
        res: Resource,
        namespace: str | None,
        name: str,
        sub: str | None,
    ) -> web.Response:
        from . import patch as patchlib

        ct = request.headers.get("Content-Type", "").split(";")[0].strip()
        old = self.store.get(res, namespace, name)
        if ct == "application/apply-patch+yaml":
            return await self._apply_patch(request, res, namespace, name, old)
        body = await request.read()
        try:
            if old is None:
                if ct not in patchlib.accepted_patch_types(res.crd):
                    patchlib.apply_patch(ct, {}, body, kind=res.kind, crd=res.crd)  # the 415
                raise not_found(res, name)
            new = patchlib.apply_patch(ct, old, body, kind=res.kind, crd=res.crd)
        except patchlib.PatchError as exc:
            raise error(exc.code, exc.message, exc.reason) from exc
        if not isinstance(new, dict):
            raise error(422, "the patch produced something that is not an object", "Invalid")
        new = self._check_body(res, new, namespace)
        if new["metadata"].get("name") != name:
            raise error(
                400, "metadata.name: Invalid value: the name of a patched object cannot change"
            )
        assert old is not None
        new = admission.check_fields(request, res, new, old)
        new = self._merge_sub(res, old, new, sub)
        if sub != "status":
            validate_crd(res, new, old)
        return json_response(self.store.update(res, new, dry_run=_dry_run(request)))

    async def _apply_patch(
        self,
        request: web.Request,
        res: Resource,
        namespace: str | None,
        name: str,
        old: dict[str, Any] | None,
    ) -> web.Response:
        """Server-side apply, simplified: create when missing, else merge the applied fields."""
        from . import patch as patchlib

        doc = self._check_body(res, await self._read_json(request), namespace)
        doc["metadata"]["name"] = name
        doc = admission.check_fields(request, res, doc, server_side_apply=True)
        if old is None:
            doc.pop("status", None)
            validate_crd(res, doc, None)
            admission.pod_security(request, self.store, res, doc)
            return json_response(self.store.create(res, doc, dry_run=_dry_run(request)), 201)
        new = self._merge_sub(res, old, patchlib.merge_patch(old, doc), None)
        validate_crd(res, new, old)
        return json_response(self.store.update(res, new, dry_run=_dry_run(request)))

    async def _delete(
        self, request: web.Request, res: Resource, namespace: str | None, name: str
    ) -> web.Response:
        dry = _dry_run(request)
        raw = await request.read()
        if raw.strip():
            try:
                opts = json.loads(raw)
                if isinstance(opts, dict) and "All" in (opts.get("dryRun") or []):
                    dry = True
            except ValueError:
                pass
        obj = self.store.delete(res, namespace, name, dry_run=dry)
        if res is NAMESPACES:
            obj = copy.deepcopy(obj)
            obj["status"] = {"phase": "Terminating"}
            obj["metadata"]["deletionTimestamp"] = obj["metadata"].get("creationTimestamp")
        return json_response(obj)

    def _delete_collection(
        self, request: web.Request, res: Resource, namespace: str | None
    ) -> web.Response:
        pred = make_filter(request.query, None, res.kind)
        dry = _dry_run(request)
        items = [
            self.store.delete(res, namespace, o["metadata"]["name"], dry_run=dry)
            for o in self.store.list(res, namespace)
            if pred(o)
        ]
        return json_response(
            {
                "kind": res.list_kind,
                "apiVersion": res.api_version,
                "metadata": {"resourceVersion": str(self.store.resource_version)},
                "items": items,
            }
        )

    # ---- subresources -------------------------------------------------------------------
    async def _scale(
        self, request: web.Request, res: Resource, namespace: str | None, name: str
    ) -> web.Response:
        from . import patch as patchlib

        obj = self.store.get(res, namespace, name)
        if obj is None:
            raise not_found(res, name)

        def scale_of(o: dict[str, Any]) -> dict[str, Any]:
            m = o["metadata"]
            sel = (o.get("spec", {}).get("selector") or {}).get("matchLabels") or {}
            return {
                "kind": "Scale",
                "apiVersion": "autoscaling/v1",
                "metadata": {
                    k: m[k]
                    for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                    if k in m
                },
                "spec": {"replicas": o.get("spec", {}).get("replicas", 1)},
                "status": {
                    "replicas": (o.get("status") or {}).get("replicas", 0),
                    "selector": ",".join(f"{k}={v}" for k, v in sorted(sel.items())),
                },
            }

        cur = scale_of(obj)
        if request.method == "GET":
            return json_response(cur)
        body = await request.read()
        try:
            doc = json.loads(body) if body.strip() else {}
        except ValueError as exc:
            raise error(400, f"error decoding patch: {exc}") from exc
        if request.method == "PUT":
            new_scale = doc
        elif request.method == "PATCH":
            ct = request.headers.get("Content-Type", "")
            try:
                new_scale = patchlib.apply_patch(ct, cur, body, kind="Scale", crd=False)
            except patchlib.PatchError as exc:
                raise error(exc.code, exc.message, exc.reason) from exc
        else:
            raise error(405, "the server does not allow this method on the requested resource")
        replicas = (new_scale.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or replicas < 0:
            raise error(422, f'Scale "{name}" is invalid: spec.replicas: Invalid value', "Invalid")
        new = copy.deepcopy(obj)
        new.setdefault("spec", {})["replicas"] = replicas
        new["metadata"].pop("resourceVersion", None)
        updated = self.store.update(res, new, dry_run=_dry_run(request))
        return json_response(scale_of(updated))

    async def _log(self, request: web.Request, namespace: str, name: str) -> web.Response:
        from .kubelet import serve_log

        return await serve_log(request, self.sim, namespace, name)

    async def _exec(self, request: web.Request, namespace: str, name: str) -> web.StreamResponse:
        pod = self.store.get(PODS, namespace, name)
        if pod is None:
            raise not_found(PODS, name)
        req = build_exec_request(self.sim, pod, request.query)
        if request.method == "POST":
            raise error(
                400,
                "kubesim speaks only WebSocket v5 (v5.channel.k8s.io) for exec;"
                " unset KUBECTL_REMOTE_COMMAND_WEBSOCKETS",
            )
        if request.method != "GET":
            raise error(405, "the server does not allow this method on the requested resource")
        from . import exec as execmod

        return await execmod.serve(request, req)


# ---------------------------------------------------------------------------------------------
# protobuf bodies (typed-client creates: create namespace/secret/configmap/sa/role/..., job --from)

_STR, _BYTES, _BOOL = "str", "bytes", "bool"
_POLICY_RULE = {
    1: ("verbs", "list_str"),
    2: ("apiGroups", "list_str"),
    3: ("resources", "list_str"),
    4: ("resourceNames", "list_str"),
    5: ("nonResourceURLs", "list_str"),
}
_SUBJECT = {1: ("kind", _STR), 2: ("apiGroup", _STR), 3: ("name", _STR), 4: ("namespace", _STR)}
_ROLEREF = {1: ("apiGroup", _STR), 2: ("kind", _STR), 3: ("name", _STR)}
_LABEL_SELECTOR = {1: ("matchLabels", "map_str")}
_SSAR = {
    2: (
        "spec",
        (
            "msg",
            {
                1: (
                    "resourceAttributes",
                    (
                        "msg",
                        {
                            1: ("namespace", _STR),
                            2: ("verb", _STR),
                            3: ("group", _STR),
                            4: ("version", _STR),
                            5: ("resource", _STR),
                            6: ("subresource", _STR),
                            7: ("name", _STR),
                        },
                    ),
                ),
                2: ("nonResourceAttributes", ("msg", {1: ("path", _STR), 2: ("verb", _STR)})),
            },
        ),
    ),
}
_CONTAINER = {
    1: ("name", _STR),
    2: ("image", _STR),
    3: ("command", "list_str"),
    4: ("args", "list_str"),
    5: ("workingDir", _STR),
    6: (
        "ports",
        ("list_msg", {1: ("name", _STR), 3: ("containerPort", "int"), 4: ("protocol", _STR)}),
    ),
    7: ("env", ("list_msg", {1: ("name", _STR), 2: ("value", _STR)})),
    9: (
        "volumeMounts",
        (
            "list_msg",
            {
                1: ("name", _STR),
                2: ("readOnly", _BOOL),
                3: ("mountPath", _STR),
                4: ("subPath", _STR),
            },
        ),
    ),
    14: ("imagePullPolicy", _STR),
}
_POD_TEMPLATE = {
    1: ("metadata", "meta"),
    2: (
        "spec",
        (
            "msg",
            {
                2: ("containers", ("list_msg", _CONTAINER)),
                3: ("restartPolicy", _STR),
                8: ("serviceAccountName", _STR),
                20: ("initContainers", ("list_msg", _CONTAINER)),
            },
        ),
    ),
}
_JOB_SPEC = {
    1: ("parallelism", "int"),
    2: ("completions", "int"),
    3: ("activeDeadlineSeconds", "int"),
    4: ("selector", ("msg", _LABEL_SELECTOR)),
    6: ("template", ("msg", _POD_TEMPLATE)),
    7: ("backoffLimit", "int"),
}
_PB_SCHEMAS: dict[str, dict[int, tuple[str, Any]]] = {
    "Namespace": {},
    "ConfigMap": {2: ("data", "map_str"), 3: ("binaryData", "map_bytes"), 4: ("immutable", _BOOL)},
    "Secret": {
        2: ("data", "map_bytes"),
        3: ("type", _STR),
        4: ("stringData", "map_str"),
        5: ("immutable", _BOOL),
    },
    "ServiceAccount": {
        3: ("imagePullSecrets", ("list_msg", {1: ("name", _STR)})),
        4: ("automountServiceAccountToken", _BOOL),
    },
    "Role": {2: ("rules", ("list_msg", _POLICY_RULE))},
    "ClusterRole": {2: ("rules", ("list_msg", _POLICY_RULE))},
    "RoleBinding": {2: ("subjects", ("list_msg", _SUBJECT)), 3: ("roleRef", ("msg", _ROLEREF))},
    "ClusterRoleBinding": {
        2: ("subjects", ("list_msg", _SUBJECT)),
        3: ("roleRef", ("msg", _ROLEREF)),
    },
    "Job": {2: ("spec", ("msg", _JOB_SPEC))},
    "CronJob": {
        2: (
            "spec",
            (
                "msg",
                {
                    1: ("schedule", _STR),
                    3: ("concurrencyPolicy", _STR),
                    4: ("suspend", _BOOL),
                    5: (
                        "jobTemplate",
                        ("msg", {1: ("metadata", "meta"), 2: ("spec", ("msg", _JOB_SPEC))}),
                    ),
                    6: ("successfulJobsHistoryLimit", "int"),
                    7: ("failedJobsHistoryLimit", "int"),
                    8: ("timeZone", _STR),
                },
            ),
        )
    },
    "Deployment": {
        2: (
            "spec",
            (
                "msg",
                {
                    1: ("replicas", "int"),
                    2: ("selector", ("msg", _LABEL_SELECTOR)),
                    3: ("template", ("msg", _POD_TEMPLATE)),
                },
            ),
        )
    },
}


def _pb_decode(buf: bytes, schema: dict[int, tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field, _wt, value in iter_fields(buf):
        val: Any = value  # bytes or int, by the schema's type
        if field not in schema:
            continue
        name, typ = schema[field]
        if typ == _STR:
            if val:
                out[name] = val.decode()
        elif typ == _BYTES:
            out[name] = base64.b64encode(val).decode()
        elif typ == _BOOL:
            out[name] = bool(val)
        elif typ == "int":
            out[name] = val - (1 << 64) if val >= 1 << 63 else val
        elif typ == "meta":
            from . import protobuf

            out[name] = protobuf.decode_object_meta(val)
        elif typ == "list_str":
            out.setdefault(name, []).append(val.decode())
        elif typ in ("map_str", "map_bytes"):
            entry: dict[int, Any] = {f: v for f, _w, v in iter_fields(val)}
            key = entry.get(1, b"").decode()
            raw = entry.get(2, b"")
            out.setdefault(name, {})[key] = (
                raw.decode() if typ == "map_str" else base64.b64encode(raw).decode()
            )
        elif isinstance(typ, tuple) and typ[0] == "list_msg":
            out.setdefault(name, []).append(_pb_decode(val, typ[1]))
        elif isinstance(typ, tuple) and typ[0] == "msg":
            out[name] = _pb_decode(val, typ[1])
    return out


def decode_protobuf_object(res: Resource, body: bytes) -> dict[str, Any]:
    """`k8s\\x00` + runtime.Unknown{TypeMeta, raw} -> a JSON-shaped object (known fields).

    Envelope and ObjectMeta via protobuf.py; the few per-kind fields from _PB_SCHEMAS.
    """
    from . import protobuf

    try:
        _api_version, _kind, raw = protobuf.decode_unknown(body)
        meta = protobuf.decode_object_meta_of(raw)
    except protobuf.ProtobufError as exc:
        raise ValueError(str(exc)) from exc
    obj: dict[str, Any] = {"apiVersion": res.api_version, "kind": res.kind, "metadata": meta}
    obj.update(_pb_decode(raw, _PB_SCHEMAS.get(res.kind, {})))
    return obj


# ---------------------------------------------------------------------------------------------
# exec: pod + container -> ExecRequest


def _truthy(v: str | None) -> bool:
    return v in ("true", "1", "True")


def _b64(v: str) -> str:
    try:
        return base64.b64decode(v).decode("utf-8", "replace")
    except ValueError:
        return ""


def build_exec_request(sim: Sim, pod: dict[str, Any], query: Any) -> Any:
    from .exectypes import ExecRequest

    meta = pod["metadata"]
    ns, name = meta.get("namespace", ""), meta["name"]
    spec = pod.get("spec") or {}
    containers = list(spec.get("containers") or []) + list(spec.get("initContainers") or [])
    cname = query.get("container", "")
    if not cname:
        if len(spec.get("containers") or []) == 1:
            cname = spec["containers"][0].get("name", "")
        else:
            names = " ".join(c.get("name", "") for c in spec.get("containers") or [])
            raise error(
                400, f"a container name must be specified for pod {name}, choose one of: [{names}]"
            )
    container = next((c for c in containers if c.get("name") == cname), None)
    if container is None:
        raise error(400, f"container {cname} is not valid for pod {name}")
    phase = (pod.get("status") or {}).get("phase", "")
    if phase in ("Succeeded", "Failed"):
        raise error(
            400, f"cannot exec into a container in a completed pod; current phase is {phase}"
        )
    command = list(query.getall("command", []))
    if not command:
        raise error(400, "you must specify at least 1 command")
    env = resolve_env(sim, pod, container)
    mounts = resolve_mounts(sim, pod, container)
    cut = sim.faults.take("exec-cut", namespace=ns, pod=name, container=cname)
    return ExecRequest(
        namespace=ns,
        pod=name,
        container=cname,
        command=command,
        stdin=_truthy(query.get("stdin")),
        stdout=_truthy(query.get("stdout")),
        stderr=_truthy(query.get("stderr")),
        tty=_truthy(query.get("tty")),
        env=env,
        mounts=mounts,
        workdir=container.get("workingDir") or None,
        cut_after_bytes=int(cut["afterBytes"])
        if cut and cut.get("afterBytes") is not None
        else None,
    )


def _ref_value(sim: Sim, ns: str, kind: str, ref: dict[str, Any]) -> str | None:
    res = SECRETS if kind == "secret" else CONFIGMAPS
    obj = sim.store.get(res, ns, ref.get("name", ""))
    if obj is None:
        return None
    key = ref.get("key", "")
    if kind == "secret":
        data = obj.get("data") or {}
        return _b64(data[key]) if key in data else None
    data = obj.get("data") or {}
    return str(data[key]) if key in data else None


def resolve_env(sim: Sim, pod: dict[str, Any], container: dict[str, Any]) -> dict[str, str]:
    ns = pod["metadata"].get("namespace", "")
    env: dict[str, str] = {}
    for src in container.get("envFrom") or []:
        prefix = src.get("prefix", "")
        for kind, key in (("configmap", "configMapRef"), ("secret", "secretRef")):
            ref = src.get(key)
            if not ref:
                continue
            obj = sim.store.get(
                SECRETS if kind == "secret" else CONFIGMAPS, ns, ref.get("name", "")
            )
            for k, v in ((obj or {}).get("data") or {}).items():
                env[prefix + k] = _b64(v) if kind == "secret" else str(v)
    for item in container.get("env") or []:
        name = item.get("name")
        if not name:
            continue
        if "value" in item:
            env[name] = _expand(str(item["value"]), env)
            continue
        vf = item.get("valueFrom") or {}
        val: str | None = None
        if "secretKeyRef" in vf:
            val = _ref_value(sim, ns, "secret", vf["secretKeyRef"])
        elif "configMapKeyRef" in vf:
            val = _ref_value(sim, ns, "configmap", vf["configMapKeyRef"])
        elif "fieldRef" in vf:
            path = vf["fieldRef"].get("fieldPath", "")
            meta = pod["metadata"]
            val = {
                "metadata.name": meta.get("name"),
                "metadata.namespace": ns,
                "metadata.uid": meta.get("uid"),
                "spec.nodeName": "kubesim-node",
                "status.podIP": (pod.get("status") or {}).get("podIP", "10.0.0.1"),
                "spec.serviceAccountName": (pod.get("spec") or {}).get(
                    "serviceAccountName", "default"
                ),
            }.get(path)
        if val is not None:
            env[name] = val
        elif "value" not in item and not vf:
            env[name] = ""
    return env


def _expand(value: str, env: dict[str, str]) -> str:
    """$(VAR) references to earlier variables, as the kubelet does."""
    import re

    return re.sub(
        r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m.group(1), m.group(0)), value
    )


def resolve_mounts(sim: Sim, pod: dict[str, Any], container: dict[str, Any]) -> list[Any]:
    from .exectypes import Mount

    meta = pod["metadata"]
    ns, pname = meta.get("namespace", ""), meta["name"]
    volumes = {v.get("name"): v for v in (pod.get("spec") or {}).get("volumes") or []}
    mounts = []
    for vm in container.get("volumeMounts") or []:
        vol = volumes.get(vm.get("name"))
        if vol is None or not vm.get("mountPath"):
            continue
        disk: dict[str, Any] | None = None
        if "persistentVolumeClaim" in vol:
            claim = vol["persistentVolumeClaim"].get("claimName", "")
            host = sim.volume_dir(ns, claim)
            disk = sim.faults.take("disk", namespace=ns, pvc=claim)
        elif "emptyDir" in vol:
            host = os.path.join(sim.state_dir, "emptydir", ns, pname, vol["name"])
            if not os.path.isdir(host):
                os.makedirs(host)
                os.chmod(host, 0o777)  # the kubelet's emptyDir mode: any runAsUser may write
        elif "hostPath" in vol:  # the node's filesystem is STATE/hostpath/, not this machine's
            node_path = vol["hostPath"].get("path", "").lstrip("/")
            host = os.path.join(sim.state_dir, "hostpath", node_path)
        elif "configMap" in vol or "secret" in vol:
            host = _project(sim, ns, pname, vol)
        elif "projected" in vol:
            from .serviceaccount import project

            host = project(sim, ns, pod, vol)
        else:
            continue
        if vm.get("subPath"):
            host = os.path.join(host, vm["subPath"])
        os.makedirs(host, exist_ok=True)
        mounts.append(
            Mount(
                host_dir=host,
                mount_path=vm["mountPath"],
                read_only=bool(vm.get("readOnly")),
                disk_size_bytes=int(disk["sizeBytes"]) if disk and disk.get("sizeBytes") else None,
                disk_used_percent=(
                    int(disk["usedPercent"])
                    if disk and disk.get("usedPercent") is not None
                    else None
                ),
            )
        )
    return mounts


def _project(sim: Sim, ns: str, pod: str, vol: dict[str, Any]) -> str:
    """configMap/secret volume: its keys (or `items`) written as files, with their modes."""
    host = os.path.join(sim.state_dir, "projected", ns, pod, vol["name"])
    os.makedirs(host, exist_ok=True)
    if "configMap" in vol:
        src = vol["configMap"]
        obj = sim.store.get(CONFIGMAPS, ns, src.get("name", ""))
        data = {k: str(v).encode() for k, v in ((obj or {}).get("data") or {}).items()}
        for k, v in ((obj or {}).get("binaryData") or {}).items():
            data[k] = base64.b64decode(v)
    else:
        src = vol["secret"]
        obj = sim.store.get(SECRETS, ns, src.get("secretName", ""))
        data = {k: base64.b64decode(v) for k, v in ((obj or {}).get("data") or {}).items()}
    default_mode = int(src.get("defaultMode", 0o644))
    items = src.get("items")
    files = (
        [(it.get("key", ""), it.get("path", ""), int(it.get("mode", default_mode))) for it in items]
        if items
        else [(k, k, default_mode) for k in data]
    )
    for key, rel, mode in files:
        if key not in data or not rel or rel.startswith("/") or ".." in rel.split("/"):
            continue
        path = os.path.join(host, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(data[key])
        os.chmod(path, mode)
    return host


# ---------------------------------------------------------------------------------------------
# the CSI snapshot CRDs' schema rules (external-snapshotter v8 CRDs: required, enum, CEL)


def _cel(path: str, typ: str, message: str) -> tuple[str, str]:
    return path, f'Invalid value: "{typ}": {message}'


def validate_crd(res: Resource, new: dict[str, Any], old: dict[str, Any] | None) -> None:
    from .resources import VS, VSC, VSCLASS
    from .store import invalid

    causes: list[tuple[str, str]] = []
    name = str((new.get("metadata") or {}).get("name", ""))

    def enum(path: str, value: Any, allowed: tuple[str, ...]) -> None:
        if value is None:
            causes.append((path, "Required value"))
        elif value not in allowed:
            sup = ", ".join(f'"{a}"' for a in allowed)
            causes.append((path, f'Unsupported value: "{value}": supported values: {sup}'))

    def immutable(path: str, key: str, src: dict[str, Any], old_src: dict[str, Any]) -> None:
        if key in old_src and key in src and src[key] != old_src[key]:
            causes.append(_cel(f"{path}.{key}", "string", f"{key} is immutable"))
        elif key in old_src and key not in src:
            causes.append(_cel(path, "object", f"{key} is immutable"))

    def exactly_one(path: str, src: dict[str, Any], a: str, b: str) -> None:
        if (a in src) == (b in src):
            causes.append(_cel(path, "object", f"exactly one of {a} and {b} must be set"))

    if res is VS:
        spec = new.get("spec")
        if not isinstance(spec, dict) or not isinstance(spec.get("source"), dict):
            causes.append(("spec.source" if isinstance(spec, dict) else "spec", "Required value"))
        else:
            src = spec["source"]
            old_src = ((old or {}).get("spec") or {}).get("source") or {}
            exactly_one(
                "spec.source", src, "volumeSnapshotContentName", "persistentVolumeClaimName"
            )
            for key in ("persistentVolumeClaimName", "volumeSnapshotContentName"):
                immutable("spec.source", key, src, old_src)
            if spec.get("volumeSnapshotClassName") == "":
                causes.append(
                    _cel(
                        "spec.volumeSnapshotClassName",
                        "string",
                        "volumeSnapshotClassName must not be the empty string when set",
                    )
                )
    elif res is VSC:
        spec = new.get("spec")
        if not isinstance(spec, dict):
            causes.append(("spec", "Required value"))
        else:
            enum("spec.deletionPolicy", spec.get("deletionPolicy"), ("Delete", "Retain"))
            if not spec.get("driver"):
                causes.append(("spec.driver", "Required value"))
            src = spec.get("source")
            if not isinstance(src, dict):
                causes.append(("spec.source", "Required value"))
            else:
                old_src = ((old or {}).get("spec") or {}).get("source") or {}
                exactly_one("spec.source", src, "volumeHandle", "snapshotHandle")
                for key in ("volumeHandle", "snapshotHandle"):
                    immutable("spec.source", key, src, old_src)
            ref = spec.get("volumeSnapshotRef")
            if not isinstance(ref, dict):
                causes.append(("spec.volumeSnapshotRef", "Required value"))
            elif not ref.get("name") or not ref.get("namespace"):
                causes.append(
                    _cel(
                        "spec",
                        "object",
                        "both spec.volumeSnapshotRef.name and"
                        " spec.volumeSnapshotRef.namespace must be set",
                    )
                )
    elif res is VSCLASS:
        enum("deletionPolicy", new.get("deletionPolicy"), ("Delete", "Retain"))
        if not new.get("driver"):
            causes.append(("driver", "Required value"))
    elif res is PVCS and old is not None:
        _validate_pvc_update(new, old, causes)
    elif res.group == "apps" and res.kind in (
        "Deployment",
        "StatefulSet",
        "ReplicaSet",
        "DaemonSet",
    ):
        _validate_workload(new, old, causes)
    if causes:
        raise invalid(res, name, causes)


def _go_map(m: dict[str, Any]) -> str:
    inner = ", ".join(f'"{k}":"{m[k]}"' for k in sorted(m))
    return "map[string]string{" + inner + "}"


def _validate_workload(
    new: dict[str, Any], old: dict[str, Any] | None, causes: list[tuple[str, str]]
) -> None:
    """selector required, matching the template's labels, immutable (apps/v1)."""
    from .selectors import SelectorError, label_selector_from_object

    spec = new.get("spec") or {}
    sel = spec.get("selector")
    if not isinstance(sel, dict) or not (sel.get("matchLabels") or sel.get("matchExpressions")):
        causes.append(("spec.selector", "Required value"))
        return
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    try:
        matches = label_selector_from_object(sel).matches(labels)
    except SelectorError as exc:
        causes.append(("spec.selector", f"Invalid value: {exc}"))
        return
    if not matches:
        causes.append(
            (
                "spec.template.metadata.labels",
                f"Invalid value: {_go_map(labels)}: `selector` does not match template `labels`",
            )
        )
    old_sel = ((old or {}).get("spec") or {}).get("selector")
    if old is not None and old_sel != sel:
        ml = sel.get("matchLabels") or {}
        shown = _go_map(ml) if ml else "map[string]string(nil)"
        exprs = (
            "[]v1.LabelSelectorRequirement(nil)"
            if not sel.get("matchExpressions")
            else ("[]v1.LabelSelectorRequirement{...}")
        )
        causes.append(
            (
                "spec.selector",
                f"Invalid value: v1.LabelSelector{{MatchLabels:{shown},"
                f" MatchExpressions:{exprs}}}: field is immutable",
            )
        )


def _validate_pvc_update(
    new: dict[str, Any], old: dict[str, Any], causes: list[tuple[str, str]]
) -> None:
    """A PVC's spec is immutable except requests (growing only) and volumeAttributesClassName."""
    from .controllers import quantity_bytes

    def rest(spec: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in spec.items() if k not in ("resources", "volumeAttributesClassName")}
        res = dict(spec.get("resources") or {})
        res.pop("requests", None)
        out["resources"] = res
        return out

    new_spec, old_spec = new.get("spec") or {}, old.get("spec") or {}
    if rest(new_spec) != rest(old_spec):
        causes.append(
            (
                "spec",
                "Forbidden: spec is immutable after creation except"
                " resources.requests and volumeAttributesClassName for bound claims",
            )
        )
        return
    want = ((new_spec.get("resources") or {}).get("requests") or {}).get("storage")
    had = ((old_spec.get("resources") or {}).get("requests") or {}).get("storage")
    if want is not None and had is not None and quantity_bytes(want) < quantity_bytes(had):
        causes.append(
            (
                "spec.resources.requests.storage",
                "Forbidden: field can not be less than status.capacity",
            )
        )


def normalize(res: Resource, obj: dict[str, Any]) -> None:
    """Server-side defaulting the real apiserver does on write."""
    if res is SECRETS:
        sd = obj.pop("stringData", None)
        if isinstance(sd, dict):
            data = obj.setdefault("data", {}) or {}
            for k, v in sd.items():
                data[k] = base64.b64encode(str(v).encode()).decode()
            obj["data"] = data
        obj.setdefault("type", "Opaque")
    if res is CONFIGMAPS:
        pass
    if not res.crd:
        defaults.apply(res.kind, obj)


# ---------------------------------------------------------------------------------------------
# middlewares and the app


def _user_of(request: web.Request, sim: Sim) -> str:
    user = request.get("user")
    if user is None:
        return "" if sim.tls else "admin"
    if isinstance(user, str):
        return user
    for attr in ("name", "username"):
        if hasattr(user, attr):
            return str(getattr(user, attr))
    return str(user)


def make_app(sim: Sim) -> web.Application:
    api = Api(sim)

    @web.middleware
    async def log_mw(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/_kubesim/"):
            return await handler(request)
        start = time.perf_counter()
        status = 500
        try:
            resp = await handler(request)
            status = resp.status
            return resp
        except web.HTTPException as exc:
            status = exc.status
            raise
        except asyncio.CancelledError:
            status = 499  # the client went away (nginx's code); streams log what they sent
            raise
        finally:
            status = request.get("kubesim_status", status)
            sim.reqlog.write(
                {
                    "method": request.method,
                    "path": request.path,
                    "query": request.query_string,
                    "status": status,
                    "user": _user_of(request, sim),
                    "duration_ms": round((time.perf_counter() - start) * 1000, 3),
                    "command": request.headers.get("Kubectl-Command", ""),
                }
            )

    @web.middleware
    async def fault_mw(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/_kubesim/"):
            return await handler(request)
        fault = sim.faults.take(
            "http", method=request.method, path=request.path, query=request.query_string
        )
        if fault is not None:
            delay = float(fault.get("delay") or 0)
            if delay > 0:
                await asyncio.sleep(delay)
            if fault.get("watchEndAfter") is not None:
                request["kubesim_watch_end_after"] = float(fault["watchEndAfter"])
            code = fault.get("status")
            if code:
                code = int(code)
                msg = fault.get("message") or f"kubesim fault: injected {code}"
                return status_response(error(code, msg, fault.get("reason")))
        return await handler(request)

    app = web.Application(middlewares=[log_mw, fault_mw], client_max_size=256 * 1024 * 1024)
    app["sim"] = sim

    async def faults_get(request: web.Request) -> web.Response:
        return json_response(sim.faults.list())

    async def faults_post(request: web.Request) -> web.Response:
        try:
            spec = json.loads(await request.read())
            fid = sim.faults.add(spec)
        except (ValueError, FaultError) as exc:
            return json_response({"error": str(exc)}, 400)
        return json_response({"id": fid})

    async def faults_delete(request: web.Request) -> web.Response:
        fid = request.match_info.get("fid")
        if fid:
            return json_response({"removed": sim.faults.remove(fid)})
        sim.faults.clear()
        return json_response({"cleared": True})

    async def watches_get(request: web.Request) -> web.Response:
        return json_response(sim.watches)

    async def requests_delete(request: web.Request) -> web.Response:
        sim.reqlog.reset()
        return json_response({"cleared": True})

    async def objects_post(request: web.Request) -> web.Response:
        """Bulk seed: body = list of objects (status kept, namespaces created)."""
        docs = json.loads(await request.read())
        try:
            n = load_objects(sim, docs)
        except ApiError as err:
            return status_response(err)
        return json_response({"created": n})

    app.router.add_get("/_kubesim/faults", faults_get)
    app.router.add_post("/_kubesim/faults", faults_post)
    app.router.add_delete("/_kubesim/faults", faults_delete)
    app.router.add_delete("/_kubesim/faults/{fid}", faults_delete)
    app.router.add_delete("/_kubesim/requests", requests_delete)
    app.router.add_get("/_kubesim/watches", watches_get)
    app.router.add_post("/_kubesim/objects", objects_post)
    from .batch import add_routes

    add_routes(app, sim)  # /_kubesim/clock
    app.router.add_route("*", "/{tail:.*}", api.handle)
    return app


# ---------------------------------------------------------------------------------------------
# seeding


def load_objects(sim: Sim, docs: list[Any]) -> int:
    """Create objects as given (status kept); create missing namespaces on the way."""
    n = 0
    flat: list[dict[str, Any]] = []
    for doc in docs:
        if not doc:
            continue
        if isinstance(doc, dict) and doc.get("kind", "").endswith("List") and "items" in doc:
            flat.extend(doc["items"])
        else:
            flat.append(doc)
    for doc in flat:
        res = by_kind(doc.get("apiVersion", ""), doc.get("kind", ""))
        if res is None:
            raise error(
                400,
                f'no kind "{doc.get("kind")}" is registered for version "{doc.get("apiVersion")}"',
            )
        meta = doc.setdefault("metadata", {})
        if res.namespaced:
            ns = meta.setdefault("namespace", "default")
            if not sim.store.namespace_exists(ns):
                sim.store.create(NAMESPACES, {"metadata": {"name": ns}})
        normalize(res, doc)
        existing = sim.store.get(res, meta.get("namespace"), meta.get("name", ""))
        if existing is not None and res is NAMESPACES:
            continue
        created = sim.store.create(res, doc, seed=True)
        sim.store.encoded(res, created)  # warm the JSON cache: big seeds list fast at once
        n += 1
    return n


def load_seed_file(sim: Sim, path: str) -> int:
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    if path.endswith(".json"):
        data = json.loads(text)
        docs = data if isinstance(data, list) else [data]
    else:
        import yaml

        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        docs = list(yaml.load_all(text, Loader=loader))
    return load_objects(sim, docs)


def seed_defaults(sim: Sim) -> None:
    st = sim.store
    for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
        st.create(NAMESPACES, {"metadata": {"name": ns}})
    load_objects(
        sim,
        [
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {
                    "name": "kubesim-node",
                    "labels": {"kubernetes.io/hostname": "kubesim-node"},
                },
                "status": {
                    "conditions": [{"type": "Ready", "status": "True"}],
                    "nodeInfo": {"kubeletVersion": f"v1.{sim.minor}.0"},
                },
            },
            {
                "apiVersion": "storage.k8s.io/v1",
                "kind": "StorageClass",
                "metadata": {
                    "name": "csi-hostpath-sc",
                    "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
                },
                "provisioner": "hostpath.csi.k8s.io",
                "reclaimPolicy": "Delete",
                "volumeBindingMode": "Immediate",
                "allowVolumeExpansion": True,
            },
            {
                "apiVersion": "snapshot.storage.k8s.io/v1",
                "kind": "VolumeSnapshotClass",
                "metadata": {
                    "name": "csi-hostpath-snapclass",
                    "annotations": {"snapshot.storage.kubernetes.io/is-default-class": "true"},
                },
                "driver": "hostpath.csi.k8s.io",
                "deletionPolicy": "Delete",
            },
            {
                "apiVersion": "storage.k8s.io/v1",
                "kind": "CSIDriver",
                "metadata": {"name": "hostpath.csi.k8s.io"},
                "spec": {"attachRequired": False},
            },
        ],
    )


__all__ = ["ALL", "Api", "Sim", "load_seed_file", "make_app", "seed_defaults"]
