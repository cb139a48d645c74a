"""The text styles every candidate panel shares, held by one hidden widget.

Textual restyles a widget's component classes with the widget, and a panel is restyled
whenever its state class changes; these styles do not depend on the state, so they live
on one widget restyled only with the theme, and the panels read them from it.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.style import Style
from textual.color import Color
from textual.css.query import NoMatches
from textual.dom import NoScreen
from textual.strip import Strip
from textual.widget import Widget

from tui_client.ui.rendering.tuning import PROBABILITY_LEVELS, STRONGEST_SHADE
from tui_client.ui.widgets.candidates.scrollbar import bar_cells

__all__ = ["PanelLook", "PanelTextStyles"]

Styles = tuple[Style, Style, Style]
Marks = tuple[Style, Style, Style, Style]


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
        "candidate-panel--fork",  # a beam search: the new text of a rank just taken over, for a moment
        "candidate-panel--improbable",  # probability view: its background shades the least probable tokens
        "candidate-panel--token-cursor",  # the token inspector's cursor
    }


class PanelLook:
    """The styles one panel draws its rows in, computed once per style change: the panel's
    own text style with the shared :class:`PanelTextStyles` on top, and its scrollbar cells."""

    __slots__ = ("_bar_cells", "_base", "_cursor", "_marks", "_rows", "_shades", "_texts", "_texts_version", "_widget")

    def __init__(self, widget: Widget) -> None:
        self._widget = widget
        self._rows: Styles | None = None
        self._marks: Marks | None = None
        self._shades: tuple[Style, ...] | None = None
        self._cursor: Style | None = None
        self._bar_cells: tuple[Strip, Strip, Strip] | None = None
        self._base: Style | None = None  # the widget's text style the rows were drawn with
        self._texts: PanelTextStyles | None = None
        self._texts_version = -1  # PanelTextStyles.version the rows were drawn with

    def style_updated(self) -> bool:
        """After the widget's restyle; True when its rows must be drawn again. A state class
        changes the border only; the theme, or the tint of focus, changes the text's style."""
        self._bar_cells = None  # the scrollbar's colours: rebuilt when drawn
        base = self._widget.rich_style
        if base == self._base:
            return False
        self._base = base
        self._rows = self._marks = self._shades = self._cursor = None
        return True

    def text_styles_changed(self) -> bool:
        """Before a paint; True when the shared text styles changed since (the theme): the
        rows must be drawn again."""
        texts = self._text_styles()
        if texts is None or texts.version == self._texts_version:
            return False
        self._texts_version = texts.version
        self._rows = self._marks = self._shades = self._cursor = None
        return True

    def rows(self) -> Styles:
        """(text, notice, error) styles."""
        if self._rows is None:
            self._rows = (
                self._widget.rich_style,
                self._component_style("candidate-panel--notice"),
                self._component_style("candidate-panel--error"),
            )
        return self._rows

    def marks(self) -> Marks:
        """(shared, unique, tails marker) styles of the divergence view, and a beam's new text."""
        if self._marks is None:
            shared, unique, marker, fork = (
                self._component_style(name)
                for name in ("candidate-panel--shared", "candidate-panel--unique", "candidate-panel--tails-marker",
                             "candidate-panel--fork")
            )
            self._marks = (shared, unique, marker, fork)
        return self._marks

    def shades(self) -> tuple[Style, ...]:
        """The probability view's text style per level (see
        :func:`~.token_spans.probability_level`): level 0 is the plain text, each next one
        takes more of the ``--improbable`` background over the panel's, with text that
        contrasts with it (a single hue in steps of lightness: readable on dark and light
        themes, and by colour-blind eyes)."""
        if self._shades is None:
            base = self.rows()[0]
            texts = self._text_styles()
            back = Color.from_rich_color(base.bgcolor) if base.bgcolor is not None else self._widget.background_colors[1]
            target = texts.get_component_styles("candidate-panel--improbable").background if texts else Color(255, 166, 43)
            count = len(PROBABILITY_LEVELS)
            shades = [base]
            for level in range(1, count + 1):
                shade = back.blend(target.with_alpha(1.0), STRONGEST_SHADE * level / count)
                text = shade + shade.get_contrast_text(0.9)
                shades.append(base + Style(bgcolor=shade.rich_color, color=text.rich_color))
            self._shades = tuple(shades)
        return self._shades

    def token_styles(self) -> tuple[tuple[Style, ...], Style]:
        """(:meth:`shades`, :meth:`cursor`): what rows cut at their tokens are drawn in."""
        return self.shades(), self.cursor()

    def cursor(self) -> Style:
        """What the token inspector's cursor adds to a token's style."""
        if self._cursor is None:
            texts = self._text_styles()
            self._cursor = (texts.get_component_rich_style("candidate-panel--token-cursor", partial=True)
                            if texts else Style(reverse=True, bold=True))
        return self._cursor

    def bar_cell(self, cell: int) -> Strip:
        """The scrollbar's cell (a :class:`~.scrollbar.BarCell`), in the widget's
        ``scrollbar-color`` (and ``-active``) over its background."""
        if self._bar_cells is None:
            base = self.rows()[0]
            widget = self._widget
            back = Color.from_rich_color(base.bgcolor) if base.bgcolor is not None else widget.background_colors[1]
            styles = widget.styles
            self._bar_cells = bar_cells(base, back, styles.scrollbar_color, styles.scrollbar_color_active)
        return self._bar_cells[cell]

    def _component_style(self, name: str) -> Style:
        """The widget's style with text style ``name`` on top; a translucent colour
        (``$text-muted``) is blended over the background (a partial Rich style would drop
        its alpha: full white)."""
        base = self._widget.rich_style
        texts = self._text_styles()
        if texts is None:
            return base
        style = base + texts.get_component_rich_style(name, partial=True)
        styles = texts.get_component_styles(name)
        if styles.color.a < 1 and base.bgcolor is not None and styles.has_rule("color"):
            style += Style(color=(Color.from_rich_color(base.bgcolor) + styles.color).rich_color)
        return style

    def _text_styles(self) -> PanelTextStyles | None:
        """The widget that holds the panels' text styles (the grid has one)."""
        if self._texts is None or not self._texts.is_attached:
            try:
                self._texts = self._widget.screen.query_one(PanelTextStyles)
            except (NoScreen, NoMatches):  # not on a screen with a grid: plain text
                return None
        return self._texts
