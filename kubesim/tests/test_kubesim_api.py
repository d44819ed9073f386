"""kubesim REST behaviour, driven by the real kubectl (kube-api-notes §1-4, §4.11)."""

from __future__ import annotations

import json

import pytest

from kubesim.fixture import KubeSim

KUBESIM_ARGS = ["--snapshot-ready-delay", "0.1"]


def vs_yaml(name: str, ns: str = "api", labels: str = "{app: x}", pvc: str = "data") -> str:
    return f"""apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata:
  name: {name}
  namespace: {ns}
  labels: {labels}
spec:
  source:
    persistentVolumeClaimName: {pvc}
"""


PVC = """apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: api}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
"""


@pytest.fixture(scope="module")
def ns(kubesim: KubeSim) -> str:
    kubesim.kubectl("create", "namespace", "api", check=True)
    kubesim.apply(PVC)
    return "api"


def test_version_and_discovery(kubesim: KubeSim) -> None:
    cp = kubesim.kubectl("version", "-o", "json")
    assert json.loads(cp.stdout)["serverVersion"]["minor"] == "32"
    cp = kubesim.kubectl("api-resources", "-o", "name")
    names = set(cp.stdout.split())
    for want in (
        "namespaces",
        "pods",
        "persistentvolumeclaims",
        "configmaps",
        "secrets",
        "serviceaccounts",
        "deployments.apps",
        "statefulsets.apps",
        "replicasets.apps",
        "daemonsets.apps",
        "jobs.batch",
        "cronjobs.batch",
        "roles.rbac.authorization.k8s.io",
        "rolebindings.rbac.authorization.k8s.io",
        "clusterroles.rbac.authorization.k8s.io",
        "clusterrolebindings.rbac.authorization.k8s.io",
        "volumesnapshots.snapshot.storage.k8s.io",
        "volumesnapshotcontents.snapshot.storage.k8s.io",
        "volumesnapshotclasses.snapshot.storage.k8s.io",
        "storageclasses.storage.k8s.io",
        "persistentvolumes",
        "events",
    ):
        assert want in names, want
    cp = kubesim.kubectl("api-resources", "--api-group=snapshot.storage.k8s.io", "-o", "wide")
    assert "vs" in cp.stdout and "vsc,vscs" in cp.stdout


def test_aggregated_discovery_content_type(kubesim: KubeSim) -> None:
    import urllib.request

    accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
    req = urllib.request.Request(kubesim.url + "/apis", headers={"Accept": accept})
    with urllib.request.urlopen(req) as resp:
        assert resp.headers["Content-Type"] == (
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
        )
        doc = json.loads(resp.read())
    assert doc["kind"] == "APIGroupDiscoveryList"
    # The body's apiVersion matches the Content-Type, as the real server's does.
    assert doc["apiVersion"] == "apidiscovery.k8s.io/v2"
    beta = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
    req = urllib.request.Request(kubesim.url + "/api", headers={"Accept": beta})
    with urllib.request.urlopen(req) as resp:
        assert resp.headers["Content-Type"] == beta
        assert json.loads(resp.read())["apiVersion"] == "apidiscovery.k8s.io/v2beta1"
    with urllib.request.urlopen(kubesim.url + "/apis/snapshot.storage.k8s.io/v1") as resp:
        legacy = json.loads(resp.read())
    assert legacy["kind"] == "APIResourceList"


def test_default_objects(kubesim: KubeSim) -> None:
    cp = kubesim.kubectl(
        "get",
        "vsclass",
        "-o",
        "jsonpath={.items[*].metadata.name} {.items[*].driver} {.items[*].metadata.annotations}",
    )
    assert cp.stdout.startswith("csi-hostpath-snapclass hostpath.csi.k8s.io ")
    assert '"snapshot.storage.kubernetes.io/is-default-class":"true"' in cp.stdout
    cp = kubesim.kubectl("get", "sc", "-o", "name")
    assert cp.stdout == "storageclass.storage.k8s.io/csi-hostpath-sc\n"


