"""Unit tests for kubesim/patch.py (merge, JSON and strategic merge patches)."""

# ruff: noqa: E501  (Kubernetes objects and the server's messages read best unwrapped)

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubesim.patch import (
    PatchError,
    accepted_patch_types,
    apply_patch,
    json_patch,
    merge_patch,
    strategic_merge_patch,
)

# ---------------------------------------------------------------- RFC 7386


@pytest.mark.parametrize(
    ("target", "patch", "result"),
    [  # RFC 7386 appendix A, all of it
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        (["a", "b"], ["c", "d"], ["c", "d"]),
        ({"a": "b"}, ["c"], ["c"]),
        ({"a": "foo"}, None, None),
        ({"a": "foo"}, "bar", "bar"),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ],
)
def test_merge_patch_rfc7386_examples(target: Any, patch: Any, result: Any) -> None:
    assert merge_patch(target, patch) == result


def test_merge_patch_does_not_mutate() -> None:
    target = {"metadata": {"labels": {"a": "1"}}, "spec": {"x": [1]}}
    patch = {"metadata": {"labels": {"a": None, "b": "2"}}}
    before_t, before_p = copy.deepcopy(target), copy.deepcopy(patch)
    out = merge_patch(target, patch)
    assert out == {"metadata": {"labels": {"b": "2"}}, "spec": {"x": [1]}}
    assert target == before_t
    assert patch == before_p
    out["spec"]["x"].append(2)
    assert target["spec"]["x"] == [1]


def test_kubectl_label_patches() -> None:
    obj = {"metadata": {"name": "snap", "labels": {"keep": "1", "gone": "x"}}}
    assert merge_patch(obj, {"metadata": {"labels": {"new": "v"}}})["metadata"]["labels"] == {
        "keep": "1",
        "gone": "x",
        "new": "v",
    }
    assert merge_patch(obj, {"metadata": {"labels": {"gone": None}}})["metadata"]["labels"] == {
        "keep": "1"
    }
    assert merge_patch(obj, {}) == obj  # `kubectl label k-` of a missing key sends {}


_scalar = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text("ab", max_size=2))
_json = st.recursive(
    _scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from("abcd"), inner, max_size=3)
    ),
    max_leaves=10,
)
_obj = st.dictionaries(st.sampled_from("abcd"), _json, max_size=4)


@settings(max_examples=40, deadline=None, database=None)
@given(_json, _json)
def test_merge_patch_is_idempotent(target: Any, patch: Any) -> None:
    once = merge_patch(target, patch)
    assert merge_patch(once, patch) == once


@settings(max_examples=40, deadline=None, database=None)
@given(_obj)
def test_merge_patch_empty_is_identity(target: dict[str, Any]) -> None:
    assert merge_patch(target, {}) == target


@settings(max_examples=40, deadline=None, database=None)
@given(_obj, _obj)
def test_merge_patch_sets_every_non_null_member(
    target: dict[str, Any], patch: dict[str, Any]
) -> None:
    out = merge_patch(target, patch)
    for key, value in patch.items():
        if value is None:
            assert key not in out
        elif not isinstance(value, dict):
            assert out[key] == value
    for key in target:
        if key not in patch:
            assert out[key] == target[key]


# ---------------------------------------------------------------- RFC 6902


