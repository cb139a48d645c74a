"""A candidate panel's drawn rows, kept as finished strips (cropped to the width, styled).

A frame repaints every visible row of every panel that changed, so a row must be cheap:
rows are cached by what they show (:class:`RowKind` and offsets into the text), and the
styles are asked for only when a row is drawn anew.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum
from itertools import pairwise

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.cache import LRUCache
from textual.strip import Strip

from tui_client.ui.textual_compat import SideBorders
from tui_client.ui.widgets.candidates.token_spans import NO_LEVEL, TokenSpans

__all__ = ["FRAMED_SPARE", "STRIP_CACHE_SIZE", "RowCache", "RowKind", "marker_text"]

STRIP_CACHE_SIZE = 64
"""Rows kept per panel: a few screens' worth (more would only feed the garbage collector)."""

FRAMED_SPARE = 2
"""Framed rows kept beyond a screenful: those of the last paint, the text having moved a row or two."""


class RowKind(IntEnum):
    """What a row shows; the first item of its cache key. ``TEXT``, ``NOTICE`` and
    ``ERROR`` are also indices into the panel's ``(text, notice, error)`` styles."""

    TEXT = 0  # a line of the candidate's text: (TEXT, start, end)
    NOTICE = 1  # a line of the notice ("waiting for text…"): (NOTICE, start, end)
    ERROR = 2  # a line of an error notice: (ERROR, start, end)
    MARKER = 3  # the tails marker ("… 123 shared chars"): (MARKER, shared, -1)
    MARKED = 4  # a text line with divergence marks: (MARKED, start, end, dim, hi_start, hi_end)
    FORKED = 5  # a text line of a beam just taken over, new from ``fork`` on: (FORKED, start, end, fork)
    TOKENS = 6  # a text line cut at its tokens (probability view, inspector): see RowCache.tokens


# Module names for the members: an IntEnum attribute lookup costs more than a global.
_MARKER = RowKind.MARKER
_MARKED = RowKind.MARKED
_FORKED = RowKind.FORKED
_TOKENS = RowKind.TOKENS

Styles = tuple[Style, Style, Style]
Marks = tuple[Style, Style, Style, Style]  # shared, unique, tails marker, a beam's new text
TokenStyles = tuple[tuple[Style, ...], Style]  # a style per probability level, the token cursor's


def marker_text(shared: int) -> str:
    """The tails marker's line, which stands for the ``shared`` characters it hides."""
    return f"… {shared:,} shared char{'s' if shared != 1 else ''}" if shared else "… no shared prefix"


