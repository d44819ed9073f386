"""Unknown keys: an error naming the key, with a "did you mean" when one is close,
reported together with every other problem of the same mapping."""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel, ValidationError, ValidatorFunctionWrapHandler
from pydantic_core import InitErrorDetails, PydanticCustomError

from .names import quote

CUSTOM = "backupns"
"""The error type of every message this package writes itself (its text in ctx)."""


def allowed_keys(model: type[BaseModel]) -> list[str]:
    """The camelCase keys of a model (fixed per class: config.Model keeps them on the
    class when it is created)."""
    return [f.alias or name for name, f in model.model_fields.items() if not f.exclude]


def close_key(key: object, allowed: list[str]) -> str | None:
    """The allowed key ``key`` is probably a misspelling of, if any."""
    close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
    return close[0] if close else None


def unknown_key_message(key: object, allowed: list[str]) -> str:
    close = close_key(key, allowed)
    hint = f'did you mean "{close}"?' if close else "allowed: " + ", ".join(allowed)
    return f"unknown key {quote(key)} ({hint})"


def _again(err: Any) -> InitErrorDetails:
    """An error pydantic reported, as the details that raise it again unchanged."""
    ctx = err.get("ctx")
    if err["type"] == CUSTOM:
        custom = PydanticCustomError(CUSTOM, "{text}", ctx)
        return {"type": custom, "loc": err["loc"], "input": err["input"]}
    again: InitErrorDetails = {"type": err["type"], "loc": err["loc"], "input": err["input"]}
    if ctx is not None:
        again["ctx"] = ctx
    return again


def validate_known_keys(
    title: str, allowed: list[str], data: Any, handler: ValidatorFunctionWrapHandler
) -> Any:
    """Validate the keys in ``allowed``; each other key is one more error, raised
    together with the rest (so one run shows every problem of the mapping). A required
    key the unknown one is a misspelling of is not reported missing as well."""
    if not isinstance(data, dict):
        return handler(data)
    unknown = [key for key in data if key not in allowed]
    if not unknown:
        return handler(data)
    errors: list[InitErrorDetails] = [
        {
            "type": PydanticCustomError(
                CUSTOM, "{text}", {"text": unknown_key_message(key, allowed)}
            ),
            "loc": (),
            "input": data,
        }
        for key in unknown
    ]
    try:
        handler({key: value for key, value in data.items() if key in allowed})
    except ValidationError as exc:
        meant = {close_key(key, allowed) for key in unknown}
        errors += [
            _again(err)
            for err in exc.errors(include_url=False)
            if not (err["type"] == "missing" and len(err["loc"]) == 1 and err["loc"][0] in meant)
        ]
    raise ValidationError.from_exception_data(title, errors)
