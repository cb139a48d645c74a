"""When the server's facts are asked, and where they go: the header's compact line, the F5 panel.

Every :data:`SERVER_POLL_INTERVAL` seconds while the server panel is open or a run goes, one
worker asks :class:`~tui_client.core.protocol.server_facts.ServerWatch` to refresh (never two at
once: a tick while one is out is skipped, and each request has its own timeout, so a hanging
``/metrics`` stalls neither frames nor keys). Idle, nothing is asked: the header keeps only
``max_model_len``, which the protocol detection read from ``/v1/models``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.timer import Timer

from tui_client.core.defaults import SERVER_FACTS_TIMEOUT, SERVER_POLL_INTERVAL
from tui_client.core.protocol.server_facts import ServerFacts, ServerWatch, model_cards
from tui_client.ui.widgets.chrome.server_bar import facts_line

if TYPE_CHECKING:
    from tui_client.ui.main_screen import MainScreen
    from tui_client.ui.screens.server_screen import ServerScreen


class ServerPolling:
    """The main screen's poller of server facts (one per app)."""

    def __init__(self, main: MainScreen) -> None:
        self.main = main
        self.interval = SERVER_POLL_INTERVAL
        self.timeout = SERVER_FACTS_TIMEOUT
        self.watch: ServerWatch | None = None
        self.screen: ServerScreen | None = None
        """The server panel while it is open."""
        self.busy = False
        self._manual_pending = False
        self._timer: Timer | None = None

    @property
    def needed(self) -> bool:
        """Poll: the panel is open or a run goes."""
        return self.screen is not None or self.main.running

    def current_watch(self) -> ServerWatch | None:
        """The watch of the session's client (a new one if the client changed); None without a client."""
        client = self.main.app.session.client
        if client is None:
            return None
        if self.watch is None or self.watch.client is not client:
            self.watch = ServerWatch(client, interval=self.interval, timeout=self.timeout)
        return self.watch

    def connected(self) -> None:
        """The protocol was detected: the header shows max_model_len, from the cards it read."""
        client = self.main.app.session.client
        facts = self.watch.facts if self.watch is not None else None
        if facts is None and client is not None:
            model = self.main.app.session.describe().model
            cards = model_cards(client.cards_seen)
            card = next((c for c in cards if c.id == model), cards[0] if cards else None)
            self.main.server_bar.set_facts(facts_line(card))

    def opened(self, screen: ServerScreen) -> None:
        self.screen = screen
        self.wake()

    def closed(self) -> None:
        self.screen = None
        if self.main.app.is_running and self.main.is_attached:  # not while the app shuts down
            self.sleep_if_idle()

    def running_changed(self, running: bool) -> None:
        if running:
            self.wake()
        else:
            self.sleep_if_idle()

    def wake(self, *, manual: bool = False) -> None:
        """Ask now, then every interval while needed."""
        if self._timer is None:
            self._timer = self.main.set_interval(self.interval, self._tick)
        else:
            self._timer.resume()
        self.ask(manual=manual)

    def sleep_if_idle(self) -> None:
        """Neither panel nor run: stop asking; the header drops the load (it would go stale)."""
        if self.needed:
            return
        if self._timer is not None:
            self._timer.pause()
        self._show_header()

    def _tick(self) -> None:
        if self.needed:
            self.ask()
        else:
            self.sleep_if_idle()

    def ask(self, *, manual: bool = False) -> None:
        """One refresh in a worker, unless one is out already."""
        watch = self.current_watch()
        if watch is None or self.busy:
            if watch is None and self.screen is not None:
                self.screen.show_problem(str(self.main.app.session.client_error or "no server to ask"))
            self._manual_pending = self._manual_pending or (manual and watch is not None)  # once this one is back
            return
        self.busy = True
        self.main.run_worker(self._refresh(watch, manual), group="server-facts", exit_on_error=False)

    async def _refresh(self, watch: ServerWatch, manual: bool) -> None:
        try:
            facts = await watch.refresh(manual=manual)
        finally:
            self.busy = False
        if self._manual_pending:
            self._manual_pending = False
            self.ask(manual=True)
        self._show_header(facts)
        if self.screen is not None:
            self.screen.show(facts, tuple(watch.samples))

    def _show_header(self, facts: ServerFacts | None = None) -> None:
        facts = facts or (self.watch.facts if self.watch is not None else None)
        if facts is None:
            return
        card = facts.model(self.main.app.session.describe().model)
        self.main.server_bar.set_facts(facts_line(card, facts if self.needed else None))
