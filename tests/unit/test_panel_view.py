"""What a candidate panel shows, decided without an app (panel_view is pure)."""

from __future__ import annotations

import math
import subprocess
import sys

from tui_client.core.protocol import (
    Candidate,
    GenerationRequest,
    RunState,
    SamplingParams,
    ServerInfo,
    Status,
)
from tui_client.ui.widgets.candidates.panel_view import (
    CANCELLED,
    FAILED,
    FINISHED,
    MISSING,
    PANEL_STATES,
    STATE_CLASSES,
    STREAMING,
    WAITING,
    WAITING_NOTICE,
    PanelView,
    describe_candidate,
    describe_finish,
    describe_perplexity,
    view_candidate,
    view_missing,
)


def candidate(status: Status, text: str = "", **fields: object) -> Candidate:
    cand = Candidate(0, status=status, **fields)  # type: ignore[arg-type]
    cand.text = text
    return cand


def run(status: Status) -> RunState:
    return RunState(GenerationRequest("p", SamplingParams(n=2)), ServerInfo("http://x", None), status=status)


def test_every_state_has_a_class_and_waiting_looks_like_streaming() -> None:
    assert set(STATE_CLASSES) == set(PANEL_STATES)
    assert STATE_CLASSES[WAITING] == STATE_CLASSES[STREAMING]


def test_describe_finish() -> None:
    assert describe_finish("stop") == "finished: stop"
    assert describe_finish("length") == "finished: length"
    assert describe_finish(None) == "finished: reason unknown"
    assert describe_finish("abort") == "finished: reason unknown"


def test_describe_candidate_size_speed_and_first_text() -> None:
    assert describe_candidate(candidate(Status.WAITING)) == ""
    assert describe_candidate(candidate(Status.STREAMING, "abc")) == "3 chars"
    assert describe_candidate(candidate(Status.STREAMING, "a")) == "1 char"
    cand = candidate(Status.FINISHED, "x" * 10, tokens=1201, first_text_at=0.5, last_text_at=2.5)
    assert describe_candidate(cand) == "1,201 tok · 600 tok/s · first 0.50 s"
    slow = candidate(Status.FINISHED, "x" * 10, tokens=3, first_text_at=0.25, last_text_at=1.25)
    assert describe_candidate(slow) == "3 tok · 2.0 tok/s · first 0.25 s"
    assert describe_candidate(slow, beam=True) == "3 tok"  # a rank's speed would mix several beams'


def with_tokens(logprobs: list[float], **fields: object) -> Candidate:
    cand = candidate(Status.FINISHED, "x" * len(logprobs), **fields)
    cand.add_tokens(["x"] * len(logprobs), logprobs, [()] * len(logprobs))
    return cand


def test_describe_candidate_says_the_perplexity_after_the_size() -> None:
    logprobs = [-0.1, -1.2, math.nan, -0.5]  # NaN: no logprob sent, left out
    cand = with_tokens(logprobs, tokens=4, first_text_at=0.25, last_text_at=1.25)
    ppl = math.exp(-math.fsum([-0.1, -1.2, -0.5]) / 3)
    assert describe_candidate(cand) == f"4 tok · ppl {ppl:.2f} · 3.0 tok/s · first 0.25 s"
    assert f"{ppl:.2f}" == "1.82"
    assert describe_candidate(cand, beam=True) == "4 tok · ppl 1.82"  # a beam's rank too, when it has them
    assert describe_candidate(with_tokens([-3.0, -3.0])) == f"2 chars · ppl {math.exp(3):.1f}"  # 20.1
    assert describe_candidate(with_tokens([-8.0])) == "1 char · ppl 2,981"
    assert describe_candidate(with_tokens([-math.inf, -1.0])) == "2 chars · ppl ∞"
    assert describe_candidate(with_tokens([math.nan])) == "1 char"  # nothing scored: no perplexity
    assert describe_candidate(candidate(Status.FINISHED, "ab", cumulative_logprob=-2.0), beam=True) == "2 chars"


def test_describe_perplexity() -> None:
    assert [describe_perplexity(p) for p in (None, math.nan, 1.0, 1.844, 9.999, 10.04, 99.94, 99.96, 123456.7,
                                              math.inf)] == [
        "", "", "ppl 1.00", "ppl 1.84", "ppl 10.0", "ppl 10.0", "ppl 99.9", "ppl 100", "ppl 123,457", "ppl ∞"]


def test_view_of_a_candidate_by_status() -> None:
    assert view_candidate(candidate(Status.WAITING), None, following=True) == PanelView(
        WAITING, "waiting…", WAITING_NOTICE, "notice")
    assert view_candidate(candidate(Status.STREAMING, "ab"), None, following=True) == PanelView(
        STREAMING, "streaming · 2 chars", None, "notice")
    assert view_candidate(candidate(Status.FINISHED, "ab", finish_reason="stop"), None, following=True) == PanelView(
        FINISHED, "finished: stop · 2 chars", None, "notice")
    assert view_candidate(candidate(Status.FINISHED), None, following=True).notice == "(the candidate is empty)"
    assert view_candidate(candidate(Status.CANCELLED), None, following=True) == PanelView(
        CANCELLED, "cancelled", "cancelled", "notice")
    assert view_candidate(candidate(Status.CANCELLED, "ab"), None, following=True).notice is None
    assert view_candidate(candidate(Status.FAILED, "ab"), "boom", following=True) == PanelView(
        FAILED, "error · 2 chars", "error: boom", "error")
    assert view_candidate(candidate(Status.FAILED), None, following=True).notice == "error"


def test_a_streaming_panel_that_does_not_follow_says_so() -> None:
    view = view_candidate(candidate(Status.STREAMING, "ab"), None, following=False)
    assert view.status_line == "streaming · scrolled (end: follow) · 2 chars"
    # Only while streaming.
    assert view_candidate(candidate(Status.FINISHED, "ab", finish_reason="stop"), None, following=False).status_line == (
        "finished: stop · 2 chars")


def test_view_of_a_missing_candidate_by_the_run() -> None:
    assert view_missing(run(Status.STREAMING), None) == PanelView(WAITING, "waiting…", WAITING_NOTICE, "notice")
    assert view_missing(run(Status.FAILED), "boom") == PanelView(FAILED, "error", "error: boom", "error")
    assert view_missing(run(Status.FAILED), None).notice == "error"
    assert view_missing(run(Status.CANCELLED), None) == PanelView(
        CANCELLED, "cancelled", "cancelled before any text arrived", "notice")
    assert view_missing(run(Status.FINISHED), None) == PanelView(
        MISSING, "no answer", "the server returned nothing for this candidate", "notice")


def test_panel_view_does_not_load_textual() -> None:
    code = "import sys, tui_client.ui.widgets.candidates.panel_view; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
