"""An SVG snapshot of a comparison (``--snapshot-update`` to record): the demo server (completions)
beside a legacy /generate recording, one group of four panels each, a summary line per server.
What varies from run to run (ports, timings, the cursor) is pinned before it is taken."""

from __future__ import annotations

import asyncio

from expected import request_for
from pilot import still_cursors, wait_drawn
from replay_server import LEGACY, OPENAI, Recording, ReplayServer
from textual.pilot import Pilot

from tui_client.core.protocol import ClientConfig, ServerInfo
from tui_client.core.protocol.compare import ServerTarget
from tui_client.ui.app import TuiClientApp
from tui_client.ui.widgets.chrome.server_bar import ServerBar

SHOWN_URL = "http://127.0.0.1:8000"
SHOWN_OTHER_URL = "http://127.0.0.1:8001"


async def run_and_settle(pilot: Pilot) -> None:
    app = pilot.app
    assert isinstance(app, TuiClientApp)
    await asyncio.wait_for(app.workers.wait_for_complete(), 30)
    await pilot.press("ctrl+j")
    await asyncio.wait_for(app.workers.wait_for_complete(), 30)
    still_cursors(app)
    info = app.server_info or app.session.describe()
    app.query_one(ServerBar).set_compare("demo", [("legacy", SHOWN_OTHER_URL)])
    app.query_one(ServerBar).set_server(ServerInfo(SHOWN_URL, info.api, info.model))
    compare = app.session.compare
    assert compare is not None
    for group in compare.groups:
        state = group.state
        state.first_text_at, state.ended_at = 0.05, 1.25
        for cand in state.candidates.values():
            cand.first_text_at, cand.last_text_at = 0.05, 1.2
    app.pacer.flush()
    await pilot.pause()
    await wait_drawn(app, pilot)


def test_two_servers_compared(snap_compare, demo_url: str) -> None:
    request = request_for(Recording.load(OPENAI / "completions-stream-n4.json"))
    with ReplayServer(LEGACY / "generate-stream-n4.json") as legacy:
        app = TuiClientApp(ClientConfig(url=demo_url), request, demo_url_note="embedded demo server",
                           compare=[ServerTarget("legacy", legacy.url)], label="demo")
        assert snap_compare(app, terminal_size=(160, 48), run_before=run_and_settle)
