"""schema: the JSON Schema of backupns.yaml comes from the config models (their
defaults, bounds and docstrings), with the few shapes the models cannot say."""

from __future__ import annotations

from backupns_gen.config import Lock
from backupns_gen.names import LABEL_MAX
from backupns_gen.schema import config_schema


def test_a_field_s_default_bounds_and_docstring_reach_the_schema() -> None:
    slots = config_schema()["$defs"]["Lock"]["properties"]["slots"]
    assert (slots["default"], slots["minimum"], slots["maximum"]) == (2, 1, 1000)
    assert slots["description"] == Lock.model_fields["slots"].description


def test_namespace_names_are_dns_labels_and_database_may_be_none() -> None:
    schema = config_schema()
    names = schema["properties"]["namespaces"]["propertyNames"]
    assert names == {"pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": LABEL_MAX}
    database = schema["$defs"]["NamespaceConfig"]["properties"]["database"]
    assert database["anyOf"][0] == {"const": "none"}


def test_defaults_are_a_namespace_entry_with_nothing_required() -> None:
    schema = config_schema()
    defaults = schema["properties"]["defaults"]
    assert "required" not in defaults
    assert set(defaults["properties"]) == set(schema["$defs"]["NamespaceConfig"]["properties"])
    assert schema["required"] == ["namespaces"] and schema["additionalProperties"] is False
