"""JSON-lines request log: one line per API request, flushed per line."""

from __future__ import annotations

import json
import os
from typing import IO, Any


class RequestLog:
    def __init__(self, path: str) -> None:
        self.path = path
        self._fh: IO[str] = open(path, "a", encoding="utf-8")  # noqa: SIM115 (kept open)

    def write(self, entry: dict[str, Any]) -> None:
        self._fh.write(json.dumps(entry, separators=(",", ":")) + "\n")
        self._fh.flush()

    def reset(self) -> None:
        self._fh.close()
        with open(self.path, "w", encoding="utf-8"):
            pass
        self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115

    def close(self) -> None:
        self._fh.close()

    def read(self) -> list[dict[str, Any]]:
        if not os.path.exists(self.path):
            return []
        with open(self.path, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]
