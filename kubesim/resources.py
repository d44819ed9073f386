"""The kinds kubesim serves: one table, used by discovery, openapi, routing and the store."""

from __future__ import annotations

from dataclasses import dataclass

VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    crd: bool = False
    subresources: tuple[str, ...] = ()
    has_generation: bool = True
    """Whether metadata.generation is kept (kinds with a spec)."""

    @property
    def categories(self) -> tuple[str, ...]:
        return ("all",) if (self.group, self.plural) in _ALL_CATEGORY else ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> str:
        """`volumesnapshots.snapshot.storage.k8s.io`, `pods`: the name used in messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def key(self) -> str:
        return f"{self.group}/{self.plural}"

    @property
    def list_kind(self) -> str:
        return self.kind + "List"


def _r(
    group: str,
    version: str,
    plural: str,
    kind: str,
    namespaced: bool = True,
    short: tuple[str, ...] = (),
    *,
    crd: bool = False,
    sub: tuple[str, ...] = (),
    gen: bool = True,
) -> Resource:
    return Resource(group, version, plural, kind.lower(), kind, namespaced, short, crd, sub, gen)


_ALL_CATEGORY = {
    ("", "pods"),
    ("", "services"),
    ("apps", "deployments"),
    ("apps", "replicasets"),
    ("apps", "statefulsets"),
    ("apps", "daemonsets"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
    ("autoscaling", "horizontalpodautoscalers"),
}
SNAP = "snapshot.storage.k8s.io"
GROUP_SNAP = "groupsnapshot.storage.k8s.io"
RBAC = "rbac.authorization.k8s.io"

ALL: tuple[Resource, ...] = (
    # core
    _r("", "v1", "namespaces", "Namespace", False, ("ns",), sub=("status", "finalize"), gen=False),
    _r("", "v1", "pods", "Pod", True, ("po",), sub=("status", "exec", "log"), gen=False),
    _r(
        "",
        "v1",
        "persistentvolumeclaims",
        "PersistentVolumeClaim",
        True,
        ("pvc",),
        sub=("status",),
        gen=False,
    ),
    _r(
        "",
        "v1",
        "persistentvolumes",
        "PersistentVolume",
        False,
        ("pv",),
        sub=("status",),
        gen=False,
    ),
    _r("", "v1", "configmaps", "ConfigMap", True, ("cm",), gen=False),
    _r("", "v1", "secrets", "Secret", True, gen=False),
    _r("", "v1", "serviceaccounts", "ServiceAccount", True, ("sa",), gen=False),
    _r("", "v1", "services", "Service", True, ("svc",), sub=("status",), gen=False),
    _r("", "v1", "endpoints", "Endpoints", True, ("ep",), gen=False),
    _r("", "v1", "events", "Event", True, ("ev",), gen=False),
    _r("", "v1", "limitranges", "LimitRange", True, ("limits",), gen=False),
    _r("", "v1", "resourcequotas", "ResourceQuota", True, ("quota",), sub=("status",), gen=False),
    _r("", "v1", "nodes", "Node", False, ("no",), sub=("status",), gen=False),
    # apps
    _r("apps", "v1", "deployments", "Deployment", True, ("deploy",), sub=("status", "scale")),
    _r("apps", "v1", "statefulsets", "StatefulSet", True, ("sts",), sub=("status", "scale")),
    _r("apps", "v1", "replicasets", "ReplicaSet", True, ("rs",), sub=("status", "scale")),
    _r("apps", "v1", "daemonsets", "DaemonSet", True, ("ds",), sub=("status",)),
    _r("apps", "v1", "controllerrevisions", "ControllerRevision", True, gen=False),
    # batch
    _r("batch", "v1", "jobs", "Job", True, sub=("status",)),
    _r("batch", "v1", "cronjobs", "CronJob", True, ("cj",), sub=("status",)),
    # autoscaling / policy / networking / scheduling / coordination
    _r(
        "autoscaling",
        "v2",
        "horizontalpodautoscalers",
        "HorizontalPodAutoscaler",
        True,
        ("hpa",),
        sub=("status",),
    ),
    _r(
        "policy",
        "v1",
        "poddisruptionbudgets",
        "PodDisruptionBudget",
        True,
        ("pdb",),
        sub=("status",),
    ),
    _r("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True, ("netpol",)),
    _r("networking.k8s.io", "v1", "ingresses", "Ingress", True, ("ing",), sub=("status",)),
    _r("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", False, ("pc",), gen=False),
    _r("coordination.k8s.io", "v1", "leases", "Lease", True, gen=False),
    _r("events.k8s.io", "v1", "events", "Event", True, gen=False),
    # rbac
    _r(RBAC, "v1", "roles", "Role", True, gen=False),
    _r(RBAC, "v1", "rolebindings", "RoleBinding", True, gen=False),
    _r(RBAC, "v1", "clusterroles", "ClusterRole", False, gen=False),
    _r(RBAC, "v1", "clusterrolebindings", "ClusterRoleBinding", False, gen=False),
    # admission policies: stored and served, not enforced (the real tier tests them)
    _r(
        "admissionregistration.k8s.io",
        "v1",
        "validatingadmissionpolicies",
        "ValidatingAdmissionPolicy",
        False,
        sub=("status",),
    ),
    _r(
        "admissionregistration.k8s.io",
        "v1",
        "validatingadmissionpolicybindings",
        "ValidatingAdmissionPolicyBinding",
        False,
    ),
    # storage
    _r("storage.k8s.io", "v1", "storageclasses", "StorageClass", False, ("sc",), gen=False),
    _r("storage.k8s.io", "v1", "csidrivers", "CSIDriver", False, gen=False),
    _r(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        False,
        ("crd", "crds"),
        sub=("status",),
    ),
    # CSI snapshots (CRDs on a real cluster)
    _r(SNAP, "v1", "volumesnapshots", "VolumeSnapshot", True, ("vs",), crd=True, sub=("status",)),
    _r(
        SNAP,
        "v1",
        "volumesnapshotcontents",
        "VolumeSnapshotContent",
        False,
        ("vsc", "vscs"),
        crd=True,
        sub=("status",),
    ),
    _r(
        SNAP,
        "v1",
        "volumesnapshotclasses",
        "VolumeSnapshotClass",
        False,
        ("vsclass", "vsclasses"),
        crd=True,
        gen=False,
    ),
    # CSI group snapshots (CRDs on a real cluster, external-snapshotter v8.7.0's client/v8)
    _r(
        GROUP_SNAP,
        "v1",
        "volumegroupsnapshots",
        "VolumeGroupSnapshot",
        True,
        ("vgs",),
        crd=True,
        sub=("status",),
    ),
    _r(
        GROUP_SNAP,
        "v1",
        "volumegroupsnapshotcontents",
        "VolumeGroupSnapshotContent",
        False,
        ("vgsc", "vgscs"),
        crd=True,
        sub=("status",),
    ),
    _r(
        GROUP_SNAP,
        "v1",
        "volumegroupsnapshotclasses",
        "VolumeGroupSnapshotClass",
        False,
        ("vgsclass", "vgsclasses"),
        crd=True,
        gen=False,
    ),
    # prometheus-operator's PrometheusRule (a CRD on a real cluster; out/monitoring/)
    _r(
        "monitoring.coreos.com",
        "v1",
        "prometheusrules",
        "PrometheusRule",
        True,
        ("promrule",),
        crd=True,
    ),
)

_BY_PATH: dict[tuple[str, str, str], Resource] = {(r.group, r.version, r.plural): r for r in ALL}
_BY_GROUP_PLURAL: dict[tuple[str, str], Resource] = {(r.group, r.plural): r for r in ALL}
_BY_KIND: dict[tuple[str, str], Resource] = {}
for _res in ALL:
    _BY_KIND.setdefault((_res.api_version, _res.kind), _res)


def find(group: str, plural: str) -> Resource | None:
    return _BY_GROUP_PLURAL.get((group, plural))


def find_versioned(group: str, version: str, plural: str) -> Resource | None:
    return _BY_PATH.get((group, version, plural))


def by_kind(api_version: str, kind: str) -> Resource | None:
    return _BY_KIND.get((api_version, kind))


def _must(group: str, plural: str) -> Resource:
    res = find(group, plural)
    assert res is not None
    return res


def group_versions() -> list[tuple[str, str]]:
    """(group, version) pairs in discovery order (core first)."""
    seen: list[tuple[str, str]] = []
    for r in ALL:
        if (r.group, r.version) not in seen:
            seen.append((r.group, r.version))
    return seen


NAMESPACES = _must("", "namespaces")
PODS = _must("", "pods")
PVCS = _must("", "persistentvolumeclaims")
PVS = _must("", "persistentvolumes")
CONFIGMAPS = _must("", "configmaps")
SECRETS = _must("", "secrets")
SERVICEACCOUNTS = _must("", "serviceaccounts")
EVENTS = _must("", "events")
CONTROLLERREVISIONS = _must("apps", "controllerrevisions")
DEPLOYMENTS = _must("apps", "deployments")
STATEFULSETS = _must("apps", "statefulsets")
REPLICASETS = _must("apps", "replicasets")
DAEMONSETS = _must("apps", "daemonsets")
JOBS = _must("batch", "jobs")
CRONJOBS = _must("batch", "cronjobs")
STORAGECLASSES = _must("storage.k8s.io", "storageclasses")
VS = _must(SNAP, "volumesnapshots")
VSC = _must(SNAP, "volumesnapshotcontents")
VSCLASS = _must(SNAP, "volumesnapshotclasses")
VGS = _must(GROUP_SNAP, "volumegroupsnapshots")
VGSC = _must(GROUP_SNAP, "volumegroupsnapshotcontents")
VGSCLASS = _must(GROUP_SNAP, "volumegroupsnapshotclasses")
