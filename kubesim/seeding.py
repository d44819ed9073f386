"""Seeding: objects loaded as given (status kept), seed files, the objects present at start."""

from __future__ import annotations

import gc
import json
from typing import Any

from .resources import NAMESPACES, by_kind
from .responses import error
from .sim import Sim
from .writes import normalize


def load_objects(sim: Sim, docs: list[Any]) -> int:
    """Create objects as given (status kept); create missing namespaces on the way."""
    n = 0
    flat: list[dict[str, Any]] = []
    for doc in docs:
        if not doc:
            continue
        if isinstance(doc, dict) and doc.get("kind", "").endswith("List") and "items" in doc:
            flat.extend(doc["items"])
        else:
            flat.append(doc)
    for doc in flat:
        res = by_kind(doc.get("apiVersion", ""), doc.get("kind", ""))
        if res is None:
            raise error(
                400,
                f'no kind "{doc.get("kind")}" is registered for version "{doc.get("apiVersion")}"',
            )
        meta = doc.setdefault("metadata", {})
        if res.namespaced:
            ns = meta.setdefault("namespace", "default")
            if not sim.store.namespace_exists(ns):
                sim.store.create(NAMESPACES, {"metadata": {"name": ns}})
        normalize(res, doc)
        existing = sim.store.get(res, meta.get("namespace"), meta.get("name", ""))
        if existing is not None and res is NAMESPACES:
            continue
        created = sim.store.create(res, doc, seed=True)
        sim.store.encoded(res, created)  # warm the JSON cache: big seeds list fast at once
        n += 1
    # Seeded objects live as long as the simulator: out of the cyclic collector's way, or
    # every full collection walks them all (seconds at half a million objects, and the
    # event loop, every request with it, waits that long).
    gc.freeze()
    return n


def load_seed_file(sim: Sim, path: str) -> int:
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    if path.endswith(".json"):
        data = json.loads(text)
        docs = data if isinstance(data, list) else [data]
    else:
        import yaml

        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        docs = list(yaml.load_all(text, Loader=loader))
    return load_objects(sim, docs)


def seed_defaults(sim: Sim) -> None:
    st = sim.store
    for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
        st.create(NAMESPACES, {"metadata": {"name": ns}})
    load_objects(
        sim,
        [
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {
                    "name": "kubesim-node",
                    "labels": {"kubernetes.io/hostname": "kubesim-node"},
                },
                "status": {
                    "conditions": [{"type": "Ready", "status": "True"}],
                    "nodeInfo": {"kubeletVersion": f"v1.{sim.minor}.0"},
                },
            },
            {
                "apiVersion": "storage.k8s.io/v1",
                "kind": "StorageClass",
                "metadata": {
                    "name": "csi-hostpath-sc",
                    "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
                },
                "provisioner": "hostpath.csi.k8s.io",
                "reclaimPolicy": "Delete",
                "volumeBindingMode": "Immediate",
                "allowVolumeExpansion": True,
            },
            {
                "apiVersion": "snapshot.storage.k8s.io/v1",
                "kind": "VolumeSnapshotClass",
                "metadata": {
                    "name": "csi-hostpath-snapclass",
                    "annotations": {"snapshot.storage.kubernetes.io/is-default-class": "true"},
                },
                "driver": "hostpath.csi.k8s.io",
                "deletionPolicy": "Delete",
            },
            {
                "apiVersion": "storage.k8s.io/v1",
                "kind": "CSIDriver",
                "metadata": {"name": "hostpath.csi.k8s.io"},
                "spec": {"attachRequired": False},
            },
        ],
    )
