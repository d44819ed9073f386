"""Server-side ``Table`` responses, column for column like kube-apiserver 1.32.

Pure functions, no I/O. Built-in kinds follow the printers of
k8s.io/kubernetes/pkg/printers/internalversion/printers.go (the server always
generates the wide cells; kubectl hides ``priority: 1`` columns unless ``-o wide``).
The snapshot CRDs use the additionalPrinterColumns of kubernetes-csi/external-snapshotter
and the apiextensions table convertor rules. Role and ClusterRole have no printer on the
real server and get its default table (``Name``, ``Created At``). Any other kind gets
what a CRD without printer columns gets: ``Name``, ``Age``.

Ages are ``duration.HumanDuration`` (``45s``, ``3m2s``, ``4h``, ``2d3h``, ``400d``, ``3y2d``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from kubesim.selectors import format_label_selector

__all__ = [
    "CRD_PRINTER_COLUMNS",
    "KIND_API_VERSIONS",
    "human_duration",
    "parse_time",
    "quantity_string",
    "to_table",
]

Obj = Mapping[str, Any]
Column = dict[str, Any]

_NAME_DESC = (
    "Name must be unique within a namespace. Is required when creating resources, although "
    "some resources may allow a client to request the generation of an appropriate name "
    "automatically. Name is primarily intended for creation idempotence and configuration "
    "definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
)
_CREATED_DESC = (
    "CreationTimestamp is a timestamp representing the server time when this object was "
    "created. It is not guaranteed to be set in happens-before order across separate "
    "operations. Clients may not set this value. It is represented in RFC3339 form and is in "
    "UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)


def _col(
    name: str, type_: str = "string", *, priority: int = 0, fmt: str = "", desc: str = ""
) -> Column:
    if not desc:
        desc = _NAME_DESC if name == "Name" else _CREATED_DESC if name == "Age" else ""
    return {"name": name, "type": type_, "format": fmt, "description": desc, "priority": priority}


def _name_col(priority: int = 0) -> Column:
    return _col("Name", fmt="name", priority=priority)


# --------------------------------------------------------------------------------------
# time
# --------------------------------------------------------------------------------------

_TIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp (metav1.Time / MicroTime) as an aware datetime, else None."""
    if not isinstance(value, str):
        return None
    m = _TIME_RE.match(value.strip())
    if not m:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    frac, tz = m.group(7), m.group(8)
    micro = int((frac[1:] + "000000")[:6]) if frac else 0
    if tz in ("Z", "z"):
        tzinfo = timezone.utc
    else:
        sign = 1 if tz[0] == "+" else -1
        tzinfo = timezone(sign * timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6])))
    try:
        return datetime(year, month, day, hour, minute, second, micro, tzinfo=tzinfo)
    except ValueError:
        return None


def _go_div(a: int, b: int) -> int:
    """Go integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def human_duration(d: timedelta) -> str:
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration."""
    ns = (d.days * 86400 + d.seconds) * 1_000_000_000 + d.microseconds * 1000
    seconds = _go_div(ns, 1_000_000_000)
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 60 * 2:
        return f"{seconds}s"
    minutes = _go_div(ns, 60 * 1_000_000_000)
    if minutes < 10:
        s = seconds % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = _go_div(ns, 3600 * 1_000_000_000)
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if dy == 0 else f"{hours // 24 // 365}y{dy}d"
    return f"{hours // 24 // 365}y"


def _since(value: Any, now: datetime) -> str:
    """translateTimestampSince: ``<unknown>`` for a missing/zero timestamp."""
    t = parse_time(value)
    if t is None or t.year <= 1:
        return "<unknown>"
    return human_duration(now - t)


# --------------------------------------------------------------------------------------
# resource.Quantity String()
# --------------------------------------------------------------------------------------

_BIN = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DEC = {"n": -3, "u": -2, "m": -1, "": 0, "k": 1, "M": 2, "G": 3, "T": 4, "P": 5, "E": 6}
_DEC_SUFFIX = {v: k for k, v in _DEC.items()}
_BIN_SUFFIX = {v: k for k, v in _BIN.items()}
_QTY_RE = re.compile(r"^([+-]?[0-9.]+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]?)$")


def quantity_string(value: Any) -> str:
    """resource.Quantity's canonical String() for the common forms (``1024Mi`` -> ``1Gi``).

    Unusual inputs (exponents, fractions that do not reduce) are returned unchanged.
    """
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        return str(value)
    m = _QTY_RE.match(value)
    if not m:
        return value
    try:
        number = Decimal(m.group(1))
    except InvalidOperation:
        return value
    suffix = m.group(2)
    sign = "-" if number < 0 else ""
    number = abs(number)
    if suffix in _BIN:
        total = number * (1024 ** _BIN[suffix])
        if total < 1024 or total != total.to_integral_value():
            return _decimal_si(total, sign)  # Go shows these as DecimalSI
        n = int(total)
        exp = 0
        while exp < 6 and n % 1024 == 0:
            n //= 1024
            exp += 1
        return f"{sign}{n}{_BIN_SUFFIX[exp] if exp else ''}"
    total = number * (Decimal(1000) ** _DEC[suffix])
    return _decimal_si(total, sign)


