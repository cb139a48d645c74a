"""The candidate panels side by side, in as many columns as the width allows.

One column when narrow, several when wide; when more rows than fit, each row keeps a
readable height and the grid scrolls. Panels are reused from run to run (mounting is
the slow part of starting one): extra panels are hidden, not removed, and
:meth:`CandidateGrid.reserve` mounts the panels a run will need while the app is idle.

Before the first run the grid shows a hint on a layer above the panels and lays out,
beneath it, the panels the chosen n will show ("staged": drawn under the hint, never
focused), so the first run starts like any later one: the hint goes, nothing moves.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from textual.app import ComposeResult
from textual.containers import ScrollableContainer
from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import Static

from tui_client.core.protocol import RunState
from tui_client.ui.textual_compat import NoRelayoutOnVirtualSize, apply_styles_together
from tui_client.ui.widgets.candidates.panel import CandidatePanel
from tui_client.ui.widgets.candidates.text_styles import PanelTextStyles

MIN_PANEL_WIDTH = 34
"""Narrowest panel worth a column of its own (cells, border included)."""

MIN_PANEL_HEIGHT = 8
"""Lowest panel worth showing (rows, border included)."""


def grid_shape(count: int, width: int, height: int, group: int = 0) -> tuple[int, int, int | None]:
    """``(columns, rows, row_height)`` for ``count`` panels in ``width`` x ``height`` cells.

    ``row_height`` is None when all rows fit (they share the height), else the fixed
    height of a row in a grid that scrolls. ``group``: comparing servers, the panels of
    each (consecutive); every group then starts a row or follows a whole group in one.
    """
    if count <= 0:
        return 1, 0, None
    max_columns = max(1, width // MIN_PANEL_WIDTH)
    if 1 < group < count:
        # Whole groups side by side (a multiple of the group), or a group over whole rows (a divisor of it).
        fits = [c for c in range(min(max_columns, count), 0, -1) if c % group == 0 or group % c == 0]
        columns = fits[0]
        rows = math.ceil(count / columns)
    else:
        rows = math.ceil(count / max_columns)
        columns = math.ceil(count / rows)
    rows_that_fit = max(1, height // MIN_PANEL_HEIGHT)
    if rows <= rows_that_fit:
        return columns, rows, None
    return columns, rows, max(MIN_PANEL_HEIGHT, height // rows_that_fit)


class CandidateGrid(NoRelayoutOnVirtualSize, ScrollableContainer, can_focus=False):
    """Holds one :class:`CandidatePanel` per candidate, laid out by :func:`grid_shape`.

    Its own size does not depend on its content (1fr, a scrollbar always there), so a
    run's panels making it taller need no second layout (:class:`NoRelayoutOnVirtualSize`).
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._panels: dict[int, CandidatePanel] = {}
        self._spare: dict[int, CandidatePanel] = {}  # mounted, hidden, ready for a later run
        self._shape: tuple[int, int, int | None] | None = None
        self._reserving = False
        self._reserve_up_to = 0
        self._staged: list[CandidatePanel] = []  # shown under the hint before the first run
        self._stage_count = 0  # the n they are laid out for
        self._stage_group = 0  # and the panels of each server, comparing (see grid_shape)
        self._prepared = False  # a run (or a stored one) has been shown: no more staging
        self.probability_view = False
        """Every panel shades its tokens by probability (see :meth:`set_probability_view`)."""
        self._rank: dict[int, int] = {}  # index -> place, from set_order (empty: index order)
        self.pending = 0
        """Panels in view whose latest text the last :meth:`show` left for a later one."""
        self._shows = 0  # calls of show(), to order panels by when they were last drawn
        self._drawn_at: dict[int, int] = {}  # panel index -> the show() that last drew it
        self.empty_hint = Static(id="empty-hint")
        """What the grid shows before the first run (the app writes it)."""
        self.groups: tuple[str, ...] = ()
        """Comparing servers: their labels; panel ``g * group_size + i`` shows server g's candidate i."""
        self.group_size = 0

    def compose(self) -> ComposeResult:
        yield PanelTextStyles()
        # What the grid shows before the first run (the app fills it in). Inside the grid,
        # not beside it: hidden when a run starts, it leaves the grid's size as it is, so
        # the panels are laid out once, not again when the grid grows into its rows.
        yield self.empty_hint

    @property
    def panels(self) -> list[CandidatePanel]:
        """The panels in index order."""
        return [self._panels[i] for i in sorted(self._panels)]

    @property
    def panels_in_order(self) -> list[CandidatePanel]:
        """The panels as laid out (see :meth:`set_order`)."""
        return [c for c in self.children if isinstance(c, CandidatePanel) and self._panels.get(c.index) is c]

    def panel(self, index: int) -> CandidatePanel | None:
        return self._panels.get(index)

    async def prepare(self, count: int, notice: str = "waiting for text…", *,
                      groups: tuple[str, ...] = ()) -> None:
        """Show exactly panels ``0..count-1``, all empty (the others are hidden, kept for
        later), instead of the hint. ``groups``: comparing servers, their labels (``count``
        panels for each)."""
        self.groups, self.group_size = groups, count if groups else 0
        if groups:
            count *= len(groups)
        self._prepared = True
        self._drawn_at.clear()
        self.empty_hint.display = False
        staged, self._staged, self._stage_count = self._staged, [], 0
        for panel in staged:
            panel.staged = False
            if panel.index >= count:
                panel.display = False
        for index in [i for i in self._panels if i >= count]:
            panel = self._spare[index] = self._panels.pop(index)
            panel.display = False
        for panel in self._panels.values():
            panel.reset(notice)
        new: list[CandidatePanel] = []
        for index in range(count):
            if index in self._panels:
                continue
            panel = self._panels[index] = self._take_panel(index, new)
            panel.reset(notice)
            panel.display = True
        for panel in self._panels.values():
            panel.set_group(self._group_of(panel.index))
        if new:
            await self._mount_in_order(new)
        self.scroll_home(animate=False)
        self._relayout()

    def _group_of(self, index: int) -> tuple[str, int] | None:
        """Comparing: (label, index in its server's run) of panel ``index``; else None."""
        if not self.groups:
            return None
        return self.groups[index // self.group_size], index % self.group_size

    def _take_panel(self, index: int, new: list[CandidatePanel]) -> CandidatePanel:
        """The spare panel for ``index``, or a new one (appended to ``new``: to mount)."""
        panel = self._spare.pop(index, None)
        if panel is None:
            panel = CandidatePanel(index, id=f"candidate-{index}")
            new.append(panel)
        panel.set_probability_view(self.probability_view)
        return panel

    def set_probability_view(self, on: bool) -> None:
        """The probability view on or off, in every panel (and those taken later)."""
        self.probability_view = on
        for panel in (*self._panels.values(), *self._spare.values()):
            panel.set_probability_view(on)

    async def reserve(self, count: int, *, group: int = 0, batch: int = 8) -> int:
        """Mount hidden panels up to index ``count-1``, ``batch`` at a time (keys and frames
        get in between); returns how many were mounted. Nothing shown changes (before the
        first run, the panels in view are then laid out under the hint: :meth:`_stage`).
        ``group``: comparing servers, the panels of each (see :func:`grid_shape`)."""
        self._reserve_up_to = max(self._reserve_up_to, count)
        if not self._prepared:
            self._stage_count, self._stage_group = count, group  # the latest n: staged once mounted
        if self._reserving:
            return 0  # the running call mounts up to the new count too
        self._reserving = True
        mounted = 0
        try:
            while True:
                wanted = range(self._reserve_up_to)
                missing = [i for i in wanted if i not in self._panels and i not in self._spare][:batch]
                if not missing or not self.is_attached:
                    return mounted
                new = [CandidatePanel(i, id=f"candidate-{i}") for i in missing]
                for panel in new:
                    panel.display = False
                    self._spare[panel.index] = panel
                await self._mount_in_order(new)
                mounted += len(new)
        finally:
            self._reserving = False
            if not self._prepared and self.is_attached:
                self._stage(self._stage_count)

    def _stage(self, count: int) -> None:
        """Before the first run: lay out, under the hint, the panels a run of ``count``
        candidates shows in view (those below it are left to the run: a grid taller
        than its view would show a scrollbar under the hint)."""
        region = self.scrollable_content_region
        columns, _rows, row_height = grid_shape(count, region.width, region.height, self._stage_group)
        in_view = count if row_height is None else min(count, columns * max(1, region.height // row_height))
        wanted = [self._spare[i] for i in range(in_view) if i in self._spare]
        if len(wanted) < in_view:
            return  # not all mounted yet: the reserve that mounts them stages them
        for panel in self._staged:
            if panel.index >= in_view:
                panel.staged = False
                panel.display = False
        for panel in wanted:
            panel.staged = True
            panel.reset()
            panel.display = True
        self._staged, self._stage_count = wanted, count
        self._relayout()

    @property
    def staged(self) -> list[CandidatePanel]:
        """The panels laid out under the hint before the first run (see the module's doc)."""
        return list(self._staged)

    async def _mount_in_order(self, new: list[CandidatePanel]) -> None:
        """Mount ``new``; the grid lays its children out in order, so keep them in the order
        :meth:`set_order` gave (index order by default)."""
        await self.mount_all(new)
        self._sort_panels()

    def set_order(self, order: Sequence[int] | None) -> bool:
        """Lay the panels out in ``order`` (indices; panels not in it follow, by index); None:
        by index. Later mounts keep it; a focused panel keeps focus and is scrolled into view.
        False when the panels were in that order already."""
        self._rank = {index: place for place, index in enumerate(order or ())}
        if not self._sort_panels():
            return False
        focused = self.screen.focused if self.is_attached else None
        if isinstance(focused, CandidatePanel) and focused.parent is self:
            self.call_after_refresh(focused.scroll_visible, animate=False, immediate=True)
        return True

    def _place(self, child: Widget) -> tuple[int, int]:
        if not isinstance(child, CandidatePanel):
            return -1, -1  # the styles widget and the hint stay first
        return self._rank.get(child.index, len(self._rank)), child.index

    def _sort_panels(self) -> bool:
        """Put the children in :meth:`_place` order; False when they were."""
        children = list(self.children)
        if children == sorted(children, key=self._place):
            return False
        self.sort_children(key=self._place)
        return True

    async def clear(self) -> None:
        await self.prepare(0)

    def show(self, state: RunState, limit: int | None = None, states: Sequence[RunState] = ()) -> int:
        """Draw the latest state into the panels whose candidate changed; returns how many
        were drawn. At most ``limit`` panels in view are drawn: the others get their text
        (cheap) and are drawn by a later call first (:attr:`pending` says how many wait).
        ``states``: comparing servers, each server's (see :attr:`groups`; ``state`` is the first's)."""
        candidates = state.candidates
        size = self.group_size
        if states and size:
            candidates = {g * size + i: cand for g, group in enumerate(states) for i, cand in group.candidates.items()
                          if i < size}  # a server's extra index has no panel while comparing
        elif any(index not in self._panels for index in candidates):
            # The server answered an index we did not ask for: show it anyway.
            self.run_worker(self._add_panels(sorted(set(candidates) - set(self._panels)), state), group="grid")
        changed = pending = 0
        budget = len(self._panels) if limit is None else limit
        restyle: list[CandidatePanel] = []
        window = self._window()
        panels = list(self._panels.values())
        self._shows += 1
        if limit is not None:
            # The least recently drawn first: while every panel changes each frame, each gets its
            # turn (left-out-first alone would draw the first ones again every other frame).
            drawn_at = self._drawn_at
            panels.sort(key=lambda panel: drawn_at.get(panel.index, -1))
        for panel in panels:
            in_view = window is None or self._on_screen(panel, window)
            run = states[panel.index // size] if states and size and panel.index // size < len(states) else state
            if in_view and budget > 0:
                if panel.show(candidates.get(panel.index), run, restyle=restyle):
                    self._drawn_at[panel.index] = self._shows
                    changed += 1
                    budget -= 1
            else:
                panel.show(candidates.get(panel.index), run, on_screen=False)  # its text, at once
                if in_view and panel.stale:
                    pending += 1
                    # Its colours now, with the others: a restyle costs a layout of the
                    # screen per batch, not per panel (its text follows next frame).
                    panel.apply_state_class(restyle)
        self.pending = pending
        if restyle:
            # Panels in the same state share their CSS match: restyled together, it is done once.
            apply_styles_together(self.app, restyle)
        return changed

    async def _add_panels(self, indices: list[int], state: RunState) -> None:
        new: list[CandidatePanel] = []
        added: list[CandidatePanel] = []
        for index in indices:
            if index in self._panels:
                continue
            panel = self._take_panel(index, new)
            panel.reset()
            panel.set_group(None)
            panel.display = True
            self._panels[index] = panel
            added.append(panel)
        await self._mount_in_order(new)
        self._relayout()
        for panel in added:
            panel.show(state.candidates.get(panel.index), state)

    # -- panels off screen -------------------------------------------------------------

    def _window(self) -> Region | None:
        """The part of the grid in view, in the panels' coordinates; None when every panel fits."""
        if self._shape is None or self._shape[2] is None:
            return None
        region = self.scrollable_content_region
        return Region(round(self.scroll_x), round(self.scroll_y), region.width, region.height)

    def _on_screen(self, panel: CandidatePanel, window: Region) -> bool:
        if panel.has_focus or self.screen.maximized is panel:
            return True
        placed = panel.virtual_region  # empty until laid out: then draw it anyway
        return not placed or placed.overlaps(window)

    def catch_up(self) -> int:
        """Bring the panels now in view up to their text (see :meth:`CandidatePanel.show`)."""
        window = self._window()
        return sum(panel.catch_up() for panel in self._panels.values()
                   if panel.stale and (window is None or self._on_screen(panel, window)))

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self.catch_up()  # before the paint that shows them

    def on_resize(self) -> None:
        if self._staged and not self._prepared:
            self._stage(self._stage_count)  # as many as are in view now
        self._relayout()
        self.call_after_refresh(self.catch_up)  # once the panels have their new places

    def _relayout(self) -> None:
        region = self.scrollable_content_region
        if self._panels:
            shape = grid_shape(len(self._panels), region.width, region.height, self.group_size)
        else:  # before the first run: the panels staged
            shape = grid_shape(self._stage_count, region.width, region.height, self._stage_group)
        if shape == self._shape:
            return
        self._shape = shape
        columns, _rows, row_height = shape
        self.styles.grid_size_columns = columns
        self.styles.grid_rows = "1fr" if row_height is None else str(row_height)
        # A marker for tools and tests; no CSS rule uses it, and restyling the grid
        # would restyle all its panels.
        self.set_class(row_height is not None, "-scrolling", update=False)
