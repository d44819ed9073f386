"""The kinds of value that both Python and bash check, each declared once.

A ``Kind`` is one regular expression (written so that Python's ``re`` and bash's
``[[ =~ ]]`` (POSIX ERE) read it the same: no ``\\d``, no lookaround, ASCII
classes only), an optional length limit and whether the empty string passes.
From that one definition come

- ``Kind.check``: the Python validator (the config fields in ``fields.py`` and
  ``names.py`` call it),
- ``Kind.bash``: the bash function ``is_<name> VALUE`` of the rendered scripts
  (``KINDS`` in ``templates/script/_util.sh.j2``, used by the setting checks and by
  the toolbox when it reads values back from a snapshot; ``SETTING_KINDS``, which
  only settings have, in ``templates/core/_verify.sh.j2`` of a script with such a
  setting),
- ``Kind.pattern``: the JSON Schema pattern of the config field.

Nothing here imports from the rest of the package.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Kind:
    name: str
    """The bash function is ``is_<name>``."""
    regex: str
    """The whole value must match (no anchors here; bash adds ``^...$``)."""
    doc: str
    """The bash function's comment, after ``is_<name> VALUE: ``."""
    max_len: int | None = None
    len_after: str = ""
    """``max_len`` counts the characters after the first ``len_after`` ("" = all)."""
    empty: bool = False
    """The empty string passes."""
    rule: str = ""
    """The rule in words, for error lines."""
    compiled: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        assert "\\d" not in self.regex and "(?" not in self.regex and "'" not in self.regex
        object.__setattr__(self, "compiled", re.compile(self.regex, re.ASCII))

    def check(self, value: str) -> bool:
        """The Python verdict: True when ``value`` is of this kind."""
        if value == "":
            return self.empty
        if self.max_len is not None and len(self._measured(value)) > self.max_len:
            return False
        return self.compiled.fullmatch(value) is not None

    def _measured(self, value: str) -> str:
        return value.partition(self.len_after)[2] if self.len_after else value

    @property
    def anchored(self) -> str:
        """The regex to put between ``^`` and ``$``: grouped when it has a ``|`` outside
        parentheses (``^a|b$`` is ``^a`` or ``b$``)."""
        depth = 0
        for i, c in enumerate(self.regex):
            if c == "\\" or (i and self.regex[i - 1] == "\\"):
                continue
            depth += {"(": 1, ")": -1}.get(c, 0)
            if c == "|" and depth == 0:
                return f"({self.regex})"
        return self.regex

    @property
    def pattern(self) -> str:
        """The anchored regex, for the JSON Schema (an ECMA-262 regex reads it the same)."""
        return f"^{self.anchored}$"

    def bash(self) -> str:
        """The bash function ``is_<name> VALUE`` (return 0 when it is of this kind)."""
        local = f"re='{self.pattern}'"
        tests = []
        if self.max_len is not None and self.len_after:
            local += f' rest=${{1#*"{self.len_after}"}}'
            tests.append(f"${{#rest}} -le {self.max_len}")
        elif self.max_len is not None:
            tests.append(f"${{#1}} -le {self.max_len}")
        if not self.empty and self.compiled.fullmatch(""):
            tests.insert(0, "-n $1")  # the regex alone would take ""
        tests.append("$1 =~ $re")
        test = " && ".join(tests)
        if self.empty:
            test = f"-z $1 || ({test})"
        return (
            f"# is_{self.name} VALUE: {self.doc}\n"
            f"is_{self.name}() {{\n"
            f"  local {local}\n"
            f"  [[ {test} ]]\n"
            "}\n"
        )


_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"


def _abs_path(chars: str, more: str) -> str:
    """An absolute path of parts made of '-', ``chars``, '.' and ``more``: no part empty,
    '.' or '..' (each starts with a character other than '.', or is '.' and then such a
    character, or is '..' and then anything); no trailing '/'."""
    part, not_dot = f"[-{chars}.{more}]", f"[-{chars}{more}]"
    return rf"(/({not_dot}{part}*|\.{not_dot}{part}*|\.\.{part}+))+"


_ABS_PATH = _abs_path("A-Za-z0-9", "_@+=,")

DNS_LABEL = Kind(
    "dns_label",
    _LABEL,
    "RFC 1123 label (namespaces, containers): at most 63 characters.",
    max_len=63,
)
DNS_SUBDOMAIN = Kind(
    "dns_subdomain",
    rf"{_LABEL}(\.{_LABEL})*",
    "RFC 1123 subdomain (PVCs, VolumeSnapshots): at most 253 characters.",
    max_len=253,
)
ABS_PATH = Kind(
    "abs_path",
    _ABS_PATH,
    "an absolute path of letters, digits and ._@+=,- with no empty, . or .. parts\n"
    "# (a dump file setting, and the dump-file annotation read back from a snapshot).",
    rule="segments of letters, digits and ._@+=,- ; no '.' or '..' segments, no trailing '/'",
)
BYTE_COUNT = Kind(
    "byte_count",
    "[0-9]{1,18}",
    "a size in bytes as the dump reports it (at most 18 digits, so\n"
    "# that arithmetic on it cannot overflow).",
)
SHA256 = Kind(
    "sha256",
    "[0-9a-f]{64}",
    "a sha256 as sha256sum prints it (64 lowercase hex digits).",
)
QUANTITY = Kind(
    "quantity",
    r"[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)(([KMGTPE]i)|[numkMGTPE]|[eE][+-]?[0-9]+)?",
    "a Kubernetes resource quantity (such as a restoreSize).",
    max_len=64,
)
UTC_TIME = Kind(
    "utc_time",
    "[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]Z",
    "RFC 3339 time in UTC to the second, YYYY-MM-DDTHH:MM:SSZ (what\n"
    "# create records in backup-ns.sh/cut-at and the API writes as a metav1.Time). A value\n"
    "# read back from an annotation is anyone's input: used only when it has this shape.",
)
LABEL_VALUE = Kind(
    "label_value",
    "[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?",
    "a Kubernetes label value (may be empty).",
    max_len=63,
    empty=True,
)
ZONE_NAME = Kind(
    "zone_name",
    "[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*",
    "the shape of an IANA time zone name (UTC, Europe/Vienna); whether\n"
    "# the zone is known here is zone_known's.",
    max_len=64,
)
DURATION = Kind(
    "duration",
    "[0-9]{1,9}|([0-9]{1,9}h)?([0-9]{1,9}m)?([0-9]{1,9}s)?",
    "whole seconds, or hours, minutes and seconds in that order\n"
    "# (90, 90s, 15m, 1h30m), each number at most 9 digits; longer than 0 is the caller's.",
)

