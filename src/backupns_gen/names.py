"""Kubernetes name rules, as k8s.io/apimachinery/pkg/util/validation applies them.

Which rule applies to which kind (apimachinery / pkg/apis/*/validation):
  Namespace, container, CronJob   RFC 1123 label      (IsDNS1123Label, ≤ 63)
  PVC, workloads, pods, classes   RFC 1123 subdomain  (IsDNS1123Subdomain, ≤ 253)
  label values                    IsValidLabelValue   (≤ 63, may be empty)
  label / annotation keys         IsQualifiedName     ([prefix/]name, name ≤ 63)

Each check returns None when the value is valid, otherwise the reason as text
that follows the quoted value in an error line.
"""

from __future__ import annotations

import json
import re

from .kinds import DNS_LABEL, DNS_SUBDOMAIN, LABEL_VALUE

_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

LABEL_MAX = 63
SUBDOMAIN_MAX = 253


QUOTE_MAX = 320
"""Longer strings are shortened in error lines (the line stays one readable line)."""


def quote(value: object) -> str:
    """A value as it appears in an error line: strings in double quotes, JSON-escaped,
    every non-printable character (control, bidi override, ...) as ``\\uXXXX``, and
    strings over QUOTE_MAX characters shortened with their length."""
    if isinstance(value, str):
        shown = value if len(value) <= QUOTE_MAX else value[:240]
        text = "".join(
            c if c.isprintable() else f"\\u{ord(c):04x}"
            for c in json.dumps(shown, ensure_ascii=False)
        )
        return text if shown is value else f'{text[:-1]}..." ({len(value)} characters)'
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)


def dns1123_label(value: str) -> str | None:
    """Namespaces, containers, CronJobs: RFC 1123 label."""
    if DNS_LABEL.check(value):
        return None
    return (
        "is not a valid Kubernetes name (lowercase letters, digits and '-', at most 63 characters)"
    )


def dns1123_subdomain(value: str, max_len: int = SUBDOMAIN_MAX) -> str | None:
    """PVCs, workloads, VolumeSnapshotClasses: RFC 1123 subdomain.

    ``max_len`` is lowered to 63 where the name also becomes a label value
    (a PVC name is the value of the ``backup-ns.sh/pvc`` label).
    """
    if len(value) <= max_len and DNS_SUBDOMAIN.check(value):
        return None
    return (
        "is not a valid Kubernetes name "
        f"(lowercase letters, digits, '-' and '.', at most {max_len} characters)"
    )


def label_value(value: str) -> str | None:
    if LABEL_VALUE.check(value):
        return None
    return (
        "is not a valid label value (letters, digits, '-', '_' and '.', "
        "starting and ending with a letter or digit, at most 63 characters)"
    )


def qualified_name(value: str) -> str | None:
    """Label and annotation keys: an optional DNS subdomain prefix and '/', then a name."""
    prefix, slash, name = value.rpartition("/")
    ok = (
        len(name) <= LABEL_MAX
        and _QUALIFIED_NAME.fullmatch(name) is not None
        and (not slash or DNS_SUBDOMAIN.check(prefix))
    )
    if ok:
        return None
    return (
        "is not a valid label or annotation key ([prefix/]name; the name: letters, digits, "
        "'-', '_' and '.', at most 63 characters; the prefix: a DNS subdomain)"
    )


def env_name(value: str) -> str | None:
    if _ENV_NAME.fullmatch(value):
        return None
    return (
        "is not a valid environment variable name "
        "(letters, digits and '_', not starting with a digit)"
    )


def join_words(words: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return ", ".join(words[:-1]) + (" and " if len(words) > 1 else "") + words[-1]
