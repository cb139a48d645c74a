"""Divergence of n candidate texts: unit cases and the incremental tracker against a
character-by-character reference."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from tui_client.core.text.divergence import (
    MAX_WORD,
    DivergenceTracker,
    DivergenceView,
    compute_divergence,
    is_word,
    word_end,
    word_start,
)


def reference(texts: dict[int, str]) -> DivergenceView:
    """The definitions, spelled out one character at a time."""
    if len(texts) < 2:
        return DivergenceView()

    def mismatch(a: str, b: str) -> int | None:
        return next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), None)

    departs: dict[int, int | None] = {}
    unique: dict[int, int | None] = {}
    for i, a in texts.items():
        found = [mismatch(a, b) for j, b in texts.items() if j != i]
        known = [m for m in found if m is not None]
        departs[i] = word_start(a, min(known)) if known else None
        unique[i] = word_start(a, max(known)) if len(known) == len(found) else None
    shared = 0
    while all(len(t) > shared for t in texts.values()) and len({t[shared] for t in texts.values()}) == 1:
        shared += 1
    return DivergenceView(shared, departs, unique)


def test_word_start_snaps_back_over_word_characters_only() -> None:
    assert word_start("The cat", 6) == 4
    assert word_start("The cat", 4) == 4
    assert word_start("The cat", 3) == 3  # a space is its own token
    assert word_start("cat,", 3) == 3
    assert word_start("naïve_x1", 7) == 0
    assert word_start("x" * 500, 400) == 400 - MAX_WORD


def test_is_word_is_letters_digits_and_underscore() -> None:
    assert all(is_word(c) for c in "aZ9_ïλ")
    assert not any(is_word(c) for c in " \n,.-'")


def test_word_end_runs_to_the_end_of_the_word() -> None:
    assert word_end("The cat sat", 4) == 7
    assert word_end("The cat sat", 3) == 7  # a space takes the next word along
    assert word_end("The\ncat", 3) == 7  # so does a newline
    assert word_end("cat, dog", 3) == 4  # punctuation: that character alone
    assert word_end("cat", 3) == 3
    assert word_end("x" * 500, 10) == 10 + MAX_WORD


def _word_end_as_the_panel_had_it(text: str, unique: int) -> int:
    end, limit = unique, min(len(text), unique + MAX_WORD)
    if end < limit and not is_word(text[end]):
        end += 1
        if not text[end - 1].isspace():
            limit = end
    while end < limit and is_word(text[end]):
        end += 1
    return end


@given(st.text(alphabet="ab_ ,\n.é", max_size=200), st.integers(min_value=0, max_value=220))
def test_word_end_is_the_panel_s_former_snapping(text: str, offset: int) -> None:
    assert word_end(text, offset) == _word_end_as_the_panel_had_it(text, offset)


def test_one_candidate_has_nothing_to_compare() -> None:
    view = DivergenceTracker().update({0: "Hello there"})
    assert not view.comparable
    assert view.shared_prefix_len == 0 and view.departs_at == {} and view.unique_at == {}
    assert not DivergenceTracker().update({}).comparable


def test_three_candidates() -> None:
    view = compute_divergence({0: "The cat sat", 1: "The cat ran", 2: "The dog"})
    assert view.comparable
    assert view.shared_prefix_len == 4
    assert view.departs_at == {0: 4, 1: 4, 2: 4}
    assert view.unique_at == {0: 8, 1: 8, 2: 4}


def test_a_shorter_text_that_agrees_has_not_departed() -> None:
    view = compute_divergence({0: "The", 1: "The cat", 2: "The cow"})
    assert view.shared_prefix_len == 3
    assert view.departs_at == {0: None, 1: 4, 2: 4}  # "cat"/"cow" snapped to the word
    assert view.unique_at == {0: None, 1: None, 2: None}  # both still agree with "The"


def test_identical_texts_never_depart() -> None:
    view = compute_divergence({0: "same", 1: "same"})
    assert view.shared_prefix_len == 4
    assert view.departs_at == {0: None, 1: None}


def test_streaming_frames() -> None:
    tracker = DivergenceTracker()
    first = tracker.update({0: "", 1: ""})
    assert first.comparable and first.departs_at == {0: None, 1: None}
    assert tracker.update({0: "Once up", 1: "Once"}).departs_at == {0: None, 1: None}
    view = tracker.update({0: "Once upon", 1: "Once there"})
    assert view.shared_prefix_len == 5 and view.departs_at == {0: 5, 1: 5}
    assert tracker.update({0: "Once upon", 1: "Once there"}) is view  # nothing new: same object
    later = tracker.update({0: "Once upon a time", 1: "Once there was"})
    assert later == view  # a settled pair is final


def test_a_late_short_text_can_move_the_departure_earlier() -> None:
    tracker = DivergenceTracker()
    assert tracker.update({0: "a bc x", 1: "a bc y", 2: "a"}).departs_at == {0: 5, 1: 5, 2: None}
    view = tracker.update({0: "a bc x", 1: "a bc y", 2: "a!"})
    assert view.departs_at == {0: 1, 1: 1, 2: 1} and view.shared_prefix_len == 1
    assert view.unique_at == {0: 5, 1: 5, 2: 1}


def test_replaced_text_is_recomputed() -> None:
    tracker = DivergenceTracker()
    tracker.update({0: "alpha beta", 1: "alpha gamma"})
    view = tracker.update({0: "alpha beta", 1: "alp"})  # not an extension: start over for 1
    assert view == reference({0: "alpha beta", 1: "alp"})
    assert view.departs_at == {0: None, 1: None}


def test_candidates_coming_and_going() -> None:
    tracker = DivergenceTracker()
    tracker.update({0: "a b", 1: "a c"})
    assert tracker.update({0: "a b", 1: "a c", 2: "a b"}).unique_at == {0: None, 1: 2, 2: None}
    assert tracker.update({0: "a b", 2: "a b d"}).departs_at == {0: None, 2: None}
    assert not tracker.update({2: "a b d"}).comparable


def test_sixty_four_identical_streams_stay_cheap() -> None:
    """The worst case for pairs (nothing ever differs): 64 candidates, 400 frames."""
    tracker = DivergenceTracker()
    texts = {i: "" for i in range(64)}
    started = time.perf_counter()
    for frame in range(400):
        for i in texts:
            texts[i] += f"word{frame % 7} "
        view = tracker.update(texts)
    assert time.perf_counter() - started < 5  # about 0.4 s on a laptop
    assert view.shared_prefix_len == len(texts[0]) and set(view.departs_at.values()) == {None}


texts_strategy = st.text(alphabet="ab ", max_size=4)
step = st.one_of(
    st.tuples(st.just("append"), st.integers(0, 5), texts_strategy),
    st.tuples(st.just("replace"), st.integers(0, 5), texts_strategy),
    st.tuples(st.just("drop"), st.integers(0, 5), st.just("")),
)


@settings(max_examples=300, deadline=None)
@given(initial=st.lists(texts_strategy, min_size=0, max_size=6), steps=st.lists(step, max_size=40))
def test_incremental_equals_from_scratch(initial: list[str], steps: list[tuple[str, int, str]]) -> None:
    texts = dict(enumerate(initial))
    tracker = DivergenceTracker()
    assert tracker.update(texts) == reference(texts)
    for op, index, value in steps:
        if op == "append":
            texts[index] = texts.get(index, "") + value
        elif op == "replace":
            texts[index] = value
        else:
            texts.pop(index, None)
        assert tracker.update(dict(texts)) == reference(texts)
        assert compute_divergence(texts) == reference(texts)
