"""A labelled on/off switch on one row, with its state spelled out ("on" / "off")."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Label, Switch


class SwitchRow(Horizontal):
    """``label  [switch] on``: the word makes the state readable in any theme."""

    def __init__(self, label: str, value: bool, *, switch_id: str, tooltip: str) -> None:
        super().__init__(classes="field-row")
        self._label, self._value, self._switch_id, self._tooltip = label, value, switch_id, tooltip

    def compose(self) -> ComposeResult:
        yield Label(Content(self._label), classes="field-label")
        switch = Switch(self._value, animate=False, id=self._switch_id)
        switch.tooltip = self._tooltip
        yield switch
        yield Label(Content(self._state_word(self._value)), classes="switch-state")

    @staticmethod
    def _state_word(value: bool) -> str:
        return "on" if value else "off"

    @on(Switch.Changed)
    def _show_state(self, event: Switch.Changed) -> None:
        self.query_one(".switch-state", Label).update(Content(self._state_word(event.value)))
