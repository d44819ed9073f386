"""Discovery documents: aggregated (apidiscovery.k8s.io/v2) and legacy, built once."""

from __future__ import annotations

from typing import Any

from .resources import ALL, VERBS, Resource, group_versions

AGGREGATED_CT = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
AGGREGATED_BETA_CT = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"

_SUB_VERBS = {
    "status": ["get", "patch", "update"],
    "scale": ["get", "patch", "update"],
    "exec": ["create", "get"],
    "log": ["get"],
    "finalize": ["update"],
}
_SUB_KIND = {
    "scale": ("autoscaling", "v1", "Scale"),
    "exec": ("", "v1", "PodExecOptions"),
    "log": ("", "v1", "Pod"),
}


def wants_aggregated(accept: str) -> str | None:
    """The aggregated Content-Type to answer with, or None for legacy."""
    if "as=APIGroupDiscoveryList" not in accept:
        return None
    for part in accept.split(","):
        if "as=APIGroupDiscoveryList" in part:
            return AGGREGATED_BETA_CT if "v=v2beta1" in part else AGGREGATED_CT
    return None


def _gv_str(group: str, version: str) -> str:
    return f"{group}/{version}" if group else version


def _agg_resource(r: Resource) -> dict[str, Any]:
    d: dict[str, Any] = {
        "resource": r.plural,
        "responseKind": {"group": r.group, "version": r.version, "kind": r.kind},
        "scope": "Namespaced" if r.namespaced else "Cluster",
        "singularResource": r.singular,
        "verbs": list(VERBS),
    }
    if r.short_names:
        d["shortNames"] = list(r.short_names)
    if r.categories:
        d["categories"] = list(r.categories)
    if r.subresources:
        subs = []
        for s in r.subresources:
            g, v, k = _SUB_KIND.get(s, (r.group, r.version, r.kind))
            subs.append(
                {
                    "subresource": s,
                    "responseKind": {"group": g, "version": v, "kind": k},
                    "verbs": _SUB_VERBS.get(s, ["get"]),
                }
            )
        d["subresources"] = subs
    return d


def aggregated(core: bool, content_type: str = AGGREGATED_CT) -> dict[str, Any]:
    doc_version = "v2beta1" if content_type == AGGREGATED_BETA_CT else "v2"
    items = []
    for group, version in group_versions():
        if (group == "") != core:
            continue
        res = [_agg_resource(r) for r in ALL if r.group == group and r.version == version]
        items.append(
            {
                "metadata": {"name": group, "creationTimestamp": None},
                "versions": [{"version": version, "resources": res, "freshness": "Current"}],
            }
        )
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": f"apidiscovery.k8s.io/{doc_version}",
        "metadata": {},
        "items": items,
    }


def legacy_api() -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}
        ],
    }


def legacy_apis() -> dict[str, Any]:
    groups = []
    for group, version in group_versions():
        if not group:
            continue
        gv = {"groupVersion": _gv_str(group, version), "version": version}
        groups.append({"name": group, "versions": [gv], "preferredVersion": gv})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def legacy_group(group: str, version: str) -> dict[str, Any] | None:
    if group:
        for g, v in group_versions():
            if g == group:
                gv = {"groupVersion": _gv_str(g, v), "version": v}
                return {
                    "kind": "APIGroup",
                    "apiVersion": "v1",
                    "name": g,
                    "versions": [gv],
                    "preferredVersion": gv,
                }
    return None


def resource_list(group: str, version: str) -> dict[str, Any] | None:
    rs = [r for r in ALL if r.group == group and r.version == version]
    if not rs:
        return None
    out: list[dict[str, Any]] = []
    for r in rs:
        d: dict[str, Any] = {
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": list(VERBS),
        }
        if r.short_names:
            d["shortNames"] = list(r.short_names)
        if r.categories:
            d["categories"] = list(r.categories)
        out.append(d)
        for s in r.subresources:
            g, v, k = _SUB_KIND.get(s, (r.group, r.version, r.kind))
            sd: dict[str, Any] = {
                "name": f"{r.plural}/{s}",
                "singularName": "",
                "namespaced": r.namespaced,
                "kind": k,
                "verbs": _SUB_VERBS.get(s, ["get"]),
            }
            if (g, v) != (r.group, r.version):
                sd["group"], sd["version"] = g, v
            out.append(sd)
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": _gv_str(group, version),
        "resources": out,
    }
