"""An :class:`Input` drawn without VS16, ZWJ and skin tones (see :func:`fold_strip`)."""

from __future__ import annotations

from textual.strip import Strip
from textual.widgets import Input

from tui_client.ui.rendering.folded_strip import fold_strip

__all__ = ["FoldedInput"]


class FoldedInput(Input):
    """An input whose emoji take the cells the terminal gives them; its value keeps them."""

    def render_line(self, y: int) -> Strip:
        return fold_strip(super().render_line(y))
