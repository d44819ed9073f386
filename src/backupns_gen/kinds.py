"""The kinds of value that both Python and bash check, each declared once.

A ``Kind`` is one regular expression (written so that Python's ``re`` and bash's
``[[ =~ ]]`` (POSIX ERE) read it the same: no ``\\d``, no lookaround, ASCII
classes only), an optional length limit and whether the empty string passes.
From that one definition come

- ``Kind.check``: the Python validator (the config fields in ``fields.py`` and
  ``names.py`` call it),
- ``Kind.bash``: the bash function ``is_<name> VALUE`` of the rendered scripts
  (``templates/script/_util.sh.j2``), used by ``verify_config`` and by the toolbox
  when it reads values back from a snapshot.

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
        if self.max_len is not None and len(value) > self.max_len:
            return False
        return self.compiled.fullmatch(value) is not None

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

    def bash(self) -> str:
        """The bash function ``is_<name> VALUE`` (return 0 when it is of this kind)."""
        tests = [] if self.max_len is None else [f"${{#1}} -le {self.max_len}"]
        if not self.empty and self.compiled.fullmatch(""):
            tests.insert(0, "-n $1")  # the regex alone would take ""
        tests.append("$1 =~ $re")
        test = " && ".join(tests)
        if self.empty:
            test = f"-z $1 || ({test})"
        return (
            f"# is_{self.name} VALUE: {self.doc}\n"
            f"is_{self.name}() {{\n"
            f"  local re='^{self.anchored}$'\n"
            f"  [[ {test} ]]\n"
            "}\n"
        )


_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SEGMENT = "[-A-Za-z0-9._@+=,]"
_NOT_DOT = "[-A-Za-z0-9_@+=,]"

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
    # Each part is not empty, not . and not ..: it starts with a character other than
    # '.', or is '.' and then such a character, or is '..' and then anything.
    rf"(/({_NOT_DOT}{_SEGMENT}*|\.{_NOT_DOT}{_SEGMENT}*|\.\.{_SEGMENT}+))+",
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
"""Every kind, in the order of their bash functions."""
