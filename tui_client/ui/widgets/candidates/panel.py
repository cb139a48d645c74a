"""One candidate's live text, drawn through the Line API: only the visible rows render.

The text is wrapped incrementally (:class:`~tui_client.core.text.wrapping.WrappedLines`),
made inert (:func:`~tui_client.core.text.inert_text.make_inert`) and drawn as plain
segments, never markup. What the panel says (state, status line, notice) comes from
:mod:`.panel_view`; drawn rows are kept in a :class:`.row_cache.RowCache`; the panel
draws its own scrollbar (:mod:`.scrollbar`) in its last column.

While streaming the panel follows the end of its text; scrolling up stops that,
``end`` resumes it. Divergence marks (:meth:`CandidatePanel.set_divergence`,
:mod:`.marks`) are applied as rows are drawn: they never re-wrap the text.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.style import Style
from textual import events
from textual.binding import BindingType
from textual.content import Content
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.timer import Timer

from tui_client.core.protocol import Candidate, RunState, Status
from tui_client.core.text.inert_text import make_inert
from tui_client.core.text.wrapping import WrappedLines
from tui_client.core.text.wording import count_of
from tui_client.ui.keys import bindings_for
from tui_client.ui.rendering.tuning import FORK_FLASH, PROBABILITY_LEVELS
from tui_client.ui.textual_compat import is_disabled, set_virtual_size_quietly, use_side_border_cache
from tui_client.ui.widgets.candidates.marks import DivergenceMarks
from tui_client.ui.widgets.candidates.panel_view import (
    CANCELLED,
    FAILED,
    FINISHED,
    MISSING,
    STATE_CLASSES,
    WAITING,
    WAITING_NOTICE,
    PanelView,
    view_candidate,
    view_missing,
)
from tui_client.ui.widgets.candidates.row_cache import RowCache, RowKind, marker_text
from tui_client.ui.widgets.candidates.scrollbar import (
    SCROLLBAR_WIDTH,
    BarCell,
    ScrollbarDrag,
    thumb_rows,
)
from tui_client.ui.widgets.candidates.sparkline import ConfidenceSparkline, sparkline_cells
from tui_client.ui.widgets.candidates.text_styles import PanelLook
from tui_client.ui.widgets.candidates.token_spans import TokenSpans

__all__ = ["CANCELLED", "FAILED", "FINISHED", "MISSING", "CandidatePanel"]  # the states: see panel_view

TAB_SIZE = 4

# Module names for the enum members used per row (a global is cheaper than an attribute).
_TEXT, _NOTICE, _ERROR, _TOKENS = RowKind.TEXT, RowKind.NOTICE, RowKind.ERROR, RowKind.TOKENS
_TRACK, _THUMB, _THUMB_ACTIVE = BarCell.TRACK, BarCell.THUMB, BarCell.THUMB_ACTIVE


class CandidatePanel(ScrollView, can_focus=True):
    """The text and status of one candidate, titled ``Candidate i`` (the server's index)."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_for("candidate")

    ALLOW_MAXIMIZE = True

    DEFAULT_CSS = Path(__file__).with_name("panel.tcss").read_text()

    class TokenCursor(Message):
        """The token cursor opened, moved or closed (:attr:`CandidatePanel.token_cursor`)."""

        def __init__(self, panel: CandidatePanel) -> None:
            super().__init__()
            self.panel = panel

    class GoOn(Message):
        """Go on from this candidate: continue its text (``fork`` False) or fork it at the token
        cursor with the alternative the inspector has picked."""

        def __init__(self, panel: CandidatePanel, *, fork: bool) -> None:
            super().__init__()
            self.panel = panel
            self.fork = fork

    class PickAlternative(Message):
        """Pick the next (``step`` 1) or previous alternative of the token under the cursor."""

        def __init__(self, panel: CandidatePanel, step: int) -> None:
            super().__init__()
            self.panel = panel
            self.step = step

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
        self._sync_pending = False  # show() off screen: size, status line and state class wait
        self._shown_key: tuple[object, ...] | None = None  # what the last show() drew (None: draw again)
        self._following = True
        self._quiet_scroll = False
        self._look = PanelLook(self)
        self._rows = RowCache(self._look.rows, self._look.marks, self._look.bar_cell, self._look.token_styles)
        use_side_border_cache(self, self._rows.framed)  # rows between the side borders, from the row cache
        self._render_width = 40  # the text's columns (the scrollbar's is right of them)
        self._drag = ScrollbarDrag()
        self._lines_top: int | None = None  # while render_lines runs: the scroll offset
        self._lines_thumb: tuple[int, int] | None = None  # and the scrollbar's thumb
        self.staged = False
        """Laid out under the grid's hint before the first run: not focusable (see the grid)."""
        self._reset_notice: str | None = None  # the notice, while reset() left the panel as it is
        self._marks = DivergenceMarks()  # offsets into the displayed text (see set_divergence)
        self.border_title = Content(f"Candidate {index}")
        self._beam_title = False  # the title says "Beam i" (a beam search's rank i)
        self._spark = ConfidenceSparkline()  # --logprobs: drawn in the title, after the name
        self._title_shown = (f"Candidate {index}", "")
        self.group: tuple[str, int] | None = None
        """Comparing servers: its server's label and its index in that server's run (see :meth:`set_group`)."""
        self._fork: int | None = None  # a replaced beam: its new text, highlighted from here for a moment
        self._fork_timer: Timer | None = None
        self._cand: Candidate | None = None  # the candidate shown (its tokens, for the views below)
        self._spans = TokenSpans(PROBABILITY_LEVELS, tab_size=TAB_SIZE)  # its tokens in the displayed text
        self._shading = False  # the probability view: tokens shaded by probability
        self._cursor: int | None = None  # the token inspector's cursor: a token index
        self.apply_state_class()
        self._set_notice(WAITING_NOTICE)

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
            lines = [marker_text(self._marks.shared_in(self._wrapped.text)), *lines[first:]]
        if self._notice is not None:
            if lines:
                lines.append("")
            lines += self._notice.lines()
        return lines

    @property
    def divergence_marks(self) -> tuple[int, int | None]:
        """``(shared, unique)``: the shared prefix length and where the unique word starts."""
        return self._marks.shared, self._marks.unique

    def unique_span(self) -> tuple[int, int] | None:
        """``(start, end)`` of the highlighted word in :attr:`display_text`, when highlighted."""
        return self._marks.unique_span(self._wrapped.text) if self.raw_text else None

    def set_divergence(self, shared: int, unique: int | None, *, marking: bool, tails: bool) -> bool:
        """Dim ``shared`` characters and highlight the word at ``unique`` (``marking``);
        skip the rows of the shared prefix (``tails``). False when nothing changed."""
        if not self._marks.set(shared, unique, marking=marking, tails=tails):
            return False
        self._reset_notice = None
        self._update_size()
        self.refresh()
        return True

    def allow_focus(self) -> bool:
        return not self.staged and super().allow_focus()

    def reset(self, notice: str = WAITING_NOTICE) -> None:
        """Empty the panel for a new run (nothing to do, and nothing repainted, when it is
        as the last reset left it)."""
        if self._reset_notice == notice and self.scroll_offset.y == 0:
            return
        self.raw_text = ""
        self._end_fork()
        self._cand = None
        self._spans.clear()
        if self._cursor is not None:
            self._cursor = None
            self.post_message(self.TokenCursor(self))
        self._marks.clear_offsets()
        self._spark.clear()
        self._wrapped.set_text("")
        self._shown_key = None
        self._following = True
        self._rows.clear()
        self.panel_state = WAITING
        self._set_notice(notice)
        self._status_line = "waiting…"
        self._sync_widget()
        self._scroll_quietly(0)
        self._reset_notice = notice

    def show(self, cand: Candidate | None, run: RunState, *, on_screen: bool = True,
             restyle: list[CandidatePanel] | None = None) -> bool:
        """Draw ``cand`` (None: the server sent nothing for this index yet); False if unchanged.

        Otherwise (``on_screen`` False: scrolled out of the grid, or left for a later
        frame) only the panel's text and state are brought up to date, which is cheap;
        its size, scroll position, status line and state colours (Textual's bookkeeping
        and the repaint, most of a panel's cost) wait for :meth:`catch_up` or the next
        :meth:`show` on screen. ``restyle``: see :meth:`apply_state_class`.
        """
        error = run.error if run.status is Status.FAILED else None
        if cand is None:
            key: tuple[object, ...] = (None, run.status, error)
        else:
            key = (cand.text, cand.status, cand.tokens, cand.finish_reason, cand.last_text_at, error,
                   len(cand.token_texts))
        beams = run.beams
        if beams:  # a rank's label also says how the last step changed it, and whether the search goes on
            key += (cand.change, cand.score, run.status.done) if cand is not None else ()
        if beams is not self._beam_title:
            self._beam_title = beams
            self._title()
        seen = self._shown_key
        if seen is not None and len(seen) == len(key) and all(a is b or a == b for a, b in zip(seen, key)):
            return self.catch_up(restyle) if on_screen else False
        self._shown_key = key
        self._title(cand, draw=False)  # drawn with the rest, by _sync_widget (on screen)
        self._reset_notice = None
        if cand is None:
            self._apply_view(view_missing(run, error))
        else:
            self._show_candidate(cand, error, run)
        if on_screen:
            self._sync_widget(restyle)
        else:
            self._sync_pending = True
        return True

    def _title(self, cand: Candidate | None = None, *, draw: bool = True) -> None:
        """The border title: ``Candidate i`` (``Beam i``), then the confidence sparkline where
        it fits (with logprobs). ``cand``: take its new tokens first; ``draw`` False: only that."""
        if cand is not None and cand.token_logprobs:
            self._spark.update(cand.token_logprobs)
        if not draw:
            return
        name = self.name_shown
        spark = self._spark.draw(sparkline_cells(self.outer_size.width, len(name))) if len(self._spark) else ""
        if (name, spark) != self._title_shown:
            self._title_shown = (name, spark)
            self.border_title = Content.assemble(name, " ", (spark, "not bold dim")) if spark else Content(name)

    @property
    def name_shown(self) -> str:
        """``Candidate i`` (``Beam i``); comparing servers ``A · Candidate i``."""
        kind = "Beam" if self._beam_title else "Candidate"
        if self.group is not None:
            return f"{self.group[0]} · {kind} {self.group[1]}"
        return f"{kind} {self.index}"

    def set_group(self, group: tuple[str, int] | None) -> None:
        """Comparing servers: the panel shows candidate ``group[1]`` of server ``group[0]`` (None: of the one server)."""
        if group != self.group:
            self.group = group
            self._title()

    @property
    def stale(self) -> bool:
        """True when the text moved on while the panel was off screen (see :meth:`catch_up`)."""
        return self._sync_pending

    def catch_up(self, restyle: list[CandidatePanel] | None = None) -> bool:
        """Bring the widget up to its text (after :meth:`show` off screen); False if it was.
        ``restyle``: see :meth:`apply_state_class`."""
        if not self._sync_pending:
            return False
        self._sync_widget(restyle)
        return True

    def _sync_widget(self, restyle: list[CandidatePanel] | None = None) -> None:
        """Bring Textual's side up to the panel's: state class, status line, size, repaint."""
        self._sync_pending = False
        self.apply_state_class(restyle)
        self._title()
        if self._subtitle != self._status_line:
            self._subtitle = self._status_line
            self.border_subtitle = Content(self._status_line)
        self._update_size()
        self.refresh()

    def _show_candidate(self, cand: Candidate, error: object, run: RunState) -> None:
        text = cand.text
        if text and not self.raw_text and cand.status.done:
            # All the text at once (not streamed): read it from the top.
            self._following = False
        if text is not self.raw_text:
            fork: int | None = None
            if text.startswith(self.raw_text) and not self.raw_text.endswith("\r"):
                added = text[len(self.raw_text) :]
                delta = make_inert(added, tab_size=TAB_SIZE)
                if delta is added and self._wrapped.text is self.raw_text:
                    shown = text  # nothing made inert so far: show the candidate's own string, not a copy
                else:
                    shown = self._wrapped.text + delta if self.raw_text else delta
                self._wrapped.set_text(shown)
            else:  # a new text (a beam overtaken by another): rows cached by offset are someone else's
                self._wrapped.set_text(make_inert(text, tab_size=TAB_SIZE))
                self._rows.clear()
                self._spans.clear()
                if cand.change == "replaced" and cand.fork_at is not None:
                    fork = len(make_inert(text[: cand.fork_at], tab_size=TAB_SIZE))
            if fork is not None:
                self._flash_fork(fork)
            else:
                self._end_fork()  # the rank moved on since it was taken over: the moment is over
            self.raw_text = text
        if cand is not self._cand:
            self._cand = cand
            self._spans.clear()
        if cand.token_texts:
            self._spans.sync(cand.token_texts, cand.token_logprobs)
        if self._cursor is not None and self._cursor >= len(self._spans):
            self.close_tokens()  # its tokens went (another candidate in this place)
        beam_running = (not run.status.done) if run.beams else None
        self._apply_view(view_candidate(cand, error, following=self._following, beam_running=beam_running))

    @property
    def fork_highlight(self) -> int | None:
        """Where the highlighted new text of a just-replaced beam starts (None: no highlight)."""
        return self._fork

    def _flash_fork(self, offset: int) -> None:
        """Highlight the displayed text from ``offset`` on, for :data:`FORK_FLASH` seconds."""
        self._fork = offset
        if self._fork_timer is not None:
            self._fork_timer.stop()
        self._fork_timer = self.set_timer(FORK_FLASH, self._end_fork) if self.is_attached else None

    def _end_fork(self) -> None:
        if self._fork_timer is not None:
            self._fork_timer.stop()
            self._fork_timer = None
        if self._fork is not None:
            self._fork = None
            self.refresh()

    # -- tokens: the probability view and the inspector's cursor -------------------------

    @property
    def candidate(self) -> Candidate | None:
        """The candidate shown (None: none yet)."""
        return self._cand

    @property
    def token_count(self) -> int:
        """The tokens with a place in the text (a run with logprobs; else 0)."""
        return len(self._spans)

    @property
    def probability_view(self) -> bool:
        return self._shading

    def set_probability_view(self, on: bool) -> None:
        """Shade each token's background by its probability (rows are drawn anew as shown)."""
        if on != self._shading:
            self._shading = on
            self.refresh()

    def probability_shades(self) -> tuple[Style, ...]:
        """The probability view's style per level (for its key in the summary)."""
        return self._look.shades()

    @property
    def token_cursor(self) -> int | None:
        """The token under the inspector's cursor (None: the cursor is off)."""
        return self._cursor

    def token_span(self, index: int) -> tuple[int, int]:
        """``(start, end)`` of token ``index`` in :attr:`display_text`."""
        return self._spans.span(index)

    def token_at(self, offset: int) -> int | None:
        """The token holding character ``offset`` of :attr:`display_text` (None: no token there)."""
        return self._spans.index_at(offset)

    def open_tokens(self, at: int | None = None) -> bool:
        """Put the cursor on the token at displayed offset ``at`` (None: the first token; past
        the tokens: the last one). False when the panel has no tokens."""
        spans = self._spans
        if not len(spans):
            return False
        index = 0 if at is None else spans.index_at(at)
        self._move_cursor(len(spans) - 1 if index is None else index, announce=True)
        return True

    def close_tokens(self, *, quiet: bool = False) -> None:
        """Take the cursor away (``quiet``: without telling the screen, which knows)."""
        if self._cursor is not None:
            self._cursor = None
            self.refresh()
            if not quiet:
                self.post_message(self.TokenCursor(self))

    def _move_cursor(self, index: int, *, announce: bool = False) -> None:
        index = max(0, min(index, len(self._spans) - 1))
        if index != self._cursor:
            self._cursor = index
            self._reveal(self._spans.span(index)[0])
            self.refresh()
            announce = True
        if announce:
            self.post_message(self.TokenCursor(self))

    def _cursor_line(self, step: int) -> None:
        """The cursor to the token at the same column ``step`` lines down (up when negative)."""
        assert self._cursor is not None
        wrapped = self._wrapped
        start = self._spans.span(self._cursor)[0]
        line = wrapped.line_at(start)
        target = min(max(line + step, 0), len(wrapped) - 1)
        if target == line:
            return
        column = start - wrapped.span(line)[0]
        first, last = wrapped.span(target)
        index = self._spans.index_at(min(first + column, max(first, last - 1)))
        self._move_cursor(len(self._spans) - 1 if index is None else index)

    def _reveal(self, offset: int) -> None:
        """Scroll so that displayed character ``offset`` is in view."""
        first, marker = self._text_rows()
        row = max(self._wrapped.line_at(offset) - first, 0) + marker
        top, height = self.scroll_offset.y, self.scrollable_content_region.height
        if top <= row < top + height:
            return
        self._stop_following()
        self._scroll_quietly(row if row < top else row - height + 1)

    def _inspect_from(self) -> int | None:
        """Where the cursor opens: where the candidates part (divergence view on), else the start."""
        marks = self._marks
        return marks.shared_in(self._wrapped.text) if marks.marking and self.raw_text else None

    def _no_tokens_reason(self) -> str:
        if self._beam_title:
            return "Beam search returns no per-token logprobs: run without it, with logprobs 1-20"
        if not self.raw_text:
            return f"Candidate {self.index} has no tokens yet"
        return "No logprobs in this run: set logprobs (1-20) and run again"

    def action_inspect(self) -> None:
        """Open the token cursor (at the divergence point in the divergence view), or close it."""
        if self._cursor is not None:
            self.close_tokens()
        elif not self.open_tokens(self._inspect_from()):
            self.notify(self._no_tokens_reason(), title="Nothing to inspect", severity="warning", markup=False)

    def action_token_step(self, step: int) -> None:
        if self._cursor is not None:
            self._move_cursor(self._cursor + step)

    def action_close_tokens(self) -> None:
        self.close_tokens()

    def action_go_on(self) -> None:
        self.post_message(self.GoOn(self, fork=False))

    def action_fork(self) -> None:
        self.post_message(self.GoOn(self, fork=True))

    def action_alternative(self, step: int) -> None:
        self.post_message(self.PickAlternative(self, step))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("token_step", "close_tokens", "fork", "alternative"):
            return self._cursor is not None  # else the key does what it does without the cursor
        if action == "go_on":
            return self._cursor is None
        return True

    def _apply_view(self, view: PanelView) -> None:
        self.panel_state = view.state  # its CSS class follows in _sync_widget
        self._set_notice(view.notice, view.notice_kind)
        self._status_line = view.status_line  # shown by _sync_widget

    def apply_state_class(self, restyle: list[CandidatePanel] | None = None) -> None:
        """Give the panel the CSS class of :attr:`panel_state` (see :data:`STATE_CLASSES`) and
        restyle it, once; or, given a ``restyle`` list, append the panel to it when its class
        changed, for the caller to restyle them all together (restyling is the costly part)."""
        wanted = STATE_CLASSES[self.panel_state]
        if not self.has_class(wanted):
            self.remove_class(*(c for c in set(STATE_CLASSES.values()) if c != wanted), update=False)
            self.add_class(wanted, update=False)
            if restyle is not None:
                restyle.append(self)
            elif self.is_attached:  # else mounting styles it
                self.update_node_styles()

    def _set_notice(self, notice: str | None, kind: str = "notice") -> None:
        if notice is None:
            if self._notice is not None:
                self._notice = None
                self._rows.clear()
            return
        notice = make_inert(notice, tab_size=TAB_SIZE)
        if self._notice is None or self._notice.text != notice or self._notice_kind != kind:
            self._notice = WrappedLines(self._wrapped.width, notice)
            self._notice_kind = kind
            self._rows.clear()

    # -- layout and scrolling ---------------------------------------------------------

    def _text_width(self) -> int:
        return max(8, self.scrollable_content_region.width - SCROLLBAR_WIDTH)

    def _text_rows(self) -> tuple[int, int]:
        """``(first, marker)``: the first text line shown and the rows above it (the tails marker)."""
        if not (self._marks.tails and self.raw_text):
            return 0, 0
        return self._wrapped.line_at(self._marks.shared_in(self._wrapped.text)), 1

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
            set_virtual_size_quietly(self, size)
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
        self._title()  # the sparkline's width
        self._render_width = max(1, self.scrollable_content_region.width - SCROLLBAR_WIDTH)
        width = self._text_width()
        if self._wrapped.set_width(width):
            self._rows.clear()
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
            self._shown_key = None  # the status line says whether we follow

    def _stop_following(self) -> None:
        """The user scrolls up: stay where they go, even as text keeps arriving."""
        if self._following and self.max_scroll_y > 0:
            self._following = False
            self._shown_key = None

    def action_scroll_home(self) -> None:
        self._stop_following()
        self._scroll_quietly(0)

    def action_scroll_up(self) -> None:
        if self._cursor is not None:
            self._cursor_line(-1)
            return
        self._stop_following()
        super().action_scroll_up()

    def action_scroll_down(self) -> None:
        if self._cursor is not None:
            self._cursor_line(1)
            return
        super().action_scroll_down()

    def action_page_up(self) -> None:
        self._stop_following()
        super().action_page_up()

    def on_mouse_scroll_up(self) -> None:
        self._stop_following()

    @property
    def allow_vertical_scroll(self) -> bool:
        # overflow-y is hidden (the panel draws its scrollbar): scroll when the text is longer.
        return not is_disabled(self) and self.max_scroll_y > 0

    # -- the scrollbar ------------------------------------------------------------------

    def _thumb(self) -> tuple[int, int] | None:
        """The rows ``(start, end)`` of the scrollbar's thumb; None when the text fits."""
        return thumb_rows(self.scrollable_content_region.height, self.virtual_size.height, self.scroll_offset.y)

    def on_mouse_down(self, event: events.MouseDown) -> None:
        offset = event.get_content_offset(self)
        thumb = self._thumb()
        if offset is None or offset.x < self._render_width or thumb is None:
            return
        self._drag.grab(offset.y, thumb)
        self.capture_mouse()
        self._drag_to(offset.y)
        self.refresh()
        event.stop()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if self._drag.active:
            self._drag_to(event.get_content_offset_capture(self).y)
            event.stop()

    def on_mouse_up(self, event: events.MouseUp) -> None:
        if self._drag.active:
            self.release_mouse()
            event.stop()

    def on_mouse_release(self) -> None:
        if self._drag.release():
            self.refresh()

    def _drag_to(self, row: int) -> None:
        """Scroll so that the held row of the thumb is at ``row``."""
        thumb = self._thumb()
        if thumb is None:
            return
        y = self._drag.scroll_target(row, thumb, self.scrollable_content_region.height, self.max_scroll_y)
        if y is not None:
            # Not quiet: the user scrolls (at the end the panel follows the text again).
            self.scroll_to(y=y, animate=False, immediate=True)

    def action_follow(self) -> None:
        self._following = True
        self._shown_key = None
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
        self.notify(f"Copied candidate {self.index} ({count_of(len(self.raw_text), 'character')})", markup=False)
        self.post_message(self.Copied(self, len(self.raw_text)))

    # -- rendering ----------------------------------------------------------------------
    # Rows come from the row cache; styles and width are looked up once, not per row.

    def notify_style_update(self) -> None:
        super().notify_style_update()
        if self._look.style_updated():
            self._rows.clear_all()

    def _divergence_styles(self) -> tuple[Style, Style, Style, Style]:
        """(shared, unique, tails marker, fork) styles (kept for tests/ui/test_tui_divergence.py)."""
        return self._look.marks()

    def _marked_strip(self, start: int, end: int, width: int) -> Strip:
        """A text row with the shared prefix dimmed and the unique word highlighted."""
        text = self._wrapped.text
        dim, hi_start, hi_end = self._marks.in_row(start, end, text)
        if dim == start and hi_start == hi_end:
            return self._rows.plain(_TEXT, start, end, text, width)
        return self._rows.marked(start, end, dim, hi_start, hi_end, text, width)

    def _token_strip(self, start: int, end: int, width: int) -> Strip:
        """A text row cut at its tokens: shaded (the probability view), the divergence marks
        on top, the inspector's cursor over its token (see :meth:`RowCache.tokens`)."""
        marks, text = self._marks, self._wrapped.text
        if marks.marking or marks.tails:
            dim, hi_start, hi_end = marks.in_row(start, end, text)
        else:
            dim = hi_start = hi_end = start
        cursor = self._spans.span(self._cursor) if self._cursor is not None else None
        return self._rows.tokens(start, end, text, width, self._spans, (dim, hi_start, hi_end), cursor,
                                 shading=self._shading)

    def render_lines(self, crop: Region) -> list[Strip]:
        # What every row needs, looked up once for all of them (each costs a walk up the DOM).
        if self._look.text_styles_changed():
            self._rows.clear_all()
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
        bar = _TRACK
        if thumb is not None and thumb[0] <= y < thumb[1]:
            bar = _THUMB if self._drag.held is None else _THUMB_ACTIVE
        return self._rows.with_bar(row, bar)

    def _row_at(self, index: int) -> Strip:
        """Row ``index`` of the panel's content (0 is the top of the text), as drawn."""
        width = self._render_width
        text_lines = 0
        if self.raw_text:
            first, marker = self._text_rows()
            text_lines = len(self._wrapped) - first + marker
            if index < marker:
                marks = self._marks
                return self._rows.marker(marks.shared, marks.shared_in(self._wrapped.text), width)
            if index < text_lines:
                start, end = self._wrapped.span(index - marker + first)
                fork = self._fork
                if fork is not None and end > fork:  # a beam just taken over: its new part stands out
                    return self._rows.forked(start, end, fork, self._wrapped.text, width)
                if (self._shading or self._cursor is not None) and start < self._spans.end:
                    return self._token_strip(start, end, width)
                if self._marks.marking or marker:
                    return self._marked_strip(start, end, width)
                return self._rows.plain(_TEXT, start, end, self._wrapped.text, width)
        notice = self._notice
        if notice is not None:
            notice_index = index - text_lines - (1 if text_lines else 0)
            if 0 <= notice_index < len(notice):
                start, end = notice.span(notice_index)
                return self._rows.plain(_NOTICE if self._notice_kind == "notice" else _ERROR, start, end, notice.text, width)
        return Strip.blank(width, self._look.rows()[0])