class RowCache:
    """Rows by key, rows joined with their scrollbar cell by ``(id(row), cell)``, and those
    between the panel's side borders by ``id(row with its cell)``.

    ``styles`` gives the ``(text, notice, error)`` styles, ``marks`` the ``(shared,
    unique, tails marker)`` ones and ``bar_cell`` a scrollbar cell: all are called only
    when a row is drawn anew (they may compute and cache in their turn).
    """

    __slots__ = ("_bar_cell", "_barred", "_framed", "_marks", "_rows", "_sides", "_styles", "_token_styles")

    def __init__(self, styles: Callable[[], Styles], marks: Callable[[], Marks],
                 bar_cell: Callable[[int], Strip], token_styles: Callable[[], TokenStyles] | None = None,
                 size: int = STRIP_CACHE_SIZE) -> None:
        self._rows: LRUCache[tuple[int, ...], Strip] = LRUCache(size)
        # The row is kept beside the joined strip, to check that the id is still its own.
        self._barred: LRUCache[tuple[int, int], tuple[Strip, Strip]] = LRUCache(size)
        self._framed: LRUCache[int, tuple[Strip, SideBorders, Strip]] = LRUCache(size)
        self._sides: SideBorders | None = None  # what the framed rows were framed by
        self._styles = styles
        self._marks = marks
        self._bar_cell = bar_cell
        self._token_styles = token_styles

    def clear(self) -> None:
        """Forget the rows (their text moved: a new text, width or notice)."""
        self._rows.clear()

    def clear_all(self) -> None:
        """Forget the rows, with their scrollbar cell and framed too (a new style)."""
        self._rows.clear()
        self._barred.clear()
        self._framed.clear()

    def plain(self, kind: int, start: int, end: int, text: str, width: int) -> Strip:
        """``text[start:end]`` in the style of ``kind`` (``TEXT``, ``NOTICE`` or ``ERROR``)."""
        key = (kind, start, end)
        strip = self._rows.get(key)
        if strip is None or strip.cell_length != width:
            style = self._styles()[kind]
            line = text[start:end]
            strip = Strip([Segment(line, style)], cell_len(line)).crop_extend(0, width, style)
            self._rows[key] = strip
        return strip

    def marker(self, shared: int, shown: int, width: int) -> Strip:
        """The tails marker for a shared prefix of ``shared`` characters (``shown`` of them in the text)."""
        key = (_MARKER, shared, -1)
        strip = self._rows.get(key)
        if strip is None or strip.cell_length != width:
            style = self._marks()[2]
            line = marker_text(shown)
            strip = Strip([Segment(line, style)], cell_len(line)).crop_extend(0, width, self._styles()[0])
            self._rows[key] = strip
        return strip

    def marked(self, start: int, end: int, dim: int, hi_start: int, hi_end: int, text: str, width: int) -> Strip:
        """``text[start:end]`` dimmed up to ``dim`` and highlighted in ``[hi_start, hi_end)``."""
        key = (_MARKED, start, end, dim, hi_start, hi_end)
        strip = self._rows.get(key)
        if strip is None or strip.cell_length != width:
            base = self._styles()[0]
            shared_style, unique_style, _, _ = self._marks()
            segments = []
            for a, b in pairwise(sorted({start, end, dim, hi_start, hi_end})):
                style = unique_style if hi_start <= a < hi_end else shared_style if a < dim else base
                segments.append(Segment(text[a:b], style))
            strip = Strip(segments, cell_len(text[start:end])).crop_extend(0, width, base)
            self._rows[key] = strip
        return strip

    def forked(self, start: int, end: int, fork: int, text: str, width: int) -> Strip:
        """``text[start:end]`` with the part from ``fork`` on in the new-beam style."""
        key = (_FORKED, start, end, fork)
        strip = self._rows.get(key)
        if strip is None or strip.cell_length != width:
            base, new = self._styles()[0], self._marks()[3]
            cut = min(max(fork, start), end)
            segments = [Segment(text[start:cut], base), Segment(text[cut:end], new)]
            strip = Strip([s for s in segments if s.text], cell_len(text[start:end])).crop_extend(0, width, base)
            self._rows[key] = strip
        return strip

    def tokens(self, start: int, end: int, text: str, width: int, spans: TokenSpans, marks: tuple[int, int, int],
               cursor: tuple[int, int] | None, *, shading: bool) -> Strip:
        """``text[start:end]`` cut at its tokens: each one's shade by its level (``shading``),
        dimmed up to ``marks[0]`` and highlighted in ``marks[1:]`` (see :meth:`marked`), the
        token at ``cursor`` (its span) in the cursor's style. Neighbouring tokens drawn alike
        are one segment (the compositor pays per segment, each frame the row is painted).
        Cached by what the row shows: the tokens it has, and their levels, never change once
        they have arrived."""
        dim, hi_start, hi_end = marks
        cursor_start = cursor_end = start
        if cursor is not None:
            cursor_start, cursor_end = min(max(cursor[0], start), end), min(max(cursor[1], start), end)
        covered = min(spans.end, end)
        key = (_TOKENS, start, end, covered, dim, hi_start, hi_end, cursor_start, cursor_end, shading)
        strip = self._rows.get(key)
        if strip is not None and strip.cell_length == width:
            return strip
        assert self._token_styles is not None
        base = self._styles()[0]
        level_styles, cursor_style = self._token_styles()
        shades = level_styles if shading else None
        shared, unique = self._marks()[:2]
        dim_color = Style(color=shared.color)
        cuts = sorted({start, end, dim, hi_start, hi_end, cursor_start, cursor_end, covered, *spans.cuts(start, covered)})
        segments: list[Segment] = []
        index_at, level_of = spans.index_at, spans.level
        for a, b in pairwise(cuts):
            style = base
            if shades is not None and a < covered:
                level = level_of(index_at(a))  # type: ignore[arg-type]
                if level != NO_LEVEL:
                    style = shades[level]
            if hi_start <= a < hi_end:
                style = unique
            elif a < dim:
                style = style + dim_color
            if cursor_start <= a < cursor_end:
                style = style + cursor_style
            if segments and segments[-1][1] is style:
                segments[-1] = Segment(segments[-1][0] + text[a:b], style)
            else:
                segments.append(Segment(text[a:b], style))
        strip = Strip(segments, cell_len(text[start:end])).crop_extend(0, width, base)
        self._rows[key] = strip
        return strip

    def with_bar(self, row: Strip, cell: int) -> Strip:
        """``row`` with scrollbar cell ``cell`` (see :class:`~.scrollbar.BarCell`) on its right."""
        key = (id(row), cell)
        cached = self._barred.get(key)
        if cached is not None and cached[0] is row:
            return cached[1]
        strip = Strip.join([row, self._bar_cell(cell)])
        self._barred[key] = (row, strip)
        return strip

    def framed(self, row: Strip, sides: SideBorders) -> Strip:
        """``row`` (with its scrollbar cell) between the panel's side borders. Only about a
        screen of them is kept (framing is cheap; a row scrolled back is framed again)."""
        if sides is not self._sides:
            self._sides = sides
            self._framed.maxsize = sides.content_height + FRAMED_SPARE
        cached = self._framed.get(id(row))
        if cached is not None and cached[0] is row and cached[1] is sides:
            return cached[2]
        strip = sides.frame(row)
        self._framed[id(row)] = (row, sides, strip)
        return strip
