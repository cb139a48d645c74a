"""The learnt allowance of panels a frame may draw, so frames stay within :data:`FRAME_BUDGET`.

Pure (no Textual): fed the panels the last frame drew and the CPU time it took.
"""

from __future__ import annotations

from tui_client.ui.rendering.tuning import (
    FIRST_PANELS_PER_FRAME,
    FRAME_BUDGET,
    MIN_PANELS_PER_FRAME,
)


class FrameBudget:
    """``allowance(took)``: how many panels in view the next frame may draw.

    A frame that drew its whole allowance in ``took`` seconds scales the allowance by
    ``budget / took``: down when frames ran long, up (at most doubled) when they were
    short. The panels left out come first in the next frame.
    """

    def __init__(self, budget: float = FRAME_BUDGET, *, first: int = FIRST_PANELS_PER_FRAME,
                 minimum: int = MIN_PANELS_PER_FRAME) -> None:
        self.budget = budget
        self.first = first
        self.minimum = minimum
        self.drawn = 0
        """Panels the last frame drew."""
        self.allowance = first
        """Panels in view a frame may draw (learnt)."""

    def reset(self) -> None:
        """A new run: n and the panels' sizes may differ, start from the first frame's allowance."""
        self.drawn, self.allowance = 0, self.first

    def panels_per_frame(self, took: float) -> int:
        """The allowance for the next frame, given the CPU time ``took`` of the last one."""
        drawn = self.drawn
        if drawn and took and drawn >= self.allowance:
            fits = int(drawn * self.budget / took)  # what the last frame's pace allows
            self.allowance = max(self.minimum, min(fits, 2 * drawn) if fits > drawn else fits)
        return self.allowance