@pytest.mark.parametrize(
    ("doc", "ops", "result"),
    [  # RFC 6902 appendix A (the applicable examples)
        (
            {"foo": "bar"},
            [{"op": "add", "path": "/baz", "value": "qux"}],
            {"baz": "qux", "foo": "bar"},
        ),
        (
            {"foo": ["bar", "baz"]},
            [{"op": "add", "path": "/foo/1", "value": "qux"}],
            {"foo": ["bar", "qux", "baz"]},
        ),
        ({"baz": "qux", "foo": "bar"}, [{"op": "remove", "path": "/baz"}], {"foo": "bar"}),
        (
            {"foo": ["bar", "qux", "baz"]},
            [{"op": "remove", "path": "/foo/1"}],
            {"foo": ["bar", "baz"]},
        ),
        (
            {"baz": "qux", "foo": "bar"},
            [{"op": "replace", "path": "/baz", "value": "boo"}],
            {"baz": "boo", "foo": "bar"},
        ),
        (
            {"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}},
            [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}],
            {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}},
        ),
        (
            {"foo": ["all", "grass", "cows", "eat"]},
            [{"op": "move", "from": "/foo/1", "path": "/foo/3"}],
            {"foo": ["all", "cows", "eat", "grass"]},
        ),
        (
            {"baz": "qux", "foo": ["a", 2, "c"]},
            [
                {"op": "test", "path": "/baz", "value": "qux"},
                {"op": "test", "path": "/foo/1", "value": 2},
            ],
            {"baz": "qux", "foo": ["a", 2, "c"]},
        ),
        (
            {"foo": "bar"},
            [{"op": "add", "path": "/child", "value": {"grandchild": {}}}],
            {"foo": "bar", "child": {"grandchild": {}}},
        ),
        (
            {"foo": "bar"},
            [{"op": "add", "path": "/baz", "value": "qux", "xyz": 123}],
            {"foo": "bar", "baz": "qux"},
        ),
        ({"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": 10}], {"/": 9, "~1": 10}),
        (
            {"foo": ["bar"]},
            [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}],
            {"foo": ["bar", ["abc", "def"]]},
        ),
        # kubectl patch --type json, as used on VolumeSnapshotContents
        (
            {"spec": {"deletionPolicy": "Retain"}},
            [{"op": "replace", "path": "/spec/deletionPolicy", "value": "Delete"}],
            {"spec": {"deletionPolicy": "Delete"}},
        ),
        (
            {"a/b": {"~c": 1}},
            [{"op": "replace", "path": "/a~1b/~0c", "value": 2}],
            {"a/b": {"~c": 2}},
        ),
        (
            {"l": [1, 2, 3]},
            [{"op": "remove", "path": "/l/-1"}],
            {"l": [1, 2]},
        ),  # v4: negative index
        ({"l": [1]}, [{"op": "copy", "from": "/l/0", "path": "/m"}], {"l": [1], "m": 1}),
        ({"a": 1}, [{"op": "test", "path": "/missing", "value": None}], {"a": 1}),
        ({"a": 1}, [{"op": "add", "path": "/b"}], {"a": 1, "b": None}),  # v4: no value = null
        ({}, [], {}),
    ],
)
def test_json_patch_examples(doc: Any, ops: list[Any], result: Any) -> None:
    assert json_patch(doc, ops) == result


@pytest.mark.parametrize(
    ("doc", "ops", "message"),
    [
        (
            {"baz": "qux"},
            [{"op": "test", "path": "/baz", "value": "bar"}],
            "testing value /baz failed: test failed",
        ),
        (
            {"/": 9, "~1": 10},
            [{"op": "test", "path": "/~01", "value": "10"}],
            "testing value /~01 failed: test failed",
        ),
        (
            {"a": True},
            [{"op": "test", "path": "/a", "value": 1}],
            "testing value /a failed: test failed",
        ),
        (
            {"foo": "bar"},
            [{"op": "add", "path": "/baz/bat", "value": "qux"}],
            'add operation does not apply: doc is missing path: "/baz/bat": missing value',
        ),
        (
            {"a": 1},
            [{"op": "remove", "path": "/x"}],
            "error in remove for path: '/x': Unable to remove nonexistent key: x: missing value",
        ),
        (
            {"a": 1},
            [{"op": "replace", "path": "/x", "value": 1}],
            "replace operation does not apply: doc is missing key: /x: missing value",
        ),
        (
            {"a": [1]},
            [{"op": "add", "path": "/a/5", "value": 1}],
            "error in add for path: '/a/5': Unable to access invalid index: 5: invalid index referenced",
        ),
        (
            {"a": [1]},
            [{"op": "remove", "path": "/a/x"}],
            "error in remove for path: '/a/x': value was not a proper array index: 'x'",
        ),
        (
            {"a": 1},
            [{"op": "move", "from": "/nope", "path": "/b"}],
            "move operation does not apply: doc is missing from path: /nope: missing value",
        ),
        (
            {"a": {}},
            [{"op": "move", "from": "/a", "path": "/a/b"}],
            "Unable to move /a into its own child /a/b",
        ),
        ({"a": 1}, [{"op": "frobnicate", "path": "/a"}], "Unexpected kind: frobnicate"),
        ({"a": 1}, [{"path": "/a"}], "Unexpected kind: unknown"),
        (
            {"a": 1},
            [{"op": "add", "value": 1}],
            "add operation failed to decode path: operation missing path field: missing value",
        ),
    ],
)
def test_json_patch_errors(doc: Any, ops: list[Any], message: str) -> None:
    with pytest.raises(PatchError) as exc:
        json_patch(doc, ops)
    assert str(exc.value) == message
    assert exc.value.code == 422


