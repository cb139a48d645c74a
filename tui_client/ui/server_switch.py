"""Switching the API and the model in place (issue #17): the session gets a new client for the
next run (a run going keeps its own), the header says so at once, the chat-only controls follow,
and the model list is fetched in a worker (a server that is down leaves the last list)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from textual.app import SystemCommand

from tui_client.core.protocol import Api, ClientError, ServerInfo
from tui_client.core.text.inert_text import make_inert
from tui_client.ui.widgets.controls.server_choice import API_CHOICES, ServerChoice

if TYPE_CHECKING:
    from tui_client.ui.main_screen import MainScreen

__all__ = ["ServerSwitch", "describe_choice"]


def describe_choice(server: ServerInfo) -> str:
    """``chat · Qwen/Qwen3-0.6B`` (``auto`` / ``first listed`` while not known), inert."""
    api = server.api.value if server.api else "auto"
    if server.api is Api.GENERATE:
        return api
    return f"{api} · {make_inert(server.model) if server.model else 'the first model listed'}"


class ServerSwitch:
    """``ServerSwitch(main)``: applies :class:`ServerChoice.Chosen`, fetches the model list, and
    lists the palette's "Switch API" / "Switch model" entries."""

    def __init__(self, main: MainScreen) -> None:
        self.main = main

    @property
    def choice(self) -> ServerChoice:
        return self.main.sidebar.server_choice

    async def apply(self, api: Api | None, model: str | None) -> None:
        """The next run uses ``api`` and ``model`` (None: auto); /generate takes no model."""
        main = self.main
        session = main.app.session
        before = session.describe()
        if not await session.reconfigure(api=api, model=None if api is Api.GENERATE else model):
            return
        main.sidebar.set_api(api)  # auto: known once connected
        main.server_bar.set_server(session.describe())
        if session.client is None:
            main.server_bar.set_connection("failed")
            main.notify(make_inert(str(session.client_error)), title="Cannot switch", severity="error", markup=False)
            return
        main.check_connection(refresh=False)
        if main.running:
            main.notify(f"The run going keeps {describe_choice(before)}; the next run uses "
                        f"{describe_choice(session.describe())}", title="Switched", markup=False)

    def fetch_models(self) -> None:
        """Ask the server for its models, in a worker (the UI never waits for it)."""
        if self.main.app.session.client is not None:
            self.main.run_worker(self._fetch(), group="models", exclusive=True, exit_on_error=False)

    async def _fetch(self) -> None:
        session = self.main.app.session
        client = session.client
        if client is None:
            return
        try:
            models = await client.list_models()
        except ClientError as err:
            self.choice.models_failed(str(err))
            return
        except Exception as err:  # noqa: BLE001 - a surprise leaves the last list, said
            self.choice.models_failed(f"unexpected error: {err!r}")
            return
        self.choice.set_models(models)
        self.choice.show_detected(session.describe().model)

    def commands(self) -> Iterator[SystemCommand]:
        """One "Switch API: …" per API, one "Switch model: …" per model listed (none on /generate)."""
        choice = self.choice
        for label, api in API_CHOICES:
            now = " (now)" if api is choice.api else ""
            yield SystemCommand(f"Switch API: {label}{now}", "The API the next run uses (a run going keeps its own)",
                                lambda api=api: choice.choose(api, choice.model))  # type: ignore[misc]
        for card in () if choice.api is Api.GENERATE else choice.models or ():  # /generate takes no model
            now = " (now)" if card.id == (choice.model or self.main.app.session.describe().model) else ""
            size = f"max_model_len {card.max_model_len:,}; " if card.max_model_len else ""
            yield SystemCommand(f"Switch model: {make_inert(card.id, tab_size=1)}{now}",
                                f"{size}the model the next run uses",
                                lambda model=card.id: choice.choose(choice.api, model))  # type: ignore[misc]
