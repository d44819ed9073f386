"""kubesim controllers: workloads -> pods, PVC binding, CSI snapshots (+ exec wiring)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from kubesim.fixture import KubeSim

KUBESIM_ARGS = ["--snapshot-ready-delay", "0.2"]
NS = "ctl"

APP = """apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: ctl}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 2Gi}}}
---
apiVersion: v1
kind: Secret
metadata: {name: db, namespace: ctl}
stringData: {password: "pa ss'word"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: ctl}
data: {mode: fast, script.sh: "echo from-configmap"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: app-base, namespace: ctl}
spec:
  replicas: 2
  selector: {matchLabels: {app: app-base}}
  template:
    metadata: {labels: {app: app-base, tier: db}}
    spec:
      containers:
      - name: postgres
        image: postgres:15
        env:
        - {name: PLAIN, value: plain}
        - {name: DERIVED, value: "x-$(PLAIN)"}
        - name: POSTGRES_PASSWORD
          valueFrom: {secretKeyRef: {name: db, key: password}}
        - name: MODE
          valueFrom: {configMapKeyRef: {name: cfg, key: mode}}
        - name: POD
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
        volumeMounts:
        - {name: data, mountPath: /var/lib/postgresql/data}
        - {name: scratch, mountPath: /scratch}
        - {name: scripts, mountPath: /scripts}
      - name: app
        image: busybox
      volumes:
      - name: data
        persistentVolumeClaim: {claimName: data}
      - name: scratch
        emptyDir: {}
      - name: scripts
        configMap: {name: cfg, defaultMode: 0755, items: [{key: script.sh, path: bin/run.sh}]}
"""


def snap(name: str, pvc: str = "data", cls: str | None = None) -> str:
    extra = f"\n  volumeSnapshotClassName: {cls}" if cls else ""
    return f"""apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata: {{name: {name}, namespace: {NS}}}
spec:{extra}
  source: {{persistentVolumeClaimName: {pvc}}}
"""


@pytest.fixture(scope="module", autouse=True)
def app(kubesim: KubeSim) -> None:
    kubesim.kubectl("create", "namespace", NS, check=True)
    kubesim.apply(APP)
    kubesim.wait_for(lambda: kubesim.volume_dir(NS, "data").is_dir())


def ready(kubesim: KubeSim, name: str) -> dict[str, Any]:
    kubesim.kubectl(
        "wait",
        "--for=jsonpath={.status.readyToUse}=true",
        "--timeout=20s",
        f"vs/{name}",
        "-n",
        NS,
        check=True,
    )
    return dict(kubesim.get_json("vs", name, "-n", NS))


def pods_of(kubesim: KubeSim, selector: str) -> list[dict[str, Any]]:
    """Pods by label selector, straight from the API (cheap polling)."""
    return list(kubesim.api(f"/api/v1/namespaces/{NS}/pods?labelSelector={selector}")["items"])


def test_deployment_pods(kubesim: KubeSim) -> None:
    kubesim.wait_for(lambda: len(pods_of(kubesim, "app%3Dapp-base")) == 2)
    pods = kubesim.get_json("pods", "-n", NS, "-l", "app=app-base")["items"]
    assert [p["status"]["phase"] for p in pods] == ["Running", "Running"]
    rs = kubesim.get_json("rs", "-n", NS)["items"]
    assert len(rs) == 1 and re.fullmatch(r"app-base-[a-z0-9]{10}", rs[0]["metadata"]["name"])
    for p in pods:
        assert re.fullmatch(
            re.escape(rs[0]["metadata"]["name"]) + r"-[a-z0-9]{5}", p["metadata"]["name"]
        )
        assert p["metadata"]["labels"]["tier"] == "db"
        assert {c["type"]: c["status"] for c in p["status"]["conditions"]}["Ready"] == "True"
    dep = kubesim.get_json("deploy", "app-base", "-n", NS)
    assert dep["status"]["readyReplicas"] == 2
    # scale down, then deleting the deployment deletes ReplicaSet and pods
    kubesim.kubectl("scale", "deploy/app-base", "-n", NS, "--replicas=1", check=True)
    kubesim.wait_for(lambda: len(pods_of(kubesim, "app%3Dapp-base")) == 1)


def test_statefulset_pods_and_claims(kubesim: KubeSim) -> None:
    kubesim.apply("""apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: ctl}
