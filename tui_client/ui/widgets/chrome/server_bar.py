"""The top line: which server, which protocol, which model, and whether it answers."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Label

from tui_client.core.protocol import ServerInfo
from tui_client.core.protocol.errors import without_userinfo
from tui_client.core.text.inert_text import make_inert

CONNECTION_STATES = ("unknown", "connecting", "connected", "failed")
_STATE_TEXT = {
    "unknown": "○ not checked",
    "connecting": "◌ connecting…",
    "connected": "● connected",
    "failed": "✗ unreachable",
}


class ServerBar(Horizontal):
    """``tui-client │ ● connected │ URL │ protocol │ model │ note``."""

    def __init__(self, server: ServerInfo, *, note: str | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self._server = server
        self._note = note
        self.connection = "unknown"

    def compose(self) -> ComposeResult:
        yield Label(Content("tui-client"), id="app-name")
        yield Label(Content(_STATE_TEXT["unknown"]), id="connection-state", classes="-unknown")
        yield Label(id="server-url")
        yield Label(id="server-api")
        yield Label(id="server-model")
        yield Label(Content(self._note or ""), id="server-note")

    def on_mount(self) -> None:
        self.set_server(self._server)
        self.query_one("#server-note").display = bool(self._note)

    def set_server(self, server: ServerInfo) -> None:
        """Show where we talk to (URL, protocol once detected, model)."""
        self._server = server
        self.query_one("#server-url", Label).update(Content(make_inert(without_userinfo(server.url))))
        api = self.query_one("#server-api", Label)
        api.update(Content(server.api.value if server.api else "protocol ?"))
        api.set_class(server.api is None, "-unknown")
        model = self.query_one("#server-model", Label)
        model.update(Content(make_inert(server.model) if server.model else "no model name"))
        model.set_class(server.model is None, "-unknown")

    def set_connection(self, state: str) -> None:
        """One of :data:`CONNECTION_STATES`."""
        self.connection = state
        label = self.query_one("#connection-state", Label)
        label.update(Content(_STATE_TEXT[state]))
        label.remove_class(*(f"-{s}" for s in CONNECTION_STATES))
        label.add_class(f"-{state}")
