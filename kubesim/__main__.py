"""`python -m kubesim --state-dir DIR --kubeconfig FILE [--port 0] [--tls] ...`"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from typing import Any


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m kubesim", description="Kubernetes API simulator for the real kubectl."
    )
    p.add_argument("--state-dir", required=True, help="directory for volumes, snapshots, logs")
    p.add_argument(
        "--kubeconfig", help="where to write the admin kubeconfig (default: STATE_DIR/kubeconfig)"
    )
    p.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0 = any free)")
    p.add_argument("--tls", action="store_true", help="serve HTTPS with tokens and RBAC")
    p.add_argument(
        "--version",
        default="1.32",
        help="Kubernetes version reported by /version"
        " (the gcloud kubectl dispatcher picks its binary from the minor)",
    )
    p.add_argument(
        "--seed",
        nargs="*",
        default=[],
        metavar="FILE",
        help="YAML (multi-doc) or JSON files with objects to preload",
    )
    p.add_argument(
        "--snapshot-ready-delay",
        type=float,
        default=0.5,
        help="seconds until a new VolumeSnapshot becomes readyToUse",
    )
    return p.parse_args(argv)


def kubeconfig_text(sim: Any) -> str:
    import base64

    cluster = f"    server: {sim.url}\n"
    user = "  user: {}\n"
    if sim.tls:
        ca = sim.ca_pem
        if ca is None:
            path = os.path.join(sim.state_dir, "tls", "ca.crt")
            if os.path.exists(path):
                with open(path, "rb") as fh:
                    ca = fh.read()
        if ca is not None:
            cluster += f"    certificate-authority-data: {base64.b64encode(ca).decode()}\n"
        user = f"  user:\n    token: {sim.admin_token}\n"
    return (
        "apiVersion: v1\nkind: Config\n"
        "clusters:\n- name: kubesim\n  cluster:\n"
        + cluster
        + "contexts:\n- name: kubesim\n  context:\n    cluster: kubesim\n    user: admin\n"
        "    namespace: default\n"
        "current-context: kubesim\n"
        "preferences: {}\n"
        "users:\n- name: admin\n" + user
    )


def _import_aiohttp_fast() -> None:
    """Import aiohttp without loading the system CA store (~0.2 s of startup).

    aiohttp builds a verifying client SSLContext at import time; kubesim never makes
    outgoing HTTPS requests, so that context may stay empty. Its own server context
    (auth.install_tls) is built separately and is not affected.
    """
    import ssl

    cls = ssl.SSLContext
    saved = cls.load_default_certs, cls.set_default_verify_paths
    cls.load_default_certs = lambda self, purpose=None: None  # type: ignore[method-assign]
    cls.set_default_verify_paths = lambda self: None  # type: ignore[method-assign]
    try:
        import aiohttp.web  # noqa: F401
    finally:
        cls.load_default_certs, cls.set_default_verify_paths = saved  # type: ignore[method-assign]


async def run(args: argparse.Namespace) -> None:
    from aiohttp import web

    from .batch import install_batch
    from .controllers import Controllers
    from .seeding import load_seed_file, seed_defaults
    from .server import make_app
    from .sim import Sim

    minor = args.version.split(".")[1] if "." in args.version else args.version
    sim = Sim(
        args.state_dir,
        minor=minor,
        tls=args.tls,
        snapshot_ready_delay=args.snapshot_ready_delay,
        kubeconfig_path=args.kubeconfig,
    )
    sim.controllers = Controllers(sim)
    install_batch(sim)
    seed_defaults(sim)
    for path in args.seed:
        load_seed_file(sim, path)
    app = make_app(sim)
    ssl_ctx = None
    if args.tls:
        from .auth import install_tls

        ssl_ctx = install_tls(app, sim)
    runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", args.port, ssl_context=ssl_ctx)
    await site.start()
    port = runner.addresses[0][1]
    sim.url = f"{'https' if args.tls else 'http'}://127.0.0.1:{port}"
    os.makedirs(os.path.dirname(os.path.abspath(sim.kubeconfig_path)), exist_ok=True)
    tmp = sim.kubeconfig_path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(kubeconfig_text(sim))
    os.replace(tmp, sim.kubeconfig_path)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"kubesim ready {sim.url}", flush=True)
    await stop.wait()
    await runner.cleanup()  # cancels open requests (watches, exec sessions)
    for task in list(sim.controllers.tasks):
        task.cancel()
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    if others:  # let exec sessions reap their processes before the loop closes
        await asyncio.wait(others, timeout=3)
    sim.reqlog.close()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    _import_aiohttp_fast()
    try:
        asyncio.run(run(args))
    except OSError as exc:
        print(f"kubesim: cannot start: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
