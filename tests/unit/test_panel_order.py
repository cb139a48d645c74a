"""The panels' order (``s``) decided without an app: most likely first, and when it cannot be."""

from __future__ import annotations

import math

from tui_client.core.protocol import Candidate, GenerationRequest, RunState, SamplingParams, ServerInfo, Status
from tui_client.ui.panel_order import SORT_AT_END, SORTED, PanelOrder, likely_order, sort_refused
from tui_client.ui.widgets.chrome.run_summary import describe_run


def cand(index: int, logprobs: list[float]) -> Candidate:
    c = Candidate(index)
    c.add_tokens(["x"] * len(logprobs), logprobs, [()] * len(logprobs))
    return c


def run(status: Status, *cands: Candidate, **params: object) -> RunState:
    state = RunState(GenerationRequest("p", SamplingParams(**{"n": 2, **params})), ServerInfo("http://x", None),  # type: ignore[arg-type]
                     status=status)
    state.candidates = {c.index: c for c in cands}
    return state


def test_likely_order_breaks_ties_by_index_and_puts_the_unscored_last() -> None:
    cands = [cand(0, [-1.0]), cand(1, []), cand(2, [-0.5, -1.5]), cand(3, [-0.2, math.nan]), cand(4, [math.nan]),
             cand(5, [-math.inf, -0.1])]
    assert likely_order(cands) == [3, 0, 2, 5, 1, 4]
    assert likely_order(reversed(cands)) == [3, 0, 2, 5, 1, 4]
    assert likely_order([]) == []


def test_sort_refused_says_why() -> None:
    assert sort_refused(None) == "no run yet: set logprobs (1-20) and run"
    no_logprobs = "no logprobs in this run: set logprobs (1-20) and run again"
    assert sort_refused(run(Status.FINISHED, Candidate(0), Candidate(1))) == no_logprobs
    assert sort_refused(run(Status.FINISHED, Candidate(0), logprobs=2)) == no_logprobs  # asked, none came
    assert sort_refused(run(Status.STREAMING, Candidate(0), logprobs=2)) is None  # on their way
    assert sort_refused(run(Status.FINISHED, cand(0, [-1.0]), Candidate(1), logprobs=2)) is None
    beams = run(Status.FINISHED, cand(0, [-1.0]), beam_search=True)
    assert sort_refused(beams) == "beam search: the ranks are already in score order, best first"


def test_the_summary_says_sorted_only_once_the_order_applies() -> None:
    order = PanelOrder()
    state = run(Status.FINISHED, cand(0, [-2.0]), cand(1, [-1.0]), logprobs=1)
    assert order.summary(state) is None
    order.likely = True
    assert order.summary(state) == SORT_AT_END  # not applied yet (a run streams)
    order.applied = True
    assert order.summary(state) == SORTED
    assert order.summary(run(Status.FINISHED, Candidate(0))) is None  # this run cannot be sorted


def test_describe_run_names_the_order_after_the_count() -> None:
    state = run(Status.FINISHED, Candidate(0), Candidate(1))
    text = describe_run(state, stream=True, shared=3, order=SORTED)
    assert text.startswith(f"✓ finished · 2 candidates · shared prefix 3 chars · {SORTED}")
    assert SORTED not in describe_run(state, stream=True)
