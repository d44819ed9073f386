"""The state of one running simulator: store, faults, request log, identity, watches."""

from __future__ import annotations

import os
import secrets
from typing import Any

from .faults import FaultRegistry
from .requestlog import RequestLog
from .ssa import FieldOwners
from .store import Store


class Sim:
    """Everything one running simulator holds."""

    def __init__(
        self,
        state_dir: str,
        *,
        minor: str = "32",
        tls: bool = False,
        snapshot_ready_delay: float = 0.5,
        kubeconfig_path: str | None = None,
    ) -> None:
        self.state_dir = os.path.abspath(state_dir)
        os.makedirs(self.state_dir, exist_ok=True)
        self.minor = minor
        self.tls = tls
        self.snapshot_ready_delay = snapshot_ready_delay
        self.kubeconfig_path = kubeconfig_path or os.path.join(self.state_dir, "kubeconfig")
        self.store = Store()
        self.field_owners = FieldOwners()  # server-side apply (ssa.py)
        self.faults = FaultRegistry()
        self.reqlog = RequestLog(os.path.join(self.state_dir, "requests.jsonl"))
        self.url = ""
        self.admin_token = secrets.token_hex(16)
        self.ca_pem: bytes | None = None  # set by auth.install_tls
        self.controllers: Any = None
        self.watches: list[dict[str, str]] = []

    def volume_dir(self, namespace: str, claim: str) -> str:
        return os.path.join(self.state_dir, "volumes", namespace, claim)

    def snapshot_dir(self, handle: str) -> str:
        return os.path.join(self.state_dir, "snapshots", handle)
