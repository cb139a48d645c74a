"""The text styles every candidate panel shares, held by one hidden widget.

Textual restyles a widget's component classes with the widget, and a panel is restyled
whenever its state class changes; these styles do not depend on the state, so they live
on one widget restyled only with the theme, and the panels read them from it.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.widget import Widget

__all__ = ["PanelTextStyles"]


class PanelTextStyles(Widget):
    """Never shown (``display: none``); its component classes style the panels' text.
    :attr:`version` moves on each restyle: panels then draw their rows again."""

    DEFAULT_CSS = Path(__file__).with_name("text_styles.tcss").read_text()

    version = 0

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self.version += 1

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "candidate-panel--notice",  # "waiting for text…" and other notices
        "candidate-panel--error",
        "candidate-panel--shared",  # the prefix every candidate shares (divergence on)
        "candidate-panel--unique",  # the first word where a candidate differs from all others
        "candidate-panel--tails-marker",  # "… 123 shared chars" (tails on)
    }
