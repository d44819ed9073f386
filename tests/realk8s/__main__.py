"""Run the real control plane by hand (and for the bats helper).

python -m tests.realk8s --state-dir /tmp/rk
# prints: realk8s ready <url> <admin kubeconfig>   (runs until SIGTERM / Ctrl-C)
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from tests.realk8s.fixture import RealCluster, RealK8sError


def main() -> int:
    ap = argparse.ArgumentParser(
        prog="python -m tests.realk8s",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument(
        "--state-dir",
        required=True,
        type=Path,
        help="certificates, etcd data, logs, audit log, CSI state",
    )
    args = ap.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    cluster = RealCluster(args.state_dir)
    try:
        cluster.start()
    except RealK8sError as exc:
        print(f"realk8s: {exc}", file=sys.stderr)
        return 1
    try:
        print(f"realk8s ready {cluster.url} {cluster.kubeconfig}", flush=True)
        print(f"realk8s: started in {cluster.started_in:.1f} s; logs in {cluster.logs}",
              file=sys.stderr, flush=True)
        stop.wait()
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
