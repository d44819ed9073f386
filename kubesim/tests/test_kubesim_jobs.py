"""kubesim runs Jobs: the Job controller (jobs.py) and the kubelet of pods that run (kubelet.py).

Real kubectl over TLS; the containers are local processes with the pod's volumes, env
and ServiceAccount token.
"""

from __future__ import annotations

import os
import time
from typing import Any

import pytest
import yaml

from kubesim.fixture import KubeSim

NS = "jobs"
RBAC = "rbac.authorization.k8s.io"


@pytest.fixture(scope="module")
def sim(kubesim_tls: KubeSim) -> KubeSim:
    kubesim_tls.kubectl("create", "namespace", NS, check=True)
    return kubesim_tls


def job(name: str, script: str, **spec: Any) -> dict[str, Any]:
    pod = spec.pop("pod", {})
    container = {"name": "main", "image": "none", "command": ["/bin/bash", "-c", script],
                 **spec.pop("container", {})}  # fmt: skip
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "backoffLimit": 0,
            **spec,
            "template": {"spec": {"restartPolicy": "Never", "containers": [container], **pod}},
        },
    }


def apply(sim: KubeSim, *objs: dict[str, Any]) -> None:
    sim.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(objs), check=True)


def finished(sim: KubeSim, name: str, timeout: float = 60.0) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        obj = sim.api(f"/apis/batch/v1/namespaces/{NS}/jobs/{name}")
        for c in (obj or {}).get("status", {}).get("conditions") or []:
            if c["type"] in ("Complete", "Failed") and c["status"] == "True":
                return obj
        return None

    got: dict[str, Any] = sim.wait_for(done, timeout)
    return got


def condition(obj: dict[str, Any], typ: str) -> dict[str, Any]:
    return next(c for c in obj["status"]["conditions"] if c["type"] == typ)


def pods(sim: KubeSim, name: str) -> list[dict[str, Any]]:
    got = sim.api(f"/api/v1/namespaces/{NS}/pods?labelSelector=job-name%3D{name}")
    return sorted(got["items"], key=lambda p: p["metadata"]["creationTimestamp"])


def logs(sim: KubeSim, *args: str) -> str:
    return sim.kubectl("-n", NS, "logs", *args, check=True).stdout


def test_a_job_runs_its_command_and_completes_with_its_output_in_the_log(sim: KubeSim) -> None:
    apply(sim, job("hello", "echo out; echo err >&2; echo done"))
    wait = sim.kubectl("-n", NS, "wait", "--for=condition=complete", "job/hello", "--timeout=60s")
    assert wait.returncode == 0, wait.stderr
    obj = finished(sim, "hello")
    assert obj["status"]["succeeded"] == 1 and obj["status"]["active"] == 0
    assert condition(obj, "Complete")["reason"] == "CompletionsReached"
    assert obj["spec"]["selector"] == {
        "matchLabels": {"batch.kubernetes.io/controller-uid": obj["metadata"]["uid"]}
    }
    assert "completionTime" in obj["status"]
    assert logs(sim, "job/hello") == "out\nerr\ndone\n"
    (pod,) = pods(sim, "hello")
    assert pod["status"]["phase"] == "Succeeded"
    term = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (term["exitCode"], term["reason"]) == (0, "Completed")
    stamped = logs(sim, pod["metadata"]["name"], "--timestamps", "--tail=1")
    assert stamped.endswith("Z done\n") and stamped.startswith("20")
    jsonpath = 'jsonpath={range .items[*]}{.reason} {.involvedObject.kind}{"\\n"}{end}'
    events = sim.kubectl("-n", NS, "get", "events", "-o", jsonpath).stdout
    assert {"SuccessfulCreate Job", "Completed Job", "Started Pod"} <= set(events.splitlines())


