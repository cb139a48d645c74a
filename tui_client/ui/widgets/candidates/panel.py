"""One candidate's live text, drawn through the Line API: only the visible lines render.

The panel keeps the candidate's text wrapped incrementally (see
:class:`~tui_client.core.text.wrapping.WrappedLines`): each refresh wraps
only what arrived since the last one, and :meth:`render_line` builds strips for
the rows on screen. Model text is made inert (:func:`tui_client.core.text.inert_text.make_inert`)
and drawn as plain segments: it never goes through markup.

While streaming the panel follows the end of its text; scrolling up stops that,
scrolling back to the end (``end``) resumes it.

The panel draws its own scrollbar in the last column of every row (click or drag
it to scroll; the wheel and keys scroll as usual). Textual's scrollbar is a widget
of its own: showing it lays out the whole screen (the moment a panel's text first
overflows, often for every panel in the same frame), and each one costs about a
millisecond per repaint, which with 16 panels was half a frame.

Divergence (:meth:`CandidatePanel.set_divergence`): the app tells each panel how
much of its text every candidate shares and where this candidate's unique word
starts. Both are offsets into the displayed text, applied when a visible row is
rendered (the row cache is keyed by where the marks fall in the row), so turning
the marks on or moving them never re-wraps the text. In "tails" mode the rows
wholly inside the shared prefix are skipped and a one-line marker stands for them.
"""

from __future__ import annotations

from itertools import pairwise
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import BindingType
from textual.cache import LRUCache
from textual.color import Color
from textual.content import Content
from textual.css.query import NoMatches
from textual.dom import NoScreen
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from tui_client.core.protocol import Candidate, RunState, Status
from tui_client.core.text.divergence import MAX_WORD, word_start
from tui_client.core.text.inert_text import make_inert
from tui_client.core.text.wrapping import WrappedLines
from tui_client.ui.keys import bindings_for
from tui_client.ui.widgets.candidates.text_styles import PanelTextStyles

TAB_SIZE = 4

STRIP_CACHE_SIZE = 64
"""Rendered rows kept per panel: a few screens' worth (more would only feed the GC)."""

SCROLLBAR_WIDTH = 1
"""The column the panel draws its scrollbar in, right of the text (always there: the
text's width does not change when the scrollbar shows)."""

TRACK, THUMB, THUMB_ACTIVE = 0, 1, 2  # what the scrollbar column shows on a row

# What a panel shows, in words (:attr:`CandidatePanel.panel_state`).
WAITING = "waiting"
STREAMING = "streaming"
FINISHED = "finished"
CANCELLED = "cancelled"
FAILED = "failed"
MISSING = "missing"
PANEL_STATES = (WAITING, STREAMING, FINISHED, CANCELLED, FAILED, MISSING)

STATE_CLASSES = {WAITING: "-live", STREAMING: "-live", FINISHED: "-finished", CANCELLED: "-cancelled",
                 FAILED: "-failed", MISSING: "-missing"}
"""The CSS class a panel has in each state. Waiting and streaming look alike (the run is
live): the first text of a panel then changes no class, and a class change costs a
restyle, a layout of the screen and a repaint of every panel in view."""


def describe_finish(reason: str | None) -> str:
    return {"stop": "finished: stop", "length": "finished: length"}.get(reason or "", "finished: reason unknown")


def describe_candidate(cand: Candidate) -> str:
    """The status line: state, size, time to first text, speed."""
    parts: list[str] = []
    if cand.tokens is not None:
        parts.append(f"{cand.tokens:,} tok")
    elif cand.text:
        parts.append(f"{len(cand.text):,} chars")
    speed = cand.speed()
    if speed is not None:
        rate, unit = speed
        parts.append(f"{rate:,.0f} {unit}" if rate >= 100 else f"{rate:.1f} {unit}")
    if cand.first_text_at is not None:
        parts.append(f"first {cand.first_text_at:.2f} s")
    return " · ".join(parts)


