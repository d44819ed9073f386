"""Controllers: workloads -> pods ("kubelet" marks them Running), PVC binding, CSI snapshots.

They subscribe to store events and run on the event loop. Each reconcile is keyed and
de-duplicated (call_soon), so a burst of events costs one pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import os
import re
import shutil
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from . import freeze
from .groupsnapshots import GroupSnapshots
from .resources import (
    CONTROLLERREVISIONS,
    DAEMONSETS,
    DEPLOYMENTS,
    EVENTS,
    JOBS,
    NAMESPACES,
    PODS,
    PVCS,
    PVS,
    REPLICASETS,
    SERVICEACCOUNTS,
    STATEFULSETS,
    STORAGECLASSES,
    VGS,
    VGSC,
    VS,
    VSC,
    VSCLASS,
    Resource,
)
from .store import ApiError, now_iso, random_suffix

if TYPE_CHECKING:
    from .sim import Sim

_HASH_CHARS = "bcdfghjklmnpqrstvwxz2456789"
DRIVER = "hostpath.csi.k8s.io"
PVC_PROTECTION = "kubernetes.io/pvc-protection"


BEING_DELETED = "snapshot.storage.kubernetes.io/volumesnapshot-being-deleted"
# The snapshot-controller's finalizers (v8.7.0): a VolumeSnapshot gets AS_SOURCE (and, at
# some point, volumesnapshot-bound-protection: not simulated), a content CONTENT_BOUND
# (a dynamically provisioned one at creation, a pre-provisioned one once bound).
AS_SOURCE = "snapshot.storage.kubernetes.io/volumesnapshot-as-source-protection"
CONTENT_BOUND = "snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection"


def template_hash(template: Any) -> str:
    digest = hashlib.sha256(repr(template).encode()).digest()
    return "".join(_HASH_CHARS[b % len(_HASH_CHARS)] for b in digest[:10])


_UNITS = {
    "Ki": 1024,
    "Mi": 1024**2,
    "Gi": 1024**3,
    "Ti": 1024**4,
    "Pi": 1024**5,
    "k": 1000,
    "M": 1000**2,
    "G": 1000**3,
    "T": 1000**4,
    "P": 1000**5,
    "": 1,
}


def quantity_bytes(q: Any) -> int:
    m = re.fullmatch(r"\s*([0-9.]+)\s*([A-Za-z]*)\s*", str(q))
    if not m or m.group(2) not in _UNITS:
        return 0
    return int(float(m.group(1)) * _UNITS[m.group(2)])


def dir_size(path: str) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, f)).st_size
    return total


def consistent_copy(src: str, dst: str, *, atomic: bool = False) -> None:
    """Copy src to dst via a temp dir and a rename, so dst is all-or-nothing. atomic:
    the processes using src stand still during the copy (freeze.py), so it holds
    one instant of the volume, as a CSI snapshot does."""
    tmp = f"{dst}.tmp-{uuid.uuid4().hex[:8]}"
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    if os.path.isdir(src):
        with freeze.stopped(src) if atomic else contextlib.nullcontext():
            shutil.copytree(src, tmp, symlinks=True)
            # a CSI snapshot keeps each file's owner (a database's files stay its user's)
            from .exec import _copy_owners

            _copy_owners(src, tmp)
    else:
        os.makedirs(tmp)
    if os.path.exists(dst):
        shutil.rmtree(dst)
    os.rename(tmp, dst)


def owned_by(obj: dict[str, Any], uid: str) -> bool:
    return any(r.get("uid") == uid for r in obj["metadata"].get("ownerReferences") or [])


def owner_ref(owner: dict[str, Any]) -> dict[str, Any]:
    m = owner["metadata"]
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": m["name"],
        "uid": m["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


class Controllers:
    def __init__(self, sim: Sim) -> None:
        self.sim = sim
        self.store = sim.store
        self._pending: set[tuple[str, str, str]] = set()
        self._told: set[tuple[str, str]] = set()  # events sent once per object
        self._pod_ip = 10
        self.tasks: set[asyncio.Task[None]] = set()
        self.groups = GroupSnapshots(self)
        self.store.subscribe(self.on_event)

    # -- plumbing -------------------------------------------------------------------------
    def _schedule(self, kind: str, ns: str, name: str) -> None:
        key = (kind, ns, name)
        if key in self._pending:
            return
        self._pending.add(key)
        asyncio.get_event_loop().call_soon(self._run, key)

    def _run(self, key: tuple[str, str, str]) -> None:
        self._pending.discard(key)
        kind, ns, name = key
        fn: Callable[[str, str], None] = getattr(self, f"reconcile_{kind}")
        try:
            fn(ns, name)
        except ApiError:
            pass  # a racing write; the next event reconciles again
        except Exception:  # a kubesim bug: report it, keep the loop alive
            traceback.print_exc(file=sys.stderr)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_event_loop().create_task(coro)
        self.tasks.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self.tasks.discard(t)
            exc = None if t.cancelled() else t.exception()
            if exc is not None:
                traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)

        task.add_done_callback(done)

    def on_event(self, typ: str, res: Resource, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        ns, name = meta.get("namespace", ""), meta["name"]
        if typ == "DELETED":
            self._gc(res, obj)
        if res is DEPLOYMENTS:
            self._schedule("deployment", ns, name)
        elif res is REPLICASETS:
            self._schedule("replicaset", ns, name)
            for ref in meta.get("ownerReferences") or []:
                if ref.get("kind") == "Deployment":
                    self._schedule("deployment", ns, ref["name"])
        elif res is STATEFULSETS:
            self._schedule("statefulset", ns, name)
        elif res is DAEMONSETS:
            self._schedule("daemonset", ns, name)
        elif res is PODS:
            if typ != "DELETED":
                self._schedule("pod", ns, name)
            for ref in meta.get("ownerReferences") or []:
                kind = {
                    "ReplicaSet": "replicaset",
                    "StatefulSet": "statefulset",
                    "DaemonSet": "daemonset",
                }.get(ref.get("kind", ""))
                if kind:
                    self._schedule(kind, ns, ref["name"])
            if typ == "DELETED":  # a PVC it used may now be released
                for vol in (obj.get("spec") or {}).get("volumes") or []:
                    claim = (vol.get("persistentVolumeClaim") or {}).get("claimName")
                    if claim:
                        self._schedule("pvc", ns, claim)
        elif res is PVCS:
            if typ == "DELETED":
                self._pvc_deleted(obj)
            else:
                self._schedule("pvc", ns, name)
                for vs in self.store.list(VS, ns):
                    src = (vs.get("spec") or {}).get("source") or {}
                    if src.get("persistentVolumeClaimName") == name and not (
                        vs.get("status") or {}
                    ).get("boundVolumeSnapshotContentName"):
                        self._schedule("vs", ns, vs["metadata"]["name"])
        elif res is VS:
            if typ == "DELETED":
                self._vs_deleted(obj)
            else:
                self._schedule("vs", ns, name)
                for pvc in self.store.list(PVCS, ns):
                    if (pvc.get("status") or {}).get("phase") != "Bound":
                        self._schedule("pvc", ns, pvc["metadata"]["name"])
        elif res is VSC:
            if typ == "DELETED":
                self._vsc_deleted(obj)
            else:
                self._schedule("vsc", "", name)
                ref = (obj.get("spec") or {}).get("volumeSnapshotRef") or {}
                if ref.get("name") and ref.get("namespace"):
                    self._schedule("vs", ref["namespace"], ref["name"])
        elif res is VGS and typ == "DELETED":  # its members may go now (retried, as the real one)
            for vs in self.groups.members(ns, name):
                self._schedule("vs", ns, vs["metadata"]["name"])
        elif res is VGS:
            self._schedule("vgs", ns, name)
        elif res is VGSC and typ != "DELETED":
            self._schedule("vgsc", "", name)
        elif res is NAMESPACES and typ == "ADDED":
            self._schedule("namespace", "", name)
        elif res is STORAGECLASSES and typ != "DELETED":  # Pending claims may provision now
            for pvc in self.store.list(PVCS):
                if (pvc.get("status") or {}).get("phase") != "Bound":
                    meta_ = pvc["metadata"]
                    self._schedule("pvc", meta_["namespace"], meta_["name"])

    def _gc(self, res: Resource, obj: dict[str, Any]) -> None:
        uid = obj["metadata"].get("uid")
        ns = obj["metadata"].get("namespace")
        if not uid or not ns:
            return
        for kind in (REPLICASETS, PODS, JOBS, CONTROLLERREVISIONS):
            for child in self.store.list(kind, ns):
                if owned_by(child, uid):
                    with contextlib.suppress(ApiError):
                        self.store.delete(kind, ns, child["metadata"]["name"])

    # -- namespaces -----------------------------------------------------------------------
    def reconcile_namespace(self, _ns: str, name: str) -> None:
        if self.store.get(NAMESPACES, None, name) is None:
            return
        if self.store.get(SERVICEACCOUNTS, name, "default") is None:
            self.store.create(SERVICEACCOUNTS, {"metadata": {"name": "default", "namespace": name}})

    # -- workloads ------------------------------------------------------------------------
    def _workload_status(
        self, res: Resource, obj: dict[str, Any], pods: list[dict[str, Any]], desired: int
    ) -> None:
        ready = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Running")
        new = copy.deepcopy(obj)
        st: dict[str, Any] = {
            "observedGeneration": obj["metadata"].get("generation", 1),
            "replicas": len(pods),
        }
        if ready:
            st["readyReplicas"] = ready
            st["availableReplicas"] = ready
        if res is DEPLOYMENTS:
            st["updatedReplicas"] = len(pods)
            ts = now_iso()
            old_conds = {c["type"]: c for c in (obj.get("status") or {}).get("conditions") or []}
            avail = ready >= desired
            conds = []
            for typ, ok, reason, msg in (
                (
                    "Available",
                    avail,
                    "MinimumReplicasAvailable" if avail else "MinimumReplicasUnavailable",
                    "Deployment has minimum availability."
                    if avail
                    else "Deployment does not have minimum availability.",
                ),
                (
                    "Progressing",
                    True,
                    "NewReplicaSetAvailable",
                    f'ReplicaSet "{obj["metadata"]["name"]}" has successfully progressed.',
                ),
            ):
                status = "True" if ok else "False"
                prev = old_conds.get(typ)
                same = prev and prev.get("status") == status and prev.get("reason") == reason
                conds.append(
                    {
                        "type": typ,
                        "status": status,
                        "lastUpdateTime": prev["lastUpdateTime"] if same and prev else ts,
                        "lastTransitionTime": prev["lastTransitionTime"] if same and prev else ts,
                        "reason": reason,
                        "message": msg,
                    }
                )
            st["conditions"] = conds
        elif res is STATEFULSETS:
            st["currentReplicas"] = len(pods)
            st["updatedReplicas"] = len(pods)
        elif res is DAEMONSETS:
            st = {
                "observedGeneration": st["observedGeneration"],
                "currentNumberScheduled": len(pods),
                "desiredNumberScheduled": desired,
                "numberReady": ready,
                "numberAvailable": ready,
                "updatedNumberScheduled": len(pods),
                "numberMisscheduled": 0,
            }
        new["status"] = st
        new["metadata"].pop("resourceVersion", None)
        self.store.update(res, new)

    def _make_pod(
        self,
        owner: dict[str, Any],
        name: str,
        template: dict[str, Any],
        extra_labels: dict[str, str],
    ) -> dict[str, Any]:
        tmeta = template.get("metadata") or {}
        labels = dict(tmeta.get("labels") or {})
        labels.update(extra_labels)
        meta: dict[str, Any] = {
            "name": name,
            "namespace": owner["metadata"]["namespace"],
            "labels": labels,
            "ownerReferences": [owner_ref(owner)],
        }
        if tmeta.get("annotations"):
            meta["annotations"] = dict(tmeta["annotations"])
        spec = copy.deepcopy(template.get("spec") or {})
        return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}

    def _owned(self, res: Resource, ns: str, owner: dict[str, Any]) -> list[dict[str, Any]]:
        uid = owner["metadata"]["uid"]
        return [o for o in self.store.list(res, ns) if owned_by(o, uid)]

    def reconcile_deployment(self, ns: str, name: str) -> None:
        dep = self.store.get(DEPLOYMENTS, ns, name)
        if dep is None:
            return
        spec = dep.get("spec") or {}
        replicas = int(spec.get("replicas", 1))
        template = spec.get("template") or {}
        h = template_hash(template)
        rs_name = f"{name}-{h}"
        owned = self._owned(REPLICASETS, ns, dep)
        for old_rs in owned:
            if old_rs["metadata"]["name"] != rs_name:
                self.store.delete(REPLICASETS, ns, old_rs["metadata"]["name"])
        existing = self.store.get(REPLICASETS, ns, rs_name)
        if existing is None:
            tmpl = copy.deepcopy(template)
            tmpl.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = h
            sel = copy.deepcopy(spec.get("selector") or {})
            sel.setdefault("matchLabels", {})["pod-template-hash"] = h
            labels = dict((template.get("metadata") or {}).get("labels") or {})
            labels["pod-template-hash"] = h
            rs = self.store.create(
                REPLICASETS,
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "metadata": {
                        "name": rs_name,
                        "namespace": ns,
                        "labels": labels,
                        "annotations": {"deployment.kubernetes.io/revision": "1"},
                        "ownerReferences": [owner_ref(dep)],
                    },
                    "spec": {"replicas": replicas, "selector": sel, "template": tmpl},
                },
            )
        elif (existing.get("spec") or {}).get("replicas") != replicas:
            new = copy.deepcopy(existing)
            new["spec"]["replicas"] = replicas
            new["metadata"].pop("resourceVersion", None)
            rs = self.store.update(REPLICASETS, new)
        else:
            rs = existing
        pods = self._owned(PODS, ns, rs)
        self._workload_status(DEPLOYMENTS, dep, pods, replicas)

    def reconcile_replicaset(self, ns: str, name: str) -> None:
        rs = self.store.get(REPLICASETS, ns, name)
        if rs is None:
            return
        spec = rs.get("spec") or {}
        replicas = int(spec.get("replicas", 1))
        pods = self._owned(PODS, ns, rs)
        template = spec.get("template") or {}
        while len(pods) < replicas:
            pod = self._make_pod(rs, f"{name}-{random_suffix()}", template, {})
            pods.append(self.store.create(PODS, pod))
        for extra in pods[replicas:]:
            self.store.delete(PODS, ns, extra["metadata"]["name"])
        self._workload_status(REPLICASETS, rs, pods[:replicas], replicas)

    def reconcile_statefulset(self, ns: str, name: str) -> None:
        sts = self.store.get(STATEFULSETS, ns, name)
        if sts is None:
            return
        spec = sts.get("spec") or {}
        replicas = int(spec.get("replicas", 1))
        template = spec.get("template") or {}
        rev = f"{name}-{template_hash(template)}"
        pods = []
        for i in range(replicas):
            pname = f"{name}-{i}"
            pod = self.store.get(PODS, ns, pname)
            if pod is None:
                pod_obj = self._make_pod(
                    sts,
                    pname,
                    template,
                    {
                        "statefulset.kubernetes.io/pod-name": pname,
                        "controller-revision-hash": rev,
                        "apps.kubernetes.io/pod-index": str(i),
                    },
                )
                vols = pod_obj["spec"].setdefault("volumes", [])
                for vct in spec.get("volumeClaimTemplates") or []:
                    vname = (vct.get("metadata") or {}).get("name", "")
                    claim = f"{vname}-{pname}"
                    if self.store.get(PVCS, ns, claim) is None:
                        pvc = {
                            "apiVersion": "v1",
                            "kind": "PersistentVolumeClaim",
                            "metadata": {
                                "name": claim,
                                "namespace": ns,
                                "labels": dict(
                                    (template.get("metadata") or {}).get("labels") or {}
                                ),
                            },
                            "spec": copy.deepcopy(vct.get("spec") or {}),
                        }
                        self.store.create(PVCS, pvc)
                    vols[:] = [v for v in vols if v.get("name") != vname]
                    vols.append({"name": vname, "persistentVolumeClaim": {"claimName": claim}})
                pod = self.store.create(PODS, pod_obj)
            pods.append(pod)
        for pod in self._owned(PODS, ns, sts):
            m = re.fullmatch(re.escape(name) + r"-(\d+)", pod["metadata"]["name"])
            if m is None or int(m.group(1)) >= replicas:
                self.store.delete(PODS, ns, pod["metadata"]["name"])
        self._workload_status(STATEFULSETS, sts, pods, replicas)

    def reconcile_daemonset(self, ns: str, name: str) -> None:
        ds = self.store.get(DAEMONSETS, ns, name)
        if ds is None:
            return
        template = (ds.get("spec") or {}).get("template") or {}
        pods = self._owned(PODS, ns, ds)
        if not pods:
            pods = [
                self.store.create(
                    PODS,
                    self._make_pod(
                        ds,
                        f"{name}-{random_suffix()}",
                        template,
                        {"controller-revision-hash": template_hash(template)},
                    ),
                )
            ]
        self._workload_status(DAEMONSETS, ds, pods, 1)

    def reconcile_pod(self, ns: str, name: str) -> None:
        """The "kubelet": a new pod is scheduled and Running at once."""
        from .kubelet import runs_process

        pod = self.store.get(PODS, ns, name)
        if pod is None or (pod.get("status") or {}).get("phase") or runs_process(pod):
            return  # kubelet.py runs Job pods as processes
        new = copy.deepcopy(pod)
        new["metadata"].pop("resourceVersion", None)
        spec = new.setdefault("spec", {})
        spec.setdefault("nodeName", "kubesim-node")
        spec.setdefault("serviceAccountName", spec.get("serviceAccount") or "default")
        spec.setdefault("restartPolicy", "Always")
        ts = now_iso()
        self._pod_ip += 1
        ip = f"10.244.{(self._pod_ip // 250) % 250}.{self._pod_ip % 250 + 2}"
        conds = [
            {"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": ts}
            for t in (
                "PodReadyToStartContainers",
                "Initialized",
                "Ready",
                "ContainersReady",
                "PodScheduled",
            )
        ]
        statuses = [
            {
                "name": c.get("name", ""),
                "ready": True,
                "started": True,
                "restartCount": 0,
                "image": c.get("image", ""),
                "imageID": "",
                "containerID": f"containerd://{uuid.uuid4().hex}",
                "state": {"running": {"startedAt": ts}},
            }
            for c in spec.get("containers") or []
        ]
        new["status"] = {
            "phase": "Running",
            "conditions": conds,
            "hostIP": "10.0.0.1",
            "hostIPs": [{"ip": "10.0.0.1"}],
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "startTime": ts,
            "containerStatuses": statuses,
            "qosClass": "BestEffort",
        }
        self.store.update(PODS, new)

    # -- storage --------------------------------------------------------------------------
    def _default_class(self, res: Resource, annotation: str) -> dict[str, Any] | None:
        for obj in self.store.list(res):
            if (obj["metadata"].get("annotations") or {}).get(annotation) == "true":
                return obj
        return None

    def reconcile_pvc(self, ns: str, name: str) -> None:
        pvc = self.store.get(PVCS, ns, name)
        if pvc is None:
            return
        if pvc["metadata"].get("deletionTimestamp"):
            self._release_protection(pvc)
            return
        if (pvc.get("status") or {}).get("phase") == "Bound":
            self._resize(pvc)
            return
        spec = pvc.get("spec") or {}
        if self._storage_class(pvc) is None:
            # as the real PV controller: no class (or a class that does not exist), no
            # provisioning; the claim stays Pending until its StorageClass appears
            sc_name = spec.get("storageClassName")
            if sc_name and ("no-class", pvc["metadata"]["uid"]) not in self._told:
                self._told.add(("no-class", pvc["metadata"]["uid"]))
                self.event(
                    pvc,
                    "Warning",
                    "ProvisioningFailed",
                    f'storageclass.storage.k8s.io "{sc_name}" not found',
                    component="persistentvolume-controller",
                )
            return
        src = spec.get("dataSource") or spec.get("dataSourceRef") or {}
        source_dir: str | None = None
        if src.get("kind") == "VolumeSnapshot":
            vs = self.store.get(VS, ns, src.get("name", ""))
            st = (vs or {}).get("status") or {}
            if not st.get("readyToUse"):
                return  # stays Pending until the snapshot is ready
            vsc = self.store.get(VSC, None, st.get("boundVolumeSnapshotContentName", ""))
            handle = ((vsc or {}).get("status") or {}).get("snapshotHandle")
            if not handle:
                return
            source_dir = self.sim.snapshot_dir(handle)
        elif src.get("kind") == "PersistentVolumeClaim":
            source_dir = self.sim.volume_dir(ns, src.get("name", ""))
        target = self.sim.volume_dir(ns, name)
        if source_dir is not None:
            if not os.path.isdir(source_dir):
                return
            self._pending.add(("pvc-copy", ns, name))
            self._spawn(self._provision_copy(pvc, source_dir, target))
            return
        os.makedirs(target, exist_ok=True)
        self._bind(pvc)

    async def _provision_copy(self, pvc: dict[str, Any], source: str, target: str) -> None:
        meta = pvc["metadata"]
        try:
            await asyncio.to_thread(consistent_copy, source, target)
            cur = self.store.get(PVCS, meta["namespace"], meta["name"])
            if cur is not None and cur["metadata"]["uid"] == meta["uid"]:
                self._bind(cur)
        finally:
            self._pending.discard(("pvc-copy", meta["namespace"], meta["name"]))

    def _release_protection(self, pvc: dict[str, Any]) -> None:
        """kubernetes.io/pvc-protection: a PVC in use by a pod stays Terminating."""
        meta = pvc["metadata"]
        for pod in self.store.list(PODS, meta["namespace"]):
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                continue
            for vol in (pod.get("spec") or {}).get("volumes") or []:
                if (vol.get("persistentVolumeClaim") or {}).get("claimName") == meta["name"]:
                    return
        fins = [f for f in meta.get("finalizers") or [] if f != PVC_PROTECTION]
        if fins != (meta.get("finalizers") or []):
            new = copy.deepcopy(pvc)
            new["metadata"].pop("resourceVersion", None)
            new["metadata"]["finalizers"] = fins
            if not fins:
                del new["metadata"]["finalizers"]
            self.store.update(PVCS, new)

    def _resize(self, pvc: dict[str, Any]) -> None:
        """Volume expansion: a grown request becomes the capacity of PVC and PV at once."""
        want = ((pvc.get("spec") or {}).get("resources") or {}).get("requests", {}).get("storage")
        have = ((pvc.get("status") or {}).get("capacity") or {}).get("storage")
        if not want or not have or quantity_bytes(want) <= quantity_bytes(have):
            return
        pv = self.store.get(PVS, None, (pvc.get("spec") or {}).get("volumeName", ""))
        if pv is not None:
            new_pv = copy.deepcopy(pv)
            new_pv["metadata"].pop("resourceVersion", None)
            new_pv["spec"].setdefault("capacity", {})["storage"] = want
            self.store.update(PVS, new_pv)
        new = copy.deepcopy(pvc)
        new["metadata"].pop("resourceVersion", None)
        new["status"]["capacity"] = {"storage": want}
        self.store.update(PVCS, new)

    def _storage_class(self, pvc: dict[str, Any]) -> dict[str, Any] | None:
        """The StorageClass that provisions the claim: its storageClassName, else the
        default class; None when that is "" (static binding only) or does not exist."""
        sc_name = (pvc.get("spec") or {}).get("storageClassName")
        if sc_name is None:
            return self._default_class(
                STORAGECLASSES, "storageclass.kubernetes.io/is-default-class"
            )
        return self.store.get(STORAGECLASSES, None, sc_name) if sc_name else None

    def _bind(self, pvc: dict[str, Any]) -> None:
        meta = pvc["metadata"]
        spec = pvc.get("spec") or {}
        sc = self._storage_class(pvc)
        sc_name = sc["metadata"]["name"] if sc else ""
        size = ((spec.get("resources") or {}).get("requests") or {}).get("storage", "1Gi")
        modes = spec.get("accessModes") or ["ReadWriteOnce"]
        pv_name = f"pvc-{meta['uid']}"
        if self.store.get(PVS, None, pv_name) is None:
            self.store.create(
                PVS,
                {
                    "apiVersion": "v1",
                    "kind": "PersistentVolume",
                    "metadata": {
                        "name": pv_name,
                        "annotations": {"pv.kubernetes.io/provisioned-by": DRIVER},
                    },
                    "spec": {
                        "capacity": {"storage": size},
                        "accessModes": modes,
                        "persistentVolumeReclaimPolicy": (sc or {}).get("reclaimPolicy", "Delete"),
                        "storageClassName": sc_name,
                        "volumeMode": "Filesystem",
                        "claimRef": {
                            "kind": "PersistentVolumeClaim",
                            "namespace": meta["namespace"],
                            "name": meta["name"],
                            "uid": meta["uid"],
                            "apiVersion": "v1",
                        },
                        "csi": {
                            "driver": (sc or {}).get("provisioner", DRIVER),
                            "volumeHandle": str(uuid.uuid4()),
                            "volumeAttributes": {
                                "kubesim.dir": self.sim.volume_dir(meta["namespace"], meta["name"])
                            },
                        },
                    },
                    "status": {"phase": "Bound"},
                },
            )
        new = copy.deepcopy(pvc)
        new["metadata"].pop("resourceVersion", None)
        ann = new["metadata"].setdefault("annotations", {})
        ann["pv.kubernetes.io/bind-completed"] = "yes"
        ann["pv.kubernetes.io/bound-by-controller"] = "yes"
        ann["volume.kubernetes.io/storage-provisioner"] = (sc or {}).get("provisioner", DRIVER)
        new["spec"]["volumeName"] = pv_name
        new["spec"].setdefault("storageClassName", sc_name)
        new["spec"].setdefault("volumeMode", "Filesystem")
        new["status"] = {"phase": "Bound", "accessModes": modes, "capacity": {"storage": size}}
        self.store.update(PVCS, new)

    def _pvc_deleted(self, pvc: dict[str, Any]) -> None:
        meta = pvc["metadata"]
        pv_name = (pvc.get("spec") or {}).get("volumeName")
        pv = self.store.get(PVS, None, pv_name) if pv_name else None
        if pv is None:
            return
        policy = (pv.get("spec") or {}).get("persistentVolumeReclaimPolicy", "Delete")
        if policy == "Delete":
            self.store.delete(PVS, None, pv_name or "")
            shutil.rmtree(self.sim.volume_dir(meta["namespace"], meta["name"]), ignore_errors=True)
        else:
            new = copy.deepcopy(pv)
            new["metadata"].pop("resourceVersion", None)
            new["status"] = {"phase": "Released"}
            self.store.update(PVS, new)

    # -- snapshots ------------------------------------------------------------------------
    def event(
        self,
        obj: dict[str, Any],
        typ: str,
        reason: str,
        message: str,
        component: str = "snapshot-controller",
    ) -> None:
        """A core/v1 Event about obj (what `kubectl describe` shows)."""
        meta = obj["metadata"]
        ns = meta.get("namespace") or "default"
        if not self.store.namespace_exists(ns):
            return
        ts = now_iso()
        self.store.create(
            EVENTS,
            {
                "metadata": {"name": f"{meta['name']}.{uuid.uuid4().hex[:16]}", "namespace": ns},
                "involvedObject": {
                    "apiVersion": obj.get("apiVersion", ""),
                    "kind": obj.get("kind", ""),
                    "name": meta["name"],
                    "namespace": meta.get("namespace", ""),
                    "uid": meta.get("uid", ""),
                    "resourceVersion": meta.get("resourceVersion", ""),
                },
                "reason": reason,
                "message": message,
                "type": typ,
                "source": {"component": component},
                "reportingComponent": component,
                "firstTimestamp": ts,
                "lastTimestamp": ts,
                "count": 1,
            },
        )

    def _vs_status(self, vs: dict[str, Any], status: dict[str, Any]) -> None:
        new = copy.deepcopy(vs)
        new["metadata"].pop("resourceVersion", None)
        st = dict(new.get("status") or {})
        if "error" not in status:
            st.pop("error", None)
        else:
            self.event(
                vs,
                "Warning",
                "SnapshotCreationFailed",
                f"Failed to create snapshot: {status['error'].get('message', '')}",
            )
        st.update(status)
        new["status"] = st
        self.store.update(VS, new)

    def _vsc_status(self, vsc: dict[str, Any], status: dict[str, Any]) -> None:
        new = copy.deepcopy(vsc)
        new["metadata"].pop("resourceVersion", None)
        st = dict(new.get("status") or {})
        if "error" not in status:
            st.pop("error", None)
        st.update(status)
        new["status"] = st
        self.store.update(VSC, new)

    def _error(self, message: str) -> dict[str, Any]:
        return {"readyToUse": False, "error": {"message": message, "time": now_iso()}}

    def _without_finalizer(self, res: Resource, obj: dict[str, Any], fin: str) -> None:
        fins = obj["metadata"].get("finalizers") or []
        if fin in fins:
            new = copy.deepcopy(obj)
            new["metadata"].pop("resourceVersion", None)
            new["metadata"]["finalizers"] = [f for f in fins if f != fin]
            self.store.update(res, new)

    def reconcile_vs(self, ns: str, name: str) -> None:
        vs = self.store.get(VS, ns, name)
        if vs is None:
            return
        if vs["metadata"].get("deletionTimestamp"):  # deleted: handle the content, let it go
            if self.groups.member_blocked(vs):
                return
            self._vs_deleted(vs)
            self._without_finalizer(VS, vs, AS_SOURCE)
            return
        if AS_SOURCE not in (vs["metadata"].get("finalizers") or []):
            new = copy.deepcopy(vs)
            new["metadata"].pop("resourceVersion", None)
            new["metadata"]["finalizers"] = [*(new["metadata"].get("finalizers") or []), AS_SOURCE]
            vs = self.store.update(VS, new)
        st = vs.get("status") or {}
        if st.get("boundVolumeSnapshotContentName") or ("vs-busy", ns, name) in self._pending:
            return
        source = (vs.get("spec") or {}).get("source") or {}
        if source.get("volumeSnapshotContentName"):
            self._bind_preprovisioned(vs, source["volumeSnapshotContentName"])
            return
        claim = source.get("persistentVolumeClaimName")
        if not claim:
            return
        pvc = self.store.get(PVCS, ns, claim)
        if pvc is None or (pvc.get("status") or {}).get("phase") != "Bound":
            # The real snapshot-controller (v8.7.0): without a class in the spec it fails
            # looking up the default class (only status.error, no readyToUse); with one,
            # creating the content (readyToUse false).
            status = self._error(f"the source PVC {claim} is not bound yet")
            if pvc is None and (vs.get("spec") or {}).get("volumeSnapshotClassName"):
                status = self._error(
                    "Failed to create snapshot content with error snapshot controller failed"
                    f" to update {name} on API server: cannot get claim from snapshot"
                )
            elif pvc is None:
                status = self._error(
                    "Failed to set default snapshot class with error failed to retrieve PVC"
                    f' {claim} from the lister: "persistentvolumeclaim \\"{claim}\\" not found"'
                )
                del status["readyToUse"]
            if (st.get("error") or {}).get("message") != status["error"]["message"]:
                self._vs_status(vs, status)
            return
        class_name = (vs.get("spec") or {}).get("volumeSnapshotClassName")
        if class_name:
            vclass = self.store.get(VSCLASS, None, class_name)
            if vclass is None:
                msg = (
                    f"Failed to get snapshot class with error volumesnapshotclass.snapshot."
                    f'storage.k8s.io "{class_name}" not found'
                )
                if (st.get("error") or {}).get("message") != msg:
                    self._vs_status(vs, self._error(msg))
                return
        else:
            vclass = self._default_class(VSCLASS, "snapshot.storage.kubernetes.io/is-default-class")
            if vclass is None:
                msg = "cannot find default snapshot class"
                if (st.get("error") or {}).get("message") != msg:
                    self._vs_status(vs, self._error(msg))
                return
            # like the snapshot-controller: record the default class in the spec
            upd = copy.deepcopy(vs)
            upd["metadata"].pop("resourceVersion", None)
            upd.setdefault("spec", {})["volumeSnapshotClassName"] = vclass["metadata"]["name"]
            vs = self.store.update(VS, upd)
        fault = self.sim.faults.take("snapshot", namespace=ns, name=name, pvc=claim)
        self._pending.add(("vs-busy", ns, name))
        self._spawn(self._take_snapshot(vs, pvc, vclass, fault))

    async def _take_snapshot(
        self,
        vs: dict[str, Any],
        pvc: dict[str, Any],
        vclass: dict[str, Any],
        fault: dict[str, Any] | None,
    ) -> None:
        meta = vs["metadata"]
        ns, name = meta["namespace"], meta["name"]
        try:
            handle = str(uuid.uuid4())
            content_name = f"snapcontent-{meta['uid']}"
            src = self.sim.volume_dir(ns, pvc["metadata"]["name"])
            cut = datetime.now(timezone.utc)  # the snapshot's point in time
            cut_ns = time.time_ns()
            if not (fault and fault.get("mode") == "error"):
                await asyncio.to_thread(
                    consistent_copy, src, self.sim.snapshot_dir(handle), atomic=True
                )
            cur = self.store.get(VS, ns, name)
            if cur is None or cur["metadata"]["uid"] != meta["uid"]:
                shutil.rmtree(self.sim.snapshot_dir(handle), ignore_errors=True)
                return
            size = ((pvc.get("spec") or {}).get("resources") or {}).get("requests", {}).get(
                "storage"
            ) or (pvc.get("status") or {}).get("capacity", {}).get("storage", "1Gi")
            content = {
                "apiVersion": VSC.api_version,
                "kind": "VolumeSnapshotContent",
                "metadata": {"name": content_name, "finalizers": [CONTENT_BOUND]},
                "spec": {
                    "deletionPolicy": vclass.get("deletionPolicy", "Delete"),
                    "driver": vclass.get("driver", DRIVER),
                    "source": {
                        "volumeHandle": (
                            (
                                self.store.get(
                                    PVS, None, (pvc.get("spec") or {}).get("volumeName", "")
                                )
                                or {}
                            ).get("spec")
                            or {}
                        )
                        .get("csi", {})
                        .get("volumeHandle", pvc["metadata"]["uid"])
                    },
                    "sourceVolumeMode": (pvc.get("spec") or {}).get("volumeMode", "Filesystem"),
                    "volumeSnapshotClassName": vclass["metadata"]["name"],
                    "volumeSnapshotRef": {
                        "apiVersion": VS.api_version,
                        "kind": "VolumeSnapshot",
                        "name": name,
                        "namespace": ns,
                        "uid": meta["uid"],
                        "resourceVersion": cur["metadata"]["resourceVersion"],
                    },
                },
            }
            if self.store.get(VSC, None, content_name) is None:
                self.store.create(VSC, content)
            vsc = self.store.get(VSC, None, content_name)
            assert vsc is not None
            if fault and fault.get("mode") == "error":
                msg = fault.get("message") or "Failed to check and update snapshot content"
                self._vsc_status(
                    vsc, {"readyToUse": False, "error": {"message": msg, "time": now_iso()}}
                )
                self._vs_status(
                    cur,
                    {
                        "boundVolumeSnapshotContentName": content_name,
                        "readyToUse": False,
                        "error": {"message": msg, "time": now_iso()},
                    },
                )
                return
            # The CSI CreateSnapshot call returned: the snapshot is cut (creationTime), the
            # upload may go on (readyToUse false until the ready delay has passed), as the
            # snapshot-controller reports it. An application may be unfrozen from here on.
            self._vsc_status(
                vsc, {"snapshotHandle": handle, "readyToUse": False, "creationTime": cut_ns}
            )
            self._vs_status(
                cur,
                {
                    "boundVolumeSnapshotContentName": content_name,
                    "readyToUse": False,
                    "creationTime": cut.strftime("%Y-%m-%dT%H:%M:%SZ"),
                },
            )
            self.event(
                cur,
                "Normal",
                "CreatingSnapshot",
                f"Waiting for a snapshot {ns}/{name} to be created by the CSI driver.",
            )
            self.event(
                cur,
                "Normal",
                "SnapshotCreated",
                f"Snapshot {ns}/{name} was successfully created by the CSI driver.",
            )
            if fault and fault.get("mode") == "never-ready":
                return
            await asyncio.sleep(self.sim.snapshot_ready_delay)
            vsc = self.store.get(VSC, None, content_name)
            cur = self.store.get(VS, ns, name)
            nbytes = quantity_bytes(size)
            if vsc is not None:
                self._vsc_status(
                    vsc,
                    {
                        "creationTime": cut_ns,
                        "readyToUse": True,
                        "restoreSize": nbytes,
                        "snapshotHandle": handle,
                    },
                )
            if cur is not None and cur["metadata"]["uid"] == meta["uid"]:
                self._vs_status(
                    cur,
                    {
                        "creationTime": cut.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "readyToUse": True,
                        "restoreSize": str(size),
                    },
                )
                self.event(cur, "Normal", "SnapshotReady", f"Snapshot {ns}/{name} is ready to use.")
        finally:
            self._pending.discard(("vs-busy", ns, name))

    def _bind_preprovisioned(self, vs: dict[str, Any], content_name: str) -> None:
        vsc = self.store.get(VSC, None, content_name)
        if vsc is None:
            msg = f'volumesnapshotcontent "{content_name}" not found'
            if ((vs.get("status") or {}).get("error") or {}).get("message") != msg:
                self._vs_status(vs, self._error(msg))
            return
        # The snapshot-controller's rules (real-control-plane.md): only a pre-provisioned
        # content (spec.source.snapshotHandle) whose volumeSnapshotRef names this
        # snapshot (and its uid, when set) binds; re-pointing a dynamic one never does.
        vspec = vsc.get("spec") or {}
        ref = vspec.get("volumeSnapshotRef") or {}
        meta = vs["metadata"]
        msg = ""
        if not (vspec.get("source") or {}).get("snapshotHandle"):
            msg = (
                "VolumeSnapshotContent is dynamically provisioned while expecting a"
                " pre-provisioned one"
            )
        elif (ref.get("name"), ref.get("namespace")) != (meta["name"], meta.get("namespace")) or (
            ref.get("uid") and ref.get("uid") != meta.get("uid")
        ):
            msg = f"VolumeSnapshotContent {content_name} is bound to a different VolumeSnapshot"
        if msg:
            if ((vs.get("status") or {}).get("error") or {}).get("message") != msg:
                self._vs_status(vs, self._error(msg))
            return
        # Bound, as the real snapshot-controller does it: the content's ref gets the
        # snapshot's uid, and the content the bound-protection finalizer (deleting it
        # while the snapshot exists only marks it).
        fins = vsc["metadata"].get("finalizers") or []
        if CONTENT_BOUND not in fins or ref.get("uid") != meta.get("uid"):
            new = copy.deepcopy(vsc)
            new["metadata"].pop("resourceVersion", None)
            if CONTENT_BOUND not in fins:
                new["metadata"]["finalizers"] = [*fins, CONTENT_BOUND]
            new["spec"]["volumeSnapshotRef"] = {**ref, "uid": meta.get("uid")}
            vsc = self.store.update(VSC, new)
        cst = vsc.get("status") or {}
        if not cst.get("readyToUse"):
            self.reconcile_vsc("", content_name)
            vsc = self.store.get(VSC, None, content_name) or vsc
            cst = vsc.get("status") or {}
        status: dict[str, Any] = {
            "boundVolumeSnapshotContentName": content_name,
            "readyToUse": bool(cst.get("readyToUse")),
        }
        if cst.get("readyToUse"):
            ct = cst.get("creationTime")
            if isinstance(ct, int):
                status["creationTime"] = datetime.fromtimestamp(ct / 1e9, timezone.utc).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                )
            if cst.get("restoreSize") is not None:
                status["restoreSize"] = str(cst["restoreSize"])
        if cst.get("error"):
            status["error"] = cst["error"]
        new_status = dict(vs.get("status") or {})
        new_status.pop("error", None) if "error" not in status else None
        new_status.update(status)
        if new_status != (vs.get("status") or {}):
            new = copy.deepcopy(vs)
            new["metadata"].pop("resourceVersion", None)
            new["status"] = new_status
            self.store.update(VS, new)

    def reconcile_vsc(self, _ns: str, name: str) -> None:
        """The CSI sidecar for pre-provisioned contents (spec.source.snapshotHandle)."""
        vsc = self.store.get(VSC, None, name)
        if vsc is None:
            return
        if vsc["metadata"].get("deletionTimestamp"):  # deleted: free it once its VS is gone
            ref = (vsc.get("spec") or {}).get("volumeSnapshotRef") or {}
            vs = self.store.get(VS, ref.get("namespace"), ref.get("name", ""))
            if (
                vs is None
                or vs["metadata"].get("deletionTimestamp")
                or (ref.get("uid") and vs["metadata"]["uid"] != ref["uid"])
            ):
                self._without_finalizer(VSC, vsc, CONTENT_BOUND)
            return
        handle = ((vsc.get("spec") or {}).get("source") or {}).get("snapshotHandle")
        st = vsc.get("status") or {}
        if not handle or st.get("readyToUse"):
            return
        path = self.sim.snapshot_dir(handle)
        if os.path.isdir(path):
            self._vsc_status(
                vsc,
                {
                    "snapshotHandle": handle,
                    "readyToUse": True,
                    "creationTime": int(os.stat(path).st_mtime * 1e9),
                    "restoreSize": dir_size(path),
                },
            )
        elif not st.get("error"):
            self._vsc_status(
                vsc,
                {
                    "readyToUse": False,
                    "error": {
                        "message": f'failed to list snapshot for content {name}: "rpc error: code ='
                        f' NotFound desc = snapshot {handle} not found"',
                        "time": now_iso(),
                    },
                },
            )

    def _vs_deleted(self, vs: dict[str, Any]) -> None:
        st = vs.get("status") or {}
        content_name = st.get("boundVolumeSnapshotContentName") or (
            (vs.get("spec") or {}).get("source") or {}
        ).get("volumeSnapshotContentName")
        if not content_name:
            return
        vsc = self.store.get(VSC, None, content_name)
        if vsc is None:
            return
        if (vsc.get("spec") or {}).get("deletionPolicy", "Delete") == "Delete":
            self.store.delete(VSC, None, content_name)
            return
        # Retain: the content stays, bound ref (uid) kept, marked as the real controller does.
        annotations = vsc["metadata"].get("annotations") or {}
        if annotations.get(BEING_DELETED) != "yes":
            new = copy.deepcopy(vsc)
            new["metadata"].pop("resourceVersion", None)
            new["metadata"]["annotations"] = {**annotations, BEING_DELETED: "yes"}
            self.store.update(VSC, new)

    def reconcile_vgs(self, ns: str, name: str) -> None:
        self.groups.reconcile(ns, name)

    def reconcile_vgsc(self, _ns: str, name: str) -> None:
        self.groups.reconcile_content(name)

    def _vsc_deleted(self, vsc: dict[str, Any]) -> None:
        spec = vsc.get("spec") or {}
        if spec.get("deletionPolicy", "Delete") != "Delete":
            return
        if (vsc.get("status") or {}).get("volumeGroupSnapshotHandle"):
            return  # a group's member: its data goes with the group's content
        handle = (vsc.get("status") or {}).get("snapshotHandle") or (spec.get("source") or {}).get(
            "snapshotHandle"
        )
        if handle and "/" not in handle and handle not in (".", ".."):
            shutil.rmtree(self.sim.snapshot_dir(handle), ignore_errors=True)
