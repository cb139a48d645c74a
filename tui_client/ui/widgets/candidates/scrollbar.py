"""The scrollbar a candidate panel draws in its last column: geometry, dragging, cells.

The panel draws it itself rather than showing Textual's scrollbar widget, which lays
out the screen when it appears and repaints on its own. The geometry and the drag are
pure (unit-tested); :func:`bar_cells` builds the three cells a row can end with.
"""

from __future__ import annotations

from enum import IntEnum

from rich.style import Style
from textual.color import Color
from textual.strip import Strip

__all__ = ["SCROLLBAR_WIDTH", "BarCell", "ScrollbarDrag", "bar_cells", "thumb_rows"]

SCROLLBAR_WIDTH = 1
"""The column the scrollbar takes, right of the text (always: the text's width does not
change when the scrollbar shows)."""


class BarCell(IntEnum):
    """What the scrollbar column shows on a row (an index into :func:`bar_cells`)."""

    TRACK = 0
    THUMB = 1
    THUMB_ACTIVE = 2  # the thumb while it is dragged


def thumb_rows(height: int, total: int, offset: float) -> tuple[int, int] | None:
    """The rows ``(start, end)`` of the thumb for ``total`` rows of content seen through
    ``height`` rows scrolled to ``offset``; None when the content fits."""
    if height <= 0 or total <= height:
        return None
    size = max(1, round(height * height / total))
    top = round((height - size) * min(1.0, offset / (total - height)))
    return top, top + size


class ScrollbarDrag:
    """The thumb held by the pointer: where it was grabbed, and where to scroll as it moves."""

    __slots__ = ("held",)

    def __init__(self) -> None:
        self.held: float | None = None
        """The row of the thumb the pointer holds, while dragging (None: not dragging)."""

    @property
    def active(self) -> bool:
        return self.held is not None

    def grab(self, row: int, thumb: tuple[int, int]) -> None:
        """Hold the thumb where the pointer is on it; a press on the track centres it there."""
        start, end = thumb
        self.held = row - start if start <= row < end else (end - start) / 2

    def release(self) -> bool:
        """Let go; False when nothing was held."""
        if self.held is None:
            return False
        self.held = None
        return True

    def scroll_target(self, row: int, thumb: tuple[int, int], height: int, max_scroll: int) -> int | None:
        """The scroll offset that puts the held row of the thumb at ``row`` (None: not dragging)."""
        if self.held is None:
            return None
        span = height - (thumb[1] - thumb[0])
        top = min(max(row - self.held, 0), span)
        return round(max_scroll * top / span) if span > 0 else 0


def bar_cells(base: Style, back: Color, color: Color, active: Color) -> tuple[Strip, Strip, Strip]:
    """The cells of :class:`BarCell`: the track (``base``, the text's style), and the thumb
    in ``color`` (``active`` while dragged) blended over ``back``, the panel's background."""
    return (
        Strip.blank(SCROLLBAR_WIDTH, base),
        Strip.blank(SCROLLBAR_WIDTH, base + Style(bgcolor=(back + color).rich_color)),
        Strip.blank(SCROLLBAR_WIDTH, base + Style(bgcolor=(back + active).rich_color)),
    )
