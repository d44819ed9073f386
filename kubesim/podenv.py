"""A container's environment and mounts from its pod spec (for exec and for running pods)."""

from __future__ import annotations

import base64
import os
from typing import Any

from .resources import CONFIGMAPS, SECRETS
from .responses import error
from .sim import Sim


def _truthy(v: str | None) -> bool:
    return v in ("true", "1", "True")


def _b64(v: str) -> str:
    try:
        return base64.b64decode(v).decode("utf-8", "replace")
    except ValueError:
        return ""


def build_exec_request(sim: Sim, pod: dict[str, Any], query: Any) -> Any:
    from .exectypes import ExecRequest

    meta = pod["metadata"]
    ns, name = meta.get("namespace", ""), meta["name"]
    spec = pod.get("spec") or {}
    containers = list(spec.get("containers") or []) + list(spec.get("initContainers") or [])
    cname = query.get("container", "")
    if not cname:
        if len(spec.get("containers") or []) == 1:
            cname = spec["containers"][0].get("name", "")
        else:
            names = " ".join(c.get("name", "") for c in spec.get("containers") or [])
            raise error(
                400, f"a container name must be specified for pod {name}, choose one of: [{names}]"
            )
    container = next((c for c in containers if c.get("name") == cname), None)
    if container is None:
        raise error(400, f"container {cname} is not valid for pod {name}")
    phase = (pod.get("status") or {}).get("phase", "")
    if phase in ("Succeeded", "Failed"):
        raise error(
            400, f"cannot exec into a container in a completed pod; current phase is {phase}"
        )
    command = list(query.getall("command", []))
    if not command:
        raise error(400, "you must specify at least 1 command")
    env = resolve_env(sim, pod, container)
    mounts = resolve_mounts(sim, pod, container)
    cut = sim.faults.take("exec-cut", namespace=ns, pod=name, container=cname)
    return ExecRequest(
        namespace=ns,
        pod=name,
        container=cname,
        command=command,
        stdin=_truthy(query.get("stdin")),
        stdout=_truthy(query.get("stdout")),
        stderr=_truthy(query.get("stderr")),
        tty=_truthy(query.get("tty")),
        env=env,
        mounts=mounts,
        workdir=container.get("workingDir") or None,
        cut_after_bytes=int(cut["afterBytes"])
        if cut and cut.get("afterBytes") is not None
        else None,
    )


def _ref_value(sim: Sim, ns: str, kind: str, ref: dict[str, Any]) -> str | None:
    res = SECRETS if kind == "secret" else CONFIGMAPS
    obj = sim.store.get(res, ns, ref.get("name", ""))
    if obj is None:
        return None
    key = ref.get("key", "")
    if kind == "secret":
        data = obj.get("data") or {}
        return _b64(data[key]) if key in data else None
    data = obj.get("data") or {}
    return str(data[key]) if key in data else None


def resolve_env(sim: Sim, pod: dict[str, Any], container: dict[str, Any]) -> dict[str, str]:
    ns = pod["metadata"].get("namespace", "")
    env: dict[str, str] = {}
    for src in container.get("envFrom") or []:
        prefix = src.get("prefix", "")
        for kind, key in (("configmap", "configMapRef"), ("secret", "secretRef")):
            ref = src.get(key)
            if not ref:
                continue
            obj = sim.store.get(
                SECRETS if kind == "secret" else CONFIGMAPS, ns, ref.get("name", "")
            )
            for k, v in ((obj or {}).get("data") or {}).items():
                env[prefix + k] = _b64(v) if kind == "secret" else str(v)
    for item in container.get("env") or []:
        name = item.get("name")
        if not name:
            continue
        if "value" in item:
            env[name] = expand(str(item["value"]), env)
            continue
        vf = item.get("valueFrom") or {}
        val: str | None = None
        if "secretKeyRef" in vf:
            val = _ref_value(sim, ns, "secret", vf["secretKeyRef"])
        elif "configMapKeyRef" in vf:
            val = _ref_value(sim, ns, "configmap", vf["configMapKeyRef"])
        elif "fieldRef" in vf:
            path = vf["fieldRef"].get("fieldPath", "")
            meta = pod["metadata"]
            val = {
                "metadata.name": meta.get("name"),
                "metadata.namespace": ns,
                "metadata.uid": meta.get("uid"),
                "spec.nodeName": "kubesim-node",
                "status.podIP": (pod.get("status") or {}).get("podIP", "10.0.0.1"),
                "spec.serviceAccountName": (pod.get("spec") or {}).get(
                    "serviceAccountName", "default"
                ),
            }.get(path)
        if val is not None:
            env[name] = val
        elif "value" not in item and not vf:
            env[name] = ""
    return env


