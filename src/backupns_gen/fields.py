"""Value types of the config: each validates one kind of value and raises a
``PydanticCustomError`` whose message is the final error text after the path
(``"Data_1" is not a valid Kubernetes name (...)``).
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from . import names, zonerules
from .kinds import (
    ABS_PATH,
    DB_VALUE,
    DURATION,
    EXEC_RESOURCE,
    HOST,
    PG_HOST,
    QUANTITY,
    ZONE_NAME,
    Kind,
)
from .names import quote


def fail(value: object, reason: str) -> PydanticCustomError:
    """The one error type every field raises: ``<quoted value> <reason>``."""
    return PydanticCustomError("backupns", "{text}", {"text": f"{quote(value)} {reason}"})


def _string(value: object) -> str:
    if not isinstance(value, str):
        raise fail(value, "is not a string")
    return value


def _checked(rule: Callable[[str], str | None]) -> Callable[[object], str]:
    def check(value: object) -> str:
        text = _string(value)
        reason = rule(text)
        if reason:
            raise fail(text, reason)
        return text

    return check


def _str_schema(pattern: str | None = None, **extra: Any) -> WithJsonSchema:
    schema: dict[str, Any] = {"type": "string", **extra}
    if pattern:
        schema["pattern"] = pattern
    return WithJsonSchema(schema)


LabelName = Annotated[
    str, BeforeValidator(_checked(names.dns1123_label)), _str_schema(maxLength=63)
]
"""RFC 1123 label: namespaces, containers, CronJobs."""

PvcName = Annotated[
    str,
    BeforeValidator(_checked(lambda v: names.dns1123_subdomain(v, names.LABEL_MAX))),
    _str_schema(maxLength=63),
]
"""A PVC name: an RFC 1123 subdomain that also fits a label value (≤ 63)."""


def _optional_subdomain(value: str) -> str | None:
    return None if value == "" else names.dns1123_subdomain(value)


OptionalSubdomain = Annotated[
    str, BeforeValidator(_checked(_optional_subdomain)), _str_schema(maxLength=253)
]
LabelValue = Annotated[str, BeforeValidator(_checked(names.label_value)), _str_schema(maxLength=63)]
LabelKey = Annotated[str, BeforeValidator(_checked(names.qualified_name)), _str_schema()]

GROUP_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9:._@/-]{0,252}$"


def _group_name(value: str) -> str | None:
    if re.fullmatch(GROUP_PATTERN, value):
        return None
    return (
        "is not a group name this tool accepts (letters, digits and : . _ @ / -, starting "
        "with a letter or digit, at most 253 characters)"
    )


GroupName = Annotated[
    str, BeforeValidator(_checked(_group_name)), _str_schema(pattern=GROUP_PATTERN)
]
"""A Kubernetes user group (``system:masters``, ``oidc:team-a``): it is written into the
admission policies' CEL and into RoleBinding subjects, so no quote or space."""
OptionalLabelKey = Annotated[
    str,
    BeforeValidator(_checked(lambda v: None if v == "" else names.qualified_name(v))),
    _str_schema(),
]

_DURATION = re.compile(r"(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?")
_DURATION_HINT = "is not a valid duration (like 90s, 15m, 1h30m, or whole seconds)"


def duration_seconds(text: str) -> int:
    """Seconds of a duration that passed validation (``1h30m`` -> 5400, ``90`` -> 90)."""
    if text.isdigit():
        return int(text)
    match = _DURATION.fullmatch(text)
    assert match is not None
    h, m, s = (int(g) if g else 0 for g in match.groups())
    return h * 3600 + m * 60 + s


def _duration(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise fail(value, _DURATION_HINT)
    if not DURATION.check(text):
        raise fail(value, _DURATION_HINT)
    if duration_seconds(text) <= 0:
        raise fail(value, "is not a valid duration: must be longer than 0s")
    return text


Duration = Annotated[
    str,
    BeforeValidator(_duration),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": r"^(\d+h)?(\d+m)?(\d+s)?$|^\d+$"},
                {"type": "integer", "minimum": 1},
            ]
        }
    ),
]
"""A duration, Go-like: ``1h30m``, ``15m``, ``90s``; or whole seconds."""


