"""The prompt's text area: typed characters that come in a burst go in as one edit."""

from __future__ import annotations

from textual import events
from textual.strip import Strip
from textual.widgets import TextArea

from tui_client.ui.rendering.folded_strip import fold_strip

__all__ = ["PromptArea"]


class PromptArea(TextArea):
    """A :class:`TextArea` that inserts the printable keys (and enter) queued up as one edit.

    Textual's TextArea re-wraps the cursor's whole line and measures it again at every
    edit, so a long one-line prompt pasted as keys (a terminal without bracketed paste,
    tmux's plain paste) costs time per key that grows with the line: quadratic in all.
    Here the keys waiting in the queue become one insert, made before any other key,
    click or action is handled, so what the prompt ends up holding is the same.

    Lines are drawn without VS16, ZWJ and skin tones (:func:`fold_strip`), so an emoji
    such as ``❤️`` takes the cells the terminal gives it; the text keeps them."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._typed: list[str] = []

    @property  # type: ignore[override]
    def text(self) -> str:
        """The prompt, with the typed text still waiting (a key binding may read it first)."""
        self.insert_typed()
        return super().text

    @text.setter
    def text(self, text: str) -> None:
        self._typed = []
        TextArea.text.fset(self, text)  # type: ignore[attr-defined]

    @property
    def pending_typed(self) -> str:
        """Typed text not inserted yet (empty once the key queue is drained)."""
        return "".join(self._typed)

    async def _on_key(self, event: events.Key) -> None:
        typed = "\n" if event.key == "enter" else event.character if event.is_printable else None
        if typed and not self.read_only:
            self._restart_blink()
            event.stop()
            event.prevent_default()
            if not self._typed:
                self.call_later(self.insert_typed)
            self._typed.append(typed)
            return
        self.insert_typed()
        await super()._on_key(event)

    def insert_typed(self) -> None:
        """Insert the typed text waiting, in place of the selection (as typing does)."""
        if not self._typed:
            return
        text, self._typed = "".join(self._typed), []
        start, end = self.selection
        self._replace_via_keyboard(text, start, end)

    def render_line(self, y: int) -> Strip:
        return fold_strip(super().render_line(y))

    async def _on_mouse_down(self, event: events.MouseDown) -> None:
        self.insert_typed()  # the click places the cursor after the text typed before it
        await super()._on_mouse_down(event)
