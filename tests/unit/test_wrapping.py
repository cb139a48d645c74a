"""WrappedLines: greedy wrap that re-wraps only the last line when text is appended."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len

from tui_client.core.text.wrapping import WrappedLines

WORDY = st.text(alphabet=st.sampled_from(list("ab  \n中é🙂-")), max_size=200)


def test_wraps_at_spaces() -> None:
    wrapped = WrappedLines(10, "the quick brown fox jumps over")
    assert wrapped.lines() == ["the quick ", "brown fox ", "jumps over"]


def test_keeps_newlines_and_blank_lines() -> None:
    assert WrappedLines(20, "a\n\nb\n").lines() == ["a", "", "b", ""]


def test_folds_words_longer_than_a_line() -> None:
    assert WrappedLines(4, "abcdefghij xy").lines() == ["abcd", "efgh", "ij ", "xy"]


def test_wide_characters_count_two_cells() -> None:
    assert WrappedLines(4, "中文中文中").lines() == ["中文", "中文", "中"]


def test_indentation_is_kept() -> None:
    assert WrappedLines(20, "    indented\nx").lines() == ["    indented", "x"]


def test_width_change_rewraps() -> None:
    wrapped = WrappedLines(5, "aaa bbb ccc")
    assert len(wrapped) == 3
    assert wrapped.set_width(20)
    assert wrapped.lines() == ["aaa bbb ccc"]
    assert not wrapped.set_width(20)


def test_non_prefix_text_is_wrapped_from_scratch() -> None:
    wrapped = WrappedLines(10, "hello world again")
    wrapped.set_text("bye")
    assert wrapped.lines() == ["bye"]


def _check_invariants(wrapped: WrappedLines, text: str) -> None:
    # Lines cover the text in order; joined (with the newlines) they give the text back.
    pieces = []
    for i in range(len(wrapped)):
        start, end = wrapped.span(i)
        pieces.append((start, end))
        assert cell_len(wrapped.line(i).rstrip(" ")) <= wrapped.width
    rebuilt = ""
    for (start, end), following in zip(pieces, [*pieces[1:], (len(text), len(text))]):
        rebuilt += text[start:end]
        rebuilt += text[end : following[0]]  # a newline or nothing
    assert rebuilt == text


@settings(max_examples=300)
@given(st.lists(WORDY, max_size=8), st.integers(min_value=2, max_value=12))
def test_appending_deltas_equals_wrapping_at_once(deltas: list[str], width: int) -> None:
    text = "".join(deltas)
    incremental = WrappedLines(width)
    for delta in deltas:
        incremental.append(delta)
    at_once = WrappedLines(width, text)
    assert [incremental.span(i) for i in range(len(incremental))] == [at_once.span(i) for i in range(len(at_once))]
    if text:
        _check_invariants(at_once, text)