# A host name as the resolver takes it: labels of letters, digits, '-' and '_' (names in
# /etc/hosts and container networks may have '_'), not starting or ending with '-', and a
# trailing '.' (a fully qualified name); an IPv4 address is such a name. An IPv6 address:
# hex groups and '::', with an IPv4 tail (::ffff:192.0.2.1). Never starts with '-'.
_HOST_LABEL = "[A-Za-z0-9_]([-A-Za-z0-9_]*[A-Za-z0-9_])?"
_IPV6 = "[0-9A-Fa-f]{0,4}(:[0-9A-Fa-f]{0,4}){2,7}(:[0-9]{1,3}(\\.[0-9]{1,3}){3})?"
_HOST = rf"{_HOST_LABEL}(\.{_HOST_LABEL})*\.?|{_IPV6}"

HOST = Kind(
    "host",
    _HOST,
    "a database host: a host name (letters, digits, -_ and dots; a\n"
    "# trailing dot allowed) or an IPv4/IPv6 address, at most 253 characters; empty = the\n"
    "# client's default (MySQL: the local socket).",
    max_len=253,
    empty=True,
    rule="a host name (letters, digits, '-', '_' and '.') or an IP address",
)
PG_HOST = Kind(
    "pg_host",
    rf"{_HOST}|{_abs_path('A-Za-z0-9', '_@+=')}",  # no ',': libpq splits a host list at it
    "a PostgreSQL host: as is_host, or the absolute path (as\n"
    "# is_abs_path, without ',') of the directory of the server's unix socket (libpq: a host\n"
    "# starting with '/'); empty = the client's default socket directory.",
    max_len=253,
    empty=True,
    rule="a host name (letters, digits, '-', '_' and '.'), an IP address or the socket "
    "directory (an absolute path)",
)

EXEC_TYPES = {
    "deployment": "deploy",
    "statefulset": "sts",
    "daemonset": "ds",
    "replicaset": "rs",
    "pod": "po",
    "job": "",
}
"""What kubectl exec can run in (a Pod, or a workload it picks a pod of) that the
namespace Role lets it read: each by its singular, its plural and its short name (the API
server's shortNames; a Job has none), as kubectl's resource/name argument takes them."""

EXEC_RESOURCE = Kind(
    "exec_resource",
    "("
    + "|".join(f"{one}s?|{short}" if short else f"{one}s?" for one, short in EXEC_TYPES.items())
    + rf")/{_LABEL}(\.{_LABEL})*",
    "kubectl exec's <type>/<name>: type deployment, statefulset,\n"
    "# daemonset, replicaset, pod or job (singular, plural or short name: deploy, sts, ds,\n"
    "# rs, po), name a Kubernetes name (DNS subdomain, at most 253 characters).",
    max_len=253,
    len_after="/",
    rule="<type>/<name> with type deployment, statefulset, daemonset, replicaset, pod or job "
    "(also plural, or short: deploy, sts, ds, rs, po) and a Kubernetes name",
)
DB_VALUE = Kind(
    "db_value",
    r"\$\{[A-Za-z_][A-Za-z0-9_]*\}|[A-Za-z0-9_.@][-A-Za-z0-9_.@]{0,62}",
    "a database user or name: a ${ENVVAR} reference (expanded\n"
    "# inside the database container), or a literal of letters, digits and -_.@ (at most\n"
    "# 63, not starting with '-'; no '=' or space, so libpq never reads it as a\n"
    "# connection string).",
    rule="a literal (letters, digits and _.@-, at most 63 characters, not starting with '-') "
    "or ${ENVVAR} expanded inside the database container",
)

KINDS: tuple[Kind, ...] = (
    DNS_LABEL,
    DNS_SUBDOMAIN,
    ABS_PATH,
    BYTE_COUNT,
    SHA256,
    QUANTITY,
    UTC_TIME,
    LABEL_VALUE,
    ZONE_NAME,
    DURATION,
)
"""Every kind the scripts check values with beyond their settings (the toolbox reads
values back from snapshots with them): each script has their bash functions."""

SETTING_KINDS: tuple[Kind, ...] = (HOST, PG_HOST, EXEC_RESOURCE, DB_VALUE)
"""Kinds only settings have: a script has the bash function of one when a setting of its
table is of that kind (next to the setting checks)."""

ALL: tuple[Kind, ...] = KINDS + SETTING_KINDS
"""Every kind."""