def test_json_patch_is_atomic_and_does_not_mutate() -> None:
    doc = {"a": [1, 2], "b": {"c": 1}}
    before = copy.deepcopy(doc)
    with pytest.raises(PatchError):
        json_patch(doc, [{"op": "remove", "path": "/a/0"}, {"op": "remove", "path": "/zz"}])
    assert doc == before
    out = json_patch(doc, [{"op": "add", "path": "/b/d", "value": [3]}])
    out["b"]["d"].append(4)
    assert doc == before


@settings(max_examples=40, deadline=None, database=None)
@given(_obj, st.sampled_from("abcdxyz"), _json)
def test_json_patch_add_then_remove_restores(doc: dict[str, Any], key: str, value: Any) -> None:
    if key in doc:
        return
    added = json_patch(doc, [{"op": "add", "path": f"/{key}", "value": value}])
    assert added[key] == value
    assert json_patch(added, [{"op": "remove", "path": f"/{key}"}]) == doc


@settings(max_examples=40, deadline=None, database=None)
@given(_obj, st.sampled_from("abcd"), _json)
def test_json_patch_replace_equals_merge_for_present_scalars(
    doc: dict[str, Any], key: str, value: Any
) -> None:
    if key not in doc or value is None or isinstance(value, dict):
        return
    assert json_patch(doc, [{"op": "replace", "path": f"/{key}", "value": value}]) == merge_patch(
        doc, {key: value}
    )


# ---------------------------------------------------------------- strategic merge patch


def deployment(containers: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "app", "namespace": "ns1", "labels": {"app": "x"}},
        "spec": {
            "template": {
                "metadata": {"labels": {"app": "x"}},
                "spec": {"containers": containers, **spec},
            }
        },
    }


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = obj["spec"]["template"]["spec"]
    return spec


def smp_containers(
    containers: list[dict[str, Any]], patch_containers: list[Any], **extra: Any
) -> list[Any]:
    target = deployment(containers)
    patch = {"spec": {"template": {"spec": {"containers": patch_containers, **extra}}}}
    return list(pod_spec(strategic_merge_patch(target, patch, "Deployment"))["containers"])


def test_smp_containers_merge_by_name() -> None:
    out = smp_containers(
        [{"name": "db", "image": "pg:15"}, {"name": "app", "image": "app:1"}],
        [{"name": "app", "image": "app:2"}],
    )
    assert out == [{"name": "db", "image": "pg:15"}, {"name": "app", "image": "app:2"}]


def test_smp_new_items_come_first_without_set_element_order() -> None:
    # strategicpatch.mergeSortedSlice: an item the live list lacks sorts before server-only items
    out = smp_containers([{"name": "a"}, {"name": "b"}], [{"name": "c"}])
    assert [c["name"] for c in out] == ["c", "a", "b"]


