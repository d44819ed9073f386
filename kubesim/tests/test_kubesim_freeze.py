"""kubesim's snapshots are cut at one instant for the processes that use the volume.

Writers keep two files in lockstep: the counter goes to a, then to b, each one write
of ten digits in place (no truncation), so at any instant a is b or b + 1. A copy
that no instant held (a copied, the writer going on, then b copied; or the other
order) breaks that. Both kinds of process that can have a PVC mounted write: a pod's
container (kubelet) and a kubectl exec.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from kubesim.fixture import KubeSim

KUBESIM_ARGS = ["--snapshot-ready-delay", "0"]
NS = "frz"
SNAPSHOTS = 12

# Each pair is rewritten as fast as bash can: a torn copy is the common case.
WRITER = (
    'i=0; while :; do i=$((i+1)); printf %010d "$i" 1<>"$0/a"; printf %010d "$i" 1<>"$0/b"; done'
)

APP = f"""apiVersion: v1
kind: PersistentVolumeClaim
metadata: {{name: data, namespace: {NS}}}
spec: {{accessModes: [ReadWriteOnce], resources: {{requests: {{storage: 1Gi}}}}}}
---
apiVersion: v1
kind: Pod
metadata:
  name: writer
  namespace: {NS}
  annotations: {{kubesim.io/run: "true"}}
spec:
  containers:
  - name: w
    image: busybox
    command: [bash, -c, {WRITER!r}, /data/pod]
    volumeMounts: [{{name: data, mountPath: /data}}]
  volumes:
  - {{name: data, persistentVolumeClaim: {{claimName: data}}}}
"""


def snapshot(kubesim: KubeSim, name: str) -> Path:
    kubesim.apply(f"""apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata: {{name: {name}, namespace: {NS}}}
spec: {{source: {{persistentVolumeClaimName: data}}}}
""")
    wait = ("wait", "--for=jsonpath={.status.readyToUse}=true", "--timeout=30s", f"vs/{name}")
    kubesim.kubectl(*wait, "-n", NS, check=True)
    vs = kubesim.get_json("vs", name, "-n", NS)
    content = kubesim.get_json("vsc", vs["status"]["boundVolumeSnapshotContentName"])
    return kubesim.state_dir / "snapshots" / str(content["status"]["snapshotHandle"])


def test_a_snapshot_is_never_torn(kubesim: KubeSim) -> None:
    kubesim.kubectl("create", "namespace", NS, check=True)
    vol = kubesim.volume_dir(NS, "data")
    kubesim.apply(APP.split("---")[0])
    kubesim.wait_for(vol.is_dir)
    (vol / "pod").mkdir()
    (vol / "exec").mkdir()
    kubesim.apply(APP.split("---")[1])
    kubesim.wait_for(lambda: (vol / "pod" / "b").exists())
    # An exec writer in the same pod (the database's client side, a hook).
    argv = ["kubectl", "exec", "-n", NS, "writer", "-c", "w", "--", "bash", "-c", WRITER]
    exec_writer = subprocess.Popen(
        [*argv, "/data/exec"],
        env=kubesim.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        kubesim.wait_for(lambda: (vol / "exec" / "b").exists())
        pairs = []
        for n in range(SNAPSHOTS):
            snap = snapshot(kubesim, f"s{n}")
            for who in ("pod", "exec"):
                a = (snap / who / "a").read_text()
                b = (snap / who / "b").read_text()
                pairs.append((who, a.strip(), b.strip(), n))
        torn = [p for p in pairs if int(p[1]) - int(p[2]) not in (0, 1)]
        assert torn == [], f"{len(torn)} of {len(pairs)} copies torn: {torn}"
        # the writers ran on between the snapshots (each copy is a later instant)
        counts = [int(a) for who, a, _b, _n in pairs if who == "pod"]
        assert counts == sorted(counts) and len(set(counts)) == SNAPSHOTS
    finally:
        exec_writer.kill()
        exec_writer.wait()
        kubesim.kubectl("delete", "pod", "writer", "-n", NS, "--wait=false")
