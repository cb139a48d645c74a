"""The panels' order (``s``): by index, or most likely first (mean token logprob).

The order is applied when asked, when a run ends and when a stored run is shown, never
while text streams in: the panels would jump under the reader.
"""

from __future__ import annotations

from collections.abc import Iterable

from tui_client.core.defaults import VLLM_MAX_LOGPROBS
from tui_client.core.protocol import Candidate, RunState
from tui_client.ui.widgets.candidates.grid import CandidateGrid

SORTED = "sorted: most likely first"
"""What the run summary says while the panels are in that order."""

SORT_AT_END = "most likely first when the run ends"
"""What it says while a run streams with the mode on (the panels keep their places until then)."""


def likely_order(candidates: Iterable[Candidate]) -> list[int]:
    """Indices by mean logprob, highest first; candidates without logprobs last; ties by index."""

    def key(cand: Candidate) -> tuple[bool, float, int]:
        mean = cand.mean_logprob
        scored = mean is not None and mean == mean
        return not scored, -mean if scored else 0.0, cand.index  # type: ignore[operator]

    return [cand.index for cand in sorted(candidates, key=key)]


def sort_refused(state: RunState | None) -> str | None:
    """Why the panels of ``state`` cannot go most likely first, or None when they can."""
    off = f"set logprobs (1-{VLLM_MAX_LOGPROBS})"
    if state is None:
        return f"no run yet: {off} and run"
    if state.beams:
        return "beam search: the ranks are already in score order, best first"
    if any(cand.mean_logprob is not None for cand in state.candidates.values()):
        return None
    if state.request.params.logprobs and not state.status.done:
        return None  # asked for: they are on their way
    return f"no logprobs in this run: {off} and run again"


class PanelOrder:
    """Whether the mode is on, and whether the panels are in its order now."""

    def __init__(self) -> None:
        self.likely = False
        """``s``: most likely first (where the run has logprobs)."""
        self.applied = False
        """The panels are in most-likely order now."""

    def apply(self, grid: CandidateGrid, state: RunState | None) -> None:
        """Put the panels in the mode's order for ``state`` (pressed, a run ended, a stored run)."""
        self.applied = self.likely and state is not None and sort_refused(state) is None
        grid.set_order(likely_order(state.candidates.values()) if self.applied and state is not None else None)

    def unsort(self, grid: CandidateGrid) -> None:
        """A run starts: index order while it streams."""
        self.applied = False
        grid.set_order(None)

    def summary(self, state: RunState) -> str | None:
        """The run summary's word on the order (None: by index, nothing to say)."""
        if not self.likely or sort_refused(state) is not None:
            return None
        return SORTED if self.applied else SORT_AT_END