PERCENT_RANGE = (1, 100)
PORT_RANGE = (1, 65535)


def _percent(value: object) -> int:
    number: object = value
    if isinstance(value, str) and re.fullmatch(r"\d{1,3}%", value.strip()):
        number = int(value.strip()[:-1])
    lo, hi = PERCENT_RANGE
    if isinstance(number, bool) or not isinstance(number, int) or not lo <= number <= hi:
        raise fail(value, f"is not a valid percentage (a whole number from {lo} to {hi})")
    return number


Percent = Annotated[
    int,
    BeforeValidator(_percent),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": PERCENT_RANGE[0], "maximum": PERCENT_RANGE[1]},
                {"type": "string"},
            ]
        }
    ),
]


def _time_zone(value: object) -> str:
    text = _string(value)
    try:
        if ZONE_NAME.check(text):
            zoneinfo.ZoneInfo(text)
            zonerules.zone_rule(text)  # the scripts carry it (for images without tzdata)
            return text
    except zonerules.ZoneRuleError as exc:
        raise fail(text, f"{exc} (its rule is baked into the scripts)") from None
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        pass
    raise fail(text, "is not a valid IANA time zone (like UTC or Europe/Vienna)")


TimeZone = Annotated[str, BeforeValidator(_time_zone), _str_schema()]


def _kind(kind: Kind) -> Callable[[object], str]:
    """The validator of a string of ``kind``: ``"x" is not RULE``, as the script says it."""

    def check(value: object) -> str:
        text = _string(value)
        if kind.check(text):
            return text
        raise fail(text, f"is not {kind.rule}")

    return check


ExecResource = Annotated[
    str,
    BeforeValidator(_kind(EXEC_RESOURCE)),
    _str_schema(pattern=EXEC_RESOURCE.pattern),
]
"""What kubectl exec runs in: ``deployment/app-base``, ``sts/mysql``, ``pod/db-0``."""


def _abs_path(value: object) -> str:
    text = _string(value)
    if not text.startswith("/"):
        raise fail(text, "is not an absolute path (it must start with '/')")
    if not ABS_PATH.check(text):
        raise fail(text, f"is not a valid absolute path ({ABS_PATH.rule})")
    return text


AbsPath = Annotated[str, BeforeValidator(_abs_path), _str_schema(pattern=r"^/")]

LiteralOrEnv = Annotated[str, BeforeValidator(_kind(DB_VALUE)), _str_schema(DB_VALUE.pattern)]
"""A database user or name: a literal, or ${ENV_VAR} expanded in the database container."""


def _env_name_or_empty(value: object) -> str:
    text = _string(value)
    if text.startswith("${") and text.endswith("}"):
        raise fail(text, "is not valid: give the variable name only, like POSTGRES_PASSWORD")
    if text and names.env_name(text):
        raise fail(text, names.env_name(text) or "")
    return text


EnvName = Annotated[str, BeforeValidator(_env_name_or_empty), _str_schema()]

Host = Annotated[str, BeforeValidator(_kind(HOST)), _str_schema()]
"""A MySQL/MariaDB host: a host name or IP address ("" = the local socket)."""

PgHost = Annotated[str, BeforeValidator(_kind(PG_HOST)), _str_schema()]
"""A PostgreSQL host: a host name, IP address or socket directory ("" = the default socket)."""


def _port(value: object) -> int:
    lo, hi = PORT_RANGE
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise fail(value, f"is not a valid port ({lo} to {hi})")
    return value


Port = Annotated[
    int,
    BeforeValidator(_port),
    WithJsonSchema({"type": "integer", "minimum": PORT_RANGE[0], "maximum": PORT_RANGE[1]}),
]

_IMAGE = re.compile(
    r"([a-z0-9][a-z0-9.-]*:[0-9]{1,5}/)?"  # a registry with a port (host:port/)
    r"[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?"
)