def _decimal_si(total: Decimal, sign: str) -> str:
    if total == 0:
        return "0"
    # smallest power of 1000 (>= milli... nano) that makes the mantissa an integer,
    # then the largest that keeps it an integer.
    for exp in range(-3, 1):
        scaled = total / (Decimal(1000) ** exp)
        if scaled == scaled.to_integral_value():
            break
    else:
        return sign + str(total.normalize())
    n = int(scaled)
    while exp < 6 and n % 1000 == 0:
        n //= 1000
        exp += 1
    return f"{sign}{n}{_DEC_SUFFIX[exp]}"


# --------------------------------------------------------------------------------------
# small accessors
# --------------------------------------------------------------------------------------


def _get(obj: Any, *path: str) -> Any:
    cur = obj
    for p in path:
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(p)
    return cur


def _str(v: Any) -> str:
    return "" if v is None else str(v)


def _int(v: Any, default: int = 0) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return default
    return int(v)


def _list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else []


def _dict(v: Any) -> Mapping[str, Any]:
    return v if isinstance(v, Mapping) else {}


def _containers_cells(containers: Any) -> tuple[str, str]:
    items = [c for c in _list(containers) if isinstance(c, Mapping)]
    return ",".join(_str(c.get("name")) for c in items), ",".join(
        _str(c.get("image")) for c in items
    )


def _access_modes(modes: Any) -> str:
    have = set(_list(modes))
    out = []
    for mode, short in (
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ):
        if mode in have:
            out.append(short)
    return ",".join(out)


def _storage_class(obj: Obj) -> str:
    ann = _dict(_get(obj, "metadata", "annotations"))
    beta = ann.get("volume.beta.kubernetes.io/storage-class")
    if beta:
        return str(beta)
    return _str(_get(obj, "spec", "storageClassName"))


def _condition_true(conditions: Any, ctype: str) -> bool:
    for c in _list(conditions):
        if isinstance(c, Mapping) and c.get("type") == ctype:
            return bool(c.get("status") == "True")
    return False


# --------------------------------------------------------------------------------------
# built-in printers: (columns, cells(obj, now) -> (cells, row conditions))
# --------------------------------------------------------------------------------------

Cells = tuple[list[Any], list[dict[str, Any]] | None]
Printer = tuple[list[Column], Callable[[Obj, datetime], Cells]]


