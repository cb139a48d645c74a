"""A rendered line without the emoji parts terminals disagree on the width of.

For widgets that draw text they do not make inert themselves (Textual's TextArea):
:func:`~tui_client.core.text.inert_text.fold_cells` on each segment, padded back to the
line's width, so the border after it stays where it is.
"""

from __future__ import annotations

from rich.segment import Segment
from textual.strip import Strip

from tui_client.core.text.inert_text import fold_cells

__all__ = ["fold_strip"]


def fold_strip(strip: Strip) -> Strip:
    """``strip`` as the terminal will draw it; the same object when nothing is folded."""
    segments = list(strip)
    folded = [fold_cells(segment.text) for segment in segments]
    if all(new is segment.text for new, segment in zip(folded, segments)):
        return strip
    out = Strip([Segment(text, segment.style, segment.control) for text, segment in zip(folded, segments)])
    width = strip.cell_length
    if out.cell_length < width:
        out = out.extend_cell_length(width, segments[-1].style if segments else None)
    return out
