"""Unknown keys: an error naming the key, with a "did you mean" when one is close."""

from __future__ import annotations

import difflib
from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticCustomError

from .names import quote


@cache
def allowed_keys(model: type[BaseModel]) -> list[str]:
    """The camelCase keys of a model (fixed per class; computed once per class)."""
    return [f.alias or name for name, f in model.model_fields.items() if not f.exclude]


def unknown_key_message(key: object, allowed: list[str]) -> str:
    close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
    hint = f'did you mean "{close[0]}"?' if close else "allowed: " + ", ".join(allowed)
    return f"unknown key {quote(key)} ({hint})"


def reject_unknown_keys(model: type[BaseModel], data: Any) -> Any:
    """Raise for the first unknown key of a mapping validated as ``model``."""
    if isinstance(data, dict):
        allowed = allowed_keys(model)
        for key in data:
            if key not in allowed:
                raise PydanticCustomError(
                    "backupns", "{text}", {"text": unknown_key_message(key, allowed)}
                )
    return data
