"""The pod's ServiceAccount credentials: the ``kube-api-access-*`` volume and its files.

Like the ServiceAccount admission plugin, ``admit(sim, pod)`` adds to a pod that
runs (kubelet.py) a projected volume ``kube-api-access-<5>`` (token, ``ca.crt``,
``namespace``) mounted read-only at ``/var/run/secrets/kubernetes.io/serviceaccount``
in every container, unless ``automountServiceAccountToken: false`` on the pod or
its ServiceAccount, or a container already mounts something there.

``project(sim, ns, pod, vol)`` writes a projected volume's files (called by
podenv.resolve_mounts, so ``kubectl exec`` into such a pod sees them too):

* ``serviceAccountToken``: a token of the pod's ServiceAccount that kubesim
  accepts (``--tls``: issued by auth.py, so RBAC applies to it; without TLS the
  file holds a placeholder: kubectl sends no token over plain http anyway). One
  token per pod, issued the first time, like a kubelet's cached TokenRequest.
* ``configMap`` ``kube-root-ca.crt``: kubesim's CA certificate (the
  root-ca-cert-publisher's ConfigMap is not stored, so ``kubectl get cm`` stays
  as it was); any other ConfigMap from the store.
* ``downwardAPI`` items with ``fieldRef`` (metadata.namespace, name, uid, labels
  and annotations are not supported), ``secret``.
"""

from __future__ import annotations

import base64
import os
from typing import TYPE_CHECKING, Any

from .resources import CONFIGMAPS, SECRETS, SERVICEACCOUNTS
from .store import random_suffix

if TYPE_CHECKING:
    from .sim import Sim

MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
ROOT_CA = "kube-root-ca.crt"
NO_TLS_TOKEN = "kubesim-without-tls-has-no-tokens"


def _automount(sim: Sim, pod: dict[str, Any]) -> bool:
    spec = pod.get("spec") or {}
    if "automountServiceAccountToken" in spec:
        return bool(spec["automountServiceAccountToken"])
    sa = sim.store.get(
        SERVICEACCOUNTS, pod["metadata"].get("namespace", ""), spec.get("serviceAccountName", "")
    )
    return bool((sa or {}).get("automountServiceAccountToken", True))


def access_volume(name: str) -> dict[str, Any]:
    """The volume the admission plugin adds (Kubernetes 1.22+ shape)."""
    return {
        "name": name,
        "projected": {
            "defaultMode": 0o644,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": ROOT_CA, "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {
                    "downwardAPI": {
                        "items": [
                            {
                                "path": "namespace",
                                "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                            }
                        ]
                    }
                },
            ],
        },
    }


def admit(sim: Sim, pod: dict[str, Any]) -> bool:
    """Add the kube-api-access volume and mounts to pod (in place); True if it changed."""
    spec = pod.setdefault("spec", {})
    spec.setdefault("serviceAccountName", spec.get("serviceAccount") or "default")
    volumes = spec.setdefault("volumes", [])
    if any(str(v.get("name", "")).startswith("kube-api-access-") for v in volumes):
        return False
    if not _automount(sim, pod):
        return False
    name = "kube-api-access-" + random_suffix()
    volumes.append(access_volume(name))
    for c in list(spec.get("containers") or []) + list(spec.get("initContainers") or []):
        mounts = c.setdefault("volumeMounts", [])
        if not any(m.get("mountPath") == MOUNT_PATH for m in mounts):
            mounts.append({"name": name, "mountPath": MOUNT_PATH, "readOnly": True})
    return True


def _token(sim: Sim, ns: str, sa: str) -> str:
    auth = getattr(sim, "auth", None)
    if auth is None:
        return NO_TLS_TOKEN
    try:
        token, _user = auth.issue_service_account_token(ns, sa)
    except LookupError:
        return ""  # no ServiceAccount: the kubelet would not start the pod (kubelet.py checks)
    return str(token)


def _field(pod: dict[str, Any], path: str) -> str | None:
    meta = pod["metadata"]
    return {
        "metadata.namespace": meta.get("namespace", ""),
        "metadata.name": meta.get("name", ""),
        "metadata.uid": meta.get("uid", ""),
        "spec.serviceAccountName": (pod.get("spec") or {}).get("serviceAccountName", "default"),
        "spec.nodeName": (pod.get("spec") or {}).get("nodeName", "kubesim-node"),
    }.get(path)


def _files(
    sim: Sim, pod: dict[str, Any], source: dict[str, Any]
) -> list[tuple[str, bytes, int | None]]:
    ns = pod["metadata"].get("namespace", "")
    out: list[tuple[str, bytes, int | None]] = []
    if "serviceAccountToken" in source:
        sa = (pod.get("spec") or {}).get("serviceAccountName", "default")
        path = source["serviceAccountToken"].get("path", "token")
        out.append((path, _token(sim, ns, sa).encode(), None))
    elif "configMap" in source or "secret" in source:
        is_cm = "configMap" in source
        ref = source["configMap" if is_cm else "secret"]
        name = ref.get("name", "")
        data: dict[str, bytes] = {}
        if is_cm and name == ROOT_CA and sim.ca_pem is not None:
            data = {"ca.crt": sim.ca_pem}
        else:
            obj = sim.store.get(CONFIGMAPS if is_cm else SECRETS, ns, name) or {}
            for k, v in (obj.get("data") or {}).items():
                data[k] = str(v).encode() if is_cm else base64.b64decode(v)
        items = ref.get("items")
        if items:
            for it in items:
                if it.get("key") in data:
                    out.append((it.get("path", it["key"]), data[it["key"]], it.get("mode")))
        else:
            out.extend((k, v, None) for k, v in data.items())
    elif "downwardAPI" in source:
        for it in source["downwardAPI"].get("items") or []:
            val = _field(pod, (it.get("fieldRef") or {}).get("fieldPath", ""))
            if val is not None:
                out.append((it.get("path", ""), val.encode(), it.get("mode")))
    return out


def project(sim: Sim, ns: str, pod: dict[str, Any], vol: dict[str, Any]) -> str:
    """Write a projected volume's files (once per pod) and return its directory."""
    host = os.path.join(sim.state_dir, "projected", ns, pod["metadata"]["name"], vol["name"])
    if os.path.isdir(host):
        return host  # the token stays the same for the pod's life
    tmp = host + ".tmp"
    os.makedirs(tmp, exist_ok=True)
    spec = vol.get("projected") or {}
    default_mode = int(spec.get("defaultMode", 0o644))
    for source in spec.get("sources") or []:
        for rel, data, mode in _files(sim, pod, source):
            if not rel or rel.startswith("/") or ".." in rel.split("/"):
                continue
            path = os.path.join(tmp, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as fh:
                fh.write(data)
            os.chmod(path, int(mode) if mode is not None else default_mode)
    os.rename(tmp, host)
    return host


__all__ = ["MOUNT_PATH", "access_volume", "admit", "project"]
