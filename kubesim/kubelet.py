"""The kubelet of the pods that run: their containers' commands as local processes.

Which pods run: those a Job owns (controller ownerReference, see jobs.py), pods
annotated ``kubesim.io/run: "true"``, and pods that no controller owns whose every
container gives a ``command`` (what a client creates to run: the toolbox's helper and
drill pods). Every other pod stays what controllers.reconcile_pod makes it: Running
at once, no process (the workloads that tests seed as ``kubectl exec`` targets, which
name an image and no command: there are no images to run).

There are no images. A container is the host's filesystem seen through the same
"container" as exec (exec.ContainerFS: a private mount namespace, a chroot that
mirrors ``/``, the pod's volumes at their mount paths), so ``bash``, ``kubectl``,
coreutils, ``psql`` come from this machine. ``command`` is required (no image
entrypoint to fall back to); ``args`` follow it; ``$(VAR)`` is expanded.

A pod that runs:

1. is bound to node ``kubesim-node`` and gets its ServiceAccount credentials
   volume (serviceaccount.admit), phase Pending;
2. waits, Pending with the kubelet's reasons and Events, until what it needs is
   there: ConfigMaps/Secrets of its volumes (``FailedMount``), PVCs bound
   (``FailedScheduling``), Secrets/ConfigMaps of ``env`` (``CreateContainerConfigError``);
3. runs its init containers one after the other, then its containers together,
   each as the user of its ``securityContext`` (``runAsUser``/``runAsGroup``,
   ``fsGroup`` as a supplementary group), ``readOnlyRootFilesystem`` honoured, with
   the env of ``exec`` plus ``KUBERNETES_SERVICE_HOST``/``_PORT`` (kubesim's listener:
   with ``--tls`` kubectl inside uses the in-cluster config, i.e. the pod's token);
4. keeps each container's output as a CRI log file
   (``STATE/logs/<ns>/<pod>/<container>/<restart>.log``) that ``kubectl logs``
   reads (``--timestamps``, ``--tail``, ``--limit-bytes``, ``-f``, ``--previous``);
   its ``terminationMessagePath`` (default ``/dev/termination-log``) is a fresh
   writable file whose first 4096 bytes become ``state.terminated.message``; with
   ``terminationMessagePolicy: FallbackToLogsOnError`` a failed container that left
   it empty gets the last 80 lines (at most 2048 bytes) of its log instead;
   stdout and stderr share one pipe, so their order is kept exactly (a runtime
   reads two pipes and may interleave them differently; the stream tag is always stdout);
5. is Running once a container (not an init container) started, and its container
   ends when the container's first process exits (the rest of it is killed, as a
   runtime does when PID 1 of the container ends);
6. ends Succeeded (every container exited 0) or Failed, with each container's
   ``state.terminated`` (exitCode, reason ``Completed``/``Error``/``StartError``);
   ``restartPolicy: OnFailure``/``Always`` restart the container in place
   (``restartCount``) after a short back-off.

Deleting the pod (directly, or through its Job) stops it: SIGTERM to the process
group, SIGKILL to everything left in its mount namespace after
``terminationGracePeriodSeconds`` (at most MAX_GRACE_SECONDS here).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import os
import signal
import subprocess
import tempfile
import uuid
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import freeze, serviceaccount
from .resources import CONFIGMAPS, PODS, PVCS, SECRETS
from .store import ApiError, now_iso

if TYPE_CHECKING:
    from .sim import Sim

RUN_ANNOTATION = "kubesim.io/run"
NODE = "kubesim-node"
WAIT_RETRY_SECONDS = 1.0
"""A pod waiting for a ConfigMap, Secret or PVC looks again this often."""
MAX_GRACE_SECONDS = 10.0
RESTART_BACKOFF_SECONDS = 1.0
"""restartPolicy OnFailure/Always: 1 s, 2 s, 4 s ... at most 10 s (the kubelet: 10 s ... 5 min)."""
OUTPUT_GRACE_SECONDS = 2.0
START_ERROR_CODE = 128
MESSAGE_BYTES = 4096
"""The kubelet reads at most this much of a termination message file."""
FALLBACK_LINES, FALLBACK_BYTES = 80, 2048
"""FallbackToLogsOnError: the log's last lines, at most this many bytes."""
NO_IMAGES = "kubesim runs no container images: the container needs a command"


