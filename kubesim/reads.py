"""Reading: selectors, list pages (continue tokens), Tables, GET and watch."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from .resources import Resource
from .responses import JSON_CT, TABLE_CT, dumps, error, json_response
from .sim import Sim
from .store import Event, not_found


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


def get_object(
    sim: Sim, request: web.Request, res: Resource, namespace: str | None, name: str, sub: str | None
) -> web.Response:
    obj = sim.store.get(res, namespace, name)
    if obj is None:
        raise not_found(res, name)
    if wants_table(request) and tables_available() and sub is None:
        rv = obj["metadata"].get("resourceVersion", "")
        return json_response(table_of(request, res, [obj], rv), ct=TABLE_CT)
    return json_response(obj)


def list_objects(
    sim: Sim, request: web.Request, res: Resource, namespace: str | None
) -> web.Response:
    pred = make_filter(request.query, None, res.kind)
    everything = sim.store.list(res, namespace)
    meta: dict[str, Any] = {"resourceVersion": str(sim.store.resource_version)}
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
        # as the apiserver: unknown (omitted) under a label or field selector, else the
        # count of what follows (no scan: a big list's pages stay linear)
        if not (
            request.query.get("labelSelector", "").strip()
            or request.query.get("fieldSelector", "").strip()
        ):
            meta["remainingItemCount"] = len(everything) - more_at
    if wants_table(request) and tables_available():
        table = table_of(request, res, items, meta["resourceVersion"])
        table["metadata"] = meta
        return json_response(table, ct=TABLE_CT)
    head = dumps({"kind": res.list_kind, "apiVersion": res.api_version, "metadata": meta})
    body = b"".join(
        (
            head[:-1],
            b',"items":[',
            b",".join(sim.store.encoded(res, o) for o in items),
            b"]}",
        )
    )
    return web.Response(body=body, headers={"Content-Type": JSON_CT})


async def watch(
    sim: Sim, request: web.Request, res: Resource, namespace: str | None
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
        initial = [("ADDED", o) for o in sim.store.list(res, namespace) if pred(o)]
    else:
        try:
            since = int(rv_text)
        except ValueError as exc:
            raise error(400, f"invalid resource version: {rv_text}") from exc
        hist = sim.store.history
        if hist and len(hist) == hist.maxlen and since < hist[0].rv - 1:
            gone = True
        else:
            for ev in hist:
                if ev.rv > since:
                    item = translate(ev)
                    if item is not None:
                        initial.append(item)
    sim.store.add_listener(listener)
    resp = web.StreamResponse(status=200, headers={"Content-Type": JSON_CT})
    resp.enable_chunked_encoding()
    watch_info = {
        "path": request.path,
        "query": request.query_string,
        "command": request.headers.get("Kubectl-Command", ""),
    }
    sim.watches.append(watch_info)
    try:
        await resp.prepare(request)
        request["kubesim_status"] = 200
        if gone:
            st = error(
                410,
                f"too old resource version: {rv_text} ({sim.store.oldest_rv()})",
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
        sim.store.remove_listener(listener)
        sim.watches.remove(watch_info)
    return resp
