"""SVG snapshots of the main states (pytest-textual-snapshot; ``--snapshot-update`` to record).

Runs use the demo server with a fixed seed, so the texts are the same every time;
what varies from run to run (the loopback port, timings, the cursor blink) is
pinned before the snapshot is taken.
"""

from __future__ import annotations

import asyncio

from pilot import still_cursors, wait_drawn
from textual.pilot import Pilot

from tui_client.core.protocol import (
    Api,
    ClientConfig,
    GenerationRequest,
    SamplingParams,
    ServerInfo,
)
from tui_client.ui.app import TuiClientApp
from tui_client.ui.widgets.chrome.server_bar import ServerBar

SHOWN_URL = "http://127.0.0.1:8000"
DOWN_URL = "http://127.0.0.1:9"  # the discard port: nothing listens on loopback


def demo_app(url: str, n: int = 4, prompt: str = "Once upon a time", **params: object) -> TuiClientApp:
    request = GenerationRequest(prompt, SamplingParams(n=n, temperature=0.8, max_tokens=48, **{"seed": 42, **params}))  # type: ignore[arg-type]
    return TuiClientApp(ClientConfig(url=url), request, demo_url_note="embedded demo server")


async def settle(pilot: Pilot) -> None:
    """Wait for the workers, pin what varies (URL, timings, cursor), draw once more."""
    app = pilot.app
    assert isinstance(app, TuiClientApp)
    await asyncio.wait_for(app.workers.wait_for_complete(), 30)
    still_cursors(app)
    if app.server_info is not None:
        app.query_one(ServerBar).set_server(ServerInfo(SHOWN_URL, app.server_info.api, app.server_info.model))
    state = app.run_state
    if state is not None:
        state.first_text_at = 0.05
        state.ended_at = 1.25
        for cand in state.candidates.values():
            cand.first_text_at = 0.05
            cand.last_text_at = 1.2
        app.pacer.flush()
    await pilot.pause()
    await wait_drawn(app, pilot)


async def run_demo(pilot: Pilot) -> None:
    await asyncio.wait_for(pilot.app.workers.wait_for_complete(), 30)
    await pilot.press("ctrl+j")
    await settle(pilot)


def test_idle(snap_compare, demo_url: str) -> None:
    assert snap_compare(demo_app(demo_url), terminal_size=(120, 34), run_before=settle)


def test_finished_demo_run(snap_compare, demo_url: str) -> None:
    assert snap_compare(demo_app(demo_url), terminal_size=(160, 44), run_before=run_demo)


def test_narrow_layout(snap_compare, demo_url: str) -> None:
    assert snap_compare(demo_app(demo_url, n=3), terminal_size=(80, 24), run_before=run_demo)


def test_server_down_banner(snap_compare) -> None:
    app = TuiClientApp(ClientConfig(url=DOWN_URL), GenerationRequest("Hello", SamplingParams(n=4, temperature=0.8, max_tokens=64)))
    assert snap_compare(app, terminal_size=(120, 34), run_before=settle)


def test_help_screen(snap_compare, demo_url: str) -> None:
    async def open_help(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("f1")
        await pilot.pause()

    assert snap_compare(demo_app(demo_url), terminal_size=(120, 44), run_before=open_help)


def test_chat_protocol_shown_in_the_header(snap_compare, demo_url: str) -> None:
    app = TuiClientApp(ClientConfig(url=demo_url, api=Api.CHAT), GenerationRequest("Hi", SamplingParams(n=2, temperature=0.8, max_tokens=24, seed=3)))
    assert snap_compare(app, terminal_size=(100, 24), run_before=run_demo)


def test_divergence_view(snap_compare, demo_url: str) -> None:
    """d: the shared prefix dimmed, each candidate's first unique word highlighted."""

    async def run_and_mark(pilot: Pilot) -> None:
        await run_demo(pilot)
        await pilot.press("ctrl+o", "d")
        await settle(pilot)

    app = demo_app(demo_url, seed=7)
    assert snap_compare(app, terminal_size=(160, 44), run_before=run_and_mark)


def test_history_screen(snap_compare, demo_url: str, monkeypatch) -> None:
    """F2 after three runs: newest first, times and URLs pinned."""
    import sqlite3
    import time

    from tui_client.core.storage.history import default_path

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()

    async def three_runs_then_history(pilot: Pilot) -> None:
        app = pilot.app
        assert isinstance(app, TuiClientApp)
        for prompt in ("The sea", "The hill", "A storm on the moor"):
            app.main.prompt.load_text(prompt)
            await run_demo(pilot)
        with sqlite3.connect(default_path()) as db:
            db.execute("UPDATE runs SET created = 1767225600 + id * 61, url = ?", (SHOWN_URL,))
        await pilot.press("f2")
        await asyncio.wait_for(app.workers.wait_for_complete(), 30)
        await pilot.pause()

    try:
        assert snap_compare(demo_app(demo_url, n=2), terminal_size=(120, 30), run_before=three_runs_then_history)
    finally:
        monkeypatch.undo()
        time.tzset()


def test_probability_view_and_token_inspector(snap_compare) -> None:
    """p, d and i on a real vLLM's logprobs (replayed): tokens shaded, the inspector open where
    the candidates part, at candidate 0's first token (" a", 1.0%)."""
    from expected import request_for
    from replay_server import OPENAI, Recording, ReplayServer

    async def shade_and_inspect(pilot: Pilot) -> None:
        await run_demo(pilot)
        await pilot.press("ctrl+o")
        await pilot.pause()
        await pilot.press("p", "d", "i")
        await settle(pilot)

    rec = Recording.load(OPENAI / "completions-stream-logprobs-n2.json")
    with ReplayServer(rec) as server:
        app = TuiClientApp(ClientConfig(url=server.url), request_for(rec))
        assert snap_compare(app, terminal_size=(140, 30), run_before=shade_and_inspect)


def test_server_panel(snap_compare) -> None:
    """F5 against the replay of a real vLLM 0.32: its recorded version, model and /metrics, one refresh."""
    from dataclasses import replace

    from replay_server import OPENAI, ReplayServer

    from tui_client.ui.screens.server_screen import ServerScreen

    async def open_panel(pilot: Pilot) -> None:
        app = pilot.app
        assert isinstance(app, TuiClientApp)
        await asyncio.wait_for(app.workers.wait_for_complete(), 30)
        app.main.server_polling.interval = 3600  # one refresh: the same picture every time
        await pilot.press("f5")
        for _ in range(500):
            screen = app.screen
            if isinstance(screen, ServerScreen) and screen.facts is not None:
                break
            await pilot.pause(0.02)
        assert isinstance(screen, ServerScreen) and screen.facts is not None
        watch = app.main.server_polling.watch
        assert watch is not None
        screen.show(replace(screen.facts, url=SHOWN_URL), tuple(watch.samples))  # not the loopback port
        await pilot.pause()

    with ReplayServer(OPENAI / "metrics.json", also=(OPENAI / "version.json",)) as server:
        assert snap_compare(demo_app(server.url), terminal_size=(120, 34), run_before=open_panel)
