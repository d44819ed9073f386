"""loader: parse_config / load_config merge ``defaults`` into each namespace, report
every problem as ``file: path: why`` and warn about images that are not pinned."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from backupns_gen.config import DEFAULT_IMAGE
from backupns_gen.errors import BackupNsError
from backupns_gen.loader import deep_merge, image_warning, load_config, parse_config

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "backupns.yaml"


def test_missing_file_is_not_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(BackupNsError) as info:
        load_config(tmp_path / "nope.yaml")
    assert info.value.exit_code == 1
    assert str(info.value).startswith("error: cannot read config ")


def test_defaults_merge_key_by_key() -> None:
    config = parse_config(
        yaml.safe_load(
            "defaults: {lock: {slots: 5, timeout: 10m}, pvcs: [data]}\n"
            "namespaces:\n  a: {lock: {slots: 1}}\n  b: {pvcs: [www], database: none}\n"
        )
    )
    a, b = config.namespaces["a"], config.namespaces["b"]
    assert (a.lock.slots, a.lock.timeout, a.pvcs) == (1, "10m", ["data"])
    assert (b.lock.slots, b.pvcs) == (5, ["www"])
    assert a.image == DEFAULT_IMAGE


def test_database_none_replaces_default_database() -> None:
    config = parse_config(
        yaml.safe_load(
            "defaults: {database: {postgres: {container: db}}}\n"
            "namespaces:\n  a: {pvcs: [d]}\n  b: {pvcs: [d], database: none}\n"
        )
    )
    assert config.namespaces["a"].database.postgres is not None
    assert config.namespaces["a"].database.postgres.container == "db"
    assert config.namespaces["b"].database.postgres is None


def test_deep_merge_lists_and_scalars_replace() -> None:
    assert deep_merge({"a": [1], "b": {"c": 1, "d": 2}}, {"a": [2], "b": {"d": 3}}) == {
        "a": [2],
        "b": {"c": 1, "d": 3},
    }


def test_example_config_loads() -> None:
    config = load_config(EXAMPLE)
    assert sorted(config.namespaces) == ["blog", "shop-prod", "static-site"]
    assert config.source_name == "backupns.yaml"


def test_deep_merge_leaves_its_inputs_as_they_were() -> None:
    base = {"lock": {"slots": 2, "timeout": "1h"}, "pvcs": ["data"]}
    override = {"lock": {"slots": 5}}
    merged = deep_merge(base, override)
    assert merged == {"lock": {"slots": 5, "timeout": "1h"}, "pvcs": ["data"]}
    assert base == {"lock": {"slots": 2, "timeout": "1h"}, "pvcs": ["data"]}
    assert override == {"lock": {"slots": 5}}


def test_a_namespace_mapping_replaces_a_default_scalar_and_back() -> None:
    assert deep_merge({"database": "none"}, {"database": {"postgres": {}}}) == {
        "database": {"postgres": {}}
    }
    assert deep_merge({"database": {"postgres": {}}}, {"database": "none"}) == {"database": "none"}


def warnings_of(text: str) -> list[str]:
    return list(parse_config(yaml.safe_load(text), "backupns.yaml").warnings)


def test_default_image_is_the_official_kubectl_image_without_a_warning() -> None:
    config = parse_config(yaml.safe_load("namespaces: {a: {pvcs: [d]}}"))
    assert config.warnings == ()
    assert config.namespaces["a"].image == config.controller.image == DEFAULT_IMAGE
    assert DEFAULT_IMAGE.startswith("registry.k8s.io/kubectl:v1.33.")


@pytest.mark.parametrize(
    ("image", "what"),
    [
        ("alpine/k8s:latest", "has the tag latest"),
        ("registry.example.com:5000/tools/kubectl", "has no tag (so: latest)"),
    ],
)
def test_latest_or_untagged_image_is_a_warning(image: str, what: str) -> None:
    text = (
        f"defaults: {{image: '{image}'}}\nnamespaces: {{a: {{pvcs: [d], image: '{image}'}}}}\n"
        f"controller: {{image: '{image}'}}\n"
    )
    assert warnings_of(text) == [
        f'{where}: "{image}" {what}: every node pulls whatever it is that day; pin a version '
        "tag (or a digest)"
        for where in ("defaults.image", "namespaces.a.image", "controller.image")
    ]


@pytest.mark.parametrize(
    "image",
    [
        "registry.example.com:5000/tools/kubectl:1.33.5",
        "registry.example.com/tools/kubectl@sha256:" + "a" * 64,
    ],
)
def test_pinned_image_gives_no_warning(image: str) -> None:
    text = f"defaults: {{image: '{image}'}}\nnamespaces: {{a: {{pvcs: [d]}}}}\n"
    text += f"controller: {{image: '{image}'}}\n"
    assert warnings_of(text) == []


@pytest.mark.parametrize(
    ("image", "warned"),
    [
        ("kubectl", True),
        ("registry.example.com:5000/kubectl", True),
        ("registry.example.com:5000/kubectl:latest", True),
        ("registry.example.com:5000/kubectl:1.33", False),
        ("kubectl@sha256:" + "b" * 64, False),
        (None, False),
        (42, False),
    ],
)
def test_image_warning_reads_the_tag_of_the_last_path_part(image: object, warned: bool) -> None:
    """A registry port is not a tag; a digest pins without a tag; a value that is not a
    string is the validator's to report, not a warning."""
    assert bool(image_warning(image, "defaults.image")) is warned
