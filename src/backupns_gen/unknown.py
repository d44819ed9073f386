"""Unknown keys: an error naming the key, with a "did you mean" when one is close."""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticCustomError

from .names import quote


def allowed_keys(model: type[BaseModel]) -> list[str]:
    """The camelCase keys of a model (fixed per class: config.Model keeps them on the
    class when it is created)."""
    return [f.alias or name for name, f in model.model_fields.items() if not f.exclude]


def unknown_key_message(key: object, allowed: list[str]) -> str:
    close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
    hint = f'did you mean "{close[0]}"?' if close else "allowed: " + ", ".join(allowed)
    return f"unknown key {quote(key)} ({hint})"


def reject_unknown_keys(allowed: list[str], data: Any) -> Any:
    """Raise for the first key of a mapping that is not one of ``allowed``."""
    if isinstance(data, dict):
        for key in data:
            if key not in allowed:
                raise PydanticCustomError(
                    "backupns", "{text}", {"text": unknown_key_message(key, allowed)}
                )
    return data