def _pod_cells(pod: Obj, now: datetime) -> Cells:
    spec, status = _dict(pod.get("spec")), _dict(pod.get("status"))
    meta = _dict(pod.get("metadata"))
    restarts = 0
    restartable_restarts = 0
    total = len(_list(spec.get("containers")))
    ready = 0
    last_restart: datetime | None = None
    last_restartable: datetime | None = None
    phase = _str(status.get("phase"))
    reason = _str(status.get("reason")) or phase
    for cond in _list(status.get("conditions")):
        if (
            isinstance(cond, Mapping)
            and cond.get("type") == "PodScheduled"
            and cond.get("reason") == "SchedulingGated"
        ):
            reason = "SchedulingGated"
    conditions: list[dict[str, Any]] | None = None
    if phase == "Succeeded":
        conditions = [
            {
                "type": "Completed",
                "status": "True",
                "reason": "Succeeded",
                "message": "The pod has completed successfully.",
            }
        ]
    elif phase == "Failed":
        conditions = [
            {
                "type": "Completed",
                "status": "True",
                "reason": "Failed",
                "message": "The pod failed.",
            }
        ]
    init_specs = {
        _str(c.get("name")): c for c in _list(spec.get("initContainers")) if isinstance(c, Mapping)
    }

    def restartable(name: str) -> bool:
        c = init_specs.get(name)
        return c is not None and c.get("restartPolicy") == "Always"

    total += sum(1 for n in init_specs if restartable(n))

    def finished(cs: Mapping[str, Any]) -> datetime | None:
        return parse_time(_get(cs, "lastState", "terminated", "finishedAt"))

    initializing = False
    init_statuses = [
        c for c in _list(status.get("initContainerStatuses")) if isinstance(c, Mapping)
    ]
    for i, cs in enumerate(init_statuses):
        restarts += _int(cs.get("restartCount"))
        t = finished(cs)
        if t is not None and (last_restart is None or t > last_restart):
            last_restart = t
        name = _str(cs.get("name"))
        if restartable(name):
            restartable_restarts += _int(cs.get("restartCount"))
            if t is not None and (last_restartable is None or t > last_restartable):
                last_restartable = t
        state = _dict(cs.get("state"))
        term, wait = _dict(state.get("terminated")), _dict(state.get("waiting"))
        if state.get("terminated") is not None and _int(term.get("exitCode")) == 0:
            continue
        if restartable(name) and cs.get("started") is True:
            if cs.get("ready"):
                ready += 1
            continue
        if state.get("terminated") is not None:
            if not term.get("reason"):
                if _int(term.get("signal")) != 0:
                    reason = f"Init:Signal:{_int(term.get('signal'))}"
                else:
                    reason = f"Init:ExitCode:{_int(term.get('exitCode'))}"
            else:
                reason = "Init:" + _str(term.get("reason"))
        elif wait.get("reason") and wait.get("reason") != "PodInitializing":
            reason = "Init:" + _str(wait.get("reason"))
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break

    if not initializing or _condition_true(status.get("conditions"), "Initialized"):
        restarts = restartable_restarts
        last_restart = last_restartable
        has_running = False
        for cs in reversed(
            [c for c in _list(status.get("containerStatuses")) if isinstance(c, Mapping)]
        ):
            restarts += _int(cs.get("restartCount"))
            t = finished(cs)
            if t is not None and (last_restart is None or t > last_restart):
                last_restart = t
            state = _dict(cs.get("state"))
            term, wait = _dict(state.get("terminated")), _dict(state.get("waiting"))
            if wait.get("reason"):
                reason = _str(wait.get("reason"))
            elif term.get("reason"):
                reason = _str(term.get("reason"))
            elif state.get("terminated") is not None:
                if _int(term.get("signal")) != 0:
                    reason = f"Signal:{_int(term.get('signal'))}"
                else:
                    reason = f"ExitCode:{_int(term.get('exitCode'))}"
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if _condition_true(status.get("conditions"), "Ready") else "NotReady"

    if meta.get("deletionTimestamp") and status.get("reason") == "NodeLost":
        reason = "Unknown"
    elif meta.get("deletionTimestamp") and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"

    restarts_str = str(restarts)
    if restarts != 0 and last_restart is not None:
        restarts_str = f"{restarts} ({human_duration(now - last_restart)} ago)"

    ips = [p for p in _list(status.get("podIPs")) if isinstance(p, Mapping)]
    pod_ip = _str(ips[0].get("ip")) if ips else ""
    gates = [g for g in _list(spec.get("readinessGates")) if isinstance(g, Mapping)]
    readiness = "<none>"
    if gates:
        true_count = 0
        for g in gates:
            for c in _list(status.get("conditions")):
                if isinstance(c, Mapping) and c.get("type") == g.get("conditionType"):
                    true_count += 1 if c.get("status") == "True" else 0
                    break
        readiness = f"{true_count}/{len(gates)}"
    cells = [
        _str(meta.get("name")),
        f"{ready}/{total}",
        reason,
        restarts_str,
        _since(meta.get("creationTimestamp"), now),
        pod_ip or "<none>",
        _str(spec.get("nodeName")) or "<none>",
        _str(status.get("nominatedNodeName")) or "<none>",
        readiness,
    ]
    return cells, conditions


_POD: Printer = (
    [
        _name_col(),
        _col("Ready", desc="The aggregate readiness state of this pod for accepting traffic."),
        _col("Status", desc="The aggregate status of the containers in this pod."),
        _col(
            "Restarts",
            desc="The number of times the containers in this pod have been restarted and when "
            "the last container in this pod has restarted.",
        ),
        _col("Age"),
        _col("IP", priority=1),
        _col("Node", priority=1),
        _col("Nominated Node", priority=1),
        _col("Readiness Gates", priority=1),
    ],
    _pod_cells,
)


def _age(obj: Obj, now: datetime) -> str:
    return _since(_get(obj, "metadata", "creationTimestamp"), now)


def _name(obj: Obj) -> str:
    return _str(_get(obj, "metadata", "name"))


def _pvc_cells(obj: Obj, now: datetime) -> Cells:
    spec, status = _dict(obj.get("spec")), _dict(obj.get("status"))
    phase = (
        "Terminating" if _get(obj, "metadata", "deletionTimestamp") else _str(status.get("phase"))
    )
    capacity = access = ""
    if spec.get("volumeName"):
        access = _access_modes(status.get("accessModes"))
        capacity = quantity_string(_get(status, "capacity", "storage"))
    return [
        _name(obj),
        phase,
        _str(spec.get("volumeName")),
        capacity,
        access,
        _storage_class(obj),
        _str(spec.get("volumeAttributesClassName")) or "<unset>",
        _age(obj, now),
        _str(spec.get("volumeMode")) or "<unset>",
    ], None


_PVC: Printer = (
    [
        _name_col(),
        _col("Status"),
        _col("Volume"),
        _col("Capacity"),
        _col("Access Modes"),
        _col("StorageClass", desc="StorageClass of the pvc"),
        _col("VolumeAttributesClass", desc="VolumeAttributesClass of the pvc"),
        _col("Age"),
        _col("VolumeMode", priority=1),
    ],
    _pvc_cells,
)


