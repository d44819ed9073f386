"""cluster/admission-policies.yaml: on by default, off by controller.admissionPolicies,
the platform groups of controller.adminGroups written into the policies' CEL."""

from __future__ import annotations

import pytest
import yaml

from backupns_gen.errors import ConfigError
from backupns_gen.loader import parse_config
from backupns_gen.render import Renderer
from tests.genhelpers import plan_of

NS = "namespaces: {a: {pvcs: [x]}}\n"


def rendered(text: str) -> dict[str, str]:
    return {p: f.text for p, f in Renderer().render(plan_of(text)).items()}


def policies(text: str) -> list[dict[str, object]]:
    return list(yaml.safe_load_all(rendered(text)["cluster/admission-policies.yaml"]))


def test_on_by_default_two_policies_each_bound_to_deny() -> None:
    docs = policies(NS)
    assert [(d["kind"], d["metadata"]["name"]) for d in docs] == [  # type: ignore[index]
        ("ValidatingAdmissionPolicy", "backup-ns-snapshots"),
        ("ValidatingAdmissionPolicyBinding", "backup-ns-snapshots"),
        ("ValidatingAdmissionPolicy", "backup-ns-snapshot-contents"),
        ("ValidatingAdmissionPolicyBinding", "backup-ns-snapshot-contents"),
    ]
    for d in docs[1::2]:
        assert d["spec"] == {"policyName": d["metadata"]["name"], "validationActions": ["Deny"]}  # type: ignore[index]
    text = rendered(NS)["cluster/admission-policies.yaml"]
    assert "g in ['system:masters', 'kubeadm:cluster-admins']" in text
    assert "'system:serviceaccount:backup-ns:backup-ns-controller'" in text
    assert "cluster/admission-policies.yaml" in rendered(NS)["Kustomization"]


def test_the_switch_and_the_groups() -> None:
    off = rendered("controller: {admissionPolicies: false}\n" + NS)
    assert "cluster/admission-policies.yaml" not in off
    assert "admission-policies" not in off["Kustomization"]
    text = rendered("controller: {namespace: ops, adminGroups: ['oidc:platform']}\n" + NS)[
        "cluster/admission-policies.yaml"
    ]
    assert "g in ['oidc:platform']" in text and "'system:masters'" not in text
    assert "'system:serviceaccount:ops:backup-ns-controller'" in text


@pytest.mark.parametrize("group", ["it's", "a b", "", "-x"])
def test_a_group_that_cannot_go_into_cel_is_refused(group: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"controller": {"adminGroups": [group]}, "namespaces": {"a": {"pvcs": ["x"]}}})
    (line,) = info.value.lines()
    assert line.startswith("backupns.yaml: controller.adminGroups[0]: "), line
    assert line.endswith(
        "is not a group name this tool accepts (letters, digits and : . _ @ / -, "
        "starting with a letter or digit, at most 253 characters)"
    ), line