spec:
  replicas: 2
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: m, image: mariadb, volumeMounts: [{name: d, mountPath: /d}]}]}
  volumeClaimTemplates:
  - metadata: {name: d}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
""")
    kubesim.wait_for(lambda: len(pods_of(kubesim, "app%3Ddb")) == 2)
    cp = kubesim.kubectl("get", "pods", "-n", NS, "-l", "app=db", "-o", "name")
    assert cp.stdout == "pod/db-0\npod/db-1\n"

    def bound_claims() -> list[dict[str, Any]]:
        items = kubesim.api(f"/api/v1/namespaces/{NS}/persistentvolumeclaims")["items"]
        return [
            p
            for p in items
            if p["metadata"]["name"].startswith("d-db-") and p["status"].get("phase") == "Bound"
        ]

    kubesim.wait_for(lambda: len(bound_claims()) == 2)
    pvcs = kubesim.get_json("pvc", "-n", NS)["items"]
    pvcs = [p for p in pvcs if p["metadata"]["name"].startswith("d-db-")]
    assert sorted(p["metadata"]["name"] for p in pvcs) == ["d-db-0", "d-db-1"]
    kubesim.kubectl("delete", "statefulset", "db", "-n", NS, check=True)
    kubesim.wait_for(lambda: pods_of(kubesim, "app%3Ddb") == [])


def test_pvc_binding(kubesim: KubeSim) -> None:
    pvc = kubesim.get_json("pvc", "data", "-n", NS)
    assert pvc["status"] == {
        "phase": "Bound",
        "accessModes": ["ReadWriteOnce"],
        "capacity": {"storage": "2Gi"},
    }
    assert pvc["spec"]["storageClassName"] == "csi-hostpath-sc"
    pv = kubesim.get_json("pv", pvc["spec"]["volumeName"])
    assert pv["spec"]["claimRef"]["name"] == "data"
    assert pv["status"]["phase"] == "Bound"


def test_snapshot_round_trip_and_restore(kubesim: KubeSim) -> None:
    vol = kubesim.volume_dir(NS, "data")
    (vol / "sub").mkdir(exist_ok=True)
    (vol / "dump.sql").write_bytes(b"CREATE TABLE t();\n" + bytes(range(256)))
    (vol / "sub" / "x").write_text("nested\n")
    kubesim.apply(snap("rt"))
    vs = ready(kubesim, "rt")
    (vol / "dump.sql").write_text("changed after the snapshot\n")
    st = vs["status"]
    assert st["readyToUse"] is True and st["restoreSize"] == "2Gi" and st["creationTime"]
    content = kubesim.get_json("vsc", st["boundVolumeSnapshotContentName"])
    assert content["spec"]["deletionPolicy"] == "Delete"
    assert content["spec"]["driver"] == "hostpath.csi.k8s.io"
    assert content["spec"]["volumeSnapshotClassName"] == "csi-hostpath-snapclass"
    ref = content["spec"]["volumeSnapshotRef"]
    assert (ref["kind"], ref["name"], ref["namespace"], ref["uid"]) == (
        "VolumeSnapshot",
        "rt",
        NS,
        vs["metadata"]["uid"],
    )
    handle = content["status"]["snapshotHandle"]
    cp = kubesim.kubectl(
        "get",
        "events",
        "-n",
        NS,
        "--field-selector",
        "involvedObject.name=rt",
        "-o",
        "jsonpath={.items[*].reason}",
    )
    assert sorted(cp.stdout.split()) == ["CreatingSnapshot", "SnapshotCreated", "SnapshotReady"]
    assert content["status"]["readyToUse"] is True
    assert content["status"]["restoreSize"] == 2 * 1024**3
    stored = kubesim.state_dir / "snapshots" / handle
    assert (stored / "dump.sql").read_bytes() == b"CREATE TABLE t();\n" + bytes(range(256))
    kubesim.apply("""apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: restored, namespace: ctl}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 2Gi}}
  dataSource: {apiGroup: snapshot.storage.k8s.io, kind: VolumeSnapshot, name: rt}
