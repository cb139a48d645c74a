"""Shown when no server answers: what went wrong and what to try; hidden otherwise."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Static

from tui_client.core.protocol.errors import without_userinfo
from tui_client.core.text.inert_text import make_inert


class ConnectionBanner(Vertical):
    """A calm, readable explanation instead of a traceback."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.message = ""

    def compose(self) -> ComposeResult:
        yield Static(id="banner-title")
        yield Static(id="banner-message")
        yield Static(id="banner-hints")

    def on_mount(self) -> None:
        self.display = False

    def show_problem(self, url: str, message: str, *, retry_key: str) -> None:
        """Explain that ``url`` does not answer (``message`` is the client's one-liner)."""
        self.message = message
        self.query_one("#banner-title", Static).update(Content(f"✗ No answer from {make_inert(without_userinfo(url))}"))
        self.query_one("#banner-message", Static).update(Content(make_inert(message)))
        hints = Content.assemble(
            ("Try  ", "dim"),
            ("tui-client --demo", "bold"),
            (" (built-in demo server)  ·  ", "dim"),
            ("tui-client --url http://HOST:PORT", "bold"),
            ("  ·  ", "dim"),
            (retry_key, "bold"),
            (" to retry", "dim"),
        )
        self.query_one("#banner-hints", Static).update(hints)
        self.display = True

    def hide(self) -> None:
        self.display = False
        self.message = ""
