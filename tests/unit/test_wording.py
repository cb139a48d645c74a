"""Counts and logprobs as messages write them."""

from __future__ import annotations

from tui_client.core.protocol.token_facts import logprob_text
from tui_client.core.text.wording import count_of


def test_count_of_says_one_thing_or_many() -> None:
    assert count_of(1, "character") == "1 character"
    assert [count_of(k, "character") for k in (0, 2, 1234)] == ["0 characters", "2 characters", "1,234 characters"]
    assert count_of(3, "child", "children") == "3 children"


def test_logprob_text_stays_short_for_a_broken_servers_values() -> None:
    assert logprob_text(-2.0981) == "-2.098" and logprob_text(800.0, 4) == "800.0000"
    assert logprob_text(1e308) == "1e+308" and logprob_text(-1e7) == "-1e+07"
    assert logprob_text(float("nan")) == "nan" and logprob_text(float("-inf")) == "-inf"
