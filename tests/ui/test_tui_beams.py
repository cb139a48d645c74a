"""Beam search streamed by a legacy /generate server, in the TUI: ranked panels titled
``Beam i``, re-ranked as each line arrives, ending in the recorded final ranking."""

from __future__ import annotations

import asyncio
import json

from expected import request_for
from pilot import assert_panels_match_state, wait_idle
from replay_server import LEGACY, OPENAI, Recording, ReplayServer
from textual.widgets import Switch

from tui_client.core.protocol import ClientConfig, Status
from tui_client.ui.app import TuiClientApp
from tui_client.ui.widgets.candidates.grid import CandidateGrid
from tui_client.ui.widgets.chrome.run_summary import RunSummary

SIZE = (200, 60)


def final_ranking(rec: Recording) -> list[str]:
    prompt = rec.request["json"]["prompt"]
    last = [ln for ln in rec.body.split(b"\n") if ln.strip()][-1]
    return [text[len(prompt) :] for text in json.loads(last)["text"]]


async def test_streamed_beams_are_ranked_panels_ending_in_the_recorded_ranking() -> None:
    rec = Recording.load(LEGACY / "generate-beam-stream-n3.json")
    request = request_for(rec)
    labels: list[list[str]] = []
    forks: set[int] = set()  # ranks seen with their new text highlighted
    with ReplayServer(rec, time_scale=1.0) as server:  # at the recorded pace: each step gets its frames
        app = TuiClientApp(ClientConfig(url=server.url), request)
        async with app.run_test(size=SIZE) as pilot:
            await asyncio.wait_for(app.workers.wait_for_complete(), 30)
            assert not app.query_one("#problem-beam_search").display  # /generate streams beams
            await pilot.press("ctrl+j")
            while app.run_state is None or not app.run_state.status.done:
                labels.append([p.status_line for p in app.query_one(CandidateGrid).panels])
                forks |= {p.index for p in app.query_one(CandidateGrid).panels if p.fork_highlight is not None}
                await pilot.pause(0.02)
            await wait_idle(app, pilot)
            assert_panels_match_state(app)  # the rows drawn are the final texts', not a replaced beam's
            panels = app.query_one(CandidateGrid).panels
            titles = [str(p.border_title) for p in panels]
            texts = [p.raw_text for p in panels]
            summary = str(app.query_one(RunSummary).render())
    state = app.run_state
    assert state is not None and state.status is Status.FINISHED, state and state.error
    assert titles == ["Beam 0", "Beam 1", "Beam 2"]
    assert texts == final_ranking(rec)
    assert "beam search, width 3" in summary and f"step {state.beam_step}" in summary
    seen = [label for frame in labels for label in frame]
    assert any("↺ from beam" in label for label in seen)  # ranks were overtaken on the way
    assert any(label.startswith("beam ended") for label in seen)  # " Paris." ended early
    assert forks  # an overtaken rank showed where its new text departs


async def test_a_live_beam_search_too_wide_for_vllm_is_flagged_on_an_openai_server() -> None:
    rec = Recording.load(OPENAI / "completions-stream-n4.json")
    with ReplayServer(rec) as server:
        app = TuiClientApp(ClientConfig(url=server.url), request_for(rec))
        async with app.run_test(size=SIZE) as pilot:
            await asyncio.wait_for(app.workers.wait_for_complete(), 30)
            app.query_one("#field-beam_search", Switch).value = True
            await pilot.pause()
            problem = app.query_one("#problem-beam_search")
            assert not problem.display  # width 4: the client runs it, step by step
            app.query_one("#n").value = 12
            await pilot.pause()
            assert problem.display and "24 logprobs" in str(problem.render())