def test_apply_created_unchanged_configured(kubesim: KubeSim, ns: str) -> None:
    cp = kubesim.kubectl("apply", "-f", "-", input=vs_yaml("snap-ap"))
    assert (cp.returncode, cp.stdout) == (
        0,
        "volumesnapshot.snapshot.storage.k8s.io/snap-ap created\n",
    ), cp.stderr
    cp = kubesim.kubectl("apply", "-f", "-", input=vs_yaml("snap-ap"))
    assert cp.stdout == "volumesnapshot.snapshot.storage.k8s.io/snap-ap unchanged\n"
    cp = kubesim.kubectl("apply", "-f", "-", input=vs_yaml("snap-ap", labels="{app: z}"))
    assert cp.stdout == "volumesnapshot.snapshot.storage.k8s.io/snap-ap configured\n"
    got = kubesim.get_json("vs", "snap-ap", "-n", ns)
    assert got["metadata"]["labels"] == {"app": "z"}
    assert "kubectl.kubernetes.io/last-applied-configuration" in got["metadata"]["annotations"]
    # built-in kinds go through strategic merge patch
    cp = kubesim.kubectl(
        "apply", "-f", "-", input=PVC.replace("namespace: api}", "namespace: api, labels: {a: b}}")
    )
    assert cp.stdout == "persistentvolumeclaim/data configured\n", cp.stderr


def test_apply_dry_runs_do_not_write(kubesim: KubeSim, ns: str) -> None:
    cp = kubesim.kubectl("apply", "--dry-run=client", "-f", "-", input=vs_yaml("snap-dry"))
    assert cp.stdout == "volumesnapshot.snapshot.storage.k8s.io/snap-dry created (dry run)\n"
    cp = kubesim.kubectl("apply", "--dry-run=server", "-f", "-", input=vs_yaml("snap-dry"))
    assert cp.stdout == "volumesnapshot.snapshot.storage.k8s.io/snap-dry created (server dry run)\n"
    cp = kubesim.kubectl("get", "vs", "snap-dry", "-n", ns)
    assert cp.returncode == 1
    assert "NotFound" in cp.stderr


def test_create_and_already_exists(kubesim: KubeSim, ns: str) -> None:
    cp = kubesim.kubectl("create", "-f", "-", input=vs_yaml("snap-cr"))
    assert cp.stdout == "volumesnapshot.snapshot.storage.k8s.io/snap-cr created\n"
    cp = kubesim.kubectl("create", "-f", "-", input=vs_yaml("snap-cr"))
    assert cp.returncode == 1
    assert cp.stderr == (
        'Error from server (AlreadyExists): error when creating "STDIN": '
        'volumesnapshots.snapshot.storage.k8s.io "snap-cr" already exists\n'
    )


def test_typed_client_creates_protobuf(kubesim: KubeSim, ns: str) -> None:
    """create secret/configmap/sa/role/rolebinding send protobuf bodies."""
    k = kubesim.kubectl
    assert (
        k(
            "create",
            "secret",
            "generic",
            "db",
            "-n",
            ns,
            "--from-literal=PASSWORD=s3 cr!t",
            check=True,
        ).stdout
        == "secret/db created\n"
    )
    cp = k("get", "secret", "db", "-n", ns, "-o", "jsonpath={.data.PASSWORD} {.type}")
    assert cp.stdout == "czMgY3IhdA== Opaque"
    k(
        "create",
        "configmap",
        "cfg",
        "-n",
        ns,
        "--from-literal=a=1",
        "--from-literal=b=two",
        check=True,
    )
    assert kubesim.get_json("cm", "cfg", "-n", ns)["data"] == {"a": "1", "b": "two"}
    k("create", "serviceaccount", "runner", "-n", ns, check=True)
    k("create", "role", "r1", "-n", ns, "--verb=get,list", "--resource=pods,pods/exec", check=True)
    rules = kubesim.get_json("role", "r1", "-n", ns)["rules"]
    assert rules == [
        {"apiGroups": [""], "resources": ["pods", "pods/exec"], "verbs": ["get", "list"]}
    ]
    k(
        "create",
        "rolebinding",
        "rb1",
        "-n",
        ns,
        "--role=r1",
        f"--serviceaccount={ns}:runner",
        check=True,
    )
    rb = kubesim.get_json("rolebinding", "rb1", "-n", ns)
    assert rb["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r1"}
    assert rb["subjects"] == [{"kind": "ServiceAccount", "name": "runner", "namespace": ns}]
    cp = k("create", "namespace", "api")
    assert cp.stderr == 'Error from server (AlreadyExists): namespaces "api" already exists\n'
    k("create", "deployment", "pb-dep", "-n", ns, "--image=busybox", "--replicas=2", check=True)
    spec = kubesim.get_json("deploy", "pb-dep", "-n", ns)["spec"]
    assert spec["replicas"] == 2 and spec["selector"] == {"matchLabels": {"app": "pb-dep"}}
    # The real apiserver's defaults (imagePullPolicy Always for an untagged image, ...).
    assert spec["template"]["spec"]["containers"] == [
        {
            "name": "busybox",
            "image": "busybox",
            "imagePullPolicy": "Always",
            "resources": {},
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
        }
    ]
    k(
        "create",
        "cronjob",
        "pb-cj",
        "-n",
        ns,
        "--image=busybox",
        "--schedule=0 3 * * *",
        "--",
        "echo",
        "hi",
        check=True,
    )
    spec = kubesim.get_json("cronjob", "pb-cj", "-n", ns)["spec"]
    assert spec["schedule"] == "0 3 * * *"
    assert spec["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"] == [
        "echo",
        "hi",
    ]