def runs_process(pod: dict[str, Any]) -> bool:
    meta = pod["metadata"]
    if (meta.get("annotations") or {}).get(RUN_ANNOTATION) == "true":
        return True
    owners = meta.get("ownerReferences") or []
    if not owners:
        spec = pod.get("spec") or {}
        containers = list(spec.get("initContainers") or []) + list(spec.get("containers") or [])
        return bool(containers) and all(c.get("command") for c in containers)
    return any(r.get("kind") == "Job" and r.get("controller") for r in owners)


def _ts_nano() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


def log_dir(sim: Sim, ns: str, pod: str, container: str) -> str:
    return os.path.join(sim.state_dir, "logs", ns, pod, container)


class Kubelet:
    def __init__(self, sim: Sim) -> None:
        self.sim = sim
        self.store = sim.store
        self.pods: dict[str, PodRun] = {}
        sim.store.subscribe(self.on_event)

    def on_event(self, typ: str, res: Any, obj: dict[str, Any]) -> None:
        if res is not PODS:
            return
        meta = obj["metadata"]
        uid = meta.get("uid", "")
        if typ == "DELETED" or meta.get("deletionTimestamp"):
            run = self.pods.get(uid)
            if run is not None:
                run.stopping.set()
            return
        if uid in self.pods or not runs_process(obj) or (obj.get("status") or {}).get("phase"):
            return
        run = PodRun(self, obj)
        self.pods[uid] = run
        self.sim.controllers._spawn(run.main())


