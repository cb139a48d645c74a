"""Comparing servers (``x``): candidate 0 of each server side by side, the text they all share
dimmed and where each departs from it on, so what the servers make of the same request reads
across. Model text is drawn as inert rich Text, never as markup."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from tui_client.core.protocol.compare import ServerGroup
from tui_client.core.text.inert_text import make_inert
from tui_client.ui.keys import bindings_for


def across_texts(groups: Sequence[ServerGroup]) -> tuple[list[str | None], int]:
    """Candidate 0's text of each group (None: the server sent none) and how long a prefix they all share."""
    texts = [g.state.candidates[0].text if 0 in g.state.candidates else None for g in groups]
    present = [t for t in texts if t is not None]
    return texts, len(os.path.commonprefix(present)) if len(present) > 1 else 0


class CompareAcrossScreen(ModalScreen[None]):
    """``CompareAcrossScreen(groups)``: one column per server, candidate 0 in each."""

    BINDINGS: ClassVar[list[BindingType]] = bindings_for("compare_across")
    CSS_PATH = "compare_across_screen.tcss"

    def __init__(self, groups: Sequence[ServerGroup]) -> None:
        super().__init__()
        self._groups = list(groups)

    def compose(self) -> ComposeResult:
        texts, shared = across_texts(self._groups)
        with Vertical(id="across"):
            yield Static(Content(f"Candidate 0 of each server · shared prefix {shared:,} chars (dimmed) · "
                                 "escape or x: back"), id="across-head")
            with Horizontal(id="across-columns"):
                for group, text in zip(self._groups, texts):
                    column = VerticalScroll(classes="across-column")
                    column.border_title = Content(f"{group.label} · Candidate 0")
                    column.border_subtitle = Content(_status(group))
                    with column:
                        yield Static(_marked(text, shared), classes="across-text")

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()


def _status(group: ServerGroup) -> str:
    state = group.state
    cand = state.candidates.get(0)
    if cand is None:
        return f"{state.status.value}: {make_inert(str(state.error))}" if state.error else state.status.value
    reason = f" ({cand.finish_reason})" if cand.finish_reason else ""
    return f"{cand.status.value}{reason} · {cand.length:,} chars"


def _marked(text: str | None, shared: int) -> Text:
    if text is None:
        return Text("(no candidate 0)", style="italic dim")
    return Text.assemble((make_inert(text[:shared]), "dim"), make_inert(text[shared:]))
