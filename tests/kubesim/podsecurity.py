"""Pod Security admission (k8s.io/pod-security-admission, as in Kubernetes 1.33).

A namespace's labels `pod-security.kubernetes.io/enforce|warn=<level>` pick
`privileged` (the default: nothing checked), `baseline` or `restricted`. A Pod
that violates the enforce level is refused (403 Forbidden, the real message);
a Pod or a workload (its pod template) that violates the warn level gets a
`would violate PodSecurity ...` warning. Checks run in the real evaluator's
order (baseline IDs sorted, then restricted IDs sorted; a restricted check
replaces the baseline check it overrides), with the real reasons and details.

Simulated checks: hostNamespaces, privileged, capabilities, hostPath volumes,
hostPorts, seccompProfile, allowPrivilegeEscalation, restricted volume types,
runAsNonRoot, runAsUser. Not simulated (nothing here sets them): appArmor,
seLinuxOptions, procMount, sysctls, windowsHostProcess, user-namespace pods.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

LEVELS = ("privileged", "baseline", "restricted")
ENFORCE = "pod-security.kubernetes.io/enforce"
WARN = "pod-security.kubernetes.io/warn"

_BASELINE_CAPS = {
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
}
_ALLOWED_VOLUMES = (
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "image",
    "persistentVolumeClaim",
    "projected",
    "secret",
)
_VOLUME_TYPES = (
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "nfs",
    "iscsi",
    "glusterfs",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "fc",
    "azureFile",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "storageos",
)

Result = tuple[str, str] | None  # (reason, detail) when forbidden


def _containers(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from spec.get(key) or []


def _sc(c: dict[str, Any]) -> dict[str, Any]:
    return c.get("securityContext") or {}


def _q(items: list[str]) -> str:
    return '"' + '", "'.join(items) + '"' if items else ""


def _pl(singular: str, plural: str, n: int) -> str:
    return singular if n == 1 else plural


def _names(spec: dict[str, Any], bad: Callable[[dict[str, Any]], bool]) -> list[str]:
    return [c.get("name", "") for c in _containers(spec) if bad(c)]


def _windows(spec: dict[str, Any]) -> bool:
    return (spec.get("os") or {}).get("name") == "windows"


# -- baseline ----------------------------------------------------------------------------
def _capabilities_baseline(spec: dict[str, Any]) -> Result:
    bad, caps = [], set()
    for c in _containers(spec):
        added = [
            x
            for x in (_sc(c).get("capabilities") or {}).get("add") or []
            if x not in _BASELINE_CAPS
        ]
        if added:
            bad.append(c.get("name", ""))
            caps.update(added)
    if bad:
        return (
            "non-default capabilities",
            f"{_pl('container', 'containers', len(bad))} {_q(bad)} must not include "
            f"{_q(sorted(caps))} in securityContext.capabilities.add",
        )
    return None


def _host_namespaces(spec: dict[str, Any]) -> Result:
    found = [f"{k}=true" for k in ("hostNetwork", "hostPID", "hostIPC") if spec.get(k)]
    return ("host namespaces", ", ".join(found)) if found else None


def _host_path_volumes(spec: dict[str, Any]) -> Result:
    vols = [v.get("name", "") for v in spec.get("volumes") or [] if "hostPath" in v]
    return (
        ("hostPath volumes", f"{_pl('volume', 'volumes', len(vols))} {_q(vols)}") if vols else None
    )


def _host_ports(spec: dict[str, Any]) -> Result:
    bad: list[str] = []
    ports: set[str] = set()
    for c in _containers(spec):
        hp = [int(p["hostPort"]) for p in c.get("ports") or [] if p.get("hostPort")]
        if hp:
            bad.append(c.get("name", ""))
            ports.update(str(p) for p in hp)
    if bad:
        return (
            "hostPort",
            f"{_pl('container', 'containers', len(bad))} {_q(bad)} "
            f"{_pl('uses', 'use', len(bad))} {_pl('hostPort', 'hostPorts', len(ports))} "
            + ", ".join(sorted(ports)),
        )
    return None


def _privileged(spec: dict[str, Any]) -> Result:
    bad = _names(spec, lambda c: _sc(c).get("privileged") is True)
    if bad:
        return (
            "privileged",
            f"{_pl('container', 'containers', len(bad))} {_q(bad)} "
            "must not set securityContext.privileged=true",
        )
    return None


def _seccomp_type(sc: dict[str, Any]) -> str | None:
    prof = sc.get("seccompProfile")
    return None if prof is None else str(prof.get("type", ""))


def _seccomp(spec: dict[str, Any], restricted: bool) -> Result:
    if restricted and _windows(spec):
        return None
    setters, values, implicit = [], set(), []
    pod_type = _seccomp_type(spec.get("securityContext") or {})
    pod_ok = pod_type in ("RuntimeDefault", "Localhost")
    if pod_type is not None and not pod_ok:
        setters.append("pod")
        values.add(pod_type)
    bad = []
    for c in _containers(spec):
        t = _seccomp_type(_sc(c))
        if t is not None and t not in ("RuntimeDefault", "Localhost"):
            bad.append(c.get("name", ""))
            values.add(t)
        elif t is None and not pod_ok:
            implicit.append(c.get("name", ""))
    if bad:
        setters.append(f"{_pl('container', 'containers', len(bad))} {_q(bad)}")
    if setters:
        return (
            "seccompProfile",
            f"{' and '.join(setters)} must not set "
            f"securityContext.seccompProfile.type to {_q(sorted(values))}",
        )
    if restricted and implicit:
        return (
            "seccompProfile",
            f"pod or {_pl('container', 'containers', len(implicit))} {_q(implicit)} must set "
            'securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"',
        )
    return None


# -- restricted --------------------------------------------------------------------------
def _allow_privilege_escalation(spec: dict[str, Any]) -> Result:
    if _windows(spec):
        return None
    bad = _names(spec, lambda c: _sc(c).get("allowPrivilegeEscalation") is not False)
    if bad:
        return (
            "allowPrivilegeEscalation != false",
            f"{_pl('container', 'containers', len(bad))} {_q(bad)} must set "
            "securityContext.allowPrivilegeEscalation=false",
        )
    return None


def _capabilities_restricted(spec: dict[str, Any]) -> Result:
    if _windows(spec):
        return None
    missing, adding, caps = [], [], set()
    for c in _containers(spec):
        capabilities = _sc(c).get("capabilities")
        if capabilities is None:
            missing.append(c.get("name", ""))
            continue
        if "ALL" not in (capabilities.get("drop") or []):
            missing.append(c.get("name", ""))
        added = [x for x in capabilities.get("add") or [] if x != "NET_BIND_SERVICE"]
        if added:
            adding.append(c.get("name", ""))
            caps.update(added)
    details = []
    if missing:
        details.append(
            f"{_pl('container', 'containers', len(missing))} {_q(missing)} must set "
            'securityContext.capabilities.drop=["ALL"]'
        )
    if adding:
        details.append(
            f"{_pl('container', 'containers', len(adding))} {_q(adding)} must not "
            f"include {_q(sorted(caps))} in securityContext.capabilities.add"
        )
    return ("unrestricted capabilities", "; ".join(details)) if details else None


def _restricted_volumes(spec: dict[str, Any]) -> Result:
    bad, types = [], set()
    for v in spec.get("volumes") or []:
        if any(k in v for k in _ALLOWED_VOLUMES):
            continue
        bad.append(v.get("name", ""))
        types.add(next((t for t in _VOLUME_TYPES if t in v), "unknown"))
    if bad:
        return (
            "restricted volume types",
            f"{_pl('volume', 'volumes', len(bad))} {_q(bad)} {_pl('uses', 'use', len(bad))} "
            f"{_pl('restricted volume type', 'restricted volume types', len(types))} "
            f"{_q(sorted(types))}",
        )
    return None


def _run_as_non_root(spec: dict[str, Any]) -> Result:
    setters = []
    pod = (spec.get("securityContext") or {}).get("runAsNonRoot")
    if pod is False:
        setters.append("pod")
    explicit = _names(spec, lambda c: _sc(c).get("runAsNonRoot") is False)
    implicit = _names(spec, lambda c: _sc(c).get("runAsNonRoot") is None and pod is not True)
    if explicit:
        setters.append(f"{_pl('container', 'containers', len(explicit))} {_q(explicit)}")
    if setters:
        return (
            "runAsNonRoot != true",
            f"{' and '.join(setters)} must not set securityContext.runAsNonRoot=false",
        )
    if implicit:
        return (
            "runAsNonRoot != true",
            f"pod or {_pl('container', 'containers', len(implicit))} {_q(implicit)} "
            "must set securityContext.runAsNonRoot=true",
        )
    return None


def _run_as_user(spec: dict[str, Any]) -> Result:
    setters = []
    if (spec.get("securityContext") or {}).get("runAsUser") == 0:
        setters.append("pod")
    bad = _names(spec, lambda c: _sc(c).get("runAsUser") == 0)
    if bad:
        setters.append(f"{_pl('container', 'containers', len(bad))} {_q(bad)}")
    return ("runAsUser=0", f"{' and '.join(setters)} must not set runAsUser=0") if setters else None


_Check = Callable[[dict[str, Any]], Result]
# Baseline IDs sorted, then restricted IDs sorted (the evaluator's order).
_BASELINE: list[tuple[str, _Check]] = [
    ("capabilities_baseline", _capabilities_baseline),
    ("hostNamespaces", _host_namespaces),
    ("hostPathVolumes", _host_path_volumes),
    ("hostPorts", _host_ports),
    ("privileged", _privileged),
    ("seccompProfile_baseline", lambda s: _seccomp(s, restricted=False)),
]
_RESTRICTED: list[tuple[str, _Check]] = [
    ("allowPrivilegeEscalation", _allow_privilege_escalation),
    ("capabilities_restricted", _capabilities_restricted),
    ("restrictedVolumes", _restricted_volumes),
    ("runAsNonRoot", _run_as_non_root),
    ("runAsUser", _run_as_user),
    ("seccompProfile_restricted", lambda s: _seccomp(s, restricted=True)),
]
_OVERRIDDEN = {"capabilities_baseline", "hostPathVolumes", "seccompProfile_baseline"}


def violations(level: str, spec: dict[str, Any]) -> str:
    """The forbidden detail of a pod spec at a level ("" when allowed)."""
    if level == "privileged":
        return ""
    checks = list(_BASELINE)
    if level == "restricted":
        checks = [c for c in checks if c[0] not in _OVERRIDDEN] + _RESTRICTED
    parts = []
    for _id, check in checks:
        got = check(spec)
        if got:
            parts.append(f"{got[0]} ({got[1]})" if got[1] else got[0])
    return ", ".join(parts)


def _level(labels: dict[str, str], key: str) -> str:
    value = labels.get(key, "privileged")
    return value if value in LEVELS else "restricted"  # an invalid level: the strictest


def evaluate(
    namespace_labels: dict[str, str], spec: dict[str, Any], *, is_pod: bool
) -> tuple[str | None, list[str]]:
    """(the 403 message detail when enforced and violated, warnings) for a pod spec.
    Workloads (is_pod=False) only ever get warnings, as on the real server."""
    enforce = _level(namespace_labels, ENFORCE)
    if is_pod:
        detail = violations(enforce, spec)
        if detail:
            return f'violates PodSecurity "{enforce}:latest": {detail}', []
    warn = _level(namespace_labels, WARN)
    detail = violations(warn, spec)
    return None, ([f'would violate PodSecurity "{warn}:latest": {detail}'] if detail else [])


def pod_spec_of(kind: str, obj: dict[str, Any]) -> dict[str, Any] | None:
    """The pod spec inside a Pod or a workload (None for other kinds)."""
    spec = obj.get("spec") or {}
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    elif kind not in (
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "ReplicaSet",
        "Job",
        "ReplicationController",
        "PodTemplate",
    ):
        return None
    if kind == "PodTemplate":
        return (obj.get("template") or {}).get("spec") or {}
    return ((spec.get("template") or {}).get("spec")) or {}
