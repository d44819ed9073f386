"""The job script (the ConfigMap's copy) against the full backup-ns.sh: they agree."""

from __future__ import annotations

import base64
import gzip
import subprocess
from pathlib import Path

import pytest
import yaml

from backupns_gen.errors import TemplateError
from backupns_gen.jobscript import Memo, check, compact, job_script, payload, prune, split
from backupns_gen.render import Renderer, header, render
from backupns_gen.shellcheck import binary
from tests.genhelpers import EXAMPLE, FULL, plan_of

FULL_SCRIPT = """#!/usr/bin/env bash
# top
x() { echo x; }
helper() {
  echo helper
}
command_list() {
  helper
}
command_create() {
  x
}
main() {
  command_create
  command_list
}
main "$@"
"""
JOB = """#!/usr/bin/env bash
# top
x() { echo x; }
command_create() {
  x
}
main() {
  command_create
}
main "$@"
"""


def scripts(config: str) -> list[tuple[str, str, str]]:
    """(namespace, backup-ns.sh, the ConfigMap's script) of every namespace of CONFIG."""
    files = render(plan_of(config))
    out = []
    for path, f in files.items():
        if path.endswith("/manifests.yaml") and path.startswith("namespaces/"):
            docs = [d for d in yaml.safe_load_all(f.text) if d]
            (cm,) = [d for d in docs if d["kind"] == "ConfigMap"]
            full = files[path.replace("manifests.yaml", "backup-ns.sh")].text
            job = gzip.decompress(base64.b64decode(cm["binaryData"]["backup-ns.sh.gz"]))
            out.append((path.split("/")[1], full, job.decode()))
    return out


def test_split_functions_and_the_rest() -> None:
    functions, rest = split(FULL_SCRIPT)
    assert list(functions) == ["x", "helper", "command_list", "command_create", "main"]
    assert functions["helper"] == "helper() {\n  echo helper\n}"
    assert rest == ["#!/usr/bin/env bash", "# top", 'main "$@"', ""]


HEREDOC = """#!/usr/bin/env bash
# header
remote() {
  cat <<'REMOTE'
inner() {
  echo in the container
}
REMOTE
}
# used: the job calls it
used() { remote; }

# unused: nothing calls it
# (two comment lines)
unused() {
  echo unused
}

main() {
  used
}
main "$@"
"""


def test_a_here_document_is_no_function_and_does_not_end_one() -> None:
    functions, rest = split(HEREDOC)
    assert list(functions) == ["remote", "used", "unused", "main"]
    assert functions["remote"].endswith("REMOTE\n}")
    assert "inner() {" not in rest


def test_prune_leaves_out_what_the_top_level_cannot_reach_with_its_header() -> None:
    pruned = prune(HEREDOC)
    assert pruned == HEREDOC.replace(
        "# unused: nothing calls it\n# (two comment lines)\nunused() {\n  echo unused\n}\n\n", ""
    )
    check(HEREDOC, pruned, "ns")
    assert prune(pruned) == pruned


def test_a_function_called_by_a_name_built_at_run_time_is_kept() -> None:
    text = HEREDOC.replace("used() { remote; }", 'used() { "${kind}_vars"; "run_${kind}"; }')
    text = text.replace("main() {", "pg_vars() { :; }\nrun_pg() { :; }\nother() { :; }\nmain() {")
    functions, _ = split(prune(text))
    assert {"pg_vars", "run_pg"} <= functions.keys()
    assert "other" not in functions and "remote" not in functions


def test_compact_leaves_out_the_comments_between_functions_only() -> None:
    text = HEREDOC.replace("  echo unused\n", "  # kept: inside a function\n  echo unused\n")
    small = compact(text)
    assert small.startswith("#!/usr/bin/env bash\n# header\n")
    assert "# used:" not in small and "# unused:" not in small
    assert "  # kept: inside a function\n" in small
    assert "\n\n\n" not in small
    check(text, small, "ns")


def test_the_payload_is_gzip_with_no_name_or_time() -> None:
    raw = base64.b64decode(payload(JOB))
    assert gzip.decompress(raw).decode() == JOB
    assert raw[3] == 0  # FLG: no file name, no comment
    assert raw[4:8] == b"\0\0\0\0"  # MTIME 0
    assert payload(JOB) == payload(JOB)


