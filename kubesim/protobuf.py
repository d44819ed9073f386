"""Just enough of the Kubernetes protobuf encoding for ``kubectl create job --from``.

Pure functions, no I/O. kubectl's typed client POSTs the new Job as
``application/vnd.kubernetes.protobuf``: the 4-byte magic ``k8s\\x00`` followed by a
``runtime.Unknown`` message::

    Unknown  { 1: TypeMeta {1: apiVersion, 2: kind}, 2: raw (the object), 3: contentEncoding,
               4: contentType }
    <object> { 1: ObjectMeta, 2: spec, 3: status }
    ObjectMeta { 1 name, 2 generateName, 3 namespace, 4 selfLink, 5 uid, 6 resourceVersion,
                 7 generation (varint), 8 creationTimestamp (Time {1 seconds, 2 nanos}),
                 9 deletionTimestamp, 10 deletionGracePeriodSeconds, 11 labels, 12 annotations
                 (map entries {1 key, 2 value}), 13 ownerReferences, 14 finalizers,
                 17 managedFields }
    OwnerReference { 1 kind, 3 name, 4 uid, 5 apiVersion, 6 controller, 7 blockOwnerDeletion }

(field numbers from k8s.io/apimachinery pkg/apis/meta/v1/generated.proto and
pkg/runtime/generated.proto). The walker is generic over the wire format, so unknown
fields are skipped, and go-protobuf's habit of writing empty strings and zero numbers is
turned back into the JSON ``omitempty`` shape (absent keys).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

__all__ = [
    "MAGIC",
    "ProtobufError",
    "decode_object_meta",
    "decode_object_meta_of",
    "decode_unknown",
    "encode_message",
    "encode_unknown",
    "iter_fields",
]

MAGIC = b"k8s\x00"

_VARINT, _FIXED64, _BYTES, _FIXED32 = 0, 1, 2, 5


class ProtobufError(ValueError):
    """Undecodable protobuf; ``str()`` is meant for a 400 BadRequest Status."""


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ProtobufError("unexpected EOF")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise ProtobufError("proto: integer overflow")


def iter_fields(buf: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """Yield ``(field number, wire type, value)``.

    The value is an int for varint and fixed fields, bytes for length-delimited ones.
    """
    pos = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ProtobufError(f"proto: illegal tag 0 (wire type {wire})")
        if wire == _VARINT:
            value, pos = _read_varint(buf, pos)
            yield number, wire, value
        elif wire == _FIXED64:
            if pos + 8 > len(buf):
                raise ProtobufError("unexpected EOF")
            yield number, wire, int.from_bytes(buf[pos : pos + 8], "little")
            pos += 8
        elif wire == _FIXED32:
            if pos + 4 > len(buf):
                raise ProtobufError("unexpected EOF")
            yield number, wire, int.from_bytes(buf[pos : pos + 4], "little")
            pos += 4
        elif wire == _BYTES:
            length, pos = _read_varint(buf, pos)
            if pos + length > len(buf):
                raise ProtobufError("unexpected EOF")
            yield number, wire, bytes(buf[pos : pos + length])
            pos += length
        else:
            raise ProtobufError(f"proto: wiretype {wire} not supported for field {number}")


def _fields(buf: bytes) -> dict[int, list[int | bytes]]:
    out: dict[int, list[int | bytes]] = {}
    for number, _wire, value in iter_fields(buf):
        out.setdefault(number, []).append(value)
    return out


def _bytes(fields: dict[int, list[int | bytes]], number: int) -> bytes | None:
    values = fields.get(number)
    if not values:
        return None
    last = values[-1]  # proto3: the last occurrence wins
    if not isinstance(last, bytes):
        raise ProtobufError(f"proto: field {number}: wrong wire type (want length-delimited)")
    return last


def _string(fields: dict[int, list[int | bytes]], number: int) -> str | None:
    raw = _bytes(fields, number)
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtobufError(f"proto: field {number}: invalid UTF-8") from None


def _varint(fields: dict[int, list[int | bytes]], number: int) -> int | None:
    values = fields.get(number)
    if not values:
        return None
    last = values[-1]
    if not isinstance(last, int):
        raise ProtobufError(f"proto: field {number}: wrong wire type (want varint)")
    return last - (1 << 64) if last >= 1 << 63 else last  # int64 two's complement


def decode_unknown(body: bytes) -> tuple[str, str, bytes]:
    """The ``k8s\\x00`` envelope -> ``(apiVersion, kind, raw object bytes)``."""
    if not body.startswith(MAGIC):
        raise ProtobufError(
            "provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]"
        )
    fields = _fields(body[len(MAGIC) :])
    type_meta = _fields(_bytes(fields, 1) or b"")
    api_version = _string(type_meta, 1) or ""
    kind = _string(type_meta, 2) or ""
    encoding = _string(fields, 3) or ""
    if encoding:
        raise ProtobufError(f"unsupported content encoding {encoding!r}")
    return api_version, kind, _bytes(fields, 2) or b""


def _time(raw: bytes | None) -> str | None:
    if raw is None:
        return None
    fields = _fields(raw)
    seconds = _varint(fields, 1) or 0
    nanos = _varint(fields, 2) or 0
    if seconds == 0 and nanos == 0:
        return None  # the zero Time is JSON null
    try:
        t = datetime.fromtimestamp(seconds, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise ProtobufError(f"proto: time out of range: {seconds}") from None
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _string_map(fields: dict[int, list[int | bytes]], number: int) -> dict[str, str] | None:
    entries = fields.get(number)
    if not entries:
        return None
    out: dict[str, str] = {}
    for entry in entries:
        if not isinstance(entry, bytes):
            raise ProtobufError(f"proto: field {number}: wrong wire type (want length-delimited)")
        kv = _fields(entry)
        out[_string(kv, 1) or ""] = _string(kv, 2) or ""
    return out


def _owner_reference(raw: int | bytes) -> dict[str, Any]:
    if not isinstance(raw, bytes):
        raise ProtobufError("proto: ownerReferences: wrong wire type (want length-delimited)")
    f = _fields(raw)
    ref: dict[str, Any] = {
        "apiVersion": _string(f, 5) or "",
        "kind": _string(f, 1) or "",
        "name": _string(f, 3) or "",
        "uid": _string(f, 4) or "",
    }
    controller = _varint(f, 6)
    if controller is not None:
        ref["controller"] = bool(controller)
    block = _varint(f, 7)
    if block is not None:
        ref["blockOwnerDeletion"] = bool(block)
    return ref


def decode_object_meta(raw: bytes) -> dict[str, Any]:
    """An ObjectMeta message as its JSON dict (empty values left out, like omitempty)."""
    f = _fields(raw)
    meta: dict[str, Any] = {}
    for number, key in (
        (1, "name"),
        (2, "generateName"),
        (3, "namespace"),
        (5, "uid"),
        (6, "resourceVersion"),
    ):
        value = _string(f, number)
        if value:
            meta[key] = value
    generation = _varint(f, 7)
    if generation:
        meta["generation"] = generation
    for number, key in ((8, "creationTimestamp"), (9, "deletionTimestamp")):
        stamp = _time(_bytes(f, number))
        if stamp is not None:
            meta[key] = stamp
    grace = _varint(f, 10)
    if grace is not None:
        meta["deletionGracePeriodSeconds"] = grace
    for number, key in ((11, "labels"), (12, "annotations")):
        mapping = _string_map(f, number)
        if mapping:
            meta[key] = mapping
    refs = [_owner_reference(r) for r in f.get(13, [])]
    if refs:
        meta["ownerReferences"] = refs
    finalizers = []
    for item in f.get(14, []):
        if not isinstance(item, bytes):
            raise ProtobufError("proto: finalizers: wrong wire type (want length-delimited)")
        finalizers.append(item.decode("utf-8", errors="replace"))
    if finalizers:
        meta["finalizers"] = finalizers
    return meta


def decode_object_meta_of(raw: bytes) -> dict[str, Any]:
    """Field 1 (``metadata``) of a top-level object such as a Job, as a JSON dict."""
    return decode_object_meta(_bytes(_fields(raw), 1) or b"")


# --------------------------------------------------------------------------------------
# encoding (tests, and anyone who wants to answer in protobuf)
# --------------------------------------------------------------------------------------


def _encode_varint(n: int) -> bytes:
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


Value = int | bool | str | bytes | list[tuple[int, Any]]


def encode_message(fields: list[tuple[int, Any]]) -> bytes:
    """Encode ``[(number, value), ...]``: int/bool as varint, str/bytes as bytes,
    a nested list of pairs as an embedded message."""
    out = bytearray()
    for number, value in fields:
        if isinstance(value, (bool, int)):
            out += _encode_varint(number << 3 | _VARINT) + _encode_varint(int(value))
            continue
        if isinstance(value, str):
            payload = value.encode("utf-8")
        elif isinstance(value, bytes):
            payload = value
        elif isinstance(value, list):
            payload = encode_message(value)
        else:
            raise TypeError(f"cannot encode {type(value).__name__}")
        out += _encode_varint(number << 3 | _BYTES) + _encode_varint(len(payload)) + payload
    return bytes(out)


def encode_unknown(api_version: str, kind: str, raw: bytes) -> bytes:
    """The ``k8s\\x00`` + runtime.Unknown envelope around an encoded object."""
    return MAGIC + encode_message([(1, [(1, api_version), (2, kind)]), (2, raw), (3, ""), (4, "")])