def test_smp_set_element_order() -> None:
    out = smp_containers(
        [{"name": "a"}, {"name": "b"}],
        [{"name": "c", "image": "x"}],
        **{"$setElementOrder/containers": [{"name": "a"}, {"name": "b"}, {"name": "c"}]},
    )
    assert out == [{"name": "a"}, {"name": "b"}, {"name": "c", "image": "x"}]
    out = smp_containers(
        [{"name": "a"}, {"name": "b"}],
        [],
        **{"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}]},
    )
    assert [c["name"] for c in out] == ["b", "a"]


def test_smp_patch_order_beats_live_order() -> None:
    out = smp_containers(
        [{"name": "a"}, {"name": "b"}, {"name": "c"}],
        [{"name": "c", "x": 1}, {"name": "a", "x": 1}],
    )
    # b (live index 1) sorts before c (live index 2): server-only items are interleaved
    # by their live position, patch items keep the patch's order.
    assert [c["name"] for c in out] == ["b", "c", "a"]


def test_smp_env_by_name_and_null_deletes() -> None:
    target = deployment(
        [{"name": "db", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}]
    )
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "db",
                            "env": [
                                {
                                    "name": "B",
                                    "value": None,
                                    "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}},
                                }
                            ],
                        }
                    ]
                }
            }
        }
    }
    env = pod_spec(strategic_merge_patch(target, patch, "Deployment"))["containers"][0]["env"]
    assert env == [
        {"name": "A", "value": "1"},
        {"name": "B", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
    ]


def test_smp_delete_and_replace_directives_in_lists() -> None:
    assert smp_containers([{"name": "a"}, {"name": "b"}], [{"name": "a", "$patch": "delete"}]) == [
        {"name": "b"}
    ]
    assert smp_containers(
        [{"name": "a"}, {"name": "b"}], [{"name": "z"}, {"$patch": "replace"}]
    ) == [{"name": "z"}]
    with pytest.raises(PatchError) as exc:
        smp_containers([{"name": "a"}], [{"$patch": "delete"}])
    assert str(exc.value) == "map: map[$patch:delete] does not contain declared merge key: name"
    with pytest.raises(PatchError, match="merging lists cannot yet be specified in the patch"):
        smp_containers([{"name": "a"}], [{"$patch": "merge"}])
    with pytest.raises(PatchError) as exc:
        smp_containers([{"name": "a"}], [{"name": "a", "$patch": "explode"}])
    assert str(exc.value) == "unknown patch type: explode in map: map[$patch:explode name:a]"


def test_smp_map_directives() -> None:
    target = {
        "metadata": {"name": "p"},
        "spec": {"nodeSelector": {"a": "1", "b": "2"}, "hostname": "h"},
    }
    out = strategic_merge_patch(
        target, {"spec": {"nodeSelector": {"$patch": "replace", "c": "3"}}}, "Pod"
    )
    assert out["spec"] == {"nodeSelector": {"c": "3"}, "hostname": "h"}
    out = strategic_merge_patch(target, {"spec": {"nodeSelector": {"$patch": "delete"}}}, "Pod")
    assert out["spec"] == {"nodeSelector": {}, "hostname": "h"}
    with pytest.raises(PatchError, match="unknown patch type: nope in map"):
        strategic_merge_patch(target, {"spec": {"$patch": "nope"}}, "Pod")


def test_smp_retain_keys() -> None:
    target = deployment([{"name": "a"}])
    target["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}
    assert strategic_merge_patch(target, patch, "Deployment")["spec"]["strategy"] == {
        "type": "Recreate"
    }
    with pytest.raises(PatchError) as exc:
        strategic_merge_patch(
            target, {"spec": {"strategy": {"$retainKeys": ["type"], "other": 1}}}, "Deployment"
        )
    assert str(exc.value) == "invalid patch format of retainKeys"
    assert exc.value.code == 400


def test_smp_primitive_merge_lists() -> None:
    target = {"metadata": {"name": "x", "finalizers": ["a", "b"]}}
    out = strategic_merge_patch(target, {"metadata": {"finalizers": ["b", "c"]}}, "ConfigMap")
    # a (live 0) sorts before b (live 1); c, new, follows the patch order
    assert out["metadata"]["finalizers"] == ["a", "b", "c"]
    out = strategic_merge_patch(target, {"metadata": {"finalizers": ["c"]}}, "ConfigMap")
    assert out["metadata"]["finalizers"] == ["c", "a", "b"]  # a new item sorts first
    out = strategic_merge_patch(
        target, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}, "ConfigMap"
    )
    assert out["metadata"]["finalizers"] == ["b"]
    out = strategic_merge_patch(
        target,
        {"metadata": {"$setElementOrder/finalizers": ["a", "b", "c"], "finalizers": ["c"]}},
        "ConfigMap",
    )
    assert out["metadata"]["finalizers"] == ["a", "b", "c"]


def test_smp_owner_references_by_uid() -> None:
    target = {
        "metadata": {"ownerReferences": [{"uid": "1", "name": "a"}, {"uid": "2", "name": "b"}]}
    }
    out = strategic_merge_patch(
        target, {"metadata": {"ownerReferences": [{"uid": "2", "controller": True}]}}, "Job"
    )
    assert out["metadata"]["ownerReferences"] == [
        {"uid": "1", "name": "a"},
        {"uid": "2", "name": "b", "controller": True},
    ]


def test_smp_lists_without_strategy_are_replaced() -> None:
    target = deployment(
        [{"name": "a", "args": ["1", "2"], "envFrom": [{"secretRef": {"name": "s"}}]}],
        tolerations=[{"key": "k1"}, {"key": "k2"}],
    )
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "a", "args": ["3"], "envFrom": [{"configMapRef": {"name": "c"}}]}
                    ],
                    "tolerations": [{"key": "k3"}],
                }
            }
        }
    }
    spec = pod_spec(strategic_merge_patch(target, patch, "Deployment"))
    assert spec["tolerations"] == [{"key": "k3"}]
    assert spec["containers"] == [
        {"name": "a", "args": ["3"], "envFrom": [{"configMapRef": {"name": "c"}}]}
    ]