def _pv_cells(obj: Obj, now: datetime) -> Cells:
    spec, status = _dict(obj.get("spec")), _dict(obj.get("status"))
    claim = ""
    if isinstance(spec.get("claimRef"), Mapping):
        claim = (
            f"{_str(_get(spec, 'claimRef', 'namespace'))}/{_str(_get(spec, 'claimRef', 'name'))}"
        )
    phase = (
        "Terminating" if _get(obj, "metadata", "deletionTimestamp") else _str(status.get("phase"))
    )
    return [
        _name(obj),
        quantity_string(_get(spec, "capacity", "storage")) or "0",
        _access_modes(spec.get("accessModes")),
        _str(spec.get("persistentVolumeReclaimPolicy")),
        phase,
        claim,
        _storage_class(obj),
        _str(spec.get("volumeAttributesClassName")) or "<unset>",
        _str(status.get("reason")),
        _age(obj, now),
        _str(spec.get("volumeMode")) or "<unset>",
    ], None


_PV: Printer = (
    [
        _name_col(),
        _col("Capacity"),
        _col("Access Modes"),
        _col("Reclaim Policy"),
        _col("Status"),
        _col("Claim"),
        _col("StorageClass", desc="StorageClass of the pv"),
        _col("VolumeAttributesClass", desc="VolumeAttributesClass of the pv"),
        _col("Reason"),
        _col("Age"),
        _col("VolumeMode", priority=1),
    ],
    _pv_cells,
)

_WIDE_TEMPLATE = [
    _col("Containers", priority=1, desc="Names of each container in the template."),
    _col("Images", priority=1, desc="Images referenced by each container in the template."),
]


def _template_containers(obj: Obj, *path: str) -> tuple[str, str]:
    return _containers_cells(_get(obj, *path, "template", "spec", "containers"))


def _deployment_cells(obj: Obj, now: datetime) -> Cells:
    spec, status = _dict(obj.get("spec")), _dict(obj.get("status"))
    names, images = _template_containers(obj, "spec")
    return [
        _name(obj),
        f"{_int(status.get('readyReplicas'))}/{_int(spec.get('replicas'), 1)}",
        _int(status.get("updatedReplicas")),
        _int(status.get("availableReplicas")),
        _age(obj, now),
        names,
        images,
        _selector_string(spec.get("selector")),
    ], None


def _selector_string(sel: Any) -> str:
    # printDeployment: LabelSelectorAsSelector(...).String(), "<invalid>" on error
    out = format_label_selector(sel)
    return "" if out == "<none>" else "<invalid>" if out == "<error>" else out


_DEPLOYMENT: Printer = (
    [
        _name_col(),
        _col("Ready", desc="Number of the pod with ready state"),
        _col("Up-to-date"),
        _col("Available"),
        _col("Age"),
        *_WIDE_TEMPLATE,
        _col("Selector", priority=1),
    ],
    _deployment_cells,
)


def _statefulset_cells(obj: Obj, now: datetime) -> Cells:
    spec, status = _dict(obj.get("spec")), _dict(obj.get("status"))
    names, images = _template_containers(obj, "spec")
    return [
        _name(obj),
        f"{_int(status.get('readyReplicas'))}/{_int(spec.get('replicas'), 1)}",
        _age(obj, now),
        names,
        images,
    ], None


_STATEFULSET: Printer = (
    [
        _name_col(),
        _col("Ready", desc="Number of the pod with ready state"),
        _col("Age"),
        *_WIDE_TEMPLATE,
    ],
    _statefulset_cells,
)


def _replicaset_cells(obj: Obj, now: datetime) -> Cells:
    spec, status = _dict(obj.get("spec")), _dict(obj.get("status"))
    names, images = _template_containers(obj, "spec")
    return [
        _name(obj),
        _int(spec.get("replicas"), 1),
        _int(status.get("replicas")),
        _int(status.get("readyReplicas")),
        _age(obj, now),
        names,
        images,
        format_label_selector(spec.get("selector")),
    ], None


_REPLICASET: Printer = (
    [
        _name_col(),
        _col("Desired", "integer"),
        _col("Current", "integer"),
        _col("Ready", "integer"),
        _col("Age"),
        *_WIDE_TEMPLATE,
        _col("Selector", priority=1),
    ],
    _replicaset_cells,
)


def _job_cells(obj: Obj, now: datetime) -> Cells:
    spec, status = _dict(obj.get("spec")), _dict(obj.get("status"))
    succeeded = _int(status.get("succeeded"))
    completions_v = spec.get("completions")
    parallelism_v = spec.get("parallelism")
    if completions_v is None and parallelism_v is None:
        completions_v = 1  # SetDefaults_Job
    if completions_v is not None:
        completions = f"{succeeded}/{_int(completions_v)}"
    else:
        parallelism = _int(parallelism_v)
        completions = f"{succeeded}/1 of {parallelism}" if parallelism > 1 else f"{succeeded}/1"
    start, done = parse_time(status.get("startTime")), parse_time(status.get("completionTime"))
    duration = ""
    if start is not None:
        duration = human_duration((done or now) - start)
    conds = status.get("conditions")
    if _condition_true(conds, "Complete"):
        state = "Complete"
    elif _condition_true(conds, "Failed"):
        state = "Failed"
    elif _get(obj, "metadata", "deletionTimestamp"):
        state = "Terminating"
    elif _condition_true(conds, "Suspended"):
        state = "Suspended"
    elif _condition_true(conds, "FailureTarget"):
        state = "FailureTarget"
    else:
        state = "Running"
    names, images = _template_containers(obj, "spec")
    return [
        _name(obj),
        state,
        completions,
        duration,
        _age(obj, now),
        names,
        images,
        format_label_selector(spec.get("selector")),
    ], None


