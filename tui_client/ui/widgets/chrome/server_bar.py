"""The top line: which server, which protocol, which model, whether it answers, the other servers
compared, and the server's compact line (max_model_len; while a run goes or the server panel is
open, its load)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Label

from tui_client.core.protocol import ServerInfo
from tui_client.core.protocol.errors import without_userinfo
from tui_client.core.protocol.server_facts import ModelCard, ServerFacts
from tui_client.core.text.inert_text import make_inert

FACTS_ROOM = len("A: max_model_len 32768")
"""Cells kept for the facts beside the list of servers compared."""

CONNECTION_STATES = ("unknown", "connecting", "connected", "failed")
_STATE_TEXT = {
    "unknown": "○ not checked",
    "connecting": "◌ connecting…",
    "connected": "● connected",
    "failed": "✗ unreachable",
}


class ServerBar(Horizontal):
    """``tui-client │ ● connected │ URL │ protocol │ model │ + B URL · C URL │ facts │ note``
    (the ``+ B URL`` part only while comparing servers, the URL then labelled ``A``)."""

    def __init__(self, server: ServerInfo, *, note: str | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self._server = server
        self._note = note
        self._label: str | None = None  # this server's label while comparing servers
        self._facts = ""  # the facts line as given (shown with the label while comparing)
        self.connection = "unknown"

    def compose(self) -> ComposeResult:
        yield Label(Content("tui-client"), id="app-name")
        yield Label(Content(_STATE_TEXT["unknown"]), id="connection-state", classes="-unknown")
        yield Label(id="server-url")
        yield Label(id="server-api")
        yield Label(id="server-model")
        yield Label(id="server-compare")
        yield Label(id="server-facts")
        yield Label(Content(self._note or ""), id="server-note")

    def on_mount(self) -> None:
        self.set_server(self._server)
        self.query_one("#server-note").display = bool(self._note)
        self.query_one("#server-compare").display = False

    def on_resize(self) -> None:
        self._fit_compare()

    def _fit_compare(self) -> None:
        """The list of servers compared takes what the other labels and the facts' text leave (more
        servers than fit are ellipsised, the facts still shown)."""
        compare = self.query_one("#server-compare", Label)
        if not compare.display or not self.size.width:
            return
        facts = self.query_one("#server-facts", Label)
        taken = sum(label.outer_size.width for label in self.query(Label)
                    if label.display and label not in (compare, facts))
        if facts.display:  # room for the facts as they are, or as they will be once connected
            taken += facts.styles.gutter.width + max(FACTS_ROOM, Content(self._facts_text()).cell_length)
        compare.styles.max_width = max(8, self.size.width - taken)

    def set_server(self, server: ServerInfo) -> None:
        """Show where we talk to (URL, protocol once detected, model)."""
        self._server = server
        url = make_inert(without_userinfo(server.url))
        self.query_one("#server-url", Label).update(
            Content(url) if self._label is None else Content.assemble((self._label, "bold"), " ", url))
        api = self.query_one("#server-api", Label)
        api.update(Content(server.api.value if server.api else "protocol ?"))
        api.set_class(server.api is None, "-unknown")
        model = self.query_one("#server-model", Label)
        model.update(Content(make_inert(server.model) if server.model else "no model name"))
        model.set_class(server.model is None, "-unknown")
        self.call_after_refresh(self._fit_compare)

    def set_compare(self, label: str, others: list[tuple[str, str]]) -> None:
        """Comparing servers: this one is ``label``, ``others`` are ``(label, url)`` (empty: not comparing)."""
        self._label = label if others else None
        compare = self.query_one("#server-compare", Label)
        compare.update(Content.assemble("+ ", Content(" · ").join(
            Content.assemble((other, "bold"), " ", make_inert(without_userinfo(url))) for other, url in others)))
        compare.display = bool(others)
        self.set_server(self._server)
        self.set_facts(self._facts)

    def set_connection(self, state: str) -> None:
        """One of :data:`CONNECTION_STATES`."""
        self.connection = state
        label = self.query_one("#connection-state", Label)
        label.update(Content(_STATE_TEXT[state]))
        label.remove_class(*(f"-{s}" for s in CONNECTION_STATES))
        label.add_class(f"-{state}")
        self.call_after_refresh(self._fit_compare)

    def set_facts(self, line: str) -> None:
        """The server's compact line (see :func:`facts_line`); empty when nothing is known. Comparing,
        it says whose it is (``A: max_model_len 2048``): the facts are of this server alone."""
        self._facts = line
        # The label takes the bar's free width (1fr): new text never lays out the screen again.
        self.query_one("#server-facts", Label).update(Content(make_inert(self._facts_text())), layout=False)

    def _facts_text(self) -> str:
        line = self._facts
        return f"{self._label}: {line}" if line and self._label is not None else line


def facts_line(card: ModelCard | None, facts: ServerFacts | None = None) -> str:
    """``max_model_len 2048 · 2 running · 0 waiting · KV 3% · 412 tok/s``: what is known of it
    (``facts``: the load too, when ``/metrics`` answered)."""
    parts = [f"max_model_len {card.max_model_len}"] if card is not None and card.max_model_len else []
    metrics = facts.metrics if facts is not None else None
    if metrics is not None:
        if metrics.running is not None:
            parts.append(f"{metrics.running:g} running")
        if metrics.waiting is not None:
            parts.append(f"{metrics.waiting:g} waiting")
        if metrics.kv_cache is not None:
            parts.append(f"KV {metrics.kv_cache * 100:.0f}%")
        if facts is not None and facts.rates is not None and facts.rates.generation_tps is not None:
            parts.append(f"{facts.rates.generation_tps:.0f} tok/s")
    return " · ".join(parts)
