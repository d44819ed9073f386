"""Unit tests for kubesim/tables.py (server-side Table responses)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubesim.tables import human_duration, parse_time, quantity_string, to_table

NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=timezone.utc)


def ago(**kw: float) -> str:
    return (NOW - timedelta(**kw)).strftime("%Y-%m-%dT%H:%M:%SZ")


def meta(
    name: str, ns: str | None = "ns1", created: str | None = None, **extra: Any
) -> dict[str, Any]:
    m: dict[str, Any] = {
        "name": name,
        "uid": f"uid-{name}",
        "resourceVersion": "7",
        "creationTimestamp": created or ago(minutes=5),
    }
    if ns is not None:
        m["namespace"] = ns
    m.update(extra)
    return m


def table(kind: str, *objs: dict[str, Any], **kw: Any) -> dict[str, Any]:
    kw.setdefault("now", NOW)
    kw.setdefault("resource_version", "42")
    return to_table(kind, list(objs), **kw)


def columns(t: dict[str, Any]) -> list[tuple[str, int]]:
    return [(c["name"], c["priority"]) for c in t["columnDefinitions"]]


def cells(t: dict[str, Any]) -> list[list[Any]]:
    return [r["cells"] for r in t["rows"]]


# ---------------------------------------------------------------- HumanDuration


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-5, "<invalid>"),
        (-1, "0s"),
        (0, "0s"),
        (5, "5s"),
        (119, "119s"),
        (120, "2m"),
        (182, "3m2s"),
        (599, "9m59s"),
        (600, "10m"),
        (659, "10m"),
        (10799, "179m"),
        (3 * 3600, "3h"),
        (4 * 3600 + 5 * 60, "4h5m"),
        (8 * 3600 + 59, "8h"),
        (47 * 3600, "47h"),
        (2 * 86400 + 3 * 3600, "2d3h"),
        (3 * 86400, "3d"),
        (8 * 86400 + 5 * 3600, "8d"),
        (400 * 86400, "400d"),
        (730 * 86400, "2y"),
        (3 * 365 * 86400 + 2 * 86400, "3y2d"),
        (9 * 365 * 86400 + 5 * 86400, "9y"),
    ],
)
def test_human_duration(seconds: int, text: str) -> None:
    assert human_duration(timedelta(seconds=seconds)) == text


_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "y": 365 * 86400}


def _duration_value(text: str) -> int:
    """The seconds a HumanDuration text stands for ("3m2s" -> 182)."""
    parts = re.findall(r"(\d+)([smhdy])", text)
    assert "".join(n + u for n, u in parts) == text, text
    return sum(int(n) * _UNIT_SECONDS[u] for n, u in parts)


@settings(max_examples=200, deadline=None, database=None)
@given(st.integers(0, 20 * 365 * 86400), st.integers(0, 20 * 365 * 86400))
def test_human_duration_is_short_and_monotonic(a: int, b: int) -> None:
    """Shorter or equal ages never print as longer ones, and each text is the age
    truncated (never rounded up)."""
    a, b = sorted((a, b))
    ta, tb = (human_duration(timedelta(seconds=x)) for x in (a, b))
    assert 2 <= len(ta) <= 7 and 2 <= len(tb) <= 7
    assert _duration_value(ta) <= _duration_value(tb), (a, ta, b, tb)
    assert _duration_value(ta) <= a and _duration_value(tb) <= b


def test_parse_time() -> None:
    assert parse_time("2026-11-26T12:00:00Z") == NOW
    assert parse_time("2026-11-26T13:00:00.123456+01:00") == NOW + timedelta(microseconds=123456)
    assert parse_time("garbage") is None
    assert parse_time(None) is None


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("1Gi", "1Gi"),
        ("1024Mi", "1Gi"),
        ("1.5Gi", "1536Mi"),
        ("512", "512"),
        ("2000", "2k"),
        ("1000M", "1G"),
        ("100m", "100m"),
        (1073741824, "1073741824"),
        ("10Gi", "10Gi"),
    ],
)
def test_quantity_string(value: Any, text: str) -> None:
    assert quantity_string(value) == text


# ---------------------------------------------------------------- table envelope


def test_envelope_and_include_object() -> None:
    cm = {
        "metadata": meta("cfg", labels={"a": "b"}),
        "data": {"x": "1", "y": "2"},
        "binaryData": {"z": ""},
    }
    t = table("ConfigMap", cm)
    assert t["kind"] == "Table"
    assert t["apiVersion"] == "meta.k8s.io/v1"
    assert t["metadata"] == {"resourceVersion": "42"}
    assert columns(t) == [("Name", 0), ("Data", 0), ("Age", 0)]
    assert t["columnDefinitions"][0]["format"] == "name"
    assert cells(t) == [["cfg", 3, "5m"]]
    assert t["rows"][0]["object"] == {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": cm["metadata"],
    }
    full = table("ConfigMap", cm, include_object="Object", api_version="v1")["rows"][0]["object"]
    assert full["data"] == cm["data"]
    assert (full["kind"], full["apiVersion"]) == ("ConfigMap", "v1")
    assert "object" not in table("ConfigMap", cm, include_object="None")["rows"][0]
    # without kind/apiVersion in row objects kubectl --sort-by prints empty rows
    vs = table("VolumeSnapshot", {"metadata": meta("s")}, include_object="Object")["rows"][0][
        "object"
    ]
    assert (vs["kind"], vs["apiVersion"]) == ("VolumeSnapshot", "snapshot.storage.k8s.io/v1")
    assert table("ConfigMap")["rows"] == []
    assert table("ConfigMap", cm, no_headers=True)["columnDefinitions"] == []


def test_naive_now_is_utc_and_missing_timestamp_is_unknown() -> None:
    obj = {"metadata": {"name": "x", "namespace": "ns1"}, "data": {}}
    t = to_table("ConfigMap", [obj], now=NOW.replace(tzinfo=None), resource_version="1")
    assert cells(t) == [["x", 0, "<unknown>"]]


# ---------------------------------------------------------------- pods


def pod(name: str, phase: str = "Running", **status: Any) -> dict[str, Any]:
    return {
        "metadata": meta(name, created=ago(hours=2, minutes=3)),
        "spec": {
            "nodeName": "node-1",
            "containers": [
                {"name": "postgres", "image": "postgres:15"},
                {"name": "app", "image": "app:1"},
            ],
        },
        "status": {"phase": phase, **status},
    }


def running(name: str, restarts: int = 0, finished: str | None = None) -> dict[str, Any]:
    cs: dict[str, Any] = {
        "name": name,
        "ready": True,
        "restartCount": restarts,
        "state": {"running": {"startedAt": ago(hours=1)}},
    }
    if finished:
        cs["lastState"] = {"terminated": {"exitCode": 1, "finishedAt": finished}}
    return cs


def test_pod_running_wide() -> None:
    p = pod(
        "db-0",
        podIP="10.0.0.5",
        podIPs=[{"ip": "10.0.0.5"}],
        containerStatuses=[running("postgres"), running("app", 2, ago(minutes=30))],
        conditions=[{"type": "Ready", "status": "True"}],
    )
    t = table("Pod", p)
    assert columns(t) == [
        ("Name", 0),
        ("Ready", 0),
        ("Status", 0),
        ("Restarts", 0),
        ("Age", 0),
        ("IP", 1),
        ("Node", 1),
        ("Nominated Node", 1),
        ("Readiness Gates", 1),
    ]
    assert cells(t) == [
        ["db-0", "2/2", "Running", "2 (30m ago)", "123m", "10.0.0.5", "node-1", "<none>", "<none>"]
    ]
    assert "conditions" not in t["rows"][0]


def test_pod_states() -> None:
    pending = pod("p1", "Pending")
    assert cells(table("Pod", pending))[0][1:5] == ["0/2", "Pending", "0", "123m"]
    waiting = pod(
        "p2",
        "Pending",
        containerStatuses=[
            {"name": "postgres", "state": {"waiting": {"reason": "ImagePullBackOff"}}}
        ],
    )
    assert cells(table("Pod", waiting))[0][2] == "ImagePullBackOff"
    done = pod(
        "p3",
        "Succeeded",
        containerStatuses=[
            {"name": "postgres", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
        ],
    )
    t = table("Pod", done)
    assert cells(t)[0][2] == "Completed"
    assert t["rows"][0]["conditions"] == [
        {
            "type": "Completed",
            "status": "True",
            "reason": "Succeeded",
            "message": "The pod has completed successfully.",
        }
    ]
    crashed = pod(
        "p4",
        "Running",
        containerStatuses=[{"name": "postgres", "state": {"terminated": {"exitCode": 3}}}],
    )
    assert cells(table("Pod", crashed))[0][2] == "ExitCode:3"
    deleting = pod("p5")
    deleting["metadata"]["deletionTimestamp"] = ago(seconds=1)
    assert cells(table("Pod", deleting))[0][2] == "Terminating"
    init = pod(
        "p6",
        "Pending",
        initContainerStatuses=[
            {"name": "init", "state": {"waiting": {"reason": "PodInitializing"}}}
        ],
    )
    init["spec"]["initContainers"] = [{"name": "init", "image": "busybox"}]
    assert cells(table("Pod", init))[0][2] == "Init:0/1"
    failed = pod("p7", "Failed", reason="Evicted")
    t = table("Pod", failed)
    assert cells(t)[0][2] == "Evicted"
    assert t["rows"][0]["conditions"][0]["reason"] == "Failed"


def test_pod_sidecar_counts_as_container() -> None:
    p = pod(
        "s",
        containerStatuses=[running("postgres"), running("app")],
        initContainerStatuses=[
            {
                "name": "side",
                "started": True,
                "ready": True,
                "restartCount": 1,
                "state": {"running": {}},
            }
        ],
    )
    p["spec"]["initContainers"] = [{"name": "side", "image": "x", "restartPolicy": "Always"}]
    assert cells(table("Pod", p))[0][1:4] == ["3/3", "Running", "1"]


# ---------------------------------------------------------------- storage


def test_pvc_bound_and_pending() -> None:
    bound = {
        "metadata": meta("data", annotations={}),
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}},
            "storageClassName": "csi-hostpath",
            "volumeName": "pvc-123",
            "volumeMode": "Filesystem",
        },
        "status": {
            "phase": "Bound",
            "accessModes": ["ReadWriteOnce", "ReadOnlyMany"],
            "capacity": {"storage": "1024Mi"},
        },
    }
    pending = {
        "metadata": meta("new", annotations={"volume.beta.kubernetes.io/storage-class": "beta"}),
        "spec": {"resources": {"requests": {"storage": "1Gi"}}, "storageClassName": "x"},
        "status": {"phase": "Pending"},
    }
    t = table("PersistentVolumeClaim", bound, pending)
    assert columns(t) == [
        ("Name", 0),
        ("Status", 0),
        ("Volume", 0),
        ("Capacity", 0),
        ("Access Modes", 0),
        ("StorageClass", 0),
        ("VolumeAttributesClass", 0),
        ("Age", 0),
        ("VolumeMode", 1),
    ]
    assert cells(t) == [
        [
            "data",
            "Bound",
            "pvc-123",
            "1Gi",
            "RWO,ROX",
            "csi-hostpath",
            "<unset>",
            "5m",
            "Filesystem",
        ],
        ["new", "Pending", "", "", "", "beta", "<unset>", "5m", "<unset>"],
    ]


def test_pv() -> None:
    pv = {
        "metadata": meta("pvc-123", ns=None),
        "spec": {
            "capacity": {"storage": "1Gi"},
            "accessModes": ["ReadWriteMany"],
            "persistentVolumeReclaimPolicy": "Delete",
            "claimRef": {"namespace": "ns1", "name": "data"},
            "storageClassName": "csi",
        },
        "status": {"phase": "Bound"},
    }
    assert cells(table("PersistentVolume", pv)) == [
        [
            "pvc-123",
            "1Gi",
            "RWX",
            "Delete",
            "Bound",
            "ns1/data",
            "csi",
            "<unset>",
            "",
            "5m",
            "<unset>",
        ]
    ]


def test_storage_class_default_marker() -> None:
    sc = {
        "metadata": meta(
            "csi-hostpath-sc",
            ns=None,
            annotations={"storageclass.kubernetes.io/is-default-class": "true"},
        ),
        "provisioner": "hostpath.csi.k8s.io",
    }
    t = table("StorageClass", sc)
    assert columns(t) == [
        ("Name", 0),
        ("Provisioner", 0),
        ("ReclaimPolicy", 0),
        ("VolumeBindingMode", 0),
        ("AllowVolumeExpansion", 0),
        ("Age", 0),
    ]
    assert cells(t) == [
        ["csi-hostpath-sc (default)", "hostpath.csi.k8s.io", "Delete", "Immediate", False, "5m"]
    ]


# ---------------------------------------------------------------- snapshot CRDs


def test_volume_snapshot_columns() -> None:
    ready = {
        "metadata": meta("snap-a", labels={"backup-ns.sh/daily": "2026-11-26"}),
        "spec": {
            "source": {"persistentVolumeClaimName": "data"},
            "volumeSnapshotClassName": "csi-snapclass",
        },
        "status": {
            "readyToUse": True,
            "restoreSize": "1Gi",
            "boundVolumeSnapshotContentName": "snapcontent-1",
            "creationTime": ago(minutes=4),
        },
    }
    fresh = {"metadata": meta("snap-b"), "spec": {"source": {"volumeSnapshotContentName": "pre-1"}}}
    t = table("VolumeSnapshot", ready, fresh)
    assert columns(t) == [
        ("Name", 0),
        ("ReadyToUse", 0),
        ("SourcePVC", 0),
        ("SourceSnapshotContent", 0),
        ("RestoreSize", 0),
        ("SnapshotClass", 0),
        ("SnapshotContent", 0),
        ("CreationTime", 0),
        ("Age", 0),
    ]
    assert [c["type"] for c in t["columnDefinitions"]] == [
        "string",
        "boolean",
        "string",
        "string",
        "string",
        "string",
        "string",
        "date",
        "date",
    ]
    assert cells(t) == [
        ["snap-a", True, "data", None, "1Gi", "csi-snapclass", "snapcontent-1", "4m", "5m"],
        ["snap-b", None, None, "pre-1", None, None, None, None, "5m"],
    ]


def test_volume_snapshot_content_and_class() -> None:
    vsc = {
        "metadata": meta("snapcontent-1", ns=None),
        "spec": {
            "deletionPolicy": "Retain",
            "driver": "hostpath.csi.k8s.io",
            "volumeSnapshotClassName": "csi-snapclass",
            "volumeSnapshotRef": {"name": "snap-a", "namespace": "ns1"},
            "source": {"volumeHandle": "v"},
        },
        "status": {
            "readyToUse": True,
            "restoreSize": 1073741824,
            "creationTime": 1764158400000000000,
        },
    }
    t = table("VolumeSnapshotContent", vsc)
    assert columns(t) == [
        ("Name", 0),
        ("ReadyToUse", 0),
        ("RestoreSize", 0),
        ("DeletionPolicy", 0),
        ("Driver", 0),
        ("VolumeSnapshotClass", 0),
        ("VolumeSnapshot", 0),
        ("VolumeSnapshotNamespace", 0),
        ("Age", 0),
    ]
    assert cells(t) == [
        [
            "snapcontent-1",
            True,
            1073741824,
            "Retain",
            "hostpath.csi.k8s.io",
            "csi-snapclass",
            "snap-a",
            "ns1",
            "5m",
        ]
    ]
    cls = {
        "metadata": meta("csi-snapclass", ns=None),
        "driver": "hostpath.csi.k8s.io",
        "deletionPolicy": "Delete",
    }
    t = table("VolumeSnapshotClass", cls)
    assert columns(t) == [("Name", 0), ("Driver", 0), ("DeletionPolicy", 0), ("Age", 0)]
    assert cells(t) == [["csi-snapclass", "hostpath.csi.k8s.io", "Delete", "5m"]]


def test_crd_cell_types() -> None:
    cols = [
        {"name": "S", "type": "string", "jsonPath": ".spec.s"},
        {"name": "I", "type": "integer", "jsonPath": ".spec.i"},
        {"name": "B", "type": "boolean", "jsonPath": ".spec.b"},
        {"name": "D", "type": "date", "jsonPath": ".spec.d"},
        {"name": "N", "type": "number", "jsonPath": ".spec.n", "priority": 1},
    ]
    obj = {
        "metadata": meta("x"),
        "spec": {"s": True, "i": 3.0, "b": "yes", "d": "not a date", "n": 2},
    }
    t = table("Widget", obj, printer_columns=cols)
    assert columns(t)[-1] == ("N", 1)
    assert cells(t) == [["x", "true", 3, None, "<invalid>", 2.0]]


def test_unknown_kinds_and_rbac() -> None:
    thing = {"metadata": meta("w", created=ago(days=3, hours=4))}
    t = table("Widget", thing)
    assert columns(t) == [("Name", 0), ("Age", 0)]
    assert cells(t) == [["w", "3d4h"]]
    role = {"metadata": meta("backup", created="2026-11-20T10:00:00Z"), "rules": []}
    t = table("Role", role)
    assert columns(t) == [("Name", 0), ("Created At", 0)]
    assert t["columnDefinitions"][1]["type"] == "date"
    assert cells(t) == [["backup", "2026-11-20T10:00:00Z"]]
    rb = {
        "metadata": meta("backup"),
        "roleRef": {"kind": "Role", "name": "backup", "apiGroup": "rbac.authorization.k8s.io"},
        "subjects": [
            {"kind": "ServiceAccount", "name": "backup", "namespace": "ns1"},
            {"kind": "User", "name": "alice"},
            {"kind": "Group", "name": "ops"},
        ],
    }
    t = table("RoleBinding", rb)
    assert columns(t) == [
        ("Name", 0),
        ("Role", 0),
        ("Age", 0),
        ("Users", 1),
        ("Groups", 1),
        ("ServiceAccounts", 1),
    ]
    assert cells(t) == [["backup", "Role/backup", "5m", "alice", "ops", "ns1/backup"]]
    assert columns(table("ClusterRoleBinding", rb)) == columns(t)


# ---------------------------------------------------------------- workloads


def template(*containers: tuple[str, str]) -> dict[str, Any]:
    return {
        "metadata": {"labels": {"app": "x"}},
        "spec": {"containers": [{"name": n, "image": i} for n, i in containers]},
    }


def test_deployment_statefulset_replicaset() -> None:
    dep = {
        "metadata": meta("app-base"),
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "app-base"}},
            "template": template(("postgres", "postgres:15"), ("app", "app:1")),
        },
        "status": {"readyReplicas": 1, "updatedReplicas": 2, "availableReplicas": 1},
    }
    t = table("Deployment", dep)
    assert columns(t) == [
        ("Name", 0),
        ("Ready", 0),
        ("Up-to-date", 0),
        ("Available", 0),
        ("Age", 0),
        ("Containers", 1),
        ("Images", 1),
        ("Selector", 1),
    ]
    assert cells(t) == [
        ["app-base", "1/2", 2, 1, "5m", "postgres,app", "postgres:15,app:1", "app=app-base"]
    ]
    no_replicas = {"metadata": meta("d2"), "spec": {"template": template()}}
    assert cells(table("Deployment", no_replicas)) == [["d2", "0/1", 0, 0, "5m", "", "", ""]]
    sts = {
        "metadata": meta("db"),
        "spec": {"replicas": 1, "template": template(("mysql", "mariadb:11"))},
        "status": {"readyReplicas": 1},
    }
    t = table("StatefulSet", sts)
    assert columns(t) == [("Name", 0), ("Ready", 0), ("Age", 0), ("Containers", 1), ("Images", 1)]
    assert cells(t) == [["db", "1/1", "5m", "mysql", "mariadb:11"]]
    rs = {
        "metadata": meta("app-base-abc"),
        "spec": {
            "replicas": 1,
            "selector": {
                "matchLabels": {"app": "x"},
                "matchExpressions": [{"key": "tier", "operator": "Exists"}],
            },
            "template": template(("a", "b")),
        },
        "status": {"replicas": 1, "readyReplicas": 1},
    }
    assert cells(table("ReplicaSet", rs)) == [
        ["app-base-abc", 1, 1, 1, "5m", "a", "b", "app=x,tier"]
    ]


def test_job_and_cronjob() -> None:
    job = {
        "metadata": meta("manual-1"),
        "spec": {"template": template(("backup", "backup:1"))},
        "status": {
            "startTime": ago(minutes=3),
            "completionTime": ago(minutes=2),
            "succeeded": 1,
            "conditions": [{"type": "Complete", "status": "True"}],
        },
    }
    t = table("Job", job)
    assert columns(t) == [
        ("Name", 0),
        ("Status", 0),
        ("Completions", 0),
        ("Duration", 0),
        ("Age", 0),
        ("Containers", 1),
        ("Images", 1),
        ("Selector", 1),
    ]
    assert cells(t) == [
        ["manual-1", "Complete", "1/1", "60s", "5m", "backup", "backup:1", "<none>"]
    ]
    runningjob = {
        "metadata": meta("j2"),
        "spec": {"parallelism": 3, "template": template()},
        "status": {"startTime": ago(seconds=30)},
    }
    assert cells(table("Job", runningjob))[0][1:4] == ["Running", "0/1 of 3", "30s"]
    failed = {
        "metadata": meta("j3"),
        "spec": {"completions": 2, "template": template()},
        "status": {"failed": 1, "conditions": [{"type": "Failed", "status": "True"}]},
    }
    assert cells(table("Job", failed))[0][1:4] == ["Failed", "0/2", ""]
    cj = {
        "metadata": meta("backup"),
        "spec": {
            "schedule": "0 1 * * *",
            "jobTemplate": {"spec": {"template": template(("backup", "backup:1"))}},
        },
        "status": {"lastScheduleTime": ago(hours=11), "active": [{"name": "backup-1"}]},
    }
    t = table("CronJob", cj)
    assert columns(t) == [
        ("Name", 0),
        ("Schedule", 0),
        ("Timezone", 0),
        ("Suspend", 0),
        ("Active", 0),
        ("Last Schedule", 0),
        ("Age", 0),
        ("Containers", 1),
        ("Images", 1),
        ("Selector", 1),
    ]
    assert cells(t) == [
        ["backup", "0 1 * * *", "<none>", "False", 1, "11h", "5m", "backup", "backup:1", "<none>"]
    ]
    cj["spec"]["suspend"] = True
    cj["spec"]["timeZone"] = "Europe/Vienna"
    del cj["status"]
    assert cells(table("CronJob", cj))[0][2:6] == ["Europe/Vienna", "True", 0, "<none>"]


def test_small_core_kinds() -> None:
    secret = {
        "metadata": meta("db-creds"),
        "type": "kubernetes.io/basic-auth",
        "data": {"username": "YQ==", "password": "Yg=="},
    }
    assert cells(table("Secret", secret)) == [["db-creds", "kubernetes.io/basic-auth", 2, "5m"]]
    assert columns(table("Secret", secret)) == [("Name", 0), ("Type", 0), ("Data", 0), ("Age", 0)]
    sa = {"metadata": meta("backup"), "secrets": [{"name": "t"}]}
    assert cells(table("ServiceAccount", sa)) == [["backup", 1, "5m"]]
    ns = {"metadata": meta("ns1", ns=None), "status": {"phase": "Terminating"}}
    assert cells(table("Namespace", ns)) == [["ns1", "Terminating", "5m"]]
    svc = {
        "metadata": meta("db"),
        "spec": {
            "type": "ClusterIP",
            "clusterIPs": ["10.96.0.10"],
            "ports": [{"port": 5432, "protocol": "TCP"}],
            "selector": {"app": "db"},
        },
    }
    assert cells(table("Service", svc)) == [
        ["db", "ClusterIP", "10.96.0.10", "<none>", "5432/TCP", "5m", "app=db"]
    ]


def test_event_columns() -> None:
    ev = {
        "metadata": meta("snap-a.1"),
        "involvedObject": {"kind": "VolumeSnapshot", "name": "snap-a", "namespace": "ns1"},
        "reason": "SnapshotReady",
        "message": " ready \n",
        "type": "Normal",
        "source": {"component": "snapshot-controller"},
        "firstTimestamp": ago(minutes=3),
        "lastTimestamp": ago(minutes=1),
        "count": 2,
    }
    t = table("Event", ev)
    assert columns(t) == [
        ("Last Seen", 0),
        ("Type", 0),
        ("Reason", 0),
        ("Object", 0),
        ("Subobject", 1),
        ("Source", 1),
        ("Message", 0),
        ("First Seen", 1),
        ("Count", 1),
        ("Name", 1),
    ]
    assert cells(t) == [
        [
            "60s",
            "Normal",
            "SnapshotReady",
            "volumesnapshot/snap-a",
            "",
            "snapshot-controller",
            "ready",
            "3m",
            2,
            "snap-a.1",
        ]
    ]


def test_rows_serialise_to_json() -> None:
    import json

    objs = [pod("a"), pod("b")]
    t = table("Pod", *objs, include_object="Object", api_version="v1")
    assert json.loads(json.dumps(t)) == t
    assert [r["object"]["metadata"]["name"] for r in t["rows"]] == ["a", "b"]
    assert objs[0].get("kind") is None  # the input is not modified
