"""A Pod Security Standards checker for tests: the checks of the Kubernetes admission
plugin (k8s.io/pod-security-admission/policy, level "latest" of v1.33), one function per
check, each returning PSA's "forbidden reason" lines for a pod spec.

No Python library implements the admission's checks (kube-score and Kyverno's
podSecurity rule are Go); the real admission is exercised by the real control plane tier.
This mirror lets the manifest tests say exactly which rule a pod template breaks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

Pod = dict[str, Any]

BASELINE_CAPABILITIES = frozenset(
    [
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    ]
)
SAFE_SYSCTLS = frozenset(
    [
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
    ]
)
SELINUX_TYPES = frozenset(
    ["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"]
)
RESTRICTED_VOLUMES = frozenset(
    [
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
    ]
)


def containers(pod: Pod) -> Iterator[dict[str, Any]]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from pod.get(key) or []


def _sc(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("securityContext") or {}


# --- baseline -------------------------------------------------------------------------


def host_process(pod: Pod) -> list[str]:
    objs = [pod, *containers(pod)]
    if any((_sc(o).get("windowsOptions") or {}).get("hostProcess") for o in objs):
        return ["hostProcess: windowsOptions.hostProcess=true"]
    return []


def host_namespaces(pod: Pod) -> list[str]:
    on = [k for k in ("hostNetwork", "hostPID", "hostIPC") if pod.get(k)]
    return [f"host namespaces: {'=true, '.join(on)}=true"] if on else []


def privileged(pod: Pod) -> list[str]:
    bad = [c["name"] for c in containers(pod) if _sc(c).get("privileged")]
    return [f"privileged: containers {bad} must not set privileged=true"] if bad else []


def capabilities_baseline(pod: Pod) -> list[str]:
    bad = sorted(
        {
            cap
            for c in containers(pod)
            for cap in (_sc(c).get("capabilities") or {}).get("add") or []
            if cap not in BASELINE_CAPABILITIES
        }
    )
    return [f"non-default capabilities: {bad}"] if bad else []


def host_path_volumes(pod: Pod) -> list[str]:
    bad = [v["name"] for v in pod.get("volumes") or [] if "hostPath" in v]
    return [f"hostPath volumes: {bad}"] if bad else []


def host_ports(pod: Pod) -> list[str]:
    bad = [
        p["hostPort"] for c in containers(pod) for p in c.get("ports") or [] if p.get("hostPort")
    ]
    return [f"hostPort: {bad}"] if bad else []


def app_armor(pod: Pod, annotations: dict[str, str] | None = None) -> list[str]:
    bad = [
        k
        for k, v in (annotations or {}).items()
        if k.startswith("container.apparmor.security.beta.kubernetes.io/")
        and v != "runtime/default"
        and not v.startswith("localhost/")
    ]
    bad += [
        "appArmorProfile"
        for o in (pod, *containers(pod))
        if (_sc(o).get("appArmorProfile") or {}).get("type") == "Unconfined"
    ]
    return [f"forbidden AppArmor profiles: {bad}"] if bad else []


def se_linux(pod: Pod) -> list[str]:
    bad = []
    for o in (pod, *containers(pod)):
        opts = _sc(o).get("seLinuxOptions") or {}
        if opts.get("type", "") not in SELINUX_TYPES or opts.get("user") or opts.get("role"):
            bad.append(opts)
    return [f"seLinuxOptions: {bad}"] if bad else []


def proc_mount(pod: Pod) -> list[str]:
    bad = [c["name"] for c in containers(pod) if _sc(c).get("procMount", "Default") != "Default"]
    return [f"procMount: {bad}"] if bad else []


def seccomp_baseline(pod: Pod) -> list[str]:
    objs = [pod, *containers(pod)]
    if any((_sc(o).get("seccompProfile") or {}).get("type") == "Unconfined" for o in objs):
        return ["seccompProfile: type Unconfined"]
    return []


def sysctls(pod: Pod) -> list[str]:
    bad = [s["name"] for s in _sc(pod).get("sysctls") or [] if s["name"] not in SAFE_SYSCTLS]
    return [f"forbidden sysctls: {bad}"] if bad else []


# --- restricted -----------------------------------------------------------------------


def restricted_volumes(pod: Pod) -> list[str]:
    bad = [
        (v["name"], kind)
        for v in pod.get("volumes") or []
        for kind in v
        if kind != "name" and kind not in RESTRICTED_VOLUMES
    ]
    return [f"restricted volume types: {bad}"] if bad else []


def allow_privilege_escalation(pod: Pod) -> list[str]:
    bad = [
        c["name"] for c in containers(pod) if _sc(c).get("allowPrivilegeEscalation") is not False
    ]
    return [f"allowPrivilegeEscalation != false: containers {bad}"] if bad else []


def run_as_non_root(pod: Pod) -> list[str]:
    pod_level = _sc(pod).get("runAsNonRoot")
    bad = [
        c["name"]
        for c in containers(pod)
        if _sc(c).get("runAsNonRoot") is False
        or (_sc(c).get("runAsNonRoot") is None and pod_level is not True)
    ]
    if pod_level is False or bad:
        return [f"runAsNonRoot != true: pod or containers {bad}"]
    return []


def run_as_user(pod: Pod) -> list[str]:
    objs = [("pod", pod), *((c["name"], c) for c in containers(pod))]
    bad = [name for name, o in objs if _sc(o).get("runAsUser") == 0]
    return [f"runAsUser=0: {bad}"] if bad else []


def seccomp_restricted(pod: Pod) -> list[str]:
    allowed = ("RuntimeDefault", "Localhost")
    pod_type = (_sc(pod).get("seccompProfile") or {}).get("type")
    if pod_type is not None and pod_type not in allowed:
        return [f"seccompProfile: pod must not set type {pod_type}"]
    bad = []
    for c in containers(pod):
        kind = (_sc(c).get("seccompProfile") or {}).get("type")
        if (kind is None and pod_type is None) or (kind is not None and kind not in allowed):
            bad.append(c["name"])
    if bad:
        return [f"seccompProfile: pod or containers {bad} must set RuntimeDefault or Localhost"]
    return []


def capabilities_restricted(pod: Pod) -> list[str]:
    out = []
    no_drop = [
        c["name"]
        for c in containers(pod)
        if "ALL" not in ((_sc(c).get("capabilities") or {}).get("drop") or [])
    ]
    if no_drop:
        out.append(f'unrestricted capabilities: containers {no_drop} must drop ["ALL"]')
    added = sorted(
        {
            cap
            for c in containers(pod)
            for cap in (_sc(c).get("capabilities") or {}).get("add") or []
            if cap != "NET_BIND_SERVICE"
        }
    )
    if added:
        out.append(f"unrestricted capabilities: must not add {added}")
    return out


BASELINE: tuple[Callable[[Pod], list[str]], ...] = (
    host_process,
    host_namespaces,
    privileged,
    capabilities_baseline,
    host_path_volumes,
    host_ports,
    app_armor,
    se_linux,
    proc_mount,
    seccomp_baseline,
    sysctls,
)
RESTRICTED: tuple[Callable[[Pod], list[str]], ...] = (
    *BASELINE,
    restricted_volumes,
    allow_privilege_escalation,
    run_as_non_root,
    run_as_user,
    seccomp_restricted,
    capabilities_restricted,
)


def violations(pod: Pod, level: str = "restricted") -> list[str]:
    """Every reason PSA at ``level`` (baseline or restricted) would give for ``pod``."""
    checks = RESTRICTED if level == "restricted" else BASELINE
    return [line for check in checks for line in check(pod)]
