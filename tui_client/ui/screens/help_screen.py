"""F1 / ``?``: every key of the app, grouped by where it works."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from tui_client.ui.keys import bindings_for

KeyRows = list[tuple[str, ...]]
"""``(keys, what it does)``, or ``(keys, what it does, binding id)`` for remappable keys."""


class HelpScreen(ModalScreen[None]):
    """A modal list of keys; escape, F1, ``?`` or ``q`` closes it."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_for("help")
    CSS_PATH = "help_screen.tcss"

    def __init__(self, sections: list[tuple[str, KeyRows]]) -> None:
        super().__init__()
        self._sections = sections

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog"):
            yield Static(Content("Keys"), id="help-title")
            with VerticalScroll(id="help-body"):
                width = max((len(row[0]) for _, rows in self._sections for row in rows), default=8)
                id_width = max((len(row[2]) for _, rows in self._sections for row in rows if len(row) > 2), default=0)
                for title, rows in self._sections:
                    yield Static(Content(title), classes="help-section")
                    table = Table.grid(padding=(0, 2), expand=True)
                    table.add_column(style="bold", no_wrap=True, min_width=width)
                    table.add_column(ratio=1)
                    table.add_column(style="dim", no_wrap=True, min_width=id_width)
                    for key, description, *binding_id in rows:
                        table.add_row(Text(key), Text(description), Text(binding_id[0] if binding_id else ""))
                    yield Static(table, classes="help-rows")
            yield Static(Content("escape closes · ^p command palette · remap a key: its id in the config's [keys]"),
                         id="help-footer")