def test_smp_volumes_mounts_ports() -> None:
    target = deployment(
        [
            {
                "name": "db",
                "ports": [{"containerPort": 5432, "name": "pg"}],
                "volumeMounts": [
                    {"name": "data", "mountPath": "/var/lib/pg"},
                    {"name": "tmp", "mountPath": "/tmp"},
                ],
            }
        ],
        volumes=[
            {"name": "data", "persistentVolumeClaim": {"claimName": "data"}},
            {"name": "tmp", "emptyDir": {}},
        ],
    )
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "db",
                            "ports": [{"containerPort": 5432, "protocol": "TCP"}],
                            "volumeMounts": [{"mountPath": "/tmp", "readOnly": True}],
                        }
                    ],
                    "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data2"}}],
                }
            }
        }
    }
    spec = pod_spec(strategic_merge_patch(target, patch, "Deployment"))
    c = spec["containers"][0]
    assert c["ports"] == [{"containerPort": 5432, "name": "pg", "protocol": "TCP"}]
    assert c["volumeMounts"] == [
        {"name": "data", "mountPath": "/var/lib/pg"},
        {"name": "tmp", "mountPath": "/tmp", "readOnly": True},
    ]
    assert spec["volumes"][0] == {"name": "data", "persistentVolumeClaim": {"claimName": "data2"}}
    # switching a volume's source: $retainKeys drops the old one
    patch2 = {
        "spec": {
            "template": {
                "spec": {
                    "volumes": [
                        {
                            "name": "tmp",
                            "$retainKeys": ["name", "hostPath"],
                            "hostPath": {"path": "/x"},
                        }
                    ]
                }
            }
        }
    }
    spec2 = pod_spec(strategic_merge_patch(target, patch2, "Deployment"))
    assert spec2["volumes"][1] == {"name": "tmp", "hostPath": {"path": "/x"}}


def test_smp_conditions_by_type_and_cronjob_paths() -> None:
    pod = {
        "metadata": {"name": "p"},
        "status": {
            "conditions": [
                {"type": "Ready", "status": "False"},
                {"type": "Initialized", "status": "True"},
            ]
        },
    }
    out = strategic_merge_patch(
        pod, {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}, "Pod"
    )
    assert out["status"]["conditions"] == [
        {"type": "Ready", "status": "True"},
        {"type": "Initialized", "status": "True"},
    ]
    cj = {
        "metadata": {"name": "backup"},
        "spec": {
            "schedule": "0 1 * * *",
            "jobTemplate": {
                "spec": {"template": {"spec": {"containers": [{"name": "b", "image": "1"}]}}}
            },
        },
    }
    patch = {
        "spec": {
            "jobTemplate": {
                "spec": {"template": {"spec": {"containers": [{"name": "b", "image": "2"}]}}}
            }
        }
    }
    out = strategic_merge_patch(cj, patch, "CronJob")
    assert out["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"] == [
        {"name": "b", "image": "2"}
    ]
    assert out["spec"]["schedule"] == "0 1 * * *"


def test_smp_directives_never_reach_the_result() -> None:
    target = {"metadata": {"name": "x"}}
    patch = {
        "metadata": {"labels": {"a": "1"}},
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "a"}],
                    "containers": [{"name": "a", "$patch": "merge"}],
                }
            }
        },
    }
    out = strategic_merge_patch(target, patch, "Deployment")
    assert "$" not in json.dumps(out)


