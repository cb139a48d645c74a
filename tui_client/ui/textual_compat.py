"""Every use of Textual's private API, in one place, checked against the pinned version.

Textual is pinned (``pyproject.toml``); ``tests/unit/test_textual_compat.py`` fails
when an upgrade removes or renames what this module reaches into.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rich.segment import Segment
from rich.terminal_theme import TerminalTheme
from textual._ansi_theme import DEFAULT_TERMINAL_THEME
from textual._border import get_box
from textual._segment_tools import line_pad
from textual._styles_cache import StylesCache
from textual.app import App
from textual.color import Color
from textual.css.styles import StylesBase
from textual.css.stylesheet import Stylesheet
from textual.filter import LineFilter
from textual.geometry import Region, Size, Spacing
from textual.message_pump import MessagePump
from textual.strip import Strip
from textual.style import Style
from textual.widget import Widget
from textual.widgets import Footer, Input
from textual.widgets._footer import FooterKey

TEXTUAL_VERSION = "8.2.8"
"""The version every function below was written against (the pin in pyproject.toml)."""


# -- the app and its screens ---------------------------------------------------------

APP_PRIVATE_NAMES: tuple[tuple[type, str], ...] = ((App, "_exit"), (App, "_keymap"), (Stylesheet, "source"))
"""The private attributes the functions of this section use (checked by the tests)."""


def character_key_name(char: str) -> str:
    """Textual's name for the key that types ``char`` (``?`` -> ``question_mark``): its private
    ``textual.keys._character_to_key``, which bindings use for one-character keys."""
    from textual.keys import _character_to_key

    return _character_to_key(char)


def call_after_refresh_scheduled(node: MessagePump, callback: Callable[..., object], *args: Any) -> bool:
    """``node.call_after_refresh(callback, *args)``; False when it could not be scheduled
    (the message pump is closing: the return value is not in Textual's guide)."""
    return node.call_after_refresh(callback, *args)


def app_is_exiting(app: App[Any]) -> bool:
    """True once ``app.exit()`` was called (Textual's private ``App._exit``)."""
    return bool(app._exit)


def app_keymap(app: App[Any]) -> Mapping[str, str]:
    """The keymap set with ``app.set_keymap`` (binding id -> keys; Textual's private ``App._keymap``)."""
    return app._keymap


def stylesheet_mentions(app: App[Any], text: str) -> bool:
    """True when some CSS the app loaded contains ``text`` (Textual's private ``Stylesheet.source``)."""
    return any(text in source.content for source in app.stylesheet.source.values())





# -- widgets ---------------------------------------------------------------------------

WIDGET_PRIVATE_NAMES: tuple[tuple[type, str], ...] = (
    (Widget, "_scroll_update"),
    (Widget, "_size_updated"),
    (Widget, "_check_disabled"),
    (Footer, "_bindings_ready"),
    (Input, "_watch_value"),
)
"""The private class attributes the functions below use (checked by the tests); also
``textual.widgets._footer.FooterKey`` and a FooterKey's ``_disabled``."""


def set_virtual_size_quietly(widget: Widget, size: Size) -> None:
    """Give ``widget`` a new virtual size and update its scroll bookkeeping, without a layout.

    ``widget.virtual_size = size`` (the public way) is a reactive that lays out the whole
    screen; a panel whose box does not change as its text grows needs only the new
    scroll range (``Widget._scroll_update``).
    """
    widget.set_reactive(Widget.virtual_size, size)
    widget._scroll_update(size)


def is_disabled(widget: Widget) -> bool:
    """True when ``widget`` is disabled or loading, as Textual's own scroll checks decide
    (``Widget._check_disabled``: the same test ``allow_vertical_scroll`` makes)."""
    return widget._check_disabled()


class NoRelayoutOnVirtualSize:
    """Mixin (before the Textual base) for a container whose own size does not depend on
    its content: when its virtual size changes, skip the second layout of the screen
    Textual would do (``Widget._size_updated`` with ``layout=False``; no public switch)."""

    def _size_updated(self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True) -> bool:
        return super()._size_updated(size, virtual_size, container_size, layout=False)  # type: ignore[misc]


class QuietInputValue:
    """Mixin (before :class:`Input`) for a one-line input whose box does not depend on its value
    (no ``auto`` width or height): a new value updates its scroll range without a layout.

    Textual's ``Input._watch_value`` sets ``virtual_size`` to the value's width + 1, a reactive
    that lays out the whole screen: with it, every key typed in a sampling field or the history
    search laid out every panel (0.1-0.25 s a key at n=16). The size is set quietly first, so the
    assignment there finds it unchanged; the rest of the watcher (Changed, validation) runs as is.
    """

    def _watch_value(self, value: str) -> None:
        widget: Input = self  # type: ignore[assignment]
        if not widget.styles.auto_dimensions:
            size = Size(widget.content_width, 1)
            if size != widget.virtual_size:
                set_virtual_size_quietly(widget, size)
        super()._watch_value(value)  # type: ignore[misc]


def apply_styles_together(app: App[object], widgets: list[Widget]) -> None:
    """Restyle ``widgets`` (no descendants) sharing one CSS match cache: widgets with the
    same classes are matched once. ``update_node_styles`` per widget would match each
    apart and walk its descendants too. Without animation (the widgets' CSS has no
    transitions): a quarter less time than comparing the old and new rules for one."""
    stylesheet: Stylesheet = app.stylesheet
    cache: dict[tuple[object, ...], object] = {}
    for widget in widgets:
        stylesheet.apply(widget, animate=False, cache=cache)  # type: ignore[arg-type]


def footer_key_disabled(key: FooterKey) -> bool:
    """Whether a footer key is shown dimmed (its private ``_disabled``: no public getter)."""
    return key._disabled


def set_footer_key_disabled(key: FooterKey, disabled: bool) -> None:
    """Dim or undim a footer key in place (``_disabled`` and the ``-disabled`` class),
    instead of Textual's rebuilding of every key."""
    key._disabled = disabled
    key.set_class(disabled, "-disabled")


def mark_footer_bindings_ready(footer: Footer) -> None:
    """What ``Footer.bindings_changed`` does first (its private ``_bindings_ready``), for a
    footer that overrides the rest of that method."""
    footer._bindings_ready = True


# -- drawing a widget's lines ---------------------------------------------------------

class SideBorders:
    """The left and right border and the side padding that Textual's ``StylesCache`` puts
    around each content row of a widget (``StylesCache.render_line``, with
    ``textual._border.get_box`` and ``textual._segment_tools.line_pad``): :meth:`frame`
    gives a row the very segments Textual would, for the cost of a join."""

    __slots__ = ("_inner", "_left", "_pad_left", "_pad_right", "_right", "content_height", "content_width", "key",
                 "top", "width")

    def __init__(self, key: tuple[object, ...], styles: StylesBase, size: Size, content_size: Size,
                 padding: Spacing, base_background: Color, background: Color) -> None:
        self.key = key
        (_, _), (border_right, right_color), (_, _), (border_left, left_color) = styles.border
        inner = Style(background=base_background + background)
        outer = Style(background=base_background)
        self._inner = inner.rich_style
        self._left: Segment = get_box(border_left, inner, outer, Style(foreground=base_background + left_color))[1][0]
        self._right: Segment = get_box(border_right, inner, outer, Style(foreground=base_background + right_color))[1][2]
        _, self._pad_right, _, self._pad_left = padding
        self.top = styles.gutter.top
        """Rows above the content (the top border)."""
        self.width = size.width
        self.content_width, self.content_height = content_size

    @classmethod
    def of(cls, styles: StylesBase, size: Size, content_size: Size, padding: Spacing, base_background: Color,
           background: Color, opacity: float, last: SideBorders | None) -> SideBorders | None:
        """The side borders for these styles (``last`` again while nothing they depend on
        changed); None when the styles ask more of a content row than this draws (an outline,
        hatch, tint, opacity, text opacity, top or bottom padding, a side with no border)."""
        border = styles.border
        if (not (border.left[0] and border.right[0]) or padding.top or padding.bottom or opacity != 1.0
                or any(edge for edge, _ in styles.outline) or styles.tint.a or styles.text_opacity != 1.0
                or (styles.has_rule("hatch") and styles.hatch != "none")):
            return None
        key = (border, padding, base_background, background, size, content_size)
        if last is not None and last.key == key:
            return last
        return cls(key, styles, size, content_size, padding, base_background, background)

    def frame(self, row: Strip) -> Strip:
        """Content ``row`` between the borders, as Textual draws it."""
        inner = self._inner
        row = row.adjust_cell_length(self.content_width, inner)
        return Strip([self._left, *line_pad(row, self._pad_left, self._pad_right, inner), self._right], self.width)


class SideBorderCache(StylesCache):
    """A widget's ``StylesCache`` (set as its private ``_styles_cache``) that draws the
    content rows between :class:`SideBorders` (through ``frame_row``, which may cache them),
    not through its whole per-row pass; the border rows, the rows of any other styles, and
    which rows are drawn again (Textual's dirty lines, its cache, its line filters) stay
    Textual's. tests/ui/test_tui_side_borders.py compares both on many panels."""

    def __init__(self, frame_row: Callable[[Strip, SideBorders], Strip] | None = None) -> None:
        super().__init__()
        self._frame_row = frame_row or SideBorders.frame
        self._sides: SideBorders | None = None

    def render(self, styles: StylesBase, size: Size, base_background: Color, background: Color,  # type: ignore[override]
               render_content_line: Callable[[int], Strip], filters: Sequence[LineFilter],
               border_title: Any, border_subtitle: Any, content_size: Size | None = None,
               padding: Spacing | None = None, crop: Region | None = None, opacity: float = 1.0,
               ansi_theme: TerminalTheme = DEFAULT_TERMINAL_THEME, native_ansi: bool = False) -> list[Strip]:
        self._sides = SideBorders.of(styles, size, content_size or size, styles.padding if padding is None else padding,
                                     base_background, background, opacity, self._sides)
        return super().render(styles, size, base_background, background, render_content_line, filters, border_title,
                              border_subtitle, content_size, padding, crop, opacity, ansi_theme, native_ansi)

    def render_line(self, styles: StylesBase, y: int, size: Size, content_size: Size, padding: Spacing,  # type: ignore[override]
                    base_background: Color, background: Color, render_content_line: Callable[[int], Strip],
                    border_title: Any, border_subtitle: Any, opacity: float, ansi_theme: TerminalTheme,
                    native_ansi: bool) -> Strip:
        sides = self._sides
        if sides is not None and sides.top <= y < sides.top + sides.content_height:
            return self._frame_row(render_content_line(y - sides.top), sides)
        return super().render_line(styles, y, size, content_size, padding, base_background, background,
                                   render_content_line, border_title, border_subtitle, opacity, ansi_theme,
                                   native_ansi)


def use_side_border_cache(widget: Widget, frame_row: Callable[[Strip, SideBorders], Strip] | None = None) -> None:
    """Draw ``widget``'s content rows with a :class:`SideBorderCache` (its private ``_styles_cache``)."""
    widget._styles_cache = SideBorderCache(frame_row)
