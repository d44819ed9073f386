"""VolumeGroupSnapshots (groupsnapshot.storage.k8s.io/v1), as the snapshot-controller
and the CSI snapshotter of external-snapshotter v8.7.0 handle them.

A dynamic group: the class (spec, or the default class of the PVCs' driver, written
into the spec), the PVCs the selector matches in the namespace, one content
``groupsnapcontent-<group uid>``, every volume copied at one instant, then per volume a
member content ``snapcontent-<sha256(group uid + volume handle)>`` (annotation
``groupsnapshot.storage.k8s.io/volumeGroupSnapshotHandle``) and a member VolumeSnapshot
``snapshot-<same hash>`` owned by the group, with the finalizer that keeps it while the
group exists (deleting a member alone only marks it). Deleting the group deletes its
members; its content is deleted with it when its deletionPolicy is Delete, and only
then are the members' data removed (a member content's own deletion never calls the
driver). The volumes are cut at one instant: their users stand still for the copies.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import shutil
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from . import freeze
from .resources import PVCS, PVS, VGS, VGSC, VGSCLASS, VS, VSC
from .selectors import SelectorError, format_label_selector, label_selector_from_object
from .store import ApiError, now_iso

if TYPE_CHECKING:
    from .controllers import Controllers

DEFAULT_CLASS = "groupsnapshot.storage.kubernetes.io/is-default-class"
GROUP_BOUND = "groupsnapshot.storage.kubernetes.io/volumegroupsnapshot-bound-protection"
GROUP_CONTENT_BOUND = (
    "groupsnapshot.storage.kubernetes.io/volumegroupsnapshotcontent-bound-protection"
)
IN_GROUP = "snapshot.storage.kubernetes.io/volumesnapshot-in-group-protection"
GROUP_HANDLE = "groupsnapshot.storage.k8s.io/volumeGroupSnapshotHandle"
GROUP_BEING_DELETED = "groupsnapshot.storage.kubernetes.io/volumegroupsnapshot-being-deleted"

_CUT_LOCK = threading.Lock()
"""One group's volumes are copied back to back under this lock, with every process
that uses any of them stopped for the whole copy (freeze.py): one instant for all."""


def member_hash(group_uid: str, volume_handle: str) -> str:
    return hashlib.sha256((group_uid + volume_handle).encode()).hexdigest()


def _rfc3339(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _cut(copies: list[tuple[str, str]]) -> None:
    from .controllers import consistent_copy

    with _CUT_LOCK, freeze.stopped(*(src for src, _ in copies)):
        for src, dst in copies:
            consistent_copy(src, dst)


class GroupSnapshots:
    def __init__(self, ctl: Controllers) -> None:
        self.ctl = ctl
        self.store = ctl.store
        self.sim = ctl.sim

    # -- helpers --------------------------------------------------------------------------
    def _update(self, res: Any, obj: dict[str, Any], fn: Any) -> dict[str, Any]:
        new = copy.deepcopy(obj)
        new["metadata"].pop("resourceVersion", None)
        fn(new)
        return self.store.update(res, new)

    def _error(self, vgs: dict[str, Any], message: str) -> None:
        st = vgs.get("status") or {}
        if (st.get("error") or {}).get("message") == message:
            return
        self.ctl.event(vgs, "Warning", "GroupSnapshotContentCreationFailed", message)

        def put(o: dict[str, Any]) -> None:
            o["status"] = {
                **(o.get("status") or {}),
                "readyToUse": False,
                "error": {"message": message, "time": now_iso()},
            }

        self._update(VGS, vgs, put)

    def _class_for(self, vgs: dict[str, Any], claims: list[dict[str, Any]]) -> Any:
        name = (vgs.get("spec") or {}).get("volumeGroupSnapshotClassName")
        if name:
            found = self.store.get(VGSCLASS, None, name)
            if found is None:
                return (
                    f"failed to get input parameters to create group snapshot"
                    f' {vgs["metadata"]["name"]}: "failed to retrieve group snapshot class'
                    f" {name} from the informer: volumegroupsnapshotclass.groupsnapshot.storage"
                    f'.k8s.io \\"{name}\\" not found"'
                )
            return found
        drivers = {self._driver(c) for c in claims}
        driver = sorted(drivers)[0] if drivers else ""
        defaults = [
            c
            for c in self.store.list(VGSCLASS)
            if c.get("driver") == driver
            and (c["metadata"].get("annotations") or {}).get(DEFAULT_CLASS) == "true"
        ]
        if len(defaults) != 1:
            return f"cannot find default group snapshot class for driver {driver}"
        cls = defaults[0]
        self._update(
            VGS,
            vgs,
            lambda o: o.setdefault("spec", {}).update(
                volumeGroupSnapshotClassName=cls["metadata"]["name"]
            ),
        )
        return cls

    def _pv(self, claim: dict[str, Any]) -> dict[str, Any]:
        return self.store.get(PVS, None, (claim.get("spec") or {}).get("volumeName", "")) or {}

    def _driver(self, claim: dict[str, Any]) -> str:
        return str(((self._pv(claim).get("spec") or {}).get("csi") or {}).get("driver", ""))

    def _handle(self, claim: dict[str, Any]) -> str:
        csi = (self._pv(claim).get("spec") or {}).get("csi") or {}
        return str(csi.get("volumeHandle") or claim["metadata"]["uid"])

    # -- the group ------------------------------------------------------------------------
    def reconcile(self, ns: str, name: str) -> None:
        vgs = self.store.get(VGS, ns, name)
        if vgs is None:
            return
        if vgs["metadata"].get("deletionTimestamp"):
            self._group_deleted(vgs)
            return
        st = vgs.get("status") or {}
        if st.get("boundVolumeGroupSnapshotContentName") or ("vgs-busy", ns, name) in (
            self.ctl._pending
        ):
            return
        sel = ((vgs.get("spec") or {}).get("source") or {}).get("selector")
        if sel is None:
            return  # a pre-provisioned group: not simulated
        try:
            selector = label_selector_from_object(sel)
        except SelectorError as exc:
            self._error(vgs, str(exc))
            return
        claims = [
            c
            for c in self.store.list(PVCS, ns)
            if selector.matches(c["metadata"].get("labels") or {})
        ]
        if not claims:
            self._error(
                vgs,
                "failed to create group snapshot content with error failed to get input"
                f' parameters to create group snapshot {name}: "label selector'
                f' {format_label_selector(sel)} for group snapshot not applied to any PVC"',
            )
            return
        unbound = [c for c in claims if (c.get("status") or {}).get("phase") != "Bound"]
        if unbound:
            self._error(vgs, f"the PVC {unbound[0]['metadata']['name']} is not bound yet")
            return
        cls = self._class_for(vgs, claims)
        if isinstance(cls, str):
            self._error(vgs, cls)
            return
        vgs = self.store.get(VGS, ns, name) or vgs
        self.ctl._pending.add(("vgs-busy", ns, name))
        self.ctl._spawn(self._take(vgs, claims, cls))

    async def _take(
        self, vgs: dict[str, Any], claims: list[dict[str, Any]], cls: dict[str, Any]
    ) -> None:
        meta = vgs["metadata"]
        ns, name, uid = meta["namespace"], meta["name"], meta["uid"]
        try:
            claims = sorted(claims, key=lambda c: str(c["metadata"]["name"]))
            handles = [self._handle(c) for c in claims]
            content_name = f"groupsnapcontent-{uid}"
            if GROUP_BOUND not in (meta.get("finalizers") or []):
                vgs = self._update(
                    VGS,
                    vgs,
                    lambda o: o["metadata"].update(
                        finalizers=[*(o["metadata"].get("finalizers") or []), GROUP_BOUND]
                    ),
                )
            if self.store.get(VGSC, None, content_name) is None:
                self.store.create(
                    VGSC,
                    {
                        "metadata": {"name": content_name, "finalizers": [GROUP_CONTENT_BOUND]},
                        "spec": {
                            "deletionPolicy": cls.get("deletionPolicy", "Delete"),
                            "driver": cls.get("driver", ""),
                            "source": {"volumeHandles": handles},
                            "volumeGroupSnapshotClassName": cls["metadata"]["name"],
                            "volumeGroupSnapshotRef": {
                                "apiVersion": VGS.api_version,
                                "kind": "VolumeGroupSnapshot",
                                "name": name,
                                "namespace": ns,
                                "uid": uid,
                                "resourceVersion": vgs["metadata"]["resourceVersion"],
                            },
                        },
                    },
                )
            self.ctl.event(
                vgs,
                "Normal",
                "CreatingGroupSnapshot",
                f"Waiting for a group snapshot {ns}/{name} to be created by the CSI driver.",
            )
            group_handle = str(uuid.uuid4())
            snap_handles = [str(uuid.uuid4()) for _ in claims]
            copies = [
                (self.sim.volume_dir(ns, c["metadata"]["name"]), self.sim.snapshot_dir(h))
                for c, h in zip(claims, snap_handles, strict=True)
            ]
            cut = datetime.now(timezone.utc)
            cut_ns = time.time_ns()
            await asyncio.to_thread(_cut, copies)
            if self.store.get(VGS, ns, name) is None:
                for _, dst in copies:
                    shutil.rmtree(dst, ignore_errors=True)
                return
            sizes = [
                str(
                    ((c.get("status") or {}).get("capacity") or {}).get("storage")
                    or ((c.get("spec") or {}).get("resources") or {})
                    .get("requests", {})
                    .get("storage", "1Gi")
                )
                for c in claims
            ]
            from .controllers import quantity_bytes

            await asyncio.sleep(self.sim.snapshot_ready_delay)
            vgsc = self.store.get(VGSC, None, content_name)
            if vgsc is None:
                return
            infos = [
                {
                    "creationTime": cut_ns,
                    "readyToUse": True,
                    "restoreSize": quantity_bytes(size),
                    "snapshotHandle": sh,
                    "volumeHandle": vh,
                }
                for vh, sh, size in zip(handles, snap_handles, sizes, strict=True)
            ]
            self._update(
                VGSC,
                vgsc,
                lambda o: o.update(
                    status={
                        "creationTime": _rfc3339(cut),
                        "readyToUse": True,
                        "volumeGroupSnapshotHandle": group_handle,
                        "volumeSnapshotInfoList": infos,
                    }
                ),
            )
            for claim, info, size in zip(claims, infos, sizes, strict=True):
                self._member(vgs, cls, claim, info, size, group_handle, cut)
            cur = self.store.get(VGS, ns, name)
            if cur is not None:
                self._update(
                    VGS,
                    cur,
                    lambda o: o.update(
                        status={
                            "boundVolumeGroupSnapshotContentName": content_name,
                            "creationTime": _rfc3339(cut),
                            "readyToUse": True,
                        }
                    ),
                )
                self.ctl.event(
                    cur,
                    "Normal",
                    "GroupSnapshotCreated",
                    f"GroupSnapshot {ns}/{name} was successfully created by the CSI driver.",
                )
                self.ctl.event(
                    cur,
                    "Normal",
                    "GroupSnapshotReady",
                    f"GroupSnapshot {ns}/{name} is ready to use.",
                )
        finally:
            self.ctl._pending.discard(("vgs-busy", ns, name))

    def _member(
        self,
        vgs: dict[str, Any],
        cls: dict[str, Any],
        claim: dict[str, Any],
        info: dict[str, Any],
        size: str,
        group_handle: str,
        cut: datetime,
    ) -> None:
        from .controllers import AS_SOURCE, CONTENT_BOUND

        meta = vgs["metadata"]
        ns = meta["namespace"]
        digest = member_hash(meta["uid"], info["volumeHandle"])
        vs_name, vsc_name = f"snapshot-{digest}", f"snapcontent-{digest}"
        vsc = self.store.create(
            VSC,
            {
                "metadata": {
                    "name": vsc_name,
                    "annotations": {GROUP_HANDLE: group_handle},
                    "finalizers": [CONTENT_BOUND],
                },
                "spec": {
                    "deletionPolicy": cls.get("deletionPolicy", "Delete"),
                    "driver": cls.get("driver", ""),
                    "source": {"volumeHandle": info["volumeHandle"]},
                    "sourceVolumeMode": (claim.get("spec") or {}).get("volumeMode", "Filesystem"),
                    "volumeSnapshotRef": {
                        "kind": "VolumeSnapshot",
                        "name": vs_name,
                        "namespace": ns,
                    },
                },
            },
        )
        vs = self.store.create(
            VS,
            {
                "metadata": {
                    "name": vs_name,
                    "namespace": ns,
                    "ownerReferences": [
                        {
                            "apiVersion": VGS.api_version,
                            "kind": "VolumeGroupSnapshot",
                            "name": meta["name"],
                            "uid": meta["uid"],
                        }
                    ],
                    "finalizers": [IN_GROUP, AS_SOURCE],
                },
                "spec": {"source": {"persistentVolumeClaimName": claim["metadata"]["name"]}},
            },
        )
        self._update(
            VSC,
            vsc,
            lambda o: (
                o["spec"]["volumeSnapshotRef"].update(uid=vs["metadata"]["uid"]),
                o.update(
                    status={
                        "creationTime": info["creationTime"],
                        "readyToUse": True,
                        "restoreSize": info["restoreSize"],
                        "snapshotHandle": info["snapshotHandle"],
                        "volumeGroupSnapshotHandle": group_handle,
                    }
                ),
            ),
        )
        self._update(
            VS,
            vs,
            lambda o: o.update(
                status={
                    "boundVolumeSnapshotContentName": vsc_name,
                    "creationTime": _rfc3339(cut),
                    "readyToUse": True,
                    "restoreSize": size,
                    "volumeGroupSnapshotName": meta["name"],
                }
            ),
        )

    # -- deletion -------------------------------------------------------------------------
    def members(self, ns: str, group_name: str) -> list[dict[str, Any]]:
        return [
            vs
            for vs in self.store.list(VS, ns)
            if ((vs.get("status") or {}).get("volumeGroupSnapshotName") == group_name)
            or any(
                r.get("kind") == "VolumeGroupSnapshot" and r.get("name") == group_name
                for r in vs["metadata"].get("ownerReferences") or []
            )
        ]

    def member_blocked(self, vs: dict[str, Any]) -> bool:
        """A member VolumeSnapshot being deleted stays while its group exists; once the
        group is gone its in-group finalizer goes (True: still blocked)."""
        group = (vs.get("status") or {}).get("volumeGroupSnapshotName")
        if not group:
            return False
        ns = vs["metadata"]["namespace"]
        if self.store.get(VGS, ns, group) is not None:
            key = ("member-blocked", vs["metadata"]["uid"])
            if key not in self.ctl._told:
                self.ctl._told.add(key)
                self.ctl.event(
                    vs,
                    "Warning",
                    "SnapshotDeletePending",
                    f"deletion of the individual volume snapshot {ns}/{vs['metadata']['name']}"
                    f" is not allowed as it belongs to group snapshot {ns}/{group}. Deleting the"
                    " group snapshot will trigger the deletion of all the individual volume"
                    " snapshots that are part of the group.",
                )
            return True
        self.ctl._without_finalizer(VS, vs, IN_GROUP)
        return False

    def _group_deleted(self, vgs: dict[str, Any]) -> None:
        meta = vgs["metadata"]
        ns, name = meta["namespace"], meta["name"]
        content_name = (vgs.get("status") or {}).get("boundVolumeGroupSnapshotContentName")
        vgsc = self.store.get(VGSC, None, content_name) if content_name else None
        delete_content = vgsc is not None and (vgsc.get("spec") or {}).get("deletionPolicy") == (
            "Delete"
        )
        if vgsc is not None:
            ann = vgsc["metadata"].get("annotations") or {}
            if ann.get(GROUP_BEING_DELETED) != "yes":
                vgsc = self._update(
                    VGSC,
                    vgsc,
                    lambda o: o["metadata"].update(annotations={**ann, GROUP_BEING_DELETED: "yes"}),
                )
            if delete_content:
                with contextlib.suppress(ApiError):
                    self.store.delete(VGSC, None, vgsc["metadata"]["name"])
        for vs in self.members(ns, name):
            with contextlib.suppress(ApiError):
                self.store.delete(VS, ns, vs["metadata"]["name"])
        if not delete_content or self.store.get(VGSC, None, content_name or "") is None:
            self.ctl._without_finalizer(VGS, vgs, GROUP_BOUND)

    def reconcile_content(self, name: str) -> None:
        """The CSI snapshotter's side: a deleted group content with deletionPolicy Delete
        removes every member's data (DeleteVolumeGroupSnapshot), then lets go; the
        group it belonged to may then go too."""
        vgsc = self.store.get(VGSC, None, name)
        if vgsc is None or not vgsc["metadata"].get("deletionTimestamp"):
            return
        spec = vgsc.get("spec") or {}
        if spec.get("deletionPolicy") == "Delete":
            for info in (vgsc.get("status") or {}).get("volumeSnapshotInfoList") or []:
                handle = str(info.get("snapshotHandle") or "")
                if handle and "/" not in handle and handle not in (".", ".."):
                    shutil.rmtree(self.sim.snapshot_dir(handle), ignore_errors=True)
        self.ctl._without_finalizer(VGSC, vgsc, GROUP_CONTENT_BOUND)
        ref = spec.get("volumeGroupSnapshotRef") or {}
        if ref.get("namespace") and ref.get("name"):
            self.ctl._schedule("vgs", ref["namespace"], ref["name"])
