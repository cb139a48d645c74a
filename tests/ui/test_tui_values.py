"""Values the TUI is given or reads back (issue #16): no secret shown, bad values refused with a reason."""

from __future__ import annotations

from pilot import SIZE
from textual.widgets import Label, Static

from tui_client.core.protocol import ClientConfig
from tui_client.ui.app import TuiClientApp
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