def test_get_not_found_and_missing_namespace(kubesim: KubeSim, ns: str) -> None:
    cp = kubesim.kubectl("get", "vs", "nope", "-n", ns)
    assert (cp.returncode, cp.stderr) == (
        1,
        'Error from server (NotFound): volumesnapshots.snapshot.storage.k8s.io "nope" not found\n',
    )
    cp = kubesim.kubectl("get", "pvc", "nope", "-n", "ns-missing")
    assert cp.stderr == 'Error from server (NotFound): namespaces "ns-missing" not found\n'
    cp = kubesim.kubectl("get", "vs", "-n", "empty-ns-none")
    assert (cp.returncode, cp.stdout) == (0, "")
    assert cp.stderr == "No resources found in empty-ns-none namespace.\n"


def test_create_in_missing_namespace(kubesim: KubeSim) -> None:
    cp = kubesim.kubectl("create", "-f", "-", input=vs_yaml("s", ns="ghost"))
    assert cp.returncode == 1
    assert 'namespaces "ghost" not found' in cp.stderr


def test_invalid_name(kubesim: KubeSim, ns: str) -> None:
    cp = kubesim.kubectl("create", "-f", "-", input=vs_yaml("Bad_Name"))
    assert cp.returncode == 1
    assert (
        'The VolumeSnapshot "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": '
        "a lowercase RFC 1123 subdomain must consist of"
    ) in cp.stderr


def test_invalid_labels_are_refused(kubesim: KubeSim, ns: str) -> None:
    cp = kubesim.kubectl("apply", "-f", "-", input=vs_yaml("badlabel", labels="{x: 'bad value!'}"))
    assert cp.returncode == 1
    assert cp.stderr.startswith(
        'The VolumeSnapshot "badlabel" is invalid: metadata.labels: Invalid value: "bad value!": '
        "a valid label must be an empty string or consist of alphanumeric characters"
    ), cp.stderr


def test_list_selectors_and_output_formats(kubesim: KubeSim, ns: str) -> None:
    k = kubesim.kubectl
    for name, daily in (("sel-a", "2026-11-26"), ("sel-b", "2026-11-25"), ("sel-c", "")):
        labels = f'{{"backup-ns.sh/daily": "{daily}", sel: "yes"}}' if daily else "{sel: 'yes'}"
        k("apply", "-f", "-", input=vs_yaml(name, labels=labels), check=True)
    cp = k("get", "vs", "-n", ns, "-l", "backup-ns.sh/daily=2026-11-26", "-o", "name")
    assert cp.stdout == "volumesnapshot.snapshot.storage.k8s.io/sel-a\n"
    cp = k("get", "vs", "-n", ns, "-l", "sel,backup-ns.sh/daily  in  (2026-11-25, x)", "-o", "name")
    assert cp.stdout == "volumesnapshot.snapshot.storage.k8s.io/sel-b\n"
    cp = k("get", "vs", "-n", ns, "-l", "sel==yes,!backup-ns.sh/daily", "-o", "name")
    assert cp.stdout == "volumesnapshot.snapshot.storage.k8s.io/sel-c\n"
    cp = k("get", "vs", "-n", ns, "-l", "sel,backup-ns.sh/daily!=2026-11-26", "-o", "name")
    assert cp.stdout.split() == [
        "volumesnapshot.snapshot.storage.k8s.io/sel-b",
        "volumesnapshot.snapshot.storage.k8s.io/sel-c",
    ]
    cp = k("get", "vs", "-n", ns, "-l", "sel,sel notin (yes)", "-o", "name")
    assert cp.stdout == ""
    cp = k(
        "get",
        "vs",
        "-A",
        "-l",
        "sel",
        "-o",
        'jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}{"\\n"}{end}',
    )
    assert cp.stdout == "api/sel-a\napi/sel-b\napi/sel-c\n"
    cp = k("get", "vs", "-n", ns, "--field-selector", "metadata.name=sel-b", "-o", "name")
    assert cp.stdout == "volumesnapshot.snapshot.storage.k8s.io/sel-b\n"
    cp = k("get", "vs", "-n", ns, "-l", "bad key!!")
    assert cp.returncode == 1 and "BadRequest" in cp.stderr
    cp = k("get", "vs", "-n", ns, "-l", "sel", "-L", "backup-ns.sh/daily")
    lines = cp.stdout.splitlines()
    assert lines[0].split()[0] == "NAME" and lines[0].split()[-1] == "DAILY"
    assert lines[1].split()[0] == "sel-a" and lines[1].split()[-1] == "2026-11-26"
    cp = k("get", "vs", "-A", "-l", "sel", "--sort-by=.metadata.labels.backup-ns\\.sh/daily")
    rows = [line.split()[:2] for line in cp.stdout.splitlines()[1:]]
    assert rows == [["api", "sel-c"], ["api", "sel-b"], ["api", "sel-a"]], cp.stdout + cp.stderr
    cp = k("get", "vs", "sel-a", "-n", ns, "-o", "wide")
    assert cp.returncode == 0 and cp.stdout.splitlines()[1].startswith("sel-a ")
    cp = k("get", "vs", "sel-a", "-n", ns, "-o", "go-template={{.metadata.name}}")
    assert cp.stdout == "sel-a"
    cp = k(
        "get",
        "vs",
        "-n",
        ns,
        "-l",
        "sel",
        "-o",
        "custom-columns=N:.metadata.name,S:.spec.source.persistentVolumeClaimName",
    )
    assert cp.stdout.splitlines()[1].split() == ["sel-a", "data"]


