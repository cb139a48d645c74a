"""Helpers for driving the app through Textual's Pilot, as a user would."""

from __future__ import annotations

import asyncio

from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from tui_client.core.protocol import ClientConfig, GenerationRequest, SamplingParams
from tui_client.core.text.inert_text import make_inert
from tui_client.ui.app import TuiClientApp
from tui_client.ui.widgets.candidates.grid import CandidateGrid
from tui_client.ui.widgets.candidates.panel import CandidatePanel

SIZE = (160, 48)


def make_app(url: str, prompt: str = "Once upon a time", **params: object) -> TuiClientApp:
    stream = bool(params.pop("stream", True))
    defaults: dict[str, object] = {"n": 4, "temperature": 0.8, "max_tokens": 32, "seed": 7}
    request = GenerationRequest(prompt, SamplingParams(**{**defaults, **params}), stream=stream)  # type: ignore[arg-type]
    return TuiClientApp(ClientConfig(url=url), request)


async def wait_idle(app: TuiClientApp, pilot: Pilot, timeout: float = 30) -> None:
    """Wait for every worker (run, connect) to end, then for the final frames."""
    await asyncio.wait_for(app.workers.wait_for_complete(), timeout)
    await pilot.pause()
    await wait_drawn(app, pilot)


async def wait_drawn(app: TuiClientApp, pilot: Pilot, timeout: float = 10) -> None:
    """Wait until every panel in view shows the latest state (a frame draws a few panels
    at a time when they are slow to draw: the rest follow in the next frames)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while app.main.grid.pending:
        assert asyncio.get_running_loop().time() < deadline, "panels were left undrawn"
        await pilot.pause(0.01)
    await pilot.pause()


async def run_to_end(app: TuiClientApp, pilot: Pilot, key: str = "ctrl+j") -> None:
    await pilot.press(key)
    await wait_idle(app, pilot)


async def type_text(pilot: Pilot, text: str) -> None:
    await pilot.press(*("space" if ch == " " else ch for ch in text))


def panels(app: TuiClientApp) -> list[CandidatePanel]:
    return app.query_one(CandidateGrid).panels


def assert_panels_match_state(app: TuiClientApp) -> None:
    """Every panel shows exactly its candidate's text, made inert, and its status."""
    state = app.run_state
    assert state is not None
    shown = panels(app)
    assert [p.index for p in shown] == list(range(len(shown)))
    assert set(state.candidates) <= {p.index for p in shown}
    for panel in shown:
        cand = state.candidates.get(panel.index)
        text = cand.text if cand else ""
        assert panel.raw_text == text
        assert panel.display_text == make_inert(text, tab_size=4)
        if cand is not None and cand.text and not panel.stale:
            # Following the end: the last line is on screen; else (not streamed) the first.
            lines = [line.rstrip() for line in panel.shown_lines]
            visible = panel.visible_lines()
            if panel.following:
                assert panel.scroll_y == panel.max_scroll_y
                assert lines[-1] in visible
            else:
                assert visible[0] == lines[0]


def still_cursors(app: TuiClientApp) -> None:
    """No blinking cursor in a snapshot: every text field drawn with its cursor on."""
    for widget in app.query(TextArea):
        widget.cursor_blink = False
        # Textual 8.2.8 keys its line cache on the cursor only while it blinks: a line drawn
        # in the blink's off phase would be reused, cursorless. Draw the lines anew.
        widget._line_cache.clear()
        widget.refresh()
    for widget in app.query(Input):
        widget.cursor_blink = False
