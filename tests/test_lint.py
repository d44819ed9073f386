"""Lint: ShellCheck clean, manifests schema-valid, and the dedup is provably equivalent."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from backupns_gen import lint as lint_mod
from backupns_gen.lint import (
    canonical_unit,
    lint,
    lint_manifests,
    lint_scripts,
    matches_canonical,
    shellcheck_texts,
    substitutions,
)
from backupns_gen.loader import load_config
from backupns_gen.plan import plan
from backupns_gen.render import RenderedFile, header, render, render_script
from tests.genhelpers import EXAMPLE, FULL, STUB_SCRIPT, plan_of, stub_root

ODD = """
namespaces:
  odd-values:
    pvcs: [data, more.data, x]
    snapshotName: "{namespace}.{pvc}-{date}-{rand}"
    timeZone: America/Argentina/Buenos_Aires
    type: my_type.1
    database:
      postgres: {user: "a@b.c", database: "${DB}", passwordEnv: "", host: "db.svc:1"}
  plain: {pvcs: [www]}
"""


@pytest.mark.parametrize("config", [EXAMPLE, FULL], ids=["example", "full"])
def test_rendered_output_lints_clean(config: Path) -> None:
    the_plan = plan(load_config(config))
    report = lint(the_plan, render(the_plan))
    assert report.findings == []
    assert report.scripts == len(the_plan.namespaces)
    assert report.manifests == 4 * len(the_plan.namespaces) + 5


@pytest.mark.parametrize("source", ["example", "full", "odd"])
def test_canonical_lint_equals_linting_every_script(source: str) -> None:
    """The proof obligation of lint.py: for each real script, ShellCheck's findings
    (code, line, level) are the same as for the canonical script it matches."""
    the_plan = (
        plan(load_config(EXAMPLE if source == "example" else FULL))
        if source != "odd"
        else plan_of(ODD)
    )
    files = render(the_plan)
    hdr = header(the_plan.source_name)
    for unit in the_plan.namespaces:
        real = files[f"namespaces/{unit.name}/backup-ns.sh"].text
        canonical = render_script(canonical_unit(unit), hdr)
        assert matches_canonical(real, canonical, substitutions(unit)), unit.name
        results = shellcheck_texts([real, canonical])
        found = [
            sorted((c["code"], c["line"], c["level"]) for c in comments)
            for comments in results.values()
        ]
        assert found[0] == found[-1], unit.name


def test_same_shape_namespaces_are_linted_once() -> None:
    lint_mod._SHELLCHECK_CACHE.clear()
    the_plan = plan_of(
        "namespaces:\n" + "".join(f"  ns-{i}: {{pvcs: [d{i}, e]}}\n" for i in range(12))
    )
    report = lint_scripts(the_plan, render(the_plan))
    assert (report.scripts, report.scripts_linted, report.findings) == (12, 1, [])


def test_findings_are_reported_for_every_namespace(tmp_path: Path) -> None:
    root = stub_root(tmp_path)
    script = Path(root, "script", "backup-ns.sh.j2")
    script.write_text(STUB_SCRIPT.replace("main() {", "x=$1\necho $x\nmain() {"))
    the_plan = plan_of("namespaces: {a: {pvcs: [d]}, b: {pvcs: [d]}}")
    files = render(the_plan, root)
    line = files["namespaces/a/backup-ns.sh"].text.split("\n").index("echo $x") + 1
    report = lint_scripts(the_plan, files, root)
    assert [f.split(": ")[0:2] for f in report.findings] == [
        [f"namespaces/a/backup-ns.sh:{line}:6", "info SC2086"],
        [f"namespaces/b/backup-ns.sh:{line}:6", "info SC2086"],
    ]


def test_a_template_that_branches_on_a_value_is_linted_as_is(tmp_path: Path) -> None:
    """If the canonical render does not match, the real script itself is linted."""
    root = stub_root(tmp_path)
    Path(root, "script", "backup-ns.sh.j2").write_text(
        STUB_SCRIPT.replace("main() {", '{% if ns.name == "b" %}\necho $1\n{% endif %}\nmain() {')
    )
    the_plan = plan_of("namespaces: {a: {pvcs: [d]}, b: {pvcs: [d]}}")
    files = render(the_plan, root)
    unit = the_plan.namespaces[1]
    assert not matches_canonical(
        files["namespaces/b/backup-ns.sh"].text,
        render_script(canonical_unit(unit), header("backupns.yaml"), root),
        substitutions(unit),
    )
    report = lint_scripts(the_plan, files, root)
    assert len(report.findings) == 1 and report.findings[0].startswith("namespaces/b/backup-ns.sh:")


def _docs() -> list[dict[str, object]]:
    files = render(plan(load_config(FULL)))
    return [d for p, f in files.items() if f.kind == "manifest" for d in yaml.safe_load_all(f.text)]


def test_shape_validation_equals_full_validation() -> None:
    """Manifest dedup: validating the shape gives the same verdict as the document,
    for valid documents and for documents broken in enum, type and unknown-field ways."""
    version = lint_mod._schema_version("1.32")
    _defs, enums, shape_ok = lint_mod._definitions(version)
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
            node = node[key]  # type: ignore[index]
        node[path[-1]] = value  # type: ignore[index]
        broken.append(doc)
    for doc in _docs() + broken:
        validator = lint_mod._validator(version, str(doc["kind"]), str(doc["apiVersion"]))
        assert validator.is_valid(doc) == validator.is_valid(lint_mod._shape(doc, enums))
    assert not all(lint_mod._validator(version, "CronJob", "batch/v1").is_valid(d) for d in broken)


def test_bad_manifest_is_a_finding_and_crds_are_noted() -> None:
    files = {
        "x.yaml": RenderedFile(
            "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: a}\n"
            "spec: {schedule: '* * * * *', jobTemplate: {}, suspnd: true}\n---\n"
            "apiVersion: snapshot.storage.k8s.io/v1\nkind: VolumeSnapshot\nmetadata: {name: v}\n"
        )
    }
    report = lint_manifests(files, "1.32")
    assert len(report.findings) == 1
    assert report.findings[0].startswith(
        "x.yaml: CronJob/a does not match the Kubernetes 1.32.0 schema: spec: Additional properties"
    )
    assert report.notes == [
        "note: no schema for VolumeSnapshot (snapshot.storage.k8s.io/v1) in kubernetes-validate; "
        "not checked"
    ]


def test_unknown_kubernetes_version() -> None:
    with pytest.raises(lint_mod.LintToolError, match=r"no Kubernetes schemas for version 9\.1"):
        lint_manifests({}, "9.1")


@pytest.mark.parametrize("config", [EXAMPLE, FULL], ids=["example", "full"])
def test_parsing_without_the_script_gives_the_same_shape(config: Path) -> None:
    """lint_manifests skips parsing the ConfigMap's script block: same shape either way."""
    _defs, enums, _ok = lint_mod._definitions(lint_mod._schema_version("1.32"))
    files = render(plan(load_config(config)))
    for path, f in files.items():
        if f.kind != "manifest":
            continue
        stripped = lint_mod._without_script(path, f.text, files)
        if path.startswith("namespaces/"):
            assert len(stripped) < len(f.text) / 2, path
        full = [lint_mod._shape(d, enums) for d in yaml.safe_load_all(f.text)]
        fast = [lint_mod._shape(d, enums) for d in yaml.safe_load_all(stripped)]
        assert full == fast, path


def test_sentinels_per_slot_and_values_that_look_like_sentinels() -> None:
    unit = plan_of("namespaces: {ns-a: {pvcs: [zzbns1x, b], snapshotName: '{pvc}-{rand}'}}")
    canon = canonical_unit(unit.namespaces[0])
    env = dict(canon.env)
    assert canon.name == "zzbnsnx"
    assert env["BAK_DRY_RUN"] == "zzbns1x"
    assert env["BAK_PVC_NAMES"] == "zzbns1x b"  # contains the marker: kept as is
    assert env["BAK_VS_NAME_TEMPLATE"] == "{pvc}-{rand}"  # not a plain word: kept
    two = plan_of("namespaces: {x: {pvcs: [a, b]}}").namespaces[0]
    assert dict(canonical_unit(two).env)["BAK_PVC_NAMES"] == "zzbns3w zzbns3w"