def test_the_container_gets_env_volumes_workdir_and_user_of_its_spec(sim: KubeSim) -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "files", "namespace": NS},
          "data": {"run.sh": "echo from-configmap\n", "other": "x", "key": "cm-value"}}  # fmt: skip
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds", "namespace": NS},
              "stringData": {"password": "s3cret"}}  # fmt: skip
    script = (
        'set -u; echo "pod=$POD ns=$NAMESPACE node=$NODE sa=$SA pw=$PW cm=$CM ref=$REF"; '
        "pwd; id -u; "
        "stat -c '%a' /opt/files/bin/run.sh; ls /opt/files/bin; bash /opt/files/bin/run.sh; "
        "touch /tmp/ok && echo tmp-writable; touch /root-fs 2>/dev/null || echo root-read-only; "
        "echo node-file >/node/f"
    )
    env = [
        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
        {"name": "SA", "valueFrom": {"fieldRef": {"fieldPath": "spec.serviceAccountName"}}},
        {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}},
        {"name": "CM", "valueFrom": {"configMapKeyRef": {"name": "files", "key": "key"}}},
        {"name": "REF", "value": "$(NAMESPACE)-x"},
    ]
    container = {
        "env": env,
        "workingDir": "/tmp",
        "securityContext": {"runAsUser": 1234, "readOnlyRootFilesystem": True},
        "volumeMounts": [
            {"name": "files", "mountPath": "/opt/files", "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "node", "mountPath": "/node"},
        ],
    }
    volumes = [
        {"name": "files", "configMap": {"name": "files", "defaultMode": 0o555,
                                        "items": [{"key": "run.sh", "path": "bin/run.sh"}]}},
        {"name": "tmp", "emptyDir": {}},
        {"name": "node", "hostPath": {"path": "/var/kubesim-test", "type": "DirectoryOrCreate"}},
    ]  # fmt: skip
    os.chmod(sim.state_dir, 0o755)  # the hostPath dir below must be writable by uid 1234
    node_dir = sim.state_dir / "hostpath" / "var" / "kubesim-test"
    node_dir.mkdir(parents=True)
    node_dir.chmod(0o777)
    apply(sim, cm, secret, job("env", script, container=container, pod={"volumes": volumes}))
    obj = finished(sim, "env")
    out = logs(sim, "job/env")
    assert condition(obj, "Complete")["status"] == "True", out
    (pod,) = pods(sim, "env")
    name = pod["metadata"]["name"]
    assert out == (
        f"pod={name} ns={NS} node=kubesim-node sa=default pw=s3cret cm=cm-value ref={NS}-x\n"
        "/tmp\n1234\n555\nrun.sh\nfrom-configmap\ntmp-writable\nroot-read-only\n"
    )
    assert (node_dir / "f").read_text() == "node-file\n"


def test_kubectl_in_the_pod_talks_as_its_service_account_with_rbac(sim: KubeSim) -> None:
    sa = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "reader", "namespace": NS},
    }
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": "cm-reader", "namespace": NS},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}],
    }
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": "reader", "namespace": NS},
               "roleRef": {"apiGroup": RBAC, "kind": "Role", "name": "cm-reader"},
               "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": NS}],
               }  # fmt: skip
    script = (
        "d=/var/run/secrets/kubernetes.io/serviceaccount; ls $d; cat $d/namespace; echo; "
        "kubectl auth whoami -o jsonpath='{.status.userInfo.username}'; echo; "
        "kubectl get secrets 2>&1 || true"
    )
    apply(sim, sa, role, binding,
          job("incluster", script, pod={"serviceAccountName": "reader"},
              container={"env": [{"name": "HOME", "value": "/tmp"}]}))  # fmt: skip
    finished(sim, "incluster")
    out = logs(sim, "job/incluster").splitlines()
    assert out[:5] == ["ca.crt", "namespace", "token", NS, f"system:serviceaccount:{NS}:reader"]
    assert out[-1] == (
        "Error from server (Forbidden): secrets is forbidden:"
        f' User "system:serviceaccount:{NS}:reader"'
        f' cannot list resource "secrets" in API group "" in the namespace "{NS}"'
    )


def test_backoff_limit_retries_then_the_job_fails(sim: KubeSim) -> None:
    apply(sim, job("flaky", "echo try; exit 3", backoffLimit=2))
    obj = finished(sim, "flaky")
    failed = condition(obj, "Failed")
    assert (failed["reason"], failed["message"]) == (
        "BackoffLimitExceeded",
        "Job has reached the specified backoff limit",
    )
    assert obj["status"]["failed"] == 3
    assert [
        p["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"]
        for p in pods(sim, "flaky")
    ] == [3, 3, 3]
    assert condition(obj, "FailureTarget")["reason"] == "BackoffLimitExceeded"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _pid_of(sim: KubeSim, name: str) -> int:
    def pid() -> int | None:
        for p in pods(sim, name):
            text = sim.kubectl("-n", NS, "logs", p["metadata"]["name"]).stdout.split()
            if text:
                return int(text[0])
        return None

    got: int = sim.wait_for(pid, 30)
    return got


def test_active_deadline_kills_the_process_group(sim: KubeSim) -> None:
    apply(sim, job("slow", "sleep 300 & echo $!; wait", activeDeadlineSeconds=2))
    child = _pid_of(sim, "slow")
    assert _pid_alive(child)
    obj = finished(sim, "slow")
    assert condition(obj, "Failed")["reason"] == "DeadlineExceeded"
    sim.wait_for(lambda: not _pid_alive(child), 15)
    assert pods(sim, "slow") == []  # the controller deleted the running pod


