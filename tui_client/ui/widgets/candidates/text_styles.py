"""The text styles every candidate panel shares, held by one hidden widget.

Textual restyles all of a widget's component classes whenever the widget itself is
restyled, and a panel is restyled whenever its state class changes (waiting,
streaming, finished...): five component classes cost ~0.75 ms a panel, most of the
final frame of an n=64 run. The styles do not depend on a panel's state, so they
live here, on one widget restyled only with the theme, and the panels read them.
"""

from __future__ import annotations

from typing import ClassVar

from textual.widget import Widget

__all__ = ["PanelTextStyles"]


class PanelTextStyles(Widget):
    """Never shown (``display: none``); its component classes style the panels' text.
    :attr:`version` moves on each restyle: panels then draw their rows again."""

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
