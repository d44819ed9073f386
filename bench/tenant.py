"""Benchmark: what a tenant namespace costs in etcd, read from a real etcd.

    python bench/tenant.py [--config examples/backupns.yaml]

Renders the config, starts the real control plane (etcd + kube-apiserver, no CSI
stack), creates each tenant namespace and stores its objects
(out/namespaces/<ns>/manifests.yaml) three ways, as the ways of deploying do:
``kubectl create`` (no apply metadata), ``kubectl apply --server-side`` (managedFields,
as Flux and Argo CD's server-side mode) and ``kubectl apply`` (client-side: the
last-applied-configuration annotation holds the object again, as JSON). After each,
the bytes etcd holds for those objects are read back from etcd's own range API (its
HTTP gateway: the values as the API server wrote them, protobuf for built-in kinds).
The goal (<= 40 KB a tenant, the example's shapes) is printed beside each; the floor
is the same objects without the ConfigMap's script (what the ServiceAccount, RBAC and
CronJob cost alone). Exact sizes: one run is the figure (no timing involved).
"""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.realk8s.fixture import RealCluster  # noqa: E402

GOAL_KB = 40.0
RESOURCES = {
    "ServiceAccount": "serviceaccounts",
    "RoleBinding": "rolebindings",
    "Role": "roles",
    "ConfigMap": "configmaps",
    "CronJob": "cronjobs",
}
WAYS = {
    "create": ["create", "-f"],
    "apply --server-side": ["apply", "--server-side", "-f"],
    "apply (client-side)": ["apply", "-f"],
}


def etcd_sizes(etcd_url: str, keys: list[str]) -> dict[str, int]:
    """KEY -> the size of its value in etcd (0 when absent)."""
    sizes = {}
    for key in keys:
        body = json.dumps({"key": base64.b64encode(key.encode()).decode()}).encode()
        req = urllib.request.Request(f"{etcd_url}/v3/kv/range", data=body, method="POST")
        with urllib.request.urlopen(req, timeout=10) as resp:
            found = json.load(resp).get("kvs") or []
        sizes[key] = len(base64.b64decode(found[0]["value"])) if found else 0
    return sizes


def objects(manifests: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(manifests.read_text()) if d]


def key(doc: dict[str, Any]) -> str:
    meta = doc["metadata"]
    return f"/registry/{RESOURCES[doc['kind']]}/{meta['namespace']}/{meta['name']}"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=REPO / "examples" / "backupns.yaml")
    opts = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        out = tmp / "out"
        subprocess.run(
            [sys.executable, "-m", "backupns_gen", "render", "--no-lint", "-c", str(opts.config),
             "-o", str(out)],
            check=True, capture_output=True,
        )  # fmt: skip
        cluster = RealCluster(tmp / "realk8s", csi=False)
        cluster.start()
        try:
            print(f"bytes per tenant namespace in etcd (real etcd; goal <= {GOAL_KB:g} KB)")
            for manifests in sorted(out.glob("namespaces/*/manifests.yaml")):
                ns = manifests.parent.name
                docs = objects(manifests)
                keys = [key(d) for d in docs]
                cluster.kubectl("create", "namespace", ns, check=True)
                figures = []
                for way, args in WAYS.items():
                    cluster.kubectl(*args, str(manifests), check=True)
                    sizes = etcd_sizes(cluster.etcd_url, keys)
                    total = sum(sizes.values())
                    script = sum(s for k, s in sizes.items() if "/configmaps/" in k)
                    figures.append((way, total, total - script))
                    cluster.kubectl("delete", "-f", str(manifests), "--wait=true", check=True)
                for way, total, floor in figures:
                    verdict = "ok" if total / 1000 <= GOAL_KB else "OVER"
                    print(
                        f"  {ns:<14} {way:<22}{total / 1000:8.1f} KB ({len(docs)} objects)  "
                        f"goal <= {GOAL_KB:g} KB {verdict}; floor (without the ConfigMap) "
                        f"{floor / 1000:.1f} KB"
                    )
        finally:
            cluster.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
