"""Unit tests for kubesim/protobuf.py (the protobuf Job POST of kubectl create job --from)."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubesim.protobuf import (
    MAGIC,
    ProtobufError,
    decode_object_meta,
    decode_object_meta_of,
    decode_unknown,
    encode_message,
    encode_unknown,
    iter_fields,
)

# The exact body kubectl v1.32.4 (the gcloud dispatcher's embedded build) POSTed to
# /apis/batch/v1/namespaces/ns1/jobs for `kubectl create job --from=cronjob/backup
# manual-1 -n ns1`, captured from a throwaway stdlib server. The CronJob it was given had
# uid 0b5e2c1a-1111-2222-3333-444455556666 and a jobTemplate with two labels and one
# annotation.
KUBECTL_JOB_POST = bytes.fromhex(
    "6b3873000a0f0a0862617463682f763112034a6f62128a030ade010a086d616e75616c2d3112001a036e7331"
    "22002a003200380042005a250a1b6170702e6b756265726e657465732e696f2f636f6d706f6e656e74120662"
    "61636b75705a160a0f6261636b75702d6e732e73682f6e7312036e733162100a0b612e6578616d706c652f78"
    "120179622b0a2163726f6e6a6f622e6b756265726e657465732e696f2f696e7374616e746961746512066d61"
    "6e75616c6a430a0743726f6e4a6f621a066261636b7570222430623565326331612d313131312d323232322d"
    "333333332d3434343435353535363636362a0862617463682f76313001129c013297010a100a0012001a0022"
    "002a0032003800420012820112590a066261636b757012146269746e616d692f6b75626563746c3a312e3332"
    "1a092f62696e2f626173681a122f736372697074732f6261636b75702e73682a003a060a014112013142006a"
    "007200800100880100900100a201001a054e65766572320042066261636b75704a0052005800600068008201"
    "008a01009a0100c2010038001a082000280030003a001a002200"
)


def test_real_kubectl_body_envelope() -> None:
    api_version, kind, raw = decode_unknown(KUBECTL_JOB_POST)
    assert (api_version, kind) == ("batch/v1", "Job")
    assert len(raw) == 394


def test_real_kubectl_body_metadata() -> None:
    _, _, raw = decode_unknown(KUBECTL_JOB_POST)
    assert decode_object_meta_of(raw) == {
        "name": "manual-1",
        "namespace": "ns1",
        "labels": {"app.kubernetes.io/component": "backup", "backup-ns.sh/ns": "ns1"},
        "annotations": {"a.example/x": "y", "cronjob.kubernetes.io/instantiate": "manual"},
        "ownerReferences": [
            {
                "apiVersion": "batch/v1",
                "kind": "CronJob",
                "name": "backup",
                "uid": "0b5e2c1a-1111-2222-3333-444455556666",
                "controller": True,
            }
        ],
    }


def test_real_kubectl_body_walks_cleanly() -> None:
    # every nested message of the Job (spec, pod template, container) parses as wire format
    _, _, raw = decode_unknown(KUBECTL_JOB_POST)
    numbers = [n for n, _, _ in iter_fields(raw)]
    assert numbers == [1, 2, 3]  # metadata, spec, an all-zero status
    spec = next(v for n, _, v in iter_fields(raw) if n == 2)
    assert isinstance(spec, bytes)
    template = next(v for n, _, v in iter_fields(spec) if n == 6)
    assert isinstance(template, bytes)
    pod_spec = next(v for n, _, v in iter_fields(template) if n == 2)
    assert isinstance(pod_spec, bytes)
    container = next(v for n, _, v in iter_fields(pod_spec) if n == 2)
    assert isinstance(container, bytes)
    fields = {n: v for n, _, v in iter_fields(container)}
    assert fields[1] == b"backup"
    assert fields[2] == b"bitnami/kubectl:1.32"


def test_bad_prefix_message_matches_client_go() -> None:
    with pytest.raises(ProtobufError) as exc:
        decode_unknown(b'{"kind":"Job"}')
    assert str(exc.value) == (
        "provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]"
    )


@pytest.mark.parametrize(
    "body",
    [
        MAGIC + b"\x0a",  # length missing
        MAGIC + b"\x0a\x05ab",  # length past the end
        MAGIC + b"\x0b",  # wire type 3 (group)
        MAGIC + b"\x08\xff",  # varint cut short
        MAGIC + b"\x00\x01",  # field number 0
    ],
)
def test_truncated_or_invalid(body: bytes) -> None:
    with pytest.raises(ProtobufError):
        decode_unknown(body)


def test_wrong_wire_type_is_an_error() -> None:
    raw = encode_message([(1, [(1, 7)])])  # name as a varint
    with pytest.raises(ProtobufError, match="wrong wire type"):
        decode_object_meta_of(raw)


def test_other_fields_are_decoded_or_skipped() -> None:
    meta = encode_message(
        [
            (1, "x"),
            (5, "uid-1"),
            (6, "12"),
            (7, 3),
            (8, [(1, 1764144000), (2, 0)]),
            (14, "kubernetes.io/pvc-protection"),
            (17, [(1, "kubectl")]),  # managedFields: skipped
            (99, b"\x01\x02"),  # unknown: skipped
        ]
    )
    obj = encode_message([(1, meta), (2, b""), (4, 5)])
    assert decode_object_meta_of(obj) == {
        "name": "x",
        "uid": "uid-1",
        "resourceVersion": "12",
        "generation": 3,
        "creationTimestamp": "2025-11-26T08:00:00Z",
        "finalizers": ["kubernetes.io/pvc-protection"],
    }
    assert decode_object_meta_of(b"") == {}


def test_fixed_width_fields_are_skipped() -> None:
    fixed64 = bytes([(20 << 3) | 1, 1]) + (5).to_bytes(8, "little")
    fixed32 = bytes([(21 << 3) | 5, 1]) + (6).to_bytes(4, "little")
    assert list(iter_fields(fixed64 + fixed32)) == [(20, 1, 5), (21, 5, 6)]
    assert decode_object_meta(fixed64 + encode_message([(1, "n")]) + fixed32) == {"name": "n"}


def test_negative_int64_and_last_value_wins() -> None:
    meta = encode_message([(7, -2), (1, "first"), (1, "second"), (10, 0)])
    assert decode_object_meta(meta) == {
        "name": "second",
        "generation": -2,
        "deletionGracePeriodSeconds": 0,
    }


def test_content_encoding_rejected() -> None:
    body = MAGIC + encode_message([(1, [(1, "v1"), (2, "Pod")]), (2, b""), (3, "gzip")])
    with pytest.raises(ProtobufError, match="unsupported content encoding"):
        decode_unknown(body)


_name = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,8}[a-z0-9])?", fullmatch=True)
_text = st.text(min_size=1, max_size=12)


@st.composite
def _metas(draw: st.DrawFn) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": draw(_name)}
    if draw(st.booleans()):
        meta["namespace"] = draw(_name)
    if draw(st.booleans()):
        meta["generateName"] = draw(_name) + "-"
    labels = draw(st.dictionaries(_name, st.text(max_size=8), max_size=3))
    if labels:
        meta["labels"] = labels
    annotations = draw(st.dictionaries(_text, _text, max_size=3))
    if annotations:
        meta["annotations"] = annotations
    refs = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "apiVersion": st.just("batch/v1"),
                    "kind": st.just("CronJob"),
                    "name": _name,
                    "uid": _name,
                },
                optional={"controller": st.booleans(), "blockOwnerDeletion": st.booleans()},
            ),
            max_size=2,
        )
    )
    if refs:
        meta["ownerReferences"] = refs
    return meta


def _encode_meta(meta: dict[str, Any]) -> bytes:
    fields: list[tuple[int, Any]] = [(1, meta["name"])]
    if "generateName" in meta:
        fields.append((2, meta["generateName"]))
    if "namespace" in meta:
        fields.append((3, meta["namespace"]))
    for k, v in meta.get("labels", {}).items():
        fields.append((11, [(1, k), (2, v)]))
    for k, v in meta.get("annotations", {}).items():
        fields.append((12, [(1, k), (2, v)]))
    for ref in meta.get("ownerReferences", []):
        pairs: list[tuple[int, Any]] = [
            (1, ref["kind"]),
            (3, ref["name"]),
            (4, ref["uid"]),
            (5, ref["apiVersion"]),
        ]
        if "controller" in ref:
            pairs.append((6, ref["controller"]))
        if "blockOwnerDeletion" in ref:
            pairs.append((7, ref["blockOwnerDeletion"]))
        fields.append((13, pairs))
    return encode_message(fields)


@settings(max_examples=60, deadline=None, database=None)
@given(_metas())
def test_roundtrip_object_meta(meta: dict[str, Any]) -> None:
    body = encode_unknown("batch/v1", "Job", encode_message([(1, _encode_meta(meta)), (2, b"")]))
    api_version, kind, raw = decode_unknown(body)
    assert (api_version, kind) == ("batch/v1", "Job")
    assert decode_object_meta_of(raw) == meta


@settings(max_examples=60, deadline=None, database=None)
@given(st.binary(max_size=40))
def test_walker_never_crashes_on_garbage(data: bytes) -> None:
    with contextlib.suppress(ProtobufError):
        decode_object_meta_of(data)