def expand(value: str, env: dict[str, str]) -> str:
    """$(VAR) references to earlier variables, as the kubelet does."""
    import re

    return re.sub(
        r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m.group(1), m.group(0)), value
    )


def resolve_mounts(sim: Sim, pod: dict[str, Any], container: dict[str, Any]) -> list[Any]:
    from .exectypes import Mount

    meta = pod["metadata"]
    ns, pname = meta.get("namespace", ""), meta["name"]
    volumes = {v.get("name"): v for v in (pod.get("spec") or {}).get("volumes") or []}
    mounts = []
    for vm in container.get("volumeMounts") or []:
        vol = volumes.get(vm.get("name"))
        if vol is None or not vm.get("mountPath"):
            continue
        disk: dict[str, Any] | None = None
        if "persistentVolumeClaim" in vol:
            claim = vol["persistentVolumeClaim"].get("claimName", "")
            host = sim.volume_dir(ns, claim)
            disk = sim.faults.take("disk", namespace=ns, pvc=claim)
        elif "emptyDir" in vol:
            host = os.path.join(sim.state_dir, "emptydir", ns, pname, vol["name"])
            if not os.path.isdir(host):
                os.makedirs(host)
                os.chmod(host, 0o777)  # the kubelet's emptyDir mode: any runAsUser may write
        elif "hostPath" in vol:  # the node's filesystem is STATE/hostpath/, not this machine's
            node_path = vol["hostPath"].get("path", "").lstrip("/")
            host = os.path.join(sim.state_dir, "hostpath", node_path)
        elif "configMap" in vol or "secret" in vol:
            host = _project(sim, ns, pname, vol)
        elif "projected" in vol:
            from .serviceaccount import project

            host = project(sim, ns, pod, vol)
        else:
            continue
        if vm.get("subPath"):
            host = os.path.join(host, vm["subPath"])
        os.makedirs(host, exist_ok=True)
        mounts.append(
            Mount(
                host_dir=host,
                mount_path=vm["mountPath"],
                read_only=bool(vm.get("readOnly")),
                disk_size_bytes=int(disk["sizeBytes"]) if disk and disk.get("sizeBytes") else None,
                disk_used_percent=(
                    int(disk["usedPercent"])
                    if disk and disk.get("usedPercent") is not None
                    else None
                ),
            )
        )
    return mounts


def _project(sim: Sim, ns: str, pod: str, vol: dict[str, Any]) -> str:
    """configMap/secret volume: its keys (or `items`) written as files, with their modes."""
    host = os.path.join(sim.state_dir, "projected", ns, pod, vol["name"])
    os.makedirs(host, exist_ok=True)
    if "configMap" in vol:
        src = vol["configMap"]
        obj = sim.store.get(CONFIGMAPS, ns, src.get("name", ""))
        data = {k: str(v).encode() for k, v in ((obj or {}).get("data") or {}).items()}
        for k, v in ((obj or {}).get("binaryData") or {}).items():
            data[k] = base64.b64decode(v)
    else:
        src = vol["secret"]
        obj = sim.store.get(SECRETS, ns, src.get("secretName", ""))
        data = {k: base64.b64decode(v) for k, v in ((obj or {}).get("data") or {}).items()}
    default_mode = int(src.get("defaultMode", 0o644))
    items = src.get("items")
    files = (
        [(it.get("key", ""), it.get("path", ""), int(it.get("mode", default_mode))) for it in items]
        if items
        else [(k, k, default_mode) for k in data]
    )
    for key, rel, mode in files:
        if key not in data or not rel or rel.startswith("/") or ".." in rel.split("/"):
            continue
        path = os.path.join(host, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(data[key])
        os.chmod(path, mode)
    return host
