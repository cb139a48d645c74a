"""KEY=VALUE and JSON-object extra fields: typed values, one-line refusals, lines that read back."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tui_client.core.protocol.extra_fields import (
    OWN_FIELDS,
    extra_problem,
    format_lines,
    merge,
    parse_extra,
    parse_lines,
    parse_param,
)


@pytest.mark.parametrize(("text", "expected"), [
    ("min_p=0.05", ("min_p", 0.05)),
    ("ignore_eos=true", ("ignore_eos", True)),
    ("min_tokens=8", ("min_tokens", 8)),
    ("stop_token_ids=[2, 7]", ("stop_token_ids", [2, 7])),
    ('logit_bias={"50256": -100}', ("logit_bias", {"50256": -100})),
    ("guided_regex=[a-z]+", ("guided_regex", "[a-z]+")),  # not JSON: the text itself
    ('quoted="0.5"', ("quoted", "0.5")),  # a JSON string stays one
    (" spaced = two words ", ("spaced", "two words")),
    ("empty=", ("empty", "")),
    ("eq=a=b", ("eq", "a=b")),
    ("x=NaN", ("x", "NaN")),  # NaN is not JSON: a string
    ("gone=null", ("gone", None)),
])
def test_a_param_is_typed_when_it_is_json(text: str, expected: tuple[str, object]) -> None:
    key, value = parse_param(text)
    assert (key, value) == expected
    assert type(value) is type(expected[1])  # 1 is not True, 8 is not 8.0


@pytest.mark.parametrize(("text", "needle"), [
    ("min_p", "KEY=VALUE, please: 'min_p' has no '='"),
    ("=3", "no field name before '='"),
    ("min p=3", "'min p' is not a field name"),
    ("x=1e400", "numbers must be finite"),
    ("x=" + "[" * 100_000, "nested more than 32 deep"),
    ("x=" + "[" * 40 + "]" * 40, "nested more than 32 deep"),
])
def test_a_bad_param_is_one_line(text: str, needle: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_param(text)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_extra_is_a_json_object() -> None:
    assert parse_extra('{"structured_outputs": {"choice": [" yes", " no"]}, "min_p": 0.1}') == {
        "structured_outputs": {"choice": [" yes", " no"]}, "min_p": 0.1}


@pytest.mark.parametrize(("text", "needle"), [
    ("min_p=0.1", "not JSON"),
    ("[1, 2]", "a JSON object"),
    ('"text"', "a JSON object"),
    ('{"a": NaN}', "not JSON (NaN is not JSON)"),
    ('{"a": 1e999}', "a: numbers must be finite"),
    ('{"a b": 1}', "'a b' is not a field name"),
    ("{" * 50_000, "not JSON"),
    ("[" * 100_000, "not JSON (nested more than 32 deep)"),
])
def test_a_bad_extra_is_one_line(text: str, needle: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_extra(text)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_merge_later_wins_and_null_removes() -> None:
    assert merge({"a": 1, "b": 2}, {"b": 3, "c": 4}, {"a": None}) == {"b": 3, "c": 4}


def test_lines_skip_blanks_and_comments_and_number_their_problems() -> None:
    fields, problems = parse_lines("min_p=0.05\n\n# a comment\nnot a pair\nignore_eos=true\nmin_p=0.1\n")
    assert fields == {"min_p": 0.1, "ignore_eos": True}
    assert problems == [(4, "KEY=VALUE, please: 'not a pair' has no '='")]


def test_own_fields_are_refused_as_extra() -> None:
    assert extra_problem({"min_p": 0.1}) is None
    for key, owner in OWN_FIELDS.items():
        assert extra_problem({key: 1}) == f"{key} is set by the app's own {owner} setting, not as an extra field"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
keys = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True)


@given(st.dictionaries(keys, json_values.filter(lambda v: v is not None), max_size=5))
def test_lines_read_back_the_same(extra: dict[str, object]) -> None:
    fields, problems = parse_lines(format_lines(extra))
    assert problems == [] and fields == extra
    assert [type(v) for v in fields.values()] == [type(v) for v in extra.values()]