_JOB: Printer = (
    [
        _name_col(),
        _col("Status", desc="Status of the job."),
        _col("Completions"),
        _col("Duration", desc="Time required to complete the job."),
        _col("Age"),
        *_WIDE_TEMPLATE,
        _col("Selector", priority=1),
    ],
    _job_cells,
)


def _bool_ptr(v: Any, default: bool | None = None) -> str:
    if v is None:
        v = default
    if v is None:
        return "<unset>"
    return "True" if v else "False"


def _cronjob_cells(obj: Obj, now: datetime) -> Cells:
    spec, status = _dict(obj.get("spec")), _dict(obj.get("status"))
    last = status.get("lastScheduleTime")
    names, images = _template_containers(obj, "spec", "jobTemplate", "spec")
    return [
        _name(obj),
        _str(spec.get("schedule")),
        _str(spec.get("timeZone")) or "<none>",
        _bool_ptr(spec.get("suspend"), False),  # the server defaults suspend to false
        len(_list(status.get("active"))),
        _since(last, now) if last else "<none>",
        _age(obj, now),
        names,
        images,
        format_label_selector(_get(spec, "jobTemplate", "spec", "selector")),
    ], None


_CRONJOB: Printer = (
    [
        _name_col(),
        _col("Schedule"),
        _col("Timezone"),
        _col("Suspend", "boolean"),
        _col("Active", "integer"),
        _col("Last Schedule"),
        _col("Age"),
        *_WIDE_TEMPLATE,
        _col("Selector", priority=1),
    ],
    _cronjob_cells,
)

_CONFIGMAP: Printer = (
    [_name_col(), _col("Data"), _col("Age")],
    lambda o, now: (
        [_name(o), len(_dict(o.get("data"))) + len(_dict(o.get("binaryData"))), _age(o, now)],
        None,
    ),
)


def _secret_cells(obj: Obj, now: datetime) -> Cells:
    keys = set(_dict(obj.get("data"))) | set(_dict(obj.get("stringData")))
    return [_name(obj), _str(obj.get("type")) or "Opaque", len(keys), _age(obj, now)], None


_SECRET: Printer = ([_name_col(), _col("Type"), _col("Data"), _col("Age")], _secret_cells)
_SERVICEACCOUNT: Printer = (
    [_name_col(), _col("Secrets"), _col("Age")],
    lambda o, now: ([_name(o), len(_list(o.get("secrets"))), _age(o, now)], None),
)
_NAMESPACE: Printer = (
    [_name_col(), _col("Status", desc="The status of the namespace"), _col("Age")],
    lambda o, now: (
        [_name(o), _str(_get(o, "status", "phase")) or "Active", _age(o, now)],
        None,
    ),
)

_DEFAULT_CLASS_ANNOTATIONS = (
    "storageclass.kubernetes.io/is-default-class",
    "storageclass.beta.kubernetes.io/is-default-class",
)


def _storageclass_cells(obj: Obj, now: datetime) -> Cells:
    ann = _dict(_get(obj, "metadata", "annotations"))
    name = _name(obj)
    if any(ann.get(a) == "true" for a in _DEFAULT_CLASS_ANNOTATIONS):
        name += " (default)"
    expand = obj.get("allowVolumeExpansion")
    return [
        name,
        _str(obj.get("provisioner")),
        _str(obj.get("reclaimPolicy")) or "Delete",
        _str(obj.get("volumeBindingMode")) or "Immediate",
        bool(expand) if isinstance(expand, bool) else False,
        _age(obj, now),
    ], None


_STORAGECLASS: Printer = (
    [
        _name_col(),
        _col("Provisioner"),
        _col("ReclaimPolicy"),
        _col("VolumeBindingMode"),
        _col("AllowVolumeExpansion"),
        _col("Age"),
    ],
    _storageclass_cells,
)


def _binding_cells(obj: Obj, now: datetime) -> Cells:
    users: list[str] = []
    groups: list[str] = []
    sas: list[str] = []
    for s in _list(obj.get("subjects")):
        if not isinstance(s, Mapping):
            continue
        kind = s.get("kind")
        if kind == "ServiceAccount":
            sas.append(f"{_str(s.get('namespace'))}/{_str(s.get('name'))}")
        elif kind == "User":
            users.append(_str(s.get("name")))
        elif kind == "Group":
            groups.append(_str(s.get("name")))
    ref = _dict(obj.get("roleRef"))
    return [
        _name(obj),
        f"{_str(ref.get('kind'))}/{_str(ref.get('name'))}",
        _age(obj, now),
        ", ".join(users),
        ", ".join(groups),
        ", ".join(sas),
    ], None


