"""Where a panel's divergence marks fall in its text and rows (marks.py is pure)."""

from __future__ import annotations

from tui_client.ui.widgets.candidates.marks import DivergenceMarks

TEXT = "The cat sat on the mat"


def test_set_says_whether_anything_changed() -> None:
    marks = DivergenceMarks()
    assert not marks.set(0, None, marking=False, tails=False)
    assert marks.set(4, 8, marking=True, tails=False)
    assert not marks.set(4, 8, marking=True, tails=False)
    assert marks.set(4, 8, marking=True, tails=True)
    marks.clear_offsets()
    assert (marks.shared, marks.unique, marks.marking, marks.tails) == (0, None, True, True)


def test_the_dimmed_prefix_ends_at_a_word_start_and_the_word_runs_to_its_end() -> None:
    marks = DivergenceMarks()
    marks.set(6, 8, marking=True, tails=False)  # shared ends inside "cat"
    assert marks.snap(TEXT) == (4, 11)
    assert marks.unique_span(TEXT) == (8, 11)
    assert marks.shared_in("The") == 3


def test_no_highlight_without_marking_or_a_unique_word() -> None:
    marks = DivergenceMarks()
    marks.set(4, None, marking=True, tails=False)
    assert marks.unique_span(TEXT) is None
    marks.set(4, 8, marking=False, tails=True)
    assert marks.unique_span(TEXT) is None
    assert marks.unique_span("") is None


def test_marks_in_a_row() -> None:
    marks = DivergenceMarks()
    marks.set(4, 8, marking=True, tails=False)
    assert marks.in_row(0, 8, TEXT) == (4, 8, 8)  # "The cat ": dimmed "The ", the word is on the next row
    assert marks.in_row(8, 15, TEXT) == (8, 8, 11)  # "sat on ": not dimmed, "sat" highlighted
    assert marks.in_row(15, 22, TEXT) == (15, 15, 15)  # plain
    marks.set(4, 8, marking=False, tails=True)  # tails only: dimmed, nothing highlighted
    assert marks.in_row(0, 8, TEXT) == (4, 0, 0)


def test_snapping_follows_the_text_as_it_grows() -> None:
    marks = DivergenceMarks()
    marks.set(0, 4, marking=True, tails=False)
    assert marks.snap("The ca") == (0, 6)
    assert marks.snap("The cat sat") == (0, 7)
