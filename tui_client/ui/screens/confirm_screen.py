"""A yes/no question in a small dialog: ``y`` / enter confirms, ``n`` / escape declines."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from tui_client.ui.keys import bindings_for


class ConfirmScreen(ModalScreen[bool]):
    """``ConfirmScreen(question, yes="Delete")``: dismisses with True (yes) or False."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_for("confirm")
    CSS_PATH = "confirm_screen.tcss"

    def __init__(self, question: str, *, yes: str = "Yes", no: str = "Cancel") -> None:
        super().__init__()
        self._question = question
        self._yes = yes
        self._no = no

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog"):
            yield Static(Content(self._question), id="confirm-question")
            with Horizontal(id="confirm-buttons"):
                yield Button(Content(f"{self._yes} (y)"), variant="error", id="confirm-yes")
                yield Button(Content(f"{self._no} (n)"), id="confirm-no")

    def on_mount(self) -> None:
        self.query_one("#confirm-no", Button).focus()

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "confirm-yes")
