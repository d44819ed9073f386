"""Benchmark: a database-less `backup-ns.sh create` against kubesim, and its floor.

    python bench/create.py [--repeat 5] [--delays 0,0.5]

For each ``--snapshot-ready-delay`` (a kubesim started per delay; the snapshot gets
ready that long after it is created) this measures, in the same run:

- create: the rendered script's whole ``create`` (one PVC, waiting until ready),
  with a warm kubectl cache, as the CronJob's later runs have it;
- floor: one bare ``kubectl create -f`` of a VolumeSnapshot plus the delay: the
  least any tool that creates a snapshot and sees it ready can take here.

Printed per delay: the best create, the floor, the ratio, the overhead beyond
(dump + the snapshot's own ready delay) = create - delay (no dump here; goal <= 0.3 s)
and beyond the floor, the API requests of one create (goal <= 10) from kubesim's
request log, and how late readiness is noticed: the
time from the script's "created" line to its "ready" line minus the delay (median;
kubesim's delay starts at the POST, a little before the "created" line, so this
slightly understates it); then create(0.5) - create(0) - 0.5.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kubesim.fixture import KubeSim  # noqa: E402

NS = "bench"
GOAL_OVERHEAD = 0.3
GOAL_REQUESTS = 10


def render(tmp: Path) -> Path:
    config = {
        "defaults": {
            "timeZone": "UTC",
            "flock": {"enabled": False},
            "waitUntilReady": {"enabled": True, "timeout": "5m"},
        },
        "namespaces": {NS: {"pvcs": ["data"], "database": "none"}},
        "controller": {"namespace": "backup-ns"},
    }
    cfg = tmp / "backupns.yaml"
    cfg.write_text(yaml.safe_dump(config))
    out = tmp / "out"
    subprocess.run(
        [sys.executable, "-m", "backupns_gen", "render", "--no-lint", "-c", str(cfg),
         "-o", str(out)],
        check=True,
        capture_output=True,
        cwd=REPO,
    )
    return out / "namespaces" / NS / "backup-ns.sh"


def timed(argv: list[str], env: dict[str, str], stdin: str | None = None) -> float:
    t0 = time.monotonic()
    cp = subprocess.run(argv, input=stdin, capture_output=True, text=True, env=env)
    took = time.monotonic() - t0
    if cp.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed (exit {cp.returncode}):\n{cp.stdout}{cp.stderr}")
    return took


def timed_create(script: Path, env: dict[str, str]) -> tuple[float, float]:
    """Run `create`; return (seconds, seconds from its "created" line to its "ready" line)."""
    t0 = time.monotonic()
    proc = subprocess.Popen(
        ["bash", str(script), "create"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=env,
    )
    assert proc.stdout is not None
    created = ready = 0.0
    out = []
    for line in proc.stdout:
        out.append(line)
        if "snapshot: created VolumeSnapshot" in line:
            created = time.monotonic()
        elif " is ready after " in line:
            ready = time.monotonic()
    err = proc.stderr.read() if proc.stderr else ""
    if proc.wait() != 0:
        raise SystemExit(f"create failed:\n{''.join(out)}{err}")
    return time.monotonic() - t0, ready - created


def manifest(name: str) -> str:
    return json.dumps(
        {
            "apiVersion": "snapshot.storage.k8s.io/v1",
            "kind": "VolumeSnapshot",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"source": {"persistentVolumeClaimName": "data"}},
        }
    )


def measure(tmp: Path, script: Path, delay: float, repeat: int) -> dict[str, float]:
    kubesim = KubeSim(tmp / f"kubesim-{delay}", args=["--snapshot-ready-delay", str(delay)])
    kubesim.start()
    try:
        kubesim.apply(
            f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {NS}}}\n---\n"
            "apiVersion: v1\nkind: PersistentVolumeClaim\n"
            f"metadata: {{name: data, namespace: {NS}}}\n"
            "spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n"
        )
        env = kubesim.env()
        # Warm the kubectl cache (discovery, openapi) as an earlier run would have.
        timed(["bash", str(script), "create"], env)
        creates, floors, seen = [], [], []
        requests = 0
        for i in range(repeat):
            floors.append(
                timed(["kubectl", "create", "-f", "-", "-o", "name"], env, manifest(f"floor-{i}"))
                + delay
            )
            kubesim.reset_requests()
            took, created_to_ready = timed_create(script, env)
            creates.append(took)
            seen.append(created_to_ready)
            requests = len(kubesim.requests())
        return {
            "create": min(creates),
            "floor": min(floors),
            "requests": requests,
            "seen": sorted(seen)[len(seen) // 2],
        }
    finally:
        kubesim.stop()


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5, help="runs per delay; the best counts")
    ap.add_argument("--delays", default="0,0.5", help="snapshot ready delays (default 0,0.5)")
    opts = ap.parse_args(argv)
    delays = [float(d) for d in opts.delays.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="bench-create-"))
    try:
        print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
        script = render(tmp)
        results = {d: measure(tmp, script, d, opts.repeat) for d in delays}
        for d, r in results.items():
            over = r["create"] - d
            print(
                f"ready delay {d:.1f} s: create {r['create']:.2f} s, floor (kubectl create + "
                f"delay) {r['floor']:.2f} s, ratio {r['create'] / r['floor']:.2f} x floor; "
                f"overhead beyond the delay {over:.2f} s (goal <= {GOAL_OVERHEAD} s"
                f"{', OK' if over <= GOAL_OVERHEAD else ', MISSED'}), beyond the floor "
                f"{r['create'] - r['floor']:.2f} s; API requests {r['requests']:.0f} "
                f"(goal <= {GOAL_REQUESTS}); readiness logged {r['seen'] - d:+.2f} s after "
                "the delay from the 'created' line (median; goal <= 0.2 s)"
            )
        if 0.0 in results and 0.5 in results:
            late = results[0.5]["create"] - results[0.0]["create"] - 0.5
            print(
                f"readiness noticed {late:+.2f} s after the snapshot got ready "
                "(create(0.5) - create(0) - 0.5; goal: within 0.2 s)"
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