""")
    kubesim.kubectl(
        "wait",
        "--for=jsonpath={.status.phase}=Bound",
        "--timeout=20s",
        "pvc/restored",
        "-n",
        NS,
        check=True,
    )
    rest = kubesim.volume_dir(NS, "restored")
    assert (rest / "dump.sql").read_bytes() == b"CREATE TABLE t();\n" + bytes(range(256))
    assert (rest / "sub" / "x").read_text() == "nested\n"


def _content_of(kubesim: KubeSim, name: str) -> tuple[str, Path]:
    vs = ready(kubesim, name)
    content = kubesim.get_json("vsc", vs["status"]["boundVolumeSnapshotContentName"])
    return content["metadata"]["name"], kubesim.state_dir / "snapshots" / content["status"][
        "snapshotHandle"
    ]


def test_delete_policy_delete_removes_content_and_data(kubesim: KubeSim) -> None:
    kubesim.apply(snap("del-me"))
    content, data = _content_of(kubesim, "del-me")
    assert data.is_dir()
    kubesim.kubectl("delete", "vs", "del-me", "-n", NS, check=True)
    kubesim.wait_for(
        lambda: (
            kubesim.api(f"/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents/{content}")
            is None
        )
    )
    kubesim.wait_for(lambda: not data.exists())


def test_retain_keeps_content_and_data_then_preprovisioned_binding(kubesim: KubeSim) -> None:
    kubesim.apply("""apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotClass
metadata: {name: retain}
driver: hostpath.csi.k8s.io
deletionPolicy: Retain
""")
    (kubesim.volume_dir(NS, "data") / "keep.txt").write_text("kept\n")
    kubesim.apply(snap("keep-me", cls="retain"))
    content, data = _content_of(kubesim, "keep-me")
    assert kubesim.get_json("vsc", content)["spec"]["deletionPolicy"] == "Retain"
    kubesim.kubectl("delete", "vs", "keep-me", "-n", NS, check=True)
    assert kubesim.kubectl("get", "vsc", content).returncode == 0
    assert (data / "keep.txt").read_text() == "kept\n"
    # a pre-provisioned content for that handle, and a snapshot bound to it
    kubesim.apply(f"""apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotContent
metadata: {{name: imported}}
spec:
  deletionPolicy: Retain
  driver: hostpath.csi.k8s.io
  source: {{snapshotHandle: {data.name}}}
  volumeSnapshotRef: {{name: imported, namespace: {NS}}}
---
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata: {{name: imported, namespace: {NS}}}
spec:
  source: {{volumeSnapshotContentName: imported}}
""")
    vs = ready(kubesim, "imported")
    assert vs["status"]["boundVolumeSnapshotContentName"] == "imported"
    kubesim.apply("""apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: from-imported, namespace: ctl}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
  dataSource: {apiGroup: snapshot.storage.k8s.io, kind: VolumeSnapshot, name: imported}
""")
    kubesim.kubectl(
        "wait",
        "--for=jsonpath={.status.phase}=Bound",
        "--timeout=20s",
        "pvc/from-imported",
        "-n",
        NS,
        check=True,
    )
    assert (kubesim.volume_dir(NS, "from-imported") / "keep.txt").read_text() == "kept\n"
    # As the real snapshot-controller: pointing a snapshot at the old, dynamically
    # provisioned content never binds, nor at a content whose ref names another snapshot.
    kubesim.kubectl(
        "patch", "vsc", content, "--type", "merge", "-p",
        f'{{"spec":{{"volumeSnapshotRef":{{"name":"repoint","namespace":"{NS}","uid":null}}}}}}',
        check=True,
    )
    for name, target, want in (
        ("repoint", content, "is dynamically provisioned while expecting a pre-provisioned one"),
        ("stranger", "imported", "is bound to a different VolumeSnapshot"),
    ):
        kubesim.apply(f"""apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata: {{name: {name}, namespace: {NS}}}
spec:
  source: {{volumeSnapshotContentName: {target}}}
