"""The divergence view's bookkeeping (``d``: marks, ``t``: tails), fed once per frame.

Each frame hands the panels' texts to a :class:`DivergenceTracker` (it compares only what
grew) and passes each panel its shared-prefix length and unique-word offset; panels apply
them when they render their visible rows, so nothing is re-wrapped.
"""

from __future__ import annotations

from collections.abc import Sequence

from tui_client.core.text.divergence import DivergenceTracker, DivergenceView
from tui_client.ui.widgets.candidates.panel import CandidatePanel
from tui_client.ui.widgets.candidates.panel_view import CANCELLED, FAILED, FINISHED, MISSING

ENDED_PANELS = (FINISHED, CANCELLED, FAILED, MISSING)
"""Panel states whose text cannot grow any more."""

END_OF_TEXT = "\0"
"""Appended to an ended candidate's text for the tracker: a candidate that stopped differs,
from there on, from one that went on (the displayed text never holds a NUL: it is drawn as ␀)."""


def comparison_refused(count: int) -> str | None:
    """Why ``count`` panels give nothing to compare, or None when they do."""
    if count >= 2:
        return None
    if count == 0:
        return "Divergence compares the candidates of a run: run first (n of 2 or more)"
    return "Divergence needs at least two candidates: this run has one (raise n and run again)"


class DivergenceMarks:
    """Whether marks and tails are on, and what the panels were last handed. Comparing servers,
    each server's panels are compared among themselves (see :meth:`update`)."""

    def __init__(self) -> None:
        self.marking = False
        """``d``: the shared prefix dimmed, each candidate's first unique word highlighted."""
        self.tails = False
        """``t``: every panel hides the shared prefix behind a one-line marker."""
        self._groups: dict[int, _GroupMarks] = {}
        self._shown = False  # some panel may carry marks
        self._ended_texts: dict[int, tuple[str, str]] = {}  # index -> (text, text + END_OF_TEXT)

    def is_on(self, action: str) -> bool:
        """``action`` is ``divergence`` (the marks) or ``tails``."""
        return self.marking if action == "divergence" else self.tails

    def set(self, action: str, on: bool) -> None:
        if action == "divergence":
            self.marking = on
        else:
            self.tails = on
        for group in self._groups.values():
            group.view = None  # hand every panel its marks again

    def reset(self) -> None:
        """A new run (or a run from the history): compare from scratch."""
        self._groups.clear()
        self._ended_texts.clear()

    def update(self, panels: Sequence[CandidatePanel], group_size: int = 0) -> int | None:
        """Once per frame: feed the tracker, hand the panels what changed; the shared length (of the
        first group). ``group_size``: comparing servers, panels ``g * group_size …`` form group g."""
        if not (self.marking or self.tails) or len(panels) < 2:
            if self._shown:
                for panel in panels:
                    panel.set_divergence(0, None, marking=False, tails=False)
                self._shown = False
            for group in self._groups.values():
                group.shared = None
            return None
        self._shown = True
        if not group_size:
            return self._update_group(0, panels)
        parts: dict[int, list[CandidatePanel]] = {}
        for panel in panels:
            parts.setdefault(panel.index // group_size, []).append(panel)
        shared = []
        for g, part in sorted(parts.items()):
            if len(part) < 2:  # one candidate per server: nothing to compare within it
                for panel in part:
                    panel.set_divergence(0, None, marking=False, tails=False)
                shared.append(None)
                continue
            shared.append(self._update_group(g, part))
        return shared[0] if shared else None

    def _update_group(self, key: int, panels: Sequence[CandidatePanel]) -> int | None:
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _GroupMarks()
        texts: dict[int, str] = {}
        for panel in panels:
            text = panel.display_text
            if panel.panel_state in ENDED_PANELS:
                if not text:
                    continue  # empty or never answered: it takes no part
                cached = self._ended_texts.get(panel.index)
                if cached is None or cached[0] is not text:
                    cached = self._ended_texts[panel.index] = (text, text + END_OF_TEXT)
                text = cached[1]
            texts[panel.index] = text
        view = group.tracker.update(texts)
        if view is group.view:
            return group.shared
        group.view = view
        shared = min(view.shared_prefix_len, min((len(p.display_text) for p in panels if p.index in texts), default=0))
        for panel in panels:
            panel.set_divergence(shared, view.unique_at.get(panel.index), marking=self.marking, tails=self.tails)
        group.shared = shared
        return shared


class _GroupMarks:
    """One group's tracker and what its panels were last handed."""

    def __init__(self) -> None:
        self.tracker = DivergenceTracker()
        self.view: DivergenceView | None = None
        self.shared: int | None = None
