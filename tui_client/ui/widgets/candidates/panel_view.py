"""What a candidate panel shows, from a candidate and its run: state, label, notice, status line.

Pure (no Textual): :class:`~tui_client.ui.widgets.candidates.panel.CandidatePanel` draws
what these functions decide, and the rules are tested without an app.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from tui_client.core.protocol import Candidate, RunState, Status

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
live), so a panel's first text changes no class: a class change costs a restyle."""

WAITING_NOTICE = "waiting for text…"
"""The notice of a panel that has no text yet."""

SCROLLED = " · scrolled (end: follow)"
"""Added to a streaming panel's label while it does not follow the end of its text."""


class PanelView(NamedTuple):
    """What a panel shows besides its text. ``notice`` (None: none) is drawn below the
    text, in the ``notice_kind`` style ("notice" or "error")."""

    state: str
    status_line: str
    notice: str | None
    notice_kind: str


def describe_finish(reason: str | None) -> str:
    """The label of a finished candidate: why it stopped."""
    return {"stop": "finished: stop", "length": "finished: length"}.get(reason or "", "finished: reason unknown")


def describe_candidate(cand: Candidate, *, beam: bool = False) -> str:
    """The status line's details: size, perplexity (with logprobs), speed, time to first text
    (a beam's rank: its size and perplexity)."""
    parts: list[str] = []
    if cand.tokens is not None:
        parts.append(f"{cand.tokens:,} tok")
    elif cand.text:
        size = len(cand.text)
        parts.append(f"{size:,} char{'s' if size != 1 else ''}")
    ppl = describe_perplexity(cand.perplexity)
    if ppl:
        parts.append(ppl)
    if beam:  # a rank changes hands: its speed and first text would be several beams' mixed
        return " · ".join(parts)
    speed = cand.speed()
    if speed is not None:
        rate, unit = speed
        parts.append(f"{rate:,.0f} {unit}" if rate >= 100 else f"{rate:.1f} {unit}")
    if cand.first_text_at is not None:
        parts.append(f"first {cand.first_text_at:.2f} s")
    return " · ".join(parts)


def describe_perplexity(ppl: float | None) -> str:
    """``ppl 1.84`` (three figures, then whole numbers; ``ppl ∞``); empty without logprobs."""
    if ppl is None or ppl != ppl:
        return ""
    if ppl == math.inf:
        return "ppl ∞"
    # The limits are where the rounding would reach the next decade (9.996 is "10.0", not "10.00").
    return f"ppl {ppl:.2f}" if ppl < 9.995 else f"ppl {ppl:.1f}" if ppl < 99.95 else f"ppl {ppl:,.0f}" if ppl < 1e6 else f"ppl {ppl:.3g}"


def describe_beam(cand: Candidate) -> str:
    """What the last step of a beam search did to this rank (empty when it only grew)."""
    parts = []
    if cand.change == "replaced":
        source = f"beam {cand.forked_from}" if cand.forked_from is not None else "a new beam"
        parts.append(f"↺ from {source}" + (f" (fork at {cand.fork_at:,})" if cand.fork_at else "")
                     + (", the old one pruned" if cand.pruned else ""))
    if cand.score is not None:
        parts.append(f"score {cand.score:.3f}")
    return " · ".join(parts)


def view_candidate(cand: Candidate, error: object, *, following: bool, beam_running: bool | None = None) -> PanelView:
    """A candidate the server sent; ``error`` is the run's error (when it failed) and
    ``following`` whether the panel sticks to the end of its text. ``beam_running``: a beam
    search's rank (None: not a beam run), while the search goes on."""
    status, text = cand.status, cand.text
    if status is Status.WAITING:
        state, label, notice = WAITING, "waiting…", WAITING_NOTICE
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
    if beam_running is not None:
        if beam_running and state == FINISHED:
            label = "beam ended"  # listed unchanged: it reached its end, others go on
        beam = describe_beam(cand)
        if beam:
            label += f" · {beam}"
    if state == STREAMING and not following:
        label += SCROLLED
    details = describe_candidate(cand, beam=beam_running is not None)
    return PanelView(state, f"{label} · {details}" if details else label, notice,
                     "error" if state == FAILED else "notice")


def view_missing(run: RunState, error: object) -> PanelView:
    """A candidate the server has sent nothing for (yet), by the state of its run."""
    if not run.status.done:
        state, label, notice = WAITING, "waiting…", WAITING_NOTICE
    elif run.status is Status.FAILED:
        state, label, notice = FAILED, "error", f"error: {error}" if error is not None else "error"
    elif run.status is Status.CANCELLED:
        state, label, notice = CANCELLED, "cancelled", "cancelled before any text arrived"
    else:
        state, label, notice = MISSING, "no answer", "the server returned nothing for this candidate"
    return PanelView(state, label, notice, "error" if state == FAILED else "notice")