""")
        st = kubesim.wait_for(
            lambda name=name: (
                kubesim.api(
                    f"/apis/snapshot.storage.k8s.io/v1/namespaces/{NS}/volumesnapshots/{name}"
                ).get("status")
                or {}
            ).get("error")
        )
        assert want in st["message"], st
        vs = kubesim.get_json("vs", name, "-n", NS)
        assert not vs["status"].get("readyToUse") and "boundVolumeSnapshotContentName" not in vs[
            "status"
        ]


def test_bound_preprovisioned_content_is_protected(kubesim: KubeSim) -> None:
    """As on the real server (tests/realk8s/test_toolbox.py sees the same): once bound,
    a pre-provisioned content carries the snapshot's uid in its ref and the
    bound-protection finalizer, so deleting it while its snapshot exists only marks it;
    it goes once the snapshot is gone."""
    kubesim.apply(snap("pp-src"))
    content = ready(kubesim, "pp-src")["status"]["boundVolumeSnapshotContentName"]
    handle = kubesim.get_json("vsc", content)["status"]["snapshotHandle"]
    kubesim.apply(f"""apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotContent
metadata: {{name: pp-content}}
spec:
  deletionPolicy: Retain
  driver: hostpath.csi.k8s.io
  source: {{snapshotHandle: {handle}}}
  volumeSnapshotRef: {{name: pp-bound, namespace: {NS}}}
""")
    assert "finalizers" not in kubesim.get_json("vsc", "pp-content")["metadata"]
    kubesim.apply(f"""apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata: {{name: pp-bound, namespace: {NS}}}
spec:
  source: {{volumeSnapshotContentName: pp-content}}
""")
    vs = ready(kubesim, "pp-bound")
    bound = kubesim.get_json("vsc", "pp-content")
    assert bound["metadata"]["finalizers"] == [
        "snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection"
    ]
    assert bound["spec"]["volumeSnapshotRef"]["uid"] == vs["metadata"]["uid"]
    kubesim.kubectl("delete", "vsc", "pp-content", "--wait=false", check=True)
    marked = kubesim.get_json("vsc", "pp-content")
    assert marked["metadata"]["deletionTimestamp"]
    assert ready(kubesim, "pp-bound")["status"]["readyToUse"] is True
    kubesim.kubectl("delete", "vs", "pp-bound", "-n", NS, "--wait=true", check=True)
    kubesim.wait_for(
        lambda: kubesim.api("/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents/pp-content")
        is None
    )


def test_snapshot_errors_without_pvc_or_class(kubesim: KubeSim) -> None:
    kubesim.apply(snap("no-pvc", pvc="missing"))
    st = kubesim.wait_for(
        lambda: kubesim.api(
            f"/apis/snapshot.storage.k8s.io/v1/namespaces/{NS}/volumesnapshots/" + "no-pvc"
        ).get("status")
    )
    # as the real snapshot-controller: the default-class lookup fails, no readyToUse
    assert "readyToUse" not in st
    assert 'persistentvolumeclaim \\"missing\\" not found' in st["error"]["message"]
    cp = kubesim.kubectl("describe", "vs", "no-pvc", "-n", NS)
    assert "Warning  SnapshotCreationFailed" in cp.stdout, cp.stdout
    kubesim.apply(snap("no-class", cls="nope"))
    st = kubesim.wait_for(
        lambda: kubesim.api(
            f"/apis/snapshot.storage.k8s.io/v1/namespaces/{NS}/volumesnapshots/" + "no-class"
        ).get("status")
    )
    assert '"nope" not found' in st["error"]["message"]


def test_exec_gets_env_and_mounts(kubesim: KubeSim) -> None:
    (kubesim.volume_dir(NS, "data") / "hello.txt").write_text("from the pvc\n")
    script = (
        'echo "$PLAIN|$DERIVED|$POSTGRES_PASSWORD|$MODE|${POD%%-*}";'
        " cat /var/lib/postgresql/data/hello.txt; /scripts/bin/run.sh;"
        " echo scratch > /scratch/f; exit 42"
    )
    cp = kubesim.kubectl(
        "exec", "-i", "deployment/app-base", "-c", "postgres", "-n", NS, "--", "sh", "-c", script
    )
    assert cp.returncode == 42, cp.stderr
    assert cp.stdout == "plain|x-plain|pa ss'word|fast|app\nfrom the pvc\nfrom-configmap\n"
    pod = kubesim.get_json("pods", "-n", NS, "-l", "app=app-base")["items"][0]["metadata"]["name"]
    assert (kubesim.state_dir / "emptydir" / NS / pod / "scratch" / "f").read_text() == "scratch\n"


def test_exec_errors(kubesim: KubeSim) -> None:
    cp = kubesim.kubectl("exec", "deployment/app-base", "-c", "nope", "-n", NS, "--", "true")
    assert cp.returncode == 1
    assert re.fullmatch(
        r"Error from server \(BadRequest\): container nope is not valid for pod "
        r"app-base-[a-z0-9]{10}-[a-z0-9]{5}\n",
        cp.stderr,
    ), cp.stderr
    cp = kubesim.kubectl("exec", "pod/ghost", "-n", NS, "--", "true")
    assert cp.stderr == 'Error from server (NotFound): pods "ghost" not found\n'


def test_exec_spdy_fallback_is_refused(kubesim: KubeSim) -> None:
    env = kubesim.env()
    env["KUBECTL_REMOTE_COMMAND_WEBSOCKETS"] = "false"
    cp = kubesim.kubectl(
        "exec", "deployment/app-base", "-c", "postgres", "-n", NS, "--", "true", env=env
    )
    assert cp.returncode == 1
    assert cp.stderr.startswith("Error from server (BadRequest): kubesim speaks only WebSocket v5")


def test_pvc_spec_rules_and_expansion(kubesim: KubeSim) -> None:
    kubesim.apply("""apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: grow, namespace: ctl}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
