"""The wire shapes every handler answers with: JSON bodies, Status errors, content types."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .store import ApiError

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
