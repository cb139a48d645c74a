"""Two rows of the controls: the API the next run uses (auto / completions / chat / generate) and
the model, picked from the server's ``/v1/models``, with a line saying why the list is missing.

A choice the user makes posts :class:`ServerChoice.Chosen`; what the app shows (the list, the
model it detected) changes the rows without posting anything.
"""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Label, Select

from tui_client.core.protocol import Api, ModelCard
from tui_client.core.text.inert_text import make_inert

__all__ = ["API_CHOICES", "ServerChoice", "model_label"]

API_CHOICES: tuple[tuple[str, Api | None], ...] = (
    ("auto", None), ("completions", Api.COMPLETIONS), ("chat", Api.CHAT), ("generate", Api.GENERATE))
"""The API selector's entries: auto asks ``/v1/models`` and falls back to ``/generate``."""

_AUTO = "auto"


def model_label(card: ModelCard) -> str:
    """``Qwen/Qwen3-0.6B · 4,096`` (the context length when the server gives it), inert."""
    name = make_inert(card.id, tab_size=1).replace("\n", " ")
    return f"{name} · {card.max_model_len:,}" if card.max_model_len else name


class ServerChoice(Vertical):
    """``api [auto ▼]``, ``model  2 listed`` over ``[id · max_model_len ▼]``, and a note under them."""

    DEFAULT_CSS = Path(__file__).with_name("server_choice.tcss").read_text()

    class Chosen(Message):
        """The user chose another API or model for the next run (None: auto)."""

        def __init__(self, api: Api | None, model: str | None) -> None:
            super().__init__()
            self.api, self.model = api, model

    def __init__(self, api: Api | None, model: str | None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.api, self.model = api, model
        """What the next run is to use (None: auto), as the user chose it."""
        self.models: list[ModelCard] | None = []
        """The last list the server gave (None: it has none, a legacy server); [] before any."""
        self._shown_api = api.value if api else _AUTO
        self._shown_model: object = model if model is not None else Select.NULL

    def compose(self) -> ComposeResult:
        with Horizontal(classes="field-row"):
            yield Label(Content("api"), classes="field-label")
            yield Select([(Content(label), label) for label, _ in API_CHOICES], value=self._shown_api,
                         allow_blank=False, compact=True, id="api-choice",
                         tooltip="the API the next run uses; auto asks /v1/models, else /generate")
        with Horizontal(classes="field-row"):
            yield Label(Content("model"), classes="field-label")
            yield Label(Content("loading…"), id="model-count")
        yield Select(self._model_options(), value=self._shown_model, prompt="first listed", compact=True,
                     id="model-choice", tooltip="the model the next run uses, from the server's /v1/models "
                     "(· its max_model_len)")
        yield Label(id="model-note", markup=False)

    def on_mount(self) -> None:
        self.query_one("#model-note").display = False
        self._sync_model_select()

    # -- what the app shows -------------------------------------------------------------

    def set_models(self, models: list[ModelCard] | None) -> None:
        """The server's list (None: it has no ``/v1/models``, a legacy ``/generate`` server)."""
        self.models = models
        self._note("this server has no model list (legacy /generate)" if models is None else None)
        self._sync_model_select()

    def models_failed(self, reason: str) -> None:
        """The list could not be fetched: the last one stays, and the note says why."""
        kept = " (the last list is kept)" if self.models else ""
        self._note(f"model list: {reason.split(': ')[0]}{kept}")  # its first part: the column is narrow
        self.query_one("#model-note", Label).tooltip = make_inert(reason)
        self._sync_model_select()

    def show_detected(self, model: str | None) -> None:
        """The model the server settled on (auto): shown as the picker's value, not a choice."""
        if self.model is None and model is not None and model in self._model_values():
            self._set_quietly(model)

    def choose(self, api: Api | None, model: str | None) -> None:
        """Choose for the user (the palette): the rows show it and :class:`Chosen` is posted."""
        self.api, self.model = api, model
        self._shown_api = api.value if api else _AUTO
        self.query_one("#api-choice", Select).value = self._shown_api
        self._sync_model_select()
        self.post_message(self.Chosen(api, model))

    # -- rows -----------------------------------------------------------------------------

    def _model_values(self) -> list[str]:
        values = [card.id for card in self.models or ()]
        if self.model is not None and self.model not in values:
            values.insert(0, self.model)
        return values

    def _model_options(self) -> list[tuple[Content, str]]:
        listed = {card.id: card for card in self.models or ()}
        options = [(Content(model_label(listed[value])) if value in listed else
                    Content(f"{make_inert(value, tab_size=1)} (not listed)"), value) for value in self._model_values()]
        return options

    def _sync_model_select(self) -> None:
        select = self.query_one("#model-choice", Select)
        values = self._model_values()
        legacy = self.api is Api.GENERATE or self.models is None
        select.prompt = "none" if legacy else "first listed"  # the blank entry: auto
        select.set_options(self._model_options())
        shown = self.model if self.model is not None else (
            self._shown_model if self._shown_model in values else Select.NULL)
        self._set_quietly(shown)
        select.disabled = legacy or not values
        listed = len(self.models or ())
        self.query_one("#model-count", Label).update(Content(
            "none on /generate" if self.api is Api.GENERATE else "no list (legacy)" if self.models is None
            else f"{listed} listed" if listed else "loading…"))

    def _set_quietly(self, value: object) -> None:
        self._shown_model = value
        self.query_one("#model-choice", Select).value = value  # type: ignore[assignment]

    def _note(self, text: str | None) -> None:
        note = self.query_one("#model-note", Label)
        note.update(Content(make_inert(text) if text else ""))
        note.display = bool(text)
        note.tooltip = None

    @on(Select.Changed, "#api-choice")
    def _api_changed(self, event: Select.Changed) -> None:
        event.stop()
        if event.value == self._shown_api or event.value != event.select.value or not isinstance(event.value, str):
            return  # set by the app, or a value since replaced
        self._shown_api = event.value
        self.api = dict(API_CHOICES)[event.value]
        self._sync_model_select()
        self.post_message(self.Chosen(self.api, self.model))

    @on(Select.Changed, "#model-choice")
    def _model_changed(self, event: Select.Changed) -> None:
        event.stop()
        if event.value == self._shown_model or event.value != event.select.value:
            return  # set by the app, or a value since replaced (the list set again)
        self._shown_model = event.value
        model = event.value if isinstance(event.value, str) else None  # the blank entry: the first listed
        if model != self.model:
            self.model = model
            self.post_message(self.Chosen(self.api, self.model))
