"""Write-time validation the apiserver does beyond field checks.

The CSI snapshot CRDs' schema rules (external-snapshotter v8 CRDs: required, enum, CEL),
apps/v1 workload selectors and the PVC spec's immutability.
"""

from __future__ import annotations

from typing import Any

from .resources import PVCS, Resource


def _cel(path: str, typ: str, message: str) -> tuple[str, str]:
    return path, f'Invalid value: "{typ}": {message}'


def validate_crd(res: Resource, new: dict[str, Any], old: dict[str, Any] | None) -> None:
    from .resources import VS, VSC, VSCLASS
    from .store import invalid

    causes: list[tuple[str, str]] = []
    name = str((new.get("metadata") or {}).get("name", ""))

    def enum(path: str, value: Any, allowed: tuple[str, ...]) -> None:
        if value is None:
            causes.append((path, "Required value"))
        elif value not in allowed:
            sup = ", ".join(f'"{a}"' for a in allowed)
            causes.append((path, f'Unsupported value: "{value}": supported values: {sup}'))

    def immutable(path: str, key: str, src: dict[str, Any], old_src: dict[str, Any]) -> None:
        if key in old_src and key in src and src[key] != old_src[key]:
            causes.append(_cel(f"{path}.{key}", "string", f"{key} is immutable"))
        elif key in old_src and key not in src:
            causes.append(_cel(path, "object", f"{key} is immutable"))

    def exactly_one(path: str, src: dict[str, Any], a: str, b: str) -> None:
        if (a in src) == (b in src):
            causes.append(_cel(path, "object", f"exactly one of {a} and {b} must be set"))

    if res is VS:
        spec = new.get("spec")
        if not isinstance(spec, dict) or not isinstance(spec.get("source"), dict):
            causes.append(("spec.source" if isinstance(spec, dict) else "spec", "Required value"))
        else:
            src = spec["source"]
            old_src = ((old or {}).get("spec") or {}).get("source") or {}
            exactly_one(
                "spec.source", src, "volumeSnapshotContentName", "persistentVolumeClaimName"
            )
            for key in ("persistentVolumeClaimName", "volumeSnapshotContentName"):
                immutable("spec.source", key, src, old_src)
            if spec.get("volumeSnapshotClassName") == "":
                causes.append(
                    _cel(
                        "spec.volumeSnapshotClassName",
                        "string",
                        "volumeSnapshotClassName must not be the empty string when set",
                    )
                )
    elif res is VSC:
        spec = new.get("spec")
        if not isinstance(spec, dict):
            causes.append(("spec", "Required value"))
        else:
            enum("spec.deletionPolicy", spec.get("deletionPolicy"), ("Delete", "Retain"))
            if not spec.get("driver"):
                causes.append(("spec.driver", "Required value"))
            src = spec.get("source")
            if not isinstance(src, dict):
                causes.append(("spec.source", "Required value"))
            else:
                old_src = ((old or {}).get("spec") or {}).get("source") or {}
                exactly_one("spec.source", src, "volumeHandle", "snapshotHandle")
                for key in ("volumeHandle", "snapshotHandle"):
                    immutable("spec.source", key, src, old_src)
            ref = spec.get("volumeSnapshotRef")
            if not isinstance(ref, dict):
                causes.append(("spec.volumeSnapshotRef", "Required value"))
            elif not ref.get("name") or not ref.get("namespace"):
                causes.append(
                    _cel(
                        "spec",
                        "object",
                        "both spec.volumeSnapshotRef.name and"
                        " spec.volumeSnapshotRef.namespace must be set",
                    )
                )
    elif res is VSCLASS:
        enum("deletionPolicy", new.get("deletionPolicy"), ("Delete", "Retain"))
        if not new.get("driver"):
            causes.append(("driver", "Required value"))
    elif res is PVCS and old is not None:
        _validate_pvc_update(new, old, causes)
    elif res.group == "apps" and res.kind in (
        "Deployment",
        "StatefulSet",
        "ReplicaSet",
        "DaemonSet",
    ):
        _validate_workload(new, old, causes)
    if causes:
        raise invalid(res, name, causes)


def _go_map(m: dict[str, Any]) -> str:
    inner = ", ".join(f'"{k}":"{m[k]}"' for k in sorted(m))
    return "map[string]string{" + inner + "}"


def _validate_workload(
    new: dict[str, Any], old: dict[str, Any] | None, causes: list[tuple[str, str]]
) -> None:
    """selector required, matching the template's labels, immutable (apps/v1)."""
    from .selectors import SelectorError, label_selector_from_object

    spec = new.get("spec") or {}
    sel = spec.get("selector")
    if not isinstance(sel, dict) or not (sel.get("matchLabels") or sel.get("matchExpressions")):
        causes.append(("spec.selector", "Required value"))
        return
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    try:
        matches = label_selector_from_object(sel).matches(labels)
    except SelectorError as exc:
        causes.append(("spec.selector", f"Invalid value: {exc}"))
        return
    if not matches:
        causes.append(
            (
                "spec.template.metadata.labels",
                f"Invalid value: {_go_map(labels)}: `selector` does not match template `labels`",
            )
        )
    old_sel = ((old or {}).get("spec") or {}).get("selector")
    if old is not None and old_sel != sel:
        ml = sel.get("matchLabels") or {}
        shown = _go_map(ml) if ml else "map[string]string(nil)"
        exprs = (
            "[]v1.LabelSelectorRequirement(nil)"
            if not sel.get("matchExpressions")
            else ("[]v1.LabelSelectorRequirement{...}")
        )
        causes.append(
            (
                "spec.selector",
                f"Invalid value: v1.LabelSelector{{MatchLabels:{shown},"
                f" MatchExpressions:{exprs}}}: field is immutable",
            )
        )


def _validate_pvc_update(
    new: dict[str, Any], old: dict[str, Any], causes: list[tuple[str, str]]
) -> None:
    """A PVC's spec is immutable except requests (growing only) and volumeAttributesClassName."""
    from .controllers import quantity_bytes

    def rest(spec: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in spec.items() if k not in ("resources", "volumeAttributesClassName")}
        res = dict(spec.get("resources") or {})
        res.pop("requests", None)
        out["resources"] = res
        return out

    new_spec, old_spec = new.get("spec") or {}, old.get("spec") or {}
    if rest(new_spec) != rest(old_spec):
        causes.append(
            (
                "spec",
                "Forbidden: spec is immutable after creation except"
                " resources.requests and volumeAttributesClassName for bound claims",
            )
        )
        return
    want = ((new_spec.get("resources") or {}).get("requests") or {}).get("storage")
    had = ((old_spec.get("resources") or {}).get("requests") or {}).get("storage")
    if want is not None and had is not None and quantity_bytes(want) < quantity_bytes(had):
        causes.append(
            (
                "spec.resources.requests.storage",
                "Forbidden: field can not be less than status.capacity",
            )
        )