def test_label_overwrite_and_unlabel(kubesim: KubeSim, ns: str) -> None:
    k = kubesim.kubectl
    k("apply", "-f", "-", input=vs_yaml("lab", labels="{keep: 'true'}"), check=True)
    cp = k("label", "vs/lab", "-n", ns, "backup-ns.sh/daily=2026-11-27")
    assert cp.stdout == "volumesnapshot.snapshot.storage.k8s.io/lab labeled\n"
    cp = k("label", "vs/lab", "-n", ns, "keep=false")
    assert (cp.returncode, cp.stderr) == (
        1,
        "error: 'keep' already has a value (true), and --overwrite is false\n",
    )
    cp = k("label", "vs/lab", "-n", ns, "keep=false", "--overwrite")
    assert cp.returncode == 0
    cp = k("label", "vs/lab", "-n", ns, "keep-")
    assert cp.stdout == "volumesnapshot.snapshot.storage.k8s.io/lab unlabeled\n"
    cp = k("label", "vs/lab", "-n", ns, "absent-")
    assert (cp.returncode, cp.stdout) == (
        0,
        'label "absent" not found.\nvolumesnapshot.snapshot.storage.k8s.io/lab not labeled\n',
    )
    labels = kubesim.get_json("vs", "lab", "-n", ns)["metadata"]["labels"]
    assert labels == {"backup-ns.sh/daily": "2026-11-27"}
    cp = k("label", "pvc", "data", "-n", ns, "x=y")
    assert cp.stdout == "persistentvolumeclaim/data labeled\n"