def _binding_printer(what: str) -> Printer:
    return (
        [
            _name_col(),
            _col("Role"),
            _col("Age"),
            _col("Users", priority=1, desc=f"Users in the {what}"),
            _col("Groups", priority=1, desc=f"Groups in the {what}"),
            _col("ServiceAccounts", priority=1, desc=f"ServiceAccounts in the {what}"),
        ],
        _binding_cells,
    )


def _created_at_cells(obj: Obj, now: datetime) -> Cells:
    t = parse_time(_get(obj, "metadata", "creationTimestamp"))
    stamp = (
        t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        if t is not None
        else "0001-01-01T00:00:00Z"
    )
    return [_name(obj), stamp], None


_DEFAULT_TABLE: Printer = (
    [_name_col(), _col("Created At", "date", desc=_CREATED_DESC)],
    _created_at_cells,
)


def _event_cells(obj: Obj, now: datetime) -> Cells:
    first = (
        _since(obj.get("firstTimestamp"), now)
        if parse_time(obj.get("firstTimestamp"))
        else _since(obj.get("eventTime"), now)
    )
    last = _since(obj.get("lastTimestamp"), now) if parse_time(obj.get("lastTimestamp")) else first
    count = _int(obj.get("count"))
    series = obj.get("series")
    if isinstance(series, Mapping):
        last = _since(series.get("lastObservedTime"), now)
        count = _int(series.get("count"))
    elif count == 0:
        count = 1
    inv = _dict(obj.get("involvedObject"))
    kind = _str(inv.get("kind")).lower()
    target = f"{kind}/{_str(inv.get('name'))}" if inv.get("name") else kind
    component = _str(_get(obj, "source", "component")) or _str(obj.get("reportingComponent"))
    host = _str(_get(obj, "source", "host")) or _str(obj.get("reportingInstance"))
    source = f"{component}, {host}" if host else component
    return [
        last,
        _str(obj.get("type")),
        _str(obj.get("reason")),
        target,
        _str(inv.get("fieldPath")),
        source,
        _str(obj.get("message")).strip(),
        first,
        count,
        _name(obj),
    ], None


_EVENT: Printer = (
    [
        _col("Last Seen"),
        _col("Type"),
        _col("Reason"),
        _col("Object"),
        _col("Subobject", priority=1),
        _col("Source", priority=1),
        _col("Message"),
        _col("First Seen", priority=1),
        _col("Count", priority=1),
        _name_col(priority=1),
    ],
    _event_cells,
)


def _service_cells(obj: Obj, now: datetime) -> Cells:
    spec = _dict(obj.get("spec"))
    stype = _str(spec.get("type")) or "ClusterIP"
    ips = _list(spec.get("clusterIPs"))
    external = ",".join(_str(i) for i in _list(spec.get("externalIPs")))
    if stype == "LoadBalancer":
        lb = sorted(
            {
                _str(i.get("ip") or i.get("hostname"))
                for i in _list(_get(obj, "status", "loadBalancer", "ingress"))
                if isinstance(i, Mapping) and (i.get("ip") or i.get("hostname"))
            }
        )
        lb_s = ",".join(lb)
        if len(lb_s) > 16:
            lb_s = lb_s[:13] + "..."
        external = ",".join(x for x in (lb_s, external) if x) or "<pending>"
    elif stype == "ExternalName":
        external = _str(spec.get("externalName"))
    else:
        external = external or "<none>"
    ports = []
    for p in _list(spec.get("ports")):
        if not isinstance(p, Mapping):
            continue
        proto = _str(p.get("protocol")) or "TCP"
        node = _int(p.get("nodePort"))
        port = _int(p.get("port"))
        ports.append(f"{port}:{node}/{proto}" if node > 0 else f"{port}/{proto}")
    sel = _dict(spec.get("selector"))
    return [
        _name(obj),
        stype,
        _str(ips[0]) if ips else (_str(spec.get("clusterIP")) or "<none>"),
        external,
        ",".join(ports) or "<none>",
        _age(obj, now),
        ",".join(f"{k}={sel[k]}" for k in sorted(sel)) or "<none>",
    ], None


_SERVICE: Printer = (
    [
        _name_col(),
        _col("Type"),
        _col("Cluster-IP"),
        _col("External-IP"),
        _col("Port(s)"),
        _col("Age"),
        _col("Selector", priority=1),
    ],
    _service_cells,
)

BUILTIN_PRINTERS: dict[str, Printer] = {
    "Pod": _POD,
    "PersistentVolumeClaim": _PVC,
    "PersistentVolume": _PV,
    "Deployment": _DEPLOYMENT,
    "StatefulSet": _STATEFULSET,
    "ReplicaSet": _REPLICASET,
    "Job": _JOB,
    "CronJob": _CRONJOB,
    "ConfigMap": _CONFIGMAP,
    "Secret": _SECRET,
    "ServiceAccount": _SERVICEACCOUNT,
    "Namespace": _NAMESPACE,
    "StorageClass": _STORAGECLASS,
    "RoleBinding": _binding_printer("roleBinding"),
    "ClusterRoleBinding": _binding_printer("clusterRoleBinding"),
    "Role": _DEFAULT_TABLE,
    "ClusterRole": _DEFAULT_TABLE,
    "Event": _EVENT,
    "Service": _SERVICE,
}


