"""The candidate panel's scrollbar, without an app: thumb geometry, dragging, cells."""

from __future__ import annotations

from rich.style import Style
from textual.color import Color

from tui_client.ui.widgets.candidates.scrollbar import SCROLLBAR_WIDTH, BarCell, ScrollbarDrag, bar_cells, thumb_rows


def test_no_thumb_when_the_content_fits() -> None:
    assert thumb_rows(10, 10, 0) is None
    assert thumb_rows(10, 3, 0) is None
    assert thumb_rows(0, 30, 0) is None


def test_the_thumb_is_as_tall_as_the_share_in_view_and_moves_with_the_offset() -> None:
    assert thumb_rows(10, 40, 0) == (0, 2)  # round(10 * 10 / 40) = 2 rows
    assert thumb_rows(10, 40, 30) == (8, 10)  # at the end: at the bottom
    assert thumb_rows(10, 40, 15) == (4, 6)
    assert thumb_rows(10, 10_000, 0) == (0, 1)  # at least one row
    assert thumb_rows(10, 40, 99) == (8, 10)  # past the end: at the bottom


def test_dragging_holds_the_thumb_where_it_was_grabbed() -> None:
    drag = ScrollbarDrag()
    assert not drag.active and drag.scroll_target(5, (0, 2), 10, 30) is None
    drag.grab(1, (0, 2))  # on the thumb, its second row
    assert drag.active and drag.held == 1
    assert drag.scroll_target(1, (0, 2), 10, 30) == 0
    assert drag.scroll_target(9, (0, 2), 10, 30) == 30  # thumb at the bottom: the end
    assert drag.scroll_target(5, (0, 2), 10, 30) == 15  # top at row 4 of 8
    assert drag.scroll_target(-5, (0, 2), 10, 30) == 0  # above the panel: the top
    assert drag.release() and not drag.active
    assert not drag.release()


def test_a_press_on_the_track_centres_the_thumb_there() -> None:
    drag = ScrollbarDrag()
    drag.grab(8, (0, 2))
    assert drag.held == 1.0
    assert drag.scroll_target(8, (0, 2), 10, 30) == round(30 * 7 / 8)


def test_a_thumb_as_tall_as_the_panel_scrolls_to_the_top() -> None:
    drag = ScrollbarDrag()
    drag.grab(0, (0, 10))
    assert drag.scroll_target(5, (0, 10), 10, 3) == 0


def test_bar_cells_track_thumb_and_active_thumb() -> None:
    base = Style(color="white", bgcolor="black")
    cells = bar_cells(base, Color(0, 0, 0), Color(255, 0, 0), Color(0, 255, 0))
    assert [cell.cell_length for cell in cells] == [SCROLLBAR_WIDTH] * 3
    track, thumb, active = (list(cells[kind])[0].style for kind in BarCell)
    assert track == base
    assert thumb is not None and thumb.bgcolor is not None and thumb.bgcolor.triplet == (255, 0, 0)
    assert active is not None and active.bgcolor is not None and active.bgcolor.triplet == (0, 255, 0)