def test_patch_types(kubesim: KubeSim, ns: str) -> None:
    k = kubesim.kubectl
    k("apply", "-f", "-", input=vs_yaml("pt"), check=True)
    content = kubesim.wait_for(
        lambda: (
            kubesim.api(f"/apis/snapshot.storage.k8s.io/v1/namespaces/{ns}/volumesnapshots/" + "pt")
            .get("status", {})
            .get("boundVolumeSnapshotContentName")
        )
    )
    vsc = f"volumesnapshotcontent.snapshot.storage.k8s.io/{content}"
    cp = k("patch", "vsc", content, "-p", '{"spec":{"deletionPolicy":"Retain"}}')
    assert cp.returncode == 1
    assert cp.stderr.startswith(
        "error: application/strategic-merge-patch+json is not supported by "
        "snapshot.storage.k8s.io/v1, Kind=VolumeSnapshotContent: the body of the request was in "
        "an unknown format - accepted media types include: application/json-patch+json, "
        "application/merge-patch+json"
    )
    cp = k("patch", "vsc", content, "--type", "merge", "-p", '{"spec":{"deletionPolicy":"Retain"}}')
    assert cp.stdout == f"{vsc} patched\n"
    before = kubesim.get_json("vsc", content)["metadata"]["resourceVersion"]
    cp = k("patch", "vsc", content, "--type", "merge", "-p", '{"spec":{"deletionPolicy":"Retain"}}')
    assert cp.stdout == f"{vsc} patched (no change)\n"
    assert kubesim.get_json("vsc", content)["metadata"]["resourceVersion"] == before
    cp = k(
        "patch",
        "vsc",
        content,
        "--type",
        "json",
        "-p",
        '[{"op":"replace","path":"/spec/deletionPolicy","value":"Delete"}]',
    )
    assert cp.stdout == f"{vsc} patched\n"
    cp = k("patch", "vsc", "nope", "--type", "merge", "-p", "{}")
    assert cp.stderr == (
        "Error from server (NotFound): volumesnapshotcontents.snapshot.storage.k8s.io"
        ' "nope" not found\n'
    )
    # status subresource: only status changes there; main resource ignores status
    cp = k(
        "patch",
        "vs",
        "pt",
        "-n",
        ns,
        "--type",
        "merge",
        "--subresource=status",
        "-p",
        '{"status":{"readyToUse":false}}',
    )
    assert cp.returncode == 0, cp.stderr
    assert kubesim.get_json("vs", "pt", "-n", ns)["status"]["readyToUse"] is False
    k("patch", "vs", "pt", "-n", ns, "--type", "merge", "-p", '{"status":{"readyToUse":true}}')
    assert kubesim.get_json("vs", "pt", "-n", ns)["status"]["readyToUse"] is False
    # strategic merge patch on a built-in kind merges lists by key
    k("create", "deployment", "smp", "-n", ns, "--image=busybox", "--dry-run=client", "-o", "yaml")
    dep = """apiVersion: apps/v1
kind: Deployment
metadata: {name: smp, namespace: api}
spec:
  selector: {matchLabels: {app: smp}}
  template:
    metadata: {labels: {app: smp}}
    spec:
      containers:
      - {name: a, image: busybox}
      - {name: b, image: busybox}
"""
    k("apply", "-f", "-", input=dep, check=True)
    cp = k(
        "patch",
        "deploy",
        "smp",
        "-n",
        ns,
        "-p",
        '{"spec":{"template":{"spec":{"containers":[{"name":"b","image":"busybox:2"}]}}}}',
    )
    assert cp.stdout == "deployment.apps/smp patched\n", cp.stderr
    got = kubesim.get_json("deploy", "smp", "-n", ns)
    assert [(c["name"], c["image"]) for c in got["spec"]["template"]["spec"]["containers"]] == [
        ("a", "busybox"),
        ("b", "busybox:2"),
    ]
    assert got["metadata"]["generation"] == 2


def test_generation_and_resource_version(kubesim: KubeSim, ns: str) -> None:
    k = kubesim.kubectl
    k("apply", "-f", "-", input=vs_yaml("gen", pvc="nopvc"), check=True)  # controller leaves spec
    a = kubesim.get_json("vs", "gen", "-n", ns)
    k("label", "vs/gen", "-n", ns, "x=1", check=True)
    b = kubesim.get_json("vs", "gen", "-n", ns)
    assert b["metadata"]["generation"] == a["metadata"]["generation"] == 1
    assert int(b["metadata"]["resourceVersion"]) > int(a["metadata"]["resourceVersion"])
    k(
        "patch",
        "vs",
        "gen",
        "-n",
        ns,
        "--type",
        "merge",
        "-p",
        '{"spec":{"volumeSnapshotClassName":"other"}}',
        check=True,
    )
    c = kubesim.get_json("vs", "gen", "-n", ns)
    assert c["metadata"]["generation"] == 2
    assert c["metadata"]["uid"] == a["metadata"]["uid"]
    assert c["metadata"]["creationTimestamp"] == a["metadata"]["creationTimestamp"]


def test_generate_name(kubesim: KubeSim, ns: str) -> None:
    cp = kubesim.kubectl(
        "create",
        "-o",
        "name",
        "-f",
        "-",
        input="""apiVersion: v1
kind: ConfigMap
metadata: {generateName: gen-, namespace: api}
""",
    )
    assert cp.returncode == 0, cp.stderr
    name = cp.stdout.strip().split("/")[1]
    assert name.startswith("gen-") and len(name) == len("gen-") + 5