def test_smp_does_not_mutate_and_new_values_drop_nulls() -> None:
    target = deployment([{"name": "a"}])
    before = copy.deepcopy(target)
    patch = {"spec": {"replicas": 2, "selector": {"matchLabels": {"app": "x", "gone": None}}}}
    patch_before = copy.deepcopy(patch)
    out = strategic_merge_patch(target, patch, "Deployment")
    assert out["spec"]["selector"] == {"matchLabels": {"app": "x"}}
    assert target == before
    assert patch == patch_before


_dict_only = st.recursive(
    st.one_of(st.none(), st.integers(0, 3), st.text("xy", max_size=2)),
    lambda inner: st.dictionaries(st.sampled_from(["a", "b", "c"]), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=40, deadline=None, database=None)
@given(
    st.dictionaries(st.sampled_from(["a", "b", "c"]), _dict_only, max_size=3),
    st.dictionaries(st.sampled_from(["a", "b", "c"]), _dict_only, max_size=3),
)
def test_smp_without_lists_equals_merge_patch(
    target: dict[str, Any], patch: dict[str, Any]
) -> None:
    # Without lists and directives, a strategic merge patch is an RFC 7386 merge patch
    # (the server decodes both into the same struct, where null values vanish).
    expected = merge_patch(target, patch)
    assert strategic_merge_patch(target, patch, "ConfigMap") == expected


@settings(max_examples=40, deadline=None, database=None)
@given(
    st.lists(st.sampled_from(["a", "b", "c", "d"]), unique=True, max_size=4),
    st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), unique=True, max_size=4),
)
def test_smp_merge_list_keeps_every_name_once(live: list[str], patched: list[str]) -> None:
    out = smp_containers([{"name": n} for n in live], [{"name": n, "p": 1} for n in patched])
    names = [c["name"] for c in out]
    assert sorted(names) == sorted(set(live) | set(patched))
    # patch items keep their patch order, live-only items their live order
    assert [n for n in names if n in patched] == patched
    assert [n for n in names if n not in patched] == [n for n in live if n not in patched]


# The spec part of the strategic merge patch kubectl v1.32.4 `apply` sent (captured from a
# throwaway server) when the manifest changed postgres:15 -> 16, replaced env B by C,
# added a container "sidecar" between "db" and "app" and switched volume "data" from a
# PVC to an emptyDir.
KUBECTL_APPLY_PATCH = json.loads(
    '{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"db"},{"name":"sidecar"},{"name":"app"}],"$setElementOrder/volumes":[{"name":"data"}],"containers":[{"$setElementOrder/env":[{"name":"A"},{"name":"C"}],"env":[{"name":"C","value":"3"},{"$patch":"delete","name":"B"}],"image":"postgres:16","name":"db"},{"image":"busybox","name":"sidecar"}],"volumes":[{"$retainKeys":["emptyDir","name"],"emptyDir":{},"name":"data","persistentVolumeClaim":null}]}}}}'
)


def test_smp_real_kubectl_apply_body() -> None:
    live = deployment(
        [
            {
                "name": "db",
                "image": "postgres:15",
                "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                "ports": [{"containerPort": 5432}],
            },
            {"name": "app", "image": "app:1"},
        ],
        volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}],
    )
    out = strategic_merge_patch(live, KUBECTL_APPLY_PATCH, "Deployment")
    assert pod_spec(out) == {
        "containers": [
            {
                "name": "db",
                "image": "postgres:16",
                "env": [{"name": "A", "value": "1"}, {"name": "C", "value": "3"}],
                "ports": [{"containerPort": 5432}],
            },
            {"image": "busybox", "name": "sidecar"},
            {"name": "app", "image": "app:1"},
        ],
        "volumes": [{"name": "data", "emptyDir": {}}],
    }


# ---------------------------------------------------------------- dispatch by Content-Type


