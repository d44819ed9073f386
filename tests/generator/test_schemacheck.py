"""Manifest schema checks: the shape dedup is provably equivalent; cached per file."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from backupns_gen.lint import lint_manifests
from backupns_gen.lintcache import LintCache
from backupns_gen.loader import load_config
from backupns_gen.plan import plan
from backupns_gen.render import RenderedFile, render
from backupns_gen.schemacheck import SchemaError, Schemas, check_file, shape, without_scripts
from tests.genhelpers import EXAMPLE, FULL


def fresh() -> LintCache:
    return LintCache(persistent=False)


def _docs() -> list[dict[str, Any]]:
    files = render(plan(load_config(FULL)))
    return [d for p, f in files.items() if f.kind == "manifest" for d in yaml.safe_load_all(f.text)]


def test_shape_validation_equals_full_validation() -> None:
    """Validating the shape gives the same verdict as the document, for valid documents
    and for documents broken in enum, type and unknown-field ways."""
    schemas = Schemas("1.32", fresh())
    _defs, enums, shape_ok = schemas.definitions()
    assert shape_ok  # no pattern/length rules on strings in these schemas
    cron = next(d for d in _docs() if d["kind"] == "CronJob")
    broken = []
    for path, value in [
        (("spec", "concurrencyPolicy"), "Sometimes"),
        (("spec", "suspend"), "yes"),
        (("spec", "schedul"), "x"),
        (("spec", "jobTemplate", "spec", "backoffLimit"), "1"),
    ]:
        doc = copy.deepcopy(cron)
        node = doc
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        broken.append(doc)
    for doc in _docs() + broken:
        validator = schemas.validator(str(doc["kind"]), str(doc["apiVersion"]))
        if validator is not None:
            assert validator.is_valid(doc) == validator.is_valid(shape(doc, enums))
    assert not all(schemas.validator("CronJob", "batch/v1").is_valid(d) for d in broken)


BAD = (
    "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: a}\n"
    "spec: {schedule: '* * * * *', jobTemplate: {}, suspnd: true}\n---\n"
    "apiVersion: snapshot.storage.k8s.io/v1\nkind: VolumeSnapshot\nmetadata: {name: v}\n"
)


def test_bad_manifest_is_a_finding_and_crds_are_noted() -> None:
    report = lint_manifests({"x.yaml": RenderedFile(BAD)}, "1.32", fresh())
    assert len(report.findings) == 1
    assert report.findings[0].startswith(
        "x.yaml: CronJob/a does not match the Kubernetes 1.32.0 schema: spec: Additional properties"
    )
    assert report.notes == [
        "note: no schema for VolumeSnapshot (snapshot.storage.k8s.io/v1) in kubernetes-validate; "
        "not checked"
    ]


def test_a_cached_result_is_the_result_and_a_changed_file_is_checked_again(
    tmp_path: Path,
) -> None:
    first = check_file("x.yaml", BAD, Schemas("1.32", LintCache(tmp_path)), LintCache(tmp_path))
    cache = LintCache(tmp_path)
    again = check_file("x.yaml", BAD, Schemas("1.32", cache), cache)
    assert (again.findings, again.skipped, again.docs) == (first.findings, first.skipped, 2)
    assert cache.misses == 0
    fixed = BAD.replace("suspnd", "suspend")
    assert check_file("x.yaml", fixed, Schemas("1.32", cache), cache).findings == []


def test_unknown_kubernetes_version() -> None:
    with pytest.raises(SchemaError, match=r"no Kubernetes schemas for version 9\.1"):
        lint_manifests({}, "9.1", fresh())


@pytest.mark.parametrize("config", [EXAMPLE, FULL], ids=["example", "full"])
def test_parsing_without_the_script_gives_the_same_shape(config: Path) -> None:
    _defs, enums, _ok = Schemas("1.32", fresh()).definitions()
    files = render(plan(load_config(config)))
    for path, f in files.items():
        if f.kind != "manifest":
            continue
        stripped = without_scripts(f.text)
        if path.startswith("namespaces/"):
            assert len(stripped) < len(f.text) / 2, path
        full = [shape(d, enums) for d in yaml.safe_load_all(f.text)]
        fast = [shape(d, enums) for d in yaml.safe_load_all(stripped)]
        assert full == fast, path


def test_shape_rules_are_kept_in_the_lint_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The enums and the strings' rules come from the definitions once; a later run with
    the same cache does not read the definitions to check a manifest's shape."""
    _defs, enums, shape_ok = Schemas("1.32", LintCache(tmp_path)).definitions()
    assert Schemas("1.32", LintCache(tmp_path)).shape_rules() == (enums, shape_ok)

    def no_definitions(self: Schemas) -> None:
        raise AssertionError("the definitions were read")

    monkeypatch.setattr(Schemas, "definitions", no_definitions)
    assert Schemas("1.32", LintCache(tmp_path)).shape_rules() == (enums, shape_ok)
