"""Compare with a server: a small dialog asking its URL (``LABEL=URL`` names it); enter adds it,
escape goes back. The URL is checked here: a bad one is said in the dialog, which stays."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from tui_client.core.protocol import ClientError, normalize_url
from tui_client.core.protocol.compare import ServerTarget, parse_target
from tui_client.ui.keys import bindings_for


class CompareUrlScreen(ModalScreen[ServerTarget | None]):
    """``CompareUrlScreen(position, taken)``: dismisses with the server to add (labelled by ``position``
    unless the user names it; a label in ``taken`` is refused), or None."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_for("compare_url")
    CSS_PATH = "compare_url_screen.tcss"

    def __init__(self, position: int, taken: set[str], comparing: list[str]) -> None:
        super().__init__()
        self._position = position
        self._taken = taken
        self._comparing = comparing

    def compose(self) -> ComposeResult:
        with Vertical(id="compare-dialog"):
            now = f"Comparing {', '.join(self._comparing)}. " if len(self._comparing) > 1 else ""
            yield Static(Content(f"{now}Send each run to one more server too: its URL (or LABEL=URL). "
                                 "Its protocol and model are detected."), id="compare-question")
            yield Input(placeholder="http://host:8000", id="compare-url", max_length=2000)
            yield Static("", id="compare-problem")

    def on_mount(self) -> None:
        self.query_one("#compare-url", Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        problem = self.query_one("#compare-problem", Static)
        try:
            target = parse_target(event.value, self._position)
            normalize_url(target.url)
        except ValueError as err:
            problem.update(Content(str(err)))
            return
        except ClientError as err:
            problem.update(Content(err.message))
            return
        if target.label in self._taken:
            problem.update(Content(f"the label {target.label} is taken: give another, as LABEL=URL"))
            return
        self.dismiss(target)

    def action_cancel(self) -> None:
        self.dismiss(None)
