"""Tokens placed in the displayed (inert) text, their probability levels, and a token's facts."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from tui_client.core.protocol.state import Candidate
from tui_client.core.protocol.token_facts import percent, token_facts
from tui_client.core.text.inert_text import make_inert
from tui_client.ui.widgets.candidates.token_spans import NO_LEVEL, TokenSpans, probability_level

LEVELS = (0.9, 0.6, 0.3, 0.1, 0.03)


def spans_of(texts: list[str]) -> TokenSpans:
    spans = TokenSpans(LEVELS, tab_size=4)
    spans.sync(texts, [-0.1] * len(texts))
    return spans


@given(st.lists(st.text(alphabet="ab \t\r\n\x1b\u202e\x9b\u00e9", max_size=4), max_size=12),
       st.integers(min_value=0, max_value=12))
def test_spans_cut_the_displayed_text_exactly_where_the_tokens_join(texts: list[str], split: int) -> None:
    """Whatever the tokens hold (tabs, stand-ins, a CR before a LF in the next token), and
    however many arrive at a time, the spans tile the displayed text of their joined texts."""
    spans = TokenSpans(LEVELS, tab_size=4)
    spans.sync(texts[:split], [-0.1] * len(texts[:split]))
    spans.sync(texts, [-0.1] * len(texts))
    shown = make_inert("".join(texts), tab_size=4)
    assert len(spans) == len(texts) and spans.end == len(shown)
    pos = 0
    for index in range(len(texts)):
        start, end = spans.span(index)
        assert start == pos and end >= start
        pos = end
    for offset in range(len(shown)):
        index = spans.index_at(offset)
        start, end = spans.span(index)
        assert start <= offset < end
    assert spans.index_at(len(shown)) is None


def test_an_end_of_sequence_token_has_no_span_and_is_never_under_an_offset() -> None:
    spans = spans_of([" a", "", " b"])
    assert spans.span(1) == (2, 2)
    assert [spans.index_at(i) for i in range(4)] == [0, 0, 2, 2]
    assert spans.cuts(0, 4) == [2]


def test_levels_by_probability_and_nan_unshaded() -> None:
    def level(p: float) -> int:
        return probability_level(math.log(p), LEVELS)

    assert [level(p) for p in (1.0, 0.9001, 0.89, 0.6001, 0.3001, 0.1001, 0.05, 0.0301, 0.029)] == [0, 0, 1, 1, 2, 3, 4, 4, 5]
    assert probability_level(-math.inf, LEVELS) == 5
    assert probability_level(math.nan, LEVELS) == NO_LEVEL


def cand(tokens: list[tuple[str, float, list[tuple[str, float]]]]) -> Candidate:
    c = Candidate(0)
    c.add_tokens([t for t, _, _ in tokens], [v for _, v, _ in tokens], [tuple(top) for _, _, top in tokens])
    return c


def test_facts_rank_among_the_alternatives_and_unknown_beyond_the_top_k() -> None:
    lp = math.log
    c = cand([
        (" a", lp(0.01), [(" that", lp(0.3)), (" its", lp(0.16)), (" a", lp(0.01))]),  # sent after the top 2
        (" b", lp(0.5), [(" b", lp(0.5)), (" c", lp(0.2))]),  # the top one
        (" d", lp(0.1), [(" e", lp(0.6)), (" f", lp(0.2))]),  # chat: not among the top 2
        ("x", math.nan, []),
    ])
    first = token_facts(c, 0, k=2)
    assert first.rank is None and first.shown == 2 and first.offset == 0
    assert token_facts(c, 0).rank == 3  # K not known: its place in the list
    second = token_facts(c, 1, k=2)
    assert (second.rank, second.shown, second.offset) == (1, 1, 2)
    assert math.isclose(second.cumulative, lp(0.01) + lp(0.5))
    third = token_facts(c, 2, k=2)
    assert third.rank is None and third.shown == 2 and percent(third.probability) == "10.0%"
    fourth = token_facts(c, 3, k=2)
    assert fourth.rank is None and percent(fourth.probability) == "?" and fourth.offset == 6
    assert math.isclose(fourth.cumulative, lp(0.01) + lp(0.5) + lp(0.1))


def test_percent_never_rounds_to_a_misleading_end() -> None:
    assert [percent(p) for p in (0.2991, 0.0004, 0.0, 0.9996, 1.0)] == ["29.9%", "<0.1%", "0%", ">99.9%", "100%"]
