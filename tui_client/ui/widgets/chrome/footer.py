"""The key bar at the bottom of the main screen.

Textual's :class:`~textual.widgets.Footer` mounts its keys anew whenever the bindings
may have changed (focus moves, a run starts or ends), and mounting lays out the whole
screen. :class:`AppFooter` rebuilds them only when the keys shown change; a key that
only turns on or off (dimmed) is restyled in place.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer

from tui_client.ui.textual_compat import (
    FooterKey,
    footer_key_disabled,
    mark_footer_bindings_ready,
    set_footer_key_disabled,
)

__all__ = ["AppFooter"]


class AppFooter(Footer):
    """The footer; keys of :data:`WIDE_ONLY` actions (and of :data:`WIDE_ONLY_WHEN_OFF`
    ones while they are off) step aside on narrow screens (the ``-narrow`` screen class);
    keys are rebuilt only when the keys shown change."""

    WIDE_ONLY: ClassVar[frozenset[str]] = frozenset({"reconnect"})  # the banner names its key when it matters
    WIDE_ONLY_WHEN_OFF: ClassVar[frozenset[str]] = frozenset({"cancel", "sort"})  # shown on narrow screens while it works

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            if isinstance(widget, FooterKey):
                if widget.action in self.WIDE_ONLY:
                    widget.add_class("-wide-only")
                elif widget.action in self.WIDE_ONLY_WHEN_OFF:
                    widget.add_class("-wide-only-when-off")
            yield widget

    def bindings_changed(self, screen: Screen) -> None:
        mark_footer_bindings_ready(self)
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen:
            self.call_after_refresh(self._update_keys)

    async def _update_keys(self) -> None:
        if not self.is_attached:
            return
        wanted = list(self.compose())
        shown = list(self.children)
        if [_identity(w) for w in wanted] != [_identity(w) for w in shown]:
            await self.recompose()
            return
        for new, old in zip(wanted, shown, strict=True):
            if isinstance(new, FooterKey) and isinstance(old, FooterKey):
                disabled = footer_key_disabled(new)
                if disabled != footer_key_disabled(old):
                    set_footer_key_disabled(old, disabled)
                if new.tooltip != old.tooltip:
                    old.tooltip = new.tooltip


_STATE_CLASSES = frozenset({"-disabled", "-compact"})  # on or off; compact comes from the footer once mounted


def _identity(widget: Widget) -> tuple[object, ...]:
    """What a footer item shows, apart from being on or off (dimmed)."""
    classes = frozenset(widget.classes - _STATE_CLASSES)
    if isinstance(widget, FooterKey):
        return (FooterKey, widget.key, widget.key_display, widget.description, widget.action, classes)
    return (type(widget), classes)