class PodRun:
    """One running pod: its status as this kubelet sees it, written to the store."""

    def __init__(self, kubelet: Kubelet, pod: dict[str, Any]) -> None:
        self.kubelet = kubelet
        self.sim = kubelet.sim
        self.store = kubelet.store
        meta = pod["metadata"]
        self.ns, self.name, self.uid = meta.get("namespace", ""), meta["name"], meta["uid"]
        self.stopping = asyncio.Event()
        self.phase = "Pending"
        self.start_time: str | None = None
        self.conditions: dict[str, tuple[str, str]] = {}
        self.statuses: dict[str, dict[str, Any]] = {}
        self.warned: set[str] = set()
        self.kubelet_ip = "10.0.0.1"
        self.pod_ip = f"10.245.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 2}"

    # -- the store ------------------------------------------------------------------------
    def pod(self) -> dict[str, Any] | None:
        pod = self.store.get(PODS, self.ns, self.name)
        if pod is None or pod["metadata"].get("uid") != self.uid:
            return None
        return pod

    def _container_status(self, c: dict[str, Any]) -> dict[str, Any]:
        st = self.statuses.get(c.get("name", ""))
        if st is None:
            st = {
                "waiting": {"reason": "PodInitializing" if self.conditions else "ContainerCreating"}
            }
            st = {"state": st, "restartCount": 0, "ready": False, "started": False}
        return {
            "name": c.get("name", ""),
            "image": c.get("image", ""),
            "imageID": "",
            **st,
        }

    def write(self) -> None:
        pod = self.pod()
        if pod is None:
            return
        spec = pod.get("spec") or {}
        ts = now_iso()
        old = {c["type"]: c for c in (pod.get("status") or {}).get("conditions") or []}
        conds = []
        for typ in (
            "PodReadyToStartContainers",
            "Initialized",
            "Ready",
            "ContainersReady",
            "PodScheduled",
        ):
            if typ not in self.conditions:
                continue
            status, reason = self.conditions[typ]
            prev = old.get(typ)
            cond: dict[str, Any] = {
                "type": typ,
                "status": status,
                "lastProbeTime": None,
                "lastTransitionTime": prev["lastTransitionTime"]
                if prev and prev.get("status") == status
                else ts,
            }
            if reason:
                cond["reason"] = reason
            conds.append(cond)
        status: dict[str, Any] = {"phase": self.phase, "conditions": conds, "qosClass": "Burstable"}
        if "PodScheduled" in self.conditions and self.conditions["PodScheduled"][0] == "True":
            status.update(hostIP=self.kubelet_ip, hostIPs=[{"ip": self.kubelet_ip}])
        if self.start_time:
            status.update(
                podIP=self.pod_ip, podIPs=[{"ip": self.pod_ip}], startTime=self.start_time
            )
        if spec.get("initContainers"):
            status["initContainerStatuses"] = [
                self._container_status(c) for c in spec["initContainers"]
            ]
        status["containerStatuses"] = [
            self._container_status(c) for c in spec.get("containers") or []
        ]
        new = copy.deepcopy(pod)
        new["metadata"].pop("resourceVersion", None)
        new["status"] = status
        with contextlib.suppress(ApiError):
            self.store.update(PODS, new)

    def event(self, typ: str, reason: str, message: str) -> None:
        pod = self.pod()
        if pod is not None:
            self.sim.controllers.event(pod, typ, reason, message, component="kubelet")

    # -- the life of the pod ----------------------------------------------------------------
    async def main(self) -> None:
        try:
            await self._main()
        finally:
            self.kubelet.pods.pop(self.uid, None)

    async def _main(self) -> None:
        pod = self.pod()
        if pod is None:
            return
        new = copy.deepcopy(pod)
        new["metadata"].pop("resourceVersion", None)
        new.setdefault("spec", {}).setdefault("nodeName", NODE)
        new["spec"].setdefault("restartPolicy", "Always")
        serviceaccount.admit(self.sim, new)
        new["status"] = {"phase": "Pending"}
        self.store.update(PODS, new)
        self.conditions["PodScheduled"] = ("True", "")
        self.write()
        if not await self._wait_until_startable():
            return
        pod = self.pod()
        if pod is None:
            return
        spec = pod["spec"]
        self.start_time = now_iso()
        self.conditions.update(
            PodReadyToStartContainers=("True", ""),
            Initialized=("False", "ContainersNotInitialized")
            if spec.get("initContainers")
            else ("True", ""),
            Ready=("False", "ContainersNotReady"),
            ContainersReady=("False", "ContainersNotReady"),
        )
        self.write()
        self.event("Normal", "Scheduled", f"Successfully assigned {self.ns}/{self.name} to {NODE}")
        for c in spec.get("initContainers") or []:
            code = await self._run_container(c, spec)
            if code is None:
                return
            if code != 0:
                self._finish("Failed")
                return
        self.conditions["Initialized"] = ("True", "")
        self.write()
        codes = await asyncio.gather(
            *(self._run_container(c, spec) for c in spec.get("containers") or [])
        )
        if any(code is None for code in codes):
            return
        self._finish("Succeeded" if all(code == 0 for code in codes) else "Failed")

    def _finish(self, phase: str) -> None:
        self.phase = phase
        self.conditions.update(
            Ready=("False", "PodCompleted"),
            ContainersReady=("False", "PodCompleted"),
            PodReadyToStartContainers=("False", ""),
        )
        self.write()

    async def _sleep(self, seconds: float) -> bool:
        """Sleep; False when the pod is being stopped meanwhile."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), seconds)
        return not self.stopping.is_set()

    async def _wait_until_startable(self) -> bool:
        # fault "pod-start" (match namespace, pod): the containers start only after
        # "seconds" (an image pull that takes that long), the pod Pending meanwhile
        hold = self.sim.faults.take("pod-start", namespace=self.ns, pod=self.name)
        if hold and not await self._sleep(float(hold.get("seconds", 3600))):
            return False
        while True:
            pod = self.pod()
            if pod is None or self.stopping.is_set():
                return False
            blocker = self._blocker(pod)
            if blocker is None:
                return True
            kind, reason, message = blocker
            if kind == "schedule":
                self.conditions["PodScheduled"] = ("False", "Unschedulable")
            for c in pod["spec"].get("containers") or []:
                state = "CreateContainerConfigError" if kind == "config" else "ContainerCreating"
                waiting = {"reason": state}
                if kind == "config":
                    waiting["message"] = message
                self.statuses[c.get("name", "")] = {
                    "state": {"waiting": waiting},
                    "restartCount": 0,
                    "ready": False,
                    "started": False,
                }
            self.write()
            if message not in self.warned:
                self.warned.add(message)
                self.event("Warning", reason, message)
            if not await self._sleep(WAIT_RETRY_SECONDS):
                return False
            self.conditions["PodScheduled"] = ("True", "")
            self.statuses.clear()

    def _blocker(self, pod: dict[str, Any]) -> tuple[str, str, str] | None:
        """What keeps the pod from starting: (kind, event reason, message), or None."""
        ns = self.ns
        spec = pod.get("spec") or {}
        for vol in spec.get("volumes") or []:
            claim = (vol.get("persistentVolumeClaim") or {}).get("claimName")
            if claim:
                pvc = self.store.get(PVCS, ns, claim)
                if pvc is None:
                    why = f'persistentvolumeclaim "{claim}" not found.'
                    return ("schedule", "FailedScheduling", f"0/1 nodes are available: {why}")
                if (pvc.get("status") or {}).get("phase") != "Bound":
                    why = "pod has unbound immediate PersistentVolumeClaims."
                    return ("schedule", "FailedScheduling", f"0/1 nodes are available: {why}")
            for key, res, word, name_key in (
                ("configMap", CONFIGMAPS, "configmap", "name"),
                ("secret", SECRETS, "secret", "secretName"),
            ):
                src = vol.get(key)
                if (
                    src
                    and not src.get("optional")
                    and self.store.get(res, ns, src.get(name_key, "")) is None
                ):
                    return ("mount", "FailedMount",
                            f'MountVolume.SetUp failed for volume "{vol.get("name")}" : '
                            f'{word} "{src.get(name_key, "")}" not found')  # fmt: skip
        for c in list(spec.get("initContainers") or []) + list(spec.get("containers") or []):
            for item in c.get("env") or []:
                vf = item.get("valueFrom") or {}
                for key, res, word, kind in (
                    ("secretKeyRef", SECRETS, "secret", "Secret"),
                    ("configMapKeyRef", CONFIGMAPS, "configmap", "ConfigMap"),
                ):
                    ref = vf.get(key)
                    if not ref or ref.get("optional"):
                        continue
                    obj = self.store.get(res, ns, ref.get("name", ""))
                    if obj is None:
                        return (
                            "config",
                            "Failed",
                            f'Error: {word} "{ref.get("name", "")}" not found',
                        )
                    if ref.get("key", "") not in (obj.get("data") or {}):
                        where = f"{kind} {ns}/{ref.get('name', '')}"
                        return (
                            "config",
                            "Failed",
                            f"Error: couldn't find key {ref.get('key', '')} in {where}",
                        )
        return None

    async def _run_container(self, c: dict[str, Any], spec: dict[str, Any]) -> int | None:
        """Run one container (restarted per restartPolicy): its last exit code, None if stopped."""
        policy = spec.get("restartPolicy", "Always")
        restarts = 0
        while True:
            code = await self._run_once(c, spec, restarts)
            if self.stopping.is_set():
                return None
            if policy == "Never" or (policy == "OnFailure" and code == 0):
                return code
            restarts += 1
            st = self.statuses[c.get("name", "")]
            st["restartCount"] = restarts
            st["lastState"] = st["state"]
            st["state"] = {"waiting": {"reason": "CrashLoopBackOff"}}
            self.write()
            if not await self._sleep(min(RESTART_BACKOFF_SECONDS * 2 ** (restarts - 1), 10.0)):
                return None

    def _env(self, pod: dict[str, Any], c: dict[str, Any], uid: int | None) -> dict[str, str]:
        from .exec import _default_path
        from .podenv import resolve_env

        env = {
            "PATH": _default_path(),
            "HOSTNAME": self.name,
            "HOME": "/root" if not uid else "/",
            "LANG": "C.UTF-8",
        }
        port = self.sim.url.rsplit(":", 1)[-1] if self.sim.url else ""
        if port.isdigit():
            env.update(
                KUBERNETES_SERVICE_HOST="127.0.0.1",
                KUBERNETES_SERVICE_PORT=port,
                KUBERNETES_SERVICE_PORT_HTTPS=port,
                KUBERNETES_PORT=f"tcp://127.0.0.1:{port}",
            )
        env.update(resolve_env(self.sim, pod, c))
        return env

    @staticmethod
    def _security(
        spec: dict[str, Any], c: dict[str, Any]
    ) -> tuple[int | None, int, tuple[int, ...], bool]:
        psc = spec.get("securityContext") or {}
        csc = c.get("securityContext") or {}
        uid = csc.get("runAsUser", psc.get("runAsUser"))
        gid = csc.get("runAsGroup", psc.get("runAsGroup", 0))
        groups = [int(g) for g in psc.get("supplementalGroups") or []]
        if psc.get("fsGroup") is not None:
            groups.append(int(psc["fsGroup"]))
        return (
            int(uid) if uid is not None else None,
            int(gid),
            tuple(groups),
            bool(csc.get("readOnlyRootFilesystem")),
        )

    def _termination_file(self, c: dict[str, Any], restarts: int) -> str:
        return os.path.join(self.sim.state_dir, "termination", self.ns, self.name,
                            c.get("name", ""), str(restarts))  # fmt: skip

    def _termination_mount(self, c: dict[str, Any], restarts: int) -> Any:
        """The container's terminationMessagePath: a fresh file any user may write."""
        from .exectypes import Mount

        path = self._termination_file(c, restarts)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb"):
            pass
        os.chmod(path, 0o666)
        where = c.get("terminationMessagePath") or "/dev/termination-log"
        return Mount(host_dir=path, mount_path=where)

    def _termination_message(self, c: dict[str, Any], restarts: int, code: int) -> str:
        """What the kubelet reports as state.terminated.message (see the module docstring)."""
        try:
            with open(self._termination_file(c, restarts), "rb") as fh:
                data = fh.read(MESSAGE_BYTES)
        except OSError:
            data = b""
        if not data and code != 0 and c.get("terminationMessagePolicy") == "FallbackToLogsOnError":
            path = os.path.join(log_dir(self.sim, self.ns, self.name, c.get("name", "")),
                                f"{restarts}.log")  # fmt: skip
            lines = [body for _ts, body in _read_cri(path)][-FALLBACK_LINES:]
            data = b"".join(lines)[-FALLBACK_BYTES:]
        return data.decode(errors="replace")

    def _terminated(self, name: str, restarts: int, code: int, reason: str, started: str,
                    message: str = "") -> None:  # fmt: skip
        term: dict[str, Any] = {
            "exitCode": code,
            "reason": reason,
            "startedAt": started,
            "finishedAt": now_iso(),
            "containerID": f"containerd://{uuid.uuid4().hex}",
        }
        if message:
            term["message"] = message
        prev = self.statuses.get(name, {})
        self.statuses[name] = {
            "state": {"terminated": term},
            "restartCount": restarts,
            "ready": False,
            "started": False,
            **({"lastState": prev["lastState"]} if "lastState" in prev else {}),
        }
        self.write()

    async def _run_once(self, c: dict[str, Any], spec: dict[str, Any], restarts: int) -> int:
        from . import exec as ex
        from .podenv import expand, resolve_mounts

        pod = self.pod()
        name = c.get("name", "")
        started = now_iso()
        if pod is None:
            return 137
        uid, gid, groups, ro_root = self._security(spec, c)
        env = self._env(pod, c, uid)
        command = [expand(str(a), env) for a in (c.get("command") or []) + (c.get("args") or [])]
        if not c.get("command"):
            self._terminated(name, restarts, START_ERROR_CODE, "StartError", started,
                             NO_IMAGES)  # fmt: skip
            return START_ERROR_CODE
        directory = log_dir(self.sim, self.ns, self.name, name)
        os.makedirs(directory, exist_ok=True)
        logf = open(os.path.join(directory, f"{restarts}.log"), "ab")  # noqa: SIM115
        os.makedirs(ex._WORK_DIR, exist_ok=True)
        root = tempfile.mkdtemp(prefix="root-", dir=ex._WORK_DIR)
        ex._ROOTS.add(root)
        proc: asyncio.subprocess.Process | None = None
        ns_id: str | None = None
        ns_fd = -1
        try:
            try:
                mounts = resolve_mounts(self.sim, pod, c)
                mounts.append(self._termination_mount(c, restarts))
            except OSError as exc:
                self._terminated(name, restarts, START_ERROR_CODE, "StartError", started, str(exc))
                return START_ERROR_CODE
            rfd, wfd = os.pipe()
            cfs = ex.ContainerFS(
                root=root,
                mounts=mounts,
                workdir=c.get("workingDir") or "/",
                err_fd=wfd,
                read_only_root=ro_root,
                uid=uid,
                gid=gid,
                groups=groups,
            )
            failure = ""
            try:
                proc = await asyncio.create_subprocess_exec(
                    *command,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,  # one pipe: the log keeps their order
                    env=env,
                    preexec_fn=cfs.enter,
                    pass_fds=(wfd,),
                    start_new_session=True,
                    limit=2 * ex.CHUNK,
                )
            except OSError as exc:
                failure = ex.exec_error_message(command[0], exc)
            except subprocess.SubprocessError:
                os.close(wfd)
                wfd = -1
                with os.fdopen(rfd, "rb") as f:
                    rfd = -1
                    failure = f.read().decode(errors="replace").strip() or "container setup failed"
            finally:
                if wfd >= 0:
                    os.close(wfd)
                if rfd >= 0:
                    os.close(rfd)
            if proc is None:
                msg = ("failed to create containerd task: failed to create shim task: OCI runtime"
                       " create failed: runc create failed: unable to start container process:"
                       f" {failure}: unknown")  # fmt: skip
                self._terminated(name, restarts, START_ERROR_CODE, "StartError", started, msg)
                return START_ERROR_CODE
            with contextlib.suppress(OSError):
                ns_fd = os.open(f"/proc/{proc.pid}/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
                ns_id = ex._mnt_ns(proc.pid)
            ex._LIVE[proc.pid] = (proc, ns_id)
            freeze.register(proc.pid, ns_id, (m.host_dir for m in mounts))
            prev = self.statuses.get(name, {})
            self.statuses[name] = {
                "state": {"running": {"startedAt": started}},
                "restartCount": restarts,
                "ready": True,
                "started": True,
            }
            if "lastState" in prev:
                self.statuses[name]["lastState"] = prev["lastState"]
            if any(c is x for x in spec.get("containers") or []):
                self.phase = "Running"  # init containers run while the pod is Pending
            if all(
                "running" in (self.statuses.get(x.get("name", "")) or {}).get("state", {})
                for x in spec.get("containers") or []
            ):
                self.conditions.update(Ready=("True", ""), ContainersReady=("True", ""))
            self.write()
            self.event("Normal", "Started", f"Started container {name}")
            pumps = [asyncio.ensure_future(_pump(proc.stdout, "stdout", logf))]
            exited = asyncio.ensure_future(_first_process_exit(proc))
            stop = asyncio.ensure_future(self.stopping.wait())
            await asyncio.wait([exited, stop], return_when=asyncio.FIRST_COMPLETED)
            if not exited.done():
                grace = float(spec.get("terminationGracePeriodSeconds", 30))
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGTERM)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(asyncio.shield(exited), min(grace, MAX_GRACE_SECONDS))
            stop.cancel()
            ex._kill_all(proc, ns_id)  # the container ends with its first process
            await exited
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.gather(*pumps), OUTPUT_GRACE_SECONDS)
            for p in pumps:
                p.cancel()
            code = proc.returncode if proc.returncode is not None else 137
            if code < 0:
                code = 128 - code
            if not self.stopping.is_set():
                message = self._termination_message(c, restarts, code)
                self._terminated(name, restarts, code, "Completed" if code == 0 else "Error",
                                 started, message)  # fmt: skip
            return code
        finally:
            logf.close()
            if proc is not None:
                if proc.returncode is None:
                    ex._kill_all(proc, ns_id)
                ex._LIVE.pop(proc.pid, None)
                freeze.unregister(proc.pid)
                for _ in range(50):
                    if ns_id is None or not ex._pids_in_ns(ns_id):
                        break
                    await asyncio.sleep(0.02)
            ex._rmdir(root)
            if ns_fd >= 0:
                os.close(ns_fd)