def test_delete(kubesim: KubeSim, ns: str) -> None:
    k = kubesim.kubectl
    k("apply", "-f", "-", input=vs_yaml("del1"), check=True)
    cp = k("delete", "vs", "del1", "-n", ns)
    assert (cp.returncode, cp.stdout) == (
        0,
        'volumesnapshot.snapshot.storage.k8s.io "del1" deleted\n',
    )
    cp = k("delete", "vs", "del1", "-n", ns)
    assert cp.returncode == 1
    assert cp.stderr == (
        'Error from server (NotFound): volumesnapshots.snapshot.storage.k8s.io "del1" not found\n'
    )
    cp = k("delete", "vs", "del1", "-n", ns, "--ignore-not-found")
    assert (cp.returncode, cp.stdout, cp.stderr) == (0, "", "")
    for n in ("dl-a", "dl-b"):
        k("apply", "-f", "-", input=vs_yaml(n, labels="{dl: 'yes'}"), check=True)
    cp = k("delete", "vs", "-n", ns, "-l", "dl=yes", "--wait=false")
    assert sorted(cp.stdout.splitlines()) == [
        'volumesnapshot.snapshot.storage.k8s.io "dl-a" deleted',
        'volumesnapshot.snapshot.storage.k8s.io "dl-b" deleted',
    ]
    k("apply", "-f", "-", input=vs_yaml("dry-del"), check=True)
    cp = k("delete", "vs", "dry-del", "-n", ns, "--dry-run=server")
    assert cp.returncode == 0
    assert k("get", "vs", "dry-del", "-n", ns).returncode == 0


def test_namespace_deletion_deletes_contents(kubesim: KubeSim) -> None:
    k = kubesim.kubectl
    k("create", "ns", "doomed", check=True)
    k("create", "configmap", "c", "-n", "doomed", "--from-literal=a=b", check=True)
    cp = k("delete", "ns", "doomed")
    assert cp.stdout == 'namespace "doomed" deleted\n', cp.stderr
    cp = k("get", "cm", "-A", "--field-selector", "metadata.namespace=doomed", "-o", "name")
    assert cp.stdout == ""
    cp = k("get", "cm", "c", "-n", "doomed")
    assert 'namespaces "doomed" not found' in cp.stderr