""")
    kubesim.wait_for(
        lambda: (
            kubesim.api(f"/api/v1/namespaces/{NS}/persistentvolumeclaims/grow")["status"].get(
                "phase"
            )
            == "Bound"
        )
    )
    cp = kubesim.kubectl(
        "patch", "pvc", "grow", "-n", NS, "-p", '{"spec":{"accessModes":["ReadWriteMany"]}}'
    )
    assert cp.stderr == (
        'The PersistentVolumeClaim "grow" is invalid: spec: Forbidden: spec is immutable after '
        "creation except resources.requests and volumeAttributesClassName for bound claims\n"
    )
    kubesim.kubectl(
        "patch",
        "pvc",
        "grow",
        "-n",
        NS,
        "-p",
        '{"spec":{"resources":{"requests":{"storage":"3Gi"}}}}',
        check=True,
    )
    kubesim.wait_for(
        lambda: (
            kubesim.api(f"/api/v1/namespaces/{NS}/persistentvolumeclaims/grow")["status"][
                "capacity"
            ]["storage"]
            == "3Gi"
        )
    )


def test_pvc_in_use_stays_terminating(kubesim: KubeSim) -> None:
    kubesim.apply("""apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: used, namespace: ctl}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: Pod
metadata: {name: user, namespace: ctl}
spec:
  containers: [{name: c, image: busybox, volumeMounts: [{name: v, mountPath: /v}]}]
  volumes: [{name: v, persistentVolumeClaim: {claimName: used}}]
""")
    path = f"/api/v1/namespaces/{NS}/persistentvolumeclaims/used"
    assert kubesim.api(path)["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    kubesim.wait_for(lambda: kubesim.volume_dir(NS, "used").is_dir())
    kubesim.kubectl("delete", "pvc", "used", "-n", NS, "--wait=false", check=True)
    cp = kubesim.kubectl("get", "pvc", "used", "-n", NS, "-o", "jsonpath={.status.phase}")
    assert cp.stdout == "Bound"
    assert kubesim.api(path)["metadata"]["deletionTimestamp"]
    kubesim.kubectl("delete", "pod", "user", "-n", NS, check=True)
    kubesim.wait_for(lambda: kubesim.api(path) is None)
    kubesim.wait_for(lambda: not kubesim.volume_dir(NS, "used").exists())
