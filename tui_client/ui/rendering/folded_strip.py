"""A rendered line without the emoji parts terminals disagree on the width of, and with
visible stand-ins for the characters a terminal obeys (``\\x1b]2;title``, a bidi override).

For widgets that draw text they do not make inert themselves (Textual's TextArea, Input: a
prompt pasted or loaded from the history may hold escapes):
:func:`~tui_client.core.text.inert_text.make_inert` on each segment, padded or cut back to
the line's width, so the border after it stays where it is (a control character counts
0 cells for the widget, its stand-in 1; segments keep their styles, so does the cursor).
"""

from __future__ import annotations

from rich.segment import Segment
from textual.strip import Strip

from tui_client.core.text.inert_text import make_inert

__all__ = ["fold_strip"]


def fold_strip(strip: Strip) -> Strip:
    """``strip`` as the terminal will draw it; the same object when nothing is folded."""
    segments = list(strip)
    folded = [make_inert(segment.text) for segment in segments]
    if all(new is segment.text for new, segment in zip(folded, segments)):
        return strip
    out = Strip([Segment(text, segment.style, segment.control) for text, segment in zip(folded, segments)])
    width = strip.cell_length
    if out.cell_length < width:
        out = out.extend_cell_length(width, segments[-1].style if segments else None)
    elif out.cell_length > width:
        out = out.crop(0, width)
    return out
