"""A candidate's confidence over its tokens as a sparkline: ``▇▇▆▃▇█▇▅``.

Each cell is the mean token probability (``exp(logprob)``; NaN tokens, which have none,
left out) of an equal share of the tokens, in order. Pure (no Textual). Prefix sums are
kept as tokens arrive: taking new tokens costs O(new tokens), drawing O(cells).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from tui_client.ui.rendering.tuning import SPARKLINE_MAX_CELLS, SPARKLINE_MIN_CELLS

BLOCKS = "▁▂▃▄▅▆▇█"
"""Probability 0 to 1 in eight steps, lowest first."""

NO_PROBABILITY = " "
"""A cell whose tokens all lack a logprob."""


def sparkline_cells(edge: int, title: int) -> int:
    """How many cells fit in a top border ``edge`` cells wide after a title ``title`` cells
    long and a space (Textual keeps a corner, a cell of edge and a blank at each end: 6 cells); 0 under the minimum."""
    cells = min(SPARKLINE_MAX_CELLS, edge - 6 - title - 1)
    return cells if cells >= SPARKLINE_MIN_CELLS else 0


def block(probability: float) -> str:
    """The cell for a mean probability in [0, 1]."""
    return BLOCKS[max(0, min(len(BLOCKS) - 1, int(probability * len(BLOCKS))))]


class ConfidenceSparkline:
    """Follows one candidate's ``token_logprobs`` (a list that only grows) and draws it."""

    def __init__(self) -> None:
        self._source: Sequence[float] | None = None
        self._sums = [0.0]  # _sums[k]: the probabilities of tokens 0..k-1 added up (NaN ones as 0)
        self._scored = [0]  # _scored[k]: how many of tokens 0..k-1 have a logprob
        self._drawn: tuple[int, int, str] = (0, 0, "")  # (tokens, cells, sparkline) last drawn

    def __len__(self) -> int:
        """The tokens taken so far."""
        return len(self._sums) - 1

    def clear(self) -> None:
        self._source = None
        del self._sums[1:], self._scored[1:]
        self._drawn = (0, 0, "")

    def update(self, logprobs: Sequence[float]) -> None:
        """Take the tokens added to ``logprobs`` since the last call (another list: start over)."""
        if logprobs is not self._source or len(logprobs) < len(self):
            self.clear()
            self._source = logprobs
        sums, scored = self._sums, self._scored
        total, count = sums[-1], scored[-1]
        exp = math.exp
        for value in logprobs[len(sums) - 1 :]:
            if value == value:  # not NaN
                total += exp(value) if value < 0.0 else 1.0  # above 0 (a broken server's): exp overflows
                count += 1
            sums.append(total)
            scored.append(count)

    def means(self, cells: int) -> list[float | None]:
        """The mean probability of each of ``cells`` equal shares of the tokens (fewer cells
        when there are fewer tokens; None: no token of the share has a logprob)."""
        n = len(self)
        cells = min(cells, n)
        sums, scored = self._sums, self._scored
        out: list[float | None] = []
        start = 0
        for j in range(1, cells + 1):
            end = j * n // cells
            count = scored[end] - scored[start]
            out.append((sums[end] - sums[start]) / count if count else None)
            start = end
        return out

    def draw(self, cells: int) -> str:
        """The sparkline, ``cells`` wide at most (empty without tokens)."""
        n = len(self)
        cells = min(cells, n)
        if (n, cells) == self._drawn[:2]:
            return self._drawn[2]
        sums, scored = self._sums, self._scored
        steps, top = len(BLOCKS), len(BLOCKS) - 1
        out: list[str] = []
        start = 0
        for j in range(1, cells + 1):  # (block() inlined: this runs for every panel drawn)
            end = j * n // cells
            count = scored[end] - scored[start]
            if count:
                level = int((sums[end] - sums[start]) / count * steps)
                out.append(BLOCKS[level if level < top else top])
            else:
                out.append(NO_PROBABILITY)
            start = end
        text = "".join(out)
        self._drawn = (n, cells, text)
        return text