async def _first_process_exit(proc: asyncio.subprocess.Process) -> int:
    """The container's first process exited (its returncode is set at once; proc.wait()
    also waits until every process holding its output pipe closed it, and a server it
    started in the background may hold it for good). The runtime then kills the rest."""
    while proc.returncode is None:
        await asyncio.sleep(0.05)
    return proc.returncode


async def _pump(reader: asyncio.StreamReader | None, stream: str, logf: Any) -> None:
    """Copy a container's output into its CRI log: "<RFC3339Nano> <stream> <F|P> <text>"."""
    if reader is None:
        return
    while True:
        try:
            line = await reader.readline()
        except ValueError:  # a line longer than the limit: take what is there
            line = await reader.read(2 * 32 * 1024)
        if not line:
            return
        tag = "F" if line.endswith(b"\n") else "P"
        body = line[:-1] if tag == "F" else line
        logf.write(f"{_ts_nano()} {stream} {tag} ".encode() + body + b"\n")
        logf.flush()


# --------------------------------------------------------------------------- kubectl logs


def _read_cri(path: str) -> list[tuple[str, bytes]]:
    """(timestamp, line including its newline) of a CRI log; partial lines joined."""
    out: list[tuple[str, bytes]] = []
    pending: tuple[str, bytes] | None = None
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        return out
    for raw in data.split(b"\n"):
        parts = raw.split(b" ", 3)
        if len(parts) < 4:
            continue
        ts, _stream, tag, body = parts[0].decode(), parts[1], parts[2], parts[3]
        if pending is not None:
            ts, body = pending[0], pending[1] + body
            pending = None
        if tag == b"P":
            pending = (ts, body)
            continue
        out.append((ts, body + b"\n"))
    if pending is not None:
        out.append(pending)
    return out


