"""Pod Security admission (k8s.io/pod-security-admission, as in Kubernetes 1.33).

A namespace's labels `pod-security.kubernetes.io/enforce|warn=<level>` pick
`privileged` (the default: nothing checked), `baseline` or `restricted`. A Pod
that violates the enforce level is refused (403 Forbidden, the real message);
a Pod or a workload (its pod template) that violates the warn level gets a
`would violate PodSecurity ...` warning. Checks run in the real evaluator's
order (baseline IDs sorted, then restricted IDs sorted; a restricted check
replaces the baseline check it overrides), with the real reasons and details.

All 17 checks of k8s.io/pod-security-admission v0.33.13 (policy/check_*.go), at
version "latest": baseline appArmorProfile, capabilities, hostNamespaces, hostPath
volumes, hostPorts, privileged, procMount, seLinuxOptions, seccompProfile, sysctls,
windowsHostProcess; restricted allowPrivilegeEscalation, capabilities, restricted
volume types, runAsNonRoot, runAsUser, seccompProfile. Not simulated: the relaxed
checks of user-namespace pods (`hostUsers: false`; behind an alpha feature gate).

The one Pod Security checker of the tests: kubesim's admission uses `evaluate`, the
manifest tests (tests/generator/test_podsecurity.py) `results`/`forbidden` on rendered pod specs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from functools import partial
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
_SYSCTLS = frozenset(  # sysctlsAllowedV1Dot32
    (
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
        "net.ipv4.tcp_rmem",
        "net.ipv4.tcp_wmem",
    )
)
_SELINUX_TYPES = frozenset(
    ("", "container_t", "container_init_t", "container_kvm_t", "container_engine_t")
)
_APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
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


def _who(names: list[str]) -> str:
    """'container "a"' / 'containers "a", "b"': who an error names."""
    return f"{_pl('container', 'containers', len(names))} {_q(names)}"


def _names(spec: dict[str, Any], bad: Callable[[dict[str, Any]], bool]) -> list[str]:
    return [c.get("name", "") for c in _containers(spec) if bad(c)]


def _offenders(
    spec: dict[str, Any], bad_values: Callable[[dict[str, Any]], list[str]]
) -> tuple[list[str], set[str]]:
    """The containers with a forbidden value (in visit order), and all those values."""
    names: list[str] = []
    values: set[str] = set()
    for c in _containers(spec):
        found = bad_values(c)
        if found:
            names.append(c.get("name", ""))
            values.update(found)
    return names, values


def _windows(spec: dict[str, Any]) -> bool:
    return (spec.get("os") or {}).get("name") == "windows"


# -- baseline ----------------------------------------------------------------------------
def _setters(pod: bool, bad: list[str]) -> list[str]:
    """ "pod" and/or "container(s) "a", "b"": who set a forbidden value."""
    out = ["pod"] if pod else []
    if bad:
        out.append(f"{_who(bad)}")
    return out


def _app_armor(spec: dict[str, Any], annotations: dict[str, str]) -> Result:
    def bad_type(sc: dict[str, Any]) -> str | None:
        prof = sc.get("appArmorProfile")
        if prof is None or prof.get("type") in ("RuntimeDefault", "Localhost"):
            return None
        return str(prof.get("type", ""))

    values: set[str] = set()
    pod_type = bad_type(spec.get("securityContext") or {})
    if pod_type is not None:
        values.add(pod_type)
    bad = []
    for c in _containers(spec):
        t = bad_type(_sc(c))
        if t is not None:
            bad.append(c.get("name", ""))
            values.add(t)
    setters = _setters(pod_type is not None, bad)
    listed = sorted(values)
    forbidden = sorted(
        f"{k}={json.dumps(v, ensure_ascii=False)}"
        for k, v in annotations.items()
        if k.startswith(_APPARMOR_ANNOTATION)
        and v
        and v != "runtime/default"
        and not v.startswith("localhost/")
    )
    if forbidden:
        listed += forbidden
        setters.append(_pl("annotation", "annotations", len(forbidden)))
    if setters:
        return (
            _pl("forbidden AppArmor profile", "forbidden AppArmor profiles", len(listed)),
            f"{' and '.join(setters)} must not set AppArmor profile type to {_q(listed)}",
        )
    return None


def _capabilities_baseline(spec: dict[str, Any]) -> Result:
    bad, caps = _offenders(
        spec,
        lambda c: [
            x
            for x in (_sc(c).get("capabilities") or {}).get("add") or []
            if x not in _BASELINE_CAPS
        ],
    )
    if bad:
        return (
            "non-default capabilities",
            f"{_who(bad)} must not include {_q(sorted(caps))} in securityContext.capabilities.add",
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
    bad, ports = _offenders(
        spec, lambda c: [str(int(p["hostPort"])) for p in c.get("ports") or [] if p.get("hostPort")]
    )
    if bad:
        return (
            "hostPort",
            f"{_who(bad)} "
            f"{_pl('uses', 'use', len(bad))} {_pl('hostPort', 'hostPorts', len(ports))} "
            + ", ".join(sorted(ports)),
        )
    return None


def _privileged(spec: dict[str, Any]) -> Result:
    bad = _names(spec, lambda c: _sc(c).get("privileged") is True)
    if bad:
        return (
            "privileged",
            f"{_who(bad)} must not set securityContext.privileged=true",
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
        setters.append(f"{_who(bad)}")
    if setters:
        return (
            "seccompProfile",
            f"{' and '.join(setters)} must not set "
            f"securityContext.seccompProfile.type to {_q(sorted(values))}",
        )
    if restricted and implicit:
        return (
            "seccompProfile",
            f"pod or {_who(implicit)} must set "
            'securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"',
        )
    return None


def _proc_mount(spec: dict[str, Any]) -> Result:
    def forbidden(c: dict[str, Any]) -> list[str]:
        pm = _sc(c).get("procMount")
        return [str(pm)] if pm is not None and pm != "Default" else []

    bad, types = _offenders(spec, forbidden)
    if bad:
        return (
            "procMount",
            f"{_who(bad)} must not set securityContext.procMount to {_q(sorted(types))}",
        )
    return None


def _se_linux(spec: dict[str, Any]) -> Result:
    types: set[str] = set()
    flags = {"user": False, "role": False}

    def valid(opts: dict[str, Any]) -> bool:
        ok = True
        if opts.get("type", "") not in _SELINUX_TYPES:
            ok = False
            types.add(str(opts.get("type", "")))
        for key in ("user", "role"):
            if opts.get(key):
                ok = False
                flags[key] = True
        return ok

    pod_opts = (spec.get("securityContext") or {}).get("seLinuxOptions")
    pod_bad = pod_opts is not None and not valid(pod_opts)
    bad = [
        c.get("name", "")
        for c in _containers(spec)
        if _sc(c).get("seLinuxOptions") is not None and not valid(_sc(c)["seLinuxOptions"])
    ]
    setters = _setters(pod_bad, bad)
    if not setters:
        return None
    data = [f"{_pl('type', 'types', len(types))} {_q(sorted(types))}"] if types else []
    data += [f"{key} may not be set" for key in ("user", "role") if flags[key]]
    return (
        "seLinuxOptions",
        f"{' and '.join(setters)} set forbidden securityContext.seLinuxOptions: " + "; ".join(data),
    )


def _sysctls(spec: dict[str, Any]) -> Result:
    sysctls = (spec.get("securityContext") or {}).get("sysctls") or []
    bad = [str(x.get("name", "")) for x in sysctls if x.get("name") not in _SYSCTLS]
    return ("forbidden sysctls", ", ".join(bad)) if bad else None


def _windows_host_process(spec: dict[str, Any]) -> Result:
    def on(sc: dict[str, Any]) -> bool:
        return (sc.get("windowsOptions") or {}).get("hostProcess") is True

    bad = _names(spec, lambda c: on(_sc(c)))
    setters = _setters(on(spec.get("securityContext") or {}), bad)
    if setters:
        return (
            "hostProcess",
            f"{' and '.join(setters)} must not set securityContext.windowsOptions.hostProcess=true",
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
            f"{_who(bad)} must set securityContext.allowPrivilegeEscalation=false",
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
        details.append(f'{_who(missing)} must set securityContext.capabilities.drop=["ALL"]')
    if adding:
        details.append(
            f"{_who(adding)} must not "
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
        setters.append(f"{_who(explicit)}")
    if setters:
        return (
            "runAsNonRoot != true",
            f"{' and '.join(setters)} must not set securityContext.runAsNonRoot=false",
        )
    if implicit:
        return (
            "runAsNonRoot != true",
            f"pod or {_who(implicit)} must set securityContext.runAsNonRoot=true",
        )
    return None


def _run_as_user(spec: dict[str, Any]) -> Result:
    setters = []
    if (spec.get("securityContext") or {}).get("runAsUser") == 0:
        setters.append("pod")
    bad = _names(spec, lambda c: _sc(c).get("runAsUser") == 0)
    if bad:
        setters.append(f"{_who(bad)}")
    return ("runAsUser=0", f"{' and '.join(setters)} must not set runAsUser=0") if setters else None


_Check = Callable[[dict[str, Any]], Result]
# Baseline IDs sorted, then restricted IDs sorted (the evaluator's order: Go's byte order).
_BASELINE: list[tuple[str, _Check]] = [
    ("capabilities_baseline", _capabilities_baseline),
    ("hostNamespaces", _host_namespaces),
    ("hostPathVolumes", _host_path_volumes),
    ("hostPorts", _host_ports),
    ("privileged", _privileged),
    ("procMount", _proc_mount),
    ("seLinuxOptions", _se_linux),
    ("seccompProfile_baseline", lambda s: _seccomp(s, restricted=False)),
    ("sysctls", _sysctls),
    ("windowsHostProcess", _windows_host_process),
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


def results(
    level: str, spec: dict[str, Any], annotations: dict[str, str] | None = None
) -> list[tuple[str, str, str]]:
    """(check ID, forbidden reason, detail) of every check a pod spec fails at a level,
    in the evaluator's order. ``annotations``: the pod's (AppArmor's beta annotations)."""
    if level == "privileged":
        return []
    app_armor: _Check = partial(_app_armor, annotations=annotations or {})
    checks = [("appArmorProfile", app_armor), *_BASELINE]
    if level == "restricted":
        checks = [c for c in checks if c[0] not in _OVERRIDDEN] + _RESTRICTED
    out = []
    for check_id, check in checks:
        got = check(spec)
        if got:
            out.append((check_id, *got))
    return out


def forbidden(
    level: str, spec: dict[str, Any], annotations: dict[str, str] | None = None
) -> list[str]:
    """Each failed check as the real message shows it: `reason (detail)`."""
    return [f"{r} ({d})" if d else r for _id, r, d in results(level, spec, annotations)]


def violations(level: str, spec: dict[str, Any], annotations: dict[str, str] | None = None) -> str:
    """The forbidden detail of a pod spec at a level ("" when allowed)."""
    return ", ".join(forbidden(level, spec, annotations))


def _level(labels: dict[str, str], key: str) -> str:
    value = labels.get(key, "privileged")
    return value if value in LEVELS else "restricted"  # an invalid level: the strictest


def evaluate(
    namespace_labels: dict[str, str],
    spec: dict[str, Any],
    *,
    is_pod: bool,
    annotations: dict[str, str] | None = None,
) -> tuple[str | None, list[str]]:
    """(the 403 message detail when enforced and violated, warnings) for a pod spec.
    Workloads (is_pod=False) only ever get warnings, as on the real server."""
    enforce = _level(namespace_labels, ENFORCE)
    if is_pod:
        detail = violations(enforce, spec, annotations)
        if detail:
            return f'violates PodSecurity "{enforce}:latest": {detail}', []
    warn = _level(namespace_labels, WARN)
    detail = violations(warn, spec, annotations)
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


def pod_annotations_of(kind: str, obj: dict[str, Any]) -> dict[str, str]:
    """The annotations of the pod (template) inside a Pod or a workload."""
    if kind == "Pod":
        meta = obj.get("metadata") or {}
    elif kind == "PodTemplate":
        meta = (obj.get("template") or {}).get("metadata") or {}
    else:
        spec = obj.get("spec") or {}
        if kind == "CronJob":
            spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
        meta = (spec.get("template") or {}).get("metadata") or {}
    return dict(meta.get("annotations") or {})
