"""The TUI against byte-exact recordings of a real vLLM 0.32.0 (both protocols, streamed or not).

The expected texts are read from the recordings by the independent readers of
``test_protocol_replay`` (not by the code under test); every panel must show
exactly its candidate's text.
"""

from __future__ import annotations

import asyncio

import pytest
from expected import expected_legacy, expected_openai, request_for
from pilot import wait_idle
from replay_server import LEGACY, OPENAI, Recording, ReplayServer

from tui_client.core.protocol import Api, ClientConfig, Status
from tui_client.core.text.inert_text import make_inert
from tui_client.ui.app import TuiClientApp
from tui_client.ui.widgets.candidates.grid import CandidateGrid
from tui_client.ui.widgets.chrome.server_bar import ServerBar

SIZE = (200, 60)


async def run_recording(rec: Recording, api: Api | None = None) -> TuiClientApp:
    """Start the app on the recording's request, press run, return the app after the run."""
    with ReplayServer(rec) as server:
        app = TuiClientApp(ClientConfig(url=server.url, api=api), request_for(rec))
        said: list[str] = []  # every notification (they expire: a slow machine may outlast one)
        notify = app.notify
        app.notify = lambda message, *args, **kwargs: (said.append(str(message)), notify(message, *args, **kwargs))[1]  # type: ignore[method-assign]
        app.said = said  # type: ignore[attr-defined]
        async with app.run_test(size=SIZE) as pilot:
            await asyncio.wait_for(app.workers.wait_for_complete(), 30)
            await pilot.press("ctrl+j")
            await wait_idle(app, pilot)
            app.shown = {p.index: (p.raw_text, p.display_text, p.panel_state, p.status_line)  # type: ignore[attr-defined]
                         for p in app.query_one(CandidateGrid).panels}
            app.server_bar_text = app.query_one(ServerBar).connection  # type: ignore[attr-defined]
    return app


@pytest.mark.parametrize(
    ("name", "api"),
    [
        ("completions-stream-n4", None),
        ("completions-nostream-n4", None),
        ("completions-stream-n1-stop", None),
        ("completions-unicode-stream", None),
        ("completions-stream-n16-long", None),
        ("completions-beam-n3", None),
        ("chat-stream-n3", Api.CHAT),
    ],
)
async def test_openai_recordings(name: str, api: Api | None) -> None:
    rec = Recording.load(OPENAI / f"{name}.json")
    texts, reasons, _usage = expected_openai(rec)
    app = await run_recording(rec, api)
    state = app.run_state
    assert state is not None and state.status is Status.FINISHED, state and state.error
    shown = app.shown  # type: ignore[attr-defined]
    assert set(shown) == set(range(rec.request["json"]["n"]))
    for index, text in texts.items():
        raw, display, panel_state, status_line = shown[index]
        assert raw == text
        assert display == make_inert(text, tab_size=4)
        assert panel_state == "finished"
        assert status_line.startswith(f"finished: {reasons[index]}")
    assert app.server_bar_text == "connected"  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", ["generate-stream-n4", "generate-nostream-n4", "generate-stream-n1-greedy",
                                  "generate-unicode-stream", "generate-stream-n16-long"])
async def test_legacy_generate_recordings(name: str) -> None:
    rec = Recording.load(LEGACY / f"{name}.json")
    app = await run_recording(rec)
    state = app.run_state
    assert state is not None and state.status is Status.FINISHED, state and state.error
    assert state.server.api is Api.GENERATE
    shown = app.shown  # type: ignore[attr-defined]
    texts = sorted(raw for raw, *_ in shown.values() if raw)
    assert texts == expected_legacy(rec)
    for index, (raw, display, panel_state, status_line) in shown.items():
        assert display == make_inert(raw, tab_size=4)
        if index in state.candidates:
            assert panel_state == "finished" and status_line.startswith("finished: reason unknown")
        else:
            # vLLM returned fewer than n: the panel says so, and so does the run's note.
            assert panel_state == "missing"
            assert any("of" in note and "candidates returned" in note for note in state.notes)
            assert any("candidates returned" in message for message in app.said)  # type: ignore[attr-defined]


async def run_recording_with(rec: Recording, config: ClientConfig) -> TuiClientApp:
    with ReplayServer(rec) as server:
        app = TuiClientApp(ClientConfig(**{**config.__dict__, "url": server.url}), request_for(rec))
        async with app.run_test(size=SIZE) as pilot:
            await asyncio.wait_for(app.workers.wait_for_complete(), 30)
            await pilot.press("ctrl+j")
            await wait_idle(app, pilot)
            app.panel_states = [p.panel_state for p in app.query_one(CandidateGrid).panels]  # type: ignore[attr-defined]
            app.panel_lines = [p.shown_lines for p in app.query_one(CandidateGrid).panels]  # type: ignore[attr-defined]
            app.posted = [r for r in server.received if r.method == "POST"]  # type: ignore[attr-defined]
    return app


@pytest.mark.parametrize(
    ("name", "model", "words"),
    [
        ("error-max-tokens-too-long", None, "400"),
        ("error-unknown-model", "nope", "404"),
        ("error-n0", None, "400"),  # the slider cannot go below 1; the recorded verdict is shown
    ],
)
async def test_server_errors_show_in_panels_and_a_notification(name: str, model: str | None, words: str) -> None:
    rec = Recording.load(OPENAI / f"{name}.json")
    app = await run_recording_with(rec, ClientConfig(api=Api.COMPLETIONS, model=model))
    state = app.run_state
    assert state is not None and state.status is Status.FAILED
    message = str(state.error)
    assert words in message
    assert any(n.severity == "error" and n.message == make_inert(message) for n in app._notifications)
    assert app.panel_states and all(s == "failed" for s in app.panel_states)  # type: ignore[attr-defined]
    assert all(any(message[:30] in line for line in lines) or any("error" in line for line in lines)
               for lines in app.panel_lines)  # type: ignore[attr-defined]


async def test_a_request_vllm_would_refuse_is_stopped_at_the_controls() -> None:
    rec = Recording.load(OPENAI / "error-beam-stream.json")  # beam search + stream
    rec.request["json"]["n"] = 11  # a live beam search of width 11 asks for 22 logprobs a step: over vLLM's 20
    app = await run_recording_with(rec, ClientConfig())
    assert app.run_state is None
    assert app.posted == []  # type: ignore[attr-defined]
    assert any(n.severity == "error" for n in app._notifications)
