"""Every use of Textual's private API, in one place, checked against the pinned version.

Textual is pinned (``pyproject.toml``); ``tests/unit/test_textual_compat.py`` fails
when an upgrade removes or renames what this module reaches into.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from textual.app import App
from textual.css.stylesheet import Stylesheet
from textual.geometry import Size
from textual.message_pump import MessagePump
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
    apart and walk its descendants too."""
    stylesheet: Stylesheet = app.stylesheet
    cache: dict[tuple[object, ...], object] = {}
    for widget in widgets:
        stylesheet.apply(widget, animate=True, cache=cache)  # type: ignore[arg-type]


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

