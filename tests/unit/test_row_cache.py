"""A panel's row cache: rows drawn once per key and width, styles asked for on a miss only."""

from __future__ import annotations

from rich.style import Style
from textual.strip import Strip

from tui_client.ui.widgets.candidates.row_cache import RowCache, RowKind, marker_text

TEXT, NOTICE, ERROR = Style(color="white"), Style(italic=True), Style(color="red")
SHARED, UNIQUE, MARKER = Style(dim=True), Style(reverse=True), Style(italic=True, dim=True)
FORK = Style(underline=True)


class Calls:
    def __init__(self) -> None:
        self.styles = self.marks = self.cells = 0

    def row_styles(self) -> tuple[Style, Style, Style]:
        self.styles += 1
        return TEXT, NOTICE, ERROR

    def mark_styles(self) -> tuple[Style, Style, Style, Style]:
        self.marks += 1
        return SHARED, UNIQUE, MARKER, FORK

    def bar_cell(self, cell: int) -> Strip:
        self.cells += 1
        return Strip.blank(1, Style(bgcolor="blue" if cell else "black"))


def make() -> tuple[RowCache, Calls]:
    calls = Calls()
    return RowCache(calls.row_styles, calls.mark_styles, calls.bar_cell), calls


def segments(strip: Strip) -> list[tuple[str, Style | None]]:
    return [(segment.text, segment.style) for segment in strip]


def test_row_kinds_index_the_row_styles() -> None:
    assert (RowKind.TEXT, RowKind.NOTICE, RowKind.ERROR) == (0, 1, 2)
    assert len({kind.value for kind in RowKind}) == len(RowKind)


def test_a_plain_row_is_drawn_once_per_key_and_width() -> None:
    rows, calls = make()
    strip = rows.plain(RowKind.TEXT, 4, 7, "The cat sat", 6)
    assert strip.text == "cat   " and strip.cell_length == 6
    assert rows.plain(RowKind.TEXT, 4, 7, "The cat sat", 6) is strip
    assert calls.styles == 1
    assert rows.plain(RowKind.TEXT, 4, 7, "The cat sat", 8).cell_length == 8  # a new width: drawn again
    assert segments(rows.plain(RowKind.ERROR, 0, 3, "bad", 3)) == [("bad", ERROR)]
    rows.clear()
    assert rows.plain(RowKind.TEXT, 4, 7, "The cat sat", 8) is not strip


def test_rows_are_cropped_to_the_width() -> None:
    rows, _ = make()
    assert rows.plain(RowKind.NOTICE, 0, 11, "The cat sat", 5).text == "The c"


def test_the_tails_marker() -> None:
    rows, calls = make()
    assert marker_text(0) == "… no shared prefix"
    assert marker_text(1234) == "… 1,234 shared chars" and marker_text(1) == "… 1 shared char"
    strip = rows.marker(1234, 1234, 24)
    assert strip.text.rstrip() == "… 1,234 shared chars" and strip.cell_length == 24
    assert segments(strip)[0] == ("… 1,234 shared chars", MARKER)
    assert rows.marker(1234, 1234, 24) is strip and calls.marks == 1


def test_a_marked_row_dims_the_shared_prefix_and_highlights_the_word() -> None:
    rows, _ = make()
    text = "The cat sat"
    strip = rows.marked(0, 11, 4, 8, 11, text, 12)
    assert segments(strip)[:3] == [("The ", SHARED), ("cat ", TEXT), ("sat", UNIQUE)]
    assert strip.cell_length == 12
    assert rows.marked(0, 11, 4, 8, 11, text, 12) is strip
    assert rows.marked(0, 11, 4, 4, 7, text, 12) is not strip  # the word moved: another key


def test_a_forked_row_shows_a_beams_new_text_from_the_fork() -> None:
    rows, calls = make()
    text = "The cat sat on"
    strip = rows.forked(4, 14, 8, text, 12)  # the row "cat sat on", new from "sat"
    assert segments(strip)[:2] == [("cat ", TEXT), ("sat on", FORK)] and strip.cell_length == 12
    assert rows.forked(4, 14, 8, text, 12) is strip and calls.marks == 1
    assert segments(rows.forked(0, 4, 8, text, 12))[0] == ("The ", TEXT)  # a row before the fork: plain
    assert segments(rows.forked(8, 14, 2, text, 12))[0] == ("sat on", FORK)  # a row after it: all new


def test_a_row_with_its_scrollbar_cell_is_joined_once() -> None:
    rows, calls = make()
    row = rows.plain(RowKind.TEXT, 0, 3, "abc", 3)
    joined = rows.with_bar(row, 1)
    assert joined.cell_length == 4 and joined.text == "abc "
    assert rows.with_bar(row, 1) is joined and calls.cells == 1
    assert rows.with_bar(row, 0) is not joined
    rows.clear_all()
    assert rows.with_bar(row, 1) is not joined
