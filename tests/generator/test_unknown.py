"""unknown: a key a model does not have is an error naming it, with a "did you mean"
when one is close, raised together with every other problem of the same mapping."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from backupns_gen.config import Lock
from backupns_gen.unknown import allowed_keys, close_key, unknown_key_message


def test_allowed_keys_are_the_camel_case_keys_in_declaration_order() -> None:
    assert allowed_keys(Lock) == ["mode", "slots", "timeout", "leaseDuration", "dir", "hostPath"]


def test_a_close_key_is_suggested_else_every_allowed_key_is_listed() -> None:
    allowed = allowed_keys(Lock)
    assert close_key("slot", allowed) == "slots"
    assert close_key("zzz", allowed) is None
    assert unknown_key_message("slot", allowed) == 'unknown key "slot" (did you mean "slots"?)'
    assert unknown_key_message("zzz", allowed) == (
        'unknown key "zzz" (allowed: mode, slots, timeout, leaseDuration, dir, hostPath)'
    )


def test_an_unknown_key_is_reported_beside_the_wrong_values_of_its_mapping() -> None:
    with pytest.raises(ValidationError) as info:
        Lock.model_validate({"slot": 3, "mode": "x"})
    assert [(e["loc"], e["msg"]) for e in info.value.errors()] == [
        ((), 'unknown key "slot" (did you mean "slots"?)'),
        (("mode",), "Input should be 'lease', 'flock' or 'none'"),
    ]