def test_create_job_from_cronjob(kubesim: KubeSim, ns: str) -> None:
    k = kubesim.kubectl
    k(
        "apply",
        "-f",
        "-",
        check=True,
        input="""apiVersion: batch/v1
kind: CronJob
metadata: {name: backup, namespace: api}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    metadata: {labels: {job: backup}}
    spec:
      backoffLimit: 0
      template:
        spec:
          restartPolicy: Never
          containers: [{name: b, image: bash, command: [bash, -c, "echo hi"]}]
""",
    )
    cp = k("create", "job", "--from=cronjob/backup", "manual-1", "-n", ns)
    assert (cp.returncode, cp.stdout) == (0, "job.batch/manual-1 created\n"), cp.stderr
    path = f"/apis/batch/v1/namespaces/{ns}/jobs/manual-1"
    kubesim.wait_for(lambda: kubesim.api(path)["spec"].get("selector"))
    job = kubesim.get_json("job", "manual-1", "-n", ns)
    cj = kubesim.get_json("cronjob", "backup", "-n", ns)
    # the template as given, plus what the Job controller defaults (selector, pod labels, ...)
    want = cj["spec"]["jobTemplate"]["spec"]
    assert {k: job["spec"][k] for k in want if k != "template"} == {
        k: v for k, v in want.items() if k != "template"
    }
    assert job["spec"]["template"]["spec"]["containers"] == want["template"]["spec"]["containers"]
    uid = job["metadata"]["uid"]
    assert job["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    # The Job gets the Job defaults; a CronJob's job template does not (as on the real server).
    assert "completions" not in want
    assert (job["spec"]["completions"], job["spec"]["completionMode"]) == (1, "NonIndexed")
    assert job["metadata"]["labels"] == {"job": "backup"}
    assert job["metadata"]["annotations"] == {"cronjob.kubernetes.io/instantiate": "manual"}
    ref = job["metadata"]["ownerReferences"][0]
    assert (ref["kind"], ref["name"], ref["uid"]) == ("CronJob", "backup", cj["metadata"]["uid"])
    cp = k("create", "job", "--from=cronjob/backup", "manual-1", "-n", ns)
    assert cp.stderr == 'error: failed to create job: jobs.batch "manual-1" already exists\n'
    cp = k("create", "job", "--from=cronjob/nope", "m2", "-n", ns)
    assert cp.stderr == 'Error from server (NotFound): cronjobs.batch "nope" not found\n'
    cp = k(
        "create",
        "job",
        "--from=cronjob/backup",
        "manual-3",
        "-n",
        ns,
        "--dry-run=client",
        "-o",
        "name",
    )
    assert cp.stdout == "job.batch/manual-3\n"


def test_scale_subresource(kubesim: KubeSim, ns: str) -> None:
    k = kubesim.kubectl
    k(
        "create",
        "deployment",
        "scaled",
        "-n",
        ns,
        "--image=busybox",
        "--dry-run=client",
        "-o",
        "yaml",
    )
    k(
        "apply",
        "-f",
        "-",
        check=True,
        input="""apiVersion: apps/v1
kind: Deployment
metadata: {name: scaled, namespace: api}
spec:
  replicas: 1
  selector: {matchLabels: {app: scaled}}
  template:
    metadata: {labels: {app: scaled}}
    spec: {containers: [{name: a, image: busybox}]}
""",
    )
    cp = k("scale", "deployment/scaled", "-n", ns, "--replicas=3")
    assert cp.stdout == "deployment.apps/scaled scaled\n", cp.stderr
    kubesim.wait_for(
        lambda: (
            len(kubesim.api(f"/api/v1/namespaces/{ns}/pods?labelSelector=app%3Dscaled")["items"])
            == 3
        )
    )
    cp = k("get", "pods", "-n", ns, "-l", "app=scaled", "-o", "name")
    assert len(cp.stdout.split()) == 3


def test_table_output(kubesim: KubeSim, ns: str) -> None:
    k = kubesim.kubectl
    k("apply", "-f", "-", input=vs_yaml("tbl", labels="{tbl: 'yes'}"), check=True)
    kubesim.wait_for(
        lambda: (
            kubesim.api(
                f"/apis/snapshot.storage.k8s.io/v1/namespaces/{ns}/volumesnapshots/" + "tbl"
            )
            .get("status", {})
            .get("readyToUse")
        )
    )
    cp = k("get", "vs", "-n", ns, "-l", "tbl")
    header, row = cp.stdout.splitlines()
    assert header.split()[:4] == ["NAME", "READYTOUSE", "SOURCEPVC", "SOURCESNAPSHOTCONTENT"]
    assert row.split()[:3] == ["tbl", "true", "data"]
    cp = k("get", "vs", "-A", "-l", "tbl", "--show-labels")
    header, row = cp.stdout.splitlines()
    assert header.split()[0] == "NAMESPACE" and header.split()[-1] == "LABELS"
    assert row.split()[0] == "api" and row.split()[-1] == "tbl=yes"
    kubesim.reset_requests()
    cp = k("get", "vs", "-A", "-l", "tbl", "--sort-by=.metadata.name")
    assert cp.stdout.splitlines()[1].split()[:2] == ["api", "tbl"], cp.stderr
    lists = [r for r in kubesim.requests() if r["path"].endswith("/volumesnapshots")]
    assert "includeObject=Object" in lists[0]["query"]
    cp = k("get", "pvc", "data", "-n", ns, "-o", "wide")
    header, row = cp.stdout.splitlines()
    assert header.split()[:2] == ["NAME", "STATUS"] and "VOLUMEMODE" in header
    assert row.split()[:2] == ["data", "Bound"]


def test_finalizers_delay_deletion(kubesim: KubeSim, ns: str) -> None:
    k = kubesim.kubectl
    k("create", "configmap", "fin", "-n", ns, check=True)
    k(
        "patch",
        "cm",
        "fin",
        "-n",
        ns,
        "--type",
        "merge",
        "-p",
        '{"metadata":{"finalizers":["example.com/keep"]}}',
        check=True,
    )
    cp = k("delete", "cm", "fin", "-n", ns, "--wait=false")
    assert cp.stdout == 'configmap "fin" deleted\n'
    got = kubesim.get_json("cm", "fin", "-n", ns)
    assert got["metadata"]["deletionTimestamp"]
    k(
        "patch",
        "cm",
        "fin",
        "-n",
        ns,
        "--type",
        "json",
        "-p",
        '[{"op":"remove","path":"/metadata/finalizers"}]',
        check=True,
    )
    cp = k("get", "cm", "fin", "-n", ns)
    assert cp.stderr == 'Error from server (NotFound): configmaps "fin" not found\n'


def test_auth_can_i_without_tls_is_admin(kubesim: KubeSim) -> None:
    cp = kubesim.kubectl("auth", "can-i", "create", "pods/exec", "-n", "default")
    assert (cp.returncode, cp.stdout) == (0, "yes\n"), cp.stderr


def test_pagination_with_limit_and_continue(kubesim: KubeSim, ns: str) -> None:
    k = kubesim.kubectl
    for i in range(5):
        k("create", "configmap", f"page-{i}", "-n", ns, "--from-literal=a=b", check=True)
    kubesim.reset_requests()
    cp = k(
        "get",
        "cm",
        "-n",
        ns,
        "-o",
        "name",
        "--chunk-size=2",
        "--field-selector",
        "metadata.name!=cfg",
    )
    names = [n for n in cp.stdout.split() if n.startswith("configmap/page-")]
    assert names == [f"configmap/page-{i}" for i in range(5)]
    pages = [r for r in kubesim.requests() if r["path"] == f"/api/v1/namespaces/{ns}/configmaps"]
    assert len(pages) >= 3 and all("limit=2" in r["query"] for r in pages)
    assert "continue=" in pages[1]["query"]
    first = kubesim.api(f"/api/v1/namespaces/{ns}/configmaps?limit=2")
    assert len(first["items"]) == 2 and first["metadata"]["continue"]
    every = kubesim.api(f"/api/v1/namespaces/{ns}/configmaps")["items"]
    assert first["metadata"]["remainingItemCount"] == len(every) - 2
    # under a selector the apiserver does not know what remains: the field is omitted
    sel = kubesim.api(
        f"/api/v1/namespaces/{ns}/configmaps?limit=2&fieldSelector=metadata.name!=cfg"
    )
    assert sel["metadata"]["continue"] and "remainingItemCount" not in sel["metadata"]


def test_snapshot_crd_rules(kubesim: KubeSim, ns: str) -> None:
    """The external-snapshotter CRDs' rules (required, enum, CEL immutability)."""
    k = kubesim.kubectl
    k("apply", "-f", "-", input=vs_yaml("rules", pvc="nopvc"), check=True)
    cp = k(
        "patch",
        "vs",
        "rules",
        "-n",
        ns,
        "--type",
        "merge",
        "-p",
        '{"spec":{"source":{"persistentVolumeClaimName":"other"}}}',
    )
    assert cp.stderr == (
        'The VolumeSnapshot "rules" is invalid: spec.source.persistentVolumeClaimName: Invalid '
        'value: "string": persistentVolumeClaimName is immutable\n'
    )
    cp = k(
        "create",
        "-f",
        "-",
        input="""apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotContent
metadata: {name: bad-content}
spec: {deletionPolicy: Keep, driver: d, source: {snapshotHandle: h}, volumeSnapshotRef: {name: a}}
""",
    )
    assert cp.returncode == 1
    assert (
        'spec.deletionPolicy: Unsupported value: "Keep": supported values: "Delete", "Retain"'
        in (cp.stderr)
    )
    assert (
        "both spec.volumeSnapshotRef.name and spec.volumeSnapshotRef.namespace must be set"
        in cp.stderr
    )


def test_workload_selector_rules(kubesim: KubeSim, ns: str) -> None:
    cp = kubesim.kubectl(
        "apply",
        "-f",
        "-",
        input="""apiVersion: apps/v1
kind: Deployment
metadata: {name: mismatch, namespace: api}
spec:
  selector: {matchLabels: {app: a}}
  template:
    metadata: {labels: {app: b}}
    spec: {containers: [{name: c, image: busybox}]}
""",
    )
    assert cp.stderr == (
        'The Deployment "mismatch" is invalid: spec.template.metadata.labels: Invalid value: '
        'map[string]string{"app":"b"}: `selector` does not match template `labels`\n'
    )


def test_seeded_objects_keep_uid_and_creation_timestamp(kubesim: KubeSim) -> None:
    kubesim.seed(
        [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": "seeded",
                    "namespace": "seeds",
                    "uid": "0b0e2d9c-1111-4222-8333-444455556666",
                    "creationTimestamp": "2026-01-02T03:04:05Z",
                },
                "data": {"k": "v"},
            }
        ]
    )
    meta = kubesim.get_json("configmap", "seeded", "-n", "seeds")["metadata"]
    assert meta["uid"] == "0b0e2d9c-1111-4222-8333-444455556666"
    assert meta["creationTimestamp"] == "2026-01-02T03:04:05Z"