# --------------------------------------------------------------------------------------
# CRDs: additionalPrinterColumns (kubernetes-csi/external-snapshotter client/config/crd)
# --------------------------------------------------------------------------------------

_AGE_COLUMN = {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}

CRD_PRINTER_COLUMNS: dict[str, list[dict[str, Any]]] = {
    "VolumeSnapshot": [
        {
            "name": "ReadyToUse",
            "type": "boolean",
            "jsonPath": ".status.readyToUse",
            "description": "Indicates if the snapshot is ready to be used to restore a volume.",
        },
        {
            "name": "SourcePVC",
            "type": "string",
            "jsonPath": ".spec.source.persistentVolumeClaimName",
            "description": "If a new snapshot needs to be created, this contains the name of the "
            "source PVC from which this snapshot was (or will be) created.",
        },
        {
            "name": "SourceSnapshotContent",
            "type": "string",
            "jsonPath": ".spec.source.volumeSnapshotContentName",
            "description": "If a snapshot already exists, this contains the name of the existing "
            "VolumeSnapshotContent object representing the existing snapshot.",
        },
        {
            "name": "RestoreSize",
            "type": "string",
            "jsonPath": ".status.restoreSize",
            "description": "Represents the minimum size of volume required to rehydrate from "
            "this snapshot.",
        },
        {
            "name": "SnapshotClass",
            "type": "string",
            "jsonPath": ".spec.volumeSnapshotClassName",
            "description": "The name of the VolumeSnapshotClass requested by the VolumeSnapshot.",
        },
        {
            "name": "SnapshotContent",
            "type": "string",
            "jsonPath": ".status.boundVolumeSnapshotContentName",
            "description": "Name of the VolumeSnapshotContent object to which the VolumeSnapshot "
            "object intends to bind to. Please note that verification of binding actually "
            "requires checking both VolumeSnapshot and VolumeSnapshotContent to ensure both are "
            "pointing at each other. Binding MUST be verified prior to usage of this object.",
        },
        {
            "name": "CreationTime",
            "type": "date",
            "jsonPath": ".status.creationTime",
            "description": "Timestamp when the point-in-time snapshot was taken by the "
            "underlying storage system.",
        },
        _AGE_COLUMN,
    ],
    "VolumeSnapshotContent": [
        {
            "name": "ReadyToUse",
            "type": "boolean",
            "jsonPath": ".status.readyToUse",
            "description": "Indicates if the snapshot is ready to be used to restore a volume.",
        },
        {
            "name": "RestoreSize",
            "type": "integer",
            "jsonPath": ".status.restoreSize",
            "description": "Represents the complete size of the snapshot in bytes",
        },
        {
            "name": "DeletionPolicy",
            "type": "string",
            "jsonPath": ".spec.deletionPolicy",
            "description": "Determines whether this VolumeSnapshotContent and its physical "
            "snapshot on the underlying storage system should be deleted when its bound "
            "VolumeSnapshot is deleted.",
        },
        {
            "name": "Driver",
            "type": "string",
            "jsonPath": ".spec.driver",
            "description": "Name of the CSI driver used to create the physical snapshot on the "
            "underlying storage system.",
        },
        {
            "name": "VolumeSnapshotClass",
            "type": "string",
            "jsonPath": ".spec.volumeSnapshotClassName",
            "description": "Name of the VolumeSnapshotClass to which this snapshot belongs.",
        },
        {
            "name": "VolumeSnapshot",
            "type": "string",
            "jsonPath": ".spec.volumeSnapshotRef.name",
            "description": "Name of the VolumeSnapshot object to which this "
            "VolumeSnapshotContent object is bound.",
        },
        {
            "name": "VolumeSnapshotNamespace",
            "type": "string",
            "jsonPath": ".spec.volumeSnapshotRef.namespace",
            "description": "Namespace of the VolumeSnapshot object to which this "
            "VolumeSnapshotContent object is bound.",
        },
        _AGE_COLUMN,
    ],
    "VolumeSnapshotClass": [
        {"name": "Driver", "type": "string", "jsonPath": ".driver"},
        {
            "name": "DeletionPolicy",
            "type": "string",
            "jsonPath": ".deletionPolicy",
            "description": "Determines whether a VolumeSnapshotContent created through the "
            "VolumeSnapshotClass should be deleted when its bound VolumeSnapshot is deleted.",
        },
        _AGE_COLUMN,
    ],
}


def _json_path(obj: Any, path: str) -> tuple[bool, Any]:
    cur = obj
    for part in [p for p in path.split(".") if p]:
        if not isinstance(cur, Mapping) or part not in cur:
            return False, None
        cur = cur[part]
    return True, cur


