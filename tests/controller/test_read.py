"""The controller's list reader: AWK_JSON turns raw list pages into V/C/P lines.

The rendered controller reads each collection with ``kubectl get --raw`` pages and one
awk pass per page (bench/controller.py: kubectl's own decoding cost seconds). These tests
run the awk program of the rendered script on JSON documents, with every awk at hand
(the image has gawk; mawk and busybox keep it POSIX), and end to end on kubesim.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from kubesim.fixture import KubeSim
from tests import ctlsim
from tests.ctlsim import Controller, snapshot

SCRIPT = Path(__file__).resolve().parents[2] / "out" / "controller" / "backup-ns-controller.sh"
AWK_JSON = re.search(  # type: ignore[union-attr]
    r"^IFS= read -r -d '' AWK_JSON <<'AWK' \|\| true\n(.*?)^AWK$", SCRIPT.read_text(), re.S | re.M
).group(1)
AWKS = [a for a in (["gawk"], ["mawk"], ["busybox", "awk"], ["original-awk"]) if shutil.which(a[0])]
START = datetime(2026, 11, 1, 1, 0, tzinfo=timezone.utc)
NS = "tenant-a"


def parse(awk: list[str], doc: str | bytes, kind: str, tmp: Path) -> tuple[int, str, str, str]:
    """(exit status, lines, stderr, continue token) of AWK_JSON on one page."""
    page, tok = tmp / "page.json", tmp / "token"
    page.write_bytes(doc if isinstance(doc, bytes) else doc.encode())
    tok.unlink(missing_ok=True)
    cp = subprocess.run(
        [*awk, "-v", f"kind={kind}", "-v", f"tokfile={tok}", AWK_JSON, str(page)],
        capture_output=True,
        text=True,
        env={"LC_ALL": "C", "PATH": "/usr/bin:/bin"},
        check=False,
    )
    return cp.returncode, cp.stdout, cp.stderr, tok.read_text().rstrip("\n") if tok.exists() else ""


def vs_item(**over: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "apiVersion": "snapshot.storage.k8s.io/v1",
        "kind": "VolumeSnapshot",
        "metadata": {
            "name": "data-1",
            "namespace": NS,
            "uid": "u-1",
            "creationTimestamp": "2026-11-01T01:00:00Z",
            "labels": {"zz": "other", "backup-ns.sh/type": "cronjob", "backup-ns.sh/daily": "d"},
            "annotations": {"x": "y"},
            "managedFields": [
                {
                    "manager": "kubectl",
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:zz": {}}}},
                }
            ],
            "finalizers": ["a", "b"],
        },
        "spec": {"source": {"persistentVolumeClaimName": "data"}},
        "status": {
            "boundVolumeSnapshotContentName": "snapcontent-1",
            "creationTime": "2026-11-01T01:00:01Z",
            "readyToUse": True,
            "restoreSize": "1Gi",
        },
    }
    for path, v in over.items():
        *head, last = path.split("__")
        cur = item
        for k in head:
            cur = cur.setdefault(k, {})
        if v is None:
            cur.pop(last, None)
        else:
            cur[last] = v
    return item


def page(items: list[dict[str, Any]], kind: str = "VolumeSnapshotList", token: str = "") -> str:
    meta: dict[str, Any] = {"resourceVersion": "7"}
    if token:
        meta["continue"] = token
        meta["remainingItemCount"] = 3
    return json.dumps(
        {
            "kind": kind,
            "apiVersion": "snapshot.storage.k8s.io/v1",
            "metadata": meta,
            "items": items,
        },
        separators=(",", ":"),
    )


V1 = (
    "V\ttenant-a\tdata-1\tu-1\t2026-11-01T01:00:00Z\t2026-11-01T01:00:01Z\ttrue\t\tsnapcontent-1\t1Gi\t\t"
    "backup-ns.sh/daily=d,backup-ns.sh/type=cronjob,\t\t$\n"
)


@pytest.fixture(params=[" ".join(a) for a in AWKS])
def awk(request: pytest.FixtureRequest) -> list[str]:
    return str(request.param).split(" ")


def test_a_snapshot_line_and_the_continue_token(awk: list[str], tmp_path: Path) -> None:
    status, out, err, token = parse(awk, page([vs_item()], token="abc-_D"), "vs", tmp_path)
    assert (status, err, token) == (0, "", "abc-_D")
    assert out == V1
    status, out, err, token = parse(awk, page([]), "vs", tmp_path)
    assert (status, out, err, token) == (0, "", "", "")


def test_pretty_printed_json_reads_the_same(awk: list[str], tmp_path: Path) -> None:
    doc = json.dumps(json.loads(page([vs_item(), vs_item()])), indent=3) + "\n"
    status, out, err, _ = parse(awk, doc, "vs", tmp_path)
    assert (status, err) == (0, "")
    assert out == V1 + V1


def test_with_semantics_of_the_old_templates(awk: list[str], tmp_path: Path) -> None:
    """Empty, false, 0 and null print nothing; an error prints its quoted message."""
    items = [
        vs_item(status__readyToUse=False, status__restoreSize=None, status__creationTime=None),
        vs_item(status__error={"message": 'quota "x" exceeded, retry', "time": "t"}),
        vs_item(status__error={"time": "t"}),
        vs_item(status__error={}),
        vs_item(metadata__deletionTimestamp="2026-11-02T00:00:00Z", status=None),
    ]
    status, out, err, _ = parse(awk, page(items), "vs", tmp_path)
    assert (status, err) == (0, "")
    rows = [line.split("\t") for line in out.splitlines()]
    assert [len(r) for r in rows] == [14] * 5
    assert rows[0][5:10] == ["", "", "", "snapcontent-1", ""]
    assert rows[1][7] == '"quota \\"x\\" exceeded, retry"'
    assert rows[2][7] == '"error"'
    assert rows[3][7] == ""
    assert rows[4][5:11] == ["", "", "", "", "", "2026-11-02T00:00:00Z"]


NASTY = [
    'say "hi", {ok} [1]: done',
    "ends in a backslash \\",
    "two \\\\",
    "line\nbreak\tand tab",
    "caf\u00e9 \U0001f600 \u2028",
    "",
    '\\"',
    "BAK_X=1\nBAK_Y='two words'\n",
]


@pytest.mark.parametrize("ascii", [True, False], ids=["escaped", "utf8"])
def test_annotations_keep_their_json_escapes(awk: list[str], tmp_path: Path, ascii: bool) -> None:
    anns = {f"backup-ns.sh/a{i}": v for i, v in enumerate(NASTY)}
    anns["other"] = 'not "ours"'
    doc = json.dumps(json.loads(page([vs_item(metadata__annotations=anns)])), ensure_ascii=ascii)
    status, out, err, _ = parse(awk, doc, "vs", tmp_path)
    assert (status, err) == (0, "")
    fields = out.rstrip("\n").split("\t")
    assert len(fields) == 14
    items = fields[12].split("\x1f")
    assert items[-1] == ""
    got = {}
    for it in items[:-1]:
        key, _, quoted = it.partition("=")
        got[key] = json.loads(quoted)  # a JSON string literal, as jsonq() expects
    assert got == {k: v for k, v in anns.items() if k.startswith("backup-ns.sh/")}
    assert list(got) == sorted(got)


def test_managed_fields_are_skipped_wherever_they_stand(awk: list[str], tmp_path: Path) -> None:
    """metadata.managedFields (a real server's, with strings that look like structure)
    is skipped, also as the last member of metadata; the same key elsewhere is data."""
    mf = [
        {
            "manager": 'kubectl "x", {y} [z]',
            "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:a": {}}}, "f:spec": {}},
            "time": "t",
        },
        {"manager": "snapshot-controller", "fieldsV1": {"f:status": {"f:readyToUse": {}}}},
    ]
    item = vs_item(metadata__managedFields=mf)
    last = vs_item(metadata__managedFields=None)
    last["metadata"]["managedFields"] = mf  # after every other member
    other = vs_item(status__managedFields="kept", metadata__managedFields=[])
    status, out, err, _ = parse(awk, page([item, last, other]), "vs", tmp_path)
    assert (status, err) == (0, "")
    assert out == V1 * 3


def test_content_and_pvc_lines(awk: list[str], tmp_path: Path) -> None:
    vsc = {
        "kind": "VolumeSnapshotContent",
        "metadata": {
            "name": "snapcontent-1",
            "creationTimestamp": "2026-11-01T01:00:00Z",
            "labels": {"backup-ns.sh/pvc": "data"},
        },
        "spec": {
            "deletionPolicy": "Retain",
            "driver": "d",
            "source": {"volumeHandle": "h"},
            "volumeSnapshotRef": {"namespace": NS, "name": "data-1", "uid": "u-1"},
        },
        "status": {
            "creationTime": 1794290400000000000,
            "readyToUse": True,
            "restoreSize": 1073741824,
        },
    }
    status, out, err, _ = parse(awk, page([vsc], "VolumeSnapshotContentList"), "vsc", tmp_path)
    assert (status, err) == (0, "")
    assert out == (
        "C\tsnapcontent-1\t2026-11-01T01:00:00Z\t1794290400000000000\ttrue\tRetain\ttenant-a\t"
        "data-1\tu-1\t\tbackup-ns.sh/pvc=data,\t\t\t$\n"
    )
    # the snapshot handle: status.snapshotHandle, else a pre-provisioned content's spec one
    vsc["status"]["snapshotHandle"] = "snap-7"
    pre = json.loads(json.dumps(vsc))
    pre["spec"]["source"] = {"snapshotHandle": 'h "q"'}
    del pre["status"]
    status, out, err, _ = parse(awk, page([vsc, pre], "VolumeSnapshotContentList"), "vsc", tmp_path)
    assert (status, err) == (0, "")
    assert [line.split("\t")[12:] for line in out.splitlines()] == [
        ["snap-7", "$"],
        ['h \\"q\\"', "$"],
    ]
    pvcs: list[dict[str, Any]] = [
        {"metadata": {"namespace": NS, "name": "plain"}, "spec": {}, "status": {"phase": "Bound"}},
        {
            "metadata": {"namespace": NS, "name": "from-pvc"},
            "spec": {"dataSource": {"kind": "PersistentVolumeClaim", "name": "x"}},
        },
        {
            "metadata": {"namespace": NS, "name": "restore"},
            "spec": {
                "dataSource": {
                    "apiGroup": "snapshot.storage.k8s.io",
                    "kind": "VolumeSnapshot",
                    "name": "data-1",
                }
            },
            "status": {"phase": "Pending"},
        },
    ]
    status, out, err, _ = parse(awk, page(pvcs, "PersistentVolumeClaimList"), "pvc", tmp_path)
    assert (status, err) == (0, "")
    assert out == "P\ttenant-a\trestore\tPending\tdata-1\t$\n"


def test_every_truncation_is_a_failed_read(awk: list[str], tmp_path: Path) -> None:
    doc = page([vs_item(metadata__annotations={"backup-ns.sh/x": 'a "b" \\'})], token="tok")
    assert parse(awk, doc, "vs", tmp_path)[0] == 0
    step = 1 if len(AWKS) == 1 else 3
    for cut in range(0, len(doc) - 1, step):
        status, _, err, _ = parse(awk, doc[:cut], "vs", tmp_path)
        assert status == 1 and err.startswith("incomplete list: "), (cut, doc[:cut])


@pytest.mark.parametrize(
    "doc",
    [
        '{"kind":"Status","apiVersion":"v1","status":"Failure","message":"x"}',
        '{"kind":"VolumeSnapshotList","metadata":{}}',
        "[]",
        "",
        "not json",
        '{"kind":"VolumeSnapshotList","items":[]}{"kind":"VolumeSnapshotList","items":[]}',
        '{"kind":"VolumeSnapshotList","items":[}',
        '{"kind":"VolumeSnapshotList","items":[]]}',
        '{"kind":"VolumeSnapshotList","items":[] "x":1}',
        '{"kind":"VolumeSnapshotList","items":[{"metadata":{"name" "x"}}]}',
        '{"kind":"VolumeSnapshotList","items":[{"metadata":{"name":tru}}]}',
    ],
)
def test_what_is_not_one_complete_list_fails(awk: list[str], tmp_path: Path, doc: str) -> None:
    status, _, err, _ = parse(awk, doc, "vs", tmp_path)
    assert status == 1 and err.startswith("incomplete list: "), err


# --- end to end, on kubesim -----------------------------------------------------------------


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Any:
    s = KubeSim(tmp_path_factory.mktemp("kubesim")).start(timeout=60)
    s.seed([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "backup-ns"}}])
    yield s
    s.stop()


def test_sync_copies_nasty_annotations_exactly(sim: KubeSim) -> None:
    anns = {f"backup-ns.sh/dump-{i}": v for i, v in enumerate(NASTY) if v}
    objs = snapshot(
        NS, "data-nasty", START, annotations=anns, labels={"backup-ns.sh/daily": "2026-11-01"}
    )
    ctlsim.seed(sim, objs)
    run = Controller(sim).run("sync", now="2026-11-01T06:00:00Z")
    assert run.status == 0, run.stderr
    _, vsc = ctlsim.state(sim)
    content = vsc[objs[1]["metadata"]["name"]]["metadata"]
    assert {
        k: v for k, v in content["annotations"].items() if k.startswith("backup-ns.sh/")
    } == anns
    again = Controller(sim).run("plan", now="2026-11-01T06:00:00Z")
    assert again.status == 0 and "sync" not in again.stdout, again.stdout


def test_pages_follow_each_continue_token_with_the_chunk_size(sim: KubeSim) -> None:
    ctlsim.seed(sim, ctlsim.history("tenant-b", START, 7))
    sim.reset_requests()
    run = Controller(sim).run("plan", now="2026-11-08T06:00:00Z", CTL_CHUNK_SIZE="3")
    assert run.status == 0, run.stderr
    gets = [
        r["query"]
        for r in sim.requests()
        if r["method"] == "GET" and r["path"].endswith("/volumesnapshots")
    ]
    n = len(ctlsim.state(sim)[0])
    assert len(gets) == -(-n // 3)
    params = [sorted(q.split("&")) for q in gets]
    assert params[0] == ["limit=3"]
    assert all(
        len(p) == 2 and p[0].startswith("continue=") and p[1] == "limit=3" for p in params[1:]
    )
    assert [r for r in sim.requests() if r["method"] != "GET"] == []