def test_a_part_of_the_script_passes() -> None:
    check(FULL_SCRIPT, JOB, "ns")


def test_a_changed_function_is_refused() -> None:
    with pytest.raises(TemplateError, match="function x differs"):
        check(FULL_SCRIPT, JOB.replace("echo x", "echo y"), "ns")


def test_a_line_not_in_the_full_script_is_refused() -> None:
    with pytest.raises(TemplateError, match="line 'set -x' is not in"):
        check(FULL_SCRIPT, JOB.replace("# top", "set -x"), "ns")


def test_a_called_function_left_out_is_refused() -> None:
    job = JOB.replace("  command_create\n}", "  command_create\n  command_list\n}")
    with pytest.raises(TemplateError, match="calls command_list but does not define it"):
        check(FULL_SCRIPT, job, "ns")


def test_a_function_named_in_a_comment_only_is_not_needed() -> None:
    check(
        FULL_SCRIPT,
        JOB.replace("  command_create\n}", "  command_create\n  # command_list\n}"),
        "ns",
    )


@pytest.mark.parametrize("config", [EXAMPLE, FULL], ids=["example", "full"])
def test_the_configmap_carries_the_job_script(config: Path) -> None:
    for ns, full, job in scripts(config.read_text()):
        check(full, job, ns)
        functions, _ = split(job)
        assert "command_create" in functions, ns
        for gone in ("command_list", "command_restore_pvc", "command_delete", "command_dump"):
            assert gone not in functions, (ns, gone)
        assert len(job) < len(full), ns
        assert "dispatch create command_create" in job
        assert "dispatch list" not in job
        # create cannot reach dump-restore's exit handler (it registers it itself)
        assert "dump_restore_on_exit" not in functions, ns
        assert prune(job) == job and compact(job) == job, ns


def test_with_scheduled_drills_the_job_script_has_verify_and_agrees() -> None:
    """The drill Job runs backup-ns.sh verify from the ConfigMap: with a drill schedule the
    job script dispatches verify (and passes the check), without one it does not."""
    base = "namespaces:\n  shop: {pvcs: [data]}\n"
    drills = 'controller: {verify: {schedule: "H 2 * * *"}}\n' + base
    for text, has in ((base, False), (drills, True)):
        ((ns, full, job),) = scripts(text)
        check(full, job, ns)
        assert ("dispatch verify command_verify" in job) == has
        assert "dispatch create command_create" in job


def test_the_job_scripts_are_shellcheck_clean_but_for_globals_only_left_out_commands_read(
    tmp_path: Path,
) -> None:
    """Each function is the linted one of backup-ns.sh; what leaving commands out can add
    is a global that only they read (SC2034), nothing else."""
    for ns, _, job in scripts(EXAMPLE.read_text()):
        path = tmp_path / f"{ns}.sh"
        path.write_text(job)
        proc = subprocess.run(
            [binary(), "--shell=bash", "-e", "SC2034", str(path)], capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stdout


def test_what_the_memo_looks_up_is_what_it_would_compute() -> None:
    """Namespaces of one shape share the text after their baked values: the job script
    and the check are looked up for the second one on, and give what a fresh run gives
    (a line of the job's head that backup-ns.sh lacks is still refused)."""
    namespaces = "\n".join(
        f"  ns-{i}:\n    pvcs: [data-{i}]\n    database: none" for i in range(4)
    )
    the_plan = plan_of(f"namespaces:\n{namespaces}\n")
    renderer, hdr = Renderer(), header(the_plan.source_name)
    memo = Memo()
    for unit in the_plan.namespaces:
        raw = renderer.script(unit, hdr, job=True)
        full = renderer.script(unit, hdr)
        job = job_script(raw, memo)
        assert job == job_script(raw, Memo()) == compact(prune(raw)), unit.name
        check(full, job, unit.name, memo)
        bad = job.replace("\nBAK_BAKED=(\n", "\nset -x\nBAK_BAKED=(\n", 1)
        with pytest.raises(TemplateError, match="line 'set -x' is not in"):
            check(full, bad, unit.name, memo)
    assert memo.jobs and memo.checked
