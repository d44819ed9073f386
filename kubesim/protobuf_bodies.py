"""Protobuf bodies of typed-client creates: the per-kind field tables and their decoder.

The envelope and ObjectMeta are protobuf.py's; this module knows the few fields per kind
that kubectl's `create namespace|secret|configmap|serviceaccount|role|...|job --from` set.
"""

from __future__ import annotations

import base64
from typing import Any

from .protobuf import iter_fields
from .resources import Resource

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
SSAR = {
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
PB_SCHEMAS: dict[str, dict[int, tuple[str, Any]]] = {
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


def pb_decode(buf: bytes, schema: dict[int, tuple[str, Any]]) -> dict[str, Any]:
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
            out.setdefault(name, []).append(pb_decode(val, typ[1]))
        elif isinstance(typ, tuple) and typ[0] == "msg":
            out[name] = pb_decode(val, typ[1])
    return out


def decode_protobuf_object(res: Resource, body: bytes) -> dict[str, Any]:
    """`k8s\\x00` + runtime.Unknown{TypeMeta, raw} -> a JSON-shaped object (known fields).

    Envelope and ObjectMeta via protobuf.py; the few per-kind fields from PB_SCHEMAS.
    """
    from . import protobuf

    try:
        _api_version, _kind, raw = protobuf.decode_unknown(body)
        meta = protobuf.decode_object_meta_of(raw)
    except protobuf.ProtobufError as exc:
        raise ValueError(str(exc)) from exc
    obj: dict[str, Any] = {"apiVersion": res.api_version, "kind": res.kind, "metadata": meta}
    obj.update(pb_decode(raw, PB_SCHEMAS.get(res.kind, {})))
    return obj
