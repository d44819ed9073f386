"""Routing: the API path -> resource, name, subresource, verb -> the handler of each verb."""

from __future__ import annotations

import asyncio

from aiohttp import web

from . import admission, discovery, openapi, reads, writes
from .podenv import build_exec_request
from .protobuf_bodies import SSAR, pb_decode
from .resources import PODS, find_versioned
from .responses import NOT_FOUND_PATH, error, json_response, status_response
from .scale import scale
from .sim import Sim
from .store import ApiError, not_found


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
                    **pb_decode(raw, SSAR),
                }
            else:
                review = await writes.read_json(request)
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
            return await scale(self.sim, request, res, namespace, name or "")
        if name is None:
            if method == "GET":
                if request.query.get("watch") in ("true", "1"):
                    return await reads.watch(self.sim, request, res, namespace)
                return reads.list_objects(self.sim, request, res, namespace)
            if method == "POST":
                if namespace is None and res.namespaced:
                    raise error(404, NOT_FOUND_PATH)
                return await writes.create(self.sim, request, res, namespace)
            if method == "DELETE":
                return writes.delete_collection(self.sim, request, res, namespace)
            raise error(405, "the server does not allow this method on the requested resource")
        if method == "GET":
            return reads.get_object(self.sim, request, res, namespace, name, sub)
        if method == "PUT":
            return await writes.update(self.sim, request, res, namespace, name, sub)
        if method == "PATCH":
            return await writes.patch(self.sim, request, res, namespace, name, sub)
        if method == "DELETE":
            return await writes.delete(self.sim, request, res, namespace, name)
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

    # ---- subresources served elsewhere -------------------------------------------------
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