class CandidatePanel(ScrollView, can_focus=True):
    """The text and status of one candidate, titled ``Candidate i`` (the server's index)."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_for("candidate")

    ALLOW_MAXIMIZE = True

    class Copied(Message):
        """The panel's text went to the clipboard."""

        def __init__(self, panel: CandidatePanel, chars: int) -> None:
            super().__init__()
            self.panel = panel
            self.chars = chars

    def __init__(self, index: int, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.index = index
        self.raw_text = ""
        """The candidate's text exactly as generated (what ``c`` copies)."""
        self.panel_state = WAITING
        self._wrapped = WrappedLines(40)
        self._notice: WrappedLines | None = None
        self._notice_kind = "notice"
        self._status_line = ""
        self._subtitle = ""  # the status line as shown in the border
        self._stale = False
        self._deferring = False  # show() off screen: the CSS state class waits too
        self._seen: tuple[object, ...] | None = None
        self._following = True
        self._quiet_scroll = False
        self._strips: LRUCache[tuple[int, ...], Strip] = LRUCache(STRIP_CACHE_SIZE)
        # Rows with their scrollbar cell: (row, bar) by (id(row), bar); the row is kept to check the id.
        self._barred: LRUCache[tuple[int, int], tuple[Strip, Strip]] = LRUCache(STRIP_CACHE_SIZE)
        self._styles: tuple[Style, Style, Style] | None = None
        self._bar_cells: tuple[Strip, Strip, Strip] | None = None
        self._base_style: Style | None = None  # the panel's text style the rows were drawn with
        self._texts_version = -1  # PanelTextStyles.version the rows were drawn with
        self._render_width = 40  # the text's columns (the scrollbar's is right of them)
        self._dragging: float | None = None  # the thumb row the pointer holds, while dragging
        self._lines_top: int | None = None  # while render_lines runs: the scroll offset
        self._lines_thumb: tuple[int, int] | None = None  # and the scrollbar's thumb
        self.staged = False
        """Laid out under the grid's hint before the first run: not focusable (see the grid)."""
        self._pristine: str | None = None  # the notice, while reset() left the panel as it is
        self.restyle_later: list[CandidatePanel] | None = None
        """Set by the grid while it shows a state: panels whose CSS state class changed go here."""
        # Divergence: offsets into the displayed text (see set_divergence).
        self._shared = 0
        self._unique: int | None = None
        self._marking = False
        self._tails = False
        self._snapped: tuple[int, ...] = (-1, -1, -1, 0, 0)  # (shared, unique, len) -> dim end, word end
        self._mark_styles: tuple[Style, Style, Style] | None = None
        self._texts: PanelTextStyles | None = None
        self.border_title = Content(f"Candidate {index}")
        self._set_state(WAITING)
        self._set_notice("waiting for text…")

    # -- what to show -------------------------------------------------------------

    @property
    def following(self) -> bool:
        """True while the panel sticks to the end of its text."""
        return self._following

    @property
    def status_line(self) -> str:
        return self._status_line

    @property
    def display_text(self) -> str:
        """The text as drawn: :attr:`raw_text` made inert, tabs expanded."""
        return self._wrapped.text if self.raw_text else ""

    def visible_lines(self) -> list[str]:
        """The rows on screen now, as plain text (right spaces stripped)."""
        top = self.scroll_offset.y
        return [self._row_at(top + y).text.rstrip() for y in range(self.scrollable_content_region.height)]

    @property
    def shown_lines(self) -> list[str]:
        """Every line the panel would show, text then notice (for tests and tools)."""
        lines = self._wrapped.lines() if self.raw_text else []
        first, marker = self._text_rows()
        if marker:
            lines = [self._marker_text(), *lines[first:]]
        if self._notice is not None:
            if lines:
                lines.append("")
            lines += self._notice.lines()
        return lines

    @property
    def divergence_marks(self) -> tuple[int, int | None]:
        """``(shared, unique)``: the shared prefix length and where the unique word starts."""
        return self._shared, self._unique

    def unique_span(self) -> tuple[int, int] | None:
        """``(start, end)`` of the highlighted word in :attr:`display_text`, when highlighted."""
        if not self._marking or self._unique is None or not self.raw_text:
            return None
        return self._unique, self._snap()[1]

    def set_divergence(self, shared: int, unique: int | None, *, marking: bool, tails: bool) -> bool:
        """Dim ``shared`` characters and highlight the word at ``unique`` (``marking``);
        skip the rows of the shared prefix (``tails``). False when nothing changed."""
        if (shared, unique, marking, tails) == (self._shared, self._unique, self._marking, self._tails):
            return False
        self._shared, self._unique, self._marking, self._tails = shared, unique, marking, tails
        self._pristine = None
        self._update_size()
        self.refresh()
        return True

    def allow_focus(self) -> bool:
        return not self.staged and super().allow_focus()

    def reset(self, notice: str = "waiting for text…") -> None:
        """Empty the panel for a new run (nothing to do, and nothing repainted, when it is
        as the last reset left it)."""
        if self._pristine == notice and self.scroll_offset.y == 0:
            return
        self.raw_text = ""
        self._shared, self._unique = 0, None
        self._wrapped.set_text("")
        self._seen = None
        self._following = True
        self._strips.clear()
        self._set_state(WAITING)
        self._set_notice(notice)
        self._set_status_line("waiting…")
        self._sync_widget()
        self._scroll_quietly(0)
        self._pristine = notice

    def show(self, cand: Candidate | None, run: RunState, *, on_screen: bool = True) -> bool:
        """Draw ``cand`` (None: the server sent nothing for this index yet); False if unchanged.

        Otherwise (``on_screen`` False: scrolled out of the grid, or left for a later
        frame) only the panel's text and state are brought up to date, which is cheap;
        its size, scroll position, status line and state colours (Textual's bookkeeping
        and the repaint, most of a panel's cost) wait for :meth:`catch_up` or the next
        :meth:`show` on screen.
        """
        error = run.error if run.status is Status.FAILED else None
        if cand is None:
            key: tuple[object, ...] = (None, run.status, error)
        else:
            key = (cand.text, cand.status, cand.tokens, cand.finish_reason, cand.last_text_at, error)
        seen = self._seen
        if seen is not None and len(seen) == len(key) and all(a is b or a == b for a, b in zip(seen, key)):
            return self.catch_up() if on_screen else False
        self._seen = key
        self._pristine = None
        self._deferring = not on_screen
        try:
            if cand is None:
                self._show_missing(run, error)
            else:
                self._show_candidate(cand, error)
        finally:
            self._deferring = False
        if on_screen:
            self._sync_widget()
        else:
            self._stale = True
        return True

    @property
    def stale(self) -> bool:
        """True when the text moved on while the panel was off screen (see :meth:`catch_up`)."""
        return self._stale

    def catch_up(self) -> bool:
        """Bring the widget up to its text (after :meth:`show` off screen); False if it was."""
        if not self._stale:
            return False
        self._sync_widget()
        return True

    def _sync_widget(self) -> None:
        self._stale = False
        self.apply_state_class()
        if self._subtitle != self._status_line:
            self._subtitle = self._status_line
            self.border_subtitle = Content(self._status_line)
        self._update_size()
        self.refresh()

    def _show_candidate(self, cand: Candidate, error: object) -> None:
        text = cand.text
        if text and not self.raw_text and cand.status.done:
            # All the text at once (not streamed): read it from the top.
            self._following = False
        if text is not self.raw_text:
            if text.startswith(self.raw_text) and not self.raw_text.endswith("\r"):
                added = text[len(self.raw_text) :]
                delta = make_inert(added, tab_size=TAB_SIZE)
                if delta is added and self._wrapped.text is self.raw_text:
                    shown = text  # nothing made inert so far: show the candidate's own string, not a copy
                else:
                    shown = self._wrapped.text + delta if self.raw_text else delta
                self._wrapped.set_text(shown)
            else:
                self._wrapped.set_text(make_inert(text, tab_size=TAB_SIZE))
            self.raw_text = text
        status = cand.status
        details = describe_candidate(cand)
        if status is Status.WAITING:
            state, label, notice = WAITING, "waiting…", "waiting for text…"
        elif status is Status.STREAMING:
            state, label, notice = STREAMING, "streaming", None
        elif status is Status.FINISHED:
            state, label, notice = FINISHED, describe_finish(cand.finish_reason), None
            if not text:
                notice = "(the candidate is empty)"
        elif status is Status.CANCELLED:
            state, label, notice = CANCELLED, "cancelled", "cancelled" if not text else None
        else:
            state, label = FAILED, "error"
            notice = f"error: {error}" if error is not None else "error"
        if state == STREAMING and not self._following:
            label += " · scrolled (end: follow)"
        self._set_state(state)
        self._set_notice(notice, "error" if state == FAILED else "notice")
        self._set_status_line(f"{label} · {details}" if details else label)

    def _show_missing(self, run: RunState, error: object) -> None:
        if not run.status.done:
            state, label, notice = WAITING, "waiting…", "waiting for text…"
        elif run.status is Status.FAILED:
            state, label, notice = FAILED, "error", f"error: {error}" if error is not None else "error"
        elif run.status is Status.CANCELLED:
            state, label, notice = CANCELLED, "cancelled", "cancelled before any text arrived"
        else:
            state, label, notice = MISSING, "no answer", "the server returned nothing for this candidate"
        self._set_state(state)
        self._set_notice(notice, "error" if state == FAILED else "notice")
        self._set_status_line(label)

    def _set_state(self, state: str) -> None:
        self.panel_state = state
        if not self._deferring:
            self.apply_state_class()

    def apply_state_class(self) -> None:
        """Give the panel the CSS class of :attr:`panel_state` (see :data:`STATE_CLASSES`)."""
        wanted = STATE_CLASSES[self.panel_state]
        if not self.has_class(wanted):
            # One restyle, not two, and none when the grid restyles its panels in one go
            # (:attr:`restyle_later`): restyling is the costly part (~2 ms a panel).
            self.remove_class(*(c for c in set(STATE_CLASSES.values()) if c != wanted), update=False)
            self.add_class(wanted, update=False)
            if self.restyle_later is not None:
                self.restyle_later.append(self)
            elif self.is_attached:  # else mounting styles it
                self.update_node_styles()

    def _set_notice(self, notice: str | None, kind: str = "notice") -> None:
        if notice is None:
            if self._notice is not None:
                self._notice = None
                self._strips.clear()
            return
        notice = make_inert(notice, tab_size=TAB_SIZE)
        if self._notice is None or self._notice.text != notice or self._notice_kind != kind:
            self._notice = WrappedLines(self._wrapped.width, notice)
            self._notice_kind = kind
            self._strips.clear()

    def _set_status_line(self, line: str) -> None:
        self._status_line = line  # shown by _sync_widget

    # -- layout and scrolling ---------------------------------------------------------

    def _text_width(self) -> int:
        return max(8, self.scrollable_content_region.width - SCROLLBAR_WIDTH)

    def _text_rows(self) -> tuple[int, int]:
        """``(first, marker)``: the first text line shown and the rows above it (the tails marker)."""
        if not (self._tails and self.raw_text):
            return 0, 0
        return self._wrapped.line_at(min(self._shared, len(self._wrapped.text))), 1

    def _line_count(self) -> int:
        first, marker = self._text_rows()
        count = len(self._wrapped) - first + marker if self.raw_text else 0
        if self._notice is not None:
            count += len(self._notice) + (1 if count else 0)
        return count

    def _update_size(self) -> None:
        size = Size(self._wrapped.width, self._line_count())
        if size != self.virtual_size:
            # Not ``self.virtual_size = size``: that reactive lays out the whole screen
            # (every panel, every frame). The panel's own box does not change when its
            # text grows, and the panel draws its scrollbar itself.
            self.set_reactive(Widget.virtual_size, size)
            self._scroll_update(size)
            self.refresh()
        if self._following:
            self._follow_end()

    def _follow_end(self) -> None:
        if self._following and self.scroll_y != self.max_scroll_y:
            self._scroll_quietly(self.max_scroll_y)

    def _scroll_quietly(self, y: int) -> None:
        """Scroll for the panel's own reasons (not the user's): ``following`` stays as is."""
        self._quiet_scroll = True
        try:
            # force: overflow-y is hidden (the panel scrolls itself, whatever allow_vertical_scroll says).
            self.scroll_to(y=y, animate=False, immediate=True, force=True)
        finally:
            self._quiet_scroll = False

    def on_resize(self) -> None:
        self._render_width = max(1, self.scrollable_content_region.width - SCROLLBAR_WIDTH)
        width = self._text_width()
        if self._wrapped.set_width(width):
            self._strips.clear()
            if self._notice is not None:
                self._notice.set_width(width)
        self._update_size()
        # The new size is only final after this layout pass: stick to the end then too.
        self.call_after_refresh(self._follow_end)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self._quiet_scroll:
            return
        following = round(new_value) >= self.max_scroll_y
        if following != self._following:
            self._following = following
            self._seen = None  # the status line says whether we follow

    def _stop_following(self) -> None:
        """The user scrolls up: stay where they go, even as text keeps arriving."""
        if self._following and self.max_scroll_y > 0:
            self._following = False
            self._seen = None

    def action_scroll_home(self) -> None:
        self._stop_following()
        self._scroll_quietly(0)

    def action_scroll_up(self) -> None:
        self._stop_following()
        super().action_scroll_up()

    def action_page_up(self) -> None:
        self._stop_following()
        super().action_page_up()

    def on_mouse_scroll_up(self) -> None:
        self._stop_following()

    @property
    def allow_vertical_scroll(self) -> bool:
        # overflow-y is hidden (the panel draws its scrollbar): scroll when the text is longer.
        return not self._check_disabled() and self.max_scroll_y > 0

    # -- the scrollbar ------------------------------------------------------------------

    def _thumb(self) -> tuple[int, int] | None:
        """The rows ``(start, end)`` of the scrollbar's thumb; None when the text fits."""
        height = self.scrollable_content_region.height
        total = self.virtual_size.height
        if height <= 0 or total <= height:
            return None
        size = max(1, round(height * height / total))
        top = round((height - size) * min(1.0, self.scroll_offset.y / (total - height)))
        return top, top + size

    def on_mouse_down(self, event: events.MouseDown) -> None:
        offset = event.get_content_offset(self)
        thumb = self._thumb()
        if offset is None or offset.x < self._render_width or thumb is None:
            return
        # Hold the thumb where it was grabbed; a click on the track centres it there.
        self._dragging = offset.y - thumb[0] if thumb[0] <= offset.y < thumb[1] else (thumb[1] - thumb[0]) / 2
        self.capture_mouse()
        self._drag_to(offset.y)
        self.refresh()
        event.stop()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if self._dragging is not None:
            self._drag_to(event.get_content_offset_capture(self).y)
            event.stop()

    def on_mouse_up(self, event: events.MouseUp) -> None:
        if self._dragging is not None:
            self.release_mouse()
            event.stop()

    def on_mouse_release(self) -> None:
        if self._dragging is not None:
            self._dragging = None
            self.refresh()

    def _drag_to(self, row: int) -> None:
        """Scroll so that the held row of the thumb is at ``row``."""
        thumb = self._thumb()
        if thumb is None or self._dragging is None:
            return
        span = self.scrollable_content_region.height - (thumb[1] - thumb[0])
        top = min(max(row - self._dragging, 0), span)
        # Not quiet: the user scrolls (at the end the panel follows the text again).
        self.scroll_to(y=round(self.max_scroll_y * top / span) if span > 0 else 0, animate=False, immediate=True)

    def action_follow(self) -> None:
        self._following = True
        self._seen = None
        self._follow_end()

    def action_neighbour(self, step: int) -> None:
        if step > 0:
            self.screen.focus_next(CandidatePanel)
        else:
            self.screen.focus_previous(CandidatePanel)

    def action_toggle_maximize(self) -> None:
        if self.is_maximized:
            self.screen.minimize()
        else:
            self.screen.maximize(self, container=False)

    def action_copy(self) -> None:
        if not self.raw_text:
            self.notify(f"Candidate {self.index} has no text to copy", severity="warning", markup=False)
            return
        self.app.copy_to_clipboard(self.raw_text)
        self.notify(f"Copied candidate {self.index} ({len(self.raw_text):,} characters)", markup=False)
        self.post_message(self.Copied(self, len(self.raw_text)))

    # -- rendering ----------------------------------------------------------------------
    # A frame repaints every visible row of every panel that changed, so a row must be
    # cheap: rows are cached as finished strips (cropped to the width, styled), keyed by
    # where they are in the text; styles and width are looked up once, not per row.

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._bar_cells = None  # the scrollbar's colours: three cells, rebuilt when drawn
        # A state class changes the border only: the rows stay as they are (rebuilding
        # every row on screen was most of a run's final frame). The theme, or the tint
        # of focus, changes the text's own style: then they are drawn again.
        base = self.rich_style
        if base != self._base_style:
            self._base_style = base
            self._forget_rows()

    def _forget_rows(self) -> None:
        """Drop the rendered rows and the styles they were drawn with."""
        self._strips.clear()
        self._barred.clear()
        self._styles = None
        self._mark_styles = None

    def _bar_cell(self, bar: int) -> Strip:
        """The scrollbar's cell on a row: track (the panel's own background), thumb, or
        thumb while dragged, in the panel's ``scrollbar-color`` (and ``-active``)."""
        if self._bar_cells is None:
            base = self._row_styles()[0]
            back = Color.from_rich_color(base.bgcolor) if base.bgcolor is not None else self.background_colors[1]
            styles = self.styles
            self._bar_cells = (
                Strip.blank(SCROLLBAR_WIDTH, base),
                Strip.blank(SCROLLBAR_WIDTH, base + Style(bgcolor=(back + styles.scrollbar_color).rich_color)),
                Strip.blank(SCROLLBAR_WIDTH, base + Style(bgcolor=(back + styles.scrollbar_color_active).rich_color)),
            )
        return self._bar_cells[bar]

    def _row_styles(self) -> tuple[Style, Style, Style]:
        """(text, notice, error) styles, computed once per style change."""
        if self._styles is None:
            self._styles = (
                self.rich_style,
                self._component_style("candidate-panel--notice"),
                self._component_style("candidate-panel--error"),
            )
        return self._styles

    def _component_style(self, name: str) -> Style:
        """The panel's style with text style ``name`` (see :class:`PanelTextStyles`) on top; a
        translucent colour (``$text-muted``) is blended over the background (a partial Rich
        style would drop its alpha: full white)."""
        base = self.rich_style
        texts = self._text_styles()
        if texts is None:
            return base
        style = base + texts.get_component_rich_style(name, partial=True)
        styles = texts.get_component_styles(name)
        if styles.color.a < 1 and base.bgcolor is not None and styles.has_rule("color"):
            style += Style(color=(Color.from_rich_color(base.bgcolor) + styles.color).rich_color)
        return style

    def _text_styles(self) -> PanelTextStyles | None:
        """The widget that holds the panels' text styles (the grid has one)."""
        if self._texts is None or not self._texts.is_attached:
            try:
                self._texts = self.screen.query_one(PanelTextStyles)
            except (NoScreen, NoMatches):  # not on a screen with a grid: plain text
                return None
        return self._texts

    def _divergence_styles(self) -> tuple[Style, Style, Style]:
        """(shared, unique, tails marker) styles, computed once per style change."""
        if self._mark_styles is None:
            shared, unique, marker = (
                self._component_style(name)
                for name in ("candidate-panel--shared", "candidate-panel--unique", "candidate-panel--tails-marker")
            )
            self._mark_styles = (shared, unique, marker)
        return self._mark_styles

    def _snap(self) -> tuple[int, int]:
        """(end of the dimmed prefix, end of the highlighted word): the prefix ends at a
        word start; the word runs to its end (a space or newline takes the next word along)."""
        text = self._wrapped.text
        shared, unique = min(self._shared, len(text)), self._unique
        key = (shared, -1 if unique is None else unique, len(text))
        if self._snapped[:3] != key:
            dim_end = word_start(text, shared)
            word_end = 0
            if unique is not None:
                word_end, limit = unique, min(len(text), unique + MAX_WORD)
                if word_end < limit and not _is_word(text[word_end]):
                    word_end += 1
                    if not text[word_end - 1].isspace():
                        limit = word_end  # punctuation: that character alone
                while word_end < limit and _is_word(text[word_end]):
                    word_end += 1
            self._snapped = (*key, dim_end, word_end)
        return self._snapped[3], self._snapped[4]

    def _marker_text(self) -> str:
        shared = min(self._shared, len(self._wrapped.text))
        return f"… {shared:,} shared chars" if shared else "… no shared prefix"

    def _marked_strip(self, start: int, end: int, width: int) -> Strip:
        """A text row with the shared prefix dimmed and the unique word highlighted."""
        dim_end, word_end = self._snap()
        dim = min(max(dim_end, start), end)
        hi_start = hi_end = start
        if self._marking and self._unique is not None:
            hi_start = min(max(self._unique, start), end)
            hi_end = min(max(word_end, start), end)
        if dim == start and hi_start == hi_end:
            return self._strip(0, start, end, self._wrapped.text, width)
        key = (start, end, dim, hi_start, hi_end)
        strip = self._strips.get(key)
        if strip is None or strip.cell_length != width:
            text, base = self._wrapped.text, self._row_styles()[0]
            shared_style, unique_style, _ = self._divergence_styles()
            cuts = sorted({start, end, dim, hi_start, hi_end})
            segments = []
            for a, b in pairwise(cuts):
                style = unique_style if hi_start <= a < hi_end else shared_style if a < dim else base
                segments.append(Segment(text[a:b], style))
            strip = Strip(segments, cell_len(text[start:end])).crop_extend(0, width, base)
            self._strips[key] = strip
        return strip

    def render_lines(self, crop: Region) -> list[Strip]:
        # What every row needs, looked up once for all of them (each costs a walk up the DOM).
        texts = self._text_styles()
        if texts is not None and texts.version != self._texts_version:
            self._texts_version = texts.version  # the shared text styles changed (the theme)
            self._forget_rows()
        self._lines_thumb = self._thumb()
        self._lines_top = self.scroll_offset.y
        try:
            return super().render_lines(crop)
        finally:
            self._lines_thumb = self._lines_top = None

    def render_line(self, y: int) -> Strip:
        top, thumb = self._lines_top, self._lines_thumb
        if top is None:  # called on its own, not for render_lines
            top, thumb = self.scroll_offset.y, self._thumb()
        row = self._row_at(top + y)
        bar = TRACK
        if thumb is not None and thumb[0] <= y < thumb[1]:
            bar = THUMB if self._dragging is None else THUMB_ACTIVE
        key = (id(row), bar)
        cached = self._barred.get(key)
        if cached is not None and cached[0] is row:
            return cached[1]
        strip = Strip.join([row, self._bar_cell(bar)])
        self._barred[key] = (row, strip)
        return strip

    def _row_at(self, index: int) -> Strip:
        """Row ``index`` of the panel's content (0 is the top of the text), as drawn."""
        width = self._render_width
        text_lines = 0
        if self.raw_text:
            first, marker = self._text_rows()
            text_lines = len(self._wrapped) - first + marker
            if index < marker:
                key = (3, self._shared, -1)
                strip = self._strips.get(key)
                if strip is None or strip.cell_length != width:
                    style = self._divergence_styles()[2]
                    line = self._marker_text()
                    strip = Strip([Segment(line, style)], cell_len(line)).crop_extend(0, width, self._row_styles()[0])
                    self._strips[key] = strip
                return strip
            if index < text_lines:
                start, end = self._wrapped.span(index - marker + first)
                if self._marking or marker:
                    return self._marked_strip(start, end, width)
                return self._strip(0, start, end, self._wrapped.text, width)
        notice = self._notice
        if notice is not None:
            notice_index = index - text_lines - (1 if text_lines else 0)
            if 0 <= notice_index < len(notice):
                start, end = notice.span(notice_index)
                return self._strip(1 if self._notice_kind == "notice" else 2, start, end, notice.text, width)
        return Strip.blank(width, self._row_styles()[0])

    def _strip(self, source: int, start: int, end: int, text: str, width: int) -> Strip:
        key = (source, start, end)
        strip = self._strips.get(key)
        if strip is None or strip.cell_length != width:
            style = self._row_styles()[source]
            line = text[start:end]
            strip = Strip([Segment(line, style)], cell_len(line)).crop_extend(0, width, style)
            self._strips[key] = strip
        return strip


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"
