"""An :class:`Input` drawn without VS16, ZWJ and skin tones (see :func:`fold_strip`), whose typed
keys that come in a burst go in as one edit, up to a cap on its length."""

from __future__ import annotations

from typing import Any

from textual import events
from textual.strip import Strip
from textual.widgets import Input

from tui_client.ui.rendering.folded_strip import fold_strip
from tui_client.ui.rendering.tuning import SHORT_INPUT_MAX_CHARS
from tui_client.ui.textual_compat import QuietInputValue

__all__ = ["FoldedInput"]


class FoldedInput(QuietInputValue, Input):
    """An input whose emoji take the cells the terminal gives them; its value keeps them.

    A key typed repaints it alone, not the screen's layout (:class:`QuietInputValue`). The
    printable keys queued up go in as one edit (as :class:`PromptArea` does), and the value is
    capped at ``max_length`` (:data:`SHORT_INPUT_MAX_CHARS` unless told): a long paste that
    arrives as keys (a terminal without bracketed paste; its tabs move focus here) costs one
    edit per burst, not work growing with the value at every key. What is cut is said in one line.
    ``what`` names the field in that line ("the temperature field").
    """

    def __init__(self, *args: Any, what: str = "this field", max_length: int = SHORT_INPUT_MAX_CHARS,
                 **kwargs: Any) -> None:
        super().__init__(*args, max_length=max_length, **kwargs)
        self.what = what
        self._typed: list[str] = []
        self._bells = -1  # >= 0: restricted keys of a burst going in, counted (one bell for them all)

    def render_line(self, y: int) -> Strip:
        return fold_strip(super().render_line(y))

    async def _on_key(self, event: events.Key) -> None:
        if event.is_printable and event.character:
            self._restart_blink()
            event.stop()
            event.prevent_default()
            if not self._typed:
                self.call_later(self.insert_typed)
            self._typed.append(event.character)
            return
        self.insert_typed()
        await super()._on_key(event)

    def _on_paste(self, event: events.Paste) -> None:
        self.insert_typed()
        super()._on_paste(event)

    def insert_typed(self) -> None:
        """Insert the typed text waiting, in place of the selection, as far as the cap lets it."""
        if not self._typed:
            return
        text, self._typed = "".join(self._typed), []
        start, end = sorted(self.selection)
        room = max(0, self.max_length - (len(self.value) - (end - start)))
        kept = text[:room]
        before = self.value
        self._bells = 0
        try:
            self.replace(kept, start, end)  # one edit: one Changed, one validation
            if self.value == before and kept:  # refused whole (a letter in a number): key by key, as typing does
                self._bells = 0
                for char in kept:
                    self.replace(char, *sorted(self.selection))
        finally:
            bells, self._bells = self._bells, -1
        if bells:
            self.app.bell()
        if len(kept) < len(text):
            self.notify(f"{self.what[:1].upper()}{self.what[1:]} takes at most {self.max_length:,} characters: "
                        f"{len(text) - len(kept):,} typed were left out", severity="warning", markup=False)

    def restricted(self) -> None:
        if self._bells >= 0:
            self._bells += 1  # counted; insert_typed rings once
        else:
            super().restricted()
