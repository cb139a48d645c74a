"""Where a candidate's tokens fall in its displayed text, and each one's probability level (pure).

The tokens' texts join to the candidate's text; the panel shows that text made inert
(:func:`~tui_client.core.text.inert_text.make_inert`: stand-ins, tabs as spaces), so each
token's span is measured in the displayed text, one new token at a time. A token's level
(0: most probable ... ``len(levels)``: least) is fixed when it arrives: rows drawn with it
stay valid while the text grows.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_right
from collections.abc import Sequence

from tui_client.core.text.inert_text import make_inert

__all__ = ["NO_LEVEL", "TokenSpans", "probability_level"]

NO_LEVEL = -1
"""The level of a token without a logprob (text the server sent without one): not shaded."""


def probability_level(logprob: float, levels: Sequence[float]) -> int:
    """0 when ``exp(logprob)`` is at least ``levels[0]``, 1 when at least ``levels[1]``, ...,
    ``len(levels)`` below them all; :data:`NO_LEVEL` for NaN."""
    if logprob != logprob:
        return NO_LEVEL
    p = math.exp(logprob) if -745 < logprob < 0.0 else (0.0 if logprob <= -745 else 1.0)  # exp(800) overflows
    for level, floor in enumerate(levels):
        if p >= floor:
            return level
    return len(levels)


class TokenSpans:
    """The display ``(start, end)`` of each token and its level; grows with the candidate."""

    __slots__ = ("_ends", "_last_cr", "_levels", "_thresholds", "_width")

    def __init__(self, thresholds: Sequence[float], *, tab_size: int) -> None:
        self._thresholds = tuple(thresholds)
        self._width = tab_size
        self._ends = array("q")  # display end offset of each token
        self._levels = array("b")
        self._last_cr = False  # the last token's raw text ends with "\r" (a "\n" next joins it)

    def __len__(self) -> int:
        return len(self._ends)

    @property
    def end(self) -> int:
        """Where the last token ends in the displayed text (0 without tokens)."""
        return self._ends[-1] if self._ends else 0

    def clear(self) -> None:
        self._ends = array("q")
        self._levels = array("b")
        self._last_cr = False

    def sync(self, texts: Sequence[str], logprobs: Sequence[float]) -> bool:
        """Take the tokens beyond those already taken; False when there were none."""
        count = len(self._ends)
        if len(texts) <= count:
            return False
        end = self.end
        ends, levels, thresholds, tab = self._ends, self._levels, self._thresholds, self._width
        last_cr = self._last_cr
        for i in range(count, len(texts)):
            piece = texts[i]
            if last_cr and piece.startswith("\n") and ends:
                # "\r\n" is shown as one "\n": the "\r" stand-in goes (with the empty tokens after it).
                j = len(ends) - 1
                while j >= 0 and ends[j] == end:
                    ends[j] -= 1
                    j -= 1
                end -= 1
            end += len(make_inert(piece, tab_size=tab)) if piece else 0
            ends.append(end)
            levels.append(probability_level(logprobs[i], thresholds))
            if piece:
                last_cr = piece.endswith("\r")
        self._last_cr = last_cr
        return True

    def span(self, index: int) -> tuple[int, int]:
        """``(start, end)`` of token ``index`` in the displayed text."""
        return (self._ends[index - 1] if index else 0), self._ends[index]

    def level(self, index: int) -> int:
        return self._levels[index]

    def index_at(self, offset: int) -> int | None:
        """The token holding displayed character ``offset`` (None past the tokens); a token
        with no text (end of sequence) is never the one."""
        if offset < 0 or offset >= self.end:
            return None
        return bisect_right(self._ends, offset)

    def cuts(self, start: int, end: int) -> list[int]:
        """Token boundaries strictly inside ``(start, end)``."""
        ends = self._ends
        first = bisect_right(ends, start)
        out: list[int] = []
        for i in range(first, len(ends)):
            cut = ends[i]
            if cut >= end:
                break
            if not out or out[-1] != cut:
                out.append(cut)
        return out