def _image(value: object) -> str:
    text = _string(value)
    if len(text) <= 512 and _IMAGE.fullmatch(text):
        return text
    raise fail(text, "is not a valid image reference (like registry/name:tag or name@sha256:...)")


Image = Annotated[str, BeforeValidator(_image), _str_schema()]


def _quantity(value: object) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return str(value)
    text = _string(value)
    if QUANTITY.check(text):
        return text
    raise fail(text, "is not a valid Kubernetes quantity (like 100m, 0.5, 64Mi, 1Gi)")


Quantity = Annotated[
    str, BeforeValidator(_quantity), WithJsonSchema({"type": ["string", "number"]})
]

_SNAPSHOT_FIELDS = ("namespace", "pvc", "date", "rand", "type")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def _snapshot_template(value: object) -> str:
    text = _string(value)
    for field in _PLACEHOLDER.findall(text):
        if field not in _SNAPSHOT_FIELDS:
            raise fail(
                text,
                "is not a valid snapshot name template: unknown placeholder "
                f"{{{quote(field)[1:-1]}}} "
                f"(use {', '.join('{' + f + '}' for f in _SNAPSHOT_FIELDS)})",
            )
    if "{rand}" not in text and "{date}" not in text:
        raise fail(
            text,
            "is not a valid snapshot name template: it needs {date} or {rand} "
            "so that two runs do not produce the same name",
        )
    return text


SnapshotTemplate = Annotated[str, BeforeValidator(_snapshot_template), _str_schema()]


def expand_snapshot_template(template: str, **values: str) -> str:
    """The name a template gives for the given placeholder values."""
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


_ARGV_HINT = (
    "is not a list of arguments: write the command as a list, like [redis-cli, BGSAVE] "
    '(for a shell, write [sh, -c, "..."] yourself)'
)


def _argv(value: object) -> object:
    if not isinstance(value, list):
        raise fail(value, _ARGV_HINT)
    if not value:
        raise fail(value, "is empty: give at least the program to run, like [redis-cli, BGSAVE]")
    if value[0] == "":
        raise fail(value[0], "is not a program: the first item of a command names the program")
    return value


def _argv_item(value: object) -> str:
    # A YAML integer (``[sleep, 5]``) is its decimal text; anything else must be a string.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise fail(value, 'is not a string (quote it: "...")')
    if "\0" in value:
        raise fail(value, "contains a NUL character, which no command argument can hold")
    return value


CommandArg = Annotated[
    str, BeforeValidator(_argv_item), WithJsonSchema({"type": ["string", "integer"]})
]
"""One argument of a hook's command: any string without NUL (a YAML integer becomes its text)."""

Command = Annotated[
    list[CommandArg],
    BeforeValidator(_argv),
    WithJsonSchema({"type": "array", "minItems": 1, "items": {"type": ["string", "integer"]}}),
]
"""A hook's argv: the program, then its arguments; never split or interpreted by a shell."""


_RUNBOOK_URL = re.compile(r"[A-Za-z0-9._~:/?&=%+@-]{1,512}")


def _runbook_url(value: object) -> str:
    text = _string(value)
    if _RUNBOOK_URL.fullmatch(text):
        return text
    raise fail(
        text,
        "is not a valid runbook address (a URL or path without spaces, quotes or #, "
        "like https://git.example.com/ops/backups/docs/alerts.md)",
    )


RunbookUrl = Annotated[
    str, BeforeValidator(_runbook_url), _str_schema(pattern=r"^[A-Za-z0-9._~:/?&=%+@-]{1,512}$")
]


def _sql_check(value: object) -> str:
    text = _string(value)
    if not text.strip():
        raise fail(text, "is empty: a check is one SQL statement that returns true")
    if len(text) > 4096:
        raise fail(text[:40] + "...", "is longer than 4096 characters")
    if "\0" in text:
        raise fail(text, "holds a NUL character")
    return text


VerifyCheck = Annotated[str, BeforeValidator(_sql_check), _str_schema(maxLength=4096)]
"""One SQL statement of verify.checks (data for the scratch database's client, never run
by a shell)."""