def _log_error(code: int, message: str) -> web.Response:
    from .responses import error, status_response

    return status_response(error(code, message))


def _pick_container(pod: dict[str, Any], wanted: str) -> tuple[str | None, web.Response | None]:
    spec = pod.get("spec") or {}
    name = pod["metadata"]["name"]
    containers = [c.get("name", "") for c in spec.get("containers") or []]
    inits = [c.get("name", "") for c in spec.get("initContainers") or []]
    if not wanted:
        default = (pod["metadata"].get("annotations") or {}).get(
            "kubectl.kubernetes.io/default-container"
        )
        if default in containers:
            wanted = default
        elif len(containers) == 1:
            wanted = containers[0]
        else:
            msg = f"a container name must be specified for pod {name}, choose one of: "
            msg += f"[{' '.join(containers)}]"
            if inits:
                msg += f" or one of the init containers: [{' '.join(inits)}]"
            return None, _log_error(400, msg)
    if wanted not in containers + inits:
        return None, _log_error(400, f"container {wanted} is not valid for pod {name}")
    return wanted, None


def _container_state(pod: dict[str, Any], container: str) -> tuple[dict[str, Any], int]:
    st = pod.get("status") or {}
    for cs in (st.get("containerStatuses") or []) + (st.get("initContainerStatuses") or []):
        if cs.get("name") == container:
            return cs.get("state") or {}, int(cs.get("restartCount") or 0)
    return {}, 0