@pytest.mark.parametrize("cascade", ["background", "foreground"])
def test_deleting_the_job_ends_its_process(sim: KubeSim, cascade: str) -> None:
    name = f"forever-{cascade}"
    apply(sim, job(name, "sleep 300 & echo $!; wait"))
    child = _pid_of(sim, name)
    sim.kubectl("-n", NS, "delete", "job", name, f"--cascade={cascade}", check=True)
    sim.wait_for(lambda: not _pid_alive(child), 15)
    sim.wait_for(lambda: pods(sim, name) == [], 15)


def test_a_missing_configmap_keeps_the_pod_pending_until_it_exists(sim: KubeSim) -> None:
    vol = [{"name": "c", "configMap": {"name": "later"}}]
    mounts = [{"name": "c", "mountPath": "/c"}]
    apply(sim, job("waits", "cat /c/k", pod={"volumes": vol}, container={"volumeMounts": mounts}))
    sim.wait_for(lambda: pods(sim, "waits"))
    time.sleep(1.5)
    (pod,) = pods(sim, "waits")
    assert pod["status"]["phase"] == "Pending"
    events = sim.kubectl(
        "-n",
        NS,
        "get",
        "events",
        "--field-selector",
        f"involvedObject.name={pod['metadata']['name']}",
    ).stdout
    assert 'MountVolume.SetUp failed for volume "c" : configmap "later" not found' in events
    apply(
        sim,
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "later", "namespace": NS},
            "data": {"k": "v"},
        },
    )
    finished(sim, "waits")
    assert logs(sim, "job/waits") == "v"


def test_a_command_that_cannot_start_fails_the_pod(sim: KubeSim) -> None:
    obj = job("nostart", "")
    obj["spec"]["template"]["spec"]["containers"][0]["command"] = ["/no/such/binary"]
    apply(sim, obj)
    finished(sim, "nostart")
    (pod,) = pods(sim, "nostart")
    term = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (term["exitCode"], term["reason"]) == (128, "StartError")
    assert (
        'exec: "/no/such/binary": stat /no/such/binary: no such file or directory'
        in term["message"]
    )


def test_logs_follow_streams_until_the_container_ends(sim: KubeSim) -> None:
    apply(sim, job("ticker", "for i in 1 2 3; do echo $i; sleep 0.3; done"))
    sim.wait_for(lambda: pods(sim, "ticker"))
    sim.wait_for(
        lambda: (
            (pods(sim, "ticker")[0].get("status") or {}).get("phase") in ("Running", "Succeeded")
        )
    )
    assert logs(sim, "-f", "job/ticker") == "1\n2\n3\n"


def bare_pod(name: str, script: str, **container: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "main", "image": "none",
                            "command": ["/bin/bash", "-c", script], **container}],
        },
    }  # fmt: skip


def terminated(sim: KubeSim, name: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        pod = sim.api(f"/api/v1/namespaces/{NS}/pods/{name}")
        st = (pod.get("status") or {}).get("containerStatuses") or [{}]
        return st[0].get("state", {}).get("terminated")  # type: ignore[no-any-return]

    got: dict[str, Any] = sim.wait_for(done, 60)
    return got


def test_a_pod_of_its_own_with_a_command_runs_and_reports_its_termination_message(
    sim: KubeSim,
) -> None:
    """A pod no controller owns runs when its containers give a command; what it writes
    to /dev/termination-log (as a non-root user, read-only root) is its message."""
    apply(
        sim,
        bare_pod(
            "msg",
            "id -u; printf 'result=ok\\n' >/dev/termination-log",
            securityContext={"runAsUser": 1234, "readOnlyRootFilesystem": True},
        ),
    )
    term = terminated(sim, "msg")
    assert (term["exitCode"], term["message"]) == (0, "result=ok\n")
    assert logs(sim, "msg") == "1234\n"


def test_fallback_to_logs_on_error_takes_the_log_tail(sim: KubeSim) -> None:
    script = "for i in $(seq 1 100); do echo line $i; done; exit 3"
    apply(sim, bare_pod("fallback", script, terminationMessagePolicy="FallbackToLogsOnError"),
          bare_pod("nofallback", script))  # fmt: skip
    term = terminated(sim, "fallback")
    assert term["exitCode"] == 3
    assert term["message"] == "".join(f"line {i}\n" for i in range(21, 101))
    assert "message" not in terminated(sim, "nofallback")


def test_a_seeded_workload_pod_without_a_command_runs_no_process(sim: KubeSim) -> None:
    pod = bare_pod("target", "")
    del pod["spec"]["containers"][0]["command"]
    apply(sim, pod)
    got = sim.wait_for(
        lambda: sim.api(f"/api/v1/namespaces/{NS}/pods/target")["status"].get("phase")
    )
    assert got == "Running"
