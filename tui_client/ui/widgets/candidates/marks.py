"""Where a panel's divergence marks fall in its displayed text and in each row (pure).

The app gives each panel two offsets into its displayed text: how much every candidate
shares (dimmed; the "tails" view hides the rows wholly inside it) and where this
candidate's unique word starts (highlighted). Marks are applied as rows are drawn, so
turning them on or moving them never re-wraps the text.
"""

from __future__ import annotations

from tui_client.core.text.divergence import word_end, word_start

__all__ = ["DivergenceMarks"]


class DivergenceMarks:
    """One panel's marks: ``shared`` and ``unique`` offsets, ``marking`` (dim and highlight)
    and ``tails`` (hide the shared rows); the snapped ends are cached per text length."""

    __slots__ = ("_snapped", "marking", "shared", "tails", "unique")

    def __init__(self) -> None:
        self.shared = 0
        self.unique: int | None = None
        self.marking = False
        self.tails = False
        self._snapped: tuple[int, ...] = (-1, -1, -1, 0, 0)  # (shared, unique, len) -> dim end, word end

    def set(self, shared: int, unique: int | None, *, marking: bool, tails: bool) -> bool:
        """Take new marks; False when nothing changed."""
        if (shared, unique, marking, tails) == (self.shared, self.unique, self.marking, self.tails):
            return False
        self.shared, self.unique, self.marking, self.tails = shared, unique, marking, tails
        return True

    def clear_offsets(self) -> None:
        """No shared prefix, no unique word (a new run); the view switches stay."""
        self.shared, self.unique = 0, None

    def shared_in(self, text: str) -> int:
        """The shared prefix's length, within ``text``."""
        return min(self.shared, len(text))

    def snap(self, text: str) -> tuple[int, int]:
        """(end of the dimmed prefix, end of the highlighted word): the prefix ends at a
        word start; the word runs to its end (a space or newline takes the next word along)."""
        shared, unique = min(self.shared, len(text)), self.unique
        key = (shared, -1 if unique is None else unique, len(text))
        if self._snapped[:3] != key:
            highlight_end = 0 if unique is None else word_end(text, unique)
            self._snapped = (*key, word_start(text, shared), highlight_end)
        return self._snapped[3], self._snapped[4]

    def unique_span(self, text: str) -> tuple[int, int] | None:
        """``(start, end)`` of the highlighted word in ``text``, when highlighted."""
        if not self.marking or self.unique is None or not text:
            return None
        return self.unique, self.snap(text)[1]

    def in_row(self, start: int, end: int, text: str) -> tuple[int, int, int]:
        """``(dim, hi_start, hi_end)`` for the row ``text[start:end]``: dimmed up to ``dim``,
        highlighted in ``[hi_start, hi_end)`` (``dim == start`` and an empty highlight: plain)."""
        dim_end, highlight_end = self.snap(text)
        dim = min(max(dim_end, start), end)
        hi_start = hi_end = start
        if self.marking and self.unique is not None:
            hi_start = min(max(self.unique, start), end)
            hi_end = min(max(highlight_end, start), end)
        return dim, hi_start, hi_end
