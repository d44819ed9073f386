"""What a config field declares about its value, for the settings tables.

A setting that the config sets takes its default, bounds, pattern and choices from
the pydantic field (``config.py``), found by its dotted camelCase path: the
``BAK_*`` rows (``settings.py``) from a namespace entry, the ``CTL_*`` rows
(``controller.py``) from ``controller``.
"""

from __future__ import annotations

import re
import typing
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.fields import FieldInfo


def _camel_to_snake(part: str) -> str:
    return re.sub(r"[A-Z]", lambda m: "_" + m[0].lower(), part)


def _model_of(annotation: Any) -> type[BaseModel]:
    """The model class of a field's annotation (``Postgres | None`` -> Postgres)."""
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    raise KeyError(annotation)


def field_at(model: type[BaseModel], key: str) -> FieldInfo:
    """The field of ``model`` at the dotted camelCase ``key`` (``database.postgres.dumpFile``)."""
    *parents, leaf = key.split(".")
    for part in parents:
        model = _model_of(model.model_fields[_camel_to_snake(part)].annotation)
    return model.model_fields[_camel_to_snake(leaf)]


def choices(info: FieldInfo) -> tuple[str, ...]:
    """The values of a ``Literal[...]`` field, in their declared order (else ())."""
    if typing.get_origin(info.annotation) is Literal:
        return tuple(str(v) for v in typing.get_args(info.annotation))
    return ()


def declared(info: FieldInfo) -> dict[str, Any]:
    """A config field's default, bounds (``lo``, ``hi``), pattern and choices."""
    out: dict[str, Any] = {"default": None if info.is_required() else info.default}
    for meta in info.metadata:  # pydantic keeps ge, le and pattern as metadata objects
        for attr, name in (("ge", "lo"), ("le", "hi"), ("pattern", "pattern")):
            if getattr(meta, attr, None) is not None:
                out[name] = getattr(meta, attr)
    if choices(info):
        out["choices"] = choices(info)
    return out
