"""Greedy word wrap of a growing text, re-wrapping only its last line on each append.

Streaming text only grows at its end. Greedy wrapping is memoryless: where a line
breaks depends only on the text from that line's start on. So when text is
appended, every line but the last stays as it is, and only the last line (plus
what was appended) has to be wrapped again. A frame then costs the size of the
delta, not of the whole text, and the whole text is always ready for scrolling.

Lines are kept as ``(start, end)`` offsets into :attr:`WrappedLines.text`;
``end`` includes the spaces a soft break swallowed (a renderer crops each line to
the width). Widths are terminal cells (CJK and emoji take two).
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_right

from rich.cells import cell_len, chop_cells

__all__ = ["WrappedLines"]

# A word with the spaces before it (only at a paragraph's start: indentation) and after it.
_WORD = re.compile(r"( *[^ ]+)( *)")


class WrappedLines:
    """The lines of ``text`` wrapped to ``width`` cells; cheap to extend at the end."""

    __slots__ = ("_ends", "_starts", "text", "width")

    def __init__(self, width: int, text: str = "") -> None:
        self.width = max(1, width)
        self.text = ""
        # Offsets as machine integers: far smaller than lists of int objects.
        self._starts = array("q")
        self._ends = array("q")
        if text:
            self.set_text(text)

    def __len__(self) -> int:
        return len(self._starts)

    def line(self, index: int) -> str:
        """Line ``index`` (may carry trailing spaces beyond the width)."""
        return self.text[self._starts[index] : self._ends[index]]

    def span(self, index: int) -> tuple[int, int]:
        """``(start, end)`` of line ``index`` in :attr:`text`."""
        return self._starts[index], self._ends[index]

    def line_at(self, offset: int) -> int:
        """The index of the line holding character ``offset`` (0 when there are no lines)."""
        return max(bisect_right(self._starts, offset) - 1, 0)

    def lines(self) -> list[str]:
        return [self.line(i) for i in range(len(self))]

    def set_width(self, width: int) -> bool:
        """Re-wrap everything for a new width; False when the width did not change."""
        width = max(1, width)
        if width == self.width:
            return False
        self.width = width
        self._rewrap_from_line(0)
        return True

    def set_text(self, text: str) -> None:
        """Show ``text``: wraps only the new part when ``text`` extends the current one."""
        if text == self.text and self._starts:
            return
        if self._starts and text.startswith(self.text):
            self.text = text
            self._rewrap_from_line(len(self._starts) - 1)
        else:
            self.text = text
            self._rewrap_from_line(0)

    def append(self, delta: str) -> None:
        if delta:
            self.set_text(self.text + delta)

    def _rewrap_from_line(self, index: int) -> None:
        """Drop lines from ``index`` on and wrap the text again from that line's start."""
        pos = self._starts[index] if index < len(self._starts) else 0
        del self._starts[index:]
        del self._ends[index:]
        text = self.text
        end = len(text)
        while True:
            newline = text.find("\n", pos)
            stop = end if newline == -1 else newline
            self._wrap_paragraph(pos, stop)
            if newline == -1:
                break
            pos = newline + 1

    def _wrap_paragraph(self, start: int, stop: int) -> None:
        """Append the lines of ``text[start:stop]`` (no newline inside)."""
        starts, ends = self._starts, self._ends
        text, width = self.text, self.width
        if start == stop:
            starts.append(start)
            ends.append(stop)
            return
        line_start = start
        used = 0  # cells on the current line, trailing spaces included
        for match in _WORD.finditer(text, start, stop):
            word_start, word_end = match.span(1)
            word = match.group(1)
            word_cells = len(word) if word.isascii() else cell_len(word)
            spaces = match.end(2) - word_end
            if used and used + word_cells > width:
                # Break before this word.
                starts.append(line_start)
                ends.append(word_start)
                line_start, used = word_start, 0
            if word_cells > width:
                # Longer than a line: fold it by cells; its remainder opens the next line.
                offset = word_start
                pieces = chop_cells(word, width) if not word.isascii() else _chop_ascii(word, width)
                for piece in pieces[:-1]:
                    starts.append(offset)
                    offset += len(piece)
                    ends.append(offset)
                line_start = offset
                last = pieces[-1]
                used = (len(last) if last.isascii() else cell_len(last)) + spaces
            else:
                used += word_cells + spaces
        # The last line of the paragraph (or a paragraph of spaces only).
        starts.append(line_start)
        ends.append(stop)


def _chop_ascii(word: str, width: int) -> list[str]:
    return [word[i : i + width] for i in range(0, len(word), width)]
