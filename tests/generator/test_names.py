"""names: the Kubernetes name rules (apimachinery's validation) and how a value is
quoted in an error line."""

from __future__ import annotations

import pytest

from backupns_gen.names import (
    LABEL_MAX,
    QUOTE_MAX,
    SUBDOMAIN_MAX,
    dns1123_label,
    dns1123_subdomain,
    env_name,
    join_words,
    label_value,
    qualified_name,
    quote,
)


@pytest.mark.parametrize("name", ["a", "shop-prod", "0db", "a" * LABEL_MAX])
def test_valid_dns1123_labels(name: str) -> None:
    assert dns1123_label(name) is None


@pytest.mark.parametrize(
    "name", ["", "Shop", "shop.prod", "-shop", "shop-", "shop_prod", "a" * (LABEL_MAX + 1)]
)
def test_invalid_dns1123_labels(name: str) -> None:
    assert dns1123_label(name) == (
        "is not a valid Kubernetes name (lowercase letters, digits and '-', at most 63 characters)"
    )


def test_a_subdomain_allows_dots_and_its_length_is_the_caller_s() -> None:
    assert dns1123_subdomain("data.shop-1") is None
    assert dns1123_subdomain("a" * SUBDOMAIN_MAX) is None
    assert dns1123_subdomain("a" * (SUBDOMAIN_MAX + 1)) is not None
    assert dns1123_subdomain("data..shop") is not None
    assert dns1123_subdomain("a" * 64, max_len=LABEL_MAX) == (
        "is not a valid Kubernetes name (lowercase letters, digits, '-' and '.', "
        "at most 63 characters)"
    )


@pytest.mark.parametrize(
    ("value", "ok"),
    [("", True), ("Data_1.x", True), ("a" * 63, True), ("_a", False), ("a/b", False)],
)
def test_label_values_may_be_empty_and_mixed_case(value: str, ok: bool) -> None:
    assert (label_value(value) is None) is ok


@pytest.mark.parametrize(
    ("key", "ok"),
    [
        ("backup-ns.sh/pvc", True),
        ("app", True),
        ("example.com/Team_Name", True),
        ("Example.com/team", False),
        ("/team", False),
        ("a/b/c", False),
        ("example.com/" + "n" * 64, False),
    ],
)
def test_qualified_names_check_prefix_and_name_apart(key: str, ok: bool) -> None:
    assert (qualified_name(key) is None) is ok


@pytest.mark.parametrize(("name", "ok"), [("PGPASSWORD", True), ("_x1", True), ("1X", False)])
def test_env_names(name: str, ok: bool) -> None:
    assert (env_name(name) is None) is ok


def test_quote_shows_strings_json_escaped_and_other_values_as_yaml_would() -> None:
    assert quote('say "hi"') == '"say \\"hi\\""'
    assert quote("a\u202eb") == '"a\\u202eb"'
    assert (quote(True), quote(None), quote(7)) == ("true", "null", "7")


def test_quote_shortens_a_long_string_and_gives_its_length() -> None:
    assert quote("x" * QUOTE_MAX) == '"' + "x" * QUOTE_MAX + '"'
    assert quote("x" * 1000) == '"' + "x" * 240 + '..." (1000 characters)'


def test_join_words() -> None:
    assert [join_words(["a"]), join_words(["a", "b"]), join_words(["a", "b", "c"])] == [
        "a",
        "a and b",
        "a, b and c",
    ]
