"""An :class:`Input` drawn without VS16, ZWJ and skin tones (see :func:`fold_strip`)."""

from __future__ import annotations

from textual.strip import Strip
from textual.widgets import Input

from tui_client.ui.rendering.folded_strip import fold_strip
from tui_client.ui.textual_compat import QuietInputValue

__all__ = ["FoldedInput"]


class FoldedInput(QuietInputValue, Input):
    """An input whose emoji take the cells the terminal gives them; its value keeps them. A key
    typed repaints it alone, not the screen's layout (:class:`QuietInputValue`)."""

    def render_line(self, y: int) -> Strip:
        return fold_strip(super().render_line(y))