def _crd_cell(column: Mapping[str, Any], obj: Obj, now: datetime) -> Any:
    found, value = _json_path(obj, str(column.get("jsonPath", "")))
    if not found or value is None:
        return None
    ctype = column.get("type")
    if ctype == "string":
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (dict, list)):
            return json.dumps(value, separators=(",", ":"))
        return str(value)
    if ctype == "integer":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return int(value)
        return None
    if ctype == "number":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        return None
    if ctype == "boolean":
        return value if isinstance(value, bool) else None
    if ctype == "date":
        if not isinstance(value, str):
            return None
        t = parse_time(value)
        if t is None:
            return "<invalid>"
        return human_duration(now - t) if t.year > 1 else "<unknown>"
    return None


def _crd_printer(columns: Sequence[Mapping[str, Any]]) -> Printer:
    defs = [_name_col()] + [
        _col(
            str(c["name"]),
            str(c.get("type", "string")),
            priority=int(c.get("priority", 0)),
            fmt=str(c.get("format", "")),
            desc=str(c.get("description", "")),
        )
        for c in columns
    ]

    def cells(obj: Obj, now: datetime) -> Cells:
        return [_name(obj)] + [_crd_cell(c, obj, now) for c in columns], None

    return defs, cells


# --------------------------------------------------------------------------------------
# the Table
# --------------------------------------------------------------------------------------


KIND_API_VERSIONS: dict[str, str] = {
    **dict.fromkeys(
        [
            "Pod",
            "PersistentVolumeClaim",
            "PersistentVolume",
            "ConfigMap",
            "Secret",
            "ServiceAccount",
            "Namespace",
            "Event",
            "Service",
            "Node",
            "Endpoints",
            "ReplicationController",
            "PodTemplate",
            "LimitRange",
            "ResourceQuota",
        ],
        "v1",
    ),
    **dict.fromkeys(
        ["Deployment", "StatefulSet", "ReplicaSet", "DaemonSet", "ControllerRevision"], "apps/v1"
    ),
    "Job": "batch/v1",
    "CronJob": "batch/v1",
    **dict.fromkeys(
        ["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"],
        "rbac.authorization.k8s.io/v1",
    ),
    **dict.fromkeys(["StorageClass", "CSIDriver", "VolumeAttachment"], "storage.k8s.io/v1"),
    **dict.fromkeys(
        ["VolumeSnapshot", "VolumeSnapshotContent", "VolumeSnapshotClass"],
        "snapshot.storage.k8s.io/v1",
    ),
    "NetworkPolicy": "networking.k8s.io/v1",
    "PodDisruptionBudget": "policy/v1",
}
"""apiVersion per kind, used to complete full row objects (kubectl's --sort-by needs it)."""


def _printer_for(kind: str, printer_columns: Sequence[Mapping[str, Any]] | None) -> Printer:
    if printer_columns is not None:
        return _crd_printer(printer_columns or [_AGE_COLUMN])
    if kind in BUILTIN_PRINTERS:
        return BUILTIN_PRINTERS[kind]
    return _crd_printer(CRD_PRINTER_COLUMNS.get(kind, [_AGE_COLUMN]))


def to_table(
    kind: str,
    objs: Sequence[Obj],
    *,
    include_object: str = "Metadata",
    now: datetime,
    resource_version: str,
    api_version: str | None = None,
    printer_columns: Sequence[Mapping[str, Any]] | None = None,
    no_headers: bool = False,
) -> dict[str, Any]:
    """A ``meta.k8s.io/v1`` Table for ``objs`` (all of one ``kind``).

    include_object: ``Metadata`` (default: rows carry PartialObjectMetadata), ``Object``
    (the full object, what ``--sort-by`` needs) or ``None``. Full row objects get
    ``kind`` and ``apiVersion`` (``api_version``, else KIND_API_VERSIONS) when they lack
    them: without them kubectl's ``--sort-by`` prints empty rows. ``printer_columns`` overrides the
    columns with CRD-style additionalPrinterColumns. ``no_headers`` omits the column
    definitions (``?includeObject=...&noHeaders`` is not sent by kubectl, but is honoured).
    """
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    columns, cells_fn = _printer_for(kind, printer_columns)
    rows: list[dict[str, Any]] = []
    for obj in objs:
        cells, conditions = cells_fn(obj, now)
        row: dict[str, Any] = {"cells": cells}
        if conditions:
            row["conditions"] = conditions
        if include_object == "Object":
            full = dict(obj)
            version = api_version or KIND_API_VERSIONS.get(kind)
            if version is not None:
                full.setdefault("apiVersion", version)
            full.setdefault("kind", kind)
            row["object"] = full
        elif include_object != "None":
            row["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": dict(_dict(obj.get("metadata"))),
            }
        rows.append(row)
    table: dict[str, Any] = {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": [] if no_headers else [dict(c) for c in columns],
        "rows": rows,
    }
    return table