async def serve_log(request: web.Request, sim: Sim, ns: str, name: str) -> web.StreamResponse:
    from .store import not_found

    pod = sim.store.get(PODS, ns, name)
    if pod is None:
        raise not_found(PODS, name)
    if not runs_process(pod):
        return web.Response(text="", content_type="text/plain")  # a simulated pod prints nothing
    q = request.query
    container, err = _pick_container(pod, q.get("container", ""))
    if err is not None or container is None:
        return err or _log_error(400, "no container")
    state, restarts = _container_state(pod, container)
    previous = q.get("previous") in ("true", "1")
    index = restarts - 1 if previous else restarts
    path = os.path.join(log_dir(sim, ns, name, container), f"{index}.log")
    if previous and index < 0:
        return _log_error(
            400, f'previous terminated container "{container}" in pod "{name}" not found'
        )
    if not os.path.exists(path):
        reason = (state.get("waiting") or {}).get("reason", "ContainerCreating")
        return _log_error(
            400, f'container "{container}" in pod "{name}" is waiting to start: {reason}'
        )
    timestamps = q.get("timestamps") in ("true", "1")
    tail = int(q["tailLines"]) if q.get("tailLines", "").lstrip("-").isdigit() else -1
    limit = int(q["limitBytes"]) if q.get("limitBytes", "").isdigit() else -1
    follow = q.get("follow") in ("true", "1") and not previous

    def render(lines: list[tuple[str, bytes]]) -> bytes:
        return b"".join((ts.encode() + b" " if timestamps else b"") + body for ts, body in lines)

    lines = _read_cri(path)
    if tail >= 0:
        lines = lines[-tail:] if tail else []
    body = render(lines)
    if limit >= 0:
        body = body[:limit]
    if not follow:
        return web.Response(body=body, content_type="text/plain")
    resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
    await resp.prepare(request)
    await resp.write(body)
    seen = len(_read_cri(path))
    while True:
        now = sim.store.get(PODS, ns, name)
        done = now is None or now["metadata"].get("uid") != pod["metadata"].get("uid")
        if not done:
            st, count = _container_state(now, container)  # type: ignore[arg-type]
            done = "terminated" in st and count == restarts
        lines = _read_cri(path)
        if len(lines) > seen:
            await resp.write(render(lines[seen:]))
            seen = len(lines)
        if done:
            break
        await asyncio.sleep(0.2)
    await resp.write_eof()
    return resp


__all__ = ["RUN_ANNOTATION", "Kubelet", "runs_process", "serve_log"]
