"""Fault injection registry, driven through `/_kubesim/faults` (see KUBESIM.md)."""

from __future__ import annotations

import itertools
import re
from typing import Any

TYPES = ("http", "snapshot", "exec-cut", "disk", "pod-start")


class FaultError(ValueError):
    pass


class FaultRegistry:
    def __init__(self) -> None:
        self._faults: list[dict[str, Any]] = []
        self._ids = itertools.count(1)

    def add(self, spec: dict[str, Any]) -> str:
        if not isinstance(spec, dict) or spec.get("type") not in TYPES:
            raise FaultError(f"fault type must be one of {', '.join(TYPES)}")
        match = spec.get("match") or {}
        if not isinstance(match, dict):
            raise FaultError("match must be an object of regexes")
        compiled = {}
        for key, pattern in match.items():
            try:
                compiled[key] = re.compile(str(pattern))
            except re.error as exc:
                raise FaultError(f"match.{key}: bad regex: {exc}") from exc
        times = spec.get("times")
        if times is not None and (not isinstance(times, int) or times < 1):
            raise FaultError("times must be a positive integer or null (always)")
        fid = f"f{next(self._ids)}"
        fault = dict(spec, id=fid, match=match)
        fault["_re"] = compiled
        self._faults.append(fault)
        return fid

    def clear(self) -> None:
        self._faults.clear()

    def remove(self, fid: str) -> bool:
        before = len(self._faults)
        self._faults = [f for f in self._faults if f["id"] != fid]
        return len(self._faults) != before

    def list(self) -> list[dict[str, Any]]:
        return [{k: v for k, v in f.items() if k != "_re"} for f in self._faults]

    def peek(self, typ: str, **attrs: str) -> dict[str, Any] | None:
        """The first active matching fault, without counting it."""
        for f in self._faults:
            if f["type"] == typ and _matches(f, attrs):
                return {k: v for k, v in f.items() if k != "_re"}
        return None

    def take(self, typ: str, **attrs: str) -> dict[str, Any] | None:
        """The first active matching fault, counting down its `times`."""
        for f in self._faults:
            if f["type"] != typ or not _matches(f, attrs):
                continue
            out = {k: v for k, v in f.items() if k != "_re"}
            if f.get("times") is not None:
                f["times"] -= 1
                if f["times"] <= 0:
                    self._faults.remove(f)
            return out
        return None


def _matches(fault: dict[str, Any], attrs: dict[str, str]) -> bool:
    for key, rx in fault["_re"].items():
        if key not in attrs or rx.fullmatch(attrs[key] or "") is None:
            return False
    return True
