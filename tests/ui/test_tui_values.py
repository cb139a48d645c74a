"""Values the TUI is given or reads back (issue #16): no secret shown, bad values refused with a reason."""

from __future__ import annotations

import asyncio

from damaged_history import add_damaged_rows
from pilot import SIZE, make_app, run_to_end, wait_idle
from textual.widgets import Label, Static

from tui_client.core.protocol import ClientConfig
from tui_client.core.storage.history import default_path
from tui_client.ui.app import TuiClientApp
from tui_client.ui.screens.history_screen import HistoryScreen, RunTable
from tui_client.ui.widgets.chrome.connection_banner import ConnectionBanner


def _shown_text(app: TuiClientApp) -> str:
    """Everything the header, the banner and the notifications say."""
    parts = [str(w.render()) for w in app.query(Label)] + [str(w.render()) for w in app.query(Static)]
    parts += [n.message + (n.title or "") for n in app._notifications]
    return "\n".join(parts)


async def test_a_password_in_a_url_that_does_not_parse_is_never_shown() -> None:
    for url in ("http://alice:hunter2@127.0.0.1:99999", "ftp://alice:hunter2@x"):
        app = TuiClientApp(ClientConfig(url=url))
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            banner = app.query_one(ConnectionBanner)
            assert banner.display
            await pilot.press("ctrl+j")  # "Cannot run" notification
            await pilot.pause()
            shown = _shown_text(app)
            assert "alice" not in shown and "hunter2" not in shown, shown
            assert "127.0.0.1:99999" in shown or "ftp://x" in shown


async def test_f2_lists_the_readable_runs_when_one_row_is_damaged(demo_url: str) -> None:
    app = make_app(demo_url, "a good run", n=2)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await run_to_end(app, pilot)
        assert app.main.run_history_id == 1
        ids = add_damaged_rows(default_path())
        await pilot.press("f2")
        screen = app.screen
        assert isinstance(screen, HistoryScreen)
        await pilot.pause()
        await asyncio.wait_for(app.workers.wait_for_complete(), 30)
        await pilot.pause()
        count = str(screen.query_one("#history-count", Static).render())
        assert count.startswith("4 runs, newest first · 1 unreadable, not shown")
        table = screen.query_one(RunTable)
        shown = {str(table.get_row_at(i)[0]) for i in range(table.row_count)}
        assert shown == {"1", str(ids["error_kind"]), str(ids["json"]), str(ids["huge_max_tokens"])}
        # Opening the damaged one says why, and the app goes on.
        table.move_cursor(row=table.get_row_index(str(ids["json"])))
        await pilot.press("enter")
        await pilot.pause()
        await asyncio.wait_for(app.workers.wait_for_complete(), 30)
        await pilot.pause()
        assert any(f"run {ids['json']} cannot be read" in n.message for n in app._notifications)
        assert app.is_running and isinstance(app.screen, HistoryScreen)


async def test_a_model_on_the_legacy_generate_api_is_said_to_be_ignored(demo_url: str) -> None:
    request = make_app(demo_url, n=2).initial_request
    app = TuiClientApp(ClientConfig(url=f"{demo_url}/generate", model="qwen"), request)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(app, pilot)
        await run_to_end(app, pilot)
        said = [n.message for n in app._notifications if "qwen" in n.message]
        assert said == ["model 'qwen' ignored: the legacy /generate API takes no model name"]