def test_apply_patch_dispatch() -> None:
    obj = {"metadata": {"name": "c", "labels": {"a": "1"}}, "spec": {"deletionPolicy": "Retain"}}
    assert apply_patch(
        "application/merge-patch+json",
        obj,
        b'{"metadata":{"labels":{"a":null}}}',
        kind="VolumeSnapshotContent",
        crd=True,
    )["metadata"] == {"name": "c", "labels": {}}
    out = apply_patch(
        "application/json-patch+json; charset=utf-8",
        obj,
        '[{"op":"replace","path":"/spec/deletionPolicy","value":"Delete"}]',
        kind="VolumeSnapshotContent",
        crd=True,
    )
    assert out["spec"] == {"deletionPolicy": "Delete"}
    assert (
        apply_patch(
            "application/strategic-merge-patch+json",
            obj,
            b"{}",
            kind="PersistentVolumeClaim",
            crd=False,
        )
        == obj
    )


@pytest.mark.parametrize(
    ("content_type", "body", "crd", "code", "message"),
    [
        (
            "application/strategic-merge-patch+json",
            b"{}",
            True,
            415,
            "the body of the request was in an unknown format - accepted media types include: "
            "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
        ),
        (
            "text/plain",
            b"{}",
            False,
            415,
            "the body of the request was in an unknown format - accepted media types include: "
            "application/json-patch+json, application/merge-patch+json, "
            "application/strategic-merge-patch+json, application/apply-patch+yaml",
        ),
        ("application/merge-patch+json", b"null", False, 400, "Invalid JSON Patch"),
        ("application/merge-patch+json", b"[1]", False, 400, "Invalid JSON Patch"),
        (
            "application/json-patch+json",
            b"{}",
            False,
            400,
            "json: cannot unmarshal object into Go value of type jsonpatch.Patch",
        ),
        (
            "application/json-patch+json",
            b'[{"op":"replace","path":"","value":[1]}]',
            False,
            422,
            "the server rejected our request due to an error in our request",
        ),
        (
            "application/strategic-merge-patch+json",
            b"[]",
            False,
            400,
            "json: cannot unmarshal array into Go value of type map[string]interface {}",
        ),
    ],
)
def test_apply_patch_errors(
    content_type: str, body: bytes, crd: bool, code: int, message: str
) -> None:
    with pytest.raises(PatchError) as exc:
        apply_patch(content_type, {"metadata": {"name": "x"}}, body, kind="X", crd=crd)
    assert exc.value.code == code
    assert str(exc.value) == message


def test_apply_patch_status_bodies() -> None:
    with pytest.raises(PatchError) as exc:
        apply_patch(
            "application/json-patch+json",
            {"a": 1},
            b'[{"op":"test","path":"/a","value":2}]',
            kind="Pod",
            crd=False,
        )
    # kubectl prints: The request is invalid: the server rejected our request due to an error in our request
    assert exc.value.status() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "the server rejected our request due to an error in our request",
        "reason": "Invalid",
        "details": {},
        "code": 422,
    }
    assert exc.value.detail == "testing value /a failed: test failed"
    with pytest.raises(PatchError) as exc:
        apply_patch(
            "application/strategic-merge-patch+json", {}, b"{}", kind="VolumeSnapshot", crd=True
        )
    assert exc.value.status()["reason"] == "UnsupportedMediaType"
    assert exc.value.status()["code"] == 415
    with pytest.raises(PatchError) as exc:
        apply_patch(
            "application/strategic-merge-patch+json",
            {"spec": {"containers": [{"name": "a"}]}},
            b'{"spec":{"containers":[{"image":"x"}]}}',
            kind="Pod",
            crd=False,
        )
    assert exc.value.code == 500
    assert "reason" not in exc.value.status()
    assert (
        exc.value.status()["message"]
        == "map: map[image:x] does not contain declared merge key: name"
    )


def test_apply_patch_bad_json_and_ssa() -> None:
    with pytest.raises(PatchError) as exc:
        apply_patch("application/merge-patch+json", {}, b"{nope", kind="Pod", crd=False)
    assert exc.value.code == 400
    assert exc.value.reason == "BadRequest"
    with pytest.raises(PatchError) as exc:
        apply_patch("application/apply-patch+yaml", {}, b"{}", kind="Pod", crd=False)
    assert exc.value.code == 415
    assert exc.value.reason == "UnsupportedMediaType"
    assert PatchError("x").reason == "Invalid"
    assert accepted_patch_types(True) == [
        "application/json-patch+json",
        "application/merge-patch+json",
        "application/apply-patch+yaml",
    ]
    assert "application/strategic-merge-patch+json" in accepted_patch_types(False)
